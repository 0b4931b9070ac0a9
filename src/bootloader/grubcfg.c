/*
 * GRUB 2 configuration (grub.cfg) as pygrub reads it: the menu entries
 * (with their linux/initrd lines), submenus, and `set default=`.  Script
 * constructs are walked through, not run: if/then/else/fi are transparent
 * (the last `set default` wins, as in pygrub), functions are skipped,
 * variables are not expanded.  The text is the guest's: every length and
 * nesting depth is bounded, and a bad line costs at most its entry.
 */
#include "bootloader/bootloader.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootloader/bl-private.h"

#define MAX_WORDS 256
#define WORD_MAX  BL_MAX_ARGS

struct word {
	char text[WORD_MAX];
	bool quoted;     /* had a quote: `{` and keywords only count bare */
	bool variable;   /* began with an unquoted `$` */
};

struct stmt {
	struct word *w;  /* MAX_WORDS of them, reused per statement */
	unsigned n;
	bool truncated;
};

enum block { BLK_ENTRY, BLK_SUBMENU, BLK_FUNCTION, BLK_OTHER };

struct parser {
	struct bl_menu *menu;
	enum block stack[BL_MAX_DEPTH];
	int submenu_of[BL_MAX_DEPTH];      /* submenu index a level opened */
	unsigned count[BL_MAX_DEPTH + 1];  /* items so far at each menu level */
	unsigned depth, menu_level;
	struct bl_entry *cur;               /* open menuentry */
	char *err;
	size_t errlen;
};

/* Copies at most len - 1 bytes: titles and ids longer than that are cut. */
static void copy_cut(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The first thing ignored, for the caller to show ("what" is cut short). */
static void warn(struct bl_menu *m, const char *fmt, const char *what)
{
	char cut[64];

	if (!m->warning[0]) {
		copy_cut(cut, sizeof cut, what);
		snprintf(m->warning, sizeof m->warning, fmt, cut);
	}
}

/* ---- words ------------------------------------------------------------------ */

/* One statement from *pp (stops after an unquoted newline or ';'). */
static void next_stmt(const char **pp, const char *end, struct stmt *st)
{
	const char *p = *pp;

	st->n = 0;
	st->truncated = false;
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (p >= end)
			break;
		if (*p == '\n' || *p == ';') {
			p++;
			break;
		}
		if (*p == '#') {            /* a comment runs to the end of the line */
			while (p < end && *p != '\n')
				p++;
			continue;
		}
		struct word *w = st->n < MAX_WORDS ? &st->w[st->n] : NULL;
		size_t len = 0;
		bool quoted = false, variable = *p == '$';
		char q = 0;
		while (p < end) {
			char c = *p;
			if (!q && (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';'))
				break;
			p++;
			if (q == '\'' ) {
				if (c == '\'') { q = 0; continue; }
			} else if (q == '"') {
				if (c == '"') { q = 0; continue; }
				if (c == '\\' && p < end && strchr("\\\"$\n", *p))
					c = *p++;
			} else if (c == '\'' || c == '"') {
				q = c;
				quoted = true;
				continue;
			} else if (c == '\\' && p < end) {
				c = *p++;
				if (c == '\n')
					continue;   /* line continuation */
			}
			if (q && c == '\n')
				continue;       /* a quoted newline: GRUB keeps it; we drop it */
			if (w && len + 1 < sizeof w->text)
				w->text[len++] = c;
			else
				st->truncated = true;
		}
		if (w) {
			w->text[len] = '\0';
			w->quoted = quoted;
			w->variable = variable;
			st->n++;
		} else {
			st->truncated = true;
		}
	}
	*pp = p;
}

static bool bare(const struct stmt *st, unsigned i, const char *s)
{
	return i < st->n && !st->w[i].quoted && !strcmp(st->w[i].text, s);
}

/* ---- blocks ------------------------------------------------------------------ */

static int push(struct parser *ps, enum block b)
{
	if (ps->depth >= BL_MAX_DEPTH)
		return bl_fail(ps->err, ps->errlen, -E2BIG, "grub.cfg nests blocks deeper than %d",
			       BL_MAX_DEPTH);
	ps->stack[ps->depth] = b;
	ps->submenu_of[ps->depth] = -1;
	ps->depth++;
	return 0;
}

