/*
 * The commands of kxen-ctl/1 (docs/control-api.md).  Each handler checks
 * every field it is given and fills the reply; anything wrong becomes an
 * "error <message>" reply, never a dropped connection.
 */
#include "daemon/kxend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "core/core.h"
#include "devices/devices.h"
#include "xenstore/xenstore.h"

#define MAX_MEMORY_MIB   (1ull << 20)   /* 1 TiB; the core checks the real limit */
#define MAX_VCPUS_WIRE   32             /* XEN_LEGACY_MAX_VCPUS */
#define MAX_CMDLINE      1023           /* Xen's MAX_GUEST_CMDLINE - 1 */

/* Refuse fields a command does not know: a typo must not be ignored. */
static int check_fields(const struct ctl_msg *req, const char *const *known,
			struct ctl_msg *rep)
{
	for (size_t i = 0; i < req->nr_fields; i++) {
		const char *key = req->fields[i].key;
		bool ok = false;
		for (const char *const *k = known; *k && !ok; k++)
			ok = !strcmp(*k, key);
		if (!ok) {
			ctl_msg_set_error(rep, "%s: unknown field \"%s\"", req->head, key);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(req->fields[j].key, key)) {
				ctl_msg_set_error(rep, "%s: field \"%s\" given twice", req->head, key);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static struct kdom *need_domain(struct kxend *k, const struct ctl_msg *req, struct ctl_msg *rep)
{
	const char *spec = ctl_msg_get(req, "dom");
	struct kdom *kd;

	if (!spec) {
		ctl_msg_set_error(rep, "%s: missing field \"dom\"", req->head);
		return NULL;
	}
	kd = kd_find(k, spec);
	if (!kd)
		ctl_msg_set_error(rep, "no such domain: %s", spec);
	return kd;
}

static int get_u64(const struct ctl_msg *req, const char *key, uint64_t min, uint64_t max,
		   uint64_t def, uint64_t *out, struct ctl_msg *rep)
{
	const char *v = ctl_msg_get(req, key);

	if (!v) {
		*out = def;
		return 0;
	}
	if (ctl_parse_u64(v, min, max, out)) {
		ctl_msg_set_error(rep, "%s: expected a number from %llu to %llu, got \"%s\"",
				  key, (unsigned long long)min, (unsigned long long)max, v);
		return -EINVAL;
	}
	return 0;
}

static int get_action(const struct ctl_msg *req, const char *key, enum kd_action *out,
		      struct ctl_msg *rep)
{
	const char *v = ctl_msg_get(req, key);

	*out = KD_ACTION_DESTROY;
	if (v && kd_action_parse(v, out)) {
		ctl_msg_set_error(rep, "%s: unknown action \"%s\"", key, v);
		return -EINVAL;
	}
	return 0;
}

static int get_bool(const struct ctl_msg *req, const char *key, bool *out, struct ctl_msg *rep)
{
	const char *v = ctl_msg_get(req, key);

	*out = false;
	if (v && ctl_parse_bool(v, out)) {
		ctl_msg_set_error(rep, "%s: expected 0 or 1, got \"%s\"", key, v);
		return -EINVAL;
	}
	return 0;
}

/* An optional number field; -1 when absent. */
static int get_int_opt(const struct ctl_msg *req, const char *key, uint64_t lo, uint64_t hi,
		       int *out, struct ctl_msg *rep)
{
	uint64_t v;

	*out = -1;
	if (!ctl_msg_get(req, key))
		return 0;
	if (get_u64(req, key, lo, hi, lo, &v, rep))
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int parse_create(const struct ctl_msg *req, struct domain_create_req *cr,
			bool *console, struct ctl_msg *rep)
{
	uint64_t vcpus, maxvcpus;

	cr->name = ctl_msg_get(req, "name");
	cr->kernel = ctl_msg_get(req, "kernel");
	cr->ramdisk = ctl_msg_get(req, "ramdisk");
	cr->cmdline = ctl_msg_get(req, "cmdline");
	cr->pool = ctl_msg_get(req, "pool");
	cr->cpus = ctl_msg_get(req, "cpus");
	cr->cpus_soft = ctl_msg_get(req, "cpus_soft");
	cr->bootloader = ctl_msg_get(req, "bootloader");
	cr->bootdisk = ctl_msg_get(req, "bootdisk");
	cr->bootentry = ctl_msg_get(req, "bootentry");
	if (!cr->name || (!cr->kernel && !cr->bootloader)) {
		ctl_msg_set_error(rep, "create: \"name\" and \"kernel\" (or \"bootloader\") "
				  "are required");
		return -EINVAL;
	}
	if (cr->bootloader && (cr->kernel || cr->ramdisk)) {
		ctl_msg_set_error(rep, "create: \"bootloader\" picks the kernel: give no "
				  "\"kernel\" or \"ramdisk\" with it");
		return -EINVAL;
	}
	if ((cr->bootdisk || cr->bootentry) && !cr->bootloader) {
		ctl_msg_set_error(rep, "create: \"bootdisk\" and \"bootentry\" need \"bootloader\"");
		return -EINVAL;
	}
	if (cr->cmdline && strlen(cr->cmdline) > MAX_CMDLINE) {
		ctl_msg_set_error(rep, "cmdline: longer than %d bytes", MAX_CMDLINE);
		return -EINVAL;
	}
	if (get_u64(req, "memory", 1, MAX_MEMORY_MIB, 128, &cr->memory_mib, rep) ||
	    get_u64(req, "maxmem", 1, MAX_MEMORY_MIB, cr->memory_mib, &cr->maxmem_mib, rep) ||
	    get_u64(req, "vcpus", 1, MAX_VCPUS_WIRE, 1, &vcpus, rep) ||
	    get_u64(req, "maxvcpus", 1, MAX_VCPUS_WIRE, vcpus, &maxvcpus, rep) ||
	    get_action(req, "on_poweroff", &cr->on_poweroff, rep) ||
	    get_action(req, "on_reboot", &cr->on_reboot, rep) ||
	    get_action(req, "on_crash", &cr->on_crash, rep) ||
	    get_bool(req, "paused", &cr->paused, rep) ||
	    get_bool(req, "console", console, rep) ||
	    get_int_opt(req, "weight", 1, 65535, &cr->weight, rep) ||
	    get_int_opt(req, "cap", 0, 65535, &cr->cap, rep))
		return -EINVAL;
	if (cr->maxmem_mib < cr->memory_mib) {
		ctl_msg_set_error(rep, "maxmem (%llu) is less than memory (%llu)",
				  (unsigned long long)cr->maxmem_mib,
				  (unsigned long long)cr->memory_mib);
		return -EINVAL;
	}
	if (maxvcpus < vcpus) {
		ctl_msg_set_error(rep, "maxvcpus (%llu) is less than vcpus (%llu)",
				  (unsigned long long)maxvcpus, (unsigned long long)vcpus);
		return -EINVAL;
	}
	cr->vcpus = (unsigned)vcpus;
	cr->max_vcpus = (unsigned)maxvcpus;
	return 0;
}

/* 8-4-4-4-12 hex digits. */
static int uuid_parse(const char *s, uint8_t out[16])
{
	static const char *const shape = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	unsigned n = 0;

	if (strlen(s) != strlen(shape))
		return -EINVAL;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == '-') {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (v < 0)
			return -EINVAL;
		out[n / 2] = (uint8_t)(n % 2 ? out[n / 2] | v : v << 4);
		n++;
	}
	return 0;
}

static void uuid_format(const uint8_t u[16], char buf[37])
{
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
		 u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* Parse a BDF field; the error names the bad part (pci_bdf_parse's why). */
static int get_bdf(const char *v, struct pci_bdf *bdf, struct ctl_msg *rep)
{
	char why[160];

	if (pci_bdf_parse(bdf, v, why, sizeof why)) {
		ctl_msg_set_error(rep, "bad PCI address \"%s\": %s", v, why);
		return -EINVAL;
	}
	return 0;
}

#define MAX_PCI_PER_DOMAIN 16

/* pci=BDF[,BDF...] of create. */
static int get_pci_list(const struct ctl_msg *req, struct pci_bdf *out, size_t *n,
			struct ctl_msg *rep)
{
	const char *v = ctl_msg_get(req, "pci");
	char buf[CTL_MAX_LINE + 1], *save = NULL;

	*n = 0;
	if (!v)
		return 0;
	snprintf(buf, sizeof buf, "%s", v);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (*n == MAX_PCI_PER_DOMAIN) {
			ctl_msg_set_error(rep, "pci: more than %d devices", MAX_PCI_PER_DOMAIN);
			return -E2BIG;
		}
		if (get_bdf(t, &out[(*n)++], rep))
			return -EINVAL;
	}
	return 0;
}

/* disk0, disk1, ...: the xl disk specs, in order, without gaps. */
static int get_disks(const struct ctl_msg *req, const char **out, size_t *n, struct ctl_msg *rep)
{
	char key[16];

	*n = 0;
	for (unsigned i = 0; i < KXEND_MAX_DISKS; i++) {
		snprintf(key, sizeof key, "disk%u", i);
		const char *v = ctl_msg_get(req, key);
		if (!v)
			break;
		out[(*n)++] = v;
	}
	/* check_fields allowed disk0..disk15 only; one past a gap is an error. */
	for (size_t i = 0; i < req->nr_fields; i++) {
		const char *f = req->fields[i].key;
		if (!strncmp(f, "disk", 4) && strtoul(f + 4, NULL, 10) >= *n) {
			ctl_msg_set_error(rep, "create: %s without the disks before it", f);
			return -EINVAL;
		}
	}
	return 0;
}

static void cmd_create(struct kxend *k, struct client *c, const struct ctl_msg *req,
		       struct ctl_msg *rep)
{
	static const char *const known[] = {
		"name", "memory", "maxmem", "vcpus", "maxvcpus", "kernel", "ramdisk",
		"cmdline", "on_poweroff", "on_reboot", "on_crash", "paused", "console",
		"uuid", "pci", "pool", "weight", "cap", "cpus", "cpus_soft", "bootloader",
		"bootdisk", "bootentry", "max_grant_frames", "disk0", "disk1", "disk2", "disk3",
		"disk4", "disk5", "disk6", "disk7", "disk8", "disk9", "disk10", "disk11",
		"disk12", "disk13", "disk14", "disk15", NULL,
	};
	_Static_assert(KXEND_MAX_DISKS == 16, "the known list names every disk field");
	struct domain_create_req cr = { 0 };
	struct pci_bdf pci[MAX_PCI_PER_DOMAIN];
	const char *disks[KXEND_MAX_DISKS];
	struct kdom *kd;
	bool console = false;
	char err[1024] = "";
	const char *uuid;
	uint64_t gframes;

	if (check_fields(req, known, rep) || parse_create(req, &cr, &console, rep) ||
	    get_pci_list(req, pci, &cr.nr_pcidevs, rep) ||
	    get_disks(req, disks, &cr.nr_disks, rep) ||
	    get_u64(req, "max_grant_frames", 1, DOMAIN_MAX_GRANT_FRAMES,
		    DOMAIN_DEFAULT_GRANT_FRAMES, &gframes, rep))
		return;
	cr.disks = disks;
	cr.max_grant_frames = (unsigned)gframes;
	cr.pcidevs = pci;
	if ((uuid = ctl_msg_get(req, "uuid"))) {
		if (uuid_parse(uuid, cr.uuid)) {
			ctl_msg_set_error(rep, "uuid: expected 8-4-4-4-12 hex digits, got \"%s\"", uuid);
			return;
		}
		cr.has_uuid = true;
	}
	if (kd_create(k, &cr, console ? c : NULL, &kd, err, sizeof err)) {
		ctl_msg_set_error(rep, "cannot create domain %s: %s", cr.name, err);
		c->mode = CLIENT_CONTROL;
		return;
	}
	ctl_msg_set_head(rep, "ok");
	ctl_msg_addf(rep, "domid", "%u", kd->domid);
	ctl_msg_add(rep, "name", kd->name);
}

/* Host memory in MiB and CPU count for the Domain-0 line, like xl shows
 * the control domain: here the host plays Domain-0. */
static void add_dom0_record(struct ctl_msg *rep)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct timespec ts;
	uint64_t cpu_ns = 0;

	/* The daemon's own CPU time (its loop and vCPU threads). */
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0)
		cpu_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	ctl_msg_add(rep, "name", "Domain-0");
	ctl_msg_add(rep, "domid", "0");
	ctl_msg_addf(rep, "mem", "%llu", pages > 0 && psize > 0 ?
		     (unsigned long long)pages * (unsigned long long)psize >> 20 : 0ull);
	ctl_msg_addf(rep, "vcpus", "%ld", cpus > 0 ? cpus : 1);
	ctl_msg_add(rep, "state", "r-----");
	ctl_msg_addf(rep, "cpu_ns", "%llu", (unsigned long long)cpu_ns);
	ctl_msg_add(rep, "uuid", "00000000-0000-0000-0000-000000000000");
	uint64_t kib = pages > 0 && psize > 0 ?
		(unsigned long long)pages * (unsigned long long)psize >> 10 : 0ull;
	ctl_msg_addf(rep, "max_memkb", "%llu", (unsigned long long)kib);
	ctl_msg_addf(rep, "target_memkb", "%llu", (unsigned long long)kib);
	ctl_msg_addf(rep, "max_vcpus", "%ld", cpus > 0 ? cpus : 1);
	/* The host has been "Domain-0" since it booted. */
	struct timespec boot;
	if (clock_gettime(CLOCK_BOOTTIME, &boot) == 0)
		ctl_msg_addf(rep, "start_time", "%lld", (long long)(time(NULL) - boot.tv_sec));
}

static void add_pci_field(struct kdom *kd, struct ctl_msg *rep)
{
	char buf[MAX_PCI_PER_DOMAIN * PCI_BDF_STRLEN + 1] = "";
	size_t used = 0;

	for (size_t i = 0; i < kd->nr_pcidevs && used + PCI_BDF_STRLEN < sizeof buf; i++) {
		char name[PCI_BDF_STRLEN];
		pci_bdf_format(&kd->pcidevs[i], name, sizeof name);
		used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i ? "," : "", name);
	}
	if (used)
		ctl_msg_add(rep, "pci", buf);
}

static void add_dom_record(struct kdom *kd, struct ctl_msg *rep)
{
	char state[7];
	uint64_t cpu_ns, mem_kib;
	unsigned vcpus;

	kd_state(kd, state, &cpu_ns, &mem_kib, &vcpus);
	ctl_msg_add(rep, "name", kd->name);
	ctl_msg_addf(rep, "domid", "%u", kd->domid);
	ctl_msg_addf(rep, "mem", "%llu", (unsigned long long)mem_kib / 1024);
	ctl_msg_addf(rep, "vcpus", "%u", vcpus);
	ctl_msg_add(rep, "state", state);
	ctl_msg_addf(rep, "cpu_ns", "%llu", (unsigned long long)cpu_ns);
	if (kd->d)
		ctl_msg_addf(rep, "traps", "%llu", (unsigned long long)domain_trap_count(kd->d));

	char uuid[37];
	uuid_format(kd->uuid, uuid);
	ctl_msg_add(rep, "uuid", uuid);
	ctl_msg_addf(rep, "max_memkb", "%llu", (unsigned long long)kd->max_kib);
	ctl_msg_addf(rep, "target_memkb", "%llu", (unsigned long long)kd->target_kib);
	ctl_msg_addf(rep, "max_vcpus", "%u", kd->max_vcpus);
	ctl_msg_addf(rep, "start_time", "%lld", (long long)kd->start_time);
	ctl_msg_add(rep, "kernel", kd->kernel ? kd->kernel : "");
	if (kd->ramdisk)
		ctl_msg_add(rep, "ramdisk", kd->ramdisk);
	if (kd->cmdline)
		ctl_msg_add(rep, "cmdline", kd->cmdline);
	if (kd->bootloader) {
		ctl_msg_add(rep, "bootloader", kd->bootloader);
		ctl_msg_add(rep, "bootdisk", kd->bootdisk);
		if (kd->bootentry)
			ctl_msg_add(rep, "bootentry", kd->bootentry);
	}
	ctl_msg_add(rep, "on_poweroff", kd_action_name(kd->on_poweroff));
	ctl_msg_add(rep, "on_reboot", kd_action_name(kd->on_reboot));
	ctl_msg_add(rep, "on_crash", kd_action_name(kd->on_crash));
	ctl_msg_addf(rep, "restarts", "%u", kd->restarts);
	if (state[3] == 's' || state[4] == 'c')
		ctl_msg_addf(rep, "shutdown_reason", "%u", atomic_load(&kd->shutdown_reason));
	add_pci_field(kd, rep);
	ctl_msg_addf(rep, "max_grant_frames", "%u",
		     kd->max_grant_frames ? kd->max_grant_frames : DOMAIN_DEFAULT_GRANT_FRAMES);
	for (size_t i = 0; i < kd->nr_disks; i++)
		ctl_msg_add(rep, "disk", kd->disks[i]);
}

static int kd_cmp_domid(const void *a, const void *b)
{
	const struct kdom *x = *(struct kdom *const *)a, *y = *(struct kdom *const *)b;
	return (int)x->domid - (int)y->domid;
}

/* Every domain, by domid (replies list them as xl does). */
static size_t sorted_domains(struct kxend *k, struct kdom *out[KXEND_MAX_DOMAINS])
{
	size_t n = 0;

	for (struct kdom *kd = k->doms; kd && n < KXEND_MAX_DOMAINS; kd = kd->next)
		out[n++] = kd;
	qsort(out, n, sizeof out[0], kd_cmp_domid);
	return n;
}

/* Commands whose only field is an optional `dom`: records of that domain,
 * or of every domain by domid. */
static void reply_dom_records(struct kxend *k, const struct ctl_msg *req, struct ctl_msg *rep,
			      void (*add)(struct kxend *k, struct kdom *kd, struct ctl_msg *rep))
{
	static const char *const known[] = { "dom", NULL };
	struct kdom *sorted[KXEND_MAX_DOMAINS], *kd = NULL;

	if (check_fields(req, known, rep))
		return;
	if (ctl_msg_get(req, "dom") && !(kd = need_domain(k, req, rep)))
		return;
	ctl_msg_set_head(rep, "ok");
	if (kd) {
		add(k, kd, rep);
		return;
	}
	size_t n = sorted_domains(k, sorted);
	for (size_t i = 0; i < n; i++)
		add(k, sorted[i], rep);
}

static void cmd_list(struct kxend *k, struct client *c, const struct ctl_msg *req,
		     struct ctl_msg *rep)
{
	static const char *const known[] = { "dom", NULL };
	struct kdom *sorted[KXEND_MAX_DOMAINS], *kd;
	size_t n = 0;

