/*
 * user-emul: the one instruction guest user mode gets emulated, and no
 * other (run with --vcpus 2).
 *
 * 1. Forced-emulation CPUID (ud2; "xen"; cpuid) from user mode, with the
 *    code mapped in the user page tables only: it is emulated (leaf
 *    0x40000000 says "XenVMMXenVMM"), so the hypervisor must fetch it
 *    through the user tables, not the kernel's.
 * 2. No double fetch: vCPU 1 flips the first two bytes of a forced CPUID
 *    between ud2 (0f 0b) and wrmsr (0f 30) in a loop while user mode
 *    executes it thousands of times with ECX = MSR_SHADOW_GS_BASE and
 *    EDX:EAX = a marker (the code is mapped at the same VA in both page
 *    tables, so a fetch through either sees it).  A hypervisor that checks
 *    the signature and then fetches again to emulate would run that WRMSR
 *    with kernel privilege.  Each attempt must come back as an emulated
 *    CPUID, a #UD (the copy looked at was not the signature) or a #GP (the
 *    CPU itself ran wrmsr); the kernel's and the user's GS bases keep
 *    their values.
 * 3. Privileged instructions from user mode (wrmsr, rdmsr, mov from %cr3,
 *    cli) reach the kernel as #GP(0) at the instruction, not emulated.
 */
#include "guest.h"

const char test_name[] = "user-emul";

#define USER_CODE_VA  0x400000ull
#define USER_DATA_VA  0x401000ull
#define USER_STACK_VA 0x402000ull
#define MSR_GS_BASE        0xc0000101u
#define MSR_SHADOW_GS_BASE 0xc0000102u
#define KERNEL_GS 0xffffffff80abc000ull
#define USER_GS   0x0000000012345000ull
#define BATCH      500
#define MAX_BATCHES 40
#define WAIT_NS 5000000000ull

extern uint8_t user_page[], u_cpuid[], u_race[], u_race_insn[], u_wrmsr[], u_wrmsr_insn[],
	u_rdmsr[], u_rdmsr_insn[], u_movcr3[], u_movcr3_insn[], u_cli[], u_cli_insn[];

/*
 * One page of user code, mapped at USER_CODE_VA (user tables only) and at
 * its own kernel VA (both tables).  The data page is at USER_DATA_VA.
 */
__asm__(
	"	.text\n"
	"	.balign 4096\n"
	"user_page:\n"
	/* u_cpuid: leaf 0x40000000, results to the data page, then exit 0 */
	"u_cpuid:\n"
	"	movl $0x40000000, %eax\n"
	"	xorl %ecx, %ecx\n"
	"	ud2\n"
	"	.ascii \"xen\"\n"
	"	cpuid\n"
	"	movl %eax, 0x401000\n"
	"	movl %ebx, 0x401004\n"
	"	movl %ecx, 0x401008\n"
	"	movl %edx, 0x40100c\n"
	"	movl $60, %eax\n"
	"	xorl %edi, %edi\n"
	"	syscall\n"
	"	ud2\n"
	/* u_race: the flipped forced CPUID, 500 (BATCH) times */
	"u_race:\n"
	"	movl $500, %r12d\n"
	"1:	movl $0xc0000102, %ecx\n"
	"	movl $0x5a5a0000, %eax\n"
	"	movl $0x00005a5a, %edx\n"
	"u_race_insn:\n"
	"	ud2\n"
	"	.ascii \"xen\"\n"
	"	cpuid\n"
	"	decq %r12\n"
	"	jnz 1b\n"
	"	movl $60, %eax\n"
	"	xorl %edi, %edi\n"
	"	syscall\n"
	"	ud2\n"
	"u_wrmsr:\n"
	"	movl $0xc0000102, %ecx\n"
	"	movl $0x5a5a0000, %eax\n"
	"	movl $0x00005a5a, %edx\n"
	"u_wrmsr_insn:\n"
	"	wrmsr\n"
	"	ud2\n"
	"u_rdmsr:\n"
	"	movl $0xc0000101, %ecx\n"
	"u_rdmsr_insn:\n"
	"	rdmsr\n"
	"	ud2\n"
	"u_movcr3:\n"
	"u_movcr3_insn:\n"
	"	movq %cr3, %rax\n"
	"	ud2\n"
	"u_cli:\n"
	"u_cli_insn:\n"
	"	cli\n"
	"	ud2\n"
	"	.balign 4096\n"
	"	.text\n");

