/*
 * xs-quota: a guest attacks the XenStore quotas over its store ring.
 *
 * 1. Node size: a node with one permission holds a 2024-byte value
 *    (16-byte header + 8 per permission + value = 2048), not 2025.
 * 2. Permissions: 5 entries besides the owner's are taken, 6 refused.
 * 3. Node quota through transactions: ten transactions, each creating 120
 *    nodes in a directory of its own (so they never conflict), all
 *    committed.  Each one alone is under the 1000-node quota, together
 *    they are not: commits past the quota must fail with ENOSPC and the
 *    nodes that exist afterwards must be within the quota.  (Before the
 *    quota was checked at commit, all ten went through: ~1200 nodes.)
 * 4. @releaseDomain: a guest may watch it but, not being granted read
 *    access to it, gets only the watch's initial event.
 */
#include "guest.h"
#include "xenbus.h"

const char test_name[] = "xs-quota";

#define NODE_QUOTA 1000
#define TXS 10
#define PER_TX 120

static char val[2100];
static char buf[XENBUS_PAYLOAD_MAX + 1];

static void path_of(char *out, const char *a, unsigned i, unsigned j)
{
	/* "data/<a><i>/<j>" without snprintf */
	char *p = out;
	const char *pre = "data/";

	while (*pre)
		*p++ = *pre++;
	while (*a)
		*p++ = *a++;
	*p++ = (char)('0' + i / 10);
	*p++ = (char)('0' + i % 10);
	if (j != ~0u) {
		*p++ = '/';
		*p++ = (char)('0' + j / 100);
		*p++ = (char)('0' + j / 10 % 10);
		*p++ = (char)('0' + j % 10);
	}
	*p = 0;
}

static void check_node_size(void)
{
	long rc;

	memset(val, 'v', sizeof(val));
	val[2025] = 0;
	rc = xenbus_write(0, "data/big", val);
	CHECK(rc == -XENBUS_ENOSPC, "a 2025-byte value was not refused: %ld (%s)", rc,
	      xenbus_strerror(rc));
	val[2024] = 0;
	rc = xenbus_write(0, "data/big", val);
	CHECK(rc == 0, "a 2024-byte value was refused: %s", xenbus_strerror(rc));
	rc = xenbus_read(0, "data/big", buf, sizeof(buf));
	EXPECT_EQ(rc, 2024);
	printk("xs-quota: node size limit holds at 2048 bytes\n");
}

static void check_perms(void)
{
	static const char *const perms[] = { "n1", "r2", "r3", "r4", "r5", "r6", "r7" };
	char owner[8] = "n";
	long rc;

	/* entry 0 names the guest itself: its own domid, from its home */
	rc = xenbus_read(0, "domid", buf, sizeof(buf));
	CHECK(rc > 0 && rc < 6, "cannot read my domid: %ld", rc);
	memcpy(owner + 1, buf, (size_t)rc + 1);
	const char *list[7] = { owner, perms[1], perms[2], perms[3], perms[4], perms[5], perms[6] };

	rc = xenbus_write(0, "data/p", "x");
	EXPECT_EQ(rc, 0);
	rc = xenbus_set_perms(0, "data/p", list, 6);
	CHECK(rc == 0, "owner + 5 permissions refused: %s", xenbus_strerror(rc));
	rc = xenbus_set_perms(0, "data/p", list, 7);
	CHECK(rc == -XENBUS_ENOSPC, "owner + 6 permissions not refused: %ld (%s)", rc,
	      xenbus_strerror(rc));
	printk("xs-quota: 5 permissions per node\n");
}

/* Nodes below data/t<i>, counted by listing. */
static long count_children(unsigned i)
{
	char path[32];
	long n = 0, len;

	path_of(path, "t", i, ~0u);
	len = xenbus_directory(0, path, buf, sizeof(buf));
	if (len < 0)
		return len;
	for (long k = 0; k < len; k++)
		n += buf[k] == 0;
	return n;
}

static void check_tx_node_quota(void)
{
	uint32_t tx[TXS];
	char path[32];
	long rc;
	unsigned committed = 0, refused = 0;

	for (unsigned i = 0; i < TXS; i++) {
		path_of(path, "t", i, ~0u);
		rc = xenbus_mkdir(0, path);
		CHECK(rc == 0, "mkdir %s: %s", path, xenbus_strerror(rc));
	}
	for (unsigned i = 0; i < TXS; i++) {
		rc = xenbus_tx_start(&tx[i]);
		CHECK(rc == 0, "transaction %u: %s", i, xenbus_strerror(rc));
		for (unsigned j = 0; j < PER_TX; j++) {
			path_of(path, "t", i, j);
			rc = xenbus_write(tx[i], path, "q");
			CHECK(rc == 0, "write %s in transaction %u: %s", path, i,
			      xenbus_strerror(rc));
		}
	}
	for (unsigned i = 0; i < TXS; i++) {
		rc = xenbus_tx_end(tx[i], true);
		CHECK(rc == 0 || rc == -XENBUS_ENOSPC,
		      "commit of transaction %u: %ld (%s)", i, rc, xenbus_strerror(rc));
		committed += rc == 0;
		refused += rc != 0;
	}
	long total = 0;
	for (unsigned i = 0; i < TXS; i++) {
		long n = count_children(i);
		CHECK(n >= 0, "directory data/t%u: %s", i, xenbus_strerror(n));
		CHECK(n == 0 || n == PER_TX, "transaction %u half applied: %ld nodes", i, n);
		total += n;
	}
	printk("xs-quota: %u transactions committed, %u refused, %ld nodes made\n",
	       committed, refused, total);
	CHECK(refused > 0, "all %u transactions of %u nodes committed", TXS, PER_TX);
	CHECK(total <= NODE_QUOTA, "%ld nodes exist past the %d-node quota", total, NODE_QUOTA);
	/* The quota is full now: a plain write past it fails too. */
	rc = 0;
	for (unsigned j = 0; j < PER_TX && !rc; j++) {
		path_of(path, "f", 0, j);
		rc = xenbus_write(0, path, "f");
	}
	CHECK(rc == -XENBUS_ENOSPC, "%d more nodes went in: %ld", PER_TX, rc);
}

static void check_release_domain_watch(void)
{
	char path[64], token[16];
	long rc = xenbus_watch("@releaseDomain", "rel");

	CHECK(rc == 0, "watch @releaseDomain: %s", xenbus_strerror(rc));
	CHECK(xenbus_event(path, sizeof(path), token, sizeof(token), 5000000000ull),
	      "no initial @releaseDomain event");
	CHECK(!memcmp(path, "@releaseDomain", 15) && !memcmp(token, "rel", 4),
	      "initial event is %s %s", path, token);
	rc = xenbus_get_perms(0, "@releaseDomain", buf, sizeof(buf));
	CHECK(rc == -XENBUS_EACCES, "the perms of @releaseDomain are readable: %ld", rc);
}

void test_main(void)
{
	long rc = xenbus_init();

	CHECK(rc == 0, "no store ring: %ld", rc);
	check_node_size();
	check_perms();
	check_release_domain_watch();
	check_tx_node_quota();
	test_pass();
}
