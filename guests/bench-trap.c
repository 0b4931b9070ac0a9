/*
 * bench-trap: microbenchmarks of the PV execution core, timed with rdtsc.
 *
 *   hypercall  xen_version(XENVER_version): a null hypercall round trip
 *   trap       int3 with a registered handler: the exception bounce to the
 *              guest handler plus its HYPERVISOR_iret back
 *   cpuid      forced-emulation CPUID (ud2; "xen"; cpuid): one trap,
 *              emulated in the hypervisor, no bounce to the guest
 *   mmu        mmu_update of one L1 PTE (MMU_NORMAL_PT_UPDATE): the
 *              hypercall, its validation and the page-table store
 *
 * Each operation runs `rounds` timed loops of n iterations (after a short
 * warm-up); an empty loop of the same n is the baseline whose cost "net"
 * subtracts.  TSC deltas become ns with the vcpu_time_info mul/shift, and
 * every loop is also timed with the pvclock system time as a cross-check.
 * Events stay masked throughout, so no upcall lands inside a timed loop.
 *
 * The command line may override the defaults: "hypercall=N trap=N
 * cpuid=N mmu=N rounds=N" (any subset, space separated).
 *
 * Output, one line per operation, for bench/core/micro.sh to parse:
 *   bench-trap: result op=NAME n=N rounds=R min=NS med=NS max=NS net=NS
 *               pvclock=NS
 * where min/med/max are ns per operation over the rounds (one decimal),
 * net = min minus the empty loop's ns per iteration, and pvclock is the
 * min round measured with the pvclock instead of the raw TSC.
 */
#include "guest.h"

const char test_name[] = "bench-trap";

#define PTE_ADDR PTE_ADDR_MASK
#define MAX_ROUNDS 15

enum op { OP_EMPTY, OP_HYPERCALL, OP_TRAP, OP_CPUID, OP_MMU, OP_COUNT };

static const char *const op_names[OP_COUNT] = {
	[OP_EMPTY] = "empty", [OP_HYPERCALL] = "hypercall", [OP_TRAP] = "trap",
	[OP_CPUID] = "cpuid", [OP_MMU] = "mmu",
};

static unsigned long op_n[OP_COUNT] = {
	[OP_EMPTY] = 0, [OP_HYPERCALL] = 20000, [OP_TRAP] = 5000,
	[OP_CPUID] = 5000, [OP_MMU] = 5000,
};
static unsigned long rounds = 3;

/* The page whose mapping the mmu benchmark flips, and the page it flips to. */
static struct {
	uint64_t victim[512], other[512];
} pg PAGE_ALIGNED;
static uint64_t mmu_maddr, mmu_pte_orig, mmu_pte_alt;

static volatile unsigned long int3_count;

static uint64_t int3_handler(struct trap_frame *f)
{
	(void)f;
	int3_count++;
	return 0;
}

/* ---- command line ------------------------------------------------------- */

static void parse_cmdline(void)
{
	const char *p = (const char *)start_info->cmd_line;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		bool known = false;
		for (unsigned o = OP_HYPERCALL; o < OP_COUNT; o++) {
			size_t len = strlen(op_names[o]);

			if (memcmp(p, op_names[o], len) == 0 && p[len] == '=')
				known = parse_ulong(p + len + 1, &op_n[o]);
		}
		if (memcmp(p, "rounds=", 7) == 0)
			known = parse_ulong(p + 7, &rounds) && rounds >= 1 && rounds <= MAX_ROUNDS;
		if (!known)
			test_fail("bad command-line word at \"%s\" (want hypercall= trap= "
			          "cpuid= mmu= rounds=1..%d)", p, MAX_ROUNDS);
		while (*p && *p != ' ')
			p++;
	}
	op_n[OP_EMPTY] = op_n[OP_HYPERCALL];
}

/* ---- the operations ------------------------------------------------------- */

