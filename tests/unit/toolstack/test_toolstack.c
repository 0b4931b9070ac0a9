/* Unit tests for the xl.cfg parser: syntax, every key, overrides, disk and
 * vif specs, CPU maps and the JSON renderer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "toolstack/toolstack.h"
#include "toolstack/ts_internal.h"

#define BASE "name = \"t\"\nkernel = \"/k\"\n"

static struct domain_config dc;

static int setup(void **state)
{
	domain_config_init(&dc);
	return 0;
}

static int teardown(void **state)
{
	domain_config_dispose(&dc);
	return 0;
}

static void parse_ok_with(const char *text, const char *const *ov, size_t nr)
{
	struct ts_error err;
	char msg[1024];

	if (domain_config_parse_string(&dc, text, "t.cfg", ov, nr, &err) < 0) {
		ts_error_format(&err, msg, sizeof(msg));
		print_error("unexpected error: %s\n", msg);
		fail();
	}
}

static void parse_ok(const char *text)
{
	parse_ok_with(text, NULL, 0);
}

static void parse_fails_with(const char *text, const char *expected)
{
	struct ts_error err;
	char msg[1024];

	assert_int_equal(domain_config_parse_string(&dc, text, "t.cfg", NULL, 0, &err), -EINVAL);
	ts_error_format(&err, msg, sizeof(msg));
	assert_string_equal(msg, expected);
}

/* ---- syntax ------------------------------------------------------------ */

static void test_strings_and_escapes(void **state)
{
	parse_ok(BASE "extra = 'it\\'s \\\"q\\\" \\\\ \\n\\t\\x41\\101'\n");
	assert_string_equal(dc.cmdline, "it's \"q\" \\ \n\tAA");
	parse_ok("name='single';kernel=\"/k\"");
	assert_string_equal(dc.name, "single");
	/* '#' inside a string is not a comment */
	parse_ok(BASE "extra = \"a#b\" # real comment\n");
	assert_string_equal(dc.cmdline, "a#b");
}

static void test_string_errors(void **state)
{
	parse_fails_with(BASE "extra = \"abc\n", "t.cfg:3:9: unterminated string");
	parse_fails_with(BASE "extra = 'abc", "t.cfg:3:9: unterminated string");
	parse_fails_with(BASE "extra = \"a\\", "t.cfg:3:9: unterminated string");
	parse_fails_with(BASE "extra = \"\\z\"", "t.cfg:3:10: unknown escape sequence \"\\z\" in string");
	parse_fails_with(BASE "extra = \"\\0\"", "t.cfg:3:10: NUL byte (\\0) in string");
	parse_fails_with(BASE "extra = \"\\xg\"", "t.cfg:3:10: \\x escape without hex digits");
}

static void test_numbers(void **state)
{
	parse_ok(BASE "memory = 0x100\n");
	assert_int_equal(dc.target_memkb, 256 * 1024);
	parse_ok(BASE "memory = \"300\"\n"); /* xl reads numbers via strings */
	assert_int_equal(dc.target_memkb, 300 * 1024);
	parse_ok(BASE "memory = 010\n");
	assert_int_equal(dc.target_memkb, 10 * 1024);
	parse_fails_with(BASE "memory = 1.5", "t.cfg:3: memory: expected a number, got \"1.5\"");
	parse_fails_with(BASE "memory = 0x", "t.cfg:3: memory: expected a number, got \"0x\"");
	parse_fails_with(BASE "memory = 99999999999999999999999",
			 "t.cfg:3: memory: number \"99999999999999999999999\" is too large");
	parse_fails_with(BASE "memory = -1",
			 "t.cfg:3:10: memory: expected a value (a \"string\", a number or a [list]), got '-'");
	parse_fails_with(BASE "memory = [1]", "t.cfg:3: memory: expected a number, got a list");
	parse_fails_with(BASE "memory = true", "t.cfg:3: memory: expected a number, got \"true\"");
}

static void test_statement_structure(void **state)
{
	parse_ok("\n\n   # only comments\n;;\n" BASE "  memory = 64 ;  vcpus = 2 ; \n");
	assert_int_equal(dc.vcpus, 2);
	parse_ok(BASE "memory=64"); /* no final newline */
	assert_int_equal(dc.target_memkb, 64 * 1024);
	parse_ok(BASE "memory\t=\t64\r\n"); /* tabs and CRLF */
	assert_int_equal(dc.target_memkb, 64 * 1024);
	parse_fails_with(BASE "memory", "t.cfg:3:7: expected '=' after \"memory\", got end of file");
	parse_fails_with(BASE "memory\n= 5", "t.cfg:3:7: expected '=' after \"memory\", got end of line");
	parse_fails_with(BASE "= 5", "t.cfg:3:1: expected a setting name, got '='");
	parse_fails_with(BASE "9lives = 5", "t.cfg:3:1: expected a setting name, got 9lives");
	parse_fails_with(BASE "memory =\n",
			 "t.cfg:3:9: memory: expected a value (a \"string\", a number or a [list]), got end of line");
	parse_fails_with(BASE "memory = 5 \"x\"",
			 "t.cfg:3:12: memory: expected end of line or ';' after the value, got '\"'");
}

