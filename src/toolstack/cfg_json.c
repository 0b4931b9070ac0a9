/*
 * JSON rendering of a domain_config for `xl create -n`.  Key names follow
 * libxl_domain_config's JSON (c_info, b_info, disks, nics, pcidevs,
 * on_poweroff, ...) so people who know xl can read it; unlike libxl, the
 * device arrays and actions are always present, which keeps the output
 * predictable for scripts and tests.  CPU maps are written as canonical
 * CPULIST strings ("0-3,5", "all,^1") rather than 1024-entry bitmaps.
 */
#include "toolstack/ts_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define JW_MAX_DEPTH 8

struct jw {
	FILE *f;
	int depth; /* open containers */
	bool first[JW_MAX_DEPTH]; /* nothing written yet at this depth */
};

static void jw_indent(struct jw *w)
{
	for (int i = 0; i < w->depth; i++)
		fputs("    ", w->f);
}

static void jw_string(struct jw *w, const char *s)
{
	fputc('"', w->f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", w->f); break;
		case '\\': fputs("\\\\", w->f); break;
		case '\n': fputs("\\n", w->f); break;
		case '\t': fputs("\\t", w->f); break;
		case '\r': fputs("\\r", w->f); break;
		case '\b': fputs("\\b", w->f); break;
		case '\f': fputs("\\f", w->f); break;
		default:
			if (*p < 0x20)
				fprintf(w->f, "\\u%04x", *p);
			else
				fputc(*p, w->f);
		}
	}
	fputc('"', w->f);
}

/* Starts a member (key may be NULL inside arrays). */
static void jw_member(struct jw *w, const char *key)
{
	fputs(w->first[w->depth] ? "\n" : ",\n", w->f);
	w->first[w->depth] = false;
	jw_indent(w);
	if (key) {
		jw_string(w, key);
		fputs(": ", w->f);
	}
}

static void jw_begin(struct jw *w, const char *key, char open)
{
	if (w->depth > 0) /* the outermost object is not a member */
		jw_member(w, key);
	fputc(open, w->f);
	w->depth++;
	w->first[w->depth] = true;
}

static void jw_end(struct jw *w, char close)
{
	bool empty = w->first[w->depth];

	w->depth--;
	if (!empty) {
		fputc('\n', w->f);
		jw_indent(w);
	}
	fputc(close, w->f);
}

static void jw_str(struct jw *w, const char *key, const char *value)
{
	if (!value)
		return;
	jw_member(w, key);
	jw_string(w, value);
}

static void jw_u64(struct jw *w, const char *key, uint64_t value)
{
	jw_member(w, key);
	fprintf(w->f, "%llu", (unsigned long long)value);
}

static void jw_bool(struct jw *w, const char *key, bool value)
{
	jw_member(w, key);
	fputs(value ? "true" : "false", w->f);
}

/* ---- sections ---------------------------------------------------------- */

static void json_c_info(struct jw *w, const struct domain_config *dc)
{
	char uuid[37];
	const uint8_t *u = dc->uuid;

	jw_begin(w, "c_info", '{');
	jw_str(w, "type", "pv");
	jw_str(w, "name", dc->name);
	if (dc->has_uuid) {
		snprintf(uuid, sizeof(uuid),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
			 u[11], u[12], u[13], u[14], u[15]);
		jw_str(w, "uuid", uuid);
	}
	jw_str(w, "pool_name", dc->pool_name);
	jw_end(w, '}');
}

static void json_affinity(struct jw *w, const char *key, const struct ts_cpumap *maps,
			  size_t nr)
{
	char buf[8192];

	if (!nr)
		return;
	jw_member(w, key);
	fputc('[', w->f);
	for (size_t i = 0; i < nr; i++) {
		ts_cpumap_format(&maps[i], buf, sizeof(buf));
		if (i)
			fputs(", ", w->f);
		jw_string(w, buf);
	}
	fputc(']', w->f);
}

static void json_b_info(struct jw *w, const struct domain_config *dc)
{
	jw_begin(w, "b_info", '{');
	jw_u64(w, "max_vcpus", dc->max_vcpus);
	jw_member(w, "avail_vcpus");
	fputc('[', w->f);
	for (unsigned i = 0; i < dc->vcpus; i++)
		fprintf(w->f, i ? ", %u" : "%u", i);
	fputc(']', w->f);
	json_affinity(w, "vcpu_hard_affinity", dc->vcpu_hard_affinity,
		      dc->nr_vcpu_hard_affinity);
	json_affinity(w, "vcpu_soft_affinity", dc->vcpu_soft_affinity,
		      dc->nr_vcpu_soft_affinity);
	jw_u64(w, "max_memkb", dc->max_memkb);
	jw_u64(w, "target_memkb", dc->target_memkb);
	if (dc->sched_weight >= 0 || dc->sched_cap >= 0) {
		jw_begin(w, "sched_params", '{');
		if (dc->sched_weight >= 0)
			jw_u64(w, "weight", (uint64_t)dc->sched_weight);
		if (dc->sched_cap >= 0)
			jw_u64(w, "cap", (uint64_t)dc->sched_cap);
		jw_end(w, '}');
	}
	if (dc->max_grant_frames)
		jw_u64(w, "max_grant_frames", dc->max_grant_frames);
	if (dc->disable_migrate)
		jw_bool(w, "disable_migrate", true);
	jw_str(w, "bootloader", dc->bootloader);
	if (dc->nr_bootloader_args) {
		jw_begin(w, "bootloader_args", '[');
		for (size_t i = 0; i < dc->nr_bootloader_args; i++)
			jw_str(w, NULL, dc->bootloader_args[i]);
		jw_end(w, ']');
	}
	jw_begin(w, "type.pv", '{');
	jw_str(w, "kernel", dc->kernel);
	jw_str(w, "ramdisk", dc->ramdisk);
	jw_str(w, "cmdline", dc->cmdline);
	if (dc->e820_host)
		jw_bool(w, "e820_host", true);
	jw_end(w, '}');
	jw_end(w, '}');
}

