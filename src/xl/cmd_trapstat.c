/*
 * xl trapstat: where a domain's exits to the hypervisor went.  kxen's own
 * command (Xen's nearest is xentrace + xenalyze): on hosts where every trap
 * costs tens of microseconds, the count by kind is the profile that
 * matters.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xl/xl.h"

struct sym {
	uint64_t addr;
	char *name;
};

struct symtab {
	struct sym *s;
	size_t n;
};

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* A System.map or /proc/kallsyms dump: "ADDR TYPE NAME" lines. */
static int symtab_load(const char *path, struct symtab *t)
{
	FILE *f = fopen(path, "r");
	char line[512], name[256], type;
	unsigned long long addr;
	size_t cap = 0;

	if (!f) {
		xl_err("%s: %s", path, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if (t->n == cap) {
			cap = cap ? 2 * cap : 4096;
			struct sym *grown = realloc(t->s, cap * sizeof *grown);
			if (!grown)
				break;
			t->s = grown;
		}
		t->s[t->n].addr = addr;
		t->s[t->n].name = strdup(name);
		if (t->s[t->n].name)
			t->n++;
	}
	fclose(f);
	qsort(t->s, t->n, sizeof *t->s, sym_cmp);
	return 0;
}

static void symtab_free(struct symtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->s[i].name);
	free(t->s);
}

/* "name+0xoff" of the last symbol at or below addr, or "" */
static void symbolize(const struct symtab *t, uint64_t addr, char *buf, size_t len)
{
	size_t lo = 0, hi = t->n;
	buf[0] = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->s[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo)
		snprintf(buf, len, "%s+%#llx", t->s[lo - 1].name,
			 (unsigned long long)(addr - t->s[lo - 1].addr));
}

static uint64_t field_u64(const char *v)
{
	return v ? strtoull(v, NULL, 0) : 0;
}

/* Records are "kind exit count ns" quadruples, then "hot rip hits" triples. */
static void print_table(const struct ctl_msg *rep, uint64_t exits, bool detail)
{
	const char *kind = NULL, *exit = NULL, *count = NULL;

	printf("%-34s %12s %7s %12s %9s\n", "kind", "count", "%exits", "daemon(ms)", "avg(us)");
	for (size_t i = 0; i < rep->nr_fields; i++) {
		const struct ctl_field *f = &rep->fields[i];
		if (!strcmp(f->key, "kind"))
			kind = f->val;
		else if (!strcmp(f->key, "exit"))
			exit = f->val;
		else if (!strcmp(f->key, "count"))
			count = f->val;
		else if (!strcmp(f->key, "ns") && kind && exit && count) {
			bool is_exit = !strcmp(exit, "1");
			uint64_t c = field_u64(count), ns = field_u64(f->val);
			if (is_exit != !detail) {
				kind = exit = count = NULL;
				continue;
			}
			printf("%-34.34s %12llu %7.2f %12.1f %9.1f\n", kind, (unsigned long long)c,
			       exits ? 100.0 * (double)c / (double)exits : 0.0, (double)ns / 1e6,
			       c ? (double)ns / 1e3 / (double)c : 0.0);
			kind = exit = count = NULL;
		}
	}
}

static void print_hot(const struct ctl_msg *rep, const struct symtab *syms)
{
	const char *kind = NULL, *rip = NULL;
	char sym[300];
	bool header = false;

	for (size_t i = 0; i < rep->nr_fields; i++) {
		const struct ctl_field *f = &rep->fields[i];
		if (!strcmp(f->key, "hot"))
			kind = f->val;
		else if (!strcmp(f->key, "rip"))
			rip = f->val;
		else if (!strcmp(f->key, "hits") && kind && rip) {
			if (!header)
				printf("\nhottest guest RIPs (hypercalls: the return address)\n"
				       "%12s  %-34s %s\n", "count", "kind", "rip");
			header = true;
			symbolize(syms, field_u64(rip), sym, sizeof sym);
			printf("%12s  %-34.34s %-18s %s\n", f->val, kind, rip, sym);
			kind = rip = NULL;
		}
	}
}

int main_trapstat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vcpu", required_argument, NULL, 'v' },
		{ "hot", required_argument, NULL, 'n' },
		{ "symbols", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vcpu = NULL, *nhot = NULL, *map = NULL;
	struct symtab syms = { NULL, 0 };
	int c;

	while ((c = getopt_long(argc, argv, "+hv:n:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'v': vcpu = optarg; break;
		case 'n': nhot = optarg; break;
		case 's': map = optarg; break;
		default:
			help("trapstat", c != 'h');
			return c != 'h';
		}
	}
	if (optind != argc - 1) {
		help("trapstat", true);
		return 1;
	}
	if (map && symtab_load(map, &syms))
		return 1;
	struct ctl_msg req, rep;
	ctl_msg_init(&req);
	ctl_msg_init(&rep);
	ctl_msg_set_head(&req, "trapstat");
	ctl_msg_add(&req, "dom", argv[optind]);
	if (vcpu)
		ctl_msg_add(&req, "vcpu", vcpu);
	if (nhot)
		ctl_msg_add(&req, "hot", nhot);
	int rc = xl_call(&req, &rep, NULL);
	if (!rc) {
		uint64_t exits = field_u64(ctl_msg_get(&rep, "exits"));
		printf("domain %s%s%s: %llu exits\n\n", argv[optind], vcpu ? " vcpu " : "",
		       vcpu ? vcpu : "", (unsigned long long)exits);
		print_table(&rep, exits, false);
		printf("\ndetail (not exits of their own, or a breakdown of a row above)\n");
		print_table(&rep, exits, true);
		print_hot(&rep, &syms);
	}
	symtab_free(&syms);
	ctl_msg_dispose(&req);
	ctl_msg_dispose(&rep);
	return rc;
}
