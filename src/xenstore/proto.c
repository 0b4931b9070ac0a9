/* Request handling: decode one request's payload, run the operation, and
 * queue the reply (or an XS_ERROR naming the errno). */
#include "xenstore/xs-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	int err;
	const char *name;
} errno_names[] = {
	{ EINVAL, "EINVAL" }, { EACCES, "EACCES" }, { EEXIST, "EEXIST" },
	{ EISDIR, "EISDIR" }, { ENOENT, "ENOENT" }, { ENOMEM, "ENOMEM" },
	{ ENOSPC, "ENOSPC" }, { EIO, "EIO" }, { ENOTEMPTY, "ENOTEMPTY" },
	{ ENOSYS, "ENOSYS" }, { EROFS, "EROFS" }, { EBUSY, "EBUSY" },
	{ EAGAIN, "EAGAIN" }, { EISCONN, "EISCONN" }, { E2BIG, "E2BIG" },
	{ EPERM, "EPERM" },
};

/* The protocol only knows the names above; anything else is EIO. */
const char *xs_errno_name(int err)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].err == err)
			return errno_names[i].name;
	return "EIO";
}

/* One request being answered. */
struct req {
	struct xs_conn *conn;
	struct xs_wire_hdr h;
	const char *payload;     /* h.len bytes, followed by a NUL in our copy */
	char out[XS_WIRE_PAYLOAD_MAX];
};

static void reply(struct req *r, const void *data, uint32_t len)
{
	xs_conn_queue(r->conn, r->h.type, r->h.req_id, r->h.tx_id, data, len,
		      false);
}

static void reply_error(struct req *r, int err)
{
	const char *name = xs_errno_name(err);

	xs_conn_queue(r->conn, XS_WIRE_ERROR, r->h.req_id, r->h.tx_id, name,
		      (uint32_t)strlen(name) + 1, false);
}

static void reply_ok(struct req *r)
{
	reply(r, "OK", 3);
}

static void reply_rc(struct req *r, int rc)
{
	if (rc)
		reply_error(r, rc);
	else
		reply_ok(r);
}

/* Payload that is exactly one NUL-terminated string. */
static const char *arg_one(const struct req *r)
{
	if (r->h.len == 0 || strlen(r->payload) + 1 != r->h.len)
		return NULL;
	return r->payload;
}

/* Payload that is exactly two NUL-terminated strings. */
static int arg_two(const struct req *r, const char **a, const char **b)
{
	if (r->h.len == 0 || r->payload[r->h.len - 1] != '\0')
		return -EINVAL;
	*a = r->payload;
	size_t al = strlen(*a) + 1;
	if (al >= r->h.len)
		return -EINVAL;
	*b = r->payload + al;
	return al + strlen(*b) + 1 == r->h.len ? 0 : -EINVAL;
}

static int arg_domid(const char *s, uint32_t *domid)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || v > 0xffff)
		return -EINVAL;
	*domid = (uint32_t)v;
	return 0;
}

/* Sets up the caller's context, including its transaction if any. */
static int req_ctx(struct req *r, struct xs_ctx *c)
{
	*c = (struct xs_ctx){
		.st = r->conn->st,
		.domid = r->conn->domid,
		.privileged = r->conn->privileged,
	};
	if (r->h.tx_id) {
		c->tx = xs_tx_find(r->conn, r->h.tx_id);
		if (!c->tx)
			return -ENOENT;
	}
	return 0;
}

/* Context plus the canonical form of a one-string path payload. */
static int req_path(struct req *r, struct xs_ctx *c, char *abs)
{
	const char *p = arg_one(r);

	if (!p)
		return -EINVAL;
	int rc = xs_path_canonical(r->conn->domid, p, abs);
	return rc ? rc : req_ctx(r, c);
}

/* GET_PERMS and SET_PERMS also name the special nodes (@releaseDomain...). */
static int perms_path(uint32_t domid, const char *p, char *abs)
{
	if (xs_path_is_special(p)) {
		size_t len = strnlen(p, XS_WIRE_ABS_PATH_MAX + 1);
		if (len > XS_WIRE_ABS_PATH_MAX)
			return -EINVAL;
		memcpy(abs, p, len + 1);
		return 0;
	}
	return xs_path_canonical(domid, p, abs);
}

static void do_read(struct req *r)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	struct xs_ctx c;
	const struct xs_node *n;
	int rc = req_path(r, &c, abs);

	if (!rc)
		rc = xs_tree_get(&c, abs, XS_PERM_READ, &n);
	if (rc)
		reply_error(r, rc);
	else
		reply(r, n->value, n->value_len);
}

/* Child names, each followed by a NUL, starting at byte `from` of that
 * list; stops before a name that does not fit. */
