/*
 * Kernel image unpacking: bzImage payload extraction and decompression.
 *
 * A bzImage carries the compressed vmlinux ELF as its "payload" (boot
 * protocol >= 2.08).  The compression is recognised by its magic number, as
 * Xen's xg_dom_bzimageloader.c does.  kbuild appends the uncompressed size
 * (4 bytes LE) after every payload; it is only a hint here, except for lz4
 * whose legacy frame has no end marker.
 *
 * Everything is bounded: the output never grows beyond KIMAGE_MAX_ELF_SIZE,
 * so a decompression bomb is an error, not an OOM.
 */
#include <errno.h>
#include <lz4.h>
#include <lzma.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "builder/builder-priv.h"

int builder_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ---- growable output buffer ---------------------------------------------- */

struct outbuf {
	uint8_t *p;
	size_t len, cap;
};

/* Makes room for at least `want` more bytes, doubling up to the ELF cap. */
static int outbuf_reserve(struct outbuf *o, size_t want)
{
	if (o->cap - o->len >= want)
		return 0;
	if (want > KIMAGE_MAX_ELF_SIZE - o->len)
		return -EFBIG;
	size_t need = o->len + want;
	size_t cap = o->cap ? o->cap : 1u << 20;
	while (cap < need)
		cap *= 2;
	if (cap > KIMAGE_MAX_ELF_SIZE)
		cap = KIMAGE_MAX_ELF_SIZE;
	uint8_t *n = realloc(o->p, cap);
	if (!n)
		return -ENOMEM;
	o->p = n;
	o->cap = cap;
	return 0;
}

/* Pre-sizes the buffer from the size kbuild appends (a hint, clamped). */
static int outbuf_init_hint(struct outbuf *o, const uint8_t *in, size_t len)
{
	size_t hint = len >= 4 ? get_le32(in + len - 4) : 0;
	if (hint < len)
		hint = len * 4;
	if (hint > KIMAGE_MAX_ELF_SIZE)
		hint = KIMAGE_MAX_ELF_SIZE;
	return outbuf_reserve(o, hint + 1);
}

/* Ensures some free space for a streaming decoder; -EFBIG at the cap. */
static int outbuf_room(struct outbuf *o)
{
	if (o->cap > o->len)
		return 0;
	size_t more = o->cap ? o->cap : (1u << 20);
	if (more > KIMAGE_MAX_ELF_SIZE - o->len)
		more = KIMAGE_MAX_ELF_SIZE - o->len;
	if (more == 0)
		return -EFBIG;
	return outbuf_reserve(o, more);
}

static int too_big(char *err, size_t errlen, const char *codec, int rc)
{
	if (rc == -EFBIG)
		return builder_err(err, errlen, -EFBIG,
		                   "%s: decompressed kernel larger than %llu MiB",
		                   codec, KIMAGE_MAX_ELF_SIZE >> 20);
	return builder_err(err, errlen, rc, "%s: out of memory", codec);
}

/* ---- codecs ---------------------------------------------------------------- */

static int gunzip(const uint8_t *in, size_t len, struct outbuf *o,
                  char *err, size_t errlen)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return builder_err(err, errlen, -ENOMEM, "gzip: inflateInit failed");
	int rc = outbuf_init_hint(o, in, len);
	if (rc < 0)
		goto out_nomem;
	zs.next_in = (Bytef *)in;
	/* zlib counts in uInt; the file cap keeps len far below 4 GiB. */
	zs.avail_in = (uInt)len;
	for (;;) {
		rc = outbuf_room(o);
		if (rc < 0)
			goto out_nomem;
		size_t room = o->cap - o->len;
		if (room > (1u << 30))
			room = 1u << 30;
		zs.next_out = o->p + o->len;
		zs.avail_out = (uInt)room;
		int zr = inflate(&zs, Z_NO_FLUSH);
		o->len += room - zs.avail_out;
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_OK)
			continue;
		if (zr == Z_BUF_ERROR && zs.avail_out == 0)
			continue;
		inflateEnd(&zs);
		return builder_err(err, errlen, -EINVAL, "gzip: corrupt data (%s)",
		                   zs.msg ? zs.msg : (zr == Z_BUF_ERROR ? "truncated" : "error"));
	}
	inflateEnd(&zs);
	return 0;
