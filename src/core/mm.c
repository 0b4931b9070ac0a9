/*
 * The PV MMU: page types, validation and the page-table hypercalls.
 *
 * Model (Xen's, simplified to what one-domain-per-VM needs): a RAM frame is
 * either untyped (and may be mapped writable) or typed as an L1..L4 page
 * table or a descriptor page (and then may not be mapped writable anywhere).
 * A typed frame's entries have been validated; type_count counts the
 * references that keep it typed (entries of validated parents, pins, use as
 * a vCPU's root).  wr_count counts writable mappings from validated L1s.
 *
 * Every page-table store is done twice: by the host into RAM (so the
 * hypervisor's own view is current at once), and the entry's address is
 * queued for the vCPU to store again at CPL0, because on PVM hosts the
 * guest's shadow page tables do not notice host-side writes (see
 * arch/x86/x86.h).  The vCPU re-stores the entry's value as it is in RAM at
 * that moment (a locked read-modify-write that changes nothing), never a
 * value remembered from the queueing: another vCPU may have changed the
 * entry since, and an old value would be a stale, unvalidated mapping.
 *
 * Until that second store, the shadow tables still hold the OLD entry, and
 * every vCPU of the domain can use it.  So a store that drops a writable
 * mapping or a page-table use of a frame must reach the shadow tables
 * before that frame can change type: before the frame is typed afresh or
 * mapped writable in the same batch, and before d->lock is released (the
 * vCPU re-stores its queue at once then; see mm_unlock).  Otherwise
 * another vCPU could pin a frame and still write it through the old
 * mapping, or map a former table writable while the old entry still uses
 * it as one.
 *
 * Hostile input: every machine address, MFN and count is checked; batches
 * of guest-supplied length are preempted and continued as in Xen.
 */
#include <errno.h>
#include <string.h>

#include "common/common.h"
#include "core/core-internal.h"

#define L1_ALLOWED (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_PWT | _PAGE_PCD | \
		    _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_PAT | _PAGE_GLOBAL | _PAGE_AVAIL | \
		    _PAGE_NX | (0x7ffull << 52) | PTE_ADDR_MASK)
#define LN_ALLOWED (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY | \
		    _PAGE_AVAIL | _PAGE_NX | (0x7ffull << 52) | PTE_ADDR_MASK)

static int get_page_type(struct vcpu *v, struct domain *d, uint64_t mfn, unsigned type);
static void put_page_type(struct domain *d, uint64_t mfn);

/* Re-store the vCPU's queue now if it dropped references the shadow
 * tables may still hold (`types`: page-table uses only). */
static int settle_drops(struct vcpu *v, bool types)
{
	if (!v || !(v->ptw_dropped_type || (!types && v->ptw_dropped_rw)))
		return 0;
	return ptw_flush_now(v);
}

/* Leave d->lock with no dropped reference still live in the shadow. */
static void mm_unlock(struct vcpu *v)
{
	settle_drops(v, false);
	pthread_mutex_unlock(&v->d->lock);
}

static uint64_t *table_of(struct domain *d, uint64_t mfn)
{
	return (uint64_t *)(d->ram + (mfn << 12));
}

static bool is_hv_slot(unsigned level, unsigned idx)
{
	return level == 4 && idx >= 256 && idx <= 271;
}

/* Store a page-table entry: host write now, vCPU replays it later. */
static int pt_store(struct vcpu *v, struct domain *d, uint64_t maddr, uint64_t val)
{
	__atomic_store_n((uint64_t *)(d->ram + maddr), val, __ATOMIC_RELEASE);
	return v ? ptw_queue(v, maddr) : 0;
}

/* What Xen makes of a guest entry: the kernel runs at CPL3, so every
 * present entry must be user-accessible (separate kernel and user roots
 * keep user mode out of kernel memory). */
static uint64_t adjust_entry(uint64_t e)
{
	return (e & _PAGE_PRESENT) ? (e | _PAGE_USER) : e;
}

static bool entry_flags_ok(uint64_t e, unsigned level)
{
	return !(e & ~(level == 1 ? L1_ALLOWED : LN_ALLOWED));
}

