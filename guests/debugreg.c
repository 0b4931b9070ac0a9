/*
 * debugreg: the guest's debug registers reach the CPU.  Checked: the
 * initial state (DR0-3 zero, DR6 0xffff0ff0, DR7 0x400); Xen's checks on
 * set_debugreg and mov to %drN (hypervisor addresses, reserved bits,
 * DR7.GD, I/O breakpoints without CR4.DE, DR4/5 aliasing); a write
 * watchpoint, a read/write watchpoint and an instruction breakpoint set
 * with HYPERVISOR_set_debugreg or mov to %dr7 fire at once in kernel and
 * in user mode, as #DB with the matching B bit in DR6 (which the guest
 * clears); single-stepping with TF, also over a hypercall; and an I/O
 * breakpoint (CR4.DE), which the hypervisor matches on the port accesses it
 * emulates.
 *
 * Command line "no-hw-breakpoints": the host does not arm a guest's debug
 * registers (PVM-style KVM takes them but never loads them), so the
 * watchpoints and the instruction breakpoint are set and read back but not
 * expected to fire.
 */
#include "guest.h"

const char test_name[] = "debugreg";

#define DR6_DEFAULT 0xffff0ff0ul
#define DR7_DEFAULT 0x400ul
#define DR7_L(n)    (1ul << (2 * (n)))
#define DR7_G(n)    (2ul << (2 * (n)))
#define DR7_RW(n, rw)  ((unsigned long)(rw) << (16 + 4 * (n)))
#define DR7_LEN(n, l)  ((unsigned long)(l) << (18 + 4 * (n)))
#define RW_EXEC 0
#define RW_WRITE 1
#define RW_IO 2
#define RW_RDWR 3
#define LEN_4 3
#define LEN_8 2
#define CR4_DE 0x8ul

static long set_dr(unsigned reg, unsigned long val)
{
	return HC(set_debugreg, reg, val, 0, 0, 0);
}

static long get_dr(unsigned reg)
{
	return HC(get_debugreg, reg, 0, 0, 0, 0);
}

/* mov to/from %drN: emulated after the #GP a CPL3 kernel takes. */
#define MOV_TO_DR(n)                                                              \
	static bool mov_to_dr##n(unsigned long val)                               \
	{                                                                         \
		uint64_t traps = last_trap.count;                                 \
		__asm__ __volatile__("leaq 1f(%%rip), %%rax\n\t"                  \
		                     "movq %%rax, trap_resume(%%rip)\n\t"         \
		                     "movq %0, %%dr" #n "\n\t"                    \
		                     "movq $0, trap_resume(%%rip)\n"              \
		                     "1:" :: "r"(val) : "rax", "memory");         \
		return last_trap.count == traps;                                  \
	}
MOV_TO_DR(0)
MOV_TO_DR(4)
MOV_TO_DR(7)

static unsigned long mov_from_dr6(void)
{
	unsigned long v;
	__asm__ __volatile__("movq %%dr6, %0" : "=r"(v));
	return v;
}

static unsigned long read_cr4(void)
{
	unsigned long v;
	__asm__ __volatile__("movq %%cr4, %0" : "=r"(v));
	return v;
}

static void write_cr4(unsigned long v)
{
	__asm__ __volatile__("movq %0, %%cr4" :: "r"(v));
}

static volatile uint32_t watched[4] __attribute__((aligned(16)));
static volatile unsigned db_hits;
static volatile uint64_t db_rip;

static uint64_t db_handler(struct trap_frame *f)
{
	db_hits++;
	db_rip = f->rip;
	return 0;
}

static void check_initial(void)
{
	for (unsigned i = 0; i < 4; i++)
		EXPECT_EQ(get_dr(i), 0);
	EXPECT_EQ(get_dr(6), DR6_DEFAULT);
	EXPECT_EQ(get_dr(7), DR7_DEFAULT);
	CHECK(!(read_cr4() & CR4_DE), "CR4.DE set at boot");
	printk("debugreg: initial state ok\n");
}

