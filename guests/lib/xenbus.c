/*
 * XenStore client over the store ring (see xenbus.h).  The ring page is
 * the documented xenstore_domain_interface: req[1024], rsp[1024], then
 * req_cons, req_prod, rsp_cons, rsp_prod; every message is a 16-byte
 * header (type, req_id, tx_id, len) and len payload bytes.
 */
#include "guest.h"
#include "xenbus.h"

#define RING_SIZE 1024u
#define RING_IDX(i) ((i) & (RING_SIZE - 1))

struct store_ring {
	char req[RING_SIZE];
	char rsp[RING_SIZE];
	uint32_t req_cons, req_prod;
	uint32_t rsp_cons, rsp_prod;
};

struct msg_hdr {
	uint32_t type, req_id, tx_id, len;
};

#define EVENT_SLOTS 8
struct event {
	char path[256];
	char token[64];
};

static struct store_ring *ring;
static evtchn_port_t port;
static uint32_t next_req_id = 1;
static struct event events[EVENT_SLOTS];
static unsigned ev_head, ev_count;
unsigned long xenbus_events_lost;
/* One message being received (replies are at most a payload). */
static char rx[XENBUS_PAYLOAD_MAX + 1];

static const struct {
	const char *name;
	long err;
} error_names[] = {
	{ "EPERM", XENBUS_EPERM }, { "ENOENT", XENBUS_ENOENT }, { "EIO", XENBUS_EIO },
	{ "E2BIG", XENBUS_E2BIG }, { "EAGAIN", XENBUS_EAGAIN }, { "ENOMEM", XENBUS_ENOMEM },
	{ "EACCES", XENBUS_EACCES }, { "EBUSY", XENBUS_EBUSY }, { "EEXIST", XENBUS_EEXIST },
	{ "EISDIR", XENBUS_EISDIR }, { "EINVAL", XENBUS_EINVAL }, { "ENOSPC", XENBUS_ENOSPC },
	{ "EROFS", XENBUS_EROFS }, { "ENOSYS", XENBUS_ENOSYS },
	{ "ENOTEMPTY", XENBUS_ENOTEMPTY }, { "EPROTO", XENBUS_EPROTO },
	{ "EISCONN", XENBUS_EISCONN }, { "ETIMEDOUT", XENBUS_ETIMEDOUT },
};

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

const char *xenbus_strerror(long err)
{
	for (size_t i = 0; i < ARRAY_SIZE(error_names); i++)
		if (error_names[i].err == -err)
			return error_names[i].name;
	return "unknown error";
}

static long error_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(error_names); i++)
		if (str_eq(error_names[i].name, name))
			return -error_names[i].err;
	return -XENBUS_EIO;
}

long xenbus_init(void)
{
	int64_t pfn = mfn_to_pfn(start_info->store_mfn);

	if (pfn < 0)
		return -XENBUS_EINVAL;
	need_shared_info();
	ring = pfn_to_va((uint64_t)pfn);
	port = start_info->store_evtchn;
	return 0;
}

static void notify(void)
{
	evtchn_send(port);
}

static bool expired(uint64_t deadline)
{
	return xen_now(0) > deadline;
}

/* Puts len bytes into the request ring, waiting for room. */
static long ring_put(const void *buf, uint32_t len, uint64_t deadline)
{
	const char *p = buf;

	while (len) {
		uint32_t prod = ring->req_prod;
		uint32_t space = RING_SIZE - (prod - READ_ONCE(ring->req_cons));
		if (space > RING_SIZE)
			return -XENBUS_EPROTO;
		if (!space) {
			if (expired(deadline))
				return -XENBUS_ETIMEDOUT;
			HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
			continue;
		}
		uint32_t n = len < space ? len : space;
		for (uint32_t i = 0; i < n; i++)
			ring->req[RING_IDX(prod + i)] = p[i];
		__atomic_store_n(&ring->req_prod, prod + n, __ATOMIC_RELEASE);
		notify();
		p += n;
		len -= n;
	}
	return 0;
}

