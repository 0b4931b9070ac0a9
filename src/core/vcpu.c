/*
 * vCPUs: the run loop, trap dispatch, bounce frames, HYPERVISOR_iret, the
 * kernel/user mode switch, and the page-table store queue.
 *
 * Every exception the guest takes lands on a two-instruction CPL0 stub
 * ("push vector; hlt") and exits to this loop with the hardware frame on
 * the vCPU's IST stack (x86_trap_frame).  We act on it, rewrite that frame,
 * and resume through "add $16,%rsp; iretq" -- or through the page-table
 * stub when stores are queued.  A syscall is recognised as a #PF at
 * HV_LSTAR_VA (see arch/x86/x86.h).
 *
 * Threads: one per vCPU.  Other threads only kick (signal) or wake
 * (condition variable) it; see core-internal.h for locking.  The thread
 * enters KVM_RUN only while it holds a pCPU from the dispatcher
 * (dispatch.c): it takes one when it has guest code to run, and gives it
 * back at the top of the loop when it blocks, goes down, is paused, yields,
 * or is preempted (slice over, or the scheduler chose another vCPU).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/common.h"
#include "core/core-internal.h"

#define X86_EFLAGS_FIXED 0x2u     /* bit 1 always reads as 1 */
#define X86_EFLAGS_TF   0x100u
#define X86_EFLAGS_IF   0x200u
#define X86_EFLAGS_DF   0x400u
#define X86_EFLAGS_IOPL 0x3000u
#define X86_EFLAGS_NT   0x4000u
#define X86_EFLAGS_RF   0x10000u
#define X86_EFLAGS_VM   0x20000u
#define X86_EFLAGS_AC   0x40000u

#define X86_DR6_DEFAULT 0xffff0ff0ull   /* DR6 with no cause recorded */
#define X86_DR6_BS      (1ull << 14)    /* single step */

#define KICK_SIGNAL SIGUSR1

static _Thread_local struct kvm_run *thread_run;

static void kick_handler(int sig)
{
	(void)sig;
	if (thread_run)
		thread_run->immediate_exit = 1;
}

static void kick_handler_init(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(KICK_SIGNAL, &sa, NULL);
}

static void install_kick_handler(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, kick_handler_init);
}

/* ---- crash --------------------------------------------------------------- */

void domain_crash(struct domain *d, const char *why, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, why);
	vsnprintf(msg, sizeof msg, why, ap);
	va_end(ap);
	if (atomic_exchange(&d->dying, true))
		return;
	log_warn("d%u: crashed: %s", d->domid, msg);
	domain_kill(d, SHUTDOWN_crash);
}

/* ---- registers ------------------------------------------------------------ */