out_nomem:
	inflateEnd(&zs);
	return too_big(err, errlen, "gzip", rc);
}

/* xz (.xz container) and lzma ("alone" format) share the liblzma loop. */
static int unlzma(const uint8_t *in, size_t len, bool xz, struct outbuf *o,
                  char *err, size_t errlen)
{
	const char *codec = xz ? "xz" : "lzma";
	lzma_stream s = LZMA_STREAM_INIT;
	/* Kernel payloads use small dictionaries; 256 MiB bounds hostile ones. */
	uint64_t memlimit = 256ull << 20;
	lzma_ret lr = xz ? lzma_stream_decoder(&s, memlimit, 0)
	                 : lzma_alone_decoder(&s, memlimit);
	if (lr != LZMA_OK)
		return builder_err(err, errlen, -ENOMEM, "%s: decoder init failed", codec);
	int rc = outbuf_init_hint(o, in, len);
	if (rc < 0)
		goto out_nomem;
	s.next_in = in;
	s.avail_in = len;
	for (;;) {
		rc = outbuf_room(o);
		if (rc < 0)
			goto out_nomem;
		size_t room = o->cap - o->len;
		s.next_out = o->p + o->len;
		s.avail_out = room;
		/* LZMA_FINISH: all input is there; trailing bytes (kbuild's size)
		 * after the stream end are ignored because we stop at STREAM_END. */
		lr = lzma_code(&s, LZMA_FINISH);
		o->len += room - s.avail_out;
		if (lr == LZMA_STREAM_END)
			break;
		if (lr == LZMA_OK || (lr == LZMA_BUF_ERROR && s.avail_out == 0))
			continue;
		lzma_end(&s);
		return builder_err(err, errlen, -EINVAL, "%s: corrupt data (liblzma error %d%s)",
		                   codec, (int)lr, lr == LZMA_BUF_ERROR ? ", truncated" : "");
	}
	lzma_end(&s);
	return 0;
out_nomem:
	lzma_end(&s);
	return too_big(err, errlen, codec, rc);
}

static int unzstd(const uint8_t *in, size_t len, struct outbuf *o,
                  char *err, size_t errlen)
{
	ZSTD_DStream *ds = ZSTD_createDStream();
	if (!ds)
		return builder_err(err, errlen, -ENOMEM, "zstd: out of memory");
	int rc = outbuf_init_hint(o, in, len);
	if (rc < 0)
		goto out_nomem;
	ZSTD_inBuffer ib = { in, len, 0 };
	for (;;) {
		rc = outbuf_room(o);
		if (rc < 0)
			goto out_nomem;
		ZSTD_outBuffer ob = { o->p, o->cap, o->len };
		size_t zr = ZSTD_decompressStream(ds, &ob, &ib);
		size_t produced = ob.pos - o->len;
		o->len = ob.pos;
		if (ZSTD_isError(zr)) {
			ZSTD_freeDStream(ds);
			return builder_err(err, errlen, -EINVAL, "zstd: corrupt data (%s)",
			                   ZSTD_getErrorName(zr));
		}
		if (zr == 0)
			break;  /* one frame complete; kbuild's size trailer follows */
		if (ib.pos == ib.size && produced == 0 && ob.pos < ob.size) {
			ZSTD_freeDStream(ds);
			return builder_err(err, errlen, -EINVAL, "zstd: truncated data");
		}
	}
	ZSTD_freeDStream(ds);
	return 0;
out_nomem:
	ZSTD_freeDStream(ds);
	return too_big(err, errlen, "zstd", rc);
}

