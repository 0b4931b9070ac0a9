/* PV layout and build tests: libxc's numbers, page tables, start_info. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "builder/builder.h"
#include "elfgen.h"
#include "tests.h"
#include "xen/elfnote.h"
#include "xen/xen.h"

#define PG 4096ull
#define VIRT_BASE 0xffffffff80000000ull
#define P2M_VA 0x8000000000ull
#define ADDR_MASK 0x000ffffffffff000ull
#define L1_RW (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED)
#define L1_RO (_PAGE_PRESENT | _PAGE_ACCESSED)
#define UPPER (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_USER)

struct guest {
	struct kimage img;
	uint8_t *ram;
	uint64_t nr_pages;
	struct pv_build_result res;
};

static void load_image(struct gen_image *g, struct kimage *img)
{
	size_t len;
	uint8_t *f = gen_build(g, &len);
	char err[256];
	int rc = kimage_load_mem(f, len, img, err, sizeof(err));
	free(f);
	if (rc)
		fail_msg("load: %s", err);
}

static void build_guest(struct guest *gu, struct gen_image *g, uint64_t nr_pages,
                        const struct pv_build_params *p)
{
	load_image(g, &gu->img);
	gu->nr_pages = nr_pages;
	gu->ram = calloc(nr_pages, PG);
	assert_non_null(gu->ram);
	char err[256];
	int rc = pv_build(p, &gu->img, gu->ram, nr_pages, &gu->res, err, sizeof(err));
	if (rc)
		fail_msg("build: %d %s", rc, err);
}

static void free_guest(struct guest *gu)
{
	kimage_free(&gu->img);
	free(gu->ram);
}

static const uint64_t *table(const struct guest *gu, uint64_t pfn)
{
	assert_true(pfn < gu->nr_pages);
	return (const uint64_t *)(gu->ram + pfn * PG);
}

/* Walks the 4-level tables from CR3; returns the L1 entry or 0. Checks
 * every upper-level entry on the way carries the libxc upper bits. */
static uint64_t walk(const struct guest *gu, uint64_t va)
{
	uint64_t pfn = gu->res.cr3 >> 12;
	for (int l = 3; l >= 0; l--) {
		uint64_t e = table(gu, pfn)[(va >> (12 + 9 * l)) & 511];
		if (!(e & _PAGE_PRESENT))
			return 0;
		if (l == 0)
			return e;
		assert_int_equal(e & ~ADDR_MASK, UPPER);
		pfn = (e & ADDR_MASK) >> 12;
	}
	return 0;
}

static bool is_pt_frame(const struct pv_layout *lay, uint64_t pfn)
{
	for (unsigned m = 0; m < lay->nr_maps; m++) {
		uint64_t first = lay->maps[m].lvl[3].pfn;
		if (pfn >= first && pfn < first + lay->maps[m].area.tables)
			return true;
	}
	return false;
}

static unsigned count_present(const uint64_t *t, unsigned n)
{
	unsigned c = 0;
	for (unsigned i = 0; i < n; i++)
		c += (t[i] & _PAGE_PRESENT) != 0;
	return c;
}

/* Every bootstrap VA maps its linear frame; table frames are RO; the p2m
 * area maps its data frames; nothing else is mapped. */
