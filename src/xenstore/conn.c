/* Connections: assembling requests from a byte stream (a guest's ring page
 * or a local socket), queueing replies and watch events, and moving bytes
 * through the shared ring.
 *
 * The ring page belongs to the guest, which may rewrite any of it at any
 * time.  So: the indices we own (req_cons, rsp_prod) live in the connection
 * and are only ever written to the page; the guest's indices are read once
 * per pass and sanity-checked; request bytes are copied out of the ring
 * before anything looks at them; and every offset is masked into the ring.
 */
#include "xenstore/xs-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HDR_LEN ((uint32_t)sizeof(struct xs_wire_hdr))

/* Upper bound on bytes moved per xs_conn_process() call, so a guest that
 * keeps feeding its ring cannot hold the daemon forever. */
#define PROCESS_BUDGET (256u * 1024u)

struct xs_conn *xs_conn_new(struct xs_store *st, uint32_t domid, bool privileged)
{
	struct xs_conn *conn = calloc(1, sizeof(*conn));

	if (!conn)
		return NULL;
	conn->st = st;
	conn->domid = domid;
	conn->privileged = privileged;
	return conn;
}

static void conn_free_output(struct xs_conn *conn)
{
	while (conn->out_head) {
		struct xs_msg *m = conn->out_head;
		conn->out_head = m->next;
		xs_domain_charge(conn->st, conn->domid, -(int64_t)m->len);
		free(m);
	}
	conn->out_tail = NULL;
	conn->out_replies = 0;
	conn->out_events = 0;
}

/* Frees the connection; the caller has unlinked it from the store. */
void xs_conn_free(struct xs_conn *conn)
{
	if (!conn)
		return;
	xs_watch_free_all(conn);
	xs_tx_free_all(conn);
	conn_free_output(conn);
	free(conn);
}

int xs_conn_queue(struct xs_conn *conn, uint32_t type, uint32_t req_id,
		  uint32_t tx_id, const void *payload, uint32_t len, bool is_event)
{
	if (len > XS_WIRE_PAYLOAD_MAX)
		return -E2BIG;
	struct xs_msg *m = malloc(sizeof(*m) + HDR_LEN + len);
	if (!m)
		return -ENOMEM;
	struct xs_wire_hdr h = {
		.type = type, .req_id = req_id, .tx_id = tx_id, .len = len,
	};
	memcpy(m->data, &h, HDR_LEN);
	if (len)
		memcpy(m->data + HDR_LEN, payload, len);
	m->next = NULL;
	m->len = HDR_LEN + len;
	m->off = 0;
	m->is_event = is_event;
	if (conn->out_tail)
		conn->out_tail->next = m;
	else
		conn->out_head = m;
	conn->out_tail = m;
	if (is_event)
		conn->out_events++;
	else
		conn->out_replies++;
	/* Queued bytes count against the domain's memory: replies always
	 * (there are at most max_outstanding), events only while they fit. */
	xs_domain_charge(conn->st, conn->domid, m->len);
	return 0;
}

/* Events that do not fit the queue are dropped and counted rather than
 * letting a guest that never reads its ring eat our memory. */
int xs_conn_queue_event(struct xs_conn *conn, const char *path, const char *token)
{
	char buf[XS_WIRE_PAYLOAD_MAX];
	size_t pl = strlen(path) + 1, tl = strlen(token) + 1;

	if (conn->out_events >= conn->st->quota.max_queued_events ||
	    pl + tl > sizeof(buf) ||
	    (!conn->privileged &&
	     xs_domain_mem_exceeds(conn->st, conn->domid, HDR_LEN + pl + tl))) {
		conn->dropped_events++;
		return -ENOSPC;
	}
	memcpy(buf, path, pl);
	memcpy(buf + pl, token, tl);
	int rc = xs_conn_queue(conn, XS_WIRE_WATCH_EVENT, 0, 0, buf,
			       (uint32_t)(pl + tl), true);
	if (rc)
		conn->dropped_events++;
	return rc;
}

/* Takes one fully sent message off the queue. */
static void conn_pop_output(struct xs_conn *conn)
{
	struct xs_msg *m = conn->out_head;

	conn->out_head = m->next;
	if (!conn->out_head)
		conn->out_tail = NULL;
	if (m->is_event)
		conn->out_events--;
	else
		conn->out_replies--;
	xs_domain_charge(conn->st, conn->domid, -(int64_t)m->len);
	free(m);
}

