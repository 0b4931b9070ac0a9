/*
 * hvframes: frames the hypervisor writes into on the guest's behalf can
 * never be page tables.
 *
 * kxen writes guest-influenced values (CR2 of every page fault, upcall
 * flags, time) into a registered vcpu_info, and the toolstack writes into
 * the xenstore and console rings.  If one of those frames were a pinned L1,
 * those writes would forge page-table entries that were never validated:
 * the guest kernel could map the hypervisor area from CPL3.  Checks:
 *   - VCPUOP_register_vcpu_info on a pinned L1, and on the bootstrap L4,
 *     is refused;
 *   - the attack itself: a #PF whose CR2 is a PTE mapping the hypervisor
 *     area (64 GiB) writable, with the pinned L1 hooked into a free L2
 *     slot: nothing appears in the L1 and every address it covers faults;
 *   - a registered vcpu_info page cannot be pinned as an L1-L4 while it is
 *     registered, and a second registration is refused;
 *   - the xenstore and console ring frames cannot be pinned as L1s even
 *     when the guest maps them read-only first;
 *   - a runstate area placed on a read-only alias of the pinned L1 is
 *     never written;
 *   - finally the hypervisor area and its direct map are neither readable
 *     nor writable from the guest.
 */
#include "guest.h"

const char test_name[] = "hvframes";

#define HV_GPA_BASE  (1ull << 36)
#define HV_AREA_VA   0xffff810000000000ull
#define HV_DMAP_VA   0xffff818000000000ull
#define PTE_RW       (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define PTE_RO       (_PAGE_PRESENT | _PAGE_ACCESSED)
#define PDE_FLAGS    (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY)
/* The PTE a forged write would plant: the first hypervisor frame, RW+user. */
#define FORGED_PTE   (HV_GPA_BASE | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | \
                      _PAGE_ACCESSED | _PAGE_DIRTY)

/* l1: the pinned L1 under attack; q: a vcpu_info page. */
static struct {
	uint64_t l1[512], q[512];
} pg PAGE_ALIGNED;

static uint64_t *l2_of_image(uint64_t *l2_mfn, unsigned *image_slot)
{
	uint64_t *t = (uint64_t *)start_info->pt_base;
	uint64_t va = (uintptr_t)pg.l1, mfn = 0;

	for (int lvl = 0; lvl < 2; lvl++) {
		uint64_t e = t[(va >> (39 - 9 * lvl)) & 511];
		int64_t pfn;

		CHECK(e & _PAGE_PRESENT, "level %d entry not present", 4 - lvl);
		mfn = (e & PTE_ADDR_MASK) >> 12;
		pfn = mfn_to_pfn(mfn);
		CHECK(pfn >= 0, "table MFN %#lx is not ours", (unsigned long)mfn);
		t = pfn_to_va((uint64_t)pfn);
	}
	*l2_mfn = mfn;
	*image_slot = (va >> 21) & 511;
	return t;
}

static long uvm(void *va, uint64_t mfn, uint64_t flags)
{
	return HYPERVISOR_update_va_mapping((uintptr_t)va, (mfn << 12) | flags, UVMF_INVLPG);
}

static long register_vinfo(uint64_t mfn, uint32_t offset)
{
	struct vcpu_register_vcpu_info r = { .mfn = mfn, .offset = offset };

	return HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, &r);
}

static bool l1_is_clean(void)
{
	for (unsigned i = 0; i < 512; i++)
		if (READ_ONCE(pg.l1[i]))
			return false;
	return true;
}

/* Make the daemon write CR2 = FORGED_PTE into the current vcpu_info. */
static void fault_with_forged_cr2(void)
{
	uint64_t v;

	CHECK(probe_read((void *)FORGED_PTE, &v), "VA %#lx is mapped", (unsigned long)FORGED_PTE);
	EXPECT_EQ(last_trap.vector, 14);
}

static void check_pinned_l1_refused(uint64_t mfn_l1)
{
	uint64_t l4_mfn = va_to_mfn((void *)start_info->pt_base);

	for (unsigned off = 0; off <= PAGE_SIZE - 64; off += 64 * 7) {
		long rc = register_vinfo(mfn_l1, off);

		CHECK(rc < 0, "vcpu_info registered inside a pinned L1 (offset %u)", off);
	}
	CHECK(register_vinfo(l4_mfn, 0) < 0, "vcpu_info registered inside the bootstrap L4");
	fault_with_forged_cr2();
	CHECK(l1_is_clean(), "the pinned L1 changed");
	printk("hvframes: vcpu_info inside page tables refused\n");
}

