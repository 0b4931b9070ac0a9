/* Private to src/builder: helpers shared by the loader and the builder. */
#ifndef KXEN_BUILDER_PRIV_H
#define KXEN_BUILDER_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "builder/builder.h"

#define PV_PAGE_SHIFT 12
#define PV_PAGE_SIZE  4096ull

/* Formats a message into err (if any) and returns rc (a negative errno). */
int builder_err(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | ((uint64_t)get_le32(p + 4) << 32);
}

/*
 * Turns a kernel file into a malloc'd ELF image: bzImage payloads and gzip
 * files are decompressed, a plain ELF is copied.  format receives a short
 * description such as "bzImage(xz)".
 */
int kimage_unpack(const uint8_t *buf, size_t len, uint8_t **elf, size_t *elf_len,
                  char *format, size_t formatlen, char *err, size_t errlen);

/* Parses and validates img->elf (ELF64 + Xen notes) into img. */
int kimage_parse_elf(struct kimage *img, char *err, size_t errlen);

#endif
