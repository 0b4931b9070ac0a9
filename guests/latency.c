/*
 * latency: a latency-sensitive guest for the scheduler benchmarks.  It
 * arms a one-shot timer (VCPUOP_set_singleshot_timer) a period ahead
 * (3 ms, or "period_us=N" on the command line, 100..1000000), blocks,
 * and when the VIRQ_TIMER upcall runs notes how late that is against the
 * deadline on its pvclock.  After SAMPLES wakeups it prints
 * "latency: round R: p50 X us p95 Y us p99 Z us max W us (N samples)" and
 * starts another round.  Never stops by itself.
 */
#include "guest.h"

const char test_name[] = "latency";

#define US 1000ull
#define SAMPLES 1000

static uint64_t period = 3000 * US;

static volatile uint64_t fired_at;
static uint32_t late_ns[SAMPLES];

static void timer_handler(evtchn_port_t port)
{
	(void)port;
	if (!fired_at)
		fired_at = xen_now(0);
}

static void sort(uint32_t *a, unsigned n)
{
	/* Shell sort: small, no recursion, fine for a thousand samples. */
	for (unsigned gap = n / 2; gap; gap /= 2)
		for (unsigned i = gap; i < n; i++)
			for (unsigned j = i; j >= gap && a[j - gap] > a[j]; j -= gap) {
				uint32_t t = a[j];
				a[j] = a[j - gap];
				a[j - gap] = t;
			}
}

static unsigned long pct_us(unsigned p)
{
	unsigned i = (SAMPLES * p + 99) / 100;
	return late_ns[i ? i - 1 : 0] / 1000;
}

static void parse_cmdline(void)
{
	const char *p = (const char *)start_info->cmd_line;
	unsigned long us;

	while (*p == ' ')
		p++;
	if (!*p)
		return;
	if (memcmp(p, "period_us=", 10) || !parse_ulong(p + 10, &us) || us < 100 ||
	    us > 1000000)
		test_fail("bad command line \"%s\" (want period_us=100..1000000)", p);
	period = us * US;
}

void test_main(void)
{
	evtchn_port_t tport;

	parse_cmdline();
	events_init();
	traps_init();
	HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
	if (evtchn_bind_virq(VIRQ_TIMER, 0, &tport) || !tport || tport >= EVTCHN_MAX) {
		printk("latency: cannot bind VIRQ_TIMER\n");
		return;
	}
	evtchn_handler[tport] = timer_handler;
	printk("latency: up, period %llu us, %u samples a round\n",
	       (unsigned long long)(period / US), SAMPLES);
	for (unsigned long round = 1;; round++) {
		for (unsigned n = 0; n < SAMPLES; n++) {
			struct vcpu_set_singleshot_timer t;
			events_mask_vcpu(0);
			fired_at = 0;
			t = (struct vcpu_set_singleshot_timer){ .timeout_abs_ns = xen_now(0) + period };
			HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &t);
			/* Block unmasks; a wakeup without our upcall blocks again. */
			while (!fired_at) {
				HYPERVISOR_sched_op(SCHEDOP_block, NULL);
				events_mask_vcpu(0);
			}
			uint64_t late = fired_at > t.timeout_abs_ns ? fired_at - t.timeout_abs_ns : 0;
			late_ns[n] = late > 0xffffffffull ? 0xffffffffu : (uint32_t)late;
		}
		sort(late_ns, SAMPLES);
		printk("latency: round %lu: p50 %lu us p95 %lu us p99 %lu us max %lu us (%u samples)\n",
		       round, pct_us(50), pct_us(95), pct_us(99),
		       (unsigned long)(late_ns[SAMPLES - 1] / 1000), SAMPLES);
	}
}
