/*
 * Scheduling commands, after Xen's xl_sched.c, xl_cpupool.c and
 * xl_vcpu.c: sched-credit, sched-credit2, cpupool-*, vcpu-list, vcpu-pin.
 * Output formats are Xen 4.x xl's; the daemon does the checks (its error
 * texts are libxl's).
 */
#include "xl/xl.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Request `head` with key/value pairs (a NULL value is left out), ending
 * with a NULL key. */
static int call(struct ctl_msg *rep, const char *head, ...)
{
	struct ctl_msg req;
	va_list ap;
	int rc = 0;

	ctl_msg_init(&req);
	ctl_msg_init(rep);
	if (ctl_msg_set_head(&req, head))
		rc = -EINVAL;
	va_start(ap, head);
	for (const char *k; !rc && (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		if (v && ctl_msg_add(&req, k, v)) {
			xl_err("bad value for %s: \"%s\"", k, v);
			rc = 1;
		}
	}
	va_end(ap);
	if (!rc)
		rc = xl_call(&req, rep, NULL);
	ctl_msg_dispose(&req);
	return rc ? 1 : 0;
}

/* Field `key` of the record that starts at fields[i] (records start with
 * the key `first`). */
static const char *rec_get(const struct ctl_msg *m, size_t i, const char *first,
			   const char *key)
{
	for (size_t j = i; j < m->nr_fields; j++) {
		if (j > i && !strcmp(m->fields[j].key, first))
			break;
		if (!strcmp(m->fields[j].key, key))
			return m->fields[j].val;
	}
	return "";
}

static long num(const char *s)
{
	return strtol(s, NULL, 10);
}

/* Xen's print_bitmap: "all" when [0, n) are all set, "none" when empty,
 * else ranges.  `list` is a CPU list like "0-3,6". */
static void print_cpus(const char *list, long n, FILE *f)
{
	bool *map = calloc((size_t)n + 1, 1);
	const char *p = list;
	long first = -1, count = 0;
	bool sep = false;

	if (!map)
		return;
	while (*p) {
		char *e;
		long lo = strtol(p, &e, 10), hi = lo;
		if (e == p)
			break;
		if (*e == '-')
			hi = strtol(e + 1, &e, 10);
		for (long c = lo; c <= hi && c < n; c++)
			if (c >= 0)
				map[c] = true;
		p = *e == ',' ? e + 1 : e;
		if (*e != ',')
			break;
	}
	for (long c = 0; c < n; c++)
		count += map[c];
	if (count == 0)
		fprintf(f, "none");
	else if (count == n)
		fprintf(f, "all");
	else {
		for (long c = 0; c <= n; c++) {
			if (c < n && map[c]) {
				if (first < 0)
					first = c;
				continue;
			}
			if (first < 0)
				continue;
			fprintf(f, "%s%ld", sep ? "," : "", first);
			if (c - 1 > first)
				fprintf(f, "-%ld", c - 1);
			sep = true;
			first = -1;
		}
	}
	free(map);
}

/* ---- sched-credit / sched-credit2 --------------------------------------------------- */

static void pool_line(const struct ctl_msg *pools, size_t i, bool credit2)
{
	const char *name = rec_get(pools, i, "pool", "pool");
	if (credit2)
		printf("Cpupool %s: ratelimit=%ldus\n", name,
		       num(rec_get(pools, i, "pool", "ratelimit_us")));
	else
		printf("Cpupool %s: tslice=%ldms ratelimit=%ldus migration-delay=%ldus\n", name,
		       num(rec_get(pools, i, "pool", "tslice_ms")),
		       num(rec_get(pools, i, "pool", "ratelimit_us")),
		       num(rec_get(pools, i, "pool", "migr_delay_us")));
}

static void dom_header(void)
{
	printf("%-33s %4s %6s %4s\n", "Name", "ID", "Weight", "Cap");
}

static void dom_line(const struct ctl_msg *m, size_t i)
{
	printf("%-33s %4ld %6ld %4ld\n", rec_get(m, i, "domid", "name"),
	       num(rec_get(m, i, "domid", "domid")), num(rec_get(m, i, "domid", "weight")),
	       num(rec_get(m, i, "domid", "cap")));
}

static int sched_main(int argc, char **argv, bool credit2)
{
	const char *cmd = credit2 ? "sched-credit2" : "sched-credit";
	const char *want = credit2 ? "credit2" : "credit";
	static const struct option lopts[] = {
		{ "domain", 1, NULL, 'd' }, { "weight", 1, NULL, 'w' }, { "cap", 1, NULL, 'c' },
		{ "cpupool", 1, NULL, 'p' }, { "tslice_ms", 1, NULL, 't' },
		{ "ratelimit_us", 1, NULL, 'r' }, { "schedparam", 0, NULL, 's' },
		{ "migration_delay_us", 1, NULL, 'm' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dom = NULL, *w = NULL, *cap = NULL, *pool = NULL, *t = NULL, *r = NULL;
	const char *m = NULL;
	bool opt_s = false;
	struct ctl_msg rep, pools;
	int c, rc;

	while ((c = getopt_long(argc, argv, credit2 ? "+d:w:c:p:r:sh" : "+d:w:c:p:t:r:m:sh",
				lopts, NULL)) != -1) {
		switch (c) {
		case 'd': dom = optarg; break;
		case 'w': w = optarg; break;
		case 'c': cap = optarg; break;
		case 'p': pool = optarg; break;
		case 't': t = optarg; break;
		case 'r': r = optarg; break;
		case 'm': m = optarg; break;
		case 's': opt_s = true; break;
		default:
			help(cmd, c != 'h');
			return c != 'h';
		}
	}
	if (optind != argc) {
		help(cmd, true);
		return 1;
	}
	if ((pool || opt_s) && (dom || w || cap)) {
		fprintf(stderr, "Specifying a cpupool or schedparam is not allowed with domain "
				"options.\n");
		return 1;
	}
	if (!dom && (w || cap)) {
		fprintf(stderr, "Must specify a domain.\n");
		return 1;
	}
	if (!opt_s && (t || r || m)) {
		fprintf(stderr, "Must specify schedparam to set schedule parameter values.\n");
		return 1;
	}
	if (dom) {
		if (call(&rep, "sched-get", "dom", dom, NULL)) {
			ctl_msg_dispose(&rep);
			return 1;
		}
		const char *sched = rec_get(&rep, 0, "domid", "sched");
		if (strcmp(sched, want)) {
			fprintf(stderr, "Domain %s is in cpupool %s, which runs %s, not %s.\n",
				dom, rec_get(&rep, 0, "domid", "pool"), sched, want);
			ctl_msg_dispose(&rep);
			return 1;
		}
		if (!w && !cap) {
			dom_header();
			dom_line(&rep, 0);
			ctl_msg_dispose(&rep);
			return 0;
		}
		ctl_msg_dispose(&rep);
		rc = call(&rep, "sched-set", "dom", dom, "weight", w, "cap", cap, NULL);
		ctl_msg_dispose(&rep);
		return rc;
	}
	if (call(&pools, "cpupool-list", "pool", opt_s ? (pool ? pool : "Pool-0") : pool, NULL)) {
		ctl_msg_dispose(&pools);
		return 1;
	}
	rc = 0;
	if (opt_s) {
		size_t i = 0;
		while (i < pools.nr_fields && strcmp(pools.fields[i].key, "pool"))
			i++;
		const char *name = rec_get(&pools, i, "pool", "pool");
		if (strcmp(rec_get(&pools, i, "pool", "sched"), want)) {
			fprintf(stderr, "Cpupool %s runs %s, not %s.\n", name,
				rec_get(&pools, i, "pool", "sched"), want);
			rc = 1;
		} else if (!t && !r && !m) {
			pool_line(&pools, i, credit2);
		} else {
			char id[24];
			snprintf(id, sizeof id, "%s", rec_get(&pools, i, "pool", "id"));
			rc = call(&rep, "cpupool-set", "pool", id, "tslice_ms", t, "ratelimit_us", r,
				  "migr_delay_us", m, NULL);
			ctl_msg_dispose(&rep);
		}
		ctl_msg_dispose(&pools);
		return rc;
	}
	if (call(&rep, "sched-get", NULL)) {
		ctl_msg_dispose(&pools);
		ctl_msg_dispose(&rep);
		return 1;
	}
	for (size_t i = 0; i < pools.nr_fields; i++) {
		if (strcmp(pools.fields[i].key, "pool") ||
		    strcmp(rec_get(&pools, i, "pool", "sched"), want))
			continue;
		pool_line(&pools, i, credit2);
		dom_header();
		for (size_t j = 0; j < rep.nr_fields; j++)
			if (!strcmp(rep.fields[j].key, "domid") &&
			    !strcmp(rec_get(&rep, j, "domid", "pool"), pools.fields[i].val))
				dom_line(&rep, j);
	}
	ctl_msg_dispose(&rep);
	ctl_msg_dispose(&pools);
	return 0;
}

int main_sched_credit(int argc, char **argv)
{
	return sched_main(argc, argv, false);
}

int main_sched_credit2(int argc, char **argv)
{
	return sched_main(argc, argv, true);
}

/* ---- cpupools --------------------------------------------------------------------- */


static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
		     s[n - 1] == '\r' || s[n - 1] == ';'))
		s[--n] = 0;
	return s;
}

