/* Watches: a client names a path and a token; whenever that node or any
 * node below it changes (or an ancestor is removed) it gets an event
 * "path\0token\0".  Paths starting with '@' are special events
 * (@introduceDomain, @releaseDomain) fired by the store itself. */
#include "xenstore/xs-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void watch_free(struct xs_conn *conn, struct xs_watch *w)
{
	xs_domain_charge(conn->st, conn->domid, -(int64_t)w->charge);
	free(w->path);
	free(w->abs);
	free(w->token);
	free(w);
}

static struct xs_watch *watch_find(struct xs_conn *conn, const char *path,
				   const char *token, struct xs_watch ***link)
{
	struct xs_watch **pp = &conn->watches;

	for (; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->path, path) == 0 &&
		    strcmp((*pp)->token, token) == 0) {
			if (link)
				*link = pp;
			return *pp;
		}
	}
	return NULL;
}

/* Absolute form of a watch path; special names stay as they are. */
static int watch_abs_path(struct xs_conn *conn, const char *path, char *abs)
{
	if (xs_path_is_special(path)) {
		size_t len = strnlen(path, XS_WIRE_ABS_PATH_MAX + 1);
		if (len < 2 || len > XS_WIRE_ABS_PATH_MAX)
			return -EINVAL;
		memcpy(abs, path, len + 1);
		return 0;
	}
	return xs_path_canonical(conn->domid, path, abs);
}

int xs_watch_add(struct xs_conn *conn, const char *path, const char *token)
{
	char abs[XS_WIRE_ABS_PATH_MAX + 1];
	int rc = watch_abs_path(conn, path, abs);

	if (rc)
		return rc;
	if (watch_find(conn, path, token, NULL))
		return -EEXIST;
	if (!conn->privileged && conn->nwatches >= conn->st->quota.max_watches)
		return -E2BIG;
	/* Charged like C xenstored does: the path and the token. */
	uint32_t charge = (uint32_t)(strlen(path) + strlen(token));
	if (!conn->privileged && xs_domain_mem_exceeds(conn->st, conn->domid, charge))
		return -ENOMEM;
	struct xs_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->path = strdup(path);
	w->abs = strdup(abs);
	w->token = strdup(token);
	w->relative = path[0] != '/' && !xs_path_is_special(path);
	if (!w->path || !w->abs || !w->token) {
		watch_free(conn, w);
		return -ENOMEM;
	}
	w->charge = charge;
	xs_domain_charge(conn->st, conn->domid, charge);
	/* Append, so events come out in registration order. */
	struct xs_watch **pp = &conn->watches;
	while (*pp)
		pp = &(*pp)->next;
	*pp = w;
	conn->nwatches++;
	return 0;
}

int xs_watch_remove(struct xs_conn *conn, const char *path, const char *token)
{
	struct xs_watch **link;
	struct xs_watch *w = watch_find(conn, path, token, &link);

	if (!w)
		return -ENOENT;
	*link = w->next;
	watch_free(conn, w);
	conn->nwatches--;
	return 0;
}

void xs_watch_free_all(struct xs_conn *conn)
{
	while (conn->watches) {
		struct xs_watch *w = conn->watches;
		conn->watches = w->next;
		watch_free(conn, w);
	}
	conn->nwatches = 0;
}

/* A watcher only hears about nodes it could read: the node itself, or for
 * a node that is gone, its closest existing ancestor. */
static bool watch_visible(struct xs_conn *conn, const char *path)
{
	char p[XS_WIRE_ABS_PATH_MAX + 1];
	const struct xs_node *n;

	if (conn->privileged)
		return true;
	strcpy(p, path);
	for (;;) {
		n = xs_map_get(&conn->st->nodes, p);
		if (n)
			return xs_perm_for(n, conn->domid, false) & XS_PERM_READ;
		if (!xs_path_parent(p))
			return false;
	}
}

/* The path as the watcher should see it: relative watches get paths
 * relative to the home of the watching domain. */
static const char *watch_report_path(const struct xs_conn *conn,
				     const struct xs_watch *w, const char *path)
{
	char home[XS_HOME_MAX];

	if (!w->relative)
		return path;
	xs_home_path(conn->domid, home);
	size_t hl = strlen(home);
	if (strncmp(path, home, hl) == 0 && path[hl] == '/')
		return path + hl + 1;
	return path;
}