static void regs_dirty(struct vcpu *v)
{
	v->kvm.run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

static void sregs_dirty(struct vcpu *v)
{
	v->kvm.run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
}

int vcpu_set_cr3(struct vcpu *v, uint64_t mfn)
{
	v->sregs->cr3 = mfn << 12;
	sregs_dirty(v);
	return 0;
}

void vcpu_set_kernel_gs(struct vcpu *v, uint64_t base)
{
	v->gs_base_kernel = base;
	if (v->in_kernel) {
		v->sregs->gs.base = base;
		sregs_dirty(v);
	}
}

void vcpu_set_user_gs(struct vcpu *v, uint64_t base)
{
	v->gs_base_user = base;
	if (!v->in_kernel) {
		v->sregs->gs.base = base;
		sregs_dirty(v);
	}
}

void vcpu_set_fs(struct vcpu *v, uint64_t base)
{
	v->sregs->fs.base = base;
	sregs_dirty(v);
}

static void toggle_to_kernel(struct vcpu *v)
{
	v->gs_base_user = v->sregs->gs.base;
	v->sregs->gs.base = v->gs_base_kernel;
	v->sregs->cr3 = v->kernel_root << 12;
	v->in_kernel = true;
	sregs_dirty(v);
}

static int toggle_to_user(struct vcpu *v)
{
	if (!v->user_root)
		return -EINVAL;
	v->gs_base_kernel = v->sregs->gs.base;
	v->sregs->gs.base = v->gs_base_user;
	v->sregs->cr3 = v->user_root << 12;
	v->in_kernel = false;
	sregs_dirty(v);
	return 0;
}

/* ---- bounce frames ----------------------------------------------------- */

static int bounce_to(struct vcpu *v, uint64_t handler, bool has_err, uint64_t err,
		     bool mask_events)
{
	struct x86_trap_frame *f = v->frame;
	bool was_kernel = v->in_kernel;
	uint8_t saved_mask = v->vinfo->evtchn_upcall_mask;
	uint64_t words[8], sp;
	unsigned n = 0;

	if (!handler) {
		domain_crash(v->d, "no guest handler for a bounce (rip %#llx)",
			     (unsigned long long)f->rip);
		return -EINVAL;
	}
	if (!was_kernel) {
		toggle_to_kernel(v);
		sp = v->kernel_sp;
	} else {
		sp = f->rsp;
	}
	sp &= ~15ull;
	uint64_t cs = was_kernel ? (f->cs & ~3ull) : f->cs;
	/* With VMASST architectural_iopl the guest's RFLAGS carry its IOPL. */
	uint64_t rflags = (f->rflags & ~(uint64_t)(X86_EFLAGS_IF | X86_EFLAGS_IOPL)) |
			  (saved_mask ? 0 : X86_EFLAGS_IF) |
			  (vcpu_architectural_iopl(v) ? (uint64_t)v->iopl << 12 : 0);
	words[n++] = v->regs->rcx;
	words[n++] = v->regs->r11;
	if (has_err)
		words[n++] = err;
	words[n++] = f->rip;
	words[n++] = (cs & 0xffff) | ((uint64_t)saved_mask << 32);
	words[n++] = rflags;
	words[n++] = f->rsp;
	words[n++] = f->ss & 0xffff;
	sp -= n * 8;
	if (guest_copy_to(v, sp, words, n * 8)) {
		domain_crash(v->d, "cannot write a bounce frame at %#llx", (unsigned long long)sp);
		return -EFAULT;
	}
	f->rip = handler;
	f->cs = FLAT_KERNEL_CS;
	f->ss = FLAT_KERNEL_SS;
	f->rsp = sp;
	f->rflags = (f->rflags & ~(uint64_t)(X86_EFLAGS_TF | X86_EFLAGS_NT | X86_EFLAGS_RF |
					      X86_EFLAGS_VM | X86_EFLAGS_AC)) | X86_EFLAGS_IF;
	if (mask_events)
		v->vinfo->evtchn_upcall_mask = 1;
	return 0;
}

int vcpu_bounce(struct vcpu *v, unsigned vector, bool has_err, uint64_t err)
{
	const struct trap_info *t = &v->traps[vector & 255];
	return bounce_to(v, t->address, has_err, err, TI_GET_IF(t));
}

static bool vector_has_error_code(unsigned v)
{
	return v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 || v == 17 ||
	       v == 21 || v == 29 || v == 30;
}

/* ---- HYPERVISOR_iret ----------------------------------------------------- */

long do_iret(struct vcpu *v)
{
	struct x86_trap_frame *f = v->frame;
	struct iret_context c;

	/* The guest's stack pointer is in the trap frame: the hardware %rsp
	 * is the hypervisor stack by now. */
	if (guest_copy_from(v, &c, f->rsp, sizeof c)) {
		domain_crash(v->d, "iret: unreadable frame at %#llx",
			     (unsigned long long)f->rsp);
		return HC_NORETURN;
	}
	if ((c.cs & 3) == 3 && v->in_kernel && toggle_to_user(v)) {
		domain_crash(v->d, "iret to user mode without a user page table");
		return HC_NORETURN;
	}
	if (vcpu_architectural_iopl(v))
		v->iopl = (c.rflags >> 12) & 3;
	v->regs->rax = c.rax;
	if (c.flags & VGCF_IN_SYSCALL) {
		v->regs->rcx = c.rip;
		v->regs->r11 = c.rflags;
	} else {
		v->regs->rcx = c.rcx;
		v->regs->r11 = c.r11;
	}
	f->rip = c.rip;
	f->cs = (c.cs & 0xffff) | 3;
	/* As Xen: only IOPL (virtual) and VM go; NT, AC, DF, TF stay the
	 * guest's.  None of them reaches our stub's own flags. */
	f->rflags = (c.rflags & ~(uint64_t)(X86_EFLAGS_IOPL | X86_EFLAGS_VM)) | X86_EFLAGS_IF;
	f->rsp = c.rsp;
	f->ss = (c.ss & 0xffff) | 3;
	v->vinfo->evtchn_upcall_mask = !(c.rflags & X86_EFLAGS_IF);
	regs_dirty(v);
	/* Xen's iretq to a non-canonical RIP faults and is reported as a #GP(0)
	 * taken in the context being returned to; our stub would fault inside
	 * the hypervisor instead. */
	if (!is_canonical(c.rip))
		vcpu_bounce(v, 13, true, 0);
	return HC_NORETURN;
}

/* ---- page-table store queue ---------------------------------------------- */

static uint64_t ist_top(struct vcpu *v)
{
	return hv_va(v->hvl.stack + HV_STACK_PAGES * PAGE_SIZE);
}

/* Only addresses are queued: the stub re-stores each entry's current
 * value, so the order of the queue and other vCPUs' stores do not matter. */
int ptw_queue(struct vcpu *v, uint64_t maddr)
{
	uint64_t va = HV_DMAP_VA + (maddr & ~7ull);

	if (v->ptw_count && v->ptw[v->ptw_count - 1] == va)
		return 0;
	if (v->ptw_count == HV_PTW_MAX) {
		int rc = ptw_flush_now(v);
		if (rc)
			return rc;
	}
	v->ptw[v->ptw_count++] = va;
	return 0;
}

static int run_once(struct vcpu *v, bool finish);

/* Run the store batch right now on the vCPU, then come back here. */
int ptw_flush_now(struct vcpu *v)
{
	struct kvm_regs saved = *v->regs;
	struct x86_trap_frame fsaved = *v->frame;
	int rc;

	v->regs->rsi = hv_va(v->hvl.scratch);
	v->regs->rcx = v->ptw_count;
	v->regs->rdx = v->ptw_flush;
	v->regs->rip = hv_va(v->d->hvl.stubs + hv_stub_ptw_sync());
	v->regs->rsp = ist_top(v) - 256;
	regs_dirty(v);
	trapstat_note(v, TS_MISC + TS_MISC_PTW_SYNC);
	rc = run_once(v, true);
	if (rc == 0 && v->kvm.run->exit_reason != KVM_EXIT_HLT)
		rc = -EIO;
	*v->regs = saved;
	*v->frame = fsaved;
	regs_dirty(v);
	v->ptw_count = 0;
	v->ptw_flush = 0;
	v->ptw_dropped_rw = v->ptw_dropped_type = false;
	if (rc)
		domain_crash(v->d, "page-table store batch failed (exit %u)",
			     v->kvm.run->exit_reason);
	return rc;
}

static void note_local_flush(struct vcpu *v, bool full, uint64_t va)
{
	if (full || va <= 1 || v->ptw_flush == 1 || (v->ptw_flush && v->ptw_flush != va))
		v->ptw_flush = 1;
	else
		v->ptw_flush = va;
}

void tlb_flush_request(struct vcpu *v, bool full, uint64_t va, bool all_vcpus,
		       const uint8_t *mask, unsigned mask_bits)
{
	struct domain *d = v->d;
	bool local = !mask || all_vcpus;

	for (unsigned i = 0; i < d->max_vcpus; i++) {
		struct vcpu *o = d->vcpus[i];
		bool wanted = all_vcpus || (mask && i < mask_bits && (mask[i / 8] >> (i % 8)) & 1);
		if (!o || !wanted)
			continue;
		if (o == v) {
			local = true;
			continue;
		}
		atomic_store(&o->flush_pending, true);
		vcpu_kick(o);
	}
	if (local)
		note_local_flush(v, full, va);
	/* Remote vCPUs flush before they next run guest code; wait until each
	 * has left guest mode so none still runs on stale translations. */
	for (unsigned i = 0; i < d->max_vcpus; i++) {
		struct vcpu *o = d->vcpus[i];
		if (!o || o == v)
			continue;
		for (int spin = 0; spin < 100000 && atomic_load(&o->flush_pending) &&
				   atomic_load(&o->running); spin++)
			sched_yield();
	}
}

/* ---- run loop ---------------------------------------------------------- */

/* One KVM_RUN.  Returns 0 on an exit, 1 when interrupted by a kick or the
 * host timer, or a negative errno.  With `finish`, interruptions are
 * ridden out (a stub must complete before we look at the vCPU). */
static int run_once(struct vcpu *v, bool finish)
{
	struct kvm_run *run = v->kvm.run;
	run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	for (;;) {
		atomic_store(&v->running, true);
		int r = ioctl(v->kvm.fd, KVM_RUN, 0);
		atomic_store(&v->running, false);
		run->kvm_dirty_regs = 0;
		if (r == 0)
			return 0;
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
		run->immediate_exit = 0;
		if (atomic_load(&v->d->dying))
			return -EINTR;
		if (!finish)
			return 1;
	}
}

/*
 * A return to a non-canonical RIP (a syscall in the last bytes below the
 * hole, XSA-7, or HYPERVISOR_iret to such an address) faults at the iretq
 * on hardware, in our CPL0 stub; PVM hosts let it through to a #PF at the
 * fetch.  Like Xen, give the guest #GP(0) with that RIP in its frame.
 */
static void fault_noncanonical_rip(struct vcpu *v)
{
	if (is_canonical(v->frame->rip))
		return;
	vcpu_bounce(v, 13, true, 0);
	regs_dirty(v);
	if (!is_canonical(v->frame->rip))
		domain_crash(v->d, "#GP handler at non-canonical %#llx",
			     (unsigned long long)v->frame->rip);
}

static struct x86_trap_frame *db_frame(struct vcpu *v)
{
	return (struct x86_trap_frame *)(v->d->hv + v->hvl.stack + HV_DB_STACK_TOP -
					 sizeof(struct x86_trap_frame));
}

/*
 * A #DB enters on its own stack (IST2).  From guest code nothing else was
 * in flight: move its frame to the usual place and handle it like any
 * trap.  In a stub (a MOV SS shadow carried it past INT n or SYSCALL) the
 * stub's own entry frame is still on IST1: note the #DB and resume the
 * stub from the #DB frame.  Returns true in that case.
 */
static bool db_on_own_stack(struct vcpu *v)
{
	struct x86_trap_frame *df = db_frame(v);

	if (v->regs->rsp != hv_va(v->hvl.stack + HV_DB_STACK_TOP) - sizeof *df)
		return false;
	if ((df->cs & 3) == 3) {
		*v->frame = *df;
		return false;
	}
	debugreg_hv_db(v);
	df->rflags &= ~(uint64_t)X86_EFLAGS_TF;   /* never single-step a stub */
	v->resume_db_stack = true;
	return true;
}

/* Enter guest code: deliver pending events, then pick the resume stub. */
static void prepare_resume(struct vcpu *v)
{
	struct vcpu_info *vi = v->vinfo;
	struct x86_trap_frame *f = v->frame;

	if (v->resume_db_stack) {
		/* Back into the interrupted stub; everything else waits for
		 * its own exit. */
		v->resume_db_stack = false;
		v->regs->rsp = hv_va(v->hvl.stack + HV_DB_STACK_TOP) - sizeof *f;
		v->regs->rip = hv_va(v->d->hvl.stubs + hv_stub_iret());
		regs_dirty(v);
		return;
	}

	/* The frame may be a hypervisor stub's, interrupted by a #DB: that
	 * one resumes as it is. */
	bool guest_frame = (f->cs & 3) == 3;
	if (guest_frame)
		fault_noncanonical_rip(v);
	if (atomic_exchange(&v->flush_pending, false))
		v->ptw_flush = 1;
	if (guest_frame && __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE) &&
	    !vi->evtchn_upcall_mask && v->event_cb) {
		trapstat_note(v, TS_MISC + TS_MISC_UPCALL);
		bounce_to(v, v->event_cb, false, 0, true);
		regs_dirty(v);
	}
	if (atomic_load(&v->d->dying))
		return;
	v->trap_wait_rip = 0;   /* a trap came (or a frame was taken): stop waiting */
	/* The stubs run on the hypervisor's flags, never the guest's: a frame
	 * built from live guest state (interrupted()) left the guest's TF, NT
	 * or AC in RFLAGS, and a TF there single-steps the stub itself (#DB
	 * inside kxen; Xen raises it after the guest's instruction), an NT
	 * makes its iretq fault. */
	v->regs->rflags = X86_EFLAGS_FIXED;
	if (v->ptw_count || v->ptw_flush) {
		trapstat_note(v, TS_MISC + TS_MISC_PTW_REPLAY);
		uint64_t *save = (uint64_t *)((uint8_t *)f - 40);
		save[0] = v->regs->rax;
		save[1] = v->regs->rcx;
		save[2] = v->regs->rdx;
		save[3] = v->regs->rsi;
		save[4] = v->regs->rdi;
		v->regs->rsi = hv_va(v->hvl.scratch);
		v->regs->rcx = v->ptw_count;
		v->regs->rdx = v->ptw_flush;
		v->regs->rsp = ist_top(v) - sizeof *f - 40;
		v->regs->rip = hv_va(v->d->hvl.stubs + hv_stub_ptw());
		v->ptw_count = 0;
		v->ptw_flush = 0;
		v->ptw_dropped_rw = v->ptw_dropped_type = false;
	} else {
		v->regs->rsp = ist_top(v) - sizeof *f;
		v->regs->rip = hv_va(v->d->hvl.stubs + hv_stub_iret());
	}
	regs_dirty(v);
}

