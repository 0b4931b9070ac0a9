/*
 * Domains held by kxend: creation with their XenStore home, the hooks the
 * core calls on vCPU threads, and teardown on the loop thread.
 */
#include "daemon/kxend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootloader/bootloader.h"
#include "common/common.h"
#include "core/core.h"
#include "devices/devices.h"
#include "xenstore/xenstore.h"
#include "xen/xen.h"

const char *kd_action_name(enum kd_action a)
{
	return ts_action_xl_name((enum ts_action)a);
}

int kd_action_parse(const char *s, enum kd_action *out)
{
	enum ts_action a;
	int rc = ts_action_from_xl_name(s, &a);
	if (!rc)
		*out = (enum kd_action)a;
	return rc;
}

/* Names become file names (console/<name>.log) and must never be
 * mistaken for a domid, so: [A-Za-z0-9_.-], not all digits, no leading
 * dot. */
bool kd_name_valid(const char *name)
{
	size_t n = strlen(name);
	bool digits_only = true;

	if (n == 0 || n > KXEND_NAME_MAX || name[0] == '.' || !strcmp(name, "Domain-0"))
		return false;
	for (const char *c = name; *c; c++) {
		bool digit = *c >= '0' && *c <= '9';
		bool ok = digit || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			  *c == '_' || *c == '.' || *c == '-';
		if (!ok)
			return false;
		digits_only &= digit;
	}
	return !digits_only;
}

struct kdom *kd_by_domid(struct kxend *k, uint16_t domid)
{
	for (struct kdom *kd = k->doms; kd; kd = kd->next)
		if (kd->domid == domid)
			return kd;
	return NULL;
}

struct kdom *kd_find(struct kxend *k, const char *spec)
{
	uint64_t id;

	if (ctl_parse_u64(spec, 0, UINT16_MAX, &id) == 0)
		return kd_by_domid(k, (uint16_t)id);
	for (struct kdom *kd = k->doms; kd; kd = kd->next)
		if (!strcmp(kd->name, spec))
			return kd;
	return NULL;
}

/* ---- hooks: vCPU threads ------------------------------------------------ */

static void kd_raise(struct kdom *kd, unsigned ev)
{
	atomic_fetch_or(&kd->pending, ev);
	kxend_wake(kd->k);
}

static void hook_console_io(void *opaque, struct domain *d, const char *buf, size_t len)
{
	(void)d;
	console_io_output(opaque, buf, len);
}

static void hook_backend_event(void *opaque, struct domain *d, uint32_t port)
{
	struct kdom *kd = opaque;

	/* The console and the devices have their own threads. */
	if (port == domain_store_port(d))
		kd_raise(kd, KD_EV_STORE);
}

static void hook_shutdown(void *opaque, struct domain *d, unsigned reason)
{
	struct kdom *kd = opaque;

	atomic_store(&kd->shutdown_reason, reason);
	kd_raise(kd, KD_EV_SHUTDOWN);
}

static const struct domain_hooks kd_hooks = {
	.console_io = hook_console_io,
	.backend_event = hook_backend_event,
	.shutdown = hook_shutdown,
};

/* ---- creation --------------------------------------------------------------- */

static int kd_alloc_domid(struct kxend *k, uint16_t *out)
{
	for (unsigned tries = 0; tries < KXEND_MAX_DOMID; tries++) {
		uint16_t id = k->next_domid;
		k->next_domid = id >= KXEND_MAX_DOMID ? 1 : id + 1;
		if (!kd_by_domid(k, id)) {
			*out = id;
			return 0;
		}
	}
	return -ENOSPC;
}

static int xs_home_write(struct kxend *k, uint16_t domid, const char *rel, const char *val)
{
	char path[256];
	snprintf(path, sizeof path, "/local/domain/%u/%s", domid, rel);
	return xs_write_str(k->xs, path, val);
}

/* The guest's home, laid out like libxl's (xs_home_create), then the
 * domain is introduced to the store. */
static int kd_store_setup(struct kxend *k, struct kdom *kd, unsigned vcpus)
{
	const struct xs_home home = {
		.domid = kd->domid, .name = kd->name,
		.target_kib = kd->target_kib, .static_max_kib = kd->max_kib,
		.vcpus = vcpus, .max_vcpus = kd->max_vcpus,
		.store_port = domain_store_port(kd->d),
		.console_port = domain_console_port(kd->d),
	};
	struct xs_conn *conn;
	int rc = xs_home_create(k->xs, &home);

	if (!rc)
		rc = xs_introduce(k->xs, kd->domid, domain_store_ring(kd->d),
				  domain_store_port(kd->d), &conn);
	if (rc) {
		char path[32];
		snprintf(path, sizeof path, "/local/domain/%u", kd->domid);
		xs_rm(k->xs, path);
	}
	xs_dispatch_watches(k->xs);
	return rc;
}