/* Strips matching quotes around a trimmed token. */
static char *unquote(char *tok)
{
	size_t n = strlen(tok);

	if (n >= 2 && (tok[0] == '"' || tok[0] == '\'') && tok[n - 1] == tok[0]) {
		tok[n - 1] = 0;
		tok++;
	}
	return tok;
}

/* A value of a cpupool config: "str", 'str', number, or ["a", "b", 3]
 * (a list becomes "a,b,3"; a quoted string stays whole, commas and all). */
static int cfg_value(char *v, char *out, size_t len)
{
	size_t o = 0;
	v = trim(v);
	if (*v != '[')
		return snprintf(out, len, "%s", unquote(v)) < (int)len ? 0 : -1;
	size_t n = strlen(v);
	if (n < 2 || v[n - 1] != ']')
		return -1;
	v[n - 1] = 0;
	v++;
	for (char *tok = strtok(v, ","); tok; tok = strtok(NULL, ",")) {
		int w = snprintf(out + o, len - o, "%s%s", o ? "," : "", unquote(trim(tok)));
		if (w < 0 || (size_t)w >= len - o)
			return -1;
		o += (size_t)w;
	}
	return 0;
}

struct pool_cfg {
	char name[512], sched[512], cpus[512], nodes[512];
	bool has_name, has_sched, has_cpus, has_nodes;
};

