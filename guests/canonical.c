/*
 * canonical: returning to a non-canonical RIP.  Hardware faults such a
 * return inside the hypervisor (XSA-7 was a syscall in the last bytes below
 * the hole, whose return address is 0x0000800000000000); Xen hands the guest
 * a #GP(0) whose frame holds that RIP.  Checked for HYPERVISOR_iret to both
 * edges of the hole, from kernel mode to kernel and to user mode.
 */
#include "guest.h"

const char test_name[] = "canonical";

extern const uint8_t iret_resume[];
static volatile uint64_t iret_rsp;

/* The #GP may come in user mode: go back to the kernel after iret_to's
 * hypercall, on its stack. */
static uint64_t gp_handler(struct trap_frame *f)
{
	f->rip = (uintptr_t)iret_resume;
	f->cs = FLAT_KERNEL_CS & ~3ull;
	f->ss = FLAT_KERNEL_SS & ~3ull;
	f->rsp = iret_rsp;
	f->rflags = 0x2;
	return 0;
}

/* HYPERVISOR_iret to rip with the given CS.  Returns the number of
 * exceptions taken. */
static uint64_t iret_to(uint64_t rip, uint64_t cs)
{
	uint64_t traps = last_trap.count;

	__asm__ __volatile__("movq %%rsp, iret_rsp(%%rip)\n\t"
	                     "pushq $0xe02b\n\t"          /* SS */
	                     "pushq iret_rsp(%%rip)\n\t"  /* RSP */
	                     "pushq $0x2\n\t"             /* RFLAGS */
	                     "pushq %[cs]\n\t"            /* CS */
	                     "pushq %[rip]\n\t"           /* RIP */
	                     "pushq $0\n\t"               /* flags */
	                     "jmp hypercall_iret\n"
	                     "iret_resume:"
	                     :: [rip] "r"(rip), [cs] "r"(cs)
	                     : "rax", "rcx", "r11", "memory");
	return last_trap.count - traps;
}

static void check(const char *what, uint64_t rip, uint64_t cs)
{
	EXPECT_EQ(iret_to(rip, cs), 1);
	CHECK(last_trap.vector == 13, "%s: vector %lu, expected #GP", what,
	      (unsigned long)last_trap.vector);
	EXPECT_EQ(last_trap.error_code, 0);
	EXPECT_EQ(last_trap.rip, rip);
	CHECK((last_trap.cs & 3) == (cs & 3), "%s: frame cs %#lx", what,
	      (unsigned long)last_trap.cs);
	printk("canonical: %s -> #GP(0), frame rip %#lx\n", what, (unsigned long)last_trap.rip);
}

void test_main(void)
{
	need_shared_info();
	traps_init();
	trap_set_handler(13, gp_handler);
	user_mode_init();   /* user page tables and a kernel stack for bounces */

	check("iret to 0x0000800000000000", 0x0000800000000000ull, FLAT_KERNEL_CS & ~3ull);
	check("iret to 0xffff7fffffffffff", 0xffff7fffffffffffull, FLAT_KERNEL_CS & ~3ull);
	check("iret to user 0x0000800000000000", 0x0000800000000000ull, FLAT_USER_CS | 3);
}
