/*
 * cpuid: instruction emulation a PV kernel relies on.
 *
 * - Forced-emulation CPUID (ud2; "xen"; cpuid): leaf 0x40000000 must say
 *   "XenVMMXenVMM" with >= 2 more leaves and no KVM signature at a higher
 *   base (Linux picks the highest), leaf 0x40000001 the Xen version.
 * - Leaf 1 / 7 / 0x80000001 hide what Xen hides from PV: PSE, PSE36, PGE,
 *   PCID, INVPCID, PDPE1GB (Linux would build superpages or global pages).
 * - WRMSR/RDMSR of MSR_GS_BASE, a raw privileged instruction that Linux
 *   executes first thing: the write must take effect for %gs accesses.
 *   set_segment_base(SEGBASE_GS_KERNEL) is the hypercall way to do the same.
 *   A non-canonical base in FS/GS/SHADOW_GS raises #GP(0) and changes
 *   nothing, as on hardware (XSA-193).
 */
#include "guest.h"

const char test_name[] = "cpuid";

#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define MSR_SHADOW_GS_BASE 0xc0000102u

struct regs4 { uint32_t a, b, c, d; };

static struct regs4 xen_cpuid(uint32_t leaf, uint32_t sub)
{
	struct regs4 r;
	uint64_t traps = last_trap.count;

	__asm__ __volatile__("leaq 1f(%%rip), %%r8\n\t"
	                     "movq %%r8, trap_resume(%%rip)\n\t"
	                     "ud2\n\t.ascii \"xen\"\n\tcpuid\n\t"
	                     "movq $0, trap_resume(%%rip)\n"
	                     "1:"
	                     : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d)
	                     : "0"(leaf), "2"(sub)
	                     : "r8", "memory");
	if (last_trap.count != traps)
		test_fail("forced-emulation CPUID leaf %#x was not emulated: vector %lu at %#lx",
		          leaf, (unsigned long)last_trap.vector, (unsigned long)last_trap.rip);
	return r;
}

/* Returns true if the instruction faulted (the fault is in last_trap). */
static bool wrmsr_safe(uint32_t msr, uint64_t val)
{
	uint64_t traps = last_trap.count;

	__asm__ __volatile__("leaq 1f(%%rip), %%r8\n\t"
	                     "movq %%r8, trap_resume(%%rip)\n\t"
	                     "wrmsr\n\t"
	                     "movq $0, trap_resume(%%rip)\n"
	                     "1:"
	                     :: "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
	                     : "r8", "memory");
	return last_trap.count != traps;
}

static bool rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint64_t traps = last_trap.count;
	uint32_t lo = 0, hi = 0;

	__asm__ __volatile__("leaq 1f(%%rip), %%r8\n\t"
	                     "movq %%r8, trap_resume(%%rip)\n\t"
	                     "rdmsr\n\t"
	                     "movq $0, trap_resume(%%rip)\n"
	                     "1:"
	                     : "+a"(lo), "+d"(hi) : "c"(msr) : "r8", "memory");
	*val = ((uint64_t)hi << 32) | lo;
	return last_trap.count != traps;
}

static uint64_t read_gs0(void)
{
	uint64_t v;

	__asm__ __volatile__("movq %%gs:0, %0" : "=r"(v) :: "memory");
	return v;
}

static void check_signature(void)
{
	struct regs4 r = xen_cpuid(XEN_CPUID_FIRST_LEAF, 0);
	char sig[13];
	long ver;

	memcpy(sig, &r.b, 4);
	memcpy(sig + 4, &r.c, 4);
	memcpy(sig + 8, &r.d, 4);
	sig[12] = 0;
	printk("cpuid: leaf 0x40000000: eax %#x \"%s\"\n", r.a, sig);
	CHECK(memcmp(sig, "XenVMMXenVMM", 12) == 0, "signature \"%s\"", sig);
	CHECK(r.a >= XEN_CPUID_FIRST_LEAF + 2, "max leaf %#x < 0x40000002", r.a);

	for (uint32_t base = XEN_CPUID_FIRST_LEAF + 0x100; base < 0x40010000; base += 0x100) {
		struct regs4 k = xen_cpuid(base, 0);

		CHECK(!(k.b == 0x4b4d564b && k.c == 0x564b4d56 && k.d == 0x4d),
		      "KVM signature visible at %#x: Linux would pick KVM", base);
	}

	r = xen_cpuid(XEN_CPUID_FIRST_LEAF + 1, 0);
	ver = HYPERVISOR_xen_version(XENVER_version, NULL);
	printk("cpuid: leaf 0x40000001: eax %#x (xen_version %#lx)\n", r.a, ver);
	EXPECT_EQ(r.a, ver);

	r = xen_cpuid(XEN_CPUID_FIRST_LEAF + 2, 0);
	printk("cpuid: leaf 0x40000002: eax %#x ebx %#x ecx %#x\n", r.a, r.b, r.c);
}

