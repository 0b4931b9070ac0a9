/* The node tree: node records, and the tree operations (read, write, mkdir,
 * rm, set-perms) with their permission rules.  Every access goes through a
 * struct xs_ctx so the same code serves plain requests and transactions. */
#include "xenstore/xs-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void xs_node_free(struct xs_node *n)
{
	if (!n)
		return;
	for (uint32_t i = 0; i < n->nchildren; i++)
		free(n->children[i]);
	free(n->children);
	free(n->perms);
	free(n->value);
	free(n->name_path);
	free(n);
}

static int node_set_value(struct xs_node *n, const void *val, uint32_t len)
{
	char *v = malloc((size_t)len + 1);

	if (!v)
		return -ENOMEM;
	if (len)
		memcpy(v, val, len);
	v[len] = '\0';
	free(n->value);
	n->value = v;
	n->value_len = len;
	return 0;
}

static int node_set_perms(struct xs_node *n, const struct xs_perm *p, uint32_t np)
{
	struct xs_perm *copy = malloc(np * sizeof(*copy));

	if (!copy)
		return -ENOMEM;
	memcpy(copy, p, np * sizeof(*copy));
	free(n->perms);
	n->perms = copy;
	n->nperms = np;
	return 0;
}

static struct xs_node *node_new(const char *path, const void *val, uint32_t len,
				const struct xs_perm *p, uint32_t np)
{
	struct xs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name_path = strdup(path);
	if (!n->name_path || node_set_value(n, val, len) ||
	    node_set_perms(n, p, np)) {
		xs_node_free(n);
		return NULL;
	}
	return n;
}

struct xs_node *xs_node_dup(const struct xs_node *src)
{
	struct xs_node *n = node_new(src->name_path, src->value, src->value_len,
				     src->perms, src->nperms);

	if (!n)
		return NULL;
	n->gen = src->gen;
	if (src->nchildren) {
		n->children = calloc(src->nchildren, sizeof(char *));
		if (!n->children)
			goto fail;
		n->cap_children = src->nchildren;
		for (uint32_t i = 0; i < src->nchildren; i++) {
			n->children[i] = strdup(src->children[i]);
			if (!n->children[i])
				goto fail;
			n->nchildren++;
		}
	}
	return n;
fail:
	xs_node_free(n);
	return NULL;
}

/* Binary search in the sorted child list: index of name, or where it would
 * go. */
