/*
 * Grant tables from the guest side: set the version, map the grant frames
 * (and v2's status frames) at pages of the image, fill and end entries the
 * way Linux does.
 */
#include "guest.h"

#define MAX_FRAMES 4
#define STATUS_FRAMES 1

static uint8_t table_pages[MAX_FRAMES][PAGE_SIZE] PAGE_ALIGNED;
static uint8_t status_pages[STATUS_FRAMES][PAGE_SIZE] PAGE_ALIGNED;
static unsigned version;
uint64_t gnttab_frames[MAX_FRAMES];

static long map_frame(void *va, uint64_t mfn)
{
	uint64_t pte = (mfn << 12) | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
	return HYPERVISOR_update_va_mapping((unsigned long)va, pte, UVMF_INVLPG);
}

long gnttab_setup(unsigned want_version, unsigned nr_frames)
{
	struct gnttab_set_version sv = { .version = want_version };
	struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = nr_frames,
					 .frame_list = (uintptr_t)gnttab_frames };
	long rc;

	if (nr_frames > MAX_FRAMES)
		return -22;
	rc = HYPERVISOR_grant_table_op(GNTTABOP_set_version, &sv, 1);
	if (rc)
		return rc;
	rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
	if (rc || st.status)
		return rc ? rc : st.status;
	for (unsigned i = 0; i < nr_frames; i++) {
		rc = map_frame(table_pages[i], gnttab_frames[i]);
		if (rc)
			return rc;
	}
	if (want_version == 2) {
		uint64_t sframes[STATUS_FRAMES];
		struct gnttab_get_status_frames gs = { .nr_frames = STATUS_FRAMES, .dom = DOMID_SELF,
						       .frame_list = (uintptr_t)sframes };
		rc = HYPERVISOR_grant_table_op(GNTTABOP_get_status_frames, &gs, 1);
		if (rc || gs.status)
			return rc ? rc : gs.status;
		rc = map_frame(status_pages[0], sframes[0]);
		if (rc)
			return rc;
	}
	version = want_version;
	return 0;
}

void gnttab_grant(grant_ref_t ref, xen_domid_t domid, uint64_t frame, bool readonly)
{
	uint16_t flags = GTF_permit_access | (readonly ? GTF_readonly : 0);

	if (version == 2) {
		union grant_entry_v2 *e = (union grant_entry_v2 *)table_pages + ref;
		e->full_page.frame = frame;
		e->hdr.domid = domid;
		__atomic_store_n(&e->hdr.flags, flags, __ATOMIC_RELEASE);
	} else {
		struct grant_entry_v1 *e = (struct grant_entry_v1 *)table_pages + ref;
		e->frame = (uint32_t)frame;
		e->domid = domid;
		__atomic_store_n(&e->flags, flags, __ATOMIC_RELEASE);
	}
}

uint16_t gnttab_in_use(grant_ref_t ref)
{
	if (version == 2)
		return __atomic_load_n((uint16_t *)status_pages + ref, __ATOMIC_ACQUIRE) &
		       (GTF_reading | GTF_writing);
	struct grant_entry_v1 *e = (struct grant_entry_v1 *)table_pages + ref;
	return __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & (GTF_reading | GTF_writing);
}

bool gnttab_end(grant_ref_t ref)
{
	if (version == 2) {
		union grant_entry_v2 *e = (union grant_entry_v2 *)table_pages + ref;
		__atomic_store_n(&e->hdr.flags, 0, __ATOMIC_SEQ_CST);
		return !gnttab_in_use(ref);
	}
	struct grant_entry_v1 *e = (struct grant_entry_v1 *)table_pages + ref;
	uint16_t old = __atomic_load_n(&e->flags, __ATOMIC_SEQ_CST);
	do {
		if (old & (GTF_reading | GTF_writing))
			return false;
	} while (!__atomic_compare_exchange_n(&e->flags, &old, 0, false, __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
	return true;
}

void gnttab_revoke(grant_ref_t ref)
{
	/* What a hostile guest does: wipe the entry whatever its state. */
	if (version == 2)
		__atomic_store_n((uint32_t *)((union grant_entry_v2 *)table_pages + ref), 0,
				 __ATOMIC_SEQ_CST);
	else
		__atomic_store_n((uint64_t *)((struct grant_entry_v1 *)table_pages + ref), 0,
				 __ATOMIC_SEQ_CST);
}

void *gnttab_status_page(void)
{
	return status_pages[0];
}

void *gnttab_table(void)
{
	return table_pages;
}
