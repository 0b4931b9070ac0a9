/*
 * libFuzzer harness for blkback's request parser (not part of the normal
 * build): one ring slot as a frontend may fill it, then the segment check
 * against a disk, and an indirect page's segments.
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       -Iinclude -Isrc -o /tmp/fuzz_blkreq tests/unit/devices/fuzz/fuzz_blkreq.c \
 *       src/devices/blkreq.c
 *   /tmp/fuzz_blkreq -max_total_time=60 -max_len=4096
 *
 * Input: 112 bytes of slot, 8 bytes of disk size, then indirect-page bytes.
 * Invariants are checked with __builtin_trap().
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "devices/blkback.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blkif_request req;
	struct blk_parsed p;
	struct blk_seg segs[BLK_MAX_SEGS];
	uint64_t disk = 0, sectors = 0;
	const char *why = NULL;

	if (size < sizeof req + 8)
		return 0;
	memcpy(&req, data, sizeof req);
	memcpy(&disk, data + sizeof req, 8);
	disk >>= data[0] & 63;
	int st = blkreq_parse(&req, data[1] % (BLK_MAX_INDIRECT_SEGS + 64), &p, &why);
	if (st != BLKIF_RSP_OKAY) {
		if (!why || (st != BLKIF_RSP_ERROR && st != BLKIF_RSP_EOPNOTSUPP))
			__builtin_trap();
		return 0;
	}
	if (p.op == BLKIF_OP_READ || p.op == BLKIF_OP_WRITE) {
		if (p.nr_segs == 0 || p.nr_segs > BLK_MAX_SEGS)
			__builtin_trap();
		if (!p.indirect && p.nr_segs > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			__builtin_trap();
		if (p.indirect && (p.nr_indirect_pages == 0 ||
				   p.nr_indirect_pages > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST))
			__builtin_trap();
		const struct blk_seg *s = p.seg;
		if (p.indirect) {
			size_t avail = size - sizeof req - 8;
			unsigned n = (unsigned)(avail / 8 < p.nr_segs ? avail / 8 : p.nr_segs);
			memset(segs, 0, sizeof segs);
			for (unsigned i = 0; i < n; i += BLKIF_SEGS_PER_INDIRECT_FRAME)
				blkreq_decode_indirect(data + sizeof req + 8 + i * 8,
						       n - i < 512 ? n - i : 512, segs + i);
			s = segs;
		}
		unsigned bs = 1u << (data[2] % 4);
		if (blkreq_check_segs(s, p.nr_segs, p.sector, disk, bs, &sectors, &why) ==
		    BLKIF_RSP_OKAY) {
			if (p.sector > disk || sectors > disk - p.sector || sectors == 0 ||
			    sectors > (uint64_t)p.nr_segs * 8)
				__builtin_trap();
		}
	}
	return 0;
}
