/* XenStore server: the shared ring with a hostile or clumsy guest -
 * requests across the wrap, partial requests, a full response ring,
 * broken indices, malformed messages, and random bytes. */
#include "../xenstore/xs-test-guest.h"

static struct xs_store *new_store(const struct xs_quota *q)
{
	struct xs_store *st = xs_create(q);
	assert_non_null(st);
	return st;
}

static void put_hdr(struct guest *g, uint32_t type, uint32_t req_id, uint32_t len)
{
	struct xs_wire_hdr h = { .type = type, .req_id = req_id, .len = len };
	assert_int_equal(guest_push(g, &h, sizeof(h)), sizeof(h));
}

/* Reads the next message, which must be there. */
static void must_recv(struct guest *g, struct xs_wire_hdr *h, char *payload)
{
	guest_process(g);
	assert_true(guest_recv(g, h, payload));
}

static void test_request_across_wrap(void **state)
{
	struct xs_store *st = new_store(NULL);
	struct guest g;
	char out[XS_WIRE_PAYLOAD_MAX + 1];

	/* indices start just below a wrap (and near the u32 wrap) */
	guest_init_at(&g, st, 5, 0xfffffff0u - 8);
	for (int i = 0; i < 50; i++) {
		char val[32];
		snprintf(val, sizeof(val), "value-%d", i);
		assert_int_equal(g_write(&g, "k", val), 0);
		assert_int_equal(g_read(&g, "k", out), 0);
		assert_string_equal(out, val);
	}
	assert_true(g.ring->req_prod < 0x1000);   /* the u32 wrapped */
	assert_true(g.notifies > 0);
	guest_fini(&g);
	xs_destroy(st);
}

static void test_partial_request(void **state)
{
	struct xs_store *st = new_store(NULL);
	struct guest g;
	struct xs_wire_hdr h;
	char out[XS_WIRE_PAYLOAD_MAX + 1];

	guest_init(&g, st, 5);
	/* header only: consumed, nothing answered yet */
	put_hdr(&g, XS_WIRE_WRITE, 77, 7);
	guest_process(&g);
	assert_int_equal(g.ring->req_cons, 16);
	assert_false(guest_recv(&g, &h, out));
	/* half the payload */
	guest_push(&g, "a\0", 2);
	guest_process(&g);
	assert_false(guest_recv(&g, &h, out));
	guest_push(&g, "hello", 5);
	must_recv(&g, &h, out);
	assert_int_equal(h.req_id, 77);
	assert_int_equal(h.type, XS_WIRE_WRITE);
	assert_string_equal(out, "OK");
	assert_int_equal(g_read(&g, "a", out), 0);
	assert_string_equal(out, "hello");

	/* a 2 KiB request (as big as the node size quota lets a guest
	 * write) is bigger than the ring: consumed piecewise */
	char big[2 + 2048 - 16 - 8];
	memset(big, 'z', sizeof(big));
	memcpy(big, "b", 2);
	guest_send(&g, XS_WIRE_WRITE, 0, big, sizeof(big));
	guest_process(&g);
	while (!guest_recv(&g, &h, out))
		guest_process(&g);
	assert_string_equal(out, "OK");
	char *v;
	size_t len;
	assert_int_equal(xs_read(st, "/local/domain/5/b", &v, &len), 0);
	assert_int_equal(len, sizeof(big) - 2);
	free(v);
	guest_fini(&g);
	xs_destroy(st);
}

