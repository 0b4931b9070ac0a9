/*
 * idle: a guest that stays alive.  It prints a heartbeat line once a
 * second, sleeping in SCHEDOP_block on its one-shot timer in between, and
 * never stops by itself.  Used where a test needs a running domain beside
 * another one (the hostile-guest test) or one to destroy while it runs.
 */
#include "guest.h"

const char test_name[] = "idle";

#define SECOND 1000000000ull

static volatile uint64_t ticks;

static void timer_handler(evtchn_port_t port)
{
	(void)port;
	ticks++;
}

static void sleep_until(uint64_t deadline)
{
	struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = deadline };
	uint64_t seen = ticks;
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &t), 0);
	while (ticks == seen) {
		events_mask_vcpu(0);
		if (ticks != seen)
			break;
		/* Blocking re-enables events atomically ("sti; hlt"). */
		EXPECT_EQ(HYPERVISOR_sched_op(SCHEDOP_block, NULL), 0);
	}
}

void test_main(void)
{
	evtchn_port_t tport;
	events_init();
	EXPECT_EQ(evtchn_bind_virq(VIRQ_TIMER, 0, &tport), 0);
	evtchn_handler[tport] = timer_handler;
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL), 0);
	printk("idle: up, heartbeat every second\n");
	for (unsigned long beat = 1;; beat++) {
		sleep_until(xen_now(0) + SECOND);
		printk("idle: heartbeat %lu\n", beat);
	}
}