static int pool_cfg_set(struct pool_cfg *pc, char *line, const char *where)
{
	char *eq = strchr(line, '=');
	if (!eq) {
		fprintf(stderr, "%s: expected key=value, got \"%s\"\n", where, line);
		return 1;
	}
	*eq = 0;
	char *key = trim(line), val[512];
	if (cfg_value(eq + 1, val, sizeof val)) {
		fprintf(stderr, "%s: bad value for %s\n", where, key);
		return 1;
	}
	if (!strcmp(key, "name")) {
		snprintf(pc->name, sizeof pc->name, "%s", val);
		pc->has_name = true;
	} else if (!strcmp(key, "sched")) {
		snprintf(pc->sched, sizeof pc->sched, "%s", val);
		pc->has_sched = true;
	} else if (!strcmp(key, "cpus")) {
		snprintf(pc->cpus, sizeof pc->cpus, "%s", val);
		pc->has_cpus = true;
	} else if (!strcmp(key, "nodes")) {
		/* The free CPUs of these NUMA nodes (the daemon knows them). */
		snprintf(pc->nodes, sizeof pc->nodes, "%s", val);
		pc->has_nodes = true;
	} else {
		fprintf(stderr, "%s: unknown cpupool key \"%s\"\n", where, key);
		return 1;
	}
	return 0;
}

