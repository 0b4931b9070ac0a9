/* A pretend guest for the XenStore tests: owns a ring page in ordinary
 * memory, writes requests into it the way Linux's xenbus does, runs the
 * server, and reads replies and watch events back out. */
#ifndef XS_TEST_GUEST_H
#define XS_TEST_GUEST_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "xenstore/xenstore.h"
#include "xenstore/xs-wire.h"

#define TG_MAX_EVENTS 1100

struct tg_event {
	char path[XS_WIRE_ABS_PATH_MAX + 1];
	char token[512];
};

struct guest {
	struct xs_store *st;
	struct xs_conn *conn;
	uint32_t domid;
	struct xs_wire_ring *ring;
	uint32_t next_req;
	/* events seen while waiting for replies */
	struct tg_event *events;
	uint32_t ev_head, ev_count;
	uint32_t notifies;
	char rx[sizeof(struct xs_wire_hdr) + XS_WIRE_PAYLOAD_MAX];
	uint32_t rx_have;
};

static inline void guest_init_at(struct guest *g, struct xs_store *st,
				 uint32_t domid, uint32_t start_idx)
{
	memset(g, 0, sizeof(*g));
	g->st = st;
	g->domid = domid;
	g->ring = aligned_alloc(4096, 4096);
	assert_non_null(g->ring);
	memset(g->ring, 0, 4096);
	g->ring->req_cons = g->ring->req_prod = start_idx;
	g->ring->rsp_cons = g->ring->rsp_prod = start_idx;
	g->events = calloc(TG_MAX_EVENTS, sizeof(*g->events));
	assert_non_null(g->events);
	g->next_req = 1;
	assert_int_equal(xs_introduce(st, domid, g->ring, 7, &g->conn), 0);
	assert_non_null(g->conn);
}

static inline void guest_init(struct guest *g, struct xs_store *st, uint32_t domid)
{
	guest_init_at(g, st, domid, 0);
}

static inline void guest_fini(struct guest *g)
{
	free(g->ring);
	free(g->events);
	memset(g, 0, sizeof(*g));
}

static inline void guest_process(struct guest *g)
{
	int rc = xs_conn_process(g->conn);
	if (rc > 0 && (rc & XS_PROCESS_NOTIFY))
		g->notifies++;
}

/* Copies as much of buf as fits into the request ring. */
static inline uint32_t guest_push(struct guest *g, const void *buf, uint32_t len)
{
	struct xs_wire_ring *r = g->ring;
	uint32_t space = XS_WIRE_RING_SIZE - (r->req_prod - r->req_cons);
	uint32_t n = len < space ? len : space;

	for (uint32_t i = 0; i < n; i++)
		r->req[XS_WIRE_RING_IDX(r->req_prod + i)] = ((const char *)buf)[i];
	__atomic_store_n(&r->req_prod, r->req_prod + n, __ATOMIC_RELEASE);
	return n;
}

/* Pulls up to len bytes out of the response ring. */
static inline uint32_t guest_pull(struct guest *g, void *buf, uint32_t len)
{
	struct xs_wire_ring *r = g->ring;
	uint32_t avail = r->rsp_prod - r->rsp_cons;
	uint32_t n = len < avail ? len : avail;

	for (uint32_t i = 0; i < n; i++)
		((char *)buf)[i] = r->rsp[XS_WIRE_RING_IDX(r->rsp_cons + i)];
	r->rsp_cons += n;
	return n;
}

/* Sends a whole message, running the server whenever the ring is full
 * (as a guest would wait for the server to make room). */
static inline uint32_t guest_send(struct guest *g, uint32_t type, uint32_t tx,
				  const void *payload, uint32_t len)
{
	uint8_t buf[sizeof(struct xs_wire_hdr) + XS_WIRE_PAYLOAD_MAX + 64];
	struct xs_wire_hdr h = { .type = type, .req_id = g->next_req++,
				 .tx_id = tx, .len = len };
	uint32_t total = (uint32_t)sizeof(h) + len, done = 0;

	assert_true(len <= sizeof(buf) - sizeof(h));
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), payload, len);
	for (int spins = 0; done < total; spins++) {
		assert_true(spins < 1000);
		done += guest_push(g, buf + done, total - done);
		if (done < total)
			guest_process(g);
	}
	return h.req_id;
}

