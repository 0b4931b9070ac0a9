/* Private structures of the XenStore server, shared by its .c files. */
#ifndef KXEN_XS_PRIVATE_H
#define KXEN_XS_PRIVATE_H

#include "xenstore/xenstore.h"
#include "xenstore/xs-wire.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- string-keyed hash map (map.c) -------------------------------------- */
struct xs_map_ent {
	struct xs_map_ent *next;
	uint32_t hash;
	void *val;
	char key[];
};
struct xs_map {
	struct xs_map_ent **buckets;
	size_t nbuckets;        /* power of two, or 0 before the first insert */
	size_t count;
};
void *xs_map_get(const struct xs_map *m, const char *key);
/* Inserts or replaces; returns the old value through *old (may be NULL). */
int xs_map_put(struct xs_map *m, const char *key, void *val, void **old);
void *xs_map_remove(struct xs_map *m, const char *key);
/* Calls fn on every entry; fn must not change the map. */
void xs_map_foreach(const struct xs_map *m,
		    void (*fn)(void *ctx, const char *key, void *val), void *ctx);
void xs_map_clear(struct xs_map *m, void (*free_val)(void *val));

/* ---- nodes (tree.c) ------------------------------------------------------ */
struct xs_node {
	char *name_path;         /* full absolute path */
	char *value;             /* value_len bytes, plus a NUL for convenience */
	uint32_t value_len;
	struct xs_perm *perms;   /* perms[0]: owner and default rights */
	uint32_t nperms;
	char **children;         /* child names, sorted (strcmp) */
	uint32_t nchildren;
	uint32_t cap_children;
	uint32_t children_len;   /* the child names with their NULs, in bytes */
	uint64_t gen;            /* store generation of the last change */
	/* What this node is charged to while it is in the main store
	 * (store.c): the owner's node count and memory. */
	bool charged;
	uint32_t charge_owner;
	uint32_t charge_bytes;
};
void xs_node_free(struct xs_node *n);
/* A copy that is charged to nobody (a transaction's private view). */
struct xs_node *xs_node_dup(const struct xs_node *n);

/* Quota sizes, counted like C xenstored does: a node is a 16-byte header,
 * 8 bytes per permission, its value and its child names with their NULs;
 * it costs its owner that plus its path in memory. */
#define XS_NODE_HDR_BYTES 16u
#define XS_PERM_BYTES 8u
static inline uint32_t xs_node_size_of(uint32_t nperms, uint32_t value_len,
				       uint32_t children_len)
{
	return XS_NODE_HDR_BYTES + XS_PERM_BYTES * nperms + value_len + children_len;
}
static inline uint32_t xs_node_size(const struct xs_node *n)
{
	return xs_node_size_of(n->nperms, n->value_len, n->children_len);
}
uint32_t xs_node_mem(const struct xs_node *n);

/* ---- domains (store.c) ------------------------------------------------- */
struct xs_domain {
	uint32_t domid;
	uint32_t nodes;          /* nodes this domain owns */
	uint64_t mem;            /* bytes charged: owned nodes, open
	                            transactions, watches, queued output */
	struct xs_conn *conn;    /* ring connection once introduced */
};

/* ---- watches (watch.c) ------------------------------------------------- */
struct xs_watch {
	struct xs_watch *next;
	char *path;              /* as the client gave it (reported back) */
	char *abs;               /* absolute form ("@..." kept as is) */
	char *token;
	uint32_t charge;         /* bytes charged to the connection's domain */
	bool relative;
	xs_watch_fn fn;          /* in-process watches (xs_watch()) only */
	void *opaque;
};

/* ---- transactions (tx.c) ---------------------------------------------- */
struct xs_tx {
	struct xs_tx *next;
	uint32_t id;
	struct xs_map overlay;   /* path -> struct xs_tx_ent (tx.c) */
	int64_t nodes_delta;     /* change of the caller's owned-node count */
	uint64_t mem;            /* bytes of the overlay, charged to the
	                            connection's domain until the end */
};

/* ---- connections (conn.c) --------------------------------------------- */
struct xs_msg {
	struct xs_msg *next;
	uint32_t len;            /* header + payload */
	uint32_t off;            /* bytes already sent */
	bool is_event;
	uint8_t data[];
};

struct xs_conn {
	struct xs_store *st;
	struct xs_conn *next;    /* in st->conns */
	uint32_t domid;
	bool privileged;
	bool is_local;
	bool broken;
	struct xs_wire_ring *ring;  /* guest page, or NULL for local */
	uint32_t evtchn;
	uint32_t req_cons;       /* our copies: the guest cannot move them */
	uint32_t rsp_prod;

	/* request being assembled: header then payload (+ a NUL) */
	uint8_t in[sizeof(struct xs_wire_hdr) + XS_WIRE_PAYLOAD_MAX + 1];
	uint32_t in_have;
	uint32_t in_skip;        /* payload bytes of an oversized request to
	                            discard */

	struct xs_msg *out_head, *out_tail;
	uint32_t out_replies;    /* replies queued, not fully sent */
	uint32_t out_events;
	uint64_t dropped_events;

	struct xs_watch *watches;
	uint32_t nwatches;

	struct xs_tx *txs;
	uint32_t ntx;
	uint32_t next_txid;
};

struct xs_store {
	struct xs_quota quota;
	struct xs_map nodes;     /* absolute path -> struct xs_node */
	uint64_t gen;
	struct xs_domain *domains;
	uint32_t ndomains, cap_domains;
	struct xs_conn *conns;
	struct xs_conn *self;    /* privileged caller for the direct API */
	struct xs_conn *internal;   /* holds in-process watches; created on
	                               first xs_watch() */
	/* @introduceDomain and @releaseDomain: not in the tree, but with
	 * permissions that decide who hears them (watch.c). */
	struct xs_node *special[2];
};

