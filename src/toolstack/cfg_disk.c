/*
 * One disk=[...] entry, per xl-disk-configuration(5):
 *   [<key>=<value>|<flag>,]*, [<target>, [<format>, [<vdev>, [<access>]]]],
 *   [<key>=<value>|<flag>,]* [target=<target>]
 * Bare items fill the positional slots left unspecified, in that order; a
 * deprecated prefix on the target ("phy:", "raw:", "tap:aio:") consumes the
 * format slot, which is what makes the classic 'phy:/dev/vg/x,xvda,w' work.
 */
#include "toolstack/ts_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct disk_ctx {
	struct ts_disk *d;
	bool have_target, have_format, have_vdev, have_access;
	bool have_devtype, have_backendtype, have_script, have_backend;
	bool had_depr_prefix;
	bool access_given; /* have_access may be an empty positional */
	bool access_rw;
	char *why;
	size_t len;
};

static const char *const format_names[] = {
	[TS_DISK_FORMAT_RAW] = "raw",     [TS_DISK_FORMAT_QCOW] = "qcow",
	[TS_DISK_FORMAT_QCOW2] = "qcow2", [TS_DISK_FORMAT_VHD] = "vhd",
	[TS_DISK_FORMAT_QED] = "qed",     [TS_DISK_FORMAT_EMPTY] = "empty",
};

static const char *const backend_names[] = {
	[TS_DISK_BACKEND_UNKNOWN] = "unknown", [TS_DISK_BACKEND_PHY] = "phy",
	[TS_DISK_BACKEND_QDISK] = "qdisk",     [TS_DISK_BACKEND_TAP] = "tap",
	[TS_DISK_BACKEND_STANDALONE] = "standalone",
};

const char *ts_disk_format_name(enum ts_disk_format format)
{
	return (unsigned)format <= TS_DISK_FORMAT_EMPTY ? format_names[format] : "?";
}

const char *ts_disk_backend_name(enum ts_disk_backend backend)
{
	return (unsigned)backend <= TS_DISK_BACKEND_STANDALONE ? backend_names[backend] : "?";
}

void ts_disk_dispose(struct ts_disk *disk)
{
	free(disk->target);
	free(disk->vdev);
	free(disk->script);
	free(disk->backend_domain);
	memset(disk, 0, sizeof(*disk));
}

static int disk_fail(struct disk_ctx *c, int rc, const char *fmt, const char *arg)
{
	snprintf(c->why, c->len, fmt, arg);
	return rc;
}

/* ---- vdev names (Xen's docs/misc/vbd-interface) ------------------------- */

/* "a" = 0, "z" = 25, "aa" = 26: bijective base 26. */
static int decode_letters(const char **p, unsigned *disk)
{
	unsigned v = 0;
	int n = 0;

	while (**p >= 'a' && **p <= 'z') {
		if (++n > 4)
			return -EINVAL;
		v = v * 26 + (unsigned)(**p - 'a' + 1);
		(*p)++;
	}
	if (!n)
		return -EINVAL;
	*disk = v - 1;
	return 0;
}

static int decode_number(const char **p, unsigned *out)
{
	unsigned v = 0;
	int n = 0;

	if (**p == '0' && isdigit((unsigned char)(*p)[1]))
		return -EINVAL; /* no leading zeros */
	while (isdigit((unsigned char)**p)) {
		if (++n > 7)
			return -EINVAL;
		v = v * 10 + (unsigned)(**p - '0');
		(*p)++;
	}
	if (!n)
		return -EINVAL;
	*out = v;
	return 0;
}

int ts_vdev_decode(const char *vdev, unsigned *disk, unsigned *partition)
{
	static const struct { const char *prefix; unsigned max_disk, max_part; } kinds[] = {
		{ "xvd", (1u << 20) - 1, 255 },
		{ "hd", 3, 63 },
		{ "sd", 15, 15 },
	};
	const char *p = vdev;

	*partition = 0;
	if (vdev[0] == 'd' && isdigit((unsigned char)vdev[1])) {
		/* d<disk>[p<partition>] */
		p++;
		if (decode_number(&p, disk) < 0 || *disk > (1u << 20) - 1)
			return -EINVAL;
		if (*p == 'p') {
			p++;
			if (decode_number(&p, partition) < 0 || *partition > 255)
				return -EINVAL;
		}
		return *p ? -EINVAL : 0;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i].prefix);

		if (strncmp(vdev, kinds[i].prefix, n))
			continue;
		p = vdev + n;
		if (decode_letters(&p, disk) < 0 || *disk > kinds[i].max_disk)
			return -EINVAL;
		if (*p && (decode_number(&p, partition) < 0 || *partition == 0 ||
			   *partition > kinds[i].max_part))
			return -EINVAL;
		return *p ? -EINVAL : 0;
	}
	return -EINVAL;
}

