/*
 * grants: the grant-table hypercalls a guest has, and what it may not do.
 *
 * 1. query_size: no frames yet, max_grant_frames as configured; setup of
 *    more frames than that, or for another domain, fails; get_version is 1
 *    and v1 has no status frames.
 * 2. v1 set up with 2 frames and mapped; the frame after them, and a v2
 *    status frame, cannot be mapped.
 * 3. A domU cannot map, copy or transfer grants itself (only domain 0, the
 *    toolstack, is ever granted to); version 3 does not exist.
 * 4. Switching to v2 keeps the toolstack's reserved entries (0-7), clears
 *    the rest; the status frame maps, and too many status frames fail.
 * 5. Back to v1: the status frame can no longer be mapped.
 * 6. An unbound port for domain 0 (what a frontend publishes) reports as
 *    unbound to dom 0; sending on it is dropped, closing it works.
 */
#include "guest.h"

const char test_name[] = "grants";

static uint8_t probe_page[PAGE_SIZE] PAGE_ALIGNED;

static long try_map(uint64_t mfn)
{
	uint64_t pte = (mfn << 12) | _PAGE_PRESENT | _PAGE_ACCESSED;
	return HYPERVISOR_update_va_mapping((unsigned long)probe_page, pte, UVMF_INVLPG);
}

static void restore_probe(void)
{
	uint64_t pte = (va_to_mfn(probe_page) << 12) | _PAGE_PRESENT | _PAGE_RW |
		       _PAGE_ACCESSED | _PAGE_DIRTY;
	EXPECT_EQ(HYPERVISOR_update_va_mapping((unsigned long)probe_page, pte, UVMF_INVLPG), 0);
}

static unsigned get_version(void)
{
	struct gnttab_get_version gv = { .dom = DOMID_SELF };
	EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_get_version, &gv, 1), 0);
	return gv.version;
}

static uint32_t sizes(void)
{
	struct gnttab_query_size q = { .dom = DOMID_SELF };
	uint64_t frames[1];
	struct gnttab_setup_table st;

	EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_query_size, &q, 1), 0);
	EXPECT_EQ(q.status, GNTST_okay);
	EXPECT_EQ(q.nr_frames, 0);
	CHECK(q.max_nr_frames >= 4 && q.max_nr_frames <= 128, "max %u", q.max_nr_frames);
	st = (struct gnttab_setup_table){ .dom = DOMID_SELF, .nr_frames = q.max_nr_frames + 1,
					  .frame_list = (uintptr_t)frames };
	EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1), 0);
	EXPECT_EQ(st.status, GNTST_general_error);
	st = (struct gnttab_setup_table){ .dom = 0, .nr_frames = 1, .frame_list = (uintptr_t)frames };
	EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1), 0);
	EXPECT_EQ(st.status, GNTST_permission_denied);
	EXPECT_EQ(get_version(), 1);

	struct gnttab_get_status_frames gs = { .nr_frames = 1, .dom = DOMID_SELF,
					       .frame_list = (uintptr_t)frames };
	EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_get_status_frames, &gs, 1), 0);
	EXPECT_EQ(gs.status, GNTST_general_error);
	return q.max_nr_frames;
}

static void refused_ops(void)
{
	uint8_t junk[64] = { 0 };
	struct gnttab_set_version sv = { .version = 3 };

	EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, junk, 1), -1);  /* EPERM */
	EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_copy, junk, 1), -1);
	EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_transfer, junk, 1), -1);
	EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, junk, 1), -1);
	EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_set_version, &sv, 1), -22);
	EXPECT_EQ(sv.version, 1);
	EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_setup_table, (void *)0x10, 1), -14);
	EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_query_size, junk, 2), -22);
}

static void switch_versions(void)
{
	uint64_t sframes[4];
	struct gnttab_get_status_frames gs;
	uint64_t mine = va_to_mfn(probe_page);

	/* Reserved entry 1 (the toolstack's) and an ordinary entry 20. */
	gnttab_grant(1, 0, mine, true);
	gnttab_grant(20, 0, mine, false);
	EXPECT_EQ(gnttab_setup(2, 2), 0);
	EXPECT_EQ(get_version(), 2);
	/* Entry 1 survives in the v2 layout, entry 20 is gone. */
	const volatile union grant_entry_v2 *t = gnttab_table();
	EXPECT_EQ(t[1].hdr.flags, GTF_permit_access | GTF_readonly);
	EXPECT_EQ(t[1].hdr.domid, 0);
	EXPECT_EQ(t[1].full_page.frame, mine);
	EXPECT_EQ(t[20].hdr.flags, 0);
	EXPECT_EQ(t[20].full_page.frame, 0);
	gs = (struct gnttab_get_status_frames){ .nr_frames = 2, .dom = DOMID_SELF,
						.frame_list = (uintptr_t)sframes };
	EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_get_status_frames, &gs, 1), 0);
	EXPECT_EQ(gs.status, GNTST_general_error);   /* 2 v2 frames need 1 status frame */
	EXPECT_EQ(gnttab_in_use(1), 0);
	EXPECT_EQ(*(volatile uint16_t *)gnttab_status_page(), 0);

	gs = (struct gnttab_get_status_frames){ .nr_frames = 1, .dom = DOMID_SELF,
						.frame_list = (uintptr_t)sframes };
	EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_get_status_frames, &gs, 1), 0);
	EXPECT_EQ(gs.status, GNTST_okay);
	/* Back to v1: the status frame is no longer the guest's to map. */
	EXPECT_EQ(gnttab_setup(1, 2), 0);
	EXPECT_EQ(get_version(), 1);
	CHECK(try_map(sframes[0]) != 0, "status frame mappable under v1");
	restore_probe();
}

static void unbound_for_dom0(void)
{
	evtchn_port_t port;
	struct evtchn_status st;

	EXPECT_EQ(evtchn_alloc_unbound(0, &port), 0);
	st = (struct evtchn_status){ .dom = DOMID_SELF, .port = port };
	EXPECT_EQ(HYPERVISOR_event_channel_op(EVTCHNOP_status, &st), 0);
	EXPECT_EQ(st.status, EVTCHNSTAT_unbound);
	EXPECT_EQ(st.u.unbound.dom, 0);
	EXPECT_EQ(evtchn_send(port), 0);
	/* Binding it ourselves as if we were domain 0 is refused. */
	evtchn_port_t local;
	CHECK(evtchn_bind_interdomain(0, port, &local) != 0, "bound a dom0 port");
	EXPECT_EQ(evtchn_close(port), 0);
	CHECK(evtchn_send(port) != 0, "send on a closed port");
}

void test_main(void)
{
	need_shared_info();
	uint32_t max = sizes();
	refused_ops();
	EXPECT_EQ(gnttab_setup(1, 2), 0);
	CHECK(try_map(gnttab_frames[0]) == 0, "grant frame 0 not mappable");
	restore_probe();
	CHECK(try_map(gnttab_frames[1] + 1) != 0, "a grant frame past the table mapped");
	restore_probe();
	CHECK(try_map(gnttab_frames[0] + max) != 0, "a frame past max_grant_frames mapped");
	restore_probe();
	switch_versions();
	unbound_for_dom0();
	printk("grants: max_grant_frames %u, %lu checks\n", max, checks_passed);
}
