/* XenStore wire protocol, as spoken between a guest and the store.
 *
 * Written for kxen from the documented layout of the protocol (message
 * header, message type numbers, error names, and the shared ring page).
 * Private to src/xenstore/.
 */
#ifndef KXEN_XS_WIRE_H
#define KXEN_XS_WIRE_H

#include <stdint.h>
#include <stddef.h>

/* Every message, in both directions, starts with this 16-byte header and is
 * followed by `len` payload bytes.  Replies carry the request's req_id and
 * tx_id so the client can match them up. */
struct xs_wire_hdr {
	uint32_t type;
	uint32_t req_id;
	uint32_t tx_id;
	uint32_t len;
};
_Static_assert(sizeof(struct xs_wire_hdr) == 16, "xenstore header is 16 bytes");

/* Message types; the numbers are fixed by the protocol. */
enum xs_wire_type {
	XS_WIRE_CONTROL = 0,           /* also known as DEBUG */
	XS_WIRE_DIRECTORY = 1,
	XS_WIRE_READ = 2,
	XS_WIRE_GET_PERMS = 3,
	XS_WIRE_WATCH = 4,
	XS_WIRE_UNWATCH = 5,
	XS_WIRE_TRANSACTION_START = 6,
	XS_WIRE_TRANSACTION_END = 7,
	XS_WIRE_INTRODUCE = 8,
	XS_WIRE_RELEASE = 9,
	XS_WIRE_GET_DOMAIN_PATH = 10,
	XS_WIRE_WRITE = 11,
	XS_WIRE_MKDIR = 12,
	XS_WIRE_RM = 13,
	XS_WIRE_SET_PERMS = 14,
	XS_WIRE_WATCH_EVENT = 15,
	XS_WIRE_ERROR = 16,
	XS_WIRE_IS_DOMAIN_INTRODUCED = 17,
	XS_WIRE_RESUME = 18,
	XS_WIRE_SET_TARGET = 19,
	/* 20 was never assigned for guests (it was a removed restrict op). */
	XS_WIRE_RESET_WATCHES = 21,
	XS_WIRE_DIRECTORY_PART = 22,
};

/* Largest payload either side may send. */
#define XS_WIRE_PAYLOAD_MAX 4096u

/* Path length limits: absolute paths, and relative paths before the
 * domain's home prefix is added. */
#define XS_WIRE_ABS_PATH_MAX 3072u
#define XS_WIRE_REL_PATH_MAX 2048u

/* Shared ring page.  The guest produces requests into req[] and consumes
 * replies from rsp[]; the server does the opposite.  Indices run freely
 * and are reduced modulo the ring size when used. */
#define XS_WIRE_RING_SIZE 1024u
#define XS_WIRE_RING_IDX(i) ((i) & (XS_WIRE_RING_SIZE - 1))

struct xs_wire_ring {
	char req[XS_WIRE_RING_SIZE];
	char rsp[XS_WIRE_RING_SIZE];
	uint32_t req_cons;
	uint32_t req_prod;
	uint32_t rsp_cons;
	uint32_t rsp_prod;
	uint32_t server_features;
	uint32_t connection;
	uint32_t error;
	uint32_t evtchn_port;
};
_Static_assert(offsetof(struct xs_wire_ring, rsp) == 1024, "rsp offset");
_Static_assert(offsetof(struct xs_wire_ring, req_cons) == 2048, "req_cons offset");
_Static_assert(offsetof(struct xs_wire_ring, req_prod) == 2052, "req_prod offset");
_Static_assert(offsetof(struct xs_wire_ring, rsp_cons) == 2056, "rsp_cons offset");
_Static_assert(offsetof(struct xs_wire_ring, rsp_prod) == 2060, "rsp_prod offset");
_Static_assert(offsetof(struct xs_wire_ring, server_features) == 2064, "features offset");
_Static_assert(offsetof(struct xs_wire_ring, connection) == 2068, "connection offset");
_Static_assert(offsetof(struct xs_wire_ring, error) == 2072, "error offset");
_Static_assert(offsetof(struct xs_wire_ring, evtchn_port) == 2076, "evtchn offset");
_Static_assert(sizeof(struct xs_wire_ring) == 2080, "ring page layout uses 2080 bytes");

/* Values of `connection`. */
#define XS_WIRE_CONNECTED 0u
#define XS_WIRE_RECONNECT 1u

#endif
