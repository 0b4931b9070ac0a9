/*
 * ldt: MMUEXT_SET_LDT takes effect for code the CPU runs at CPL3.
 *
 * An LDT page with: 0 a flat data segment (DPL 3), 1 a 64-bit code segment
 * (DPL 3), 2 a system descriptor (an LDT descriptor: never allowed), 3 a
 * data segment written with DPL 0 (raised to 3, as Xen does for a 64-bit
 * PV guest).  Checks:
 *   - SET_LDT is refused while the page is mapped writable; once it is
 *     read-only it succeeds, and the page cannot be mapped writable again
 *     while the LDT is loaded;
 *   - `lar` sees entries 0, 1 and 3 with DPL 3 and entry 2 invalid;
 *   - selector 7 (index 0, TI, RPL 3) loads into %fs and %ds;
 *   - `lret` through selector 0xf (entry 1) runs code on that segment;
 *   - update_descriptor of entry 0 to not-present takes effect (`lar`
 *     fails), and back;
 *   - SET_LDT(0, 0) unloads it: `lar` fails and the page is writable again.
 * On PVM-style hosts CPL3 code runs on the host's descriptor tables, so no
 * guest selector is visible to it (`lar` of the very CS it runs on fails;
 * see docs/DESIGN.md): there the guest says so and checks only what the
 * hypervisor does (typing, refusal, update_descriptor, unloading).
 */
#include "guest.h"

const char test_name[] = "ldt";

#define PTE_RW (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define PTE_RO (_PAGE_PRESENT | _PAGE_ACCESSED)
#define SEL(i) (((i) << 3) | 4 | 3)

static uint64_t ldt_page[512] PAGE_ALIGNED;

/* base 0, limit 4 GiB, G; type: 3 data RW accessed, 0xb code execute/read accessed. */
static uint64_t desc(unsigned type, unsigned dpl, bool code64)
{
	return 0xffffull | (0xfull << 48) | ((uint64_t)type << 40) | (1ull << 44) |
	       ((uint64_t)dpl << 45) | (1ull << 47) | (1ull << 55) |
	       (code64 ? 1ull << 53 : 1ull << 54);
}

/* lar: returns false if the selector is not valid for it. */
static bool lar(uint16_t sel, uint32_t *rights)
{
	uint32_t r = 0;
	uint8_t ok;

	__asm__ __volatile__("lar %2, %0; setz %1" : "=r"(r), "=q"(ok) : "r"((uint32_t)sel) : "cc");
	*rights = r;
	return ok;
}

static long set_ldt(uint64_t va, unsigned ents)
{
	return mmuext_one(MMUEXT_SET_LDT, va, ents);
}

static uint64_t read_fs(void)
{
	uint16_t s;
	__asm__ __volatile__("mov %%fs, %0" : "=r"(s));
	return s;
}

extern const uint8_t far_target[];
static volatile uint64_t far_cs;

/* Far return into the LDT code segment, read %cs there, far return back. */
static void far_call_ldt(uint16_t sel)
{
	__asm__ __volatile__(
		"	mov %%cs, %%rax\n"
		"	push %%rax\n"             /* return CS */
		"	lea 1f(%%rip), %%rax\n"
		"	push %%rax\n"             /* return RIP */
		"	push %q0\n"               /* target CS */
		"	lea far_target(%%rip), %%rax\n"
		"	push %%rax\n"
		"	lretq\n"
		"	.globl far_target\n"
		"far_target:\n"
		"	mov %%cs, %%rax\n"
		"	mov %%rax, far_cs(%%rip)\n"
		"	lretq\n"
		"1:\n"
		: : "r"((uint64_t)sel) : "rax", "memory");
}

static void check_cpu_sees_ldt(void);