/* Special events tell of other domains coming and going: like C
 * xenstored (XSA-115), only privileged connections and domains given read
 * access to the special node hear them. */
static bool watch_special_visible(struct xs_conn *conn, const char *path)
{
	const struct xs_node *n = xs_special_node(conn->st, path);

	if (conn->privileged)
		return true;
	return n && (xs_perm_for(n, conn->domid, false) & XS_PERM_READ);
}

static void watch_fire_conn(struct xs_conn *conn, const char *path,
			    bool recursive)
{
	bool special = xs_path_is_special(path);

	if (special && !watch_special_visible(conn, path))
		return;
	for (struct xs_watch *w = conn->watches; w; w = w->next) {
		const char *hit;

		if (special || xs_path_is_special(w->abs)) {
			if (strcmp(w->abs, path) == 0)
				xs_conn_queue_event(conn, w->path, w->token);
			continue;
		}
		if (xs_path_is_under(w->abs, path))
			hit = path;             /* the node or a descendant */
		else if (recursive && xs_path_is_under(path, w->abs))
			hit = w->abs;           /* an ancestor was removed */
		else
			continue;
		if (!watch_visible(conn, hit))
			continue;
		xs_conn_queue_event(conn, watch_report_path(conn, w, hit),
				    w->token);
	}
}

void xs_watch_fire(struct xs_store *st, const char *path, bool recursive)
{
	for (struct xs_conn *conn = st->conns; conn; conn = conn->next)
		if (!conn->broken)
			watch_fire_conn(conn, path, recursive);
}

/* ---- in-process watches ---------------------------------------------------- */

static struct xs_conn *watch_internal_conn(struct xs_store *st)
{
	if (!st->internal) {
		st->internal = xs_local_open(st);
		if (st->internal)
			st->internal->is_local = true;
	}
	return st->internal;
}

int xs_watch(struct xs_store *st, const char *path, const char *token,
	     xs_watch_fn fn, void *opaque)
{
	struct xs_conn *conn = watch_internal_conn(st);

	if (!conn)
		return -ENOMEM;
	if (!path || path[0] == '\0' || (path[0] != '/' && path[0] != '@') ||
	    !token || !fn)
		return -EINVAL;
	int rc = xs_watch_add(conn, path, token);
	if (rc)
		return rc;
	struct xs_watch *w = watch_find(conn, path, token, NULL);
	w->fn = fn;
	w->opaque = opaque;
	xs_conn_queue_event(conn, path, token);
	return 0;
}

int xs_unwatch(struct xs_store *st, const char *path, const char *token)
{
	if (!st->internal)
		return -ENOENT;
	return xs_watch_remove(st->internal, path, token);
}

/* The watch an event came from: same token, and a path that explains it
 * (the same special name, or an ancestor or descendant of the node). */
static struct xs_watch *watch_for_event(struct xs_conn *conn, const char *path,
					const char *token)
{
	for (struct xs_watch *w = conn->watches; w; w = w->next) {
		if (strcmp(w->token, token) != 0)
			continue;
		if (xs_path_is_special(w->abs) || xs_path_is_special(path)) {
			if (strcmp(w->abs, path) == 0)
				return w;
		} else if (xs_path_is_under(w->abs, path) ||
			   xs_path_is_under(path, w->abs)) {
			return w;
		}
	}
	return NULL;    /* removed since the event was queued */
}

int xs_dispatch_watches(struct xs_store *st)
{
	struct xs_conn *conn = st->internal;
	char buf[XS_WIRE_PAYLOAD_MAX + 1];
	struct xs_wire_hdr h;
	int ran = 0;
	/* Callbacks may cause more events; stop after a round's worth so a
	 * callback that keeps rewriting what it watches cannot spin us. */
	uint32_t budget = st->quota.max_queued_events + 1;

	if (!conn)
		return 0;
	while (budget-- && xs_local_drain(conn, &h, sizeof(h)) == sizeof(h)) {
		ssize_t n = xs_local_drain(conn, buf, h.len);
		if (n != (ssize_t)h.len || h.type != XS_WIRE_WATCH_EVENT)
			continue;
		buf[h.len] = '\0';
		const char *path = buf;
		const char *token = buf + strlen(buf) + 1;
		if (token >= buf + h.len)
			continue;
		struct xs_watch *w = watch_for_event(conn, path, token);
		if (!w || !w->fn)
			continue;
		w->fn(w->opaque, path, token);
		ran++;
	}
	return ran;
}
