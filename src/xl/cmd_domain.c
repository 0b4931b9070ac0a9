/*
 * xl list / destroy / shutdown / reboot / pause / unpause / domid / domname /
 * rename / vcpu-set / mem-set / mem-max.
 */
#include "xl/xl.h"

#include <errno.h>
#include <stdint.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "toolstack/toolstack.h"

/* Commands taking exactly one <Domain> and no options. */
static const char *one_domain(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "+h")) != -1) {
		help(argv[0], c != 'h');
		return NULL;
	}
	if (argc - optind != 1) {
		help(argv[0], true);
		return NULL;
	}
	return argv[optind];
}

static int simple_dom_command(const char *command, int argc, char **argv)
{
	const char *dom = one_domain(argc, argv);
	struct ctl_msg rep;

	if (!dom)
		return 1;
	ctl_msg_init(&rep);
	int rc = xl_call_dom(command, dom, &rep);
	ctl_msg_dispose(&rep);
	return rc;
}

int main_destroy(int argc, char **argv) { return simple_dom_command("destroy", argc, argv); }
int main_pause(int argc, char **argv) { return simple_dom_command("pause", argc, argv); }
int main_unpause(int argc, char **argv) { return simple_dom_command("unpause", argc, argv); }

/* ---- list ------------------------------------------------------------------ */

static int rec_u64(uint64_t *dst, const char *val)
{
	return ctl_parse_u64(val, 0, UINT64_MAX, dst);
}

static int rec_field(struct xl_dom *r, const char *key, const char *val)
{
	static const struct { const char *key; size_t off; } strs[] = {
		{ "name", offsetof(struct xl_dom, name) },
		{ "uuid", offsetof(struct xl_dom, uuid) },
		{ "kernel", offsetof(struct xl_dom, kernel) },
		{ "ramdisk", offsetof(struct xl_dom, ramdisk) },
		{ "cmdline", offsetof(struct xl_dom, cmdline) },
		{ "on_poweroff", offsetof(struct xl_dom, on_poweroff) },
		{ "on_reboot", offsetof(struct xl_dom, on_reboot) },
		{ "on_crash", offsetof(struct xl_dom, on_crash) },
		{ "pci", offsetof(struct xl_dom, pci) },
		{ "bootloader", offsetof(struct xl_dom, bootloader) },
	};
	static const struct { const char *key; size_t off; } nums[] = {
		{ "domid", offsetof(struct xl_dom, domid) },
		{ "mem", offsetof(struct xl_dom, mem) },
		{ "vcpus", offsetof(struct xl_dom, vcpus) },
		{ "cpu_ns", offsetof(struct xl_dom, cpu_ns) },
		{ "max_memkb", offsetof(struct xl_dom, max_memkb) },
		{ "target_memkb", offsetof(struct xl_dom, target_memkb) },
		{ "max_vcpus", offsetof(struct xl_dom, max_vcpus) },
		{ "restarts", offsetof(struct xl_dom, restarts) },
		{ "max_grant_frames", offsetof(struct xl_dom, max_grant_frames) },
		{ "traps", offsetof(struct xl_dom, traps) },
	};

	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		if (!strcmp(key, strs[i].key)) {
			*(const char **)((char *)r + strs[i].off) = val;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
		if (!strcmp(key, nums[i].key))
			return rec_u64((uint64_t *)(void *)((char *)r + nums[i].off), val);
	if (!strcmp(key, "disk")) {
		if (r->nr_disks < sizeof r->disks / sizeof r->disks[0])
			r->disks[r->nr_disks++] = val;
	} else if (!strcmp(key, "state")) {
		r->state = strlen(val) == 6 ? val : NULL;
	} else if (!strcmp(key, "start_time")) {
		r->has_start_time = true;
		return rec_u64(&r->start_time, val);
	} else if (!strcmp(key, "shutdown_reason")) {
		r->has_reason = true;
		return rec_u64(&r->shutdown_reason, val);
	}
	return 0;   /* fields added by a newer daemon are ignored */
}

/* A record starts at each "name" field (docs/control-api.md). */
int xl_records(const struct ctl_msg *rep, struct xl_dom **out, size_t *n)
{
	struct xl_dom *recs = NULL;
	size_t nr = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < rep->nr_fields; i++) {
		const struct ctl_field *f = &rep->fields[i];
		if (!strcmp(f->key, "name")) {
			struct xl_dom *p = realloc(recs, (nr + 1) * sizeof *p);
			if (!p) {
				free(recs);
				xl_err("out of memory");
				return 1;
			}
			recs = p;
			recs[nr++] = (struct xl_dom){ 0 };
		}
		if (!nr)
			continue;
		if (rec_field(&recs[nr - 1], f->key, f->val)) {
			xl_err("bad %s=\"%s\" in the daemon's reply", f->key, f->val);
			free(recs);
			return 1;
		}
	}
	*out = recs;
	*n = nr;
	return 0;
}

