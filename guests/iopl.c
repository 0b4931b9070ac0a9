/*
 * iopl: port I/O under Xen's virtual IOPL and I/O bitmap.  A domU owns no
 * ports, so an allowed access reads all-ones and a write vanishes; a
 * refused one is #GP(0).  Checked, from guest kernel mode (virtual CPL 1)
 * and user mode (CPL 3): PHYSDEVOP_set_iopl 0/1/3 for in, out, rep insb
 * and CLI/STI (a no-op when allowed: events stay as they were);
 * PHYSDEVOP_set_iobitmap lets user mode use exactly the ports whose bits
 * are clear, within nr_ports; an unmapped bitmap denies; with
 * VMASST_TYPE_architectural_iopl the IOPL comes from the RFLAGS given to
 * HYPERVISOR_iret (guest kernel mode is CPL 0 then) and shows in the
 * RFLAGS of bounce frames.
 */
#include "guest.h"

const char test_name[] = "iopl";

static uint8_t bitmap[8192 + 16] PAGE_ALIGNED;
static uint8_t ins_buf[8];

static long set_iopl(unsigned iopl)
{
	struct physdev_set_iopl p = { .iopl = iopl };
	return HC(physdev_op, PHYSDEVOP_set_iopl, &p, 0, 0, 0);
}

static long set_iobitmap(uint64_t va, uint32_t nr_ports)
{
	struct physdev_set_iobitmap p = { .bitmap = va, .nr_ports = nr_ports };
	return HC(physdev_op, PHYSDEVOP_set_iobitmap, &p, 0, 0, 0);
}

/* Each probe returns 0 or the vector of its fault (+ 0x100 if it did not
 * read all-ones); it runs in kernel or user mode. */
#define FAULTED(v) (last_trap.count != (v) ? 0x80 | last_trap.vector : 0)

static uint64_t probe_inb(uint64_t port)
{
	uint64_t traps = last_trap.count;
	uint32_t val = 0x12345678;
	__asm__ __volatile__("leaq 1f(%%rip), %%rcx\n\t"
	                     "movq %%rcx, trap_resume(%%rip)\n\t"
	                     "inb %%dx, %%al\n\t"
	                     "movq $0, trap_resume(%%rip)\n"
	                     "1:" : "+a"(val) : "d"((uint16_t)port) : "rcx", "memory");
	if (last_trap.count != traps)
		return 0x80 | last_trap.vector;
	return val == 0x123456ff ? 0 : 0x100;
}

static uint64_t probe_outl(uint64_t port)
{
	uint64_t traps = last_trap.count;
	__asm__ __volatile__("leaq 1f(%%rip), %%rcx\n\t"
	                     "movq %%rcx, trap_resume(%%rip)\n\t"
	                     "outl %%eax, %%dx\n\t"
	                     "movq $0, trap_resume(%%rip)\n"
	                     "1:" :: "a"(0), "d"((uint16_t)port) : "rcx", "memory");
	return FAULTED(traps);
}

static uint64_t probe_insb(uint64_t port)
{
	uint64_t traps = last_trap.count;
	memset(ins_buf, 0, sizeof(ins_buf));
	__asm__ __volatile__("leaq 1f(%%rip), %%rax\n\t"
	                     "movq %%rax, trap_resume(%%rip)\n\t"
	                     "rep insb\n\t"
	                     "movq $0, trap_resume(%%rip)\n"
	                     "1:" :: "D"(ins_buf), "c"(4), "d"((uint16_t)port) : "rax", "memory");
	if (last_trap.count != traps)
		return 0x80 | last_trap.vector;
	return (ins_buf[0] == 0xff && ins_buf[3] == 0xff && ins_buf[4] == 0) ? 0 : 0x100;
}

static uint64_t probe_cli(uint64_t unused)
{
	uint64_t traps = last_trap.count;
	(void)unused;
	__asm__ __volatile__("leaq 1f(%%rip), %%rax\n\t"
	                     "movq %%rax, trap_resume(%%rip)\n\t"
	                     "cli\n\t"
	                     "sti\n\t"
	                     "movq $0, trap_resume(%%rip)\n"
	                     "1:" ::: "rax", "memory");
	return FAULTED(traps);
}

static uint64_t run(bool user, uint64_t (*fn)(uint64_t), uint64_t arg)
{
	return user ? user_call(fn, arg) : fn(arg);
}

/* ok: the probes run; else each is #GP (vector 13). */
static void expect_all(const char *what, bool user, bool ok)
{
	uint64_t want = ok ? 0 : 0x80 | 13;
	uint8_t mask_before = shared_info->vcpu_info[0].evtchn_upcall_mask;

	CHECK(run(user, probe_inb, 0x80) == want, "%s: inb %#lx", what,
	      (unsigned long)run(user, probe_inb, 0x80));
	CHECK(run(user, probe_outl, 0xcf8) == want, "%s: outl %#lx", what,
	      (unsigned long)run(user, probe_outl, 0xcf8));
	CHECK(run(user, probe_insb, 0x60) == want, "%s: rep insb %#lx", what,
	      (unsigned long)run(user, probe_insb, 0x60));
	CHECK(run(user, probe_cli, 0) == want, "%s: cli %#lx", what,
	      (unsigned long)run(user, probe_cli, 0));
	if (!ok)
		EXPECT_EQ(last_trap.error_code, 0);
	if (!user)
		CHECK(shared_info->vcpu_info[0].evtchn_upcall_mask == mask_before,
		      "%s: cli/sti changed the event mask", what);
	printk("iopl: %s: %s\n", what, ok ? "allowed" : "#GP(0)");
}

