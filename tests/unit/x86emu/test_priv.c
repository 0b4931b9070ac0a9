/* x86emu_emulate_priv(): one test per privileged instruction family. */
#include <string.h>

#include "fake.h"

#define RIP0 FAKE_CODE_ADDR
#define GARBAGE 0xa5a5a5a500000000ULL

/* Sets up a fake with code and runs the emulator once. */
static enum x86emu_status run(struct fake *f, struct x86emu_regs *r,
			      struct x86emu_outcome *out)
{
	return x86emu_emulate_priv(r, &fake_ops, f, out);
}

#define SETUP(code) \
	struct fake f; struct x86emu_regs r; struct x86emu_outcome out; \
	(void)state; \
	fake_init(&f, &r, code, sizeof(code) - 1)

static void test_cpuid_plain(void **state)
{
	SETUP("\x0f\xa2");
	r.gpr[X86EMU_RAX] = GARBAGE | 0x40000000;
	r.gpr[X86EMU_RCX] = GARBAGE | 7;
	r.gpr[X86EMU_RBX] = ~0ULL;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.cpuid_in[0], 0x40000000);
	assert_int_equal(f.cpuid_in[1], 7);
	assert_int_equal(r.gpr[X86EMU_RAX], 0x40000005);
	assert_int_equal(r.gpr[X86EMU_RBX], 0x566e6558);
	assert_int_equal(r.gpr[X86EMU_RCX], 0x65584d4d);
	assert_int_equal(r.gpr[X86EMU_RDX], 0x4d4d566e);
	assert_int_equal(r.rip, RIP0 + 2);
}

static void test_cpuid_forced_prefix(void **state)
{
	SETUP("\x0f\x0b\x78\x65\x6e\x0f\xa2\x90");
	r.gpr[X86EMU_RAX] = 0x40000000;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(r.gpr[X86EMU_RAX], 0x40000005);
	assert_int_equal(r.rip, RIP0 + 7);
}

static void test_plain_ud2_not_handled(void **state)
{
	SETUP("\x0f\x0b\x90\x90\x90\x90\x90\x90");
	assert_int_equal(run(&f, &r, &out), X86EMU_UNHANDLED);
	assert_int_equal(r.rip, RIP0);
}

static void test_ud2_wrong_signature(void **state)
{
	/* "xen" then not cpuid, and "xem" then cpuid: both bounce */
	SETUP("\x0f\x0b\x78\x65\x6e\x0f\x31");
	assert_int_equal(run(&f, &r, &out), X86EMU_UNHANDLED);
	fake_init(&f, &r, "\x0f\x0b\x78\x65\x6d\x0f\xa2", 7);
	assert_int_equal(run(&f, &r, &out), X86EMU_UNHANDLED);
	/* ud2 at the very end of the code page: just a BUG() */
	fake_init(&f, &r, "\x0f\x0b", 2);
	assert_int_equal(run(&f, &r, &out), X86EMU_UNHANDLED);
	assert_int_equal(f.cpuid_in[0], 0);
}

static void test_forced_prefix_truncated(void **state)
{
	/* signature cut by an unmapped page: treated as the guest's ud2 */
	SETUP("\x0f\x0b\x78\x65\x6e");
	assert_int_equal(run(&f, &r, &out), X86EMU_UNHANDLED);
	assert_int_equal(r.rip, RIP0);
	assert_int_equal(f.cpuid_in[0], 0);
}

/* emulate_priv_bytes decodes the caller's copy only: the fake's memory
 * says wrmsr (what another vCPU may have written since), the copy the
 * caller checked says forced CPUID, and CPUID is what runs. */