/* Take the reference a present entry of a table of `level` implies. */
static int get_entry_ref(struct vcpu *v, struct domain *d, uint64_t e, unsigned level)
{
	uint64_t child = (e & PTE_ADDR_MASK) >> 12;

	if (!entry_flags_ok(e, level))
		return -EINVAL;
	if (level > 1) {
		if (!mfn_is_ram(d, child))
			return -EINVAL;
		return get_page_type(v, d, child, level - 1);
	}
	if (mfn_is_ram(d, child)) {
		if (!(e & _PAGE_RW))
			return 0;
		if (d->frames[child].type_count > 0)
			return -EINVAL;   /* a page table or descriptor page */
		int rc = settle_drops(v, true);
		if (rc)
			return rc;
		d->frames[child].wr_count++;
		return 0;
	}
	return mfn_is_hv_mappable(d, child) ? 0 : -EINVAL;
}

static void put_entry_ref(struct domain *d, uint64_t e, unsigned level)
{
	uint64_t child = (e & PTE_ADDR_MASK) >> 12;

	if (level > 1) {
		if (mfn_is_ram(d, child))
			put_page_type(d, child);
		return;
	}
	if (mfn_is_ram(d, child) && (e & _PAGE_RW) && d->frames[child].wr_count > 0)
		d->frames[child].wr_count--;
}

static void install_hv_slots(struct vcpu *v, struct domain *d, uint64_t l4_mfn)
{
	for (unsigned i = 256; i <= 271; i++) {
		uint64_t want = 0;
		if (i >= HV_FIRST_SLOT && i <= HV_LAST_SLOT)
			want = d->hvl.l4e[i - HV_FIRST_SLOT];
		if (table_of(d, l4_mfn)[i] != want)
			pt_store(v, d, (l4_mfn << 12) + 8 * i, want);
	}
}

static int validate_table(struct vcpu *v, struct domain *d, uint64_t mfn, unsigned level)
{
	uint64_t *t = table_of(d, mfn);
	unsigned i;
	int rc = 0;

	for (i = 0; i < 512; i++) {
		if (is_hv_slot(level, i))
			continue;
		uint64_t e = __atomic_load_n(&t[i], __ATOMIC_RELAXED);
		if (!(e & _PAGE_PRESENT))
			continue;
		rc = get_entry_ref(v, d, e, level);
		if (rc)
			break;
		uint64_t adj = adjust_entry(e);
		if (adj != e)
			pt_store(v, d, (mfn << 12) + 8 * i, adj);
	}
	if (rc) {
		while (i-- > 0) {
			uint64_t e = t[i];
			if (!is_hv_slot(level, i) && (e & _PAGE_PRESENT))
				put_entry_ref(d, e, level);
		}
		return rc;
	}
	if (level == 4)
		install_hv_slots(v, d, mfn);
	return 0;
}

static void devalidate_table(struct domain *d, uint64_t mfn, unsigned level)
{
	const uint64_t *t = table_of(d, mfn);
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e = t[i];
		if (!is_hv_slot(level, i) && (e & _PAGE_PRESENT))
			put_entry_ref(d, e, level);
	}
}

static int get_page_type(struct vcpu *v, struct domain *d, uint64_t mfn, unsigned type)
{
	struct frame *f = &d->frames[mfn];
	int rc;

	if (f->type_count > 0) {
		if (f->type != type)
			return -EINVAL;
		if (f->type_count == UINT32_MAX)
			return -EINVAL;
		f->type_count++;
		return 0;
	}
	if (f->wr_count > 0)
		return -EINVAL;   /* still mapped writable somewhere */
	rc = settle_drops(v, false);
	if (rc)
		return rc;
	f->type = (uint8_t)type;
	f->type_count = 1;    /* typed during validation: refuses RW self-maps */
	if (type >= FT_L1 && type <= FT_L4) {
		rc = validate_table(v, d, mfn, type - FT_L1 + 1);
		if (rc) {
			f->type = FT_NONE;
			f->type_count = 0;
			return rc;
		}
	}
	return 0;
}

static void put_page_type(struct domain *d, uint64_t mfn)
{
	struct frame *f = &d->frames[mfn];
	if (f->type_count == 0)
		return;
	if (--f->type_count == 0) {
		if (f->type >= FT_L1 && f->type <= FT_L4)
			devalidate_table(d, mfn, f->type - FT_L1 + 1);
		f->type = FT_NONE;
	}
}

int mm_get_root(struct domain *d, uint64_t mfn)
{
	if (!mfn_is_ram(d, mfn))
		return -EINVAL;
	return get_page_type(NULL, d, mfn, FT_L4);
}

void mm_put_root(struct domain *d, uint64_t mfn)
{
	if (mfn_is_ram(d, mfn))
		put_page_type(d, mfn);
}

