/*
 * Grant tables, v1 and v2.
 *
 * The grant frames (and v2's status frames) are hypervisor frames the
 * guest maps by MFN.  A domU may only set up, size and version its own
 * table: kxen's backends are domain 0, the only domain a guest can grant
 * to, so a domU's own map/copy operations are refused.
 *
 * Backends use domain_grant_map/copy.  Each access follows Xen's
 * acquire protocol: read the entry once, check it, set the in-use bits
 * (v1: GTF_reading/GTF_writing in the entry's flags by cmpxchg on the
 * flags+domid word, so a concurrent change of either is seen; v2: in the
 * status word, then re-read the entry to catch a revocation that raced
 * with us), and only then read the frame.  grant_active[] counts pins per
 * entry; the bits are cleared when the last pin goes.  All of it runs
 * under d->lock, which also guards the frames' types: a frame written by a
 * backend is held writable (mm_get_writable, the reference a writable L1
 * mapping holds), so it cannot become a page table (or GDT/LDT page)
 * meanwhile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "core/core-internal.h"

#define V1_PER_FRAME (PAGE_SIZE / sizeof(struct grant_entry_v1))
#define V2_PER_FRAME (PAGE_SIZE / sizeof(union grant_entry_v2))
/* A guest rewriting its entry in a tight loop must not keep us here. */
#define ACQUIRE_RETRIES 64

static bool self(struct domain *d, xen_domid_t id)
{
	return id == DOMID_SELF || id == d->domid;
}

unsigned gnttab_status_frames(unsigned nr)
{
	return (unsigned)((nr * V2_PER_FRAME * sizeof(uint16_t) + PAGE_SIZE - 1) / PAGE_SIZE);
}

static unsigned per_frame(const struct domain *d)
{
	return d->grant_version == 2 ? V2_PER_FRAME : V1_PER_FRAME;
}

static uint8_t *grant_frames(struct domain *d)
{
	return d->hv + d->hvl.grant;
}

static uint16_t *status_array(struct domain *d)
{
	return (uint16_t *)(d->hv + d->hvl.grant_status);
}

static uint64_t hv_mfn(uint64_t off)
{
	return (HV_GPA_BASE + off) / PAGE_SIZE;
}

/* ---- guest hypercalls ------------------------------------------------------- */

static long setup_table(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	struct gnttab_setup_table s;

	if (guest_copy_from(v, &s, arg, sizeof s))
		return -EFAULT;
	s.status = GNTST_okay;
	if (!self(d, s.dom))
		s.status = GNTST_permission_denied;
	else if (s.nr_frames > d->max_grant_frames)
		s.status = GNTST_general_error;
	else {
		pthread_mutex_lock(&d->lock);
		if (s.nr_frames > d->grant_frames)
			d->grant_frames = s.nr_frames;
		pthread_mutex_unlock(&d->lock);
		for (uint32_t i = 0; i < s.nr_frames; i++) {
			uint64_t mfn = hv_mfn(d->hvl.grant) + i;
			if (guest_copy_to(v, s.frame_list + i * 8, &mfn, 8))
				return -EFAULT;
		}
	}
	return guest_copy_to(v, arg, &s, sizeof s) ? -EFAULT : 0;
}

static long get_status_frames(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	struct gnttab_get_status_frames g;

	if (guest_copy_from(v, &g, arg, sizeof g))
		return -EFAULT;
	g.status = GNTST_okay;
	pthread_mutex_lock(&d->lock);
	unsigned avail = gnttab_status_frames(d->grant_frames);
	unsigned version = d->grant_version;
	pthread_mutex_unlock(&d->lock);
	if (!self(d, g.dom))
		g.status = GNTST_permission_denied;
	else if (version != 2 || g.nr_frames > avail)
		g.status = GNTST_general_error;
	else {
		for (uint32_t i = 0; i < g.nr_frames; i++) {
			uint64_t mfn = hv_mfn(d->hvl.grant_status) + i;
			if (guest_copy_to(v, g.frame_list + i * 8, &mfn, 8))
				return -EFAULT;
		}
	}
	return guest_copy_to(v, arg, &g, sizeof g) ? -EFAULT : 0;
}

/* Rewrite the table for another layout: the toolstack's reserved entries
 * are carried over (as Xen does), everything else starts invalid, the
 * status array clear.  d->lock held, no pins. */
