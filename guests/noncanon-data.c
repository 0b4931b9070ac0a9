/*
 * noncanon-data: a non-canonical data address faults #GP(0) unless it goes
 * through SS (an RSP/RBP base without an FS/GS override, or the stack
 * itself): an SS, DS or ES prefix changes nothing in 64-bit mode.  PVM
 * hosts route the fault through KVM's emulator, which raises #SS(0) for
 * any SS prefix; the guest must see what the CPU and Xen give.  Checked in
 * kernel and user mode.
 */
#include "guest.h"

const char test_name[] = "noncanon-data";

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
	printk("noncanon-data: non-canonical data stores -> #GP(0) in %s mode\n",
	       user ? "user" : "kernel");
}

void test_main(void)
{
	need_shared_info();
	traps_init();
	user_mode_init();
	check_data_faults(false);
	check_data_faults(true);
}
