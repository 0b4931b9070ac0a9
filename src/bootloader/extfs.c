/*
 * ext2/3/4 through e2fsprogs' libext2fs, read only, on one partition of
 * the guest's disk.  libext2fs reads through an I/O manager of ours that
 * turns every block request into a pread inside [offset, offset+length):
 * whatever the superblock, extents or directories claim, nothing outside
 * the partition is read, and nothing at all is written.
 */
#include "bootloader/bootloader.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>

#include "bootloader/bl-private.h"

struct bl_fs {
	ext2_filsys fs;
};

struct part_io {
	int fd;
	uint64_t offset, length;
};

/* ---- the bounded I/O manager ---------------------------------------------- */

static errcode_t pio_open(const char *name, int flags, io_channel *out);
static errcode_t pio_close(io_channel ch);
static errcode_t pio_set_blksize(io_channel ch, int blksize);
static errcode_t pio_read_blk(io_channel ch, unsigned long block, int count, void *data);
static errcode_t pio_read_blk64(io_channel ch, unsigned long long block, int count, void *data);
static errcode_t pio_write_blk(io_channel ch, unsigned long block, int count, const void *data);
static errcode_t pio_write_blk64(io_channel ch, unsigned long long block, int count,
				 const void *data);
static errcode_t pio_write_byte(io_channel ch, unsigned long offset, int count, const void *data);
static errcode_t pio_flush(io_channel ch);
static errcode_t pio_set_option(io_channel ch, const char *option, const char *arg);

static struct struct_io_manager part_io_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "kxen partition I/O manager",
	.open = pio_open,
	.close = pio_close,
	.set_blksize = pio_set_blksize,
	.read_blk = pio_read_blk,
	.write_blk = pio_write_blk,
	.flush = pio_flush,
	.write_byte = pio_write_byte,
	.set_option = pio_set_option,
	.read_blk64 = pio_read_blk64,
	.write_blk64 = pio_write_blk64,
};

/* The "name" libext2fs passes to open is ours: "fd:offset:length". */
static errcode_t pio_open(const char *name, int flags, io_channel *out)
{
	struct part_io *pio = NULL;
	io_channel ch = NULL;
	unsigned long long off, len;
	int fd, used = 0;
	errcode_t rc;

	if (flags & IO_FLAG_RW)
		return EROFS;
	if (sscanf(name, "%d:%llu:%llu%n", &fd, &off, &len, &used) != 3 || name[used])
		return EXT2_ET_BAD_DEVICE_NAME;
	rc = ext2fs_get_memzero(sizeof *ch, &ch);
	if (!rc)
		rc = ext2fs_get_memzero(sizeof *pio, &pio);
	if (!rc)
		rc = ext2fs_get_mem(strlen(name) + 1, &ch->name);
	if (rc) {
		if (ch)
			ext2fs_free_mem(&ch);
		if (pio)
			ext2fs_free_mem(&pio);
		return rc;
	}
	strcpy(ch->name, name);
	pio->fd = fd;
	pio->offset = off;
	pio->length = len;
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = &part_io_manager;
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = pio;
	*out = ch;
	return 0;
}

static errcode_t pio_close(io_channel ch)
{
	if (--ch->refcount > 0)
		return 0;
	ext2fs_free_mem(&ch->private_data);
	ext2fs_free_mem(&ch->name);
	ext2fs_free_mem(&ch);
	return 0;
}

static errcode_t pio_set_blksize(io_channel ch, int blksize)
{
	if (blksize <= 0 || blksize > (1 << 16))
		return EXT2_ET_INVALID_ARGUMENT;
	ch->block_size = blksize;
	return 0;
}

static errcode_t pio_read_blk64(io_channel ch, unsigned long long block, int count, void *data)
{
	const struct part_io *pio = ch->private_data;
	unsigned long long size, off;

	/* A negative count is a byte count (libext2fs' convention). */
	size = count < 0 ? (unsigned long long)-(long long)count
			 : (unsigned long long)count * (unsigned)ch->block_size;
	if (block > pio->length / (unsigned)ch->block_size)
		return EXT2_ET_LLSEEK_FAILED;
	off = block * (unsigned)ch->block_size;
	if (size > pio->length - off) {
		memset(data, 0, size);
		return EXT2_ET_SHORT_READ;
	}
	int rc = bl_pread_exact(pio->fd, data, size, pio->offset + off, pio->offset + pio->length);
	if (rc) {
		memset(data, 0, size);
		return rc == -EIO ? EXT2_ET_SHORT_READ : (errcode_t)-rc;
	}
	return 0;
}

static errcode_t pio_read_blk(io_channel ch, unsigned long block, int count, void *data)
{
	return pio_read_blk64(ch, block, count, data);
}