int xl_list(const char *dom, bool quiet, struct ctl_msg *rep, struct xl_dom **out, size_t *n)
{
	struct ctl_msg req;
	int rc;

	*out = NULL;
	*n = 0;
	ctl_msg_init(&req);
	rc = ctl_msg_set_head(&req, "list");
	if (!rc && dom && ctl_msg_add(&req, "dom", dom)) {
		xl_err("bad domain name \"%s\"", dom);
		ctl_msg_dispose(&req);
		return 1;
	}
	rc = rc ? 1 : xl_call_ex(&req, rep, NULL, quiet);
	ctl_msg_dispose(&req);
	return rc ? rc : xl_records(rep, out, n);
}

static void row_print(const struct xl_dom *r, bool verbose)
{
	const char *s = r->state ? r->state : "------";

	printf("%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f", r->name ? r->name : "?",
	       (int)r->domid, (unsigned long)r->mem, (int)r->vcpus,
	       s[0], s[1], s[2], s[3], s[4], s[5], (double)r->cpu_ns / 1e9);
	if (verbose) {
		printf(" %s", r->uuid ? r->uuid : "00000000-0000-0000-0000-000000000000");
		if (r->has_reason)
			printf(" %8x", (unsigned)r->shutdown_reason);
		else
			printf(" %8s", "-");
		printf(" %16s", "-");   /* security label: no XSM */
	}
	putchar('\n');
}

