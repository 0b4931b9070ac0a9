/*
 * blkback: the "vbd" device kind, the blkif protocol (64-bit layout).
 *
 * Per queue (multi-queue: one ring and event channel each): the ring pages
 * are mapped writable for the life of the connection; requests are copied
 * out of their slot once and parsed (blkreq.c); data segments are granted
 * frames mapped (and kept, with feature-persistent) and handed to the
 * kernel as an iovec through io_uring, with O_DIRECT when the buffers are
 * aligned for it, so data moves between the guest's pages and the disk
 * without a copy.  Completions arrive on an eventfd the device thread
 * waits on beside the event channel's.
 *
 * Notifications are suppressed on both sides the way Xen's ring macros
 * do: we ask for an event (req_event) only when going idle, and notify
 * the frontend only when it asked (rsp_event) -- a busy ring costs far
 * fewer than one event per request.  Answers to requests whose siblings
 * are still in flight are held up to BLK_COALESCE_NS so they go out with
 * one event.
 *
 * A frontend that breaks the ring (indices more than a ring apart, more
 * requests in flight than slots) or keeps sending invalid requests gets
 * the device shut down (dev_fail); one invalid request gets an error
 * response.  Sector ranges are checked against the disk, so nothing
 * outside the target is read or written.
 */
#include "devices/dev-internal.h"
#include "devices/blkback.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/common.h"
#include "core/core.h"
#include "toolstack/toolstack.h"
#include "xen/io.h"

#define BLK_MAX_QUEUES      4
#define BLK_MAX_RING_ORDER  4
#define BLK_MAX_RING_PAGES  (1u << BLK_MAX_RING_ORDER)
#define BLK_MAX_PGRANTS     1056    /* per queue, as Linux's blkback */
#define BLK_PGRANT_HASH     2048
/* Invalid requests a frontend may send before the device is shut down. */
#define BLK_BAD_LIMIT       64
/* While requests are still in flight, answers wait this long for their
 * siblings: one event for a batch costs the guest far less than one per
 * answer when each event means traps of 45-100 us (or more) on a nested
 * host.  A lone request is answered at once. */
#define BLK_COALESCE_NS     200000
#define SLOT_SIZE           sizeof(union blkif_sring_entry)

struct blk_req {
	uint64_t id;
	uint8_t rsp_op;
	uint64_t expect;             /* bytes the I/O must move */
	unsigned nmaps;              /* temporary maps held */
	struct grant_map *maps;
	struct iovec *iov;
	struct blk_req *next_free;
};

struct pgrant {
	uint32_t gref;
	bool used;
	struct grant_map map;
};

struct blk_queue {
	struct dev *dev;
	unsigned idx;
	struct dev_fd ev;            /* the event channel's eventfd */
	struct dev_fd done;          /* io_uring completions */
	struct dev_fd hold;          /* timerfd: answers held for coalescing */
	bool hold_armed;
	uint32_t port;
	bool port_bound;
	struct grant_map ring[BLK_MAX_RING_PAGES];
	unsigned ring_pages;
	uint32_t nr_slots;
	uint32_t req_cons, rsp_prod_pvt, rsp_pushed;
	struct io_uring uring;
	bool uring_ok;
	unsigned inflight, to_submit;
	struct blk_req *reqs, *free;
	struct pgrant *pg;           /* open-addressed by gref */
	unsigned pg_count;
};

struct blkback {
	struct blkstore store;
	char target[PATH_MAX];
	char vdev[16];
	bool readonly, cdrom, discard;
	bool persistent;             /* negotiated for this connection */
	unsigned nr_queues;
	struct blk_queue q[BLK_MAX_QUEUES];
	unsigned bad;                /* invalid requests this connection */
	struct blk_seg *segs;        /* scratch: one request's segments */
	uint8_t *page;               /* scratch: one indirect page */
	_Atomic uint32_t info_port, info_ring_ref;
};

/* ---- vdev names ------------------------------------------------------------------- */

/* "<prefix><letters>[<partition>]": letters base-26 as xl counts them
 * (a = 0, z = 25, aa = 26). */
static int vdev_split(const char *s, const char *prefix, unsigned max_disk, unsigned max_part,
		      unsigned *disk, unsigned *part)
{
	size_t pl = strlen(prefix);
	unsigned long d = 0, p = 0;
	const char *c = s + pl;

	if (strncmp(s, prefix, pl) || *c < 'a' || *c > 'z')
		return -EINVAL;
	/* Like spreadsheet columns: a = 1 ... z = 26, aa = 27; minus one. */
	for (; *c >= 'a' && *c <= 'z'; c++) {
		d = d * 26 + (unsigned long)(*c - 'a' + 1);
		if (d > (unsigned long)max_disk + 1)
			return -EINVAL;
	}
	d--;
	if (*c && (*c < '1' || *c > '9'))
		return -EINVAL;
	for (; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		p = p * 10 + (unsigned long)(*c - '0');
		if (p > max_part)
			return -EINVAL;
	}
	*disk = (unsigned)d;
	*part = (unsigned)p;
	return 0;
}