static void handle_hypercall(struct vcpu *v)
{
	struct kvm_regs *r = v->regs;
	struct x86_trap_frame *f = v->frame;
	uint64_t args[6] = { r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9 };

	/* The syscall left the return address in rcx and flags in r11. */
	trapstat_hypercall_site(v, r->rcx, f->rsp);
	f->rip = r->rcx;
	f->rflags = (r->r11 & ~(uint64_t)(X86_EFLAGS_IOPL | X86_EFLAGS_VM)) | X86_EFLAGS_IF;
	f->cs = FLAT_KERNEL_CS;
	f->ss = FLAT_KERNEL_SS;
	uint64_t nr = r->rax;
	long ret = hypercall_dispatch(v, nr, args, false);
	if (v->hc_preempted) {
		/* A continuation: back to the `syscall` (2 bytes), which issues
		 * the call again with the advanced arguments. */
		v->hc_preempted = false;
		f->rip = r->rcx - 2;
		r->rax = nr;
		r->rdi = v->hc_args[0];
		r->rsi = v->hc_args[1];
		r->rdx = v->hc_args[2];
		r->r10 = v->hc_args[3];
		r->r8 = v->hc_args[4];
		r->r9 = v->hc_args[5];
		regs_dirty(v);
	} else if (ret != HC_NORETURN) {
		r->rax = (uint64_t)ret;
		regs_dirty(v);
	}
}

