/*
 * mmu: the PV MMU hypercalls on the bootstrap page tables.
 *
 * The guest finds the bootstrap L1 that maps one of its pages by walking
 * from start_info->pt_base (entries hold MFNs; the reverse p2m gives the
 * VA of each table) and then checks:
 *   - mmu_update of that PTE (machine address = L1 MFN << 12 + index * 8,
 *     never assuming MFN == PFN) remaps the page; INVLPG_LOCAL makes the
 *     new mapping visible; MMU_PT_UPDATE_PRESERVE_AD restores it;
 *   - update_va_mapping maps, unmaps (then reads #PF) and maps read-only
 *     (then writes #PF);
 *   - a fresh L1 built in a free page: pinning needs it read-only, a
 *     pinned L1 cannot be mapped writable, cannot map a page table
 *     writable, can be changed with mmu_update and hooked into a free L2
 *     slot to map new addresses; after unhook + unpin it is ordinary again;
 *   - a writable mapping of any page-table page is refused;
 *   - every TLB flush op returns 0 and leaves the new mapping visible.
 */
#include "guest.h"

const char test_name[] = "mmu";

#define PTE_FLAGS_RW  (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define PTE_FLAGS_RO  (_PAGE_PRESENT | _PAGE_ACCESSED)
#define PDE_FLAGS     (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY)
#define MARK_A 0xaaaaaaaa0000000aull
#define MARK_B 0xbbbbbbbb0000000bull

/* A and B: data pages; L1: becomes a page table; D: a spare. */
static struct {
	uint64_t a[512], b[512], l1[512], d[512];
} pg PAGE_ALIGNED;

struct walk {
	uint64_t *table[4];      /* VA of L4, L3, L2, L1 */
	uint64_t mfn[4];         /* their MFNs */
	unsigned idx[4];
};

static uint64_t *table_va(uint64_t entry, const char *what)
{
	int64_t pfn = mfn_to_pfn((entry & PTE_ADDR_MASK) >> 12);

	CHECK(entry & _PAGE_PRESENT, "%s not present (%#lx)", what, (unsigned long)entry);
	CHECK(pfn >= 0, "%s MFN %#lx is not in our p2m", what,
	      (unsigned long)((entry & PTE_ADDR_MASK) >> 12));
	return pfn_to_va((uint64_t)pfn);
}

static void walk(uint64_t va, struct walk *w)
{
	static const char *const names[] = { "L4 entry", "L3 entry", "L2 entry" };

	w->table[0] = (uint64_t *)start_info->pt_base;
	w->mfn[0] = va_to_mfn(w->table[0]);
	for (int lvl = 0; lvl < 4; lvl++)
		w->idx[lvl] = (va >> (39 - 9 * lvl)) & 511;
	for (int lvl = 0; lvl < 3; lvl++) {
		uint64_t e = w->table[lvl][w->idx[lvl]];

		CHECK(!(e & _PAGE_PSE) || lvl == 0, "superpage at level %d", 4 - lvl);
		w->table[lvl + 1] = table_va(e, names[lvl]);
		w->mfn[lvl + 1] = (e & PTE_ADDR_MASK) >> 12;
	}
}

static uint64_t pte_maddr(const struct walk *w)
{
	return (w->mfn[3] << 12) + w->idx[3] * 8;
}

static long mmu_update1(uint64_t maddr, unsigned cmd, uint64_t val)
{
	struct mmu_update u = { .ptr = maddr | cmd, .val = val };

	return HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF);
}

static long uvm(void *va, uint64_t mfn, uint64_t flags, unsigned long uvmf)
{
	return HYPERVISOR_update_va_mapping((uintptr_t)va, mfn ? (mfn << 12) | flags : 0, uvmf);
}

