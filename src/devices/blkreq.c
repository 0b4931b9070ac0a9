/*
 * blkif request parsing: everything a frontend puts in a request slot is
 * checked here, once, on our own copy.  Nothing in this file touches
 * guest memory.
 */
#include "devices/blkback.h"

#include <string.h>

static int fail(const char **why, const char *what, int status)
{
	*why = what;
	return status;
}

static void copy_segs(struct blk_parsed *p, const struct blkif_request_rw *rw, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		p->seg[i].gref = rw->seg[i].gref;
		p->seg[i].first = rw->seg[i].first_sect;
		p->seg[i].last = rw->seg[i].last_sect;
	}
}

static int parse_rw(const struct blkif_request *req, struct blk_parsed *p, const char **why)
{
	const struct blkif_request_rw *rw = &req->u.rw;
	unsigned n = rw->nr_segments;

	p->id = rw->id;
	p->sector = rw->sector_number;
	if (n == 0)
		return fail(why, "read/write without segments", BLKIF_RSP_ERROR);
	if (n > BLKIF_MAX_SEGMENTS_PER_REQUEST)
		return fail(why, "more than 11 segments in a direct request", BLKIF_RSP_ERROR);
	p->nr_segs = n;
	copy_segs(p, rw, n);
	return BLKIF_RSP_OKAY;
}

static int parse_indirect(const struct blkif_request *req, unsigned max_segs,
			  struct blk_parsed *p, const char **why)
{
	const struct blkif_request_indirect *ind = &req->u.indirect;
	unsigned n = ind->nr_segments;

	p->id = ind->id;
	p->sector = ind->sector_number;
	p->indirect = true;
	p->op = ind->indirect_op;
	p->rsp_op = ind->indirect_op;
	if (p->op != BLKIF_OP_READ && p->op != BLKIF_OP_WRITE)
		return fail(why, "indirect request that is neither read nor write",
			    BLKIF_RSP_EOPNOTSUPP);
	if (max_segs == 0)
		return fail(why, "indirect requests were not negotiated", BLKIF_RSP_EOPNOTSUPP);
	if (n == 0 || n > max_segs)
		return fail(why, "indirect request with 0 or too many segments", BLKIF_RSP_ERROR);
	p->nr_segs = n;
	p->nr_indirect_pages = (n + BLKIF_SEGS_PER_INDIRECT_FRAME - 1) / BLKIF_SEGS_PER_INDIRECT_FRAME;
	for (unsigned i = 0; i < p->nr_indirect_pages; i++)
		p->indirect_gref[i] = ind->indirect_grefs[i];
	return BLKIF_RSP_OKAY;
}

int blkreq_parse(const struct blkif_request *req, unsigned max_indirect_segs,
		 struct blk_parsed *p, const char **why)
{
	if (max_indirect_segs > BLK_MAX_INDIRECT_SEGS)
		max_indirect_segs = BLK_MAX_INDIRECT_SEGS;
	memset(p, 0, sizeof *p);
	*why = NULL;
	p->op = req->operation;
	p->rsp_op = req->operation;
	p->id = req->u.other.id;       /* at offset 8 in every layout */
	switch (req->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		return parse_rw(req, p, why);
	case BLKIF_OP_INDIRECT:
		return parse_indirect(req, max_indirect_segs, p, why);
	case BLKIF_OP_FLUSH_DISKCACHE:
		/* Linux sends it with no segments; any it names are ignored. */
		return BLKIF_RSP_OKAY;
	case BLKIF_OP_DISCARD:
		p->sector = req->u.discard.sector_number;
		p->nr_sectors = req->u.discard.nr_sectors;
		p->secure = req->u.discard.flag & BLKIF_DISCARD_SECURE;
		return BLKIF_RSP_OKAY;
	default:
		/* WRITE_BARRIER (never advertised), RESERVED_1, garbage. */
		return fail(why, "unsupported operation", BLKIF_RSP_EOPNOTSUPP);
	}
}

int blkreq_check_segs(const struct blk_seg *segs, unsigned n, uint64_t sector,
		      uint64_t disk_sectors, unsigned block_sectors, uint64_t *sectors,
		      const char **why)
{
	uint64_t total = 0;

	if (!block_sectors)
		block_sectors = 1;
	for (unsigned i = 0; i < n; i++) {
		if (segs[i].last > 7 || segs[i].first > segs[i].last)
			return fail(why, "segment outside its 4 KiB frame", BLKIF_RSP_ERROR);
		uint64_t len = (uint64_t)segs[i].last - segs[i].first + 1;
		if (segs[i].first % block_sectors || len % block_sectors)
			return fail(why, "segment not a multiple of the sector size", BLKIF_RSP_ERROR);
		total += len;
	}
	if (sector % block_sectors)
		return fail(why, "start not aligned to the sector size", BLKIF_RSP_ERROR);
	if (sector > disk_sectors || total > disk_sectors - sector)
		return fail(why, "beyond the end of the disk", BLKIF_RSP_ERROR);
	*sectors = total;
	return BLKIF_RSP_OKAY;
}

void blkreq_decode_indirect(const void *page, unsigned n, struct blk_seg *segs)
{
	const uint8_t *b = page;

	for (unsigned i = 0; i < n && i < BLKIF_SEGS_PER_INDIRECT_FRAME; i++) {
		struct blkif_request_segment s;
		memcpy(&s, b + i * sizeof s, sizeof s);
		segs[i].gref = s.gref;
		segs[i].first = s.first_sect;
		segs[i].last = s.last_sect;
	}
}
