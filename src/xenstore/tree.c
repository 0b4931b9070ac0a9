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

uint32_t xs_node_mem(const struct xs_node *n)
{
	return xs_node_size(n) + (uint32_t)strlen(n->name_path);
}

struct xs_node *xs_node_dup(const struct xs_node *src)
{
	struct xs_node *n = node_new(src->name_path, src->value, src->value_len,
				     src->perms, src->nperms);

	if (!n)
		return NULL;
	n->gen = src->gen;
	n->children_len = src->children_len;
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
	n->children_len += (uint32_t)strlen(name) + 1;
	return 0;
}

static void node_child_del(struct xs_node *n, const char *name)
{
	bool found;
	uint32_t at = node_child_index(n, name, &found);

	if (!found)
		return;
	n->children_len -= (uint32_t)strlen(n->children[at]) + 1;
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
		xs_store_charge_node(st, n);
	} else {
		old = xs_map_remove(&st->nodes, path);
	}
	if (old) {
		xs_store_uncharge_node(st, old);
		xs_node_free(old);
	}
	return 0;
}

/* The special nodes sit outside the tree; like the root, only dom0 may
 * look at them until it grants more (xs_set_perms). */
static const char *const special_names[] = { "@introduceDomain", "@releaseDomain" };

struct xs_node *xs_special_node(struct xs_store *st, const char *p)
{
	for (size_t i = 0; i < sizeof(special_names) / sizeof(special_names[0]); i++)
		if (strcmp(p, special_names[i]) == 0)
			return st->special[i];
	return NULL;
}

static int tree_init_special(struct xs_store *st)
{
	const struct xs_perm p = { .domid = 0, .perm = XS_PERM_NONE };

	for (size_t i = 0; i < sizeof(special_names) / sizeof(special_names[0]); i++) {
		st->special[i] = node_new(special_names[i], "", 0, &p, 1);
		if (!st->special[i])
			return -ENOMEM;
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
		if (parent)
			xs_store_charge_node(st, parent);
		int rc = xs_store_replace(st, paths[i], n);
		if (rc) {
			xs_node_free(n);
			return rc;
		}
		parent = n;
	}
	return tree_init_special(st);
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
	int rc;

	*out = NULL;
	if (xs_path_is_special(path)) {
		n = xs_special_node(c->st, path);
		if (!n)
			return -ENOENT;
		rc = 0;
	} else {
		rc = xs_ctx_lookup(c, path, &n);
	}
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

/* An unprivileged caller may not make a node bigger than the node size
 * quota (C xenstored checks every node such a caller writes, parents
 * gaining a child included). */
static int tree_check_size(const struct xs_ctx *c, uint32_t nperms,
			   uint32_t value_len, uint32_t children_len)
{
	if (c->privileged)
		return 0;
	uint64_t size = (uint64_t)xs_node_size_of(nperms, value_len, 0) + children_len;
	return size > c->st->quota.max_node_size ? -ENOSPC : 0;
}

/* Creates the child `child_path` of the existing node `parent_path`,
 * inheriting the parent's permissions; an unprivileged creator becomes the
 * owner of what it creates. */
static int tree_create_child(struct xs_ctx *c, const char *parent_path,
			     const char *child_path, const void *val,
			     uint32_t len)
{
	const char *base = xs_path_basename(child_path);
	uint32_t name_bytes = (uint32_t)strlen(base) + 1;
	struct xs_node *parent;
	int rc = xs_ctx_mutable(c, parent_path, &parent);

	if (!rc)
		rc = tree_check_size(c, parent->nperms, parent->value_len,
				     parent->children_len + name_bytes);
	if (!rc)
		rc = tree_check_size(c, parent->nperms, len, 0);
	if (!rc)
		rc = xs_ctx_may_grow(c, parent->perms[0].domid, name_bytes);
	if (rc)
		return rc;
	uint32_t owner = c->privileged ? parent->perms[0].domid : c->domid;
	if (xs_ctx_may_grow(c, owner, xs_node_size_of(parent->nperms, len, 0) +
				       (int64_t)strlen(child_path)))
		return -ENOMEM;
	struct xs_node *n = node_new(child_path, val, len, parent->perms,
				     parent->nperms);
	if (!n)
		return -ENOMEM;
	n->perms[0].domid = owner;
	rc = node_child_add(parent, base);
	if (rc) {
		xs_node_free(n);
		return rc;
	}
	rc = xs_ctx_insert(c, n);
	if (rc) {       /* insert did not take n */
		node_child_del(parent, base);
		xs_node_free(n);
	}
	xs_ctx_account(c, parent);
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

	rc = xs_ctx_lookup(c, path, &n);
	if (rc)
		return rc;
	if (n) {
		struct xs_node *m;
		if (!(xs_perm_for(n, c->domid, c->privileged) & XS_PERM_WRITE))
			return -EACCES;
		rc = tree_check_size(c, n->nperms, len, n->children_len);
		if (!rc)
			rc = xs_ctx_may_grow(c, n->perms[0].domid,
					     (int64_t)len - n->value_len);
		if (!rc)
			rc = xs_ctx_mutable(c, path, &m);
		if (!rc)
			rc = node_set_value(m, val, len);
		if (!rc)
			xs_ctx_account(c, m);
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
	xs_ctx_account(c, parent);
	strcpy(p, path);
	rc = tree_delete_subtree(c, p);
	if (!rc)
		xs_ctx_changed(c, path, true);
	return rc;
}

/* @introduceDomain and @releaseDomain: only their owner (dom0) may give
 * rights to them; they are never part of a transaction. */
static int tree_set_special_perms(struct xs_ctx *c, struct xs_node *n,
				  const struct xs_perm *p, uint32_t np)
{
	if (!xs_perm_is_owner(n, c->domid, c->privileged))
		return -EACCES;
	if (!c->privileged && p[0].domid != n->perms[0].domid)
		return -EPERM;
	return node_set_perms(n, p, np);
}

int xs_tree_set_perms(struct xs_ctx *c, const char *path,
		      const struct xs_perm *p, uint32_t np)
{
	const struct xs_node *n;
	struct xs_node *m;

	if (np == 0)
		return -EINVAL;
	if (!c->privileged && np - 1 > c->st->quota.max_perms)
		return -ENOSPC;
	if (xs_path_is_special(path)) {
		struct xs_node *sn = xs_special_node(c->st, path);
		return sn ? tree_set_special_perms(c, sn, p, np) : -ENOENT;
	}
	int rc = xs_tree_get(c, path, XS_PERM_WRITE, &n);
	if (rc)
		return rc;
	if (!xs_perm_is_owner(n, c->domid, c->privileged))
		return -EACCES;
	/* Guests may not give their nodes away (or charge them to others). */
	if (!c->privileged && p[0].domid != n->perms[0].domid)
		return -EPERM;
	rc = tree_check_size(c, np, n->value_len, n->children_len);
	if (!rc)
		rc = xs_ctx_may_grow(c, n->perms[0].domid,
				     ((int64_t)np - n->nperms) * XS_PERM_BYTES);
	if (!rc)
		rc = xs_ctx_mutable(c, path, &m);
	if (!rc)
		rc = node_set_perms(m, p, np);
	if (rc)
		return rc;
	xs_ctx_account(c, m);
	xs_ctx_changed(c, path, false);
	return 0;
}