/* Who performs an operation and in which transaction. */
struct xs_ctx {
	struct xs_store *st;
	struct xs_tx *tx;        /* NULL: straight on the store */
	uint32_t domid;
	bool privileged;
};

/* ---- paths (path.c) ------------------------------------------------------ */
#define XS_HOME_MAX 32       /* "/local/domain/4294967295/" + NUL fits */
void xs_home_path(uint32_t domid, char out[XS_HOME_MAX]);
/* Makes an absolute, validated path from a client path (relative ones are
 * under the caller's home).  out has room for XS_WIRE_ABS_PATH_MAX + 1. */
int xs_path_canonical(uint32_t domid, const char *in, char *out);
bool xs_path_is_special(const char *p);
/* The special node named p (@introduceDomain, @releaseDomain), or NULL. */
struct xs_node *xs_special_node(struct xs_store *st, const char *p);
bool xs_path_is_under(const char *ancestor, const char *p);
/* Cuts the last component off p in place; false for "/". */
bool xs_path_parent(char *p);
const char *xs_path_basename(const char *p);

/* ---- perms (perms.c) ----------------------------------------------------- */
uint32_t xs_perm_for(const struct xs_node *n, uint32_t domid, bool privileged);
bool xs_perm_is_owner(const struct xs_node *n, uint32_t domid, bool privileged);
/* Parses "r5" style entries from NUL-separated strings. */
int xs_perms_parse(const char *buf, uint32_t len, struct xs_perm **out,
		   uint32_t *n);
/* Writes NUL-separated entries; returns bytes or -E2BIG. */
int xs_perms_format(const struct xs_perm *p, uint32_t n, char *buf, uint32_t cap);

/* ---- node access through a context (tx.c) -------------------------------- */
int xs_ctx_lookup(struct xs_ctx *c, const char *path, const struct xs_node **out);
int xs_ctx_mutable(struct xs_ctx *c, const char *path, struct xs_node **out);
int xs_ctx_insert(struct xs_ctx *c, struct xs_node *n);
int xs_ctx_delete(struct xs_ctx *c, const char *path);
/* Before an unprivileged caller grows a node owned by `owner` by `grow`
 * bytes: -ENOMEM if that would put the caller over its memory quota. */
int xs_ctx_may_grow(struct xs_ctx *c, uint32_t owner, int64_t grow);
/* After a node got from xs_ctx_mutable() changed: charge its new size. */
void xs_ctx_account(struct xs_ctx *c, struct xs_node *n);
int xs_tx_start(struct xs_conn *conn, uint32_t *id);
struct xs_tx *xs_tx_find(struct xs_conn *conn, uint32_t id);
int xs_tx_end(struct xs_conn *conn, struct xs_tx *tx, bool commit);
void xs_tx_free_all(struct xs_conn *conn);
/* Records a change for the watches; fired now or at commit. */
void xs_ctx_changed(struct xs_ctx *c, const char *path, bool recursive);

/* ---- tree operations (tree.c) -------------------------------------------- */
int xs_tree_init(struct xs_store *st);
int xs_tree_get(struct xs_ctx *c, const char *path, uint32_t perm,
		const struct xs_node **out);
int xs_tree_write(struct xs_ctx *c, const char *path, const void *val,
		  uint32_t len);
int xs_tree_mkdir(struct xs_ctx *c, const char *path);
int xs_tree_rm(struct xs_ctx *c, const char *path);
int xs_tree_set_perms(struct xs_ctx *c, const char *path,
		      const struct xs_perm *p, uint32_t n);
/* Puts n (or nothing, if NULL) at path in the main store, freeing what was
 * there and keeping the per-domain node counts right. */
int xs_store_replace(struct xs_store *st, const char *path, struct xs_node *n);

/* ---- domains (store.c) -------------------------------------------------- */
struct xs_domain *xs_domain_get(struct xs_store *st, uint32_t domid, bool create);
uint32_t xs_domain_nodes(struct xs_store *st, uint32_t domid);
uint64_t xs_domain_mem(struct xs_store *st, uint32_t domid);
/* Charges (or with a negative count, releases) bytes of memory. */
void xs_domain_charge(struct xs_store *st, uint32_t domid, int64_t bytes);
/* Would `grow` more bytes put an unprivileged domain over its quota? */
bool xs_domain_mem_exceeds(struct xs_store *st, uint32_t domid, int64_t grow);
/* Charges a main-store node to its owner (again, after it changed). */
void xs_store_charge_node(struct xs_store *st, struct xs_node *n);
void xs_store_uncharge_node(struct xs_store *st, struct xs_node *n);

/* ---- watches (watch.c) ------------------------------------------------- */
int xs_watch_add(struct xs_conn *conn, const char *path, const char *token);
int xs_watch_remove(struct xs_conn *conn, const char *path, const char *token);
void xs_watch_free_all(struct xs_conn *conn);
void xs_watch_fire(struct xs_store *st, const char *path, bool recursive);

/* ---- connections and wire (conn.c, proto.c) ------------------------------ */
struct xs_conn *xs_conn_new(struct xs_store *st, uint32_t domid, bool privileged);
void xs_conn_free(struct xs_conn *conn);
int xs_conn_queue(struct xs_conn *conn, uint32_t type, uint32_t req_id,
		  uint32_t tx_id, const void *payload, uint32_t len, bool is_event);
int xs_conn_queue_event(struct xs_conn *conn, const char *path, const char *token);
/* Handles one complete request sitting in conn->in. */
void xs_proto_handle(struct xs_conn *conn);
const char *xs_errno_name(int err);

#endif
