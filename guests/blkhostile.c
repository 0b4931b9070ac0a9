/*
 * blkhostile: a block frontend that attacks kxen's blkback.
 *
 * Run with three disks (tests/e2e/guests.sh makes them):
 *   xvda (51712) read-write, 1 MiB, sector n starts with "A-SECTOR-<n>"
 *   xvdb (51728) read-write, sector n starts with "B-SECTOR-<n>"
 *   xvdc (51744) read-only
 * It speaks blkif itself (XenStore nodes, a granted ring, an event channel
 * for domain 0) and checks that
 *  - honest requests work (read, write, read back);
 *  - bad requests get an error and nothing else: out-of-range, foreign and
 *    ungranted grant references, oversized and malformed segments, sectors
 *    past the end, a read into a read-only grant, bad indirect requests,
 *    discards past the end, unknown operations, writes to a read-only disk;
 *  - a grant in use by a request cannot be ended (GTF_reading/writing) and
 *    revoking it during the I/O harms nothing;
 *  - another device keeps working while this one is flooded;
 *  - ring-level abuse shuts the device down with an "error" node and state
 *    Closing: garbage producer index, a stream of invalid requests that
 *    never stops, the ring page granted read-only, a port not left for
 *    domain 0, a garbage ring-ref, a 32-bit protocol; after the frontend
 *    closes, the device comes back;
 *  - the domain's other device works at the end.
 * The host checks the images afterwards: nothing outside the one sector
 * written changed, no image grew.
 */
#include "guest.h"
#include "xenbus.h"
#include <xen/io.h>

const char test_name[] = "blkhostile";

#define NSLOTS 32
#define DISK_A_SECTORS 2048u     /* 1 MiB */

static uint8_t ring_pages[3][PAGE_SIZE] PAGE_ALIGNED;
static uint8_t data[16][PAGE_SIZE] PAGE_ALIGNED;
static uint8_t ro_page[PAGE_SIZE] PAGE_ALIGNED;
static uint8_t ind_page[PAGE_SIZE] PAGE_ALIGNED;

enum { GREF_RING = 10, GREF_DATA = 20, GREF_RO = 40, GREF_FOREIGN = 41, GREF_NONE = 42,
       GREF_IND = 50 };

struct fe {
	unsigned devid, idx;
	char fe[48], be[96];
	evtchn_port_t port;
	bool port_open;
	volatile uint8_t *ring;
	uint32_t req_prod, rsp_cons;
};

static struct fe disks[3];
static uint64_t next_id = 1;

/* ---- XenStore helpers ------------------------------------------------------------ */

static void fe_write(struct fe *f, const char *node, const char *val)
{
	char path[96];
	snprintk(path, sizeof path, "%s/%s", f->fe, node);
	CHECK(xenbus_write(0, path, val) == 0, "write %s", path);
}

static long be_state(struct fe *f)
{
	char path[128], buf[16];
	unsigned long v;
	snprintk(path, sizeof path, "%s/state", f->be);
	if (xenbus_read(0, path, buf, sizeof buf) < 0 || !parse_ulong(buf, &v))
		return -1;
	return (long)v;
}

static long wait_be_state(struct fe *f, long a, long b)
{
	long s = -1;
	for (int i = 0; i < 3000; i++) {
		s = be_state(f);
		if (s == a || s == b)
			return s;
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	}
	return s;
}

static void fe_init(struct fe *f, unsigned idx, unsigned devid)
{
	char path[64];
	f->devid = devid;
	f->idx = idx;
	f->ring = ring_pages[idx];
	snprintk(f->fe, sizeof f->fe, "device/vbd/%u", devid);
	snprintk(path, sizeof path, "%s/backend", f->fe);
	CHECK(xenbus_read(0, path, f->be, sizeof f->be) > 0, "no backend for %u", devid);
	EXPECT_EQ(wait_be_state(f, XenbusStateInitWait, -2), XenbusStateInitWait);
}

/* ---- connecting --------------------------------------------------------------------- */

struct how {
	bool ro_ring, ipi_port;
	const char *ring_ref, *protocol;
};