#define LZ4_LEGACY_MAGIC      0x184C2102u
#define LZ4_LEGACY_BLOCK_MAX  (8u << 20)   /* legacy frame: 8 MiB per block */

/*
 * LZ4 legacy frame (lz4 -l, what the kernel uses): magic, then blocks of
 * [le32 compressed size][data], each decompressing to at most 8 MiB; the
 * magic may repeat between concatenated frames.  kbuild appends the total
 * uncompressed size, which Xen requires to match; so do we.
 */
static int unlz4(const uint8_t *in, size_t len, struct outbuf *o,
                 char *err, size_t errlen)
{
	if (len <= 8)
		return builder_err(err, errlen, -EINVAL, "lz4: payload too short");
	size_t insize = len - 4;
	uint32_t expect = get_le32(in + insize);
	if (get_le32(in) != LZ4_LEGACY_MAGIC)
		return builder_err(err, errlen, -EINVAL, "lz4: not a legacy lz4 frame");
	size_t pos = 4;
	while (pos < insize) {
		if (insize - pos < 4)
			return builder_err(err, errlen, -EINVAL, "lz4: truncated block header");
		uint32_t chunk = get_le32(in + pos);
		pos += 4;
		if (chunk == LZ4_LEGACY_MAGIC)
			continue;
		if (chunk > insize - pos || chunk > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK_MAX))
			return builder_err(err, errlen, -EINVAL, "lz4: block size %u out of range",
			                   chunk);
		int rc = outbuf_reserve(o, LZ4_LEGACY_BLOCK_MAX);
		if (rc < 0)
			return too_big(err, errlen, "lz4", rc);
		int n = LZ4_decompress_safe((const char *)in + pos, (char *)o->p + o->len,
		                            (int)chunk, (int)LZ4_LEGACY_BLOCK_MAX);
		if (n < 0)
			return builder_err(err, errlen, -EINVAL, "lz4: corrupt block at offset %zu",
			                   pos);
		o->len += (size_t)n;
		pos += chunk;
	}
	if (o->len != expect)
		return builder_err(err, errlen, -EINVAL,
		                   "lz4: got %zu bytes, trailer says %u", o->len, expect);
	return 0;
}

/* ---- format detection -------------------------------------------------- */

static bool has_magic(const uint8_t *p, size_t len, const char *magic, size_t mlen)
{
	return len >= mlen && memcmp(p, magic, mlen) == 0;
}

static bool is_elf(const uint8_t *p, size_t len)
{
	return has_magic(p, len, "\177ELF", 4);
}

/* Decompresses buf by its magic; a raw ELF payload is copied as is. */
static int decompress_by_magic(const uint8_t *in, size_t len, struct outbuf *o,
                               const char **codec, char *err, size_t errlen)
{
	if (is_elf(in, len)) {
		*codec = "none";
		int rc = outbuf_reserve(o, len);
		if (rc < 0)
			return too_big(err, errlen, "copy", rc);
		memcpy(o->p, in, len);
		o->len = len;
		return 0;
	}
	if (has_magic(in, len, "\037\213", 2)) {
		*codec = "gzip";
		return gunzip(in, len, o, err, errlen);
	}
	if (has_magic(in, len, "\3757zXZ\0", 6)) {
		*codec = "xz";
		return unlzma(in, len, true, o, err, errlen);
	}
	if (has_magic(in, len, "\x28\xb5\x2f\xfd", 4)) {
		*codec = "zstd";
		return unzstd(in, len, o, err, errlen);
	}
	if (has_magic(in, len, "\135\000", 2)) {
		*codec = "lzma";
		return unlzma(in, len, false, o, err, errlen);
	}
	if (has_magic(in, len, "\x02\x21", 2)) {
		*codec = "lz4";
		return unlz4(in, len, o, err, errlen);
	}
	if (has_magic(in, len, "BZh", 3))
		return builder_err(err, errlen, -EOPNOTSUPP,
		                   "bzip2-compressed kernels are not supported "
		                   "(use a kernel built with xz, gzip, zstd, lzma or lz4)");
	if (has_magic(in, len, "\x89LZO", 4))
		return builder_err(err, errlen, -EOPNOTSUPP,
		                   "lzo-compressed kernels are not supported "
		                   "(use a kernel built with xz, gzip, zstd, lzma or lz4)");
	return builder_err(err, errlen, -EINVAL, "unknown compression format "
	                   "(magic %02x %02x)", len > 0 ? in[0] : 0, len > 1 ? in[1] : 0);
}