static void check_validation(void)
{
	EXPECT_EQ(set_dr(0, 0xffff800000001000ul), -XEN_EPERM);   /* hypervisor range */
	EXPECT_EQ(set_dr(1, 0x0000800000000000ul), -XEN_EPERM);   /* non-canonical */
	EXPECT_EQ(set_dr(2, 0xffff880000000000ul), 0);            /* first guest address */
	EXPECT_EQ(get_dr(2), 0xffff880000000000ul);
	EXPECT_EQ(set_dr(2, 0), 0);
	EXPECT_EQ(set_dr(6, 1ul << 32), -XEN_EINVAL);
	EXPECT_EQ(set_dr(7, 1ul << 32), -XEN_EINVAL);
	EXPECT_EQ(set_dr(7, 1ul << 13), -XEN_EPERM);               /* GD */
	EXPECT_EQ(set_dr(7, DR7_L(0) | DR7_RW(0, RW_IO)), -XEN_EPERM);
	EXPECT_EQ(set_dr(8, 0), -XEN_ENODEV);
	EXPECT_EQ(get_dr(8), -XEN_ENODEV);
	/* reserved bits read back as the hardware has them */
	EXPECT_EQ(set_dr(6, 0), 0);
	EXPECT_EQ(get_dr(6), DR6_DEFAULT);
	EXPECT_EQ(set_dr(7, 0xffff00ff & ~0u), 0);
	EXPECT_EQ(get_dr(7) & 0xffff, 0x4ff);
	EXPECT_EQ(set_dr(7, 0), 0);
	EXPECT_EQ(get_dr(7), DR7_DEFAULT);
	/* DR4/5 alias DR6/7 without CR4.DE, and #UD with it */
	EXPECT_EQ(set_dr(5, 0), 0);
	CHECK(mov_to_dr4(0), "mov to %%dr4 faulted without CR4.DE");
	CHECK(!mov_to_dr0(0xffff800000000000ul), "mov to %%dr0 of a hypervisor address");
	EXPECT_EQ(last_trap.vector, 13);
	write_cr4(read_cr4() | CR4_DE);
	CHECK(read_cr4() & CR4_DE, "CR4.DE did not stick");
	EXPECT_EQ(set_dr(4, 0), -XEN_ENODEV);
	CHECK(!mov_to_dr4(0), "mov to %%dr4 did not fault with CR4.DE");
	EXPECT_EQ(last_trap.vector, 6);
	write_cr4(read_cr4() & ~CR4_DE);
	printk("debugreg: Xen's checks ok\n");
}

/* Runs fn; expects exactly one #DB with DR6 showing breakpoint bp. */
static void expect_db(const char *what, void (*fn)(void), unsigned bp, uint64_t want_rip)
{
	unsigned before = db_hits;
	fn();
	CHECK(db_hits == before + 1, "%s: %u #DB, expected 1", what, db_hits - before);
	unsigned long dr6 = get_dr(6);
	CHECK((dr6 & 0xf) == (1ul << bp), "%s: dr6 %#lx", what, dr6);
	EXPECT_EQ(mov_from_dr6(), dr6);
	if (want_rip)
		EXPECT_EQ(db_rip, want_rip);
	EXPECT_EQ(set_dr(6, DR6_DEFAULT), 0);
	printk("debugreg: %s -> #DB, dr6 %#lx\n", what, dr6);
}

static void write_watched(void) { watched[1] = 7; }
static void read_watched(void) { (void)watched[2]; }
static uint64_t user_write(uint64_t x) { watched[1] = (uint32_t)x; return 0; }

static void __attribute__((noinline)) breakpoint_target(void)
{
	__asm__ __volatile__("nop");
}

static bool hw_breakpoints = true;