/* The builder's L4 before the guest ever ran: validate it (host writes are
 * safe now), pin it as Xen's builder does, and count the vCPU's use. */
int mm_pin_initial(struct domain *d, uint64_t l4_mfn)
{
	int rc = mm_get_root(d, l4_mfn);
	if (!rc)
		d->frames[l4_mfn].pinned = 1;
	return rc;
}

/*
 * A frame the daemon writes into on the guest's behalf (a registered
 * vcpu_info, the toolstack's xenstore and console rings).  Held like a
 * writable mapping -- Xen takes a writable type reference -- so it can
 * never become a page table or descriptor page while held, and it cannot
 * be taken while the frame is one.  d->lock held.
 */
int mm_get_writable(struct domain *d, uint64_t mfn)
{
	struct frame *f;

	if (!mfn_is_ram(d, mfn))
		return -EINVAL;
	f = &d->frames[mfn];
	if (f->type_count > 0 || f->wr_count == UINT32_MAX)
		return -EINVAL;
	f->wr_count++;
	return 0;
}

void mm_put_writable(struct domain *d, uint64_t mfn)
{
	if (mfn_is_ram(d, mfn) && d->frames[mfn].wr_count > 0)
		d->frames[mfn].wr_count--;
}

/* ---- one entry ---------------------------------------------------------- */

/* The store of `val` over the present entry `old` drops old's reference:
 * remember that the shadow tables hold it until the queue is re-stored,
 * unless the new entry keeps the same reference. */
static void note_drop(struct vcpu *v, uint64_t old, uint64_t val, unsigned level)
{
	bool same = (val & _PAGE_PRESENT) && !((old ^ val) & PTE_ADDR_MASK);

	if (level > 1) {
		/* A former table's own entries go with it (devalidation). */
		if (!same)
			v->ptw_dropped_type = v->ptw_dropped_rw = true;
	} else if ((old & _PAGE_RW) && !(same && (val & _PAGE_RW))) {
		v->ptw_dropped_rw = true;
	}
}

static int mod_entry(struct vcpu *v, uint64_t maddr, uint64_t val, bool preserve_ad)
{
	struct domain *d = v->d;
	uint64_t mfn = maddr >> 12;
	unsigned idx = (maddr & 4095) / 8;
	struct frame *f;

	if ((maddr & 7) || !mfn_is_ram(d, mfn))
		return -EINVAL;
	f = &d->frames[mfn];
	if (f->type_count == 0)   /* an ordinary page: a plain store */
		return pt_store(v, d, maddr, val);
	if (f->type < FT_L1 || f->type > FT_L4)
		return -EINVAL;
	unsigned level = f->type - FT_L1 + 1;
	if (is_hv_slot(level, idx))
		return -EINVAL;
	uint64_t old = table_of(d, mfn)[idx];
	if (preserve_ad)
		val |= old & (_PAGE_ACCESSED | _PAGE_DIRTY);
	if (val & _PAGE_PRESENT) {
		int rc = get_entry_ref(v, d, val, level);
		if (rc)
			return rc;
		val = adjust_entry(val);
	}
	int rc = pt_store(v, d, maddr, val);
	if (old & _PAGE_PRESENT) {
		note_drop(v, old, val, level);
		put_entry_ref(d, old, level);
	}
	return rc;
}

static int machphys_update(struct domain *d, uint64_t maddr, uint64_t pfn)
{
	uint64_t mfn = maddr >> 12;
	if (!mfn_is_ram(d, mfn) || pfn >= d->nr_pages)
		return -EINVAL;
	((uint64_t *)(d->hv + d->hvl.m2p))[mfn] = pfn;
	return 0;
}

/*
 * A batch of mmu_update or mmuext_op entries, as Xen runs it: the count is
 * 32 bits; when preemption is due between entries the call is continued
 * with the list advanced and MMU_UPDATE_PREEMPTED in the count, and *done
 * (read back on the continuation) accumulates across the pieces.
 */
typedef int (*mm_entry_fn)(struct vcpu *v, uint64_t va);

