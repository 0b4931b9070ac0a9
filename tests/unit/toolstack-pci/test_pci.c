/* PCI address parsing and the pci-assignable flows against a fake sysfs
 * tree built in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "toolstack/toolstack.h"

/* ---- BDF parsing ---------------------------------------------------------- */

static void bdf_ok(const char *text, unsigned dom, unsigned bus, unsigned dev, unsigned fn,
		   const char *canonical)
{
	struct pci_bdf b;
	char why[256], out[PCI_BDF_STRLEN];

	if (pci_bdf_parse(&b, text, why, sizeof(why)) < 0) {
		print_error("\"%s\": %s\n", text, why);
		fail();
	}
	assert_int_equal(b.domain, dom);
	assert_int_equal(b.bus, bus);
	assert_int_equal(b.dev, dev);
	assert_int_equal(b.func, fn);
	assert_int_equal(pci_bdf_format(&b, out, sizeof(out)), 12);
	assert_string_equal(out, canonical);
}

static void test_bdf_valid(void **state)
{
	bdf_ok("0000:03:00.0", 0, 3, 0, 0, "0000:03:00.0");
	bdf_ok("03:00.1", 0, 3, 0, 1, "0000:03:00.1");
	bdf_ok("ffff:ff:1f.7", 0xffff, 0xff, 0x1f, 7, "ffff:ff:1f.7");
	bdf_ok("000A:0B:1C.3", 0xa, 0xb, 0x1c, 3, "000a:0b:1c.3");
}

static void bdf_bad(const char *text, const char *expected)
{
	struct pci_bdf b;
	char why[256];

	assert_true(pci_bdf_parse(&b, text, why, sizeof(why)) < 0);
	assert_string_equal(why, expected);
}

static void test_bdf_malformed(void **state)
{
	bdf_bad("0000:00:1g.0", "bad PCI device \"0000:00:1g.0\": device \"1g\" is not 2 hex digits");
	bdf_bad("", "bad PCI device \"\": expected [DDDD:]BB:DD.F");
	bdf_bad("03", "bad PCI device \"03\": expected [DDDD:]BB:DD.F");
	bdf_bad("000:03:00.0", "bad PCI device \"000:03:00.0\": domain \"000\" is not 4 hex digits");
	bdf_bad("00000:03:00.0", "bad PCI device \"00000:03:00.0\": domain \"00000\" is not 4 hex digits");
	bdf_bad("zzzz:03:00.0", "bad PCI device \"zzzz:03:00.0\": domain \"zzzz\" is not 4 hex digits");
	bdf_bad("0000:3:00.0", "bad PCI device \"0000:3:00.0\": bus \"3\" is not 2 hex digits");
	bdf_bad("0000:003:00.0", "bad PCI device \"0000:003:00.0\": bus \"003\" is not 2 hex digits");
	bdf_bad(":00.0", "bad PCI device \":00.0\": bus \"\" is not 2 hex digits");
	bdf_bad("03:0.0", "bad PCI device \"03:0.0\": device \"0\" is not 2 hex digits");
	bdf_bad("03:20.0", "bad PCI device \"03:20.0\": device \"20\" is out of range (00-1f)");
	bdf_bad("03:00", "bad PCI device \"03:00\": expected DD.F (device.function) after the bus, got \"00\"");
	bdf_bad("03:00.8", "bad PCI device \"03:00.8\": function \"8\" is not a digit 0-7");
	bdf_bad("03:00.", "bad PCI device \"03:00.\": function \"\" is not a digit 0-7");
	bdf_bad("03:00.10", "bad PCI device \"03:00.10\": function \"10\" is not a digit 0-7");
	bdf_bad("03:00.a", "bad PCI device \"03:00.a\": function \"a\" is not a digit 0-7");
	bdf_bad("0000:0000:03:00.0", "bad PCI device \"0000:0000:03:00.0\": too many ':' (expected [DDDD:]BB:DD.F)");
	bdf_bad("03:00.0@2", "bad PCI device \"03:00.0@2\": function \"0@2\" is not a digit 0-7");
}

