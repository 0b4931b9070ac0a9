/* Synthetic ELF64 PV kernels and bzImage wrappers for the builder tests. */
#include <lz4.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "elfgen.h"
#include "xen/elfnote.h"

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		abort(); /* test helper: out of memory is fatal */
	return p;
}

void gen_add_note_num(struct gen_image *g, uint32_t type, uint64_t val, unsigned size)
{
	unsigned i = g->nr_notes++;
	g->numbers[i] = val;  /* little-endian host: the low `size` bytes */
	g->notes[i] = (struct gen_note){ NULL, type, &g->numbers[i], size };
}

void gen_add_note_str(struct gen_image *g, uint32_t type, const char *s, bool nul)
{
	unsigned i = g->nr_notes++;
	g->notes[i] = (struct gen_note){ NULL, type, s, (uint32_t)(strlen(s) + (nul ? 1 : 0)) };
}

void gen_remove_note(struct gen_image *g, uint32_t type)
{
	for (unsigned i = 0; i < g->nr_notes; i++)
		if (g->notes[i].type == type && !g->notes[i].name)
			g->notes[i].name = "Off";  /* keeps indexes stable */
}

void gen_linux_notes(struct gen_image *g, uint64_t entry, uint64_t hypercall_page)
{
	gen_add_note_str(g, XEN_ELFNOTE_GUEST_OS, "linux", true);
	gen_add_note_str(g, XEN_ELFNOTE_GUEST_VERSION, "2.6", true);
	gen_add_note_str(g, XEN_ELFNOTE_XEN_VERSION, "xen-3.0", true);
	gen_add_note_num(g, XEN_ELFNOTE_VIRT_BASE, 0xffffffff80000000ull, 8);
	gen_add_note_num(g, XEN_ELFNOTE_INIT_P2M, 0x8000000000ull, 8);
	gen_add_note_num(g, XEN_ELFNOTE_ENTRY, entry, 8);
	if (hypercall_page)
		gen_add_note_num(g, XEN_ELFNOTE_HYPERCALL_PAGE, hypercall_page, 8);
	gen_add_note_str(g, XEN_ELFNOTE_FEATURES, "!writable_page_tables|pae_pgdir_above_4gb",
	                 false);
	gen_add_note_num(g, XEN_ELFNOTE_SUPPORTED_FEATURES, 0x8801, 4);
	gen_add_note_str(g, XEN_ELFNOTE_PAE_MODE, "yes", true);
	gen_add_note_str(g, XEN_ELFNOTE_LOADER, "generic", true);
	static const uint64_t l1_mfn_valid[2] = { 1, 1 };
	unsigned i = g->nr_notes++;
	g->notes[i] = (struct gen_note){ NULL, XEN_ELFNOTE_L1_MFN_VALID, l1_mfn_valid, 16 };
	gen_add_note_num(g, XEN_ELFNOTE_SUSPEND_CANCEL, 1, 4);
	gen_add_note_num(g, XEN_ELFNOTE_MOD_START_PFN, 1, 4);
	gen_add_note_num(g, XEN_ELFNOTE_HV_START_LOW, 0xffff800000000000ull, 8);
	gen_add_note_num(g, XEN_ELFNOTE_PADDR_OFFSET, 0, 8);
	gen_add_note_num(g, XEN_ELFNOTE_PHYS32_ENTRY, 0x1000850, 4);
}

void gen_debian_like(struct gen_image *g, uint64_t hypercall_page)
{
	memset(g, 0, sizeof(*g));
	g->segs[0] = (struct gen_seg){ 0x1000000, 0xffffffff81000000ull, 0x3000, 0x18ea9f0, 0, 0 };
	g->segs[1] = (struct gen_seg){ 0x2a00000, 0xffffffff82a00000ull, 0x1000, 0x644000, 0, 0 };
	g->segs[2] = (struct gen_seg){ 0x3044000, 0, 0x800, 0x35000, 0, 0 };
	g->segs[3] = (struct gen_seg){ 0x3079000, 0xffffffff83079000ull, 0x1400, 0x1987000, 0, 0 };
	g->nr_segs = 4;
	g->e_entry = 0x1000000;
	gen_linux_notes(g, 0xffffffff830791c0ull, hypercall_page);
}

