/* Transactions, and the node-access layer that makes them work.
 *
 * A transaction keeps a private copy of every node it has touched (read or
 * written), taken the first time it touches it, together with that node's
 * generation in the store at the time (0: the node did not exist).  Later
 * accesses in the transaction see the copy, so it works on a stable view.
 * Commit succeeds only if every touched node still has the generation it
 * had when first touched; then the changed copies replace the store's nodes
 * and the watches fire.  Otherwise the client gets EAGAIN and retries.
 *
 * The copies cost memory: each entry is charged to the caller's domain
 * while the transaction is open, so ten transactions cannot hold ten
 * quotas' worth.  At commit the quotas are checked against what the
 * transaction would leave in the store (nodes and memory the caller would
 * own), so neither can be exceeded through transactions either.
 */
#include "xenstore/xs-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct xs_tx_ent {
	struct xs_node *node;   /* the transaction's view; NULL: absent */
	uint64_t base_gen;      /* store generation when first touched */
	bool dirty;             /* changed by the transaction */
	uint8_t fire;           /* 0 none, 1 fire watches, 2 fire as removal */
	uint32_t charge;        /* bytes charged for this entry */
};

/* What an entry costs: its node with its path, or the path alone for a
 * node the transaction sees as missing. */
static uint32_t tx_ent_bytes(const struct xs_tx_ent *e, const char *path)
{
	return e->node ? xs_node_mem(e->node) : (uint32_t)strlen(path);
}

static void tx_ent_recharge(struct xs_ctx *c, struct xs_tx_ent *e, const char *path)
{
	uint32_t now = tx_ent_bytes(e, path);

	xs_domain_charge(c->st, c->domid, (int64_t)now - e->charge);
	c->tx->mem = c->tx->mem + now - e->charge;
	e->charge = now;
}

static void tx_ent_free(void *v)
{
	struct xs_tx_ent *e = v;

	xs_node_free(e->node);
	free(e);
}

/* The transaction's entry for path, copied from the store on first use. */
static int tx_entry(struct xs_ctx *c, const char *path, struct xs_tx_ent **out)
{
	struct xs_tx *tx = c->tx;
	struct xs_tx_ent *e = xs_map_get(&tx->overlay, path);

	*out = e;
	if (e)
		return 0;
	if (!c->privileged && tx->overlay.count >= c->st->quota.max_tx_nodes)
		return -ENOSPC;
	const struct xs_node *cur = xs_map_get(&c->st->nodes, path);
	uint32_t bytes = cur ? xs_node_mem(cur) : (uint32_t)strlen(path);
	if (!c->privileged && xs_domain_mem_exceeds(c->st, c->domid, bytes))
		return -ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	if (cur) {
		e->base_gen = cur->gen;
		e->node = xs_node_dup(cur);
		if (!e->node) {
			free(e);
			return -ENOMEM;
		}
	}
	int rc = xs_map_put(&tx->overlay, path, e, NULL);
	if (rc) {
		tx_ent_free(e);
		return rc;
	}
	tx_ent_recharge(c, e, path);
	*out = e;
	return 0;
}

int xs_ctx_lookup(struct xs_ctx *c, const char *path, const struct xs_node **out)
{
	struct xs_tx_ent *e;

	if (!c->tx) {
		*out = xs_map_get(&c->st->nodes, path);
		return 0;
	}
	*out = NULL;
	int rc = tx_entry(c, path, &e);
	if (!rc)
		*out = e->node;
	return rc;
}

/* A node the caller is about to change.  In the store its generation moves
 * now, so transactions that saw the old state will fail to commit. */
int xs_ctx_mutable(struct xs_ctx *c, const char *path, struct xs_node **out)
{
	struct xs_tx_ent *e;

	*out = NULL;
	if (!c->tx) {
		struct xs_node *n = xs_map_get(&c->st->nodes, path);
		if (!n)
			return -ENOENT;
		n->gen = ++c->st->gen;
		*out = n;
		return 0;
	}
	int rc = tx_entry(c, path, &e);
	if (rc)
		return rc;
	if (!e->node)
		return -ENOENT;
	e->dirty = true;
	*out = e->node;
	return 0;
}

static void tx_count_owned(struct xs_ctx *c, const struct xs_node *n, int delta)
{
	if (n && n->perms[0].domid == c->domid)
		c->tx->nodes_delta += delta;
}

int xs_ctx_insert(struct xs_ctx *c, struct xs_node *n)
{
	struct xs_tx_ent *e;

	if (!c->tx)
		return xs_store_replace(c->st, n->name_path, n);
	int rc = tx_entry(c, n->name_path, &e);
	if (rc)
		return rc;
	tx_count_owned(c, e->node, -1);
	xs_node_free(e->node);
	e->node = n;
	e->dirty = true;
	tx_count_owned(c, n, +1);
	tx_ent_recharge(c, e, n->name_path);
	return 0;
}

int xs_ctx_delete(struct xs_ctx *c, const char *path)
{
	struct xs_tx_ent *e;

	if (!c->tx)
		return xs_store_replace(c->st, path, NULL);
	int rc = tx_entry(c, path, &e);
	if (rc)
		return rc;
	tx_count_owned(c, e->node, -1);
	xs_node_free(e->node);
	e->node = NULL;
	e->dirty = true;
	tx_ent_recharge(c, e, path);
	return 0;
}

int xs_ctx_may_grow(struct xs_ctx *c, uint32_t owner, int64_t grow)
{
	if (c->privileged || grow <= 0)
		return 0;
	/* Outside a transaction the owner pays; inside, the caller does. */
	if (!c->tx && owner != c->domid)
		return 0;
	return xs_domain_mem_exceeds(c->st, c->domid, grow) ? -ENOMEM : 0;
}