int vbd_vdev_to_devid(const char *vdev)
{
	unsigned disk, part;
	unsigned long n = 0;

	if (!vdev || !*vdev)
		return -EINVAL;
	if (vdev[0] >= '0' && vdev[0] <= '9') {
		for (const char *c = vdev; *c; c++) {
			if (*c < '0' || *c > '9' || n > (INT_MAX - 9) / 10)
				return -EINVAL;
			n = n * 10 + (unsigned long)(*c - '0');
		}
		return (int)n;
	}
	if (!vdev_split(vdev, "xvd", (1u << 20) - 1, 255, &disk, &part))
		return disk < 16 && part < 16 ? (int)((202u << 8) | (disk << 4) | part)
					      : (int)((1u << 28) | (disk << 8) | part);
	if (!vdev_split(vdev, "hd", 3, 63, &disk, &part))
		return (int)(((disk < 2 ? 3u : 22u) << 8) | ((disk & 1) << 6) | part);
	if (!vdev_split(vdev, "sd", 15, 15, &disk, &part))
		return (int)((8u << 8) | (disk << 4) | part);
	return -EINVAL;
}

bool vbd_format_supported(const char *format, char *why, size_t len)
{
	if (!format || !strcmp(format, "raw"))
		return true;
	snprintf(why, len, "disk format \"%s\" is not supported: kxen's block backend serves "
		 "raw images and host block devices only (format=raw)", format);
	return false;
}

/* ---- the ring ------------------------------------------------------------------------ */

static uint32_t *sring_word(struct blk_queue *q, unsigned off)
{
	return (uint32_t *)(q->ring[0].addr + off);
}

#define SRING_REQ_PROD  0
#define SRING_REQ_EVENT 4
#define SRING_RSP_PROD  8
#define SRING_RSP_EVENT 12

static size_t slot_off(struct blk_queue *q, uint32_t idx)
{
	return RING_HEADER_SIZE + (size_t)(idx & (q->nr_slots - 1)) * SLOT_SIZE;
}

/* A slot may straddle two of the ring's pages. */
static void ring_copy(struct blk_queue *q, size_t off, void *buf, size_t len, bool to_ring)
{
	uint8_t *b = buf;
	while (len) {
		size_t page = off / 4096, in = off % 4096, n = 4096 - in;
		if (n > len)
			n = len;
		if (to_ring)
			memcpy(q->ring[page].addr + in, b, n);
		else
			memcpy(b, q->ring[page].addr + in, n);
		b += n;
		off += n;
		len -= n;
	}
}

static void respond(struct blk_queue *q, uint64_t id, uint8_t op, int16_t status)
{
	struct blkif_response r = { .id = id, .operation = op, .status = status };
	ring_copy(q, slot_off(q, q->rsp_prod_pvt), &r, sizeof r, true);
	q->rsp_prod_pvt++;
}

/* RING_PUSH_RESPONSES_AND_CHECK_NOTIFY, with the old producer from our
 * own record rather than from shared memory. */