static void spec_ok(const char *text, struct ts_pcidev *d)
{
	char why[256];

	if (pci_spec_parse(d, text, why, sizeof(why)) < 0) {
		print_error("\"%s\": %s\n", text, why);
		fail();
	}
}

static void spec_bad(const char *text, const char *expected)
{
	struct ts_pcidev d;
	char why[512];

	assert_true(pci_spec_parse(&d, text, why, sizeof(why)) < 0);
	assert_string_equal(why, expected);
}

static void test_spec_options(void **state)
{
	struct ts_pcidev d;

	spec_ok("0000:03:00.0", &d);
	assert_int_equal(d.vslot, -1);
	assert_int_equal(d.permissive, -1);
	assert_int_equal(d.rdm_policy, TS_RDM_UNSET);
	spec_ok("03:00.1@1f,permissive=1,msitranslate=0,seize=1,power_mgmt=1,rdm_policy=strict", &d);
	assert_int_equal(d.bdf.func, 1);
	assert_int_equal(d.vslot, 0x1f);
	assert_int_equal(d.permissive, 1);
	assert_int_equal(d.msitranslate, 0);
	assert_int_equal(d.seize, 1);
	assert_int_equal(d.power_mgmt, 1);
	assert_int_equal(d.rdm_policy, TS_RDM_STRICT);
	spec_ok(" 03:00.0@5 , rdm_policy = relaxed ", &d);
	assert_int_equal(d.vslot, 5);
	assert_int_equal(d.rdm_policy, TS_RDM_RELAXED);
}

static void test_spec_malformed(void **state)
{
	spec_bad("03:00.0@", "bad PCI device \"03:00.0@\": vslot \"\" is not a hex slot number 00-1f");
	spec_bad("03:00.0@xy", "bad PCI device \"03:00.0@xy\": vslot \"xy\" is not a hex slot number 00-1f");
	spec_bad("03:00.0@123", "bad PCI device \"03:00.0@123\": vslot \"123\" is not a hex slot number 00-1f");
	spec_bad("03:00.0@20", "bad PCI device \"03:00.0@20\": vslot \"20\" is out of range (00-1f)");
	spec_bad("03:00.0,permissive=yes",
		 "bad PCI device \"03:00.0,permissive=yes\": permissive: expected 0 or 1, got \"yes\"");
	spec_bad("03:00.0,seize=2", "bad PCI device \"03:00.0,seize=2\": seize: expected 0 or 1, got \"2\"");
	spec_bad("03:00.0,permissive",
		 "bad PCI device \"03:00.0,permissive\": option \"permissive\" needs a value (KEY=VALUE)");
	spec_bad("03:00.0,rdm_policy=loose",
		 "bad PCI device \"03:00.0,rdm_policy=loose\": rdm_policy: expected strict or relaxed, got \"loose\"");
	spec_bad("03:00.0,vslot=2", "bad PCI device \"03:00.0,vslot=2\": unknown option \"vslot\" "
		 "(expected permissive, msitranslate, seize, power_mgmt or rdm_policy)");
	spec_bad("3:00.0,seize=1", "bad PCI device \"3:00.0,seize=1\": bus \"3\" is not 2 hex digits");
}

static void test_bdf_equal_and_truncation(void **state)
{
	struct pci_bdf a = { 0, 3, 0, 1 }, b = { 0, 3, 0, 1 }, c = { 1, 3, 0, 1 };
	char small[5];

	assert_true(pci_bdf_equal(&a, &b));
	assert_false(pci_bdf_equal(&a, &c));
	assert_int_equal(pci_bdf_format(&a, small, sizeof(small)), 12);
	assert_string_equal(small, "0000");
}

/* ---- fake sysfs -------------------------------------------------------------- */

struct fake {
	char root[64];
	char sys[128];
	char state[128];
};

