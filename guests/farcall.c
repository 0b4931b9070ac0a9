/*
 * farcall: a far CALL/JMP through an LDT selector when the guest has no LDT
 * (XSA-298's attack) is #GP with the selector as error code, not #GP(0),
 * in kernel and user mode.  PVM hosts route the #GP through KVM's
 * emulator, which reads a REX.W far pointer as m16:64 even on AMD (whose
 * CPUs read m16:32) and so sees a null selector; the pointer here has
 * the vendor's layout.
 */
#include "guest.h"

const char test_name[] = "farcall";

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
	printk("farcall: far call/jmp through an absent LDT -> #GP(0x1004)\n");
}

void test_main(void)
{
	need_shared_info();
	traps_init();
	user_mode_init();
	check_far_ldt();
}
