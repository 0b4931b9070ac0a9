/*
 * A domain's disks: disk= at create and xl block-attach/-detach, served by
 * the device runtime's block backend.  kxend keeps the specs a domain has
 * (for a restart and `xl list -l`); the backend's state is the runtime's.
 */
#include "daemon/kxend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "devices/devices.h"

int kd_disks_record(struct kdom *kd, const char *const *specs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (kd->nr_disks == KXEND_MAX_DISKS)
			return -E2BIG;
		char *dup = strdup(specs[i]);
		if (!dup)
			return -ENOMEM;
		kd->disks[kd->nr_disks++] = dup;
	}
	return 0;
}

void kd_disks_free(struct kdom *kd)
{
	for (size_t i = 0; i < kd->nr_disks; i++)
		free(kd->disks[i]);
	kd->nr_disks = 0;
}

int kd_disk_attach(struct kxend *k, struct kdom *kd, const char *spec, char *err, size_t errlen)
{
	char vdev[16];
	int rc;

	/* Recorded specs are the ones attached: a create records them up
	 * front (for a restart), block-attach after it worked. */
	rc = devrt_disk_attach(k->rt, kd->domid, spec, vdev, sizeof vdev, err, errlen);
	if (rc)
		return rc;
	log_info("domain %u (%s): disk %s attached: %s", kd->domid, kd->name, vdev, spec);
	return 0;
}
