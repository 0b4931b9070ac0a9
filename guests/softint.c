/*
 * softint: `int n` from guest user and kernel mode, as Xen delivers it.
 *
 * The trap table routes vectors 0x80 (DPL 3), 0x81 (DPL 3), 0x82 (DPL 1)
 * and 0x83 (DPL 0) to spare stubs 22-25, and gives #BP (vector 3) DPL 0.
 *
 * - From user mode: int $0x80 and int $0x81 reach their handlers as traps
 *   (RIP after the instruction, user CS), also with an operand-size
 *   prefix (3 bytes); int $0x82, int $0x83 and int $1 are #GP with error
 *   code (n << 3) | 2 at the instruction; int3 and int $3 are #BP although
 *   the guest asked DPL 0 (Xen's IDT makes 3 and 4 DPL 3 regardless).
 * - From kernel mode: DPL 1 is enough (int $0x82 works), DPL 0 is #GP.
 * - With no handler for 0x80, int $0x80 is #GP((0x80 << 3) | 2).
 * - After HYPERVISOR_iret to user mode with a non-canonical RSP (what a
 *   sigreturn may ask for; PVM-style hosts then emulate the user code, and
 *   reported int3 as #UD): int3 and int $3 are #BP, icebp is #DB, int
 *   $0x80 reaches its handler, each after the instruction with that RSP.
 *
 * PVM-style hosts report `int n` from CPL3 as #UD at the instruction; VT-x
 * and AMD-V raise #GP through kxen's DPL-0 gates, or deliver 0x80 through
 * its DPL-3 gate.  Either way the guest must see the above.
 */
#include "guest.h"

const char test_name[] = "softint";

#define USER_CODE_VA  0x400000ull
#define USER_STACK_VA 0x401000ull

extern uint8_t upage[], u80[], u80_end[], u81[], u81_end[], u81p[], u81p_end[], u82[], u83[],
	u1[], ucc[], ucc_end[], ucd3[], ucd3_end[], uf1[], uf1_end[];

/* Each entry point runs one `int` and, if that returns, exits with 0. */
__asm__(
	"	.text\n"
	"	.balign 4096\n"
	"upage:\n"
	"u80:	int $0x80\n"
	"u80_end:	jmp u_exit\n"
	"u81:	int $0x81\n"
	"u81_end:	jmp u_exit\n"
	"u81p:	.byte 0x66, 0xcd, 0x81\n"
	"u81p_end:	jmp u_exit\n"
	"u82:	int $0x82\n"
	"	jmp u_exit\n"
	"u83:	int $0x83\n"
	"	jmp u_exit\n"
	"u1:	int $1\n"
	"	jmp u_exit\n"
	"ucc:	int3\n"
	"ucc_end:	jmp u_exit\n"
	"ucd3:	int $3\n"
	"ucd3_end:	jmp u_exit\n"
	"uf1:	.byte 0xf1\n"             /* icebp */
	"uf1_end:	jmp u_exit\n"
	"u_exit:	movl $60, %eax\n"
	"	xorl %edi, %edi\n"
	"	syscall\n"
	"	ud2\n"
	"	.balign 4096\n"
	"	.text\n");

static uint8_t user_stack[PAGE_SIZE] PAGE_ALIGNED;
static struct trap_frame seen;

static uint64_t at_user(const uint8_t *label)
{
	return USER_CODE_VA + (uint64_t)(label - upage);
}

/* Any trap from user mode: record it and end user_run with its vector. */
static uint64_t from_user(struct trap_frame *f)
{
	if ((f->cs & 3) != 3)
		test_fail("vector %lu in kernel mode at %#lx", (unsigned long)f->vector,
		          (unsigned long)f->rip);
	seen = *f;
	user_return(f, 1000 + f->vector);
	return 0;
}

static void set_soft_vectors(bool with_0x80)
{
	struct trap_info t[6];
	unsigned n = 0;

	if (with_0x80)
		t[n++] = (struct trap_info){ 0x80, 3, FLAT_KERNEL_CS, 0, trap_stubs[22] };
	t[n++] = (struct trap_info){ 0x81, 3, FLAT_KERNEL_CS, 0, trap_stubs[23] };
	t[n++] = (struct trap_info){ 0x82, 1, FLAT_KERNEL_CS, 0, trap_stubs[24] };
	t[n++] = (struct trap_info){ 0x83, 0, FLAT_KERNEL_CS, 0, trap_stubs[25] };
	t[n++] = (struct trap_info){ 3, 0, FLAT_KERNEL_CS, 0, trap_stubs[3] };   /* DPL 0 */
	t[n] = (struct trap_info){ 0 };
	EXPECT_EQ(HYPERVISOR_set_trap_table(t), 0);
}

