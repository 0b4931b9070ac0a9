/*
 * blkback's request parser and the vdev-name decoding, including a
 * deterministic random sweep that checks the parser's invariants the way
 * the fuzz harness (fuzz/fuzz_blkreq.c) does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/blkback.h"
#include "devices/devices.h"

static struct blkif_request rw(uint8_t op, uint8_t nseg, uint64_t sector)
{
	struct blkif_request r;
	memset(&r, 0, sizeof r);
	r.operation = op;
	r.u.rw.nr_segments = nseg;
	r.u.rw.id = 0x1122334455667788ull;
	r.u.rw.sector_number = sector;
	for (unsigned i = 0; i < nseg && i < 11; i++) {
		r.u.rw.seg[i].gref = 100 + i;
		r.u.rw.seg[i].last_sect = 7;
	}
	return r;
}

static void parses_reads_and_writes(void **state)
{
	struct blk_parsed p;
	const char *why;
	uint64_t sectors;
	(void)state;

	struct blkif_request r = rw(BLKIF_OP_WRITE, 3, 16);
	assert_int_equal(blkreq_parse(&r, 256, &p, &why), BLKIF_RSP_OKAY);
	assert_int_equal(p.op, BLKIF_OP_WRITE);
	assert_true(p.id == 0x1122334455667788ull);
	assert_int_equal(p.nr_segs, 3);
	assert_int_equal(p.seg[2].gref, 102);
	assert_int_equal(blkreq_check_segs(p.seg, 3, 16, 40, 1, &sectors, &why), BLKIF_RSP_OKAY);
	assert_int_equal(sectors, 24);
	/* One sector too many. */
	assert_int_equal(blkreq_check_segs(p.seg, 3, 17, 40, 1, &sectors, &why), BLKIF_RSP_ERROR);
	/* 4 KiB logical blocks: a 512-byte segment is refused. */
	p.seg[0].last = 0;
	assert_int_equal(blkreq_check_segs(p.seg, 3, 16, 40, 8, &sectors, &why), BLKIF_RSP_ERROR);
}

static void refuses_malformed_requests(void **state)
{
	struct blk_parsed p;
	const char *why;
	uint64_t sectors;
	(void)state;

	struct blkif_request r = rw(BLKIF_OP_READ, 0, 0);
	assert_int_equal(blkreq_parse(&r, 256, &p, &why), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 12, 0);
	assert_int_equal(blkreq_parse(&r, 256, &p, &why), BLKIF_RSP_ERROR);
	assert_true(p.id == 0x1122334455667788ull);   /* still answerable */
	r = rw(BLKIF_OP_WRITE_BARRIER, 1, 0);
	assert_int_equal(blkreq_parse(&r, 256, &p, &why), BLKIF_RSP_EOPNOTSUPP);
	r = rw(0xee, 1, 0);
	assert_int_equal(blkreq_parse(&r, 256, &p, &why), BLKIF_RSP_EOPNOTSUPP);
	assert_int_equal(p.rsp_op, 0xee);

	struct blk_seg bad = { .gref = 1, .first = 3, .last = 2 };
	assert_int_equal(blkreq_check_segs(&bad, 1, 0, 100, 1, &sectors, &why), BLKIF_RSP_ERROR);
	bad = (struct blk_seg){ .gref = 1, .first = 0, .last = 8 };
	assert_int_equal(blkreq_check_segs(&bad, 1, 0, 100, 1, &sectors, &why), BLKIF_RSP_ERROR);
	bad = (struct blk_seg){ .gref = 1, .first = 0, .last = 7 };
	assert_int_equal(blkreq_check_segs(&bad, 1, UINT64_MAX - 3, 100, 1, &sectors, &why),
			 BLKIF_RSP_ERROR);
	assert_int_equal(blkreq_check_segs(&bad, 1, 93, 100, 1, &sectors, &why), BLKIF_RSP_ERROR);
}

