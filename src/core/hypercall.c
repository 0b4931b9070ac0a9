/*
 * Hypercall dispatch and the small hypercalls.
 *
 * 64-bit PV convention: number in rax, arguments rdi rsi rdx r10 r8, result
 * in rax.  Unknown or unsupported numbers return -ENOSYS, as Xen does.  Every
 * pointer argument is a guest-virtual address checked by guestmem.c.
 */
#include <errno.h>
#include <string.h>

#include "common/common.h"
#include "core/core-internal.h"

#define KXEN_XEN_MAJOR 4
#define KXEN_XEN_MINOR 19
#define KXEN_EXTRAVERSION ".0-kxen"

typedef long (*hypercall_fn)(struct vcpu *v, const uint64_t a[6]);

static long hc_console_io(struct vcpu *v, const uint64_t a[6])
{
	char buf[1024];
	uint64_t len = a[1], done = 0;

	if (a[0] != CONSOLEIO_write)
		return a[0] == CONSOLEIO_read ? 0 : -ENOSYS;
	while (done < len) {
		size_t n = (size_t)MIN(len - done, sizeof buf);
		if (guest_copy_from(v, buf, a[2] + done, n))
			return -EFAULT;
		if (v->d->hooks && v->d->hooks->console_io)
			v->d->hooks->console_io(v->d->opaque, v->d, buf, n);
		done += n;
		if (done >= 65536)
			break;   /* Xen caps one call's output too */
	}
	return 0;
}

static uint32_t feature_submap0(void)
{
	return (1u << XENFEAT_writable_descriptor_tables) * 0 |
	       (1u << XENFEAT_pae_pgdir_above_4gb) | (1u << XENFEAT_mmu_pt_update_preserve_ad) |
	       (1u << XENFEAT_highmem_assist) | (1u << XENFEAT_gnttab_map_avail_bits) |
	       (1u << XENFEAT_memory_op_vnode_supported) * 0 | (1u << XENFEAT_not_direct_mapped) |
	       (1u << XENFEAT_dom0_sees_dma_ranges) * 0;
}

static long put_string(struct vcpu *v, uint64_t va, const char *s, size_t size)
{
	char buf[1024];
	memset(buf, 0, size);
	strncpy(buf, s, size - 1);
	return guest_copy_to(v, va, buf, size) ? -EFAULT : 0;
}

static long hc_xen_version(struct vcpu *v, const uint64_t a[6])
{
	switch (a[0]) {
	case XENVER_version:
		return (KXEN_XEN_MAJOR << 16) | KXEN_XEN_MINOR;
	case XENVER_extraversion:
		return put_string(v, a[1], KXEN_EXTRAVERSION, 16);
	case XENVER_compile_info: {
		struct xen_compile_info ci;
		memset(&ci, 0, sizeof ci);
		strcpy(ci.compiler, "kxen");
		strcpy(ci.compile_by, "kxen");
		strcpy(ci.compile_domain, "kxen");
		strcpy(ci.compile_date, __DATE__);
		return guest_copy_to(v, a[1], &ci, sizeof ci) ? -EFAULT : 0;
	}
	case XENVER_capabilities:
		return put_string(v, a[1], "xen-3.0-x86_64", 1024);
	case XENVER_changeset:
		return put_string(v, a[1], "kxen", 64);
	case XENVER_platform_parameters: {
		struct xen_platform_parameters p = { .virt_start = HYPERVISOR_VIRT_START };
		return guest_copy_to(v, a[1], &p, sizeof p) ? -EFAULT : 0;
	}
	case XENVER_get_features: {
		struct xen_feature_info fi;
		if (guest_copy_from(v, &fi, a[1], sizeof fi))
			return -EFAULT;
		fi.submap = fi.submap_idx == 0 ? feature_submap0() : 0;
		return guest_copy_to(v, a[1], &fi, sizeof fi) ? -EFAULT : 0;
	}
	case XENVER_pagesize:
		return 4096;
	case XENVER_guest_handle: {
		uint8_t h[16];
		memset(h, 0, sizeof h);
		h[0] = (uint8_t)v->d->domid;
		return guest_copy_to(v, a[1], h, sizeof h) ? -EFAULT : 0;
	}
	case XENVER_commandline:
		return put_string(v, a[1], "", 1024);
	default:
		return -ENOSYS;
	}
}

/* Entries handled between two preemption checks of a long list. */
#define PREEMPT_EVERY 64