static void mkdirs(const char *fmt, ...)
{
	char path[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	for (char *p = path + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static void touch(const struct fake *f, const char *rel)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->sys, rel);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static char *read_rel(const struct fake *f, const char *rel)
{
	static char buf[512];
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->sys, rel);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void add_driver(const struct fake *f, const char *name)
{
	char rel[256];

	mkdirs("%s/bus/pci/drivers/%s", f->sys, name);
	snprintf(rel, sizeof(rel), "bus/pci/drivers/%s/bind", name);
	touch(f, rel);
	snprintf(rel, sizeof(rel), "bus/pci/drivers/%s/unbind", name);
	touch(f, rel);
}

/* Points the device's driver link at drivers/<name>, as the kernel does
 * after a bind ("" unbinds). */
static void set_bound_driver(const struct fake *f, const char *bdf, const char *name)
{
	char link[512], target[256];

	snprintf(link, sizeof(link), "%s/bus/pci/devices/%s/driver", f->sys, bdf);
	unlink(link);
	if (!*name)
		return;
	snprintf(target, sizeof(target), "../../drivers/%s", name);
	assert_int_equal(symlink(target, link), 0);
}

static void add_device(const struct fake *f, const char *bdf, const char *driver)
{
	char rel[256];

	mkdirs("%s/bus/pci/devices/%s", f->sys, bdf);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/driver_override", bdf);
	touch(f, rel);
	set_bound_driver(f, bdf, driver);
}

static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	snprintf(f->root, sizeof(f->root), "/tmp/kxen-sysfs-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->root);
	snprintf(f->state, sizeof(f->state), "%s/state", f->root);
	mkdirs("%s/bus/pci/devices", f->sys);
	touch(f, "bus/pci/drivers_probe");
	add_driver(f, "e1000e");
	add_driver(f, "vfio-pci");
	add_device(f, "0000:03:00.0", "e1000e");
	add_device(f, "0000:03:00.1", "e1000e");
	add_device(f, "0000:00:1f.3", "");
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	return remove(path);
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;

	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct pci_bdf bdf_of(const char *text)
{
	struct pci_bdf b;
	char why[128];

	assert_int_equal(pci_bdf_parse(&b, text, why, sizeof(why)), 0);
	return b;
}

static void test_add_records_and_unbinds(void **state)
{
	struct fake *f = *state;
	struct pci_bdf b = bdf_of("03:00.0");
	struct ts_error err;
	char note[256], driver[64];

	assert_int_equal(pci_assignable_add(f->sys, f->state, &b, note, sizeof(note), &err), 0);
	assert_string_equal(note, "");
	assert_string_equal(read_rel(f, "bus/pci/drivers/e1000e/unbind"), "0000:03:00.0");
	assert_string_equal(read_rel(f, "bus/pci/devices/0000:03:00.0/driver_override"), "vfio-pci");
	assert_string_equal(read_rel(f, "bus/pci/drivers_probe"), "0000:03:00.0");
	assert_int_equal(pci_assignable_lookup(f->state, &b, driver, sizeof(driver)), 0);
	assert_string_equal(driver, "e1000e");
	/* twice is an error, not a silent success */
	assert_int_equal(pci_assignable_add(f->sys, f->state, &b, note, sizeof(note), &err), -EEXIST);
	assert_string_equal(err.msg, "0000:03:00.0 is already assignable");
}

static void test_add_nonexistent_device(void **state)
{
	struct fake *f = *state;
	struct pci_bdf b = bdf_of("0000:42:00.0");
	struct ts_error err;
	char note[256], expected[512], msg[600];
	struct pci_bdf *list;
	size_t n;

	assert_int_equal(pci_assignable_add(f->sys, f->state, &b, note, sizeof(note), &err), -ENODEV);
	snprintf(expected, sizeof(expected),
		 "no such PCI device 0000:42:00.0 (%s/bus/pci/devices/0000:42:00.0 does not exist)",
		 f->sys);
	ts_error_format(&err, msg, sizeof(msg));
	assert_string_equal(msg, expected);
	assert_int_equal(pci_assignable_list(f->state, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	free(list);
}

static void test_remove_rebinds_to_remembered_driver(void **state)
{
	struct fake *f = *state;
	struct pci_bdf b = bdf_of("0000:03:00.0");
	struct ts_error err;
	char note[256], driver[64];

	assert_int_equal(pci_assignable_add(f->sys, f->state, &b, note, sizeof(note), &err), 0);
	set_bound_driver(f, "0000:03:00.0", "vfio-pci"); /* what drivers_probe did */
	assert_int_equal(pci_assignable_remove(f->sys, f->state, &b, true, &err), 0);
	assert_string_equal(read_rel(f, "bus/pci/drivers/vfio-pci/unbind"), "0000:03:00.0");
	assert_string_equal(read_rel(f, "bus/pci/devices/0000:03:00.0/driver_override"), "\n");
	assert_string_equal(read_rel(f, "bus/pci/drivers/e1000e/bind"), "0000:03:00.0");
	assert_int_equal(pci_assignable_lookup(f->state, &b, driver, sizeof(driver)), -ENOENT);
	/* and it is gone: removing again says so */
	assert_int_equal(pci_assignable_remove(f->sys, f->state, &b, true, &err), -ENOENT);
	assert_string_equal(err.msg, "0000:03:00.0 is not an assignable device "
			    "(see xl pci-assignable-list)");
}

static void test_remove_without_rebind_leaves_unbound(void **state)
{
	struct fake *f = *state;
	struct pci_bdf b = bdf_of("0000:03:00.1");
	struct ts_error err;
	char note[256];

	assert_int_equal(pci_assignable_add(f->sys, f->state, &b, note, sizeof(note), &err), 0);
	set_bound_driver(f, "0000:03:00.1", "vfio-pci");
	assert_int_equal(pci_assignable_remove(f->sys, f->state, &b, false, &err), 0);
	assert_string_equal(read_rel(f, "bus/pci/drivers/vfio-pci/unbind"), "0000:03:00.1");
	assert_string_equal(read_rel(f, "bus/pci/drivers/e1000e/bind"), "");
}

static void test_rebind_to_missing_driver_keeps_record(void **state)
{
	struct fake *f = *state;
	struct pci_bdf b = bdf_of("0000:03:00.0");
	struct ts_error err;
	char note[256], expected[512], driver[64], path[256];

	assert_int_equal(pci_assignable_add(f->sys, f->state, &b, note, sizeof(note), &err), 0);
	set_bound_driver(f, "0000:03:00.0", "vfio-pci");
	snprintf(path, sizeof(path), "%s/bus/pci/drivers/e1000e", f->sys);
	nftw(path, rm_entry, 4, FTW_DEPTH | FTW_PHYS); /* rmmod e1000e */
	assert_int_equal(pci_assignable_remove(f->sys, f->state, &b, true, &err), -ENOENT);
	snprintf(expected, sizeof(expected), "cannot give 0000:03:00.0 back to e1000e: that driver "
		 "is not loaded (%s does not exist)", path);
	assert_string_equal(err.msg, expected);
	assert_int_equal(pci_assignable_lookup(f->state, &b, driver, sizeof(driver)), 0);
	assert_string_equal(driver, "e1000e");
}

static void test_list_round_trip(void **state)
{
	struct fake *f = *state;
	const char *order[] = { "0000:03:00.1", "0000:00:1f.3", "0000:03:00.0" };
	struct ts_error err;
	struct pci_bdf *list;
	char note[256], *out = NULL;
	size_t n, len;
	FILE *mem;

	for (int i = 0; i < 3; i++) {
		struct pci_bdf b = bdf_of(order[i]);

		assert_int_equal(pci_assignable_add(f->sys, f->state, &b, note, sizeof(note), &err), 0);
	}
	assert_int_equal(pci_assignable_list(f->state, &list, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(list[0].bus, 0);
	assert_int_equal(list[1].func, 0);
	assert_int_equal(list[2].func, 1);
	free(list);
	mem = open_memstream(&out, &len);
	assert_int_equal(pci_assignable_print(f->state, mem, &err), 0);
	fclose(mem);
	assert_string_equal(out, "0000:00:1f.3\n0000:03:00.0\n0000:03:00.1\n");
	free(out);
	/* each printed line parses back to the same device */
	struct pci_bdf back = bdf_of("0000:00:1f.3");
	char driver[64];

	assert_int_equal(pci_assignable_lookup(f->state, &back, driver, sizeof(driver)), 0);
	assert_string_equal(driver, ""); /* it had no driver */
}

static void test_list_empty_state(void **state)
{
	struct fake *f = *state;
	struct ts_error err;
	char *out = NULL;
	size_t len;
	FILE *mem = open_memstream(&out, &len);

	assert_int_equal(pci_assignable_print(f->state, mem, &err), 0);
	fclose(mem);
	assert_string_equal(out, "");
	free(out);
}

static void test_add_without_stub_driver(void **state)
{
	struct fake *f = *state;
	struct pci_bdf b = bdf_of("0000:03:00.0");
	struct ts_error err;
	char note[256], path[256];

	snprintf(path, sizeof(path), "%s/bus/pci/drivers/vfio-pci", f->sys);
	nftw(path, rm_entry, 4, FTW_DEPTH | FTW_PHYS);
	assert_int_equal(pci_assignable_add(f->sys, f->state, &b, note, sizeof(note), &err), 0);
	assert_string_equal(note, "no stub driver (vfio-pci or pciback) is loaded: 0000:03:00.0 "
			    "is left unbound; load vfio-pci to pass it through");
	assert_string_equal(read_rel(f, "bus/pci/drivers/e1000e/unbind"), "0000:03:00.0");
	assert_string_equal(read_rel(f, "bus/pci/devices/0000:03:00.0/driver_override"), "");
	/* unbound now: remove -r binds straight back */
	set_bound_driver(f, "0000:03:00.0", "");
	assert_int_equal(pci_assignable_remove(f->sys, f->state, &b, true, &err), 0);
	assert_string_equal(read_rel(f, "bus/pci/drivers/e1000e/bind"), "0000:03:00.0");
}

static void test_add_with_pciback(void **state)
{
	struct fake *f = *state;
	struct pci_bdf b = bdf_of("0000:03:00.0");
	struct ts_error err;
	char note[256], path[256];

	snprintf(path, sizeof(path), "%s/bus/pci/drivers/vfio-pci", f->sys);
	nftw(path, rm_entry, 4, FTW_DEPTH | FTW_PHYS);
	add_driver(f, "pciback");
	touch(f, "bus/pci/drivers/pciback/new_slot");
	touch(f, "bus/pci/drivers/pciback/remove_slot");
	assert_int_equal(pci_assignable_add(f->sys, f->state, &b, note, sizeof(note), &err), 0);
	assert_string_equal(read_rel(f, "bus/pci/drivers/pciback/new_slot"), "0000:03:00.0");
	assert_string_equal(read_rel(f, "bus/pci/drivers/pciback/bind"), "0000:03:00.0");
	set_bound_driver(f, "0000:03:00.0", "pciback");
	assert_int_equal(pci_assignable_remove(f->sys, f->state, &b, true, &err), 0);
	assert_string_equal(read_rel(f, "bus/pci/drivers/pciback/unbind"), "0000:03:00.0");
	assert_string_equal(read_rel(f, "bus/pci/drivers/pciback/remove_slot"), "0000:03:00.0");
	assert_string_equal(read_rel(f, "bus/pci/drivers/e1000e/bind"), "0000:03:00.0");
}

static void test_add_already_on_stub(void **state)
{
	struct fake *f = *state;
	struct pci_bdf b = bdf_of("0000:03:00.0");
	struct ts_error err;
	char note[256], driver[64];

	set_bound_driver(f, "0000:03:00.0", "vfio-pci");
	assert_int_equal(pci_assignable_add(f->sys, f->state, &b, note, sizeof(note), &err), 0);
	assert_string_equal(note, "0000:03:00.0 was already bound to vfio-pci");
	assert_string_equal(read_rel(f, "bus/pci/drivers/vfio-pci/unbind"), "");
	assert_int_equal(pci_assignable_lookup(f->state, &b, driver, sizeof(driver)), 0);
	assert_string_equal(driver, "");
}

static void test_passthrough_support_missing_everything(void **state)
{
	struct fake *f = *state;
	struct pci_bdf b = bdf_of("0000:03:00.0");
	char msg[1024], expected[1024], path[256];

	snprintf(path, sizeof(path), "%s/bus/pci/drivers/vfio-pci", f->sys);
	nftw(path, rm_entry, 4, FTW_DEPTH | FTW_PHYS);
	mkdirs("%s/kernel/iommu_groups", f->sys); /* present but empty */
	assert_int_equal(pci_check_passthrough_support(f->sys, &b, msg, sizeof(msg)), -ENOTSUP);
	snprintf(expected, sizeof(expected),
		 "cannot pass 0000:03:00.0 through: no IOMMU (%s/kernel/iommu_groups is empty: "
		 "enable VT-d/AMD-Vi in the firmware and boot with intel_iommu=on or "
		 "amd_iommu=on); 0000:03:00.0 has no iommu_group; the vfio-pci module is not "
		 "loaded (modprobe vfio-pci)", f->sys);
	assert_string_equal(msg, expected);
}

static void test_passthrough_support_ok_and_partial(void **state)
{
	struct fake *f = *state;
	struct pci_bdf b = bdf_of("0000:03:00.0"), other = bdf_of("0000:03:00.1");
	struct pci_bdf none = bdf_of("0000:09:00.0");
	char msg[1024], link[256], expected[512];

	mkdirs("%s/kernel/iommu_groups/12/devices", f->sys);
	snprintf(link, sizeof(link), "%s/bus/pci/devices/0000:03:00.0/iommu_group", f->sys);
	assert_int_equal(symlink("../../../../kernel/iommu_groups/12", link), 0);
	assert_int_equal(pci_check_passthrough_support(f->sys, &b, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(pci_check_passthrough_support(f->sys, &other, msg, sizeof(msg)), -ENOTSUP);
	assert_string_equal(msg, "cannot pass 0000:03:00.1 through: 0000:03:00.1 has no iommu_group");
	assert_int_equal(pci_check_passthrough_support(f->sys, &none, msg, sizeof(msg)), -ENODEV);
	snprintf(expected, sizeof(expected), "no such PCI device 0000:09:00.0 "
		 "(%s/bus/pci/devices/0000:09:00.0 does not exist)", f->sys);
	assert_string_equal(msg, expected);
}

#define F(t) cmocka_unit_test_setup_teardown(t, fake_setup, fake_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bdf_valid),
		cmocka_unit_test(test_bdf_malformed),
		cmocka_unit_test(test_spec_options),
		cmocka_unit_test(test_spec_malformed),
		cmocka_unit_test(test_bdf_equal_and_truncation),
		F(test_add_records_and_unbinds),
		F(test_add_nonexistent_device),
		F(test_remove_rebinds_to_remembered_driver),
		F(test_remove_without_rebind_leaves_unbound),
		F(test_rebind_to_missing_driver_keeps_record),
		F(test_list_round_trip),
		F(test_list_empty_state),
		F(test_add_without_stub_driver),
		F(test_add_with_pciback),
		F(test_add_already_on_stub),
		F(test_passthrough_support_missing_everything),
		F(test_passthrough_support_ok_and_partial),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
