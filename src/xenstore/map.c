/* A small chained hash map from strings to pointers.  The store keeps every
 * node in one, keyed by absolute path, so lookups cost one hash of the path
 * instead of a walk; transactions keep their private copies in another. */
#include "xenstore/xs-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t map_hash(const char *s)
{
	uint32_t h = 2166136261u;       /* FNV-1a */

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h;
}

static struct xs_map_ent **map_slot(const struct xs_map *m, const char *key,
				    uint32_t hash)
{
	struct xs_map_ent **pp = &m->buckets[hash & (m->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == hash && strcmp((*pp)->key, key) == 0)
			return pp;
	return pp;
}

void *xs_map_get(const struct xs_map *m, const char *key)
{
	if (!m->count)
		return NULL;
	struct xs_map_ent *e = *map_slot(m, key, map_hash(key));
	return e ? e->val : NULL;
}

/* Doubles the bucket array; keeps chains short as the tree grows. */
static int map_grow(struct xs_map *m)
{
	size_t nb = m->nbuckets ? m->nbuckets * 2 : 64;
	struct xs_map_ent **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct xs_map_ent *e = m->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
	return 0;
}

int xs_map_put(struct xs_map *m, const char *key, void *val, void **old)
{
	uint32_t hash = map_hash(key);

	if (old)
		*old = NULL;
	if (m->count >= m->nbuckets) {
		int rc = map_grow(m);
		if (rc)
			return rc;
	}
	struct xs_map_ent **pp = map_slot(m, key, hash);
	if (*pp) {
		if (old)
			*old = (*pp)->val;
		(*pp)->val = val;
		return 0;
	}
	size_t klen = strlen(key);
	struct xs_map_ent *e = malloc(sizeof(*e) + klen + 1);
	if (!e)
		return -ENOMEM;
	e->next = NULL;
	e->hash = hash;
	e->val = val;
	memcpy(e->key, key, klen + 1);
	*pp = e;
	m->count++;
	return 0;
}

void *xs_map_remove(struct xs_map *m, const char *key)
{
	if (!m->count)
		return NULL;
	struct xs_map_ent **pp = map_slot(m, key, map_hash(key));
	struct xs_map_ent *e = *pp;
	if (!e)
		return NULL;
	void *val = e->val;
	*pp = e->next;
	free(e);
	m->count--;
	return val;
}

void xs_map_foreach(const struct xs_map *m,
		    void (*fn)(void *ctx, const char *key, void *val), void *ctx)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct xs_map_ent *e = m->buckets[i]; e; e = e->next)
			fn(ctx, e->key, e->val);
}

void xs_map_clear(struct xs_map *m, void (*free_val)(void *val))
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct xs_map_ent *e = m->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			if (free_val)
				free_val(e->val);
			free(e);
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = 0;
	m->count = 0;
}