static void json_disk(struct jw *w, const struct ts_disk *d)
{
	jw_begin(w, NULL, '{');
	jw_str(w, "pdev_path", d->target);
	jw_str(w, "vdev", d->vdev);
	if (d->backend != TS_DISK_BACKEND_UNKNOWN)
		jw_str(w, "backend", ts_disk_backend_name(d->backend));
	jw_str(w, "format", ts_disk_format_name(d->format));
	jw_str(w, "script", d->script);
	jw_str(w, "backend_domname", d->backend_domain);
	jw_u64(w, "removable", d->removable);
	jw_u64(w, "readwrite", d->readwrite);
	jw_u64(w, "is_cdrom", d->is_cdrom);
	if (d->direct_io_safe)
		jw_bool(w, "direct_io_safe", true);
	if (d->discard >= 0)
		jw_bool(w, "discard_enable", d->discard);
	jw_end(w, '}');
}

static void json_nic(struct jw *w, const struct ts_nic *n)
{
	char mac[18];

	jw_begin(w, NULL, '{');
	jw_u64(w, "devid", (uint64_t)n->devid);
	if (n->has_mac) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0],
			 n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		jw_str(w, "mac", mac);
	}
	jw_str(w, "ip", n->ip);
	jw_str(w, "bridge", n->bridge);
	jw_str(w, "ifname", n->vifname);
	jw_str(w, "script", n->script);
	jw_str(w, "model", n->model);
	if (n->type_set)
		jw_str(w, "nictype", n->type == TS_NIC_TYPE_VIF ? "vif" : "vif_ioemu");
	jw_str(w, "backend_domname", n->backend);
	jw_str(w, "gatewaydev", n->gatewaydev);
	if (n->rate_bytes_per_interval) {
		jw_u64(w, "rate_bytes_per_interval", n->rate_bytes_per_interval);
		jw_u64(w, "rate_interval_usecs", n->rate_interval_usecs);
	}
	if (n->mtu)
		jw_u64(w, "mtu", n->mtu);
	jw_end(w, '}');
}

static void json_pcidev(struct jw *w, const struct ts_pcidev *p)
{
	jw_begin(w, NULL, '{');
	jw_u64(w, "domain", p->bdf.domain);
	jw_u64(w, "bus", p->bdf.bus);
	jw_u64(w, "dev", p->bdf.dev);
	jw_u64(w, "func", p->bdf.func);
	if (p->vslot >= 0)
		jw_u64(w, "vdevfn", (uint64_t)p->vslot << 3 | p->bdf.func);
	jw_bool(w, "msitranslate", p->msitranslate > 0);
	jw_bool(w, "power_mgmt", p->power_mgmt > 0);
	jw_bool(w, "permissive", p->permissive > 0);
	jw_bool(w, "seize", p->seize > 0);
	if (p->rdm_policy != TS_RDM_UNSET)
		jw_str(w, "rdm_policy", p->rdm_policy == TS_RDM_STRICT ? "strict" : "relaxed");
	jw_end(w, '}');
}

int domain_config_to_json(const struct domain_config *dc, char **out)
{
	struct jw w = { .depth = 0 };
	size_t len;

	*out = NULL;
	w.f = open_memstream(out, &len);
	if (!w.f)
		return -ENOMEM;
	jw_begin(&w, NULL, '{');
	json_c_info(&w, dc);
	json_b_info(&w, dc);
	jw_begin(&w, "disks", '[');
	for (size_t i = 0; i < dc->nr_disks; i++)
		json_disk(&w, &dc->disks[i]);
	jw_end(&w, ']');
	jw_begin(&w, "nics", '[');
	for (size_t i = 0; i < dc->nr_nics; i++)
		json_nic(&w, &dc->nics[i]);
	jw_end(&w, ']');
	jw_begin(&w, "pcidevs", '[');
	for (size_t i = 0; i < dc->nr_pcidevs; i++)
		json_pcidev(&w, &dc->pcidevs[i]);
	jw_end(&w, ']');
	jw_str(&w, "on_poweroff", ts_action_name(dc->on_poweroff));
	jw_str(&w, "on_reboot", ts_action_name(dc->on_reboot));
	jw_str(&w, "on_watchdog", ts_action_name(dc->on_watchdog));
	jw_str(&w, "on_crash", ts_action_name(dc->on_crash));
	jw_str(&w, "on_soft_reset", ts_action_name(dc->on_soft_reset));
	jw_end(&w, '}');
	fputc('\n', w.f);
	if (fclose(w.f) != 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}