static void convert_table(struct domain *d, unsigned to)
{
	struct grant_entry_v1 v1[GNTTAB_NR_RESERVED_ENTRIES];
	union grant_entry_v2 v2[GNTTAB_NR_RESERVED_ENTRIES];
	uint8_t *t = grant_frames(d);

	if (to == 2) {
		memcpy(v1, t, sizeof v1);
		memset(v2, 0, sizeof v2);
		for (unsigned i = 0; i < GNTTAB_NR_RESERVED_ENTRIES; i++) {
			v2[i].full_page.hdr.flags = v1[i].flags & (GTF_type_mask | GTF_readonly);
			v2[i].full_page.hdr.domid = v1[i].domid;
			v2[i].full_page.frame = v1[i].frame;
		}
		memset(t, 0, (size_t)HV_GRANT_FRAMES * PAGE_SIZE);
		memcpy(t, v2, sizeof v2);
	} else {
		memcpy(v2, t, sizeof v2);
		memset(v1, 0, sizeof v1);
		for (unsigned i = 0; i < GNTTAB_NR_RESERVED_ENTRIES; i++) {
			v1[i].flags = v2[i].hdr.flags & (GTF_type_mask | GTF_readonly);
			v1[i].domid = v2[i].hdr.domid;
			v1[i].frame = (uint32_t)v2[i].full_page.frame;
		}
		memset(t, 0, (size_t)HV_GRANT_FRAMES * PAGE_SIZE);
		memcpy(t, v1, sizeof v1);
	}
	memset(status_array(d), 0, (size_t)HV_GRANT_STATUS_FRAMES * PAGE_SIZE);
}

static long set_version(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	struct gnttab_set_version sv;
	long rc = 0;

	if (guest_copy_from(v, &sv, arg, sizeof sv))
		return -EFAULT;
	pthread_mutex_lock(&d->lock);
	if (sv.version != 1 && sv.version != 2)
		rc = -EINVAL;
	else if (sv.version != d->grant_version && d->grant_pins)
		rc = -EBUSY;      /* a backend holds entries in the old layout */
	else if (sv.version != d->grant_version) {
		convert_table(d, sv.version);
		d->grant_version = sv.version;
	}
	sv.version = d->grant_version;
	pthread_mutex_unlock(&d->lock);
	if (guest_copy_to(v, arg, &sv, sizeof sv))
		return -EFAULT;
	return rc;
}

long do_grant_table_op(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t count)
{
	struct domain *d = v->d;

	switch (cmd) {
	case GNTTABOP_setup_table:
		if (count != 1)
			return -EINVAL;
		return setup_table(v, arg);
	case GNTTABOP_query_size: {
		struct gnttab_query_size q;
		if (count != 1)
			return -EINVAL;
		if (guest_copy_from(v, &q, arg, sizeof q))
			return -EFAULT;
		if (!self(d, q.dom)) {
			q.status = GNTST_permission_denied;
		} else {
			q.nr_frames = d->grant_frames;
			q.max_nr_frames = d->max_grant_frames;
			q.status = GNTST_okay;
		}
		return guest_copy_to(v, arg, &q, sizeof q) ? -EFAULT : 0;
	}
	case GNTTABOP_set_version:
		if (count != 1)
			return -EINVAL;
		return set_version(v, arg);
	case GNTTABOP_get_version: {
		struct gnttab_get_version gv;
		if (count != 1)
			return -EINVAL;
		if (guest_copy_from(v, &gv, arg, sizeof gv))
			return -EFAULT;
		if (!self(d, gv.dom))
			return -ESRCH;
		gv.version = d->grant_version;
		return guest_copy_to(v, arg, &gv, sizeof gv) ? -EFAULT : 0;
	}
	case GNTTABOP_get_status_frames:
		if (count != 1)
			return -EINVAL;
		return get_status_frames(v, arg);
	case GNTTABOP_map_grant_ref:
	case GNTTABOP_unmap_grant_ref:
	case GNTTABOP_copy:
	case GNTTABOP_transfer:
	case GNTTABOP_unmap_and_replace:
		/* Only domain 0 may be granted to, and no domU is domain 0. */
		return -EPERM;
	default:
		return -ENOSYS;
	}
}

/* ---- backend access ------------------------------------------------------------ */

const char *grant_status_str(int status)
{
	switch (status) {
	case GNTST_okay: return "okay";
	case GNTST_general_error: return "entry not usable (not granted, wrong type or flags)";
	case GNTST_bad_domain: return "bad domain";
	case GNTST_bad_gntref: return "grant reference out of range";
	case GNTST_permission_denied: return "granted to another domain, or read-only";
	case GNTST_bad_page: return "granted frame is not a usable RAM page of the guest";
	case GNTST_bad_copy_arg: return "offset or length outside the grant";
	case GNTST_eagain: return "entry keeps changing";
	case GNTST_no_space: return "out of memory";
	default: return "grant error";
	}
}

