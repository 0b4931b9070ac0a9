/*
 * The xl.cfg(5) syntax: KEY = VALUE statements ended by a newline or ';',
 * '#' comments, values that are strings ("..." / '...' with C escapes),
 * numbers, bare true/false, or [ lists ] of those that may span lines and
 * end with a trailing comma.  The result is a flat list of statements; the
 * meaning of each key is cfg_keys.c's business.
 */
#include "toolstack/ts_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct lexer {
	const char *p;
	int line, col;
	const char *file;
	bool lenient;
	struct ts_error *err;
};

const char *cfg_kind_name(enum cfg_kind kind)
{
	switch (kind) {
	case CFG_STRING: return "a string";
	case CFG_NUMBER: return "a number";
	case CFG_BOOL: return "a boolean";
	case CFG_LIST: return "a list";
	}
	return "a value";
}

static void value_dispose(struct cfg_value *v)
{
	free(v->text);
	for (size_t i = 0; i < v->nr_items; i++)
		value_dispose(&v->items[i]);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

void cfg_doc_init(struct cfg_doc *doc)
{
	memset(doc, 0, sizeof(*doc));
}

void cfg_doc_dispose(struct cfg_doc *doc)
{
	for (size_t i = 0; i < doc->nr; i++) {
		free(doc->stmts[i].key);
		value_dispose(&doc->stmts[i].value);
	}
	free(doc->stmts);
	for (size_t i = 0; i < doc->nr_files; i++)
		free(doc->files[i]);
	free(doc->files);
	memset(doc, 0, sizeof(*doc));
}

static void lx_advance(struct lexer *lx)
{
	if (*lx->p == '\n') {
		lx->line++;
		lx->col = 1;
	} else {
		lx->col++;
	}
	lx->p++;
}

static int lx_fail(struct lexer *lx, int line, int col, const char *msg)
{
	ts_error_set(lx->err, lx->file, line, col, "%s", msg);
	return -EINVAL;
}

static void lx_skip_blanks(struct lexer *lx)
{
	while (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r')
		lx_advance(lx);
}

static void lx_skip_comment(struct lexer *lx)
{
	if (*lx->p == '#')
		while (*lx->p && *lx->p != '\n')
			lx_advance(lx);
}

/* Inside [ ] newlines and comments are just space. */
static void lx_skip_list_space(struct lexer *lx)
{
	for (;;) {
		lx_skip_blanks(lx);
		if (*lx->p == '#')
			lx_skip_comment(lx);
		else if (*lx->p == '\n')
			lx_advance(lx);
		else
			return;
	}
}

static bool is_ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool is_ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* What the parser found instead, for messages. */
static void describe_here(const struct lexer *lx, char *buf, size_t len)
{
	const char *p = lx->p;
	size_t n = 0;

	if (!*p) {
		snprintf(buf, len, "end of file");
		return;
	}
	if (*p == '\n' || *p == '\r') {
		snprintf(buf, len, "end of line");
		return;
	}
	if (is_ident_char(*p)) {
		while (is_ident_char(p[n]) && n < 40)
			n++;
		snprintf(buf, len, "%.*s", (int)n, p);
		return;
	}
	snprintf(buf, len, "'%c'", *p);
}

static int hex_value(char c)
{
	if (isdigit((unsigned char)c))
		return c - '0';
	return tolower((unsigned char)c) - 'a' + 10;
}

/* Decodes the escape after a backslash (lx->p points past it); appends the
 * byte to out. */
static int lx_escape(struct lexer *lx, char *out, size_t *n)
{
	int line = lx->line, col = lx->col - 1;
	char c = *lx->p;
	char msg[64];
	int v;

	switch (c) {
	case 'n': v = '\n'; break;
	case 't': v = '\t'; break;
	case 'r': v = '\r'; break;
	case 'a': v = '\a'; break;
	case 'b': v = '\b'; break;
	case 'f': v = '\f'; break;
	case 'v': v = '\v'; break;
	case '\\': case '"': case '\'': v = c; break;
	case 'x':
		lx_advance(lx);
		if (!isxdigit((unsigned char)*lx->p))
			return lx_fail(lx, line, col, "\\x escape without hex digits");
		v = hex_value(*lx->p);
		if (isxdigit((unsigned char)lx->p[1])) {
			lx_advance(lx);
			v = v * 16 + hex_value(*lx->p);
		}
		break;
	default:
		if (c >= '0' && c <= '7') {
			v = c - '0';
			for (int i = 0; i < 2 && lx->p[1] >= '0' && lx->p[1] <= '7'; i++) {
				lx_advance(lx);
				v = v * 8 + (*lx->p - '0');
			}
			if (v > 255)
				return lx_fail(lx, line, col, "octal escape out of range");
			break;
		}
		if (!c || c == '\n')
			return -EAGAIN; /* caller reports the unterminated string */
		snprintf(msg, sizeof(msg), "unknown escape sequence \"\\%c\" in string", c);
		return lx_fail(lx, line, col, msg);
	}
	if (v == 0)
		return lx_fail(lx, line, col, "NUL byte (\\0) in string");
	out[(*n)++] = (char)v;
	lx_advance(lx);
	return 0;
}

static int lx_string(struct lexer *lx, struct cfg_value *v)
{
	char quote = *lx->p;
	int line = lx->line, col = lx->col;
	char *out = malloc(strlen(lx->p) + 1);
	size_t n = 0;
	int rc;

	if (!out)
		return -ENOMEM;
	lx_advance(lx);
	while (*lx->p != quote) {
		if (!*lx->p || *lx->p == '\n') {
			free(out);
			return lx_fail(lx, line, col, "unterminated string");
		}
		if (*lx->p == '\\') {
			lx_advance(lx);
			rc = lx_escape(lx, out, &n);
			if (rc == -EAGAIN)
				rc = lx_fail(lx, line, col, "unterminated string");
			if (rc < 0) {
				free(out);
				return rc;
			}
			continue;
		}
		out[n++] = *lx->p;
		lx_advance(lx);
	}
	lx_advance(lx);
	out[n] = '\0';
	v->kind = CFG_STRING;
	v->text = out;
	return 0;
}

/* A number token is taken greedily ("12x", "1.5") so the key's parser can
 * say exactly which number is bad. */
static int lx_number(struct lexer *lx, struct cfg_value *v)
{
	const char *start = lx->p;

	while (isalnum((unsigned char)*lx->p) || *lx->p == '_' || *lx->p == '.')
		lx_advance(lx);
	v->kind = CFG_NUMBER;
	v->text = strndup(start, (size_t)(lx->p - start));
	return v->text ? 0 : -ENOMEM;
}

static int lx_bare_rest_of_line(struct lexer *lx, struct cfg_value *v)
{
	const char *start = lx->p;

	while (*lx->p && *lx->p != '\n')
		lx_advance(lx);
	v->kind = CFG_STRING;
	v->text = strndup(start, (size_t)(lx->p - start));
	if (!v->text)
		return -ENOMEM;
	ts_trim(v->text); /* only trailing blanks can remain */
	return 0;
}

static int lx_atom(struct lexer *lx, struct cfg_value *v, const char *key,
		   bool in_list)
{
	char got[64], msg[300];
	const char *p = lx->p;

	v->line = lx->line;
	v->col = lx->col;
	if (*p == '"' || *p == '\'')
		return lx_string(lx, v);
	if (isdigit((unsigned char)*p))
		return lx_number(lx, v);
	if (!in_list && lx->lenient && *p && *p != '\n' && *p != '[')
		return lx_bare_rest_of_line(lx, v);
	if ((!strncmp(p, "true", 4) && !is_ident_char(p[4])) ||
	    (!strncmp(p, "false", 5) && !is_ident_char(p[5]))) {
		size_t n = p[0] == 't' ? 4 : 5;

		v->kind = CFG_BOOL;
		v->text = strndup(p, n);
		for (size_t i = 0; i < n; i++)
			lx_advance(lx);
		return v->text ? 0 : -ENOMEM;
	}
	describe_here(lx, got, sizeof(got));
	if (*p == '[')
		snprintf(msg, sizeof(msg), "%s: lists cannot be nested", key);
	else
		snprintf(msg, sizeof(msg),
			 "%s: expected a value (a \"string\", a number or a [list]), got %s",
			 key, got);
	return lx_fail(lx, lx->line, lx->col, msg);
}

static int list_append(struct cfg_value *list, struct cfg_value *item)
{
	struct cfg_value *grown;

	grown = realloc(list->items, (list->nr_items + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	list->items = grown;
	list->items[list->nr_items++] = *item;
	memset(item, 0, sizeof(*item));
	return 0;
}

static int lx_list(struct lexer *lx, struct cfg_value *v, const char *key)
{
	int line = lx->line, col = lx->col;
	char got[64], msg[300];
	int rc;

	v->kind = CFG_LIST;
	v->line = line;
	v->col = col;
	lx_advance(lx); /* '[' */
	for (;;) {
		struct cfg_value item = {0};

		lx_skip_list_space(lx);
		if (*lx->p == ']')
			break;
		if (!*lx->p) {
			snprintf(msg, sizeof(msg), "%s: list is not closed (no ']' before end of file)", key);
			return lx_fail(lx, line, col, msg);
		}
		rc = lx_atom(lx, &item, key, true);
		if (rc == 0)
			rc = list_append(v, &item);
		if (rc < 0) {
			value_dispose(&item);
			return rc;
		}
		lx_skip_list_space(lx);
		if (*lx->p == ',') {
			lx_advance(lx);
			continue;
		}
		if (*lx->p == ']')
			break;
		if (!*lx->p) {
			snprintf(msg, sizeof(msg), "%s: list is not closed (no ']' before end of file)", key);
			return lx_fail(lx, line, col, msg);
		}
		describe_here(lx, got, sizeof(got));
		snprintf(msg, sizeof(msg),
			 "%s: expected ',' or ']' in the list opened at line %d, got %s",
			 key, line, got);
		return lx_fail(lx, lx->line, lx->col, msg);
	}
	lx_advance(lx); /* ']' */
	return 0;
}

static int lx_key(struct lexer *lx, char **key)
{
	const char *start = lx->p;
	char got[64], msg[128];

	if (!is_ident_start(*lx->p)) {
		describe_here(lx, got, sizeof(got));
		snprintf(msg, sizeof(msg), "expected a setting name, got %s", got);
		return lx_fail(lx, lx->line, lx->col, msg);
	}
	while (is_ident_char(*lx->p))
		lx_advance(lx);
	*key = strndup(start, (size_t)(lx->p - start));
	return *key ? 0 : -ENOMEM;
}

/* After a value: blanks, an optional comment, then newline, ';' or EOF. */
static int lx_statement_end(struct lexer *lx, const char *key)
{
	char got[64], msg[300];

	lx_skip_blanks(lx);
	lx_skip_comment(lx);
	if (*lx->p == ';' || *lx->p == '\n') {
		lx_advance(lx);
		return 0;
	}
	if (!*lx->p)
		return 0;
	describe_here(lx, got, sizeof(got));
	snprintf(msg, sizeof(msg),
		 "%s: expected end of line or ';' after the value, got %s", key, got);
	return lx_fail(lx, lx->line, lx->col, msg);
}

static int doc_append(struct cfg_doc *doc, struct cfg_stmt *st)
{
	if (doc->nr == doc->cap) {
		size_t cap = doc->cap ? doc->cap * 2 : 16;
		struct cfg_stmt *grown = realloc(doc->stmts, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		doc->stmts = grown;
		doc->cap = cap;
	}
	doc->stmts[doc->nr++] = *st;
	return 0;
}

static int lx_statement(struct lexer *lx, struct cfg_doc *doc)
{
	struct cfg_stmt st = { .file = lx->file, .line = lx->line, .col = lx->col };
	char got[64], msg[300];
	int rc;

	rc = lx_key(lx, &st.key);
	if (rc < 0)
		return rc;
	lx_skip_blanks(lx);
	if (*lx->p != '=') {
		describe_here(lx, got, sizeof(got));
		snprintf(msg, sizeof(msg), "expected '=' after \"%s\", got %s", st.key, got);
		rc = lx_fail(lx, lx->line, lx->col, msg);
		goto out;
	}
	lx_advance(lx);
	lx_skip_blanks(lx);
	if (*lx->p == '[')
		rc = lx_list(lx, &st.value, st.key);
	else
		rc = lx_atom(lx, &st.value, st.key, false);
	if (rc == 0)
		rc = lx_statement_end(lx, st.key);
	if (rc == 0)
		rc = doc_append(doc, &st);
out:
	if (rc < 0) {
		free(st.key);
		value_dispose(&st.value);
	}
	return rc;
}

static const char *doc_intern_file(struct cfg_doc *doc, const char *file)
{
	char **grown = realloc(doc->files, (doc->nr_files + 1) * sizeof(*grown));

	if (!grown)
		return NULL;
	doc->files = grown;
	doc->files[doc->nr_files] = strdup(file);
	if (!doc->files[doc->nr_files])
		return NULL;
	return doc->files[doc->nr_files++];
}

int cfg_doc_parse(struct cfg_doc *doc, const char *text, const char *file,
		  bool lenient, struct ts_error *err)
{
	struct lexer lx = { .p = text, .line = 1, .col = 1, .lenient = lenient, .err = err };
	int rc;

	lx.file = doc_intern_file(doc, file ? file : "<string>");
	if (!lx.file)
		return -ENOMEM;
	for (;;) {
		lx_skip_blanks(&lx);
		lx_skip_comment(&lx);
		if (!*lx.p)
			return 0;
		if (*lx.p == '\n' || *lx.p == ';') {
			lx_advance(&lx);
			continue;
		}
		rc = lx_statement(&lx, doc);
		if (rc < 0)
			return rc;
	}
}