static void push_responses(struct blk_queue *q)
{
	uint32_t old = q->rsp_pushed, nw = q->rsp_prod_pvt;

	if (old == nw)
		return;
	__atomic_store_n(sring_word(q, SRING_RSP_PROD), nw, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint32_t ev = __atomic_load_n(sring_word(q, SRING_RSP_EVENT), __ATOMIC_ACQUIRE);
	q->rsp_pushed = nw;
	if ((uint32_t)(nw - ev) < (uint32_t)(nw - old)) {
		domain_evtchn_notify_backend(q->dev->d, q->port, q->ev.fd);
		atomic_fetch_add(&q->dev->events_out, 1);
	}
}

/* ---- persistent grants ------------------------------------------------------------- */

static struct pgrant *pg_slot(struct blk_queue *q, uint32_t gref, bool *found)
{
	uint32_t h = (gref * 2654435761u) & (BLK_PGRANT_HASH - 1);
	for (unsigned i = 0; i < BLK_PGRANT_HASH; i++, h = (h + 1) & (BLK_PGRANT_HASH - 1)) {
		struct pgrant *p = &q->pg[h];
		if (!p->used || p->gref == gref) {
			*found = p->used;
			return p;
		}
	}
	*found = false;
	return NULL;
}

/* The frame of a segment: a kept mapping, a new kept one, or a
 * temporary one held by the request.  NULL with *st on failure. */
static uint8_t *seg_frame(struct blk_queue *q, struct blk_req *r, uint32_t gref, bool write,
			  int *st)
{
	struct blkback *bb = q->dev->priv;
	struct domain *d = q->dev->d;
	bool found = false;
	struct pgrant *p = bb->persistent && q->pg ? pg_slot(q, gref, &found) : NULL;

	if (found)
		return p->map.addr;
	if (p && q->pg_count < BLK_MAX_PGRANTS) {
		/* Kept mappings are writable: the frontend grants them so. */
		*st = domain_grant_map(d, gref, true, &p->map);
		if (*st == GNTST_okay) {
			p->used = true;
			p->gref = gref;
			q->pg_count++;
			return p->map.addr;
		}
	}
	*st = domain_grant_map(d, gref, write, &r->maps[r->nmaps]);
	if (*st)
		return NULL;
	return r->maps[r->nmaps++].addr;
}

static void pg_release_all(struct blk_queue *q)
{
	if (!q->pg)
		return;
	for (unsigned i = 0; i < BLK_PGRANT_HASH; i++)
		if (q->pg[i].used)
			domain_grant_unmap(q->dev->d, &q->pg[i].map);
	free(q->pg);
	q->pg = NULL;
	q->pg_count = 0;
}

/* ---- requests ---------------------------------------------------------------------- */

static void req_release(struct blk_queue *q, struct blk_req *r)
{
	for (unsigned i = 0; i < r->nmaps; i++)
		domain_grant_unmap(q->dev->d, &r->maps[i]);
	r->nmaps = 0;
	r->next_free = q->free;
	q->free = r;
}

/* A bad request: answered with an error; too many of them end the
 * device.  Returns false when the device was shut down. */
static bool bad_request(struct blk_queue *q, uint64_t id, uint8_t op, int status, const char *why)
{
	struct dev *dev = q->dev;
	struct blkback *bb = dev->priv;

	respond(q, id, op, (int16_t)status);
	if (status == BLKIF_RSP_EOPNOTSUPP && op != BLKIF_OP_INDIRECT && op <= BLKIF_OP_DISCARD)
		return true;         /* an honest question ("do you discard?") */
	if (++bb->bad <= 3)
		log_warn("domain %u: vbd %u: invalid request (op %u): %s", dev->domid, dev->devid,
			 op, why);
	if (bb->bad >= BLK_BAD_LIMIT) {
		push_responses(q);
		dev_fail(dev, "the frontend sent %u invalid requests (last: %s)", bb->bad, why);
		return false;
	}
	return true;
}

static struct io_uring_sqe *get_sqe(struct blk_queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->uring);
	if (!sqe) {
		io_uring_submit(&q->uring);
		q->to_submit = 0;
		sqe = io_uring_get_sqe(&q->uring);
	}
	return sqe;
}

/* Segments of an indirect request, copied out of its indirect pages. */
static int read_indirect(struct blk_queue *q, const struct blk_parsed *p, const char **why)
{
	struct blkback *bb = q->dev->priv;
	unsigned left = p->nr_segs;

	for (unsigned i = 0; i < p->nr_indirect_pages; i++) {
		unsigned n = left < BLKIF_SEGS_PER_INDIRECT_FRAME ? left : BLKIF_SEGS_PER_INDIRECT_FRAME;
		int st = domain_grant_copy_from(q->dev->d, p->indirect_gref[i], 0, bb->page,
						n * sizeof(struct blkif_request_segment));
		if (st) {
			*why = grant_status_str(st);
			return BLKIF_RSP_ERROR;
		}
		blkreq_decode_indirect(bb->page, n, bb->segs + i * BLKIF_SEGS_PER_INDIRECT_FRAME);
		left -= n;
	}
	return BLKIF_RSP_OKAY;
}

static bool direct_ok(const struct blkstore *bs, const struct iovec *iov, unsigned n,
		      uint64_t off)
{
	uint64_t a = bs->direct_align;
	if (bs->fd_direct < 0 || off % a)
		return false;
	for (unsigned i = 0; i < n; i++)
		if ((uintptr_t)iov[i].iov_base % a || iov[i].iov_len % a)
			return false;
	return true;
}

