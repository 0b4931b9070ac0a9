/* Synthetic PV kernel images for the builder tests. */
#ifndef KXEN_TEST_ELFGEN_H
#define KXEN_TEST_ELFGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gen_seg {
	uint64_t paddr, vaddr, filesz, memsz;
	uint32_t type;     /* 0 = PT_LOAD */
	uint32_t flags;    /* 0 = R|W|X */
};

struct gen_note {
	const char *name;  /* NULL = "Xen" */
	uint32_t type;
	const void *desc;
	uint32_t descsz;
};

#define GEN_MAX_NOTES 32

struct gen_image {
	unsigned nr_segs;
	struct gen_seg segs[8];
	unsigned nr_notes;
	struct gen_note notes[GEN_MAX_NOTES];
	uint64_t e_entry;
	bool notes_in_sections;   /* SHT_NOTE section instead of PT_NOTE */
	/* storage for numeric note values */
	uint64_t numbers[GEN_MAX_NOTES];
};

/* Byte the generator writes at file offset `off` of segment i's data. */
static inline uint8_t gen_seg_byte(unsigned i, uint64_t off)
{
	return (uint8_t)(0x11 * (i + 1) + off * 7);
}

void gen_add_note_num(struct gen_image *g, uint32_t type, uint64_t val, unsigned size);
void gen_add_note_str(struct gen_image *g, uint32_t type, const char *s, bool nul);
void gen_remove_note(struct gen_image *g, uint32_t type);

/* Linux 6.1-like notes (Debian numbers); hypercall_page 0 = no note. */
void gen_linux_notes(struct gen_image *g, uint64_t entry, uint64_t hypercall_page);

/* Segment layout of Debian 6.1.0-56 with small file contents. */
void gen_debian_like(struct gen_image *g, uint64_t hypercall_page);

/* A small image: two segments at paddr 0x1000000 (text) and 0x1200000. */
void gen_small(struct gen_image *g);

/* Builds the ELF file (malloc'd). */
uint8_t *gen_build(const struct gen_image *g, size_t *len);

enum gen_codec { GEN_NONE, GEN_GZIP, GEN_XZ, GEN_LZMA, GEN_ZSTD, GEN_LZ4, GEN_BZIP2_MAGIC };

/* Compresses data as kbuild does (with the 4-byte size trailer except gzip). */
uint8_t *gen_compress(enum gen_codec c, const uint8_t *in, size_t len, size_t *outlen);

/* Wraps a payload into a minimal bzImage (boot protocol `version`). */
uint8_t *gen_bzimage(const uint8_t *payload, size_t plen, uint16_t version, size_t *outlen);

/* Byte offsets inside a generated bzImage (for corruption tests). */
#define GEN_BZ_SETUP_SECTS 3
#define GEN_BZ_PAYLOAD_OFF 0x100
#define GEN_BZ_PAYLOAD_POS ((GEN_BZ_SETUP_SECTS + 1) * 512 + GEN_BZ_PAYLOAD_OFF)

#endif