static void test_priv_bytes_no_refetch(void **state)
{
	static const uint8_t checked[] = { 0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2 };

	SETUP("\x0f\x0b\x78\x65\x6e\x0f\x30");
	r.gpr[X86EMU_RAX] = 0x40000000;
	r.gpr[X86EMU_RCX] = 0xc0000102;
	assert_int_equal(x86emu_emulate_priv_bytes(&r, &fake_ops, &f, checked,
						   sizeof(checked), &out),
			 X86EMU_DONE);
	assert_int_equal(f.cpuid_in[0], 0x40000000);
	assert_int_equal(f.last_msr, 0);
	assert_int_equal(r.rip, RIP0 + 7);

	/* the copy is all there is: a short copy is a fetch fault after it */
	fake_init(&f, &r, "\x0f\x32", 2);
	assert_int_equal(x86emu_emulate_priv_bytes(&r, &fake_ops, &f, checked, 1,
						   &out),
			 X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_PF);
	assert_int_equal(out.cr2, RIP0 + 1);
	assert_true(out.fetch_fault);
	assert_int_equal(f.last_msr, 0);
}

static void test_cpuid_callback_fault(void **state)
{
	SETUP("\x0f\xa2");
	f.cpuid_rc = X86EMU_CB_GP;
	r.gpr[X86EMU_RAX] = 1;
	assert_int_equal(run(&f, &r, &out), X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_GP);
	assert_true(out.has_error_code);
	assert_int_equal(out.error_code, 0);
	assert_int_equal(r.gpr[X86EMU_RAX], 1);
	assert_int_equal(r.rip, RIP0);
}

static void test_rdmsr(void **state)
{
	SETUP("\x0f\x32");
	r.gpr[X86EMU_RCX] = GARBAGE | 0x277;
	r.gpr[X86EMU_RAX] = r.gpr[X86EMU_RDX] = ~0ULL;
	f.msr_val = 0x0000050100070406ULL;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.last_msr, 0x277);
	assert_int_equal(r.gpr[X86EMU_RAX], 0x00070406);
	assert_int_equal(r.gpr[X86EMU_RDX], 0x00000501);
	assert_int_equal(r.rip, RIP0 + 2);
}

static void test_rdmsr_fault_gp(void **state)
{
	SETUP("\x0f\x32");
	r.gpr[X86EMU_RCX] = 0xdeadbeef;
	r.gpr[X86EMU_RAX] = 0x1234;
	f.msr_rc = X86EMU_CB_GP;
	assert_int_equal(run(&f, &r, &out), X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_GP);
	assert_true(out.has_error_code);
	assert_int_equal(out.error_code, 0);
	assert_int_equal(r.gpr[X86EMU_RAX], 0x1234);
	assert_int_equal(r.rip, RIP0);
}

static void test_wrmsr(void **state)
{
	SETUP("\x0f\x30");
	r.gpr[X86EMU_RCX] = 0xc0000101;         /* GS_BASE, Linux's first */
	r.gpr[X86EMU_RAX] = GARBAGE | 0x81e00000;
	r.gpr[X86EMU_RDX] = GARBAGE | 0xffffffff;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.last_msr, 0xc0000101);
	assert_int_equal(f.msr_val, 0xffffffff81e00000ULL);
	assert_int_equal(r.rip, RIP0 + 2);

	fake_init(&f, &r, "\x0f\x30", 2);
	f.msr_rc = X86EMU_CB_GP;
	assert_int_equal(run(&f, &r, &out), X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_GP);
}

static void test_mov_from_cr(void **state)
{
	SETUP("\x0f\x20\xd8");                  /* mov %cr3,%rax */
	f.cr[3] = 0x1234000;
	r.gpr[X86EMU_RAX] = ~0ULL;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(r.gpr[X86EMU_RAX], 0x1234000);
	assert_int_equal(r.rip, RIP0 + 3);

	/* mov %cr0,%r9 (REX.B) */
	fake_init(&f, &r, "\x41\x0f\x20\xc1", 4);
	f.cr[0] = 0x80050033;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(r.gpr[X86EMU_R9], 0x80050033);
	assert_int_equal(r.rip, RIP0 + 4);

	/* mov %cr8,%rcx (REX.R) */
	fake_init(&f, &r, "\x44\x0f\x20\xc1", 4);
	f.cr[8] = 0xf;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(r.gpr[X86EMU_RCX], 0xf);

	/* mod bits are ignored: 0f 20 10 is mov %cr2,%rax */
	fake_init(&f, &r, "\x0f\x20\x10", 3);
	f.cr[2] = 0xdead000;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(r.gpr[X86EMU_RAX], 0xdead000);
	assert_int_equal(r.rip, RIP0 + 3);
}

