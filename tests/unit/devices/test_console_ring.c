/*
 * The PV console ring backend against a ring page in ordinary memory,
 * including a hostile producer index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/devices.h"

#define OUT_OFF 1024
#define IN_CONS 3072
#define IN_PROD 3076
#define OUT_CONS 3080
#define OUT_PROD 3084

static uint32_t *idx(uint8_t *page, unsigned off)
{
	return (uint32_t *)(page + off);
}

/* What a guest does: copy into out[] and bump out_prod. */
static void guest_puts(uint8_t *page, const char *s)
{
	uint32_t prod = *idx(page, OUT_PROD);
	for (; *s; s++, prod++)
		page[OUT_OFF + prod % 2048] = (uint8_t)*s;
	*idx(page, OUT_PROD) = prod;
}

static void reads_what_the_guest_wrote(void **state)
{
	static uint8_t page[4096];
	char buf[64];
	(void)state;
	memset(page, 0, sizeof page);
	guest_puts(page, "hello ring");
	int n = console_ring_read(page, buf, sizeof buf);
	assert_int_equal(n, 10);
	assert_memory_equal(buf, "hello ring", 10);
	assert_int_equal(*idx(page, OUT_CONS), 10);
	assert_int_equal(console_ring_read(page, buf, sizeof buf), 0);
}

static void follows_the_wrap_of_ring_and_indices(void **state)
{
	static uint8_t page[4096];
	char buf[16];
	(void)state;
	memset(page, 0, sizeof page);
	/* Free-running indices just below 2^32 and a ring position near the
	 * end of out[]. */
	*idx(page, OUT_CONS) = *idx(page, OUT_PROD) = 0xfffffffcu;
	guest_puts(page, "abcdefgh");
	assert_int_equal(*idx(page, OUT_PROD), 4);
	assert_int_equal(console_ring_read(page, buf, 3), 3);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(console_ring_read(page, buf, sizeof buf), 5);
	assert_memory_equal(buf, "defgh", 5);
}

static void refuses_a_producer_too_far_ahead(void **state)
{
	static uint8_t page[4096];
	char buf[16];
	(void)state;
	memset(page, 0, sizeof page);
	*idx(page, OUT_PROD) = 2049;   /* more than the ring holds */
	assert_int_equal(console_ring_read(page, buf, sizeof buf), -22);
	assert_int_equal(*idx(page, OUT_CONS), 0);
	*idx(page, OUT_CONS) = 10;
	*idx(page, OUT_PROD) = 5;      /* producer behind consumer */
	assert_int_equal(console_ring_read(page, buf, sizeof buf), -22);
}

static void input_stops_when_the_ring_is_full(void **state)
{
	static uint8_t page[4096];
	static char big[1500];
	(void)state;
	memset(page, 0, sizeof page);
	memset(big, 'x', sizeof big);
	assert_int_equal(console_ring_write(page, "ls\n", 3), 3);
	assert_int_equal(*idx(page, IN_PROD), 3);
	assert_memory_equal(page, "ls\n", 3);
	assert_int_equal(console_ring_write(page, big, sizeof big), 1021);
	assert_int_equal(console_ring_write(page, "y", 1), 0);
	*idx(page, IN_CONS) = 1024;    /* the guest consumed everything */
	assert_int_equal(console_ring_write(page, "z", 1), 1);
	assert_int_equal(page[1024 % 1024], 'z');
	*idx(page, IN_CONS) = 0;       /* hostile: consumer far behind */
	*idx(page, IN_PROD) = 5000;
	assert_int_equal(console_ring_write(page, "q", 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_what_the_guest_wrote),
		cmocka_unit_test(follows_the_wrap_of_ring_and_indices),
		cmocka_unit_test(refuses_a_producer_too_far_ahead),
		cmocka_unit_test(input_stops_when_the_ring_is_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