/* Reads one whole message, assembling it across calls: replies can be
 * bigger than the ring, so like Linux we take whatever part is there. */
static inline bool guest_recv(struct guest *g, struct xs_wire_hdr *h, char *payload)
{
	const uint32_t hl = sizeof(*h);

	if (g->rx_have < hl)
		g->rx_have += guest_pull(g, g->rx + g->rx_have, hl - g->rx_have);
	if (g->rx_have < hl)
		return false;
	memcpy(h, g->rx, hl);
	assert_true(h->len <= XS_WIRE_PAYLOAD_MAX);
	g->rx_have += guest_pull(g, g->rx + g->rx_have, hl + h->len - g->rx_have);
	if (g->rx_have < hl + h->len)
		return false;
	memcpy(payload, g->rx + hl, h->len);
	payload[h->len] = '\0';
	g->rx_have = 0;
	return true;
}

static inline void guest_store_event(struct guest *g, const char *payload, uint32_t len)
{
	assert_true(g->ev_count < TG_MAX_EVENTS);
	struct tg_event *e = &g->events[(g->ev_head + g->ev_count++) % TG_MAX_EVENTS];
	size_t pl = strlen(payload);
	assert_true(pl + 1 < len);
	assert_true(pl < sizeof(e->path));
	assert_true(strlen(payload + pl + 1) < sizeof(e->token));
	strcpy(e->path, payload);
	strcpy(e->token, payload + pl + 1);
	assert_int_equal(pl + 1 + strlen(e->token) + 1, len);
}

/* Drains all complete messages into the event list; returns the number
 * of messages read. */
static inline int guest_drain(struct guest *g)
{
	struct xs_wire_hdr h;
	static char payload[XS_WIRE_PAYLOAD_MAX + 1];
	int n = 0;

	for (int spins = 0; spins < 100000; spins++) {
		guest_process(g);
		if (!guest_recv(g, &h, payload))
			break;
		assert_int_equal(h.type, XS_WIRE_WATCH_EVENT);
		guest_store_event(g, payload, h.len);
		n++;
	}
	return n;
}

static inline int tg_errno(const char *name)
{
	static const struct { const char *n; int e; } t[] = {
		{ "EINVAL", EINVAL }, { "EACCES", EACCES }, { "EEXIST", EEXIST },
		{ "EISDIR", EISDIR }, { "ENOENT", ENOENT }, { "ENOMEM", ENOMEM },
		{ "ENOSPC", ENOSPC }, { "EIO", EIO }, { "ENOTEMPTY", ENOTEMPTY },
		{ "ENOSYS", ENOSYS }, { "EROFS", EROFS }, { "EBUSY", EBUSY },
		{ "EAGAIN", EAGAIN }, { "EISCONN", EISCONN }, { "E2BIG", E2BIG },
		{ "EPERM", EPERM },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].n, name) == 0)
			return -t[i].e;
	fail_msg("unknown error name %s", name);
	return -EIO;
}

/* Sends a request and waits for its reply, stashing events that arrive
 * meanwhile.  Returns 0 or the negative errno from an XS_ERROR reply; the
 * reply payload goes to out (if given, XS_WIRE_PAYLOAD_MAX + 1 bytes). */
static inline int guest_call(struct guest *g, uint32_t type, uint32_t tx,
			     const void *payload, uint32_t len, char *out,
			     uint32_t *out_len)
{
	static char buf[XS_WIRE_PAYLOAD_MAX + 1];
	struct xs_wire_hdr h;
	uint32_t id = guest_send(g, type, tx, payload, len);

	for (int spins = 0; spins < 100000; spins++) {
		guest_process(g);
		if (!guest_recv(g, &h, buf))
			continue;
		if (h.type == XS_WIRE_WATCH_EVENT) {
			guest_store_event(g, buf, h.len);
			continue;
		}
		assert_int_equal(h.req_id, id);
		assert_int_equal(h.tx_id, tx);
		if (out)
			memcpy(out, buf, h.len + 1);
		if (out_len)
			*out_len = h.len;
		if (h.type == XS_WIRE_ERROR) {
			assert_int_equal(strlen(buf) + 1, h.len);
			return tg_errno(buf);
		}
		assert_int_equal(h.type, type);
		return 0;
	}
	fail_msg("no reply");
	return -EIO;
}

