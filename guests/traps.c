/*
 * traps: set_trap_table, exception bounce frames and HYPERVISOR_iret.
 *
 * Each exception is raised in guest kernel mode and must arrive at the
 * handler registered for its vector with Xen's bounce frame (RCX, R11,
 * [error code], RIP, CS, RFLAGS, RSP, SS); the handler returns with the
 * iret hypercall to the next instruction.  Checked:
 *   int3 (trap: RIP after it; frame CS/RSP/RFLAGS; registers incl. RCX
 *   and R11 survive; events mask saved in the frame and restored by iret),
 *   ud2 (#UD, RIP at it), #PF for a read and a write of an unmapped address
 *   and a write to a read-only page table (CR2 in vcpu_info.arch.cr2 and
 *   the P/W/U error bits), #GP(0) for a non-canonical address, #DE.
 */
#include "guest.h"

const char test_name[] = "traps";

static struct trap_frame bp_frame;
static uint8_t bp_mask_inside;

static uint64_t int3_handler(struct trap_frame *f)
{
	bp_frame = *f;
	bp_mask_inside = shared_info->vcpu_info[0].evtchn_upcall_mask;
	return 0;
}

/* int3 with known values in some registers and events (un)masked. */
static void check_int3(uint8_t mask)
{
	uint64_t rsp, after, rcx = 0, r11 = 0, rbx = 0, r15 = 0;
	uint64_t traps = last_trap.count;
	uint8_t mask_after;

	shared_info->vcpu_info[0].evtchn_upcall_mask = mask;
	barrier();
	__asm__ __volatile__("leaq 1f(%%rip), %[after]\n\t"
	                     "movq $0x1111, %%rcx\n\t"
	                     "movq $0x2222, %%r11\n\t"
	                     "movq $0x3333, %%rbx\n\t"
	                     "movq $0x4444, %%r15\n\t"
	                     "movq %%rsp, %[rsp]\n\t"
	                     "int3\n"
	                     "1:\n\t"
	                     "movq %%rcx, %[rcx]\n\t"
	                     "movq %%r11, %[r11]\n\t"
	                     "movq %%rbx, %[rbx]\n\t"
	                     "movq %%r15, %[r15]"
	                     : [after] "=&r"(after), [rsp] "=&m"(rsp), [rcx] "=m"(rcx),
	                       [r11] "=m"(r11), [rbx] "=m"(rbx), [r15] "=m"(r15)
	                     :: "rcx", "r11", "rbx", "r15", "memory");
	mask_after = shared_info->vcpu_info[0].evtchn_upcall_mask;
	shared_info->vcpu_info[0].evtchn_upcall_mask = 1;

	CHECK(last_trap.count == traps + 1, "int3 handler did not run");
	EXPECT_EQ(bp_frame.vector, 3);
	EXPECT_EQ(bp_frame.rip, after);
	EXPECT_EQ(bp_frame.rsp, rsp);
	CHECK((bp_frame.cs & 0xfffc) == (FLAT_KERNEL_CS & 0xfffc),
	      "frame CS %#lx is not the flat kernel CS", (unsigned long)bp_frame.cs);
	CHECK(((bp_frame.cs >> 32) & 0xff) == mask,
	      "frame CS bits 32+ (saved upcall mask) %#lx, expected %u",
	      (unsigned long)(bp_frame.cs >> 32), mask);
	CHECK(((bp_frame.rflags >> 9) & 1) == !mask,
	      "frame RFLAGS %#lx: IF must be !upcall_mask (%u)",
	      (unsigned long)bp_frame.rflags, mask);
	CHECK(bp_mask_inside == 1, "events not masked in a handler with flags bit 2");
	EXPECT_EQ(mask_after, mask);
	EXPECT_EQ(rcx, 0x1111);
	EXPECT_EQ(r11, 0x2222);
	EXPECT_EQ(rbx, 0x3333);
	EXPECT_EQ(r15, 0x4444);
	printk("traps: int3 with upcall_mask=%u ok (frame rip %#lx cs %#lx rflags %#lx)\n",
	       mask, (unsigned long)bp_frame.rip, (unsigned long)bp_frame.cs,
	       (unsigned long)bp_frame.rflags);
}

