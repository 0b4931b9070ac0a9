/*
 * The meaning of xl.cfg keys: a table maps each key to a small parser that
 * fills struct domain_config; settings that depend on each other (cmdline
 * from root/extra, maxmem defaulting to memory, per-vCPU affinity needing
 * the vCPU count, global pci_* defaults) are resolved once every key is in.
 */
#include "toolstack/ts_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MEMORY_MIB 32 /* libxl's default when memory= is absent */

struct affinity_in {
	const struct cfg_stmt *st;
	struct ts_cpumap *maps;
	size_t nr;
	bool is_list; /* ["2", "3-8"]: one map per vCPU */
};

struct parse_ctx {
	struct domain_config *dc;
	struct ts_error *err;
	const char *main_file;
	const struct cfg_stmt *memory, *maxmem, *vcpus, *maxvcpus;
	uint64_t memory_mib, maxmem_mib, nr_vcpus, nr_maxvcpus;
	const struct cfg_stmt *root, *extra, *cmdline;
	struct affinity_in hard, soft;
	int pci_defaults[4]; /* permissive, msitranslate, seize, power_mgmt */
};

typedef int (*key_parser)(struct parse_ctx *c, const struct cfg_stmt *st);

/* ---- value helpers ---------------------------------------------------------- */

__attribute__((format(printf, 4, 5)))
static int fail_at(struct parse_ctx *c, const struct cfg_stmt *st, int line,
		   const char *fmt, ...)
{
	va_list ap;

	ts_error_set(c->err, st->file, line ? line : st->line, 0, "%s", "");
	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int want_atom(struct parse_ctx *c, const struct cfg_stmt *st, const char *what)
{
	if (st->value.kind == CFG_LIST)
		return fail_at(c, st, st->value.line, "%s: expected %s, got a list", st->key, what);
	return 0;
}

static int get_string(struct parse_ctx *c, const struct cfg_stmt *st, char **out)
{
	int rc = want_atom(c, st, "a string");

	if (rc < 0)
		return rc;
	free(*out);
	*out = strdup(st->value.text);
	return *out ? 0 : -ENOMEM;
}

static int get_number(struct parse_ctx *c, const struct cfg_stmt *st, uint64_t *out)
{
	int rc = want_atom(c, st, "a number");

	if (rc < 0)
		return rc;
	/* xl reads numbers through strings, so memory = "512" is fine too */
	rc = ts_parse_u64(st->value.text, out);
	if (rc == -ERANGE)
		return fail_at(c, st, 0, "%s: number \"%s\" is too large", st->key, st->value.text);
	if (rc < 0 || st->value.kind == CFG_BOOL)
		return fail_at(c, st, 0, "%s: expected a number, got \"%s\"", st->key,
			       st->value.text);
	return 0;
}

static int get_ranged(struct parse_ctx *c, const struct cfg_stmt *st, uint64_t lo,
		      uint64_t hi, uint64_t *out)
{
	int rc = get_number(c, st, out);

	if (rc == 0 && (*out < lo || *out > hi))
		return fail_at(c, st, 0, "%s: %s is out of range (%llu-%llu)", st->key,
			       st->value.text, (unsigned long long)lo, (unsigned long long)hi);
	return rc;
}

static int get_bool(struct parse_ctx *c, const struct cfg_stmt *st, bool *out)
{
	int rc = want_atom(c, st, "a boolean");

	if (rc == 0 && ts_parse_bool(st->value.text, out) < 0)
		return fail_at(c, st, 0, "%s: expected 0/1 or true/false, got \"%s\"", st->key,
			       st->value.text);
	return rc;
}

static int want_list(struct parse_ctx *c, const struct cfg_stmt *st)
{
	if (st->value.kind != CFG_LIST)
		return fail_at(c, st, 0, "%s: expected a list [ '...', ... ], got %s", st->key,
			       cfg_kind_name(st->value.kind));
	return 0;
}

/* ---- c_info ------------------------------------------------------------------ */

static int parse_name(struct parse_ctx *c, const struct cfg_stmt *st)
{
	int rc = get_string(c, st, &c->dc->name);

	if (rc == 0 && !*c->dc->name)
		return fail_at(c, st, 0, "name: must not be empty");
	return rc;
}

static int refuse_non_pv(struct parse_ctx *c, const struct cfg_stmt *st, const char *what)
{
	return fail_at(c, st, 0, "%s: only PV guests are supported so far, got \"%s\"",
		       st->key, what);
}

static int parse_type(struct parse_ctx *c, const struct cfg_stmt *st)
{
	const char *t = st->value.text;
	int rc = want_atom(c, st, "a string");

	if (rc < 0 || !strcmp(t, "pv"))
		return rc;
	if (!strcmp(t, "pvh") || !strcmp(t, "hvm"))
		return refuse_non_pv(c, st, t);
	return fail_at(c, st, 0, "type: unknown guest type \"%s\" (expected pv, pvh or hvm)", t);
}

static int parse_builder(struct parse_ctx *c, const struct cfg_stmt *st)
{
	const char *t = st->value.text;
	int rc = want_atom(c, st, "a string");

	if (rc < 0 || !strcmp(t, "generic") || !strcmp(t, "linux"))
		return rc;
	if (!strcmp(t, "hvm"))
		return refuse_non_pv(c, st, t);
	return fail_at(c, st, 0, "builder: unknown builder \"%s\" (expected generic or hvm)", t);
}

static int hexval(char ch)
{
	return isdigit((unsigned char)ch) ? ch - '0' : tolower((unsigned char)ch) - 'a' + 10;
}

static int parse_uuid(struct parse_ctx *c, const struct cfg_stmt *st)
{
	static const int dash_at[] = { 8, 13, 18, 23 };
	const char *t = st->value.text;
	int rc = want_atom(c, st, "a string");

	if (rc < 0)
		return rc;
	if (strlen(t) != 36)
		goto bad;
	for (int i = 0, d = 0, b = 0; i < 36; i++) {
		if (d < 4 && i == dash_at[d]) {
			if (t[i] != '-')
				goto bad;
			d++;
			continue;
		}
		if (!isxdigit((unsigned char)t[i]) || !isxdigit((unsigned char)t[i + 1]))
			goto bad;
		c->dc->uuid[b++] = (uint8_t)(hexval(t[i]) << 4 | hexval(t[i + 1]));
		i++;
	}
	c->dc->has_uuid = true;
	return 0;
bad:
	return fail_at(c, st, 0, "uuid: \"%s\" is not a UUID like "
		       "01234567-89ab-cdef-0123-456789abcdef", t);
}

static int parse_pool(struct parse_ctx *c, const struct cfg_stmt *st)
{
	return get_string(c, st, &c->dc->pool_name);
}

static int parse_seclabel(struct parse_ctx *c, const struct cfg_stmt *st)
{
	return ts_add_warning(c->dc, st->file, st->line,
			      "%s: XSM security labels are not supported; ignored", st->key);
}

/* ---- b_info ------------------------------------------------------------------ */

static int parse_memory(struct parse_ctx *c, const struct cfg_stmt *st)
{
	c->memory = st;
	return get_ranged(c, st, 1, UINT64_MAX / 1024, &c->memory_mib);
}

static int parse_maxmem(struct parse_ctx *c, const struct cfg_stmt *st)
{
	c->maxmem = st;
	return get_ranged(c, st, 1, UINT64_MAX / 1024, &c->maxmem_mib);
}

static int parse_vcpus(struct parse_ctx *c, const struct cfg_stmt *st)
{
	c->vcpus = st;
	return get_ranged(c, st, 1, TS_MAX_VCPUS, &c->nr_vcpus);
}

static int parse_maxvcpus(struct parse_ctx *c, const struct cfg_stmt *st)
{
	c->maxvcpus = st;
	return get_ranged(c, st, 1, TS_MAX_VCPUS, &c->nr_maxvcpus);
}

static int parse_cpumap_at(struct parse_ctx *c, const struct cfg_stmt *st,
			   const struct cfg_value *v, struct ts_cpumap *map)
{
	char why[200];
	int rc;

	if (v->kind == CFG_BOOL)
		return fail_at(c, st, v->line, "%s: expected a CPU list, got \"%s\"", st->key,
			       v->text);
	rc = ts_cpumap_parse(map, v->text, why, sizeof(why));
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return fail_at(c, st, v->line, "%s: %s", st->key, why);
	return 0;
}

static int parse_affinity(struct parse_ctx *c, const struct cfg_stmt *st,
			  struct affinity_in *in)
{
	size_t n = st->value.kind == CFG_LIST ? st->value.nr_items : 1;

	free(in->maps);
	in->st = st;
	in->is_list = st->value.kind == CFG_LIST;
	in->nr = 0;
	in->maps = calloc(n ? n : 1, sizeof(*in->maps));
	if (!in->maps)
		return -ENOMEM;
	if (in->is_list && n == 0)
		return fail_at(c, st, 0, "%s: the list is empty", st->key);
	for (size_t i = 0; i < n; i++) {
		const struct cfg_value *v = in->is_list ? &st->value.items[i] : &st->value;
		int rc = parse_cpumap_at(c, st, v, &in->maps[i]);

		if (rc < 0)
			return rc;
		in->nr++;
	}
	return 0;
}

static int parse_cpus(struct parse_ctx *c, const struct cfg_stmt *st)
{
	return parse_affinity(c, st, &c->hard);
}

static int parse_cpus_soft(struct parse_ctx *c, const struct cfg_stmt *st)
{
	return parse_affinity(c, st, &c->soft);
}

static int parse_weight(struct parse_ctx *c, const struct cfg_stmt *st)
{
	uint64_t v;
	int rc = get_ranged(c, st, 1, 65535, &v);

	if (rc == 0)
		c->dc->sched_weight = (int)v;
	return rc;
}

static int parse_cap(struct parse_ctx *c, const struct cfg_stmt *st)
{
	uint64_t v;
	int rc = get_ranged(c, st, 0, 65535, &v);

	if (rc == 0)
		c->dc->sched_cap = (int)v;
	return rc;
}

static int parse_max_grant_frames(struct parse_ctx *c, const struct cfg_stmt *st)
{
	uint64_t v;
	int rc = get_ranged(c, st, 1, 65535, &v);

	if (rc == 0)
		c->dc->max_grant_frames = (unsigned)v;
	return rc;
}

static int parse_kernel(struct parse_ctx *c, const struct cfg_stmt *st)
{
	return get_string(c, st, &c->dc->kernel);
}

static int parse_ramdisk(struct parse_ctx *c, const struct cfg_stmt *st)
{
	return get_string(c, st, &c->dc->ramdisk);
}

/* cmdline, root and extra are combined at the end, as xl does. */
static int parse_cmdline_part(struct parse_ctx *c, const struct cfg_stmt *st)
{
	int rc = want_atom(c, st, "a string");

	if (rc < 0)
		return rc;
	if (!strcmp(st->key, "root"))
		c->root = st;
	else if (!strcmp(st->key, "extra"))
		c->extra = st;
	else
		c->cmdline = st;
	return 0;
}

/* Only pygrub is run, and it is kxen's own (no Python): any path whose last
 * part is "pygrub" names it, as "/usr/lib/xen-4.17/bin/pygrub" does in
 * configurations written for Xen. */
static int parse_bootloader(struct parse_ctx *c, const struct cfg_stmt *st)
{
	int rc = want_atom(c, st, "a string");
	const char *base;

	if (rc < 0)
		return rc;
	base = strrchr(st->value.text, '/');
	base = base ? base + 1 : st->value.text;
	if (strcmp(base, "pygrub"))
		return fail_at(c, st, 0, "bootloader: only pygrub is supported (kxen runs its own, "
			       "reading the first disk), got \"%s\"", st->value.text);
	return get_string(c, st, &c->dc->bootloader);
}

static void bootloader_args_free(struct domain_config *dc)
{
	for (size_t i = 0; i < dc->nr_bootloader_args; i++)
		free(dc->bootloader_args[i]);
	free(dc->bootloader_args);
	dc->bootloader_args = NULL;
	dc->nr_bootloader_args = 0;
}

static int add_bootloader_arg(struct domain_config *dc, const char *text, size_t len)
{
	char **n = realloc(dc->bootloader_args, (dc->nr_bootloader_args + 1) * sizeof *n);

	if (!n)
		return -ENOMEM;
	dc->bootloader_args = n;
	n[dc->nr_bootloader_args] = strndup(text, len);
	if (!n[dc->nr_bootloader_args])
		return -ENOMEM;
	dc->nr_bootloader_args++;
	return 0;
}

/* A list of arguments, or (the old form xl still takes) one string split
 * at spaces. */
static int parse_bootloader_args(struct parse_ctx *c, const struct cfg_stmt *st)
{
	int rc = 0;

	bootloader_args_free(c->dc);
	if (st->value.kind == CFG_LIST) {
		for (size_t i = 0; i < st->value.nr_items && !rc; i++) {
			const char *t = st->value.items[i].text;
			rc = add_bootloader_arg(c->dc, t, strlen(t));
		}
		return rc;
	}
	rc = want_atom(c, st, "a list of strings");
	for (const char *p = st->value.text; !rc && *p;) {
		size_t n = strcspn(p, " \t");
		if (n)
			rc = add_bootloader_arg(c->dc, p, n);
		p += n;
		p += strspn(p, " \t");
	}
	return rc;
}

static int parse_e820_host(struct parse_ctx *c, const struct cfg_stmt *st)
{
	return get_bool(c, st, &c->dc->e820_host);
}

static int parse_nomigrate(struct parse_ctx *c, const struct cfg_stmt *st)
{
	return get_bool(c, st, &c->dc->disable_migrate);
}

/* ---- actions ----------------------------------------------------------------- */

static const char *const action_xl_names[] = {
	[TS_ACTION_DESTROY] = "destroy",
	[TS_ACTION_RESTART] = "restart",
	[TS_ACTION_RENAME_RESTART] = "rename-restart",
	[TS_ACTION_PRESERVE] = "preserve",
	[TS_ACTION_COREDUMP_DESTROY] = "coredump-destroy",
	[TS_ACTION_COREDUMP_RESTART] = "coredump-restart",
	[TS_ACTION_SOFT_RESET] = "soft-reset",
};

const char *ts_action_xl_name(enum ts_action action)
{
	return (unsigned)action <= TS_ACTION_SOFT_RESET ? action_xl_names[action] : "destroy";
}

int ts_action_from_xl_name(const char *name, enum ts_action *action)
{
	for (size_t i = 0; name && i < sizeof action_xl_names / sizeof action_xl_names[0]; i++) {
		if (!strcmp(name, action_xl_names[i])) {
			*action = (enum ts_action)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *ts_action_name(enum ts_action action)
{
	static const char *const json[] = {
		[TS_ACTION_DESTROY] = "destroy",
		[TS_ACTION_RESTART] = "restart",
		[TS_ACTION_RENAME_RESTART] = "restart_rename",
		[TS_ACTION_PRESERVE] = "preserve",
		[TS_ACTION_COREDUMP_DESTROY] = "coredump_destroy",
		[TS_ACTION_COREDUMP_RESTART] = "coredump_restart",
		[TS_ACTION_SOFT_RESET] = "soft_reset",
	};

	return (unsigned)action <= TS_ACTION_SOFT_RESET ? json[action] : "?";
}

static int parse_action(struct parse_ctx *c, const struct cfg_stmt *st)
{
	struct domain_config *dc = c->dc;
	enum ts_action *slot = !strcmp(st->key, "on_poweroff") ? &dc->on_poweroff
			     : !strcmp(st->key, "on_reboot")   ? &dc->on_reboot
			     : !strcmp(st->key, "on_watchdog") ? &dc->on_watchdog
			     : !strcmp(st->key, "on_crash")    ? &dc->on_crash
							       : &dc->on_soft_reset;
	int rc = want_atom(c, st, "a string");

	if (rc < 0)
		return rc;
	for (int a = TS_ACTION_DESTROY; a <= TS_ACTION_SOFT_RESET; a++) {
		if (!strcmp(st->value.text, action_xl_names[a])) {
			*slot = (enum ts_action)a;
			return 0;
		}
	}
	return fail_at(c, st, 0, "%s: unknown action \"%s\" (expected destroy, restart, "
		       "rename-restart, preserve, coredump-destroy, coredump-restart or "
		       "soft-reset)", st->key, st->value.text);
}

/* ---- devices ------------------------------------------------------------------- */

/* Runs one spec parser per list item; errors point at the item's line. */
static int parse_device_list(struct parse_ctx *c, const struct cfg_stmt *st,
			     void **array, size_t *nr, size_t size,
			     int (*one)(struct parse_ctx *, const struct cfg_stmt *,
					const struct cfg_value *, void *, size_t))
{
	size_t n = st->value.nr_items;
	int rc = want_list(c, st);

	if (rc < 0)
		return rc;
	*array = calloc(n ? n : 1, size);
	if (!*array)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct cfg_value *v = &st->value.items[i];

		if (v->kind == CFG_BOOL)
			return fail_at(c, st, v->line, "%s: expected a string, got %s", st->key,
				       v->text);
		rc = one(c, st, v, (char *)*array + i * size, i);
		if (rc < 0)
			return rc;
		(*nr)++;
	}
	return 0;
}

static int disk_one(struct parse_ctx *c, const struct cfg_stmt *st,
		    const struct cfg_value *v, void *slot, size_t index)
{
	struct ts_disk *d = slot;
	char why[400];
	int rc = ts_disk_parse(d, v->text, why, sizeof(why));

	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return fail_at(c, st, v->line, "disk: bad disk spec \"%s\": %s", v->text, why);
	for (size_t i = 0; i < index; i++) {
		const struct ts_disk *o = &c->dc->disks[i];

		if (o->vdev_disk == d->vdev_disk && o->vdev_partition == d->vdev_partition &&
		    !strncmp(o->vdev, d->vdev, 2)) {
			rc = fail_at(c, st, v->line, "disk: vdev %s is used twice", d->vdev);
			ts_disk_dispose(d);
			return rc;
		}
	}
	return 0;
}

static void disks_free(struct domain_config *dc)
{
	for (size_t i = 0; i < dc->nr_disks; i++)
		ts_disk_dispose(&dc->disks[i]);
	free(dc->disks);
	dc->disks = NULL;
	dc->nr_disks = 0;
}

static int parse_disk(struct parse_ctx *c, const struct cfg_stmt *st)
{
	disks_free(c->dc);
	return parse_device_list(c, st, (void **)&c->dc->disks, &c->dc->nr_disks,
				 sizeof(struct ts_disk), disk_one);
}

static int vif_one(struct parse_ctx *c, const struct cfg_stmt *st,
		   const struct cfg_value *v, void *slot, size_t index)
{
	struct ts_nic *nic = slot;
	char why[400];
	int rc;

	nic->devid = (int)index;
	rc = ts_nic_parse(nic, v->text, why, sizeof(why));
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return fail_at(c, st, v->line, "vif: bad vif spec \"%s\": %s", v->text, why);
	return 0;
}

static void nics_free(struct domain_config *dc)
{
	for (size_t i = 0; i < dc->nr_nics; i++)
		ts_nic_dispose(&dc->nics[i]);
	free(dc->nics);
	dc->nics = NULL;
	dc->nr_nics = 0;
}

static int parse_vif(struct parse_ctx *c, const struct cfg_stmt *st)
{
	nics_free(c->dc);
	return parse_device_list(c, st, (void **)&c->dc->nics, &c->dc->nr_nics,
				 sizeof(struct ts_nic), vif_one);
}

static int pci_one(struct parse_ctx *c, const struct cfg_stmt *st,
		   const struct cfg_value *v, void *slot, size_t index)
{
	struct ts_pcidev *dev = slot;
	char why[400], bdf[PCI_BDF_STRLEN];
	int rc = pci_spec_parse(dev, v->text, why, sizeof(why));

	if (rc < 0)
		return fail_at(c, st, v->line, "pci: %s", why);
	for (size_t i = 0; i < index; i++) {
		if (pci_bdf_equal(&c->dc->pcidevs[i].bdf, &dev->bdf)) {
			pci_bdf_format(&dev->bdf, bdf, sizeof(bdf));
			return fail_at(c, st, v->line, "pci: %s is listed twice", bdf);
		}
	}
	return 0;
}

static int parse_pci(struct parse_ctx *c, const struct cfg_stmt *st)
{
	free(c->dc->pcidevs);
	c->dc->pcidevs = NULL;
	c->dc->nr_pcidevs = 0;
	return parse_device_list(c, st, (void **)&c->dc->pcidevs, &c->dc->nr_pcidevs,
				 sizeof(struct ts_pcidev), pci_one);
}

static int parse_pci_default(struct parse_ctx *c, const struct cfg_stmt *st)
{
	static const char *const keys[] = { "pci_permissive", "pci_msitranslate",
					    "pci_seize", "pci_power_mgmt" };
	bool v;
	int rc = get_bool(c, st, &v);

	for (size_t i = 0; rc == 0 && i < 4; i++)
		if (!strcmp(st->key, keys[i]))
			c->pci_defaults[i] = v;
	return rc;
}

/* ---- the table ------------------------------------------------------------------- */

static const struct {
	const char *key;
	key_parser parse;
} key_table[] = {
	{ "name", parse_name },
	{ "type", parse_type },
	{ "builder", parse_builder },
	{ "uuid", parse_uuid },
	{ "pool", parse_pool },
	{ "seclabel", parse_seclabel },
	{ "init_seclabel", parse_seclabel },
	{ "memory", parse_memory },
	{ "maxmem", parse_maxmem },
	{ "vcpus", parse_vcpus },
	{ "maxvcpus", parse_maxvcpus },
	{ "cpus", parse_cpus },
	{ "cpus_soft", parse_cpus_soft },
	{ "weight", parse_weight },
	{ "cpu_weight", parse_weight },
	{ "cap", parse_cap },
	{ "cpu_cap", parse_cap },
	{ "max_grant_frames", parse_max_grant_frames },
	{ "kernel", parse_kernel },
	{ "ramdisk", parse_ramdisk },
	{ "cmdline", parse_cmdline_part },
	{ "root", parse_cmdline_part },
	{ "extra", parse_cmdline_part },
	{ "bootloader", parse_bootloader },
	{ "bootloader_args", parse_bootloader_args },
	{ "e820_host", parse_e820_host },
	{ "nomigrate", parse_nomigrate },
	{ "on_poweroff", parse_action },
	{ "on_reboot", parse_action },
	{ "on_watchdog", parse_action },
	{ "on_crash", parse_action },
	{ "on_soft_reset", parse_action },
	{ "disk", parse_disk },
	{ "vif", parse_vif },
	{ "pci", parse_pci },
	{ "pci_permissive", parse_pci_default },
	{ "pci_msitranslate", parse_pci_default },
	{ "pci_seize", parse_pci_default },
	{ "pci_power_mgmt", parse_pci_default },
};

static key_parser find_key_parser(const char *key)
{
	for (size_t i = 0; i < sizeof(key_table) / sizeof(key_table[0]); i++)
		if (!strcmp(key_table[i].key, key))
			return key_table[i].parse;
	return NULL;
}

/* ---- cross-key resolution ---------------------------------------------------------- */

static int missing(struct parse_ctx *c, const char *msg)
{
	ts_error_set(c->err, c->main_file, 0, 0, "%s", msg);
	return -EINVAL;
}

static int finish_vcpus(struct parse_ctx *c)
{
	struct domain_config *dc = c->dc;

	dc->vcpus = c->vcpus ? (unsigned)c->nr_vcpus : 1;
	dc->max_vcpus = dc->vcpus;
	if (c->maxvcpus) {
		if (c->nr_maxvcpus < dc->vcpus)
			return fail_at(c, c->maxvcpus, 0, "maxvcpus: %llu is less than vcpus (%u)",
				       (unsigned long long)c->nr_maxvcpus, dc->vcpus);
		dc->max_vcpus = (unsigned)c->nr_maxvcpus;
	}
	return 0;
}

static int finish_memory(struct parse_ctx *c)
{
	struct domain_config *dc = c->dc;
	uint64_t mem = c->memory ? c->memory_mib : DEFAULT_MEMORY_MIB;
	uint64_t max = c->maxmem ? c->maxmem_mib : mem;

	if (max < mem)
		return fail_at(c, c->maxmem, 0, "maxmem: %llu is less than memory (%llu)",
			       (unsigned long long)max, (unsigned long long)mem);
	dc->target_memkb = mem * 1024;
	dc->max_memkb = max * 1024;
	return 0;
}

/* xl: cmdline wins; else "root=<root> <extra>"; else extra. */
static int finish_cmdline(struct parse_ctx *c)
{
	struct domain_config *dc = c->dc;
	const char *root = c->root ? c->root->value.text : NULL;
	const char *extra = c->extra ? c->extra->value.text : NULL;
	size_t len;

	if (c->cmdline) {
		if (root || extra)
			ts_add_warning(dc, c->cmdline->file, c->cmdline->line,
				       "cmdline is set: ignoring root and extra");
		dc->cmdline = strdup(c->cmdline->value.text);
		return dc->cmdline ? 0 : -ENOMEM;
	}
	if (!root && !extra)
		return 0;
	len = (root ? strlen(root) + 6 : 0) + (extra ? strlen(extra) + 1 : 0) + 1;
	dc->cmdline = malloc(len);
	if (!dc->cmdline)
		return -ENOMEM;
	if (root && extra)
		snprintf(dc->cmdline, len, "root=%s %s", root, extra);
	else if (root)
		snprintf(dc->cmdline, len, "root=%s", root);
	else
		snprintf(dc->cmdline, len, "%s", extra);
	return 0;
}

/* A string applies to every vCPU; a list gives vCPU i its own map. */
static int finish_affinity(struct parse_ctx *c, struct affinity_in *in,
			   struct ts_cpumap **out, size_t *nr)
{
	size_t n;

	if (!in->st)
		return 0;
	n = in->is_list ? in->nr : c->dc->max_vcpus;
	if (in->is_list && n > c->dc->max_vcpus) {
		ts_add_warning(c->dc, in->st->file, in->st->line,
			       "%s: %zu entries for %u vCPUs; the extra ones are ignored",
			       in->st->key, n, c->dc->max_vcpus);
		n = c->dc->max_vcpus;
	}
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		(*out)[i] = in->maps[in->is_list ? i : 0];
	*nr = n;
	return 0;
}

static void finish_pci(struct parse_ctx *c)
{
	for (size_t i = 0; i < c->dc->nr_pcidevs; i++) {
		struct ts_pcidev *d = &c->dc->pcidevs[i];
		int *opts[4] = { &d->permissive, &d->msitranslate, &d->seize, &d->power_mgmt };

		for (int k = 0; k < 4; k++)
			if (*opts[k] < 0)
				*opts[k] = c->pci_defaults[k] < 0 ? 0 : c->pci_defaults[k];
	}
}

static int finish_config(struct parse_ctx *c)
{
	int rc;

	if (!c->dc->name)
		return missing(c, "name is required (add name = \"...\")");
	if (!c->dc->kernel && !c->dc->bootloader)
		return missing(c, "kernel is required for a PV guest "
			       "(or bootloader = \"pygrub\" to boot the kernel on its disk)");
	if (c->dc->bootloader && (c->dc->kernel || c->dc->ramdisk)) {
		rc = ts_add_warning(c->dc, c->main_file, 0, "kernel= and ramdisk= are ignored: "
				    "bootloader=%s takes them from the guest's disk",
				    c->dc->bootloader);
		if (rc < 0)
			return rc;
	}
	rc = finish_vcpus(c);
	if (rc == 0)
		rc = finish_memory(c);
	if (rc == 0)
		rc = finish_cmdline(c);
	if (rc == 0)
		rc = finish_affinity(c, &c->hard, &c->dc->vcpu_hard_affinity,
				     &c->dc->nr_vcpu_hard_affinity);
	if (rc == 0)
		rc = finish_affinity(c, &c->soft, &c->dc->vcpu_soft_affinity,
				     &c->dc->nr_vcpu_soft_affinity);
	if (rc == 0)
		finish_pci(c);
	return rc;
}

/* ---- entry points -------------------------------------------------------------------- */

void domain_config_init(struct domain_config *dc)
{
	memset(dc, 0, sizeof(*dc));
	dc->type = TS_DOMAIN_PV;
	dc->vcpus = dc->max_vcpus = 1;
	dc->target_memkb = dc->max_memkb = DEFAULT_MEMORY_MIB * 1024;
	dc->sched_weight = dc->sched_cap = -1;
	dc->on_poweroff = TS_ACTION_DESTROY;
	dc->on_reboot = TS_ACTION_RESTART;
	dc->on_watchdog = TS_ACTION_DESTROY;
	dc->on_crash = TS_ACTION_DESTROY;
	dc->on_soft_reset = TS_ACTION_SOFT_RESET;
}

void domain_config_dispose(struct domain_config *dc)
{
	free(dc->name);
	free(dc->pool_name);
	free(dc->kernel);
	free(dc->ramdisk);
	free(dc->cmdline);
	free(dc->bootloader);
	bootloader_args_free(dc);
	free(dc->vcpu_hard_affinity);
	free(dc->vcpu_soft_affinity);
	disks_free(dc);
	nics_free(dc);
	free(dc->pcidevs);
	for (size_t i = 0; i < dc->nr_warnings; i++)
		free(dc->warnings[i]);
	free(dc->warnings);
	domain_config_init(dc);
}

/* Statement i counts only if no later statement sets the same key. */
static bool stmt_is_overridden(const struct cfg_doc *doc, size_t i)
{
	for (size_t j = i + 1; j < doc->nr; j++)
		if (!strcmp(doc->stmts[j].key, doc->stmts[i].key))
			return true;
	return false;
}

static int interpret_doc(struct parse_ctx *c, const struct cfg_doc *doc)
{
	for (size_t i = 0; i < doc->nr; i++) {
		const struct cfg_stmt *st = &doc->stmts[i];
		key_parser parse;
		int rc;

		if (stmt_is_overridden(doc, i))
			continue;
		parse = find_key_parser(st->key);
		rc = parse ? parse(c, st)
			   : ts_add_warning(c->dc, st->file, st->line,
					    "unknown setting \"%s\" ignored", st->key);
		if (rc < 0)
			return rc;
	}
	return finish_config(c);
}

int domain_config_parse_string(struct domain_config *dc, const char *text,
			       const char *filename,
			       const char *const *overrides, size_t nr_overrides,
			       struct ts_error *err)
{
	struct ts_error local;
	struct parse_ctx c = {
		.dc = dc, .err = err ? err : &local,
		.main_file = filename ? filename : "<string>",
		.pci_defaults = { -1, -1, -1, -1 },
	};
	struct cfg_doc doc;
	int rc;

	ts_error_clear(c.err);
	domain_config_dispose(dc);
	cfg_doc_init(&doc);
	rc = cfg_doc_parse(&doc, text, c.main_file, false, c.err);
	for (size_t i = 0; rc == 0 && i < nr_overrides; i++)
		rc = cfg_doc_parse(&doc, overrides[i], "command line", true, c.err);
	if (rc == 0)
		rc = interpret_doc(&c, &doc);
	if (rc == -ENOMEM && !c.err->msg[0])
		ts_error_set(c.err, c.main_file, 0, 0, "out of memory");
	free(c.hard.maps);
	free(c.soft.maps);
	cfg_doc_dispose(&doc);
	if (rc < 0)
		domain_config_dispose(dc);
	return rc;
}

int domain_config_parse_file(struct domain_config *dc, const char *path,
			     const char *const *overrides, size_t nr_overrides,
			     struct ts_error *err)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;
	int rc;

	ts_error_clear(err);
	if (!f) {
		rc = -errno;
		ts_error_set(err, path, 0, 0, "cannot open: %s", strerror(-rc));
		return rc;
	}
	FILE *mem = open_memstream(&text, &len);
	char buf[4096];
	size_t n;

	rc = mem ? 0 : -ENOMEM;
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (fwrite(buf, 1, n, mem) != n)
			rc = -ENOMEM;
	if (rc == 0 && ferror(f)) {
		rc = -EIO;
		ts_error_set(err, path, 0, 0, "read error");
	}
	if (mem)
		fclose(mem);
	fclose(f);
	if (rc == 0 && strlen(text) != len) {
		rc = -EINVAL;
		ts_error_set(err, path, 0, 0, "contains a NUL byte; not a text file");
	}
	if (rc == 0)
		rc = domain_config_parse_string(dc, text, path, overrides, nr_overrides, err);
	free(text);
	return rc;
}
