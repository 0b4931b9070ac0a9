/*
 * What kxend keeps about a domain beyond the core's view: the request it
 * was created from (for on_* = restart and `xl list -l`), its UUID, start
 * time, memory target/maximum as xl changed them, PCI devices recorded for
 * it; and the operations on that: rename, the restart actions, and the
 * host checks a PCI device must pass before it is recorded.
 */
#include "daemon/kxend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "core/core.h"
#include "devices/devices.h"
#include "xenstore/xenstore.h"

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

/* A random (version 4) UUID, as libxl_uuid_generate makes. */
static void uuid_generate(uint8_t uuid[16])
{
	size_t got = 0;

	while (got < 16) {
		ssize_t n = getrandom(uuid + got, 16 - got, 0);
		if (n <= 0) {
			/* No entropy source: still unique within this daemon. */
			uint64_t t = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
			for (; got < 16; got++, t = t * 6364136223846793005ull + 1442695040888963407ull)
				uuid[got] = (uint8_t)(t >> 56);
			break;
		}
		got += (size_t)n;
	}
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
}

int kd_config_init(struct kdom *kd, const struct domain_create_req *req)
{
	if (dup_opt(&kd->kernel, req->kernel) || dup_opt(&kd->ramdisk, req->ramdisk) ||
	    dup_opt(&kd->cmdline, req->cmdline) || dup_opt(&kd->cpus, req->cpus) ||
	    dup_opt(&kd->cpus_soft, req->cpus_soft) ||
	    dup_opt(&kd->bootloader, req->bootloader) || dup_opt(&kd->bootdisk, req->bootdisk) ||
	    dup_opt(&kd->bootentry, req->bootentry))
		goto nomem;
	kd->weight = req->weight;
	kd->cap = req->cap;
	kd->max_grant_frames = req->max_grant_frames;
	if (kd_disks_record(kd, req->disks, req->nr_disks))
		goto nomem;
	if (req->nr_pcidevs) {
		kd->pcidevs = calloc(req->nr_pcidevs, sizeof *kd->pcidevs);
		if (!kd->pcidevs)
			goto nomem;
		memcpy(kd->pcidevs, req->pcidevs, req->nr_pcidevs * sizeof *kd->pcidevs);
		kd->nr_pcidevs = req->nr_pcidevs;
	}
	kd->vcpus_boot = req->vcpus;
	kd->max_vcpus = req->max_vcpus > req->vcpus ? req->max_vcpus : req->vcpus;
	kd->target_kib = req->memory_mib * 1024;
	kd->max_kib = kd->maxmem_mib * 1024;
	kd->start_time = (int64_t)time(NULL);
	kd->restarts = req->restarts;
	if (req->has_uuid)
		memcpy(kd->uuid, req->uuid, sizeof kd->uuid);
	else
		uuid_generate(kd->uuid);
	return 0;
nomem:
	kd_config_free(kd);
	return -ENOMEM;
}

void kd_config_free(struct kdom *kd)
{
	free(kd->kernel);
	free(kd->ramdisk);
	free(kd->cmdline);
	free(kd->cpus);
	free(kd->cpus_soft);
	free(kd->pcidevs);
	kd_disks_free(kd);
	free(kd->bootloader);
	free(kd->bootdisk);
	free(kd->bootentry);
	kd->kernel = kd->ramdisk = kd->cmdline = kd->cpus = kd->cpus_soft = NULL;
	kd->bootloader = kd->bootdisk = kd->bootentry = NULL;
	kd->pcidevs = NULL;
	kd->nr_pcidevs = 0;
}

/* ---- rename ------------------------------------------------------------------ */

int kd_rename(struct kxend *k, struct kdom *kd, const char *name, char *err, size_t errlen)
{
	char path[64];
	struct kdom *other;

	if (!kd_name_valid(name)) {
		snprintf(err, errlen, "bad domain name \"%s\": use 1-%d of [A-Za-z0-9_.-], "
			 "not only digits", name, KXEND_NAME_MAX);
		return -EINVAL;
	}
	other = kd_find(k, name);
	if (other == kd)
		return 0;
	if (other) {
		snprintf(err, errlen, "a domain named \"%s\" already exists", name);
		return -EEXIST;
	}
	snprintf(path, sizeof path, "/local/domain/%u/name", kd->domid);
	int rc = xs_write_str(k->xs, path, name);
	if (rc) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
		return rc;
	}
	xs_dispatch_watches(k->xs);
	console_log_rename(k, kd, name);
	log_info("domain %u renamed from %s to %s", kd->domid, kd->name, name);
	snprintf(kd->name, sizeof kd->name, "%s", name);
	kd_record_domains(k);
	return 0;
}