static inline void op_hypercall(void)
{
	long v = HYPERVISOR_xen_version(XENVER_version, NULL);

	if (v <= 0)
		test_fail("xen_version(XENVER_version) returned %ld", v);
}

static inline void op_trap(void)
{
	__asm__ __volatile__("int3" ::: "memory");
}

static inline void op_cpuid(void)
{
	uint32_t a = 0, b, c = 0, d;

	__asm__ __volatile__("ud2\n\t.ascii \"xen\"\n\tcpuid"
	                     : "+a"(a), "=b"(b), "+c"(c), "=d"(d) :: "memory");
}

static inline void op_mmu(unsigned long i)
{
	struct mmu_update u = {
		.ptr = mmu_maddr | MMU_NORMAL_PT_UPDATE,
		.val = (i & 1) ? mmu_pte_orig : mmu_pte_alt,
	};
	long rc = HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF);

	if (rc)
		test_fail("mmu_update of PTE at maddr %#lx returned %ld",
		          (unsigned long)mmu_maddr, rc);
}

static void run_ops(enum op op, unsigned long n)
{
	switch (op) {
	case OP_EMPTY:
		for (unsigned long i = 0; i < n; i++)
			barrier();
		break;
	case OP_HYPERCALL:
		for (unsigned long i = 0; i < n; i++)
			op_hypercall();
		break;
	case OP_TRAP:
		for (unsigned long i = 0; i < n; i++)
			op_trap();
		break;
	case OP_CPUID:
		for (unsigned long i = 0; i < n; i++)
			op_cpuid();
		break;
	case OP_MMU:
		for (unsigned long i = 0; i < n; i++)
			op_mmu(i);
		break;
	case OP_COUNT:
		break;
	}
}

/* ---- set-up ------------------------------------------------------------------ */

static uint64_t *table_of(uint64_t entry, int level)
{
	int64_t pfn;

	if (!(entry & _PAGE_PRESENT) || (entry & _PAGE_PSE))
		test_fail("page walk: L%d entry %#lx not a present table",
		          level, (unsigned long)entry);
	pfn = mfn_to_pfn((entry & PTE_ADDR) >> 12);
	if (pfn < 0)
		test_fail("page walk: MFN %#lx not in our p2m",
		          (unsigned long)((entry & PTE_ADDR) >> 12));
	return pfn_to_va((uint64_t)pfn);
}

/* Finds the L1 entry mapping pg.victim; the benchmark flips it between
 * pg.victim's frame and pg.other's (both ordinary, writable data pages). */
static void mmu_setup(void)
{
	uint64_t va = (uintptr_t)pg.victim, *t = (uint64_t *)start_info->pt_base;
	uint64_t l1_mfn = 0;

	for (int lvl = 4; lvl > 1; lvl--) {
		uint64_t e = t[(va >> (12 + 9 * (lvl - 1))) & 511];

		t = table_of(e, lvl);
		l1_mfn = (e & PTE_ADDR) >> 12;
	}
	unsigned idx = (va >> 12) & 511;
	mmu_pte_orig = t[idx];
	if ((mmu_pte_orig & PTE_ADDR) >> 12 != va_to_mfn(pg.victim))
		test_fail("L1 entry %#lx does not map the victim page (mfn %#lx)",
		          (unsigned long)mmu_pte_orig, (unsigned long)va_to_mfn(pg.victim));
	mmu_maddr = (l1_mfn << 12) + idx * 8;
	mmu_pte_alt = (mmu_pte_orig & ~PTE_ADDR) | (va_to_mfn(pg.other) << 12);
}

static void mmu_restore(void)
{
	struct mmu_update u = { .ptr = mmu_maddr | MMU_NORMAL_PT_UPDATE, .val = mmu_pte_orig };

	if (HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF) ||
	    mmuext_one(MMUEXT_INVLPG_LOCAL, (uintptr_t)pg.victim, 0))
		test_fail("restoring the victim page's mapping failed");
	pg.victim[0] = 0x1234;
	if (READ_ONCE(pg.victim[0]) != 0x1234 || pg.other[0] != 0)
		test_fail("victim page mapping not restored");
}

