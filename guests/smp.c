/*
 * smp: bringing up a second vCPU and IPIs (run with --vcpus 2).
 *
 * VCPUOP_is_up says vCPU 0 up, vCPU 1 down, vCPU 2 nonexistent (< 0).
 * VCPUOP_initialise(1) with a vcpu_guest_context (RIP = ap_main on its own
 * stack, our L4 in ctrlreg[3], our trap table, an event callback) and
 * VCPUOP_up start it; it sets a flag.  IPIs both ways over
 * EVTCHNOP_bind_ipi ports: vCPU 0 wakes vCPU 1 out of SCHEDOP_block, vCPU 1
 * answers, then takes itself down with VCPUOP_down and is_up(1) turns 0.
 * All waits are bounded by the pvclock (5 s) while yielding.
 */
#include "guest.h"

const char test_name[] = "smp";

#define WAIT_NS 5000000000ull

static struct vcpu_guest_context ctx;
static uint8_t ap_stack[4 * PAGE_SIZE] PAGE_ALIGNED;
static volatile int ap_state;             /* 1 running, 2 answered, 3 down failed */
static evtchn_port_t to_ap, to_bsp;       /* IPI ports bound to vCPU 1 / 0 */

_Noreturn void ap_main(void);

_Noreturn void ap_main(void)
{
	WRITE_ONCE(ap_state, 1);
	/* SCHEDOP_block unmasks events; the upcall counts the IPI. */
	while (!evtchn_count[to_ap])
		HYPERVISOR_sched_op(SCHEDOP_block, NULL);
	events_mask_vcpu(1);
	evtchn_send(to_bsp);
	WRITE_ONCE(ap_state, 2);
	HYPERVISOR_vcpu_op(VCPUOP_down, 1, NULL);
	WRITE_ONCE(ap_state, 3);
	for (;;)
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
}

static bool wait_for(volatile int *what, int value)
{
	uint64_t end = xen_now(0) + WAIT_NS;

	while (READ_ONCE(*what) != value && xen_now(0) < end)
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	return READ_ONCE(*what) == value;
}

static void build_context(void)
{
	uint64_t l4_mfn = va_to_mfn((void *)start_info->pt_base);

	memset(&ctx, 0, sizeof(ctx));
	ctx.flags = VGCF_IN_KERNEL;
	ctx.user_regs.rip = (uintptr_t)ap_main;
	/* As if called: RSP + 8 is 16-byte aligned at function entry. */
	ctx.user_regs.rsp = (uintptr_t)(ap_stack + sizeof(ap_stack)) - 8;
	ctx.user_regs.cs = FLAT_KERNEL_CS;
	ctx.user_regs.ss = FLAT_KERNEL_SS;
	ctx.user_regs.rflags = 1u << 9;
	ctx.kernel_ss = FLAT_KERNEL_SS;
	ctx.kernel_sp = (uintptr_t)(ap_stack + sizeof(ap_stack));
	ctx.ctrlreg[3] = l4_mfn << 12;
	ctx.event_callback_eip = (uintptr_t)event_entry_cpu1;
	for (struct trap_info *t = trap_table; t->address; t++)
		ctx.trap_ctxt[t->vector] = *t;
}

void test_main(void)
{
	long rc;

	events_init();
	traps_init();

	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_is_up, 0, NULL), 1);
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL), 0);
	rc = HYPERVISOR_vcpu_op(VCPUOP_is_up, 2, NULL);
	CHECK(rc < 0, "is_up(2) = %ld for a 2-vCPU domain", rc);

	EXPECT_EQ(evtchn_bind_ipi(1, &to_ap), 0);
	EXPECT_EQ(evtchn_bind_ipi(0, &to_bsp), 0);
	CHECK(to_ap < EVTCHN_MAX && to_bsp < EVTCHN_MAX && to_ap != to_bsp,
	      "IPI ports %u, %u", to_ap, to_bsp);
	printk("smp: IPI ports: to vCPU 1 %u, to vCPU 0 %u\n", to_ap, to_bsp);

	build_context();
	shared_info->vcpu_info[1].evtchn_upcall_mask = 1;
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx), 0);
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL), 0);
	CHECK(wait_for(&ap_state, 1), "vCPU 1 did not run ap_main within 5 s");
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL), 1);
	printk("smp: vCPU 1 is running\n");

	events_unmask_vcpu(0);
	EXPECT_EQ(evtchn_send(to_ap), 0);
	CHECK(wait_for(&ap_state, 2), "vCPU 1 did not get the IPI (state %d)", ap_state);
	{
		uint64_t end = xen_now(0) + WAIT_NS;

		while (!evtchn_count[to_bsp] && xen_now(0) < end)
			HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	}
	CHECK(evtchn_count[to_bsp] == 1, "IPI from vCPU 1 delivered %u times",
	      evtchn_count[to_bsp]);
	events_mask_vcpu(0);
	printk("smp: IPIs delivered both ways\n");

	{
		uint64_t end = xen_now(0) + WAIT_NS;

		while (HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL) != 0 && xen_now(0) < end)
			HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	}
	CHECK(ap_state != 3, "VCPUOP_down on itself returned on vCPU 1");
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL), 0);
	printk("smp: vCPU 1 took itself down\n");
}
