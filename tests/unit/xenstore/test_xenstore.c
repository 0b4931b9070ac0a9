/* XenStore server: tree operations, permissions, relative paths, watches,
 * transactions, quotas, introduce/release. */
#include "xs-test-guest.h"

#include <time.h>

static struct xs_store *new_store(void)
{
	struct xs_store *st = xs_create(NULL);
	assert_non_null(st);
	return st;
}

static void check_value(struct xs_store *st, const char *path, const char *want)
{
	char *v;
	size_t len;

	assert_int_equal(xs_read(st, path, &v, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(v, want);
	free(v);
}

/* ---- tree ------------------------------------------------------------------ */

static void test_tree_write_read_rm(void **state)
{
	struct xs_store *st = new_store();
	char *v;
	size_t len;
	char **names;
	unsigned n;

	size_t base = xs_node_count(st);
	assert_int_equal(xs_write_str(st, "/a/b/c", "hello"), 0);
	check_value(st, "/a/b/c", "hello");
	check_value(st, "/a/b", "");           /* implicit parent, empty */
	assert_int_equal(xs_node_count(st), base + 3);

	/* binary values keep their length */
	assert_int_equal(xs_write(st, "/a/bin", "x\0y", 3), 0);
	assert_int_equal(xs_read(st, "/a/bin", &v, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(v, "x\0y", 3);
	free(v);

	assert_int_equal(xs_write_str(st, "/a/b/c", "again"), 0);
	check_value(st, "/a/b/c", "again");
	assert_int_equal(xs_printf(st, "/a/num", "%d", 42), 0);
	check_value(st, "/a/num", "42");

	assert_int_equal(xs_directory(st, "/a", &names, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "b");     /* sorted */
	assert_string_equal(names[1], "bin");
	assert_string_equal(names[2], "num");
	free(names);

	assert_int_equal(xs_mkdir(st, "/a/d/e"), 0);
	check_value(st, "/a/d/e", "");
	assert_int_equal(xs_mkdir(st, "/a/d/e"), 0);   /* exists: fine */

	assert_int_equal(xs_rm(st, "/a"), 0);            /* recursive */
	assert_int_equal(xs_read(st, "/a/b/c", &v, &len), -ENOENT);
	assert_int_equal(xs_read(st, "/a", &v, &len), -ENOENT);
	assert_int_equal(xs_node_count(st), base);
	assert_int_equal(xs_rm(st, "/a"), 0);        /* missing child of "/" */
	assert_int_equal(xs_rm(st, "/a/b"), -ENOENT);  /* parent missing too */
	assert_int_equal(xs_rm(st, "/"), -EINVAL);
	assert_int_equal(xs_write_str(st, "relative", "x"), -EINVAL);
	xs_destroy(st);
}

static void test_tree_perms_api(void **state)
{
	struct xs_store *st = new_store();
	struct xs_perm *p;
	unsigned n;
	const struct xs_perm set[] = { { 3, XS_PERM_NONE }, { 4, XS_PERM_READ } };

	assert_int_equal(xs_write_str(st, "/p/q", "v"), 0);
	assert_int_equal(xs_set_perms(st, "/p", set, 2), 0);
	assert_int_equal(xs_write_str(st, "/p/new", "v"), 0);
	/* a node created by dom0 inherits its parent's list unchanged */
	assert_int_equal(xs_get_perms(st, "/p/new", &p, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].domid, 3);
	assert_int_equal(p[1].domid, 4);
	assert_int_equal(p[1].perm, XS_PERM_READ);
	free(p);
	/* existing children keep theirs */
	assert_int_equal(xs_get_perms(st, "/p/q", &p, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].domid, 0);
	free(p);
	xs_destroy(st);
}

static void test_tree_10k_nodes(void **state)
{
	struct xs_store *st = new_store();
	char path[64];
	char **names;
	unsigned n;
	clock_t t0 = clock();

	for (int i = 0; i < 10000; i++) {
		snprintf(path, sizeof(path), "/flat/n%05d", i);
		assert_int_equal(xs_write_str(st, path, "v"), 0);
		snprintf(path, sizeof(path), "/deep/%d/%d/%d", i % 10, i / 10 % 10, i);
		assert_int_equal(xs_write_str(st, path, "v"), 0);
	}
	assert_int_equal(xs_directory(st, "/flat", &names, &n), 0);
	assert_int_equal(n, 10000);
	free(names);
	for (int i = 0; i < 10000; i += 2) {
		snprintf(path, sizeof(path), "/flat/n%05d", i);
		assert_int_equal(xs_rm(st, path), 0);
	}
	assert_int_equal(xs_rm(st, "/deep"), 0);
	assert_int_equal(xs_directory(st, "/flat", &names, &n), 0);
	assert_int_equal(n, 5000);
	free(names);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_true(secs < 20.0);   /* generous: valgrind */
	xs_destroy(st);
}

/* ---- guests: paths and permissions -------------------------------------- */

static void test_guest_home_and_relative_paths(void **state)
{
	struct xs_store *st = new_store();
	struct guest g;
	char out[XS_WIRE_PAYLOAD_MAX + 1];
	struct xs_perm *p;
	unsigned n;

	guest_init(&g, st, 5);
	assert_int_equal(xs_get_perms(st, "/local/domain/5", &p, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].domid, 5);
	assert_int_equal(p[0].perm, XS_PERM_NONE);
	free(p);

	/* relative paths land in the home */
	assert_int_equal(g_write(&g, "control/feature-poweroff", "1"), 0);
	check_value(st, "/local/domain/5/control/feature-poweroff", "1");
	assert_int_equal(g_read(&g, "/local/domain/5/control/feature-poweroff", out), 0);
	assert_string_equal(out, "1");

	/* the daemon fills the home after introduce; the guest can read it */
	assert_int_equal(xs_write_str(st, "/local/domain/5/memory/target", "524288"), 0);
	assert_int_equal(g_read(&g, "memory/target", out), 0);
	assert_string_equal(out, "524288");

	assert_int_equal(g_simple(&g, XS_WIRE_GET_DOMAIN_PATH, 0, "5", NULL, out), 0);
	assert_string_equal(out, "/local/domain/5");
	assert_int_equal(g_simple(&g, XS_WIRE_GET_DOMAIN_PATH, 0, "x", NULL, out), -EINVAL);

	/* directory of the home */
	uint32_t len;
	char buf[64];
	assert_int_equal(guest_call(&g, XS_WIRE_DIRECTORY, 0, buf,
				    tg_args(buf, "control", NULL), out, &len), 0);
	assert_int_equal(len, strlen("feature-poweroff") + 1);
	assert_string_equal(out, "feature-poweroff");

	/* invalid paths */
	assert_int_equal(g_write(&g, "", "x"), -EINVAL);
	assert_int_equal(g_write(&g, "a/", "x"), -EINVAL);
	assert_int_equal(g_write(&g, "a//b", "x"), -EINVAL);
	assert_int_equal(g_write(&g, "/local//x", "x"), -EINVAL);
	assert_int_equal(g_write(&g, "a b", "x"), -EINVAL);
	assert_int_equal(g_write(&g, "a.b", "x"), -EINVAL);
	char longp[XS_WIRE_REL_PATH_MAX + 2];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(g_write(&g, longp, "x"), -EINVAL);
	/* exactly at the limit, in components that fit the node size quota */
	for (size_t i = 99; i < XS_WIRE_REL_PATH_MAX; i += 100)
		longp[i] = '/';
	longp[XS_WIRE_REL_PATH_MAX] = '\0';
	assert_int_equal(g_write(&g, longp, "x"), 0);
	assert_int_equal(g_write(&g, "ok_-@9/Z", ""), 0);

	assert_int_equal(g_read(&g, "nothere", out), -ENOENT);
	assert_int_equal(g_rm(&g, "control"), 0);
	assert_int_equal(g_read(&g, "control/feature-poweroff", out), -ENOENT);
	guest_fini(&g);
	xs_destroy(st);
}

static void test_guest_permissions(void **state)
{
	struct xs_store *st = new_store();
	struct guest a, b;
	char out[XS_WIRE_PAYLOAD_MAX + 1];

	guest_init(&a, st, 5);
	guest_init(&b, st, 6);
	assert_int_equal(g_write(&b, "secret", "s"), 0);

	/* another domain's nodes: EACCES, whether or not they exist */
	assert_int_equal(g_read(&a, "/local/domain/6/secret", out), -EACCES);
	assert_int_equal(g_read(&a, "/local/domain/6/nothing", out), -EACCES);
	assert_int_equal(g_read(&a, "/local/domain/99/x", out), -EACCES);
	assert_int_equal(g_write(&a, "/local/domain/6/secret", "x"), -EACCES);
	assert_int_equal(g_write(&a, "/local/domain/6/new", "x"), -EACCES);
	assert_int_equal(g_mkdir(&a, "/local/domain/6/new"), -EACCES);
	assert_int_equal(g_rm(&a, "/local/domain/6/secret"), -EACCES);
	assert_int_equal(g_write(&a, "/toplevel", "x"), -EACCES);
	assert_int_equal(g_read(&a, "/", out), -EACCES);
	assert_int_equal(g_simple(&a, XS_WIRE_GET_PERMS, 0, "/local/domain/6/secret",
				  NULL, out), -EACCES);
	assert_int_equal(g_simple(&a, XS_WIRE_IS_DOMAIN_INTRODUCED, 0, "6", NULL, out),
			 -EACCES);
	assert_int_equal(g_simple(&a, XS_WIRE_INTRODUCE, 0, "6", NULL, out), -EACCES);

	/* dom0 grants read to domain 5 on one node */
	const struct xs_perm grant[] = { { 6, XS_PERM_NONE }, { 5, XS_PERM_READ } };
	assert_int_equal(xs_set_perms(st, "/local/domain/6/secret", grant, 2), 0);
	assert_int_equal(g_read(&a, "/local/domain/6/secret", out), 0);
	assert_string_equal(out, "s");
	assert_int_equal(g_write(&a, "/local/domain/6/secret", "x"), -EACCES);
	assert_int_equal(g_simple(&a, XS_WIRE_GET_PERMS, 0, "/local/domain/6/secret",
				  NULL, out), 0);
	assert_string_equal(out, "n6");
	assert_string_equal(out + 3, "r5");

	/* owner may change rights but not hand the node away */
	char buf[128];
	uint32_t len = tg_args(buf, "secret", "n6");
	memcpy(buf + len, "b5", 3);
	len += 3;
	assert_int_equal(guest_call(&b, XS_WIRE_SET_PERMS, 0, buf, len, NULL, NULL), 0);
	assert_int_equal(g_write(&a, "/local/domain/6/secret", "x"), 0);
	assert_int_equal(g_simple(&b, XS_WIRE_SET_PERMS, 0, "secret", "n5", NULL), -EPERM);
	assert_int_equal(g_simple(&a, XS_WIRE_SET_PERMS, 0, "/local/domain/6/secret",
				  "n5", NULL), -EACCES);
	assert_int_equal(g_simple(&b, XS_WIRE_SET_PERMS, 0, "secret", "q6", NULL), -EINVAL);
	assert_int_equal(g_simple(&b, XS_WIRE_SET_PERMS, 0, "secret", "n", NULL), -EINVAL);

	/* a node a guest creates under a writable foreign node is its own */
	assert_int_equal(g_write(&a, "/local/domain/6/secret/mine", "m"), 0);
	assert_int_equal(g_simple(&a, XS_WIRE_GET_PERMS, 0, "/local/domain/6/secret/mine",
				  NULL, out), 0);
	assert_string_equal(out, "n5");

	/* dom0 can do anything */
	check_value(st, "/local/domain/6/secret", "x");
	guest_fini(&a);
	guest_fini(&b);
	xs_destroy(st);
}

/* ---- watches ---------------------------------------------------------------- */

static void test_watch_rules(void **state)
{
	struct xs_store *st = new_store();
	struct guest g;

	guest_init(&g, st, 5);
	/* initial event, reported as registered */
	assert_int_equal(g_watch(&g, "device", "tokA"), 0);
	g_expect_event(&g, "device", "tokA");
	g_expect_no_event(&g);
	assert_int_equal(g_watch(&g, "device", "tokA"), -EEXIST);
	assert_int_equal(g_watch(&g, "/local/domain/5/control", "abs"), 0);
	g_expect_event(&g, "/local/domain/5/control", "abs");

	/* the node and its descendants; relative watch reports relative */
	assert_int_equal(g_write(&g, "device/vif/0/state", "1"), 0);
	g_expect_event(&g, "device/vif/0/state", "tokA");
	g_expect_no_event(&g);
	assert_int_equal(xs_write_str(st, "/local/domain/5/control/shutdown", "poweroff"), 0);
	g_expect_event(&g, "/local/domain/5/control/shutdown", "abs");
	g_expect_no_event(&g);
	/* siblings with a common prefix do not match */
	assert_int_equal(g_write(&g, "devices", "x"), 0);
	assert_int_equal(g_write(&g, "controlx", "x"), 0);
	g_expect_no_event(&g);

	/* removing an ancestor fires watches below it with their own path */
	assert_int_equal(g_watch(&g, "device/vif/0/state", "deep"), 0);
	g_expect_event(&g, "device/vif/0/state", "deep");
	assert_int_equal(g_rm(&g, "device/vif"), 0);
	g_expect_event(&g, "device/vif", "tokA");
	g_expect_event(&g, "device/vif/0/state", "deep");
	g_expect_no_event(&g);

	/* mkdir of an existing node changes nothing */
	assert_int_equal(g_mkdir(&g, "device"), 0);
	g_expect_no_event(&g);

	assert_int_equal(g_unwatch(&g, "device", "tokA"), 0);
	assert_int_equal(g_unwatch(&g, "device", "tokA"), -ENOENT);
	assert_int_equal(g_write(&g, "device/x", "1"), 0);
	g_expect_no_event(&g);

	/* two watches on the same path with different tokens both fire */
	assert_int_equal(g_watch(&g, "data", "t1"), 0);
	assert_int_equal(g_watch(&g, "data", "t2"), 0);
	g_expect_event(&g, "data", "t1");
	g_expect_event(&g, "data", "t2");
	assert_int_equal(g_write(&g, "data/k", "v"), 0);
	g_expect_event(&g, "data/k", "t1");
	g_expect_event(&g, "data/k", "t2");

	/* bad watch requests */
	assert_int_equal(g_simple(&g, XS_WIRE_WATCH, 0, "only-one", NULL, NULL), -EINVAL);
	assert_int_equal(g_watch(&g, "bad//path", "t"), -EINVAL);

	/* reset drops all watches */
	assert_int_equal(guest_call(&g, XS_WIRE_RESET_WATCHES, 0, "", 1, NULL, NULL), 0);
	assert_int_equal(g_write(&g, "data/k", "v2"), 0);
	g_expect_no_event(&g);
	guest_fini(&g);
	xs_destroy(st);
}

static void test_watch_respects_permissions(void **state)
{
	struct xs_store *st = new_store();
	struct guest a, b;

	guest_init(&a, st, 5);
	guest_init(&b, st, 6);
	/* a guest may watch any path, but only hears what it may read */
	assert_int_equal(g_watch(&a, "/local/domain/6", "spy"), 0);
	g_expect_event(&a, "/local/domain/6", "spy");
	assert_int_equal(g_write(&b, "private", "1"), 0);
	g_expect_no_event(&a);
	const struct xs_perm pub[] = { { 6, XS_PERM_READ } };
	assert_int_equal(g_write(&b, "public", "1"), 0);
	assert_int_equal(xs_set_perms(st, "/local/domain/6/public", pub, 1), 0);
	g_expect_event(&a, "/local/domain/6/public", "spy");
	assert_int_equal(g_write(&b, "public", "2"), 0);
	g_expect_event(&a, "/local/domain/6/public", "spy");
	g_expect_no_event(&a);
	guest_fini(&a);
	guest_fini(&b);
	xs_destroy(st);
}

static void test_introduce_release_watches(void **state)
{
	struct xs_store *st = new_store();
	struct xs_conn *tool = xs_local_open(st);
	struct guest a, b;
	char buf[256];
	uint8_t out[1024];

	assert_non_null(tool);
	guest_init(&a, st, 5);
	/* dom0 lets domain 5 hear both (see test_special_watch_permissions) */
	const struct xs_perm hear[] = { { 0, XS_PERM_NONE }, { 5, XS_PERM_READ } };
	assert_int_equal(xs_set_perms(st, "@introduceDomain", hear, 2), 0);
	assert_int_equal(xs_set_perms(st, "@releaseDomain", hear, 2), 0);
	assert_int_equal(g_watch(&a, "@introduceDomain", "intro"), 0);
	assert_int_equal(g_watch(&a, "@releaseDomain", "rel"), 0);
	g_expect_event(&a, "@introduceDomain", "intro");
	g_expect_event(&a, "@releaseDomain", "rel");

	/* a dom0 tool over a local connection */
	struct xs_wire_hdr h = { .type = XS_WIRE_WATCH, .req_id = 9,
				 .len = tg_args(buf + 16, "@releaseDomain", "t") };
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(xs_local_feed(tool, buf, 16 + h.len), 16 + h.len);
	ssize_t n = xs_local_drain(tool, out, sizeof(out));
	/* reply "OK" then the initial event */
	assert_int_equal(n, 16 + 3 + 16 + (ssize_t)h.len);
	assert_false(xs_conn_has_output(tool));

	assert_int_equal(xs_introduce(st, 5, a.ring, 1, NULL), -EEXIST);
	guest_init(&b, st, 6);
	g_expect_event(&a, "@introduceDomain", "intro");
	g_expect_no_event(&a);
	assert_int_equal(xs_write_str(st, "/local/domain/6/name", "b"), 0);
	assert_ptr_equal(xs_domain_conn(st, 6), b.conn);

	assert_int_equal(xs_release(st, 6), 0);
	g_expect_event(&a, "@releaseDomain", "rel");
	g_expect_no_event(&a);
	assert_null(xs_domain_conn(st, 6));
	assert_int_equal(xs_release(st, 6), -ENOENT);
	char *v;
	assert_int_equal(xs_read(st, "/local/domain/6", &v, NULL), -ENOENT);
	assert_true(xs_conn_has_output(tool));
	n = xs_local_drain(tool, out, sizeof(out));
	memcpy(&h, out, sizeof(h));
	assert_int_equal(h.type, XS_WIRE_WATCH_EVENT);
	assert_string_equal((char *)out + 16, "@releaseDomain");

	/* IS_DOMAIN_INTRODUCED from the tool */
	h = (struct xs_wire_hdr){ .type = XS_WIRE_IS_DOMAIN_INTRODUCED, .req_id = 10,
				  .len = 2 };
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + 16, "5", 2);
	xs_local_feed(tool, buf, 18);
	n = xs_local_drain(tool, out, sizeof(out));
	assert_int_equal(n, 18);
	assert_string_equal((char *)out + 16, "T");

	guest_fini(&b);
	xs_local_close(tool);
	xs_release(st, 5);
	guest_fini(&a);
	xs_destroy(st);
}

/* ---- in-process watches -------------------------------------------------------- */

struct cb_log {
	int calls;
	char last_path[256];
	char last_token[64];
	struct xs_store *st;
};

static void cb_record(void *opaque, const char *path, const char *token)
{
	struct cb_log *log = opaque;
	log->calls++;
	snprintf(log->last_path, sizeof(log->last_path), "%s", path);
	snprintf(log->last_token, sizeof(log->last_token), "%s", token);
}

/* A backend reacting to the frontend: writes its own state (re-entering
 * the store from a callback). */
static void cb_backend(void *opaque, const char *path, const char *token)
{
	struct cb_log *log = opaque;
	log->calls++;
	xs_write_str(log->st, "/local/domain/0/backend/vif/5/0/state", "4");
}

static void test_in_process_watches(void **state)
{
	struct xs_store *st = new_store();
	struct cb_log a = { .st = st }, b = { .st = st };
	struct guest g;

	guest_init(&g, st, 5);
	assert_int_equal(xs_watch(st, "/local/domain/5/device", "fe", cb_record, &a), 0);
	assert_int_equal(xs_watch(st, "/local/domain/5/device/vif/0/state", "be",
				  cb_backend, &b), 0);
	assert_int_equal(xs_watch(st, "rel", "x", cb_record, &a), -EINVAL);
	assert_int_equal(xs_dispatch_watches(st), 2);       /* initial events */
	assert_int_equal(a.calls, 1);
	assert_string_equal(a.last_path, "/local/domain/5/device");

	/* nothing runs until dispatch */
	assert_int_equal(g_write(&g, "device/vif/0/state", "1"), 0);
	assert_int_equal(a.calls, 1);
	assert_int_equal(xs_dispatch_watches(st), 2);
	assert_int_equal(a.calls, 2);
	assert_string_equal(a.last_path, "/local/domain/5/device/vif/0/state");
	assert_string_equal(a.last_token, "fe");
	assert_int_equal(b.calls, 2);
	check_value(st, "/local/domain/0/backend/vif/5/0/state", "4");

	assert_int_equal(xs_unwatch(st, "/local/domain/5/device", "fe"), 0);
	assert_int_equal(xs_unwatch(st, "/local/domain/5/device", "fe"), -ENOENT);
	assert_int_equal(g_write(&g, "device/vif/0/state", "2"), 0);
	assert_int_equal(xs_dispatch_watches(st), 1);
	assert_int_equal(a.calls, 2);

	/* @releaseDomain, and events queued for a watch removed meanwhile */
	assert_int_equal(xs_watch(st, "@releaseDomain", "rel", cb_record, &a), 0);
	assert_int_equal(xs_dispatch_watches(st), 1);
	assert_int_equal(xs_release(st, 5), 0);
	assert_int_equal(xs_unwatch(st, "/local/domain/5/device/vif/0/state", "be"), 0);
	assert_int_equal(xs_dispatch_watches(st), 1);
	assert_string_equal(a.last_path, "@releaseDomain");
	guest_fini(&g);
	xs_destroy(st);
}

/* ---- transactions ------------------------------------------------------------ */

static void test_tx_commit_and_isolation(void **state)
{
	struct xs_store *st = new_store();
	struct guest g;
	char out[XS_WIRE_PAYLOAD_MAX + 1];
	uint32_t t;

	guest_init(&g, st, 5);
	assert_int_equal(g_write(&g, "k", "old"), 0);
	assert_int_equal(g_watch(&g, "k", "w"), 0);
	g_expect_event(&g, "k", "w");

	assert_int_equal(g_tx_start(&g, &t), 0);
	assert_true(t != 0);
	assert_int_equal(g_write_tx(&g, t, "k", "new"), 0);
	assert_int_equal(g_write_tx(&g, t, "k/sub", "s"), 0);
	assert_int_equal(g_read_tx(&g, t, "k", out), 0);
	assert_string_equal(out, "new");
	/* outside the transaction nothing changed, and no event yet */
	assert_int_equal(g_read(&g, "k", out), 0);
	assert_string_equal(out, "old");
	assert_int_equal(g_read(&g, "k/sub", out), -ENOENT);
	g_expect_no_event(&g);

	assert_int_equal(g_tx_end(&g, t, true), 0);
	assert_int_equal(g_read(&g, "k", out), 0);
	assert_string_equal(out, "new");
	assert_int_equal(g_read(&g, "k/sub", out), 0);
	/* events on commit, once per changed node */
	int seen = 0;
	char p[4096], tok[512];
	guest_drain(&g);
	while (g_event(&g, p, tok)) {
		assert_string_equal(tok, "w");
		assert_true(strcmp(p, "k") == 0 || strcmp(p, "k/sub") == 0);
		seen++;
	}
	assert_int_equal(seen, 2);
	assert_int_equal(g_tx_end(&g, t, true), -ENOENT);   /* gone */
	assert_int_equal(g_read_tx(&g, t, "k", out), -ENOENT);
	assert_int_equal(g_tx_end(&g, 0, true), -ENOENT);
	guest_fini(&g);
	xs_destroy(st);
}

static void test_tx_conflict_and_abort(void **state)
{
	struct xs_store *st = new_store();
	struct guest g;
	char out[XS_WIRE_PAYLOAD_MAX + 1];
	uint32_t t, t2;

	guest_init(&g, st, 5);
	assert_int_equal(g_write(&g, "a", "1"), 0);

	/* something the transaction read changes: EAGAIN, nothing applied */
	assert_int_equal(g_tx_start(&g, &t), 0);
	assert_int_equal(g_read_tx(&g, t, "a", out), 0);
	assert_int_equal(g_write_tx(&g, t, "b", "tx"), 0);
	assert_int_equal(xs_write_str(st, "/local/domain/5/a", "2"), 0);
	assert_int_equal(g_tx_end(&g, t, true), -EAGAIN);
	assert_int_equal(g_read(&g, "b", out), -ENOENT);

	/* a node the transaction saw as missing appears: conflict too */
	assert_int_equal(g_tx_start(&g, &t), 0);
	assert_int_equal(g_read_tx(&g, t, "c", out), -ENOENT);
	assert_int_equal(xs_write_str(st, "/local/domain/5/c", "x"), 0);
	assert_int_equal(g_tx_end(&g, t, true), -EAGAIN);

	/* two transactions writing the same node: the second loses */
	assert_int_equal(g_tx_start(&g, &t), 0);
	assert_int_equal(g_tx_start(&g, &t2), 0);
	assert_true(t != t2);
	assert_int_equal(g_write_tx(&g, t, "a", "t1"), 0);
	assert_int_equal(g_write_tx(&g, t2, "a", "t2"), 0);
	assert_int_equal(g_tx_end(&g, t, true), 0);
	assert_int_equal(g_tx_end(&g, t2, true), -EAGAIN);
	assert_int_equal(g_read(&g, "a", out), 0);
	assert_string_equal(out, "t1");

	/* unrelated changes do not conflict */
	assert_int_equal(g_tx_start(&g, &t), 0);
	assert_int_equal(g_write_tx(&g, t, "x/y", "1"), 0);
	assert_int_equal(xs_write_str(st, "/elsewhere", "z"), 0);
	assert_int_equal(g_tx_end(&g, t, true), 0);

	/* abort */
	assert_int_equal(g_tx_start(&g, &t), 0);
	assert_int_equal(g_write_tx(&g, t, "a", "aborted"), 0);
	assert_int_equal(g_simple(&g, XS_WIRE_RM, t, "x", NULL, NULL), 0);
	assert_int_equal(g_read_tx(&g, t, "x/y", out), -ENOENT);
	assert_int_equal(g_tx_end(&g, t, false), 0);
	assert_int_equal(g_read(&g, "a", out), 0);
	assert_string_equal(out, "t1");
	assert_int_equal(g_read(&g, "x/y", out), 0);

	/* rm of a subtree inside a transaction, committed */
	assert_int_equal(g_watch(&g, "x/y", "deep"), 0);
	g_expect_event(&g, "x/y", "deep");
	assert_int_equal(g_tx_start(&g, &t), 0);
	assert_int_equal(g_simple(&g, XS_WIRE_RM, t, "x", NULL, NULL), 0);
	g_expect_no_event(&g);
	assert_int_equal(g_tx_end(&g, t, true), 0);
	g_expect_event(&g, "x/y", "deep");
	assert_int_equal(g_read(&g, "x", out), -ENOENT);

	/* bad end arguments, nesting */
	assert_int_equal(g_tx_start(&g, &t), 0);
	assert_int_equal(g_simple(&g, XS_WIRE_TRANSACTION_END, t, "X", NULL, NULL), -EINVAL);
	assert_int_equal(guest_call(&g, XS_WIRE_TRANSACTION_START, t, "", 1, NULL, NULL),
			 -EBUSY);
	assert_int_equal(g_tx_end(&g, t, false), 0);
	guest_fini(&g);
	xs_destroy(st);
}

static void test_tx_quota_and_release(void **state)
{
	struct xs_store *st = new_store();
	struct guest g;
	uint32_t t;

	guest_init(&g, st, 5);
	for (int i = 0; i < 10; i++)
		assert_int_equal(g_tx_start(&g, &t), 0);
	assert_int_equal(g_tx_start(&g, &t), -ENOSPC);
	assert_int_equal(g_write_tx(&g, t, "q", "1"), 0);
	/* releasing the domain frees its open transactions (ASan checks) */
	assert_int_equal(xs_release(st, 5), 0);
	guest_fini(&g);
	xs_destroy(st);
}

/* ---- quotas --------------------------------------------------------------------- */

static void test_quotas(void **state)
{
	struct xs_quota q = { .max_nodes_per_domain = 20, .max_watches = 3,
			      .max_node_size = 100 };
	struct xs_store *st = xs_create(&q);
	struct guest g;
	char path[64], big[200];

	assert_non_null(st);
	guest_init(&g, st, 5);
	int made = 0, rc = 0;
	for (int i = 0; i < 100 && !rc; i++) {
		snprintf(path, sizeof(path), "n%d", i);
		rc = g_write(&g, path, "v");
		made += rc == 0;
	}
	assert_int_equal(rc, -ENOSPC);
	assert_true(made >= 18 && made <= 20);
	/* overwriting existing nodes still works; deleting frees quota */
	assert_int_equal(g_write(&g, "n0", "w"), 0);
	assert_int_equal(g_rm(&g, "n0"), 0);
	assert_int_equal(g_write(&g, "again", "v"), 0);
	/* implicit parents count too */
	assert_int_equal(g_write(&g, "a/b/c/d/e", "v"), -ENOSPC);
	/* dom0 is not limited, even in the guest's home */
	for (int i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "/local/domain/5/dom0/%d", i);
		assert_int_equal(xs_write_str(st, path, "v"), 0);
	}

	/* node size: 16-byte header + 8 per permission + the value */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(g_write(&g, "n1", big), -ENOSPC);
	big[100 - 16 - 8 + 1] = '\0';
	assert_int_equal(g_write(&g, "n1", big), -ENOSPC);
	big[100 - 16 - 8] = '\0';
	assert_int_equal(g_write(&g, "n1", big), 0);

	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "w%d", i);
		assert_int_equal(g_watch(&g, path, "t"), 0);
	}
	assert_int_equal(g_watch(&g, "w9", "t"), -E2BIG);
	assert_int_equal(g_unwatch(&g, "w0", "t"), 0);
	assert_int_equal(g_watch(&g, "w9", "t"), 0);
	guest_fini(&g);
	xs_destroy(st);
}

/* The quotas of C xenstored, with their default values. */
static void test_default_limits(void **state)
{
	struct xs_store *st = new_store();
	struct guest g;
	char val[4100], out[XS_WIRE_PAYLOAD_MAX + 1];

	guest_init(&g, st, 5);
	/* node size 2048: a node with one permission holds 2024 bytes */
	memset(val, 'v', sizeof(val));
	val[2025] = '\0';
	assert_int_equal(g_write(&g, "big", val), -ENOSPC);
	val[2024] = '\0';
	assert_int_equal(g_write(&g, "big", val), 0);
	assert_int_equal(g_read(&g, "big", out), 0);
	assert_int_equal(strlen(out), 2024);
	/* one more permission no longer fits ... */
	char buf[256];
	uint32_t len = tg_args(buf, "big", "n5");
	memcpy(buf + len, "r0", 3);
	len += 3;
	assert_int_equal(guest_call(&g, XS_WIRE_SET_PERMS, 0, buf, len, NULL, NULL), -ENOSPC);
	/* ... and neither does a child: the parent grows by its name */
	assert_int_equal(g_write(&g, "big/c", "x"), -ENOSPC);
	/* dom0 is not bound by it */
	val[4000] = '\0';
	assert_int_equal(xs_write_str(st, "/local/domain/5/big", val), 0);

	/* 5 permissions besides the owner's */
	assert_int_equal(g_write(&g, "p", "1"), 0);
	len = tg_args(buf, "p", "n5");
	for (int i = 0; i < 5; i++)
		len += (uint32_t)snprintf(buf + len, sizeof(buf) - len, "r%d", 10 + i) + 1;
	assert_int_equal(guest_call(&g, XS_WIRE_SET_PERMS, 0, buf, len, NULL, NULL), 0);
	len += (uint32_t)snprintf(buf + len, sizeof(buf) - len, "r20") + 1;
	assert_int_equal(guest_call(&g, XS_WIRE_SET_PERMS, 0, buf, len, NULL, NULL), -ENOSPC);
	assert_int_equal(g_simple(&g, XS_WIRE_GET_PERMS, 0, "p", NULL, out), 0);

	/* 1000 nodes, counting the home the guest owns here (in directories
	 * of 100: a node's child list counts towards its size too) */
	int rc = 0;
	for (int i = 0; i < 1100 && !rc; i++) {
		char path[32];
		snprintf(path, sizeof(path), "n%d/%d", i / 100, i % 100);
		rc = g_write(&g, path, "");
	}
	assert_int_equal(rc, -ENOSPC);
	uint32_t nodes;
	uint64_t mem;
	xs_domain_usage(st, 5, &nodes, &mem);
	assert_int_equal(nodes, 1000);
	guest_fini(&g);
	xs_destroy(st);
}

/* Ten transactions used to commit ten quotas' worth of nodes: each was
 * only checked against the store as it was when it started. */
static void test_tx_commit_enforces_node_quota(void **state)
{
	struct xs_quota q = { .max_nodes_per_domain = 25 };
	struct xs_store *st = xs_create(&q);
	struct guest g;
	uint32_t t[5], nodes;
	uint64_t mem;
	char path[32], out[64];

	assert_non_null(st);
	guest_init(&g, st, 5);
	/* home + t0..t4: 6 nodes; each transaction adds 8 below its own
	 * directory, so they do not conflict with each other */
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "t%d", i);
		assert_int_equal(g_mkdir(&g, path), 0);
	}
	for (int i = 0; i < 5; i++) {
		assert_int_equal(g_tx_start(&g, &t[i]), 0);
		for (int j = 0; j < 8; j++) {
			snprintf(path, sizeof(path), "t%d/%d", i, j);
			assert_int_equal(g_write_tx(&g, t[i], path, "v"), 0);
		}
	}
	/* 14, 22, then 30 would be over 25 */
	assert_int_equal(g_tx_end(&g, t[0], true), 0);
	assert_int_equal(g_tx_end(&g, t[1], true), 0);
	assert_int_equal(g_tx_end(&g, t[2], true), -ENOSPC);
	assert_int_equal(g_tx_end(&g, t[3], true), -ENOSPC);
	/* an aborted one needs no room */
	assert_int_equal(g_tx_end(&g, t[4], false), 0);
	xs_domain_usage(st, 5, &nodes, &mem);
	assert_int_equal(nodes, 22);
	assert_int_equal(g_read(&g, "t2/0", out), -ENOENT);

	/* at the limit, a transaction that frees as much as it makes commits */
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "l%d", i);
		assert_int_equal(g_write(&g, path, "v"), 0);
	}
	assert_int_equal(g_write(&g, "one-more", "v"), -ENOSPC);
	uint32_t t2;
	assert_int_equal(g_tx_start(&g, &t2), 0);
	assert_int_equal(g_simple(&g, XS_WIRE_RM, t2, "t1", NULL, NULL), 0);
	for (int j = 0; j < 8; j++) {
		snprintf(path, sizeof(path), "u/%d", j);
		assert_int_equal(g_write_tx(&g, t2, path, "v"), 0);
	}
	assert_int_equal(g_tx_end(&g, t2, true), 0);
	xs_domain_usage(st, 5, &nodes, &mem);
	assert_int_equal(nodes, 25);
	guest_fini(&g);
	xs_destroy(st);
}