static bool start_rw(struct blk_queue *q, const struct blk_parsed *p)
{
	struct dev *dev = q->dev;
	struct blkback *bb = dev->priv;
	const struct blk_seg *segs = p->indirect ? bb->segs : p->seg;
	bool is_read = p->op == BLKIF_OP_READ;
	const char *why = NULL;
	uint64_t sectors;
	int st;

	if (!is_read && bb->readonly) {
		respond(q, p->id, p->rsp_op, BLKIF_RSP_ERROR);   /* honest: a read-only disk */
		return true;
	}
	if (p->indirect && read_indirect(q, p, &why))
		return bad_request(q, p->id, p->rsp_op, BLKIF_RSP_ERROR, why);
	if (blkreq_check_segs(segs, p->nr_segs, p->sector, bb->store.sectors,
			      bb->store.logical_block >> 9, &sectors, &why))
		return bad_request(q, p->id, p->rsp_op, BLKIF_RSP_ERROR, why);
	struct blk_req *r = q->free;
	q->free = r->next_free;
	r->id = p->id;
	r->rsp_op = p->rsp_op;
	r->nmaps = 0;
	r->expect = sectors << 9;
	for (unsigned i = 0; i < p->nr_segs; i++) {
		uint8_t *frame = seg_frame(q, r, segs[i].gref, is_read, &st);
		if (!frame) {
			req_release(q, r);
			return bad_request(q, p->id, p->rsp_op, BLKIF_RSP_ERROR, grant_status_str(st));
		}
		r->iov[i].iov_base = frame + ((size_t)segs[i].first << 9);
		r->iov[i].iov_len = ((size_t)segs[i].last - segs[i].first + 1) << 9;
	}
	uint64_t off = p->sector << 9;
	bool direct = direct_ok(&bb->store, r->iov, p->nr_segs, off);
	int fd = direct ? bb->store.fd_direct : bb->store.fd;
	struct io_uring_sqe *sqe = get_sqe(q);
	if (!sqe) {
		req_release(q, r);
		respond(q, p->id, p->rsp_op, BLKIF_RSP_ERROR);
		return true;
	}
	if (is_read)
		io_uring_prep_readv(sqe, fd, r->iov, p->nr_segs, off);
	else
		io_uring_prep_writev(sqe, fd, r->iov, p->nr_segs, off);
	io_uring_sqe_set_data(sqe, r);
	q->inflight++;
	q->to_submit++;
	return true;
}

/* Flush and discard take no data: a request record carries the id. */
static bool start_plain(struct blk_queue *q, const struct blk_parsed *p)
{
	struct blkback *bb = q->dev->priv;
	struct io_uring_sqe *sqe;

	if (p->op == BLKIF_OP_FLUSH_DISKCACHE && bb->readonly) {
		respond(q, p->id, p->rsp_op, BLKIF_RSP_OKAY);    /* nothing to flush */
		return true;
	}
	if (p->op == BLKIF_OP_DISCARD) {
		if (!bb->discard) {
			respond(q, p->id, p->rsp_op, BLKIF_RSP_EOPNOTSUPP);
			return true;
		}
		if (p->sector > bb->store.sectors || p->nr_sectors > bb->store.sectors - p->sector)
			return bad_request(q, p->id, p->rsp_op, BLKIF_RSP_ERROR,
					   "discard beyond the end of the disk");
		if (!p->nr_sectors) {
			respond(q, p->id, p->rsp_op, BLKIF_RSP_OKAY);
			return true;
		}
	}
	struct blk_req *r = q->free;
	q->free = r->next_free;
	r->id = p->id;
	r->rsp_op = p->rsp_op;
	r->nmaps = 0;
	r->expect = 0;
	sqe = get_sqe(q);
	if (!sqe) {
		req_release(q, r);
		respond(q, p->id, p->rsp_op, BLKIF_RSP_ERROR);
		return true;
	}
	if (p->op == BLKIF_OP_FLUSH_DISKCACHE) {
		/* After everything submitted before it: FLUSH means the
		 * writes the guest saw complete are on stable storage. */
		io_uring_prep_fsync(sqe, bb->store.fd, IORING_FSYNC_DATASYNC);
		io_uring_sqe_set_flags(sqe, IOSQE_IO_DRAIN);
	} else {
		io_uring_prep_fallocate(sqe, bb->store.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					p->sector << 9, p->nr_sectors << 9);
	}
	io_uring_sqe_set_data(sqe, r);
	q->inflight++;
	q->to_submit++;
	return true;
}

/* One request from slot idx; false when the device was shut down. */
static bool handle_request(struct blk_queue *q, uint32_t idx)
{
	struct blkback *bb = q->dev->priv;
	struct blkif_request req;
	struct blk_parsed p;
	const char *why;

	ring_copy(q, slot_off(q, idx), &req, sizeof req, false);
	atomic_fetch_add(&q->dev->requests, 1);
	int st = blkreq_parse(&req, BLK_MAX_INDIRECT_SEGS, &p, &why);
	if (st)
		return bad_request(q, p.id, p.rsp_op, st, why);
	(void)bb;
	switch (p.op) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		return start_rw(q, &p);
	default:
		return start_plain(q, &p);
	}
}

static void submit(struct blk_queue *q)
{
	if (q->to_submit) {
		int rc = io_uring_submit(&q->uring);
		if (rc < 0)
			log_warn("domain %u: vbd %u: io_uring submit: %s", q->dev->domid,
				 q->dev->devid, strerror(-rc));
		q->to_submit = 0;
	}
}

/* Consume what the frontend produced: at most one ring's worth per call,
 * so a frontend that never stops cannot keep the thread from its
 * completions (the eventfd is re-armed for the rest).  Returns false when
 * the device was shut down. */
