/* kxen XenStore server.
 *
 * One `struct xs_store` holds the whole tree, every connection, watch and
 * transaction; there is no global state.  The daemon:
 *
 *   st = xs_create(NULL);
 *   xs_write_str(st, "/local/domain/0/name", "Domain-0");
 *   xs_introduce(st, domid, ring_page, port, &conn);   // guest's store page
 *   xs_write_str(st, "/local/domain/<id>/name", "guest"); ...
 *   on an event from the guest on `port`:
 *       rc = xs_conn_process(conn);
 *       if (rc > 0 && (rc & XS_PROCESS_NOTIFY)) send event on port;
 *   (better: call xs_poll() to serve every ring connection at once; it calls
 *    back for each one that must be notified - watch events raised by one
 *    domain or by the daemon's own writes land in other domains' queues and
 *    go out this way; then xs_dispatch_watches() for in-process watches)
 *   xs_release(st, domid); ... xs_destroy(st);
 *
 * The ring page is guest memory: it is read with care, never trusted, and
 * may change at any moment.  A connection that breaks the ring protocol is
 * marked broken and no longer served (xs_conn_broken()).
 *
 * Functions return 0 (or a count) on success and a negative errno on
 * failure.  Every entry point that takes a store must be called from one
 * thread at a time.
 */
#ifndef KXEN_XENSTORE_H
#define KXEN_XENSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct xs_store;
struct xs_conn;

/* Limits applied to unprivileged (guest) connections; dom0 is exempt.
 * The defaults are C xenstored's.  Zero fields in the struct given to
 * xs_create() take the default shown.  Every limit holds for what a
 * transaction commits as well as for single requests. */
struct xs_quota {
	uint32_t max_nodes_per_domain;   /* 1000: nodes owned by one domain */
	uint32_t max_watches;            /* 128 per connection */
	uint32_t max_transactions;       /* 10 open per connection */
	uint32_t max_node_size;          /* 2048 bytes: a 16-byte header, 8
	                                    per permission, the value and the
	                                    child names with their NULs */
	uint32_t max_outstanding;        /* 20 unsent replies before we stop
	                                    reading a connection's requests */
	uint32_t max_queued_events;      /* 1024 unsent watch events; more are
	                                    dropped (and counted) */
	uint32_t max_tx_nodes;           /* 1024 nodes touched per transaction */
	uint32_t max_perms;              /* 5 permissions per node besides the
	                                    owner's entry */
	uint32_t max_memory;             /* 2.5 MiB per domain: owned nodes
	                                    with their paths, open transactions,
	                                    watches and queued output.  Past it
	                                    requests that need more fail with
	                                    ENOMEM and the ring is not read
	                                    until the guest drains its replies */
};

struct xs_store *xs_create(const struct xs_quota *quota);
void xs_destroy(struct xs_store *st);

/* ---- permissions ---------------------------------------------------------
 * A node's permission list: entry 0 names the owner (who may do anything)
 * and the rights of every domain not listed; later entries give rights to
 * particular domains.  Domain 0 may do anything.
 *
 * The special nodes "@introduceDomain" and "@releaseDomain" carry
 * permissions too (xs_set_perms/xs_get_perms take their names): their
 * watch events reach privileged connections and the domains given read
 * access, nobody else (dom0-only by default, as in C xenstored). */
enum {
	XS_PERM_NONE = 0,
	XS_PERM_READ = 1,
	XS_PERM_WRITE = 2,
	XS_PERM_BOTH = 3,
};
struct xs_perm {
	uint32_t domid;
	uint32_t perm;          /* XS_PERM_* */
};

/* ---- domains --------------------------------------------------------------
 * A toolstack first lays out the guest's home with xs_home_create(), then
 * introduces the domain, so watchers of @introduceDomain find it complete.
 *
 * xs_home_create() makes /local/domain/<domid> the way libxl does: the home
 * and the nodes the toolstack writes (name, domid, memory/, cpu/, store/,
 * control/) read-only to the guest ({0, NONE}, {domid, READ}); the guest
 * owns data/, drivers/, feature/, attr/, error/, control/shutdown,
 * control/feature-{poweroff,reboot,suspend}, control/sysrq,
 * device/suspend/event-channel and its console frontend console/.  A home
 * left by an earlier domain of that id is removed first.
 *
 * xs_introduce() connects a domain whose store ring is at `ring_page` (the
 * mapped guest page, at least 2080 bytes, staying mapped until
 * xs_release()) and fires @introduceDomain.  If there is no home yet it
 * creates a bare one owned by the domain (for tests and tools that need no
 * layout).  The connection is returned in *conn (owned by the store).
 * xs_release() drops the connection with its watches and transactions,
 * removes /local/domain/<domid> and every other node the domain owns,
 * drops the permission entries naming it (a later domain may get its id),
 * and fires @releaseDomain. */