/* ---- request assembly ------------------------------------------------------ */

static const struct xs_wire_hdr *conn_in_hdr(const struct xs_conn *conn)
{
	return (const struct xs_wire_hdr *)conn->in;
}

/* Bytes still needed to complete the current piece (header, payload, or
 * the discarded tail of an oversized request). */
static uint32_t conn_in_want(const struct xs_conn *conn)
{
	if (conn->in_skip)
		return conn->in_skip;
	if (conn->in_have < HDR_LEN)
		return HDR_LEN - conn->in_have;
	return HDR_LEN + conn_in_hdr(conn)->len - conn->in_have;
}

/* A request claims more payload than the protocol allows: answer E2BIG and
 * swallow its payload as it arrives, which keeps us in step with a client
 * that meant it. */
static void conn_reject_oversized(struct xs_conn *conn)
{
	const struct xs_wire_hdr *h = conn_in_hdr(conn);
	static const char err[] = "E2BIG";

	xs_conn_queue(conn, XS_WIRE_ERROR, h->req_id, h->tx_id, err,
		      sizeof(err), false);
	conn->in_skip = h->len;
	conn->in_have = 0;
}

/* Called after bytes were added: handles a finished header or request. */
static void conn_in_advance(struct xs_conn *conn)
{
	if (conn->in_have == HDR_LEN &&
	    conn_in_hdr(conn)->len > XS_WIRE_PAYLOAD_MAX) {
		conn_reject_oversized(conn);
		return;
	}
	if (conn->in_have >= HDR_LEN &&
	    conn->in_have == HDR_LEN + conn_in_hdr(conn)->len) {
		conn->in[conn->in_have] = '\0';  /* strings end inside our copy */
		xs_proto_handle(conn);
		conn->in_have = 0;
	}
}

/* Copies at most n bytes (never more than the current piece needs) and
 * returns how many were taken. */
static uint32_t conn_in_take(struct xs_conn *conn, const void *src, uint32_t n)
{
	uint32_t want = conn_in_want(conn);

	if (n > want)
		n = want;
	if (conn->in_skip) {
		conn->in_skip -= n;
		return n;
	}
	memcpy(conn->in + conn->in_have, src, n);
	conn->in_have += n;
	conn_in_advance(conn);
	return n;
}

/* Too many unsent replies, or a domain at its memory quota: stop reading
 * requests until the client reads (as C xenstored does). */
static bool conn_backlogged(const struct xs_conn *conn)
{
	if (conn->privileged)
		return false;
	return conn->out_replies >= conn->st->quota.max_outstanding ||
	       xs_domain_mem(conn->st, conn->domid) >= conn->st->quota.max_memory;
}

/* ---- the shared ring ---------------------------------------------------------- */

static uint32_t ring_load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void ring_store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void conn_mark_broken(struct xs_conn *conn)
{
	conn->broken = true;
	xs_tx_free_all(conn);
	conn_free_output(conn);
	conn->in_have = 0;
	conn->in_skip = 0;
}

/* Reads what the guest has produced.  Returns bytes consumed, or -EPIPE
 * if the indices make no sense. */
static int ring_read_requests(struct xs_conn *conn, uint32_t budget)
{
	struct xs_wire_ring *r = conn->ring;
	uint32_t prod = ring_load(&r->req_prod);
	uint32_t cons = conn->req_cons;
	uint32_t done = 0;

	if (prod - cons > XS_WIRE_RING_SIZE)
		return -EPIPE;
	while (cons != prod && done < budget && !conn_backlogged(conn)) {
		uint32_t off = XS_WIRE_RING_IDX(cons);
		uint32_t n = prod - cons;
		if (n > XS_WIRE_RING_SIZE - off)
			n = XS_WIRE_RING_SIZE - off;    /* up to the wrap */
		n = conn_in_take(conn, &r->req[off], n);
		cons += n;
		done += n;
		if (conn->broken)
			return -EPIPE;
	}
	if (done) {
		conn->req_cons = cons;
		ring_store(&r->req_cons, cons);
	}
	return (int)done;
}