static void test_lists(void **state)
{
	parse_ok(BASE "disk = []\n");
	assert_int_equal(dc.nr_disks, 0);
	parse_ok(BASE "disk = [ 'phy:/dev/a,xvda,w', ]\n"); /* trailing comma */
	assert_int_equal(dc.nr_disks, 1);
	parse_ok(BASE "disk = [\n# c\n'phy:/dev/a,xvda,w' # c\n\n,\n'phy:/dev/b,xvdb,w'\n]\n");
	assert_int_equal(dc.nr_disks, 2);
	parse_fails_with(BASE "disk = [ 'a' 'b' ]",
			 "t.cfg:3:14: disk: expected ',' or ']' in the list opened at line 3, got '''");
	parse_fails_with(BASE "disk = [ , ]",
			 "t.cfg:3:10: disk: expected a value (a \"string\", a number or a [list]), got ','");
	parse_fails_with(BASE "disk = [ 'phy:/a,xvda,w'",
			 "t.cfg:3:8: disk: list is not closed (no ']' before end of file)");
	parse_fails_with(BASE "disk = ['a'] ]",
			 "t.cfg:3:14: disk: expected end of line or ';' after the value, got ']'");
	parse_fails_with(BASE "disk = 'phy:/a,xvda,w'",
			 "t.cfg:3: disk: expected a list [ '...', ... ], got a string");
	parse_fails_with(BASE "name = ['a']", "t.cfg:3: name: expected a string, got a list");
}

static void test_duplicate_keys_last_wins(void **state)
{
	parse_ok(BASE "memory = \"bad\"\nmemory = 128\nname = \"later\"\n");
	assert_int_equal(dc.target_memkb, 128 * 1024);
	assert_string_equal(dc.name, "later");
	/* a list key replaced by a later one does not accumulate */
	parse_ok(BASE "disk=['phy:/a,xvda,w','phy:/b,xvdb,w']\ndisk=['phy:/c,xvdc,w']\n");
	assert_int_equal(dc.nr_disks, 1);
	assert_string_equal(dc.disks[0].target, "/c");
}

static void test_unknown_keys_warn(void **state)
{
	parse_ok(BASE "dhcp = 'dhcp'\nvnc = 1\ndhcp = 'x'\n");
	assert_int_equal(dc.nr_warnings, 2); /* once per key: the winning line */
	assert_string_equal(dc.warnings[0], "t.cfg:4: unknown setting \"vnc\" ignored");
	assert_string_equal(dc.warnings[1], "t.cfg:5: unknown setting \"dhcp\" ignored");
	parse_ok(BASE "seclabel = 'x'\n");
	assert_int_equal(dc.nr_warnings, 1);
	assert_string_equal(dc.warnings[0],
			    "t.cfg:3: seclabel: XSM security labels are not supported; ignored");
}

/* ---- keys -------------------------------------------------------------- */

static void test_required_keys(void **state)
{
	parse_fails_with("kernel='/k'", "t.cfg: name is required (add name = \"...\")");
	parse_fails_with("name='x'", "t.cfg: kernel is required for a PV guest "
			 "(or bootloader = \"pygrub\" to boot the kernel on its disk)");
	parse_fails_with("name=''\nkernel='/k'", "t.cfg:1: name: must not be empty");
}

static void test_defaults(void **state)
{
	parse_ok(BASE);
	assert_int_equal(dc.type, TS_DOMAIN_PV);
	assert_int_equal(dc.vcpus, 1);
	assert_int_equal(dc.max_vcpus, 1);
	assert_int_equal(dc.target_memkb, 32 * 1024);
	assert_int_equal(dc.max_memkb, 32 * 1024);
	assert_int_equal(dc.sched_weight, -1);
	assert_int_equal(dc.sched_cap, -1);
	assert_null(dc.cmdline);
	assert_int_equal(dc.on_poweroff, TS_ACTION_DESTROY);
	assert_int_equal(dc.on_reboot, TS_ACTION_RESTART);
	assert_int_equal(dc.on_crash, TS_ACTION_DESTROY);
	assert_int_equal(dc.on_watchdog, TS_ACTION_DESTROY);
	assert_int_equal(dc.nr_vcpu_hard_affinity, 0);
}

static void test_type_and_builder(void **state)
{
	parse_ok(BASE "type = 'pv'\nbuilder = 'generic'\n");
	parse_ok(BASE "builder = 'linux'\n");
	parse_fails_with(BASE "type = 'hvm'",
			 "t.cfg:3: type: only PV guests are supported so far, got \"hvm\"");
	parse_fails_with(BASE "type = 'pvh'",
			 "t.cfg:3: type: only PV guests are supported so far, got \"pvh\"");
	parse_fails_with(BASE "type = 'PV'",
			 "t.cfg:3: type: unknown guest type \"PV\" (expected pv, pvh or hvm)");
	parse_fails_with(BASE "builder = 'hvm'",
			 "t.cfg:3: builder: only PV guests are supported so far, got \"hvm\"");
	parse_fails_with(BASE "builder = 'x'",
			 "t.cfg:3: builder: unknown builder \"x\" (expected generic or hvm)");
}

