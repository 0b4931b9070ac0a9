/*
 * Split-driver I/O ABI: XenBus states, the shared-ring header, and the
 * blkif protocol in its 64-bit layout ("x86_64-abi").
 *
 * Written for kxen from the documented layouts (Xen's public io/ headers
 * are the reference for the facts).  Freestanding, shared by the backends
 * and the test guests.  Ring indices are free-running 32-bit counters; a
 * ring has a power-of-two number of slots after a 64-byte header.
 */
#ifndef KXEN_XEN_IO_H
#define KXEN_XEN_IO_H

#include <stdint.h>

#include "xen.h"

/* ---- XenBus --------------------------------------------------------------- */
enum xenbus_state {
	XenbusStateUnknown = 0,
	XenbusStateInitialising = 1,
	XenbusStateInitWait = 2,      /* backend: waiting for the frontend's details */
	XenbusStateInitialised = 3,   /* frontend: details published */
	XenbusStateConnected = 4,
	XenbusStateClosing = 5,
	XenbusStateClosed = 6,
	XenbusStateReconfiguring = 7,
	XenbusStateReconfigured = 8,
};

/* ---- shared rings ----------------------------------------------------------- */
struct ring_sring_header {
	uint32_t req_prod, req_event;
	uint32_t rsp_prod, rsp_event;
	uint8_t _pad[48];
};
#define RING_HEADER_SIZE 64u

/* Slots of a ring of `bytes` with entries of `entry` bytes: the largest
 * power of two that fits after the header. */
static inline uint32_t ring_slots(uint32_t bytes, uint32_t entry)
{
	uint32_t n = (bytes - RING_HEADER_SIZE) / entry, p = 1;
	while (p * 2 <= n)
		p *= 2;
	return n ? p : 0;
}

/* ---- blkif ----------------------------------------------------------------- */
#define BLKIF_OP_READ             0
#define BLKIF_OP_WRITE            1
#define BLKIF_OP_WRITE_BARRIER    2
#define BLKIF_OP_FLUSH_DISKCACHE  3
#define BLKIF_OP_RESERVED_1       4
#define BLKIF_OP_DISCARD          5
#define BLKIF_OP_INDIRECT         6

#define BLKIF_RSP_EOPNOTSUPP  (-2)
#define BLKIF_RSP_ERROR       (-1)
#define BLKIF_RSP_OKAY          0

#define BLKIF_MAX_SEGMENTS_PER_REQUEST     11
#define BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST 8
#define BLKIF_SEGS_PER_INDIRECT_FRAME      (4096 / 8)
#define BLKIF_DISCARD_SECURE               1

/* "info" bits of the backend directory. */
#define VDISK_CDROM     1
#define VDISK_REMOVABLE 2
#define VDISK_READONLY  4

/* Everything is in 512-byte sectors whatever the disk's sector-size. */
#define BLKIF_SECTOR_SHIFT 9

struct blkif_request_segment {
	grant_ref_t gref;
	uint8_t first_sect, last_sect;   /* within the 4 KiB frame, 0..7 */
	uint16_t _pad;
};

/* The 64-bit request: a packed byte of operation, then the union; ids at
 * offset 8 in every variant. */
struct __attribute__((packed)) blkif_request_rw {
	uint8_t nr_segments;
	uint16_t handle;
	uint32_t _pad1;
	uint64_t id;
	uint64_t sector_number;
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
struct __attribute__((packed)) blkif_request_discard {
	uint8_t flag;                    /* BLKIF_DISCARD_SECURE */
	uint16_t _pad1;
	uint32_t _pad2;
	uint64_t id;
	uint64_t sector_number;
	uint64_t nr_sectors;
	uint8_t _pad3;
};
struct __attribute__((packed)) blkif_request_other {
	uint8_t _pad1;
	uint16_t _pad2;
	uint32_t _pad3;
	uint64_t id;
};
struct __attribute__((packed)) blkif_request_indirect {
	uint8_t indirect_op;
	uint16_t nr_segments;
	uint32_t _pad1;
	uint64_t id;
	uint64_t sector_number;
	uint16_t handle;
	uint16_t _pad2;
	grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	uint32_t _pad3;
};
struct __attribute__((packed)) blkif_request {
	uint8_t operation;
	union __attribute__((packed)) {
		struct blkif_request_rw rw;
		struct blkif_request_discard discard;
		struct blkif_request_other other;
		struct blkif_request_indirect indirect;
	} u;
};
struct blkif_response {
	uint64_t id;
	uint8_t operation;
	int16_t status;
};
/* One slot holds a request or, once answered, its response. */
union blkif_sring_entry {
	struct blkif_request req;
	struct blkif_response rsp;
};

_Static_assert(sizeof(struct ring_sring_header) == RING_HEADER_SIZE, "sring header");
_Static_assert(sizeof(struct blkif_request_segment) == 8, "blkif segment");
_Static_assert(sizeof(struct blkif_request) == 112, "blkif_request");
_Static_assert(sizeof(struct blkif_response) == 16, "blkif_response");
_Static_assert(sizeof(union blkif_sring_entry) == 112, "blkif slot");
_Static_assert(__builtin_offsetof(struct blkif_request, u.rw.id) == 8, "rw id");
_Static_assert(__builtin_offsetof(struct blkif_request, u.rw.seg) == 24, "rw seg");
_Static_assert(__builtin_offsetof(struct blkif_request, u.discard.nr_sectors) == 24, "discard");
_Static_assert(__builtin_offsetof(struct blkif_request, u.indirect.indirect_grefs) == 28,
	       "indirect grefs");

#endif