static void test_mov_to_cr(void **state)
{
	SETUP("\x0f\x22\xe3");                  /* mov %rbx,%cr4 */
	r.gpr[X86EMU_RBX] = 0x3506f0;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.cr[4], 0x3506f0);
	assert_int_equal(r.rip, RIP0 + 3);

	fake_init(&f, &r, "\x45\x0f\x22\xc7", 4); /* mov %r15,%cr8 */
	r.gpr[X86EMU_R15] = 2;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.cr[8], 2);

	fake_init(&f, &r, "\x0f\x22\xd8", 3);   /* write refused */
	f.cr_rc = X86EMU_CB_GP;
	assert_int_equal(run(&f, &r, &out), X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_GP);
	assert_int_equal(r.rip, RIP0);
}

static void test_mov_cr_invalid(void **state)
{
	static const char *codes[] = {
		"\x0f\x20\xc8",         /* cr1 */
		"\x0f\x20\xe8",         /* cr5 */
		"\x0f\x22\xf8",         /* cr7 */
		"\x44\x0f\x20\xc8",     /* cr9 */
	};

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		struct fake f;
		struct x86emu_regs r;
		struct x86emu_outcome out;

		fake_init(&f, &r, codes[i], strlen(codes[i]));
		assert_int_equal(run(&f, &r, &out), X86EMU_EXCEPTION);
		assert_int_equal(out.vector, X86EMU_VEC_UD);
		assert_false(out.has_error_code);
	}
}

static void test_mov_dr(void **state)
{
	SETUP("\x0f\x21\xf8");                  /* mov %db7,%rax */
	f.dr[7] = 0x400;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(r.gpr[X86EMU_RAX], 0x400);
	assert_int_equal(r.rip, RIP0 + 3);

	fake_init(&f, &r, "\x0f\x23\xc1", 3);   /* mov %rcx,%db0 */
	r.gpr[X86EMU_RCX] = 0xffffffff81000000ULL;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.dr[0], 0xffffffff81000000ULL);

	fake_init(&f, &r, "\x44\x0f\x21\xc0", 4); /* dr8: #UD */
	assert_int_equal(run(&f, &r, &out), X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_UD);

	fake_init(&f, &r, "\x0f\x21\xe0", 3);   /* dr4 with CR4.DE: #UD */
	f.dr_rc = X86EMU_CB_UD;
	assert_int_equal(run(&f, &r, &out), X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_UD);
}

static void test_clts(void **state)
{
	SETUP("\x0f\x06");
	f.cr[0] = 0x8005003b;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.cr[0], 0x80050033);
	assert_int_equal(r.rip, RIP0 + 2);
}

static void test_lmsw(void **state)
{
	SETUP("\x0f\x01\xf0");                  /* lmsw %ax */
	f.cr[0] = 0x80050033;
	r.gpr[X86EMU_RAX] = 0xfffe;             /* tries to clear PE */
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.cr[0], 0x8005003f);
	assert_int_equal(r.rip, RIP0 + 3);

	uint8_t mem[2] = { 0x00, 0x00 };        /* lmsw (%rbx) */
	fake_init(&f, &r, "\x0f\x01\x33", 3);
	f.cr[0] = 0x8005003b;
	f.mem = mem;
	f.mem_addr = 0x5000;
	f.mem_len = 2;
	r.gpr[X86EMU_RBX] = 0x5000;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.cr[0], 0x80050031);  /* TS/EM/MP cleared, PE kept */

	r.rip = RIP0;                           /* unreadable operand: #PF */
	r.gpr[X86EMU_RBX] = 0x6000;
	assert_int_equal(run(&f, &r, &out), X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_PF);
	assert_int_equal(out.cr2, 0x6000);
	assert_false(out.fetch_fault);
}