static void test_memory_and_vcpus(void **state)
{
	parse_ok(BASE "memory = 512\nmaxmem = 1024\nvcpus = 2\nmaxvcpus = 8\n");
	assert_int_equal(dc.target_memkb, 512 * 1024);
	assert_int_equal(dc.max_memkb, 1024 * 1024);
	assert_int_equal(dc.vcpus, 2);
	assert_int_equal(dc.max_vcpus, 8);
	parse_ok(BASE "maxvcpus = 3\n"); /* vcpus defaults to 1 */
	assert_int_equal(dc.vcpus, 1);
	assert_int_equal(dc.max_vcpus, 3);
	parse_fails_with(BASE "memory = 0", "t.cfg:3: memory: 0 is out of range (1-18014398509481983)");
	parse_fails_with(BASE "vcpus = 513", "t.cfg:3: vcpus: 513 is out of range (1-512)");
	parse_fails_with(BASE "memory = 64\nmaxmem = 32", "t.cfg:4: maxmem: 32 is less than memory (64)");
	parse_fails_with(BASE "maxmem = 16", "t.cfg:3: maxmem: 16 is less than memory (32)");
	parse_fails_with(BASE "vcpus = 4\nmaxvcpus = 2", "t.cfg:4: maxvcpus: 2 is less than vcpus (4)");
}

static void test_cmdline_from_root_and_extra(void **state)
{
	parse_ok(BASE "root = '/dev/xvda1 ro'\nextra = 'console=hvc0'\n");
	assert_string_equal(dc.cmdline, "root=/dev/xvda1 ro console=hvc0");
	parse_ok(BASE "root = '/dev/xvda1'\n");
	assert_string_equal(dc.cmdline, "root=/dev/xvda1");
	parse_ok(BASE "extra = 'quiet'\n");
	assert_string_equal(dc.cmdline, "quiet");
	parse_ok(BASE "cmdline = 'a b'\nroot = '/dev/x'\n");
	assert_string_equal(dc.cmdline, "a b");
	assert_int_equal(dc.nr_warnings, 1);
	assert_string_equal(dc.warnings[0], "t.cfg:3: cmdline is set: ignoring root and extra");
	parse_ok(BASE "ramdisk = '/initrd'\n");
	assert_string_equal(dc.ramdisk, "/initrd");
}

static void test_actions(void **state)
{
	static const char *const names[] = { "destroy", "restart", "rename-restart",
		"preserve", "coredump-destroy", "coredump-restart", "soft-reset" };
	char text[256];

	for (int a = 0; a < 7; a++) {
		snprintf(text, sizeof(text), BASE "on_poweroff='%s'\non_reboot='%s'\n"
			 "on_crash='%s'\non_watchdog='%s'\non_soft_reset='%s'\n",
			 names[a], names[a], names[a], names[a], names[a]);
		parse_ok(text);
		assert_int_equal(dc.on_poweroff, a);
		assert_int_equal(dc.on_reboot, a);
		assert_int_equal(dc.on_crash, a);
		assert_int_equal(dc.on_watchdog, a);
		assert_int_equal(dc.on_soft_reset, a);
	}
	assert_string_equal(ts_action_name(TS_ACTION_RENAME_RESTART), "restart_rename");
	assert_string_equal(ts_action_name(TS_ACTION_SOFT_RESET), "soft_reset");
	parse_fails_with(BASE "on_reboot = 'reboot'",
			 "t.cfg:3: on_reboot: unknown action \"reboot\" (expected destroy, restart, "
			 "rename-restart, preserve, coredump-destroy, coredump-restart or soft-reset)");
}

