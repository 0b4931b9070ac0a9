/*
 * Time: Xen system time is CLOCK_MONOTONIC in nanoseconds.  Each vCPU's
 * vcpu_time_info maps its guest TSC to system time; the guest TSC is the
 * host TSC plus a per-vCPU offset measured when the vCPU is set up.
 * Timers: a one-shot deadline (VCPUOP_set_singleshot_timer / set_timer_op)
 * and a periodic tick (10 ms at boot, as Xen does, until the guest stops
 * it); both raise VIRQ_TIMER on the vCPU.
 */
#include <x86intrin.h>

#include "common/common.h"
#include "core/core-internal.h"

int64_t time_system_ns(void)
{
	return now_ns();
}

/* ns = ((tsc_delta << shift) * mul) >> 32, with mul in [2^31, 2^32). */
static void tsc_scale(uint64_t khz, uint32_t *mul, int8_t *shift)
{
	uint64_t tps = khz * 1000;
	int s = 0;
	if (tps == 0)
		tps = 1000000000;
	while (tps > 2000000000ull) {
		tps >>= 1;
		s--;
	}
	while (tps <= 1000000000ull) {
		tps <<= 1;
		s++;
	}
	*mul = (uint32_t)((1000000000ull << 32) / tps);
	*shift = (int8_t)s;
}

void time_init_vcpu(struct vcpu *v)
{
	uint64_t guest_tsc = 0;
	uint64_t host_tsc = __rdtsc();
	if (kvm_vcpu_read_tsc(&v->kvm, &guest_tsc) == 0)
		v->tsc_offset = (int64_t)(guest_tsc - host_tsc);
	v->time_updated_ns = 0;
	time_update_vcpu(v);
}

/* Refresh the vCPU's time record (seqlock: odd version while writing). */
void time_update_vcpu(struct vcpu *v)
{
	struct vcpu_time_info *t = &v->vinfo->time;
	int64_t now = now_ns();
	uint32_t mul;
	int8_t shift;

	if (v->time_updated_ns && now - v->time_updated_ns < 500000000)
		return;
	tsc_scale(v->d->kvm.tsc_khz, &mul, &shift);
	uint32_t ver = __atomic_load_n(&t->version, __ATOMIC_RELAXED);
	__atomic_store_n(&t->version, ver + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* Read the vCPU's own TSC (it is stopped while we are here), so the
	 * guest never sees a TSC below tsc_timestamp: a negative delta would
	 * make its clock jump by ~2^64 ticks.  Host and guest TSCs of a nested
	 * VM are not reliably in step, so no offset arithmetic. */
	uint64_t guest_tsc;
	if (kvm_vcpu_read_tsc(&v->kvm, &guest_tsc))
		guest_tsc = (uint64_t)((int64_t)__rdtsc() + v->tsc_offset);
	t->tsc_timestamp = guest_tsc;
	t->system_time = (uint64_t)now_ns();
	t->tsc_to_system_mul = mul;
	t->tsc_shift = shift;
	t->flags = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&t->version, ver + 2, __ATOMIC_RELEASE);
	v->time_updated_ns = now;
}

void time_set_wallclock(struct domain *d)
{
	struct shared_info *s = d->shinfo;
	int64_t boot = wall_ns() - now_ns();   /* wall time at system time 0 */
	uint32_t ver = s->wc_version;
	__atomic_store_n(&s->wc_version, ver + 1, __ATOMIC_RELEASE);
	s->wc_sec = (uint32_t)(boot / 1000000000);
	s->wc_sec_hi = (uint32_t)((uint64_t)(boot / 1000000000) >> 32);
	s->wc_nsec = (uint32_t)(boot % 1000000000);
	__atomic_store_n(&s->wc_version, ver + 2, __ATOMIC_RELEASE);
}

int64_t time_next_deadline(struct vcpu *v)
{
	int64_t d = v->singleshot_ns;
	if (v->periodic_ns && v->periodic_next && (!d || v->periodic_next < d))
		d = v->periodic_next;
	return d;
}

void time_check_timers(struct vcpu *v)
{
	int64_t now = now_ns();
	bool fire = false;

	if (v->singleshot_ns && now >= v->singleshot_ns) {
		v->singleshot_ns = 0;
		fire = true;
	}
	if (v->periodic_ns) {
		if (!v->periodic_next)
			v->periodic_next = now + v->periodic_ns;
		else if (now >= v->periodic_next) {
			fire = true;
			while (v->periodic_next <= now)
				v->periodic_next += v->periodic_ns;
		}
	}
	if (fire)
		evtchn_send_virq(v->d, v->id, VIRQ_TIMER);
}