void gen_small(struct gen_image *g)
{
	memset(g, 0, sizeof(*g));
	g->segs[0] = (struct gen_seg){ 0x1000000, 0xffffffff81000000ull, 0x2345, 0x3000, 0, 0 };
	g->segs[1] = (struct gen_seg){ 0x1200000, 0xffffffff81200000ull, 0x100, 0x5000, 0, 0 };
	g->nr_segs = 2;
	g->e_entry = 0x1000000;
	gen_linux_notes(g, 0xffffffff81000040ull, 0);
}

static size_t align_up(size_t x, size_t a) { return (x + a - 1) & ~(a - 1); }

static size_t notes_size(const struct gen_image *g)
{
	size_t n = 0;
	for (unsigned i = 0; i < g->nr_notes; i++) {
		const char *name = g->notes[i].name ? g->notes[i].name : "Xen";
		n += 12 + align_up(strlen(name) + 1, 4) + align_up(g->notes[i].descsz, 4);
	}
	return n;
}

static void write_notes(const struct gen_image *g, uint8_t *p)
{
	for (unsigned i = 0; i < g->nr_notes; i++) {
		const struct gen_note *n = &g->notes[i];
		const char *name = n->name ? n->name : "Xen";
		size_t nl = strlen(name) + 1;
		put32(p, (uint32_t)nl);
		put32(p + 4, n->descsz);
		put32(p + 8, n->type);
		memcpy(p + 12, name, nl);
		p += 12 + align_up(nl, 4);
		memcpy(p, n->desc, n->descsz);
		p += align_up(n->descsz, 4);
	}
}

uint8_t *gen_build(const struct gen_image *g, size_t *len)
{
	unsigned nph = g->nr_segs + (g->notes_in_sections ? 0 : 1);
	size_t notes_off = 64 + (size_t)nph * 56, nsz = notes_size(g);
	size_t off = align_up(notes_off + nsz, 16);
	size_t seg_off[8];
	for (unsigned i = 0; i < g->nr_segs; i++) {
		seg_off[i] = off;
		off = align_up(off + g->segs[i].filesz, 16);
	}
	size_t shoff = off, shnum = g->notes_in_sections ? 2 : 0;
	size_t total = shoff + shnum * 64;
	uint8_t *f = xmalloc(total);

	memcpy(f, "\177ELF", 4);
	f[4] = 2; f[5] = 1; f[6] = 1;
	put16(f + 16, 2);
	put16(f + 18, 62);
	put32(f + 20, 1);
	put64(f + 24, g->e_entry);
	put64(f + 32, 64);
	put64(f + 40, shnum ? shoff : 0);
	put16(f + 52, 64);
	put16(f + 54, 56);
	put16(f + 56, (uint16_t)nph);
	put16(f + 58, 64);
	put16(f + 60, (uint16_t)shnum);

	for (unsigned i = 0; i < g->nr_segs; i++) {
		const struct gen_seg *s = &g->segs[i];
		uint8_t *ph = f + 64 + i * 56;
		put32(ph, s->type ? s->type : 1);
		put32(ph + 4, s->flags ? s->flags : 7);
		put64(ph + 8, seg_off[i]);
		put64(ph + 16, s->vaddr);
		put64(ph + 24, s->paddr);
		put64(ph + 32, s->filesz);
		put64(ph + 40, s->memsz);
		put64(ph + 48, 0x200000);
		for (uint64_t b = 0; b < s->filesz; b++)
			f[seg_off[i] + b] = gen_seg_byte(i, b);
	}
	if (!g->notes_in_sections) {
		uint8_t *ph = f + 64 + g->nr_segs * 56;
		put32(ph, 4);
		put32(ph + 4, 4);
		put64(ph + 8, notes_off);
		put64(ph + 32, nsz);
		put64(ph + 40, nsz);
		put64(ph + 48, 4);
	} else {
		uint8_t *sh = f + shoff + 64;  /* section 1; section 0 stays null */
		put32(sh + 4, 7);               /* SHT_NOTE */
		put64(sh + 24, notes_off);
		put64(sh + 32, nsz);
	}
	write_notes(g, f + notes_off);
	*len = total;
	return f;
}

/* ---- compression as kbuild does it ---------------------------------------- */

static uint8_t *append_size(uint8_t *buf, size_t *len, size_t orig)
{
	put32(buf + *len, (uint32_t)orig);
	*len += 4;
	return buf;
}