static void test_wbinvd_invd(void **state)
{
	SETUP("\x0f\x09");
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.nr_wbinvd, 1);
	assert_int_equal(r.rip, RIP0 + 2);
	fake_init(&f, &r, "\x0f\x08", 2);
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.nr_wbinvd, 1);
}

static void test_xsetbv(void **state)
{
	SETUP("\x0f\x01\xd1");
	r.gpr[X86EMU_RCX] = 0;
	r.gpr[X86EMU_RAX] = GARBAGE | 7;
	r.gpr[X86EMU_RDX] = 0;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.xcr_val, 7);
	assert_int_equal(r.rip, RIP0 + 3);

	r.rip = RIP0;
	r.gpr[X86EMU_RCX] = 1;
	assert_int_equal(run(&f, &r, &out), X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_GP);
	assert_int_equal(r.rip, RIP0);
}

static void test_rdpmc_rdtsc(void **state)
{
	SETUP("\x0f\x33");
	f.pmc_val = 0x123456789aULL;
	r.gpr[X86EMU_RCX] = 1;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(r.gpr[X86EMU_RAX], 0x3456789b);
	assert_int_equal(r.gpr[X86EMU_RDX], 0x12);
	r.rip = RIP0;
	r.gpr[X86EMU_RCX] = 99;
	assert_int_equal(run(&f, &r, &out), X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_GP);

	fake_init(&f, &r, "\x0f\x31", 2);
	f.tsc_val = 0xaabbccdd11223344ULL;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(r.gpr[X86EMU_RAX], 0x11223344);
	assert_int_equal(r.gpr[X86EMU_RDX], 0xaabbccdd);
	assert_int_equal(r.rip, RIP0 + 2);

	fake_init(&f, &r, "\x0f\x01\xf9", 3);
	f.tsc_val = 5;
	f.tsc_aux = 3;
	r.gpr[X86EMU_RCX] = ~0ULL;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(r.gpr[X86EMU_RAX], 5);
	assert_int_equal(r.gpr[X86EMU_RCX], 3);
	assert_int_equal(r.rip, RIP0 + 3);
}

static void test_in_out(void **state)
{
	SETUP("\xe4\x60");                      /* in $0x60,%al */
	r.gpr[X86EMU_RAX] = 0x1122334455667788ULL;
	f.port_in_val = 0xffffffab;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.last_port, 0x60);
	assert_int_equal(f.last_port_size, 1);
	assert_int_equal(r.gpr[X86EMU_RAX], 0x11223344556677abULL);
	assert_int_equal(r.rip, RIP0 + 2);

	fake_init(&f, &r, "\x66\xed", 2);       /* in (%dx),%ax */
	r.gpr[X86EMU_RAX] = 0x1122334455667788ULL;
	r.gpr[X86EMU_RDX] = 0xffff0cfc;
	f.port_in_val = 0xffffabcd;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.last_port, 0xcfc);
	assert_int_equal(f.last_port_size, 2);
	assert_int_equal(r.gpr[X86EMU_RAX], 0x112233445566abcdULL);

	fake_init(&f, &r, "\x48\xed", 2);       /* in (%dx),%eax: REX.W ignored */
	r.gpr[X86EMU_RAX] = ~0ULL;
	f.port_in_val = 0xffffffff;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.last_port_size, 4);
	assert_int_equal(r.gpr[X86EMU_RAX], 0xffffffffULL);

	fake_init(&f, &r, "\xe6\x80", 2);       /* out %al,$0x80 */
	r.gpr[X86EMU_RAX] = 0x1234;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.last_port, 0x80);
	assert_int_equal(f.last_port_out, 0x34);

	fake_init(&f, &r, "\xef", 1);           /* out %eax,(%dx) */
	r.gpr[X86EMU_RAX] = 0x8000000080000f00ULL;
	r.gpr[X86EMU_RDX] = 0xcf8;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.last_port, 0xcf8);
	assert_int_equal(f.last_port_size, 4);
	assert_int_equal(f.last_port_out, 0x80000f00);
	assert_int_equal(r.rip, RIP0 + 1);

	fake_init(&f, &r, "\x66\xe7\x70", 3);   /* out %ax,$0x70 */
	r.gpr[X86EMU_RAX] = 0x12345678;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.last_port_size, 2);
	assert_int_equal(f.last_port_out, 0x5678);

	fake_init(&f, &r, "\xec", 1);           /* refused port */
	f.port_rc = X86EMU_CB_GP;
	r.gpr[X86EMU_RAX] = 7;
	assert_int_equal(run(&f, &r, &out), X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_GP);
	assert_int_equal(r.gpr[X86EMU_RAX], 7);
	assert_int_equal(r.rip, RIP0);
}

