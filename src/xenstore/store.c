/* The store object: creation, per-domain bookkeeping, domain introduce and
 * release, local connections, and the direct API the daemon uses as
 * domain 0. */
#include "xenstore/xs-private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* C xenstored's defaults (tools/xenstored, "hard" quotas). */
static const struct xs_quota quota_defaults = {
	.max_nodes_per_domain = 1000,
	.max_watches = 128,
	.max_transactions = 10,
	.max_node_size = 2048,
	.max_outstanding = 20,
	.max_queued_events = 1024,
	.max_tx_nodes = 1024,
	.max_perms = 5,
	.max_memory = 2 * 1024 * 1024 + 512 * 1024,
};

static uint32_t quota_pick(uint32_t asked, uint32_t dflt)
{
	return asked ? asked : dflt;
}

static void store_set_quota(struct xs_store *st, const struct xs_quota *q)
{
	const struct xs_quota *d = &quota_defaults;

	if (!q)
		q = d;
	st->quota = (struct xs_quota){
		.max_nodes_per_domain = quota_pick(q->max_nodes_per_domain,
						   d->max_nodes_per_domain),
		.max_watches = quota_pick(q->max_watches, d->max_watches),
		.max_transactions = quota_pick(q->max_transactions,
					       d->max_transactions),
		.max_node_size = quota_pick(q->max_node_size, d->max_node_size),
		.max_outstanding = quota_pick(q->max_outstanding,
					      d->max_outstanding),
		.max_queued_events = quota_pick(q->max_queued_events,
						d->max_queued_events),
		.max_tx_nodes = quota_pick(q->max_tx_nodes, d->max_tx_nodes),
		.max_perms = quota_pick(q->max_perms, d->max_perms),
		.max_memory = quota_pick(q->max_memory, d->max_memory),
	};
}

struct xs_store *xs_create(const struct xs_quota *quota)
{
	struct xs_store *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	store_set_quota(st, quota);
	st->self = xs_conn_new(st, 0, true);
	if (!st->self || xs_tree_init(st)) {
		xs_destroy(st);
		return NULL;
	}
	return st;
}

static void node_free_cb(void *v)
{
	xs_node_free(v);
}

void xs_destroy(struct xs_store *st)
{
	if (!st)
		return;
	while (st->conns) {
		struct xs_conn *c = st->conns;
		st->conns = c->next;
		xs_conn_free(c);
	}
	xs_conn_free(st->self);
	xs_map_clear(&st->nodes, node_free_cb);
	for (size_t i = 0; i < sizeof(st->special) / sizeof(st->special[0]); i++)
		xs_node_free(st->special[i]);
	free(st->domains);
	free(st);
}

size_t xs_node_count(const struct xs_store *st)
{
	return st->nodes.count;
}

/* ---- domains --------------------------------------------------------------- */

/* Domains are few (tens), so a plain array searched linearly is enough. */
struct xs_domain *xs_domain_get(struct xs_store *st, uint32_t domid, bool create)
{
	for (uint32_t i = 0; i < st->ndomains; i++)
		if (st->domains[i].domid == domid)
			return &st->domains[i];
	if (!create)
		return NULL;
	if (st->ndomains == st->cap_domains) {
		uint32_t cap = st->cap_domains ? st->cap_domains * 2 : 8;
		struct xs_domain *d = realloc(st->domains, cap * sizeof(*d));
		if (!d)
			return NULL;
		st->domains = d;
		st->cap_domains = cap;
	}
	struct xs_domain *d = &st->domains[st->ndomains++];
	*d = (struct xs_domain){ .domid = domid };
	return d;
}

uint32_t xs_domain_nodes(struct xs_store *st, uint32_t domid)
{
	struct xs_domain *d = xs_domain_get(st, domid, false);

	return d ? d->nodes : 0;
}

uint64_t xs_domain_mem(struct xs_store *st, uint32_t domid)
{
	struct xs_domain *d = xs_domain_get(st, domid, false);

	return d ? d->mem : 0;
}

void xs_domain_usage(struct xs_store *st, uint32_t domid, uint32_t *nodes,
		     uint64_t *mem)
{
	*nodes = xs_domain_nodes(st, domid);
	*mem = xs_domain_mem(st, domid);
}