static void handle_user_syscall(struct vcpu *v)
{
	struct kvm_regs *r = v->regs;
	struct x86_trap_frame *f = v->frame;

	trapstat_set_kind(v, TS_MISC + TS_MISC_SYSCALL);
	v->ts_rip = r->rcx;
	if (!v->syscall_cb) {
		f->rip = r->rcx - 2;
		f->rflags = r->r11;
		f->cs = FLAT_USER_CS | 3;
		f->ss = FLAT_USER_SS | 3;
		vcpu_bounce(v, 6, false, 0);
		return;
	}
	f->rip = r->rcx;
	f->rflags = r->r11;
	f->cs = FLAT_USER_CS | 3;
	f->ss = FLAT_USER_SS | 3;
	bounce_to(v, v->syscall_cb, false, 0, v->syscall_cb_mask);
	regs_dirty(v);
}

/*
 * `int n` of len bytes at the frame's RIP, as Xen treats it: the guest's
 * handler for n gets it as a trap (RIP after the instruction) if the
 * handler's DPL allows it from the current mode -- 3 from user mode, 1 or
 * more from kernel mode, as for a 64-bit PV kernel in ring 3 -- otherwise
 * the guest gets the #GP a DPL-0 gate raises.  Vectors 3 and 4 are always
 * allowed: Xen's IDT makes them DPL 3 whatever the guest asked for; int3
 * and icebp (!dpl_checked) are never refused.
 */
static void soft_int(struct vcpu *v, unsigned n, unsigned len, bool dpl_checked)
{
	const struct trap_info *t = &v->traps[n];

	if (!dpl_checked || n == 3 || n == 4 || TI_GET_DPL(t) >= (v->in_kernel ? 1u : 3u)) {
		v->frame->rip += len;
		vcpu_bounce(v, n, false, 0);
	} else {
		vcpu_bounce(v, 13, true, (n << 3) | 2);
	}
}