static long mm_batch(struct vcpu *v, unsigned nr, size_t size, mm_entry_fn one,
		     uint64_t list, uint64_t count64, uint64_t done_va, uint64_t foreigndom)
{
	struct domain *d = v->d;
	uint32_t count = (uint32_t)count64, done = 0, i;
	bool preempted = false;
	long rc = 0;

	if ((uint16_t)foreigndom != DOMID_SELF && (uint16_t)foreigndom != d->domid)
		return -EPERM;
	if (count & MMU_UPDATE_PREEMPTED) {
		count &= ~MMU_UPDATE_PREEMPTED;
		if (done_va && guest_copy_from(v, &done, done_va, sizeof done))
			done = 0;
	}
	pthread_mutex_lock(&d->lock);
	for (i = 0; i < count; i++) {
		if (i && i % 16 == 0 && hypercall_preempt_check(v)) {
			preempted = true;
			break;
		}
		rc = one(v, list + (uint64_t)i * size);
		if (rc)
			break;
	}
	mm_unlock(v);
	if (preempted)
		rc = hypercall_continue(v, nr, (uint64_t[6]){ list + (uint64_t)i * size,
				(count - i) | MMU_UPDATE_PREEMPTED, done_va, foreigndom });
	done += i;
	if (done_va && guest_copy_to(v, done_va, &done, sizeof done) && !rc)
		rc = -EFAULT;
	return rc;
}

static int mmu_update_one(struct vcpu *v, uint64_t va)
{
	struct mmu_update u;

	if (guest_copy_from(v, &u, va, sizeof u))
		return -EFAULT;
	switch (u.ptr & 3) {
	case MMU_NORMAL_PT_UPDATE:
	case MMU_PT_UPDATE_PRESERVE_AD:
		return mod_entry(v, u.ptr & ~3ull, u.val, (u.ptr & 3) == MMU_PT_UPDATE_PRESERVE_AD);
	case MMU_MACHPHYS_UPDATE:
		return machphys_update(v->d, u.ptr & ~3ull, u.val);
	default:
		return -ENOSYS;
	}
}

long do_mmu_update(struct vcpu *v, uint64_t reqs, uint64_t count, uint64_t done_va,
		   uint64_t foreigndom)
{
	return mm_batch(v, __HYPERVISOR_mmu_update, sizeof(struct mmu_update), mmu_update_one,
			reqs, count, done_va, foreigndom);
}

/* ---- update_va_mapping ---------------------------------------------------- */

static int flush_by_flags(struct vcpu *v, uint64_t va, uint64_t flags)
{
	unsigned type = flags & UVMF_FLUSHTYPE_MASK;
	uint64_t target = flags & ~(uint64_t)7;
	uint8_t mask[MAX_VCPUS / 8];

	if (type == UVMF_NONE)
		return 0;
	if (type == 3)
		return -EINVAL;
	bool full = type == UVMF_TLB_FLUSH;
	if (flags & UVMF_ALL) {
		tlb_flush_request(v, full, va, true, NULL, 0);
	} else if (target) {
		memset(mask, 0, sizeof mask);
		if (guest_copy_from(v, mask, target, (v->d->max_vcpus + 7) / 8))
			return -EFAULT;
		tlb_flush_request(v, full, va, false, mask, v->d->max_vcpus);
	} else {
		tlb_flush_request(v, full, va, false, NULL, 0);
	}
	return 0;
}

long do_update_va_mapping(struct vcpu *v, uint64_t va, uint64_t val, uint64_t flags)
{
	struct domain *d = v->d;
	uint64_t maddr;
	long rc;

	pthread_mutex_lock(&d->lock);
	rc = guest_l1e_maddr(v, v->kernel_root, va, &maddr);
	if (!rc && d->frames[maddr >> 12].type != FT_L1)
		rc = -EINVAL;
	if (!rc)
		rc = mod_entry(v, maddr, val, false);
	mm_unlock(v);
	if (!rc)
		rc = flush_by_flags(v, va, flags);
	return rc;
}

/* ---- mmuext_op ------------------------------------------------------------ */

static int pin_table(struct vcpu *v, uint64_t mfn, unsigned type)
{
	struct domain *d = v->d;
	if (!mfn_is_ram(d, mfn))
		return -EINVAL;
	if (d->frames[mfn].pinned)
		return -EINVAL;
	int rc = get_page_type(v, d, mfn, type);
	if (!rc)
		d->frames[mfn].pinned = 1;
	return rc;
}

static int unpin_table(struct vcpu *v, uint64_t mfn)
{
	struct domain *d = v->d;
	if (!mfn_is_ram(d, mfn) || !d->frames[mfn].pinned)
		return -EINVAL;
	d->frames[mfn].pinned = 0;
	put_page_type(d, mfn);
	return 0;
}