void test_main(void)
{
	uint64_t mfn = va_to_mfn(ldt_page), maddr0 = mfn << 12;
	uint32_t r;

	need_shared_info();
	traps_init();

	ldt_page[0] = desc(3, 3, false);
	ldt_page[1] = desc(0xb, 3, true);
	ldt_page[2] = (0x67ull) | (2ull << 40) | (1ull << 47);   /* an LDT descriptor */
	ldt_page[3] = desc(3, 0, false);

	bool visible = lar(FLAT_KERNEL_CS, &r);

	if (!visible)
		printk("ldt: this host runs CPL3 code on its own descriptor tables "
		       "(lar of cs %#x fails): CPU-level checks skipped\n", FLAT_KERNEL_CS);
	CHECK(!lar(SEL(0), &r), "lar of an LDT selector works with no LDT");
	CHECK(set_ldt((uintptr_t)ldt_page, 4) < 0, "SET_LDT accepted a page mapped writable");
	EXPECT_EQ(HYPERVISOR_update_va_mapping((uintptr_t)ldt_page, maddr0 | PTE_RO, UVMF_INVLPG), 0);
	EXPECT_EQ(set_ldt((uintptr_t)ldt_page, 4), 0);
	CHECK(HYPERVISOR_update_va_mapping((uintptr_t)ldt_page, maddr0 | PTE_RW, UVMF_INVLPG) < 0,
	      "a loaded LDT page was mapped writable");

	if (visible)
		check_cpu_sees_ldt();
	else
		EXPECT_EQ(HC(update_descriptor, maddr0, desc(3, 3, false), 0, 0, 0), 0);

	EXPECT_EQ(set_ldt(0, 0), 0);
	CHECK(!lar(SEL(0), &r), "lar works after the LDT was unloaded");
	EXPECT_EQ(HYPERVISOR_update_va_mapping((uintptr_t)ldt_page, maddr0 | PTE_RW, UVMF_INVLPG), 0);
	CHECK(!probe_write(ldt_page, ldt_page[0]), "the unloaded LDT page is not writable");
}

static void check_cpu_sees_ldt(void)
{
	uint64_t maddr0 = va_to_mfn(ldt_page) << 12;
	uint32_t r;

	CHECK(lar(SEL(0), &r), "lar of LDT entry 0 failed");
	EXPECT_EQ((r >> 8) & 0xff, 0xf3);     /* P, DPL 3, S, data RW accessed */
	CHECK(lar(SEL(1), &r), "lar of LDT entry 1 failed");
	EXPECT_EQ((r >> 8) & 0xff, 0xfb);     /* P, DPL 3, S, code accessed */
	CHECK(!lar(SEL(2), &r), "lar accepted a system descriptor in the LDT");
	CHECK(lar(SEL(3), &r), "lar of LDT entry 3 failed");
	EXPECT_EQ((r >> 13) & 3, 3);
	printk("ldt: lar sees the LDT\n");

	trap_resume = (uintptr_t)&&no_fs;
	__asm__ __volatile__("mov %0, %%fs" : : "r"((uint32_t)SEL(0)));
	trap_resume = 0;
	EXPECT_EQ(read_fs(), SEL(0));
	__asm__ __volatile__("mov %0, %%ds" : : "r"((uint32_t)SEL(3)));
	__asm__ __volatile__("mov %0, %%ds; mov %0, %%fs" : : "r"(0u));
	printk("ldt: selectors 7 and 0x1f load into %%fs and %%ds\n");

	far_call_ldt(SEL(1));
	EXPECT_EQ(far_cs, SEL(1));
	printk("ldt: lret into the LDT code segment ran with cs %#lx\n", (unsigned long)far_cs);

	EXPECT_EQ(HC(update_descriptor, maddr0, 0, 0, 0, 0), 0);
	CHECK(!lar(SEL(0), &r), "lar after update_descriptor(not present) still works");
	EXPECT_EQ(HC(update_descriptor, maddr0, desc(3, 3, false), 0, 0, 0), 0);
	CHECK(lar(SEL(0), &r), "lar after update_descriptor(data) failed");
	return;
no_fs:
	test_fail("loading selector %#x into %%fs faulted (vector %lu, error %#lx)", SEL(0),
	          (unsigned long)last_trap.vector, (unsigned long)last_trap.error_code);
}
