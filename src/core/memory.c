/*
 * memory_op: the machine-to-phys mapping, the memory map, reservations.
 *
 * Machine frames are identity-mapped (MFN == PFN) and a domain keeps all of
 * its RAM for its lifetime, so ballooning only moves the guest's own
 * accounting: released frames stay backed and populate hands the same
 * frames back.
 */
#include <errno.h>
#include <string.h>

#include "common/common.h"
#include "core/core-internal.h"

long do_memory_op(struct vcpu *v, uint64_t cmd, uint64_t arg);

static bool self_domid(struct domain *d, xen_domid_t id)
{
	return id == DOMID_SELF || id == d->domid;
}

static long reservation(struct vcpu *v, uint64_t cmd, uint64_t arg)
{
	struct xen_memory_reservation r;
	struct domain *d = v->d;

	if (guest_copy_from(v, &r, arg, sizeof r))
		return -EFAULT;
	if (!self_domid(d, r.domid))
		return -EPERM;
	if (r.extent_order != 0)
		return 0;     /* superpage extents: nothing done */
	for (uint64_t i = 0; i < r.nr_extents; i++) {
		uint64_t pfn;
		if (atomic_load(&d->dying))
			return -EINTR;
		if (!r.extent_start)
			return (long)i;
		if (guest_copy_from(v, &pfn, r.extent_start + i * 8, 8))
			return i ? (long)i : -EFAULT;
		if (!mfn_is_ram(d, pfn))
			return (long)i;
		if (cmd == XENMEM_decrease_reservation && d->frames[pfn].type_count)
			return (long)i;
		/* populate/increase report the machine frame back. */
		if (cmd != XENMEM_decrease_reservation &&
		    guest_copy_to(v, r.extent_start + i * 8, &pfn, 8))
			return i ? (long)i : -EFAULT;
	}
	return (long)r.nr_extents;
}

long do_memory_op(struct vcpu *v, uint64_t cmd, uint64_t arg)
{
	struct domain *d = v->d;

	switch (cmd & 0xf) {
	case XENMEM_machphys_mapping: {
		struct xen_machphys_mapping m = {
			.v_start = HV_M2P_VA,
			.v_end = HV_M2P_VA + ALIGN_UP(d->hvl.m2p_bytes, 1ull << 21),
			.max_mfn = d->nr_pages - 1,
		};
		return guest_copy_to(v, arg, &m, sizeof m) ? -EFAULT : 0;
	}
	case XENMEM_memory_map: {
		struct xen_memory_map m;
		struct e820_entry e = { .addr = 0, .size = d->nr_pages * PAGE_SIZE, .type = E820_RAM };
		if (guest_copy_from(v, &m, arg, sizeof m))
			return -EFAULT;
		if (m.nr_entries < 1)
			return -EINVAL;
		if (guest_copy_to(v, m.buffer, &e, sizeof e))
			return -EFAULT;
		m.nr_entries = 1;
		return guest_copy_to(v, arg, &m, sizeof m) ? -EFAULT : 0;
	}
	case XENMEM_maximum_ram_page:
		return (long)d->nr_pages - 1;
	case XENMEM_current_reservation:
	case XENMEM_maximum_reservation: {
		xen_domid_t id;
		if (guest_copy_from(v, &id, arg, sizeof id))
			return -EFAULT;
		if (!self_domid(d, id))
			return -EPERM;
		return (long)d->nr_pages;
	}
	case XENMEM_maximum_gpfn:
		return (long)d->nr_pages - 1;
	case XENMEM_increase_reservation:
	case XENMEM_decrease_reservation:
	case XENMEM_populate_physmap:
		return reservation(v, cmd & 0xf, arg);
	default:
		return -ENOSYS;
	}
}