static void check_watchpoints(void)
{
	if (!hw_breakpoints) {
		EXPECT_EQ(set_dr(0, (uintptr_t)&watched[1]), 0);
		EXPECT_EQ(set_dr(7, DR7_L(0) | DR7_RW(0, RW_WRITE) | DR7_LEN(0, LEN_4)), 0);
		EXPECT_EQ(get_dr(7), DR7_DEFAULT | DR7_L(0) | DR7_RW(0, RW_WRITE) | DR7_LEN(0, LEN_4));
		write_watched();
		EXPECT_EQ(set_dr(7, 0), 0);
		EXPECT_EQ(set_dr(6, DR6_DEFAULT), 0);
		printk("debugreg: hardware breakpoints not checked (no-hw-breakpoints)\n");
		return;
	}
	/* write watchpoint on watched[1], via the hypercall */
	EXPECT_EQ(set_dr(0, (uintptr_t)&watched[1]), 0);
	EXPECT_EQ(set_dr(7, DR7_L(0) | DR7_RW(0, RW_WRITE) | DR7_LEN(0, LEN_4)), 0);
	expect_db("kernel write watchpoint", write_watched, 0, 0);
	(void)watched[1];                 /* a read does not fire */
	CHECK(get_dr(6) == DR6_DEFAULT, "a read fired the write watchpoint");

	/* the same from user mode */
	unsigned before = db_hits;
	user_call(user_write, 9);
	CHECK(db_hits == before + 1, "user write watchpoint: %u #DB", db_hits - before);
	CHECK((get_dr(6) & 0xf) == 1, "user watchpoint dr6 %#lx", (unsigned long)get_dr(6));
	EXPECT_EQ(set_dr(6, DR6_DEFAULT), 0);
	printk("debugreg: user write watchpoint -> #DB\n");

	/* read/write watchpoint in DR3 by mov to %dr7: one write is enough */
	EXPECT_EQ(set_dr(3, (uintptr_t)&watched[2]), 0);
	CHECK(mov_to_dr7(DR7_G(3) | DR7_RW(3, RW_RDWR) | DR7_LEN(3, LEN_4)), "mov to %%dr7 faulted");
	expect_db("kernel read watchpoint", read_watched, 3, 0);

	/* instruction breakpoint: a fault, RIP at the instruction */
	EXPECT_EQ(set_dr(1, (uintptr_t)breakpoint_target), 0);
	EXPECT_EQ(set_dr(7, DR7_L(1) | DR7_RW(1, RW_EXEC)), 0);
	expect_db("instruction breakpoint", breakpoint_target, 1, (uintptr_t)breakpoint_target);

	EXPECT_EQ(set_dr(7, 0), 0);
	write_watched();
	read_watched();
	CHECK(get_dr(6) == DR6_DEFAULT, "a disabled watchpoint fired");
}

static uint64_t step_handler(struct trap_frame *f)
{
	db_hits++;
	db_rip = f->rip;
	f->rflags &= ~0x100ull;   /* one step is enough */
	return 0;
}

static void check_single_step(void)
{
	extern const uint8_t step_next[];
	unsigned before = db_hits;

	trap_set_handler(1, step_handler);
	__asm__ __volatile__("pushfq\n\t"
	                     "orq $0x100, (%%rsp)\n\t"
	                     "popfq\n\t"
	                     "nop\n"
	                     "step_next:\n\t"
	                     "nop" ::: "memory", "cc");
	trap_set_handler(1, db_handler);
	CHECK(db_hits == before + 1, "single step: %u #DB", db_hits - before);
	unsigned long dr6 = get_dr(6);
	CHECK(dr6 & 0x4000, "single step: dr6 %#lx without BS", dr6);
	(void)step_next;
	EXPECT_EQ(set_dr(6, DR6_DEFAULT), 0);
	printk("debugreg: single step -> #DB, dr6 %#lx at %#lx\n", dr6, (unsigned long)db_rip);
}

/* Single-stepping over a hypercall: the hypervisor's own entry must not
 * take the trap; the guest gets one #DB after the instruction following
 * the syscall (its RFLAGS come back with TF from R11). */
static void check_step_over_hypercall(void)
{
	extern const uint8_t hc_after[], hc_next[];
	unsigned before = db_hits;
	long ver = 0;

	trap_set_handler(1, step_handler);
	__asm__ __volatile__("pushfq\n\t"
	                     "orq $0x100, (%%rsp)\n\t"
	                     "popfq\n\t"
	                     "syscall\n"
	                     "hc_after:\n\t"
	                     "nop\n"
	                     "hc_next:"
	                     : "=a"(ver)
	                     : "a"(__HYPERVISOR_xen_version), "D"(XENVER_version), "S"(0)
	                     : "rcx", "r11", "memory", "cc");
	trap_set_handler(1, db_handler);
	CHECK(ver > 0, "xen_version under TF returned %ld", ver);
	CHECK(db_hits == before + 1, "step over a hypercall: %u #DB", db_hits - before);
	EXPECT_EQ(db_rip, (uintptr_t)hc_next);
	(void)hc_after;
	printk("debugreg: step over a hypercall -> one #DB after the next instruction\n");
	EXPECT_EQ(set_dr(6, DR6_DEFAULT), 0);
}

static volatile unsigned bp_hits;
static volatile uint64_t bp_rip;

static uint64_t bp_handler(struct trap_frame *f)
{
	bp_hits++;
	bp_rip = f->rip;
	return 0;
}