/* Takes exactly len bytes out of the response ring, waiting for them. */
static long ring_get(void *buf, uint32_t len, uint64_t deadline)
{
	char *p = buf;

	while (len) {
		uint32_t cons = ring->rsp_cons;
		uint32_t avail = __atomic_load_n(&ring->rsp_prod, __ATOMIC_ACQUIRE) - cons;
		if (avail > RING_SIZE)
			return -XENBUS_EPROTO;
		if (!avail) {
			if (expired(deadline))
				return -XENBUS_ETIMEDOUT;
			HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
			continue;
		}
		uint32_t n = len < avail ? len : avail;
		for (uint32_t i = 0; i < n; i++)
			p[i] = ring->rsp[RING_IDX(cons + i)];
		__atomic_store_n(&ring->rsp_cons, cons + n, __ATOMIC_RELEASE);
		/* A full ring may have left the server with more to write. */
		if (avail == RING_SIZE)
			notify();
		p += n;
		len -= n;
	}
	return 0;
}

static void keep_event(uint32_t len)
{
	const char *path = rx, *token = rx + strnlen(rx, len) + 1;
	struct event *e;

	if (ev_count == EVENT_SLOTS || token >= rx + len) {
		xenbus_events_lost++;
		return;
	}
	e = &events[(ev_head + ev_count++) % EVENT_SLOTS];
	size_t pl = strnlen(path, sizeof(e->path) - 1);
	size_t tl = strnlen(token, sizeof(e->token) - 1);
	memcpy(e->path, path, pl);
	e->path[pl] = 0;
	memcpy(e->token, token, tl);
	e->token[tl] = 0;
}

/* Receives one message into rx; a watch event is kept, and *event says
 * so. */
static long recv_one(struct msg_hdr *h, bool *event, uint64_t deadline)
{
	long rc = ring_get(h, sizeof(*h), deadline);

	*event = false;
	if (rc)
		return rc;
	if (h->len > XENBUS_PAYLOAD_MAX)
		return -XENBUS_EPROTO;
	rc = ring_get(rx, h->len, deadline);
	if (rc)
		return rc;
	rx[h->len] = 0;
	if (h->type == XENBUS_WATCH_EVENT) {
		keep_event(h->len);
		*event = true;
	}
	return 0;
}

long xenbus_call(uint32_t type, uint32_t tx, const void *req, uint32_t len,
                 char *rsp, uint32_t cap, uint32_t *rsp_len)
{
	struct msg_hdr h = { .type = type, .req_id = next_req_id++, .tx_id = tx, .len = len };
	uint64_t deadline;
	long rc;

	if (!ring)
		return -XENBUS_EINVAL;
	if (len > XENBUS_PAYLOAD_MAX)
		return -XENBUS_E2BIG;
	deadline = xen_now(0) + XENBUS_TIMEOUT_NS;
	rc = ring_put(&h, sizeof(h), deadline);
	if (!rc)
		rc = ring_put(req, len, deadline);
	uint32_t want = h.req_id;
	bool event = true;
	while (!rc && event)
		rc = recv_one(&h, &event, deadline);
	if (rc)
		return rc;
	if (h.req_id != want)
		return -XENBUS_EPROTO;
	if (h.type == XENBUS_ERROR)
		return error_from_name(rx);
	if (h.type != type)
		return -XENBUS_EPROTO;
	if (rsp && cap) {
		uint32_t n = h.len < cap - 1 ? h.len : cap - 1;
		memcpy(rsp, rx, n);
		rsp[n] = 0;
	}
	if (rsp_len)
		*rsp_len = h.len;
	return 0;
}

/* "a\0b\0" payloads; returns the length or -E2BIG. */
static long pack2(char *buf, const char *a, const char *b, uint32_t blen)
{
	size_t al = strlen(a) + 1;

	if (al + blen > XENBUS_PAYLOAD_MAX)
		return -XENBUS_E2BIG;
	memcpy(buf, a, al);
	if (blen)
		memcpy(buf + al, b, blen);
	return (long)(al + blen);
}

static char tx_buf[XENBUS_PAYLOAD_MAX];

static long call_path(uint32_t type, uint32_t tx, const char *path, char *out,
                      uint32_t cap, uint32_t *out_len)
{
	long len = pack2(tx_buf, path, "", 0);

	return len < 0 ? len : xenbus_call(type, tx, tx_buf, (uint32_t)len, out, cap, out_len);
}

long xenbus_read(uint32_t tx, const char *path, char *buf, uint32_t cap)
{
	uint32_t n = 0;
	long rc = call_path(XENBUS_READ, tx, path, buf, cap, &n);

	return rc ? rc : (long)n;
}

