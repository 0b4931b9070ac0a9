/*
 * kxen-ctl/1 message model, encoder and incremental decoder.  Both ends
 * use the same limits, so anything one side encodes the other decodes.
 */
#include "control/control.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ctl_msg_init(struct ctl_msg *m)
{
	memset(m, 0, sizeof *m);
}

void ctl_msg_dispose(struct ctl_msg *m)
{
	for (size_t i = 0; i < m->nr_fields; i++) {
		free(m->fields[i].key);
		free(m->fields[i].val);
	}
	free(m->fields);
	free(m->head);
	ctl_msg_init(m);
}

static bool has_ctl_char(const char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			return true;
	return false;
}

int ctl_msg_set_head(struct ctl_msg *m, const char *head)
{
	if (!*head || has_ctl_char(head) || strlen(head) > CTL_MAX_LINE - 16)
		return -EINVAL;
	char *copy = strdup(head);
	if (!copy)
		return -ENOMEM;
	free(m->head);
	m->head = copy;
	return 0;
}

int ctl_msg_set_error(struct ctl_msg *m, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n = snprintf(buf, sizeof buf, "error ");

	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
	va_end(ap);
	/* The text may quote a guest's or a file's bytes: keep it one line. */
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	return ctl_msg_set_head(m, buf);
}

bool ctl_key_valid(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n > CTL_MAX_KEY)
		return false;
	for (const char *c = key; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		      *c == '_' || *c == '-'))
			return false;
	return true;
}

bool ctl_value_valid(const char *val)
{
	return !has_ctl_char(val);
}

static int fields_reserve(struct ctl_msg *m)
{
	if (m->nr_fields < m->cap_fields)
		return 0;
	if (m->nr_fields >= CTL_MAX_FIELDS)
		return -E2BIG;
	size_t cap = m->cap_fields ? m->cap_fields * 2 : 16;
	if (cap > CTL_MAX_FIELDS)
		cap = CTL_MAX_FIELDS;
	struct ctl_field *f = realloc(m->fields, cap * sizeof *f);
	if (!f)
		return -ENOMEM;
	m->fields = f;
	m->cap_fields = cap;
	return 0;
}

int ctl_msg_add(struct ctl_msg *m, const char *key, const char *val)
{
	if (!ctl_key_valid(key) || !ctl_value_valid(val))
		return -EINVAL;
	if (strlen(key) + 1 + strlen(val) > CTL_MAX_LINE)
		return -E2BIG;
	int rc = fields_reserve(m);
	if (rc)
		return rc;
	char *k = strdup(key), *v = strdup(val);
	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	m->fields[m->nr_fields++] = (struct ctl_field){ k, v };
	return 0;
}

int ctl_msg_addf(struct ctl_msg *m, const char *key, const char *fmt, ...)
{
	char *val = NULL;
	va_list ap;

	va_start(ap, fmt);
	int n = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	int rc = ctl_msg_add(m, key, val);
	free(val);
	return rc;
}

const char *ctl_msg_get(const struct ctl_msg *m, const char *key)
{
	for (size_t i = 0; i < m->nr_fields; i++)
		if (!strcmp(m->fields[i].key, key))
			return m->fields[i].val;
	return NULL;
}