static void check_mappings(const struct guest *gu)
{
	const struct pv_layout *lay = &gu->res.layout;
	uint64_t npages = (lay->virt_pgtab_end - VIRT_BASE) / PG;
	uint64_t ro = 0;
	for (uint64_t pfn = 0; pfn < npages; pfn++) {
		uint64_t e = walk(gu, VIRT_BASE + pfn * PG);
		if ((e & ADDR_MASK) >> 12 != pfn)
			fail_msg("va %#llx maps %#llx, expected pfn %#llx",
			         (unsigned long long)(VIRT_BASE + pfn * PG), (unsigned long long)e,
			         (unsigned long long)pfn);
		bool pt = is_pt_frame(lay, pfn);
		assert_int_equal(e & ~ADDR_MASK, pt ? L1_RO : L1_RW);
		ro += pt;
	}
	assert_int_equal(ro, lay->pt_frames);
	assert_int_equal(walk(gu, lay->virt_pgtab_end), 0);
	assert_int_equal(walk(gu, VIRT_BASE - PG), 0);

	if (!lay->p2m_in_kernel_map) {
		for (uint64_t i = 0; i < lay->p2m_data_pages; i++) {
			uint64_t e = walk(gu, P2M_VA + i * PG);
			assert_int_equal((e & ADDR_MASK) >> 12, lay->p2m_pfn + i);
			assert_int_equal(e & ~ADDR_MASK, L1_RW);
		}
		assert_int_equal(walk(gu, P2M_VA + lay->p2m_data_pages * PG), 0);
		assert_int_equal(walk(gu, P2M_VA - PG), 0);
	}

	/* L4: slot 511 (kernel) and slot 1 (p2m) only; 256-271 stay 0. */
	const uint64_t *l4 = table(gu, gu->res.l4_mfn);
	assert_int_equal(count_present(l4, 512), lay->p2m_in_kernel_map ? 1 : 2);
	for (int i = 256; i < 272; i++)
		assert_int_equal(l4[i], 0);
	assert_true(l4[511] & _PAGE_PRESENT);
	/* Linux: L3[510] -> the single L2 of the bootstrap area. */
	const uint64_t *l3 = table(gu, lay->pt_pfn + 1);
	assert_int_equal(count_present(l3, 512), 1);
	assert_int_equal((l3[510] & ADDR_MASK) >> 12, lay->pt_pfn + 2);
	const uint64_t *l2 = table(gu, lay->pt_pfn + 2);
	assert_int_equal(count_present(l2, 512), npages / 512);
	/* Total L1 entries in the bootstrap tables == mapped pages. */
	uint64_t l1s = 0;
	for (uint64_t t = 3; t < lay->pt_frames; t++)
		l1s += count_present(table(gu, lay->pt_pfn + t), 512);
	assert_int_equal(l1s, npages);
}

static void check_p2m(const struct guest *gu)
{
	const struct pv_layout *lay = &gu->res.layout;
	const uint64_t *p2m = (const uint64_t *)(gu->ram + lay->p2m_pfn * PG);
	for (uint64_t i = 0; i < gu->nr_pages; i++)
		if (p2m[i] != i)
			fail_msg("p2m[%#llx] = %#llx", (unsigned long long)i, (unsigned long long)p2m[i]);
	for (uint64_t i = gu->nr_pages; i < lay->p2m_data_pages * 512; i++)
		assert_int_equal(p2m[i], ~0ull);
}

static bool page_is_zero(const uint8_t *p)
{
	for (unsigned i = 0; i < PG; i++)
		if (p[i])
			return false;
	return true;
}

static void check_rings(const struct guest *gu)
{
	const uint8_t *store = gu->ram + gu->res.store_mfn * PG;
	const uint8_t *cons = gu->ram + gu->res.console_mfn * PG;
	assert_true(page_is_zero(store));
	assert_int_equal(cons[3088], 1);
	for (unsigned i = 0; i < PG; i++)
		if (i != 3088 && cons[i])
			fail_msg("console byte %u = %u", i, cons[i]);
	assert_true(page_is_zero(gu->ram + gu->res.layout.bootstack_pfn * PG));
}