static int new_baseptr(struct vcpu *v, uint64_t mfn, bool user)
{
	struct domain *d = v->d;
	uint64_t *slot = user ? &v->user_root : &v->kernel_root;

	if (user && mfn == 0) {
		if (*slot)
			put_page_type(d, *slot);
		*slot = 0;
		return 0;
	}
	if (!mfn_is_ram(d, mfn))
		return -EINVAL;
	int rc = get_page_type(v, d, mfn, FT_L4);
	if (rc)
		return rc;
	if (*slot)
		put_page_type(d, *slot);
	*slot = mfn;
	if (user != v->in_kernel)
		vcpu_set_cr3(v, mfn);
	return 0;
}

/*
 * LDTs as Xen runs them, with a copy: the guest's descriptor frames are
 * typed as descriptor pages while loaded (so they cannot be mapped
 * writable), and their validated copy in the vCPU's hypervisor LDT pages
 * is what the CPU uses (LDTR = HV_SEL_LDT, set through KVM's segment
 * state).  update_descriptor keeps the copy current (mm_ldt_refresh).
 */

/* What the CPU may use from a guest descriptor: code and data only, with
 * the DPL raised to 3 (the guest kernel runs at CPL3), as Xen does for a
 * 64-bit PV guest; anything else (system descriptors, gates) becomes
 * not-present. */
static uint64_t ldt_desc_fixup(uint64_t desc)
{
	if (!((desc >> 47) & 1))
		return 0;
	if (!((desc >> 44) & 1))
		return 0;
	return desc | (3ull << 45);
}

static void ldt_release(struct vcpu *v)
{
	for (unsigned i = 0; i < v->ldt_nframes; i++)
		put_page_type(v->d, v->ldt_frames[i]);
	v->ldt_nframes = 0;
}

static void ldt_load_sregs(struct vcpu *v, unsigned ents)
{
	struct kvm_sregs *s = v->sregs;

	if (ents)
		s->ldt = (struct kvm_segment){ .base = hv_va(v->hvl.ldt), .limit = ents * 8 - 1,
					       .selector = HV_SEL_LDT, .type = 2, .present = 1 };
	else
		s->ldt = (struct kvm_segment){ .selector = 0, .unusable = 1 };
	v->kvm.run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
}

static int set_ldt(struct vcpu *v, uint64_t base, uint32_t ents)
{
	struct domain *d = v->d;
	uint64_t frames[HV_LDT_PAGES];
	unsigned nframes = (unsigned)((ents * 8ull + PAGE_SIZE - 1) / PAGE_SIZE), i;
	uint64_t *copy = (uint64_t *)(d->hv + v->hvl.ldt);
	int rc = 0;

	if ((base & 4095) || ents > 8192 || (ents && (base >> 63) == 0 && base + ents * 8ull > (1ull << 47)))
		return -EINVAL;
	for (i = 0; i < nframes && !rc; i++) {
		uint64_t maddr;
		rc = guest_va_to_maddr(v, base + i * PAGE_SIZE, &maddr);
		if (!rc)
			rc = get_page_type(v, d, maddr >> 12, FT_SEG);
		if (!rc)
			frames[i] = maddr >> 12;
	}
	if (rc) {
		nframes = i - 1;
		for (i = 0; i < nframes; i++)
			put_page_type(d, frames[i]);
		return -EINVAL;
	}
	ldt_release(v);
	for (i = 0; i < ents; i++) {
		uint64_t desc = __atomic_load_n(table_of(d, frames[i / 512]) + i % 512, __ATOMIC_RELAXED);
		copy[i] = ldt_desc_fixup(desc);
	}
	memset(copy + ents, 0, (v->ldt_ents > ents ? v->ldt_ents - ents : 0) * 8);
	memcpy(v->ldt_frames, frames, nframes * sizeof frames[0]);
	v->ldt_nframes = nframes;
	v->ldt_base = base;
	v->ldt_ents = ents;
	ldt_load_sregs(v, ents);
	return 0;
}

void mm_ldt_refresh(struct domain *d, uint64_t maddr, uint64_t desc)
{
	for (unsigned i = 0; i < d->max_vcpus; i++) {
		struct vcpu *o = d->vcpus[i];
		if (!o)
			continue;
		for (unsigned f = 0; f < o->ldt_nframes; f++) {
			uint64_t idx = f * 512 + (maddr & 4095) / 8;
			if (o->ldt_frames[f] == maddr >> 12 && idx < o->ldt_ents)
				((uint64_t *)(d->hv + o->hvl.ldt))[idx] = ldt_desc_fixup(desc);
		}
	}
}

