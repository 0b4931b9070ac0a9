/*
 * flood: prints as fast as it can through HYPERVISOR_console_io, 4 MiB of
 * numbered lines (some with terminal escapes), then passes.  The daemon
 * must keep its console log within the size cap (rotating it) and let
 * only a rate-limited trickle of it into kxend.log
 * (tests/e2e/console-logs.sh).
 */
#include "guest.h"

const char test_name[] = "flood";

#define LINES_PER_CALL 64
#define CALLS 1024
#define LINE_LEN 64        /* "flood line NNNNNNN: xxx...\n" */

static char chunk[LINES_PER_CALL * LINE_LEN];

static void put_num(char *p, unsigned long v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
}

void test_main(void)
{
	unsigned long line = 0;

	for (unsigned call = 0; call < CALLS; call++) {
		for (unsigned i = 0; i < LINES_PER_CALL; i++, line++) {
			char *l = chunk + i * LINE_LEN;
			memcpy(l, "flood line ", 11);
			put_num(l + 11, line, 7);
			memset(l + 18, 'x', LINE_LEN - 19);
			l[18] = ':';
			/* an escape sequence now and then: it must not reach the log */
			if (line % 1000 == 0)
				memcpy(l + 20, "\033[2J\r", 5);
			l[LINE_LEN - 1] = '\n';
		}
		long rc = HYPERVISOR_console_io(CONSOLEIO_write, sizeof(chunk), chunk);
		if (rc)
			test_fail("console_io returned %ld", rc);
	}
	printk("flood: %lu lines printed\n", line);
	test_pass();
}