/* The worked example of the ABI notes: Debian 6.1.0-56, 512 MiB. */
static void test_worked_example(void **state)
{
	(void)state;
	struct gen_image g;
	gen_debian_like(&g, 0);
	size_t initrd_len = (5u << 20) + 1;
	uint8_t *initrd = malloc(initrd_len);
	for (size_t i = 0; i < initrd_len; i++)
		initrd[i] = (uint8_t)(i * 13 + 1);
	struct pv_build_params p = {
		.domid = 1, .nr_vcpus = 1, .store_evtchn = 1, .console_evtchn = 2,
		.shared_info_maddr = 0x7fff000, .cmdline = "console=hvc0 root=/dev/ram0",
		.initrd = initrd, .initrd_len = initrd_len,
	};
	struct guest gu;
	build_guest(&gu, &g, 131072, &p);
	const struct pv_layout *lay = &gu.res.layout;

	assert_int_equal(lay->kernel_pfn, 0x1000);
	assert_int_equal(lay->kernel_pfn + lay->kernel_pages - 1, 0x49ff);
	assert_int_equal(lay->start_info_pfn, 0x4a00);
	assert_int_equal(lay->xenstore_pfn, 0x4a01);
	assert_int_equal(lay->console_pfn, 0x4a02);
	assert_int_equal(lay->pt_pfn, 0x4a03);
	assert_int_equal(lay->pt_frames, 41);
	assert_int_equal(lay->pt_pfn + lay->pt_frames - 1, 0x4a2b);
	assert_int_equal(lay->maps[0].lvl[3].tables, 1);
	assert_int_equal(lay->maps[0].lvl[2].tables, 1);
	assert_int_equal(lay->maps[0].lvl[1].tables, 1);
	assert_int_equal(lay->maps[0].lvl[0].tables, 38);
	assert_int_equal(lay->bootstack_pfn, 0x4a2c);
	assert_int_equal(lay->virt_pgtab_end, 0xffffffff84c00000ull);
	assert_int_equal(lay->initrd_pfn, 0x4c00);
	assert_int_equal(lay->initrd_pages, 1281);
	assert_false(lay->initrd_mapped);
	assert_int_equal(lay->p2m_pfn, 0x4c00 + 1281);
	assert_int_equal(lay->p2m_data_pages, 256);
	assert_int_equal(lay->p2m_frames, 259);
	assert_int_equal(lay->p2m_va, P2M_VA);
	assert_false(lay->p2m_in_kernel_map);
	assert_int_equal(lay->hypercall_pfn, KIMAGE_UNSET);

	const struct pv_build_result *r = &gu.res;
	assert_int_equal(r->entry, 0xffffffff830791c0ull);
	assert_int_equal(r->stack, 0xffffffff84a2d000ull);
	assert_int_equal(r->start_info_va, 0xffffffff84a00000ull);
	assert_int_equal(r->cr3, 0x4a03000);
	assert_int_equal(r->l4_mfn, 0x4a03);
	assert_int_equal(r->start_info_pfn, 0x4a00);
	assert_int_equal(r->store_mfn, 0x4a01);
	assert_int_equal(r->console_mfn, 0x4a02);
	assert_int_equal(r->pt_first_pfn, 0x4a03);
	assert_int_equal(r->pt_nr_frames, 41);
	assert_int_equal(r->p2m_pt_first_pfn, 0x4c00 + 1281 + 256);
	assert_int_equal(r->p2m_pt_nr_frames, 3);
	assert_int_equal(r->pages_used, 0x4c00 + 1281 + 259);
	assert_false(r->cmdline_truncated);

	const struct start_info *si = (const struct start_info *)(gu.ram + 0x4a00 * PG);
	assert_string_equal(si->magic, "xen-3.0-x86_64");
	assert_int_equal(si->nr_pages, 131072);
	assert_int_equal(si->shared_info, 0x7fff000);
	assert_int_equal(si->flags, SIF_MOD_START_PFN);
	assert_int_equal(si->store_mfn, 0x4a01);
	assert_int_equal(si->store_evtchn, 1);
	assert_int_equal(si->console.domU.mfn, 0x4a02);
	assert_int_equal(si->console.domU.evtchn, 2);
	assert_int_equal(si->pt_base, 0xffffffff84a03000ull);
	assert_int_equal(si->nr_pt_frames, 41);
	assert_int_equal(si->mfn_list, P2M_VA);
	assert_int_equal(si->mod_start, 0x4c00);
	assert_int_equal(si->mod_len, 1281 * PG);
	assert_string_equal((const char *)si->cmd_line, "console=hvc0 root=/dev/ram0");
	assert_int_equal(si->first_p2m_pfn, 0x4c00 + 1281);
	assert_int_equal(si->nr_p2m_frames, 259);

	assert_memory_equal(gu.ram + 0x4c00 * PG, initrd, initrd_len);
	assert_int_equal(gu.ram[0x4c00 * PG + initrd_len], 0);
	check_mappings(&gu);
	check_p2m(&gu);
	check_rings(&gu);
	/* Kernel segments at their physical offsets, bss zero. */
	for (unsigned i = 0; i < g.nr_segs; i++) {
		const uint8_t *dst = gu.ram + (0x1000 * PG) + (g.segs[i].paddr - 0x1000000);
		for (uint64_t b = 0; b < g.segs[i].filesz; b += 97)
			assert_int_equal(dst[b], gen_seg_byte(i, b));
		assert_int_equal(dst[g.segs[i].filesz], 0);
	}
	free_guest(&gu);
	free(initrd);
}

