/*
 * What backs a virtual block device: a raw image file or a host block
 * device.  Opened twice: with O_DIRECT where the file system allows it
 * (the data path's normal case: guest buffers go to the disk without a
 * copy into the host's page cache) and buffered, for requests whose
 * buffers do not meet O_DIRECT's alignment.  A read-only device is opened
 * read-only, so no bug can write it.
 */
#include "devices/blkback.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

/* The smallest alignment O_DIRECT accepts for this file, found by trying
 * (0: it refuses O_DIRECT altogether, e.g. tmpfs). */
static unsigned probe_direct(int fd, uint64_t size)
{
	static const unsigned aligns[] = { 512, 4096 };
	void *buf;

	if (size < 4096 || posix_memalign(&buf, 4096, 4096))
		return 0;
	unsigned found = 0;
	for (size_t i = 0; i < sizeof aligns / sizeof aligns[0] && !found; i++) {
		ssize_t n = pread(fd, (uint8_t *)buf + (4096 - aligns[i]) % 4096, aligns[i],
				  (off_t)aligns[i]);
		if (n == (ssize_t)aligns[i])
			found = aligns[i];
	}
	free(buf);
	return found;
}

int blkstore_open(struct blkstore *bs, const char *path, bool readonly, char *err, size_t errlen)
{
	struct stat st;
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;

	memset(bs, 0, sizeof *bs);
	bs->fd = bs->fd_direct = -1;
	bs->readonly = readonly;
	if (path[0] != '/') {
		snprintf(err, errlen, "disk target must be an absolute path: %s", path);
		return -EINVAL;
	}
	bs->fd = open(path, flags);
	if (bs->fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open disk target %s%s: %s", path,
			 readonly ? "" : " for writing", strerror(e));
		return -e;
	}
	if (fstat(bs->fd, &st)) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		blkstore_close(bs);
		return -e;
	}
	if (S_ISBLK(st.st_mode)) {
		uint64_t bytes;
		int ssz = 512;
		unsigned pbsz = 0;
		if (ioctl(bs->fd, BLKGETSIZE64, &bytes) || ioctl(bs->fd, BLKSSZGET, &ssz)) {
			int e = errno;
			snprintf(err, errlen, "%s: cannot size the block device: %s", path,
				 strerror(e));
			blkstore_close(bs);
			return -e;
		}
		if (ioctl(bs->fd, BLKPBSZGET, &pbsz))
			pbsz = (unsigned)ssz;
		bs->is_bdev = true;
		bs->bytes = bytes;
		bs->logical_block = (unsigned)ssz;
		bs->physical_block = pbsz;
	} else if (S_ISREG(st.st_mode)) {
		bs->bytes = (uint64_t)st.st_size;
		bs->logical_block = 512;
		bs->physical_block = st.st_blksize >= 512 && st.st_blksize <= 65536
					     ? (unsigned)st.st_blksize : 512;
	} else {
		snprintf(err, errlen, "disk target %s is neither a regular file nor a block "
			 "device", path);
		blkstore_close(bs);
		return -EINVAL;
	}
	if (bs->logical_block < 512 || bs->logical_block > 4096 ||
	    (bs->logical_block & (bs->logical_block - 1))) {
		snprintf(err, errlen, "%s: unsupported logical block size %u", path,
			 bs->logical_block);
		blkstore_close(bs);
		return -EINVAL;
	}
	bs->sectors = bs->bytes >> 9;
	bs->fd_direct = open(path, flags | O_DIRECT);
	if (bs->fd_direct >= 0) {
		bs->direct_align = probe_direct(bs->fd_direct, bs->bytes);
		if (!bs->direct_align) {
			close(bs->fd_direct);
			bs->fd_direct = -1;
		}
	}
	/* Holes can be punched in files, and block devices discard. */
	bs->can_discard = !readonly;
	return 0;
}

void blkstore_close(struct blkstore *bs)
{
	/* What the guest was told is written is on stable storage before
	 * the device goes (a forced detach included). */
	if (bs->fd >= 0 && !bs->readonly && fdatasync(bs->fd))
		log_warn("fdatasync of a disk target: %s", strerror(errno));
	if (bs->fd_direct >= 0)
		close(bs->fd_direct);
	if (bs->fd >= 0)
		close(bs->fd);
	bs->fd = bs->fd_direct = -1;
}