static void test_uuid_pool_bootloader(void **state)
{
	parse_ok(BASE "uuid = '00112233-4455-6677-8899-AABBCCDDEEFF'\npool = 'p1'\n");
	assert_true(dc.has_uuid);
	assert_int_equal(dc.uuid[0], 0x00);
	assert_int_equal(dc.uuid[15], 0xff);
	assert_string_equal(dc.pool_name, "p1");
	parse_fails_with(BASE "uuid = '00112233-4455-6677-8899-AABBCCDDEEF'",
			 "t.cfg:3: uuid: \"00112233-4455-6677-8899-AABBCCDDEEF\" is not a UUID like "
			 "01234567-89ab-cdef-0123-456789abcdef");
	parse_fails_with(BASE "uuid = '00112233x4455-6677-8899-AABBCCDDEEFF'",
			 "t.cfg:3: uuid: \"00112233x4455-6677-8899-AABBCCDDEEFF\" is not a UUID like "
			 "01234567-89ab-cdef-0123-456789abcdef");
	parse_fails_with(BASE "bootloader = 'pvgrub'",
			 "t.cfg:3: bootloader: only pygrub is supported (kxen runs its own, "
			 "reading the first disk), got \"pvgrub\"");
	parse_fails_with(BASE "bootloader = '/usr/bin/pygrub2'",
			 "t.cfg:3: bootloader: only pygrub is supported (kxen runs its own, "
			 "reading the first disk), got \"/usr/bin/pygrub2\"");
	/* With a bootloader, kernel= is optional and ignored when given. */
	parse_ok("name='x'\nbootloader='/usr/lib/xen-4.17/bin/pygrub'\n"
		 "bootloader_args=['--entry=1', '-q']\n");
	assert_string_equal(dc.bootloader, "/usr/lib/xen-4.17/bin/pygrub");
	assert_int_equal(dc.nr_bootloader_args, 2);
	assert_string_equal(dc.bootloader_args[1], "-q");
	assert_null(dc.kernel);
	assert_int_equal(dc.nr_warnings, 0);
	parse_ok(BASE "bootloader='pygrub'\nbootloader_args='--entry=1  --args=x'\n");
	assert_int_equal(dc.nr_bootloader_args, 2);
	assert_string_equal(dc.bootloader_args[0], "--entry=1");
	assert_string_equal(dc.bootloader_args[1], "--args=x");
	assert_string_equal(dc.warnings[0], "t.cfg: kernel= and ramdisk= are ignored: "
			    "bootloader=pygrub takes them from the guest's disk");
}

static void test_sched_and_booleans(void **state)
{
	parse_ok(BASE "weight = 512\ncap = 50\ne820_host = true\nnomigrate = 1\n");
	assert_int_equal(dc.sched_weight, 512);
	assert_int_equal(dc.sched_cap, 50);
	assert_true(dc.e820_host);
	assert_true(dc.disable_migrate);
	parse_ok(BASE "cpu_weight = 128\ncpu_cap = 0\ne820_host = 'false'\nnomigrate = 0\n");
	assert_int_equal(dc.sched_weight, 128);
	assert_int_equal(dc.sched_cap, 0);
	assert_false(dc.e820_host);
	assert_false(dc.disable_migrate);
	parse_fails_with(BASE "weight = 0", "t.cfg:3: weight: 0 is out of range (1-65535)");
	parse_fails_with(BASE "e820_host = 2",
			 "t.cfg:3: e820_host: expected 0/1 or true/false, got \"2\"");
	parse_fails_with(BASE "nomigrate = 'yes'",
			 "t.cfg:3: nomigrate: expected 0/1 or true/false, got \"yes\"");
}

static void test_cpus_affinity(void **state)
{
	parse_ok(BASE "vcpus = 3\ncpus = '0-3,^2'\n");
	assert_int_equal(dc.nr_vcpu_hard_affinity, 3); /* string: every vCPU */
	for (int v = 0; v < 3; v++) {
		assert_true(ts_cpumap_test(&dc.vcpu_hard_affinity[v], 0));
		assert_false(ts_cpumap_test(&dc.vcpu_hard_affinity[v], 2));
		assert_true(ts_cpumap_test(&dc.vcpu_hard_affinity[v], 3));
		assert_false(ts_cpumap_test(&dc.vcpu_hard_affinity[v], 4));
	}
	parse_ok(BASE "vcpus = 4\ncpus = ['1', '2']\ncpus_soft = 'all'\n");
	assert_int_equal(dc.nr_vcpu_hard_affinity, 2); /* vCPUs 2, 3 unpinned */
	assert_true(ts_cpumap_test(&dc.vcpu_hard_affinity[1], 2));
	assert_false(ts_cpumap_test(&dc.vcpu_hard_affinity[1], 1));
	assert_int_equal(dc.nr_vcpu_soft_affinity, 4);
	assert_true(ts_cpumap_test(&dc.vcpu_soft_affinity[3], TS_MAX_CPUS - 1));
	parse_ok(BASE "cpus = ['1', '2', '3']\n");
	assert_int_equal(dc.nr_vcpu_hard_affinity, 1);
	assert_int_equal(dc.nr_warnings, 1);
	assert_string_equal(dc.warnings[0],
			    "t.cfg:3: cpus: 3 entries for 1 vCPUs; the extra ones are ignored");
	parse_fails_with(BASE "cpus = ['1', 'x']", "t.cfg:3: cpus: \"x\" is not a CPU number");
	parse_fails_with(BASE "cpus = [\n'1',\n'3-1']", "t.cfg:5: cpus: range \"3-1\" ends before it starts");
	parse_fails_with(BASE "cpus = []", "t.cfg:3: cpus: the list is empty");
	/* Node lists are checked here and resolved by the daemon. */
	parse_ok(BASE "vcpus = 2\ncpus = [' node:0 , ^1', 'nodes:0-1']\n");
	assert_true(dc.vcpu_hard_affinity[0].has_nodes);
	char text[TS_CPULIST_MAX];
	ts_cpumap_format(&dc.vcpu_hard_affinity[0], text, sizeof(text));
	assert_string_equal(text, "node:0,^1");
	ts_cpumap_format(&dc.vcpu_hard_affinity[1], text, sizeof(text));
	assert_string_equal(text, "nodes:0-1");
	parse_fails_with(BASE "cpus = 'node:x'", "t.cfg:3: cpus: \"x\" is not a CPU number");
	parse_fails_with(BASE "cpus = '^all'", "t.cfg:3: cpus: \"^all\" selects no CPU");
}