static uint32_t node_child_index(const struct xs_node *n, const char *name,
				 bool *found)
{
	uint32_t lo = 0, hi = n->nchildren;

	*found = false;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(n->children[mid], name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int node_child_add(struct xs_node *n, const char *name)
{
	bool found;
	uint32_t at = node_child_index(n, name, &found);

	if (found)
		return 0;
	if (n->nchildren == n->cap_children) {
		uint32_t cap = n->cap_children ? n->cap_children * 2 : 4;
		char **c = realloc(n->children, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		n->children = c;
		n->cap_children = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	memmove(&n->children[at + 1], &n->children[at],
		(n->nchildren - at) * sizeof(char *));
	n->children[at] = copy;
	n->nchildren++;
	return 0;
}

static void node_child_del(struct xs_node *n, const char *name)
{
	bool found;
	uint32_t at = node_child_index(n, name, &found);

	if (!found)
		return;
	free(n->children[at]);
	memmove(&n->children[at], &n->children[at + 1],
		(n->nchildren - at - 1) * sizeof(char *));
	n->nchildren--;
}

/* ---- main store ----------------------------------------------------------- */

int xs_store_replace(struct xs_store *st, const char *path, struct xs_node *n)
{
	struct xs_node *old = NULL;

	if (n) {
		n->gen = ++st->gen;
		int rc = xs_map_put(&st->nodes, path, n, (void **)&old);
		if (rc)
			return rc;
		xs_domain_count(st, n->perms[0].domid, +1);
	} else {
		old = xs_map_remove(&st->nodes, path);
	}
	if (old) {
		xs_domain_count(st, old->perms[0].domid, -1);
		xs_node_free(old);
	}
	return 0;
}

/* The skeleton every store starts with; only dom0 may look at it. */
int xs_tree_init(struct xs_store *st)
{
	static const char *const paths[] = { "/", "/local", "/local/domain" };
	const struct xs_perm p = { .domid = 0, .perm = XS_PERM_NONE };
	struct xs_node *parent = NULL;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct xs_node *n = node_new(paths[i], "", 0, &p, 1);
		if (!n)
			return -ENOMEM;
		if (parent && node_child_add(parent, xs_path_basename(paths[i]))) {
			xs_node_free(n);
			return -ENOMEM;
		}
		int rc = xs_store_replace(st, paths[i], n);
		if (rc) {
			xs_node_free(n);
			return rc;
		}
		parent = n;
	}
	return 0;
}

/* ---- lookups with permission checks -------------------------------------- */

/* Walks p (modified in place) up to the closest ancestor that exists; the
 * root always does. */
static int tree_nearest_existing(struct xs_ctx *c, char *p,
				 const struct xs_node **out)
{
	*out = NULL;
	while (xs_path_parent(p)) {
		int rc = xs_ctx_lookup(c, p, out);
		if (rc)
			return rc;
		if (*out)
			return 0;
	}
	return -ENOENT;
}

/* A missing node is reported as ENOENT only to callers who could read its
 * closest existing ancestor; others learn nothing (EACCES). */
static int tree_missing_error(struct xs_ctx *c, const char *path)
{
	char p[XS_WIRE_ABS_PATH_MAX + 1];
	const struct xs_node *anc;

	strcpy(p, path);
	int rc = tree_nearest_existing(c, p, &anc);
	if (rc)
		return rc;
	return (xs_perm_for(anc, c->domid, c->privileged) & XS_PERM_READ) ?
	       -ENOENT : -EACCES;
}

int xs_tree_get(struct xs_ctx *c, const char *path, uint32_t perm,
		const struct xs_node **out)
{
	const struct xs_node *n;
	int rc = xs_ctx_lookup(c, path, &n);

	*out = NULL;
	if (rc)
		return rc;
	if (!n)
		return tree_missing_error(c, path);
	if ((xs_perm_for(n, c->domid, c->privileged) & perm) != perm)
		return -EACCES;
	*out = n;
	return 0;
}

/* ---- creation --------------------------------------------------------------- */

static uint32_t path_depth(const char *p)
{
	uint32_t d = 0;

	if (p[1] == '\0')
		return 0;
	for (; *p; p++)
		d += *p == '/';
	return d;
}

/* Creates the child `child_path` of the existing node `parent_path`,
 * inheriting the parent's permissions; an unprivileged creator becomes the
 * owner of what it creates. */
static int tree_create_child(struct xs_ctx *c, const char *parent_path,
			     const char *child_path, const void *val,
			     uint32_t len)
{
	struct xs_node *parent;
	int rc = xs_ctx_mutable(c, parent_path, &parent);

	if (rc)
		return rc;
	struct xs_node *n = node_new(child_path, val, len, parent->perms,
				     parent->nperms);
	if (!n)
		return -ENOMEM;
	if (!c->privileged)
		n->perms[0].domid = c->domid;
	rc = node_child_add(parent, xs_path_basename(child_path));
	if (rc) {
		xs_node_free(n);
		return rc;
	}
	rc = xs_ctx_insert(c, n);
	if (rc) {       /* insert did not take n */
		node_child_del(parent, xs_path_basename(child_path));
		xs_node_free(n);
	}
	return rc;
}

/* Creates path and any missing ancestors.  The caller needs write access
 * to the closest existing ancestor.  If memory runs out half way, the
 * ancestors already made stay (empty nodes, as after a mkdir). */
static int tree_create(struct xs_ctx *c, const char *path, const void *val,
		       uint32_t len)
{
	char anc[XS_WIRE_ABS_PATH_MAX + 1];
	char cur[XS_WIRE_ABS_PATH_MAX + 1];
	const struct xs_node *top;

	strcpy(anc, path);
	int rc = tree_nearest_existing(c, anc, &top);
	if (rc)
		return rc;
	if (!(xs_perm_for(top, c->domid, c->privileged) & XS_PERM_WRITE))
		return -EACCES;

	uint32_t missing = path_depth(path) - path_depth(anc);
	if (!c->privileged) {
		int64_t have = (int64_t)xs_domain_nodes(c->st, c->domid) +
			       (c->tx ? c->tx->nodes_delta : 0);
		if (have + missing > c->st->quota.max_nodes_per_domain)
			return -ENOSPC;
	}

	/* Walk down from the existing ancestor one component at a time. */
	size_t done = strlen(anc);
	if (done == 1)
		done = 0;               /* root: components start at path[0] */
	strcpy(cur, anc);
	while (path[done] != '\0') {
		const char *next = strchr(path + done + 1, '/');
		size_t end = next ? (size_t)(next - path) : strlen(path);
		char parent[XS_WIRE_ABS_PATH_MAX + 1];

		strcpy(parent, cur);
		memcpy(cur, path, end);
		cur[end] = '\0';
		bool last = path[end] == '\0';
		rc = tree_create_child(c, parent, cur, last ? val : "",
				       last ? len : 0);
		if (rc)
			return rc;
		done = end;
	}
	return 0;
}

/* ---- operations ------------------------------------------------------------ */

int xs_tree_write(struct xs_ctx *c, const char *path, const void *val,
		  uint32_t len)
{
	const struct xs_node *n;
	int rc;

	if (!c->privileged && len > c->st->quota.max_value_size)
		return -E2BIG;
	rc = xs_ctx_lookup(c, path, &n);
	if (rc)
		return rc;
	if (n) {
		struct xs_node *m;
		if (!(xs_perm_for(n, c->domid, c->privileged) & XS_PERM_WRITE))
			return -EACCES;
		rc = xs_ctx_mutable(c, path, &m);
		if (!rc)
			rc = node_set_value(m, val, len);
	} else {
		rc = tree_create(c, path, val, len);
	}
	if (!rc)
		xs_ctx_changed(c, path, false);
	return rc;
}

int xs_tree_mkdir(struct xs_ctx *c, const char *path)
{
	const struct xs_node *n;
	int rc = xs_ctx_lookup(c, path, &n);

	if (rc)
		return rc;
	if (n)      /* already there: nothing changes, no event */
		return (xs_perm_for(n, c->domid, c->privileged) & XS_PERM_WRITE) ?
		       0 : -EACCES;
	rc = tree_create(c, path, "", 0);
	if (!rc)
		xs_ctx_changed(c, path, false);
	return rc;
}

/* Deletes the node at p and everything below it.  p is a buffer of
 * XS_WIRE_ABS_PATH_MAX + 1 bytes that is extended and restored on the way;
 * the recursion is bounded by the path length limit. */
static int tree_delete_subtree(struct xs_ctx *c, char *p)
{
	const struct xs_node *n;
	size_t len = strlen(p);
	int rc = xs_ctx_lookup(c, p, &n);

	if (rc || !n)
		return rc;
	for (uint32_t i = 0; i < n->nchildren; i++) {
		size_t cl = strlen(n->children[i]);
		if (len + 1 + cl > XS_WIRE_ABS_PATH_MAX)
			continue;       /* cannot exist: never created */
		p[len] = '/';
		memcpy(p + len + 1, n->children[i], cl + 1);
		rc = tree_delete_subtree(c, p);
		p[len] = '\0';
		if (rc)
			return rc;
	}
	return xs_ctx_delete(c, p);
}

int xs_tree_rm(struct xs_ctx *c, const char *path)
{
	char p[XS_WIRE_ABS_PATH_MAX + 1];
	const struct xs_node *n;
	struct xs_node *parent;

	if (strcmp(path, "/") == 0)
		return -EINVAL;
	int rc = xs_tree_get(c, path, XS_PERM_WRITE, &n);
	strcpy(p, path);
	xs_path_parent(p);
	if (rc == -ENOENT) {
		/* Removing a missing child of an existing node succeeds. */
		const struct xs_node *pn;
		rc = xs_ctx_lookup(c, p, &pn);
		return rc ? rc : (pn ? 0 : -ENOENT);
	}
	if (rc)
		return rc;
	rc = xs_ctx_mutable(c, p, &parent);
	if (rc)
		return rc;
	node_child_del(parent, xs_path_basename(path));
	strcpy(p, path);
	rc = tree_delete_subtree(c, p);
	if (!rc)
		xs_ctx_changed(c, path, true);
	return rc;
}

int xs_tree_set_perms(struct xs_ctx *c, const char *path,
		      const struct xs_perm *p, uint32_t np)
{
	const struct xs_node *n;
	struct xs_node *m;

	if (np == 0)
		return -EINVAL;
	int rc = xs_tree_get(c, path, XS_PERM_WRITE, &n);
	if (rc)
		return rc;
	if (!xs_perm_is_owner(n, c->domid, c->privileged))
		return -EACCES;
	uint32_t old_owner = n->perms[0].domid;
	/* Guests may not give their nodes away (or charge them to others). */
	if (!c->privileged && p[0].domid != old_owner)
		return -EPERM;
	rc = xs_ctx_mutable(c, path, &m);
	if (!rc)
		rc = node_set_perms(m, p, np);
	if (rc)
		return rc;
	if (!c->tx) {
		xs_domain_count(c->st, old_owner, -1);
		xs_domain_count(c->st, p[0].domid, +1);
	}
	xs_ctx_changed(c, path, false);
	return 0;
}
