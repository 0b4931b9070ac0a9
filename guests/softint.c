/*
 * softint: `int $n` as Xen answers a 64-bit PV guest.  Xen writes every IDT
 * gate but #BP/#OF with DPL 0, so `int $n` raises #GP(n << 3 | 2) and Xen
 * delivers vector n itself when the guest's trap table allows it from the
 * current mode (DPL >= 1 from guest kernel mode, DPL 3 from guest user
 * mode), as a trap (RIP after the instruction); otherwise the guest gets
 * that #GP, at the instruction.  Some hosts raise #UD instead of #GP for
 * such an `int $n` at CPL3; the guest must not see the difference.
 *
 * Also a far CALL/JMP through an LDT selector when the guest has no LDT
 * (XSA-298's attack): #GP with the selector as error code, not #GP(0).
 */
#include "guest.h"

const char test_name[] = "softint";

/* Vectors under test and the library stubs (unused vectors without an
 * error code) that deliver them to us. */
#define V_DPL3 0x20
#define V_DPL1 0x21
#define V_DPL0 0x22
#define V_NONE 0x23

static void add_gate(unsigned n, unsigned vec, unsigned dpl, unsigned stub)
{
	trap_table[n] = (struct trap_info){ .vector = (uint8_t)vec, .flags = (uint8_t)(4 | dpl),
	                                    .cs = FLAT_KERNEL_CS, .address = trap_stubs[stub] };
}

static void install_table(void)
{
	unsigned n = 0;
	long rc;

	while (trap_table[n].address)
		n++;
	add_gate(n++, V_DPL3, 3, 20);
	add_gate(n++, V_DPL1, 1, 22);
	add_gate(n++, V_DPL0, 0, 23);
	trap_table[n] = (struct trap_info){ .address = 0 };
	rc = HYPERVISOR_set_trap_table(trap_table);
	CHECK(rc == 0, "set_trap_table: %ld", rc);
}

/* Executes `int $vec` at a known address; returns that address.  A #GP
 * resumes after it through trap_resume. */
#define SOFTINT(vec)                                                          \
	static uint64_t do_int_##vec(uint64_t unused)                         \
	{                                                                     \
		uint64_t at;                                                  \
		(void)unused;                                                 \
		__asm__ __volatile__("leaq 0f(%%rip), %0\n\t"                 \
		                     "leaq 1f(%%rip), %%rax\n\t"              \
		                     "movq %%rax, trap_resume(%%rip)\n"       \
		                     "0: int $" #vec "\n"                     \
		                     "movq $0, trap_resume(%%rip)\n"          \
		                     "1:"                                     \
		                     : "=&r"(at) :: "rax", "memory");         \
		return at;                                                    \
	}
SOFTINT(0x20)
SOFTINT(0x21)
SOFTINT(0x22)
SOFTINT(0x23)

typedef uint64_t (*int_fn)(uint64_t);

/* The library records every exception, then resumes at trap_resume (set
 * by SOFTINT), so a delivered `int` shows up as its stub's vector. */
static void expect_delivered(const char *mode, int_fn fn, unsigned vec, unsigned stub, bool user)
{
	uint64_t traps = last_trap.count;
	uint64_t at = user ? user_call(fn, 0) : fn(0);

	CHECK(last_trap.count == traps + 1, "%s: int $%#x: %lu exceptions", mode, vec,
	      (unsigned long)(last_trap.count - traps));
	CHECK(last_trap.vector == stub, "%s: int $%#x gave vector %lu ec %#lx", mode, vec,
	      (unsigned long)last_trap.vector, (unsigned long)last_trap.error_code);
	EXPECT_EQ(last_trap.rip, at + 2);
	CHECK(((last_trap.cs & 3) == 3) == user, "%s: frame cs %#lx", mode,
	      (unsigned long)last_trap.cs);
	printk("softint: %s int $%#x delivered, rip after the insn\n", mode, vec);
}

static void expect_gp(const char *mode, int_fn fn, unsigned vec, bool user)
{
	uint64_t traps = last_trap.count;
	uint64_t at = user ? user_call(fn, 0) : fn(0);

	CHECK(last_trap.count == traps + 1, "%s: int $%#x: %lu exceptions", mode, vec,
	      (unsigned long)(last_trap.count - traps));
	CHECK(last_trap.vector == 13, "%s: int $%#x gave vector %lu, expected #GP", mode, vec,
	      (unsigned long)last_trap.vector);
	EXPECT_EQ(last_trap.error_code, (vec << 3) | 2);
	EXPECT_EQ(last_trap.rip, at);
	printk("softint: %s int $%#x -> #GP(%#lx) at the insn\n", mode, vec,
	       (unsigned long)last_trap.error_code);
}

/* rex64 lcall/ljmp through a far pointer whose selector is LDT 0x1000:
 * m16:64, or m16:32 on AMD, which ignores REX.W there (a host emulator
 * that does not, reads a null selector).  Returns the #GP error code, or
 * ~0 without a fault. */
static uint8_t far_ptr[16] __attribute__((aligned(16)));

#define FAR_XFER(name, insn)                                                   \
	static uint64_t name(uint64_t unused)                                  \
	{                                                                      \
		uint64_t traps = last_trap.count;                              \
		(void)unused;                                                  \
		__asm__ __volatile__("leaq 1f(%%rip), %%rcx\n\t"               \
		                     "movq %%rcx, trap_resume(%%rip)\n\t"      \
		                     insn " *(%%rax)\n\t"                       \
		                     "movq $0, trap_resume(%%rip)\n"           \
		                     "1:" :: "a"(far_ptr) : "rcx", "memory");   \
		if (last_trap.count == traps || last_trap.vector != 13)        \
			return ~0ull;                                          \
		return last_trap.error_code;                                   \
	}
FAR_XFER(far_call, "rex64 lcall")
FAR_XFER(far_jmp, "rex64 ljmp")

static void check_far_ldt(void)
{
	uint16_t sel = 0x1000 | 4 | 3;
	uint32_t a = 0, b, c, d;

	__asm__ __volatile__("ud2; .ascii \"xen\"; cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
	bool amd = b == 0x68747541u || b == 0x6f677948u;   /* AuthenticAMD, HygonGenuine */
	memcpy(&far_ptr[amd ? 4 : 8], &sel, 2);
	EXPECT_EQ(far_call(0), 0x1004);
	EXPECT_EQ(far_jmp(0), 0x1004);
	EXPECT_EQ(user_call(far_call, 0), 0x1004);
	printk("softint: far call/jmp through an absent LDT -> #GP(0x1004)\n");
}

void test_main(void)
{
	need_shared_info();
	traps_init();
	install_table();

	expect_delivered("kernel", do_int_0x20, 0x20, 20, false);
	expect_delivered("kernel", do_int_0x21, 0x21, 22, false);
	expect_gp("kernel", do_int_0x22, 0x22, false);
	expect_gp("kernel", do_int_0x23, 0x23, false);

	user_mode_init();
	expect_delivered("user", do_int_0x20, 0x20, 20, true);
	expect_gp("user", do_int_0x21, 0x21, true);
	expect_gp("user", do_int_0x22, 0x22, true);
	expect_gp("user", do_int_0x23, 0x23, true);
	check_far_ldt();
}