static void test_cpumap_parse_and_format(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "all", "all" }, { "2", "2" }, { "0-3", "0-3" }, { "0,2-3", "0,2-3" },
		{ "^1", "all,^1" }, { "all,^7", "all,^7" }, { "0-7,^2-3", "0-1,4-7" },
		{ "5,1,3", "1,3,5" }, { " 1 , 2 ", "1-2" }, { "1023", "1023" },
	};
	struct ts_cpumap map;
	char buf[256], why[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ts_cpumap_parse(&map, cases[i].in, why, sizeof(why)), 0);
		ts_cpumap_format(&map, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].out);
	}
	assert_int_equal(ts_cpumap_parse(&map, "1024", why, sizeof(why)), -ERANGE);
	assert_string_equal(why, "CPU 1024 is out of range (0-1023)");
	assert_int_equal(ts_cpumap_parse(&map, "1,^1", why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "\"1,^1\" selects no CPU");
	assert_int_equal(ts_cpumap_parse(&map, "", why, sizeof(why)), -EINVAL);
	assert_int_equal(ts_cpumap_parse(&map, "1-", why, sizeof(why)), -EINVAL);
	assert_int_equal(ts_cpumap_parse(&map, "0x1", why, sizeof(why)), -EINVAL);
	/* truncated formatting still reports the full length */
	assert_int_equal(ts_cpumap_parse(&map, "0,2,4,6,8", why, sizeof(why)), 0);
	assert_int_equal(ts_cpumap_format(&map, buf, 4), 9);
	assert_string_equal(buf, "0,2");
}

/* ---- overrides --------------------------------------------------------- */

static void test_overrides(void **state)
{
	const char *const ov[] = { "memory=1024", "name=web2", "vif=['bridge=br1']",
				   "extra=console=hvc0 quiet", "vcpus = 2" };

	parse_ok_with(BASE "memory = 256\nvif = ['bridge=xenbr0', 'bridge=x']\n", ov, 5);
	assert_int_equal(dc.target_memkb, 1024 * 1024);
	assert_string_equal(dc.name, "web2");
	assert_int_equal(dc.nr_nics, 1);
	assert_string_equal(dc.nics[0].bridge, "br1");
	assert_string_equal(dc.cmdline, "console=hvc0 quiet");
	assert_int_equal(dc.vcpus, 2);
}

static void test_overrides_later_win_and_complete_file(void **state)
{
	const char *const ov[] = { "memory=100", "memory=200", "name='from-cli'" };
	struct ts_error err;
	char msg[512];

	/* the file alone lacks a name: xl appends overrides before checking */
	parse_ok_with("kernel='/k'\nmemory=50\n", ov, 3);
	assert_int_equal(dc.target_memkb, 200 * 1024);
	assert_string_equal(dc.name, "from-cli");

	const char *const bad[] = { "memory=lots" };

	assert_int_equal(domain_config_parse_string(&dc, BASE, "t.cfg", bad, 1, &err), -EINVAL);
	ts_error_format(&err, msg, sizeof(msg));
	assert_string_equal(msg, "command line:1: memory: expected a number, got \"lots\"");

	const char *const noeq[] = { "memory" };

	assert_int_equal(domain_config_parse_string(&dc, BASE, "t.cfg", noeq, 1, &err), -EINVAL);
	ts_error_format(&err, msg, sizeof(msg));
	assert_string_equal(msg, "command line:1:7: expected '=' after \"memory\", got end of file");
}

/* ---- disks ----------------------------------------------------------------- */

static void disk_ok(const char *spec, struct ts_disk *d)
{
	char why[512];

	if (ts_disk_parse(d, spec, why, sizeof(why)) < 0) {
		print_error("disk \"%s\": %s\n", spec, why);
		fail();
	}
}