static bool queue_process(struct blk_queue *q)
{
	struct dev *dev = q->dev;
	uint32_t budget = q->nr_slots;

	for (;;) {
		uint32_t prod = __atomic_load_n(sring_word(q, SRING_REQ_PROD), __ATOMIC_ACQUIRE);
		if (prod - q->req_cons > q->nr_slots) {
			dev_fail(dev, "ring %u: request producer %u is more than a ring (%u) ahead of "
				 "the consumer %u", q->idx, prod, q->nr_slots, q->req_cons);
			return false;
		}
		while (q->req_cons != prod && budget) {
			if (q->req_cons - q->rsp_prod_pvt >= q->nr_slots) {
				dev_fail(dev, "ring %u: more requests than slots in flight", q->idx);
				return false;
			}
			uint32_t idx = q->req_cons++;
			budget--;
			if (!handle_request(q, idx))
				return false;
		}
		if (!budget) {
			uint64_t one = 1;
			if (write(q->ev.fd, &one, sizeof one) < 0 && errno != EAGAIN)
				log_warn("vbd eventfd: %s", strerror(errno));
			break;
		}
		/* RING_FINAL_CHECK_FOR_REQUESTS: ask for an event, then look
		 * once more so a request produced meanwhile is not missed. */
		__atomic_store_n(sring_word(q, SRING_REQ_EVENT), q->req_cons + 1, __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(sring_word(q, SRING_REQ_PROD), __ATOMIC_ACQUIRE) == q->req_cons)
			break;
	}
	submit(q);
	push_responses(q);
	return true;
}

static void complete(struct blk_queue *q, struct blk_req *r, int res)
{
	int16_t st = BLKIF_RSP_OKAY;

	if (res < 0 || (uint64_t)res != r->expect) {
		st = BLKIF_RSP_ERROR;
		log_warn("domain %u: vbd %u: I/O failed: %s", q->dev->domid, q->dev->devid,
			 res < 0 ? strerror(-res) : "short transfer");
	} else {
		atomic_fetch_add(&q->dev->bytes, r->expect);
	}
	respond(q, r->id, r->rsp_op, st);
	q->inflight--;
	req_release(q, r);
}

static void reap_completions(struct blk_queue *q)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&q->uring, &cqe) == 0) {
		struct blk_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&q->uring, cqe);
		complete(q, r, res);
	}
}

static void on_event(struct dev *dev, struct dev_fd *h)
{
	struct blk_queue *q = h->arg;
	uint64_t v;

	if (read(h->fd, &v, sizeof v) == (ssize_t)sizeof v)
		atomic_fetch_add(&dev->events_in, v);
	queue_process(q);
}

static void on_done(struct dev *dev, struct dev_fd *h)
{
	struct blk_queue *q = h->arg;
	uint64_t v;

	(void)dev;
	if (read(h->fd, &v, sizeof v) < 0 && errno != EAGAIN)
		log_warn("vbd completion eventfd: %s", strerror(errno));
	reap_completions(q);
	if (!q->inflight) {
		push_responses(q);
	} else if (!q->hold_armed && q->rsp_prod_pvt != q->rsp_pushed) {
		struct itimerspec its = { .it_value.tv_nsec = BLK_COALESCE_NS };
		if (timerfd_settime(q->hold.fd, 0, &its, NULL))
			push_responses(q);
		else
			q->hold_armed = true;
	}
}

static void on_hold(struct dev *dev, struct dev_fd *h)
{
	struct blk_queue *q = h->arg;
	uint64_t v;

	(void)dev;
	if (read(h->fd, &v, sizeof v) < 0 && errno != EAGAIN)
		log_warn("vbd timerfd: %s", strerror(errno));
	q->hold_armed = false;
	push_responses(q);
}

/* ---- connect / disconnect ------------------------------------------------------------- */

static void queue_teardown(struct dev *dev, struct blk_queue *q)
{
	dev_fd_del(dev, &q->ev);
	dev_fd_del(dev, &q->done);
	dev_fd_del(dev, &q->hold);
	if (q->uring_ok) {
		submit(q);
		/* In-flight I/O finishes and is answered: a write the guest
		 * was told about is in the target. */
		while (q->inflight) {
			struct io_uring_cqe *cqe;
			if (io_uring_wait_cqe(&q->uring, &cqe))
				break;
			reap_completions(q);
		}
		if (q->ring_pages)
			push_responses(q);
		io_uring_queue_exit(&q->uring);
		q->uring_ok = false;
	}
	if (q->port_bound)
		domain_evtchn_unbind_backend(dev->d, q->port, q->ev.fd);
	q->port_bound = false;
	if (q->ev.fd >= 0)
		close(q->ev.fd);
	if (q->done.fd >= 0)
		close(q->done.fd);
	if (q->hold.fd >= 0)
		close(q->hold.fd);
	q->ev.fd = q->done.fd = q->hold.fd = -1;
	q->hold_armed = false;
	pg_release_all(q);
	for (unsigned i = 0; i < q->ring_pages; i++)
		domain_grant_unmap(dev->d, &q->ring[i]);
	q->ring_pages = 0;
	if (q->reqs) {
		for (uint32_t i = 0; i < q->nr_slots; i++) {
			free(q->reqs[i].maps);
			free(q->reqs[i].iov);
		}
		free(q->reqs);
	}
	q->reqs = q->free = NULL;
}