static long fe_connect(struct fe *f, const struct how *h)
{
	char num[24];

	memset((void *)f->ring, 0, PAGE_SIZE);
	f->req_prod = f->rsp_cons = 0;
	/* FRONT_RING_INIT: ask for the first response event. */
	((volatile struct ring_sring_header *)f->ring)->rsp_event = 1;
	gnttab_grant(GREF_RING + f->idx, 0, va_to_mfn((void *)f->ring), h && h->ro_ring);
	if (h && h->ipi_port)
		EXPECT_EQ(evtchn_bind_ipi(0, &f->port), 0);
	else
		EXPECT_EQ(evtchn_alloc_unbound(0, &f->port), 0);
	f->port_open = true;
	snprintk(num, sizeof num, "%u", GREF_RING + f->idx);
	fe_write(f, "ring-ref", h && h->ring_ref ? h->ring_ref : num);
	snprintk(num, sizeof num, "%u", f->port);
	fe_write(f, "event-channel", num);
	fe_write(f, "protocol", h && h->protocol ? h->protocol : "x86_64-abi");
	fe_write(f, "state", "3");
	return wait_be_state(f, XenbusStateConnected, XenbusStateClosing);
}

/* Close as Linux does and start over: Closing, Closed (the backend
 * follows), then Initialising (the backend offers InitWait again). */
static void fe_restart(struct fe *f)
{
	fe_write(f, "state", "5");
	fe_write(f, "state", "6");
	EXPECT_EQ(wait_be_state(f, XenbusStateClosed, -2), XenbusStateClosed);
	if (f->port_open)
		evtchn_close(f->port);
	f->port_open = false;
	gnttab_revoke(GREF_RING + f->idx);
	fe_write(f, "state", "1");
	EXPECT_EQ(wait_be_state(f, XenbusStateInitWait, -2), XenbusStateInitWait);
}

/* ---- requests ------------------------------------------------------------------------ */

static volatile struct ring_sring_header *hdr(struct fe *f)
{
	return (volatile struct ring_sring_header *)f->ring;
}

static void put_req(struct fe *f, const struct blkif_request *r)
{
	memcpy((void *)(f->ring + RING_HEADER_SIZE + (f->req_prod % NSLOTS) * 112), r, sizeof *r);
	f->req_prod++;
}

static void push(struct fe *f)
{
	barrier();
	__atomic_store_n(&hdr(f)->req_prod, f->req_prod, __ATOMIC_RELEASE);
	evtchn_send(f->port);
}

/* The next response; status 99 when none comes, 98 when the backend left
 * the Connected state (it shut the device down) while we waited. */
static int get_rsp(struct fe *f, uint64_t *id)
{
	for (int i = 0; i < 200000; i++) {
		if (i % 256 == 255 && be_state(f) != XenbusStateConnected)
			return 98;
		if (__atomic_load_n(&hdr(f)->rsp_prod, __ATOMIC_ACQUIRE) != f->rsp_cons) {
			struct blkif_response r;
			memcpy(&r, (const void *)(f->ring + RING_HEADER_SIZE +
						  (f->rsp_cons % NSLOTS) * 112), sizeof r);
			f->rsp_cons++;
			hdr(f)->rsp_event = f->rsp_cons + 1;
			if (id)
				*id = r.id;
			return r.status;
		}
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	}
	return 99;
}

static struct blkif_request rw(uint8_t op, uint64_t sector, unsigned nseg, grant_ref_t gref)
{
	struct blkif_request r;
	memset(&r, 0, sizeof r);
	r.operation = op;
	r.u.rw.nr_segments = (uint8_t)nseg;
	r.u.rw.id = next_id++;
	r.u.rw.sector_number = sector;
	for (unsigned i = 0; i < nseg && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
		r.u.rw.seg[i].gref = gref + i;
		r.u.rw.seg[i].first_sect = 0;
		r.u.rw.seg[i].last_sect = 7;
	}
	return r;
}

static int one(struct fe *f, const struct blkif_request *r)
{
	uint64_t id;
	put_req(f, r);
	push(f);
	int st = get_rsp(f, &id);
	EXPECT_EQ(id, r->u.rw.id);
	return st;
}

static void grant_data(void)
{
	for (unsigned i = 0; i < 16; i++)
		gnttab_grant(GREF_DATA + i, 0, va_to_mfn(data[i]), false);
	gnttab_grant(GREF_RO, 0, va_to_mfn(ro_page), true);
	gnttab_grant(GREF_FOREIGN, 5, va_to_mfn(data[0]), false);
	gnttab_grant(GREF_IND, 0, va_to_mfn(ind_page), false);
}

