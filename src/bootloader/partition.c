/*
 * The guest disk's partition table: MBR (four primary entries) or GPT
 * behind a protective MBR, read with bounded preads only.  Which
 * partitions are tried, and in which order, follows pygrub: no 0xAA55
 * signature means a file system on the whole disk; the active MBR entry
 * comes first; a table without a usable entry also means the whole disk.
 */
#include "bootloader/bootloader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "bootloader/bl-private.h"

#define MBR_SIG_OFF       510
#define MBR_TABLE_OFF     446
#define MBR_TYPE_GPT      0xee
#define GPT_MAX_ENTRIES   1024
#define GPT_MIN_ENTRY     128
#define GPT_MAX_ENTRY     4096

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

int bl_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Exactly len bytes at off, which must lie inside [0, limit). */
int bl_pread_exact(int fd, void *buf, size_t len, uint64_t off, uint64_t limit)
{
	size_t done = 0;

	if (off > limit || len > limit - off)
		return -ERANGE;
	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;    /* the file is shorter than it said */
		done += (size_t)n;
	}
	return 0;
}

/* A partition of [start, start+count) sectors, clipped to the disk; false
 * when nothing of it is on the disk. */
static bool part_make(struct bl_part *p, unsigned number, uint64_t start, uint64_t count,
		      uint64_t disk_size)
{
	uint64_t sectors = disk_size / BL_SECTOR;

	if (start == 0 || start >= sectors || count == 0)
		return false;
	if (count > sectors - start)
		count = sectors - start;
	p->number = number;
	p->offset = start * BL_SECTOR;
	p->length = count * BL_SECTOR;
	return true;
}

static int gpt_read(int fd, uint64_t disk_size, struct bl_part *parts, size_t max,
		    size_t *nr, char *err, size_t errlen)
{
	uint8_t hdr[BL_SECTOR];
	uint8_t *ents = NULL;
	int rc = bl_pread_exact(fd, hdr, sizeof hdr, BL_SECTOR, disk_size);

	if (rc)
		return bl_fail(err, errlen, rc, "GPT header: cannot be read");
	if (memcmp(hdr, "EFI PART", 8))
		return bl_fail(err, errlen, -EINVAL, "protective MBR without a GPT header");
	uint32_t hsize = le32(hdr + 12), hcrc = le32(hdr + 16);
	if (hsize < 92 || hsize > sizeof hdr)
		return bl_fail(err, errlen, -EINVAL, "GPT header size %u is invalid", hsize);
	uint8_t tmp[BL_SECTOR];
	memcpy(tmp, hdr, hsize);
	memset(tmp + 16, 0, 4);
	if (crc32(0, tmp, hsize) != hcrc)
		return bl_fail(err, errlen, -EINVAL, "GPT header checksum mismatch");
	uint64_t lba = le64(hdr + 72);
	uint32_t count = le32(hdr + 80), esize = le32(hdr + 84), ecrc = le32(hdr + 88);
	if (count == 0 || count > GPT_MAX_ENTRIES || esize < GPT_MIN_ENTRY ||
	    esize > GPT_MAX_ENTRY || esize % 8)
		return bl_fail(err, errlen, -EINVAL, "GPT has %u entries of %u bytes: unsupported",
			       count, esize);
	size_t bytes = (size_t)count * esize;
	if (lba == 0 || lba > disk_size / BL_SECTOR)
		return bl_fail(err, errlen, -EINVAL, "GPT entries at LBA %llu: outside the disk",
			       (unsigned long long)lba);
	ents = malloc(bytes);
	if (!ents)
		return bl_fail(err, errlen, -ENOMEM, "out of memory");
	rc = bl_pread_exact(fd, ents, bytes, lba * BL_SECTOR, disk_size);
	if (rc) {
		rc = bl_fail(err, errlen, rc, "GPT entries: outside the disk or unreadable");
		goto out;
	}
	if (crc32(0, ents, (uInt)bytes) != ecrc) {
		rc = bl_fail(err, errlen, -EINVAL, "GPT entry array checksum mismatch");
		goto out;
	}
	for (uint32_t i = 0; i < count && *nr < max; i++) {
		const uint8_t *e = ents + (size_t)i * esize;
		static const uint8_t unused[16];
		if (!memcmp(e, unused, 16))
			continue;
		uint64_t first = le64(e + 32), last = le64(e + 40);
		if (last < first)
			continue;
		if (part_make(&parts[*nr], i + 1, first, last - first + 1, disk_size))
			(*nr)++;
	}
	rc = 0;
out:
	free(ents);
	return rc;
}

static bool mbr_is_extended(uint8_t type)
{
	return type == 0x05 || type == 0x0f || type == 0x85;
}

int bl_disk_partitions(int fd, uint64_t disk_size, enum bl_table *table,
		       struct bl_part *parts, size_t max, size_t *nr,
		       char *err, size_t errlen)
{
	uint8_t mbr[BL_SECTOR];
	int rc;

	*nr = 0;
	*table = BL_TABLE_NONE;
	if (max == 0)
		return bl_fail(err, errlen, -EINVAL, "no room for partitions");
	if (disk_size < 2048)
		return bl_fail(err, errlen, -EINVAL, "the disk is too small (%llu bytes) to hold "
			       "a file system", (unsigned long long)disk_size);
	rc = bl_pread_exact(fd, mbr, sizeof mbr, 0, disk_size);
	if (rc)
		return bl_fail(err, errlen, rc, "cannot read the first sector: %s", strerror(-rc));
	if (mbr[MBR_SIG_OFF] == 0x55 && mbr[MBR_SIG_OFF + 1] == 0xaa) {
		*table = BL_TABLE_MBR;
		for (unsigned i = 0; i < 4; i++) {
			const uint8_t *e = mbr + MBR_TABLE_OFF + 16 * i;
			if (e[4] == MBR_TYPE_GPT) {
				*table = BL_TABLE_GPT;
				*nr = 0;
				return gpt_read(fd, disk_size, parts, max, nr, err, errlen);
			}
		}
		struct bl_part found[4];
		size_t n = 0;
		for (unsigned i = 0; i < 4; i++) {
			const uint8_t *e = mbr + MBR_TABLE_OFF + 16 * i;
			struct bl_part p;
			if (e[4] == 0 || mbr_is_extended(e[4]) ||
			    !part_make(&p, i + 1, le32(e + 8), le32(e + 12), disk_size))
				continue;
			if (e[0] == 0x80) {
				memmove(found + 1, found, n * sizeof *found);
				found[0] = p;
			} else {
				found[n] = p;
			}
			n++;
		}
		*nr = n < max ? n : max;
		memcpy(parts, found, *nr * sizeof *parts);
	}
	if (*nr == 0) {
		/* No table, or boot code with the signature but no entry. */
		parts[0] = (struct bl_part){ .number = 0, .offset = 0, .length = disk_size };
		*nr = 1;
	}
	return 0;
}
