/*
 * canonical: non-canonical addresses are refused the way Xen refuses them
 * (run with --vcpus 2).
 *
 * - set_trap_table: an entry with a non-canonical handler fails the call
 *   with -EINVAL and is not installed.
 * - callback_op(register) of every type: -EINVAL.
 * - VCPUOP_initialise: a context with any non-canonical RIP, RSP, kernel
 *   stack, segment base, callback or trap handler gets -EINVAL and leaves
 *   the vCPU uninitialised; the same context made canonical is accepted.
 * - HYPERVISOR_iret to a non-canonical RIP, in kernel and user mode and on
 *   the VGCF_in_syscall path: the guest gets a #GP(0) reported at that RIP
 *   in the mode it was returning to (Xen's iretq faults and is reported so),
 *   never a crash and never a return there.
 * - WRMSR of FS/GS bases with a non-canonical value: #GP(0);
 *   set_segment_base: -EINVAL.  The bases keep their values.
 */
#include "guest.h"

const char test_name[] = "canonical";

#define EINVAL 22
#define USER_STACK_VA 0x401000ull
#define MSR_FS_BASE        0xc0000100u
#define MSR_GS_BASE        0xc0000101u
#define MSR_SHADOW_GS_BASE 0xc0000102u

static const uint64_t bad_addrs[] = {
	0x0000800000000000ull,     /* just above the lower half */
	0xffff7fffffffffffull,     /* just below the upper half */
	0x8000000000000000ull,
};

extern uint8_t bad_iret_resume[];
/* HYPERVISOR_iret to rip in kernel mode with the given flags word; returns
 * 1 when the #GP handler resumed us (trap_resume), 0 if the iret "worked". */
int bad_iret(uint64_t rip, uint64_t flags);
__asm__(
	"	.text\n"
	"	.globl bad_iret\n"
	"bad_iret:\n"
	"	leaq bad_iret_resume(%rip), %rax\n"
	"	movq %rax, trap_resume(%rip)\n"
	"	movq %rsp, %rax\n"
	"	pushq $0xe028\n"           /* SS: FLAT_KERNEL_SS, RPL 0 = kernel mode */
	"	pushq %rax\n"              /* RSP: ours, so `ret` works on resume */
	"	pushq $0x2\n"              /* RFLAGS: events masked */
	"	pushq $0xe030\n"           /* CS: FLAT_KERNEL_CS, RPL 0 */
	"	pushq %rdi\n"              /* RIP */
	"	pushq %rsi\n"              /* flags */
	"	jmp hypercall_iret\n"
	"	.globl bad_iret_resume\n"
	"bad_iret_resume:\n"
	"	movl $1, %eax\n"
	"	ret\n");

static uint8_t user_stack[PAGE_SIZE] PAGE_ALIGNED;
static struct trap_frame user_gp;
static int user_gps;

static uint64_t gp_handler(struct trap_frame *f)
{
	if ((f->cs & 3) != 3)
		test_fail("unexpected kernel #GP at %#lx", (unsigned long)f->rip);
	user_gp = *f;
	user_gps++;
	user_return(f, 13);
	return 0;
}

static void test_trap_table(void)
{
	struct trap_info t[3];
	uint64_t before;

	for (unsigned i = 0; i < ARRAY_SIZE(bad_addrs); i++) {
		memset(t, 0, sizeof(t));
		t[0] = (struct trap_info){ .vector = 6, .cs = FLAT_KERNEL_CS, .address = bad_addrs[i] };
		EXPECT_EQ(HYPERVISOR_set_trap_table(t), -EINVAL);
	}
	/* #UD still reaches the library's handler. */
	before = last_trap.count;
	__asm__ __volatile__("leaq 1f(%%rip), %%rax\n\t"
	                     "movq %%rax, trap_resume(%%rip)\n\t"
	                     "ud2\n"
	                     "1:" ::: "rax", "memory");
	CHECK(last_trap.count == before + 1 && last_trap.vector == 6,
	      "#UD after the refused trap table: vector %lu", (unsigned long)last_trap.vector);
	printk("canonical: set_trap_table refuses non-canonical handlers\n");
}

static void test_callbacks(void)
{
	static const uint16_t types[] = {
		CALLBACKTYPE_event, CALLBACKTYPE_failsafe, CALLBACKTYPE_syscall, CALLBACKTYPE_nmi,
	};

	for (unsigned i = 0; i < ARRAY_SIZE(types); i++)
		for (unsigned j = 0; j < ARRAY_SIZE(bad_addrs); j++) {
			struct callback_register cb = { .type = types[i], .address = bad_addrs[j] };

			EXPECT_EQ(HYPERVISOR_callback_op(CALLBACKOP_register, &cb), -EINVAL);
		}
}

/* ---- VCPUOP_initialise ---------------------------------------------------- */

static struct vcpu_guest_context ctx;
static uint8_t ap_stack[4 * PAGE_SIZE] PAGE_ALIGNED;

