/*
 * x86emu_emulate_read(): every supported load form is checked against the
 * real CPU.  The instruction runs natively on a scratch buffer and through
 * the emulator with ops->read serving a copy of that buffer at the same
 * linear address; registers and the flags the SDM defines must agree.
 * Then the refusals: stores, operands that miss the faulting address,
 * LOCK, and a read the callback cannot serve.
 */
#include <stdio.h>
#include <string.h>

#include "fake.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define ORACLE_TRUSTED() (!RUNNING_ON_VALGRIND)
#endif
#endif
#ifndef ORACLE_TRUSTED
#define ORACLE_TRUSTED() 1
#endif

#define F_ARITH X86EMU_FLAGS_ARITH
#define F_LOGIC (F_ARITH & ~X86EMU_FLAG_AF)
#define F_CF    X86EMU_FLAG_CF

#define SCRATCH_LEN 32
#define BASE_OFF 8

struct rcase {
	const char *code;
	unsigned len;
	uint64_t flags_mask;
	unsigned size;          /* bytes read at RSI */
};

#define C(bytes, mask, size) { bytes, sizeof(bytes) - 1, mask, size }

static const struct rcase cases[] = {
	/* MOV */
	C("\x8a\x0e", F_ARITH, 1),              /* mov (%rsi),%cl */
	C("\x8a\x26", F_ARITH, 1),              /* mov (%rsi),%ah */
	C("\x40\x8a\x3e", F_ARITH, 1),          /* mov (%rsi),%dil */
	C("\x66\x8b\x0e", F_ARITH, 2),
	C("\x8b\x0e", F_ARITH, 4),              /* zero-extends */
	C("\x48\x8b\x0e", F_ARITH, 8),
	C("\x4c\x8b\x46\x00", F_ARITH, 8),      /* mov 0(%rsi),%r8 */
	C("\x48\x8b\x0c\xce", F_ARITH, 8),      /* mov (%rsi,%rcx,8),%rcx: rcx = 0 */
	/* MOVZX / MOVSX / MOVSXD */
	C("\x0f\xb6\x0e", F_ARITH, 1),
	C("\x48\x0f\xb6\x0e", F_ARITH, 1),
	C("\x66\x0f\xb6\x0e", F_ARITH, 1),
	C("\x0f\xb7\x0e", F_ARITH, 2),
	C("\x0f\xbe\x0e", F_ARITH, 1),
	C("\x48\x0f\xbe\x0e", F_ARITH, 1),
	C("\x66\x0f\xbe\x0e", F_ARITH, 1),
	C("\x0f\xbf\x0e", F_ARITH, 2),
	C("\x48\x0f\xbf\x0e", F_ARITH, 2),
	C("\x48\x63\x0e", F_ARITH, 4),
	C("\x63\x0e", F_ARITH, 4),              /* no REX.W: a 32-bit mov */
	/* ALU reg, r/m */
#define ALU_R(o8, o, mask) \
	C(o8 "\x0e", mask, 1), C(o8 "\x2e", mask, 1), C("\x66" o "\x0e", mask, 2), \
	C(o "\x0e", mask, 4), C("\x48" o "\x0e", mask, 8)
	ALU_R("\x02", "\x03", F_ARITH), ALU_R("\x0a", "\x0b", F_LOGIC),
	ALU_R("\x12", "\x13", F_ARITH), ALU_R("\x1a", "\x1b", F_ARITH),
	ALU_R("\x22", "\x23", F_LOGIC), ALU_R("\x2a", "\x2b", F_ARITH),
	ALU_R("\x32", "\x33", F_LOGIC), ALU_R("\x3a", "\x3b", F_ARITH),
	/* CMP r/m, reg and r/m, imm; TEST */
	C("\x38\x0e", F_ARITH, 1), C("\x39\x0e", F_ARITH, 4), C("\x48\x39\x0e", F_ARITH, 8),
	C("\x80\x3e\x80", F_ARITH, 1), C("\x66\x81\x3e\x01\x80", F_ARITH, 2),
	C("\x81\x3e\xff\xff\xff\x7f", F_ARITH, 4), C("\x48\x83\x3e\xff", F_ARITH, 8),
	C("\x48\x81\x3e\x00\x00\x00\x80", F_ARITH, 8),
	C("\x84\x0e", F_LOGIC, 1), C("\x85\x0e", F_LOGIC, 4), C("\x48\x85\x0e", F_LOGIC, 8),
	C("\xf6\x06\x81", F_LOGIC, 1), C("\xf7\x06\x00\x00\x00\x80", F_LOGIC, 4),
	C("\x48\xf7\x06\x01\x00\x00\x00", F_LOGIC, 8),
	/* CMOVcc (every condition; both outcomes come from the flag variants) */
	C("\x48\x0f\x40\x0e", F_ARITH, 8), C("\x48\x0f\x41\x0e", F_ARITH, 8),
	C("\x48\x0f\x42\x0e", F_ARITH, 8), C("\x48\x0f\x43\x0e", F_ARITH, 8),
	C("\x48\x0f\x44\x0e", F_ARITH, 8), C("\x48\x0f\x45\x0e", F_ARITH, 8),
	C("\x48\x0f\x46\x0e", F_ARITH, 8), C("\x48\x0f\x47\x0e", F_ARITH, 8),
	C("\x48\x0f\x48\x0e", F_ARITH, 8), C("\x48\x0f\x49\x0e", F_ARITH, 8),
	C("\x48\x0f\x4a\x0e", F_ARITH, 8), C("\x48\x0f\x4b\x0e", F_ARITH, 8),
	C("\x48\x0f\x4c\x0e", F_ARITH, 8), C("\x48\x0f\x4d\x0e", F_ARITH, 8),
	C("\x48\x0f\x4e\x0e", F_ARITH, 8), C("\x48\x0f\x4f\x0e", F_ARITH, 8),
	C("\x0f\x44\x0e", F_ARITH, 4), C("\x0f\x45\x0e", F_ARITH, 4),
	C("\x66\x0f\x44\x0e", F_ARITH, 2),
	/* BT imm */
	C("\x0f\xba\x26\x05", F_CF, 4), C("\x0f\xba\x26\x25", F_CF, 4),
	C("\x48\x0f\xba\x26\x3f", F_CF, 8), C("\x66\x0f\xba\x26\x13", F_CF, 2),
};