static long hc_set_trap_table(struct vcpu *v, const uint64_t a[6])
{
	struct trap_info t;
	if (a[0] == 0) {
		memset(v->traps, 0, sizeof v->traps);
		return 0;
	}
	/* Like Xen: read until the terminating entry or a fault; a long
	 * list continues from the next entry. */
	for (uint64_t i = 0;; i++) {
		if (i && i % PREEMPT_EVERY == 0 && hypercall_preempt_check(v))
			return hypercall_continue(v, __HYPERVISOR_set_trap_table,
						  (uint64_t[6]){ a[0] + i * sizeof t });
		if (guest_copy_from(v, &t, a[0] + i * sizeof t, sizeof t))
			return -EFAULT;
		if (t.address == 0)
			break;
		if (!is_canonical(t.address))
			return -EINVAL;   /* as Xen: earlier entries stay set */
		v->traps[t.vector] = t;
	}
	return 0;
}

static long hc_stack_switch(struct vcpu *v, const uint64_t a[6])
{
	v->kernel_ss = a[0];
	v->kernel_sp = a[1];
	return 0;
}

static long hc_set_segment_base(struct vcpu *v, const uint64_t a[6])
{
	uint64_t base = a[1];
	if ((base >> 47) != 0 && (base >> 47) != 0x1ffff && a[0] != SEGBASE_GS_USER_SEL)
		return -EINVAL;
	switch (a[0]) {
	case SEGBASE_FS:
		vcpu_set_fs(v, base);
		return 0;
	case SEGBASE_GS_USER:
		vcpu_set_user_gs(v, base);
		return 0;
	case SEGBASE_GS_KERNEL:
		vcpu_set_kernel_gs(v, base);
		return 0;
	case SEGBASE_GS_USER_SEL:
		/* Load a user %gs selector without touching the kernel base:
		 * only the null selector and flat data selectors are possible
		 * here, and their base is 0. */
		v->sregs->gs.selector = (uint16_t)base;
		v->gs_base_user = 0;
		v->kvm.run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
		return 0;
	default:
		return -EINVAL;
	}
}

/* Xen keeps the 32-bit entry points (compat `syscall`, `sysenter`) for a
 * 64-bit guest too, and an NMI callback is the trap table's vector 2. */
static long callback_register(struct vcpu *v, const struct callback_register *r)
{
	bool mask = r->flags & CALLBACKF_mask_events;

	if (!is_canonical(r->address))
		return -EINVAL;
	switch (r->type) {
	case CALLBACKTYPE_event:
		v->event_cb = r->address;
		v->event_cb_mask = true;
		return 0;
	case CALLBACKTYPE_failsafe:
		v->failsafe_cb = r->address;
		v->failsafe_cb_mask = mask;
		return 0;
	case CALLBACKTYPE_syscall:
		v->syscall_cb = r->address;
		v->syscall_cb_mask = mask;
		return 0;
	case CALLBACKTYPE_syscall32:
		v->syscall32_cb = r->address;
		v->syscall32_cb_mask = mask;
		return 0;
	case CALLBACKTYPE_sysenter:
		v->sysenter_cb = r->address;
		v->sysenter_cb_mask = mask;
		return 0;
	case CALLBACKTYPE_nmi:
		v->traps[2] = (struct trap_info){ .vector = 2, .flags = 1u << 2,
						  .cs = FLAT_KERNEL_CS, .address = r->address };
		return 0;
	default:
		return -ENOSYS;
	}
}

/* Only the NMI callback can be removed; the others can just be replaced. */
static long callback_unregister(struct vcpu *v, const struct callback_unregister *u)
{
	switch (u->type) {
	case CALLBACKTYPE_event:
	case CALLBACKTYPE_failsafe:
	case CALLBACKTYPE_syscall:
	case CALLBACKTYPE_syscall32:
	case CALLBACKTYPE_sysenter:
		return -EINVAL;
	case CALLBACKTYPE_nmi:
		memset(&v->traps[2], 0, sizeof v->traps[2]);
		return 0;
	default:
		return -ENOSYS;
	}
}

static long hc_callback_op(struct vcpu *v, const uint64_t a[6])
{
	if (a[0] == CALLBACKOP_register) {
		struct callback_register r;
		if (guest_copy_from(v, &r, a[1], sizeof r))
			return -EFAULT;
		return callback_register(v, &r);
	}
	if (a[0] == CALLBACKOP_unregister) {
		struct callback_unregister u;
		if (guest_copy_from(v, &u, a[1], sizeof u))
			return -EFAULT;
		return callback_unregister(v, &u);
	}
	return -ENOSYS;
}