/* ---- single parameters --------------------------------------------------- */

static int set_string(struct disk_ctx *c, bool *have, char **field, const char *what,
		      const char *value)
{
	if (*have)
		return disk_fail(c, -EINVAL, "%s specified more than once", what);
	*have = true;
	free(*field);
	*field = strdup(value);
	return *field ? 0 : -ENOMEM;
}

static int set_format(struct disk_ctx *c, const char *value)
{
	if (c->have_format)
		return disk_fail(c, -EINVAL, "%s specified more than once", "format");
	c->have_format = true;
	if (!*value)
		return 0; /* empty positional: the default */
	for (int f = TS_DISK_FORMAT_RAW; f < TS_DISK_FORMAT_EMPTY; f++) {
		if (!strcmp(value, format_names[f])) {
			c->d->format = (enum ts_disk_format)f;
			return 0;
		}
	}
	unsigned disk, part;

	if (ts_vdev_decode(value, &disk, &part) == 0) {
		/* the classic mistake: 'target,xvda,w' without a prefix */
		snprintf(c->why, c->len,
			 "format \"%s\" is not one of raw, qcow, qcow2, vhd, qed "
			 "(to give the vdev second, write \"TARGET,,%s\" or \"phy:TARGET,%s\")",
			 value, value, value);
		return -EINVAL;
	}
	return disk_fail(c, -EINVAL, "format \"%s\" is not one of raw, qcow, qcow2, vhd, qed",
			 value);
}

static int set_access(struct disk_ctx *c, const char *value)
{
	if (c->have_access)
		return disk_fail(c, -EINVAL, "%s specified more than once", "access");
	c->have_access = true;
	if (!*value)
		return 0; /* empty positional: the default */
	c->access_given = true;
	if (!strcmp(value, "r") || !strcmp(value, "ro"))
		c->access_rw = false;
	else if (!strcmp(value, "w") || !strcmp(value, "rw"))
		c->access_rw = true;
	else
		return disk_fail(c, -EINVAL, "access \"%s\" is not one of r, ro, w, rw", value);
	return 0;
}

static int set_devtype(struct disk_ctx *c, const char *value)
{
	if (c->have_devtype)
		return disk_fail(c, -EINVAL, "%s specified more than once", "devtype");
	c->have_devtype = true;
	if (!strcmp(value, "cdrom"))
		c->d->is_cdrom = true;
	else if (strcmp(value, "disk"))
		return disk_fail(c, -EINVAL, "devtype \"%s\" is not one of disk, cdrom", value);
	return 0;
}

static int set_backendtype(struct disk_ctx *c, const char *value)
{
	if (c->have_backendtype)
		return disk_fail(c, -EINVAL, "%s specified more than once", "backendtype");
	c->have_backendtype = true;
	for (int b = TS_DISK_BACKEND_PHY; b <= TS_DISK_BACKEND_STANDALONE; b++) {
		if (!strcmp(value, backend_names[b])) {
			c->d->backend = (enum ts_disk_backend)b;
			return 0;
		}
	}
	return disk_fail(c, -EINVAL,
			 "backendtype \"%s\" is not one of phy, qdisk, tap, standalone", value);
}

/* "hdc:cdrom" is the deprecated way of saying vdev=hdc,devtype=cdrom. */
static int set_vdev(struct disk_ctx *c, const char *value)
{
	char *colon;
	int rc = set_string(c, &c->have_vdev, &c->d->vdev, "vdev", value);

	if (rc < 0)
		return rc;
	colon = strchr(c->d->vdev, ':');
	if (colon) {
		*colon = '\0';
		rc = set_devtype(c, colon + 1);
	}
	return rc;
}

/* Strips deprecated prefixes from a positional target, recording what
 * they imply.  Returns the remaining target. */
static const char *strip_deprecated_prefixes(struct disk_ctx *c, const char *t)
{
	static const char *const noop[] = { "tapdisk:", "tap2:", "tap:", "aio:",
					    "ioemu:", "file:", "phy:" };
	static const char *const scripts[] = { "iscsi:", "nbd:", "enbd:", "drbd:" };
	bool again = true;

	while (again) {
		again = false;
		for (int f = TS_DISK_FORMAT_RAW; f < TS_DISK_FORMAT_EMPTY; f++) {
			size_t n = strlen(format_names[f]);

			if (!strncmp(t, format_names[f], n) && t[n] == ':') {
				c->d->format = (enum ts_disk_format)f;
				c->have_format = true;
				t += n + 1;
				again = c->had_depr_prefix = true;
			}
		}
		for (size_t i = 0; i < sizeof(noop) / sizeof(noop[0]); i++) {
			size_t n = strlen(noop[i]);

			if (!strncmp(t, noop[i], n)) {
				t += n;
				again = c->had_depr_prefix = true;
			}
		}
		for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
			size_t n = strlen(scripts[i]);

			if (!strncmp(t, scripts[i], n) && !c->have_script) {
				free(c->d->script);
				c->d->script = malloc(n + 6);
				if (!c->d->script)
					return NULL;
				snprintf(c->d->script, n + 6, "block-%.*s", (int)(n - 1), t);
				c->have_script = true;
				t += n;
				again = c->had_depr_prefix = true;
			}
		}
	}
	return t;
}

