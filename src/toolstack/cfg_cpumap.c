/* xl's CPULIST syntax for cpus= and cpus_soft=. */
#include "toolstack/ts_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void cpumap_set_range(struct ts_cpumap *map, unsigned lo, unsigned hi, bool on)
{
	for (unsigned c = lo; c <= hi; c++) {
		if (on)
			map->bits[c / 64] |= 1ULL << (c % 64);
		else
			map->bits[c / 64] &= ~(1ULL << (c % 64));
	}
}

bool ts_cpumap_test(const struct ts_cpumap *map, unsigned cpu)
{
	return cpu < TS_MAX_CPUS && (map->bits[cpu / 64] >> (cpu % 64)) & 1;
}

static int parse_cpu_number(const char *text, unsigned *cpu, char *why, size_t len)
{
	uint64_t v;

	/* decimal only: xl's CPULIST has no hex */
	if (strspn(text, "0123456789") != strlen(text) || ts_parse_u64(text, &v) < 0) {
		snprintf(why, len, "\"%s\" is not a CPU number", text);
		return -EINVAL;
	}
	if (v >= TS_MAX_CPUS) {
		snprintf(why, len, "CPU %s is out of range (0-%d)", text, TS_MAX_CPUS - 1);
		return -ERANGE;
	}
	*cpu = (unsigned)v;
	return 0;
}

/* One item: "all", "N" or "N-M", already stripped of '^' (and of
 * "node:", whose numbers are checked the same way). */
static int parse_cpu_item(const char *item, unsigned *lo, unsigned *hi,
			  char *why, size_t len)
{
	char buf[64];
	char *dash;
	int rc;

	if (!strcmp(item, "all")) {
		*lo = 0;
		*hi = TS_MAX_CPUS - 1;
		return 0;
	}
	if (!*item || strlen(item) >= sizeof(buf)) {
		snprintf(why, len, "\"%s\" is not a CPU number or range", item);
		return -EINVAL;
	}
	strcpy(buf, item);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	rc = parse_cpu_number(buf, lo, why, len);
	if (rc < 0)
		return rc;
	*hi = *lo;
	if (dash) {
		rc = parse_cpu_number(dash + 1, hi, why, len);
		if (rc < 0)
			return rc;
		if (*hi < *lo) {
			snprintf(why, len, "range \"%s\" ends before it starts", item);
			return -EINVAL;
		}
	}
	return 0;
}

int ts_cpumap_parse(struct ts_cpumap *map, const char *text, char *why, size_t whylen)
{
	size_t nr = 0;
	char **items = ts_split(text, ',', &nr);
	int rc = 0;

	if (!items)
		return -ENOMEM;
	memset(map, 0, sizeof(*map));
	for (size_t i = 0; i < nr; i++) {
		const char *item = items[i];
		bool exclude = item[0] == '^';
		unsigned lo, hi;

		if (exclude)
			item++;
		if (exclude && !strcmp(item, "all")) {
			snprintf(why, whylen, "\"^all\" selects no CPU");
			rc = -EINVAL;
			goto out;
		}
		/* "^1" alone means "all but 1": an exclusion needs a base. */
		if (exclude && i == 0)
			cpumap_set_range(map, 0, TS_MAX_CPUS - 1, true);
		bool node = !strncmp(item, "nodes:", 6) || !strncmp(item, "node:", 5);
		if (node)
			item = strchr(item, ':') + 1;
		rc = parse_cpu_item(item, &lo, &hi, why, whylen);
		if (rc < 0)
			goto out;
		if (node)
			map->has_nodes = true;
		else
			cpumap_set_range(map, lo, hi, !exclude);
	}
	if (map->has_nodes) {
		/* Kept as the trimmed items, for the daemon's parser. */
		size_t used = 0;
		for (size_t i = 0; i < nr && rc == 0; i++) {
			int n = snprintf(map->text + used, sizeof(map->text) - used, "%s%s",
					 i ? "," : "", items[i]);
			if (n < 0 || (size_t)n >= sizeof(map->text) - used) {
				snprintf(why, whylen, "a CPU list with nodes is limited to %d "
					 "characters", TS_CPULIST_MAX - 1);
				rc = -E2BIG;
			}
			else
				used += (size_t)n;
		}
		goto out;
	}
	for (size_t w = 0; w < TS_MAX_CPUS / 64; w++)
		if (map->bits[w])
			goto out;
	snprintf(why, whylen, "\"%s\" selects no CPU", text);
	rc = -EINVAL;
out:
	ts_strv_free(items);
	return rc;
}

static size_t cpumap_count(const struct ts_cpumap *map)
{
	size_t n = 0;

	for (size_t w = 0; w < TS_MAX_CPUS / 64; w++)
		n += (size_t)__builtin_popcountll(map->bits[w]);
	return n;
}

/* Appends with snprintf semantics: *used may exceed len (then truncated). */
static void append(char *buf, size_t len, size_t *used, const char *fmt,
		   unsigned a, unsigned b)
{
	size_t room = *used < len ? len - *used : 0;
	int n = snprintf(room ? buf + *used : NULL, room, fmt, a, b);

	if (n > 0)
		*used += (size_t)n;
}

int ts_cpumap_format(const struct ts_cpumap *map, char *buf, size_t len)
{
	bool open = ts_cpumap_test(map, TS_MAX_CPUS - 1);
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	if (map->has_nodes)
		return snprintf(buf, len, "%s", map->text);
	/* A map reaching the last CPU came from "all" (or "^N"): say so
	 * rather than print up to CPU 1023. */
	if (open && cpumap_count(map) > TS_MAX_CPUS / 2) {
		append(buf, len, &used, "all", 0, 0);
		for (unsigned c = 0; c < TS_MAX_CPUS; c++)
			if (!ts_cpumap_test(map, c))
				append(buf, len, &used, ",^%u", c, 0);
		return (int)used;
	}
	for (unsigned c = 0; c < TS_MAX_CPUS; c++) {
		unsigned end = c;

		if (!ts_cpumap_test(map, c))
			continue;
		while (end + 1 < TS_MAX_CPUS && ts_cpumap_test(map, end + 1))
			end++;
		if (used)
			append(buf, len, &used, ",", 0, 0);
		if (end == c)
			append(buf, len, &used, "%u", c, 0);
		else
			append(buf, len, &used, "%u-%u", c, end);
		c = end;
	}
	return (int)used;
}