struct xs_home {
	uint32_t domid;
	const char *name;
	uint64_t target_kib, static_max_kib;   /* memory/target, static-max */
	unsigned vcpus, max_vcpus;             /* cpu/<i>/availability online
	                                          for i < vcpus, up to max */
	uint32_t store_port, console_port;     /* store/port, console/port */
};
int xs_home_create(struct xs_store *st, const struct xs_home *home);
int xs_introduce(struct xs_store *st, uint32_t domid, void *ring_page,
		 uint32_t evtchn_port, struct xs_conn **conn);
int xs_release(struct xs_store *st, uint32_t domid);
struct xs_conn *xs_domain_conn(struct xs_store *st, uint32_t domid);

/* ---- serving rings ------------------------------------------------------- */
enum {
	XS_PROCESS_NOTIFY = 1,  /* send an event to the guest on its port */
	XS_PROCESS_AGAIN = 2,   /* work left (per-call budget hit): call again */
};
/* Consumes every complete request in the ring, answers it, writes replies
 * and queued watch events into the response ring as space allows.
 * Returns XS_PROCESS_* flags, or -EPIPE if the connection is broken. */
int xs_conn_process(struct xs_conn *conn);
/* Runs xs_conn_process() on every ring connection and calls `notify` for
 * each one that must be notified (notify must not introduce or release
 * domains).  Returns the OR of the flags. */
int xs_poll(struct xs_store *st,
	    void (*notify)(void *opaque, uint32_t domid, uint32_t evtchn_port),
	    void *opaque);

uint32_t xs_conn_domid(const struct xs_conn *conn);
uint32_t xs_conn_evtchn(const struct xs_conn *conn);
bool xs_conn_broken(const struct xs_conn *conn);
/* Watch events dropped because the guest did not read them fast enough. */
uint64_t xs_conn_dropped_events(const struct xs_conn *conn);
/* What a domain uses of its quotas: nodes it owns and bytes charged. */
void xs_domain_usage(struct xs_store *st, uint32_t domid, uint32_t *nodes,
		     uint64_t *mem);

/* ---- local (dom0 tool) connections ----------------------------------------
 * A byte-stream connection with full privilege, e.g. behind a unix socket:
 * feed it the client's bytes, drain the replies and watch events. */
struct xs_conn *xs_local_open(struct xs_store *st);
void xs_local_close(struct xs_conn *conn);
/* Takes all `len` bytes (returns len) or -EPIPE after a protocol error. */
ssize_t xs_local_feed(struct xs_conn *conn, const void *buf, size_t len);
/* Copies up to `cap` bytes of pending output; returns the count (0: none). */
ssize_t xs_local_drain(struct xs_conn *conn, void *buf, size_t cap);
bool xs_conn_has_output(const struct xs_conn *conn);

/* ---- direct API, acting as domain 0 ---------------------------------------
 * Paths must be absolute.  Writes fire watches like a guest's write would. */
int xs_write(struct xs_store *st, const char *path, const void *val, size_t len);
int xs_write_str(struct xs_store *st, const char *path, const char *val);
int xs_printf(struct xs_store *st, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* *val is malloc'd and NUL-terminated (the NUL is not counted in *len). */
int xs_read(struct xs_store *st, const char *path, char **val, size_t *len);
int xs_mkdir(struct xs_store *st, const char *path);
int xs_rm(struct xs_store *st, const char *path);
int xs_set_perms(struct xs_store *st, const char *path,
		 const struct xs_perm *perms, unsigned nperms);
/* *perms is malloc'd. */
int xs_get_perms(struct xs_store *st, const char *path,
		 struct xs_perm **perms, unsigned *nperms);
/* *names is one malloc'd block: an array of *n pointers followed by the
 * strings; free(*names) releases it all. */
int xs_directory(struct xs_store *st, const char *path, char ***names,
		 unsigned *n);

/* ---- in-process watches --------------------------------------------------
 * For the daemon's own users (device backends watching frontend state).
 * Events are queued like a client's (including the initial one) and
 * delivered by xs_dispatch_watches(), never from inside another call, so
 * callbacks may use the store freely.  Give each callback its own token:
 * the token picks the callback when the event is delivered. */
typedef void (*xs_watch_fn)(void *opaque, const char *path, const char *token);
int xs_watch(struct xs_store *st, const char *path, const char *token,
	     xs_watch_fn fn, void *opaque);
int xs_unwatch(struct xs_store *st, const char *path, const char *token);
/* Runs callbacks for queued events; returns how many ran.  Call it after
 * xs_conn_process()/xs_poll() and after the daemon's own writes. */
int xs_dispatch_watches(struct xs_store *st);

/* Number of nodes in the tree (for tests and statistics). */
size_t xs_node_count(const struct xs_store *st);

#endif
