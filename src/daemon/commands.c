/*
 * The commands of kxen-ctl/1 (docs/control-api.md).  Each handler checks
 * every field it is given and fills the reply; anything wrong becomes an
 * "error <message>" reply, never a dropped connection.
 */
#include "daemon/kxend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "core/core.h"

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

static int parse_create(const struct ctl_msg *req, struct domain_create_req *cr,
			bool *console, struct ctl_msg *rep)
{
	uint64_t vcpus, maxvcpus;

	cr->name = ctl_msg_get(req, "name");
	cr->kernel = ctl_msg_get(req, "kernel");
	cr->ramdisk = ctl_msg_get(req, "ramdisk");
	cr->cmdline = ctl_msg_get(req, "cmdline");
	if (!cr->name || !cr->kernel) {
		ctl_msg_set_error(rep, "create: \"name\" and \"kernel\" are required");
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
	    get_bool(req, "console", console, rep))
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

static void cmd_create(struct kxend *k, struct client *c, const struct ctl_msg *req,
		       struct ctl_msg *rep)
{
	static const char *const known[] = {
		"name", "memory", "maxmem", "vcpus", "maxvcpus", "kernel", "ramdisk",
		"cmdline", "on_poweroff", "on_reboot", "on_crash", "paused", "console", NULL,
	};
	struct domain_create_req cr = { 0 };
	struct kdom *kd;
	bool console = false;
	char err[512] = "";

	if (check_fields(req, known, rep) || parse_create(req, &cr, &console, rep))
		return;
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
}

static int kd_cmp_domid(const void *a, const void *b)
{
	const struct kdom *x = *(struct kdom *const *)a, *y = *(struct kdom *const *)b;
	return (int)x->domid - (int)y->domid;
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
	for (kd = k->doms; kd && n < ARRAY_SIZE(sorted); kd = kd->next)
		sorted[n++] = kd;
	qsort(sorted, n, sizeof sorted[0], kd_cmp_domid);
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
	/* For console attach the reply must go out before any guest output
	 * queued on this client: create/console queue nothing before here
	 * because output is only emitted from the loop, after dispatch. */
	client_reply(c, &rep);
	ctl_msg_dispose(&rep);
}
