/* Kernel image loader tests: formats, codecs, notes, hostile input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <zstd.h>

#include "builder/builder.h"
#include "elfgen.h"
#include "tests.h"
#include "xen/elfnote.h"
#include "xen/xen.h"

/* Loads buf and expects failure with a non-empty message. */
static void expect_reject(const uint8_t *buf, size_t len, const char *needle)
{
	struct kimage img;
	char err[256] = "";
	int rc = kimage_load_mem(buf, len, &img, err, sizeof(err));
	if (rc == 0)
		fail_msg("image accepted, expected rejection containing '%s'", needle);
	assert_true(rc < 0);
	assert_true(err[0] != '\0');
	if (needle && !strstr(err, needle))
		fail_msg("message '%s' lacks '%s'", err, needle);
	assert_null(img.elf);
}

static void load_ok(const uint8_t *buf, size_t len, struct kimage *img)
{
	char err[256] = "";
	int rc = kimage_load_mem(buf, len, img, err, sizeof(err));
	if (rc != 0)
		fail_msg("load failed: %d %s", rc, err);
}

static void check_linux_notes(const struct kimage *img)
{
	const struct xen_elf_info *xi = &img->info;
	assert_int_equal(xi->virt_base, 0xffffffff80000000ull);
	assert_int_equal(xi->paddr_offset, 0);
	assert_int_equal(xi->init_p2m, 0x8000000000ull);
	assert_int_equal(xi->hv_start_low, 0xffff800000000000ull);
	assert_string_equal(xi->guest_os, "linux");
	assert_string_equal(xi->loader, "generic");
	assert_string_equal(xi->xen_version, "xen-3.0");
	assert_string_equal(xi->guest_version, "2.6");
	assert_string_equal(xi->pae_mode, "yes");
	assert_string_equal(xi->features, "!writable_page_tables|pae_pgdir_above_4gb");
	assert_int_equal(xi->f_required, 1u << XENFEAT_writable_page_tables);
	assert_int_equal(xi->f_supported, 0x8801u | (1u << XENFEAT_pae_pgdir_above_4gb));
	assert_true(xi->mod_start_pfn);
	assert_int_equal(xi->suspend_cancel, 1);
	assert_true(xi->l1_mfn_valid);
	assert_int_equal(xi->l1_mfn_valid_mask, 1);
	assert_int_equal(xi->l1_mfn_valid_value, 1);
	assert_int_equal(xi->phys32_entry, 0x1000850);
}

static void test_plain_elf_debian_like(void **state)
{
	(void)state;
	struct gen_image g;
	gen_debian_like(&g, 0);
	size_t len;
	uint8_t *elf = gen_build(&g, &len);
	struct kimage img;
	load_ok(elf, len, &img);
	assert_string_equal(img.format, "ELF");
	check_linux_notes(&img);
	assert_int_equal(img.info.entry, 0xffffffff830791c0ull);
	assert_int_equal(img.info.hypercall_page, 0);
	assert_int_equal(img.pstart, 0x1000000);
	assert_int_equal(img.pend, 0x4a00000);
	assert_int_equal(img.info.virt_kstart, 0xffffffff81000000ull);
	assert_int_equal(img.info.virt_kend, 0xffffffff84a00000ull);
	assert_int_equal(img.nr_segs, 4);
	assert_false(img.info.notes_from_sections);
	kimage_free(&img);
	free(elf);
}

static void test_notes_from_sections(void **state)
{
	(void)state;
	struct gen_image g;
	gen_small(&g);
	g.notes_in_sections = true;
	size_t len;
	uint8_t *elf = gen_build(&g, &len);
	struct kimage img;
	load_ok(elf, len, &img);
	assert_true(img.info.notes_from_sections);
	check_linux_notes(&img);
	kimage_free(&img);
	free(elf);
}

