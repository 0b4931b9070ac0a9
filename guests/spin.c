/*
 * spin: a CPU-bound guest for the scheduler tests.  It never blocks: it
 * runs a fixed chunk of arithmetic over and over and, once a second of
 * system time, prints how many chunks it got through in that second
 * ("spin: second N: M chunks").  Two of these on one pCPU should each see
 * about half the chunks one of them gets alone; with weights 512:256 the
 * ratio between them should be about 2.  Never stops by itself.
 */
#include "guest.h"

const char test_name[] = "spin";

#define SECOND 1000000000ull

static uint64_t chunk(uint64_t x)
{
	for (unsigned i = 0; i < 4096; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		barrier();
	}
	return x;
}

void test_main(void)
{
	uint64_t x = 1, chunks = 0;
	need_shared_info();
	printk("spin: up\n");
	uint64_t next = xen_now(0) + SECOND;
	for (unsigned long sec = 1;; ) {
		x = chunk(x);
		chunks++;
		uint64_t now = xen_now(0);
		if (now < next)
			continue;
		printk("spin: second %lu: %llu chunks (%llx)\n", sec, (unsigned long long)chunks,
		       (unsigned long long)(x & 0xff));
		chunks = 0;
		sec++;
		/* Count whole seconds from now: a long gap (the domain was paused)
		 * is not spread over the next report. */
		next = now + SECOND;
	}
}