static int check_file(const char *what, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (path[0] != '/') {
		snprintf(err, errlen, "%s path must be absolute: %s", what, path);
		return -EINVAL;
	}
	if (stat(path, &st)) {
		int e = errno;
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file", what, path);
		return -EINVAL;
	}
	return 0;
}

/* The disk a bootloader reads: a file or a block device. */
static int check_disk(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (!path || path[0] != '/') {
		snprintf(err, errlen, "bootloader: %s", path ? "the disk path must be absolute"
			 : "no disk to boot from (give disk=[...]; the first one is read)");
		return -EINVAL;
	}
	if (stat(path, &st)) {
		int e = errno;
		snprintf(err, errlen, "bootloader: disk %s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "bootloader: disk %s: not a file or block device", path);
		return -EINVAL;
	}
	return 0;
}

static int kd_check_request(struct kxend *k, const struct domain_create_req *req,
			    char *err, size_t errlen)
{
	if (!kd_name_valid(req->name)) {
		snprintf(err, errlen, "bad domain name \"%s\": use 1-%d of [A-Za-z0-9_.-], "
			 "not only digits", req->name, KXEND_NAME_MAX);
		return -EINVAL;
	}
	if (kd_find(k, req->name)) {
		snprintf(err, errlen, "a domain named \"%s\" already exists", req->name);
		return -EEXIST;
	}
	if (k->nr_doms >= KXEND_MAX_DOMAINS) {
		snprintf(err, errlen, "too many domains (at most %d)", KXEND_MAX_DOMAINS);
		return -ENOSPC;
	}
	int rc;
	if (req->bootloader) {
		if (!bl_is_pygrub(req->bootloader)) {
			snprintf(err, errlen, "bootloader \"%s\": only pygrub is supported",
				 req->bootloader);
			return -EINVAL;
		}
		rc = check_disk(req->bootdisk, err, errlen);
	} else {
		rc = check_file("kernel", req->kernel, err, errlen);
		if (!rc && req->ramdisk)
			rc = check_file("ramdisk", req->ramdisk, err, errlen);
	}
	if (!rc && req->nr_pcidevs)
		rc = kd_pci_check(k, req->pcidevs, req->nr_pcidevs, err, errlen);
	return rc;
}

static struct kdom *kd_new(struct kxend *k, const struct domain_create_req *req)
{
	struct kdom *kd = calloc(1, sizeof *kd);
	if (!kd)
		return NULL;
	kd->k = k;
	kd->log_fd = -1;
	snprintf(kd->name, sizeof kd->name, "%s", req->name);
	kd->memory_mib = req->memory_mib;
	kd->maxmem_mib = req->maxmem_mib > req->memory_mib ? req->maxmem_mib : req->memory_mib;
	kd->on_poweroff = req->on_poweroff;
	kd->on_reboot = req->on_reboot;
	kd->on_crash = req->on_crash;
	if (req->logrl)
		kd->logrl = *req->logrl;
	pthread_mutex_init(&kd->io_lock, NULL);
	if (kd_config_init(kd, req)) {
		pthread_mutex_destroy(&kd->io_lock);
		free(kd);
		return NULL;
	}
	return kd;
}

static void kd_free(struct kdom *kd)
{
	if (kd->log_fd >= 0 && close(kd->log_fd))
		log_warn("close console log of %s: %s", kd->name, strerror(errno));
	pthread_mutex_destroy(&kd->io_lock);
	kd_config_free(kd);
	free(kd->io_buf);
	free(kd->ring_buf);
	free(kd);
}

/* Entry i of a "L0;L1;..." list into buf; false past the end. */
static bool nth_list(const char *lists, unsigned i, char *buf, size_t len)
{
	const char *p = lists;

	for (; i && p; i--) {
		p = strchr(p, ';');
		if (p)
			p++;
	}
	if (!p)
		return false;
	size_t n = strcspn(p, ";");
	snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), p);
	return true;
}