static void test_full_response_ring_queues_events(void **state)
{
	struct xs_store *st = new_store(NULL);
	struct guest g;
	char p[XS_WIRE_ABS_PATH_MAX + 1], t[512];

	guest_init(&g, st, 5);
	assert_int_equal(g_watch(&g, "w", "tok"), 0);
	g_expect_event(&g, "w", "tok");
	/* 200 events of ~30 bytes: far more than the 1 KiB ring holds */
	for (int i = 0; i < 200; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/local/domain/5/w/%d", i);
		assert_int_equal(xs_write_str(st, path, "x"), 0);
	}
	int rc = xs_conn_process(g.conn);
	assert_true(rc & XS_PROCESS_NOTIFY);
	assert_int_equal(g.ring->rsp_prod - g.ring->rsp_cons, XS_WIRE_RING_SIZE);
	assert_true(xs_conn_has_output(g.conn));
	/* nothing more fits until the guest reads */
	assert_int_equal(xs_conn_process(g.conn), 0);
	guest_drain(&g);
	for (int i = 0; i < 200; i++) {
		char want[64];
		snprintf(want, sizeof(want), "w/%d", i);
		assert_true(g_event(&g, p, t));
		assert_string_equal(p, want);
	}
	assert_false(xs_conn_has_output(g.conn));

	/* beyond max_queued_events, events are dropped and counted */
	struct xs_quota q = { .max_queued_events = 10 };
	struct xs_store *st2 = new_store(&q);
	struct guest g2;
	guest_init(&g2, st2, 5);
	assert_int_equal(g_watch(&g2, "w", "tok"), 0);
	for (int i = 0; i < 500; i++)
		assert_int_equal(xs_write_str(st2, "/local/domain/5/w", "x"), 0);
	assert_true(xs_conn_dropped_events(g2.conn) > 400);
	int got = guest_drain(&g2);
	assert_true(got >= 10 && got < 100);
	guest_fini(&g2);
	xs_destroy(st2);
	guest_fini(&g);
	xs_destroy(st);
}

static void test_backpressure_outstanding(void **state)
{
	struct xs_quota q = { .max_outstanding = 2 };
	struct xs_store *st = new_store(&q);
	struct guest g;
	struct xs_wire_hdr h;
	char out[XS_WIRE_PAYLOAD_MAX + 1];

	guest_init(&g, st, 5);
	/* fill the response ring with big replies the guest does not read */
	char val[900];
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	assert_int_equal(g_write(&g, "v", val), 0);
	for (int i = 0; i < 3; i++)
		guest_send(&g, XS_WIRE_READ, 0, "v", 2);
	guest_process(&g);
	/* 20 more small requests: only a couple get taken off the ring */
	for (int i = 0; i < 20; i++)
		guest_send(&g, XS_WIRE_READ, 0, "v", 2);
	guest_process(&g);
	uint32_t left = g.ring->req_prod - g.ring->req_cons;
	assert_true(left >= 15 * 18);
	/* once the guest reads, everything is answered in order */
	int replies = 0;
	for (int spins = 0; spins < 10000 && replies < 23; spins++) {
		guest_process(&g);
		if (guest_recv(&g, &h, out)) {
			assert_int_equal(h.type, XS_WIRE_READ);
			assert_int_equal(strlen(out), sizeof(val) - 1);
			replies++;
		}
	}
	assert_int_equal(replies, 23);
	assert_int_equal(g.ring->req_prod, g.ring->req_cons);
	guest_fini(&g);
	xs_destroy(st);
}

/* C xenstored's default: 20 replies may wait unsent before a guest's
 * further requests stay in its ring. */
static void test_default_outstanding(void **state)
{
	struct xs_store *st = new_store(NULL);
	struct guest g;
	uint8_t req[18];
	struct xs_wire_hdr h = { .type = XS_WIRE_READ, .len = 2 };
	uint32_t sent = 0;

	guest_init(&g, st, 5);
	/* READ "x" -> "ENOENT" error replies of 16 + 7 bytes the guest never
	 * reads: 44 fill the response ring, then 20 wait */
	for (int round = 0; round < 10; round++) {
		while (XS_WIRE_RING_SIZE - (g.ring->req_prod - g.ring->req_cons) >= sizeof(req)) {
			h.req_id = ++sent;
			memcpy(req, &h, sizeof(h));
			memcpy(req + sizeof(h), "x", 2);
			assert_int_equal(guest_push(&g, req, sizeof(req)), sizeof(req));
		}
		guest_process(&g);
	}
	uint32_t taken = g.ring->req_cons / sizeof(req);
	assert_int_equal(g.ring->rsp_prod - g.ring->rsp_cons, XS_WIRE_RING_SIZE);
	assert_int_equal(taken, XS_WIRE_RING_SIZE / 23 + 20);
	guest_fini(&g);
	xs_destroy(st);
}