static uint8_t *do_gzip(const uint8_t *in, size_t len, size_t *outlen)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	size_t cap = deflateBound(&zs, len) + 64;
	uint8_t *out = xmalloc(cap);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	deflate(&zs, Z_FINISH);
	*outlen = zs.total_out;
	deflateEnd(&zs);
	return out;
}

static uint8_t *do_xz(const uint8_t *in, size_t len, size_t *outlen)
{
	size_t cap = lzma_stream_buffer_bound(len) + 8, pos = 0;
	uint8_t *out = xmalloc(cap);
	lzma_easy_buffer_encode(1, LZMA_CHECK_CRC32, NULL, in, len, out, &pos, cap);
	*outlen = pos;
	return append_size(out, outlen, len);
}

static uint8_t *do_lzma(const uint8_t *in, size_t len, size_t *outlen)
{
	lzma_options_lzma opt;
	lzma_lzma_preset(&opt, 1);
	lzma_stream s = LZMA_STREAM_INIT;
	if (lzma_alone_encoder(&s, &opt) != LZMA_OK)
		abort();
	size_t cap = len + len / 2 + 4096;
	uint8_t *out = xmalloc(cap);
	s.next_in = in;
	s.avail_in = len;
	s.next_out = out;
	s.avail_out = cap - 4;
	while (lzma_code(&s, LZMA_FINISH) == LZMA_OK)
		;
	*outlen = s.total_out;
	lzma_end(&s);
	return append_size(out, outlen, len);
}

static uint8_t *do_zstd(const uint8_t *in, size_t len, size_t *outlen)
{
	size_t cap = ZSTD_compressBound(len) + 8;
	uint8_t *out = xmalloc(cap);
	*outlen = ZSTD_compress(out, cap, in, len, 3);
	return append_size(out, outlen, len);
}

/* lz4 -l: legacy frame, 8 MiB blocks. */
static uint8_t *do_lz4(const uint8_t *in, size_t len, size_t *outlen)
{
	const size_t block = 8u << 20;
	size_t nblocks = len / block + 1;
	size_t cap = 8 + nblocks * (4 + (size_t)LZ4_compressBound((int)block));
	uint8_t *out = xmalloc(cap);
	put32(out, 0x184C2102);
	size_t pos = 4;
	for (size_t off = 0; off < len; off += block) {
		size_t n = len - off < block ? len - off : block;
		int c = LZ4_compress_default((const char *)in + off, (char *)out + pos + 4, (int)n,
		                             LZ4_compressBound((int)block));
		put32(out + pos, (uint32_t)c);
		pos += 4 + (size_t)c;
	}
	*outlen = pos;
	return append_size(out, outlen, len);
}

uint8_t *gen_compress(enum gen_codec c, const uint8_t *in, size_t len, size_t *outlen)
{
	switch (c) {
	case GEN_GZIP: return do_gzip(in, len, outlen);
	case GEN_XZ:   return do_xz(in, len, outlen);
	case GEN_LZMA: return do_lzma(in, len, outlen);
	case GEN_ZSTD: return do_zstd(in, len, outlen);
	case GEN_LZ4:  return do_lz4(in, len, outlen);
	case GEN_BZIP2_MAGIC: {
		uint8_t *out = xmalloc(len + 8);
		memcpy(out, "BZh9", 4);
		*outlen = len + 4;
		return out;
	}
	case GEN_NONE:
	default: {
		uint8_t *out = xmalloc(len);
		memcpy(out, in, len);
		*outlen = len;
		return out;
	}
	}
}

uint8_t *gen_bzimage(const uint8_t *payload, size_t plen, uint16_t version, size_t *outlen)
{
	size_t total = GEN_BZ_PAYLOAD_POS + plen + 16;  /* + kbuild's trailing junk */
	uint8_t *f = xmalloc(total);
	f[0x1f1] = GEN_BZ_SETUP_SECTS;
	memcpy(f + 0x202, "HdrS", 4);
	put16(f + 0x206, version);
	put32(f + 0x248, GEN_BZ_PAYLOAD_OFF);
	put32(f + 0x24c, (uint32_t)plen);
	memcpy(f + GEN_BZ_PAYLOAD_POS, payload, plen);
	memset(f + GEN_BZ_PAYLOAD_POS + plen, 0x5a, 16);
	*outlen = total;
	return f;
}
