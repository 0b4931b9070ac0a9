/*
 * multicall: a batch runs every entry in order, stores each entry's own
 * result, carries on after a failing entry and returns 0 overall.
 *
 * Batch: xen_version(version), console_io(write), an unused hypercall
 * number (-ENOSYS in its result), a number beyond the table (-ENOSYS),
 * xen_version(get_features) writing through its pointer.  Also: an empty
 * batch returns 0.
 */
#include "guest.h"

const char test_name[] = "multicall";

static struct multicall_entry calls[5];

void test_main(void)
{
	static const char msg[] = "multicall: this line comes from inside a multicall\n";
	struct xen_feature_info fi = { .submap_idx = 0, .submap = 0 };
	long ver = HYPERVISOR_xen_version(XENVER_version, NULL);
	long rc;

	CHECK(ver > 0, "xen_version returned %ld", ver);

	calls[0] = (struct multicall_entry){
		.op = __HYPERVISOR_xen_version, .args = { XENVER_version, 0 } };
	calls[1] = (struct multicall_entry){
		.op = __HYPERVISOR_console_io,
		.args = { CONSOLEIO_write, sizeof(msg) - 1, (uintptr_t)msg } };
	calls[2] = (struct multicall_entry){ .op = 45, .args = { 1, 2, 3 } };
	calls[3] = (struct multicall_entry){ .op = 1000 };
	calls[4] = (struct multicall_entry){
		.op = __HYPERVISOR_xen_version,
		.args = { XENVER_get_features, (uintptr_t)&fi } };
	for (unsigned i = 0; i < ARRAY_SIZE(calls); i++)
		calls[i].result = 0xdeadbeefull;

	rc = HYPERVISOR_multicall(calls, ARRAY_SIZE(calls));
	for (unsigned i = 0; i < ARRAY_SIZE(calls); i++)
		printk("multicall: entry %u op %lu result %ld\n", i,
		       (unsigned long)calls[i].op, (long)calls[i].result);
	EXPECT_EQ(rc, 0);
	EXPECT_EQ(calls[0].result, ver);
	CHECK((long)calls[1].result >= 0, "console_io entry result %ld", (long)calls[1].result);
	EXPECT_EQ(calls[2].result, -XEN_ENOSYS);
	EXPECT_EQ(calls[3].result, -XEN_ENOSYS);
	EXPECT_EQ(calls[4].result, 0);
	CHECK((fi.submap & 0xa0) == 0xa0, "get_features inside multicall: %#x", fi.submap);

	EXPECT_EQ(HYPERVISOR_multicall(calls, 0), 0);
}
