/* Private to src/bootloader. */
#ifndef KXEN_BL_PRIVATE_H
#define KXEN_BL_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

/* Formats err (if any) and returns rc. */
int bl_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Exactly len bytes at off, inside [0, limit): -ERANGE past it, -EIO on a
 * short file. */
int bl_pread_exact(int fd, void *buf, size_t len, uint64_t off, uint64_t limit);

#endif