/* xl.cfg's weight, cap, cpus and cpus_soft, before any vCPU runs. */
static int kd_apply_sched(struct kdom *kd, const struct domain_create_req *req, char *err,
			  size_t errlen)
{
	char hard[CTL_MAX_LINE], soft[CTL_MAX_LINE];
	int rc;

	if (req->weight >= 0 || req->cap >= 0) {
		rc = domain_sched_set(kd->d, req->weight, req->cap);
		if (rc) {
			char what[48];
			if (req->weight >= 0 && req->cap >= 0)
				snprintf(what, sizeof what, "weight %d, cap %d", req->weight, req->cap);
			else if (req->weight >= 0)
				snprintf(what, sizeof what, "weight %d", req->weight);
			else
				snprintf(what, sizeof what, "cap %d", req->cap);
			snprintf(err, errlen, "%s: %s", what,
				 rc == -EINVAL ? "out of range (cap is at most 100 per vCPU)"
					       : strerror(-rc));
			return rc;
		}
	}
	for (unsigned i = 0; i < req->max_vcpus; i++) {
		bool h = req->cpus && nth_list(req->cpus, i, hard, sizeof hard);
		bool s = req->cpus_soft && nth_list(req->cpus_soft, i, soft, sizeof soft);
		if (!h && !s)
			continue;
		rc = domain_vcpu_pin(kd->d, i, h ? hard : NULL, s ? soft : NULL);
		if (rc) {
			snprintf(err, errlen, "%s of vCPU %u (\"%s\"): %s", h ? "cpus" : "cpus_soft",
				 i, h ? hard : soft, dispatch_cpulist_strerror(rc));
			return rc;
		}
	}
	return 0;
}

static int kd_create_built(struct kxend *k, const struct domain_create_req *req,
			   const struct bl_result *boot, struct client *attach,
			   struct kdom **out, char *err, size_t errlen)
{
	struct domain_params p = { 0 };
	struct kdom *kd;
	int rc;

	kd = kd_new(k, req);
	if (!kd) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = kd_alloc_domid(k, &kd->domid);
	if (rc) {
		snprintf(err, errlen, "no free domain id");
		kd_free(kd);
		return rc;
	}
	p = (struct domain_params){
		.domid = kd->domid, .name = kd->name, .memory_mib = req->memory_mib,
		.vcpus = req->vcpus, .max_vcpus = req->max_vcpus, .kernel = req->kernel,
		.ramdisk = req->ramdisk, .cmdline = req->cmdline, .hooks = &kd_hooks,
		.opaque = kd, .dispatcher = k->dp, .pool = req->pool,
		.max_grant_frames = req->max_grant_frames,
	};
	if (boot) {
		p.kernel_image = boot->kernel;
		p.kernel_image_len = boot->kernel_len;
		p.ramdisk_image = boot->ramdisk;
		p.ramdisk_image_len = boot->ramdisk_len;
		p.cmdline = boot->cmdline;
	}
	rc = console_open_log(k, kd, err, errlen);
	if (rc) {
		kd_free(kd);
		return rc;
	}
	rc = domain_create(&p, &kd->d, err, errlen);
	if (rc) {
		kd_free(kd);
		return rc;
	}
	/* On the list before the store is set up, so kd_destroy can undo
	 * everything from here on. */
	kd->next = k->doms;
	k->doms = kd;
	k->nr_doms++;
	kd_record_domains(k);
	rc = kd_store_setup(k, kd, req->vcpus);
	if (rc) {
		snprintf(err, errlen, "cannot set up the domain's XenStore home: %s", strerror(-rc));
		kd_destroy(k, kd, "XenStore setup failed");
		return rc;
	}
	rc = devrt_domain_add(k->rt, kd->d, kd);
	if (rc) {
		snprintf(err, errlen, "cannot start the console backend: %s", strerror(-rc));
		kd_destroy(k, kd, "console backend failed");
		return rc;
	}
	for (size_t i = 0; i < req->nr_disks; i++) {
		rc = kd_disk_attach(k, kd, req->disks[i], err, errlen);
		if (rc) {
			kd_destroy(k, kd, "a disk could not be attached");
			return rc;
		}
	}
	rc = kd_apply_sched(kd, req, err, errlen);
	if (rc) {
		kd_destroy(k, kd, "bad scheduling parameters");
		return rc;
	}
	if (attach)
		console_attach(kd, attach);
	if (req->paused)
		domain_pause(kd->d);
	rc = domain_start(kd->d);
	if (rc) {
		snprintf(err, errlen, "cannot start the vCPUs: %s", strerror(-rc));
		kd_destroy(k, kd, "vCPU start failed");
		return rc;
	}
	/* A restart is the guest's doing (a reboot loop); a create is not. */
	if (boot)
		kd_log_if_guest(kd, req->restarts > 0, LOG_INFO, "domain %s: pygrub on %s: "
				"partition %u, entry \"%s\": kernel %s (%zu bytes), ramdisk %zu "
				"bytes, cmdline \"%s\"", kd->name, req->bootdisk, boot->partition,
				boot->title, boot->kernel_path, boot->kernel_len, boot->ramdisk_len,
				boot->cmdline);
	kd_log_if_guest(kd, req->restarts > 0, LOG_INFO,
			"domain %u (%s) created: %llu MiB, %u vCPUs, kernel %s%s%s%s", kd->domid,
			kd->name, (unsigned long long)req->memory_mib, req->vcpus,
			boot ? boot->kernel_path : req->kernel, boot ? " from " : "",
			boot ? req->bootdisk : "", req->paused ? ", paused" : "");
	*out = kd;
	return 0;
}