/* Hook the pinned L1 into a free L2 slot: nothing it covers is mapped. */
static void check_hooked_l1_maps_nothing(uint64_t mfn_l1)
{
	uint64_t l2_mfn, v;
	unsigned image_slot, slot = 0;
	uint64_t *l2 = l2_of_image(&l2_mfn, &image_slot);

	for (unsigned i = 511; i > image_slot && !slot; i--)
		if (!(l2[i] & _PAGE_PRESENT))
			slot = i;
	CHECK(slot, "no free L2 slot");
	struct mmu_update u = { .ptr = (l2_mfn << 12) + slot * 8, .val = (mfn_l1 << 12) | PDE_FLAGS };
	EXPECT_EQ(HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF), 0);
	EXPECT_EQ(mmuext_one(MMUEXT_TLB_FLUSH_LOCAL, 0, 0), 0);
	uint64_t base = ((uintptr_t)pg.l1 & ~((1ull << 30) - 1)) + ((uint64_t)slot << 21);
	for (unsigned i = 0; i < 512; i++) {
		CHECK(probe_read((void *)(base + i * PAGE_SIZE), &v),
		      "page %u behind the attacked L1 is readable (%#lx)", i, (unsigned long)v);
		CHECK(probe_write((void *)(base + i * PAGE_SIZE), 0),
		      "page %u behind the attacked L1 is writable", i);
	}
	u.val = 0;
	EXPECT_EQ(HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF), 0);
	EXPECT_EQ(mmuext_one(MMUEXT_TLB_FLUSH_LOCAL, 0, 0), 0);
	printk("hvframes: the attacked L1 maps nothing\n");
}

static void check_runstate_not_written(uint64_t mfn_l1)
{
	uint64_t va = (uintptr_t)pg.l1;

	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_register_runstate_memory_area, 0, &va), 0);
	for (int i = 0; i < 10; i++)
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	CHECK(l1_is_clean(), "the runstate area was written into a pinned L1");
	va = 0;
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_register_runstate_memory_area, 0, &va), 0);
	(void)mfn_l1;
}

static void check_registered_page_stays_plain(void)
{
	uint64_t mfn_q = va_to_mfn(pg.q);
	struct vcpu_info *vi = (struct vcpu_info *)&pg.q[8];

	memset(pg.q, 0, PAGE_SIZE);
	EXPECT_EQ(register_vinfo(mfn_q, 64), 0);
	CHECK(register_vinfo(mfn_q, 128) < 0, "vcpu_info registered twice");
	/* Leave only bytes that would validate, then try to make it a table. */
	WRITE_ONCE(vi->evtchn_pending_sel, 0);
	EXPECT_EQ(uvm(pg.q, mfn_q, PTE_RO), 0);
	for (unsigned cmd = MMUEXT_PIN_L1_TABLE; cmd <= MMUEXT_PIN_L4_TABLE; cmd++) {
		long rc = mmuext_one(cmd, mfn_q, 0);

		CHECK(rc < 0, "a registered vcpu_info page was pinned (cmd %u)", cmd);
	}
	EXPECT_EQ(uvm(pg.q, mfn_q, PTE_RW), 0);
	/* Still the live vcpu_info: a fault's CR2 lands there. */
	fault_with_forged_cr2();
	EXPECT_EQ(READ_ONCE(vi->arch.cr2), FORGED_PTE);
	printk("hvframes: a registered vcpu_info page cannot become a page table\n");
}

static void check_ring_frame(const char *what, uint64_t mfn)
{
	int64_t pfn = mfn_to_pfn(mfn);
	long rc;

	CHECK(pfn >= 0, "%s MFN %#lx is not ours", what, (unsigned long)mfn);
	void *va = pfn_to_va((uint64_t)pfn);
	EXPECT_EQ(uvm(va, mfn, PTE_RO), 0);
	rc = mmuext_one(MMUEXT_PIN_L1_TABLE, mfn, 0);
	CHECK(rc < 0, "the %s ring frame was pinned as an L1", what);
	EXPECT_EQ(uvm(va, mfn, PTE_RW), 0);
	printk("hvframes: the %s ring cannot become a page table\n", what);
}

void test_main(void)
{
	uint64_t mfn_l1 = va_to_mfn(pg.l1), v;

	need_shared_info();
	traps_init();

	memset(pg.l1, 0, PAGE_SIZE);
	EXPECT_EQ(uvm(pg.l1, mfn_l1, PTE_RO), 0);
	EXPECT_EQ(mmuext_one(MMUEXT_PIN_L1_TABLE, mfn_l1, 0), 0);

	check_pinned_l1_refused(mfn_l1);
	check_hooked_l1_maps_nothing(mfn_l1);
	check_runstate_not_written(mfn_l1);
	check_ring_frame("console", start_info->console.domU.mfn);
	check_ring_frame("xenstore", start_info->store_mfn);
	check_registered_page_stays_plain();

	/* After all of it: the hypervisor's own area stays closed. */
	static const uint64_t closed[] = { HV_AREA_VA, HV_AREA_VA + 16 * PAGE_SIZE, HV_DMAP_VA,
	                                   HV_DMAP_VA + (1ull << 20) };
	for (unsigned i = 0; i < ARRAY_SIZE(closed); i++) {
		CHECK(probe_read((void *)closed[i], &v), "hypervisor VA %#lx readable",
		      (unsigned long)closed[i]);
		CHECK(probe_write((void *)closed[i], 0), "hypervisor VA %#lx writable",
		      (unsigned long)closed[i]);
	}
	CHECK(l1_is_clean(), "the pinned L1 changed");
	EXPECT_EQ(mmuext_one(MMUEXT_UNPIN_TABLE, mfn_l1, 0), 0);
	printk("hvframes: hypervisor area closed; %lu checks\n", checks_passed);
}
