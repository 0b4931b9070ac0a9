/*
 * canonical: returning to a non-canonical RIP.  Hardware faults such a
 * return inside the hypervisor (XSA-7 was a syscall in the last bytes below
 * the hole, whose return address is 0x0000800000000000); Xen hands the guest
 * a #GP(0) whose frame holds that RIP.  Checked for HYPERVISOR_iret to both
 * edges of the hole, from kernel mode to kernel and to user mode.
 *
 * A non-canonical data address faults #GP(0) unless it goes through SS
 * (an RSP/RBP base without an FS/GS override): an SS, DS or ES prefix
 * changes nothing in 64-bit mode.  Checked in kernel and user mode.
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

/* Stores through a non-canonical (%rax) with a segment prefix; returns the
 * fault's vector and error code (vector << 16 | ec), or 0xffff0000. */
#define SEG_STORE(name, prefix)                                                 \
	static uint64_t store_##name(uint64_t addr)                             \
	{                                                                       \
		uint64_t traps = last_trap.count;                               \
		__asm__ __volatile__("leaq 1f(%%rip), %%rcx\n\t"                \
		                     "movq %%rcx, trap_resume(%%rip)\n\t"       \
		                     prefix "movb $0, (%%rax)\n\t"               \
		                     "movq $0, trap_resume(%%rip)\n"            \
		                     "1:" :: "a"(addr) : "rcx", "memory");       \
		if (last_trap.count == traps)                                   \
			return 0xffff0000;                                      \
		return last_trap.vector << 16 | last_trap.error_code;           \
	}
SEG_STORE(none, "")
SEG_STORE(ss, ".byte 0x36; ")
SEG_STORE(ds, ".byte 0x3e; ")
SEG_STORE(fs, ".byte 0x64; ")

static void check_data_faults(bool user)
{
	static const struct { const char *what; uint64_t (*fn)(uint64_t); } stores[] = {
		{ "(%rax)", store_none }, { "%ss:(%rax)", store_ss },
		{ "%ds:(%rax)", store_ds }, { "%fs:(%rax)", store_fs },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(stores); i++) {
		uint64_t got = user ? user_call(stores[i].fn, 0x8000000000001000ull)
		                    : stores[i].fn(0x8000000000001000ull);
		CHECK(got == 13u << 16, "%s %s: got %#lx, expected #GP(0)", user ? "user" : "kernel",
		      stores[i].what, (unsigned long)got);
	}
	printk("canonical: non-canonical data stores -> #GP(0) in %s mode\n",
	       user ? "user" : "kernel");
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

	trap_set_handler(13, NULL);
	check_data_faults(false);
	check_data_faults(true);
}
