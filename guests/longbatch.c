/*
 * longbatch: huge hypercall batches are preempted and continued, with the
 * same results as one uninterrupted run (run with --memory 128).
 *
 * With events unmasked and the 10 ms periodic tick running, the guest
 * issues:
 *   - a multicall of 2^18 cheap calls (four kinds with different results)
 *     plus one entry that is itself an mmu_update of 2^18 entries;
 *   - an mmu_update of 2^20 entries (M2P updates, with a real PTE update
 *     every 4096 entries), and one that fails near its end;
 *   - an mmuext_op of 2^19 INVLPG_LOCALs, and one that fails near its end;
 *   - a set_trap_table list of 2^20 entries.
 * Every per-entry result, every done count and the final PTE are checked.
 * Preemption is observed, not assumed: the tick's upcall runs in the middle
 * of a batch (results half written, *done between 0 and the count), and
 * the mmu_update inside the multicall has its entry rewritten with
 * MMU_UPDATE_PREEMPTED (as Xen does for a continued sub-call).
 *
 * With "hog" on the command line it instead repeats, forever, a multicall
 * of 64 mmu_updates of 2^20 entries each (tens of seconds of work in one
 * hypercall without continuations): tests/e2e/batch-neighbour.sh checks
 * that a neighbour sharing the pCPU keeps its heartbeat meanwhile.
 */
#include "guest.h"

const char test_name[] = "longbatch";

#define MC_N   (1u << 18)
#define MU_N   (1u << 20)
#define MX_N   (1u << 19)
#define SUB_N  (1u << 18)
#define SENTINEL 0x5e5e5e5e5e5e5e5eull
#define PTE_RW (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define MARK_A 0xaaaa0000aaaa0000ull
#define MARK_B 0xbbbb0000bbbb0000ull

/* The multicall list and the trap-table list share one area. */
static union {
	struct multicall_entry mc[MC_N];
	struct trap_info traps[MC_N * 4];
} big PAGE_ALIGNED;
static struct mmu_update mu[MU_N] PAGE_ALIGNED;
static struct mmuext_op mx[MX_N] PAGE_ALIGNED;
static struct {
	uint64_t a[512], b[512];
} pg PAGE_ALIGNED;

static volatile uint32_t done_mu, done_mx, done_sub;
static long version;
static uint64_t pte_maddr;

/* What the tick's upcall saw of the batch under way. */
enum { B_NONE, B_MC, B_MU, B_MX };
static volatile int batch;
static volatile unsigned ticks_mid[4], ticks_any;