static bool starts_with(const uint8_t *p, const char *s)
{
	return memcmp(p, s, strlen(s)) == 0;
}

/* ---- the attacks ------------------------------------------------------------------------ */

static void honest(struct fe *a)
{
	char want[32];
	struct blkif_request r = rw(BLKIF_OP_READ, 8, 1, GREF_DATA);
	EXPECT_EQ(one(a, &r), BLKIF_RSP_OKAY);
	CHECK(starts_with(data[0], "A-SECTOR-00000008"), "read gave \"%.17s\"", data[0]);
	memset(data[1], 0, PAGE_SIZE);
	snprintk((char *)data[1], 64, "HOSTILE-WROTE-16");
	r = rw(BLKIF_OP_WRITE, 16, 1, GREF_DATA + 1);
	r.u.rw.seg[0].last_sect = 0;          /* one sector */
	EXPECT_EQ(one(a, &r), BLKIF_RSP_OKAY);
	memset(data[2], 0, PAGE_SIZE);
	r = rw(BLKIF_OP_READ, 16, 1, GREF_DATA + 2);
	EXPECT_EQ(one(a, &r), BLKIF_RSP_OKAY);
	CHECK(starts_with(data[2], "HOSTILE-WROTE-16"), "read back \"%.16s\"", data[2]);
	CHECK(starts_with(data[2] + 512, "A-SECTOR-00000017"), "sector 17 \"%.17s\"",
	      data[2] + 512);
	snprintk(want, sizeof want, "%s", "flush");
	struct blkif_request fl = { .operation = BLKIF_OP_FLUSH_DISKCACHE };
	fl.u.other.id = next_id++;
	EXPECT_EQ(one(a, &fl), BLKIF_RSP_OKAY);
}

static void bad_requests(struct fe *a)
{
	struct blkif_request r;

	r = rw(BLKIF_OP_READ, 0, 1, 0xfffff);                  /* out of range */
	EXPECT_EQ(one(a, &r), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 1, GREF_FOREIGN);             /* granted to dom 5 */
	EXPECT_EQ(one(a, &r), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 1, GREF_NONE);                /* not granted */
	EXPECT_EQ(one(a, &r), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 11, GREF_DATA);
	r.u.rw.nr_segments = 12;                               /* oversized */
	EXPECT_EQ(one(a, &r), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 0, GREF_DATA);                /* no segments */
	EXPECT_EQ(one(a, &r), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 1, GREF_DATA);
	r.u.rw.seg[0].first_sect = 5;
	r.u.rw.seg[0].last_sect = 3;
	EXPECT_EQ(one(a, &r), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 1, GREF_DATA);
	r.u.rw.seg[0].last_sect = 8;                           /* past the frame */
	EXPECT_EQ(one(a, &r), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_WRITE, DISK_A_SECTORS - 1, 1, GREF_DATA);   /* past the end */
	EXPECT_EQ(one(a, &r), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_WRITE, 0xfffffffffffffff0ull, 1, GREF_DATA);  /* wraps */
	EXPECT_EQ(one(a, &r), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 1, GREF_RO);                  /* read into r/o grant */
	EXPECT_EQ(one(a, &r), BLKIF_RSP_ERROR);
	CHECK(!starts_with(ro_page, "A-SECTOR"), "a read-only grant was written");

	struct blkif_request ind;
	memset(&ind, 0, sizeof ind);
	ind.operation = BLKIF_OP_INDIRECT;
	ind.u.indirect.indirect_op = BLKIF_OP_READ;
	ind.u.indirect.id = next_id++;
	ind.u.indirect.nr_segments = 0;
	EXPECT_EQ(one(a, &ind), BLKIF_RSP_ERROR);
	ind.u.indirect.id = next_id++;
	ind.u.indirect.nr_segments = 300;
	EXPECT_EQ(one(a, &ind), BLKIF_RSP_ERROR);
	ind.u.indirect.id = next_id++;
	ind.u.indirect.nr_segments = 2;
	ind.u.indirect.indirect_grefs[0] = 0xfffff;            /* bad indirect page */
	EXPECT_EQ(one(a, &ind), BLKIF_RSP_ERROR);
	/* A good indirect read: 2 segments described in the indirect page. */
	struct blkif_request_segment *segs = (struct blkif_request_segment *)ind_page;
	segs[0] = (struct blkif_request_segment){ .gref = GREF_DATA + 3, .last_sect = 7 };
	segs[1] = (struct blkif_request_segment){ .gref = GREF_DATA + 4, .last_sect = 7 };
	ind.u.indirect.id = next_id++;
	ind.u.indirect.indirect_grefs[0] = GREF_IND;
	ind.u.indirect.sector_number = 64;
	EXPECT_EQ(one(a, &ind), BLKIF_RSP_OKAY);
	CHECK(starts_with(data[4], "A-SECTOR-00000072"), "indirect read \"%.17s\"", data[4]);
	/* The same with a segment past the end of the disk. */
	ind.u.indirect.id = next_id++;
	ind.u.indirect.sector_number = DISK_A_SECTORS - 8;
	EXPECT_EQ(one(a, &ind), BLKIF_RSP_ERROR);

	struct blkif_request d;
	memset(&d, 0, sizeof d);
	d.operation = BLKIF_OP_DISCARD;
	d.u.discard.id = next_id++;
	d.u.discard.sector_number = DISK_A_SECTORS - 4;
	d.u.discard.nr_sectors = 8;
	EXPECT_EQ(one(a, &d), BLKIF_RSP_ERROR);
	d.u.discard.id = next_id++;
	d.u.discard.sector_number = 8;
	d.u.discard.nr_sectors = UINT64_MAX;
	EXPECT_EQ(one(a, &d), BLKIF_RSP_ERROR);

	struct blkif_request odd;
	memset(&odd, 0, sizeof odd);
	odd.operation = 0x77;
	odd.u.other.id = next_id++;
	EXPECT_EQ(one(a, &odd), BLKIF_RSP_EOPNOTSUPP);
	EXPECT_EQ(be_state(a), XenbusStateConnected);
}