/* Title and id of a menuentry/submenu statement (words after the keyword). */
static void item_from(const struct stmt *st, struct bl_item *it)
{
	bool have_title = false;

	for (unsigned i = 1; i < st->n; i++) {
		const struct word *w = &st->w[i];
		if (!w->quoted && w->text[0] == '-' && w->text[1] == '-') {
			bool takes_arg = strcmp(w->text, "--unrestricted") != 0;
			if (!strcmp(w->text, "--id") && i + 1 < st->n)
				copy_cut(it->id, sizeof it->id, st->w[i + 1].text);
			if (takes_arg)
				i++;
			continue;
		}
		if (w->variable) {
			/* Debian: $menuentry_id_option 'gnulinux-simple-<uuid>' */
			if (strstr(w->text, "menuentry_id_option") && i + 1 < st->n) {
				copy_cut(it->id, sizeof it->id, st->w[i + 1].text);
				i++;
			}
			continue;
		}
		if (bare(st, i, "{"))
			break;
		if (!have_title) {
			copy_cut(it->title, sizeof it->title, w->text);
			have_title = true;
		}
	}
}

static int open_item(struct parser *ps, const struct stmt *st, bool submenu)
{
	struct bl_menu *m = ps->menu;
	struct bl_item it = { .parent = -1 };
	int parent = -1;

	if (!bare(st, st->n - 1, "{"))
		return bl_fail(ps->err, ps->errlen, -EINVAL, "grub.cfg: %s without '{' on its line",
			       st->w[0].text);
	if (ps->cur)
		return bl_fail(ps->err, ps->errlen, -EINVAL,
			       "grub.cfg: %s inside a menuentry", st->w[0].text);
	for (unsigned d = ps->depth; d-- > 0;)
		if (ps->stack[d] == BLK_SUBMENU) {
			parent = ps->submenu_of[d];
			break;
		}
	item_from(st, &it);
	it.parent = parent;
	it.index = ps->count[ps->menu_level]++;
	if (submenu) {
		struct bl_item *n;
		if (m->nr_submenus >= BL_MAX_ENTRIES)
			return bl_fail(ps->err, ps->errlen, -E2BIG, "grub.cfg: more than %d submenus",
				       BL_MAX_ENTRIES);
		n = realloc(m->submenus, (m->nr_submenus + 1) * sizeof *n);
		if (!n)
			return bl_fail(ps->err, ps->errlen, -ENOMEM, "out of memory");
		m->submenus = n;
		n[m->nr_submenus] = it;
		int rc = push(ps, BLK_SUBMENU);
		if (rc)
			return rc;
		ps->submenu_of[ps->depth - 1] = (int)m->nr_submenus++;
		ps->menu_level++;
		ps->count[ps->menu_level] = 0;
		return 0;
	}
	struct bl_entry *e;
	if (m->nr_entries >= BL_MAX_ENTRIES)
		return bl_fail(ps->err, ps->errlen, -E2BIG, "grub.cfg: more than %d menu entries",
			       BL_MAX_ENTRIES);
	e = realloc(m->entries, (m->nr_entries + 1) * sizeof *e);
	if (!e)
		return bl_fail(ps->err, ps->errlen, -ENOMEM, "out of memory");
	m->entries = e;
	e = &m->entries[m->nr_entries++];
	memset(e, 0, sizeof *e);
	e->item = it;
	/* GRUB's index path: the submenus' indices, then the entry's. */
	char path[sizeof e->path] = "";
	unsigned idx[BL_MAX_DEPTH + 1], n = 0;
	for (int s = parent; s >= 0 && n < BL_MAX_DEPTH; s = m->submenus[s].parent)
		idx[n++] = m->submenus[s].index;
	size_t used = 0;
	while (n-- > 0 && used < sizeof path)
		used += (size_t)snprintf(path + used, sizeof path - used, "%u>", idx[n]);
	if (used < sizeof path)
		snprintf(path + used, sizeof path - used, "%u", it.index);
	memcpy(e->path, path, sizeof e->path);
	ps->cur = e;
	return push(ps, BLK_ENTRY);
}