struct notified {
	int count;
	uint32_t domids[8];
};

static void record_notify(void *opaque, uint32_t domid, uint32_t port)
{
	struct notified *n = opaque;
	assert_int_equal(port, 7);
	n->domids[n->count++] = domid;
}

static void test_poll_notifies_each_guest(void **state)
{
	struct xs_store *st = new_store(NULL);
	struct guest a, b;
	struct notified n = { 0 };

	guest_init(&a, st, 5);
	guest_init(&b, st, 6);
	const struct xs_perm hear[] = { { 0, XS_PERM_NONE }, { 5, XS_PERM_READ },
					{ 6, XS_PERM_READ } };
	assert_int_equal(xs_set_perms(st, "@releaseDomain", hear, 3), 0);
	assert_int_equal(g_watch(&a, "@releaseDomain", "r"), 0);
	assert_int_equal(g_watch(&b, "@releaseDomain", "r"), 0);
	guest_drain(&a);
	guest_drain(&b);
	assert_int_equal(xs_poll(st, record_notify, &n), 0);
	assert_int_equal(n.count, 0);
	/* an event raised elsewhere reaches both rings through xs_poll */
	static struct xs_wire_ring third;
	assert_int_equal(xs_introduce(st, 9, &third, 3, NULL), 0);
	assert_int_equal(xs_release(st, 9), 0);
	assert_int_equal(xs_poll(st, record_notify, &n), XS_PROCESS_NOTIFY);
	assert_int_equal(n.count, 2);
	assert_true(n.domids[0] != n.domids[1]);
	g_expect_event(&a, "@releaseDomain", "r");
	g_expect_event(&b, "@releaseDomain", "r");
	guest_fini(&a);
	guest_fini(&b);
	xs_destroy(st);
}

static void test_hostile_indices(void **state)
{
	struct xs_store *st = new_store(NULL);
	struct guest g, h2;
	char out[XS_WIRE_PAYLOAD_MAX + 1];

	guest_init(&g, st, 5);
	assert_int_equal(g_write(&g, "k", "v"), 0);
	/* producer claims more than a ring's worth */
	g.ring->req_prod = g.ring->req_cons + XS_WIRE_RING_SIZE + 1;
	assert_int_equal(xs_conn_process(g.conn), -EPIPE);
	assert_true(xs_conn_broken(g.conn));
	assert_int_equal(xs_conn_process(g.conn), -EPIPE);
	/* a broken guest gets no more events, and the store carries on */
	assert_int_equal(xs_write_str(st, "/local/domain/5/k", "w"), 0);
	assert_false(xs_conn_has_output(g.conn));

	/* a consumer index running ahead of what we produced */
	guest_init(&h2, st, 6);
	assert_int_equal(g_watch(&h2, "x", "t"), 0);
	g_expect_event(&h2, "x", "t");
	h2.ring->rsp_cons += 5000;
	assert_int_equal(xs_write_str(st, "/local/domain/6/x", "1"), 0);
	assert_int_equal(xs_conn_process(h2.conn), -EPIPE);
	assert_true(xs_conn_broken(h2.conn));
	/* our own indices are kept privately: scribbling on req_cons does
	 * nothing, and a consumer index that does not match what we produced
	 * is caught */
	assert_int_equal(xs_release(st, 6), 0);
	guest_fini(&h2);
	guest_init(&h2, st, 6);
	h2.ring->req_cons = 12345;      /* ours to own: ignored */
	h2.ring->rsp_prod = 999;
	h2.ring->rsp_cons = 999;        /* guest agrees with it */
	assert_int_equal(xs_conn_process(h2.conn), -EPIPE);
	(void)out;
	guest_fini(&h2);
	guest_fini(&g);
	xs_destroy(st);
}

static void expect_error(struct guest *g, const char *name)
{
	struct xs_wire_hdr h = { 0 };
	char out[XS_WIRE_PAYLOAD_MAX + 1];

	must_recv(g, &h, out);
	assert_int_equal(h.type, XS_WIRE_ERROR);
	assert_int_equal(h.len, strlen(name) + 1);
	assert_string_equal(out, name);
}

