/* pvclock: system time from a vcpu_time_info and the TSC. */
#include "guest.h"

uint64_t pvclock_read(const struct vcpu_time_info *t)
{
	uint32_t version;
	uint64_t tsc_ts, sys, delta;
	uint32_t mul;
	int8_t shift;

	/* Seqlock: odd version = update in progress; retry if it changed. */
	do {
		version = READ_ONCE(t->version);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		tsc_ts = READ_ONCE(t->tsc_timestamp);
		sys = READ_ONCE(t->system_time);
		mul = READ_ONCE(t->tsc_to_system_mul);
		shift = READ_ONCE(t->tsc_shift);
		delta = rdtsc() - tsc_ts;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((version & 1) || version != READ_ONCE(t->version));

	if ((int64_t)delta < 0)   /* TSC read before the hypervisor's stamp */
		delta = 0;
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return sys + (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

uint64_t xen_now(unsigned cpu)
{
	return pvclock_read(&shared_info->vcpu_info[cpu].time);
}