	if (check_fields(req, known, rep))
		return;
	const char *spec = ctl_msg_get(req, "dom");
	if (spec && (!strcmp(spec, "0") || !strcmp(spec, "Domain-0"))) {
		ctl_msg_set_head(rep, "ok");
		add_dom0_record(rep);
		return;
	}
	if (spec) {
		if (!(kd = need_domain(k, req, rep)))
			return;
		ctl_msg_set_head(rep, "ok");
		add_dom_record(kd, rep);
		return;
	}
	n = sorted_domains(k, sorted);
	ctl_msg_set_head(rep, "ok");
	add_dom0_record(rep);
	for (size_t i = 0; i < n; i++)
		add_dom_record(sorted[i], rep);
}

static void cmd_destroy(struct kxend *k, struct client *c, const struct ctl_msg *req,
			struct ctl_msg *rep)
{
	static const char *const known[] = { "dom", NULL };
	struct kdom *kd;

	if (check_fields(req, known, rep) || !(kd = need_domain(k, req, rep)))
		return;
	kd_destroy(k, kd, "destroy requested");
	ctl_msg_set_head(rep, "ok");
}

static void cmd_shutdown(struct kxend *k, struct client *c, const struct ctl_msg *req,
			 struct ctl_msg *rep)
{
	static const char *const known[] = { "dom", "action", NULL };
	const char *action = ctl_msg_get(req, "action");
	struct kdom *kd;