static void disk_bad(const char *spec, const char *expected)
{
	struct ts_disk d;
	char why[512];

	assert_int_equal(ts_disk_parse(&d, spec, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, expected);
}

static void test_disk_equivalent_forms(void **state)
{
	/* the man page's two sets of equivalent specs */
	static const char *const hda[] = {
		"/dev/vg/guest-volume,,hda", "/dev/vg/guest-volume,raw,hda,rw",
		"format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume",
		"raw:/dev/vg/guest-volume,hda,w",
	};
	static const char *const hdc[] = {
		"/root/image.iso,,hdc,cdrom", "/root/image.iso,,hdc,,cdrom",
		"/root/image.iso,raw,hdc,devtype=cdrom",
		"format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso",
		"raw:/root/image.iso,hdc:cdrom,ro",
	};
	struct ts_disk d;

	for (size_t i = 0; i < 4; i++) {
		disk_ok(hda[i], &d);
		assert_string_equal(d.target, "/dev/vg/guest-volume");
		assert_string_equal(d.vdev, "hda");
		assert_int_equal(d.format, TS_DISK_FORMAT_RAW);
		assert_true(d.readwrite);
		assert_false(d.is_cdrom);
		ts_disk_dispose(&d);
	}
	for (size_t i = 0; i < 5; i++) {
		disk_ok(hdc[i], &d);
		assert_string_equal(d.target, "/root/image.iso");
		assert_string_equal(d.vdev, "hdc");
		assert_false(d.readwrite);
		assert_true(d.is_cdrom);
		assert_true(d.removable);
		ts_disk_dispose(&d);
	}
}

static void test_disk_options(void **state)
{
	struct ts_disk d;

	disk_ok("vdev=xvdb, backendtype=phy, script=block-drbd, backend=stor, "
		"access=r, format=vhd, target=/x", &d);
	assert_int_equal(d.backend, TS_DISK_BACKEND_PHY);
	assert_string_equal(d.script, "block-drbd");
	assert_string_equal(d.backend_domain, "stor");
	assert_int_equal(d.format, TS_DISK_FORMAT_VHD);
	assert_false(d.readwrite);
	assert_int_equal(d.vdev_disk, 1);
	ts_disk_dispose(&d);
	disk_ok("mode=ro,vdev=xvda,target=/y", &d);
	assert_false(d.readwrite);
	ts_disk_dispose(&d);
	disk_ok("nbd:host:1234,xvda,w", &d); /* deprecated script prefix */
	assert_string_equal(d.script, "block-nbd");
	assert_string_equal(d.target, "host:1234");
	ts_disk_dispose(&d);
	disk_ok(",,hdc,cdrom", &d); /* empty drive */
	assert_string_equal(d.target, "");
	assert_int_equal(d.format, TS_DISK_FORMAT_EMPTY);
	ts_disk_dispose(&d);
	disk_ok("vdev=hdc,devtype=cdrom", &d);
	assert_int_equal(d.format, TS_DISK_FORMAT_EMPTY);
	ts_disk_dispose(&d);
	disk_ok("/img,qed,xvda,w,no-discard", &d);
	assert_int_equal(d.format, TS_DISK_FORMAT_QED);
	assert_int_equal(d.discard, 0);
	ts_disk_dispose(&d);
}

static void test_disk_errors(void **state)
{
	disk_bad("/dev/x", "no vdev specified");
	disk_bad("/a,raw,xvda,rw,extra", "too many positional parameters at \"extra\"");
	disk_bad("/a,raw,xvda,x", "access \"x\" is not one of r, ro, w, rw");
	disk_bad("/a,vmdk,xvda", "format \"vmdk\" is not one of raw, qcow, qcow2, vhd, qed");
	disk_bad("vdev=xvda,vdev=xvdb,target=/a", "vdev specified more than once");
	disk_bad("format=raw,format=qcow2,/a,,xvda", "format specified more than once");
	/* like xl: with format= given, bare items skip the format slot */
	disk_bad("format=raw,/a,raw,xvda", "access \"xvda\" is not one of r, ro, w, rw");
	disk_bad("/a,,xvda,devtype=floppy", "devtype \"floppy\" is not one of disk, cdrom");
	disk_bad("/a,,xvda,backendtype=nfs",
		 "backendtype \"nfs\" is not one of phy, qdisk, tap, standalone");
	disk_bad("/a,,xvda,colour=red", "unknown parameter \"colour\"");
	disk_bad(",,xvda", "no target given (only a cdrom may be empty)");
	disk_bad("/a.iso,,hdc,rw,cdrom", "a cdrom cannot be writable (access=rw)");
	disk_bad("/a,,vda", "vdev \"vda\" is not a valid virtual device name "
		 "(e.g. xvda, xvdb1, hdc, sda)");
	/* via the config: the element's own line and the whole spec */
	parse_fails_with(BASE "disk = [\n'phy:/a,xvda,w',\n'phy:/b,xvda,w']",
			 "t.cfg:5: disk: vdev xvda is used twice");
	parse_fails_with(BASE "disk = [ true ]", "t.cfg:3: disk: expected a string, got true");
}

static void test_vdev_names(void **state)
{
	static const struct { const char *vdev; int ok; unsigned disk, part; } cases[] = {
		{ "xvda", 1, 0, 0 }, { "xvdb", 1, 1, 0 }, { "xvdz", 1, 25, 0 },
		{ "xvdaa", 1, 26, 0 }, { "xvda1", 1, 0, 1 }, { "xvdb15", 1, 1, 15 },
		{ "xvda255", 1, 0, 255 }, { "hda", 1, 0, 0 }, { "hdd63", 1, 3, 63 },
		{ "sda", 1, 0, 0 }, { "sdp15", 1, 15, 15 }, { "d0", 1, 0, 0 },
		{ "d536p37", 1, 536, 37 },
		{ "xvd", 0, 0, 0 }, { "xvd1", 0, 0, 0 }, { "xvda0", 0, 0, 0 }, { "xvda01", 0, 0, 0 },
		{ "xvda256", 0, 0, 0 }, { "hde", 0, 0, 0 }, { "hda64", 0, 0, 0 }, { "sdq", 0, 0, 0 },
		{ "sda16", 0, 0, 0 }, { "xvdA", 0, 0, 0 }, { "vda", 0, 0, 0 }, { "xvda1x", 0, 0, 0 },
		{ "d", 0, 0, 0 }, { "d1p", 0, 0, 0 }, { "", 0, 0, 0 }, { "xvdaaaaa", 0, 0, 0 },
	};
	unsigned disk, part;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = ts_vdev_decode(cases[i].vdev, &disk, &part);

		if ((rc == 0) != cases[i].ok) {
			print_error("vdev \"%s\": rc %d\n", cases[i].vdev, rc);
			fail();
		}
		if (cases[i].ok) {
			assert_int_equal(disk, cases[i].disk);
			assert_int_equal(part, cases[i].part);
		}
	}
}