static void check_walk(struct walk *w)
{
	uint64_t pte;

	walk((uintptr_t)pg.a, w);
	pte = w->table[3][w->idx[3]];
	printk("mmu: L4 mfn %#lx, L3 mfn %#lx, L2 mfn %#lx, L1 mfn %#lx, pte %#lx\n",
	       (unsigned long)w->mfn[0], (unsigned long)w->mfn[1],
	       (unsigned long)w->mfn[2], (unsigned long)w->mfn[3], (unsigned long)pte);
	EXPECT_EQ((pte & PTE_ADDR_MASK) >> 12, va_to_mfn(pg.a));
	CHECK((pte & (_PAGE_PRESENT | _PAGE_RW)) == (_PAGE_PRESENT | _PAGE_RW),
	      "bootstrap PTE of a data page %#lx is not present+RW", (unsigned long)pte);
	/*
	 * The bootstrap tables are mapped read-only: a write faults.  (Not
	 * probed for the L1: with VMASST writable_pagetables a hypervisor may
	 * emulate L1 writes.)
	 */
	for (int lvl = 0; lvl < 3; lvl++) {
		uint64_t v;

		CHECK(probe_read(w->table[lvl], &v) == false, "cannot read level %d", 4 - lvl);
		CHECK(probe_write(w->table[lvl], v), "page table (level %d) is writable", 4 - lvl);
	}
}

static void check_mmu_update(const struct walk *w)
{
	uint64_t orig = w->table[3][w->idx[3]];
	uint64_t mfn_b = va_to_mfn(pg.b);

	EXPECT_EQ(mmu_update1(pte_maddr(w), MMU_NORMAL_PT_UPDATE, (mfn_b << 12) | PTE_FLAGS_RW), 0);
	EXPECT_EQ(mmuext_one(MMUEXT_INVLPG_LOCAL, (uintptr_t)pg.a, 0), 0);
	EXPECT_EQ((w->table[3][w->idx[3]] & PTE_ADDR_MASK) >> 12, mfn_b);
	EXPECT_EQ(READ_ONCE(pg.a[0]), MARK_B);

	EXPECT_EQ(mmu_update1(pte_maddr(w), MMU_PT_UPDATE_PRESERVE_AD, orig), 0);
	EXPECT_EQ(mmuext_one(MMUEXT_INVLPG_LOCAL, (uintptr_t)pg.a, 0), 0);
	EXPECT_EQ(READ_ONCE(pg.a[0]), MARK_A);
	printk("mmu: mmu_update remapped and restored a bootstrap PTE\n");
}

static void check_update_va_mapping(void)
{
	uint64_t mfn_a = va_to_mfn(pg.a), mfn_b = va_to_mfn(pg.b), v;

	EXPECT_EQ(uvm(pg.a, mfn_b, PTE_FLAGS_RW, UVMF_INVLPG), 0);
	EXPECT_EQ(READ_ONCE(pg.a[0]), MARK_B);

	EXPECT_EQ(uvm(pg.a, 0, 0, UVMF_INVLPG), 0);
	CHECK(probe_read(pg.a, &v), "read of an unmapped page did not fault");
	EXPECT_EQ(last_trap.vector, 14);
	EXPECT_EQ(last_trap.cr2, (uintptr_t)pg.a);

	EXPECT_EQ(uvm(pg.a, mfn_a, PTE_FLAGS_RO, UVMF_TLB_FLUSH | UVMF_LOCAL), 0);
	EXPECT_EQ(READ_ONCE(pg.a[0]), MARK_A);
	CHECK(probe_write(pg.a, MARK_A), "write to a read-only mapping did not fault");
	EXPECT_EQ(last_trap.error_code & 3, 3);

	EXPECT_EQ(uvm(pg.a, mfn_a, PTE_FLAGS_RW, UVMF_INVLPG | UVMF_ALL), 0);
	CHECK(!probe_write(pg.a, MARK_A), "write after restoring RW faulted");
	printk("mmu: update_va_mapping map/unmap/read-only ok\n");
}

static void check_no_writable_page_tables(const struct walk *w)
{
	static const char *const names[] = { "L4", "L3", "L2", "L1" };

	for (int lvl = 0; lvl < 4; lvl++) {
		long rc = uvm(pg.d, w->mfn[lvl], PTE_FLAGS_RW, UVMF_INVLPG);

		CHECK(rc < 0, "writable mapping of the bootstrap %s accepted", names[lvl]);
		EXPECT_EQ(uvm(pg.d, w->mfn[lvl], PTE_FLAGS_RO, UVMF_INVLPG), 0);
		if (lvl < 3) {  /* (L1 writes may be emulated, see check_walk) */
			uint64_t v = READ_ONCE(pg.d[0]);

			CHECK(probe_write(pg.d, v), "read-only alias of the %s writable",
			      names[lvl]);
		}
	}
	EXPECT_EQ(uvm(pg.d, va_to_mfn(pg.d), PTE_FLAGS_RW, UVMF_INVLPG), 0);
	printk("mmu: writable mappings of page tables refused, read-only allowed\n");
}