static long hc_vm_assist(struct vcpu *v, const uint64_t a[6])
{
	const unsigned long valid = (1ul << VMASST_TYPE_4gb_segments) |
				    (1ul << VMASST_TYPE_4gb_segments_notify) |
				    (1ul << VMASST_TYPE_writable_pagetables) |
				    (1ul << VMASST_TYPE_pae_extended_cr3) |
				    (1ul << VMASST_TYPE_architectural_iopl) |
				    (1ul << VMASST_TYPE_runstate_update_flag);
	if (a[1] >= 64 || !((valid >> a[1]) & 1))
		return -EINVAL;
	if (a[0] == VMASST_CMD_enable)
		__atomic_fetch_or(&v->d->vm_assist, 1ul << a[1], __ATOMIC_RELAXED);
	else if (a[0] == VMASST_CMD_disable)
		__atomic_fetch_and(&v->d->vm_assist, ~(1ul << a[1]), __ATOMIC_RELAXED);
	else
		return -ENOSYS;
	return 0;
}

static long hc_fpu_taskswitch(struct vcpu *v, const uint64_t a[6])
{
	v->vm_cr0_ts = a[0] ? 1 : 0;
	return 0;
}

static long hc_set_debugreg(struct vcpu *v, const uint64_t a[6])
{
	return a[0] > 7 ? -ENODEV : debugreg_set(v, (unsigned)a[0], a[1]);
}

static long hc_get_debugreg(struct vcpu *v, const uint64_t a[6])
{
	uint64_t val;
	if (a[0] > 7 || debugreg_get(v, (unsigned)a[0], &val))
		return -ENODEV;
	return (long)val;
}

static long hc_physdev_op(struct vcpu *v, const uint64_t a[6])
{
	switch (a[0]) {
	case PHYSDEVOP_set_iopl: {
		struct physdev_set_iopl p;
		if (guest_copy_from(v, &p, a[1], sizeof p))
			return -EFAULT;
		if (p.iopl > 3)
			return -EINVAL;
		v->iopl = p.iopl;
		return 0;
	}
	case PHYSDEVOP_set_iobitmap: {
		/* Read at each access, like Xen; only the start is checked
		 * now (past the guest's range the reads fail and deny). */
		struct physdev_set_iobitmap p;
		if (guest_copy_from(v, &p, a[1], sizeof p))
			return -EFAULT;
		if ((p.bitmap >= (1ull << 47) && p.bitmap < HYPERVISOR_VIRT_END) ||
		    p.nr_ports > 65536)
			return -EINVAL;
		v->iobmp = p.bitmap;
		v->iobmp_limit = p.nr_ports;
		return 0;
	}
	default:
		return -ENOSYS;
	}
}

/* A descriptor in some vCPU's GDT frames changed: refresh our copy. */
static void gdt_refresh_entry(struct domain *d, uint64_t maddr, uint64_t desc)
{
	for (unsigned i = 0; i < d->max_vcpus; i++) {
		struct vcpu *o = d->vcpus[i];
		if (!o)
			continue;
		for (unsigned f = 0; f < 16 && f * 512 < o->gdt_ents; f++) {
			if (o->gdt_frames[f] != maddr >> 12)
				continue;
			uint64_t idx = f * 512 + (maddr & 4095) / 8;
			if (idx < o->gdt_ents)
				((uint64_t *)(d->hv + o->hvl.gdt))[idx] = desc | (((desc >> 47) & 1) ? 1ull << 40 : 0);
		}
	}
}

static long hc_update_descriptor(struct vcpu *v, const uint64_t a[6])
{
	uint64_t maddr = a[0], desc = a[1];
	if ((maddr & 7) || !mfn_is_ram(v->d, maddr >> 12))
		return -EINVAL;
	/* Data and code descriptors only; the DPL is raised to 3 because the
	 * guest kernel runs at CPL3. */
	if ((desc >> 47) & 1) {
		if (!((desc >> 44) & 1))
			return -EINVAL;
		desc |= 3ull << 45;
	}
	pthread_mutex_lock(&v->d->lock);
	struct frame *f = &v->d->frames[maddr >> 12];
	long rc = 0;
	if (f->type_count && f->type != FT_SEG)
		rc = -EINVAL;
	else
		memcpy(v->d->ram + maddr, &desc, 8);
	if (!rc) {
		gdt_refresh_entry(v->d, maddr, desc);
		mm_ldt_refresh(v->d, maddr, desc);
	}
	pthread_mutex_unlock(&v->d->lock);
	return rc;
}