static void test_malformed_messages(void **state)
{
	struct xs_store *st = new_store(NULL);
	struct guest g;
	char out[XS_WIRE_PAYLOAD_MAX + 1];

	guest_init(&g, st, 5);
	/* unknown type: ENOSYS */
	guest_send(&g, 99, 0, "x", 2);
	expect_error(&g, "ENOSYS");
	guest_send(&g, 20, 0, "", 0);
	expect_error(&g, "ENOSYS");
	/* payloads without the NULs the type needs */
	guest_send(&g, XS_WIRE_READ, 0, "abc", 3);
	expect_error(&g, "EINVAL");
	guest_send(&g, XS_WIRE_READ, 0, "", 0);
	expect_error(&g, "EINVAL");
	guest_send(&g, XS_WIRE_READ, 0, "a\0b", 4);
	expect_error(&g, "EINVAL");
	guest_send(&g, XS_WIRE_WRITE, 0, "novalue", 7);
	expect_error(&g, "EINVAL");
	guest_send(&g, XS_WIRE_WATCH, 0, "a\0b", 3);
	expect_error(&g, "EINVAL");
	guest_send(&g, XS_WIRE_WATCH, 0, "a\0b\0c\0", 6);
	expect_error(&g, "EINVAL");
	guest_send(&g, XS_WIRE_SET_PERMS, 0, "a\0", 2);
	expect_error(&g, "EINVAL");
	guest_send(&g, XS_WIRE_TRANSACTION_START, 0, "", 0);
	expect_error(&g, "EINVAL");
	guest_send(&g, XS_WIRE_WATCH_EVENT, 0, "a\0b\0", 4);
	expect_error(&g, "EINVAL");
	guest_send(&g, XS_WIRE_DIRECTORY_PART, 0, "a\0zz\0", 5);
	expect_error(&g, "ENOENT");
	assert_int_equal(g_write(&g, "a", ""), 0);
	guest_send(&g, XS_WIRE_DIRECTORY_PART, 0, "a\0zz\0", 5);
	expect_error(&g, "EINVAL");
	/* unknown transaction id */
	guest_send(&g, XS_WIRE_READ, 4242, "a", 2);
	expect_error(&g, "ENOENT");

	/* oversized: E2BIG, its payload skipped, the next request works */
	put_hdr(&g, XS_WIRE_WRITE, 5, XS_WIRE_PAYLOAD_MAX + 100);
	expect_error(&g, "E2BIG");
	char junk[XS_WIRE_PAYLOAD_MAX + 100];
	memset(junk, 0xff, sizeof(junk));
	uint32_t sent = 0;
	while (sent < sizeof(junk)) {
		sent += guest_push(&g, junk + sent, (uint32_t)sizeof(junk) - sent);
		guest_process(&g);
	}
	assert_int_equal(g_read(&g, "a", out), 0);
	assert_false(xs_conn_broken(g.conn));
	guest_fini(&g);
	xs_destroy(st);
}

/* Random data and random index moves must never crash the server, make it
 * loop, or let it grow without bound. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

/* A message with a plausible header and random-ish payload, to get past
 * the framing and into the handlers. */
static uint32_t fuzz_message(uint8_t *buf, uint32_t cap)
{
	static const char *const words[] = { "a", "b/c", "/local/domain/5/x", "@introduceDomain",
		"T", "F", "0", "1", "r5", "n0", "..", "", "/", "device/vif/0" };
	struct xs_wire_hdr h = { .type = rnd() % 24, .req_id = rnd(),
				 .tx_id = rnd() % 4 == 0 ? rnd() % 4 : 0 };
	uint32_t len = 0;
	int nwords = (int)(rnd() % 4);

	for (int i = 0; i < nwords; i++) {
		const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
		size_t l = strlen(w) + (rnd() % 3 != 0);
		if (len + l + 16 > cap)
			break;
		memcpy(buf + 16 + len, w, l);
		len += (uint32_t)l;
	}
	h.len = len;
	memcpy(buf, &h, 16);
	return 16 + len;
}

/* XS_FUZZ_ITERS=n in the environment runs longer fuzzing by hand. */
static int fuzz_iters(void)
{
	const char *s = getenv("XS_FUZZ_ITERS");
	return s ? atoi(s) : 20000;
}

