/*
 * xl create [-c] [-p] [-n] FILE.cfg [key=value...]
 *
 * The config is parsed here with the toolstack library (so its
 * line-numbered errors reach the user unchanged); the daemon gets only the
 * resulting numbers and absolute paths.
 */
#include "xl/xl.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "toolstack/toolstack.h"

/* Wire names of the actions are xl.cfg's (control-api.md). */
static const char *action_wire_name(enum ts_action a)
{
	return ts_action_xl_name(a);
}

/* The daemon runs with another working directory: relative paths are
 * resolved against ours, like xl resolves them against the caller's. */
static int absolute_path(const char *path, char *buf, size_t len)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return snprintf(buf, len, "%s", path) < (int)len ? 0 : -ENAMETOOLONG;
	if (!getcwd(cwd, sizeof cwd))
		return -errno;
	return snprintf(buf, len, "%s/%s", cwd, path) < (int)len ? 0 : -ENAMETOOLONG;
}

static int add_path(struct ctl_msg *req, const char *key, const char *path)
{
	char abs[PATH_MAX];
	int rc = absolute_path(path, abs, sizeof abs);

	if (rc) {
		xl_err("%s \"%s\": %s", key, path, strerror(-rc));
		return rc;
	}
	rc = ctl_msg_add(req, key, abs);
	if (rc)
		xl_err("%s \"%s\": cannot be sent (newline in the path?)", key, path);
	return rc;
}

static int add_uuid_pci(const struct domain_config *dc, struct ctl_msg *req);

/* cpus= / cpus_soft=: vCPU i's CPU list is entry i of "L0;L1;..."; vCPUs
 * past the end run anywhere. */
static int add_affinity(struct ctl_msg *req, const char *key, const struct ts_cpumap *maps,
			size_t nr)
{
	char buf[CTL_MAX_LINE];
	size_t used = 0;

	for (size_t i = 0; i < nr; i++) {
		char one[CTL_MAX_LINE];
		ts_cpumap_format(&maps[i], one, sizeof one);
		int n = snprintf(buf + used, sizeof buf - used, "%s%s", i ? ";" : "", one);
		if (n < 0 || (size_t)n >= sizeof buf - used) {
			xl_err("%s: the CPU lists of all vCPUs are too long to send", key);
			return -E2BIG;
		}
		used += (size_t)n;
	}
	return used ? ctl_msg_add(req, key, buf) : 0;
}

/* weight=, cap=, cpus=, cpus_soft= (applied before the first vCPU runs). */
static int add_sched(const struct domain_config *dc, struct ctl_msg *req)
{
	int rc = 0;

	if (dc->sched_weight >= 0)
		rc = ctl_msg_addf(req, "weight", "%d", dc->sched_weight);
	if (!rc && dc->sched_cap >= 0)
		rc = ctl_msg_addf(req, "cap", "%d", dc->sched_cap);
	if (rc) {
		xl_err("weight/cap cannot be sent");
		return rc;
	}
	rc = add_affinity(req, "cpus", dc->vcpu_hard_affinity, dc->nr_vcpu_hard_affinity);
	return rc ? rc : add_affinity(req, "cpus_soft", dc->vcpu_soft_affinity,
				      dc->nr_vcpu_soft_affinity);
}

/* bootloader_args=: the pygrub options that mean something here.  --args
 * replaces the command line xl.cfg gave, as it does for pygrub. */
static int bootloader_args(const struct domain_config *dc, const char **entry,
			   const char **cmdline)
{
	for (size_t i = 0; i < dc->nr_bootloader_args; i++) {
		const char *a = dc->bootloader_args[i];
		const char *next = i + 1 < dc->nr_bootloader_args ? dc->bootloader_args[i + 1] : NULL;

		if (!strncmp(a, "--entry=", 8)) {
			*entry = a + 8;
		} else if ((!strcmp(a, "--entry") || !strcmp(a, "-e")) && next) {
			*entry = next;
			i++;
		} else if (!strncmp(a, "--args=", 7)) {
			*cmdline = a + 7;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet") || !strcmp(a, "-i") ||
			   !strcmp(a, "--interactive")) {
			continue;    /* there is no menu to show */
		} else {
			xl_err("bootloader_args: \"%s\" is not supported (kxen's pygrub takes "
			       "--entry=ENTRY and --args=ARGS)", a);
			return -EINVAL;
		}
	}
	return 0;
}