static int close_block(struct parser *ps)
{
	if (ps->depth == 0) {
		warn(ps->menu, "grub.cfg: %s", "a '}' closes nothing");
		return 0;
	}
	ps->depth--;
	if (ps->stack[ps->depth] == BLK_ENTRY)
		ps->cur = NULL;
	else if (ps->stack[ps->depth] == BLK_SUBMENU)
		ps->menu_level--;
	return 0;
}

/* ---- entry commands ---------------------------------------------------------- */

/* "(hd0,msdos1)/boot/x" -> "/boot/x"; false for what cannot be a path here. */
static bool grub_path(const char *in, char *out, size_t len)
{
	if (in[0] == '(') {
		const char *close = strchr(in, ')');
		if (!close)
			return false;
		in = close + 1;
	}
	if (in[0] != '/' || strchr(in, '$') || strlen(in) >= len)
		return false;
	snprintf(out, len, "%s", in);
	return true;
}

/* GRUB joins the arguments with spaces, quoting those that hold one. */
static void join_args(const struct stmt *st, unsigned from, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned i = from; i < st->n && used < len; i++) {
		const struct word *w = &st->w[i];
		if (w->variable)
			continue;    /* unset variables expand to nothing */
		bool space = strpbrk(w->text, " \t") != NULL;
		int n = snprintf(out + used, len - used, "%s%s%s%s", used ? " " : "",
				 space ? "\"" : "", w->text, space ? "\"" : "");
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (used >= len)
		out[len - 1] = '\0';
}

static void entry_command(struct parser *ps, const struct stmt *st)
{
	struct bl_entry *e = ps->cur;
	const char *cmd = st->w[0].text;

	if (!strcmp(cmd, "linux") || !strcmp(cmd, "linux16") || !strcmp(cmd, "linuxefi")) {
		if (st->n < 2 || !grub_path(st->w[1].text, e->kernel, sizeof e->kernel)) {
			e->kernel[0] = '\0';
			warn(ps->menu, "grub.cfg: entry \"%s\": its kernel path is not usable",
			     e->item.title);
			return;
		}
		join_args(st, 2, e->args, sizeof e->args);
	} else if (!strcmp(cmd, "initrd") || !strcmp(cmd, "initrd16") || !strcmp(cmd, "initrdefi")) {
		e->nr_initrds = 0;
		for (unsigned i = 1; i < st->n; i++) {
			if (e->nr_initrds >= BL_MAX_INITRDS ||
			    !grub_path(st->w[i].text, e->initrd[e->nr_initrds],
				       sizeof e->initrd[0])) {
				warn(ps->menu, "grub.cfg: entry \"%s\": an initrd path is not usable",
				     e->item.title);
				e->kernel[0] = '\0';   /* booting without it would be wrong */
				return;
			}
			e->nr_initrds++;
		}
	}
}

/* ---- statements --------------------------------------------------------------- */

static void set_default(struct parser *ps, const char *value)
{
	struct bl_menu *m = ps->menu;

	if (strchr(value, '$')) {
		warn(m, "grub.cfg: default \"%s\" is a variable: using entry 0", value);
		value = "0";
	}
	snprintf(m->default_spec, sizeof m->default_spec, "%s", value);
}

static bool in_function(const struct parser *ps)
{
	for (unsigned d = 0; d < ps->depth; d++)
		if (ps->stack[d] == BLK_FUNCTION)
			return true;
	return false;
}

static int statement(struct parser *ps, struct stmt *st)
{
	unsigned skip = 0;

	/* Keywords that only glue script together: look past them. */
	while (skip < st->n && !st->w[skip].quoted &&
	       (!strcmp(st->w[skip].text, "then") || !strcmp(st->w[skip].text, "else") ||
		!strcmp(st->w[skip].text, "do")))
		skip++;
	if (skip) {
		memmove(st->w, st->w + skip, (st->n - skip) * sizeof *st->w);
		st->n -= skip;
	}
	if (st->n == 0)
		return 0;
	if (in_function(ps)) {
		if (bare(st, 0, "}"))
			return close_block(ps);
		if (bare(st, st->n - 1, "{"))
			return push(ps, BLK_OTHER);
		return 0;
	}
	if (bare(st, 0, "}")) {
		int rc = close_block(ps);
		if (rc || st->n == 1)
			return rc;
		memmove(st->w, st->w + 1, (st->n - 1) * sizeof *st->w);
		st->n--;
		return statement(ps, st);
	}
	if (bare(st, 0, "menuentry"))
		return open_item(ps, st, false);
	if (bare(st, 0, "submenu"))
		return open_item(ps, st, true);
	if (bare(st, 0, "function"))
		return push(ps, BLK_FUNCTION);
	if (bare(st, st->n - 1, "{"))
		return push(ps, BLK_OTHER);
	if (ps->cur) {
		entry_command(ps, st);
		return 0;
	}
	if (bare(st, 0, "set") && st->n >= 2 && !strncmp(st->w[1].text, "default=", 8))
		set_default(ps, st->w[1].text + 8);
	return 0;
}