/* kxen-pygrub sits next to kxend (KXEN_PYGRUB names another). */
static void pygrub_path(char *buf, size_t len)
{
	const char *env = getenv("KXEN_PYGRUB");
	ssize_t n;
	char *slash;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	slash = strrchr(buf, '/');
	if (!slash || (size_t)(slash + 1 - buf) + sizeof "kxen-pygrub" > len)
		snprintf(buf, len, "kxen-pygrub");
	else
		snprintf(slash + 1, len - (size_t)(slash + 1 - buf), "kxen-pygrub");
}

/* kxend waits for it (a few hundred ms for a Debian disk): the bound is
 * what a hostile disk can cost the control loop. */
#define BOOTLOADER_TIMEOUT_MS 20000

/* pygrub's part of a create: what the guest's disk says to boot. */
static int run_bootloader(const struct domain_create_req *req, struct bl_result *boot,
			  char *err, size_t errlen)
{
	/* An initrd larger than the guest's memory could never be loaded. */
	struct bl_options opt = { .entry = req->bootentry, .args = req->cmdline,
				  .max_ramdisk = req->memory_mib << 20 };
	char helper[PATH_MAX], why[768];
	int rc;

	pygrub_path(helper, sizeof helper);
	rc = bl_spawn(helper, req->bootdisk, &opt, BOOTLOADER_TIMEOUT_MS, boot, why, sizeof why);
	if (rc) {
		snprintf(err, errlen, "bootloader (pygrub) on %s: %s", req->bootdisk, why);
		return rc;
	}
	return 0;
}

int kd_create(struct kxend *k, const struct domain_create_req *req,
	      struct client *attach, struct kdom **out, char *err, size_t errlen)
{
	struct bl_result boot;
	int rc = kd_check_request(k, req, err, errlen);

	if (rc)
		return rc;
	if (!req->bootloader)
		return kd_create_built(k, req, NULL, attach, out, err, errlen);
	rc = run_bootloader(req, &boot, err, errlen);
	if (rc)
		return rc;
	rc = kd_create_built(k, req, &boot, attach, out, err, errlen);
	bl_result_free(&boot);
	return rc;
}

/* ---- teardown --------------------------------------------------------------- */

static void kd_unlink(struct kxend *k, struct kdom *kd)
{
	for (struct kdom **pp = &k->doms; *pp; pp = &(*pp)->next) {
		if (*pp == kd) {
			*pp = kd->next;
			k->nr_doms--;
			kd_record_domains(k);
			return;
		}
	}
}

void kd_destroy(struct kxend *k, struct kdom *kd, const char *why)
{
	kd_log_if_guest(kd, kd->by_guest, LOG_INFO, "destroying domain %u (%s): %s",
			kd->domid, kd->name, why);
	/* Devices go first, while guest memory exists: their in-flight I/O
	 * completes, the console ring is drained. */
	devrt_domain_remove(k->rt, kd->domid);
	domain_destroy(kd->d);
	kd->d = NULL;
	/* vCPU threads are gone; the text they left is still ours. */
	console_flush(kd);
	if (kd->restart_logrl)
		*kd->restart_logrl = kd->logrl;    /* the restarted one goes on */
	else
		kd_log_final(kd);
	int rc = xs_release(k->xs, kd->domid);
	if (rc && rc != -ENOENT)
		log_warn("xs_release(%u): %s", kd->domid, strerror(-rc));
	xs_dispatch_watches(k->xs);
	console_detach_all(k, kd->domid);
	kd_unlink(k, kd);
	kd_free(kd);
}