static void test_rep_insb(void **state)
{
	uint8_t mem[16];
	SETUP("\xf3\x6c");
	memset(mem, 0, sizeof(mem));
	f.mem = mem;
	f.mem_addr = 0x7000;
	f.mem_len = sizeof(mem);
	f.port_in_val = 0x10;
	r.gpr[X86EMU_RDI] = 0x7000;
	r.gpr[X86EMU_RCX] = 3;
	r.gpr[X86EMU_RDX] = 0x3f8;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.nr_in, 3);
	assert_int_equal(mem[0], 0x10);
	assert_int_equal(mem[1], 0x11);
	assert_int_equal(mem[2], 0x12);
	assert_int_equal(mem[3], 0);
	assert_int_equal(r.gpr[X86EMU_RCX], 0);
	assert_int_equal(r.gpr[X86EMU_RDI], 0x7003);
	assert_int_equal(r.rip, RIP0 + 2);

	/* DF=1: backwards, dword */
	memset(mem, 0, sizeof(mem));
	fake_init(&f, &r, "\xf3\x6d", 2);
	f.mem = mem;
	f.mem_addr = 0x7000;
	f.mem_len = sizeof(mem);
	f.port_in_val = 0xa0b0c0d0;
	r.rflags |= X86EMU_FLAG_DF;
	r.gpr[X86EMU_RDI] = 0x7008;
	r.gpr[X86EMU_RCX] = 2;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(r.gpr[X86EMU_RDI], 0x7000);
	assert_int_equal(mem[8], 0xd0);
	assert_int_equal(mem[4], 0xd1);
}

static void test_rep_zero_count(void **state)
{
	SETUP("\xf3\x6e");
	r.gpr[X86EMU_RCX] = 0;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.nr_out, 0);
	assert_int_equal(r.rip, RIP0 + 2);

	/* 67h: only ECX counts */
	fake_init(&f, &r, "\x67\xf3\x6e", 3);
	r.gpr[X86EMU_RCX] = 0x100000000ULL;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.nr_out, 0);
	assert_int_equal(r.rip, RIP0 + 3);
}

static void test_rep_outs_bounded(void **state)
{
	static uint8_t mem[8192];
	SETUP("\xf3\x64\x6e");                  /* rep outsb %fs:(%rsi),(%dx) */
	for (unsigned i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)i;
	f.mem = mem;
	f.mem_addr = 0x10000;
	f.mem_len = sizeof(mem);
	r.fs_base = 0x10000;
	r.gpr[X86EMU_RSI] = 0;
	r.gpr[X86EMU_RCX] = 5000;
	assert_int_equal(run(&f, &r, &out), X86EMU_RETRY);
	assert_int_equal(f.nr_out, X86EMU_REP_MAX);
	assert_int_equal(r.gpr[X86EMU_RCX], 5000 - X86EMU_REP_MAX);
	assert_int_equal(r.gpr[X86EMU_RSI], X86EMU_REP_MAX);
	assert_int_equal(r.rip, RIP0);          /* re-executes */
	assert_int_equal(f.last_port_out, (X86EMU_REP_MAX - 1) & 0xff);

	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.nr_out, 5000);
	assert_int_equal(r.gpr[X86EMU_RCX], 0);
	assert_int_equal(r.rip, RIP0 + 3);
	assert_int_equal(f.last_port_out, (5000 - 1) & 0xff);
}