static unsigned mc_progress(void)
{
	unsigned lo = 0, hi = MC_N;   /* entries [0, lo) hold results */

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (READ_ONCE(big.mc[mid].result) != SENTINEL)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void on_tick(evtchn_port_t port)
{
	int b = READ_ONCE(batch);
	unsigned p = 0, n = 0;

	(void)port;
	ticks_any++;
	if (b == B_MC) {
		p = mc_progress();
		n = MC_N;
	} else if (b == B_MU) {
		p = done_mu;
		n = MU_N;
	} else if (b == B_MX) {
		p = done_mx;
		n = MX_N;
	}
	if (b != B_NONE && p > 0 && p < n)
		ticks_mid[b]++;
}

static void find_pte(void)
{
	uint64_t *t = (uint64_t *)start_info->pt_base, va = (uintptr_t)pg.a, mfn = 0;

	for (int lvl = 0; lvl < 4; lvl++) {
		uint64_t e = t[(va >> (39 - 9 * lvl)) & 511];

		if (lvl == 3) {
			pte_maddr = (mfn << 12) + ((va >> 12) & 511) * 8;
			return;
		}
		CHECK(e & _PAGE_PRESENT, "level %d not present", 4 - lvl);
		mfn = (e & PTE_ADDR_MASK) >> 12;
		t = pfn_to_va((uint64_t)mfn_to_pfn(mfn));
	}
}

/* mu[from, to): M2P updates of our own page, a PTE update every 4096. */
static void fill_mu(unsigned from, unsigned to)
{
	uint64_t mfn = va_to_mfn(pg.b), pfn = va_to_pfn(pg.b);

	for (unsigned j = from; j < to; j++) {
		if (j % 4096 == 4095) {
			uint64_t m = (j / 4096) % 2 ? va_to_mfn(pg.a) : va_to_mfn(pg.b);
			mu[j] = (struct mmu_update){ .ptr = pte_maddr, .val = (m << 12) | PTE_RW };
		} else {
			mu[j] = (struct mmu_update){ .ptr = (mfn << 12) | MMU_MACHPHYS_UPDATE, .val = pfn };
		}
	}
}

static uint64_t mc_expect(unsigned j)
{
	switch (j % 4) {
	case 0: return (uint64_t)version;
	case 1: return (uint64_t)-XEN_ENOSYS;
	case 2: return 1;
	default: return (uint64_t)-XEN_ENOENT;
	}
}

static void check_multicall(void)
{
	unsigned sub = MC_N / 2 + 1, bad = 0;

	for (unsigned j = 0; j < MC_N; j++) {
		struct multicall_entry *e = &big.mc[j];

		*e = (struct multicall_entry){ .result = SENTINEL };
		switch (j % 4) {
		case 0: e->op = __HYPERVISOR_xen_version; e->args[0] = XENVER_version; break;
		case 1: e->op = 45; break;
		case 2: e->op = __HYPERVISOR_vcpu_op; e->args[0] = VCPUOP_is_up; break;
		default: e->op = __HYPERVISOR_vcpu_op; e->args[0] = VCPUOP_is_up; e->args[1] = 7; break;
		}
	}
	fill_mu(0, SUB_N);
	done_sub = 0;
	big.mc[sub] = (struct multicall_entry){
		.op = __HYPERVISOR_mmu_update, .result = SENTINEL,
		.args = { (uintptr_t)mu, SUB_N, (uintptr_t)&done_sub, DOMID_SELF } };

	WRITE_ONCE(batch, B_MC);
	EXPECT_EQ(HYPERVISOR_multicall(big.mc, MC_N), 0);
	WRITE_ONCE(batch, B_NONE);
	for (unsigned j = 0; j < MC_N; j++)
		if (j != sub && big.mc[j].result != mc_expect(j) && !bad++)
			printk("longbatch: entry %u result %#lx, expected %#lx\n", j,
			       (unsigned long)big.mc[j].result, (unsigned long)mc_expect(j));
	EXPECT_EQ(bad, 0);
	EXPECT_EQ(big.mc[sub].result, 0);
	EXPECT_EQ(done_sub, SUB_N);
	CHECK(big.mc[sub].args[1] & MMU_UPDATE_PREEMPTED,
	      "the mmu_update inside the multicall was never continued (args[1] %#lx)",
	      (unsigned long)big.mc[sub].args[1]);
	EXPECT_EQ(big.mc[sub].args[0], (uintptr_t)mu + (SUB_N - (big.mc[sub].args[1] & 0x7fffffff)) * sizeof(mu[0]));
	printk("longbatch: multicall of %u entries ok, %u ticks mid-batch\n", MC_N, ticks_mid[B_MC]);
}

static void check_mmu_update(void)
{
	unsigned fail_at = MU_N - 1000;
	long rc;

	fill_mu(0, MU_N);
	done_mu = 0;
	WRITE_ONCE(batch, B_MU);
	rc = HYPERVISOR_mmu_update(mu, MU_N, (unsigned *)&done_mu, DOMID_SELF);
	WRITE_ONCE(batch, B_NONE);
	EXPECT_EQ(rc, 0);
	EXPECT_EQ(done_mu, MU_N);
	/* The last PTE update (entry MU_N - 1) left pg.a mapping B or A. */
	EXPECT_EQ(mmuext_one(MMUEXT_INVLPG_LOCAL, (uintptr_t)pg.a, 0), 0);
	EXPECT_EQ(READ_ONCE(pg.a[0]), ((MU_N - 1) / 4096) % 2 ? MARK_A : MARK_B);
	printk("longbatch: mmu_update of %u entries ok, %u ticks mid-batch\n", MU_N, ticks_mid[B_MU]);

	mu[fail_at] = (struct mmu_update){ .ptr = 0x7ffffffff000ull, .val = 0 };
	done_mu = 0;
	rc = HYPERVISOR_mmu_update(mu, MU_N, (unsigned *)&done_mu, DOMID_SELF);
	CHECK(rc < 0, "a bad entry was accepted");
	EXPECT_EQ(done_mu, fail_at);
	struct mmu_update restore = { .ptr = pte_maddr, .val = (va_to_mfn(pg.a) << 12) | PTE_RW };
	EXPECT_EQ(HYPERVISOR_mmu_update(&restore, 1, NULL, DOMID_SELF), 0);
	EXPECT_EQ(mmuext_one(MMUEXT_INVLPG_LOCAL, (uintptr_t)pg.a, 0), 0);
	EXPECT_EQ(READ_ONCE(pg.a[0]), MARK_A);
}

static void check_mmuext(void)
{
	unsigned fail_at = MX_N - 77;
	long rc;

	for (unsigned j = 0; j < MX_N; j++)
		mx[j] = (struct mmuext_op){ .cmd = MMUEXT_INVLPG_LOCAL,
		                            .arg1.linear_addr = (uintptr_t)pg.a };
	done_mx = 0;
	WRITE_ONCE(batch, B_MX);
	rc = HYPERVISOR_mmuext_op(mx, MX_N, (unsigned *)&done_mx, DOMID_SELF);
	WRITE_ONCE(batch, B_NONE);
	EXPECT_EQ(rc, 0);
	EXPECT_EQ(done_mx, MX_N);
	printk("longbatch: mmuext_op of %u entries ok, %u ticks mid-batch\n", MX_N, ticks_mid[B_MX]);

	mx[fail_at].cmd = 999;
	done_mx = 0;
	rc = HYPERVISOR_mmuext_op(mx, MX_N, (unsigned *)&done_mx, DOMID_SELF);
	CHECK(rc < 0, "a bad mmuext op was accepted");
	EXPECT_EQ(done_mx, fail_at);
}

static void check_trap_table(void)
{
	unsigned n = MC_N * 4 - 1;
	uint64_t v;

	for (unsigned j = 0; j < n; j++)
		big.traps[j] = (struct trap_info){ .vector = 200, .cs = FLAT_KERNEL_CS,
		                                   .address = trap_stubs[0] };
	big.traps[n] = (struct trap_info){ .address = 0 };
	EXPECT_EQ(HYPERVISOR_set_trap_table(big.traps), 0);
	CHECK(probe_read((void *)8, &v), "page 0 is mapped");
	EXPECT_EQ(last_trap.vector, 14);
	printk("longbatch: set_trap_table of %u entries ok\n", n);
}

static _Noreturn void hog(void)
{
	fill_mu(0, MU_N);
	for (unsigned j = 0; j < 64; j++)
		big.mc[j] = (struct multicall_entry){ .op = __HYPERVISOR_mmu_update,
			.args = { (uintptr_t)mu, MU_N, 0, DOMID_SELF } };
	for (unsigned long round = 1;; round++) {
		for (unsigned j = 0; j < 64; j++) {
			big.mc[j].args[0] = (uintptr_t)mu;
			big.mc[j].args[1] = MU_N;
		}
		HYPERVISOR_multicall(big.mc, 64);
		printk("longbatch: hog round %lu\n", round);
	}
}

void test_main(void)
{
	const char *cmd = (const char *)start_info->cmd_line;
	evtchn_port_t tport;

	events_init();
	traps_init();
	version = HYPERVISOR_xen_version(XENVER_version, NULL);
	pg.a[0] = MARK_A;
	pg.b[0] = MARK_B;
	find_pte();
	while (*cmd == ' ')
		cmd++;
	if (!memcmp(cmd, "hog", 3))
		hog();
	EXPECT_EQ(evtchn_bind_virq(VIRQ_TIMER, 0, &tport), 0);
	evtchn_handler[tport] = on_tick;
	events_unmask_vcpu(0);

	check_multicall();
	check_mmu_update();
	check_mmuext();
	check_trap_table();
	events_mask_vcpu(0);
	printk("longbatch: %u ticks in all\n", ticks_any);
	CHECK(ticks_mid[B_MC] > 0, "no tick arrived in the middle of the multicall");
	CHECK(ticks_mid[B_MU] > 0, "no tick arrived in the middle of the mmu_update");
	CHECK(ticks_mid[B_MX] > 0, "no tick arrived in the middle of the mmuext_op");
}
