/*
 * The block backend's parts (private to src/devices): the backing store,
 * and the request parser -- a pure function over one copied ring slot, so
 * the fuzz harness can drive it without a guest.
 */
#ifndef KXEN_BLKBACK_H
#define KXEN_BLKBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xen/io.h"

/* ---- backing store (blkstore.c) ------------------------------------------------ */
struct blkstore {
	int fd;                  /* buffered */
	int fd_direct;           /* O_DIRECT, -1 when the file system refuses it */
	unsigned direct_align;   /* buffer/offset/length alignment O_DIRECT needs */
	uint64_t bytes, sectors; /* size; 512-byte sectors */
	unsigned logical_block, physical_block;
	bool is_bdev, readonly, can_discard;
};
int blkstore_open(struct blkstore *bs, const char *path, bool readonly, char *err, size_t errlen);
/* fdatasync (unless read-only) and close. */
void blkstore_close(struct blkstore *bs);

/* ---- requests (blkreq.c) --------------------------------------------------------- */
/* The most segments an indirect request may carry (what we advertise as
 * feature-max-indirect-segments; Linux's blkback uses the same). */
#define BLK_MAX_INDIRECT_SEGS 256
#define BLK_MAX_SEGS BLK_MAX_INDIRECT_SEGS

struct blk_seg {
	grant_ref_t gref;
	uint8_t first, last;     /* sectors within the frame */
};

struct blk_parsed {
	uint8_t op;              /* READ, WRITE, FLUSH_DISKCACHE, DISCARD */
	uint8_t rsp_op;          /* echoed in the response */
	uint64_t id;
	uint64_t sector;
	bool indirect;
	unsigned nr_segs;        /* rw: 1..11, indirect: 1..max */
	struct blk_seg seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];   /* direct requests */
	unsigned nr_indirect_pages;
	grant_ref_t indirect_gref[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	uint64_t nr_sectors;     /* discard */
	bool secure;             /* discard */
};

/* Parse one request (already copied out of the ring).  Returns
 * BLKIF_RSP_OKAY, or BLKIF_RSP_ERROR / BLKIF_RSP_EOPNOTSUPP with why set;
 * out->id and out->rsp_op are valid for the response either way. */
int blkreq_parse(const struct blkif_request *req, unsigned max_indirect_segs,
		 struct blk_parsed *out, const char **why);
/* Check segments (from the request or its indirect pages) against the
 * disk: each inside its frame, the whole run inside [0, disk_sectors),
 * and a multiple of the logical block (in sectors).  Fills *sectors. */
int blkreq_check_segs(const struct blk_seg *segs, unsigned n, uint64_t sector,
		      uint64_t disk_sectors, unsigned block_sectors, uint64_t *sectors,
		      const char **why);
/* Decode one page of indirect segment descriptors (512 of them, raw
 * guest bytes) into segs. */
void blkreq_decode_indirect(const void *page, unsigned n, struct blk_seg *segs);

#endif
