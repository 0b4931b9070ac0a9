/*
 * time: the time a PV kernel reads from shared memory, no hypercalls.
 *
 * vcpu_info[0].time (pvclock): version even once an update is complete,
 * tsc_to_system_mul/tsc_shift giving a plausible TSC rate (Linux derives
 * its TSC kHz from them before anything else), system time monotonic
 * across 1000 reads (with yields in between, so hypervisor updates happen)
 * and advancing.  Wallclock: wc_version even, wc_sec + system time after
 * 2020-01-01 and before 2100.
 */
#include "guest.h"

const char test_name[] = "time";

#define NS_PER_SEC 1000000000ull

static void check_time_info(void)
{
	const struct vcpu_time_info *t = &shared_info->vcpu_info[0].time;
	uint32_t version = 1;
	uint64_t khz;

	for (int i = 0; i < 1000 && (version & 1); i++)
		version = READ_ONCE(t->version);
	printk("time: version %u tsc_timestamp %lu system_time %lu mul %u shift %d flags %#x\n",
	       version, (unsigned long)t->tsc_timestamp, (unsigned long)t->system_time,
	       t->tsc_to_system_mul, t->tsc_shift, t->flags);
	CHECK(!(version & 1), "vcpu_time_info.version stays odd (%u)", version);
	CHECK(version != 0, "vcpu_time_info never written (version 0)");
	CHECK(t->tsc_to_system_mul != 0, "tsc_to_system_mul is 0");
	CHECK(t->tsc_shift >= -32 && t->tsc_shift <= 32, "tsc_shift %d", t->tsc_shift);

	/* kHz = 10^6 * 2^32 / mul, then undo the shift (as pvclock_tsc_khz). */
	khz = (1000000ull << 32) / t->tsc_to_system_mul;
	if (t->tsc_shift < 0)
		khz <<= -t->tsc_shift;
	else
		khz >>= t->tsc_shift;
	printk("time: implied TSC rate %lu kHz\n", (unsigned long)khz);
	CHECK(khz >= 100000 && khz <= 10000000, "implied TSC rate %lu kHz", (unsigned long)khz);
}

static void check_monotonic(void)
{
	uint64_t first = xen_now(0), prev = first, now;

	for (int i = 0; i < 1000; i++) {
		if (i % 100 == 0)
			HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
		now = xen_now(0);
		CHECK(now >= prev, "system time went back %lu ns at read %d",
		      (unsigned long)(prev - now), i);
		prev = now;
	}
	CHECK(prev > first, "system time did not advance over 1000 reads");
	printk("time: 1000 reads monotonic, %lu ns elapsed, now %lu ns\n",
	       (unsigned long)(prev - first), (unsigned long)prev);
	/* System time counts from the hypervisor's epoch (kxen: the host's
	 * boot), so only absurd values are wrong. */
	CHECK(prev < 3650ull * 86400 * NS_PER_SEC, "system time %lu ns: over ten years?",
	      (unsigned long)prev);
}

static void check_wallclock(void)
{
	uint32_t v, sec, nsec;
	uint64_t now;

	do {
		v = READ_ONCE(shared_info->wc_version);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		sec = READ_ONCE(shared_info->wc_sec);
		nsec = READ_ONCE(shared_info->wc_nsec);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((v & 1) || v != READ_ONCE(shared_info->wc_version));

	now = sec + (nsec + xen_now(0)) / NS_PER_SEC;
	printk("time: wallclock version %u: wc_sec %u wc_nsec %u -> now %lu s since 1970\n",
	       v, sec, nsec, (unsigned long)now);
	CHECK(nsec < NS_PER_SEC, "wc_nsec %u >= 10^9", nsec);
	CHECK(now > 1577836800ull, "wallclock %lu is before 2020-01-01", (unsigned long)now);
	CHECK(now < 4102444800ull, "wallclock %lu is after 2100", (unsigned long)now);
}

void test_main(void)
{
	need_shared_info();
	check_time_info();
	check_monotonic();
	check_wallclock();
}