static void handle_exception(struct vcpu *v, unsigned vec, uint64_t err)
{
	struct x86_trap_frame *f = v->frame;
	unsigned len;
	uint8_t n;
	bool checked;

	switch (vec) {
	case 1:
		/* The hardware's DR6 (breakpoints, BS) into the guest's. */
		debugreg_guest_db(v);
		/* A single-step trap: the guest reads the cause from DR6.BS, as
		 * it would from Xen (which reports the hardware's DR6); Linux
		 * tells a step (SIGTRAP, TRAP_TRACE) from an icebp by it.  The
		 * frame's TF is the flag the trapping instruction ran with. */
		if (f->rflags & X86_EFLAGS_TF)
			v->debugreg[6] |= X86_DR6_BS;
		break;
	case 12:
		if (err == 0 && emulate_ss_fault_is_gp(v))
			vec = 13;
		break;
	case 14: {
		uint64_t cr2 = v->sregs->cr2;
		if (emulate_m2p_fault(v, cr2, err))
			return;
		if (v->in_kernel && (err & 2) && mm_ptwr_fault(v, cr2, err) > 0) {
			trapstat_set_kind(v, TS_MISC + TS_MISC_PTWR);
			return;
		}
		v->vinfo->arch.cr2 = cr2;
		err = (err & ~4ull) | (v->in_kernel ? 0 : 4);
		break;
	}
	case 13:
		/* `int n` through one of our DPL-0 gates (VT-x, AMD-V). */
		if ((err & 3) == 2) {
			len = emulate_soft_int_len(v, &n, &checked);
			if (len && checked && n == ((err >> 3) & 255))
				soft_int(v, n, len, true);
			else
				vcpu_bounce(v, 13, true, err);
			return;
		}
		if (emulate_priv_op(v, vec) > 0)
			return;
		err = emulate_gp_error_code(v, err);
		break;
	case 6:
		/* PVM-style hosts report `int n` from CPL3 as #UD at the
		 * instruction, whatever the gate's DPL; and after a return to a
		 * non-canonical RSP, where they emulate the guest's code, int3
		 * and icebp too.  No CPU raises #UD for any of these. */
		len = emulate_soft_int_len(v, &n, &checked);
		if (len) {
			soft_int(v, n, len, checked);
			return;
		}
		if (emulate_priv_op(v, vec) > 0)
			return;
		break;
	case 0x80:
		/* Our gate for 0x80 is DPL 3, like Xen's: any handler the guest
		 * registered gets it (Xen's int80 path checks no DPL); without
		 * one it is the #GP of a DPL-0 gate, at the instruction. */
		if (v->traps[0x80].address)
			break;
		f->rip -= 2;
		vcpu_bounce(v, 13, true, (0x80 << 3) | 2);
		return;
	default:
		if (vec >= 32) {
			domain_crash(v->d, "unexpected vector %u", vec);
			return;
		}
	}
	vcpu_bounce(v, vec, vector_has_error_code(vec), err);
}

static void handle_trap(struct vcpu *v)
{
	struct x86_trap_frame *f = v->frame;

	if (db_on_own_stack(v))
		return;
	unsigned vec = (unsigned)f->vector;
	if (f->vector > 255) {
		domain_crash(v->d, "corrupt trap frame");
		return;
	}
	trapstat_begin_exit(v, vec < 32 ? TS_EXC + vec : TS_MISC + TS_MISC_OTHER, f->rip);
	log_debug("d%uv%u: trap %u err %#llx rip %#llx cr2 %#llx rax %#llx%s", v->d->domid, v->id,
		  vec, (unsigned long long)f->error_code, (unsigned long long)f->rip,
		  (unsigned long long)v->sregs->cr2, (unsigned long long)v->regs->rax,
		  v->in_kernel ? "" : " user");
	if (vec == 14 && v->sregs->cr2 == HV_LSTAR_VA && f->rip == HV_LSTAR_VA) {
		if (v->in_kernel)
			handle_hypercall(v);
		else
			handle_user_syscall(v);
		return;
	}
	if ((f->cs & 3) != 3) {
		domain_crash(v->d, "fault in hypervisor code: vector %u at %#llx cr2 %#llx", vec,
			     (unsigned long long)f->rip, (unsigned long long)v->sregs->cr2);
		return;
	}
	handle_exception(v, vec, f->error_code);
}

static bool has_work(struct vcpu *v)
{
	struct vcpu_info *vi = v->vinfo;
	if (atomic_load(&v->d->dying) || atomic_load(&v->d->paused))
		return true;
	if (!v->online)
		return false;          /* until VCPUOP_up */
	if (!v->blocked)
		return true;
	if (v->poll_ports) {
		for (unsigned i = 0; i < v->poll_nr; i++)
			if (evtchn_port_pending(v->d, v->poll_ports[i]))
				return true;
		return false;
	}
	return __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE) &&
	       !vi->evtchn_upcall_mask;
}

/* Sleep until an event, a timer, or a state change. */
static void wait_for_work(struct vcpu *v)
{
	pthread_mutex_lock(&v->wake_lock);
	while (!has_work(v)) {
		int64_t deadline = time_next_deadline(v);
		if (deadline > 0) {
			struct timespec ts = { .tv_sec = deadline / 1000000000,
					       .tv_nsec = deadline % 1000000000 };
			pthread_cond_timedwait(&v->wake_cond, &v->wake_lock, &ts);
		} else {
			pthread_cond_wait(&v->wake_cond, &v->wake_lock);
		}
		pthread_mutex_unlock(&v->wake_lock);
		time_check_timers(v);
		pthread_mutex_lock(&v->wake_lock);
	}
	pthread_mutex_unlock(&v->wake_lock);
}