struct acquired {
	uint64_t mfn;
	unsigned off, len;       /* the granted part of the frame */
};

static uint32_t nr_entries(const struct domain *d)
{
	return d->grant_frames * per_frame(d);
}

static int check_header(uint16_t flags, uint16_t domid, bool write, bool v2)
{
	if ((flags & GTF_type_mask) != GTF_permit_access)
		return GNTST_general_error;
	if (domid != 0)
		return GNTST_permission_denied;   /* only domain 0 can be granted to */
	if (write && (flags & GTF_readonly))
		return GNTST_permission_denied;
	if (!v2 && (flags & GTF_sub_page))
		return GNTST_general_error;
	return GNTST_okay;
}

/* v1: set the in-use bits with cmpxchg on flags+domid (one 32-bit word),
 * so that the entry checked is the entry marked. */
static int acquire_v1(struct domain *d, uint32_t ref, bool write, bool first, struct acquired *a)
{
	struct grant_entry_v1 *e = (struct grant_entry_v1 *)grant_frames(d) + ref;
	uint32_t *word = (uint32_t *)e;
	uint16_t bits = GTF_reading | (write ? GTF_writing : 0);

	for (int i = 0; i < ACQUIRE_RETRIES; i++) {
		uint32_t old = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		uint16_t flags = (uint16_t)old, domid = (uint16_t)(old >> 16);
		int st = check_header(flags, domid, write, false);
		if (st)
			return st;
		uint32_t nw = old | bits;
		if (nw == old || __atomic_compare_exchange_n(word, &old, nw, false, __ATOMIC_SEQ_CST,
							      __ATOMIC_SEQ_CST)) {
			if (first)
				a->mfn = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
			a->off = 0;
			a->len = PAGE_SIZE;
			return GNTST_okay;
		}
	}
	return GNTST_eagain;
}

/* v2: mark the status word, then re-read the header: if the guest revoked
 * or changed the entry in between, undo and fail (Xen's order). */
static int acquire_v2(struct domain *d, uint32_t ref, bool write, bool first, bool held_rd,
		      bool held_wr, struct acquired *a)
{
	union grant_entry_v2 *e = (union grant_entry_v2 *)grant_frames(d) + ref;
	uint32_t *word = (uint32_t *)&e->hdr;
	uint16_t *status = status_array(d) + ref;
	uint16_t bits = GTF_reading | (write ? GTF_writing : 0);

	uint32_t before = __atomic_load_n(word, __ATOMIC_ACQUIRE);
	int st = check_header((uint16_t)before, (uint16_t)(before >> 16), write, true);
	if (st)
		return st;
	__atomic_fetch_or(status, bits, __ATOMIC_SEQ_CST);
	uint32_t after = __atomic_load_n(word, __ATOMIC_SEQ_CST);
	if (after != before) {
		uint16_t undo = (uint16_t)((held_rd ? 0 : GTF_reading) |
					   (write && !held_wr ? GTF_writing : 0));
		__atomic_fetch_and(status, (uint16_t)~undo, __ATOMIC_SEQ_CST);
		return GNTST_general_error;
	}
	if (first)
		a->mfn = __atomic_load_n(&e->full_page.frame, __ATOMIC_ACQUIRE);
	if ((uint16_t)before & GTF_sub_page) {
		a->off = __atomic_load_n(&e->sub_page.page_off, __ATOMIC_ACQUIRE);
		a->len = __atomic_load_n(&e->sub_page.length, __ATOMIC_ACQUIRE);
		if (a->off > PAGE_SIZE || a->len > PAGE_SIZE - a->off)
			a->len = 0;
	} else {
		a->off = 0;
		a->len = PAGE_SIZE;
	}
	return GNTST_okay;
}

static void clear_bits(struct domain *d, uint32_t ref, uint16_t bits)
{
	if (!bits)
		return;
	if (d->grant_version == 2) {
		__atomic_fetch_and(status_array(d) + ref, (uint16_t)~bits, __ATOMIC_SEQ_CST);
	} else {
		struct grant_entry_v1 *e = (struct grant_entry_v1 *)grant_frames(d) + ref;
		__atomic_fetch_and(&e->flags, (uint16_t)~bits, __ATOMIC_SEQ_CST);
	}
}