static enum ts_action action_from_wire(const char *s, enum ts_action def)
{
	enum ts_action a;
	return ts_action_from_xl_name(s, &a) ? def : a;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static bool uuid_from_text(const char *s, uint8_t out[16])
{
	unsigned n = 0;

	for (; s && *s && n < 32; s++) {
		if (*s == '-')
			continue;
		int v = hexval(*s);
		if (v < 0)
			return false;
		out[n / 2] = (uint8_t)(n % 2 ? out[n / 2] | v : v << 4);
		n++;
	}
	return n == 32 && s && !*s;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The record as a libxl-style domain configuration. */
static int record_config(const struct xl_dom *r, struct domain_config *dc)
{
	char why[128], buf[CTL_MAX_LINE + 1], *save = NULL;

	domain_config_init(dc);
	dc->name = dup_or_null(r->name);
	dc->has_uuid = uuid_from_text(r->uuid, dc->uuid);
	dc->max_vcpus = (unsigned)r->max_vcpus;
	dc->vcpus = (unsigned)r->vcpus;
	dc->max_memkb = r->max_memkb;
	dc->target_memkb = r->target_memkb;
	dc->kernel = dup_or_null(r->kernel && r->kernel[0] ? r->kernel : NULL);
	dc->ramdisk = dup_or_null(r->ramdisk);
	dc->cmdline = dup_or_null(r->cmdline);
	dc->bootloader = dup_or_null(r->bootloader);
	dc->on_poweroff = action_from_wire(r->on_poweroff, TS_ACTION_DESTROY);
	dc->on_reboot = action_from_wire(r->on_reboot, TS_ACTION_RESTART);
	dc->on_crash = action_from_wire(r->on_crash, TS_ACTION_DESTROY);
	/* kxend follows on_crash for a watchdog. */
	dc->on_watchdog = dc->on_crash;
	dc->max_grant_frames = (unsigned)r->max_grant_frames;
	if (!dc->name || (r->kernel && r->kernel[0] && !dc->kernel) ||
	    (r->bootloader && !dc->bootloader))
		return -ENOMEM;
	if (r->nr_disks && !(dc->disks = calloc(r->nr_disks, sizeof *dc->disks)))
		return -ENOMEM;
	for (size_t i = 0; i < r->nr_disks; i++)
		if (!ts_disk_parse(&dc->disks[dc->nr_disks], r->disks[i], why, sizeof why))
			dc->nr_disks++;
	if (!r->pci)
		return 0;
	snprintf(buf, sizeof buf, "%s", r->pci);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct ts_pcidev *p = realloc(dc->pcidevs, (dc->nr_pcidevs + 1) * sizeof *p);
		if (!p)
			return -ENOMEM;
		dc->pcidevs = p;
		p = &dc->pcidevs[dc->nr_pcidevs];
		*p = (struct ts_pcidev){ .vslot = -1, .permissive = -1, .msitranslate = -1,
					 .seize = -1, .power_mgmt = -1 };
		if (pci_bdf_parse(&p->bdf, t, why, sizeof why) == 0)
			dc->nr_pcidevs++;
	}
	return 0;
}

/* xl list -l: a JSON array of {"domid", "config"} as libxl prints them. */
static int print_long(const struct xl_dom *recs, size_t n)
{
	printf("[\n");
	for (size_t i = 0; i < n; i++) {
		struct domain_config dc;
		char *json = NULL;
		int rc = record_config(&recs[i], &dc);
		if (!rc)
			rc = domain_config_to_json(&dc, &json);
		domain_config_dispose(&dc);
		if (rc) {
			xl_err("cannot render domain %s: %s", recs[i].name, strerror(-rc));
			return 1;
		}
		printf("    {\n        \"domid\": %u,\n        \"config\": ", (unsigned)recs[i].domid);
		/* Re-indent the config two levels deeper; drop its final newline. */
		for (char *line = json, *nl; *line; line = nl + 1) {
			nl = strchr(line, '\n');
			if (!nl)
				nl = line + strlen(line) - 1;
			if (line != json)
				fputs("        ", stdout);
			fwrite(line, 1, (size_t)(nl - line), stdout);
			if (nl[1])
				putchar('\n');
		}
		free(json);
		printf("\n    }%s\n", i + 1 < n ? "," : "");
	}
	printf("]\n");
	return 0;
}

int main_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "long", no_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool details = false, verbose = false;
	struct ctl_msg all;
	struct xl_dom *recs = NULL;
	size_t n = 0;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "+lvh", opts, NULL)) != -1) {
		switch (c) {
		case 'l': details = true; break;
		case 'v': verbose = true; break;
		default:
			help("list", c != 'h');
			return c != 'h';
		}
	}
	/* Fetch everything first so an unknown domain prints no header. */
	ctl_msg_init(&all);
	ctl_msg_set_head(&all, "ok");
	if (optind == argc) {
		ctl_msg_dispose(&all);
		rc = xl_list(NULL, false, &all, &recs, &n);
	} else {
		for (int i = optind; i < argc && !rc; i++) {
			struct ctl_msg rep;
			struct xl_dom *one;
			size_t m;
			ctl_msg_init(&rep);
			rc = xl_list(argv[i], false, &rep, &one, &m);
			free(one);
			for (size_t j = 0; j < rep.nr_fields && !rc; j++)
				rc = ctl_msg_add(&all, rep.fields[j].key, rep.fields[j].val) ? 1 : 0;
			ctl_msg_dispose(&rep);
		}
		if (!rc)
			rc = xl_records(&all, &recs, &n);
	}
	if (!rc && details) {
		rc = print_long(recs, n);
	} else if (!rc) {
		printf("Name                                        ID   Mem VCPUs\tState\tTime(s)");
		if (verbose)
			printf("   UUID                            Reason-Code\tSecurity Label");
		putchar('\n');
		for (size_t i = 0; i < n; i++)
			row_print(&recs[i], verbose);
	}
	free(recs);
	ctl_msg_dispose(&all);
	return rc;
}

/* ---- domid / domname / rename ------------------------------------------------- */