	if (check_fields(req, known, rep) || !(kd = need_domain(k, req, rep)))
		return;
	if (!action)
		action = "poweroff";
	if (strcmp(action, "poweroff") && strcmp(action, "reboot")) {
		ctl_msg_set_error(rep, "action: expected poweroff or reboot, got \"%s\"", action);
		return;
	}
	int rc = kd_request_shutdown(k, kd, action);
	if (rc) {
		ctl_msg_set_error(rep, "cannot write control/shutdown of %s: %s", kd->name,
				  strerror(-rc));
		return;
	}
	ctl_msg_set_head(rep, "ok");
	ctl_msg_addf(rep, "domid", "%u", kd->domid);
}

static void cmd_pause(struct kxend *k, struct client *c, const struct ctl_msg *req,
		      struct ctl_msg *rep)
{
	static const char *const known[] = { "dom", NULL };
	struct kdom *kd;

	if (check_fields(req, known, rep) || !(kd = need_domain(k, req, rep)))
		return;
	if (!strcmp(req->head, "pause"))
		domain_pause(kd->d);
	else
		domain_unpause(kd->d);
	log_info("domain %u (%s) %sd", kd->domid, kd->name, req->head);
	ctl_msg_set_head(rep, "ok");
}

static void cmd_console(struct kxend *k, struct client *c, const struct ctl_msg *req,
			struct ctl_msg *rep)
{
	static const char *const known[] = { "dom", NULL };
	struct kdom *kd;

	if (check_fields(req, known, rep) || !(kd = need_domain(k, req, rep)))
		return;
	ctl_msg_set_head(rep, "ok");
	ctl_msg_addf(rep, "domid", "%u", kd->domid);
	ctl_msg_add(rep, "name", kd->name);
	console_attach(kd, c);
	log_info("console of domain %u (%s) attached", kd->domid, kd->name);
}

static void cmd_version(struct kxend *k, struct client *c, const struct ctl_msg *req,
			struct ctl_msg *rep)
{
	static const char *const known[] = { NULL };

	if (check_fields(req, known, rep))
		return;
	ctl_msg_set_head(rep, "ok");
	ctl_msg_addf(rep, "protocol", "%d", CTL_VERSION);
	ctl_msg_addf(rep, "pid", "%ld", (long)getpid());
}

static void cmd_rename(struct kxend *k, struct client *c, const struct ctl_msg *req,
		       struct ctl_msg *rep)
{
	static const char *const known[] = { "dom", "name", NULL };
	const char *name = ctl_msg_get(req, "name");
	struct kdom *kd;
	char err[256];

	if (check_fields(req, known, rep) || !(kd = need_domain(k, req, rep)))
		return;
	if (!name) {
		ctl_msg_set_error(rep, "rename: missing field \"name\"");
		return;
	}
	if (kd_rename(k, kd, name, err, sizeof err)) {
		ctl_msg_set_error(rep, "cannot rename domain %u: %s", kd->domid, err);
		return;
	}
	ctl_msg_set_head(rep, "ok");
	ctl_msg_addf(rep, "domid", "%u", kd->domid);
}

static int xs_home_write(struct kxend *k, struct kdom *kd, const char *rel, const char *val)
{
	char path[128];

	snprintf(path, sizeof path, "/local/domain/%u/%s", kd->domid, rel);
	return xs_write_str(k->xs, path, val);
}

/* Deliver the watch events the writes raised, as kd_request_shutdown does. */
static void xs_kick(struct kxend *k)
{
	kd_serve_store(k);
}

/* mem-set (memory/target, the balloon driver's goal) and mem-max
 * (memory/static-max); both in KiB on the wire. */
static void cmd_mem(struct kxend *k, struct client *c, const struct ctl_msg *req,
		    struct ctl_msg *rep)
{
	static const char *const known[] = { "dom", "kib", NULL };
	bool is_max = !strcmp(req->head, "mem-max");
	struct kdom *kd;
	uint64_t kib;
	char num[32];