/* A free top-level-of-L2 slot: the bootstrap region is far below 1 GiB. */
static unsigned free_l2_slot(const struct walk *w)
{
	for (unsigned i = 511; i > w->idx[2]; i--)
		if (!(w->table[2][i] & _PAGE_PRESENT))
			return i;
	test_fail("no free L2 slot above the bootstrap region");
}

static void check_fresh_l1(const struct walk *w)
{
	uint64_t mfn_l1 = va_to_mfn(pg.l1), mfn_a = va_to_mfn(pg.a), mfn_b = va_to_mfn(pg.b);
	unsigned slot = free_l2_slot(w);
	uint64_t va_new = (uintptr_t)pg.a - ((uint64_t)w->idx[2] << 21) -
	                  ((uintptr_t)pg.a & 0x1fffff) + ((uint64_t)slot << 21);
	uint64_t l2e_maddr = (w->mfn[2] << 12) + slot * 8;
	uint64_t v;

	memset(pg.l1, 0, PAGE_SIZE);
	pg.l1[0] = (mfn_a << 12) | PTE_FLAGS_RW;
	pg.l1[1] = (mfn_b << 12) | PTE_FLAGS_RO;

	CHECK(mmuext_one(MMUEXT_PIN_L1_TABLE, mfn_l1, 0) < 0,
	      "pinning a page that is mapped writable succeeded");
	EXPECT_EQ(uvm(pg.l1, mfn_l1, PTE_FLAGS_RO, UVMF_INVLPG), 0);

	/* An L1 mapping a page table writable must not validate. */
	EXPECT_EQ(uvm(pg.l1, mfn_l1, PTE_FLAGS_RW, UVMF_INVLPG), 0);
	pg.l1[2] = (w->mfn[3] << 12) | PTE_FLAGS_RW;
	EXPECT_EQ(uvm(pg.l1, mfn_l1, PTE_FLAGS_RO, UVMF_INVLPG), 0);
	CHECK(mmuext_one(MMUEXT_PIN_L1_TABLE, mfn_l1, 0) < 0,
	      "pinned an L1 that maps a page table writable");
	EXPECT_EQ(uvm(pg.l1, mfn_l1, PTE_FLAGS_RW, UVMF_INVLPG), 0);
	pg.l1[2] = 0;
	EXPECT_EQ(uvm(pg.l1, mfn_l1, PTE_FLAGS_RO, UVMF_INVLPG), 0);

	EXPECT_EQ(mmuext_one(MMUEXT_PIN_L1_TABLE, mfn_l1, 0), 0);
	CHECK(uvm(pg.l1, mfn_l1, PTE_FLAGS_RW, UVMF_INVLPG) < 0,
	      "a pinned L1 was mapped writable");
	CHECK(mmu_update1((mfn_l1 << 12) + 3 * 8, MMU_NORMAL_PT_UPDATE,
	                  (mfn_l1 << 12) | PTE_FLAGS_RW) < 0,
	      "a pinned L1 was made to map itself writable");
	EXPECT_EQ(mmu_update1((mfn_l1 << 12) + 2 * 8, MMU_NORMAL_PT_UPDATE,
	                      (mfn_a << 12) | PTE_FLAGS_RO), 0);
	EXPECT_EQ((READ_ONCE(pg.l1[2]) & PTE_ADDR_MASK) >> 12, mfn_a);
	printk("mmu: fresh L1 pinned (mfn %#lx)\n", (unsigned long)mfn_l1);

	/* Hook it into a free L2 slot: new addresses map A and B. */
	EXPECT_EQ(mmu_update1(l2e_maddr, MMU_NORMAL_PT_UPDATE, (mfn_l1 << 12) | PDE_FLAGS), 0);
	EXPECT_EQ(mmuext_one(MMUEXT_TLB_FLUSH_LOCAL, 0, 0), 0);
	CHECK(!probe_read((void *)va_new, &v), "new mapping at %#lx faulted",
	      (unsigned long)va_new);
	EXPECT_EQ(v, MARK_A);
	CHECK(!probe_read((void *)(va_new + PAGE_SIZE), &v), "second new page faulted");
	EXPECT_EQ(v, MARK_B);
	CHECK(probe_write((void *)(va_new + PAGE_SIZE), 0), "read-only PTE was writable");
	printk("mmu: L1 hooked into L2 slot %u maps %#lx\n", slot, (unsigned long)va_new);

	EXPECT_EQ(mmu_update1(l2e_maddr, MMU_NORMAL_PT_UPDATE, 0), 0);
	EXPECT_EQ(mmuext_one(MMUEXT_TLB_FLUSH_ALL, 0, 0), 0);
	CHECK(probe_read((void *)va_new, &v), "unhooked mapping still readable");
	EXPECT_EQ(mmuext_one(MMUEXT_UNPIN_TABLE, mfn_l1, 0), 0);
	EXPECT_EQ(uvm(pg.l1, mfn_l1, PTE_FLAGS_RW, UVMF_INVLPG), 0);
	CHECK(!probe_write(pg.l1, 0), "unpinned L1 not writable again");
	printk("mmu: unhooked and unpinned; the page is writable again\n");
}