/*
 * MOV SS holds a single-step trap back over the next instruction: after
 * an INT3 it arrives inside the hypervisor's entry stub (CVE-2018-8897),
 * whose own frame must survive.  Like Xen, the hypervisor drops that #DB;
 * the guest gets its #BP, and TF (still set in the #BP frame) steps on.
 */
static void check_movss_int3(void)
{
	extern const uint8_t movss_after[], movss_next[];
	unsigned db0 = db_hits, bp0 = bp_hits;

	trap_set_handler(1, step_handler);
	trap_set_handler(3, bp_handler);
	__asm__ __volatile__("movl %%ss, %%eax\n\t"
	                     "pushfq\n\t"
	                     "orq $0x100, (%%rsp)\n\t"
	                     "popfq\n\t"                  /* TF from the next insn on */
	                     "movl %%eax, %%ss\n\t"
	                     "int3\n"
	                     "movss_after:\n\t"
	                     "nop\n"
	                     "movss_next:"
	                     ::: "rax", "memory", "cc");
	trap_set_handler(1, db_handler);
	trap_set_handler(3, NULL);
	CHECK(bp_hits == bp0 + 1, "mov ss; int3: %u #BP", bp_hits - bp0);
	EXPECT_EQ(bp_rip, (uintptr_t)movss_after);
	CHECK(db_hits - db0 <= 1, "mov ss; int3: %u #DB", db_hits - db0);
	if (db_hits != db0)
		EXPECT_EQ(db_rip, (uintptr_t)movss_next);
	EXPECT_EQ(set_dr(6, DR6_DEFAULT), 0);
	printk("debugreg: mov ss; int3 under TF -> #BP, %u #DB after it\n", db_hits - db0);
}

static uint64_t user_outb_80(uint64_t unused)
{
	(void)unused;
	__asm__ __volatile__("outb %%al, $0x80" :: "a"(0) : "memory");
	return 0;
}

static void check_io_breakpoint(void)
{
	extern const uint8_t io_after[];
	struct physdev_set_iopl iopl = { .iopl = 3 };
	unsigned long io = DR7_G(2) | DR7_RW(2, RW_IO) | DR7_LEN(2, 0);

	EXPECT_EQ(HC(physdev_op, PHYSDEVOP_set_iopl, &iopl, 0, 0, 0), 0);
	write_cr4(read_cr4() | CR4_DE);
	EXPECT_EQ(set_dr(2, 0x80), 0);
	EXPECT_EQ(set_dr(7, io), 0);
	EXPECT_EQ(get_dr(7), DR7_DEFAULT | io);

	unsigned before = db_hits;
	__asm__ __volatile__("outb %%al, $0x81\n\t"      /* another port: no #DB */
	                     "outb %%al, $0x80\n"
	                     "io_after:" :: "a"(0) : "memory");
	CHECK(db_hits == before + 1, "I/O breakpoint: %u #DB", db_hits - before);
	EXPECT_EQ(db_rip, (uintptr_t)io_after);
	CHECK((get_dr(6) & 0xf) == 4, "I/O breakpoint dr6 %#lx", (unsigned long)get_dr(6));
	EXPECT_EQ(set_dr(6, DR6_DEFAULT), 0);
	user_call(user_outb_80, 0);
	CHECK(db_hits == before + 2, "user I/O breakpoint: %u #DB", db_hits - before);
	EXPECT_EQ(set_dr(6, DR6_DEFAULT), 0);

	/* without CR4.DE an I/O breakpoint cannot be set (and CR4 clears) */
	EXPECT_EQ(set_dr(7, 0), 0);
	write_cr4(read_cr4() & ~CR4_DE);
	EXPECT_EQ(set_dr(7, io), -XEN_EPERM);
	iopl.iopl = 0;
	EXPECT_EQ(HC(physdev_op, PHYSDEVOP_set_iopl, &iopl, 0, 0, 0), 0);
	printk("debugreg: I/O breakpoint -> #DB after the out, kernel and user\n");
}

void test_main(void)
{
	const char *cmdline = (const char *)start_info->cmd_line;

	for (const char *p = cmdline; *p; p++)
		if (!memcmp(p, "no-hw-breakpoints", 17))
			hw_breakpoints = false;
	need_shared_info();
	traps_init();
	trap_set_handler(1, db_handler);
	user_mode_init();

	check_initial();
	check_validation();
	check_single_step();
	check_step_over_hypercall();
	check_movss_int3();
	check_io_breakpoint();
	check_watchpoints();
}
