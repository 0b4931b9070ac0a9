/*
 * fsgsbase: {RD,WR}{FS,GS}BASE for a PV guest.  Xen offers FSGSBASE to PV
 * guests (CPUID 7.0 EBX bit 0) and the guest's CR4.FSGSBASE enables it:
 * it starts clear, the guest may set it, and then the bases the
 * instructions see are the ones the MSRs and set_segment_base see, kept
 * per mode: the user GS base written with WRGSBASE in user mode is the
 * kernel's SHADOW_GS_BASE after the switch to the kernel, and is still
 * there when user mode resumes.  Where the host lets the VM's CR4 decide,
 * the instructions raise #UD while CR4.FSGSBASE is clear; PVM hosts run
 * guest code with their own CR4, so they always work there (command line
 * "fsgsbase-always": that check is skipped).
 */
#include "guest.h"

const char test_name[] = "fsgsbase";

#define MSR_FS_BASE        0xc0000100u
#define MSR_GS_BASE        0xc0000101u
#define MSR_SHADOW_GS_BASE 0xc0000102u
#define CR4_FSGSBASE       0x10000ul

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

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ __volatile__("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* Returns whether rdfsbase faulted (#UD expected). */
static uint64_t try_rdfsbase(uint64_t unused)
{
	uint64_t traps = last_trap.count, v;
	(void)unused;
	__asm__ __volatile__("leaq 1f(%%rip), %%rax\n\t"
	                     "movq %%rax, trap_resume(%%rip)\n\t"
	                     "rdfsbase %0\n\t"
	                     "movq $0, trap_resume(%%rip)\n"
	                     "1:" : "=r"(v) :: "rax", "memory");
	return last_trap.count != traps ? 0x80 | last_trap.vector : 0;
}

static uint64_t rdfsbase(void)
{
	uint64_t v;
	__asm__ __volatile__("rdfsbase %0" : "=r"(v));
	return v;
}

static uint64_t rdgsbase(void)
{
	uint64_t v;
	__asm__ __volatile__("rdgsbase %0" : "=r"(v));
	return v;
}

static void wrfsbase(uint64_t v)
{
	__asm__ __volatile__("wrfsbase %0" :: "r"(v) : "memory");
}

static void wrgsbase(uint64_t v)
{
	__asm__ __volatile__("wrgsbase %0" :: "r"(v) : "memory");
}

static uint64_t user_wrgsbase(uint64_t v)
{
	wrgsbase(v);
	return 0;
}

static uint64_t user_rdgsbase(uint64_t unused)
{
	(void)unused;
	return rdgsbase();
}

static uint64_t user_rdfsbase(uint64_t unused)
{
	(void)unused;
	return rdfsbase();
}

void test_main(void)
{
	const char *cmdline = (const char *)start_info->cmd_line;
	bool always = false;
	uint32_t a = 7, b, c = 0, d;

	for (const char *p = cmdline; *p; p++)
		if (!memcmp(p, "fsgsbase-always", 15))
			always = true;
	need_shared_info();
	traps_init();
	user_mode_init();

	/* the forced-emulation CPUID PV kernels use (plain CPUID may not
	 * even trap on some hosts) */
	__asm__ __volatile__("ud2; .ascii \"xen\"; cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	CHECK(b & 1, "CPUID 7.0 EBX %#x: no FSGSBASE", b);
	CHECK(!(read_cr4() & CR4_FSGSBASE), "CR4.FSGSBASE set at boot");
	if (!always) {
		EXPECT_EQ(try_rdfsbase(0), 0x80 | 6);
		EXPECT_EQ(user_call(try_rdfsbase, 0), 0x80 | 6);
		printk("fsgsbase: #UD with CR4.FSGSBASE clear\n");
	}
	write_cr4(read_cr4() | CR4_FSGSBASE);
	CHECK(read_cr4() & CR4_FSGSBASE, "CR4.FSGSBASE did not stick");
	EXPECT_EQ(try_rdfsbase(0), 0);

	/* the instructions and the MSRs / hypercall see the same bases */
	wrfsbase(0x1234000);
	EXPECT_EQ(rdmsr(MSR_FS_BASE), 0x1234000);
	EXPECT_EQ(HYPERVISOR_set_segment_base(SEGBASE_FS, 0x5678000), 0);
	EXPECT_EQ(rdfsbase(), 0x5678000);
	uint64_t kgs = rdgsbase();
	EXPECT_EQ(rdmsr(MSR_GS_BASE), kgs);
	printk("fsgsbase: kernel bases agree with the MSRs\n");

	/* user GS: written in user mode, seen by the kernel as the shadow base,
	 * and still there for user mode; FS is shared by both modes */
	wrmsr(MSR_SHADOW_GS_BASE, 0x1111000);
	EXPECT_EQ(user_call(user_rdgsbase, 0), 0x1111000);
	user_call(user_wrgsbase, 0x2222000);
	EXPECT_EQ(rdmsr(MSR_SHADOW_GS_BASE), 0x2222000);
	EXPECT_EQ(rdgsbase(), kgs);
	EXPECT_EQ(user_call(user_rdgsbase, 0), 0x2222000);
	EXPECT_EQ(user_call(user_rdfsbase, 0), 0x5678000);
	printk("fsgsbase: user GS base survives the switches\n");

	write_cr4(read_cr4() & ~CR4_FSGSBASE);
	CHECK(!(read_cr4() & CR4_FSGSBASE), "CR4.FSGSBASE did not clear");
	if (!always)
		EXPECT_EQ(try_rdfsbase(0), 0x80 | 6);
}