/* Garbage in RAM beforehand: the builder zeroes what it hands out. */
static void test_small_kernel_hypercall_page(void **state)
{
	(void)state;
	struct gen_image g;
	gen_small(&g);
	gen_add_note_num(&g, XEN_ELFNOTE_HYPERCALL_PAGE, 0xffffffff81001000ull, 8);
	struct guest gu;
	load_image(&g, &gu.img);
	gu.nr_pages = 16384;  /* 64 MiB */
	gu.ram = malloc(gu.nr_pages * PG);
	memset(gu.ram, 0xaa, gu.nr_pages * PG);
	struct pv_build_params p = { .nr_vcpus = 2, .store_evtchn = 3, .console_evtchn = 4 };
	char err[256];
	assert_int_equal(pv_build(&p, &gu.img, gu.ram, gu.nr_pages, &gu.res, err, sizeof(err)), 0);
	const struct pv_layout *lay = &gu.res.layout;
	assert_int_equal(lay->kernel_pfn, 0x1000);
	assert_int_equal(lay->kernel_pages, 0x205);
	assert_int_equal(lay->start_info_pfn, 0x1205);
	assert_int_equal(lay->hypercall_pfn, 0x1001);
	assert_int_equal(gu.res.pages_used, lay->p2m_pfn + lay->p2m_frames);
	/* Frames past pages_used are not touched. */
	assert_int_equal(gu.ram[gu.res.pages_used * PG], 0xaa);
	assert_int_equal(gu.ram[0], 0);

	const uint8_t *hp = gu.ram + 0x1001 * PG;
	static const uint8_t slot0[] = { 0x51, 0x41, 0x53, 0xb8, 0, 0, 0, 0, 0x0f, 0x05,
	                                 0x41, 0x5b, 0x59, 0xc3 };
	assert_memory_equal(hp, slot0, sizeof(slot0));
	static const uint8_t slot29[] = { 0x51, 0x41, 0x53, 0xb8, 29, 0, 0, 0, 0x0f, 0x05,
	                                  0x41, 0x5b, 0x59, 0xc3 };
	assert_memory_equal(hp + 29 * 32, slot29, sizeof(slot29));
	static const uint8_t iret[] = { 0x51, 0x41, 0x53, 0x50, 0xb8, 0x17, 0, 0, 0, 0x0f, 0x05 };
	assert_memory_equal(hp + 23 * 32, iret, sizeof(iret));
	for (unsigned i = 11; i < 32; i++)
		assert_int_equal(hp[23 * 32 + i], 0xcc);
	for (unsigned s = 0; s < 128; s++)
		for (unsigned i = s == 23 ? 11 : 14; i < 32; i++)
			assert_int_equal(hp[s * 32 + i], 0xcc);
	assert_int_equal(hp[127 * 32 + 4], 127);

	/* Segment bytes before and after the hypercall page are the image's. */
	const uint8_t *k = gu.ram + 0x1000 * PG;
	assert_int_equal(k[5], gen_seg_byte(0, 5));
	assert_int_equal(k[0x2000], gen_seg_byte(0, 0x2000));
	assert_int_equal(k[0x2345], 0);               /* bss */
	assert_int_equal(k[0x200000], gen_seg_byte(1, 0));
	assert_int_equal(k[0x200100], 0);
	check_mappings(&gu);
	check_p2m(&gu);
	check_rings(&gu);
	free_guest(&gu);
}