int main_cpupool_create(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "defconfig", 1, NULL, 'f' }, { "dryrun", 0, NULL, 'n' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct pool_cfg pc = { .name = "" };
	const char *file = NULL;
	bool dry = false;
	int c;

	while ((c = getopt_long(argc, argv, "+hnf:", lopts, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'n': dry = true; break;
		default:
			help("cpupool-create", c != 'h');
			return c != 'h';
		}
	}
	if (optind < argc && !strchr(argv[optind], '=')) {
		if (file) {
			help("cpupool-create", true);
			return 1;
		}
		file = argv[optind++];
	}
	if (file) {
		FILE *f = fopen(file, "r");
		char line[1024];
		if (!f) {
			fprintf(stderr, "Failed to read config file: %s: %s\n", file, strerror(errno));
			return 1;
		}
		while (fgets(line, sizeof line, f)) {
			char *hash = strchr(line, '#');
			if (hash)
				*hash = 0;
			char *l = trim(line);
			if (*l && pool_cfg_set(&pc, l, file)) {
				fclose(f);
				return 1;
			}
		}
		fclose(f);
	}
	for (; optind < argc; optind++)
		if (pool_cfg_set(&pc, argv[optind], "command line"))
			return 1;
	if (!pc.has_name || !pc.name[0]) {
		fprintf(stderr, "Missing cpupool name\n");
		return 1;
	}
	if (pc.has_sched && strcmp(pc.sched, "credit") && strcmp(pc.sched, "credit2")) {
		fprintf(stderr, "Unknown scheduler\n");
		return 1;
	}
	if (dry) {
		printf("name = \"%s\"\nsched = \"%s\"\n", pc.name,
		       pc.has_sched ? pc.sched : "credit");
		if (pc.has_nodes)
			printf("nodes = \"%s\"\n", pc.nodes);
		else
			printf("cpus = \"%s\"\n", pc.has_cpus ? pc.cpus : "(one free)");
		return 0;
	}
	struct ctl_msg rep;
	/* Like xl: nodes= wins over cpus=. */
	int rc = call(&rep, "cpupool-create", "name", pc.name, "sched",
		      pc.has_sched ? pc.sched : NULL, "cpus",
		      pc.has_cpus && !pc.has_nodes ? pc.cpus : NULL, "nodes",
		      pc.has_nodes ? pc.nodes : NULL, NULL);
	ctl_msg_dispose(&rep);
	return rc;
}

int main_cpupool_list(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "cpus", 0, NULL, 'c' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	bool opt_cpus = false;
	struct ctl_msg rep;
	int c;

	while ((c = getopt_long(argc, argv, "+hc", lopts, NULL)) != -1) {
		if (c == 'c') {
			opt_cpus = true;
			continue;
		}
		help("cpupool-list", c != 'h');
		return c != 'h';
	}
	if (argc - optind > 1) {
		help("cpupool-list", true);
		return 1;
	}
	if (call(&rep, "cpupool-list", "pool", optind < argc ? argv[optind] : NULL, NULL)) {
		ctl_msg_dispose(&rep);
		return 1;
	}
	long n = sysconf(_SC_NPROCESSORS_CONF);
	printf("%-19s", "Name");
	printf(opt_cpus ? "CPU list\n" : "CPUs   Sched     Active   Domain count\n");
	for (size_t i = 0; i < rep.nr_fields; i++) {
		if (strcmp(rep.fields[i].key, "pool"))
			continue;
		printf("%-19s", rep.fields[i].val);
		if (opt_cpus) {
			print_cpus(rec_get(&rep, i, "pool", "cpus"), n > 0 ? n : 1, stdout);
			printf("\n");
		} else {
			printf("%3ld %9s       y       %4ld\n", num(rec_get(&rep, i, "pool", "n_cpus")),
			       rec_get(&rep, i, "pool", "sched"), num(rec_get(&rep, i, "pool", "n_dom")));
		}
	}
	ctl_msg_dispose(&rep);
	return 0;
}

static int simple(int argc, char **argv, int nargs, const char *head, const char *k1,
		  const char *k2)
{
	struct ctl_msg rep;
	int rc = xl_plain_args(argc, argv, nargs);

	if (rc)
		return rc < 0 ? 0 : rc;
	rc = call(&rep, head, k1, nargs > 0 ? argv[optind] : NULL, k2,
		  nargs > 1 ? argv[optind + 1] : NULL, NULL);
	ctl_msg_dispose(&rep);
	return rc;
}

int main_cpupool_destroy(int argc, char **argv)
{
	return simple(argc, argv, 1, "cpupool-destroy", "pool", NULL);
}

int main_cpupool_rename(int argc, char **argv)
{
	return simple(argc, argv, 2, "cpupool-rename", "pool", "name");
}

int main_cpupool_cpu_add(int argc, char **argv)
{
	return simple(argc, argv, 2, "cpupool-cpu-add", "pool", "cpus");
}

int main_cpupool_cpu_remove(int argc, char **argv)
{
	return simple(argc, argv, 2, "cpupool-cpu-remove", "pool", "cpus");
}

int main_cpupool_migrate(int argc, char **argv)
{
	return simple(argc, argv, 2, "cpupool-migrate", "dom", "pool");
}

int main_cpupool_numa_split(int argc, char **argv)
{
	return simple(argc, argv, 0, "cpupool-numa-split", NULL, NULL);
}

/* ---- vCPUs ------------------------------------------------------------------------ */

int main_vcpu_list(int argc, char **argv)
{
	struct ctl_msg rep;
	int c, rc = 0;

	while ((c = getopt(argc, argv, "+h")) != -1) {
		help("vcpu-list", c != 'h');
		return c != 'h';
	}
	printf("%-32s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)",
	       "Affinity (Hard / Soft)");
	for (int a = optind; a < argc || a == optind; a++) {
		if (call(&rep, "vcpu-list", "dom", a < argc ? argv[a] : NULL, NULL)) {
			ctl_msg_dispose(&rep);
			rc = 1;
			if (a >= argc)
				break;
			continue;
		}
		long n = num(ctl_msg_get(&rep, "host_cpus") ? ctl_msg_get(&rep, "host_cpus") : "1");
		for (size_t i = 0; i < rep.nr_fields; i++) {
			if (strcmp(rep.fields[i].key, "domid"))
				continue;
#define F(k) rec_get(&rep, i, "domid", k)
			printf("%-32s %5ld %5ld", F("name"), num(F("domid")), num(F("vcpu")));
			if (!num(F("online")))
				printf("%5c %3c%cp ", '-', '-', '-');
			else
				printf("%5ld %3c%c- ", num(F("cpu")), num(F("running")) ? 'r' : '-',
				       num(F("blocked")) ? 'b' : '-');
			printf("%9.1f  ", strtoull(F("time_ns"), NULL, 10) / 1e9);
			print_cpus(F("hard"), n, stdout);
			printf(" / ");
			print_cpus(F("soft"), n, stdout);
			printf("\n");
#undef F
		}
		ctl_msg_dispose(&rep);
		if (a >= argc)
			break;
	}
	return rc;
}

int main_vcpu_pin(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "force", 0, NULL, 'f' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct ctl_msg rep;
	int c, rc;

	while ((c = getopt_long(argc, argv, "+hf", lopts, NULL)) != -1) {
		if (c == 'f')
			continue;   /* nothing to force: no guest kernel pinning overrides */
		help("vcpu-pin", c != 'h');
		return c != 'h';
	}
	if (argc - optind < 3 || argc - optind > 4) {
		help("vcpu-pin", true);
		return 1;
	}
	const char *hard = argv[optind + 2], *soft = argc - optind > 3 ? argv[optind + 3] : NULL;
	if (!strcmp(hard, "-"))
		hard = NULL;
	if (soft && !strcmp(soft, "-"))
		soft = NULL;
	if (!hard && !soft) {
		fprintf(stderr, "Cannot set hard and soft affinity both to '-'\n");
		return 1;
	}
	rc = call(&rep, "vcpu-pin", "dom", argv[optind], "vcpu", argv[optind + 1], "hard", hard,
		  "soft", soft, NULL);
	ctl_msg_dispose(&rep);
	return rc;
}