static void blk_disconnect(struct dev *dev)
{
	struct blkback *bb = dev->priv;

	for (unsigned i = 0; i < bb->nr_queues; i++)
		queue_teardown(dev, &bb->q[i]);
	bb->nr_queues = 0;
	atomic_store(&bb->info_port, 0);
	atomic_store(&bb->info_ring_ref, 0);
}

static int queue_alloc(struct blk_queue *q, bool persistent)
{
	q->reqs = calloc(q->nr_slots, sizeof *q->reqs);
	if (!q->reqs)
		return -ENOMEM;
	for (uint32_t i = 0; i < q->nr_slots; i++) {
		struct blk_req *r = &q->reqs[i];
		r->maps = calloc(BLK_MAX_SEGS, sizeof *r->maps);
		r->iov = calloc(BLK_MAX_SEGS, sizeof *r->iov);
		if (!r->maps || !r->iov)
			return -ENOMEM;
		r->next_free = q->free;
		q->free = r;
	}
	if (persistent && !(q->pg = calloc(BLK_PGRANT_HASH, sizeof *q->pg)))
		return -ENOMEM;
	return 0;
}

/* Read one queue's ring references and port, map and bind them. */
static int queue_connect(struct dev *dev, struct blk_queue *q, unsigned order, bool multi,
			 char *why, size_t len)
{
	struct blkback *bb = dev->priv;
	char node[48];
	unsigned long long v;
	const char *pre = "";
	char prebuf[16];

	q->dev = dev;
	q->ev.fd = q->done.fd = q->hold.fd = -1;
	if (multi) {
		snprintf(prebuf, sizeof prebuf, "queue-%u/", q->idx);
		pre = prebuf;
	}
	q->ring_pages = 0;
	for (unsigned i = 0; i < (1u << order); i++) {
		if (order)
			snprintf(node, sizeof node, "%sring-ref%u", pre, i);
		else
			snprintf(node, sizeof node, "%sring-ref", pre);
		if (dev_fe_read_uint(dev, node, ~0ull, &v) || v > UINT32_MAX) {
			snprintf(why, len, "%s missing or not a number", node);
			return -EINVAL;
		}
		int st = domain_grant_map(dev->d, (uint32_t)v, true, &q->ring[i]);
		if (st) {
			snprintf(why, len, "ring page %s (grant %llu): %s", node, v,
				 grant_status_str(st));
			return -EINVAL;
		}
		q->ring_pages++;
		if (q->idx == 0 && i == 0)
			atomic_store(&bb->info_ring_ref, (uint32_t)v);
	}
	q->nr_slots = ring_slots(4096u << order, SLOT_SIZE);
	snprintf(node, sizeof node, "%sevent-channel", pre);
	if (dev_fe_read_uint(dev, node, ~0ull, &v) || v > UINT32_MAX) {
		snprintf(why, len, "%s missing or not a number", node);
		return -EINVAL;
	}
	q->port = (uint32_t)v;
	/* The frontend initialised the ring; our private indices start
	 * where its shared ones are (FRONT_RING_INIT sets them to 0). */
	q->req_cons = q->rsp_prod_pvt = q->rsp_pushed =
		__atomic_load_n(sring_word(q, SRING_RSP_PROD), __ATOMIC_ACQUIRE);
	if (queue_alloc(q, bb->persistent)) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	q->ev.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->done.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->hold.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	q->ev.fn = on_event;
	q->done.fn = on_done;
	q->hold.fn = on_hold;
	q->ev.arg = q->done.arg = q->hold.arg = q;
	if (q->ev.fd < 0 || q->done.fd < 0 || q->hold.fd < 0) {
		snprintf(why, len, "eventfd: %s", strerror(errno));
		return -errno;
	}
	int rc = io_uring_queue_init(q->nr_slots * 2, &q->uring, 0);
	if (rc) {
		snprintf(why, len, "io_uring: %s", strerror(-rc));
		return rc;
	}
	q->uring_ok = true;
	rc = io_uring_register_eventfd(&q->uring, q->done.fd);
	if (rc) {
		snprintf(why, len, "io_uring eventfd: %s", strerror(-rc));
		return rc;
	}
	rc = domain_evtchn_bind_backend(dev->d, q->port, q->ev.fd);
	if (rc) {
		snprintf(why, len, "%s %u is not a port left for domain 0", node, q->port);
		return rc;
	}
	q->port_bound = true;
	if (q->idx == 0)
		atomic_store(&bb->info_port, q->port);
	rc = dev_fd_add(dev, &q->ev);
	rc = rc ? rc : dev_fd_add(dev, &q->done);
	rc = rc ? rc : dev_fd_add(dev, &q->hold);
	if (rc)
		snprintf(why, len, "epoll: %s", strerror(-rc));
	return rc;
}