static void test_hypercall_page_fill(void **state)
{
	(void)state;
	uint8_t page[4096];
	pv_hypercall_page_fill(page);
	assert_int_equal(page[1 * 32 + 4], 1);
	assert_int_equal(page[38 * 32 + 4], 38);
	assert_int_equal(page[23 * 32 + 3], 0x50);
	assert_int_equal(page[4095], 0xcc);
}

/* Without INIT_P2M the p2m sits in the kernel mapping after the kernel. */
static void test_p2m_inside_mapping(void **state)
{
	(void)state;
	struct gen_image g;
	gen_debian_like(&g, 0);
	gen_remove_note(&g, XEN_ELFNOTE_INIT_P2M);
	struct pv_build_params p = { .nr_vcpus = 1, .store_evtchn = 1, .console_evtchn = 2 };
	struct guest gu;
	build_guest(&gu, &g, 131072, &p);
	const struct pv_layout *lay = &gu.res.layout;
	assert_true(lay->p2m_in_kernel_map);
	assert_int_equal(lay->p2m_pfn, 0x4a00);
	assert_int_equal(lay->p2m_frames, 256);
	assert_int_equal(lay->p2m_va, VIRT_BASE + 0x4a00 * PG);
	assert_int_equal(lay->start_info_pfn, 0x4b00);
	assert_int_equal(lay->nr_maps, 1);
	const struct start_info *si =
		(const struct start_info *)(gu.ram + lay->start_info_pfn * PG);
	assert_int_equal(si->mfn_list, VIRT_BASE + 0x4a00 * PG);
	assert_int_equal(si->first_p2m_pfn, 0);
	assert_int_equal(si->nr_p2m_frames, 0);
	assert_int_equal(si->flags, 0);
	assert_int_equal(si->mod_len, 0);
	assert_int_equal(gu.res.p2m_pt_nr_frames, 0);
	check_mappings(&gu);
	check_p2m(&gu);
	free_guest(&gu);
}

/* Without MOD_START_PFN the initrd is mapped right after the kernel. */
static void test_mapped_initrd(void **state)
{
	(void)state;
	struct gen_image g;
	gen_debian_like(&g, 0);
	gen_remove_note(&g, XEN_ELFNOTE_MOD_START_PFN);
	uint8_t initrd[10000];
	memset(initrd, 0x3c, sizeof(initrd));
	struct pv_build_params p = { .nr_vcpus = 1, .initrd = initrd, .initrd_len = sizeof(initrd) };
	struct guest gu;
	build_guest(&gu, &g, 131072, &p);
	const struct pv_layout *lay = &gu.res.layout;
	assert_true(lay->initrd_mapped);
	assert_int_equal(lay->initrd_pfn, 0x4a00);
	assert_int_equal(lay->initrd_pages, 3);
	assert_int_equal(lay->start_info_pfn, 0x4a03);
	const struct start_info *si =
		(const struct start_info *)(gu.ram + lay->start_info_pfn * PG);
	assert_int_equal(si->flags, 0);
	assert_int_equal(si->mod_start, VIRT_BASE + 0x4a00 * PG);
	assert_int_equal(si->mod_len, sizeof(initrd));
	assert_memory_equal(gu.ram + 0x4a00 * PG, initrd, sizeof(initrd));
	check_mappings(&gu);
	free_guest(&gu);
}

/* nr_pages not a multiple of 512: the p2m tail is INVALID (~0). */
static void test_p2m_tail_and_cmdline_truncation(void **state)
{
	(void)state;
	struct gen_image g;
	gen_small(&g);
	char *cmd = malloc(2000);
	memset(cmd, 'a', 1999);
	cmd[1999] = 0;
	struct pv_build_params p = { .nr_vcpus = 1, .cmdline = cmd };
	struct guest gu;
	build_guest(&gu, &g, 0x8000 + 100, &p);
	assert_int_equal(gu.res.layout.p2m_data_pages, 65);
	assert_true(gu.res.cmdline_truncated);
	const struct start_info *si =
		(const struct start_info *)(gu.ram + gu.res.start_info_pfn * PG);
	assert_int_equal(si->cmd_line[1022], 'a');
	assert_int_equal(si->cmd_line[1023], 0);
	assert_int_equal(si->nr_pages, 0x8000 + 100);
	check_p2m(&gu);
	check_mappings(&gu);
	free_guest(&gu);
	free(cmd);
}

