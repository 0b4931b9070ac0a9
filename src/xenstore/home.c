/* A guest's home directory as the toolstack lays it out, with libxl's
 * permissions (libxl__domain_make and libxl__build_post): the home and
 * what the toolstack writes in it (name, domid, memory, cpu, store,
 * control) are read-only to the guest; it owns only the places libxl gives
 * it to write (data, drivers, feature, attr, error, the control nodes it
 * answers through, device/suspend/event-channel) and its console
 * frontend.  kxend and kxen-run both use this, so a guest sees one layout. */
#include "xenstore/xs-private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Read-only to the guest: dom0's node, the guest may read. */
#define HOME_RO(domid) { { 0, XS_PERM_NONE }, { (domid), XS_PERM_READ } }
/* The guest's own node: nobody else may look (dom0 always can). */
#define HOME_RW(domid) { { (domid), XS_PERM_NONE } }

/* Nodes the guest owns, relative to its home. */
static const char *const guest_owned[] = {
	"data", "drivers", "feature", "attr", "error",
	"control/shutdown", "control/feature-poweroff", "control/feature-reboot",
	"control/feature-suspend", "control/sysrq",
	"device/suspend/event-channel",
};

struct home_ctx {
	struct xs_store *st;
	char home[XS_HOME_MAX];
	int rc;                 /* first error; later steps are skipped */
};

static void home_path(const struct home_ctx *h, const char *rel, char *out, size_t len)
{
	snprintf(out, len, "%s%s%s", h->home, rel[0] ? "/" : "", rel);
}

static void home_perms(struct home_ctx *h, const char *rel, const struct xs_perm *p,
		       unsigned n)
{
	char path[128];

	if (h->rc)
		return;
	home_path(h, rel, path, sizeof(path));
	h->rc = xs_mkdir(h->st, path);
	if (!h->rc)
		h->rc = xs_set_perms(h->st, path, p, n);
}

/* A read-only value: it inherits the read-only home's permissions. */
static void home_write(struct home_ctx *h, const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void home_write(struct home_ctx *h, const char *rel, const char *fmt, ...)
{
	char path[128], val[64];
	va_list ap;

	if (h->rc)
		return;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	home_path(h, rel, path, sizeof(path));
	h->rc = xs_write_str(h->st, path, val);
}

int xs_home_create(struct xs_store *st, const struct xs_home *info)
{
	struct home_ctx h = { .st = st };
	const struct xs_perm ro[] = HOME_RO(info->domid);
	const struct xs_perm rw[] = HOME_RW(info->domid);
	/* A frontend directory: the guest's, its backend (dom0) may read. */
	const struct xs_perm frontend[] = { { info->domid, XS_PERM_NONE },
					    { 0, XS_PERM_READ } };
	char rel[48];

	if (info->domid == 0 || info->domid > 0xffff || !info->name)
		return -EINVAL;
	xs_home_path(info->domid, h.home);
	/* Start from nothing, as libxl does: no node of an earlier domain
	 * with this id may survive with the guest as its owner. */
	h.rc = xs_rm(st, h.home);
	if (h.rc == -ENOENT)
		h.rc = 0;
	home_perms(&h, "", ro, 2);
	home_write(&h, "name", "%s", info->name);
	home_write(&h, "domid", "%" PRIu32, info->domid);
	home_perms(&h, "memory", ro, 2);
	home_write(&h, "memory/target", "%" PRIu64, info->target_kib);
	home_write(&h, "memory/static-max", "%" PRIu64, info->static_max_kib);
	home_perms(&h, "cpu", ro, 2);
	for (unsigned i = 0; i < info->max_vcpus && !h.rc; i++) {
		snprintf(rel, sizeof(rel), "cpu/%u/availability", i);
		home_write(&h, rel, "%s", i < info->vcpus ? "online" : "offline");
	}
	home_write(&h, "store/port", "%" PRIu32, info->store_port);
	home_perms(&h, "console", frontend, 2);
	home_write(&h, "console/port", "%" PRIu32, info->console_port);
	home_perms(&h, "control", ro, 2);
	home_write(&h, "control/platform-feature-xs_reset_watches", "1");
	home_perms(&h, "device", ro, 2);
	for (size_t i = 0; i < sizeof(guest_owned) / sizeof(guest_owned[0]); i++)
		home_perms(&h, guest_owned[i], rw, 1);
	return h.rc;
}