/* ---- on_poweroff / on_reboot / on_crash = restart ------------------------------ */

/* The old domain of a rename-restart is kept as <name>-<UTC time>, like
 * xl's preserve_domain(); a second one within the minute gets -<domid>. */
static int rename_for_preserve(struct kxend *k, struct kdom *kd)
{
	char name[KXEND_NAME_MAX + 1], stamp[24], err[256];
	time_t now = time(NULL);
	struct tm tm;

	if (!gmtime_r(&now, &tm) || !strftime(stamp, sizeof stamp, "-%Y%m%dT%H%MZ", &tm))
		snprintf(stamp, sizeof stamp, "-%lld", (long long)now);
	snprintf(name, sizeof name, "%.*s%s", (int)(KXEND_NAME_MAX - strlen(stamp)), kd->name, stamp);
	if (kd_find(k, name)) {
		char id[16];
		snprintf(id, sizeof id, "-%u", kd->domid);
		snprintf(name, sizeof name, "%.*s%s%s",
			 (int)(KXEND_NAME_MAX - strlen(stamp) - strlen(id)), kd->name, stamp, id);
	}
	int rc = kd_rename(k, kd, name, err, sizeof err);
	if (rc)
		log_warn("domain %u (%s): cannot rename for rename-restart: %s", kd->domid,
			 kd->name, err);
	return rc;
}

bool kd_restart(struct kxend *k, struct kdom *kd, enum kd_action a, const char *why)
{
	struct domain_create_req req = {
		.memory_mib = kd->memory_mib, .maxmem_mib = kd->maxmem_mib,
		.vcpus = kd->vcpus_boot, .max_vcpus = kd->max_vcpus,
		.on_poweroff = kd->on_poweroff, .on_reboot = kd->on_reboot,
		.on_crash = kd->on_crash, .has_uuid = true, .nr_pcidevs = kd->nr_pcidevs,
		.restarts = kd->restarts + 1, .weight = kd->weight, .cap = kd->cap,
		.max_grant_frames = kd->max_grant_frames,
	};
	char *disks[KXEND_MAX_DISKS];
	size_t nr_disks = 0;
	char name[KXEND_NAME_MAX + 1], err[512];
	/* A domain in a restart loop keeps its log limits. */
	struct kd_logstate logrl = kd->logrl;
	char *kernel = NULL, *ramdisk = NULL, *cmdline = NULL, *cpus = NULL, *cpus_soft = NULL;
	char *bootloader = NULL, *bootdisk = NULL, *bootentry = NULL;
	struct pci_bdf *pci = NULL;
	struct kdom *nkd;
	bool destroyed = true;
	uint16_t old_domid = kd->domid;
	int rc;

	snprintf(name, sizeof name, "%s", kd->name);
	memcpy(req.uuid, kd->uuid, sizeof req.uuid);
	req.logrl = &logrl;
	if (dup_opt(&kernel, kd->kernel) || dup_opt(&ramdisk, kd->ramdisk) ||
	    dup_opt(&cmdline, kd->cmdline) || dup_opt(&cpus, kd->cpus) ||
	    dup_opt(&cpus_soft, kd->cpus_soft) || dup_opt(&bootloader, kd->bootloader) ||
	    dup_opt(&bootdisk, kd->bootdisk) || dup_opt(&bootentry, kd->bootentry) ||
	    (kd->nr_pcidevs && !(pci = calloc(kd->nr_pcidevs, sizeof *pci)))) {
		log_err("domain %u (%s): out of memory, cannot restart it", kd->domid, kd->name);
		kd_destroy(k, kd, why);
		goto out;
	}
	if (pci)
		memcpy(pci, kd->pcidevs, kd->nr_pcidevs * sizeof *pci);
	for (; nr_disks < kd->nr_disks; nr_disks++) {
		if (!(disks[nr_disks] = strdup(kd->disks[nr_disks]))) {
			log_err("domain %u (%s): out of memory, cannot restart it", kd->domid,
				kd->name);
			kd_destroy(k, kd, why);
			goto out;
		}
	}
	req.disks = (const char *const *)disks;
	req.nr_disks = nr_disks;
	req.name = name;
	req.kernel = kernel;
	req.ramdisk = ramdisk;
	req.cmdline = cmdline;
	req.cpus = cpus;
	req.cpus_soft = cpus_soft;
	/* A bootloader runs again: a kernel the guest installed boots now. */
	req.bootloader = bootloader;
	req.bootdisk = bootdisk;
	req.bootentry = bootentry;
	req.pcidevs = pci;
	/* The new domain starts in the cpupool the old one was in. */
	struct cpupool_info pool;
	if (!dispatch_cpupool_get(k->dp, domain_cpupool(kd->d), &pool))
		req.pool = pool.name;
	if (a == KD_ACTION_COREDUMP_RESTART)
		kd_log(kd, LOG_WARN, "domain %u (%s): core dumps are not supported, restarting "
		       "without one", kd->domid, kd->name);
	if (a == KD_ACTION_RENAME_RESTART && rename_for_preserve(k, kd) == 0) {
		/* The old domain stays, shut down, under its new name; its PCI
		 * devices go to the new one. */
		kd->shutdown_handled = true;
		free(kd->pcidevs);
		kd->pcidevs = NULL;
		kd->nr_pcidevs = 0;
		/* So do its disks: one image, one domain. */
		devrt_domain_detach_all(k->rt, kd->domid);
		kd_disks_free(kd);
		uuid_generate(kd->uuid);
		console_flush(kd);
		destroyed = false;
	} else {
		kd->restart_logrl = &logrl;
		kd_destroy(k, kd, why);
	}
	rc = kd_create(k, &req, NULL, &nkd, err, sizeof err);
	if (rc)
		log_err("domain %s: restart failed: %s", name, err);
	else
		kd_log(nkd, LOG_INFO, "domain %u (%s) restarted as domain %u (restart %u)",
		       old_domid, name, nkd->domid, nkd->restarts);
out:
	free(kernel);
	free(ramdisk);
	free(cmdline);
	free(cpus);
	free(cpus_soft);
	free(bootloader);
	free(bootdisk);
	free(bootentry);
	free(pci);
	for (size_t i = 0; i < nr_disks; i++)
		free(disks[i]);
	return destroyed;
}