/* Counting is best effort if memory runs out: it only feeds the quota. */
static void domain_count(struct xs_store *st, uint32_t domid, int delta)
{
	struct xs_domain *d = xs_domain_get(st, domid, delta > 0);

	if (!d)
		return;
	if (delta < 0 && d->nodes < (uint32_t)-delta)
		d->nodes = 0;
	else
		d->nodes += (uint32_t)delta;
}

void xs_domain_charge(struct xs_store *st, uint32_t domid, int64_t bytes)
{
	struct xs_domain *d = xs_domain_get(st, domid, bytes > 0);

	if (!d)
		return;
	if (bytes < 0 && d->mem < (uint64_t)-bytes)
		d->mem = 0;
	else
		d->mem += (uint64_t)bytes;
}

bool xs_domain_mem_exceeds(struct xs_store *st, uint32_t domid, int64_t grow)
{
	if (grow <= 0)
		return false;
	return xs_domain_mem(st, domid) + (uint64_t)grow > st->quota.max_memory;
}

void xs_store_uncharge_node(struct xs_store *st, struct xs_node *n)
{
	if (!n->charged)
		return;
	domain_count(st, n->charge_owner, -1);
	xs_domain_charge(st, n->charge_owner, -(int64_t)n->charge_bytes);
	n->charged = false;
}

void xs_store_charge_node(struct xs_store *st, struct xs_node *n)
{
	xs_store_uncharge_node(st, n);
	n->charge_owner = n->perms[0].domid;
	n->charge_bytes = xs_node_mem(n);
	domain_count(st, n->charge_owner, +1);
	xs_domain_charge(st, n->charge_owner, n->charge_bytes);
	n->charged = true;
}

static void store_link_conn(struct xs_store *st, struct xs_conn *conn)
{
	conn->next = st->conns;
	st->conns = conn;
}

static void store_unlink_conn(struct xs_store *st, struct xs_conn *conn)
{
	for (struct xs_conn **pp = &st->conns; *pp; pp = &(*pp)->next) {
		if (*pp == conn) {
			*pp = conn->next;
			return;
		}
	}
}

static struct xs_ctx store_dom0_ctx(struct xs_store *st)
{
	return (struct xs_ctx){ .st = st, .domid = 0, .privileged = true };
}

/* A bare /local/domain/<domid>, owned by the domain and closed to everyone
 * else, unless the toolstack laid out the home already (xs_home_create). */
static int store_make_home(struct xs_store *st, uint32_t domid)
{
	char home[XS_HOME_MAX];
	struct xs_ctx c = store_dom0_ctx(st);
	const struct xs_perm perm = { .domid = domid, .perm = XS_PERM_NONE };

	xs_home_path(domid, home);
	if (xs_map_get(&st->nodes, home))
		return 0;
	int rc = xs_tree_mkdir(&c, home);
	return rc ? rc : xs_tree_set_perms(&c, home, &perm, 1);
}

int xs_introduce(struct xs_store *st, uint32_t domid, void *ring_page,
		 uint32_t evtchn_port, struct xs_conn **out)
{
	struct xs_domain *d = xs_domain_get(st, domid, true);

	if (out)
		*out = NULL;
	if (!d)
		return -ENOMEM;
	if (d->conn)
		return -EEXIST;
	if (!ring_page || domid == 0)
		return -EINVAL;
	struct xs_conn *conn = xs_conn_new(st, domid, false);
	if (!conn)
		return -ENOMEM;
	int rc = store_make_home(st, domid);
	if (rc) {
		xs_conn_free(conn);
		return rc;
	}
	conn->ring = ring_page;
	conn->evtchn = evtchn_port;
	/* Carry on from wherever the indices are (a restored guest may have
	 * used the ring before); our copies are authoritative from now on. */
	conn->req_cons = __atomic_load_n(&conn->ring->req_cons, __ATOMIC_ACQUIRE);
	conn->rsp_prod = __atomic_load_n(&conn->ring->rsp_prod, __ATOMIC_ACQUIRE);
	d = xs_domain_get(st, domid, true);     /* array may have moved */
	d->conn = conn;
	store_link_conn(st, conn);
	xs_watch_fire(st, "@introduceDomain", false);
	if (out)
		*out = conn;
	return 0;
}