#define BZ_SETUP_SECTS     0x1f1
#define BZ_HEADER          0x202
#define BZ_VERSION         0x206
#define BZ_PAYLOAD_OFFSET  0x248
#define BZ_PAYLOAD_LENGTH  0x24c
#define BZ_MIN_SIZE        0x250

static bool is_bzimage(const uint8_t *p, size_t len)
{
	return len >= BZ_MIN_SIZE && memcmp(p + BZ_HEADER, "HdrS", 4) == 0;
}

/* Locates the payload of a bzImage (Xen's xc_dom_probe_bzimage_kernel). */
static int bzimage_payload(const uint8_t *p, size_t len, const uint8_t **payload,
                           size_t *plen, char *err, size_t errlen)
{
	uint16_t version = get_le16(p + BZ_VERSION);
	if (version < 0x0208)
		return builder_err(err, errlen, -EINVAL,
		                   "bzImage boot protocol %u.%02u too old (need 2.08+)",
		                   version >> 8, version & 0xff);
	uint64_t off = ((uint64_t)p[BZ_SETUP_SECTS] + 1) * 512 + get_le32(p + BZ_PAYLOAD_OFFSET);
	uint64_t n = get_le32(p + BZ_PAYLOAD_LENGTH);
	if (off >= len)
		return builder_err(err, errlen, -EINVAL,
		                   "bzImage payload offset %#llx beyond file size %#zx",
		                   (unsigned long long)off, len);
	if (n > len - off)
		return builder_err(err, errlen, -EINVAL,
		                   "bzImage payload (%#llx + %#llx) beyond file size %#zx",
		                   (unsigned long long)off, (unsigned long long)n, len);
	if (n == 0)
		return builder_err(err, errlen, -EINVAL, "bzImage payload is empty");
	*payload = p + off;
	*plen = (size_t)n;
	return 0;
}

int kimage_unpack(const uint8_t *buf, size_t len, uint8_t **elf, size_t *elf_len,
                  char *format, size_t formatlen, char *err, size_t errlen)
{
	struct outbuf o = { 0 };
	const char *codec = "none";
	int rc;

	*elf = NULL;
	*elf_len = 0;
	if (is_elf(buf, len)) {
		rc = decompress_by_magic(buf, len, &o, &codec, err, errlen);
		snprintf(format, formatlen, "ELF");
	} else if (is_bzimage(buf, len)) {
		const uint8_t *pl = NULL;
		size_t plen = 0;
		rc = bzimage_payload(buf, len, &pl, &plen, err, errlen);
		if (rc == 0)
			rc = decompress_by_magic(pl, plen, &o, &codec, err, errlen);
		snprintf(format, formatlen, "bzImage(%s)", codec);
	} else if (has_magic(buf, len, "\037\213", 2)) {
		rc = gunzip(buf, len, &o, err, errlen);
		snprintf(format, formatlen, "gzip(ELF)");
	} else {
		rc = builder_err(err, errlen, -ENOEXEC,
		                 "not a kernel image: neither ELF, bzImage nor gzip");
	}
	if (rc == 0 && !is_elf(o.p, o.len))
		rc = builder_err(err, errlen, -ENOEXEC,
		                 "%s: decompressed payload is not an ELF file", format);
	if (rc < 0) {
		free(o.p);
		return rc;
	}
	*elf = o.p;
	*elf_len = o.len;
	return 0;
}
