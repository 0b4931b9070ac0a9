/*
 * Verdicts for the static user programs in tests/linux-user/.
 *
 * Each program checks one piece of the x86-64 Linux ABI that goes through
 * kxen's trap delivery, and ends with exactly one line
 *     kxen-user: PASS <program>
 * or  kxen-user: FAIL <program>: <reason>
 * on stdout, exit status 0 for PASS.  The same binary runs on the host
 * (where Linux is the reference) and inside the Debian guest under kxen
 * (tests/e2e/linux-user.sh), so a check must hold on bare metal too.
 */
#ifndef KXEN_LINUX_USER_VERDICT_H
#define KXEN_LINUX_USER_VERDICT_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char *program_invocation_short_name;

static inline _Noreturn void pass(void)
{
	printf("kxen-user: PASS %s\n", program_invocation_short_name);
	fflush(stdout);
	exit(0);
}

__attribute__((format(printf, 1, 2)))
static inline _Noreturn void fail(const char *fmt, ...)
{
	va_list ap;

	printf("kxen-user: FAIL %s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

/* Progress lines a reader of the log may want; not parsed. */
#define note(...) do { printf("%s: ", program_invocation_short_name); \
			printf(__VA_ARGS__); printf("\n"); fflush(stdout); } while (0)

#define CHECK(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)

#endif