int bl_grub_parse(const char *text, size_t len, struct bl_menu *menu, char *err, size_t errlen)
{
	struct parser ps = { .menu = menu, .err = err, .errlen = errlen };
	struct stmt st = { 0 };
	const char *p = text, *end = text + len;
	int rc = 0;

	memset(menu, 0, sizeof *menu);
	if (len > BL_MAX_CONFIG)
		return bl_fail(err, errlen, -EFBIG, "grub.cfg is larger than %u bytes", BL_MAX_CONFIG);
	st.w = calloc(MAX_WORDS, sizeof *st.w);
	if (!st.w)
		return bl_fail(err, errlen, -ENOMEM, "out of memory");
	while (p < end && !rc) {
		next_stmt(&p, end, &st);
		if (st.truncated)
			warn(menu, "grub.cfg: %s", "an over-long line was cut");
		if (st.n)
			rc = statement(&ps, &st);
	}
	free(st.w);
	if (!rc && ps.cur)
		rc = bl_fail(err, errlen, -EINVAL, "grub.cfg ends inside menuentry \"%s\"",
			     ps.cur->item.title);
	if (rc)
		bl_menu_free(menu);
	return rc;
}

void bl_menu_free(struct bl_menu *menu)
{
	free(menu->entries);
	free(menu->submenus);
	menu->entries = NULL;
	menu->submenus = NULL;
	menu->nr_entries = menu->nr_submenus = 0;
}

/* ---- picking ------------------------------------------------------------------ */

static bool item_matches(const struct bl_item *it, const char *spec, size_t len)
{
	char buf[BL_MAX_TITLE];
	bool digits = len > 0;

	if (len >= sizeof buf)
		return false;
	memcpy(buf, spec, len);
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		digits = digits && isdigit((unsigned char)buf[i]);
	if (digits)
		return len < 10 && strtoul(buf, NULL, 10) == it->index;
	return !strcmp(buf, it->title) || (it->id[0] && !strcmp(buf, it->id));
}

/* Does the '>'-path spec name exactly this entry? */
static bool path_matches(const struct bl_menu *m, const struct bl_entry *e, const char *spec)
{
	const char *end = spec + strlen(spec);
	const struct bl_item *it = &e->item;

	for (;;) {
		const char *gt = end;
		while (gt > spec && gt[-1] != '>')
			gt--;
		if (!item_matches(it, gt, (size_t)(end - gt)))
			return false;
		if (gt == spec)
			return it->parent < 0;
		if (it->parent < 0)
			return false;
		it = &m->submenus[it->parent];
		end = gt - 1;
	}
}

const struct bl_entry *bl_menu_pick(const struct bl_menu *menu, const char *spec)
{
	if (!spec)
		spec = menu->default_spec;
	if (!spec[0] || !strcmp(spec, "saved") || strchr(spec, '$'))
		spec = "0";
	for (size_t i = 0; i < menu->nr_entries; i++)
		if (menu->entries[i].kernel[0] && path_matches(menu, &menu->entries[i], spec))
			return &menu->entries[i];
	if (!strchr(spec, '>'))
		for (size_t i = 0; i < menu->nr_entries; i++) {
			const struct bl_entry *e = &menu->entries[i];
			if (e->kernel[0] && (!strcmp(spec, e->item.title) ||
					     (e->item.id[0] && !strcmp(spec, e->item.id))))
				return e;
		}
	for (size_t i = 0; i < menu->nr_entries; i++)
		if (menu->entries[i].kernel[0])
			return &menu->entries[i];
	return NULL;
}