static void load_codec(enum gen_codec c, const char *format, bool bz)
{
	struct gen_image g;
	gen_debian_like(&g, 0xffffffff81001000ull);
	size_t len, clen, blen;
	uint8_t *elf = gen_build(&g, &len);
	uint8_t *comp = gen_compress(c, elf, len, &clen);
	uint8_t *file = comp;
	if (bz)
		file = gen_bzimage(comp, clen, 0x020f, &blen);
	else
		blen = clen;
	struct kimage img;
	load_ok(file, blen, &img);
	assert_string_equal(img.format, format);
	assert_int_equal(img.elf_size, len);
	assert_memory_equal(img.elf, elf, len);
	check_linux_notes(&img);
	assert_int_equal(img.info.hypercall_page, 0xffffffff81001000ull);
	kimage_free(&img);
	if (file != comp)
		free(file);
	free(comp);
	free(elf);
}

static void test_bzimage_gzip(void **s) { (void)s; load_codec(GEN_GZIP, "bzImage(gzip)", true); }
static void test_bzimage_xz(void **s) { (void)s; load_codec(GEN_XZ, "bzImage(xz)", true); }
static void test_bzimage_lzma(void **s) { (void)s; load_codec(GEN_LZMA, "bzImage(lzma)", true); }
static void test_bzimage_zstd(void **s) { (void)s; load_codec(GEN_ZSTD, "bzImage(zstd)", true); }
static void test_bzimage_lz4(void **s) { (void)s; load_codec(GEN_LZ4, "bzImage(lz4)", true); }
static void test_bzimage_raw(void **s) { (void)s; load_codec(GEN_NONE, "bzImage(none)", true); }
static void test_gzip_elf(void **s) { (void)s; load_codec(GEN_GZIP, "gzip(ELF)", false); }

/* A payload over 8 MiB: several lz4 blocks, output buffer growth. */
static void test_large_payload_all_codecs(void **state)
{
	(void)state;
	struct gen_image g;
	gen_small(&g);
	g.segs[0].filesz = 9u << 20;
	g.segs[0].memsz = 10u << 20;
	g.segs[1].paddr = 0x2000000;
	size_t len;
	uint8_t *elf = gen_build(&g, &len);
	const enum gen_codec codecs[] = { GEN_GZIP, GEN_XZ, GEN_ZSTD, GEN_LZ4 };
	for (unsigned i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		size_t clen, blen;
		uint8_t *comp = gen_compress(codecs[i], elf, len, &clen);
		/* A lying size trailer must not matter (except for lz4). */
		if (codecs[i] != GEN_LZ4 && codecs[i] != GEN_GZIP)
			memset(comp + clen - 4, 0x01, 4);
		uint8_t *bz = gen_bzimage(comp, clen, 0x020f, &blen);
		struct kimage img;
		load_ok(bz, blen, &img);
		assert_int_equal(img.elf_size, len);
		assert_memory_equal(img.elf, elf, len);
		kimage_free(&img);
		free(bz);
		free(comp);
	}
	free(elf);
}