/* One domain's record, by name or domid. */
static int one_record(const char *spec, struct ctl_msg *rep, struct xl_dom *out)
{
	struct xl_dom *recs;
	size_t n;
	int rc = xl_list(spec, false, rep, &recs, &n);

	if (!rc && n != 1) {
		xl_err("no such domain: %s", spec);
		rc = 1;
	}
	if (!rc)
		*out = recs[0];
	free(recs);
	return rc;
}

int main_domid(int argc, char **argv)
{
	struct ctl_msg rep;
	struct xl_dom r;
	int rc = xl_plain_args(argc, argv, 1);

	if (rc)
		return rc < 0 ? 0 : rc;
	/* Xen's xl domid takes a name only. */
	uint64_t id;
	if (ctl_parse_u64(argv[optind], 0, UINT16_MAX, &id) == 0) {
		xl_err("domain name must not be a number: %s", argv[optind]);
		return 1;
	}
	ctl_msg_init(&rep);
	rc = one_record(argv[optind], &rep, &r);
	if (!rc)
		printf("%u\n", (unsigned)r.domid);
	ctl_msg_dispose(&rep);
	return rc;
}

int main_domname(int argc, char **argv)
{
	struct ctl_msg rep;
	struct xl_dom r;
	uint64_t id;
	int rc = xl_plain_args(argc, argv, 1);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (ctl_parse_u64(argv[optind], 0, UINT16_MAX, &id)) {
		xl_err("invalid domain identifier: %s", argv[optind]);
		return 1;
	}
	ctl_msg_init(&rep);
	rc = one_record(argv[optind], &rep, &r);
	if (!rc)
		printf("%s\n", r.name);
	ctl_msg_dispose(&rep);
	return rc;
}

/* A command whose request is dom=<argv[optind]> plus one more field. */
static int dom_and_field(const char *command, const char *dom, const char *key,
			 const char *val, struct ctl_msg *rep)
{
	struct ctl_msg req;
	int rc = 1;

	ctl_msg_init(&req);
	if (ctl_msg_set_head(&req, command) || ctl_msg_add(&req, "dom", dom))
		xl_err("bad domain name \"%s\"", dom);
	else if (ctl_msg_add(&req, key, val))
		xl_err("bad %s \"%s\"", key, val);
	else
		rc = xl_call(&req, rep, NULL);
	ctl_msg_dispose(&req);
	return rc;
}

int main_rename(int argc, char **argv)
{
	struct ctl_msg rep;
	int rc = xl_plain_args(argc, argv, 2);

	if (rc)
		return rc < 0 ? 0 : rc;
	ctl_msg_init(&rep);
	rc = dom_and_field("rename", argv[optind], "name", argv[optind + 1], &rep);
	ctl_msg_dispose(&rep);
	return rc;
}

/* ---- vcpu-set / mem-set / mem-max ------------------------------------------------ */

int main_vcpu_set(int argc, char **argv)
{
	struct ctl_msg rep;
	uint64_t n;
	int rc = xl_plain_args(argc, argv, 2);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (ctl_parse_u64(argv[optind + 1], 1, 512, &n)) {
		xl_err("invalid number of vCPUs \"%s\": expected 1 or more", argv[optind + 1]);
		return 1;
	}
	ctl_msg_init(&rep);
	rc = dom_and_field("vcpu-set", argv[optind], "vcpus", argv[optind + 1], &rep);
	ctl_msg_dispose(&rep);
	return rc;
}

int64_t xl_parse_mem_kb(const char *s)
{
	char *end;
	uint64_t v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || strlen(end) > 1)
		return -1;
	unsigned shift;
	switch (*end) {
	case 't': case 'T': shift = 30; break;
	case 'g': case 'G': shift = 20; break;
	case '\0': case 'm': case 'M': shift = 10; break;
	case 'k': case 'K': shift = 0; break;
	case 'b': case 'B': return (int64_t)(v >> 10);
	default: return -1;
	}
	if (v > ((uint64_t)INT64_MAX >> shift))
		return -1;
	return (int64_t)(v << shift);
}

