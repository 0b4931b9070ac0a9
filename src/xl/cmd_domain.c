/*
 * xl list / destroy / shutdown / reboot / pause / unpause.
 */
#include "xl/xl.h"

#include <errno.h>
#include <stdint.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

struct dom_row {
	const char *name, *state;
	uint64_t domid, mem, vcpus, cpu_ns;
};

static int row_field(struct dom_row *r, const char *key, const char *val)
{
	if (!strcmp(key, "name"))
		r->name = val;
	else if (!strcmp(key, "state"))
		r->state = strlen(val) == 6 ? val : NULL;
	else if (!strcmp(key, "domid"))
		return ctl_parse_u64(val, 0, 65535, &r->domid);
	else if (!strcmp(key, "mem"))
		return ctl_parse_u64(val, 0, UINT64_MAX, &r->mem);
	else if (!strcmp(key, "vcpus"))
		return ctl_parse_u64(val, 0, 65535, &r->vcpus);
	else if (!strcmp(key, "cpu_ns"))
		return ctl_parse_u64(val, 0, UINT64_MAX, &r->cpu_ns);
	return 0;   /* fields added by a newer daemon are ignored */
}

static void row_print(const struct dom_row *r)
{
	const char *s = r->state ? r->state : "------";

	printf("%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f\n", r->name ? r->name : "?",
	       (int)r->domid, (unsigned long)r->mem, (int)r->vcpus,
	       s[0], s[1], s[2], s[3], s[4], s[5], (double)r->cpu_ns / 1e9);
}

/* A record starts at each "name" field (docs/control-api.md). */
static int print_records(const struct ctl_msg *rep)
{
	struct dom_row r = { 0 };
	bool open = false;

	for (size_t i = 0; i < rep->nr_fields; i++) {
		const struct ctl_field *f = &rep->fields[i];
		if (!strcmp(f->key, "name")) {
			if (open)
				row_print(&r);
			r = (struct dom_row){ 0 };
			open = true;
		}
		if (row_field(&r, f->key, f->val)) {
			xl_err("bad %s=\"%s\" in the daemon's reply", f->key, f->val);
			return 1;
		}
	}
	if (open)
		row_print(&r);
	return 0;
}

int main_list(int argc, char **argv)
{
	struct ctl_msg req, rep;
	int c, rc = 0;

	while ((c = getopt(argc, argv, "+h")) != -1) {
		help("list", c != 'h');
		return c != 'h';
	}
	ctl_msg_init(&req);
	ctl_msg_init(&rep);
	ctl_msg_set_head(&req, "list");
	/* Fetch everything first so an unknown domain prints no header. */
	struct ctl_msg all;
	ctl_msg_init(&all);
	if (optind == argc) {
		rc = xl_call(&req, &all, NULL);
	} else {
		for (int i = optind; i < argc && !rc; i++) {
			rc = xl_call_dom("list", argv[i], &rep);
			for (size_t j = 0; j < rep.nr_fields && !rc; j++)
				rc = ctl_msg_add(&all, rep.fields[j].key, rep.fields[j].val) ? 1 : 0;
			ctl_msg_dispose(&rep);
		}
	}
	if (!rc) {
		printf("Name                                        ID   Mem VCPUs\tState\tTime(s)\n");
		rc = print_records(&all);
	}
	ctl_msg_dispose(&all);
	ctl_msg_dispose(&req);
	return rc;
}

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

static int shutdown_common(const char *action, int argc, char **argv)
{
	struct ctl_msg req, rep;
	bool wait = false;
	int c, rc;

	while ((c = getopt(argc, argv, "+hw")) != -1) {
		if (c == 'w') {
			wait = true;
			continue;
		}
		help(argv[0], c != 'h');
		return c != 'h';
	}
	if (argc - optind != 1) {
		help(argv[0], true);
		return 1;
	}
	ctl_msg_init(&req);
	ctl_msg_init(&rep);
	ctl_msg_set_head(&req, "shutdown");
	rc = ctl_msg_add(&req, "dom", argv[optind]) || ctl_msg_add(&req, "action", action);
	if (rc)
		xl_err("bad domain name \"%s\"", argv[optind]);
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

int main_shutdown(int argc, char **argv) { return shutdown_common("poweroff", argc, argv); }
int main_reboot(int argc, char **argv) { return shutdown_common("reboot", argc, argv); }