static uint32_t dir_pack(const struct xs_node *n, uint32_t from, char *buf,
			 uint32_t cap, bool *complete)
{
	uint32_t pos = 0, used = 0;

	*complete = true;
	for (uint32_t i = 0; i < n->nchildren; i++) {
		uint32_t l = (uint32_t)strlen(n->children[i]) + 1;
		if (pos >= from) {
			if (used + l > cap) {
				*complete = false;
				break;
			}
			memcpy(buf + used, n->children[i], l);
			used += l;
		}
		pos += l;
	}
	return used;
}

static void do_directory(struct req *r)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	struct xs_ctx c;
	const struct xs_node *n;
	bool complete;
	int rc = req_path(r, &c, abs);

	if (!rc)
		rc = xs_tree_get(&c, abs, XS_PERM_READ, &n);
	if (rc) {
		reply_error(r, rc);
		return;
	}
	uint32_t used = dir_pack(n, 0, r->out, sizeof(r->out), &complete);
	if (!complete)
		reply_error(r, -E2BIG);     /* client should use DIRECTORY_PART */
	else
		reply(r, r->out, used);
}

/* "path\0offset\0" -> "generation\0" + names from that byte offset, with
 * an extra NUL when the list is finished. */
static void do_directory_part(struct req *r)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	const char *path, *off_s;
	struct xs_ctx c;
	const struct xs_node *n;
	bool complete;
	char *end;
	int rc = arg_two(r, &path, &off_s);

	if (!rc)
		rc = xs_path_canonical(r->conn->domid, path, abs);
	if (!rc)
		rc = req_ctx(r, &c);
	if (!rc)
		rc = xs_tree_get(&c, abs, XS_PERM_READ, &n);
	if (rc) {
		reply_error(r, rc);
		return;
	}
	unsigned long off = strtoul(off_s, &end, 10);
	if (*off_s < '0' || *off_s > '9' || *end || off > XS_WIRE_PAYLOAD_MAX * 1024ul) {
		reply_error(r, -EINVAL);
		return;
	}
	int gl = snprintf(r->out, sizeof(r->out), "%llu",
			  (unsigned long long)n->gen) + 1;
	uint32_t cap = sizeof(r->out) - (uint32_t)gl - 1;
	uint32_t used = dir_pack(n, (uint32_t)off, r->out + gl, cap, &complete);
	used += (uint32_t)gl;
	if (complete)
		r->out[used++] = '\0';
	reply(r, r->out, used);
}

static void do_get_perms(struct req *r)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	struct xs_ctx c;
	const struct xs_node *n;
	const char *p = arg_one(r);
	int rc = p ? perms_path(r->conn->domid, p, abs) : -EINVAL;

	if (!rc)
		rc = req_ctx(r, &c);

	if (!rc)
		rc = xs_tree_get(&c, abs, XS_PERM_READ, &n);
	if (!rc)
		rc = xs_perms_format(n->perms, n->nperms, r->out, sizeof(r->out));
	if (rc < 0)
		reply_error(r, rc);
	else
		reply(r, r->out, (uint32_t)rc);
}

static void do_write(struct req *r)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	struct xs_ctx c;
	size_t pl = strlen(r->payload);

	if (pl >= r->h.len) {           /* no NUL ending the path */
		reply_error(r, -EINVAL);
		return;
	}
	int rc = xs_path_canonical(r->conn->domid, r->payload, abs);
	if (!rc)
		rc = req_ctx(r, &c);
	if (!rc)
		rc = xs_tree_write(&c, abs, r->payload + pl + 1,
				   r->h.len - (uint32_t)pl - 1);
	reply_rc(r, rc);
}

static void do_mkdir(struct req *r)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	struct xs_ctx c;
	int rc = req_path(r, &c, abs);

	reply_rc(r, rc ? rc : xs_tree_mkdir(&c, abs));
}

static void do_rm(struct req *r)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	struct xs_ctx c;
	int rc = req_path(r, &c, abs);

	reply_rc(r, rc ? rc : xs_tree_rm(&c, abs));
}

static void do_set_perms(struct req *r)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	struct xs_ctx c;
	struct xs_perm *p = NULL;
	uint32_t np = 0;
	size_t pl = strlen(r->payload);
	int rc = pl + 1 < r->h.len ? 0 : -EINVAL;   /* path and >= 1 perm */

	if (!rc)
		rc = perms_path(r->conn->domid, r->payload, abs);
	if (!rc)
		rc = xs_perms_parse(r->payload + pl + 1,
				    r->h.len - (uint32_t)pl - 1, &p, &np);
	if (!rc)
		rc = req_ctx(r, &c);
	if (!rc)
		rc = xs_tree_set_perms(&c, abs, p, np);
	free(p);
	reply_rc(r, rc);
}