	if (check_fields(req, known, rep) || !(kd = need_domain(k, req, rep)))
		return;
	if (!ctl_msg_get(req, "kib")) {
		ctl_msg_set_error(rep, "%s: missing field \"kib\"", req->head);
		return;
	}
	if (get_u64(req, "kib", 1, MAX_MEMORY_MIB * 1024, 0, &kib, rep))
		return;
	uint64_t built = kd->maxmem_mib * 1024;
	if (is_max && kib > built) {
		ctl_msg_set_error(rep, "cannot raise the maximum memory of %s to %llu KiB: it was "
				  "built with %llu KiB", kd->name, (unsigned long long)kib,
				  (unsigned long long)built);
		return;
	}
	if (is_max && kib < kd->target_kib) {
		ctl_msg_set_error(rep, "memory_static_max must be greater than or equal to "
				  "memory_dynamic_max (target %llu KiB)",
				  (unsigned long long)kd->target_kib);
		return;
	}
	if (!is_max && kib > kd->max_kib) {
		ctl_msg_set_error(rep, "cannot set the memory target of %s to %llu KiB: its maximum "
				  "is %llu KiB (xl mem-max)", kd->name, (unsigned long long)kib,
				  (unsigned long long)kd->max_kib);
		return;
	}
	snprintf(num, sizeof num, "%llu", (unsigned long long)kib);
	int rc = xs_home_write(k, kd, is_max ? "memory/static-max" : "memory/target", num);
	if (rc) {
		ctl_msg_set_error(rep, "cannot write the memory node of %s: %s", kd->name,
				  strerror(-rc));
		return;
	}
	if (is_max)
		kd->max_kib = kib;
	else
		kd->target_kib = kib;
	xs_kick(k);
	log_info("domain %u (%s): %s %llu KiB", kd->domid, kd->name,
		 is_max ? "maximum memory" : "memory target", (unsigned long long)kib);
	ctl_msg_set_head(rep, "ok");
}

/* cpu/<n>/availability = online/offline for every possible vCPU, which is
 * what Linux's xen cpu hotplug watches. */
static void cmd_vcpu_set(struct kxend *k, struct client *c, const struct ctl_msg *req,
			 struct ctl_msg *rep)
{
	static const char *const known[] = { "dom", "vcpus", NULL };
	struct kdom *kd;
	uint64_t n;
	int rc = 0;

	if (check_fields(req, known, rep) || !(kd = need_domain(k, req, rep)))
		return;
	if (!ctl_msg_get(req, "vcpus")) {
		ctl_msg_set_error(rep, "vcpu-set: missing field \"vcpus\"");
		return;
	}
	if (get_u64(req, "vcpus", 1, MAX_VCPUS_WIRE, 1, &n, rep))
		return;
	if (n > kd->max_vcpus) {
		ctl_msg_set_error(rep, "cannot set %llu vCPUs on %s: its maxvcpus is %u",
				  (unsigned long long)n, kd->name, kd->max_vcpus);
		return;
	}
	for (unsigned i = 0; i < kd->max_vcpus && !rc; i++) {
		char rel[64];
		snprintf(rel, sizeof rel, "cpu/%u/availability", i);
		rc = xs_home_write(k, kd, rel, i < n ? "online" : "offline");
	}
	if (rc) {
		ctl_msg_set_error(rep, "cannot write cpu availability of %s: %s", kd->name,
				  strerror(-rc));
		return;
	}
	xs_kick(k);
	log_info("domain %u (%s): %llu of %u vCPUs online", kd->domid, kd->name,
		 (unsigned long long)n, kd->max_vcpus);
	ctl_msg_set_head(rep, "ok");
}

static void cmd_pci(struct kxend *k, struct client *c, const struct ctl_msg *req,
		    struct ctl_msg *rep)
{
	static const char *const known[] = { "dom", "bdf", NULL };
	bool attach = !strcmp(req->head, "pci-attach");
	const char *v = ctl_msg_get(req, "bdf");
	char name[PCI_BDF_STRLEN], err[1024];
	struct pci_bdf bdf;
	struct kdom *kd;

	if (check_fields(req, known, rep) || !(kd = need_domain(k, req, rep)))
		return;
	if (!v) {
		ctl_msg_set_error(rep, "%s: missing field \"bdf\"", req->head);
		return;
	}
	if (get_bdf(v, &bdf, rep))
		return;
	pci_bdf_format(&bdf, name, sizeof name);
	if (!attach) {
		for (size_t i = 0; i < kd->nr_pcidevs; i++) {
			if (pci_bdf_equal(&kd->pcidevs[i], &bdf)) {
				kd->pcidevs[i] = kd->pcidevs[--kd->nr_pcidevs];
				log_info("domain %u (%s): PCI device %s detached", kd->domid,
					 kd->name, name);
				ctl_msg_set_head(rep, "ok");
				return;
			}
		}
		ctl_msg_set_error(rep, "PCI device %s is not attached to domain %u (%s)", name,
				  kd->domid, kd->name);
		return;
	}
	if (kd->nr_pcidevs >= MAX_PCI_PER_DOMAIN) {
		ctl_msg_set_error(rep, "domain %s already has %d PCI devices", kd->name,
				  MAX_PCI_PER_DOMAIN);
		return;
	}
	if (kd_pci_check(k, &bdf, 1, err, sizeof err)) {
		ctl_msg_set_error(rep, "cannot attach PCI device %s to domain %u (%s): %s", name,
				  kd->domid, kd->name, err);
		return;
	}
	struct pci_bdf *grown = realloc(kd->pcidevs, (kd->nr_pcidevs + 1) * sizeof *grown);
	if (!grown) {
		ctl_msg_set_error(rep, "out of memory");
		return;
	}
	kd->pcidevs = grown;
	kd->pcidevs[kd->nr_pcidevs++] = bdf;
	log_info("domain %u (%s): PCI device %s recorded (no PCI backend for the guest yet)",
		 kd->domid, kd->name, name);
	ctl_msg_set_head(rep, "ok");
	ctl_msg_add(rep, "note", "kxen has no PCI backend yet: the device is reserved for "
		    "the domain but the guest does not see it");
}

/* What only the daemon knows for `xl info`; the host's own facts (CPUs,
 * memory, uname) xl reads itself. */
static void cmd_info(struct kxend *k, struct client *c, const struct ctl_msg *req,
		     struct ctl_msg *rep)
{
	static const char *const known[] = { NULL };
	uint64_t dom_kib = 0;
	char cmdline[1024] = "";

	if (check_fields(req, known, rep))
		return;
	for (struct kdom *kd = k->doms; kd; kd = kd->next)
		dom_kib += kd->memory_mib * 1024;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
		close(fd);
		for (ssize_t i = 0; i < n; i++)
			if (cmdline[i] == 0 || cmdline[i] == '\n' || cmdline[i] == '\r')
				cmdline[i] = i == n - 1 ? 0 : ' ';
		cmdline[n > 0 ? n : 0] = 0;
	}
	ctl_msg_set_head(rep, "ok");
	/* The Xen version guests are told (XENVER_version/extraversion in
	 * src/core/hypercall.c). */
	ctl_msg_add(rep, "xen_major", "4");
	ctl_msg_add(rep, "xen_minor", "19");
	ctl_msg_add(rep, "xen_extra", ".0-kxen");
	ctl_msg_add(rep, "xen_caps", "xen-3.0-x86_64");
	/* Pool-0's scheduler, as Xen reports its default one. */
	struct cpupool_info p0;
	ctl_msg_add(rep, "xen_scheduler", dispatch_cpupool_get(k->dp, 0, &p0) ? "host" : p0.sched);
	ctl_msg_addf(rep, "xen_pagesize", "%ld", sysconf(_SC_PAGESIZE));
	ctl_msg_add(rep, "xen_commandline", cmdline);
	ctl_msg_addf(rep, "domains_memkb", "%llu", (unsigned long long)dom_kib);
	ctl_msg_addf(rep, "nr_domains", "%u", k->nr_doms);
	ctl_msg_addf(rep, "pid", "%ld", (long)getpid());
}

#define DMESG_MAX_LINES 4000

/* The daemon's log is its console ring: the last DMESG_MAX_LINES lines
 * since the last clear. */
static void cmd_dmesg(struct kxend *k, struct client *c, const struct ctl_msg *req,
		      struct ctl_msg *rep)
{
	static const char *const known[] = { "clear", NULL };
	char path[PATH_MAX + 16], *buf = NULL;
	bool clear;
	size_t len = 0, cap = 0;
	int fd;

