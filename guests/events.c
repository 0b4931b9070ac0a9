/*
 * events: event channels, the upcall and the one-shot timer.
 *
 * 1. VIRQ_TIMER + VCPUOP_set_singleshot_timer(now + 1 ms) with events
 *    unmasked while yielding: the upcall arrives, not before the deadline.
 * 2. The same while blocked in SCHEDOP_block with events masked (block
 *    must unmask atomically, like "sti; hlt"): block returns after the
 *    upcall ran.
 * 3. EVTCHNOP_alloc_unbound + bind_interdomain to ourselves: EVTCHNOP_send
 *    on one end raises the other, delivered on the return from send.
 * 4. A masked port (evtchn_mask) stays pending and undelivered until
 *    EVTCHNOP_unmask; a masked vCPU (upcall_mask) gets nothing until it
 *    unmasks; EVTCHNOP_close makes send fail.
 * The periodic timer is stopped first so only our timer raises VIRQ_TIMER.
 */
#include "guest.h"

const char test_name[] = "events";

#define MS 1000000ull
/* Allowance for the guest's pvclock reading a little behind the
 * hypervisor's clock (both derive from the TSC with rounding). */
#define CLOCK_SLACK_NS 20000ull

static volatile uint64_t timer_fired_at;

static void timer_handler(evtchn_port_t port)
{
	(void)port;
	if (!timer_fired_at)
		timer_fired_at = xen_now(0);
}

static uint64_t arm_timer(uint64_t delay)
{
	struct vcpu_set_singleshot_timer t;
	long rc;

	timer_fired_at = 0;
	t = (struct vcpu_set_singleshot_timer){ .timeout_abs_ns = xen_now(0) + delay };
	rc = HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &t);
	EXPECT_EQ(rc, 0);
	return t.timeout_abs_ns;
}

static void check_timer_yield(evtchn_port_t tport)
{
	uint64_t start = xen_now(0), deadline = arm_timer(MS);

	events_unmask_vcpu(0);
	while (!timer_fired_at && xen_now(0) < deadline + 2000 * MS)
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	events_mask_vcpu(0);
	CHECK(timer_fired_at, "VIRQ_TIMER upcall did not arrive within 2 s of the deadline "
	      "(pending %d, upcall_pending %u)", evtchn_is_pending(tport),
	      shared_info->vcpu_info[0].evtchn_upcall_pending);
	CHECK(timer_fired_at + CLOCK_SLACK_NS >= deadline,
	      "timer fired %lu ns before its deadline",
	      (unsigned long)(deadline - timer_fired_at));
	printk("events: singleshot timer (yield): fired after %lu us\n",
	       (unsigned long)((timer_fired_at - start) / 1000));
}

static void check_timer_block(void)
{
	uint64_t start = xen_now(0), deadline;
	long rc;
	int blocks = 0;

	events_mask_vcpu(0);
	deadline = arm_timer(MS);
	printk("events: SCHEDOP_block until the timer fires\n");
	/* Block unmasks; a wakeup without our upcall just blocks again. */
	while (!timer_fired_at && blocks++ < 100) {
		rc = HYPERVISOR_sched_op(SCHEDOP_block, NULL);
		EXPECT_EQ(rc, 0);
		CHECK(shared_info->vcpu_info[0].evtchn_upcall_mask == 0,
		      "SCHEDOP_block did not clear evtchn_upcall_mask");
		events_mask_vcpu(0);
	}
	CHECK(timer_fired_at, "timer upcall did not arrive around SCHEDOP_block");
	CHECK(timer_fired_at + CLOCK_SLACK_NS >= deadline,
	      "timer fired %lu ns before its deadline",
	      (unsigned long)(deadline - timer_fired_at));
	CHECK(xen_now(0) >= start + MS - CLOCK_SLACK_NS, "less than 1 ms passed");
	printk("events: singleshot timer (block): woke after %lu us, %d block(s)\n",
	       (unsigned long)((xen_now(0) - start) / 1000), blocks);
}