static errcode_t pio_write_blk64(io_channel ch, unsigned long long block, int count,
				 const void *data)
{
	return EROFS;
}

static errcode_t pio_write_blk(io_channel ch, unsigned long block, int count, const void *data)
{
	return EROFS;
}

static errcode_t pio_write_byte(io_channel ch, unsigned long offset, int count, const void *data)
{
	return EROFS;
}

static errcode_t pio_flush(io_channel ch)
{
	return 0;
}

static errcode_t pio_set_option(io_channel ch, const char *option, const char *arg)
{
	return EXT2_ET_INVALID_ARGUMENT;
}

/* ---- errors ------------------------------------------------------------------ */

static pthread_once_t et_once = PTHREAD_ONCE_INIT;

static void et_init(void)
{
	initialize_ext2_error_table();
}

static int ext_err(errcode_t code)
{
	if (code > 0 && code < 4096)
		return -(int)code;
	return -EIO;
}

static const char *ext_msg(errcode_t code)
{
	pthread_once(&et_once, et_init);
	return error_message(code);
}

/* ---- the file system ----------------------------------------------------------- */

int bl_fs_open(int fd, uint64_t offset, uint64_t length, struct bl_fs **out,
	       char *err, size_t errlen)
{
	char name[80];
	struct bl_fs *bfs;
	errcode_t rc;

	*out = NULL;
	pthread_once(&et_once, et_init);
	bfs = calloc(1, sizeof *bfs);
	if (!bfs)
		return bl_fail(err, errlen, -ENOMEM, "out of memory");
	snprintf(name, sizeof name, "%d:%llu:%llu", fd, (unsigned long long)offset,
		 (unsigned long long)length);
	rc = ext2fs_open2(name, NULL, EXT2_FLAG_64BITS, 0, 0, &part_io_manager, &bfs->fs);
	if (rc) {
		free(bfs);
		return bl_fail(err, errlen, ext_err(rc), "%s", ext_msg(rc));
	}
	*out = bfs;
	return 0;
}

void bl_fs_close(struct bl_fs *fs)
{
	if (!fs)
		return;
	ext2fs_close_free(&fs->fs);
	free(fs);
}

/* The inode of a path, following symlinks (libext2fs bounds their nesting). */
static errcode_t lookup(struct bl_fs *fs, const char *path, ext2_ino_t *ino,
			struct ext2_inode *inode)
{
	errcode_t rc;

	if (!path[0] || strlen(path) >= BL_MAX_PATH)
		return EXT2_ET_FILE_NOT_FOUND;
	rc = ext2fs_namei_follow(fs->fs, EXT2_ROOT_INO, EXT2_ROOT_INO,
				 path[0] == '/' ? path + 1 : path, ino);
	if (!rc)
		rc = ext2fs_read_inode(fs->fs, *ino, inode);
	return rc;
}

static int open_regular(struct bl_fs *fs, const char *path, uint64_t max, ext2_file_t *file,
			uint64_t *size, char *err, size_t errlen)
{
	struct ext2_inode inode;
	ext2_ino_t ino;
	errcode_t rc = lookup(fs, path, &ino, &inode);

	if (rc)
		return bl_fail(err, errlen, rc == EXT2_ET_FILE_NOT_FOUND ? -ENOENT : ext_err(rc),
			       "%s: %s", path, rc == EXT2_ET_FILE_NOT_FOUND ?
			       "no such file in the guest's file system" : ext_msg(rc));
	if (!LINUX_S_ISREG(inode.i_mode))
		return bl_fail(err, errlen, -EINVAL, "%s: not a regular file", path);
	rc = ext2fs_file_open(fs->fs, ino, 0, file);
	if (rc)
		return bl_fail(err, errlen, ext_err(rc), "%s: %s", path, ext_msg(rc));
	__u64 lsize = 0;
	rc = ext2fs_file_get_lsize(*file, &lsize);
	*size = lsize;
	if (!rc && *size > max) {
		ext2fs_file_close(*file);
		return bl_fail(err, errlen, -EFBIG, "%s: %llu bytes, more than the %llu allowed",
			       path, (unsigned long long)*size, (unsigned long long)max);
	}
	if (rc) {
		ext2fs_file_close(*file);
		return bl_fail(err, errlen, ext_err(rc), "%s: %s", path, ext_msg(rc));
	}
	return 0;
}

int bl_fs_file_size(struct bl_fs *fs, const char *path, uint64_t *size)
{
	struct ext2_inode inode;
	ext2_ino_t ino;
	errcode_t rc = lookup(fs, path, &ino, &inode);

	if (rc)
		return rc == EXT2_ET_FILE_NOT_FOUND ? -ENOENT : ext_err(rc);
	if (!LINUX_S_ISREG(inode.i_mode))
		return -EINVAL;
	*size = EXT2_I_SIZE(&inode);
	return 0;
}