static int mmuext_one(struct vcpu *v, const struct mmuext_op *op)
{
	struct domain *d = v->d;
	uint8_t mask[MAX_VCPUS / 8];

	trapstat_mmuext_cmd(v, op->cmd);
	switch (op->cmd) {
	case MMUEXT_PIN_L1_TABLE:
	case MMUEXT_PIN_L2_TABLE:
	case MMUEXT_PIN_L3_TABLE:
	case MMUEXT_PIN_L4_TABLE:
		return pin_table(v, op->arg1.mfn, FT_L1 + (op->cmd - MMUEXT_PIN_L1_TABLE));
	case MMUEXT_UNPIN_TABLE:
		return unpin_table(v, op->arg1.mfn);
	case MMUEXT_NEW_BASEPTR:
		return new_baseptr(v, op->arg1.mfn, false);
	case MMUEXT_NEW_USER_BASEPTR:
		return new_baseptr(v, op->arg1.mfn, true);
	case MMUEXT_TLB_FLUSH_LOCAL:
		tlb_flush_request(v, true, 0, false, NULL, 0);
		return 0;
	case MMUEXT_INVLPG_LOCAL:
		tlb_flush_request(v, false, op->arg1.linear_addr, false, NULL, 0);
		return 0;
	case MMUEXT_TLB_FLUSH_MULTI:
	case MMUEXT_INVLPG_MULTI:
		memset(mask, 0, sizeof mask);
		if (guest_copy_from(v, mask, op->arg2.vcpumask, (d->max_vcpus + 7) / 8))
			return -EFAULT;
		tlb_flush_request(v, op->cmd == MMUEXT_TLB_FLUSH_MULTI, op->arg1.linear_addr,
				  false, mask, d->max_vcpus);
		return 0;
	case MMUEXT_TLB_FLUSH_ALL:
	case MMUEXT_INVLPG_ALL:
		tlb_flush_request(v, op->cmd == MMUEXT_TLB_FLUSH_ALL, op->arg1.linear_addr,
				  true, NULL, 0);
		return 0;
	case MMUEXT_FLUSH_CACHE:
	case MMUEXT_FLUSH_CACHE_GLOBAL:
		return -EACCES;
	case MMUEXT_SET_LDT:
		return set_ldt(v, op->arg1.linear_addr, op->arg2.nr_ents);
	case MMUEXT_CLEAR_PAGE:
	case MMUEXT_COPY_PAGE: {
		uint64_t mfn = op->arg1.mfn;
		if (!mfn_is_ram(d, mfn) || d->frames[mfn].type_count)
			return -EINVAL;
		if (op->cmd == MMUEXT_CLEAR_PAGE) {
			memset(d->ram + (mfn << 12), 0, PAGE_SIZE);
			return 0;
		}
		uint64_t src = op->arg2.src_mfn;
		if (!mfn_is_ram(d, src))
			return -EINVAL;
		memmove(d->ram + (mfn << 12), d->ram + (src << 12), PAGE_SIZE);
		return 0;
	}
	default:
		return -ENOSYS;
	}
}

static int mmuext_entry(struct vcpu *v, uint64_t va)
{
	struct mmuext_op op;

	if (guest_copy_from(v, &op, va, sizeof op))
		return -EFAULT;
	return mmuext_one(v, &op);
}

long do_mmuext_op(struct vcpu *v, uint64_t ops, uint64_t count, uint64_t done_va,
		  uint64_t foreigndom)
{
	return mm_batch(v, __HYPERVISOR_mmuext_op, sizeof(struct mmuext_op), mmuext_entry,
			ops, count, done_va, foreigndom);
}

bool mm_is_l1(struct domain *d, uint64_t maddr)
{
	uint64_t mfn = maddr >> 12;
	return mfn_is_ram(d, mfn) && d->frames[mfn].type_count && d->frames[mfn].type == FT_L1;
}

/* The emulated store of a guest kernel write into one of its L1 tables:
 * validated exactly like mmu_update.  Returns 0, -EAGAIN (the entry
 * changed under us), or another error (refused). */
int mm_ptwr_store(struct vcpu *v, uint64_t maddr, uint64_t old, uint64_t val, bool atomic)
{
	struct domain *d = v->d;
	int rc;
	pthread_mutex_lock(&d->lock);
	if (!mm_is_l1(d, maddr))
		rc = -EINVAL;
	else if (atomic && table_of(d, maddr >> 12)[(maddr & 4095) / 8] != old)
		rc = -EAGAIN;
	else
		rc = mod_entry(v, maddr, val, false);
	mm_unlock(v);
	return rc;
}
