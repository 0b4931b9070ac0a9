/* Kernel image loading: file reading, unpacking, ELF parsing. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/builder-priv.h"

void kimage_free(struct kimage *img)
{
	if (!img)
		return;
	free(img->elf);
	memset(img, 0, sizeof(*img));
}

int kimage_load_mem(const void *buf, size_t len, struct kimage *img,
                    char *err, size_t errlen)
{
	memset(img, 0, sizeof(*img));
	if (!buf || len == 0)
		return builder_err(err, errlen, -EINVAL, "empty kernel image");
	if (len > KIMAGE_MAX_FILE_SIZE)
		return builder_err(err, errlen, -EFBIG, "kernel image larger than %llu MiB",
		                   KIMAGE_MAX_FILE_SIZE >> 20);
	int rc = kimage_unpack(buf, len, &img->elf, &img->elf_size, img->format,
	                       sizeof(img->format), err, errlen);
	if (rc < 0)
		return rc;
	rc = kimage_parse_elf(img, err, errlen);
	if (rc < 0)
		kimage_free(img);
	return rc;
}

/* Reads a whole regular file of at most KIMAGE_MAX_FILE_SIZE bytes. */
static int read_file(const char *path, uint8_t **out, size_t *outlen,
                     char *err, size_t errlen)
{
	int rc = 0;
	uint8_t *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return builder_err(err, errlen, -errno, "%s: %s", path, strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) < 0) {
		rc = builder_err(err, errlen, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = builder_err(err, errlen, -EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)sb.st_size > KIMAGE_MAX_FILE_SIZE || sb.st_size == 0) {
		rc = builder_err(err, errlen, sb.st_size ? -EFBIG : -EINVAL,
		                 "%s: size %lld out of range", path, (long long)sb.st_size);
		goto out;
	}
	size_t len = (size_t)sb.st_size, got = 0;
	buf = malloc(len);
	if (!buf) {
		rc = builder_err(err, errlen, -ENOMEM, "%s: out of memory", path);
		goto out;
	}
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = builder_err(err, errlen, n < 0 ? -errno : -EIO, "%s: read failed",
			                 path);
			goto out;
		}
		got += (size_t)n;
	}
	*out = buf;
	*outlen = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

int kimage_load(const char *path, struct kimage *img, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	memset(img, 0, sizeof(*img));
	int rc = read_file(path, &buf, &len, err, errlen);
	if (rc < 0)
		return rc;
	rc = kimage_load_mem(buf, len, img, err, errlen);
	free(buf);
	return rc;
}