/* Reads the whole file in chunks, handing each to sink. */
static int read_all(ext2_file_t file, uint64_t size, const char *path,
		    int (*sink)(void *arg, const void *buf, size_t len), void *arg,
		    char *err, size_t errlen)
{
	static const size_t chunk = 1u << 20;
	uint8_t *buf = malloc(chunk);
	uint64_t done = 0;
	int rc = 0;

	if (!buf)
		return bl_fail(err, errlen, -ENOMEM, "out of memory");
	while (done < size) {
		unsigned int want = (unsigned int)(size - done < chunk ? size - done : chunk), got = 0;
		errcode_t e = ext2fs_file_read(file, buf, want, &got);
		if (e) {
			rc = bl_fail(err, errlen, ext_err(e), "%s: %s", path, ext_msg(e));
			break;
		}
		if (got == 0) {
			rc = bl_fail(err, errlen, -EIO, "%s: ends after %llu of %llu bytes", path,
				     (unsigned long long)done, (unsigned long long)size);
			break;
		}
		rc = sink(arg, buf, got);
		if (rc) {
			bl_fail(err, errlen, rc, "%s: %s", path, strerror(-rc));
			break;
		}
		done += got;
	}
	free(buf);
	return rc;
}

struct mem_sink {
	uint8_t *buf;
	size_t len;
};

static int to_memory(void *arg, const void *buf, size_t len)
{
	struct mem_sink *m = arg;

	memcpy(m->buf + m->len, buf, len);
	m->len += len;
	return 0;
}

int bl_fs_read_file(struct bl_fs *fs, const char *path, uint64_t max, uint8_t **out,
		    size_t *len, char *err, size_t errlen)
{
	struct mem_sink m = { 0 };
	ext2_file_t file;
	uint64_t size;
	int rc = open_regular(fs, path, max, &file, &size, err, errlen);

	*out = NULL;
	*len = 0;
	if (rc)
		return rc;
	m.buf = malloc(size ? size : 1);
	if (!m.buf) {
		ext2fs_file_close(file);
		return bl_fail(err, errlen, -ENOMEM, "%s: out of memory for %llu bytes", path,
			       (unsigned long long)size);
	}
	rc = read_all(file, size, path, to_memory, &m, err, errlen);
	ext2fs_file_close(file);
	if (rc) {
		free(m.buf);
		return rc;
	}
	*out = m.buf;
	*len = m.len;
	return 0;
}

static int to_fd(void *arg, const void *buf, size_t len)
{
	int fd = *(int *)arg;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const uint8_t *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

int bl_fs_copy_file(struct bl_fs *fs, const char *path, uint64_t max, int out_fd,
		    uint64_t *copied, char *err, size_t errlen)
{
	ext2_file_t file;
	uint64_t size;
	int rc = open_regular(fs, path, max, &file, &size, err, errlen);

	if (rc)
		return rc;
	rc = read_all(file, size, path, to_fd, &out_fd, err, errlen);
	ext2fs_file_close(file);
	if (!rc && copied)
		*copied = size;
	return rc;
}

struct list_ctx {
	int (*fn)(void *arg, const char *name);
	void *arg;
	int stopped;
};

static int list_one(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset,
		    int blocksize, char *buf, void *priv)
{
	struct list_ctx *ctx = priv;
	char name[EXT2_NAME_LEN + 1];
	int len = ext2fs_dirent_name_len(dirent);

	if (len <= 0 || len > EXT2_NAME_LEN)
		return 0;
	memcpy(name, dirent->name, (size_t)len);
	name[len] = '\0';
	if (!strcmp(name, ".") || !strcmp(name, "..") || memchr(name, '/', (size_t)len))
		return 0;
	ctx->stopped = ctx->fn(ctx->arg, name);
	return ctx->stopped ? DIRENT_ABORT : 0;
}

int bl_fs_list_dir(struct bl_fs *fs, const char *dir,
		   int (*fn)(void *arg, const char *name), void *arg)
{
	struct list_ctx ctx = { .fn = fn, .arg = arg };
	struct ext2_inode inode;
	ext2_ino_t ino;
	errcode_t rc = lookup(fs, dir, &ino, &inode);

	if (rc)
		return rc == EXT2_ET_FILE_NOT_FOUND ? -ENOENT : ext_err(rc);
	if (!LINUX_S_ISDIR(inode.i_mode))
		return -ENOTDIR;
	rc = ext2fs_dir_iterate2(fs->fs, ino, 0, NULL, list_one, &ctx);
	return rc ? ext_err(rc) : 0;
}