static const uint64_t values[] = {
	0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
	0xffffffff, 0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL,
	0x0123456789abcdefULL, 0xfedcba9876543210ULL,
};
#define NR_VALUES (sizeof(values) / sizeof(values[0]))

static _Alignas(64) uint8_t scratch[SCRATCH_LEN];

static void init_state(struct native_state *s, uint64_t v, unsigned variant)
{
	for (unsigned i = 0; i < 16; i++)
		s->gpr[i] = (v << (i % 5)) ^ (0x1111111111111111ULL * i);
	s->gpr[X86EMU_RSP] = 0;
	s->gpr[X86EMU_RSI] = (uintptr_t)scratch + BASE_OFF;
	if (variant & 4)
		s->gpr[X86EMU_RCX] = 0;         /* the SIB form indexes with it */
	/* every combination of the flags CMOVcc tests */
	s->rflags = 0x202 | ((variant & 1) ? X86EMU_FLAG_CF | X86EMU_FLAG_PF : 0) |
		    ((variant & 2) ? X86EMU_FLAG_ZF | X86EMU_FLAG_OF : 0) |
		    ((variant & 8) ? X86EMU_FLAG_SF : 0);
}

static void check_one(const struct rcase *c, uint64_t mem, uint64_t v, unsigned variant)
{
	uint8_t *page = native_code_page();
	uint8_t init_mem[SCRATCH_LEN];
	struct native_state s0, s1;
	struct x86emu_regs r;
	struct x86emu_outcome out;
	struct fake f;
	enum x86emu_status st;
	bool sib = c->len == 4 && !memcmp(c->code, "\x48\x8b\x0c\xce", 4);

	assert_non_null(page);
	for (unsigned i = 0; i < SCRATCH_LEN; i++)
		init_mem[i] = (uint8_t)(i * 53 + v);
	memcpy(init_mem + BASE_OFF, &mem, 8);
	init_state(&s0, v, variant | (sib ? 4 : 0));

	/* valgrind's CPU lacks some of these forms (63 without REX.W, 66 0f
	 * b6): there only the emulator runs, for its memory checking */
	s1 = s0;
	if (ORACLE_TRUSTED()) {
		memcpy(page, c->code, c->len);
		page[c->len] = 0xc3;
		memcpy(scratch, init_mem, SCRATCH_LEN);
		x86emu_test_run_native(&s1, page);
	}

	fake_init(&f, &r, c->code, c->len);
	memcpy(r.gpr, s0.gpr, sizeof(r.gpr));
	r.rflags = s0.rflags;
	f.mem = init_mem;
	f.mem_addr = (uintptr_t)scratch;
	f.mem_len = SCRATCH_LEN;
	st = x86emu_emulate_read(&r, &fake_ops, &f, (uintptr_t)scratch + BASE_OFF + c->size - 1,
				 &out);

	bool ok = st == X86EMU_DONE && memcmp(r.gpr, s1.gpr, sizeof(r.gpr)) == 0 &&
		  ((r.rflags ^ s1.rflags) & c->flags_mask) == 0 &&
		  r.rip == FAKE_CODE_ADDR + c->len && f.nr_writes == 0;
	if (!ORACLE_TRUSTED())
		return;
	if (!ok) {
		fprintf(stderr, "mismatch: code");
		for (unsigned i = 0; i < c->len; i++)
			fprintf(stderr, " %02x", (uint8_t)c->code[i]);
		fprintf(stderr, " mem %#llx v %#llx variant %u st %d\n",
			(unsigned long long)mem, (unsigned long long)v, variant, st);
		for (unsigned i = 0; i < 16; i++)
			if (r.gpr[i] != s1.gpr[i])
				fprintf(stderr, "  gpr%u emu %#llx native %#llx\n", i,
					(unsigned long long)r.gpr[i],
					(unsigned long long)s1.gpr[i]);
		fprintf(stderr, "  flags emu %#llx native %#llx\n",
			(unsigned long long)r.rflags, (unsigned long long)s1.rflags);
	}
	assert_true(ok);
}

