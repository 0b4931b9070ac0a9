/*
 * A minimal XenStore client over the store ring named in start_info:
 * one request at a time (read, write), waiting for the reply by yielding.
 * Watch events that arrive meanwhile are skipped.
 */
#include "guest.h"

#define XS_READ   2
#define XS_WRITE  11
#define XS_ERROR  16
#define XS_WATCH_EVENT 15

struct xs_ring {                   /* struct xenstore_domain_interface */
	char req[1024];
	char rsp[1024];
	uint32_t req_cons, req_prod, rsp_cons, rsp_prod;
};

struct xs_hdr {
	uint32_t type, req_id, tx_id, len;
};

static struct xs_ring *ring(void)
{
	int64_t pfn = mfn_to_pfn(start_info->store_mfn);
	return pfn < 0 ? NULL : pfn_to_va((uint64_t)pfn);
}

static void kick(void)
{
	struct evtchn_port_op send = { .port = start_info->store_evtchn };
	HYPERVISOR_event_channel_op(EVTCHNOP_send, &send);
}

static void put(struct xs_ring *r, const void *buf, size_t len)
{
	const char *b = buf;
	for (size_t i = 0; i < len; i++) {
		while (READ_ONCE(r->req_prod) - READ_ONCE(r->req_cons) >= sizeof r->req) {
			kick();
			HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
		}
		r->req[r->req_prod % sizeof r->req] = b[i];
		barrier();
		r->req_prod++;
	}
}

static int get(struct xs_ring *r, void *buf, size_t len)
{
	char *b = buf;
	for (size_t i = 0; i < len; i++) {
		for (unsigned spins = 0; READ_ONCE(r->rsp_prod) == READ_ONCE(r->rsp_cons); spins++) {
			if (spins > 200000)
				return -1;
			HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
		}
		b[i] = r->rsp[r->rsp_cons % sizeof r->rsp];
		barrier();
		r->rsp_cons++;
	}
	kick();
	return 0;
}

/* One request with up to two payload parts; the reply payload (up to
 * max - 1 bytes, NUL-terminated) in out.  Returns the reply length, or -1. */
static long transact(uint32_t type, const char *a, size_t alen, const char *b, size_t blen,
		     char *out, size_t max)
{
	static uint32_t next_id = 1;
	struct xs_ring *r = ring();
	struct xs_hdr h = { .type = type, .req_id = next_id++, .len = (uint32_t)(alen + blen) };

	if (!r)
		return -1;
	put(r, &h, sizeof h);
	put(r, a, alen);
	put(r, b, blen);
	kick();
	for (;;) {
		struct xs_hdr rh;
		char skip[64];
		if (get(r, &rh, sizeof rh))
			return -1;
		if (rh.type == XS_WATCH_EVENT || rh.req_id != h.req_id) {
			for (uint32_t done = 0; done < rh.len; done += sizeof skip)
				if (get(r, skip, rh.len - done < sizeof skip ? rh.len - done : sizeof skip))
					return -1;
			continue;
		}
		size_t keep = rh.len < max - 1 ? rh.len : max - 1;
		if (get(r, out, keep))
			return -1;
		for (uint32_t done = (uint32_t)keep; done < rh.len; done += sizeof skip)
			if (get(r, skip, rh.len - done < sizeof skip ? rh.len - done : sizeof skip))
				return -1;
		out[keep] = 0;
		return rh.type == XS_ERROR ? -1 : (long)keep;
	}
}

long gxs_read(const char *path, char *buf, size_t len)
{
	return transact(XS_READ, path, strlen(path) + 1, "", 0, buf, len);
}

long gxs_write(const char *path, const char *val)
{
	char reply[16];
	return transact(XS_WRITE, path, strlen(path) + 1, val, strlen(val), reply, sizeof reply) < 0
		       ? -1 : 0;
}

long gxs_read_ulong(const char *path, unsigned long *out)
{
	char buf[32];
	if (gxs_read(path, buf, sizeof buf) < 0 || !parse_ulong(buf, out))
		return -1;
	return 0;
}
