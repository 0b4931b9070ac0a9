/*
 * xs-perms: a guest tries to rewrite what the toolstack wrote in its
 * XenStore home, over its store ring.
 *
 * The home and the toolstack's nodes (name, domid, memory/target, cpu/,
 * store/, control/) are readable but not writable, removable or
 * re-permissioned; nothing new may be made directly in the home.  The
 * places libxl gives a guest are writable: data/, drivers/, feature/,
 * attr/, error/, control/shutdown, control/feature-poweroff|reboot|suspend,
 * control/sysrq, device/suspend/event-channel.  Other domains' homes and
 * dom0's are closed.  (Before, the guest owned its whole home.)
 */
#include "guest.h"
#include "xenbus.h"

const char test_name[] = "xs-perms";

static char buf[XENBUS_PAYLOAD_MAX + 1];
static char domid[8];

static void must_read(const char *path)
{
	long rc = xenbus_read(0, path, buf, sizeof(buf));

	CHECK(rc >= 0, "cannot read %s: %s", path, xenbus_strerror(rc));
}

static void must_refuse(const char *what, const char *path, long rc)
{
	CHECK(rc == -XENBUS_EACCES, "%s %s: got %ld (%s), expected EACCES", what, path, rc,
	      rc ? xenbus_strerror(rc) : "success");
}

/* Read-only: readable, and every kind of change refused. */
static void check_read_only(const char *path)
{
	char before[64];
	long n;

	must_read(path);
	n = xenbus_read(0, path, before, sizeof(before));
	must_refuse("write", path, xenbus_write(0, path, "evil"));
	must_refuse("rm", path, xenbus_rm(0, path));
	const char *perms[] = { "b0" };
	must_refuse("set_perms", path, xenbus_set_perms(0, path, perms, 1));
	n = xenbus_read(0, path, buf, sizeof(buf));
	CHECK(n >= 0 && !memcmp(buf, before, (size_t)n + 1), "%s changed to \"%s\"", path, buf);
}

static void check_writable(const char *path)
{
	long rc = xenbus_write(0, path, "1");

	CHECK(rc == 0, "write %s: %s", path, xenbus_strerror(rc));
	rc = xenbus_read(0, path, buf, sizeof(buf));
	CHECK(rc == 1 && buf[0] == '1', "%s reads back as \"%s\"", path, buf);
}

static void check_home_perms(void)
{
	char home[32] = "/local/domain/";
	long rc;

	memcpy(home + 14, domid, strlen(domid) + 1);
	rc = xenbus_get_perms(0, home, buf, sizeof(buf));
	CHECK(rc > 0, "get_perms %s: %s", home, xenbus_strerror(rc));
	CHECK(!memcmp(buf, "n0", 3), "home owned by \"%s\", not dom0", buf);
	CHECK(buf[3] == 'r' && !memcmp(buf + 4, domid, strlen(domid) + 1),
	      "home's second entry \"%s\", expected r%s", buf + 3, domid);
	must_refuse("write", home, xenbus_write(0, home, "x"));
	must_refuse("mkdir", "mine", xenbus_mkdir(0, "mine"));
	must_refuse("write", "mine/x", xenbus_write(0, "mine/x", "x"));
	must_refuse("write", "control/feature-halt", xenbus_write(0, "control/feature-halt", "1"));
	must_refuse("write", "device/vbd/51712/state",
	            xenbus_write(0, "device/vbd/51712/state", "4"));
	must_refuse("write", "cpu/0/availability", xenbus_write(0, "cpu/0/availability", "offline"));
	const char *perms[] = { "b0" };
	must_refuse("set_perms", home, xenbus_set_perms(0, home, perms, 1));
}

static void check_other_homes(void)
{
	static const char *const others[] = {
		"/local/domain/0/name", "/local/domain/0", "/local/domain", "/",
	};
	for (size_t i = 0; i < ARRAY_SIZE(others); i++)
		must_refuse("read", others[i], xenbus_read(0, others[i], buf, sizeof(buf)));
	/* neighbours, existing or not, look alike */
	char path[40] = "/local/domain/";
	unsigned long me = 0;
	CHECK(parse_ulong(domid, &me), "domid \"%s\" is not a number", domid);
	for (unsigned id = 1; id < 10; id++) {
		if (id == me)
			continue;
		path[14] = (char)('0' + id);
		memcpy(path + 15, "/name", 6);
		must_refuse("read", path, xenbus_read(0, path, buf, sizeof(buf)));
		must_refuse("write", path, xenbus_write(0, path, "x"));
	}
}

void test_main(void)
{
	static const char *const ro[] = {
		"name", "domid", "memory/target", "memory/static-max", "cpu/0/availability",
		"store/port", "control/platform-feature-xs_reset_watches",
	};
	static const char *const rw[] = {
		"data/x", "drivers/x", "feature/x", "attr/x", "error/x", "control/shutdown",
		"control/feature-poweroff", "control/feature-reboot", "control/feature-suspend",
		"control/sysrq", "device/suspend/event-channel", "console/x",
	};
	long rc = xenbus_init();

	CHECK(rc == 0, "no store ring: %ld", rc);
	rc = xenbus_read(0, "domid", domid, sizeof(domid));
	CHECK(rc > 0 && rc < 6, "cannot read domid: %s", xenbus_strerror(rc));
	printk("xs-perms: I am domain %s\n", domid);
	for (size_t i = 0; i < ARRAY_SIZE(ro); i++)
		check_read_only(ro[i]);
	printk("xs-perms: %zu toolstack nodes are read-only\n", ARRAY_SIZE(ro));
	check_home_perms();
	for (size_t i = 0; i < ARRAY_SIZE(rw); i++)
		check_writable(rw[i]);
	printk("xs-perms: %zu guest places are writable\n", ARRAY_SIZE(rw));
	check_other_homes();
	test_pass();
}
