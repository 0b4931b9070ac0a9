/* Small helpers shared by the toolstack parsers: errors, warnings, numbers,
 * booleans and comma splitting. */
#include "toolstack/ts_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ts_error_clear(struct ts_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

void ts_error_set(struct ts_error *err, const char *file, int line, int col,
		  const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
	err->line = line;
	err->column = col;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

int ts_error_format(const struct ts_error *err, char *buf, size_t len)
{
	if (err->file[0] && err->line > 0 && err->column > 0)
		return snprintf(buf, len, "%s:%d:%d: %s", err->file, err->line,
				err->column, err->msg);
	if (err->file[0] && err->line > 0)
		return snprintf(buf, len, "%s:%d: %s", err->file, err->line, err->msg);
	if (err->file[0])
		return snprintf(buf, len, "%s: %s", err->file, err->msg);
	return snprintf(buf, len, "%s", err->msg);
}

char *ts_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

int ts_add_warning(struct domain_config *dc, const char *file, int line,
		   const char *fmt, ...)
{
	char msg[512], full[800];
	char **grown;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(full, sizeof(full), "%s:%d: %s", file, line, msg);
	else
		snprintf(full, sizeof(full), "%s: %s", file, msg);
	grown = realloc(dc->warnings, (dc->nr_warnings + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	dc->warnings = grown;
	dc->warnings[dc->nr_warnings] = strdup(full);
	if (!dc->warnings[dc->nr_warnings])
		return -ENOMEM;
	dc->nr_warnings++;
	return 0;
}

/* Decimal or 0x hex.  Leading zeros are decimal: the brief (and most
 * people) read "010" as ten, even though xl's strtol would say eight. */
int ts_parse_u64(const char *text, uint64_t *out)
{
	const char *p = text;
	unsigned base = 10;
	uint64_t v = 0;

	if (!p || !*p)
		return -EINVAL;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
		if (!*p)
			return -EINVAL;
	}
	for (; *p; p++) {
		unsigned d;

		if (isdigit((unsigned char)*p))
			d = (unsigned)(*p - '0');
		else if (base == 16 && isxdigit((unsigned char)*p))
			d = (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
		else
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

int ts_parse_bool(const char *text, bool *out)
{
	if (!strcmp(text, "1") || !strcasecmp(text, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(text, "0") || !strcasecmp(text, "false")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

char *ts_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

void ts_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

char **ts_split(const char *text, char sep, size_t *nr)
{
	size_t n = 1, i = 0;
	const char *p, *start = text;
	char **v;

	for (p = text; *p; p++)
		n += (*p == sep);
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (p = text;; p++) {
		if (*p != sep && *p)
			continue;
		char *piece = strndup(start, (size_t)(p - start));

		if (!piece) {
			ts_strv_free(v);
			return NULL;
		}
		/* trim in place but keep the allocation's start for free() */
		char *t = ts_trim(piece);

		memmove(piece, t, strlen(t) + 1);
		v[i++] = piece;
		if (!*p)
			break;
		start = p + 1;
	}
	if (nr)
		*nr = i;
	return v;
}