static void check_flush_ops(const struct walk *w)
{
	static uint64_t cpumask = 1;
	uint64_t orig = w->table[3][w->idx[3]];
	uint64_t mfn_b = va_to_mfn(pg.b);
	struct { unsigned cmd; uint64_t arg1, arg2; const char *name; } ops[] = {
		{ MMUEXT_TLB_FLUSH_LOCAL, 0, 0, "TLB_FLUSH_LOCAL" },
		{ MMUEXT_INVLPG_LOCAL, (uintptr_t)pg.a, 0, "INVLPG_LOCAL" },
		{ MMUEXT_TLB_FLUSH_MULTI, 0, (uintptr_t)&cpumask, "TLB_FLUSH_MULTI" },
		{ MMUEXT_INVLPG_MULTI, (uintptr_t)pg.a, (uintptr_t)&cpumask, "INVLPG_MULTI" },
		{ MMUEXT_TLB_FLUSH_ALL, 0, 0, "TLB_FLUSH_ALL" },
		{ MMUEXT_INVLPG_ALL, (uintptr_t)pg.a, 0, "INVLPG_ALL" },
	};

	for (unsigned i = 0; i < ARRAY_SIZE(ops); i++) {
		bool to_b = !(i & 1);
		uint64_t val = to_b ? (mfn_b << 12) | PTE_FLAGS_RW : orig;
		long rc;

		READ_ONCE(pg.a[0]);   /* have the old translation cached */
		EXPECT_EQ(mmu_update1(pte_maddr(w), MMU_NORMAL_PT_UPDATE, val), 0);
		rc = mmuext_one(ops[i].cmd, ops[i].arg1, ops[i].arg2);
		CHECK(rc == 0, "MMUEXT_%s returned %ld", ops[i].name, rc);
		CHECK(READ_ONCE(pg.a[0]) == (to_b ? MARK_B : MARK_A),
		      "stale translation after MMUEXT_%s", ops[i].name);
	}
	EXPECT_EQ(mmu_update1(pte_maddr(w), MMU_NORMAL_PT_UPDATE, orig), 0);
	EXPECT_EQ(mmuext_one(MMUEXT_TLB_FLUSH_LOCAL, 0, 0), 0);
	EXPECT_EQ(READ_ONCE(pg.a[0]), MARK_A);
	printk("mmu: all TLB flush ops ok\n");
}

void test_main(void)
{
	struct walk w;

	need_shared_info();
	traps_init();
	pg.a[0] = MARK_A;
	pg.b[0] = MARK_B;

	check_walk(&w);
	check_mmu_update(&w);
	check_update_va_mapping();
	check_no_writable_page_tables(&w);
	check_fresh_l1(&w);
	check_flush_ops(&w);
}