static void arm_host_timer(struct vcpu *v)
{
	int64_t deadline = time_next_deadline(v);
	struct itimerspec its;
	memset(&its, 0, sizeof its);
	if (!v->host_timer_ok)
		return;
	/* The end of the slice preempts like a guest timer interrupts. */
	if (v->slice_end != INT64_MAX && (deadline <= 0 || v->slice_end < deadline))
		deadline = v->slice_end;
	if (v->rekick) {
		int64_t soon = now_ns() + 50000;
		if (!deadline || soon < deadline)
			deadline = soon;
	}
	if (deadline > 0) {
		its.it_value.tv_sec = deadline / 1000000000;
		its.it_value.tv_nsec = deadline % 1000000000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	timer_settime(v->host_timer, TIMER_ABSTIME, &its, NULL);
}

static void wait_while_paused(struct vcpu *v)
{
	struct domain *d = v->d;
	pthread_mutex_lock(&d->state_lock);
	if (atomic_load(&d->paused) && !atomic_load(&d->dying)) {
		d->paused_vcpus++;
		pthread_cond_broadcast(&d->state_cond);
		while (atomic_load(&d->paused) && !atomic_load(&d->dying))
			pthread_cond_wait(&d->state_cond, &d->state_lock);
		d->paused_vcpus--;
	}
	pthread_mutex_unlock(&d->state_lock);
}

static void handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->kvm.run;
	switch (run->exit_reason) {
	case KVM_EXIT_HLT:
		handle_trap(v);
		break;
	case KVM_EXIT_INTR:
		break;
	default:
		domain_crash(v->d, "unexpected KVM exit %u (rip %#llx)", run->exit_reason,
			     (unsigned long long)v->regs->rip);
		break;
	}
}

/* Work that must reach a vCPU running guest code without waiting for its
 * next trap: an unmasked event, a remote TLB flush, pause or death. */
static bool async_work(struct vcpu *v)
{
	struct vcpu_info *vi = v->vinfo;
	if (atomic_load(&v->flush_pending) || atomic_load(&v->d->paused))
		return true;
	return __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE) &&
	       !vi->evtchn_upcall_mask && v->event_cb;
}

/*
 * On PVM-style hosts an exception that guest code raised can still be on
 * its way when KVM_RUN is interrupted: the registers already show the
 * state after the instruction and KVM reports no event in flight, yet the
 * next entry delivers it -- unless we have rewritten the state to deliver
 * an event first, which loses it.  Losing a fault is harmless (the
 * instruction runs again); losing a trap is not: the int3 or the
 * single-stepped instruction has completed, and its #BP or #DB never
 * comes (a debugger's step or breakpoint vanishes).  So when the state
 * says a trap may be pending, we let the vCPU run into it first.
 */
static bool trap_may_be_pending(struct vcpu *v)
{
	uint64_t rip = v->regs->rip;
	uint8_t b[2];

	if (v->regs->rflags & X86_EFLAGS_TF)
		return true;                    /* a single-step #DB */
	if (rip == HV_LSTAR_VA)
		return true;                    /* a syscall's #PF */
	if (v->debugreg[7] & 0xff)
		return true;                    /* a breakpoint #DB */
	if (guest_fetch(v, rip - 2, b, 2) == 2)
		return b[1] == 0xcc || b[1] == 0xf1 || (b[0] == 0xcd && (b[1] == 3 || b[1] == 4));
	return guest_fetch(v, rip - 1, b, 1) == 1 && (b[0] == 0xcc || b[0] == 0xf1);
}

/*
 * How much CPU time the vCPU thread spends in KVM_RUN at the same RIP,
 * without a trap, before we take its frame anyway: a pending trap comes
 * out on the first real entry, so one still there after this long is a
 * guest looping at that RIP (which must not keep events out for ever).
 * Thread CPU time, not wall time: a vCPU thread the host has preempted
 * has not run its guest.  A single-stepping guest traps after its next
 * instruction whatever it is, so it may wait much longer.
 */
#define TRAP_WAIT_NS    200000
#define TRAP_WAIT_TF_NS 5000000

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool wait_for_pending_trap(struct vcpu *v)
{
	uint64_t now;

	if (!trap_may_be_pending(v)) {
		v->trap_wait_rip = 0;
		return false;
	}
	now = thread_cpu_ns();
	if (v->trap_wait_rip != v->regs->rip) {
		v->trap_wait_rip = v->regs->rip;
		v->trap_wait_since = now;
		return true;
	}
	if (now - v->trap_wait_since <
	    ((v->regs->rflags & X86_EFLAGS_TF) ? TRAP_WAIT_TF_NS : TRAP_WAIT_NS))
		return true;
	v->trap_wait_rip = 0;
	return false;
}

/*
 * KVM_RUN was interrupted.  In guest code (CPL3) the guest's state is live
 * in the registers: if there is work for it, turn that state into a trap
 * frame and switch to the CPL0 selectors, as if it had trapped, so the
 * normal resume path can bounce it.  Inside a CPL0 stub we must let the
 * stub finish, and a trap the guest may have raised must come out first;
 * ask the host timer for another look very soon.
 */