/* Memory: nodes with their paths, open transactions, watches, output. */
static void test_memory_quota(void **state)
{
	struct xs_quota q = { .max_memory = 16384 };
	struct xs_store *st = xs_create(&q);
	struct guest g;
	char val[1025], path[32];
	uint32_t nodes, t;
	uint64_t mem, base;

	assert_non_null(st);
	memset(val, 'm', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	guest_init(&g, st, 5);
	xs_domain_usage(st, 5, &nodes, &base);
	assert_true(base > 0);       /* the home it owns */
	int rc = 0, made = 0;
	for (int i = 0; i < 40 && !rc; i++) {
		snprintf(path, sizeof(path), "m%d", i);
		rc = g_write(&g, path, val);
		made += rc == 0;
	}
	assert_int_equal(rc, -ENOMEM);
	assert_true(made >= 10 && made < 16);
	xs_domain_usage(st, 5, &nodes, &mem);
	assert_true(mem <= 16384);
	/* watches and transactions cannot get round it */
	assert_int_equal(g_watch(&g, val, "tok"), -ENOMEM);
	assert_int_equal(g_tx_start(&g, &t), 0);
	rc = 0;
	for (int i = 0; i < 40 && !rc; i++) {
		snprintf(path, sizeof(path), "m%d", i);
		rc = g_read_tx(&g, t, path, val);
	}
	assert_int_equal(rc, -ENOMEM);
	assert_int_equal(g_tx_end(&g, t, false), 0);
	/* freeing makes room again; the charges all go away */
	for (int i = 0; i < made; i++) {
		snprintf(path, sizeof(path), "m%d", i);
		assert_int_equal(g_rm(&g, path), 0);
	}
	xs_domain_usage(st, 5, &nodes, &mem);
	assert_int_equal(mem, base);
	memset(val, 'm', sizeof(val) - 1);
	assert_int_equal(g_write(&g, "again", val), 0);
	assert_int_equal(xs_release(st, 5), 0);
	xs_domain_usage(st, 5, &nodes, &mem);
	assert_int_equal(nodes, 0);
	assert_int_equal(mem, 0);
	guest_fini(&g);
	xs_destroy(st);
}

/* @introduceDomain and @releaseDomain tell of other domains: a guest only
 * hears them if dom0 grants it read access (as C xenstored decides). */
static void test_special_watch_permissions(void **state)
{
	struct xs_store *st = new_store();
	struct guest a, b, c;
	char out[64];
	struct xs_perm *p;
	unsigned n;

	guest_init(&a, st, 5);
	assert_int_equal(g_watch(&a, "@releaseDomain", "rel"), 0);
	assert_int_equal(g_watch(&a, "@introduceDomain", "intro"), 0);
	g_expect_event(&a, "@releaseDomain", "rel");       /* the initial one */
	g_expect_event(&a, "@introduceDomain", "intro");
	guest_init(&b, st, 6);
	assert_int_equal(xs_release(st, 6), 0);
	g_expect_no_event(&a);
	/* a guest may neither read nor change their permissions */
	assert_int_equal(g_simple(&a, XS_WIRE_GET_PERMS, 0, "@releaseDomain", NULL, out),
			 -EACCES);
	assert_int_equal(g_simple(&a, XS_WIRE_SET_PERMS, 0, "@releaseDomain", "r5", NULL),
			 -EACCES);
	assert_int_equal(g_simple(&a, XS_WIRE_GET_PERMS, 0, "@nothing", NULL, out), -ENOENT);

	/* dom0 lets domain 5 hear @releaseDomain only */
	const struct xs_perm rel[] = { { 0, XS_PERM_NONE }, { 5, XS_PERM_READ } };
	assert_int_equal(xs_set_perms(st, "@releaseDomain", rel, 2), 0);
	assert_int_equal(xs_get_perms(st, "@releaseDomain", &p, &n), 0);
	assert_int_equal(n, 2);
	free(p);
	assert_int_equal(g_simple(&a, XS_WIRE_GET_PERMS, 0, "@releaseDomain", NULL, out), 0);
	assert_string_equal(out, "n0");
	guest_init(&c, st, 7);
	g_expect_no_event(&a);
	assert_int_equal(xs_release(st, 7), 0);
	g_expect_event(&a, "@releaseDomain", "rel");
	g_expect_no_event(&a);
	guest_fini(&a);
	guest_fini(&b);
	guest_fini(&c);
	xs_destroy(st);
}

static void expect_perms(struct xs_store *st, const char *path, const char *want)
{
	struct xs_perm *p;
	unsigned n;
	char got[64], *o = got;
	static const char letters[] = "nrwb";

	assert_int_equal(xs_get_perms(st, path, &p, &n), 0);
	for (unsigned i = 0; i < n; i++)
		o += sprintf(o, "%s%c%u", i ? " " : "", letters[p[i].perm & 3], p[i].domid);
	free(p);
	if (strcmp(got, want))
		fail_msg("%s: perms %s, expected %s", path, got, want);
}

/* The toolstack's layout (libxl's): read-only home and toolstack nodes,
 * the guest's own places, introduce keeping it. */
static void test_home_layout(void **state)
{
	struct xs_store *st = new_store();
	struct guest g;
	char out[XS_WIRE_PAYLOAD_MAX + 1];
	const struct xs_home home = {
		.domid = 5, .name = "vm", .target_kib = 524288, .static_max_kib = 1048576,
		.vcpus = 1, .max_vcpus = 2, .store_port = 1, .console_port = 2,
	};

	/* an earlier domain 5 left a node it owned: it must not survive */
	assert_int_equal(xs_write_str(st, "/local/domain/5/leftover", "x"), 0);
	assert_int_equal(xs_home_create(st, &home), 0);
	char *v;
	assert_int_equal(xs_read(st, "/local/domain/5/leftover", &v, NULL), -ENOENT);
	guest_init(&g, st, 5);
	expect_perms(st, "/local/domain/5", "n0 r5");
	expect_perms(st, "/local/domain/5/name", "n0 r5");
	expect_perms(st, "/local/domain/5/memory/target", "n0 r5");
	expect_perms(st, "/local/domain/5/control", "n0 r5");
	expect_perms(st, "/local/domain/5/control/shutdown", "n5");
	expect_perms(st, "/local/domain/5/data", "n5");
	expect_perms(st, "/local/domain/5/device/suspend/event-channel", "n5");
	expect_perms(st, "/local/domain/5/console", "n5 r0");
	check_value(st, "/local/domain/5/name", "vm");
	check_value(st, "/local/domain/5/domid", "5");
	check_value(st, "/local/domain/5/memory/static-max", "1048576");
	check_value(st, "/local/domain/5/cpu/0/availability", "online");
	check_value(st, "/local/domain/5/cpu/1/availability", "offline");
	check_value(st, "/local/domain/5/store/port", "1");
	check_value(st, "/local/domain/5/console/port", "2");

	assert_int_equal(g_read(&g, "memory/target", out), 0);
	assert_string_equal(out, "524288");
	assert_int_equal(g_write(&g, "memory/target", "1"), -EACCES);
	assert_int_equal(g_write(&g, "name", "Domain-0"), -EACCES);
	assert_int_equal(g_rm(&g, "domid"), -EACCES);
	assert_int_equal(g_write(&g, "newnode", "x"), -EACCES);
	assert_int_equal(g_simple(&g, XS_WIRE_SET_PERMS, 0, "name", "b5", NULL), -EACCES);
	assert_int_equal(g_write(&g, "control/feature-halt", "1"), -EACCES);
	assert_int_equal(g_write(&g, "control/feature-poweroff", "1"), 0);
	assert_int_equal(g_write(&g, "control/shutdown", ""), 0);
	assert_int_equal(g_write(&g, "data/a/b", "x"), 0);
	assert_int_equal(g_rm(&g, "data/a"), 0);
	check_value(st, "/local/domain/5/name", "vm");
	/* dom0 still writes where the guest may not, and the guest hears it */
	assert_int_equal(g_watch(&g, "control/shutdown", "sd"), 0);
	g_expect_event(&g, "control/shutdown", "sd");
	assert_int_equal(xs_write_str(st, "/local/domain/5/control/shutdown", "poweroff"), 0);
	g_expect_event(&g, "control/shutdown", "sd");
	expect_perms(st, "/local/domain/5/control/shutdown", "n5");
	assert_int_equal(xs_release(st, 5), 0);
	assert_int_equal(xs_read(st, "/local/domain/5", &v, NULL), -ENOENT);
	assert_int_equal(xs_home_create(st, &(struct xs_home){ .domid = 0, .name = "x" }),
			 -EINVAL);
	guest_fini(&g);
	xs_destroy(st);
}

/* Nothing of a domain outlives it: a new domain that gets the same id
 * (ids wrap) must not inherit its nodes or the rights given to it. */
static void test_release_forgets_domain(void **state)
{
	struct xs_store *st = new_store();
	struct guest g, g2;
	char out[64];
	uint32_t nodes;
	uint64_t mem;

	assert_int_equal(xs_write_str(st, "/shared", ""), 0);
	assert_int_equal(xs_write_str(st, "/secret", "s"), 0);
	const struct xs_perm w[] = { { 0, XS_PERM_NONE }, { 5, XS_PERM_WRITE } };
	const struct xs_perm r[] = { { 0, XS_PERM_NONE }, { 5, XS_PERM_READ },
				     { 6, XS_PERM_READ } };
	assert_int_equal(xs_set_perms(st, "/shared", w, 2), 0);
	assert_int_equal(xs_set_perms(st, "/secret", r, 3), 0);
	assert_int_equal(xs_set_perms(st, "@releaseDomain", r, 3), 0);
	guest_init(&g, st, 5);
	assert_int_equal(g_write(&g, "/shared/mine/deep", "m"), 0);
	assert_int_equal(g_read(&g, "/secret", out), 0);
	assert_int_equal(xs_release(st, 5), 0);
	char *v;
	assert_int_equal(xs_read(st, "/shared/mine", &v, NULL), -ENOENT);
	xs_domain_usage(st, 5, &nodes, &mem);
	assert_int_equal(nodes, 0);
	struct xs_perm *p;
	unsigned n;
	assert_int_equal(xs_get_perms(st, "/secret", &p, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(p[1].domid, 6);        /* the others' rights stay */
	free(p);
	assert_int_equal(xs_get_perms(st, "@releaseDomain", &p, &n), 0);
	assert_int_equal(n, 2);
	free(p);

	/* a new domain 5 */
	guest_init(&g2, st, 5);
	assert_int_equal(g_read(&g2, "/secret", out), -EACCES);
	assert_int_equal(g_write(&g2, "/shared/x", "x"), -EACCES);
	guest_fini(&g);
	guest_fini(&g2);
	xs_destroy(st);
}

static void test_directory_part(void **state)
{
	struct xs_store *st = new_store();
	struct guest g;
	char out[XS_WIRE_PAYLOAD_MAX + 1], path[64], buf[64];
	uint32_t len;

	guest_init(&g, st, 5);
	for (int i = 0; i < 600; i++) {
		snprintf(path, sizeof(path), "/local/domain/5/many/child%04d", i);
		assert_int_equal(xs_write_str(st, path, ""), 0);
	}
	/* 600 * 10 bytes: too big for one DIRECTORY reply */
	assert_int_equal(guest_call(&g, XS_WIRE_DIRECTORY, 0, buf,
				    tg_args(buf, "many", NULL), out, &len), -E2BIG);
	int total = 0;
	unsigned off = 0;
	for (int rounds = 0; rounds < 10; rounds++) {
		char offs[16];
		snprintf(offs, sizeof(offs), "%u", off);
		assert_int_equal(guest_call(&g, XS_WIRE_DIRECTORY_PART, 0, buf,
					    tg_args(buf, "many", offs), out, &len), 0);
		size_t gl = strlen(out) + 1;
		uint32_t pos = (uint32_t)gl;
		while (pos < len && out[pos]) {
			char want[16];
			snprintf(want, sizeof(want), "child%04d", total);
			assert_string_equal(out + pos, want);
			total++;
			off += (unsigned)strlen(out + pos) + 1;
			pos += (uint32_t)strlen(out + pos) + 1;
		}
		if (pos < len)      /* the extra NUL: finished */
			break;
	}
	assert_int_equal(total, 600);
	guest_fini(&g);
	xs_destroy(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_write_read_rm),
		cmocka_unit_test(test_tree_perms_api),
		cmocka_unit_test(test_tree_10k_nodes),
		cmocka_unit_test(test_guest_home_and_relative_paths),
		cmocka_unit_test(test_guest_permissions),
		cmocka_unit_test(test_watch_rules),
		cmocka_unit_test(test_watch_respects_permissions),
		cmocka_unit_test(test_introduce_release_watches),
		cmocka_unit_test(test_in_process_watches),
		cmocka_unit_test(test_tx_commit_and_isolation),
		cmocka_unit_test(test_tx_conflict_and_abort),
		cmocka_unit_test(test_tx_quota_and_release),
		cmocka_unit_test(test_quotas),
		cmocka_unit_test(test_default_limits),
		cmocka_unit_test(test_tx_commit_enforces_node_quota),
		cmocka_unit_test(test_memory_quota),
		cmocka_unit_test(test_special_watch_permissions),
		cmocka_unit_test(test_home_layout),
		cmocka_unit_test(test_release_forgets_domain),
		cmocka_unit_test(test_directory_part),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
