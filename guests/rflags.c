/*
 * rflags: the guest's RFLAGS across HYPERVISOR_iret, system calls and
 * events, as Xen keeps them.
 *
 * - HYPERVISOR_iret to user mode keeps NT, AC and DF (Xen drops only IOPL
 *   and VM): user code reads them back with pushf.
 * - A system call with NT set returns (iret with VGCF_in_syscall, sysret
 *   semantics) with NT still set; the callback's frame shows it too.
 * - User code spinning with NT set while a 1 ms timer delivers events
 *   (each one a frame taken from the live registers) keeps NT and is not
 *   crashed: kxen's own iretq must not run on the guest's NT.
 *
 * PVM-style hosts emulate kxen's CPL0 iretq and drop NT from the flags it
 * pops, whatever kxen put there.  The guest finds out with a hypercall
 * made with NT set (kxen returns from it with the guest's flags, NT
 * included) and prints "rflags: host iretq keeps NT: yes|no"; the NT
 * checks apply where it does (VT-x, AMD-V), the rest everywhere.
 */
#include "guest.h"

const char test_name[] = "rflags";

#define USER_CODE_VA  0x400000ull
#define USER_STACK_VA 0x401000ull
#define NT (1ull << 14)
#define AC (1ull << 18)
#define DF (1ull << 10)

extern uint8_t upage[], u_flags[], u_syscall_nt[], u_spin_nt[];

__asm__(
	"	.text\n"
	"	.balign 4096\n"
	"upage:\n"
	/* exit(RFLAGS as entered) */
	"u_flags:\n"
	"	pushfq\n"
	"	popq %rdi\n"
	"	cld\n"
	"	movl $60, %eax\n"
	"	syscall\n"
	/* set NT, system call 1, exit(RFLAGS after it) */
	"u_syscall_nt:\n"
	"	pushfq\n"
	"	orq $0x4000, (%rsp)\n"
	"	popfq\n"
	"	movl $1, %eax\n"
	"	syscall\n"
	"	pushfq\n"
	"	popq %rdi\n"
	"	movl $60, %eax\n"
	"	syscall\n"
	/* set NT, spin 2^28 times, exit(RFLAGS after) */
	"u_spin_nt:\n"
	"	pushfq\n"
	"	orq $0x4000, (%rsp)\n"
	"	popfq\n"
	"	movl $0x10000000, %ecx\n"
	"1:	decl %ecx\n"
	"	jnz 1b\n"
	"	pushfq\n"
	"	popq %rdi\n"
	"	movl $60, %eax\n"
	"	syscall\n"
	"	.balign 4096\n"
	"	.text\n");

static uint8_t user_stack[PAGE_SIZE] PAGE_ALIGNED;
static bool keeps_nt;
static uint64_t syscall_rflags;
static volatile unsigned long ticks;

static uint64_t at_user(const uint8_t *label)
{
	return USER_CODE_VA + (uint64_t)(label - upage);
}

static uint64_t on_syscall(struct trap_frame *f)
{
	syscall_rflags = f->r11;
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

/* NT set around a hypercall: whether it is still set afterwards. */
static bool host_keeps_nt(void)
{
	uint64_t f;

	__asm__ __volatile__("pushfq; orq $0x4000, (%%rsp); popfq" ::: "memory", "cc");
	HYPERVISOR_xen_version(0, NULL);
	__asm__ __volatile__("pushfq; popq %0; pushfq; andq $~0x4000, (%%rsp); popfq"
	                     : "=r"(f) :: "memory", "cc");
	return f & NT;
}

/* The flags the guest should see: NT only where the host can restore it. */
static uint64_t want(uint64_t flags)
{
	return keeps_nt ? flags : flags & ~NT;
}

void test_main(void)
{
	struct vcpu_set_periodic_timer period = { .period_ns = 1000000 };
	uint64_t rsp = USER_STACK_VA + PAGE_SIZE - 64, got;
	evtchn_port_t tport;

	events_init();
	traps_init();
	keeps_nt = host_keeps_nt();
	printk("rflags: host iretq keeps NT: %s\n", keeps_nt ? "yes" : "no");
	user_map(USER_CODE_VA, upage, false);
	user_map(USER_STACK_VA, user_stack, true);
	user_tables_install();
	user_syscall_hook = on_syscall;

	got = user_run_flags(at_user(u_flags), rsp, 0x2 | NT | AC | DF);
	CHECK((got & (NT | AC | DF)) == want(NT | AC | DF),
	      "iret to user mode with NT, AC, DF: user sees RFLAGS %#lx", (unsigned long)got);

	got = user_run(at_user(u_syscall_nt), rsp);
	CHECK(syscall_rflags & NT, "the syscall callback saw R11 %#lx without NT",
	      (unsigned long)syscall_rflags);
	CHECK((got & NT) == want(NT), "NT lost across a system call: RFLAGS %#lx",
	      (unsigned long)got);

	EXPECT_EQ(evtchn_bind_virq(VIRQ_TIMER, 0, &tport), 0);
	evtchn_handler[tport] = on_tick;
	EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, &period), 0);
	got = user_run_flags(at_user(u_spin_nt), rsp, 0x202);
	CHECK((got & NT) == want(NT), "NT lost while spinning under timer events: RFLAGS %#lx",
	      (unsigned long)got);
	CHECK(ticks > 0, "no timer event reached the spinning user code");
	printk("rflags: AC/DF kept by iret; NT kept by iret, a system call and %lu timer "
	       "events: %s\n", ticks, keeps_nt ? "checked" : "not checked (host)");
}