/* Sends on `from`; `to` must have been delivered on return (or not). */
static void send_expect(evtchn_port_t from, evtchn_port_t to, uint32_t want_count,
                        const char *what)
{
	EXPECT_EQ(evtchn_send(from), 0);
	if (evtchn_count[to] != want_count) {
		uint32_t now = evtchn_count[to];

		HYPERVISOR_xen_version(XENVER_version, NULL);   /* doorbell */
		test_fail("%s: port %u count %u after EVTCHNOP_send(%u), expected %u "
		          "(%u after another hypercall; pending %d, upcall_pending %u, mask %u)",
		          what, to, now, from, want_count, evtchn_count[to],
		          evtchn_is_pending(to), shared_info->vcpu_info[0].evtchn_upcall_pending,
		          shared_info->vcpu_info[0].evtchn_upcall_mask);
	}
}

static void check_self_channel(void)
{
	evtchn_port_t a, b;
	uint32_t ca, cb;

	EXPECT_EQ(evtchn_alloc_unbound(DOMID_SELF, &a), 0);
	EXPECT_EQ(evtchn_bind_interdomain(DOMID_SELF, a, &b), 0);
	printk("events: self channel: ports %u <-> %u\n", a, b);
	CHECK(a != 0 && b != 0 && a != b, "bad ports %u, %u", a, b);
	CHECK(a < EVTCHN_MAX && b < EVTCHN_MAX, "ports beyond %u", EVTCHN_MAX);

	events_unmask_vcpu(0);
	ca = evtchn_count[a];
	cb = evtchn_count[b];
	send_expect(b, a, ca + 1, "send to the unbound end's peer");
	EXPECT_EQ(evtchn_count[b], cb);
	send_expect(a, b, cb + 1, "send the other way");
	printk("events: EVTCHNOP_send delivered on both ends\n");

	/* Port masked: stays pending, delivered by EVTCHNOP_unmask. */
	evtchn_mask_port(a);
	send_expect(b, a, ca + 1, "send to a masked port");
	HYPERVISOR_xen_version(XENVER_version, NULL);
	EXPECT_EQ(evtchn_count[a], ca + 1);
	CHECK(evtchn_is_pending(a), "masked port %u not left pending", a);
	EXPECT_EQ(evtchn_unmask(a), 0);
	EXPECT_EQ(evtchn_count[a], ca + 2);
	CHECK(!evtchn_is_pending(a), "port %u still pending after delivery", a);
	printk("events: port mask holds the event until EVTCHNOP_unmask\n");

	/* vCPU masked: nothing until the mask is cleared. */
	events_mask_vcpu(0);
	EXPECT_EQ(evtchn_send(b), 0);
	HYPERVISOR_xen_version(XENVER_version, NULL);
	EXPECT_EQ(evtchn_count[a], ca + 2);
	CHECK(shared_info->vcpu_info[0].evtchn_upcall_pending,
	      "upcall_pending not set for an event on a masked vCPU");
	events_unmask_vcpu(0);
	EXPECT_EQ(evtchn_count[a], ca + 3);
	printk("events: upcall mask holds delivery until unmasked\n");

	EXPECT_EQ(evtchn_close(b), 0);
	CHECK(evtchn_send(b) < 0, "send on a closed port succeeded");
	EXPECT_EQ(evtchn_close(a), 0);
	events_mask_vcpu(0);
}

void test_main(void)
{
	evtchn_port_t tport;
	long rc;

	events_init();
	traps_init();
	rc = HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
	EXPECT_EQ(rc, 0);
	EXPECT_EQ(evtchn_bind_virq(VIRQ_TIMER, 0, &tport), 0);
	CHECK(tport != 0 && tport < EVTCHN_MAX, "VIRQ_TIMER port %u", tport);
	evtchn_handler[tport] = timer_handler;
	printk("events: VIRQ_TIMER on port %u\n", tport);

	check_timer_yield(tport);
	check_timer_block();
	check_self_channel();
}