static int set_positional(struct disk_ctx *c, const char *value)
{
	if (!c->have_target) {
		const char *t = strip_deprecated_prefixes(c, value);

		if (!t)
			return -ENOMEM;
		return set_string(c, &c->have_target, &c->d->target, "target", t);
	}
	if (!c->have_format && !c->had_depr_prefix)
		return set_format(c, value);
	if (!c->have_vdev)
		return set_vdev(c, value);
	if (!c->have_access)
		return set_access(c, value);
	return disk_fail(c, -EINVAL, "too many positional parameters at \"%s\"", value);
}

static int set_keyword(struct disk_ctx *c, const char *key, const char *value)
{
	if (!strcmp(key, "format"))
		return set_format(c, value);
	if (!strcmp(key, "vdev"))
		return set_vdev(c, value);
	if (!strcmp(key, "access") || !strcmp(key, "mode"))
		return set_access(c, value);
	if (!strcmp(key, "devtype"))
		return set_devtype(c, value);
	if (!strcmp(key, "backendtype"))
		return set_backendtype(c, value);
	if (!strcmp(key, "script"))
		return set_string(c, &c->have_script, &c->d->script, "script", value);
	if (!strcmp(key, "backend"))
		return set_string(c, &c->have_backend, &c->d->backend_domain, "backend", value);
	return disk_fail(c, -EINVAL, "unknown parameter \"%s\"", key);
}

static int set_flag(struct disk_ctx *c, const char *flag, bool *handled)
{
	*handled = true;
	if (!strcmp(flag, "cdrom"))
		return set_devtype(c, "cdrom");
	if (!strcmp(flag, "direct-io-safe")) {
		c->d->direct_io_safe = true;
		return 0;
	}
	if (!strcmp(flag, "discard") || !strcmp(flag, "no-discard")) {
		c->d->discard = flag[0] == 'd';
		return 0;
	}
	*handled = false;
	return 0;
}

static int parse_item(struct disk_ctx *c, char *item)
{
	char *eq = strchr(item, '=');
	bool handled;
	int rc;

	if (eq) {
		*eq = '\0';
		return set_keyword(c, ts_trim(item), ts_trim(eq + 1));
	}
	rc = set_flag(c, item, &handled);
	if (rc < 0 || handled)
		return rc;
	return set_positional(c, item);
}

/* Defaults and cross-checks once every item is in. */
static int disk_finish(struct disk_ctx *c)
{
	struct ts_disk *d = c->d;

	if (!c->have_vdev)
		return disk_fail(c, -EINVAL, "%s", "no vdev specified");
	if (ts_vdev_decode(d->vdev, &d->vdev_disk, &d->vdev_partition) < 0)
		return disk_fail(c, -EINVAL,
				 "vdev \"%s\" is not a valid virtual device name "
				 "(e.g. xvda, xvdb1, hdc, sda)", d->vdev);
	if (!d->target || !*d->target) {
		if (!d->is_cdrom)
			return disk_fail(c, -EINVAL, "%s",
					 "no target given (only a cdrom may be empty)");
		d->format = TS_DISK_FORMAT_EMPTY;
		if (!d->target && !(d->target = strdup("")))
			return -ENOMEM;
	}
	d->readwrite = c->access_given ? c->access_rw : !d->is_cdrom;
	if (d->is_cdrom && d->readwrite)
		return disk_fail(c, -EINVAL, "%s", "a cdrom cannot be writable (access=rw)");
	d->removable = d->is_cdrom;
	return 0;
}

int ts_disk_parse(struct ts_disk *disk, const char *spec, char *why, size_t len)
{
	struct disk_ctx c = { .d = disk, .why = why, .len = len };
	const char *p = spec;
	int rc = 0;

	memset(disk, 0, sizeof(*disk));
	disk->discard = -1;
	while (*p && rc == 0) {
		const char *end;
		char *item;

		while (isspace((unsigned char)*p))
			p++;
		if (!strncmp(p, "target=", 7)) {
			/* target= takes the rest, commas and all */
			rc = set_string(&c, &c.have_target, &disk->target, "target", p + 7);
			break;
		}
		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		item = strndup(p, (size_t)(end - p));
		if (!item)
			return -ENOMEM;
		rc = parse_item(&c, ts_trim(item));
		free(item);
		p = *end ? end + 1 : end;
	}
	if (rc == 0)
		rc = disk_finish(&c);
	if (rc < 0)
		ts_disk_dispose(disk);
	return rc;
}