/* ---- PCI ------------------------------------------------------------------------ */

const char *kd_sysfs_root(void)
{
	return ctl_sysfs_root();
}

const char *kd_pci_statedir(struct kxend *k)
{
	return ctl_pci_statedir();
}

static struct kdom *pci_owner(struct kxend *k, const struct pci_bdf *bdf)
{
	for (struct kdom *kd = k->doms; kd; kd = kd->next)
		for (size_t i = 0; i < kd->nr_pcidevs; i++)
			if (pci_bdf_equal(&kd->pcidevs[i], bdf))
				return kd;
	return NULL;
}

int kd_pci_check(struct kxend *k, const struct pci_bdf *bdfs, size_t n,
		 char *err, size_t errlen)
{
	char name[PCI_BDF_STRLEN], msg[1024], driver[64];

	for (size_t i = 0; i < n; i++) {
		const struct pci_bdf *bdf = &bdfs[i];
		struct kdom *owner;
		int rc;

		pci_bdf_format(bdf, name, sizeof name);
		for (size_t j = 0; j < i; j++) {
			if (pci_bdf_equal(&bdfs[j], bdf)) {
				snprintf(err, errlen, "PCI device %s is named twice", name);
				return -EINVAL;
			}
		}
		rc = pci_check_passthrough_support(kd_sysfs_root(), bdf, msg, sizeof msg);
		if (rc) {
			snprintf(err, errlen, "%s", rc == -ENOTSUP || rc == -ENODEV ? msg :
				 strerror(-rc));
			return rc;
		}
		if (pci_assignable_lookup(kd_pci_statedir(k), bdf, driver, sizeof driver)) {
			snprintf(err, errlen, "PCI device %s is not assignable: run "
				 "xl pci-assignable-add %s first", name, name);
			return -EPERM;
		}
		owner = pci_owner(k, bdf);
		if (owner) {
			snprintf(err, errlen, "PCI device %s is already assigned to domain %u (%s)",
				 name, owner->domid, owner->name);
			return -EBUSY;
		}
		/* The host could isolate the device, but kxen cannot hand it to a
		 * guest yet: say so rather than record an attachment the guest
		 * would never see. */
		snprintf(err, errlen, "PCI device %s: the host has an IOMMU, an iommu group and "
			 "vfio-pci, but kxen has no PCI passthrough backend yet", name);
		return -ENOTSUP;
	}
	return 0;
}
