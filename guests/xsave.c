/*
 * xsave: XSAVE for a PV guest, as Xen offers it.  CPUID (forced emulation,
 * as PV kernels use) offers XSAVE with at least the x87 and SSE state in
 * leaf 0xd, and AVX only with the AVX state.  OSXSAVE follows Xen's PV
 * ABI: the guest kernel's forced CPUID always shows it (Linux checks it
 * before it sets CR4.OSXSAVE itself); user mode sees the guest's
 * CR4.OSXSAVE, which the kernel may set.  XSETBV then takes only XCR0 (#GP
 * for another XCR), never without x87, never AVX without SSE, never
 * beyond leaf 0xd's mask, never from user mode (#GP) or with CR4.OSXSAVE
 * clear (#UD); leaf 0xd's EBX follows the XCR0 set.  With every offered
 * component enabled, XGETBV reads that XCR0 back (on any host: PVM hosts
 * run guest code with their own XCR0, which the offer matches), and
 * XSAVE at CPL3 saves the AVX state a program left in %ymm0.
 */
#include "guest.h"

const char test_name[] = "xsave";

#define CR4_OSXSAVE 0x40000ul

struct regs4 { uint32_t a, b, c, d; };

static struct regs4 xcpuid(uint32_t leaf, uint32_t sub)
{
	struct regs4 r;
	__asm__ __volatile__("ud2; .ascii \"xen\"; cpuid"
	                     : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d) : "0"(leaf), "2"(sub));
	return r;
}

static uint64_t user_cpuid1_ecx(uint64_t unused)
{
	(void)unused;
	return xcpuid(1, 0).c;
}

static unsigned long read_cr4(void)
{
	unsigned long v;
	__asm__ __volatile__("movq %%cr4, %0" : "=r"(v));
	return v;
}

static void write_cr4(unsigned long v)
{
	__asm__ __volatile__("movq %0, %%cr4" :: "r"(v));
}

/* 0, or 0x80 | the vector of the fault */
static uint64_t try_xsetbv(uint32_t xcr, uint64_t val)
{
	uint64_t traps = last_trap.count;
	__asm__ __volatile__("leaq 1f(%%rip), %%r8\n\t"
	                     "movq %%r8, trap_resume(%%rip)\n\t"
	                     "xsetbv\n\t"
	                     "movq $0, trap_resume(%%rip)\n"
	                     "1:" :: "c"(xcr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
	                     : "r8", "memory");
	return last_trap.count != traps ? 0x80 | last_trap.vector : 0;
}

static uint64_t user_xsetbv(uint64_t val)
{
	return try_xsetbv(0, val);
}

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static uint8_t area[4096] __attribute__((aligned(64)));

/* Leaves a pattern in %ymm0's upper half and saves the state. */
static uint64_t save_avx(uint64_t mask)
{
	static const uint64_t pattern[4] = { 1, 2, 0x1111222233334444ull, 0x5555666677778888ull };
	memset(area, 0, sizeof(area));
	__asm__ __volatile__("vmovdqu (%0), %%ymm0\n\t"
	                     "xsave (%1)"
	                     :: "r"(pattern), "r"(area), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32))
	                     : "memory");
	return 0;
}

void test_main(void)
{
	need_shared_info();
	traps_init();
	user_mode_init();

	struct regs4 l1 = xcpuid(1, 0), d0 = xcpuid(0xd, 0);
	uint64_t offered = ((uint64_t)d0.d << 32) | d0.a;
	CHECK(l1.c & (1u << 26), "CPUID.1:ECX %#x: no XSAVE", l1.c);
	CHECK(l1.c & (1u << 27), "kernel CPUID without OSXSAVE (Xen's PV ABI has it)");
	CHECK(!(user_call(user_cpuid1_ecx, 0) & (1u << 27)), "user CPUID shows OSXSAVE before CR4 does");
	CHECK((offered & 3) == 3, "leaf 0xd offers XCR0 %#lx without x87/SSE", (unsigned long)offered);
	CHECK(!(l1.c & (1u << 28)) == !(offered & 4), "AVX %u but YMM state %lu",
	      (l1.c >> 28) & 1, (unsigned long)(offered & 4));
	EXPECT_EQ(d0.b, 576);
	CHECK(d0.c >= 576, "leaf 0xd max size %u", d0.c);
	EXPECT_EQ(xcpuid(0xd, 1).a & (1u << 3), 0);     /* no XSAVES: CPL0 only */
	printk("xsave: XCR0 mask %#lx offered, max area %u bytes\n", (unsigned long)offered, d0.c);

	EXPECT_EQ(try_xsetbv(0, 3), 0x80 | 6);           /* CR4.OSXSAVE clear */
	write_cr4(read_cr4() | CR4_OSXSAVE);
	CHECK(read_cr4() & CR4_OSXSAVE, "CR4.OSXSAVE did not stick");
	CHECK(user_call(user_cpuid1_ecx, 0) & (1u << 27), "OSXSAVE not mirrored to user mode");

	EXPECT_EQ(try_xsetbv(1, 3), 0x80 | 13);          /* only XCR0 */
	EXPECT_EQ(try_xsetbv(0, 2), 0x80 | 13);          /* x87 is always on */
	EXPECT_EQ(try_xsetbv(0, 5), 0x80 | 13);          /* AVX without SSE */
	EXPECT_EQ(try_xsetbv(0, offered | (1ull << 9)), 0x80 | 13);   /* beyond the offer */
	EXPECT_EQ(user_call(user_xsetbv, 3), 0x80 | 13);
	EXPECT_EQ(try_xsetbv(0, 3), 0);
	EXPECT_EQ(xcpuid(0xd, 0).b, 576);
	EXPECT_EQ(try_xsetbv(0, offered), 0);
	EXPECT_EQ(xcpuid(0xd, 0).b, d0.c);
	if (xcpuid(0xd, 1).a & 2) {   /* XSAVEC: the compacted size follows XCR0 too */
		uint32_t compacted = 576;
		for (unsigned i = 2; i < 32; i++)
			if (offered >> i & 1)
				compacted += xcpuid(0xd, i).a;
		EXPECT_EQ(xcpuid(0xd, 1).b, compacted);
	}
	EXPECT_EQ(xgetbv0(), offered);
	printk("xsave: XSETBV checks ok, XCR0 %#lx in force\n", (unsigned long)xgetbv0());

	if (offered & 4) {
		user_call(save_avx, offered);
		uint64_t xstate_bv;
		memcpy(&xstate_bv, area + 512, 8);
		CHECK(xstate_bv & 4, "XSAVE header XSTATE_BV %#lx lacks AVX", (unsigned long)xstate_bv);
		struct regs4 d2 = xcpuid(0xd, 2);
		uint64_t hi[2];
		memcpy(hi, area + d2.b, 16);
		EXPECT_EQ(hi[0], 0x1111222233334444ull);
		EXPECT_EQ(hi[1], 0x5555666677778888ull);
		printk("xsave: user-mode XSAVE saved %%ymm0's upper half at offset %u\n", d2.b);
	}
}