/* ---- timing ---------------------------------------------------------------- */

static uint64_t tsc_to_ns(uint64_t delta)
{
	const struct vcpu_time_info *t = &shared_info->vcpu_info[0].time;
	int8_t shift = READ_ONCE(t->tsc_shift);

	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((unsigned __int128)delta * READ_ONCE(t->tsc_to_system_mul)) >> 32);
}

/* ns per op in tenths of a ns, rounded. */
static uint64_t per_op_x10(uint64_t ns, unsigned long n)
{
	return n ? (ns * 10 + n / 2) / n : 0;
}

static void sort(uint64_t *v, unsigned long len)
{
	for (unsigned long i = 1; i < len; i++)
		for (unsigned long j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
}

struct result {
	uint64_t min_x10, med_x10, max_x10, pv_min_x10;
};

static struct result measure(enum op op, unsigned long n)
{
	uint64_t tsc_ns[MAX_ROUNDS], pv_ns[MAX_ROUNDS];
	struct result r;

	run_ops(op, n < 50 ? n : 50);   /* warm-up */
	for (unsigned long k = 0; k < rounds; k++) {
		uint64_t p0 = xen_now(0);
		uint64_t t0 = rdtsc();
		run_ops(op, n);
		uint64_t t1 = rdtsc();
		uint64_t p1 = xen_now(0);

		tsc_ns[k] = tsc_to_ns(t1 - t0);
		pv_ns[k] = p1 - p0;
	}
	sort(tsc_ns, rounds);
	sort(pv_ns, rounds);
	r.min_x10 = per_op_x10(tsc_ns[0], n);
	r.med_x10 = per_op_x10(tsc_ns[rounds / 2], n);
	r.max_x10 = per_op_x10(tsc_ns[rounds - 1], n);
	r.pv_min_x10 = per_op_x10(pv_ns[0], n);
	return r;
}

static void print_x10(const char *key, uint64_t v)
{
	printk(" %s=%lu.%lu", key, (unsigned long)(v / 10), (unsigned long)(v % 10));
}

void test_main(void)
{
	const struct vcpu_time_info *t;
	struct result empty, r;
	uint64_t khz, t0, t1;

	parse_cmdline();
	need_shared_info();
	traps_init();
	trap_set_handler(3, int3_handler);
	mmu_setup();

	t = &shared_info->vcpu_info[0].time;
	khz = (1000000ull << 32) / t->tsc_to_system_mul;
	khz = t->tsc_shift < 0 ? khz << -t->tsc_shift : khz >> t->tsc_shift;
	printk("bench-trap: tsc_to_system_mul %u tsc_shift %d (TSC %lu kHz)\n",
	       t->tsc_to_system_mul, t->tsc_shift, (unsigned long)khz);
	t0 = rdtsc();
	t1 = rdtsc();
	printk("bench-trap: zero-iteration loop (back-to-back rdtsc): %lu cycles\n",
	       (unsigned long)(t1 - t0));

	empty = measure(OP_EMPTY, op_n[OP_EMPTY]);
	for (unsigned o = OP_EMPTY; o < OP_COUNT; o++) {
		r = o == OP_EMPTY ? empty : measure(o, op_n[o]);
		printk("bench-trap: result op=%s n=%lu rounds=%lu", op_names[o],
		       op_n[o], rounds);
		print_x10("min", r.min_x10);
		print_x10("med", r.med_x10);
		print_x10("max", r.max_x10);
		print_x10("net", r.min_x10 > empty.min_x10 ? r.min_x10 - empty.min_x10 : 0);
		print_x10("pvclock", r.pv_min_x10);
		printk("\n");
	}
	mmu_restore();
	CHECK(int3_count == rounds * op_n[OP_TRAP] + (op_n[OP_TRAP] < 50 ? op_n[OP_TRAP] : 50),
	      "int3 handler ran %lu times", (unsigned long)int3_count);
}
