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
 * hypervisor's own view is current at once) and queued for the vCPU to
 * repeat at CPL0, because on PVM hosts the guest's shadow page tables do
 * not notice host-side writes (see arch/x86/x86.h).
 *
 * Hostile input: every machine address, MFN and count is checked; loops over
 * guest-supplied counts stop when the domain is dying.
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
	return v ? ptw_queue(v, maddr, val) : 0;
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
		if ((e & _PAGE_RW) && d->frames[child].type_count > 0)
			return -EINVAL;   /* a page table or descriptor page */
		if (e & _PAGE_RW)
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

/* ---- one entry ---------------------------------------------------------- */

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
	if (old & _PAGE_PRESENT)
		put_entry_ref(d, old, level);
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

long do_mmu_update(struct vcpu *v, uint64_t reqs, uint64_t count, uint64_t done_va,
		   uint64_t foreigndom)
{
	struct domain *d = v->d;
	uint64_t done = 0;
	long rc = 0;

	if ((uint16_t)foreigndom != DOMID_SELF && (uint16_t)foreigndom != d->domid)
		return -EPERM;
	pthread_mutex_lock(&d->lock);
	for (; done < count; done++) {
		struct mmu_update u;
		if ((done & 1023) == 1023 && atomic_load(&d->dying)) {
			rc = -EINTR;
			break;
		}
		if (guest_copy_from(v, &u, reqs + done * sizeof u, sizeof u)) {
			rc = -EFAULT;
			break;
		}
		switch (u.ptr & 3) {
		case MMU_NORMAL_PT_UPDATE:
		case MMU_PT_UPDATE_PRESERVE_AD:
			rc = mod_entry(v, u.ptr & ~3ull, u.val,
				       (u.ptr & 3) == MMU_PT_UPDATE_PRESERVE_AD);
			break;
		case MMU_MACHPHYS_UPDATE:
			rc = machphys_update(d, u.ptr & ~3ull, u.val);
			break;
		default:
			rc = -ENOSYS;
			break;
		}
		if (rc)
			break;
	}
	pthread_mutex_unlock(&d->lock);
	if (done_va && guest_copy_to(v, done_va, &(uint32_t){ (uint32_t)done }, 4) && !rc)
		rc = -EFAULT;
	return rc;
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
	pthread_mutex_unlock(&d->lock);
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

static int set_ldt(struct vcpu *v, uint64_t base, uint32_t ents)
{
	if ((base & 4095) || ents > 8192 || (ents && (base >> 63) == 0 && base + ents * 8ull > (1ull << 47)))
		return -EINVAL;
	v->ldt_base = base;
	v->ldt_ents = ents;
	return 0;
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

long do_mmuext_op(struct vcpu *v, uint64_t ops, uint64_t count, uint64_t done_va,
		  uint64_t foreigndom)
{
	struct domain *d = v->d;
	uint64_t done = 0;
	long rc = 0;

	if ((uint16_t)foreigndom != DOMID_SELF && (uint16_t)foreigndom != d->domid)
		return -EPERM;
	pthread_mutex_lock(&d->lock);
	for (; done < count; done++) {
		struct mmuext_op op;
		if ((done & 1023) == 1023 && atomic_load(&d->dying)) {
			rc = -EINTR;
			break;
		}
		if (guest_copy_from(v, &op, ops + done * sizeof op, sizeof op)) {
			rc = -EFAULT;
			break;
		}
		rc = mmuext_one(v, &op);
		if (rc)
			break;
	}
	pthread_mutex_unlock(&d->lock);
	if (done_va && guest_copy_to(v, done_va, &(uint32_t){ (uint32_t)done }, 4) && !rc)
		rc = -EFAULT;
	return rc;
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
	pthread_mutex_unlock(&d->lock);
	return rc;
}