/* ---- forgetting a domain ------------------------------------------------------ */

struct forget {
	struct xs_store *st;
	uint32_t domid;
	char **owned;            /* paths of nodes the domain owns */
	size_t nowned, cap;
	bool nomem;
};

/* Drops the permission entries (past the owner's) that name domid. */
static bool perms_drop_domain(struct xs_node *n, uint32_t domid)
{
	uint32_t kept = 1;

	for (uint32_t i = 1; i < n->nperms; i++)
		if (n->perms[i].domid != domid)
			n->perms[kept++] = n->perms[i];
	if (kept == n->nperms)
		return false;
	n->nperms = kept;
	return true;
}

static void forget_node(void *ctx, const char *path, void *val)
{
	struct forget *f = ctx;
	struct xs_node *n = val;

	if (perms_drop_domain(n, f->domid)) {
		n->gen = ++f->st->gen;      /* transactions that saw it conflict */
		xs_store_charge_node(f->st, n);
	}
	if (n->perms[0].domid != f->domid || f->nomem)
		return;
	if (f->nowned == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		char **p = realloc(f->owned, cap * sizeof(*p));
		if (!p) {
			f->nomem = true;
			return;
		}
		f->owned = p;
		f->cap = cap;
	}
	f->owned[f->nowned] = strdup(path);
	if (f->owned[f->nowned])
		f->nowned++;
	else
		f->nomem = true;
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Like C xenstored: nothing of a domain outlives it.  The nodes it owns
 * anywhere go, and no permission keeps naming its id, which a later
 * domain may get. */
static int store_forget_domain(struct xs_store *st, uint32_t domid)
{
	struct forget f = { .st = st, .domid = domid };
	struct xs_ctx c = store_dom0_ctx(st);

	xs_map_foreach(&st->nodes, forget_node, &f);
	for (size_t i = 0; i < sizeof(st->special) / sizeof(st->special[0]); i++)
		perms_drop_domain(st->special[i], domid);
	/* Parents sort before their children: removing one takes its
	 * subtree, the children's own removal then finds nothing. */
	if (f.nowned)
		qsort(f.owned, f.nowned, sizeof(*f.owned), path_cmp);
	for (size_t i = 0; i < f.nowned; i++) {
		int rc = xs_tree_rm(&c, f.owned[i]);
		if (rc && rc != -ENOENT)
			f.nomem = true;
		free(f.owned[i]);
	}
	free(f.owned);
	return f.nomem ? -ENOMEM : 0;
}

int xs_release(struct xs_store *st, uint32_t domid)
{
	char home[XS_HOME_MAX];
	struct xs_domain *d = xs_domain_get(st, domid, false);
	struct xs_ctx c = store_dom0_ctx(st);

	if (!d || !d->conn)
		return -ENOENT;
	struct xs_conn *conn = d->conn;
	d->conn = NULL;
	store_unlink_conn(st, conn);
	xs_conn_free(conn);
	xs_home_path(domid, home);
	int rc = xs_tree_rm(&c, home);
	int rc2 = store_forget_domain(st, domid);
	xs_watch_fire(st, "@releaseDomain", false);
	return rc ? rc : rc2;
}

struct xs_conn *xs_domain_conn(struct xs_store *st, uint32_t domid)
{
	struct xs_domain *d = xs_domain_get(st, domid, false);

	return d ? d->conn : NULL;
}

/* ---- local connections ------------------------------------------------------ */

struct xs_conn *xs_local_open(struct xs_store *st)
{
	struct xs_conn *conn = xs_conn_new(st, 0, true);

	if (!conn)
		return NULL;
	conn->is_local = true;
	store_link_conn(st, conn);
	return conn;
}

void xs_local_close(struct xs_conn *conn)
{
	if (!conn)
		return;
	store_unlink_conn(conn->st, conn);
	xs_conn_free(conn);
}

/* ---- direct API ---------------------------------------------------------------- */

/* The daemon passes its own paths; they must be absolute and valid. */
static int direct_path(const char *path, char *abs)
{
	if (!path || path[0] != '/')
		return -EINVAL;
	return xs_path_canonical(0, path, abs);
}

/* Permissions may also be read and set on the special nodes. */
static int direct_perms_path(struct xs_store *st, const char *path, char *abs)
{
	if (path && xs_special_node(st, path)) {
		strcpy(abs, path);
		return 0;
	}
	return direct_path(path, abs);
}

int xs_write(struct xs_store *st, const char *path, const void *val, size_t len)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	struct xs_ctx c = store_dom0_ctx(st);
	int rc = direct_path(path, abs);

	if (rc)
		return rc;
	if (len > XS_WIRE_PAYLOAD_MAX)
		return -E2BIG;
	return xs_tree_write(&c, abs, val, (uint32_t)len);
}