#define GOOD_RSP (USER_STACK_VA + PAGE_SIZE - 64)
#define BAD_RSP  0x8000000000000000ull

static void user_int_rsp(const char *what, const uint8_t *entry, uint64_t rsp,
                         unsigned want_vec, uint64_t want_rip, uint64_t want_err)
{
	uint64_t got = user_run(at_user(entry), rsp);

	CHECK(got == 1000 + want_vec, "%s from user mode: vector %ld, expected %u", what,
	      (long)got - 1000, want_vec);
	CHECK(seen.rip == want_rip, "%s: RIP %#lx, expected %#lx", what, (unsigned long)seen.rip,
	      (unsigned long)want_rip);
	EXPECT_EQ(seen.error_code, want_err);
	CHECK(seen.rsp == rsp, "%s: RSP %#lx, expected %#lx", what, (unsigned long)seen.rsp,
	      (unsigned long)rsp);
	printk("softint: user %s -> vector %u at %#lx error %#lx\n", what, want_vec,
	       (unsigned long)seen.rip, (unsigned long)seen.error_code);
}

static void user_int(const char *what, const uint8_t *entry, unsigned want_vec,
                     uint64_t want_rip, uint64_t want_err)
{
	user_int_rsp(what, entry, GOOD_RSP, want_vec, want_rip, want_err);
}

/* int n in kernel mode; returns the vector the library recorded. */
#define KERNEL_INT(n, after)                                                      \
	({                                                                        \
		uint64_t before_ = last_trap.count;                               \
		__asm__ __volatile__("leaq 1f(%%rip), %%rax\n\t"                  \
		                     "movq %%rax, trap_resume(%%rip)\n\t"        \
		                     "int $" #n "\n"                              \
		                     "1:\n\t"                                     \
		                     "leaq 1b(%%rip), %0"                         \
		                     : "=r"(after) :: "rax", "memory");           \
		CHECK(last_trap.count == before_ + 1, "int $" #n " in kernel mode: no trap"); \
		last_trap.vector;                                                 \
	})

static void kernel_ints(void)
{
	uint64_t after;
	uint64_t vec;

	vec = KERNEL_INT(0x82, after);
	EXPECT_EQ(vec, 24);
	EXPECT_EQ(last_trap.rip, after);
	vec = KERNEL_INT(0x80, after);
	EXPECT_EQ(vec, 22);
	EXPECT_EQ(last_trap.rip, after);
	vec = KERNEL_INT(0x83, after);
	EXPECT_EQ(vec, 13);
	EXPECT_EQ(last_trap.error_code, (0x83 << 3) | 2);
	EXPECT_EQ(last_trap.rip, after - 2);
	printk("softint: kernel int $0x82 (DPL 1) delivered, int $0x83 (DPL 0) #GP\n");
}

void test_main(void)
{
	need_shared_info();
	traps_init();
	set_soft_vectors(true);
	kernel_ints();

	for (unsigned v = 0; v < 32; v++)
		trap_set_handler(v, from_user);
	user_map(USER_CODE_VA, upage, false);
	user_map(USER_STACK_VA, user_stack, true);
	user_tables_install();

	user_int("int $0x80", u80, 22, at_user(u80_end), 0);
	user_int("int $0x81", u81, 23, at_user(u81_end), 0);
	user_int("66 int $0x81", u81p, 23, at_user(u81p_end), 0);
	user_int("int $0x82", u82, 13, at_user(u82), (0x82 << 3) | 2);
	user_int("int $0x83", u83, 13, at_user(u83), (0x83 << 3) | 2);
	user_int("int $1", u1, 13, at_user(u1), (1 << 3) | 2);
	user_int("int3", ucc, 3, at_user(ucc_end), 0);
	user_int("int $3", ucd3, 3, at_user(ucd3_end), 0);
	user_int("icebp", uf1, 1, at_user(uf1_end), 0);

	/* The same on a non-canonical stack (the instructions never use it). */
	user_int_rsp("int3, bad RSP", ucc, BAD_RSP, 3, at_user(ucc_end), 0);
	user_int_rsp("int $3, bad RSP", ucd3, BAD_RSP, 3, at_user(ucd3_end), 0);
	user_int_rsp("icebp, bad RSP", uf1, BAD_RSP, 1, at_user(uf1_end), 0);
	user_int_rsp("int $0x80, bad RSP", u80, BAD_RSP, 22, at_user(u80_end), 0);

	/* No handler for 0x80: the #GP of a DPL-0 gate. */
	EXPECT_EQ(HYPERVISOR_set_trap_table(NULL), 0);
	traps_init();
	set_soft_vectors(false);
	user_int("int $0x80 without a handler", u80, 13, at_user(u80), (0x80 << 3) | 2);
}