static void test_read_native_oracle(void **state)
{
	(void)state;
	for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++)
		for (unsigned variant = 0; variant < 16; variant++)
			for (size_t a = 0; a < NR_VALUES; a++)
				for (size_t b = 0; b < NR_VALUES; b += 5)
					check_one(&cases[ci], values[a], values[b], variant);
}

#define MEM_ADDR 0xffff800000001000ULL

struct rsetup {
	struct fake f;
	struct x86emu_regs r, before;
	struct x86emu_outcome out;
	uint8_t mem[32];
};

static void rsetup(struct rsetup *s, const char *code, size_t len)
{
	fake_init(&s->f, &s->r, code, len);
	for (unsigned i = 0; i < sizeof(s->mem); i++)
		s->mem[i] = (uint8_t)(0x10 + i);
	s->f.mem = s->mem;
	s->f.mem_addr = MEM_ADDR;
	s->f.mem_len = sizeof(s->mem);
	s->r.gpr[X86EMU_RSI] = MEM_ADDR + 8;
	s->before = s->r;
}

static enum x86emu_status rrun(struct rsetup *s, uint64_t fault)
{
	return x86emu_emulate_read(&s->r, &fake_ops, &s->f, fault, &s->out);
}

static void test_read_refusals(void **state)
{
	static const struct { const char *code; unsigned len; } bad[] = {
		{ "\x48\x89\x0e", 3 },          /* a store */
		{ "\x48\x01\x0e", 3 },          /* add to memory */
		{ "\x80\x06\x01", 3 },          /* add imm to memory */
		{ "\x0f\xba\x2e\x01", 4 },      /* bts writes */
		{ "\xf0\x48\x8b\x0e", 4 },      /* lock mov: #UD, cannot fault */
		{ "\x48\x8b\xc8", 3 },          /* register source */
		{ "\x48\xad", 2 },              /* lodsq: not emulated */
		{ "\xff\x36", 2 },              /* push (%rsi) writes the stack */
		{ "\xf6\x16", 2 },              /* not (%rsi) */
		{ "\x0f\xa3\x0e", 3 },          /* bt reg: any address */
		{ "\xc5\xfe\x6f\x06", 4 },      /* vmovdqu load: not ours */
		{ "\x06", 1 },                  /* undefined opcode */
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rsetup s;

		rsetup(&s, bad[i].code, bad[i].len);
		assert_int_equal(rrun(&s, MEM_ADDR + 8), X86EMU_UNHANDLED);
		assert_memory_equal(&s.r, &s.before, sizeof(s.r));
		assert_int_equal(s.f.nr_reads, 0);
	}
}