/* ---- vifs ------------------------------------------------------------------ */

static void test_vif_keys(void **state)
{
	struct ts_nic n = {0};
	char why[512];

	assert_int_equal(ts_nic_parse(&n, "mac=AA:bb:0C:00:00:01, bridge=br0, ip=10.0.0.2 10.0.0.3,"
				      "type=ioemu,model=rtl8139,vifname=v0,script=vif-route,"
				      "backend=dd,gatewaydev=eth1,rate=1Gb/s@1s,mtu=1500,devid=7",
				      why, sizeof(why)), 0);
	assert_true(n.has_mac);
	assert_memory_equal(n.mac, ((uint8_t[]){ 0xaa, 0xbb, 0x0c, 0, 0, 1 }), 6);
	assert_string_equal(n.bridge, "br0");
	assert_string_equal(n.ip, "10.0.0.2 10.0.0.3");
	assert_int_equal(n.type, TS_NIC_TYPE_IOEMU);
	assert_string_equal(n.model, "rtl8139");
	assert_string_equal(n.vifname, "v0");
	assert_string_equal(n.script, "vif-route");
	assert_string_equal(n.backend, "dd");
	assert_string_equal(n.gatewaydev, "eth1");
	assert_int_equal(n.rate_bytes_per_interval, 125000000);
	assert_int_equal(n.rate_interval_usecs, 1000000);
	assert_int_equal(n.mtu, 1500);
	assert_int_equal(n.devid, 7);
	ts_nic_dispose(&n);
	assert_int_equal(ts_nic_parse(&n, "rate=250KB/s@500us", why, sizeof(why)), 0);
	assert_int_equal(n.rate_bytes_per_interval, 125);
	assert_int_equal(n.rate_interval_usecs, 500);
	ts_nic_dispose(&n);
}

static void test_vif_errors(void **state)
{
	static const struct { const char *spec, *why; } cases[] = {
		{ "mac=00:16:3e:00:00", "mac \"00:16:3e:00:00\" is not six hex bytes like 00:16:3e:12:34:56" },
		{ "mac=00-16-3e-00-00-01", "mac \"00-16-3e-00-00-01\" is not six hex bytes like 00:16:3e:12:34:56" },
		{ "mac=00:16:3e:00:00:0g", "mac \"00:16:3e:00:00:0g\" is not six hex bytes like 00:16:3e:12:34:56" },
		{ "bridge", "\"bridge\" is not KEY=VALUE" },
		{ "colour=red", "unknown option \"colour\" (expected mac, bridge, ip, type, model, "
				"vifname, script, backend, gatewaydev, rate, mtu or devid)" },
		{ "type=tap", "type \"tap\" is not one of vif, ioemu" },
		{ "rate=10Mb", "rate \"10Mb\" is not RATE/s like 10Mb/s or 250KB/s" },
		{ "rate=fast/s", "rate \"fast/s\" is not RATE/s like 10Mb/s or 250KB/s" },
		{ "rate=10Mb/s@5m", "rate interval \"5m\" is not a time like 50ms, 1s or 500us" },
		{ "rate=1b/s", "rate \"1b/s\" is not RATE/s like 10Mb/s or 250KB/s" },
		{ "rate=1B/s@1us", "rate \"1B/s\" is too low to send anything per interval" },
		{ "mtu=20", "mtu \"20\" is not a number 68-65535" },
		{ "devid=x", "devid \"x\" is not a number 0-65535" },
	};
	char why[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ts_nic n = {0};

		assert_int_equal(ts_nic_parse(&n, cases[i].spec, why, sizeof(why)), -EINVAL);
		assert_string_equal(why, cases[i].why);
	}
	parse_fails_with(BASE "vif = [ 'bridge=a',\n 'mac=1' ]",
			 "t.cfg:4: vif: bad vif spec \"mac=1\": mac \"1\" is not six hex bytes "
			 "like 00:16:3e:12:34:56");
}