void xs_ctx_account(struct xs_ctx *c, struct xs_node *n)
{
	if (!c->tx) {
		xs_store_charge_node(c->st, n);
		return;
	}
	struct xs_tx_ent *e = xs_map_get(&c->tx->overlay, n->name_path);
	if (e && e->node == n)
		tx_ent_recharge(c, e, n->name_path);
}

void xs_ctx_changed(struct xs_ctx *c, const char *path, bool recursive)
{
	if (!c->tx) {
		xs_watch_fire(c->st, path, recursive);
		return;
	}
	/* Remembered on the node's entry (which exists: the change touched
	 * it), so repeated changes fire once, at commit. */
	struct xs_tx_ent *e = xs_map_get(&c->tx->overlay, path);
	if (e && e->fire < (recursive ? 2 : 1))
		e->fire = recursive ? 2 : 1;
}

/* ---- start / end ----------------------------------------------------------- */

struct xs_tx *xs_tx_find(struct xs_conn *conn, uint32_t id)
{
	for (struct xs_tx *tx = conn->txs; tx; tx = tx->next)
		if (tx->id == id)
			return tx;
	return NULL;
}

int xs_tx_start(struct xs_conn *conn, uint32_t *id)
{
	if (!conn->privileged && conn->ntx >= conn->st->quota.max_transactions)
		return -ENOSPC;
	struct xs_tx *tx = calloc(1, sizeof(*tx));
	if (!tx)
		return -ENOMEM;
	/* Ids are never 0 (no transaction) and never reused while open. */
	do {
		tx->id = ++conn->next_txid;
	} while (tx->id == 0 || xs_tx_find(conn, tx->id));
	tx->next = conn->txs;
	conn->txs = tx;
	conn->ntx++;
	*id = tx->id;
	return 0;
}

static void tx_unlink_free(struct xs_conn *conn, struct xs_tx *tx)
{
	for (struct xs_tx **pp = &conn->txs; *pp; pp = &(*pp)->next) {
		if (*pp == tx) {
			*pp = tx->next;
			conn->ntx--;
			break;
		}
	}
	xs_map_clear(&tx->overlay, tx_ent_free);
	xs_domain_charge(conn->st, conn->domid, -(int64_t)tx->mem);
	free(tx);
}

struct tx_commit {
	struct xs_store *st;
	uint32_t domid;
	bool conflict;
	int err;
	int64_t nodes;          /* change of the caller's owned nodes */
	int64_t mem;            /* and of their bytes */
};

/* What committing this entry changes in the caller's ownership. */
static void tx_quota_ent(void *ctx, const char *path, void *val)
{
	struct tx_commit *tc = ctx;
	const struct xs_tx_ent *e = val;
	const struct xs_node *cur = xs_map_get(&tc->st->nodes, path);

	if (!e->dirty)
		return;
	if (cur && cur->perms[0].domid == tc->domid) {
		tc->nodes--;
		tc->mem -= xs_node_mem(cur);
	}
	if (e->node && e->node->perms[0].domid == tc->domid) {
		tc->nodes++;
		tc->mem += xs_node_mem(e->node);
	}
}

/* The quotas hold for the store the commit would leave behind. */
static int tx_check_quota(struct xs_conn *conn, struct xs_tx *tx, struct tx_commit *tc)
{
	const struct xs_quota *q = &conn->st->quota;

	if (conn->privileged)
		return 0;
	xs_map_foreach(&tx->overlay, tx_quota_ent, tc);
	if (tc->nodes > 0 &&
	    xs_domain_nodes(conn->st, conn->domid) + tc->nodes > q->max_nodes_per_domain)
		return -ENOSPC;
	/* This transaction's own charge goes away as it ends. */
	int64_t after = (int64_t)xs_domain_mem(conn->st, conn->domid) -
			(int64_t)tx->mem + tc->mem;
	if (tc->mem > 0 && after > (int64_t)q->max_memory)
		return -ENOSPC;
	return 0;
}

static void tx_check_ent(void *ctx, const char *path, void *val)
{
	struct tx_commit *tc = ctx;
	const struct xs_tx_ent *e = val;
	const struct xs_node *cur = xs_map_get(&tc->st->nodes, path);

	if ((cur ? cur->gen : 0) != e->base_gen)
		tc->conflict = true;
}

static void tx_apply_ent(void *ctx, const char *path, void *val)
{
	struct tx_commit *tc = ctx;
	struct xs_tx_ent *e = val;

	if (!e->dirty)
		return;
	int rc = xs_store_replace(tc->st, path, e->node);
	if (rc) {
		tc->err = rc;   /* the store keeps its old node here */
		return;
	}
	e->node = NULL;         /* now owned by the store */
}

static void tx_fire_ent(void *ctx, const char *path, void *val)
{
	struct tx_commit *tc = ctx;
	const struct xs_tx_ent *e = val;

	if (e->fire)
		xs_watch_fire(tc->st, path, e->fire == 2);
}

int xs_tx_end(struct xs_conn *conn, struct xs_tx *tx, bool commit)
{
	struct tx_commit tc = { .st = conn->st, .domid = conn->domid };

	if (commit) {
		xs_map_foreach(&tx->overlay, tx_check_ent, &tc);
		if (!tc.conflict)
			tc.err = tx_check_quota(conn, tx, &tc);
		if (!tc.conflict && !tc.err) {
			xs_map_foreach(&tx->overlay, tx_apply_ent, &tc);
			xs_map_foreach(&tx->overlay, tx_fire_ent, &tc);
		}
	}
	tx_unlink_free(conn, tx);
	if (tc.conflict)
		return -EAGAIN;
	return tc.err;
}

void xs_tx_free_all(struct xs_conn *conn)
{
	while (conn->txs)
		tx_unlink_free(conn, conn->txs);
}