/* Pin one entry (d->lock held). */
static int pin(struct domain *d, uint32_t ref, bool write, struct acquired *a)
{
	if (!d->grant_active) {
		size_t n = (size_t)d->max_grant_frames * V1_PER_FRAME;
		d->grant_active = calloc(n, sizeof *d->grant_active);
		if (!d->grant_active)
			return GNTST_no_space;
	}
	if (ref >= nr_entries(d))
		return GNTST_bad_gntref;
	struct grant_active *act = &d->grant_active[ref];
	bool first = !act->rd_pins && !act->wr_pins;
	if (act->rd_pins == UINT16_MAX || act->wr_pins == UINT16_MAX)
		return GNTST_no_space;
	int st = d->grant_version == 2
			 ? acquire_v2(d, ref, write, first, act->rd_pins || act->wr_pins,
				      act->wr_pins > 0, a)
			 : acquire_v1(d, ref, write, first, a);
	if (st)
		return st;
	if (first) {
		if (!mfn_is_ram(d, a->mfn) || a->mfn > UINT32_MAX) {
			clear_bits(d, ref, GTF_reading | GTF_writing);
			return GNTST_bad_page;
		}
		act->mfn = (uint32_t)a->mfn;
		d->grant_pins++;
	}
	a->mfn = act->mfn;
	if (write)
		act->wr_pins++;
	else
		act->rd_pins++;
	return GNTST_okay;
}

static void unpin(struct domain *d, uint32_t ref, bool write)
{
	struct grant_active *act = &d->grant_active[ref];
	uint16_t bits = 0;

	if (write && act->wr_pins) {
		if (--act->wr_pins == 0)
			bits |= GTF_writing;
	} else if (!write && act->rd_pins) {
		act->rd_pins--;
	}
	if (!act->rd_pins && !act->wr_pins) {
		bits |= GTF_reading | GTF_writing;
		d->grant_pins--;
	}
	clear_bits(d, ref, bits);
}

/* A frame the backend will write must be plain memory and stay so: held
 * the way the daemon holds every frame it writes into (mm.c). */
static int hold_writable(struct domain *d, uint64_t mfn)
{
	return mm_get_writable(d, mfn) ? GNTST_bad_page : GNTST_okay;
}

static void release_writable(struct domain *d, uint64_t mfn)
{
	mm_put_writable(d, mfn);
}

int domain_grant_map(struct domain *d, uint32_t ref, bool writable, struct grant_map *m)
{
	struct acquired a;

	memset(m, 0, sizeof *m);
	pthread_mutex_lock(&d->lock);
	int st = pin(d, ref, writable, &a);
	if (!st && a.len != PAGE_SIZE) {
		unpin(d, ref, writable);
		st = GNTST_general_error;    /* sub-page grants are copy-only */
	}
	if (!st && writable) {
		st = hold_writable(d, a.mfn);
		if (st)
			unpin(d, ref, writable);
	}
	pthread_mutex_unlock(&d->lock);
	if (st)
		return st;
	m->addr = d->ram + (a.mfn << 12);
	m->ref = ref;
	m->writable = writable;
	return GNTST_okay;
}

void domain_grant_unmap(struct domain *d, struct grant_map *m)
{
	if (!m->addr)
		return;
	pthread_mutex_lock(&d->lock);
	uint64_t mfn = (uint64_t)(m->addr - d->ram) >> 12;
	if (m->writable)
		release_writable(d, mfn);
	unpin(d, m->ref, m->writable);
	pthread_mutex_unlock(&d->lock);
	m->addr = NULL;
}

static int grant_copy(struct domain *d, uint32_t ref, unsigned off, void *buf, unsigned len,
		      bool to_guest)
{
	struct acquired a;

	if (off > PAGE_SIZE || len > PAGE_SIZE - off)
		return GNTST_bad_copy_arg;
	pthread_mutex_lock(&d->lock);
	int st = pin(d, ref, to_guest, &a);
	if (st)
		goto out;
	if (off < a.off || off + len > a.off + a.len)
		st = GNTST_bad_copy_arg;
	else if (to_guest && d->frames[a.mfn].type_count > 0)
		st = GNTST_bad_page;         /* never write into a page table */
	else if (to_guest)
		memcpy(d->ram + (a.mfn << 12) + off, buf, len);
	else
		memcpy(buf, d->ram + (a.mfn << 12) + off, len);
	unpin(d, ref, to_guest);
out:
	pthread_mutex_unlock(&d->lock);
	return st;
}

int domain_grant_copy_from(struct domain *d, uint32_t ref, unsigned off, void *dst, unsigned len)
{
	return grant_copy(d, ref, off, dst, len, false);
}

int domain_grant_copy_to(struct domain *d, uint32_t ref, unsigned off, const void *src,
			 unsigned len)
{
	return grant_copy(d, ref, off, (void *)src, len, true);
}

unsigned domain_grant_version(struct domain *d)
{
	return __atomic_load_n(&d->grant_version, __ATOMIC_RELAXED);
}

void gnttab_free(struct domain *d)
{
	free(d->grant_active);
	d->grant_active = NULL;
}