static void expect_layout_error(struct gen_image *g, uint64_t nr_pages,
                                const struct pv_build_params *p, int want, const char *needle)
{
	struct kimage img;
	load_image(g, &img);
	struct pv_layout lay;
	char err[256] = "";
	int rc = pv_layout(p, &img, nr_pages, &lay, err, sizeof(err));
	if (rc != want)
		fail_msg("rc %d (%s), expected %d", rc, err, want);
	if (!strstr(err, needle))
		fail_msg("message '%s' lacks '%s'", err, needle);
	kimage_free(&img);
}

static void test_too_little_memory(void **state)
{
	(void)state;
	struct gen_image g;
	gen_debian_like(&g, 0);
	struct pv_build_params p = { .nr_vcpus = 1 };
	expect_layout_error(&g, 0x4000, &p, -ENOMEM, "kernel");
	expect_layout_error(&g, 0x4a01, &p, -ENOMEM, "memory");
	expect_layout_error(&g, 0x4c00, &p, -ENOMEM, "memory");
	uint8_t initrd[8192] = { 0 };
	struct pv_build_params pi = { .nr_vcpus = 1, .initrd = initrd, .initrd_len = 8192 };
	expect_layout_error(&g, 0x4c01, &pi, -ENOMEM, "initrd");
	expect_layout_error(&g, 0x4c02, &p, -ENOMEM, "memory");
	struct pv_build_params p0 = { .nr_vcpus = 0 };
	expect_layout_error(&g, 131072, &p0, -EINVAL, "vCPU");
	expect_layout_error(&g, 0, &p, -EINVAL, "size");

	/* pv_build refuses the same way and writes nothing. */
	struct kimage img;
	load_image(&g, &img);
	uint8_t *ram = calloc(0x4000, PG);
	struct pv_build_result r;
	char err[256];
	assert_int_equal(pv_build(&p, &img, ram, 0x4000, &r, err, sizeof(err)), -ENOMEM);
	assert_true(page_is_zero(ram));
	free(ram);
	kimage_free(&img);
}

/* The smallest domain that fits is accepted (boundary of the checks). */
static void test_minimum_memory(void **state)
{
	(void)state;
	struct gen_image g;
	gen_small(&g);
	struct kimage img;
	load_image(&g, &img);
	struct pv_build_params p = { .nr_vcpus = 1 };
	struct pv_layout lay;
	char err[256];
	uint64_t n;
	for (n = 0x1000; n < 0x4000; n++)
		if (pv_layout(&p, &img, n, &lay, err, sizeof(err)) == 0)
			break;
	assert_true(n < 0x4000);
	assert_int_equal(lay.pages_used, n);
	uint8_t *ram = calloc(n, PG);
	struct pv_build_result r;
	assert_int_equal(pv_build(&p, &img, ram, n, &r, err, sizeof(err)), 0);
	free(ram);
	kimage_free(&img);
}

/* A bootstrap area crossing a 1 GiB boundary needs two L2s: refused. */
static void test_bootstrap_over_one_l2(void **state)
{
	(void)state;
	struct gen_image g;
	gen_small(&g);
	g.segs[1].paddr = 0x3e000000;
	g.segs[1].memsz = 0x1f00000;
	struct pv_build_params p = { .nr_vcpus = 1 };
	expect_layout_error(&g, 0x80000, &p, -E2BIG, "1 GiB");
}