static void check_ud2(void)
{
	uint64_t at, traps = last_trap.count;

	__asm__ __volatile__("leaq 0f(%%rip), %[at]\n\t"
	                     "leaq 1f(%%rip), %%rax\n\t"
	                     "movq %%rax, trap_resume(%%rip)\n"
	                     "0: ud2\n"
	                     "1:"
	                     : [at] "=&r"(at) :: "rax", "memory");
	CHECK(last_trap.count == traps + 1, "ud2 did not trap");
	EXPECT_EQ(last_trap.vector, 6);
	EXPECT_EQ(last_trap.rip, at);
	printk("traps: ud2 -> #UD ok\n");
}

static void check_pf(const char *what, uint64_t addr, bool write, uint64_t want_ec)
{
	uint64_t v = 0, traps = last_trap.count;
	bool faulted;

	if (write) {
		probe_read((void *)addr, &v);   /* write back what is there, if anything */
		faulted = probe_write((void *)addr, v);
	} else {
		faulted = probe_read((void *)addr, &v);
	}
	CHECK(faulted, "%s at %#lx did not fault", what, (unsigned long)addr);
	CHECK(last_trap.count > traps, "no exception recorded");
	EXPECT_EQ(last_trap.vector, 14);
	EXPECT_EQ(last_trap.cr2, addr);
	/* P, W/R, U/S: the fault came from guest kernel mode, so U is clear. */
	CHECK((last_trap.error_code & 7) == want_ec,
	      "%s: error code %#lx, expected P/W/U bits %#lx", what,
	      (unsigned long)last_trap.error_code, (unsigned long)want_ec);
	printk("traps: %s -> #PF cr2 %#lx error code %#lx ok\n", what,
	       (unsigned long)last_trap.cr2, (unsigned long)last_trap.error_code);
}

static void check_gp(void)
{
	uint64_t v, traps = last_trap.count;

	CHECK(probe_read((void *)0x8000000000000000ull, &v), "non-canonical read did not fault");
	CHECK(last_trap.count > traps, "no exception recorded");
	EXPECT_EQ(last_trap.vector, 13);
	EXPECT_EQ(last_trap.error_code, 0);
	printk("traps: non-canonical read -> #GP(0) ok\n");
}

static void check_de(void)
{
	uint64_t at, traps = last_trap.count;

	__asm__ __volatile__("leaq 0f(%%rip), %[at]\n\t"
	                     "leaq 1f(%%rip), %%rax\n\t"
	                     "movq %%rax, trap_resume(%%rip)\n\t"
	                     "movl $1, %%eax\n\t"
	                     "xorl %%edx, %%edx\n\t"
	                     "xorl %%ecx, %%ecx\n"
	                     "0: divl %%ecx\n"
	                     "1:"
	                     : [at] "=&r"(at) :: "rax", "rcx", "rdx", "memory");
	CHECK(last_trap.count == traps + 1, "divide by zero did not trap");
	EXPECT_EQ(last_trap.vector, 0);
	EXPECT_EQ(last_trap.rip, at);
	printk("traps: divide by zero -> #DE ok\n");
}

void test_main(void)
{
	/* The event callback too: int3 is also taken with events unmasked. */
	events_init();
	traps_init();
	printk("traps: trap table installed\n");
	trap_set_handler(3, int3_handler);

	check_int3(1);
	check_int3(0);
	check_ud2();
	/* L4[0] is empty in the bootstrap tables: the low half is unmapped. */
	check_pf("read of unmapped 0x100000000", 0x100000000ull, false, 0);
	check_pf("write of unmapped 0x100000000", 0x100000000ull, true, 2);
	check_pf("write to the read-only L4 (pt_base)", start_info->pt_base, true, 3);
	check_gp();
	check_de();
	/* Still alive and handling traps after all of that. */
	check_int3(1);
}