static int blk_connect(struct dev *dev, char *why, size_t len)
{
	struct blkback *bb = dev->priv;
	char proto[32];
	unsigned long long nq, order, persistent;
	int rc;

	if (!dev_fe_read(dev, "protocol", proto, sizeof proto) && strcmp(proto, "x86_64-abi")) {
		snprintf(why, len, "ring protocol \"%s\" is not supported (only x86_64-abi)", proto);
		return -EINVAL;
	}
	if (dev_fe_read_uint(dev, "multi-queue-num-queues", 1, &nq) || nq < 1 ||
	    nq > BLK_MAX_QUEUES) {
		snprintf(why, len, "multi-queue-num-queues must be 1-%d", BLK_MAX_QUEUES);
		return -EINVAL;
	}
	if (dev_fe_read_uint(dev, "ring-page-order", 0, &order) || order > BLK_MAX_RING_ORDER) {
		snprintf(why, len, "ring-page-order must be 0-%d", BLK_MAX_RING_ORDER);
		return -EINVAL;
	}
	if (dev_fe_read_uint(dev, "feature-persistent", 0, &persistent))
		persistent = 0;
	bb->persistent = persistent != 0;
	bb->bad = 0;
	memset(bb->q, 0, sizeof bb->q);
	bb->nr_queues = (unsigned)nq;
	for (unsigned i = 0; i < bb->nr_queues; i++) {
		bb->q[i].idx = i;
		bb->q[i].ev.fd = bb->q[i].done.fd = bb->q[i].hold.fd = -1;
	}
	for (unsigned i = 0; i < bb->nr_queues; i++) {
		rc = queue_connect(dev, &bb->q[i], (unsigned)order, nq > 1, why, len);
		if (rc) {
			blk_disconnect(dev);
			return rc;
		}
	}
	log_info("domain %u: vbd %u (%s): %u queue(s), %u-page ring(s) of %u slots%s%s",
		 dev->domid, dev->devid, bb->vdev, bb->nr_queues, 1u << order, bb->q[0].nr_slots,
		 bb->persistent ? ", persistent grants" : "",
		 bb->store.fd_direct >= 0 ? ", O_DIRECT" : "");
	/* Requests queued before we looked. */
	for (unsigned i = 0; i < bb->nr_queues; i++) {
		uint64_t one = 1;
		if (write(bb->q[i].ev.fd, &one, sizeof one) < 0 && errno != EAGAIN)
			log_warn("vbd eventfd: %s", strerror(errno));
	}
	return 0;
}

/* ---- open / close -------------------------------------------------------------------- */

static int blk_open(struct dev *dev, const void *config, char *err, size_t errlen)
{
	const struct vbd_config *cfg = config;
	struct blkback *bb = calloc(1, sizeof *bb);
	int rc;

	if (!bb) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	bb->segs = calloc(BLK_MAX_SEGS, sizeof *bb->segs);
	bb->page = malloc(4096);
	if (!bb->segs || !bb->page) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (!vbd_format_supported(cfg->format, err, errlen)) {
		rc = -ENOTSUP;
		goto fail;
	}
	snprintf(bb->target, sizeof bb->target, "%s", cfg->target);
	snprintf(bb->vdev, sizeof bb->vdev, "%s", cfg->vdev);
	bb->readonly = cfg->readonly || cfg->devtype == VBD_CDROM;
	bb->cdrom = cfg->devtype == VBD_CDROM;
	rc = blkstore_open(&bb->store, cfg->target, bb->readonly, err, errlen);
	if (rc)
		goto fail;
	bb->discard = cfg->discard != 0 && bb->store.can_discard;
	dev->priv = bb;
	unsigned info = (bb->readonly ? VDISK_READONLY : 0) | (bb->cdrom ? VDISK_CDROM : 0);
	rc = dev_be_write(dev, "feature-flush-cache", "1");
	rc = rc ? rc : dev_be_write(dev, "feature-persistent", "1");
	rc = rc ? rc : dev_be_write(dev, "feature-max-indirect-segments", "%u", BLK_MAX_INDIRECT_SEGS);
	rc = rc ? rc : dev_be_write(dev, "multi-queue-max-queues", "%u", BLK_MAX_QUEUES);
	rc = rc ? rc : dev_be_write(dev, "max-ring-page-order", "%u", BLK_MAX_RING_ORDER);
	rc = rc ? rc : dev_be_write(dev, "sectors", "%llu", (unsigned long long)bb->store.sectors);
	rc = rc ? rc : dev_be_write(dev, "info", "%u", info);
	rc = rc ? rc : dev_be_write(dev, "sector-size", "%u", bb->store.logical_block);
	rc = rc ? rc : dev_be_write(dev, "physical-sector-size", "%u", bb->store.physical_block);
	rc = rc ? rc : dev_be_write(dev, "feature-discard", "%d", bb->discard);
	if (bb->discard) {
		rc = rc ? rc : dev_be_write(dev, "discard-granularity", "%u",
					    bb->store.physical_block);
		rc = rc ? rc : dev_be_write(dev, "discard-alignment", "0");
		rc = rc ? rc : dev_be_write(dev, "discard-secure", "0");
	}
	if (rc) {
		snprintf(err, errlen, "cannot write the backend's features: %s", strerror(-rc));
		blkstore_close(&bb->store);
		dev->priv = NULL;
		goto fail;
	}
	log_info("domain %u: vbd %u (%s) on %s: %llu sectors, %s%s", dev->domid, dev->devid,
		 bb->vdev, bb->target, (unsigned long long)bb->store.sectors,
		 bb->readonly ? "read-only" : "read-write", bb->discard ? ", discard" : "");
	return 0;
fail:
	free(bb->segs);
	free(bb->page);
	free(bb);
	return rc;
}

