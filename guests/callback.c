/*
 * callback: CALLBACKOP_register/unregister as Xen answers a 64-bit guest.
 * Xen keeps the 32-bit entry points (syscall32 = 7, sysenter = 5) for
 * 64-bit guests too -- XTF and other kernels register them and stop when
 * refused -- retired the number 3, takes the NMI callback into the trap
 * table, refuses non-canonical addresses, and lets only the NMI callback be
 * unregistered (the others can only be replaced).
 */
#include "guest.h"

const char test_name[] = "callback";

static long reg(unsigned type, unsigned flags, uint64_t address)
{
	struct callback_register r = { .type = (uint16_t)type, .flags = (uint16_t)flags,
	                               .address = address };
	return HYPERVISOR_callback_op(CALLBACKOP_register, &r);
}

static long unreg(unsigned type)
{
	struct callback_unregister u = { .type = (uint16_t)type };
	return HYPERVISOR_callback_op(CALLBACKOP_unregister, &u);
}

static void nop_entry(void) {}

void test_main(void)
{
	uint64_t entry = (uintptr_t)nop_entry;

	EXPECT_EQ(reg(CALLBACKTYPE_event, 0, (uintptr_t)event_entry_cpu0), 0);
	EXPECT_EQ(reg(CALLBACKTYPE_failsafe, CALLBACKF_mask_events, entry), 0);
	EXPECT_EQ(reg(CALLBACKTYPE_syscall, CALLBACKF_mask_events, (uintptr_t)syscall_entry), 0);
	EXPECT_EQ(reg(CALLBACKTYPE_syscall32, CALLBACKF_mask_events, entry), 0);
	EXPECT_EQ(reg(CALLBACKTYPE_sysenter, 0, entry), 0);
	EXPECT_EQ(reg(CALLBACKTYPE_nmi, 0, entry), 0);
	printk("callback: event, failsafe, syscall, syscall32, sysenter, nmi registered\n");

	EXPECT_EQ(reg(CALLBACKTYPE_sysenter_deprecated, 0, entry), -XEN_ENOSYS);
	EXPECT_EQ(reg(6, 0, entry), -XEN_ENOSYS);
	EXPECT_EQ(reg(99, 0, entry), -XEN_ENOSYS);
	EXPECT_EQ(reg(CALLBACKTYPE_syscall32, 0, 0x0000800000000000ull), -XEN_EINVAL);
	EXPECT_EQ(reg(CALLBACKTYPE_sysenter, 0, 0x8000000000000000ull), -XEN_EINVAL);
	EXPECT_EQ(reg(CALLBACKTYPE_nmi, 0, 0x1234567812345678ull), -XEN_EINVAL);
	EXPECT_EQ(HYPERVISOR_callback_op(2, NULL), -XEN_ENOSYS);
	EXPECT_EQ(HYPERVISOR_callback_op(CALLBACKOP_register, (void *)0x10), -XEN_EFAULT);
	printk("callback: retired, unknown and non-canonical registrations refused\n");

	EXPECT_EQ(unreg(CALLBACKTYPE_event), -XEN_EINVAL);
	EXPECT_EQ(unreg(CALLBACKTYPE_failsafe), -XEN_EINVAL);
	EXPECT_EQ(unreg(CALLBACKTYPE_syscall), -XEN_EINVAL);
	EXPECT_EQ(unreg(CALLBACKTYPE_syscall32), -XEN_EINVAL);
	EXPECT_EQ(unreg(CALLBACKTYPE_sysenter), -XEN_EINVAL);
	EXPECT_EQ(unreg(CALLBACKTYPE_nmi), 0);
	EXPECT_EQ(unreg(99), -XEN_ENOSYS);
	printk("callback: only the NMI callback unregisters\n");
}
