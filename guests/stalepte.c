/*
 * stalepte: a page-table store made by one vCPU must never take effect
 * later than, or instead of, a newer store by another (run with --vcpus 2).
 *
 * kxen writes every PT entry into RAM at once and has the vCPU store it
 * again at CPL0 before it next runs guest code (so KVM's shadow page
 * tables notice).  vCPU 0 makes that second store wait: it issues a
 * multicall [mmu_update, SCHEDOP_block] and sleeps before resuming.
 * Meanwhile vCPU 1 attacks.  T is a pinned L1 hooked into a free L2 slot;
 * its entry E maps the address W; X is a page whose only other mapping is
 * read-only.  Each round, many times:
 *   1. vCPU 0: E := X writable, then block.  vCPU 1: E := 0, pin X as an
 *      L1, wake vCPU 0.  Afterwards E must still be 0 and W must fault: a
 *      replay of vCPU 0's old store would give a writable mapping of a
 *      pinned L1 that the hypervisor does not know about.
 *   2. vCPU 0 maps W -> X writable and touches it, then runs [E := 0,
 *      block].  vCPU 1: pin X as an L1, then write a PTE through W.  That
 *      write must fault (if the pin succeeded), and X must stay clean: the
 *      unmapping must reach the shadow tables before X can become a table.
 * A round counts only when the interleaving really happened (both of the
 * racing calls succeeded); the test requires most rounds to count.
 */
#include "guest.h"

const char test_name[] = "stalepte";

#define ROUNDS       60
#define WAIT_NS      5000000000ull
#define SETTLE_NS    2000000ull      /* vCPU 1 waits this long: vCPU 0 is asleep by then */
#define PTE_RW       (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define PTE_RO       (_PAGE_PRESENT | _PAGE_ACCESSED)
#define PDE_FLAGS    (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY)
#define FORGED_PTE   ((1ull << 36) | PDE_FLAGS)   /* the hypervisor area, RW+user */
#define E_IDX        5

static struct {
	uint64_t t[512], x[512];
} pg PAGE_ALIGNED;
static uint8_t ap_stack[4 * PAGE_SIZE] PAGE_ALIGNED;
static struct vcpu_guest_context ctx;

static uint64_t mfn_t, mfn_x, e_maddr, w_va;
static evtchn_port_t to_bsp;

/* vCPU 0 -> vCPU 1: which attack to run; vCPU 1 sets it back to 0. */
static volatile int cmd;
static volatile long r_pin, r_clear;
static volatile int r_write_faulted;
static volatile int ap_up;

_Noreturn void ap_main(void);

static long mmu_update1(uint64_t maddr, uint64_t val)
{
	struct mmu_update u = { .ptr = maddr, .val = val };

	return HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF);
}

static void settle(unsigned cpu)
{
	uint64_t end = xen_now(cpu) + SETTLE_NS;

	while (xen_now(cpu) < end)
		cpu_relax();
}

_Noreturn void ap_main(void)
{
	HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 1, NULL);
	WRITE_ONCE(ap_up, 1);
	for (;;) {
		int c = READ_ONCE(cmd);

		if (!c) {
			cpu_relax();
			continue;
		}
		settle(1);
		if (c == 1) {
			r_clear = mmu_update1(e_maddr, 0);
			r_pin = mmuext_one(MMUEXT_PIN_L1_TABLE, mfn_x, 0);
		} else {
			r_pin = mmuext_one(MMUEXT_PIN_L1_TABLE, mfn_x, 0);
			r_write_faulted = r_pin ? 1 : probe_write((void *)w_va, FORGED_PTE);
		}
		WRITE_ONCE(cmd, 0);
		evtchn_send(to_bsp);
	}
}

static void start_ap(void)
{
	uint64_t end;

	memset(&ctx, 0, sizeof(ctx));
	ctx.flags = VGCF_IN_KERNEL;
	ctx.user_regs.rip = (uintptr_t)ap_main;
	ctx.user_regs.rsp = (uintptr_t)(ap_stack + sizeof(ap_stack)) - 8;
	ctx.user_regs.cs = FLAT_KERNEL_CS;
	ctx.user_regs.ss = FLAT_KERNEL_SS;
	ctx.user_regs.rflags = 1u << 9;
	ctx.kernel_ss = FLAT_KERNEL_SS;
	ctx.kernel_sp = (uintptr_t)(ap_stack + sizeof(ap_stack));
	ctx.ctrlreg[3] = va_to_mfn((void *)start_info->pt_base) << 12;
	ctx.event_callback_eip = (uintptr_t)event_entry_cpu1;
	for (struct trap_info *t = trap_table; t->address; t++)
		ctx.trap_ctxt[t->vector] = *t;
	shared_info->vcpu_info[1].evtchn_upcall_mask = 1;
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx), 0);
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL), 0);
	end = xen_now(0) + WAIT_NS;
	while (!READ_ONCE(ap_up) && xen_now(0) < end)
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	CHECK(READ_ONCE(ap_up), "vCPU 1 did not start");
}

