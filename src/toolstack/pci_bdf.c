/*
 * PCI addresses as xl-pci-configuration(5) writes them:
 *   [DDDD:]BB:DD.F[@VSLOT][,KEY=VALUE...]
 * Every malformed form is reported with the part that is wrong, because a
 * passthrough line is usually copied from lspci and one wrong digit means
 * handing the wrong device to a guest.
 */
#include "toolstack/ts_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BDF_FORM "[DDDD:]BB:DD.F"

static bool all_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int parse_fixed_hex(const char *part, size_t digits, const char *what,
			   unsigned *out, char *why, size_t len)
{
	if (!all_hex(part, digits)) {
		snprintf(why, len, "%s \"%s\" is not %zu hex digits", what, part, digits);
		return -EINVAL;
	}
	*out = (unsigned)strtoul(part, NULL, 16);
	return 0;
}

/* "DD.F" */
static int parse_dev_func(char *part, struct pci_bdf *bdf, char *why, size_t len)
{
	char *dot = strchr(part, '.');
	unsigned dev;
	int rc;

	if (!dot) {
		snprintf(why, len, "expected DD.F (device.function) after the bus, got \"%s\"", part);
		return -EINVAL;
	}
	*dot = '\0';
	rc = parse_fixed_hex(part, 2, "device", &dev, why, len);
	if (rc < 0)
		return rc;
	if (dev > 0x1f) {
		snprintf(why, len, "device \"%s\" is out of range (00-1f)", part);
		return -ERANGE;
	}
	if (strlen(dot + 1) != 1 || dot[1] < '0' || dot[1] > '7') {
		snprintf(why, len, "function \"%s\" is not a digit 0-7", dot + 1);
		return -EINVAL;
	}
	bdf->dev = (uint8_t)dev;
	bdf->func = (uint8_t)(dot[1] - '0');
	return 0;
}

/* Just "[DDDD:]BB:DD.F"; why gets the bare reason. */
static int parse_bdf_reason(struct pci_bdf *bdf, const char *text, char *why, size_t len)
{
	char buf[64];
	char *parts[4];
	size_t nr = 0;
	unsigned domain = 0, bus;
	int rc;

	if (strlen(text) >= sizeof(buf) || !*text) {
		snprintf(why, len, "expected %s", BDF_FORM);
		return -EINVAL;
	}
	strcpy(buf, text);
	parts[nr++] = buf;
	for (char *p = buf; *p; p++) {
		if (*p != ':')
			continue;
		if (nr == 3) {
			snprintf(why, len, "too many ':' (expected %s)", BDF_FORM);
			return -EINVAL;
		}
		*p = '\0';
		parts[nr++] = p + 1;
	}
	if (nr == 1) {
		snprintf(why, len, "expected %s", BDF_FORM);
		return -EINVAL;
	}
	if (nr == 3) {
		rc = parse_fixed_hex(parts[0], 4, "domain", &domain, why, len);
		if (rc < 0)
			return rc;
	}
	rc = parse_fixed_hex(parts[nr - 2], 2, "bus", &bus, why, len);
	if (rc < 0)
		return rc;
	rc = parse_dev_func(parts[nr - 1], bdf, why, len);
	if (rc < 0)
		return rc;
	bdf->domain = (uint16_t)domain;
	bdf->bus = (uint8_t)bus;
	return 0;
}

int pci_bdf_parse(struct pci_bdf *bdf, const char *text, char *why, size_t whylen)
{
	char reason[256];
	int rc;

	memset(bdf, 0, sizeof(*bdf));
	rc = parse_bdf_reason(bdf, text, reason, sizeof(reason));
	if (rc < 0)
		snprintf(why, whylen, "bad PCI device \"%s\": %s", text, reason);
	return rc;
}