int ctl_msg_encode(const struct ctl_msg *m, bool is_request, char **out, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	if (!m->head)
		return -EINVAL;
	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	if (is_request)
		fprintf(f, "%s/%d ", CTL_PROTO, CTL_VERSION);
	fprintf(f, "%s\n", m->head);
	for (size_t i = 0; i < m->nr_fields; i++)
		fprintf(f, "%s=%s\n", m->fields[i].key, m->fields[i].val);
	fputc('\n', f);
	if (fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*len = size;
	return 0;
}

/* ---- decoder -------------------------------------------------------------- */

void ctl_parser_init(struct ctl_parser *p, bool is_request)
{
	memset(p, 0, sizeof *p);
	p->is_request = is_request;
	ctl_msg_init(&p->msg);
}

void ctl_parser_dispose(struct ctl_parser *p)
{
	ctl_msg_dispose(&p->msg);
	ctl_parser_init(p, p->is_request);
}

static int parser_fail(struct ctl_parser *p, int rc, const char *why)
{
	bool is_request = p->is_request;
	ctl_msg_dispose(&p->msg);
	ctl_parser_init(p, is_request);
	snprintf(p->err, sizeof p->err, "%s", why);
	return rc;
}

/* "kxen-ctl/1 list" -> head "list"; the command is one word. */
static int parse_request_head(struct ctl_parser *p, const char *line)
{
	size_t plen = strlen(CTL_PROTO);
	uint64_t version;
	char vbuf[16];

	if (strncmp(line, CTL_PROTO "/", plen + 1))
		return parser_fail(p, -EPROTO, "request does not start with \"" CTL_PROTO "/\"");
	const char *v = line + plen + 1, *sp = strchr(v, ' ');
	if (!sp || (size_t)(sp - v) >= sizeof vbuf)
		return parser_fail(p, -EPROTO, "bad request line: expected \"" CTL_PROTO "/1 COMMAND\"");
	memcpy(vbuf, v, (size_t)(sp - v));
	vbuf[sp - v] = 0;
	if (ctl_parse_u64(vbuf, 0, 1000000, &version))
		return parser_fail(p, -EPROTO, "bad protocol version");
	if (version != CTL_VERSION)
		return parser_fail(p, -EPROTONOSUPPORT, "unsupported protocol version (this daemon speaks "
				   CTL_PROTO "/1)");
	const char *cmd = sp + 1;
	size_t n = strlen(cmd);
	if (n == 0 || n > CTL_MAX_COMMAND)
		return parser_fail(p, -EPROTO, "bad command name");
	for (const char *c = cmd; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || *c == '-'))
			return parser_fail(p, -EPROTO, "bad command name");
	return ctl_msg_set_head(&p->msg, cmd) ? parser_fail(p, -ENOMEM, "out of memory") : 0;
}

static int parse_reply_head(struct ctl_parser *p, const char *line)
{
	if (strcmp(line, "ok") && strncmp(line, "error ", 6))
		return parser_fail(p, -EPROTO, "reply is neither \"ok\" nor \"error ...\"");
	return ctl_msg_set_head(&p->msg, line) ? parser_fail(p, -EPROTO, "bad reply line") : 0;
}

static int parse_field(struct ctl_parser *p, char *line)
{
	char *eq = strchr(line, '=');
	if (!eq)
		return parser_fail(p, -EPROTO, "field line without '='");
	*eq = 0;
	if (!ctl_key_valid(line))
		return parser_fail(p, -EPROTO, "bad field name");
	int rc = ctl_msg_add(&p->msg, line, eq + 1);
	if (rc == -E2BIG)
		return parser_fail(p, rc, "too many fields");
	if (rc)
		return parser_fail(p, rc, "bad field");
	return 0;
}

/* One complete line (without its LF).  Returns 1 at the end of a message. */
static int parser_line(struct ctl_parser *p)
{
	char *line = p->line;

	line[p->line_len] = 0;
	p->line_len = 0;
	if (p->line_too_long)
		return parser_fail(p, -E2BIG, "line too long");
	if (memchr(line, '\r', strlen(line)))
		return parser_fail(p, -EPROTO, "carriage return in a line");
	if (!p->have_head) {
		if (!*line)
			return parser_fail(p, -EPROTO, "empty first line");
		int rc = p->is_request ? parse_request_head(p, line) : parse_reply_head(p, line);
		p->have_head = rc == 0;
		return rc;
	}
	if (!*line)
		return 1;
	return parse_field(p, line);
}

int ctl_parser_feed(struct ctl_parser *p, const char *buf, size_t len,
		    size_t *consumed, struct ctl_msg *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = buf[i];
		if (c == 0) {
			*consumed = i + 1;
			return parser_fail(p, -EPROTO, "NUL byte in a message");
		}
		if (c != '\n') {
			if (p->line_len < CTL_MAX_LINE)
				p->line[p->line_len++] = c;
			else
				p->line_too_long = true;
			continue;
		}
		int rc = parser_line(p);
		if (rc < 0) {
			*consumed = i + 1;
			return rc;
		}
		if (rc == 1) {
			*consumed = i + 1;
			*out = p->msg;
			ctl_msg_init(&p->msg);
			p->have_head = false;
			p->line_too_long = false;
			return 1;
		}
	}
	*consumed = len;
	return 0;
}

/* ---- strict numbers ------------------------------------------------------- */

int ctl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
			return -ERANGE;
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int ctl_parse_bool(const char *s, bool *out)
{
	if (!s || (strcmp(s, "0") && strcmp(s, "1")))
		return -EINVAL;
	*out = s[0] == '1';
	return 0;
}