/* Hook T into a free slot of the L2 that maps the image; W = its entry E. */
static void hook_t(void)
{
	uint64_t *t = (uint64_t *)start_info->pt_base, va = (uintptr_t)pg.t, mfn = 0;
	unsigned slot = 0;

	for (int lvl = 0; lvl < 2; lvl++) {
		uint64_t e = t[(va >> (39 - 9 * lvl)) & 511];
		int64_t pfn = mfn_to_pfn((e & PTE_ADDR_MASK) >> 12);

		CHECK((e & _PAGE_PRESENT) && pfn >= 0, "level %d entry %#lx", 4 - lvl,
		      (unsigned long)e);
		mfn = (e & PTE_ADDR_MASK) >> 12;
		t = pfn_to_va((uint64_t)pfn);
	}
	for (unsigned i = 511; i > ((va >> 21) & 511) && !slot; i--)
		if (!(t[i] & _PAGE_PRESENT))
			slot = i;
	CHECK(slot, "no free L2 slot");
	memset(pg.t, 0, PAGE_SIZE);
	EXPECT_EQ(HYPERVISOR_update_va_mapping((uintptr_t)pg.t, (mfn_t << 12) | PTE_RO, UVMF_INVLPG), 0);
	EXPECT_EQ(mmuext_one(MMUEXT_PIN_L1_TABLE, mfn_t, 0), 0);
	EXPECT_EQ(mmu_update1((mfn << 12) + slot * 8, (mfn_t << 12) | PDE_FLAGS), 0);
	w_va = (va & ~((1ull << 30) - 1)) + ((uint64_t)slot << 21) + E_IDX * PAGE_SIZE;
	e_maddr = (mfn_t << 12) + E_IDX * 8;
}

/* vCPU 0 makes a store and sleeps in the same multicall; vCPU 1 runs
 * attack `c` meanwhile and wakes it.  Returns the store's result. */
static long store_then_sleep(uint64_t val, int c)
{
	struct mmu_update u = { .ptr = e_maddr, .val = val };
	struct multicall_entry mc[2] = {
		{ .op = __HYPERVISOR_mmu_update, .args = { (uintptr_t)&u, 1, 0, DOMID_SELF } },
		{ .op = __HYPERVISOR_sched_op, .args = { SCHEDOP_block, 0 } },
	};
	uint64_t end;

	r_pin = r_clear = -1;
	r_write_faulted = 0;
	WRITE_ONCE(cmd, c);
	EXPECT_EQ(HYPERVISOR_multicall(mc, 2), 0);
	end = xen_now(0) + WAIT_NS;
	while (READ_ONCE(cmd) && xen_now(0) < end)
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	CHECK(!READ_ONCE(cmd), "vCPU 1 did not finish attack %d", c);
	events_mask_vcpu(0);
	return (long)mc[0].result;
}

static bool round_resurrect(void)
{
	uint64_t v;
	long set = store_then_sleep((mfn_x << 12) | PTE_RW, 1);
	bool raced = set == 0 && r_clear == 0 && r_pin == 0;

	CHECK(READ_ONCE(pg.t[E_IDX]) == 0 || r_clear != 0,
	      "E = %#lx after vCPU 1 cleared it: an old store came back",
	      (unsigned long)pg.t[E_IDX]);
	if (raced) {
		CHECK(probe_write((void *)w_va, FORGED_PTE), "W writes into a pinned L1");
		CHECK(probe_read((void *)w_va, &v), "W still maps the pinned L1");
		CHECK(READ_ONCE(pg.x[0]) == 0, "X holds %#lx", (unsigned long)pg.x[0]);
	}
	if (r_pin == 0)
		EXPECT_EQ(mmuext_one(MMUEXT_UNPIN_TABLE, mfn_x, 0), 0);
	EXPECT_EQ(mmu_update1(e_maddr, 0), 0);
	EXPECT_EQ(mmuext_one(MMUEXT_TLB_FLUSH_ALL, 0, 0), 0);
	return raced;
}

static bool round_stale_shadow(void)
{
	bool raced;

	EXPECT_EQ(mmu_update1(e_maddr, (mfn_x << 12) | PTE_RW), 0);
	EXPECT_EQ(mmuext_one(MMUEXT_INVLPG_LOCAL, w_va, 0), 0);
	CHECK(!probe_write((void *)w_va, 0), "W -> X is not writable");
	EXPECT_EQ(store_then_sleep(0, 2), 0);
	raced = r_pin == 0;
	if (raced) {
		CHECK(r_write_faulted, "vCPU 1 wrote into a pinned L1 through a stale mapping");
		CHECK(READ_ONCE(pg.x[0]) == 0, "pinned L1 X holds %#lx", (unsigned long)pg.x[0]);
		EXPECT_EQ(mmuext_one(MMUEXT_UNPIN_TABLE, mfn_x, 0), 0);
	}
	EXPECT_EQ(mmuext_one(MMUEXT_TLB_FLUSH_ALL, 0, 0), 0);
	return raced;
}

void test_main(void)
{
	unsigned raced1 = 0, raced2 = 0;

	events_init();
	traps_init();
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL), 0);
	mfn_t = va_to_mfn(pg.t);
	mfn_x = va_to_mfn(pg.x);
	memset(pg.x, 0, PAGE_SIZE);
	EXPECT_EQ(HYPERVISOR_update_va_mapping((uintptr_t)pg.x, (mfn_x << 12) | PTE_RO, UVMF_INVLPG), 0);
	hook_t();
	EXPECT_EQ(evtchn_bind_ipi(0, &to_bsp), 0);
	start_ap();
	printk("stalepte: T mfn %#lx, X mfn %#lx, W %#lx\n", (unsigned long)mfn_t,
	       (unsigned long)mfn_x, (unsigned long)w_va);

	for (unsigned i = 0; i < ROUNDS; i++) {
		raced1 += round_resurrect();
		raced2 += round_stale_shadow();
	}
	printk("stalepte: %u/%u rounds raced an old store, %u/%u a stale mapping\n",
	       raced1, ROUNDS, raced2, ROUNDS);
	CHECK(raced1 >= ROUNDS / 2, "only %u rounds of attack 1 raced", raced1);
	CHECK(raced2 >= ROUNDS / 2, "only %u rounds of attack 2 raced", raced2);
}