static void test_rep_ins_fault_midway(void **state)
{
	uint8_t mem[4] = { 0 };
	SETUP("\x67\xf3\x66\x6d");              /* rep insw, 32-bit addresses */
	f.mem = mem;
	f.mem_addr = 0x7000;
	f.mem_len = sizeof(mem);
	f.port_in_val = 0x1111;
	r.gpr[X86EMU_RDI] = 0xffffffff00007000ULL;  /* upper half ignored */
	r.gpr[X86EMU_RCX] = 0xffffffff00000005ULL;
	assert_int_equal(run(&f, &r, &out), X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_PF);
	assert_int_equal(out.cr2, 0x7004);
	assert_true(out.error_code & X86EMU_PFEC_WRITE);
	/* two iterations completed: 32-bit registers, zero-extended */
	assert_int_equal(r.gpr[X86EMU_RCX], 3);
	assert_int_equal(r.gpr[X86EMU_RDI], 0x7004);
	assert_int_equal(r.rip, RIP0);
	assert_int_equal(mem[0], 0x11);
	assert_int_equal(mem[2], 0x12);
}

static void test_outs_port_refused_midway(void **state)
{
	uint8_t mem[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	SETUP("\xf3\x6e");
	f.mem = mem;
	f.mem_addr = 0x7000;
	f.mem_len = sizeof(mem);
	f.port_fail_after = 3;
	r.gpr[X86EMU_RSI] = 0x7000;
	r.gpr[X86EMU_RCX] = 8;
	assert_int_equal(run(&f, &r, &out), X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_GP);
	assert_int_equal(r.gpr[X86EMU_RCX], 6);
	assert_int_equal(r.gpr[X86EMU_RSI], 0x7002);
}

static void test_single_outs(void **state)
{
	uint8_t mem[4] = { 0x78, 0x56, 0x34, 0x12 };
	SETUP("\x6f");                          /* outsl, no REP */
	f.mem = mem;
	f.mem_addr = 0x7000;
	f.mem_len = sizeof(mem);
	r.gpr[X86EMU_RSI] = 0x7000;
	r.gpr[X86EMU_RCX] = 77;
	assert_int_equal(run(&f, &r, &out), X86EMU_DONE);
	assert_int_equal(f.last_port_out, 0x12345678);
	assert_int_equal(r.gpr[X86EMU_RCX], 77);
	assert_int_equal(r.gpr[X86EMU_RSI], 0x7004);
	assert_int_equal(r.rip, RIP0 + 1);
}

static void check_event(const char *code, size_t len, enum x86emu_event ev,
			uint8_t vec)
{
	struct fake f;
	struct x86emu_regs r, before;
	struct x86emu_outcome out;

	fake_init(&f, &r, code, len);
	r.gpr[X86EMU_RAX] = 42;
	before = r;
	assert_int_equal(run(&f, &r, &out), X86EMU_EVENT);
	assert_int_equal(out.event, ev);
	assert_int_equal(out.int_vector, vec);
	assert_int_equal(out.next_rip, RIP0 + len);
	assert_memory_equal(&r, &before, sizeof(r));
}

static void test_events(void **state)
{
	(void)state;
	check_event("\xf4", 1, X86EMU_EV_HLT, 0);
	check_event("\xfa", 1, X86EMU_EV_CLI, 0);
	check_event("\xfb", 1, X86EMU_EV_STI, 0);
	check_event("\xcc", 1, X86EMU_EV_INT3, 3);
	check_event("\xcd\x80", 2, X86EMU_EV_INTN, 0x80);
	check_event("\xcd\x03", 2, X86EMU_EV_INTN, 3);
	check_event("\x0f\x01\xf8", 3, X86EMU_EV_SWAPGS, 0);
}

static void test_not_handled(void **state)
{
	static const char *codes[] = {
		"\xce",                 /* INTO: #UD in 64-bit mode */
		"\xf0\x0f\xa2",         /* LOCK: #UD */
		"\x0f\x00\xd8\x90",     /* ltr (strlen stops at 00) */
		"\x0f\x01\x10",         /* lgdt */
		"\x90",
		"\x89\x07",
		"\xc5\xf8\x77",
		"\x0f\x01\xd0",         /* xgetbv: not privileged */
		"\x06",                 /* undefined: bounce the #UD */
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct fake f;
		struct x86emu_regs r;
		struct x86emu_outcome out;

		size_t n = i == 2 ? 4 : strlen(codes[i]);

		fake_init(&f, &r, codes[i], n);
		assert_int_equal(run(&f, &r, &out), X86EMU_UNHANDLED);
		assert_int_equal(r.rip, RIP0);
	}
}

static void test_missing_callbacks(void **state)
{
	static const char *codes[] = {
		"\x0f\xa2", "\x0f\x32", "\x0f\x30", "\x0f\x20\xc0",
		"\x0f\x22\xc0", "\x0f\x21\xc0", "\x0f\x23\xc0", "\x0f\x06",
		"\x0f\x09", "\x0f\x01\xd1", "\x0f\x33", "\x0f\x31",
		"\x0f\x01\xf9", "\xe4\x60", "\xe6\x60", "\xf3\x6c",
		"\x0f\x01\xf0",
	};
	struct x86emu_ops ops;

	(void)state;
	memset(&ops, 0, sizeof(ops));
	ops.fetch = fake_ops.fetch;
	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct fake f;
		struct x86emu_regs r;
		struct x86emu_outcome out;

		fake_init(&f, &r, codes[i], strlen(codes[i]));
		assert_int_equal(x86emu_emulate_priv(&r, &ops, &f, &out),
				 X86EMU_UNHANDLED);
	}
}