static void parses_indirect_requests(void **state)
{
	struct blk_parsed p;
	const char *why;
	struct blkif_request r;
	(void)state;

	memset(&r, 0, sizeof r);
	r.operation = BLKIF_OP_INDIRECT;
	r.u.indirect.indirect_op = BLKIF_OP_READ;
	r.u.indirect.nr_segments = 513;
	r.u.indirect.id = 7;
	r.u.indirect.sector_number = 8;
	r.u.indirect.indirect_grefs[0] = 30;
	r.u.indirect.indirect_grefs[1] = 31;
	assert_int_equal(blkreq_parse(&r, 1024, &p, &why), BLKIF_RSP_ERROR);   /* > 256 */
	r.u.indirect.nr_segments = 200;
	assert_int_equal(blkreq_parse(&r, 256, &p, &why), BLKIF_RSP_OKAY);
	assert_true(p.indirect);
	assert_int_equal(p.rsp_op, BLKIF_OP_READ);
	assert_int_equal(p.nr_indirect_pages, 1);
	assert_int_equal(blkreq_parse(&r, 0, &p, &why), BLKIF_RSP_EOPNOTSUPP);
	r.u.indirect.indirect_op = BLKIF_OP_DISCARD;
	assert_int_equal(blkreq_parse(&r, 256, &p, &why), BLKIF_RSP_EOPNOTSUPP);

	uint8_t page[4096] = { 0 };
	struct blkif_request_segment s = { .gref = 9, .first_sect = 1, .last_sect = 6 };
	memcpy(page + 8, &s, sizeof s);
	struct blk_seg segs[2];
	blkreq_decode_indirect(page, 2, segs);
	assert_int_equal(segs[1].gref, 9);
	assert_int_equal(segs[1].first, 1);
	assert_int_equal(segs[1].last, 6);
}

/* A fixed-seed sweep over random slots: the parser's promises hold. */
static void random_slots_keep_the_invariants(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	(void)state;

	for (int iter = 0; iter < 200000; iter++) {
		struct blkif_request r;
		uint8_t *b = (uint8_t *)&r;
		for (size_t i = 0; i < sizeof r; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			b[i] = (uint8_t)x;
		}
		b[0] &= 7;          /* mostly real operations */
		struct blk_parsed p;
		const char *why = NULL;
		int st = blkreq_parse(&r, 256, &p, &why);
		if (st) {
			assert_non_null(why);
			continue;
		}
		if (p.op == BLKIF_OP_READ || p.op == BLKIF_OP_WRITE) {
			assert_true(p.nr_segs >= 1 && p.nr_segs <= 256);
			assert_true(p.indirect || p.nr_segs <= 11);
			uint64_t sectors, disk = x >> (x & 63);
			if (!p.indirect &&
			    !blkreq_check_segs(p.seg, p.nr_segs, p.sector, disk, 1, &sectors, &why))
				assert_true(p.sector <= disk && sectors <= disk - p.sector);
		}
	}
}

static void vdev_names(void **state)
{
	(void)state;
	assert_int_equal(vbd_vdev_to_devid("xvda"), 51712);
	assert_int_equal(vbd_vdev_to_devid("xvdb"), 51728);
	assert_int_equal(vbd_vdev_to_devid("xvda1"), 51713);
	assert_int_equal(vbd_vdev_to_devid("xvdp15"), (202 << 8) | (15 << 4) | 15);
	assert_int_equal(vbd_vdev_to_devid("xvdq"), (1 << 28) | (16 << 8));
	assert_int_equal(vbd_vdev_to_devid("xvdaa"), (1 << 28) | (26 << 8));
	assert_int_equal(vbd_vdev_to_devid("hda"), 768);
	assert_int_equal(vbd_vdev_to_devid("hdc"), 22 << 8);
	assert_int_equal(vbd_vdev_to_devid("sdb"), (8 << 8) | 16);
	assert_int_equal(vbd_vdev_to_devid("51712"), 51712);
	assert_true(vbd_vdev_to_devid("") < 0);
	assert_true(vbd_vdev_to_devid("xvd") < 0);
	assert_true(vbd_vdev_to_devid("xvda0") < 0);
	assert_true(vbd_vdev_to_devid("hde") < 0);
	assert_true(vbd_vdev_to_devid("vda") < 0);
	assert_true(vbd_vdev_to_devid("xvda-1") < 0);
	char why[256];
	assert_true(vbd_format_supported("raw", why, sizeof why));
	assert_false(vbd_format_supported("qcow2", why, sizeof why));
	assert_non_null(strstr(why, "raw"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_reads_and_writes),
		cmocka_unit_test(refuses_malformed_requests),
		cmocka_unit_test(parses_indirect_requests),
		cmocka_unit_test(random_slots_keep_the_invariants),
		cmocka_unit_test(vdev_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
