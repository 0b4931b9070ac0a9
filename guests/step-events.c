/*
 * step-events: user mode single-steps itself (TF) through int3, a system
 * call and a counted loop for 10 s while a 1 ms periodic timer keeps
 * interrupting it (events unmasked in user mode).
 *
 * Every trap must be the next one expected, at the expected RIP: #BP
 * after the int3, the syscall callback after the syscall, a #DB after each
 * other instruction, with DR6.BS saying it is a single step.  A single-step or breakpoint lost (or doubled) when a
 * timer event caught the vCPU in user code fails the test, and so would a
 * #DB raised inside kxen's own stubs (which ended the domain).  The timer
 * events must really have arrived while user mode ran.
 */
#include "guest.h"

const char test_name[] = "step-events";

#define USER_CODE_VA  0x400000ull
#define USER_STACK_VA 0x401000ull
#define RUN_NS        10000000000ull
#define TICK_NS       1000000ull
#define BATCH         200

extern uint8_t upage[], u_loop[], u_after_int3[], u_after_mov[], u_after_syscall[],
	u_after_dec[], u_after_jnz[], u_after_exit_mov[], u_after_exit_xor[];

__asm__(
	"	.text\n"
	"	.balign 4096\n"
	"upage:\n"
	"	movl $200, %r12d\n"        /* BATCH */
	"	pushfq\n"
	"	orq $0x100, (%rsp)\n"
	"	popfq\n"                   /* TF from here on */
	"u_loop:\n"
	"	int3\n"
	"u_after_int3:\n"
	"	movl $39, %eax\n"
	"u_after_mov:\n"
	"	syscall\n"
	"u_after_syscall:\n"
	"	decq %r12\n"
	"u_after_dec:\n"
	"	jnz u_loop\n"
	"u_after_jnz:\n"
	"	movl $60, %eax\n"
	"u_after_exit_mov:\n"
	"	xorl %edi, %edi\n"
	"u_after_exit_xor:\n"
	"	syscall\n"
	"	ud2\n"
	"	.balign 4096\n"
	"	.text\n");

static uint8_t user_stack[PAGE_SIZE] PAGE_ALIGNED;

/* What the next trap from user mode must be. */
static unsigned want_vec;
static const uint8_t *want_at;
static unsigned long loops_left, traps, steps, bps, syscalls;
static volatile unsigned long ticks;

#define SYSCALL_VEC 0x200

static uint64_t at_user(const uint8_t *label)
{
	return USER_CODE_VA + (uint64_t)(label - upage);
}

static void expect(unsigned vec, const uint8_t *at)
{
	want_vec = vec;
	want_at = at;
}

/* Check the trap against the expectation and set the next one. */
static void step_machine(struct trap_frame *f, unsigned vec)
{
	if ((f->cs & 3) != 3)
		test_fail("vector %u in kernel mode at %#lx", vec, (unsigned long)f->rip);
	if (vec != want_vec || f->rip != at_user(want_at))
		test_fail("trap %lu: vector %u at %#lx, expected vector %u at %#lx "
		          "(%lu steps, %lu breakpoints, %lu syscalls, %lu ticks)",
		          traps, vec, (unsigned long)f->rip, want_vec,
		          (unsigned long)at_user(want_at), steps, bps, syscalls, ticks);
	if (!(f->rflags & 0x100) && want_at != u_after_exit_xor)
		test_fail("TF clear in the frame at %#lx", (unsigned long)f->rip);
	traps++;
	if (want_at == u_after_int3)
		expect(1, u_after_mov);
	else if (want_at == u_after_mov)
		expect(SYSCALL_VEC, u_after_syscall);
	else if (want_at == u_after_syscall)
		expect(1, u_after_dec);
	else if (want_at == u_after_dec)
		expect(1, --loops_left ? u_loop : u_after_jnz);
	else if (want_at == u_loop)
		expect(3, u_after_int3);
	else if (want_at == u_after_jnz)
		expect(1, u_after_exit_mov);
	else if (want_at == u_after_exit_mov)
		expect(1, u_after_exit_xor);
	else
		expect(~0u, NULL);   /* the exit system call comes next */
}

#define DR6_DEFAULT 0xffff0ff0ul
#define DR6_BS      (1ul << 14)

static uint64_t on_db(struct trap_frame *f)
{
	unsigned long dr6;

	steps++;
	step_machine(f, 1);
	/* The cause is in DR6, which the handler resets, as Linux does. */
	__asm__ __volatile__("mov %%dr6, %0" : "=r"(dr6));
	if (!(dr6 & DR6_BS))
		test_fail("single-step #DB %lu at %#lx: DR6 %#lx without BS", steps,
		          (unsigned long)f->rip, dr6);
	__asm__ __volatile__("mov %0, %%dr6" :: "r"(DR6_DEFAULT));
	return 0;
}

static uint64_t on_bp(struct trap_frame *f)
{
	bps++;
	step_machine(f, 3);
	return 0;
}

static uint64_t on_syscall(struct trap_frame *f)
{
	syscalls++;
	step_machine(f, SYSCALL_VEC);
	f->rax = 0;
	f->cs = FLAT_USER_CS | 3;
	f->ss = FLAT_USER_SS | 3;
	return VGCF_IN_SYSCALL;
}

static void on_tick(evtchn_port_t port)
{
	(void)port;
	ticks++;
}

void test_main(void)
{
	struct vcpu_set_periodic_timer period = { .period_ns = TICK_NS };
	evtchn_port_t tport;
	uint64_t end, batches = 0;

	events_init();
	traps_init();
	trap_set_handler(1, on_db);
	trap_set_handler(3, on_bp);
	user_map(USER_CODE_VA, upage, false);
	user_map(USER_STACK_VA, user_stack, true);
	user_tables_install();
	user_syscall_hook = on_syscall;

	EXPECT_EQ(evtchn_bind_virq(VIRQ_TIMER, 0, &tport), 0);
	evtchn_handler[tport] = on_tick;
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, &period), 0);

	end = xen_now(0) + RUN_NS;
	while (xen_now(0) < end) {
		loops_left = BATCH;
		expect(3, u_after_int3);
		EXPECT_EQ(user_run_flags(USER_CODE_VA, USER_STACK_VA + PAGE_SIZE - 64, 0x202), 0);
		CHECK(want_vec == ~0u, "user mode exited early (%lu loops left)", loops_left);
		batches++;
	}
	printk("step-events: %lu batches: %lu single-steps, %lu breakpoints, %lu syscalls, "
	       "%lu timer ticks\n", (unsigned long)batches, steps, bps, syscalls, ticks);
	CHECK(ticks > 100, "only %lu timer ticks arrived", ticks);
}
