/*
 * idle: a guest that stays alive.  It prints a heartbeat line once a
 * second, sleeping in SCHEDOP_block on its one-shot timer in between, and
 * never stops by itself.  Used where a test needs a running domain beside
 * another one (the hostile-guest test) or one to destroy while it runs.
 * "period_ms=N" on the command line sets another period (10..10000); each
 * line also says how long the last period really took ("gap N ms"), which
 * shows a neighbour starving it (tests/e2e/batch-neighbour.sh).
 */
#include "guest.h"

const char test_name[] = "idle";

#define SECOND 1000000000ull
#define MS     1000000ull

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

static uint64_t parse_period(void)
{
	const char *p = (const char *)start_info->cmd_line;
	unsigned long ms;

	while (*p == ' ')
		p++;
	if (!*p)
		return SECOND;
	if (memcmp(p, "period_ms=", 10) || !parse_ulong(p + 10, &ms) || ms < 10 || ms > 10000)
		test_fail("bad command line \"%s\" (want period_ms=10..10000)", p);
	return ms * MS;
}

void test_main(void)
{
	uint64_t period = parse_period(), last;
	evtchn_port_t tport;
	events_init();
	EXPECT_EQ(evtchn_bind_virq(VIRQ_TIMER, 0, &tport), 0);
	evtchn_handler[tport] = timer_handler;
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL), 0);
	printk("idle: up, heartbeat every %lu ms\n", (unsigned long)(period / MS));
	last = xen_now(0);
	for (unsigned long beat = 1;; beat++) {
		sleep_until(last + period);
		uint64_t now = xen_now(0);
		printk("idle: heartbeat %lu gap %lu ms\n", beat, (unsigned long)((now - last) / MS));
		last = now;
	}
}