static uint8_t user_data[PAGE_SIZE] PAGE_ALIGNED;
static uint8_t user_stack[PAGE_SIZE] PAGE_ALIGNED;
static uint64_t ud_count, gp_count, race_gp_count;
static uint64_t rdmsr(uint32_t msr);
static struct trap_frame gp_frame;

static uint64_t at_user(const uint8_t *label)
{
	return USER_CODE_VA + (uint64_t)(label - user_page);
}

static uint64_t user_rsp(void)
{
	return USER_STACK_VA + PAGE_SIZE - 64;
}

/* #UD from user mode: the hypervisor's copy was not the signature. */
static uint64_t ud_handler(struct trap_frame *f)
{
	if ((f->cs & 3) != 3 || f->rip != (uintptr_t)u_race_insn)
		test_fail("#UD at %#lx cs %#lx", (unsigned long)f->rip, (unsigned long)f->cs);
	ud_count++;
	f->rip += 7;
	return 0;
}

static uint64_t gp_handler(struct trap_frame *f)
{
	if ((f->cs & 3) != 3)
		test_fail("kernel #GP at %#lx, error code %#lx", (unsigned long)f->rip,
		          (unsigned long)f->error_code);
	if (f->rip == (uintptr_t)u_race_insn) {   /* the CPU ran the wrmsr itself */
		race_gp_count++;
		f->rip += 7;
		return 0;
	}
	/* After an emulated 2-byte wrmsr, "xen" runs as code: outsb faults. */
	if (f->rip == (uintptr_t)u_race_insn + 4)
		test_fail("a WRMSR was emulated for user mode: kernel GS base %#lx",
		          (unsigned long)rdmsr(MSR_GS_BASE));
	gp_frame = *f;
	gp_count++;
	user_return(f, 13);
	return 0;
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

/* ---- vCPU 1: the byte flipper ------------------------------------------- */

static struct vcpu_guest_context ctx;
static uint8_t ap_stack[4 * PAGE_SIZE] PAGE_ALIGNED;
static volatile int flip_on = 1, ap_state;
static volatile uint64_t flips;

_Noreturn void ap_main(void);

_Noreturn void ap_main(void)
{
	volatile uint8_t *op = u_race_insn + 1;

	WRITE_ONCE(ap_state, 1);
	while (READ_ONCE(flip_on)) {
		*op = 0x30;             /* 0f 30: wrmsr */
		for (int i = 0; i < 8; i++)
			cpu_relax();
		*op = 0x0b;             /* 0f 0b: ud2, the signature again */
		for (int i = 0; i < 8; i++)
			cpu_relax();
		flips++;
	}
	WRITE_ONCE(ap_state, 2);
	HYPERVISOR_vcpu_op(VCPUOP_down, 1, NULL);
	for (;;)
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
}

static void start_flipper(void)
{
	uint64_t end;

	memset(&ctx, 0, sizeof(ctx));
	ctx.flags = VGCF_IN_KERNEL;
	ctx.user_regs.rip = (uintptr_t)ap_main;
	ctx.user_regs.rsp = (uintptr_t)(ap_stack + sizeof(ap_stack)) - 8;
	ctx.user_regs.cs = FLAT_KERNEL_CS;
	ctx.user_regs.ss = FLAT_KERNEL_SS;
	ctx.kernel_ss = FLAT_KERNEL_SS;
	ctx.kernel_sp = (uintptr_t)(ap_stack + sizeof(ap_stack));
	ctx.ctrlreg[3] = va_to_mfn((void *)start_info->pt_base) << 12;
	for (struct trap_info *t = trap_table; t->address; t++)
		ctx.trap_ctxt[t->vector] = *t;
	shared_info->vcpu_info[1].evtchn_upcall_mask = 1;
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx), 0);
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL), 0);
	end = xen_now(0) + WAIT_NS;
	while (READ_ONCE(ap_state) != 1 && xen_now(0) < end)
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	CHECK(READ_ONCE(ap_state) == 1, "vCPU 1 did not start");
}

static void stop_flipper(void)
{
	uint64_t end = xen_now(0) + WAIT_NS;

	WRITE_ONCE(flip_on, 0);
	while (READ_ONCE(ap_state) != 2 && xen_now(0) < end)
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	CHECK(READ_ONCE(ap_state) == 2, "vCPU 1 did not stop flipping");
	EXPECT_EQ(u_race_insn[1], 0x0b);
}