static long hc_multicall(struct vcpu *v, const uint64_t a[6]);

static long hc_mmu_update(struct vcpu *v, const uint64_t a[6])
{
	return do_mmu_update(v, a[0], a[1], a[2], a[3]);
}

static long hc_mmuext_op(struct vcpu *v, const uint64_t a[6])
{
	return do_mmuext_op(v, a[0], a[1], a[2], a[3]);
}

static long hc_update_va_mapping(struct vcpu *v, const uint64_t a[6])
{
	return do_update_va_mapping(v, a[0], a[1], a[2]);
}

static long hc_event_channel_op(struct vcpu *v, const uint64_t a[6])
{
	return do_event_channel_op(v, a[0], a[1]);
}

static long hc_vcpu_op(struct vcpu *v, const uint64_t a[6])
{
	return do_vcpu_op(v, a[0], a[1], a[2]);
}

static long hc_sched_op(struct vcpu *v, const uint64_t a[6])
{
	return do_sched_op(v, a[0], a[1]);
}

static long hc_set_timer_op(struct vcpu *v, const uint64_t a[6])
{
	return do_set_timer_op(v, a[0]);
}

static long hc_grant_table_op(struct vcpu *v, const uint64_t a[6])
{
	return do_grant_table_op(v, a[0], a[1], a[2]);
}

static long hc_iret(struct vcpu *v, const uint64_t a[6])
{
	(void)a;
	return do_iret(v);
}

long do_memory_op(struct vcpu *v, uint64_t cmd, uint64_t arg);

static long hc_memory_op(struct vcpu *v, const uint64_t a[6])
{
	return do_memory_op(v, a[0], a[1]);
}

static long hc_set_gdt(struct vcpu *v, const uint64_t a[6]);

static const hypercall_fn hypercall_table[XEN_NR_HYPERCALLS] = {
	[__HYPERVISOR_set_trap_table] = hc_set_trap_table,
	[__HYPERVISOR_mmu_update] = hc_mmu_update,
	[__HYPERVISOR_set_gdt] = hc_set_gdt,
	[__HYPERVISOR_stack_switch] = hc_stack_switch,
	[__HYPERVISOR_fpu_taskswitch] = hc_fpu_taskswitch,
	[__HYPERVISOR_set_debugreg] = hc_set_debugreg,
	[__HYPERVISOR_get_debugreg] = hc_get_debugreg,
	[__HYPERVISOR_update_descriptor] = hc_update_descriptor,
	[__HYPERVISOR_memory_op] = hc_memory_op,
	[__HYPERVISOR_multicall] = hc_multicall,
	[__HYPERVISOR_update_va_mapping] = hc_update_va_mapping,
	[__HYPERVISOR_set_timer_op] = hc_set_timer_op,
	[__HYPERVISOR_xen_version] = hc_xen_version,
	[__HYPERVISOR_console_io] = hc_console_io,
	[__HYPERVISOR_grant_table_op] = hc_grant_table_op,
	[__HYPERVISOR_vm_assist] = hc_vm_assist,
	[__HYPERVISOR_iret] = hc_iret,
	[__HYPERVISOR_vcpu_op] = hc_vcpu_op,
	[__HYPERVISOR_set_segment_base] = hc_set_segment_base,
	[__HYPERVISOR_mmuext_op] = hc_mmuext_op,
	[__HYPERVISOR_sched_op] = hc_sched_op,
	[__HYPERVISOR_callback_op] = hc_callback_op,
	[__HYPERVISOR_event_channel_op] = hc_event_channel_op,
	[__HYPERVISOR_physdev_op] = hc_physdev_op,
};

long hypercall_dispatch(struct vcpu *v, uint64_t nr, const uint64_t a[6], bool in_multicall)
{
	trapstat_hypercall(v, nr, a, in_multicall);
	if (nr >= XEN_NR_HYPERCALLS || !hypercall_table[nr])
		return -ENOSYS;
	if (in_multicall && nr == __HYPERVISOR_multicall)
		return -EINVAL;   /* Xen refuses re-entry too */
	return hypercall_table[nr](v, a);
}