void kd_destroy_all(struct kxend *k)
{
	while (k->doms)
		kd_destroy(k, k->doms, "the daemon is stopping");
}

static const char *reason_name(unsigned reason)
{
	switch (reason) {
	case SHUTDOWN_poweroff: return "poweroff";
	case SHUTDOWN_reboot: return "reboot";
	case SHUTDOWN_suspend: return "suspend";
	case SHUTDOWN_crash: return "crash";
	case SHUTDOWN_watchdog: return "watchdog";
	case SHUTDOWN_soft_reset: return "soft_reset";
	default: return "unknown";
	}
}

static enum kd_action kd_action_for(const struct kdom *kd, unsigned reason)
{
	switch (reason) {
	case SHUTDOWN_poweroff: return kd->on_poweroff;
	case SHUTDOWN_reboot: return kd->on_reboot;
	case SHUTDOWN_suspend: return KD_ACTION_PRESERVE;
	default: return kd->on_crash;   /* crash, watchdog, anything odd */
	}
}

/* Returns true if kd was destroyed. */
static bool kd_handle_shutdown(struct kxend *k, struct kdom *kd)
{
	unsigned reason = atomic_load(&kd->shutdown_reason);
	enum kd_action a = kd_action_for(kd, reason);
	char why[96];

	if (kd->shutdown_handled)
		return false;
	kd->by_guest = true;
	kd_log(kd, LOG_INFO, "domain %u (%s) shut down: %s, action %s", kd->domid, kd->name,
	       reason_name(reason), kd_action_name(a));
	snprintf(why, sizeof why, "shut down (%s)", reason_name(reason));
	switch (a) {
	case KD_ACTION_PRESERVE:
		kd->shutdown_handled = true;
		console_flush(kd);
		return false;
	case KD_ACTION_DESTROY:
	case KD_ACTION_COREDUMP_DESTROY:
		break;
	case KD_ACTION_RESTART:
	case KD_ACTION_RENAME_RESTART:
	case KD_ACTION_COREDUMP_RESTART:
		return kd_restart(k, kd, a, why);
	default:
		kd_log(kd, LOG_WARN, "domain %u (%s): action %s is not supported yet, "
		       "destroying instead", kd->domid, kd->name, kd_action_name(a));
		break;
	}
	kd_destroy(k, kd, why);
	return true;
}

void kd_serve_store(struct kxend *k)
{
	devrt_serve_store(k->rt);
}

void kd_process_events(struct kxend *k)
{
	bool store = false;
	struct kdom *kd, *next;

	/* Take every domain's bits first: a bit raised after this is
	 * followed by another wake-up, so nothing is lost. */
	for (kd = k->doms; kd; kd = kd->next) {
		kd->ev_taken = atomic_exchange(&kd->pending, 0);
		store |= (kd->ev_taken & KD_EV_STORE) != 0;
	}
	if (store)
		kd_serve_store(k);
	for (kd = k->doms; kd; kd = next) {
		next = kd->next;
		if (kd->ev_taken & KD_EV_CONSOLE)
			console_flush(kd);
		if (kd->ev_taken & KD_EV_SHUTDOWN)
			kd_handle_shutdown(k, kd);
	}
}

int kd_request_shutdown(struct kxend *k, struct kdom *kd, const char *what)
{
	int rc = xs_home_write(k, kd->domid, "control/shutdown", what);
	if (rc)
		return rc;
	log_info("asked domain %u (%s) to %s (control/shutdown)", kd->domid, kd->name, what);
	/* Deliver the watch event the write raised to the guest's ring. */
	kd_serve_store(k);
	return 0;
}

void kd_state(struct kdom *kd, char buf[7], uint64_t *cpu_ns, uint64_t *mem_kib,
	      unsigned *vcpus)
{
	struct domain_info info;

	domain_get_info(kd->d, &info);
	bool crashed = info.shutdown && info.shutdown_reason == SHUTDOWN_crash;
	buf[0] = !info.shutdown && !info.paused && !info.blocked ? 'r' : '-';
	buf[1] = !info.shutdown && !info.paused && info.blocked ? 'b' : '-';
	buf[2] = info.paused ? 'p' : '-';
	buf[3] = info.shutdown && !crashed ? 's' : '-';
	buf[4] = crashed ? 'c' : '-';
	buf[5] = '-';   /* dying: teardown is synchronous, never seen */
	buf[6] = 0;
	*cpu_ns = info.cpu_time_ns;
	*mem_kib = info.memory_kib;
	*vcpus = info.vcpus_online;
}