/* ---- the tests ------------------------------------------------------------ */

static void test_user_only_cpuid(void)
{
	const uint32_t *out = (const uint32_t *)user_data;
	uint64_t rc;

	rc = user_run(at_user(u_cpuid), user_rsp());
	EXPECT_EQ(rc, 0);
	EXPECT_EQ(ud_count, 0);
	CHECK(out[0] >= 0x40000002, "leaf 0x40000000 max leaf %#x", out[0]);
	CHECK(out[1] == 0x566e6558 && out[2] == 0x65584d4d && out[3] == 0x4d4d566e,
	      "leaf 0x40000000 signature %08x %08x %08x", out[1], out[2], out[3]);
	printk("user-emul: forced CPUID from user-only code at %#lx emulated\n",
	       (unsigned long)at_user(u_cpuid));
}

static void test_no_double_fetch(void)
{
	uint64_t runs = 0, batches;

	start_flipper();
	for (batches = 0; batches < MAX_BATCHES; batches++) {
		EXPECT_EQ(user_run((uintptr_t)u_race, user_rsp()), 0);
		runs += BATCH;
		CHECK(rdmsr(MSR_GS_BASE) == KERNEL_GS,
		      "user mode changed the kernel GS base to %#lx (batch %lu)",
		      (unsigned long)rdmsr(MSR_GS_BASE), (unsigned long)batches);
		CHECK(rdmsr(MSR_SHADOW_GS_BASE) == USER_GS,
		      "user GS base changed to %#lx (batch %lu)",
		      (unsigned long)rdmsr(MSR_SHADOW_GS_BASE), (unsigned long)batches);
		if (batches >= 3 && ud_count >= 20 && runs - ud_count - race_gp_count >= 20)
			break;
	}
	stop_flipper();
	printk("user-emul: %lu forced CPUIDs against %lu flips: %lu emulated, %lu #UD, %lu #GP\n",
	       (unsigned long)runs, (unsigned long)flips,
	       (unsigned long)(runs - ud_count - race_gp_count), (unsigned long)ud_count,
	       (unsigned long)race_gp_count);
	/* A #UD means the CPU ran ud2 but the hypervisor's copy said wrmsr:
	 * the flipper really raced the emulator. */
	CHECK(ud_count > 0 && runs - ud_count - race_gp_count > 0,
	      "no race observed (%lu #UD of %lu)", (unsigned long)ud_count, (unsigned long)runs);
}

static void expect_user_gp(const uint8_t *entry, const uint8_t *insn, const char *what)
{
	uint64_t before = gp_count;

	EXPECT_EQ(user_run(at_user(entry), user_rsp()), 13);
	CHECK(gp_count == before + 1, "%s from user mode: no #GP", what);
	CHECK(gp_frame.rip == at_user(insn), "%s: #GP at %#lx, expected %#lx", what,
	      (unsigned long)gp_frame.rip, (unsigned long)at_user(insn));
	EXPECT_EQ(gp_frame.error_code, 0);
}

void test_main(void)
{
	need_shared_info();
	traps_init();
	trap_set_handler(6, ud_handler);
	trap_set_handler(13, gp_handler);
	EXPECT_EQ(HYPERVISOR_set_segment_base(SEGBASE_GS_KERNEL, KERNEL_GS), 0);
	EXPECT_EQ(HYPERVISOR_set_segment_base(SEGBASE_GS_USER, USER_GS), 0);

	user_map(USER_CODE_VA, user_page, false);
	user_map((uintptr_t)user_page, user_page, false);
	user_map(USER_DATA_VA, user_data, true);
	user_map(USER_STACK_VA, user_stack, true);
	user_tables_install();

	test_user_only_cpuid();
	test_no_double_fetch();
	expect_user_gp(u_wrmsr, u_wrmsr_insn, "wrmsr");
	expect_user_gp(u_rdmsr, u_rdmsr_insn, "rdmsr");
	expect_user_gp(u_movcr3, u_movcr3_insn, "mov %cr3");
	expect_user_gp(u_cli, u_cli_insn, "cli");
	EXPECT_EQ(rdmsr(MSR_GS_BASE), KERNEL_GS);
	EXPECT_EQ(rdmsr(MSR_SHADOW_GS_BASE), USER_GS);
}