_Noreturn void ap_main(void);
_Noreturn void ap_main(void)
{
	HYPERVISOR_vcpu_op(VCPUOP_down, 1, NULL);
	for (;;)
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
}

static void good_context(void)
{
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
}

static void test_initialise(void)
{
	uint64_t *fields[] = {
		&ctx.user_regs.rip, &ctx.user_regs.rsp, &ctx.kernel_sp, &ctx.fs_base,
		&ctx.gs_base_kernel, &ctx.gs_base_user, &ctx.event_callback_eip,
		&ctx.syscall_callback_eip, &ctx.failsafe_callback_eip,
		&ctx.trap_ctxt[14].address, &ctx.trap_ctxt[200].address,
	};

	for (unsigned i = 0; i < ARRAY_SIZE(fields); i++) {
		good_context();
		*fields[i] = bad_addrs[i % ARRAY_SIZE(bad_addrs)];
		long rc = HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx);
		CHECK(rc == -EINVAL, "initialise with bad field %u: %ld", i, rc);
	}
	good_context();
	ctx.ldt_ents = 1;
	ctx.ldt_base = bad_addrs[0];
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx), -EINVAL);
	/* Still uninitialised: it cannot be brought up. */
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL), -EINVAL);
	good_context();
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx), 0);
	printk("canonical: VCPUOP_initialise refuses non-canonical contexts\n");
}

/* ---- HYPERVISOR_iret ------------------------------------------------------- */

static void test_iret_kernel(uint64_t flags)
{
	for (unsigned i = 0; i < ARRAY_SIZE(bad_addrs); i++) {
		uint64_t before = last_trap.count;

		CHECK(bad_iret(bad_addrs[i], flags) == 1, "iret to %#lx returned",
		      (unsigned long)bad_addrs[i]);
		CHECK(last_trap.count == before + 1, "no trap for iret to %#lx",
		      (unsigned long)bad_addrs[i]);
		EXPECT_EQ(last_trap.vector, 13);
		EXPECT_EQ(last_trap.error_code, 0);
		EXPECT_EQ(last_trap.rip, bad_addrs[i]);
		CHECK((last_trap.cs & 3) == 0, "#GP frame cs %#lx is not kernel mode",
		      (unsigned long)last_trap.cs);
	}
}

static void test_iret_user(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(bad_addrs); i++) {
		user_gps = 0;
		EXPECT_EQ(user_run(bad_addrs[i], USER_STACK_VA + PAGE_SIZE - 64), 13);
		EXPECT_EQ(user_gps, 1);
		EXPECT_EQ(user_gp.rip, bad_addrs[i]);
		EXPECT_EQ(user_gp.error_code, 0);
		EXPECT_EQ(user_gp.rsp, USER_STACK_VA + PAGE_SIZE - 64);
	}
	printk("canonical: iret to non-canonical RIPs gives #GP(0) in the target mode\n");
}

/* ---- segment bases --------------------------------------------------------- */

static bool wrmsr_faults(uint32_t msr, uint64_t val)
{
	uint64_t before = last_trap.count;

	__asm__ __volatile__("leaq 1f(%%rip), %%r8\n\t"
	                     "movq %%r8, trap_resume(%%rip)\n\t"
	                     "wrmsr\n\t"
	                     "movq $0, trap_resume(%%rip)\n"
	                     "1:"
	                     :: "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
	                     : "r8", "memory");
	return last_trap.count != before;
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static void test_segment_bases(void)
{
	static const uint32_t msrs[] = { MSR_FS_BASE, MSR_GS_BASE, MSR_SHADOW_GS_BASE };
	static const int which[] = { SEGBASE_FS, SEGBASE_GS_USER, SEGBASE_GS_KERNEL };
	uint64_t keep[3];

	for (unsigned m = 0; m < 3; m++)
		keep[m] = rdmsr(msrs[m]);
	for (unsigned m = 0; m < 3; m++)
		for (unsigned i = 0; i < ARRAY_SIZE(bad_addrs); i++) {
			CHECK(wrmsr_faults(msrs[m], bad_addrs[i]), "wrmsr %#x <- %#lx did not fault",
			      msrs[m], (unsigned long)bad_addrs[i]);
			EXPECT_EQ(last_trap.vector, 13);
			EXPECT_EQ(last_trap.error_code, 0);
			EXPECT_EQ(HYPERVISOR_set_segment_base(which[m], bad_addrs[i]), -EINVAL);
		}
	for (unsigned m = 0; m < 3; m++)
		EXPECT_EQ(rdmsr(msrs[m]), keep[m]);
}

void test_main(void)
{
	need_shared_info();
	traps_init();

	test_trap_table();
	test_callbacks();
	test_initialise();
	test_segment_bases();
	test_iret_kernel(0);
	test_iret_kernel(VGCF_IN_SYSCALL);

	trap_set_handler(13, gp_handler);
	user_map(USER_STACK_VA, user_stack, true);
	user_tables_install();
	test_iret_user();
}