int xs_write_str(struct xs_store *st, const char *path, const char *val)
{
	return xs_write(st, path, val, strlen(val));
}

int xs_printf(struct xs_store *st, const char *path, const char *fmt, ...)
{
	char buf[XS_WIRE_PAYLOAD_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	int l = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (l < 0 || (size_t)l >= sizeof(buf))
		return -E2BIG;
	return xs_write(st, path, buf, (size_t)l);
}

int xs_read(struct xs_store *st, const char *path, char **val, size_t *len)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	struct xs_ctx c = store_dom0_ctx(st);
	const struct xs_node *n;
	int rc = direct_path(path, abs);

	*val = NULL;
	if (len)
		*len = 0;
	if (!rc)
		rc = xs_tree_get(&c, abs, XS_PERM_READ, &n);
	if (rc)
		return rc;
	*val = malloc((size_t)n->value_len + 1);
	if (!*val)
		return -ENOMEM;
	memcpy(*val, n->value, (size_t)n->value_len + 1);
	if (len)
		*len = n->value_len;
	return 0;
}

int xs_mkdir(struct xs_store *st, const char *path)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	struct xs_ctx c = store_dom0_ctx(st);
	int rc = direct_path(path, abs);

	return rc ? rc : xs_tree_mkdir(&c, abs);
}

int xs_rm(struct xs_store *st, const char *path)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	struct xs_ctx c = store_dom0_ctx(st);
	int rc = direct_path(path, abs);

	return rc ? rc : xs_tree_rm(&c, abs);
}

int xs_set_perms(struct xs_store *st, const char *path,
		 const struct xs_perm *perms, unsigned nperms)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	struct xs_ctx c = store_dom0_ctx(st);
	int rc = direct_perms_path(st, path, abs);

	if (rc)
		return rc;
	for (unsigned i = 0; i < nperms; i++)
		if (perms[i].perm > XS_PERM_BOTH)
			return -EINVAL;
	return xs_tree_set_perms(&c, abs, perms, nperms);
}

int xs_get_perms(struct xs_store *st, const char *path,
		 struct xs_perm **perms, unsigned *nperms)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	struct xs_ctx c = store_dom0_ctx(st);
	const struct xs_node *n;
	int rc = direct_perms_path(st, path, abs);

	*perms = NULL;
	*nperms = 0;
	if (!rc)
		rc = xs_tree_get(&c, abs, XS_PERM_READ, &n);
	if (rc)
		return rc;
	*perms = malloc(n->nperms * sizeof(**perms));
	if (!*perms)
		return -ENOMEM;
	memcpy(*perms, n->perms, n->nperms * sizeof(**perms));
	*nperms = n->nperms;
	return 0;
}

int xs_directory(struct xs_store *st, const char *path, char ***names,
		 unsigned *count)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	struct xs_ctx c = store_dom0_ctx(st);
	const struct xs_node *n;
	int rc = direct_path(path, abs);

	*names = NULL;
	*count = 0;
	if (!rc)
		rc = xs_tree_get(&c, abs, XS_PERM_READ, &n);
	if (rc)
		return rc;
	size_t bytes = (n->nchildren + 1) * sizeof(char *);
	for (uint32_t i = 0; i < n->nchildren; i++)
		bytes += strlen(n->children[i]) + 1;
	char **v = malloc(bytes);
	if (!v)
		return -ENOMEM;
	char *s = (char *)(v + n->nchildren + 1);
	for (uint32_t i = 0; i < n->nchildren; i++) {
		size_t l = strlen(n->children[i]) + 1;
		memcpy(s, n->children[i], l);
		v[i] = s;
		s += l;
	}
	v[n->nchildren] = NULL;
	*names = v;
	*count = n->nchildren;
	return 0;
}