static int mem_common(const char *command, int argc, char **argv)
{
	struct ctl_msg rep;
	char kib[32];
	int rc = xl_plain_args(argc, argv, 2);

	if (rc)
		return rc < 0 ? 0 : rc;
	int64_t kb = xl_parse_mem_kb(argv[optind + 1]);
	if (kb <= 0) {
		xl_err("invalid memory size: %s (a number with an optional b, k, m, g or t "
		       "suffix; m by default)", argv[optind + 1]);
		return 1;
	}
	snprintf(kib, sizeof kib, "%lld", (long long)kb);
	ctl_msg_init(&rep);
	rc = dom_and_field(command, argv[optind], "kib", kib, &rep);
	ctl_msg_dispose(&rep);
	return rc;
}

int main_mem_set(int argc, char **argv) { return mem_common("mem-set", argc, argv); }
int main_mem_max(int argc, char **argv) { return mem_common("mem-max", argc, argv); }

/* ---- shutdown / reboot ------------------------------------------------------- */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Poll until the domain is gone from the daemon's list. */
static int wait_gone(const char *domid)
{
	struct ctl_msg req, rep;
	int rc = 0;

	ctl_msg_init(&req);
	ctl_msg_set_head(&req, "list");
	for (;;) {
		struct xl_conn conn;
		ctl_msg_init(&rep);
		/* "no such domain" is the answer we wait for: ask quietly. */
		rc = ctl_msg_add(&req, "dom", domid);
		if (!rc)
			rc = xl_call_ex(&req, &rep, &conn, true);
		ctl_msg_dispose(&rep);
		if (rc)
			break;
		xl_conn_close(&conn);
		ctl_msg_dispose(&req);
		ctl_msg_set_head(&req, "list");
		sleep_ms(200);
	}
	ctl_msg_dispose(&req);
	return 0;
}

/* Ask one domain to shut down (and, with wait, wait until it is gone). */
static int shutdown_one(const char *action, const char *dom, bool wait)
{
	struct ctl_msg req, rep;
	int rc;

	ctl_msg_init(&req);
	ctl_msg_init(&rep);
	ctl_msg_set_head(&req, "shutdown");
	rc = ctl_msg_add(&req, "dom", dom) || ctl_msg_add(&req, "action", action);
	if (rc)
		xl_err("bad domain name \"%s\"", dom);
	else
		rc = xl_call(&req, &rep, NULL);
	if (!rc && wait && ctl_msg_get(&rep, "domid")) {
		const char *domid = ctl_msg_get(&rep, "domid");
		fprintf(stderr, "Waiting for 1 domains\n");
		wait_gone(domid);
		fprintf(stderr, "Domain %s has been shut down.\n", domid);
	}
	ctl_msg_dispose(&rep);
	ctl_msg_dispose(&req);
	return rc;
}

/* -a: every guest domain the daemon holds (Domain-0 is the host). */
static int shutdown_all(const char *action, bool wait)
{
	struct ctl_msg req, rep;
	int rc, failed = 0;

	ctl_msg_init(&req);
	ctl_msg_init(&rep);
	ctl_msg_set_head(&req, "list");
	rc = xl_call(&req, &rep, NULL);
	for (size_t i = 0; !rc && i < rep.nr_fields; i++)
		if (!strcmp(rep.fields[i].key, "domid") && strcmp(rep.fields[i].val, "0"))
			failed |= shutdown_one(action, rep.fields[i].val, wait);
	ctl_msg_dispose(&rep);
	ctl_msg_dispose(&req);
	return rc ? rc : failed;
}

static int shutdown_common(const char *action, int argc, char **argv)
{
	bool wait = false, all = false;
	int c;

	while ((c = getopt(argc, argv, "+hwa")) != -1) {
		if (c == 'w') {
			wait = true;
			continue;
		}
		if (c == 'a') {
			all = true;
			continue;
		}
		help(argv[0], c != 'h');
		return c != 'h';
	}
	if (all ? argc != optind : argc - optind != 1) {
		help(argv[0], true);
		return 1;
	}
	return all ? shutdown_all(action, wait) : shutdown_one(action, argv[optind], wait);
}

int main_shutdown(int argc, char **argv) { return shutdown_common("poweroff", argc, argv); }
int main_reboot(int argc, char **argv) { return shutdown_common("reboot", argc, argv); }