static void interrupted(struct vcpu *v)
{
	struct kvm_sregs *s = v->sregs;
	time_check_timers(v);
	uint64_t rip = v->regs->rip;
	bool in_hv = rip >= HV_AREA_VA && rip < HV_AREA_VA + v->d->hvl.size;
	if ((s->cs.selector & 3) != 3 || in_hv || kvm_vcpu_event_in_flight(&v->kvm)) {
		/* In a stub, or caught mid-way through an exception entry. */
		v->rekick = true;
		return;
	}
	v->rekick = false;
	if (!async_work(v))
		return;
	if (wait_for_pending_trap(v)) {
		v->rekick = true;
		return;
	}
	struct x86_trap_frame *f = v->frame;
	f->vector = 256;       /* no vector: an asynchronous stop */
	f->error_code = 0;
	f->rip = v->regs->rip;
	f->rsp = v->regs->rsp;
	f->rflags = v->regs->rflags;
	f->cs = s->cs.selector;
	f->ss = s->ss.selector;
	kvm_sregs_enter_cpl0(s);
	sregs_dirty(v);
	v->resume_pending = true;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct domain *d = v->d;
	struct sigevent sev;

	thread_run = v->kvm.run;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = KICK_SIGNAL;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	v->host_timer_ok = timer_create(CLOCK_MONOTONIC, &sev, &v->host_timer) == 0;

	while (!atomic_load(&d->dying)) {
		if (atomic_load(&d->paused)) {
			dispatch_run_end(v, DISPATCH_BLOCKED);
			wait_while_paused(v);
			continue;
		}
		if (!v->online || v->blocked) {
			dispatch_run_end(v, v->online ? DISPATCH_BLOCKED : DISPATCH_OFFLINE);
			wait_for_work(v);
			if (v->online && v->blocked && has_work(v)) {
				v->blocked = false;
				v->poll_ports = NULL;
				v->poll_nr = 0;
			}
			continue;
		}
		if (v->yield_pending) {
			v->yield_pending = false;
			dispatch_run_end(v, DISPATCH_YIELD);
		}
		if (dispatch_run_begin(v))
			continue;   /* dying or paused: the loop top handles it */
		time_check_timers(v);
		time_update_vcpu(v);
		/* From here on a kick signals us; work queued before this point
		 * is seen by prepare_resume, work queued after it interrupts
		 * KVM_RUN.  The same holds for a preemption request. */
		atomic_store(&v->running, true);
		if (dispatch_must_leave(v, now_ns())) {
			atomic_store(&v->running, false);
			dispatch_run_end(v, DISPATCH_PREEMPTED);
			continue;
		}
		if (!v->resume_pending)
			interrupted(v);
		if (v->resume_pending) {
			prepare_resume(v);
			v->resume_pending = false;
		}
		if (atomic_load(&d->dying))
			break;
		arm_host_timer(v);
		int64_t t0 = now_ns();
		int rc = run_once(v, false);
		int64_t t_exit = now_ns();
		v->cpu_time_ns += (uint64_t)(t_exit - t0);
		if (rc < 0) {
			if (rc != -EINTR)
				domain_crash(d, "KVM_RUN failed: %s", strerror(-rc));
			break;
		}
		if (rc == 1) {
			trapstat_begin_exit(v, TS_MISC + TS_MISC_ASYNC, v->regs->rip);
			interrupted(v);
			trapstat_end_exit(v, (uint64_t)(now_ns() - t_exit));
			continue;
		}
		trapstat_begin_exit(v, TS_MISC + TS_MISC_OTHER, v->regs->rip);
		handle_exit(v);
		trapstat_end_exit(v, (uint64_t)(now_ns() - t_exit));
		v->resume_pending = true;
	}
	dispatch_run_end(v, DISPATCH_OFFLINE);
	if (v->host_timer_ok)
		timer_delete(v->host_timer);
	thread_run = NULL;
	return NULL;
}

/* ---- create / kick / wake ----------------------------------------------- */

void vcpu_kick(struct vcpu *v)
{
	atomic_store(&v->kicked, true);
	vcpu_wake(v);
	dispatch_poke(v);
	vcpu_interrupt(v);
}

void vcpu_interrupt(struct vcpu *v)
{
	if (v->thread_started && atomic_load(&v->running))
		pthread_kill(v->thread, KICK_SIGNAL);
}

void vcpu_wake(struct vcpu *v)
{
	pthread_mutex_lock(&v->wake_lock);
	pthread_cond_broadcast(&v->wake_cond);
	pthread_mutex_unlock(&v->wake_lock);
	if (v->thread_started && atomic_load(&v->running))
		pthread_kill(v->thread, KICK_SIGNAL);
}

