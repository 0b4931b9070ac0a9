/*
 * One vif=[...] entry, per xl-network-configuration(5): comma-separated
 * KEY=VALUE items (mac, bridge, ip, type, model, vifname, script, backend,
 * gatewaydev, rate, mtu, devid); an empty spec means all defaults.
 */
#include "toolstack/ts_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ts_nic_dispose(struct ts_nic *nic)
{
	free(nic->bridge);
	free(nic->ip);
	free(nic->model);
	free(nic->vifname);
	free(nic->script);
	free(nic->backend);
	free(nic->gatewaydev);
	memset(nic, 0, sizeof(*nic));
}

/* Exactly six two-digit hex bytes separated by ':'. */
int ts_mac_parse(const char *text, uint8_t mac[6])
{
	if (strlen(text) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		const char *b = text + i * 3;

		if (!isxdigit((unsigned char)b[0]) || !isxdigit((unsigned char)b[1]))
			return -EINVAL;
		if (i < 5 && b[2] != ':')
			return -EINVAL;
		mac[i] = (uint8_t)strtoul((char[]){ b[0], b[1], 0 }, NULL, 16);
	}
	return 0;
}

/* "10Mb/s", "250KB/s", "1GB/s": decimal prefixes, b = bits, B = bytes. */
static int parse_rate_per_sec(const char *text, uint64_t *bytes, char *why, size_t len)
{
	char *end;
	uint64_t v, mult = 1;

	errno = 0;
	if (!isdigit((unsigned char)text[0]))
		goto bad;
	v = strtoull(text, &end, 10);
	if (errno)
		goto bad;
	if (*end == 'G')
		mult = 1000000000ULL;
	else if (*end == 'M')
		mult = 1000000ULL;
	else if (*end == 'K')
		mult = 1000ULL;
	if (mult != 1)
		end++;
	if ((*end != 'B' && *end != 'b') || strcmp(end + 1, "/s"))
		goto bad;
	if (v > UINT64_MAX / mult)
		goto bad;
	v *= mult;
	if (*end == 'b')
		v /= 8;
	if (!v)
		goto bad;
	*bytes = v;
	return 0;
bad:
	snprintf(why, len, "rate \"%s\" is not RATE/s like 10Mb/s or 250KB/s", text);
	return -EINVAL;
}

static int parse_interval(const char *text, uint32_t *usecs, char *why, size_t len)
{
	char *end;
	uint64_t v, mult;

	errno = 0;
	v = isdigit((unsigned char)text[0]) ? strtoull(text, &end, 10) : 0;
	if (!v || errno)
		goto bad;
	if (!strcmp(end, "s"))
		mult = 1000000;
	else if (!strcmp(end, "ms"))
		mult = 1000;
	else if (!strcmp(end, "us"))
		mult = 1;
	else
		goto bad;
	if (v > UINT32_MAX / mult)
		goto bad;
	*usecs = (uint32_t)(v * mult);
	return 0;
bad:
	snprintf(why, len, "rate interval \"%s\" is not a time like 50ms, 1s or 500us", text);
	return -EINVAL;
}

static int parse_rate(struct ts_nic *nic, char *value, char *why, size_t len)
{
	char *at = strchr(value, '@');
	uint64_t per_sec;
	uint32_t usecs = 50000; /* xl's default replenish interval */
	int rc;

	if (at) {
		*at = '\0';
		rc = parse_interval(at + 1, &usecs, why, len);
		if (rc < 0)
			return rc;
	}
	rc = parse_rate_per_sec(value, &per_sec, why, len);
	if (rc < 0)
		return rc;
	nic->rate_interval_usecs = usecs;
	nic->rate_bytes_per_interval = per_sec / 1000000 * usecs +
				       per_sec % 1000000 * usecs / 1000000;
	if (!nic->rate_bytes_per_interval) {
		snprintf(why, len, "rate \"%s\" is too low to send anything per interval", value);
		return -EINVAL;
	}
	return 0;
}

static int replace_string(char **field, const char *value)
{
	free(*field);
	*field = strdup(value);
	return *field ? 0 : -ENOMEM;
}

static int parse_vif_item(struct ts_nic *nic, char *key, char *value, char *why, size_t len)
{
	static const struct { const char *key; size_t off; } strings[] = {
		{ "bridge", offsetof(struct ts_nic, bridge) },
		{ "ip", offsetof(struct ts_nic, ip) },
		{ "model", offsetof(struct ts_nic, model) },
		{ "vifname", offsetof(struct ts_nic, vifname) },
		{ "script", offsetof(struct ts_nic, script) },
		{ "backend", offsetof(struct ts_nic, backend) },
		{ "gatewaydev", offsetof(struct ts_nic, gatewaydev) },
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (!strcmp(key, strings[i].key))
			return replace_string((char **)((char *)nic + strings[i].off), value);
	if (!strcmp(key, "mac")) {
		if (ts_mac_parse(value, nic->mac) < 0) {
			snprintf(why, len, "mac \"%s\" is not six hex bytes like 00:16:3e:12:34:56",
				 value);
			return -EINVAL;
		}
		nic->has_mac = true;
		return 0;
	}
	if (!strcmp(key, "type")) {
		if (strcmp(value, "vif") && strcmp(value, "ioemu")) {
			snprintf(why, len, "type \"%s\" is not one of vif, ioemu", value);
			return -EINVAL;
		}
		nic->type_set = true;
		nic->type = value[0] == 'v' ? TS_NIC_TYPE_VIF : TS_NIC_TYPE_IOEMU;
		return 0;
	}
	if (!strcmp(key, "rate"))
		return parse_rate(nic, value, why, len);
	if (!strcmp(key, "mtu")) {
		if (ts_parse_u64(value, &v) < 0 || v < 68 || v > 65535) {
			snprintf(why, len, "mtu \"%s\" is not a number 68-65535", value);
			return -EINVAL;
		}
		nic->mtu = (unsigned)v;
		return 0;
	}
	if (!strcmp(key, "devid")) {
		if (ts_parse_u64(value, &v) < 0 || v > 65535) {
			snprintf(why, len, "devid \"%s\" is not a number 0-65535", value);
			return -EINVAL;
		}
		nic->devid = (int)v;
		return 0;
	}
	snprintf(why, len, "unknown option \"%s\" (expected mac, bridge, ip, type, model, "
		 "vifname, script, backend, gatewaydev, rate, mtu or devid)", key);
	return -EINVAL;
}

int ts_nic_parse(struct ts_nic *nic, const char *spec, char *why, size_t len)
{
	size_t nr = 0;
	char **items = ts_split(spec, ',', &nr);
	int rc = 0;

	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < nr && rc == 0; i++) {
		char *eq = strchr(items[i], '=');

		if (!*items[i])
			continue; /* '' and trailing commas */
		if (!eq) {
			snprintf(why, len, "\"%s\" is not KEY=VALUE", items[i]);
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		rc = parse_vif_item(nic, ts_trim(items[i]), ts_trim(eq + 1), why, len);
	}
	ts_strv_free(items);
	if (rc < 0)
		ts_nic_dispose(nic);
	return rc;
}