/* Payload "a\0b\0" from two strings (b may be NULL for one string). */
static inline uint32_t tg_args(char *buf, const char *a, const char *b)
{
	size_t al = strlen(a) + 1;
	memcpy(buf, a, al);
	if (!b)
		return (uint32_t)al;
	size_t bl = strlen(b) + 1;
	memcpy(buf + al, b, bl);
	return (uint32_t)(al + bl);
}

static inline int g_read_tx(struct guest *g, uint32_t tx, const char *path, char *out)
{
	char buf[XS_WIRE_PAYLOAD_MAX];
	return guest_call(g, XS_WIRE_READ, tx, buf, tg_args(buf, path, NULL), out, NULL);
}

static inline int g_read(struct guest *g, const char *path, char *out)
{
	return g_read_tx(g, 0, path, out);
}

static inline int g_write_tx(struct guest *g, uint32_t tx, const char *path, const char *val)
{
	char buf[XS_WIRE_PAYLOAD_MAX + 64];
	size_t pl = strlen(path) + 1, vl = strlen(val);
	memcpy(buf, path, pl);
	memcpy(buf + pl, val, vl);
	return guest_call(g, XS_WIRE_WRITE, tx, buf, (uint32_t)(pl + vl), NULL, NULL);
}

static inline int g_write(struct guest *g, const char *path, const char *val)
{
	return g_write_tx(g, 0, path, val);
}

static inline int g_simple(struct guest *g, uint32_t type, uint32_t tx,
			   const char *a, const char *b, char *out)
{
	char buf[XS_WIRE_PAYLOAD_MAX];
	return guest_call(g, type, tx, buf, tg_args(buf, a, b), out, NULL);
}

static inline int g_mkdir(struct guest *g, const char *path)
{
	return g_simple(g, XS_WIRE_MKDIR, 0, path, NULL, NULL);
}

static inline int g_rm(struct guest *g, const char *path)
{
	return g_simple(g, XS_WIRE_RM, 0, path, NULL, NULL);
}

static inline int g_watch(struct guest *g, const char *path, const char *token)
{
	return g_simple(g, XS_WIRE_WATCH, 0, path, token, NULL);
}

static inline int g_unwatch(struct guest *g, const char *path, const char *token)
{
	return g_simple(g, XS_WIRE_UNWATCH, 0, path, token, NULL);
}

static inline int g_tx_start(struct guest *g, uint32_t *id)
{
	char out[XS_WIRE_PAYLOAD_MAX + 1];
	*id = 0;
	int rc = guest_call(g, XS_WIRE_TRANSACTION_START, 0, "", 1, out, NULL);
	if (!rc)
		*id = (uint32_t)strtoul(out, NULL, 10);
	return rc;
}

static inline int g_tx_end(struct guest *g, uint32_t id, bool commit)
{
	return g_simple(g, XS_WIRE_TRANSACTION_END, id, commit ? "T" : "F", NULL, NULL);
}

/* Pops the oldest stashed event; false if none. */
static inline bool g_event(struct guest *g, char *path, char *token)
{
	if (!g->ev_count)
		return false;
	struct tg_event *e = &g->events[g->ev_head];
	strcpy(path, e->path);
	strcpy(token, e->token);
	g->ev_head = (g->ev_head + 1) % TG_MAX_EVENTS;
	g->ev_count--;
	return true;
}

/* Asserts the next event is (path, token). */
static inline void g_expect_event(struct guest *g, const char *path, const char *token)
{
	char p[XS_WIRE_PAYLOAD_MAX], t[XS_WIRE_PAYLOAD_MAX];
	if (!g->ev_count)
		guest_drain(g);
	if (!g_event(g, p, t))
		fail_msg("expected event %s %s, got none", path, token);
	if (strcmp(p, path) || strcmp(t, token))
		fail_msg("expected event %s %s, got %s %s", path, token, p, t);
}

static inline void g_expect_no_event(struct guest *g)
{
	char p[XS_WIRE_PAYLOAD_MAX], t[XS_WIRE_PAYLOAD_MAX];
	guest_drain(g);
	if (g_event(g, p, t))
		fail_msg("unexpected event %s %s", p, t);
}

#endif