int vcpu_create(struct domain *d, unsigned id)
{
	struct vcpu *v = calloc(1, sizeof *v);
	pthread_condattr_t ca;
	int rc;

	if (!v)
		return -ENOMEM;
	install_kick_handler();
	v->d = d;
	v->id = id;
	v->in_kernel = true;
	v->pcpu = -1;
	v->pinned_cpu = -1;
	v->slice_end = INT64_MAX;
	hv_vcpu_layout(&d->hvl, id, &v->hvl);
	pthread_mutex_init(&v->wake_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&v->wake_cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = trapstat_alloc(v);
	if (rc)
		goto fail;
	rc = kvm_create_vcpu(&d->kvm, id, &v->kvm);
	if (rc)
		goto fail;
	if (!v->kvm.sync_regs) {
		rc = -ENOTSUP;
		goto fail;
	}
	v->regs = &v->kvm.run->s.regs.regs;
	v->sregs = &v->kvm.run->s.regs.sregs;
	v->frame = (struct x86_trap_frame *)(d->hv + v->hvl.stack + HV_STACK_PAGES * PAGE_SIZE -
					     sizeof(struct x86_trap_frame));
	v->ptw = (uint64_t *)(d->hv + v->hvl.scratch);
	v->vinfo = id < XEN_LEGACY_MAX_VCPUS ? &d->shinfo->vcpu_info[id] : NULL;
	if (!v->vinfo) {
		rc = -EINVAL;   /* beyond the legacy slots, vCPUs need placement */
		goto fail;
	}
	v->vinfo->evtchn_upcall_mask = 1;
	debugreg_reset(v);
	v->xcr0 = XSTATE_X87;
	v->periodic_ns = 10000000;   /* Xen starts PV vCPUs with a 10 ms tick */
	d->vcpus[id] = v;
	return 0;
fail:
	kvm_destroy_vcpu(&v->kvm);
	trapstat_free(v);
	pthread_mutex_destroy(&v->wake_lock);
	pthread_cond_destroy(&v->wake_cond);
	free(v);
	return rc;
}

/* Every code and data address in a context is canonical (Xen's
 * arch_set_info_guest refuses the context otherwise). */
static bool context_addresses_ok(const struct vcpu_guest_context *c)
{
	const uint64_t a[] = { c->user_regs.rip, c->user_regs.rsp, c->kernel_sp, c->fs_base,
			       c->gs_base_kernel, c->gs_base_user, c->event_callback_eip,
			       c->syscall_callback_eip, c->failsafe_callback_eip };

	for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
		if (!is_canonical(a[i]))
			return false;
	if (c->ldt_ents && !is_canonical(c->ldt_base))
		return false;
	for (unsigned i = 0; i < 256; i++)
		if (!is_canonical(c->trap_ctxt[i].address))
			return false;
	return true;
}

/* Registers and KVM state from a vcpu_guest_context (boot or
 * VCPUOP_initialise).  The caller holds d->lock. */
int vcpu_load_context(struct vcpu *v, const struct vcpu_guest_context *c)
{
	struct domain *d = v->d;
	uint64_t root = c->ctrlreg[3] >> 12;
	int rc;

	if (!(c->flags & VGCF_IN_KERNEL) || !context_addresses_ok(c))
		return -EINVAL;
	rc = mm_get_root(d, root);
	if (rc)
		return rc;
	if (v->kernel_root)
		mm_put_root(d, v->kernel_root);
	v->kernel_root = root;
	rc = kvm_vcpu_setup_pv(&d->kvm, &v->kvm, &d->hvl, v->id, root << 12);
	if (rc)
		return rc;
	/* Fetch the sync-regs copies once so later edits start from truth. */
	if (ioctl(v->kvm.fd, KVM_GET_REGS, v->regs) < 0 ||
	    ioctl(v->kvm.fd, KVM_GET_SREGS, v->sregs) < 0)
		return -errno;
	const struct cpu_user_regs *u = &c->user_regs;
	struct kvm_regs *r = v->regs;
	r->rax = u->rax; r->rbx = u->rbx; r->rcx = u->rcx; r->rdx = u->rdx;
	r->rsi = u->rsi; r->rdi = u->rdi; r->rbp = u->rbp;
	r->r8 = u->r8; r->r9 = u->r9; r->r10 = u->r10; r->r11 = u->r11;
	r->r12 = u->r12; r->r13 = u->r13; r->r14 = u->r14; r->r15 = u->r15;
	r->rflags = 0x202;
	v->frame->rip = u->rip;
	v->frame->cs = FLAT_KERNEL_CS;
	v->frame->ss = FLAT_KERNEL_SS;
	v->frame->rsp = u->rsp;
	v->frame->rflags = 0x202;
	v->frame->vector = 0;
	v->frame->error_code = 0;
	memcpy(v->traps, c->trap_ctxt, sizeof v->traps);
	v->kernel_ss = c->kernel_ss;
	v->kernel_sp = c->kernel_sp;
	v->event_cb = c->event_callback_eip;
	v->failsafe_cb = c->failsafe_callback_eip;
	v->syscall_cb = c->syscall_callback_eip;
	v->event_cb_mask = true;
	v->failsafe_cb_mask = c->flags & VGCF_FAILSAFE_DISABLES_EVENTS;
	v->syscall_cb_mask = c->flags & VGCF_SYSCALL_DISABLES_EVENTS;
	v->in_kernel = true;
	v->gs_base_kernel = c->gs_base_kernel;
	v->gs_base_user = c->gs_base_user;
	v->sregs->fs.base = c->fs_base;
	v->sregs->gs.base = c->gs_base_kernel;
	v->iopl = (u->rflags >> 12) & 3;
	vcpu_set_guest_cr4(v, c->ctrlreg[4]);
	rc = debugreg_load_context(v, c->debugreg);
	if (rc)
		return rc;
	if (c->gdt_ents) {
		rc = vcpu_set_gdt(v, c->gdt_frames, c->gdt_ents);
		if (rc)
			return rc;
	}
	regs_dirty(v);
	sregs_dirty(v);
	time_init_vcpu(v);
	v->resume_pending = true;
	v->initialised = true;
	return 0;
}

int vcpu_start_thread(struct vcpu *v)
{
	int rc = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (rc)
		return -rc;
	v->thread_started = true;
	return 0;
}

void vcpu_stop_thread(struct vcpu *v)
{
	if (!v || !v->thread_started)
		return;
	vcpu_kick(v);
	pthread_join(v->thread, NULL);
	v->thread_started = false;
}

void vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return;
	vcpu_stop_thread(v);
	kvm_destroy_vcpu(&v->kvm);
	trapstat_free(v);
	pthread_mutex_destroy(&v->wake_lock);
	pthread_cond_destroy(&v->wake_cond);
	free(v);
}
