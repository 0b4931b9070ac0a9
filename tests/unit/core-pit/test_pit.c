/*
 * The PV PIT (channel 2 and port 0x61) driven by a fake clock, including
 * the two ways Linux calibrates its CPU clock against it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core-internal.h"

#define NS_PER_TICK (1e9 / 1193182.0)

static int64_t ticks_ns(double ticks)
{
	return (int64_t)(ticks * NS_PER_TICK + 0.5);
}

/* Gate on, speaker off; channel 2, LSB then MSB, `mode`; count `count`. */
static void start(struct pit2 *p, unsigned mode, unsigned count, int64_t t)
{
	pit_init(p);
	pit_write(p, 0x61, (pit_read(p, 0x61, t) & ~2) | 1, t);
	pit_write(p, 0x43, (uint8_t)(0xb0 | (mode << 1)), t);
	pit_write(p, 0x42, (uint8_t)count, t);
	pit_write(p, 0x42, (uint8_t)(count >> 8), t);
}

static unsigned read16(struct pit2 *p, int64_t t)
{
	unsigned lo = pit_read(p, 0x42, t);
	return lo | (unsigned)pit_read(p, 0x42, t) << 8;
}

static void test_mode0_counts_down_and_raises_out(void **state)
{
	struct pit2 p;
	(void)state;
	start(&p, 0, 0xffff, 0);
	assert_int_equal(read16(&p, 0), 0xffff);
	assert_int_equal(read16(&p, ticks_ns(1000.5)), 0xffff - 1000);
	assert_false(pit_read(&p, 0x61, ticks_ns(60000)) & 0x20);
	assert_true(pit_read(&p, 0x61, ticks_ns(0xffff + 2)) & 0x20);
	pit_destroy(&p);
}

static void test_gate_low_freezes_mode0(void **state)
{
	struct pit2 p;
	(void)state;
	start(&p, 0, 50000, 0);
	pit_write(&p, 0x61, 0, ticks_ns(100.5));          /* gate off */
	assert_int_equal(read16(&p, ticks_ns(5000)), 50000 - 100);
	pit_write(&p, 0x61, 1, ticks_ns(5000));           /* gate on again */
	assert_int_equal(read16(&p, ticks_ns(5200)), 50000 - 300);
	pit_destroy(&p);
}

static void test_latch_holds_the_count(void **state)
{
	struct pit2 p;
	(void)state;
	start(&p, 0, 40000, 0);
	pit_write(&p, 0x43, 0x80, ticks_ns(123.5));       /* latch channel 2 */
	assert_int_equal(read16(&p, ticks_ns(9000.5)), 40000 - 123);
	assert_int_equal(read16(&p, ticks_ns(9000.5)), 40000 - 9000);
	/* read-back of the status: OUT low, access LSB/MSB, mode 0 */
	pit_write(&p, 0x43, 0xe8, ticks_ns(9000));
	assert_int_equal(pit_read(&p, 0x42, ticks_ns(9000)), 0x30);
	pit_destroy(&p);
}

static void test_rate_generator_wraps(void **state)
{
	struct pit2 p;
	(void)state;
	start(&p, 2, 1000, 0);
	assert_int_equal(read16(&p, ticks_ns(250.5)), 750);
	assert_int_equal(read16(&p, ticks_ns(1250.5)), 750);
	pit_destroy(&p);
}

static void test_other_ports_and_channels(void **state)
{
	struct pit2 p;
	(void)state;
	start(&p, 0, 30000, 0);
	assert_false(pit_port(0x40));
	assert_false(pit_port(0x41));
	assert_true(pit_port(0x43));
	pit_write(&p, 0x43, 0x34, 0);                     /* channel 0: not ours */
	assert_int_equal(read16(&p, ticks_ns(10)), 30000 - 10);
	assert_int_equal(pit_read(&p, 0x43, 0), 0xff);    /* write-only */
	pit_destroy(&p);
}

/*
 * Linux's fast calibration: reads of a mode-0 count from 0xffff (LSB then
 * MSB, the MSB compared), timing how long the MSB keeps each value; it
 * gives up on an MSB seen for 5 polls or fewer.  `cost_ns` is what one port
 * read costs the guest (a trap).  Returns the number of port reads and sets
 * *hz to the PIT frequency the timings imply, 0 when the method gave up.
 */
static unsigned quick_calibrate(int64_t cost_ns, double *hz)
{
	struct pit2 p;
	int64_t t = 0, first = -1, last = 0;
	unsigned reads = 0, i;

	start(&p, 0, 0xffff, 0);
	*hz = 0;
	for (i = 0; i < 40; i++) {
		unsigned want = 0xff - i, polls = 0;
		for (; polls < 50000; polls++) {
			reads += 2;
			t += cost_ns;
			(void)pit_read(&p, 0x42, t);
			t += cost_ns;
			if (pit_read(&p, 0x42, t) != want)
				break;
			if (i == 1 && first < 0)
				first = t;      /* the first poll that saw MSB 0xfe */
		}
		if (polls <= 5)
			break;
		last = t;               /* the last poll that saw MSB `want` */
	}
	pit_destroy(&p);
	if (i < 40)
		return reads;
	/* MSB 0xfe was first seen at `first`, MSB 0xd8 last seen at `last`:
	 * 39 MSB values of 256 ticks each, within a poll or two. */
	*hz = 39 * 256 / ((double)(last - first) / 1e9);
	return reads;
}

static void test_linux_quick_calibration(void **state)
{
	double hz;
	(void)state;
	/* Cheap port reads (Xen on hardware): the method works. */
	quick_calibrate(500, &hz);
	assert_true(hz > 1193182 * 0.99 && hz < 1193182 * 1.01);
	/* Reads at the cost of a trap here: the method gives up at once
	 * instead of polling 50,000 times as it does on all-ones. */
	unsigned reads = quick_calibrate(95000, &hz);
	assert_true(reads < 20);
	assert_true(hz == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode0_counts_down_and_raises_out),
		cmocka_unit_test(test_gate_low_freezes_mode0),
		cmocka_unit_test(test_latch_holds_the_count),
		cmocka_unit_test(test_rate_generator_wraps),
		cmocka_unit_test(test_other_ports_and_channels),
		cmocka_unit_test(test_linux_quick_calibration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