static void test_fuzz_random_ring(void **state)
{
	struct xs_quota q = { .max_nodes_per_domain = 200 };
	struct xs_store *st = new_store(&q);
	struct guest g;
	uint8_t buf[1200];

	int restarts = 0;
	uint64_t replies = 0;

	guest_init(&g, st, 5);
	for (int iter = 0; iter < fuzz_iters(); iter++) {
		uint32_t choice = rnd() % 1000;
		if (choice < 800) {
			uint32_t n = fuzz_message(buf, sizeof(buf));
			guest_push(&g, buf, n);
		} else if (choice < 830) {
			uint32_t n = rnd() % sizeof(buf);
			for (uint32_t i = 0; i < n; i++)
				buf[i] = (uint8_t)rnd();
			guest_push(&g, buf, n);
		} else if (choice < 980) {
			/* the guest reads some or all replies */
			uint64_t avail = g.ring->rsp_prod - g.ring->rsp_cons;
			g.ring->rsp_cons += (uint32_t)(rnd() % 2 ? avail : rnd() % (avail + 1));
		} else if (choice < 995) {
			/* scribbles on the indices */
			uint32_t *idx[] = { &g.ring->req_prod, &g.ring->req_cons,
					    &g.ring->rsp_cons, &g.ring->rsp_prod };
			*idx[rnd() % 4] = rnd() % 8 ? *idx[rnd() % 4] + rnd() % 64 : rnd();
		} else {
			/* the page gets overwritten wholesale */
			for (int i = 0; i < 2080; i++)
				((uint8_t *)g.ring)[i] = (uint8_t)rnd();
		}
		uint32_t before = g.ring->rsp_prod;
		xs_conn_process(g.conn);
		if (g.ring->rsp_prod - before <= XS_WIRE_RING_SIZE)
			replies += g.ring->rsp_prod - before;
		assert_true(xs_node_count(st) < 400);
		if (xs_conn_broken(g.conn)) {
			restarts++;
			/* start over with a fresh connection */
			assert_int_equal(xs_release(st, 5), 0);
			guest_fini(&g);
			guest_init_at(&g, st, 5, rnd());
		}
		/* keep the ring usable for the guest side too */
		if (g.ring->req_prod - g.ring->req_cons > XS_WIRE_RING_SIZE)
			g.ring->req_prod = g.ring->req_cons;
	}
	/* the fuzzing must actually reach the handlers */
	print_message("fuzz: %d restarts, %llu reply bytes, %zu nodes\n", restarts,
		      (unsigned long long)replies, xs_node_count(st));
	assert_true(replies > 100000);
	xs_release(st, 5);
	guest_fini(&g);
	xs_destroy(st);
}

/* Well-formed but random operations through a local (dom0) connection. */
static void test_fuzz_local_stream(void **state)
{
	struct xs_store *st = new_store(NULL);
	struct xs_conn *c = xs_local_open(st);
	uint8_t buf[1200], out[4096];

	for (int iter = 0; iter < fuzz_iters(); iter++) {
		uint32_t n = rnd() % 8 ? fuzz_message(buf, sizeof(buf)) : rnd() % 64;
		if (n < 16 && n > 0)
			for (uint32_t i = 0; i < n; i++)
				buf[i] = (uint8_t)rnd();
		if (xs_local_feed(c, buf, n) < 0)
			break;
		while (xs_local_drain(c, out, sizeof(out)) > 0)
			;
	}
	assert_true(xs_node_count(st) < 1000);
	xs_local_close(c);
	xs_destroy(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_across_wrap),
		cmocka_unit_test(test_partial_request),
		cmocka_unit_test(test_full_response_ring_queues_events),
		cmocka_unit_test(test_backpressure_outstanding),
		cmocka_unit_test(test_default_outstanding),
		cmocka_unit_test(test_poll_notifies_each_guest),
		cmocka_unit_test(test_hostile_indices),
		cmocka_unit_test(test_malformed_messages),
		cmocka_unit_test(test_fuzz_random_ring),
		cmocka_unit_test(test_fuzz_local_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
