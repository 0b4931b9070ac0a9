/*
 * m2p: the read-only machine-to-phys table at Xen's fixed ABI address
 * MACH2PHYS_VIRT_START (0xffff800000000000), which guests such as XTF read
 * without asking XENMEM_machphys_mapping.  Some hosts reserve that PML4
 * slot, so kxen serves these reads by emulation.  Checked, from guest
 * kernel and guest user mode: the entries equal the p2m's inverse and the
 * table XENMEM_machphys_mapping reports; every load form kxen emulates
 * (MOV with SIB and moffs, MOVZX/MOVSX/MOVSXD, CMP both ways, TEST, an ALU
 * op, CMOVcc, BT) leaves the registers and flags the hardware would; a
 * write is a #PF with P|W (and U from user mode), a jump into the table a
 * #PF with P|I, and an address past the table a not-present #PF.
 */
#include "guest.h"

const char test_name[] = "m2p";

#define M2P ((const volatile uint64_t *)MACH2PHYS_VIRT_START)
#define PFEC_P 1ul
#define PFEC_W 2ul
#define PFEC_U 4ul
#define PFEC_RSVD 8ul
#define PFEC_I 0x10ul

static uint64_t image_mfn;   /* MFN of a frame of ours, nonzero PFN */

static uint64_t m2p_load(uint64_t mfn)
{
	uint64_t val;
	__asm__ __volatile__("movq (%1,%2,8), %0" : "=r"(val)
	                     : "r"(MACH2PHYS_VIRT_START), "r"(mfn) : "memory");
	return val;
}

/* Every entry against the p2m and against the table at the address
 * XENMEM_machphys_mapping gives. */
static void check_entries(void)
{
	struct xen_machphys_mapping map;
	const uint64_t *p2m = (const uint64_t *)start_info->mfn_list;
	long rc = HYPERVISOR_memory_op(XENMEM_machphys_mapping, &map);

	CHECK(rc == 0, "XENMEM_machphys_mapping: %ld", rc);
	const volatile uint64_t *other = (const volatile uint64_t *)map.v_start;
	for (uint64_t pfn = 0; pfn < start_info->nr_pages; pfn++) {
		uint64_t mfn = p2m[pfn];
		if (m2p_load(mfn) != pfn)
			test_fail("M2P[%#lx] = %#lx at the ABI address, expected pfn %#lx",
			          (unsigned long)mfn, (unsigned long)m2p_load(mfn),
			          (unsigned long)pfn);
		if (other[mfn] != pfn)
			test_fail("M2P[%#lx] = %#lx at %#lx, expected %#lx", (unsigned long)mfn,
			          (unsigned long)other[mfn], (unsigned long)map.v_start,
			          (unsigned long)pfn);
	}
	checks_passed++;
	printk("m2p: %lu entries match the p2m at %#lx and %#lx\n",
	       (unsigned long)start_info->nr_pages, (unsigned long)MACH2PHYS_VIRT_START,
	       (unsigned long)map.v_start);
}

/* The load forms, each against the same expected value; returns a bitmap
 * of forms that went wrong (runs in kernel or user mode). */
static uint64_t check_forms(uint64_t mfn)
{
	const volatile uint64_t *e = &M2P[mfn];
	uint64_t pfn = (uint64_t)mfn_to_pfn(mfn), bad = 0, r, flags;
	uint8_t b;

	/* movzbl, movzwl, movsbq, movslq of the low bytes (small PFN) */
	__asm__ __volatile__("movzbl (%1), %k0" : "=r"(r) : "r"(e) : "memory");
	bad |= (r != (pfn & 0xff)) << 0;
	__asm__ __volatile__("movzwl (%1), %k0" : "=r"(r) : "r"(e) : "memory");
	bad |= (r != (pfn & 0xffff)) << 1;
	__asm__ __volatile__("movsbq (%1), %0" : "=r"(r) : "r"(e) : "memory");
	bad |= (r != (uint64_t)(int64_t)(int8_t)pfn) << 2;
	__asm__ __volatile__("movslq (%1), %0" : "=r"(r) : "r"(e) : "memory");
	bad |= (r != pfn) << 3;
	/* 32-bit mov zero-extends: start from all-ones */
	r = ~0ull;
	__asm__ __volatile__("movl (%1), %k0" : "+r"(r) : "r"(e) : "memory");
	bad |= (r != (uint32_t)pfn) << 4;
	/* cmp mem, reg (equal: ZF) and reg, mem (pfn+1 - pfn: no borrow) */
	__asm__ __volatile__("cmpq %2, (%1); sete %0" : "=r"(b) : "r"(e), "r"(pfn) : "cc", "memory");
	bad |= (b != 1) << 5;
	__asm__ __volatile__("cmpq (%1), %2; setb %0" : "=r"(b) : "r"(e), "r"(pfn + 1) : "cc", "memory");
	bad |= (b != 0) << 6;
	__asm__ __volatile__("cmpq $-1, (%1); sete %0" : "=r"(b) : "r"(e) : "cc", "memory");
	bad |= (b != 0) << 7;
	/* test, add, cmov, bt */
	__asm__ __volatile__("testq %2, (%1); setnz %0" : "=r"(b) : "r"(e), "r"(pfn) : "cc", "memory");
	bad |= (b != (pfn != 0)) << 8;
	r = 0x1000;
	__asm__ __volatile__("addq (%2), %0; pushfq; popq %1" : "+r"(r), "=r"(flags) : "r"(e)
	                     : "cc", "memory");
	bad |= (r != 0x1000 + pfn) << 9;
	bad |= ((flags & 0x40) != 0) << 10;              /* ZF clear */
	r = 5;
	__asm__ __volatile__("xorl %%ecx, %%ecx; cmovzq (%1), %0" : "+r"(r) : "r"(e)
	                     : "rcx", "cc", "memory");
	bad |= (r != pfn) << 11;
	__asm__ __volatile__("btq $0, (%1); setc %0" : "=r"(b) : "r"(e) : "cc", "memory");
	bad |= (b != (pfn & 1)) << 12;
	/* moffs: mov rax, [abs64] reads entry 1 */
	__asm__ __volatile__("movabsq 0xffff800000000008, %%rax" : "=a"(r) :: "memory");
	bad |= (r != (uint64_t)mfn_to_pfn(1)) << 13;
	return bad;
}