static int parse_vslot(const char *text, int *vslot, char *why, size_t len)
{
	size_t n = strlen(text);
	unsigned v;

	if (n < 1 || n > 2 || !all_hex(text, n)) {
		snprintf(why, len, "vslot \"%s\" is not a hex slot number 00-1f", text);
		return -EINVAL;
	}
	v = (unsigned)strtoul(text, NULL, 16);
	if (v > 0x1f) {
		snprintf(why, len, "vslot \"%s\" is out of range (00-1f)", text);
		return -ERANGE;
	}
	*vslot = (int)v;
	return 0;
}

static int parse_bool01(const char *key, const char *value, int *out, char *why, size_t len)
{
	if (strcmp(value, "0") && strcmp(value, "1")) {
		snprintf(why, len, "%s: expected 0 or 1, got \"%s\"", key, value);
		return -EINVAL;
	}
	*out = value[0] == '1';
	return 0;
}

static int parse_option(struct ts_pcidev *dev, char *opt, char *why, size_t len)
{
	static const struct { const char *key; size_t off; } flags[] = {
		{ "permissive", offsetof(struct ts_pcidev, permissive) },
		{ "msitranslate", offsetof(struct ts_pcidev, msitranslate) },
		{ "seize", offsetof(struct ts_pcidev, seize) },
		{ "power_mgmt", offsetof(struct ts_pcidev, power_mgmt) },
	};
	char *eq = strchr(opt, '=');
	const char *value;

	if (!eq) {
		snprintf(why, len, "option \"%s\" needs a value (KEY=VALUE)", opt);
		return -EINVAL;
	}
	*eq = '\0';
	value = ts_trim(eq + 1);
	ts_trim(opt);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(opt, flags[i].key))
			return parse_bool01(opt, value, (int *)((char *)dev + flags[i].off),
					    why, len);
	if (!strcmp(opt, "rdm_policy")) {
		if (!strcmp(value, "strict"))
			dev->rdm_policy = TS_RDM_STRICT;
		else if (!strcmp(value, "relaxed"))
			dev->rdm_policy = TS_RDM_RELAXED;
		else {
			snprintf(why, len, "rdm_policy: expected strict or relaxed, got \"%s\"", value);
			return -EINVAL;
		}
		return 0;
	}
	snprintf(why, len, "unknown option \"%s\" (expected permissive, msitranslate, "
		 "seize, power_mgmt or rdm_policy)", opt);
	return -EINVAL;
}

static int parse_spec_reason(struct ts_pcidev *dev, const char *text, char *why, size_t len)
{
	size_t nr = 0;
	char **pieces = ts_split(text, ',', &nr);
	char *at;
	int rc;

	if (!pieces)
		return -ENOMEM;
	at = strchr(pieces[0], '@');
	if (at) {
		*at = '\0';
		rc = parse_vslot(at + 1, &dev->vslot, why, len);
		if (rc < 0)
			goto out;
	}
	rc = parse_bdf_reason(&dev->bdf, pieces[0], why, len);
	for (size_t i = 1; rc == 0 && i < nr; i++)
		rc = parse_option(dev, pieces[i], why, len);
out:
	ts_strv_free(pieces);
	return rc;
}

int pci_spec_parse(struct ts_pcidev *dev, const char *text, char *why, size_t whylen)
{
	char reason[300];
	int rc;

	memset(dev, 0, sizeof(*dev));
	dev->vslot = -1;
	dev->permissive = dev->msitranslate = dev->seize = dev->power_mgmt = -1;
	dev->rdm_policy = TS_RDM_UNSET;
	rc = parse_spec_reason(dev, text, reason, sizeof(reason));
	if (rc < 0)
		snprintf(why, whylen, "bad PCI device \"%s\": %s", text, reason);
	return rc;
}

int pci_bdf_format(const struct pci_bdf *bdf, char *buf, size_t len)
{
	return snprintf(buf, len, "%04x:%02x:%02x.%u", bdf->domain, bdf->bus,
			bdf->dev, bdf->func);
}

bool pci_bdf_equal(const struct pci_bdf *a, const struct pci_bdf *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->dev == b->dev &&
	       a->func == b->func;
}