/* pygrub reads the first disk, as libxl hands it the first one. */
static int add_bootloader(const struct domain_config *dc, const char *entry,
			  struct ctl_msg *req)
{
	const struct ts_disk *d = dc->nr_disks ? &dc->disks[0] : NULL;

	if (!d || !d->target || !d->target[0]) {
		xl_err("bootloader=%s needs a disk to read: give disk=[...] (the first one "
		       "is read)", dc->bootloader);
		return -EINVAL;
	}
	if (d->format != TS_DISK_FORMAT_RAW) {
		xl_err("bootloader: disk %s is %s; pygrub reads raw disks only", d->target,
		       ts_disk_format_name(d->format));
		return -EINVAL;
	}
	if (ctl_msg_add(req, "bootloader", "pygrub") ||
	    (entry && ctl_msg_add(req, "bootentry", entry))) {
		xl_err("bootloader_args: the entry cannot be sent");
		return -EINVAL;
	}
	return add_path(req, "bootdisk", d->target);
}

static int build_request(const struct domain_config *dc, bool paused, bool console,
			 struct ctl_msg *req)
{
	int rc = ctl_msg_set_head(req, "create");

	if (!dc->name || (!dc->kernel && !dc->bootloader)) {
		xl_err("the configuration names no %s", dc->name ? "kernel" : "domain name");
		return -EINVAL;
	}
	rc = rc ? rc : ctl_msg_add(req, "name", dc->name);
	/* kB in the model, MiB on the wire (rounded up, never below 1). */
	rc = rc ? rc : ctl_msg_addf(req, "memory", "%llu",
				    (unsigned long long)(dc->target_memkb + 1023) / 1024);
	rc = rc ? rc : ctl_msg_addf(req, "maxmem", "%llu",
				    (unsigned long long)(dc->max_memkb + 1023) / 1024);
	rc = rc ? rc : ctl_msg_addf(req, "vcpus", "%u", dc->vcpus);
	rc = rc ? rc : ctl_msg_addf(req, "maxvcpus", "%u", dc->max_vcpus);
	rc = rc ? rc : ctl_msg_add(req, "on_poweroff", action_wire_name(dc->on_poweroff));
	rc = rc ? rc : ctl_msg_add(req, "on_reboot", action_wire_name(dc->on_reboot));
	rc = rc ? rc : ctl_msg_add(req, "on_crash", action_wire_name(dc->on_crash));
	rc = rc ? rc : ctl_msg_add(req, "paused", paused ? "1" : "0");
	rc = rc ? rc : ctl_msg_add(req, "console", console ? "1" : "0");
	if (rc) {
		xl_err("the configuration cannot be sent (name \"%s\")", dc->name);
		return rc;
	}
	const char *cmdline = dc->cmdline, *entry = NULL;
	if (dc->bootloader && bootloader_args(dc, &entry, &cmdline))
		return -EINVAL;
	if (cmdline && ctl_msg_add(req, "cmdline", cmdline)) {
		xl_err("cmdline cannot be sent (too long or has a newline)");
		return -EINVAL;
	}
	rc = add_uuid_pci(dc, req);
	if (!rc)
		rc = add_sched(dc, req);
	if (rc)
		return rc;
	if (dc->pool_name && ctl_msg_add(req, "pool", dc->pool_name)) {
		xl_err("bad pool name \"%s\"", dc->pool_name);
		return 1;
	}
	if (dc->max_grant_frames &&
	    ctl_msg_addf(req, "max_grant_frames", "%u", dc->max_grant_frames))
		return -EINVAL;
	if (dc->bootloader) {
		rc = add_bootloader(dc, entry, req);
	} else {
		rc = add_path(req, "kernel", dc->kernel);
		if (!rc && dc->ramdisk)
			rc = add_path(req, "ramdisk", dc->ramdisk);
	}
	for (size_t i = 0; i < dc->nr_disks && !rc; i++) {
		char key[32], spec[CTL_MAX_LINE];
		snprintf(key, sizeof key, "disk%zu", i);
		rc = xl_disk_spec(&dc->disks[i], spec, sizeof spec);
		if (!rc && ctl_msg_add(req, key, spec)) {
			xl_err("disk %s cannot be sent (newline in the path?)", dc->disks[i].vdev);
			rc = -EINVAL;
		}
	}
	return rc;
}