static uint64_t user_forms(uint64_t mfn)
{
	return check_forms(mfn);
}

static uint64_t user_load(uint64_t mfn)
{
	return M2P[mfn];
}

static uint64_t user_write(uint64_t mfn)
{
	return probe_write((volatile void *)&M2P[mfn], 0);
}

static void check_fault(const char *what, uint64_t addr, uint64_t want_ec)
{
	CHECK(last_trap.vector == 14, "%s: vector %lu, expected #PF", what,
	      (unsigned long)last_trap.vector);
	EXPECT_EQ(last_trap.cr2, addr);
	CHECK((last_trap.error_code & (PFEC_P | PFEC_W | PFEC_U | PFEC_RSVD | PFEC_I)) == want_ec,
	      "%s: error code %#lx, expected %#lx", what, (unsigned long)last_trap.error_code,
	      (unsigned long)want_ec);
	printk("m2p: %s -> #PF ec %#lx ok\n", what, (unsigned long)last_trap.error_code);
}

static void check_kernel_faults(uint64_t mfn)
{
	volatile uint64_t *e = (volatile uint64_t *)&M2P[mfn];
	uint64_t v, end = MACH2PHYS_VIRT_END - 8;

	CHECK(probe_write(e, 0), "write to the M2P did not fault");
	check_fault("kernel write", (uintptr_t)e, PFEC_P | PFEC_W);
	CHECK(m2p_load(mfn) == (uint64_t)mfn_to_pfn(mfn), "the write changed the M2P");
	CHECK(probe_read((void *)end, &v), "read at the end of the M2P range did not fault");
	check_fault("read past the table", end, 0);

	uint64_t traps = last_trap.count;
	__asm__ __volatile__("leaq 1f(%%rip), %%rax\n\t"
	                     "movq %%rax, trap_resume(%%rip)\n\t"
	                     "call *%0\n"
	                     "1: addq $8, %%rsp"   /* the call's return address */
	                     :: "r"(e) : "rax", "memory");
	CHECK(last_trap.count == traps + 1, "a call into the M2P did not fault");
	check_fault("kernel fetch", (uintptr_t)e, PFEC_P | PFEC_I);
}

void test_main(void)
{
	uint64_t bad;

	need_shared_info();
	traps_init();
	image_mfn = va_to_mfn(&image_mfn);

	check_entries();
	bad = check_forms(image_mfn);
	CHECK(bad == 0, "kernel mode: load forms wrong: bitmap %#lx", (unsigned long)bad);
	printk("m2p: 14 load forms from kernel mode ok\n");
	check_kernel_faults(image_mfn);

	user_mode_init();
	EXPECT_EQ(user_call(user_load, image_mfn), mfn_to_pfn(image_mfn));
	bad = user_call(user_forms, image_mfn);
	CHECK(bad == 0, "user mode: load forms wrong: bitmap %#lx", (unsigned long)bad);
	printk("m2p: reads from user mode ok\n");
	CHECK(user_call(user_write, image_mfn) == 1, "user write to the M2P did not fault");
	check_fault("user write", (uintptr_t)&M2P[image_mfn], PFEC_P | PFEC_W | PFEC_U);
	CHECK((last_trap.cs & 3) == 3, "user write fault came from cs %#lx",
	      (unsigned long)last_trap.cs);
}