bool hypercall_preempt_check(struct vcpu *v)
{
	struct vcpu_info *vi = v->vinfo;
	int64_t now = now_ns(), deadline;

	if (atomic_load(&v->d->dying) || atomic_load(&v->d->paused) ||
	    atomic_load(&v->flush_pending) || dispatch_must_leave(v, now))
		return true;
	deadline = time_next_deadline(v);
	if (deadline > 0 && deadline <= now)
		return true;
	return __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE) &&
	       !vi->evtchn_upcall_mask && v->event_cb;
}

long hypercall_continue(struct vcpu *v, uint64_t nr, const uint64_t args[6])
{
	v->hc_preempted = true;
	memcpy(v->hc_args, args, sizeof v->hc_args);
	return (long)nr;
}

/*
 * As in Xen: nr_calls is 32 bits; the batch stops between entries when
 * preemption is due and continues with the list advanced.  A sub-call that
 * is itself preempted has its new arguments written back into its entry,
 * and the multicall continues from that entry.
 */
static long hc_multicall(struct vcpu *v, const uint64_t a[6])
{
	uint64_t list = a[0];
	uint32_t nr = (uint32_t)a[1];
	for (uint32_t i = 0; i < nr; i++) {
		struct multicall_entry e;
		uint64_t va = list + (uint64_t)i * sizeof e;
		if (i && hypercall_preempt_check(v))
			return hypercall_continue(v, __HYPERVISOR_multicall,
						  (uint64_t[6]){ va, nr - i });
		if (guest_copy_from(v, &e, va, sizeof e))
			return -EFAULT;
		long rc = hypercall_dispatch(v, e.op, e.args, true);
		/* Like Xen, an iret ends the batch (XSA-213): the guest's
		 * registers are its frame's now, and its RAX is the result. */
		if (e.op == __HYPERVISOR_iret && rc == HC_NORETURN) {
			e.result = v->regs->rax;
			guest_copy_to(v, va + offsetof(struct multicall_entry, result), &e.result, 8);
			return HC_NORETURN;
		}
		e.result = (uint64_t)rc;
		if (guest_copy_to(v, va + offsetof(struct multicall_entry, result), &e.result, 8)) {
			v->hc_preempted = false;
			return -EFAULT;
		}
		if (v->hc_preempted) {
			v->hc_preempted = false;
			memcpy(e.args, v->hc_args, sizeof e.args);
			if (guest_copy_to(v, va, &e, sizeof e))
				return -EFAULT;
			return hypercall_continue(v, __HYPERVISOR_multicall,
						  (uint64_t[6]){ va, nr - i });
		}
	}
	return 0;
}

/* Copy the guest's descriptors into the vCPU's hypervisor GDT (entries
 * below the reserved area), raising DPLs to 3: the guest kernel runs at
 * CPL3.  System descriptors are the hypervisor's and are dropped. */
int vcpu_set_gdt(struct vcpu *v, const uint64_t *frames, uint64_t ents)
{
	struct domain *d = v->d;
	unsigned nframes = (unsigned)((ents + 511) / 512);

	if (ents > FIRST_RESERVED_GDT_ENTRY)
		return -EINVAL;
	for (unsigned i = 0; i < nframes; i++)
		if (!mfn_is_ram(d, frames[i]))
			return -EINVAL;
	uint64_t *gdt = (uint64_t *)(d->hv + v->hvl.gdt);
	for (uint64_t i = 0; i < FIRST_RESERVED_GDT_ENTRY; i++) {
		uint64_t desc = 0;
		if (i < ents) {
			memcpy(&desc, d->ram + (frames[i / 512] << 12) + (i % 512) * 8, 8);
			if ((desc >> 47) & 1) {
				if ((desc >> 44) & 1)
					desc |= (3ull << 45) | (1ull << 40); /* DPL 3, accessed */
				else
					desc = 0;
			}
		}
		gdt[i] = desc;
	}
	memset(v->gdt_frames, 0, sizeof v->gdt_frames);
	memcpy(v->gdt_frames, frames, nframes * sizeof frames[0]);
	v->gdt_ents = (unsigned)ents;
	return 0;
}

static long hc_set_gdt(struct vcpu *v, const uint64_t a[6])
{
	uint64_t frames[16];
	uint64_t ents = a[1];
	unsigned nframes = (unsigned)((ents + 511) / 512);

	if (ents > FIRST_RESERVED_GDT_ENTRY)
		return -EINVAL;
	if (nframes && guest_copy_from(v, frames, a[0], nframes * sizeof frames[0]))
		return -EFAULT;
	return vcpu_set_gdt(v, frames, ents);
}