/* Kernel or p2m in the hypervisor's L4 slots 256-271 are refused. */
static void test_hypervisor_area_refused(void **state)
{
	(void)state;
	struct gen_image g;
	gen_small(&g);
	gen_remove_note(&g, XEN_ELFNOTE_INIT_P2M);
	gen_add_note_num(&g, XEN_ELFNOTE_INIT_P2M, 0xffff800000000000ull, 8);
	struct pv_build_params p = { .nr_vcpus = 1 };
	expect_layout_error(&g, 0x8000, &p, -EINVAL, "hypervisor");

	struct gen_image h;
	gen_small(&h);
	for (unsigned i = 0; i < h.nr_notes; i++)
		if (h.notes[i].type == XEN_ELFNOTE_VIRT_BASE || h.notes[i].type == XEN_ELFNOTE_ENTRY)
			h.notes[i].name = "Off";
	gen_add_note_num(&h, XEN_ELFNOTE_VIRT_BASE, 0xffff808000000000ull, 8);
	gen_add_note_num(&h, XEN_ELFNOTE_ENTRY, 0xffff808001000040ull, 8);
	expect_layout_error(&h, 0x8000, &p, -EINVAL, "hypervisor");
}

/* An INIT_P2M above VIRT_BASE or misaligned is ignored, as libxc does. */
static void test_unusable_init_p2m_falls_back(void **state)
{
	(void)state;
	struct gen_image g;
	gen_small(&g);
	gen_remove_note(&g, XEN_ELFNOTE_INIT_P2M);
	gen_add_note_num(&g, XEN_ELFNOTE_INIT_P2M, 0x8000000800ull, 8);
	struct kimage img;
	load_image(&g, &img);
	struct pv_build_params p = { .nr_vcpus = 1 };
	struct pv_layout lay;
	char err[256];
	assert_int_equal(pv_layout(&p, &img, 0x8000, &lay, err, sizeof(err)), 0);
	assert_true(lay.p2m_in_kernel_map);
	kimage_free(&img);
}

/* A p2m base sharing the kernel's L3 and L2 reuses those tables. */
static void test_p2m_sharing_upper_tables(void **state)
{
	(void)state;
	struct gen_image g;
	gen_small(&g);
	gen_remove_note(&g, XEN_ELFNOTE_VIRT_BASE);
	gen_remove_note(&g, XEN_ELFNOTE_INIT_P2M);
	gen_add_note_num(&g, XEN_ELFNOTE_VIRT_BASE, 0xffffffff80000000ull, 8);
	/* 0xffffffff40000000: same L4 slot and L3 as the kernel, another L2. */
	gen_add_note_num(&g, XEN_ELFNOTE_INIT_P2M, 0xffffffff40000000ull, 8);
	struct pv_build_params p = { .nr_vcpus = 1 };
	struct guest gu;
	build_guest(&gu, &g, 0x8000, &p);
	const struct pv_layout *lay = &gu.res.layout;
	assert_int_equal(lay->nr_maps, 2);
	assert_int_equal(lay->maps[1].lvl[2].tables, 0);  /* L3 shared */
	assert_int_equal(lay->maps[1].lvl[1].tables, 1);
	assert_int_equal(lay->maps[1].lvl[0].tables, 1);
	assert_int_equal(lay->p2m_frames, lay->p2m_data_pages + 2);
	const uint64_t *l3 = table(&gu, lay->pt_pfn + 1);
	assert_int_equal(count_present(l3, 512), 2);
	for (uint64_t i = 0; i < lay->p2m_data_pages; i++) {
		uint64_t e = walk(&gu, 0xffffffff40000000ull + i * PG);
		assert_int_equal((e & ADDR_MASK) >> 12, lay->p2m_pfn + i);
	}
	check_p2m(&gu);
	free_guest(&gu);
}

const struct CMUnitTest layout_tests[] = {
	cmocka_unit_test(test_worked_example),
	cmocka_unit_test(test_small_kernel_hypercall_page),
	cmocka_unit_test(test_hypercall_page_fill),
	cmocka_unit_test(test_p2m_inside_mapping),
	cmocka_unit_test(test_mapped_initrd),
	cmocka_unit_test(test_p2m_tail_and_cmdline_truncation),
	cmocka_unit_test(test_too_little_memory),
	cmocka_unit_test(test_minimum_memory),
	cmocka_unit_test(test_bootstrap_over_one_l2),
	cmocka_unit_test(test_hypervisor_area_refused),
	cmocka_unit_test(test_unusable_init_p2m_falls_back),
	cmocka_unit_test(test_p2m_sharing_upper_tables),
};
const size_t nr_layout_tests = sizeof(layout_tests) / sizeof(layout_tests[0]);
