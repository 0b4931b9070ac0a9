/*
 * vcpu_op, sched_op and set_timer_op: vCPU bring-up, vcpu_info placement,
 * runstate, timers, blocking, polling and shutdown.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "core/core-internal.h"

/*
 * The daemon writes into a registered vcpu_info on its own (CR2 on every
 * page fault, upcall flags, time), so the frame is held writable for as
 * long as it is registered: a page table or descriptor page is refused,
 * and the frame cannot become one later (see mm_get_writable).
 */
static long register_vcpu_info(struct vcpu *v, struct vcpu *t, uint64_t arg)
{
	struct vcpu_register_vcpu_info r;
	struct domain *d = v->d;
	long rc;

	if (guest_copy_from(v, &r, arg, sizeof r))
		return -EFAULT;
	if (r.offset > PAGE_SIZE - sizeof(struct vcpu_info) || (r.offset & 7) || r.rsvd)
		return -EINVAL;
	if (!mfn_is_ram(d, r.mfn))
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	if (t->vinfo_registered)
		rc = -EINVAL;   /* as in Xen: placed once */
	else
		rc = mm_get_writable(d, r.mfn);
	if (rc) {
		pthread_mutex_unlock(&d->lock);
		return rc;
	}
	struct vcpu_info *nv = (struct vcpu_info *)(d->ram + (r.mfn << 12) + r.offset);
	/* Carry the current state over; the guest reads it from the new
	 * place from now on. */
	memcpy(nv, t->vinfo, sizeof *nv);
	nv->evtchn_upcall_pending = 1;
	nv->evtchn_pending_sel = ~0ull;   /* rescan, as Xen does on placement */
	t->vinfo = nv;
	t->vinfo_mfn = r.mfn;
	t->vinfo_registered = true;
	t->time_updated_ns = 0;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static void runstate_publish(struct vcpu *v)
{
	if (!v->runstate_va)
		return;
	v->runstate.state_entry_time = (uint64_t)now_ns();
	guest_copy_to(v, v->runstate_va, &v->runstate, sizeof v->runstate);
}

static long vcpu_initialise(struct vcpu *v, struct vcpu *t, uint64_t arg)
{
	struct domain *d = v->d;
	struct vcpu_guest_context *c = malloc(sizeof *c);
	long rc;

	if (!c)
		return -ENOMEM;
	if (guest_copy_from(v, c, arg, sizeof *c)) {
		free(c);
		return -EFAULT;
	}
	pthread_mutex_lock(&d->lock);
	if (t->initialised)
		rc = -EEXIST;
	else
		rc = vcpu_load_context(t, c);
	pthread_mutex_unlock(&d->lock);
	free(c);
	return rc;
}

long do_vcpu_op(struct vcpu *v, uint64_t cmd, uint64_t id, uint64_t arg)
{
	struct domain *d = v->d;
	struct vcpu *t;

	if (id >= d->max_vcpus || !(t = d->vcpus[id]))
		return -ENOENT;
	switch (cmd) {
	case VCPUOP_initialise:
		return vcpu_initialise(v, t, arg);
	case VCPUOP_up:
		if (!t->initialised)
			return -EINVAL;
		if (!t->online) {
			t->online = true;
			vcpu_wake(t);
		}
		return 0;
	case VCPUOP_down:
		if (t != v)
			return -EINVAL;   /* only a vCPU itself goes down here */
		t->online = false;
		return 0;
	case VCPUOP_is_up:
		return t->online;
	case VCPUOP_get_runstate_info: {
		struct vcpu_runstate_info r = t->runstate;
		r.time[RUNSTATE_running] = t->cpu_time_ns;
		return guest_copy_to(v, arg, &r, sizeof r) ? -EFAULT : 0;
	}
	case VCPUOP_register_runstate_memory_area: {
		uint64_t va;
		if (guest_copy_from(v, &va, arg, sizeof va))
			return -EFAULT;
		t->runstate_va = va;
		t->runstate.state = t->online ? RUNSTATE_running : RUNSTATE_offline;
		if (t == v)
			runstate_publish(v);
		return 0;
	}
	case VCPUOP_set_periodic_timer: {
		struct vcpu_set_periodic_timer p;
		if (t != v)
			return -EINVAL;
		if (guest_copy_from(v, &p, arg, sizeof p))
			return -EFAULT;
		if (p.period_ns < 1000000)
			return -EINVAL;
		v->periodic_ns = (int64_t)MIN(p.period_ns, (uint64_t)INT64_MAX / 4);
		v->periodic_next = now_ns() + v->periodic_ns;
		return 0;
	}
	case VCPUOP_stop_periodic_timer:
		t->periodic_ns = 0;
		t->periodic_next = 0;
		return 0;
	case VCPUOP_set_singleshot_timer: {
		struct vcpu_set_singleshot_timer s;
		if (t != v)
			return -EINVAL;
		if (guest_copy_from(v, &s, arg, sizeof s))
			return -EFAULT;
		if ((s.flags & VCPU_SSHOTTMR_future) && (int64_t)s.timeout_abs_ns < now_ns())
			return -ETIME;
		/* A deadline in the past fires at once (timer check on entry). */
		v->singleshot_ns = s.timeout_abs_ns ? (int64_t)MIN(s.timeout_abs_ns, (uint64_t)INT64_MAX) : 1;
		return 0;
	}
	case VCPUOP_stop_singleshot_timer:
		if (t != v)
			return -EINVAL;
		v->singleshot_ns = 0;
		return 0;
	case VCPUOP_register_vcpu_info:
		return register_vcpu_info(v, t, arg);
	case VCPUOP_send_nmi:
	case VCPUOP_get_physid:
	case VCPUOP_register_vcpu_time_memory_area:
		return -ENOSYS;
	default:
		return -ENOSYS;
	}
}

long do_set_timer_op(struct vcpu *v, uint64_t timeout)
{
	if ((int64_t)timeout < 0)
		return -EINVAL;
	v->singleshot_ns = timeout ? (int64_t)timeout : 0;
	if (timeout && v->singleshot_ns == 0)
		v->singleshot_ns = 1;
	return 0;
}

static long sched_poll(struct vcpu *v, uint64_t arg)
{
	struct sched_poll p;
	if (guest_copy_from(v, &p, arg, sizeof p))
		return -EFAULT;
	if (p.nr_ports > ARRAY_SIZE(v->poll_buf))
		return -EINVAL;
	if (guest_copy_from(v, v->poll_buf, p.ports, p.nr_ports * sizeof(uint32_t)))
		return -EFAULT;
	for (unsigned i = 0; i < p.nr_ports; i++) {
		if (v->poll_buf[i] >= NR_EVTCHN)
			return -EINVAL;
		if (evtchn_port_pending(v->d, v->poll_buf[i]))
			return 0;
	}
	if (p.timeout && (int64_t)p.timeout <= now_ns())
		return 0;
	if (p.timeout)
		v->singleshot_ns = v->singleshot_ns && v->singleshot_ns < (int64_t)p.timeout ?
					   v->singleshot_ns : (int64_t)p.timeout;
	v->poll_ports = v->poll_buf;
	v->poll_nr = p.nr_ports;
	v->blocked = true;
	return 0;
}

static long sched_shutdown(struct vcpu *v, uint64_t arg)
{
	struct sched_shutdown s;
	if (guest_copy_from(v, &s, arg, sizeof s))
		return -EFAULT;
	if (s.reason > SHUTDOWN_soft_reset)
		return -EINVAL;
	if (s.reason == SHUTDOWN_suspend)
		return 1;   /* suspend is not supported: report "cancelled" */
	domain_kill(v->d, s.reason);
	return 0;
}

long do_sched_op(struct vcpu *v, uint64_t cmd, uint64_t arg)
{
	switch (cmd) {
	case SCHEDOP_yield:
		/* Given back to the scheduler at the top of the run loop, once
		 * this hypercall has returned. */
		if (v->d->dp)
			v->yield_pending = true;
		else
			sched_yield();
		return 0;
	case SCHEDOP_block:
		/* "sti; hlt": events are enabled atomically with blocking. */
		v->vinfo->evtchn_upcall_mask = 0;
		if (!vcpu_event_pending(v))
			v->blocked = true;
		return 0;
	case SCHEDOP_shutdown:
		return sched_shutdown(v, arg);
	case SCHEDOP_poll:
		return sched_poll(v, arg);
	case SCHEDOP_shutdown_code:
		return 0;
	case SCHEDOP_watchdog:
	case SCHEDOP_remote_shutdown:
	case SCHEDOP_pin_override:
		return -ENOSYS;
	default:
		return -ENOSYS;
	}
}