static void check_set_iopl(void)
{
	EXPECT_EQ(set_iopl(4), -XEN_EINVAL);
	EXPECT_EQ(set_iopl(0), 0);
	expect_all("iopl 0, kernel", false, false);
	expect_all("iopl 0, user", true, false);
	EXPECT_EQ(set_iopl(1), 0);
	expect_all("iopl 1, kernel", false, true);
	expect_all("iopl 1, user", true, false);
	EXPECT_EQ(set_iopl(3), 0);
	expect_all("iopl 3, kernel", false, true);
	expect_all("iopl 3, user", true, true);
	EXPECT_EQ(set_iopl(0), 0);
}

static void check_iobitmap(void)
{
	EXPECT_EQ(set_iobitmap(0xffff800000000000ull, 16), -XEN_EINVAL);
	EXPECT_EQ(set_iobitmap((uintptr_t)bitmap, 65537), -XEN_EINVAL);

	/* every port denied but 0x80 and 0x81; 0x60-0x63 allowed too */
	memset(bitmap, 0xff, sizeof(bitmap));
	bitmap[0x80 / 8] &= (uint8_t)~0x03;
	bitmap[0x60 / 8] &= (uint8_t)~0x0f;
	EXPECT_EQ(set_iobitmap((uintptr_t)bitmap, 0x100), 0);
	EXPECT_EQ(user_call(probe_inb, 0x80), 0);
	EXPECT_EQ(user_call(probe_inb, 0x81), 0);
	EXPECT_EQ(user_call(probe_inb, 0x82), 0x80 | 13);
	EXPECT_EQ(user_call(probe_outl, 0x80), 0x80 | 13);   /* 0x82, 0x83 denied */
	EXPECT_EQ(user_call(probe_insb, 0x60), 0);
	EXPECT_EQ(probe_inb(0x82), 0x80 | 13);                /* kernel: no IOPL either */
	/* nr_ports bounds the bitmap */
	EXPECT_EQ(set_iobitmap((uintptr_t)bitmap, 0x81), 0);
	EXPECT_EQ(user_call(probe_inb, 0x80), 0);
	EXPECT_EQ(user_call(probe_inb, 0x81), 0x80 | 13);
	/* an unmapped bitmap denies */
	EXPECT_EQ(set_iobitmap(0x100000000ull, 0x10000), 0);
	EXPECT_EQ(user_call(probe_inb, 0x80), 0x80 | 13);
	EXPECT_EQ(set_iobitmap(0, 0), 0);
	EXPECT_EQ(user_call(probe_inb, 0x80), 0x80 | 13);
	printk("iopl: I/O bitmap ok\n");
}

/* HYPERVISOR_iret back to ourselves with the given RFLAGS.IOPL. */
static void iret_with_iopl(unsigned iopl)
{
	__asm__ __volatile__("movq %%rsp, %%rdx\n\t"
	                     "pushq $0xe02b\n\t"
	                     "pushq %%rdx\n\t"
	                     "pushq %[fl]\n\t"
	                     "pushq $0xe030\n\t"
	                     "leaq 1f(%%rip), %%rax\n\t"
	                     "pushq %%rax\n\t"
	                     "pushq $0\n\t"
	                     "jmp hypercall_iret\n"
	                     "1:"
	                     :: [fl] "r"((uint64_t)0x2 | ((uint64_t)iopl << 12))
	                     : "rax", "rcx", "rdx", "r11", "memory");
}

static void check_architectural_iopl(void)
{
	EXPECT_EQ(HYPERVISOR_vm_assist(VMASST_CMD_enable, VMASST_TYPE_architectural_iopl), 0);
	iret_with_iopl(0);
	expect_all("vmassist iopl 0, kernel", false, true);   /* kernel is CPL 0 */
	expect_all("vmassist iopl 0, user", true, false);
	user_rflags = 0x2 | (3u << 12);   /* user_call's iret sets the IOPL */
	expect_all("vmassist iopl 3, user", true, true);
	user_rflags = 0x2;
	iret_with_iopl(3);
	/* the bounce frame of an int3 shows the IOPL */
	uint64_t traps = last_trap.count;
	__asm__ __volatile__("int3" ::: "memory");
	CHECK(last_trap.count == traps + 1, "int3 not delivered");
	EXPECT_EQ((last_trap.rflags >> 12) & 3, 3);
	iret_with_iopl(0);
	__asm__ __volatile__("int3" ::: "memory");
	EXPECT_EQ((last_trap.rflags >> 12) & 3, 0);
	EXPECT_EQ(HYPERVISOR_vm_assist(VMASST_CMD_disable, VMASST_TYPE_architectural_iopl), 0);
	printk("iopl: VMASST_TYPE_architectural_iopl ok\n");
}

static uint64_t int3_handler(struct trap_frame *f)
{
	(void)f;
	return 0;
}

void test_main(void)
{
	need_shared_info();
	traps_init();
	trap_set_handler(3, int3_handler);
	user_mode_init();

	check_set_iopl();
	check_iobitmap();
	check_architectural_iopl();
}
