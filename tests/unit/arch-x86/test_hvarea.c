/*
 * The hypervisor area: its layout arithmetic and the page tables that map
 * it, walked the way the CPU would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/x86.h"

#define P 1ull
#define W 2ull
#define U 4ull
#define PS 0x80ull
#define ADDR 0x000ffffffffff000ull

/* Translate va through the hypervisor slots of the layout; returns the
 * guest-physical address and the accumulated U/W rights, or ~0. */
static uint64_t walk(const struct hv_layout *l, const uint8_t *hv, uint64_t va, uint64_t *rights)
{
	unsigned slot = (va >> 39) & 511;
	if (slot < HV_FIRST_SLOT || slot > HV_LAST_SLOT)
		return ~0ull;
	uint64_t e = l->l4e[slot - HV_FIRST_SLOT];
	uint64_t r = e & (U | W);
	for (int level = 3; level >= 1; level--) {
		if (!(e & P))
			return ~0ull;
		uint64_t table = (e & ADDR) - HV_GPA_BASE;
		e = ((const uint64_t *)(hv + table))[(va >> (12 + 9 * (level - 1))) & 511];
		if (!(e & P))
			return ~0ull;
		r &= e | ~(U | W);
		if (level == 2 && (e & PS)) {
			*rights = r & (e | ~(U | W));
			return (e & ADDR & ~0x1fffffull) + (va & 0x1fffff);
		}
	}
	*rights = r & (e | ~(U | W));
	return (e & ADDR) + (va & 4095);
}

static void layout_is_consistent(void **state)
{
	(void)state;
	static const uint64_t sizes[] = { 4096, 16384, 131072, 1u << 20, 16u << 20 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct hv_layout l;
		assert_int_equal(hv_layout_compute(&l, sizes[i], 8), 0);
		assert_true(l.pt_end <= l.stubs);
		assert_true(l.stubs < l.idt && l.idt < l.shared_info && l.shared_info < l.grant);
		assert_true(l.grant + HV_GRANT_FRAMES * 4096 <= l.vcpu_base);
		assert_true(l.vcpu_base + 8 * l.vcpu_stride <= l.m2p);
		assert_true(l.m2p + l.m2p_bytes <= l.size);
		assert_int_equal(l.size % 4096, 0);
		assert_true(l.size <= (1ull << 30));
	}
	struct hv_layout l;
	assert_int_equal(hv_layout_compute(&l, 0, 1), -22);
	assert_int_equal(hv_layout_compute(&l, 1024, 0), -22);
	assert_int_equal(hv_layout_compute(&l, (HV_MAX_RAM >> 12) + 1, 1), -22);
}

static void every_page_is_mapped_with_the_right_rights(void **state)
{
	(void)state;
	const uint64_t ram_pages = 8192;    /* 32 MiB */
	struct hv_layout l;
	assert_int_equal(hv_layout_compute(&l, ram_pages, 2), 0);
	uint8_t *hv = calloc(1, l.size);
	assert_non_null(hv);
	hv_area_init(&l, hv, ram_pages);

	uint64_t rights;
	/* The hypervisor area: supervisor-only, writable, identity offsets. */
	for (uint64_t off = 0; off < l.size; off += 4096) {
		assert_int_equal(walk(&l, hv, HV_AREA_VA + off, &rights), HV_GPA_BASE + off);
		assert_int_equal(rights & U, 0);
		assert_true(rights & W);
	}
	assert_int_equal(walk(&l, hv, HV_AREA_VA + l.size, &rights), ~0ull);
	/* The M2P: user-readable, read-only, identity contents. */
	for (uint64_t mfn = 0; mfn < ram_pages; mfn += 511) {
		uint64_t gpa = walk(&l, hv, HV_M2P_VA + mfn * 8, &rights);
		assert_true(gpa != ~0ull);
		assert_true(rights & U);
		assert_int_equal(rights & W, 0);
		assert_int_equal(*(uint64_t *)(hv + gpa - HV_GPA_BASE), mfn);
	}
	/* The direct map of RAM: supervisor-only, writable. */
	for (uint64_t gpa = 0; gpa < ram_pages * 4096; gpa += 0x3000) {
		assert_int_equal(walk(&l, hv, HV_DMAP_VA + gpa, &rights), gpa);
		assert_int_equal(rights & U, 0);
		assert_true(rights & W);
	}
	/* syscall's target must never be mapped. */
	assert_int_equal(walk(&l, hv, HV_LSTAR_VA, &rights), ~0ull);
	free(hv);
}

static void idt_gates_point_at_their_stubs(void **state)
{
	(void)state;
	struct hv_layout l;
	assert_int_equal(hv_layout_compute(&l, 4096, 1), 0);
	uint8_t *hv = calloc(1, l.size);
	assert_non_null(hv);
	hv_area_init(&l, hv, 4096);
	const uint64_t *idt = (const uint64_t *)(hv + l.idt);
	for (unsigned v = 0; v < 256; v++) {
		uint64_t lo = idt[2 * v], hi = idt[2 * v + 1];
		uint64_t target = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ull) | (hi << 32);
		assert_int_equal(target, hv_va(l.stubs + hv_stub_entry(v)));
		assert_int_equal((lo >> 16) & 0xffff, 0xe008);     /* CPL0 code */
		assert_int_equal((lo >> 32) & 7, v == 1 ? 2 : 1);  /* #DB: IST2 */
		unsigned dpl = (lo >> 45) & 3;
		assert_int_equal(dpl, (v == 3 || v == 4 || v == 0x80) ? 3 : 0);
		/* The stub pushes a dummy error code where the CPU pushes none,
		 * then its vector, then halts. */
		const uint8_t *b = hv + l.stubs + hv_stub_entry(v);
		unsigned pushes = 0;
		uint32_t last = 0;
		while (*b != 0xf4 && pushes < 3) {
			if (b[0] == 0x6a) {
				last = b[1];
				b += 2;
			} else {
				assert_int_equal(b[0], 0x68);
				memcpy(&last, b + 1, 4);
				b += 5;
			}
			pushes++;
		}
		assert_int_equal(*b, 0xf4);
		assert_int_equal(last, v);
		bool has_ec = v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
		assert_int_equal(pushes, has_ec ? 1 : 2);
	}
	/* IST1 at the top of the stack area, IST2 (#DB) a page below, so a
	 * #DB cannot overwrite a frame still on IST1. */
	struct hv_vcpu_layout vl;
	hv_vcpu_layout(&l, 0, &vl);
	uint64_t ist1, ist2;
	memcpy(&ist1, hv + vl.tss + 36, 8);
	memcpy(&ist2, hv + vl.tss + 44, 8);
	assert_int_equal(ist1, hv_va(vl.stack + HV_STACK_PAGES * 4096));
	assert_int_equal(ist2, hv_va(vl.stack + HV_DB_STACK_TOP));
	assert_true(ist1 - ist2 >= 4096);
	free(hv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(layout_is_consistent),
		cmocka_unit_test(every_page_is_mapped_with_the_right_rights),
		cmocka_unit_test(idt_gates_point_at_their_stubs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