static void revoke_during_io(struct fe *a)
{
	struct blkif_request r = rw(BLKIF_OP_READ, 128, 8, GREF_DATA + 8);
	bool seen = false, ended = false;

	put_req(a, &r);
	push(a);
	for (int i = 0; i < 2000000 && !seen; i++) {
		if (gnttab_in_use(GREF_DATA + 8)) {
			seen = true;
			ended = gnttab_end(GREF_DATA + 8);
		}
		if (__atomic_load_n(&hdr(a)->rsp_prod, __ATOMIC_ACQUIRE) != a->rsp_cons)
			break;
	}
	CHECK(!ended, "ended access to a grant the backend was using");
	for (unsigned i = 0; i < 8; i++)
		gnttab_revoke(GREF_DATA + 8 + i);
	int st = get_rsp(a, NULL);
	CHECK(st == BLKIF_RSP_OKAY || st == BLKIF_RSP_ERROR, "status %d", st);
	printk("blkhostile: grant in use %sobserved, request status %d\n", seen ? "" : "not ", st);
	grant_data();
}

static void flood_and_neighbour(struct fe *a, struct fe *b)
{
	for (unsigned i = 0; i < NSLOTS; i++) {
		struct blkif_request r = rw(BLKIF_OP_READ, i * 8, 1, GREF_DATA + (i % 8));
		put_req(a, &r);
	}
	push(a);
	struct blkif_request r = rw(BLKIF_OP_READ, 24, 1, GREF_DATA + 12);
	EXPECT_EQ(one(b, &r), BLKIF_RSP_OKAY);
	CHECK(starts_with(data[12], "B-SECTOR-00000024"), "xvdb read \"%.17s\"", data[12]);
	for (unsigned i = 0; i < NSLOTS; i++)
		EXPECT_EQ(get_rsp(a, NULL), BLKIF_RSP_OKAY);
}

