/*
 * hello: the smallest useful guest.
 *
 * Checks console_io(CONSOLEIO_write) (every other guest reports through
 * it), xen_version(version / extraversion / get_features) and, by ending,
 * sched_op(SCHEDOP_shutdown, poweroff).  Linux panics without features 5
 * (mmu_pt_update_preserve_ad) and 7 (gnttab_map_avail_bits) and prints the
 * extraversion unconditionally, so both must be right.
 */
#include "guest.h"

const char test_name[] = "hello";

void check_version_info(void);

void check_version_info(void)
{
	char extra[16];
	struct xen_feature_info fi = { .submap_idx = 0 };
	long ver, rc;

	ver = HYPERVISOR_xen_version(XENVER_version, NULL);
	printk("hello: xen_version = %ld.%ld (%#lx)\n", ver >> 16, ver & 0xffff,
	       (unsigned long)ver);
	CHECK(ver > 0, "xen_version(XENVER_version) returned %ld", ver);
	CHECK((ver >> 16) >= 3, "major version %ld < 3", ver >> 16);

	memset(extra, 0x5a, sizeof(extra));
	rc = HYPERVISOR_xen_version(XENVER_extraversion, extra);
	EXPECT_EQ(rc, 0);
	CHECK(strnlen(extra, sizeof(extra)) < sizeof(extra),
	      "extraversion is not NUL-terminated within 16 bytes");
	printk("hello: extraversion \"%s\"\n", extra);

	fi.submap = 0xdeadbeef;
	rc = HYPERVISOR_xen_version(XENVER_get_features, &fi);
	EXPECT_EQ(rc, 0);
	printk("hello: features[0] = %#x\n", fi.submap);
	CHECK(fi.submap & (1u << XENFEAT_mmu_pt_update_preserve_ad),
	      "feature 5 (mmu_pt_update_preserve_ad) missing: %#x", fi.submap);
	CHECK(fi.submap & (1u << XENFEAT_gnttab_map_avail_bits),
	      "feature 7 (gnttab_map_avail_bits) missing: %#x", fi.submap);
	CHECK(!(fi.submap & (1u << XENFEAT_auto_translated_physmap)),
	      "PV guest told it is auto-translated: %#x", fi.submap);
}

void test_main(void)
{
	static const char msg[] = "hello: console_io write works\n";
	long rc;

	/* Xen returns 0; a byte count would be harmless too. */
	rc = HYPERVISOR_console_io(CONSOLEIO_write, sizeof(msg) - 1, msg);
	CHECK(rc >= 0, "console_io(CONSOLEIO_write) returned %ld", rc);
	check_version_info();
}