static void test_priv_fetch_faults(void **state)
{
	SETUP("\x0f");                          /* second byte unmapped */
	assert_int_equal(run(&f, &r, &out), X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_PF);
	assert_int_equal(out.cr2, RIP0 + 1);
	assert_true(out.fetch_fault);

	uint8_t longi[16];
	memset(longi, 0x2e, sizeof(longi));
	fake_init(&f, &r, longi, sizeof(longi));
	assert_int_equal(run(&f, &r, &out), X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_GP);
}

int run_priv_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuid_plain),
		cmocka_unit_test(test_cpuid_forced_prefix),
		cmocka_unit_test(test_plain_ud2_not_handled),
		cmocka_unit_test(test_ud2_wrong_signature),
		cmocka_unit_test(test_forced_prefix_truncated),
		cmocka_unit_test(test_priv_bytes_no_refetch),
		cmocka_unit_test(test_cpuid_callback_fault),
		cmocka_unit_test(test_rdmsr),
		cmocka_unit_test(test_rdmsr_fault_gp),
		cmocka_unit_test(test_wrmsr),
		cmocka_unit_test(test_mov_from_cr),
		cmocka_unit_test(test_mov_to_cr),
		cmocka_unit_test(test_mov_cr_invalid),
		cmocka_unit_test(test_mov_dr),
		cmocka_unit_test(test_clts),
		cmocka_unit_test(test_lmsw),
		cmocka_unit_test(test_wbinvd_invd),
		cmocka_unit_test(test_xsetbv),
		cmocka_unit_test(test_rdpmc_rdtsc),
		cmocka_unit_test(test_in_out),
		cmocka_unit_test(test_rep_insb),
		cmocka_unit_test(test_rep_zero_count),
		cmocka_unit_test(test_rep_outs_bounded),
		cmocka_unit_test(test_rep_ins_fault_midway),
		cmocka_unit_test(test_outs_port_refused_midway),
		cmocka_unit_test(test_single_outs),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_not_handled),
		cmocka_unit_test(test_missing_callbacks),
		cmocka_unit_test(test_priv_fetch_faults),
	};

	return cmocka_run_group_tests_name("x86emu_priv", tests, NULL, NULL);
}
