/*
 * A small XenStore client for test guests: requests over the store ring
 * named in start_info, the way a PV kernel's xenbus talks to xenstored.
 *
 * One request at a time; the reply is awaited by polling the ring (with
 * SCHEDOP_yield) for at most XENBUS_TIMEOUT_NS.  Watch events that arrive
 * meanwhile are kept (a few) for xenbus_event().  Functions return 0 or a
 * byte count on success, and -XENBUS_E* on failure: the error the store
 * answered, or XENBUS_ETIMEDOUT / XENBUS_EPROTO when the ring failed us.
 */
#ifndef KXEN_GUEST_XENBUS_H
#define KXEN_GUEST_XENBUS_H

#include <stdbool.h>
#include <stdint.h>

/* The errno values behind the protocol's error names (Linux numbering). */
enum {
	XENBUS_EPERM = 1, XENBUS_ENOENT = 2, XENBUS_EIO = 5, XENBUS_E2BIG = 7,
	XENBUS_EAGAIN = 11, XENBUS_ENOMEM = 12, XENBUS_EACCES = 13,
	XENBUS_EBUSY = 16, XENBUS_EEXIST = 17, XENBUS_EISDIR = 21,
	XENBUS_EINVAL = 22, XENBUS_ENOSPC = 28, XENBUS_EROFS = 30,
	XENBUS_ENOSYS = 38, XENBUS_ENOTEMPTY = 39, XENBUS_EPROTO = 71,
	XENBUS_EISCONN = 106, XENBUS_ETIMEDOUT = 110,
};

/* Message types (the protocol's numbers). */
enum {
	XENBUS_DIRECTORY = 1, XENBUS_READ = 2, XENBUS_GET_PERMS = 3,
	XENBUS_WATCH = 4, XENBUS_UNWATCH = 5, XENBUS_TRANSACTION_START = 6,
	XENBUS_TRANSACTION_END = 7, XENBUS_GET_DOMAIN_PATH = 10,
	XENBUS_WRITE = 11, XENBUS_MKDIR = 12, XENBUS_RM = 13,
	XENBUS_SET_PERMS = 14, XENBUS_WATCH_EVENT = 15, XENBUS_ERROR = 16,
	XENBUS_RESET_WATCHES = 21,
};

#define XENBUS_PAYLOAD_MAX 4096u
#define XENBUS_TIMEOUT_NS  (20ull * 1000 * 1000 * 1000)

/* Finds the ring; needs shared_info (mapped here if it is not yet). */
long xenbus_init(void);

/* One request of `len` payload bytes in transaction `tx` (0: none).  The
 * reply's payload, NUL-terminated, goes to rsp (cap bytes, may be NULL)
 * and its length to *rsp_len. */
long xenbus_call(uint32_t type, uint32_t tx, const void *req, uint32_t len,
                 char *rsp, uint32_t cap, uint32_t *rsp_len);

/* The value's length, the value NUL-terminated in buf. */
long xenbus_read(uint32_t tx, const char *path, char *buf, uint32_t cap);
long xenbus_write(uint32_t tx, const char *path, const char *val);
long xenbus_write_len(uint32_t tx, const char *path, const void *val, uint32_t len);
long xenbus_mkdir(uint32_t tx, const char *path);
long xenbus_rm(uint32_t tx, const char *path);
/* perms: n entries such as "n5", "r0", "b3". */
long xenbus_set_perms(uint32_t tx, const char *path, const char *const *perms, unsigned n);
/* NUL-separated entries into buf; returns their bytes. */
long xenbus_get_perms(uint32_t tx, const char *path, char *buf, uint32_t cap);
/* NUL-separated child names into buf; returns their bytes. */
long xenbus_directory(uint32_t tx, const char *path, char *buf, uint32_t cap);
long xenbus_watch(const char *path, const char *token);
long xenbus_unwatch(const char *path, const char *token);
long xenbus_tx_start(uint32_t *tx);
long xenbus_tx_end(uint32_t tx, bool commit);

/* The oldest watch event received and not yet taken; false if none.
 * Waits up to wait_ns for one to arrive. */
bool xenbus_event(char *path, uint32_t pcap, char *token, uint32_t tcap, uint64_t wait_ns);
/* Events that did not fit the client's small queue. */
extern unsigned long xenbus_events_lost;

/* "EACCES" for -XENBUS_EACCES, for messages. */
const char *xenbus_strerror(long err);

#endif