/* The daemon has no network backend yet: say so instead of pretending. */
static void warn_unsupported(const struct domain_config *dc)
{
	if (dc->nr_nics)
		fprintf(stderr, "xl: warning: %zu vif(s) ignored: network devices are not "
			"supported yet\n", dc->nr_nics);
}

/* uuid= and pci= (the daemon checks each device against the host). */
static int add_uuid_pci(const struct domain_config *dc, struct ctl_msg *req)
{
	char buf[CTL_MAX_LINE], name[PCI_BDF_STRLEN];
	const uint8_t *u = dc->uuid;
	size_t used = 0;

	if (dc->has_uuid) {
		snprintf(buf, sizeof buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
			 "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5], u[6],
			 u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
		if (ctl_msg_add(req, "uuid", buf))
			return -EINVAL;
	}
	for (size_t i = 0; i < dc->nr_pcidevs; i++) {
		pci_bdf_format(&dc->pcidevs[i].bdf, name, sizeof name);
		int n = snprintf(buf + used, sizeof buf - used, "%s%s", i ? "," : "", name);
		if (n < 0 || (size_t)n >= sizeof buf - used) {
			xl_err("too many PCI devices");
			return -E2BIG;
		}
		used += (size_t)n;
	}
	return used ? ctl_msg_add(req, "pci", buf) : 0;
}

static int parse_config(const char *file, char **overrides, size_t nr,
			struct domain_config *dc, bool quiet)
{
	struct ts_error err;
	char msg[1024];

	if (!quiet)
		fprintf(stderr, "Parsing config from %s\n", file);
	int rc = domain_config_parse_file(dc, file, (const char *const *)overrides, nr, &err);
	for (size_t i = 0; i < dc->nr_warnings; i++)
		fprintf(stderr, "%s\n", dc->warnings[i]);
	if (rc) {
		ts_error_format(&err, msg, sizeof msg);
		fprintf(stderr, "%s\n", msg);
	}
	return rc;
}

static int print_json(const struct domain_config *dc)
{
	char *json;
	int rc = domain_config_to_json(dc, &json);

	if (rc) {
		xl_err("cannot render the configuration: %s", strerror(-rc));
		return 1;
	}
	fputs(json, stdout);
	free(json);
	return 0;
}

static int create_domain(const struct domain_config *dc, bool paused, bool console)
{
	struct ctl_msg req, rep;
	struct xl_conn conn = { .fd = -1 };
	int rc;

	ctl_msg_init(&req);
	ctl_msg_init(&rep);
	warn_unsupported(dc);
	rc = build_request(dc, paused, console, &req) ? 1 : 0;
	if (!rc)
		rc = xl_call(&req, &rep, console ? &conn : NULL);
	if (!rc && console) {
		rc = xl_console_relay(&conn);
		xl_conn_close(&conn);
	}
	ctl_msg_dispose(&rep);
	ctl_msg_dispose(&req);
	return rc;
}

int main_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dryrun", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "defconfig", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool paused = false, console = false, dryrun = false, quiet = false;
	const char *file = NULL;
	struct domain_config dc;
	int c, rc;

	while ((c = getopt_long(argc, argv, "+hpcnqf:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': paused = true; break;
		case 'c': console = true; break;
		case 'n': dryrun = true; break;
		case 'q': quiet = true; break;
		case 'f': file = optarg; break;
		default:
			help("create", c != 'h');
			return c != 'h';
		}
	}
	/* As in xl: the config file comes from -f or is the first argument
	 * that is not a key=value override. */
	if (!file && optind < argc && !strchr(argv[optind], '='))
		file = argv[optind++];
	if (!file) {
		help("create", true);
		return 1;
	}
	domain_config_init(&dc);
	rc = parse_config(file, argv + optind, (size_t)(argc - optind), &dc, quiet);
	if (rc)
		rc = 1;
	else if (dryrun)
		rc = print_json(&dc);
	else
		rc = create_domain(&dc, paused, console);
	domain_config_dispose(&dc);
	return rc;
}