long xenbus_write_len(uint32_t tx, const char *path, const void *val, uint32_t len)
{
	long n = pack2(tx_buf, path, val, len);

	return n < 0 ? n : xenbus_call(XENBUS_WRITE, tx, tx_buf, (uint32_t)n, NULL, 0, NULL);
}

long xenbus_write(uint32_t tx, const char *path, const char *val)
{
	return xenbus_write_len(tx, path, val, (uint32_t)strlen(val));
}

long xenbus_mkdir(uint32_t tx, const char *path)
{
	return call_path(XENBUS_MKDIR, tx, path, NULL, 0, NULL);
}

long xenbus_rm(uint32_t tx, const char *path)
{
	return call_path(XENBUS_RM, tx, path, NULL, 0, NULL);
}

long xenbus_set_perms(uint32_t tx, const char *path, const char *const *perms, unsigned n)
{
	long len = pack2(tx_buf, path, "", 0);

	for (unsigned i = 0; i < n && len >= 0; i++) {
		size_t pl = strlen(perms[i]) + 1;
		if ((size_t)len + pl > XENBUS_PAYLOAD_MAX)
			return -XENBUS_E2BIG;
		memcpy(tx_buf + len, perms[i], pl);
		len += (long)pl;
	}
	return len < 0 ? len : xenbus_call(XENBUS_SET_PERMS, tx, tx_buf, (uint32_t)len,
	                                   NULL, 0, NULL);
}

long xenbus_get_perms(uint32_t tx, const char *path, char *buf, uint32_t cap)
{
	uint32_t n = 0;
	long rc = call_path(XENBUS_GET_PERMS, tx, path, buf, cap, &n);

	return rc ? rc : (long)n;
}

long xenbus_directory(uint32_t tx, const char *path, char *buf, uint32_t cap)
{
	uint32_t n = 0;
	long rc = call_path(XENBUS_DIRECTORY, tx, path, buf, cap, &n);

	return rc ? rc : (long)n;
}

long xenbus_watch(const char *path, const char *token)
{
	long n = pack2(tx_buf, path, token, (uint32_t)strlen(token) + 1);

	return n < 0 ? n : xenbus_call(XENBUS_WATCH, 0, tx_buf, (uint32_t)n, NULL, 0, NULL);
}

long xenbus_unwatch(const char *path, const char *token)
{
	long n = pack2(tx_buf, path, token, (uint32_t)strlen(token) + 1);

	return n < 0 ? n : xenbus_call(XENBUS_UNWATCH, 0, tx_buf, (uint32_t)n, NULL, 0, NULL);
}

long xenbus_tx_start(uint32_t *tx)
{
	char id[16];
	unsigned long v;
	long rc = xenbus_call(XENBUS_TRANSACTION_START, 0, "", 1, id, sizeof(id), NULL);

	*tx = 0;
	if (rc)
		return rc;
	if (!parse_ulong(id, &v) || !v || v > UINT32_MAX)
		return -XENBUS_EPROTO;
	*tx = (uint32_t)v;
	return 0;
}

long xenbus_tx_end(uint32_t tx, bool commit)
{
	return xenbus_call(XENBUS_TRANSACTION_END, tx, commit ? "T" : "F", 2, NULL, 0, NULL);
}

bool xenbus_event(char *path, uint32_t pcap, char *token, uint32_t tcap, uint64_t wait_ns)
{
	uint64_t deadline = xen_now(0) + wait_ns;

	/* Events arrive on their own: take what the ring holds meanwhile. */
	while (!ev_count && ring) {
		uint32_t avail = __atomic_load_n(&ring->rsp_prod, __ATOMIC_ACQUIRE) -
		                 ring->rsp_cons;
		if (avail >= sizeof(struct msg_hdr)) {
			struct msg_hdr h;
			bool event;
			if (recv_one(&h, &event, deadline))
				return false;
			continue;       /* an event is kept; a stray reply dropped */
		}
		if (expired(deadline))
			return false;
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	}
	if (!ev_count)
		return false;
	struct event *e = &events[ev_head];
	ev_head = (ev_head + 1) % EVENT_SLOTS;
	ev_count--;
	size_t pl = strnlen(e->path, pcap - 1), tl = strnlen(e->token, tcap - 1);
	memcpy(path, e->path, pl);
	path[pl] = 0;
	memcpy(token, e->token, tl);
	token[tl] = 0;
	return true;
}
