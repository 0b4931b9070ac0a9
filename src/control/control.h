/*
 * The kxend control protocol ("kxen-ctl/1"), shared by kxend and xl.
 * docs/control-api.md is the specification; this is its codec.
 *
 * A message is a head line followed by "key=value" lines and an empty line:
 *
 *   request:  "kxen-ctl/1 <command>" \n  key=value \n ... \n
 *   reply:    "ok" | "error <message>" \n  key=value \n ... \n
 *
 * Keys are [a-z0-9_-]{1,31}; values are any bytes except NUL, CR and LF.
 * Lines are at most CTL_MAX_LINE bytes; a message has at most
 * CTL_MAX_FIELDS fields.  Keys may repeat (list replies use that for
 * records).  The parser is incremental and reports exactly how many bytes
 * it consumed, because after an "ok" to "console" the same connection
 * carries a raw byte stream.
 *
 * Functions return 0 (or a count) on success and a negative errno.
 */
#ifndef KXEN_CONTROL_H
#define KXEN_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CTL_PROTO        "kxen-ctl"
#define CTL_VERSION      1
#define CTL_MAX_LINE     4096   /* bytes in one line, without the LF */
#define CTL_MAX_KEY      31
#define CTL_MAX_FIELDS   8192   /* fields in one message (list replies) */
#define CTL_MAX_COMMAND  31
#define CTL_SOCKET_NAME  "kxend.sock"
#define CTL_DEFAULT_RUNDIR "/run/kxen"

struct ctl_field {
	char *key;
	char *val;
};

/* A decoded or to-be-encoded message.  head is the first line: the
 * command of a request (without the "kxen-ctl/1 " prefix) or "ok" /
 * "error <message>" of a reply. */
struct ctl_msg {
	char *head;
	struct ctl_field *fields;
	size_t nr_fields;
	size_t cap_fields;
};

void ctl_msg_init(struct ctl_msg *m);
void ctl_msg_dispose(struct ctl_msg *m);
/* Replace the head; -EINVAL if it holds a control character or is empty. */
int ctl_msg_set_head(struct ctl_msg *m, const char *head);
/* "error <message>"; control characters in msg become spaces, because an
 * error text may come from anywhere (a file name, the core's message). */
int ctl_msg_set_error(struct ctl_msg *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append a field; -EINVAL for a bad key or a value with CR/LF, -E2BIG
 * when the line or the field count would exceed the limits. */
int ctl_msg_add(struct ctl_msg *m, const char *key, const char *val);
int ctl_msg_addf(struct ctl_msg *m, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The value of the first field named key, NULL if absent.  Records with
 * repeated keys are read by walking m->fields in order. */
const char *ctl_msg_get(const struct ctl_msg *m, const char *key);

bool ctl_key_valid(const char *key);
bool ctl_value_valid(const char *val);

/* Encode.  is_request prefixes the head with "kxen-ctl/1 ".  *out is
 * malloc'd (not NUL-terminated in *len, but NUL-terminated in memory). */
int ctl_msg_encode(const struct ctl_msg *m, bool is_request, char **out, size_t *len);

/* ---- incremental decoder ------------------------------------------------ */

struct ctl_parser {
	bool is_request;      /* expect "kxen-ctl/<v> <command>" as head */
	bool have_head;
	bool line_too_long;
	char line[CTL_MAX_LINE + 1];
	size_t line_len;
	struct ctl_msg msg;   /* being built */
	char err[128];        /* why the last feed failed */
};

void ctl_parser_init(struct ctl_parser *p, bool is_request);
void ctl_parser_dispose(struct ctl_parser *p);
/*
 * Feed bytes.  Returns 1 when a whole message was decoded (it is moved to
 * *out, which the caller disposes; *consumed says how many bytes of buf
 * were used, the rest belongs to whatever follows), 0 when every byte was
 * used and more are needed, or a negative errno on a protocol error
 * (p->err says why: -E2BIG for limits, -EPROTO for syntax, -EPROTONOSUPPORT
 * for another protocol version).  After 1 or an error, the parser is ready
 * for the next message.
 */
int ctl_parser_feed(struct ctl_parser *p, const char *buf, size_t len,
		    size_t *consumed, struct ctl_msg *out);

/* ---- strict value parsing ----------------------------------------------- */

/* Decimal digits only (no sign, space, or leading zeros beyond "0"),
 * within [min, max]. */
int ctl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "0" or "1". */
int ctl_parse_bool(const char *s, bool *out);

/* ---- blocking I/O helpers for clients ------------------------------------ */

/* Write all of buf, retrying on EINTR and short writes. */
int ctl_write_all(int fd, const void *buf, size_t len);
/* Encode and send a message. */
int ctl_send(int fd, const struct ctl_msg *m, bool is_request);
/* Read one message from fd.  Bytes read past its end are copied to
 * extra (up to extra_cap; *extra_len says how many) so a console stream
 * that follows the reply is not lost.  -ECONNRESET if the peer closed
 * before a whole message. */
int ctl_recv(int fd, bool is_request, struct ctl_msg *out,
	     char *extra, size_t extra_cap, size_t *extra_len,
	     char *err, size_t errlen);

/* $KXEN_RUNDIR or CTL_DEFAULT_RUNDIR. */
const char *ctl_rundir(void);
/* <rundir>/kxend.sock into buf; -ENAMETOOLONG if it does not fit a
 * sockaddr_un. */
int ctl_socket_path(char *buf, size_t len);

/* paths.c: $KXEN_SYSFS_ROOT (tests) or "/sys"; the directory holding
 * pci-assignable/ records: $KXEN_RUNDIR, else /var/lib/kxen. */
const char *ctl_sysfs_root(void);
const char *ctl_pci_statedir(void);

#endif
