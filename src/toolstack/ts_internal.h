/* Private to src/toolstack: the raw syntax tree and shared helpers. */
#ifndef KXEN_TS_INTERNAL_H
#define KXEN_TS_INTERNAL_H

#include "toolstack/toolstack.h"

enum cfg_kind {
	CFG_STRING, /* "..." or '...' (unescaped), or a bare override value */
	CFG_NUMBER, /* digits and letters as written: 512, 0x200, 12x */
	CFG_BOOL,   /* bare true / false */
	CFG_LIST,   /* [ atom, atom, ... ] */
};

struct cfg_value {
	enum cfg_kind kind;
	char *text;              /* atoms; NULL for lists */
	int line, col;
	struct cfg_value *items; /* lists: atoms only (xl has no nesting) */
	size_t nr_items;
};

struct cfg_stmt {
	char *key;
	const char *file; /* points into cfg_doc.files */
	int line, col;
	struct cfg_value value;
};

struct cfg_doc {
	struct cfg_stmt *stmts;
	size_t nr, cap;
	char **files; /* names used in messages, owned */
	size_t nr_files;
};

/* cfg_syntax.c */
void cfg_doc_init(struct cfg_doc *doc);
void cfg_doc_dispose(struct cfg_doc *doc);
/* Appends the statements of text to doc.  lenient: a value that is not a
 * string, number or list is taken as a bare string up to the end of the
 * line (command-line overrides). */
int cfg_doc_parse(struct cfg_doc *doc, const char *text, const char *file,
		  bool lenient, struct ts_error *err);
const char *cfg_kind_name(enum cfg_kind kind);

/* cfg_util.c */
void ts_error_set(struct ts_error *err, const char *file, int line, int col,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
char *ts_strdup(const char *s);
int ts_add_warning(struct domain_config *dc, const char *file, int line,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Non-negative integer: decimal or 0x hex, whole string, no sign. */
int ts_parse_u64(const char *text, uint64_t *out);
/* 0/1, true/false (any case); -EINVAL otherwise. */
int ts_parse_bool(const char *text, bool *out);
/* Splits "a,b,c" at commas into a NULL-terminated malloc'ed array of
 * malloc'ed, whitespace-trimmed strings. */
char **ts_split(const char *text, char sep, size_t *nr);
void ts_strv_free(char **v);
char *ts_trim(char *s);

/* cfg_disk.c, cfg_vif.c: one spec each; why gets the reason. */
int ts_vdev_decode(const char *vdev, unsigned *disk, unsigned *partition);
int ts_nic_parse(struct ts_nic *nic, const char *spec, char *why, size_t len);
void ts_nic_dispose(struct ts_nic *nic);
int ts_mac_parse(const char *text, uint8_t mac[6]);

#endif