static void test_vif_devids_follow_order(void **state)
{
	parse_ok(BASE "vif = [ '', 'bridge=b', '' ]\n");
	assert_int_equal(dc.nr_nics, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(dc.nics[i].devid, i);
	assert_false(dc.nics[0].has_mac);
}

/* ---- pci in the config ----------------------------------------------------- */

static void test_pci_key_and_defaults(void **state)
{
	parse_ok(BASE "pci_seize = 1\npci = ['01:00.0', '0000:02:00.0,seize=0,permissive=1']\n");
	assert_int_equal(dc.nr_pcidevs, 2);
	assert_int_equal(dc.pcidevs[0].seize, 1);
	assert_int_equal(dc.pcidevs[0].permissive, 0);
	assert_int_equal(dc.pcidevs[1].seize, 0);
	assert_int_equal(dc.pcidevs[1].permissive, 1);
	assert_int_equal(dc.pcidevs[1].bdf.bus, 2);
	parse_fails_with(BASE "pci = ['01:00.0', '0000:01:00.0']",
			 "t.cfg:3: pci: 0000:01:00.0 is listed twice");
	parse_fails_with(BASE "pci_permissive = 'maybe'",
			 "t.cfg:3: pci_permissive: expected 0/1 or true/false, got \"maybe\"");
}

/* ---- JSON ------------------------------------------------------------------ */

static void test_json_escaping_and_shape(void **state)
{
	char *json;

	parse_ok("name = 'q\"\\\\x'\nkernel = '/k'\nextra='\\x01\\t'\n");
	assert_int_equal(domain_config_to_json(&dc, &json), 0);
	assert_non_null(strstr(json, "\"name\": \"q\\\"\\\\x\""));
	assert_non_null(strstr(json, "\"cmdline\": \"\\u0001\\t\""));
	assert_non_null(strstr(json, "    \"disks\": [],\n"));
	assert_int_equal(json[strlen(json) - 1], '\n');
	free(json);
}

/* ---- files ------------------------------------------------------------------ */

static void test_parse_file(void **state)
{
	char path[] = "/tmp/kxen-ts-XXXXXX";
	int fd = mkstemp(path);
	struct ts_error err;
	char msg[600];

	assert_true(fd >= 0);
	assert_int_equal(write(fd, BASE "memory = 'x'\n", strlen(BASE) + 13), strlen(BASE) + 13);
	close(fd);
	assert_int_equal(domain_config_parse_file(&dc, path, NULL, 0, &err), -EINVAL);
	ts_error_format(&err, msg, sizeof(msg));
	assert_non_null(strstr(msg, ":3: memory: expected a number, got \"x\""));
	assert_string_equal(err.file, path);
	assert_int_equal(err.line, 3);
	unlink(path);
	assert_int_equal(domain_config_parse_file(&dc, path, NULL, 0, &err), -ENOENT);
	ts_error_format(&err, msg, sizeof(msg));
	assert_non_null(strstr(msg, ": cannot open: No such file or directory"));
}

static void test_error_format_variants(void **state)
{
	struct ts_error e;
	char buf[128];

	ts_error_clear(&e);
	snprintf(e.msg, sizeof(e.msg), "boom");
	ts_error_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "boom");
	snprintf(e.file, sizeof(e.file), "f");
	ts_error_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "f: boom");
	e.line = 2;
	ts_error_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "f:2: boom");
	e.column = 5;
	ts_error_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "f:2:5: boom");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_strings_and_escapes), T(test_string_errors), T(test_numbers),
		T(test_statement_structure), T(test_lists), T(test_duplicate_keys_last_wins),
		T(test_unknown_keys_warn), T(test_required_keys), T(test_defaults),
		T(test_type_and_builder), T(test_memory_and_vcpus),
		T(test_cmdline_from_root_and_extra), T(test_actions),
		T(test_uuid_pool_bootloader), T(test_sched_and_booleans),
		T(test_cpus_affinity), T(test_cpumap_parse_and_format), T(test_overrides),
		T(test_overrides_later_win_and_complete_file), T(test_disk_equivalent_forms),
		T(test_disk_options), T(test_disk_errors), T(test_vdev_names),
		T(test_vif_keys), T(test_vif_errors), T(test_vif_devids_follow_order),
		T(test_pci_key_and_defaults), T(test_json_escaping_and_shape),
		T(test_parse_file), T(test_error_format_variants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