static void blk_close(struct dev *dev)
{
	struct blkback *bb = dev->priv;

	if (!bb)
		return;
	blkstore_close(&bb->store);
	free(bb->segs);
	free(bb->page);
	free(bb);
	dev->priv = NULL;
}

static void blk_info(struct dev *dev, struct devrt_dev_info *out)
{
	struct blkback *bb = dev->priv;

	if (!bb)
		return;
	snprintf(out->vdev, sizeof out->vdev, "%s", bb->vdev);
	snprintf(out->target, sizeof out->target, "%.255s", bb->target);
	out->readonly = bb->readonly;
	out->evtchn = atomic_load(&bb->info_port);
	out->ring_ref = atomic_load(&bb->info_ring_ref);
}

const struct dev_kind vbd_kind = {
	.name = "vbd",
	.open = blk_open,
	.connect = blk_connect,
	.disconnect = blk_disconnect,
	.close = blk_close,
	.info = blk_info,
};

/* ---- attach ---------------------------------------------------------------------------- */

int devrt_vbd_add(struct devrt *rt, uint16_t domid, const struct vbd_config *cfg, char *err,
		  size_t errlen)
{
	int devid = vbd_vdev_to_devid(cfg->vdev);
	bool ro = cfg->readonly || cfg->devtype == VBD_CDROM;
	const char *devtype = cfg->devtype == VBD_CDROM ? "cdrom" : "disk";

	if (devid < 0) {
		snprintf(err, errlen, "bad virtual device name \"%s\"", cfg->vdev ? cfg->vdev : "");
		return -EINVAL;
	}
	/* The nodes libxl writes besides the common ones. */
	const char *fe[] = { "device-type", devtype, "trusted", "1", NULL };
	const char *be[] = {
		"params", cfg->target, "type", "phy", "mode", ro ? "r" : "w",
		"dev", cfg->vdev, "device-type", devtype, "removable",
		cfg->devtype == VBD_CDROM ? "1" : "0", "bootable", "1",
		"discard-enable", cfg->discard == 0 ? "0" : "1", NULL,
	};
	return devrt_dev_add(rt, domid, "vbd", (unsigned)devid, cfg, fe, be, err, errlen);
}

int devrt_disk_attach(struct devrt *rt, uint16_t domid, const char *spec, char *vdev_out,
		      size_t vdev_len, char *err, size_t errlen)
{
	struct ts_disk disk;
	char why[256];
	int rc = ts_disk_parse(&disk, spec, why, sizeof why);

	if (rc) {
		snprintf(err, errlen, "bad disk spec \"%s\": %s", spec, why);
		return rc;
	}
	if (!disk.target || !*disk.target || disk.format == TS_DISK_FORMAT_EMPTY) {
		snprintf(err, errlen, "disk %s: an empty drive (no target) is not supported",
			 disk.vdev ? disk.vdev : "?");
		rc = -ENOTSUP;
	} else if (disk.backend_domain && strcmp(disk.backend_domain, "0") &&
		   strcmp(disk.backend_domain, "Domain-0")) {
		snprintf(err, errlen, "disk %s: backend=%s: only domain 0 serves disks", disk.vdev,
			 disk.backend_domain);
		rc = -ENOTSUP;
	} else if (disk.script) {
		snprintf(err, errlen, "disk %s: script= is not supported (kxen opens the target "
			 "itself)", disk.vdev);
		rc = -ENOTSUP;
	} else {
		struct vbd_config cfg = {
			.target = disk.target, .vdev = disk.vdev, .readonly = !disk.readwrite,
			.devtype = disk.is_cdrom ? VBD_CDROM : VBD_DISK, .discard = disk.discard,
			.format = ts_disk_format_name(disk.format),
		};
		rc = devrt_vbd_add(rt, domid, &cfg, err, errlen);
		if (!rc && vdev_out)
			snprintf(vdev_out, vdev_len, "%s", disk.vdev);
	}
	ts_disk_dispose(&disk);
	return rc;
}