static void test_read_must_cover_fault(void **state)
{
	struct rsetup s;

	(void)state;
	rsetup(&s, "\x48\x8b\x0e", 3);          /* 8 bytes at +8 */
	assert_int_equal(rrun(&s, MEM_ADDR + 7), X86EMU_UNHANDLED);
	assert_int_equal(rrun(&s, MEM_ADDR + 16), X86EMU_UNHANDLED);
	assert_memory_equal(&s.r, &s.before, sizeof(s.r));
	assert_int_equal(rrun(&s, MEM_ADDR + 15), X86EMU_DONE);
	assert_int_equal(s.r.gpr[X86EMU_RCX], 0x1f1e1d1c1b1a1918ULL);
	assert_int_equal(s.r.rip, FAKE_CODE_ADDR + 3);

	rsetup(&s, "\x0f\xb6\x0e", 3);          /* one byte at +8 */
	assert_int_equal(rrun(&s, MEM_ADDR + 9), X86EMU_UNHANDLED);
}

static void test_read_faults(void **state)
{
	struct rsetup s;

	(void)state;
	/* the callback cannot serve it: #PF at the operand, guest untouched */
	rsetup(&s, "\x48\x8b\x0e", 3);
	s.r.gpr[X86EMU_RSI] = MEM_ADDR + 28;    /* runs 4 bytes past the end */
	s.before = s.r;
	assert_int_equal(rrun(&s, MEM_ADDR + 28), X86EMU_EXCEPTION);
	assert_int_equal(s.out.vector, X86EMU_VEC_PF);
	assert_int_equal(s.out.cr2, MEM_ADDR + 28);
	assert_false(s.out.fetch_fault);
	assert_memory_equal(&s.r, &s.before, sizeof(s.r));

	/* the code page ends mid-instruction */
	rsetup(&s, "\x48\x8b", 2);
	assert_int_equal(rrun(&s, MEM_ADDR + 8), X86EMU_EXCEPTION);
	assert_true(s.out.fetch_fault);
	assert_memory_equal(&s.r, &s.before, sizeof(s.r));
}

static void test_read_segments_and_moffs(void **state)
{
	struct rsetup s;

	(void)state;
	/* movabs 0xffff800000001008,%rax (moffs64) */
	rsetup(&s, "\x48\xa1\x08\x10\x00\x00\x00\x80\xff\xff", 10);
	assert_int_equal(rrun(&s, MEM_ADDR + 8), X86EMU_DONE);
	assert_int_equal(s.r.gpr[X86EMU_RAX], 0x1f1e1d1c1b1a1918ULL);
	assert_int_equal(s.r.rip, FAKE_CODE_ADDR + 10);

	/* mov %gs:8,%al through moffs8 with a GS base */
	rsetup(&s, "\x65\xa0\x08\x00\x00\x00\x00\x00\x00\x00", 10);
	s.r.gs_base = MEM_ADDR + 4;
	s.r.gpr[X86EMU_RAX] = 0xaaaaaaaaaaaaaaaaULL;
	assert_int_equal(rrun(&s, MEM_ADDR + 12), X86EMU_DONE);
	assert_int_equal(s.r.gpr[X86EMU_RAX], 0xaaaaaaaaaaaaaa1cULL);

	/* mov %fs:(%rsi),%rdx */
	rsetup(&s, "\x64\x48\x8b\x16", 4);
	s.r.fs_base = 8;
	s.r.gpr[X86EMU_RSI] = MEM_ADDR;
	assert_int_equal(rrun(&s, MEM_ADDR + 8), X86EMU_DONE);
	assert_int_equal(s.r.gpr[X86EMU_RDX], 0x1f1e1d1c1b1a1918ULL);
}

int run_read_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_native_oracle),
		cmocka_unit_test(test_read_refusals),
		cmocka_unit_test(test_read_must_cover_fault),
		cmocka_unit_test(test_read_faults),
		cmocka_unit_test(test_read_segments_and_moffs),
	};

	return cmocka_run_group_tests_name("x86emu_read", tests, NULL, NULL);
}