	if (check_fields(req, known, rep) || get_bool(req, "clear", &clear, rep))
		return;
	snprintf(path, sizeof path, "%s/kxend.log", k->rundir);
	fd = openat(k->run_fd, "kxend.log", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ctl_msg_set_error(rep, "cannot open %s: %s", path, strerror(errno));
		return;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size >= 0 && (uint64_t)size >= k->dmesg_from ? (off_t)k->dmesg_from : 0;
	/* At most 4000 lines of at most 4000 bytes: 16 MiB would be absurd,
	 * read the last 2 MiB. */
	if (size > from + (2 << 20))
		from = size - (2 << 20);
	if (lseek(fd, from, SEEK_SET) < 0) {
		ctl_msg_set_error(rep, "cannot seek %s: %s", path, strerror(errno));
		close(fd);
		return;
	}
	for (;;) {
		if (len + 65536 > cap) {
			char *p = realloc(buf, cap ? cap * 2 : 65536 * 2);
			if (!p)
				break;
			buf = p;
			cap = cap ? cap * 2 : 65536 * 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	ctl_msg_set_head(rep, "ok");
	size_t nl = 0, start = 0;
	for (size_t i = 0; i < len; i++)
		nl += buf[i] == '\n';
	for (size_t skip = nl > DMESG_MAX_LINES ? nl - DMESG_MAX_LINES : 0; skip && start < len;
	     start++)
		skip -= buf[start] == '\n';
	for (size_t i = start; i < len;) {
		size_t e = i;
		while (e < len && buf[e] != '\n')
			e++;
		size_t l = e - i > CTL_MAX_LINE - 16 ? CTL_MAX_LINE - 16 : e - i;
		for (size_t j = i; j < i + l; j++)
			if ((unsigned char)buf[j] < 0x20 && buf[j] != '\t')
				buf[j] = '?';
		char saved = buf[i + l];
		buf[i + l] = 0;
		ctl_msg_add(rep, "line", buf + i);
		buf[i + l] = saved;
		i = e + 1;
	}
	free(buf);
	if (clear && size >= 0)
		k->dmesg_from = (uint64_t)size;
}

/* ---- scheduling and cpupools (xl sched-credit, cpupool-*, vcpu-*) ------------ */

static int need_pool(struct kxend *k, const struct ctl_msg *req, struct ctl_msg *rep)
{
	const char *spec = ctl_msg_get(req, "pool");
	int id;

	if (!spec) {
		ctl_msg_set_error(rep, "%s: missing field \"pool\"", req->head);
		return -EINVAL;
	}
	id = dispatch_cpupool_lookup(k->dp, spec);
	if (id == -ENOSYS)
		ctl_msg_set_error(rep, "kxend runs without a scheduler");
	else if (id < 0)
		ctl_msg_set_error(rep, "cpupool %s does not exist", spec);
	return id;
}

static const char *pool_name(struct kxend *k, int id, struct cpupool_info *buf)
{
	if (id < 0 || dispatch_cpupool_get(k->dp, id, buf))
		return "?";
	return buf->name;
}

static void add_sched_record(struct kxend *k, struct kdom *kd, struct ctl_msg *rep)
{
	struct cpupool_info pi;
	int weight = 0, cap = 0, id = domain_cpupool(kd->d);

	domain_sched_get(kd->d, &weight, &cap);
	ctl_msg_addf(rep, "domid", "%u", kd->domid);
	ctl_msg_add(rep, "name", kd->name);
	ctl_msg_add(rep, "pool", pool_name(k, id, &pi));
	ctl_msg_add(rep, "sched", id >= 0 ? pi.sched : "?");
	ctl_msg_addf(rep, "weight", "%d", weight);
	ctl_msg_addf(rep, "cap", "%d", cap);
}

static void cmd_sched_get(struct kxend *k, struct client *c, const struct ctl_msg *req,
			  struct ctl_msg *rep)
{
	reply_dom_records(k, req, rep, add_sched_record);
}

static void cmd_sched_set(struct kxend *k, struct client *c, const struct ctl_msg *req,
			  struct ctl_msg *rep)
{
	static const char *const known[] = { "dom", "weight", "cap", NULL };
	struct kdom *kd;
	uint64_t w, cap;
	int rc;

	if (check_fields(req, known, rep) || !(kd = need_domain(k, req, rep)))
		return;
	const char *ws = ctl_msg_get(req, "weight"), *cs = ctl_msg_get(req, "cap");
	if (ws && (ctl_parse_u64(ws, 1, 65535, &w))) {
		ctl_msg_set_error(rep, "Cpu weight out of range, valid values are within range "
				  "from 1 to 65535");
		return;
	}
	if (cs && (ctl_parse_u64(cs, 0, 100ull * kd->max_vcpus, &cap))) {
		ctl_msg_set_error(rep, "Cpu cap out of range, valid range is from 0 to %u for "
				  "specified number of vcpus", 100 * kd->max_vcpus);
		return;
	}
	rc = domain_sched_set(kd->d, ws ? (int)w : -1, cs ? (int)cap : -1);
	if (rc) {
		ctl_msg_set_error(rep, "cannot set scheduling parameters of %s: %s", kd->name,
				  strerror(-rc));
		return;
	}
	log_info("domain %u (%s): scheduling parameters weight %s cap %s", kd->domid, kd->name,
		 ws ? ws : "(kept)", cs ? cs : "(kept)");
	ctl_msg_set_head(rep, "ok");
}

static void cmd_cpupool_list(struct kxend *k, struct client *c, const struct ctl_msg *req,
			     struct ctl_msg *rep)
{
	static const char *const known[] = { "pool", NULL };
	struct cpupool_info *pi;
	char free_cpus[256] = "";
	int n, only = -1;

	if (check_fields(req, known, rep))
		return;
	if (ctl_msg_get(req, "pool") && (only = need_pool(k, req, rep)) < 0)
		return;
	pi = calloc(64, sizeof *pi);
	if (!pi) {
		ctl_msg_set_error(rep, "out of memory");
		return;
	}
	n = dispatch_cpupool_list(k->dp, pi, 64);
	if (n < 0) {
		ctl_msg_set_error(rep, "kxend runs without a scheduler");
		free(pi);
		return;
	}
	dispatch_free_cpus(k->dp, free_cpus, sizeof free_cpus);
	ctl_msg_set_head(rep, "ok");
	ctl_msg_add(rep, "free_cpus", free_cpus);
	for (int i = 0; i < n; i++) {
		if (only >= 0 && pi[i].id != only)
			continue;
		ctl_msg_add(rep, "pool", pi[i].name);
		ctl_msg_addf(rep, "id", "%d", pi[i].id);
		ctl_msg_add(rep, "sched", pi[i].sched);
		ctl_msg_add(rep, "cpus", pi[i].cpus);
		ctl_msg_addf(rep, "n_cpus", "%u", pi[i].n_cpus);
		ctl_msg_addf(rep, "n_dom", "%u", pi[i].n_dom);
		ctl_msg_addf(rep, "tslice_ms", "%d", pi[i].tslice_ms);
		ctl_msg_addf(rep, "ratelimit_us", "%d", pi[i].ratelimit_us);
		ctl_msg_addf(rep, "migr_delay_us", "%d", pi[i].migr_delay_us);
	}
	free(pi);
}

static void cmd_cpupool_set(struct kxend *k, struct client *c, const struct ctl_msg *req,
			    struct ctl_msg *rep)
{
	static const char *const known[] = { "pool", "tslice_ms", "ratelimit_us", "migr_delay_us",
					     NULL };
	struct cpupool_info pi;
	uint64_t t = 0, r = 0, m = 0;
	int id;

	if (check_fields(req, known, rep) || (id = need_pool(k, req, rep)) < 0)
		return;
	const char *ts = ctl_msg_get(req, "tslice_ms"), *rs = ctl_msg_get(req, "ratelimit_us");
	const char *ms = ctl_msg_get(req, "migr_delay_us");
	if (dispatch_cpupool_get(k->dp, id, &pi)) {
		ctl_msg_set_error(rep, "cpupool went away");
		return;
	}
	if (ts && strcmp(pi.sched, "credit")) {
		ctl_msg_set_error(rep, "cpupool %s runs %s, which has no time slice", pi.name,
				  pi.sched);
		return;
	}
	if (ms && strcmp(pi.sched, "credit")) {
		ctl_msg_set_error(rep, "cpupool %s runs %s, which has no migration delay", pi.name,
				  pi.sched);
		return;
	}
	if (ts && ctl_parse_u64(ts, 1, 1000, &t)) {
		ctl_msg_set_error(rep, "Time slice out of range, valid range is from 1 to 1000");
		return;
	}
	if (rs && (ctl_parse_u64(rs, 0, 500000, &r) || (r && r < 100))) {
		ctl_msg_set_error(rep, "Ratelimit out of range, valid range is from 100 to 500000");
		return;
	}
	if (!strcmp(pi.sched, "credit") && (rs ? r : (uint64_t)pi.ratelimit_us) >
	    1000 * (ts ? t : (uint64_t)pi.tslice_ms)) {
		ctl_msg_set_error(rep, "Ratelimit cannot be greater than timeslice");
		return;
	}
	if (ms && ctl_parse_u64(ms, 0, 100000, &m)) { /* Xen's limit: 100 ms */
		ctl_msg_set_error(rep, "Migration delay out of range: 0 (off) to 100000 "
				  "microseconds");
		return;
	}
	int rc = dispatch_cpupool_set_params(k->dp, id, ts ? (int)t : -1, rs ? (int)r : -1,
					     ms ? (int)m : -1);
	if (rc) {
		ctl_msg_set_error(rep, "cannot set the parameters of cpupool %s: %s", pi.name,
				  strerror(-rc));
		return;
	}
	log_info("cpupool %s: tslice %s ms, ratelimit %s us, migration delay %s us", pi.name,
		 ts ? ts : "(kept)", rs ? rs : "(kept)", ms ? ms : "(kept)");
	ctl_msg_set_head(rep, "ok");
}

/* "0,2": the free CPUs of NUMA nodes 0 and 2, as a CPU list. */
static int free_cpus_of_nodes(struct kxend *k, const char *nodes, char *out, size_t len)
{
	int in_nodes[DISPATCH_MAX_CPUS], free_cpus[DISPATCH_MAX_CPUS];
	char spec[CTL_MAX_LINE] = "", freelist[CTL_MAX_LINE];
	size_t used = 0;
	int n_in, n_free, rc;

	if (!*nodes || strspn(nodes, "0123456789,") != strlen(nodes))
		return -EINVAL;
	for (const char *p = nodes; *p;) {
		size_t l = strcspn(p, ",");
		if (!l)
			return -EINVAL;
		rc = snprintf(spec + used, sizeof spec - used, "%snode:%.*s", used ? "," : "",
			      (int)l, p);
		if (rc < 0 || (size_t)rc >= sizeof spec - used)
			return -E2BIG;
		used += (size_t)rc;
		p += l;
		if (*p == ',' && !*++p)
			return -EINVAL;
	}
	n_in = dispatch_cpulist_expand(k->dp, spec, in_nodes, DISPATCH_MAX_CPUS);
	if (n_in < 0)
		return n_in;
	rc = dispatch_free_cpus(k->dp, freelist, sizeof freelist);
	if (rc)
		return rc;
	n_free = *freelist ? dispatch_cpulist_expand(k->dp, freelist, free_cpus,
						     DISPATCH_MAX_CPUS) : 0;
	if (n_free < 0)
		return n_free;
	used = 0;
	out[0] = 0;
	for (int i = 0; i < n_in; i++)
		for (int j = 0; j < n_free; j++)
			if (in_nodes[i] == free_cpus[j]) {
				rc = snprintf(out + used, len - used, "%s%d", used ? "," : "",
					      in_nodes[i]);
				if (rc < 0 || (size_t)rc >= len - used)
					return -E2BIG;
				used += (size_t)rc;
			}
	return used ? 0 : -EBUSY;
}

static void cmd_cpupool_create(struct kxend *k, struct client *c, const struct ctl_msg *req,
			       struct ctl_msg *rep)
{
	static const char *const known[] = { "name", "sched", "cpus", "nodes", NULL };
	const char *name = ctl_msg_get(req, "name"), *sched = ctl_msg_get(req, "sched");
	const char *cpus = ctl_msg_get(req, "cpus"), *nodes = ctl_msg_get(req, "nodes");
	char node_cpus[CTL_MAX_LINE];
	int id = -1, rc;

	if (check_fields(req, known, rep))
		return;
	if (nodes && cpus) {
		ctl_msg_set_error(rep, "cpupool-create: give \"cpus\" or \"nodes\", not both");
		return;
	}
	if (nodes) {
		rc = free_cpus_of_nodes(k, nodes, node_cpus, sizeof node_cpus);
		if (rc == -EBUSY) {
			ctl_msg_set_error(rep, "no free cpu found in nodes %s", nodes);
			return;
		}
		if (rc) {
			ctl_msg_set_error(rep, "nodes \"%s\": %s", nodes,
					  rc == -EINVAL ? "want node numbers like 0,1"
							: dispatch_cpulist_strerror(rc));
			return;
		}
		cpus = node_cpus;
	}
	if (!name || !*name) {
		ctl_msg_set_error(rep, "Pool name must be specified");
		return;
	}
	if (sched && strcmp(sched, "credit") && strcmp(sched, "credit2")) {
		ctl_msg_set_error(rep, "unknown scheduler \"%s\" (kxen has credit and credit2)",
				  sched);
		return;
	}
	rc = dispatch_cpupool_create(k->dp, name, sched, cpus, &id);
	switch (rc) {
	case 0:
		break;
	case -EEXIST:
		ctl_msg_set_error(rep, "Pool name \"%s\" already exists", name);
		return;
	case -EBUSY:
		ctl_msg_set_error(rep, cpus ? "cpus %s: a CPU is not free (remove it from its "
				  "pool first)" : "no free cpu found%s", cpus ? cpus : "");
		return;
	case -EINVAL:
		if (cpus) {
			ctl_msg_set_error(rep, "cannot create cpupool %s: bad name, or cpus \"%s\": %s",
					  name, cpus, dispatch_cpulist_strerror(rc));
			return;
		}
		ctl_msg_set_error(rep, "cannot create cpupool %s: bad name", name);
		return;
	case -ERANGE:
	case -ENODEV:
	case -EDOM:
		ctl_msg_set_error(rep, "cannot create cpupool %s: cpus \"%s\": %s", name,
				  cpus ? cpus : "", dispatch_cpulist_strerror(rc));
		return;
	default:
		ctl_msg_set_error(rep, "cannot create cpupool %s: %s", name, strerror(-rc));
		return;
	}
	log_info("cpupool %s (id %d) created: %s on cpus %s", name, id,
		 sched ? sched : "credit", cpus ? cpus : "(one free)");
	ctl_msg_set_head(rep, "ok");
	ctl_msg_addf(rep, "id", "%d", id);
}

static void cmd_cpupool_destroy(struct kxend *k, struct client *c, const struct ctl_msg *req,
				struct ctl_msg *rep)
{
	static const char *const known[] = { "pool", NULL };
	int id, rc;

	if (check_fields(req, known, rep) || (id = need_pool(k, req, rep)) < 0)
		return;
	rc = dispatch_cpupool_destroy(k->dp, id);
	if (rc) {
		ctl_msg_set_error(rep, "cannot destroy cpupool %s: %s", ctl_msg_get(req, "pool"),
				  rc == -EBUSY ? (id == 0 ? "it is Pool-0" : "it has domains")
					       : strerror(-rc));
		return;
	}
	log_info("cpupool %s destroyed", ctl_msg_get(req, "pool"));
	ctl_msg_set_head(rep, "ok");
}

static void cmd_cpupool_rename(struct kxend *k, struct client *c, const struct ctl_msg *req,
			       struct ctl_msg *rep)
{
	static const char *const known[] = { "pool", "name", NULL };
	const char *name = ctl_msg_get(req, "name");
	int id, rc;

	if (check_fields(req, known, rep) || (id = need_pool(k, req, rep)) < 0)
		return;
	if (!name) {
		ctl_msg_set_error(rep, "cpupool-rename: missing field \"name\"");
		return;
	}
	rc = dispatch_cpupool_rename(k->dp, id, name);
	if (rc) {
		ctl_msg_set_error(rep, "cannot rename cpupool %s to %s: %s",
				  ctl_msg_get(req, "pool"), name,
				  rc == -EEXIST ? "name in use" : rc == -EINVAL ? "bad name" :
				  strerror(-rc));
		return;
	}
	ctl_msg_set_head(rep, "ok");
}

/* cpus: a CPU list; each is added / removed in turn. */
static void cmd_cpupool_cpu(struct kxend *k, struct client *c, const struct ctl_msg *req,
			    struct ctl_msg *rep)
{
	static const char *const known[] = { "pool", "cpus", NULL };
	bool add = !strcmp(req->head, "cpupool-cpu-add");
	const char *cpus = ctl_msg_get(req, "cpus");
	int id, n = 0;

	if (check_fields(req, known, rep) || (id = need_pool(k, req, rep)) < 0)
		return;
	if (!cpus) {
		ctl_msg_set_error(rep, "%s: missing field \"cpus\"", req->head);
		return;
	}
	int list[DISPATCH_MAX_CPUS];
	int nr = dispatch_cpulist_expand(k->dp, cpus, list, DISPATCH_MAX_CPUS);
	if (nr < 0) {
		ctl_msg_set_error(rep, "cpus \"%s\": %s", cpus, dispatch_cpulist_strerror(nr));
		return;
	}
	/* Like libxl: try every CPU, fail if any failed (naming the first). */
	int bad_cpu = -1, bad_rc = 0;
	for (int i = 0; i < nr; i++) {
		int rc = add ? dispatch_cpupool_cpu_add(k->dp, id, list[i])
			     : dispatch_cpupool_cpu_remove(k->dp, id, list[i]);
		if (!rc)
			n++;
		else if (bad_cpu < 0) {
			bad_cpu = list[i];
			bad_rc = rc;
		}
	}
	if (bad_cpu >= 0) {
		const char *why =
			bad_rc == -EBUSY ? (add ? "it is in another cpupool"
						: "it is the last cpu of a pool with domains")
			: bad_rc == -EEXIST ? "it is already in this cpupool"
			: bad_rc == -EINVAL ? (add ? "kxend does not own it"
						   : "it is not in this cpupool")
			: strerror(-bad_rc);
		ctl_msg_set_error(rep, "cannot %s cpu %d %s cpupool %s: %s (%d of %d done)",
				  add ? "add" : "remove", bad_cpu, add ? "to" : "from",
				  ctl_msg_get(req, "pool"), why, n, nr);
		return;
	}
	log_info("cpupool %s: %s cpus %s", ctl_msg_get(req, "pool"), add ? "added" : "removed",
		 cpus);
	ctl_msg_set_head(rep, "ok");
	ctl_msg_addf(rep, "count", "%d", n);
}

static void cmd_cpupool_migrate(struct kxend *k, struct client *c, const struct ctl_msg *req,
				struct ctl_msg *rep)
{
	static const char *const known[] = { "dom", "pool", NULL };
	struct kdom *kd;
	int id, rc;

	if (check_fields(req, known, rep) || !(kd = need_domain(k, req, rep)) ||
	    (id = need_pool(k, req, rep)) < 0)
		return;
	rc = domain_cpupool_move(kd->d, id);
	if (rc) {
		ctl_msg_set_error(rep, "cannot move %s to cpupool %s: %s", kd->name,
				  ctl_msg_get(req, "pool"),
				  rc == -EINVAL ? "the pool has no cpus" : strerror(-rc));
		return;
	}
	log_info("domain %u (%s) moved to cpupool %s", kd->domid, kd->name,
		 ctl_msg_get(req, "pool"));
	ctl_msg_set_head(rep, "ok");
}

static void cmd_cpupool_numa_split(struct kxend *k, struct client *c, const struct ctl_msg *req,
				   struct ctl_msg *rep)
{
	static const char *const known[] = { NULL };
	int rc;

	if (check_fields(req, known, rep))
		return;
	rc = dispatch_cpupool_numa_split(k->dp);
	if (rc) {
		ctl_msg_set_error(rep, "cannot split cpupools by NUMA node: %s",
				  rc == -EBUSY ? "a cpupool other than Pool-0 exists"
					       : strerror(-rc));
		return;
	}
	ctl_msg_set_head(rep, "ok");
}

static void add_vcpu_records(struct kxend *k, struct kdom *kd, struct ctl_msg *rep)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	for (unsigned i = 0; i < kd->max_vcpus; i++) {
		struct vcpu_sched_info vi;
		if (domain_vcpu_info(kd->d, i, &vi))
			continue;
		ctl_msg_addf(rep, "domid", "%u", kd->domid);
		ctl_msg_add(rep, "name", kd->name);
		ctl_msg_addf(rep, "vcpu", "%u", i);
		ctl_msg_addf(rep, "online", "%d", vi.online);
		ctl_msg_addf(rep, "cpu", "%d", vi.cpu);
		ctl_msg_addf(rep, "running", "%d", vi.running);
		ctl_msg_addf(rep, "blocked", "%d", vi.blocked);
		ctl_msg_addf(rep, "time_ns", "%llu", (unsigned long long)vi.time_ns);
		ctl_msg_add(rep, "hard", vi.hard);
		ctl_msg_add(rep, "soft", vi.soft);
	}
	ctl_msg_addf(rep, "host_cpus", "%ld", ncpu > 0 ? ncpu : 1);
}

static void cmd_vcpu_list(struct kxend *k, struct client *c, const struct ctl_msg *req,
			  struct ctl_msg *rep)
{
	reply_dom_records(k, req, rep, add_vcpu_records);
}

/* The trap table of one domain (or one vCPU): a record per kind with a
 * non-zero count, then the hottest (kind, guest RIP) pairs. */
static void cmd_trapstat(struct kxend *k, struct client *c, const struct ctl_msg *req,
			 struct ctl_msg *rep)
{
	static const char *const known[] = { "dom", "vcpu", "hot", NULL };
	struct trapstat_row *rows = NULL;
	struct trapstat_hot *hot = NULL;
	uint64_t vcpu, nhot;
	struct kdom *kd;
	char name[64];

	if (check_fields(req, known, rep) || !(kd = need_domain(k, req, rep)))
		return;
	if (!kd->d) {
		ctl_msg_set_error(rep, "domain %s has no running instance", kd->name);
		return;
	}
	if (get_u64(req, "vcpu", 0, kd->max_vcpus, kd->max_vcpus, &vcpu, rep) ||
	    get_u64(req, "hot", 0, 1000, 20, &nhot, rep))
		return;
	int which = vcpu == kd->max_vcpus ? -1 : (int)vcpu;   /* absent: all */
	rows = calloc(TRAPSTAT_MAX_ROWS, sizeof *rows);
	hot = calloc(nhot ? nhot : 1, sizeof *hot);
	int n = rows ? domain_trapstat(kd->d, which, rows, TRAPSTAT_MAX_ROWS) : -ENOMEM;
	int nh = hot && n >= 0 ? domain_trapstat_hot(kd->d, which, hot, (int)nhot) : -ENOMEM;
	if (n < 0 || nh < 0) {
		ctl_msg_set_error(rep, "trapstat: %s", strerror(-(n < 0 ? n : nh)));
		goto out;
	}
	ctl_msg_set_head(rep, "ok");
	ctl_msg_addf(rep, "exits", "%llu", (unsigned long long)domain_trap_count(kd->d));
	for (int i = 0; i < n; i++) {
		trapstat_kind_name(rows[i].kind, name, sizeof name);
		ctl_msg_add(rep, "kind", name);
		ctl_msg_addf(rep, "exit", "%d", rows[i].is_exit);
		ctl_msg_addf(rep, "count", "%llu", (unsigned long long)rows[i].count);
		ctl_msg_addf(rep, "ns", "%llu", (unsigned long long)rows[i].ns);
	}
	for (int i = 0; i < nh; i++) {
		trapstat_kind_name(hot[i].kind, name, sizeof name);
		ctl_msg_add(rep, "hot", name);
		ctl_msg_addf(rep, "rip", "%#llx", (unsigned long long)hot[i].rip);
		ctl_msg_addf(rep, "hits", "%llu", (unsigned long long)hot[i].count);
	}
out:
	free(rows);
	free(hot);
}

static void cmd_vcpu_pin(struct kxend *k, struct client *c, const struct ctl_msg *req,
			 struct ctl_msg *rep)
{
	static const char *const known[] = { "dom", "vcpu", "hard", "soft", NULL };
	const char *vs = ctl_msg_get(req, "vcpu");
	const char *hard = ctl_msg_get(req, "hard"), *soft = ctl_msg_get(req, "soft");
	struct kdom *kd;
	uint64_t vcpu = 0;
	bool all;
	int rc = 0;

	if (check_fields(req, known, rep) || !(kd = need_domain(k, req, rep)))
		return;
	if (!vs) {
		ctl_msg_set_error(rep, "vcpu-pin: missing field \"vcpu\"");
		return;
	}
	all = !strcmp(vs, "all");
	if (!all && ctl_parse_u64(vs, 0, kd->max_vcpus - 1, &vcpu)) {
		ctl_msg_set_error(rep, "vcpu %s: domain %s has vCPUs 0 to %u", vs, kd->name,
				  kd->max_vcpus - 1);
		return;
	}
	for (unsigned i = all ? 0 : (unsigned)vcpu; i <= (all ? kd->max_vcpus - 1 : vcpu) && !rc;
	     i++)
		rc = domain_vcpu_pin(kd->d, i, hard, soft);
	if (rc) {
		ctl_msg_set_error(rep, "cannot pin vcpu %s of %s: %s", vs, kd->name,
				  dispatch_cpulist_strerror(rc));
		return;
	}
	log_info("domain %u (%s): vcpu %s affinity hard %s soft %s", kd->domid, kd->name, vs,
		 hard ? hard : "(kept)", soft ? soft : "(kept)");
	ctl_msg_set_head(rep, "ok");
}

/* ---- disks: block-attach, block-detach, block-list ------------------------------- */

static void cmd_block_attach(struct kxend *k, struct client *c, const struct ctl_msg *req,
			     struct ctl_msg *rep)
{
	static const char *const known[] = { "dom", "disk", NULL };
	const char *spec = ctl_msg_get(req, "disk");
	char err[1024];
	struct kdom *kd;

	if (check_fields(req, known, rep) || !(kd = need_domain(k, req, rep)))
		return;
	if (!spec) {
		ctl_msg_set_error(rep, "block-attach: missing field \"disk\"");
		return;
	}
	if (kd->nr_disks == KXEND_MAX_DISKS) {
		ctl_msg_set_error(rep, "domain %s has %d disks already", kd->name, KXEND_MAX_DISKS);
		return;
	}
	if (kd_disk_attach(k, kd, spec, err, sizeof err)) {
		ctl_msg_set_error(rep, "%s", err);
		return;
	}
	kd_disks_record(kd, &spec, 1);
	ctl_msg_set_head(rep, "ok");
}

/* The recorded spec of a disk by devid (-1 if none). */
static int find_disk(struct kdom *kd, int devid)
{
	for (size_t i = 0; i < kd->nr_disks; i++) {
		struct ts_disk d;
		char why[128];
		if (ts_disk_parse(&d, kd->disks[i], why, sizeof why))
			continue;
		int id = vbd_vdev_to_devid(d.vdev);
		ts_disk_dispose(&d);
		if (id == devid)
			return (int)i;
	}
	return -1;
}

static void cmd_block_detach(struct kxend *k, struct client *c, const struct ctl_msg *req,
			     struct ctl_msg *rep)
{
	static const char *const known[] = { "dom", "vdev", "force", NULL };
	const char *vdev = ctl_msg_get(req, "vdev");
	struct kdom *kd;
	bool force = false;

	if (check_fields(req, known, rep) || !(kd = need_domain(k, req, rep)) ||
	    get_bool(req, "force", &force, rep))
		return;
	int devid = vdev ? vbd_vdev_to_devid(vdev) : -EINVAL;
	if (devid < 0) {
		ctl_msg_set_error(rep, "block-detach: bad or missing \"vdev\"");
		return;
	}
	/* libxl waits 10 s for the frontend; -f does not wait. */
	if (devrt_dev_remove(k->rt, kd->domid, "vbd", (unsigned)devid, force ? 0 : 10000)) {
		ctl_msg_set_error(rep, "domain %s has no disk %s", kd->name, vdev);
		return;
	}
	int i = find_disk(kd, devid);
	if (i >= 0) {
		free(kd->disks[i]);
		kd->disks[i] = kd->disks[--kd->nr_disks];
	}
	log_info("domain %u (%s): disk %s detaching%s", kd->domid, kd->name, vdev,
		 force ? " (forced)" : "");
	ctl_msg_set_head(rep, "ok");
	ctl_msg_addf(rep, "devid", "%d", devid);
}

static void add_block_records(struct kxend *k, struct kdom *kd, struct ctl_msg *rep)
{
	struct devrt_dev_info info[KXEND_MAX_DISKS * 2];
	int n = devrt_dev_list(k->rt, kd->domid, "vbd", info, (int)ARRAY_SIZE(info));
	uint64_t traps = domain_trap_count(kd->d);

	for (int i = 0; i < n; i++) {
		ctl_msg_addf(rep, "devid", "%u", info[i].devid);
		ctl_msg_addf(rep, "domid", "%u", kd->domid);
		ctl_msg_add(rep, "vdev", info[i].vdev);
		ctl_msg_add(rep, "target", info[i].target);
		ctl_msg_add(rep, "mode", info[i].readonly ? "r" : "w");
		ctl_msg_addf(rep, "be_state", "%d", info[i].be_state);
		ctl_msg_addf(rep, "fe_state", "%d", info[i].fe_state);
		ctl_msg_addf(rep, "evtchn", "%u", info[i].evtchn);
		ctl_msg_addf(rep, "ring_ref", "%u", info[i].ring_ref);
		ctl_msg_add(rep, "be_path", info[i].be_path);
		ctl_msg_addf(rep, "requests", "%llu", (unsigned long long)info[i].requests);
		ctl_msg_addf(rep, "bytes", "%llu", (unsigned long long)info[i].bytes);
		ctl_msg_addf(rep, "events_in", "%llu", (unsigned long long)info[i].events_in);
		ctl_msg_addf(rep, "events_out", "%llu", (unsigned long long)info[i].events_out);
		ctl_msg_addf(rep, "domain_traps", "%llu", (unsigned long long)traps);
	}
}

static void cmd_block_list(struct kxend *k, struct client *c, const struct ctl_msg *req,
			   struct ctl_msg *rep)
{
	reply_dom_records(k, req, rep, add_block_records);
}

struct command {
	const char *name;
	void (*fn)(struct kxend *k, struct client *c, const struct ctl_msg *req,
		   struct ctl_msg *rep);
};

static const struct command commands[] = {
	{ "create", cmd_create },
	{ "list", cmd_list },
	{ "destroy", cmd_destroy },
	{ "shutdown", cmd_shutdown },
	{ "pause", cmd_pause },
	{ "unpause", cmd_pause },
	{ "console", cmd_console },
	{ "version", cmd_version },
	{ "rename", cmd_rename },
	{ "mem-set", cmd_mem },
	{ "mem-max", cmd_mem },
	{ "vcpu-set", cmd_vcpu_set },
	{ "block-attach", cmd_block_attach },
	{ "block-detach", cmd_block_detach },
	{ "block-list", cmd_block_list },
	{ "pci-attach", cmd_pci },
	{ "pci-detach", cmd_pci },
	{ "info", cmd_info },
	{ "dmesg", cmd_dmesg },
	{ "sched-get", cmd_sched_get },
	{ "sched-set", cmd_sched_set },
	{ "cpupool-list", cmd_cpupool_list },
	{ "cpupool-set", cmd_cpupool_set },
	{ "cpupool-create", cmd_cpupool_create },
	{ "cpupool-destroy", cmd_cpupool_destroy },
	{ "cpupool-rename", cmd_cpupool_rename },
	{ "cpupool-cpu-add", cmd_cpupool_cpu },
	{ "cpupool-cpu-remove", cmd_cpupool_cpu },
	{ "cpupool-migrate", cmd_cpupool_migrate },
	{ "cpupool-numa-split", cmd_cpupool_numa_split },
	{ "vcpu-list", cmd_vcpu_list },
	{ "vcpu-pin", cmd_vcpu_pin },
	{ "trapstat", cmd_trapstat },
};

void command_dispatch(struct kxend *k, struct client *c, struct ctl_msg *req)
{
	struct ctl_msg rep;
	const struct command *cmd = NULL;

	ctl_msg_init(&rep);
	for (size_t i = 0; i < ARRAY_SIZE(commands) && !cmd; i++)
		if (!strcmp(commands[i].name, req->head))
			cmd = &commands[i];
	if (cmd)
		cmd->fn(k, c, req, &rep);
	else
		ctl_msg_set_error(&rep, "unknown command \"%s\"", req->head);
	if (!rep.head)   /* a handler ran out of memory building its reply */
		ctl_msg_set_error(&rep, "out of memory");
	/* The first client after an unclean end hears what was lost. */
	if (k->notice && !ctl_msg_add(&rep, "notice", k->notice)) {
		free(k->notice);
		k->notice = NULL;
	}
	/* For console attach the reply must go out before any guest output
	 * queued on this client: create/console queue nothing before here
	 * because output is only emitted from the loop, after dispatch. */
	client_reply(c, &rep);
	ctl_msg_dispose(&rep);
}
