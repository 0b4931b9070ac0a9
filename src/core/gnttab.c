/*
 * Grant tables (v1).  The grant frames are hypervisor frames the guest maps
 * by MFN; the toolstack's backends read grant entries and guest pages
 * directly from host memory, so a domU needs only setup/query/version here.
 */
#include <errno.h>
#include <string.h>

#include "common/common.h"
#include "core/core-internal.h"

static bool self(struct domain *d, xen_domid_t id)
{
	return id == DOMID_SELF || id == d->domid;
}

static long setup_table(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	struct gnttab_setup_table s;

	if (guest_copy_from(v, &s, arg, sizeof s))
		return -EFAULT;
	s.status = GNTST_okay;
	if (!self(d, s.dom))
		s.status = GNTST_permission_denied;
	else if (s.nr_frames > HV_GRANT_FRAMES)
		s.status = GNTST_general_error;
	else {
		pthread_mutex_lock(&d->lock);
		if (s.nr_frames > d->grant_frames)
			d->grant_frames = s.nr_frames;
		pthread_mutex_unlock(&d->lock);
		for (uint32_t i = 0; i < s.nr_frames; i++) {
			uint64_t mfn = (HV_GPA_BASE + d->hvl.grant) / PAGE_SIZE + i;
			if (guest_copy_to(v, s.frame_list + i * 8, &mfn, 8))
				return -EFAULT;
		}
	}
	return guest_copy_to(v, arg, &s, sizeof s) ? -EFAULT : 0;
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
			q.max_nr_frames = HV_GRANT_FRAMES;
			q.status = GNTST_okay;
		}
		return guest_copy_to(v, arg, &q, sizeof q) ? -EFAULT : 0;
	}
	case GNTTABOP_set_version: {
		struct gnttab_set_version sv;
		if (guest_copy_from(v, &sv, arg, sizeof sv))
			return -EFAULT;
		if (sv.version != 1) {
			sv.version = 1;
			guest_copy_to(v, arg, &sv, sizeof sv);
			return -EINVAL;
		}
		return 0;
	}
	case GNTTABOP_get_version: {
		struct { xen_domid_t dom; uint16_t pad; uint32_t version; } gv;
		if (guest_copy_from(v, &gv, arg, sizeof gv))
			return -EFAULT;
		gv.version = 1;
		return guest_copy_to(v, arg, &gv, sizeof gv) ? -EFAULT : 0;
	}
	default:
		return -ENOSYS;
	}
}