/* Writes queued messages into the response ring as space allows.
 * Returns bytes produced, or -EPIPE on bad indices. */
static int ring_write_responses(struct xs_conn *conn)
{
	struct xs_wire_ring *r = conn->ring;
	uint32_t cons = ring_load(&r->rsp_cons);
	uint32_t prod = conn->rsp_prod;
	uint32_t done = 0;

	if (prod - cons > XS_WIRE_RING_SIZE)
		return -EPIPE;
	while (conn->out_head && prod - cons < XS_WIRE_RING_SIZE) {
		struct xs_msg *m = conn->out_head;
		uint32_t off = XS_WIRE_RING_IDX(prod);
		uint32_t n = XS_WIRE_RING_SIZE - (prod - cons);
		if (n > XS_WIRE_RING_SIZE - off)
			n = XS_WIRE_RING_SIZE - off;
		if (n > m->len - m->off)
			n = m->len - m->off;
		memcpy(&r->rsp[off], m->data + m->off, n);
		m->off += n;
		prod += n;
		done += n;
		if (m->off == m->len)
			conn_pop_output(conn);
	}
	if (done) {
		conn->rsp_prod = prod;
		ring_store(&r->rsp_prod, prod);     /* data visible first */
	}
	return (int)done;
}

int xs_conn_process(struct xs_conn *conn)
{
	uint32_t budget = PROCESS_BUDGET;
	int flags = 0;

	if (conn->broken)
		return -EPIPE;
	if (!conn->ring)
		return 0;
	for (;;) {
		int out = ring_write_responses(conn);
		int in = out < 0 ? out : ring_read_requests(conn, budget);
		if (in < 0 || out < 0) {
			conn_mark_broken(conn);
			return -EPIPE;
		}
		if (in || out)
			flags |= XS_PROCESS_NOTIFY;
		if (!in && !out)
			break;
		if ((uint32_t)in >= budget) {
			/* Flush what we can, then let the caller come back. */
			if (ring_write_responses(conn) < 0) {
				conn_mark_broken(conn);
				return -EPIPE;
			}
			flags |= XS_PROCESS_AGAIN;
			break;
		}
		budget -= (uint32_t)in;
	}
	return flags;
}

int xs_poll(struct xs_store *st,
	    void (*notify)(void *opaque, uint32_t domid, uint32_t evtchn_port),
	    void *opaque)
{
	int all = 0;

	for (struct xs_conn *conn = st->conns; conn; conn = conn->next) {
		if (!conn->ring || conn->broken)
			continue;
		int flags = xs_conn_process(conn);
		if (flags < 0)
			continue;
		if ((flags & XS_PROCESS_NOTIFY) && notify)
			notify(opaque, conn->domid, conn->evtchn);
		all |= flags;
	}
	return all;
}

uint32_t xs_conn_domid(const struct xs_conn *conn)
{
	return conn->domid;
}

uint32_t xs_conn_evtchn(const struct xs_conn *conn)
{
	return conn->evtchn;
}

bool xs_conn_broken(const struct xs_conn *conn)
{
	return conn->broken;
}

uint64_t xs_conn_dropped_events(const struct xs_conn *conn)
{
	return conn->dropped_events;
}

bool xs_conn_has_output(const struct xs_conn *conn)
{
	return conn->out_head != NULL;
}

/* ---- local byte-stream connections ------------------------------------------- */

ssize_t xs_local_feed(struct xs_conn *conn, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;

	if (conn->broken)
		return -EPIPE;
	while (done < len) {
		uint32_t chunk = len - done > UINT32_MAX ? UINT32_MAX :
				 (uint32_t)(len - done);
		done += conn_in_take(conn, p + done, chunk);
	}
	return (ssize_t)len;
}

ssize_t xs_local_drain(struct xs_conn *conn, void *buf, size_t cap)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (conn->out_head && done < cap) {
		struct xs_msg *m = conn->out_head;
		size_t n = m->len - m->off;
		if (n > cap - done)
			n = cap - done;
		memcpy(p + done, m->data + m->off, n);
		m->off += (uint32_t)n;
		done += n;
		if (m->off == m->len)
			conn_pop_output(conn);
	}
	return (ssize_t)done;
}