static void test_load_from_file(void **state)
{
	(void)state;
	struct gen_image g;
	gen_small(&g);
	size_t len, clen, blen;
	uint8_t *elf = gen_build(&g, &len);
	uint8_t *comp = gen_compress(GEN_XZ, elf, len, &clen);
	uint8_t *bz = gen_bzimage(comp, clen, 0x020f, &blen);
	char path[] = "/tmp/kxen-builder-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bz, blen), (ssize_t)blen);
	close(fd);
	struct kimage img;
	char err[256];
	assert_int_equal(kimage_load(path, &img, err, sizeof(err)), 0);
	assert_string_equal(img.format, "bzImage(xz)");
	kimage_free(&img);
	unlink(path);
	assert_int_equal(kimage_load(path, &img, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_true(kimage_load("/", &img, err, sizeof(err)) < 0);
	free(bz);
	free(comp);
	free(elf);
}

/* ---- hostile input ---------------------------------------------------------- */

static uint8_t *small_elf(size_t *len)
{
	struct gen_image g;
	gen_small(&g);
	return gen_build(&g, len);
}

static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

/* Applies `mutate` to a copy of the small image and expects rejection. */
static void reject_mutated(void (*mutate)(uint8_t *f, size_t *len), const char *needle)
{
	size_t len;
	uint8_t *f = small_elf(&len);
	mutate(f, &len);
	expect_reject(f, len, needle);
	free(f);
}

static void m_class32(uint8_t *f, size_t *l) { (void)l; f[4] = 1; }
static void m_bigendian(uint8_t *f, size_t *l) { (void)l; f[5] = 2; }
static void m_not_exec(uint8_t *f, size_t *l) { (void)l; put16(f + 16, 3); }
static void m_machine(uint8_t *f, size_t *l) { (void)l; put16(f + 18, 3); }
static void m_trunc_ehdr(uint8_t *f, size_t *l) { (void)f; *l = 40; }
static void m_phoff_out(uint8_t *f, size_t *l) { put64(f + 32, *l - 8); }
static void m_phoff_wrap(uint8_t *f, size_t *l) { (void)l; put64(f + 32, UINT64_MAX - 20); }
static void m_phnum_huge(uint8_t *f, size_t *l) { (void)l; put16(f + 56, 0xffff); }
static void m_phnum_zero(uint8_t *f, size_t *l) { (void)l; put16(f + 56, 0); }
static void m_phentsize(uint8_t *f, size_t *l) { (void)l; put16(f + 54, 32); }
static void m_shoff_out(uint8_t *f, size_t *l) { put16(f + 60, 4); put64(f + 40, *l); }
static void m_seg_beyond(uint8_t *f, size_t *l) { (void)l; put64(f + 64 + 8, 0xfffffff0); }
static void m_seg_offset_wrap(uint8_t *f, size_t *l) { (void)l; put64(f + 64 + 8, UINT64_MAX - 4); }
static void m_seg_filesz_big(uint8_t *f, size_t *l) { (void)l; put64(f + 64 + 32, 0x10000000); put64(f + 64 + 40, 0x10000000); }
static void m_filesz_gt_memsz(uint8_t *f, size_t *l) { (void)l; put64(f + 64 + 40, 0x10); }
static void m_memsz_huge(uint8_t *f, size_t *l) { (void)l; put64(f + 64 + 40, 1ull << 62); }
static void m_paddr_wrap(uint8_t *f, size_t *l) { (void)l; put64(f + 64 + 24, UINT64_MAX - 0x1000); }
static void m_overlap(uint8_t *f, size_t *l) { (void)l; put64(f + 64 + 56 + 24, 0x1001000); }
static void m_span_huge(uint8_t *f, size_t *l) { (void)l; put64(f + 64 + 56 + 24, 0x100000000ull); }
static void m_no_load(uint8_t *f, size_t *l) { (void)l; put32(f + 64, 6); put32(f + 64 + 56, 6); }
/* The PT_NOTE header is the third phdr; the note area follows the phdrs. */
#define NOTE_PH (64 + 2 * 56)
#define NOTE0   (64 + 3 * 56)
static void m_note_area_out(uint8_t *f, size_t *l) { put64(f + NOTE_PH + 32, *l); }
static void m_note_area_wrap(uint8_t *f, size_t *l) { (void)l; put64(f + NOTE_PH + 8, UINT64_MAX - 8); }
static void m_note_descsz(uint8_t *f, size_t *l) { (void)l; put32(f + NOTE0 + 4, 0xffffffff); }
static void m_note_namesz(uint8_t *f, size_t *l) { (void)l; put32(f + NOTE0, 0xfffffffd); }
static void m_note_descsz_over(uint8_t *f, size_t *l) { (void)l; put32(f + NOTE0 + 4, 0x10000); }

static void test_reject_bad_headers(void **state)
{
	(void)state;
	reject_mutated(m_class32, "64-bit");
	reject_mutated(m_bigendian, "little-endian");
	reject_mutated(m_not_exec, "ET_EXEC");
	reject_mutated(m_machine, "x86-64");
	reject_mutated(m_trunc_ehdr, "too small");
	reject_mutated(m_phoff_out, "program headers");
	reject_mutated(m_phoff_wrap, "program headers");
	reject_mutated(m_phnum_huge, "program headers");
	reject_mutated(m_phnum_zero, "no program headers");
	reject_mutated(m_phentsize, "e_phentsize");
	reject_mutated(m_shoff_out, "section headers");
}

static void test_reject_bad_segments(void **state)
{
	(void)state;
	reject_mutated(m_seg_beyond, "beyond the file");
	reject_mutated(m_seg_offset_wrap, "beyond the file");
	reject_mutated(m_seg_filesz_big, "beyond the file");
	reject_mutated(m_filesz_gt_memsz, "filesz");
	reject_mutated(m_memsz_huge, "too large");
	reject_mutated(m_paddr_wrap, "too large");
	reject_mutated(m_overlap, "overlap");
	reject_mutated(m_span_huge, "spans");
	reject_mutated(m_no_load, "no loadable");
}

static void test_reject_bad_notes(void **state)
{
	(void)state;
	reject_mutated(m_note_area_out, "note area");
	reject_mutated(m_note_area_wrap, "note area");
	reject_mutated(m_note_descsz, "overruns");
	reject_mutated(m_note_namesz, "overruns");
	reject_mutated(m_note_descsz_over, "overruns");
}

/* Builds gen_small with `edit` applied to the generator description. */
static void reject_gen(void (*edit)(struct gen_image *g), const char *needle)
{
	struct gen_image g;
	gen_small(&g);
	edit(&g);
	size_t len;
	uint8_t *f = gen_build(&g, &len);
	expect_reject(f, len, needle);
	free(f);
}

static void e_no_xen_notes(struct gen_image *g)
{
	for (unsigned i = 0; i < g->nr_notes; i++)
		g->notes[i].name = "GNU";
}
static void e_no_version(struct gen_image *g) { gen_remove_note(g, XEN_ELFNOTE_XEN_VERSION); }
static void e_bad_version(struct gen_image *g)
{
	gen_remove_note(g, XEN_ELFNOTE_XEN_VERSION);
	gen_add_note_str(g, XEN_ELFNOTE_XEN_VERSION, "xen-2.0", true);
}
static void e_bad_loader(struct gen_image *g)
{
	gen_remove_note(g, XEN_ELFNOTE_LOADER);
	gen_remove_note(g, XEN_ELFNOTE_GUEST_OS);
	gen_add_note_str(g, XEN_ELFNOTE_GUEST_OS, "netbsd", true);
}
static void e_entry_out(struct gen_image *g)
{
	gen_remove_note(g, XEN_ELFNOTE_ENTRY);
	gen_add_note_num(g, XEN_ELFNOTE_ENTRY, 0xffffffff81205000ull, 8);
}
static void e_entry_physical(struct gen_image *g)
{
	gen_remove_note(g, XEN_ELFNOTE_ENTRY);  /* falls back to e_entry (paddr) */
}
/* PADDR_OFFSET above pstart puts the kernel below VIRT_BASE. */
static void e_virt_base_high(struct gen_image *g)
{
	gen_remove_note(g, XEN_ELFNOTE_PADDR_OFFSET);
	gen_remove_note(g, XEN_ELFNOTE_ENTRY);
	gen_add_note_num(g, XEN_ELFNOTE_PADDR_OFFSET, 0x2000000, 8);
	gen_add_note_num(g, XEN_ELFNOTE_ENTRY, 0xffffffff7f000040ull, 8);
}
static void e_p2m_inside(struct gen_image *g)
{
	gen_remove_note(g, XEN_ELFNOTE_INIT_P2M);
	gen_add_note_num(g, XEN_ELFNOTE_INIT_P2M, 0xffffffff81001000ull, 8);
}
static void e_paddr_no_virt(struct gen_image *g) { gen_remove_note(g, XEN_ELFNOTE_VIRT_BASE); }
static void e_unknown_required(struct gen_image *g)
{
	gen_remove_note(g, XEN_ELFNOTE_FEATURES);
	gen_add_note_str(g, XEN_ELFNOTE_FEATURES, "pae_pgdir_above_4gb|!teleportation", false);
}
static void e_requires_dom0(struct gen_image *g)
{
	gen_remove_note(g, XEN_ELFNOTE_FEATURES);
	gen_add_note_str(g, XEN_ELFNOTE_FEATURES, "!dom0", true);
}
static void e_requires_autotranslate(struct gen_image *g)
{
	gen_remove_note(g, XEN_ELFNOTE_FEATURES);
	gen_add_note_str(g, XEN_ELFNOTE_FEATURES, "!auto_translated_physmap", true);
}
static void e_hypercall_out(struct gen_image *g)
{
	gen_add_note_num(g, XEN_ELFNOTE_HYPERCALL_PAGE, 0xffffffff80001000ull, 8);
}

static void test_reject_bad_note_contents(void **state)
{
	(void)state;
	reject_gen(e_no_xen_notes, "no \"Xen\" ELF notes");
	reject_gen(e_no_version, "XEN_VERSION");
	reject_gen(e_bad_version, "XEN_VERSION");
	reject_gen(e_bad_loader, "generic");
	reject_gen(e_entry_out, "entry");
	reject_gen(e_entry_physical, "entry");
	reject_gen(e_virt_base_high, "VIRT_BASE");
	reject_gen(e_p2m_inside, "INIT_P2M");
	reject_gen(e_paddr_no_virt, "PADDR_OFFSET");
	reject_gen(e_unknown_required, "teleportation");
	reject_gen(e_requires_dom0, "unprivileged");
	reject_gen(e_requires_autotranslate, "auto-translated");
	reject_gen(e_hypercall_out, "HYPERCALL_PAGE");
}

/* Unknown optional features are ignored, known ones collected. */
static void test_features_parsing(void **state)
{
	(void)state;
	struct gen_image g;
	gen_small(&g);
	gen_remove_note(&g, XEN_ELFNOTE_FEATURES);
	gen_remove_note(&g, XEN_ELFNOTE_SUPPORTED_FEATURES);
	gen_add_note_str(&g, XEN_ELFNOTE_FEATURES,
	                 "writable_descriptor_tables|future_thing||!pae_pgdir_above_4gb", true);
	size_t len;
	uint8_t *f = gen_build(&g, &len);
	struct kimage img;
	load_ok(f, len, &img);
	assert_int_equal(img.info.f_supported, (1u << XENFEAT_writable_descriptor_tables) |
	                                       (1u << XENFEAT_pae_pgdir_above_4gb));
	assert_int_equal(img.info.f_required, 1u << XENFEAT_pae_pgdir_above_4gb);
	kimage_free(&img);
	free(f);
}

static uint8_t *bz_of(enum gen_codec c, size_t *blen, uint16_t version)
{
	size_t len, clen;
	uint8_t *elf = small_elf(&len);
	uint8_t *comp = gen_compress(c, elf, len, &clen);
	uint8_t *bz = gen_bzimage(comp, clen, version, blen);
	free(comp);
	free(elf);
	return bz;
}

static void test_reject_bad_bzimage(void **state)
{
	(void)state;
	size_t blen;
	uint8_t *bz = bz_of(GEN_XZ, &blen, 0x0207);
	expect_reject(bz, blen, "too old");
	free(bz);

	bz = bz_of(GEN_XZ, &blen, 0x020f);
	put32(bz + 0x248, 0x7fffffff);
	expect_reject(bz, blen, "offset");
	put32(bz + 0x248, GEN_BZ_PAYLOAD_OFF);
	put32(bz + 0x24c, 0xffffffff);
	expect_reject(bz, blen, "beyond file size");
	put32(bz + 0x24c, 0);
	expect_reject(bz, blen, "empty");
	free(bz);

	bz = bz_of(GEN_BZIP2_MAGIC, &blen, 0x020f);
	expect_reject(bz, blen, "bzip2");
	free(bz);

	bz = bz_of(GEN_XZ, &blen, 0x020f);
	bz[GEN_BZ_PAYLOAD_POS] = 0x77;
	expect_reject(bz, blen, "unknown compression");
	free(bz);

	static const uint8_t lzo[] = "\x89LZO\0\r\n\x1a\n";
	uint8_t *lz = gen_bzimage(lzo, sizeof(lzo), 0x020f, &blen);
	expect_reject(lz, blen, "lzo");
	free(lz);

	/* A truncated header is not a bzImage, and not anything else. */
	bz = bz_of(GEN_XZ, &blen, 0x020f);
	expect_reject(bz, 0x220, "not a kernel image");
	free(bz);
}

/* Corrupt and truncated compressed streams are errors for every codec. */
static void test_reject_corrupt_streams(void **state)
{
	(void)state;
	const enum gen_codec codecs[] = { GEN_GZIP, GEN_XZ, GEN_LZMA, GEN_ZSTD, GEN_LZ4 };
	for (unsigned i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		size_t len, clen, blen;
		uint8_t *elf = small_elf(&len);
		uint8_t *comp = gen_compress(codecs[i], elf, len, &clen);
		/* truncated to half */
		uint8_t *bz = gen_bzimage(comp, clen / 2, 0x020f, &blen);
		expect_reject(bz, blen, NULL);
		free(bz);
		/* garbage in the middle: refused, or (codecs without checksum)
		 * decoded to something else; never a crash */
		for (size_t j = clen / 3; j < clen / 3 + 24 && j < clen - 4; j++)
			comp[j] ^= 0xa5;
		bz = gen_bzimage(comp, clen, 0x020f, &blen);
		struct kimage img;
		char err[256];
		if (kimage_load_mem(bz, blen, &img, err, sizeof(err)) == 0) {
			printf("codec %d: corruption not detected\n", (int)codecs[i]);
			assert_true(img.elf_size != len || memcmp(img.elf, elf, len) != 0);
			kimage_free(&img);
		}
		free(bz);
		free(comp);
		free(elf);
	}
}

/* A compressed payload that is not an ELF. */
static void test_reject_non_elf_payload(void **state)
{
	(void)state;
	uint8_t junk[4096];
	memset(junk, 'x', sizeof(junk));
	size_t clen, blen;
	uint8_t *comp = gen_compress(GEN_ZSTD, junk, sizeof(junk), &clen);
	uint8_t *bz = gen_bzimage(comp, clen, 0x020f, &blen);
	expect_reject(bz, blen, "not an ELF");
	free(bz);
	free(comp);
	expect_reject(NULL, 0, "empty");
	expect_reject((const uint8_t *)"hello", 5, "not a kernel image");
}

/* A decompression bomb (600 MiB of zeros in a few KiB) stops at the cap. */
static void test_reject_decompression_bomb(void **state)
{
	(void)state;
	const size_t chunk = 1u << 20;
	uint8_t *zeros = calloc(1, chunk);
	size_t cap = 1u << 20, clen = 0;
	uint8_t *comp = malloc(cap);
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	assert_non_null(cc);
	for (int i = 0; i < 600; i++) {
		ZSTD_inBuffer in = { zeros, chunk, 0 };
		ZSTD_outBuffer out = { comp, cap, clen };
		while (in.pos < in.size)
			assert_false(ZSTD_isError(ZSTD_compressStream2(cc, &out, &in, ZSTD_e_continue)));
		clen = out.pos;
	}
	ZSTD_inBuffer in = { NULL, 0, 0 };
	ZSTD_outBuffer out = { comp, cap, clen };
	while (ZSTD_compressStream2(cc, &out, &in, ZSTD_e_end) != 0)
		;
	clen = out.pos;
	ZSTD_freeCCtx(cc);
	size_t blen;
	uint8_t *bz = gen_bzimage(comp, clen, 0x020f, &blen);
	expect_reject(bz, blen, "larger than");
	free(bz);
	free(comp);
	free(zeros);
}

/* The lz4 trailer is authoritative: a mismatch is refused as Xen does. */
static void test_reject_lz4_size_mismatch(void **state)
{
	(void)state;
	size_t len, clen, blen;
	uint8_t *elf = small_elf(&len);
	uint8_t *comp = gen_compress(GEN_LZ4, elf, len, &clen);
	put32(comp + clen - 4, (uint32_t)len + 1);
	uint8_t *bz = gen_bzimage(comp, clen, 0x020f, &blen);
	expect_reject(bz, blen, "trailer");
	free(bz);
	put32(comp + 4, 0x7fffffff);  /* first block size */
	put32(comp + clen - 4, (uint32_t)len);
	bz = gen_bzimage(comp, clen, 0x020f, &blen);
	expect_reject(bz, blen, "block size");
	free(bz);
	free(comp);
	free(elf);
}

/* Every truncation and many random corruptions: errors, never crashes. */
static void test_fuzz_truncate_and_flip(void **state)
{
	(void)state;
	size_t len;
	uint8_t *f = small_elf(&len);
	uint8_t *copy = malloc(len);
	struct kimage img;
	char err[256];
	for (size_t l = 0; l < len; l += (l < 1024 ? 1 : 61)) {
		memcpy(copy, f, l);
		if (kimage_load_mem(copy, l, &img, err, sizeof(err)) == 0)
			kimage_free(&img);
	}
	unsigned seed = 12345;
	for (int iter = 0; iter < 3000; iter++) {
		memcpy(copy, f, len);
		int flips = 1 + (int)(rand_r(&seed) % 8);
		for (int k = 0; k < flips; k++) {
			/* Mostly headers and notes: that is where the parsing is. */
			size_t pos = (size_t)rand_r(&seed) % (iter % 2 ? 1024 : len);
			copy[pos] = (uint8_t)rand_r(&seed);
		}
		if (kimage_load_mem(copy, len, &img, err, sizeof(err)) == 0)
			kimage_free(&img);
	}
	free(copy);
	free(f);
}

/* The real Debian kernel, when KXEN_GUEST_KERNEL points at its vmlinuz. */
static void test_real_kernel(void **state)
{
	(void)state;
	const char *path = getenv("KXEN_GUEST_KERNEL");
	if (!path || !*path)
		skip();
	struct kimage img;
	char err[256];
	int rc = kimage_load(path, &img, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s: %s", path, err);
	const struct xen_elf_info *xi = &img.info;
	assert_int_equal(xi->virt_base, 0xffffffff80000000ull);
	assert_int_equal(xi->init_p2m, 0x8000000000ull);
	assert_true(xi->entry >= xi->virt_kstart && xi->entry < xi->virt_kend);
	assert_string_equal(xi->guest_os, "linux");
	assert_string_equal(xi->xen_version, "xen-3.0");
	assert_true(xi->mod_start_pfn);
	assert_true(xi->f_required & (1u << XENFEAT_writable_page_tables));
	assert_non_null(strstr(img.format, "bzImage"));

	struct pv_build_params p = { .nr_vcpus = 1, .store_evtchn = 1, .console_evtchn = 2,
	                             .cmdline = "console=hvc0" };
	struct pv_layout lay;
	assert_int_equal(pv_layout(&p, &img, 131072, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.kernel_pfn, 0x1000);
	assert_int_equal(lay.pt_frames, 41);
	kimage_free(&img);
}

const struct CMUnitTest loader_tests[] = {
	cmocka_unit_test(test_plain_elf_debian_like),
	cmocka_unit_test(test_notes_from_sections),
	cmocka_unit_test(test_bzimage_gzip),
	cmocka_unit_test(test_bzimage_xz),
	cmocka_unit_test(test_bzimage_lzma),
	cmocka_unit_test(test_bzimage_zstd),
	cmocka_unit_test(test_bzimage_lz4),
	cmocka_unit_test(test_bzimage_raw),
	cmocka_unit_test(test_gzip_elf),
	cmocka_unit_test(test_large_payload_all_codecs),
	cmocka_unit_test(test_load_from_file),
	cmocka_unit_test(test_reject_bad_headers),
	cmocka_unit_test(test_reject_bad_segments),
	cmocka_unit_test(test_reject_bad_notes),
	cmocka_unit_test(test_reject_bad_note_contents),
	cmocka_unit_test(test_features_parsing),
	cmocka_unit_test(test_reject_bad_bzimage),
	cmocka_unit_test(test_reject_corrupt_streams),
	cmocka_unit_test(test_reject_non_elf_payload),
	cmocka_unit_test(test_reject_lz4_size_mismatch),
	cmocka_unit_test(test_reject_decompression_bomb),
	cmocka_unit_test(test_fuzz_truncate_and_flip),
	cmocka_unit_test(test_real_kernel),
};
const size_t nr_loader_tests = sizeof(loader_tests) / sizeof(loader_tests[0]);