static void read_only_disk(struct fe *c)
{
	struct blkif_request r = rw(BLKIF_OP_WRITE, 0, 1, GREF_DATA);
	EXPECT_EQ(one(c, &r), BLKIF_RSP_ERROR);
	struct blkif_request d;
	memset(&d, 0, sizeof d);
	d.operation = BLKIF_OP_DISCARD;
	d.u.discard.id = next_id++;
	d.u.discard.nr_sectors = 8;
	CHECK(one(c, &d) != BLKIF_RSP_OKAY, "discard on a read-only disk");
	r = rw(BLKIF_OP_READ, 0, 1, GREF_DATA + 5);
	EXPECT_EQ(one(c, &r), BLKIF_RSP_OKAY);
}

static void expect_shut_down(struct fe *a, const char *what)
{
	char path[128], err[128];
	EXPECT_EQ(wait_be_state(a, XenbusStateClosing, -2), XenbusStateClosing);
	snprintk(path, sizeof path, "%s/error", a->be);
	CHECK(xenbus_read(0, path, err, sizeof err) > 0, "no error node after %s", what);
	printk("blkhostile: %s -> shut down: %s\n", what, err);
	fe_restart(a);
}

static void ring_attacks(struct fe *a)
{
	/* A producer far ahead of the consumer. */
	EXPECT_EQ(fe_connect(a, NULL), XenbusStateConnected);
	a->req_prod += 1000;
	push(a);
	expect_shut_down(a, "garbage req_prod");

	/* Invalid requests that never stop. */
	EXPECT_EQ(fe_connect(a, NULL), XenbusStateConnected);
	unsigned sent = 0;
	for (; sent < 200 && be_state(a) == XenbusStateConnected; sent++) {
		struct blkif_request odd = rw(0x55, 0, 1, GREF_DATA);
		put_req(a, &odd);
		push(a);
		get_rsp(a, NULL);
	}
	CHECK(sent < 200, "a frontend sending only garbage was never stopped");
	expect_shut_down(a, "endless invalid requests");

	struct how ro = { .ro_ring = true };
	EXPECT_EQ(fe_connect(a, &ro), XenbusStateClosing);
	expect_shut_down(a, "read-only ring page");

	struct how ipi = { .ipi_port = true };
	EXPECT_EQ(fe_connect(a, &ipi), XenbusStateClosing);
	expect_shut_down(a, "event channel not for domain 0");

	struct how ref = { .ring_ref = "12abc" };
	EXPECT_EQ(fe_connect(a, &ref), XenbusStateClosing);
	expect_shut_down(a, "garbage ring-ref");

	struct how proto = { .protocol = "x86_32-abi" };
	EXPECT_EQ(fe_connect(a, &proto), XenbusStateClosing);
	expect_shut_down(a, "32-bit protocol");
}

void test_main(void)
{
	need_shared_info();
	EXPECT_EQ(xenbus_init(), 0);
	EXPECT_EQ(gnttab_setup(1, 2), 0);
	grant_data();
	fe_init(&disks[0], 0, 51712);
	fe_init(&disks[1], 1, 51728);
	fe_init(&disks[2], 2, 51744);

	EXPECT_EQ(fe_connect(&disks[0], NULL), XenbusStateConnected);
	EXPECT_EQ(fe_connect(&disks[1], NULL), XenbusStateConnected);
	EXPECT_EQ(fe_connect(&disks[2], NULL), XenbusStateConnected);
	honest(&disks[0]);
	bad_requests(&disks[0]);
	revoke_during_io(&disks[0]);
	flood_and_neighbour(&disks[0], &disks[1]);
	read_only_disk(&disks[2]);
	fe_restart(&disks[0]);
	ring_attacks(&disks[0]);

	/* It comes back, and the other device never went. */
	EXPECT_EQ(fe_connect(&disks[0], NULL), XenbusStateConnected);
	struct blkif_request r = rw(BLKIF_OP_READ, 32, 1, GREF_DATA + 6);
	EXPECT_EQ(one(&disks[0], &r), BLKIF_RSP_OKAY);
	CHECK(starts_with(data[6], "A-SECTOR-00000032"), "after reconnect \"%.17s\"", data[6]);
	r = rw(BLKIF_OP_READ, 40, 1, GREF_DATA + 7);
	EXPECT_EQ(one(&disks[1], &r), BLKIF_RSP_OKAY);
	CHECK(starts_with(data[7], "B-SECTOR-00000040"), "xvdb at the end \"%.17s\"", data[7]);
	printk("blkhostile: survived %lu checks\n", checks_passed);
}