static void check_hidden_features(void)
{
	struct regs4 r0 = xen_cpuid(0, 0), r1 = xen_cpuid(1, 0), r;

	printk("cpuid: leaf 1: ecx %#x edx %#x\n", r1.c, r1.d);
	CHECK(!(r1.d & (1u << 3)), "PSE (leaf 1 edx bit 3) visible");
	CHECK(!(r1.d & (1u << 13)), "PGE (leaf 1 edx bit 13) visible");
	CHECK(!(r1.d & (1u << 17)), "PSE36 (leaf 1 edx bit 17) visible");
	CHECK(!(r1.c & (1u << 17)), "PCID (leaf 1 ecx bit 17) visible");
	if (r0.a >= 7) {
		r = xen_cpuid(7, 0);
		CHECK(!(r.b & (1u << 10)), "INVPCID (leaf 7 ebx bit 10) visible");
	}
	r = xen_cpuid(0x80000000u, 0);
	if (r.a >= 0x80000001u) {
		r = xen_cpuid(0x80000001u, 0);
		CHECK(!(r.d & (1u << 26)), "PDPE1GB (leaf 0x80000001 edx bit 26) visible");
	}
}

static void check_gs_base(void)
{
	static uint64_t area1[2] = { 0x1122334455667788ull, 0 };
	static uint64_t area2[2] = { 0x8877665544332211ull, 0 };
	uint64_t v;

	if (wrmsr_safe(MSR_GS_BASE, (uintptr_t)area1))
		test_fail("wrmsr MSR_GS_BASE not emulated: vector %lu error code %#lx",
		          (unsigned long)last_trap.vector, (unsigned long)last_trap.error_code);
	EXPECT_EQ(read_gs0(), area1[0]);
	if (rdmsr_safe(MSR_GS_BASE, &v))
		test_fail("rdmsr MSR_GS_BASE not emulated: vector %lu",
		          (unsigned long)last_trap.vector);
	EXPECT_EQ(v, (uintptr_t)area1);
	printk("cpuid: wrmsr/rdmsr GS_BASE ok\n");

	EXPECT_EQ(HYPERVISOR_set_segment_base(SEGBASE_GS_KERNEL, (uintptr_t)area2), 0);
	EXPECT_EQ(read_gs0(), area2[0]);
	printk("cpuid: set_segment_base(GS_KERNEL) ok\n");

	static const uint32_t base_msrs[] = { MSR_FS_BASE, MSR_GS_BASE, MSR_SHADOW_GS_BASE };
	for (unsigned i = 0; i < ARRAY_SIZE(base_msrs); i++) {
		uint64_t before = 0, after = 1;
		CHECK(!rdmsr_safe(base_msrs[i], &before), "rdmsr %#x faulted", base_msrs[i]);
		CHECK(wrmsr_safe(base_msrs[i], 0x8000000000000000ull),
		      "wrmsr %#x with a non-canonical base did not fault", base_msrs[i]);
		EXPECT_EQ(last_trap.vector, 13);
		EXPECT_EQ(last_trap.error_code, 0);
		CHECK(!rdmsr_safe(base_msrs[i], &after), "rdmsr %#x faulted", base_msrs[i]);
		EXPECT_EQ(after, before);
	}
	printk("cpuid: non-canonical FS/GS/SHADOW_GS bases -> #GP(0) ok\n");
}

void test_main(void)
{
	/* So an unemulated instruction is reported instead of killing us. */
	traps_init();
	check_signature();
	check_hidden_features();
	check_gs_base();
}
