/*
 * The backend side of the core: grant map/copy and the domain-0 end of
 * event channels, on a domain built in ordinary memory (no KVM): a grant
 * table, a status area, RAM and frame records are all these functions use.
 * The "guest" is this test writing entries, as a hostile guest may.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/core-internal.h"

#define RAM_PAGES 64

struct fake {
	struct domain d;
	struct shared_info shinfo;
};

static struct domain *fake_domain(void)
{
	struct fake *f = calloc(1, sizeof *f);
	struct domain *d = &f->d;

	assert_non_null(f);
	d->domid = 7;
	d->nr_pages = RAM_PAGES;
	d->ram = calloc(RAM_PAGES, PAGE_SIZE);
	d->frames = calloc(RAM_PAGES, sizeof *d->frames);
	d->hvl.grant = 0;
	d->hvl.grant_status = (uint64_t)HV_GRANT_FRAMES * PAGE_SIZE;
	d->hv = calloc(HV_GRANT_FRAMES + HV_GRANT_STATUS_FRAMES, PAGE_SIZE);
	assert_true(d->ram && d->frames && d->hv);
	d->max_grant_frames = 4;
	d->grant_frames = 1;
	d->grant_version = 1;
	d->shinfo = &f->shinfo;
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

static void free_domain(struct domain *d)
{
	gnttab_free(d);
	free(d->ram);
	free(d->frames);
	free(d->hv);
	pthread_mutex_destroy(&d->lock);
	free((struct fake *)d);
}

static struct grant_entry_v1 *v1(struct domain *d, uint32_t ref)
{
	return (struct grant_entry_v1 *)d->hv + ref;
}

static union grant_entry_v2 *v2(struct domain *d, uint32_t ref)
{
	return (union grant_entry_v2 *)d->hv + ref;
}

static uint16_t *status(struct domain *d, uint32_t ref)
{
	return (uint16_t *)(d->hv + d->hvl.grant_status) + ref;
}

static void grant_v1(struct domain *d, uint32_t ref, uint16_t domid, uint32_t frame, uint16_t fl)
{
	v1(d, ref)->domid = domid;
	v1(d, ref)->frame = frame;
	v1(d, ref)->flags = GTF_permit_access | fl;
}

/* Linux's gnttab_end_foreign_access_ref (v1): fails while in use. */
static bool guest_end_access_v1(struct domain *d, uint32_t ref)
{
	uint16_t *p = &v1(d, ref)->flags;
	uint16_t old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
	do {
		if (old & (GTF_reading | GTF_writing))
			return false;
	} while (!__atomic_compare_exchange_n(p, &old, 0, false, __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
	return true;
}

static void map_v1_marks_entry_in_use(void **state)
{
	struct domain *d = fake_domain();
	struct grant_map m, m2;
	(void)state;

	grant_v1(d, 10, 0, 5, 0);
	memset(d->ram + 5 * PAGE_SIZE, 0xab, PAGE_SIZE);
	assert_int_equal(domain_grant_map(d, 10, true, &m), GNTST_okay);
	assert_ptr_equal(m.addr, d->ram + 5 * PAGE_SIZE);
	assert_int_equal(v1(d, 10)->flags, GTF_permit_access | GTF_reading | GTF_writing);
	assert_int_equal(d->frames[5].wr_count, 1);
	/* The guest cannot end access while mapped... */
	assert_false(guest_end_access_v1(d, 10));
	/* ...and a second (read) pin keeps it after the writer goes. */
	assert_int_equal(domain_grant_map(d, 10, false, &m2), GNTST_okay);
	domain_grant_unmap(d, &m);
	assert_int_equal(v1(d, 10)->flags, GTF_permit_access | GTF_reading);
	assert_int_equal(d->frames[5].wr_count, 0);
	assert_false(guest_end_access_v1(d, 10));
	domain_grant_unmap(d, &m2);
	assert_int_equal(v1(d, 10)->flags, GTF_permit_access);
	assert_true(guest_end_access_v1(d, 10));
	assert_int_equal(d->grant_pins, 0);
	free_domain(d);
}

static void refuses_bad_entries(void **state)
{
	struct domain *d = fake_domain();
	struct grant_map m;
	(void)state;

	/* Out of the frames the guest set up (1 frame = 512 entries). */
	grant_v1(d, 511, 0, 5, 0);
	assert_int_equal(domain_grant_map(d, 511, false, &m), GNTST_okay);
	domain_grant_unmap(d, &m);
	assert_int_equal(domain_grant_map(d, 512, false, &m), GNTST_bad_gntref);
	assert_int_equal(domain_grant_map(d, UINT32_MAX, false, &m), GNTST_bad_gntref);
	/* Granted to another domain (a foreign domid). */
	grant_v1(d, 11, 3, 5, 0);
	assert_int_equal(domain_grant_map(d, 11, false, &m), GNTST_permission_denied);
	assert_int_equal(v1(d, 11)->flags, GTF_permit_access);
	/* Not granted at all, or a transfer / transitive entry. */
	assert_int_equal(domain_grant_map(d, 12, false, &m), GNTST_general_error);
	v1(d, 13)->flags = GTF_transitive;
	assert_int_equal(domain_grant_map(d, 13, false, &m), GNTST_general_error);
	/* Read-only: readable, never writable (map or copy). */
	grant_v1(d, 14, 0, 6, GTF_readonly);
	assert_int_equal(domain_grant_map(d, 14, true, &m), GNTST_permission_denied);
	assert_int_equal(domain_grant_copy_to(d, 14, 0, "x", 1), GNTST_permission_denied);
	assert_int_equal(domain_grant_map(d, 14, false, &m), GNTST_okay);
	domain_grant_unmap(d, &m);
	/* A frame beyond the guest's RAM. */
	grant_v1(d, 15, 0, RAM_PAGES, 0);
	assert_int_equal(domain_grant_map(d, 15, false, &m), GNTST_bad_page);
	assert_int_equal(v1(d, 15)->flags, GTF_permit_access);   /* bits undone */
	assert_int_equal(d->grant_pins, 0);
	free_domain(d);
}

static void never_writes_a_page_table(void **state)
{
	struct domain *d = fake_domain();
	struct grant_map m;
	(void)state;

	grant_v1(d, 20, 0, 9, 0);
	d->frames[9].type = FT_L1;
	d->frames[9].type_count = 1;
	assert_int_equal(domain_grant_map(d, 20, true, &m), GNTST_bad_page);
	assert_int_equal(domain_grant_copy_to(d, 20, 0, "x", 1), GNTST_bad_page);
	assert_int_equal(d->ram[9 * PAGE_SIZE], 0);
	/* Reading it is harmless. */
	char c;
	assert_int_equal(domain_grant_copy_from(d, 20, 0, &c, 1), GNTST_okay);
	assert_int_equal(v1(d, 20)->flags, GTF_permit_access);
	/* A frame held writable refuses to become typed (mm.c checks
	 * wr_count before validating a table). */
	d->frames[9].type = FT_NONE;
	d->frames[9].type_count = 0;
	assert_int_equal(domain_grant_map(d, 20, true, &m), GNTST_okay);
	assert_true(d->frames[9].wr_count > 0);
	domain_grant_unmap(d, &m);
	free_domain(d);
}

static void revocation_while_mapped_changes_nothing(void **state)
{
	struct domain *d = fake_domain();
	struct grant_map m;
	(void)state;

	grant_v1(d, 30, 0, 5, 0);
	assert_int_equal(domain_grant_map(d, 30, true, &m), GNTST_okay);
	/* A hostile guest overwrites the entry outright (no cmpxchg) and
	 * points it elsewhere: the mapping stays on the frame it was made
	 * for, and unmapping clears only the in-use bits. */
	v1(d, 30)->frame = 6;
	v1(d, 30)->flags = 0;
	assert_ptr_equal(m.addr, d->ram + 5 * PAGE_SIZE);
	domain_grant_unmap(d, &m);
	assert_int_equal(v1(d, 30)->flags, 0);
	assert_int_equal(d->frames[5].wr_count, 0);
	free_domain(d);
}

static void copies_within_bounds(void **state)
{
	struct domain *d = fake_domain();
	char buf[16];
	(void)state;

	grant_v1(d, 40, 0, 7, 0);
	assert_int_equal(domain_grant_copy_to(d, 40, 4090, "abcdef", 6), GNTST_okay);
	assert_memory_equal(d->ram + 7 * PAGE_SIZE + 4090, "abcdef", 6);
	assert_int_equal(domain_grant_copy_from(d, 40, 4090, buf, 6), GNTST_okay);
	assert_memory_equal(buf, "abcdef", 6);
	assert_int_equal(domain_grant_copy_to(d, 40, 4091, "abcdef", 6), GNTST_bad_copy_arg);
	assert_int_equal(domain_grant_copy_from(d, 40, 5000, buf, 1), GNTST_bad_copy_arg);
	assert_int_equal(domain_grant_copy_from(d, 40, 0, buf, UINT32_MAX), GNTST_bad_copy_arg);
	assert_int_equal(v1(d, 40)->flags, GTF_permit_access);
	free_domain(d);
}

static void v2_uses_the_status_array(void **state)
{
	struct domain *d = fake_domain();
	struct grant_map m;
	char buf[8];
	(void)state;

	d->grant_version = 2;
	v2(d, 50)->full_page.frame = 8;
	v2(d, 50)->hdr.domid = 0;
	v2(d, 50)->hdr.flags = GTF_permit_access;
	assert_int_equal(domain_grant_map(d, 50, true, &m), GNTST_okay);
	assert_ptr_equal(m.addr, d->ram + 8 * PAGE_SIZE);
	assert_int_equal(*status(d, 50), GTF_reading | GTF_writing);
	assert_int_equal(v2(d, 50)->hdr.flags, GTF_permit_access);
	domain_grant_unmap(d, &m);
	assert_int_equal(*status(d, 50), 0);
	/* v2 has 256 entries per frame. */
	assert_int_equal(domain_grant_map(d, 256, false, &m), GNTST_bad_gntref);
	/* Sub-page grants: copy inside the window only, never map. */
	v2(d, 51)->sub_page.frame = 8;
	v2(d, 51)->sub_page.page_off = 100;
	v2(d, 51)->sub_page.length = 8;
	v2(d, 51)->hdr.flags = GTF_permit_access | GTF_sub_page;
	assert_int_equal(domain_grant_copy_to(d, 51, 100, "12345678", 8), GNTST_okay);
	assert_int_equal(domain_grant_copy_from(d, 51, 99, buf, 2), GNTST_bad_copy_arg);
	assert_int_equal(domain_grant_copy_from(d, 51, 104, buf, 5), GNTST_bad_copy_arg);
	assert_int_equal(domain_grant_map(d, 51, false, &m), GNTST_general_error);
	assert_int_equal(*status(d, 51), 0);
	/* A foreign domid is refused in v2 too. */
	v2(d, 52)->full_page.frame = 8;
	v2(d, 52)->hdr.domid = 1;
	v2(d, 52)->hdr.flags = GTF_permit_access;
	assert_int_equal(domain_grant_map(d, 52, false, &m), GNTST_permission_denied);
	assert_int_equal(d->grant_pins, 0);
	free_domain(d);
}

/* ---- event channels ------------------------------------------------------------ */

static void backend_binds_only_ports_left_for_it(void **state)
{
	struct domain *d = fake_domain();
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), fd2 = eventfd(0, EFD_NONBLOCK);
	(void)state;

	assert_true(fd >= 0 && fd2 >= 0);
	int for_dom0 = evtchn_alloc_port(d, ECS_UNBOUND, 0, 0);
	int for_other = evtchn_alloc_port(d, ECS_UNBOUND, 0, 5);
	int ipi = evtchn_alloc_port(d, ECS_IPI, 0, 0);
	assert_int_equal(domain_evtchn_bind_backend(d, (uint32_t)for_other, fd), -EINVAL);
	assert_int_equal(domain_evtchn_bind_backend(d, (uint32_t)ipi, fd), -EINVAL);
	assert_int_equal(domain_evtchn_bind_backend(d, 0, fd), -EINVAL);
	assert_int_equal(domain_evtchn_bind_backend(d, NR_EVTCHN, fd), -EINVAL);
	assert_int_equal(domain_evtchn_bind_backend(d, 999, fd), -EINVAL);   /* free */
	assert_int_equal(domain_evtchn_bind_backend(d, (uint32_t)for_dom0, fd), 0);
	assert_int_equal(d->evtchn[for_dom0].state, ECS_INTERDOMAIN);
	assert_int_equal(domain_evtchn_bind_backend(d, (uint32_t)for_dom0, fd2), -EBUSY);

	/* Backend -> guest: sets the port pending. */
	assert_int_equal(domain_evtchn_notify_backend(d, (uint32_t)for_dom0, fd2), -ENOTCONN);
	assert_false(evtchn_port_pending(d, (uint32_t)for_dom0));
	assert_int_equal(domain_evtchn_notify_backend(d, (uint32_t)for_dom0, fd), 0);
	assert_true(evtchn_port_pending(d, (uint32_t)for_dom0));

	/* Unbinding returns the port to waiting for a peer; notifying it is
	 * refused from then on. */
	domain_evtchn_unbind_backend(d, (uint32_t)for_dom0, fd);
	assert_int_equal(d->evtchn[for_dom0].state, ECS_UNBOUND);
	assert_int_equal(domain_evtchn_notify_backend(d, (uint32_t)for_dom0, fd), -ENOTCONN);
	/* Reconnect (a frontend that closed and came back). */
	assert_int_equal(domain_evtchn_bind_backend(d, (uint32_t)for_dom0, fd2), 0);
	domain_evtchn_unbind_backend(d, (uint32_t)for_dom0, fd2);
	close(fd);
	close(fd2);
	free_domain(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(map_v1_marks_entry_in_use),
		cmocka_unit_test(refuses_bad_entries),
		cmocka_unit_test(never_writes_a_page_table),
		cmocka_unit_test(revocation_while_mapped_changes_nothing),
		cmocka_unit_test(copies_within_bounds),
		cmocka_unit_test(v2_uses_the_status_array),
		cmocka_unit_test(backend_binds_only_ports_left_for_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