static void do_watch(struct req *r)
{
	const char *path, *token;
	int rc = arg_two(r, &path, &token);

	if (!rc)
		rc = xs_watch_add(r->conn, path, token);
	reply_rc(r, rc);
	/* Like xenstored, fire once right away so clients need not read the
	 * initial state separately. */
	if (!rc)
		xs_conn_queue_event(r->conn, path, token);
}

static void do_unwatch(struct req *r)
{
	const char *path, *token;
	int rc = arg_two(r, &path, &token);

	reply_rc(r, rc ? rc : xs_watch_remove(r->conn, path, token));
}

static void do_transaction_start(struct req *r)
{
	uint32_t id;
	int rc = arg_one(r) ? 0 : -EINVAL;

	if (!rc && r->h.tx_id)
		rc = -EBUSY;            /* no nesting */
	if (!rc)
		rc = xs_tx_start(r->conn, &id);
	if (rc) {
		reply_error(r, rc);
		return;
	}
	int l = snprintf(r->out, sizeof(r->out), "%u", id);
	reply(r, r->out, (uint32_t)l + 1);
}

static void do_transaction_end(struct req *r)
{
	const char *arg = arg_one(r);
	struct xs_tx *tx = xs_tx_find(r->conn, r->h.tx_id);
	int rc;

	if (!arg || (strcmp(arg, "T") != 0 && strcmp(arg, "F") != 0))
		rc = -EINVAL;
	else if (!r->h.tx_id || !tx)
		rc = -ENOENT;
	else
		rc = xs_tx_end(r->conn, tx, arg[0] == 'T');
	reply_rc(r, rc);
}

static void do_get_domain_path(struct req *r)
{
	uint32_t domid;
	int rc = arg_domid(arg_one(r), &domid);

	if (rc) {
		reply_error(r, rc);
		return;
	}
	xs_home_path(domid, r->out);
	reply(r, r->out, (uint32_t)strlen(r->out) + 1);
}

static void do_is_domain_introduced(struct req *r)
{
	uint32_t domid;
	int rc = arg_domid(arg_one(r), &domid);

	if (rc) {
		reply_error(r, rc);
		return;
	}
	struct xs_domain *d = xs_domain_get(r->conn->st, domid, false);
	bool yes = domid == 0 || (d && d->conn);
	reply(r, yes ? "T" : "F", 2);
}

static void do_reset_watches(struct req *r)
{
	xs_watch_free_all(r->conn);
	xs_tx_free_all(r->conn);
	reply_ok(r);
}

/* Domain management belongs to the daemon (it maps the ring pages), so
 * over the wire these are refused: guests may not, and local tools should
 * go through the daemon's own interface. */
static void do_domain_op(struct req *r)
{
	reply_error(r, r->conn->privileged ? -ENOSYS : -EACCES);
}

void xs_proto_handle(struct xs_conn *conn)
{
	struct req req, *r = &req;

	r->conn = conn;
	memcpy(&r->h, conn->in, sizeof(r->h));
	r->payload = (const char *)conn->in + sizeof(r->h);

	switch (r->h.type) {
	case XS_WIRE_DIRECTORY: do_directory(r); break;
	case XS_WIRE_DIRECTORY_PART: do_directory_part(r); break;
	case XS_WIRE_READ: do_read(r); break;
	case XS_WIRE_GET_PERMS: do_get_perms(r); break;
	case XS_WIRE_WATCH: do_watch(r); break;
	case XS_WIRE_UNWATCH: do_unwatch(r); break;
	case XS_WIRE_TRANSACTION_START: do_transaction_start(r); break;
	case XS_WIRE_TRANSACTION_END: do_transaction_end(r); break;
	case XS_WIRE_GET_DOMAIN_PATH: do_get_domain_path(r); break;
	case XS_WIRE_WRITE: do_write(r); break;
	case XS_WIRE_MKDIR: do_mkdir(r); break;
	case XS_WIRE_RM: do_rm(r); break;
	case XS_WIRE_SET_PERMS: do_set_perms(r); break;
	case XS_WIRE_IS_DOMAIN_INTRODUCED:
		if (conn->privileged)
			do_is_domain_introduced(r);
		else
			reply_error(r, -EACCES);
		break;
	case XS_WIRE_RESET_WATCHES: do_reset_watches(r); break;
	case XS_WIRE_CONTROL:
	case XS_WIRE_INTRODUCE:
	case XS_WIRE_RELEASE:
	case XS_WIRE_RESUME:
	case XS_WIRE_SET_TARGET:
		do_domain_op(r);
		break;
	case XS_WIRE_WATCH_EVENT:
	case XS_WIRE_ERROR:
		reply_error(r, -EINVAL);    /* server-to-client only */
		break;
	default:
		reply_error(r, -ENOSYS);
		break;
	}
}
