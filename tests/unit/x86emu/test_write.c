/*
 * x86emu_emulate_write(): every supported store form is checked against
 * the real CPU.  The same instruction runs natively on a scratch buffer
 * (x86emu_test_run_native) and through the emulator on a copy of that
 * buffer mapped at the same linear address; registers, defined flags and
 * memory must agree.
 */
#include <stdio.h>
#include <string.h>

#include "fake.h"

/*
 * Under valgrind the "native" run is valgrind's CPU model, which is not
 * silicon (e.g. it zero-extends RAX after a successful CMPXCHG r/m32), so
 * there both sides still run (memory checking) but are not compared.
 */
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
#define F_LOGIC (F_ARITH & ~X86EMU_FLAG_AF)     /* AF undefined */
#define F_CF    X86EMU_FLAG_CF
#define F_ZF    X86EMU_FLAG_ZF

/* Operand address: RSI (or RDI for STOS) = scratch + BASE_OFF. */
#define SCRATCH_LEN 64
#define BASE_OFF 32     /* 16-aligned for CMPXCHG16B */

enum { PLAIN, BT_REG };

struct wcase {
	const char *code;
	unsigned len;
	uint64_t flags_mask;    /* flags the SDM defines for this insn */
	int kind;
};

#define C(bytes, mask) { bytes, sizeof(bytes) - 1, mask, PLAIN }
#define CB(bytes) { bytes, sizeof(bytes) - 1, F_CF, BT_REG }

static const struct wcase cases[] = {
	/* MOV */
	C("\x88\x0e", F_ARITH),                 /* mov %cl,(%rsi) */
	C("\x88\x26", F_ARITH),                 /* mov %ah,(%rsi) */
	C("\x40\x88\x3e", F_ARITH),             /* mov %dil,(%rsi) */
	C("\x66\x89\x0e", F_ARITH),
	C("\x89\x0e", F_ARITH),
	C("\x48\x89\x0e", F_ARITH),
	C("\x4c\x89\x46\x00", F_ARITH),         /* mov %r8,0(%rsi) */
	C("\xc6\x06\x5a", F_ARITH),
	C("\x66\xc7\x06\x34\x12", F_ARITH),
	C("\xc7\x06\x78\x56\x34\x12", F_ARITH),
	C("\x48\xc7\x06\xf0\xff\xff\xff", F_ARITH),
	C("\x48\xc7\x06\x00\x00\x00\x80", F_ARITH),
	C("\x0f\xc3\x0e", F_ARITH),             /* movnti */
	C("\x48\x0f\xc3\x0e", F_ARITH),
	/* STOS (RDI) */
	C("\xaa", F_ARITH),
	C("\x66\xab", F_ARITH),
	C("\xab", F_ARITH),
	C("\x48\xab", F_ARITH),
	/* XCHG */
	C("\x86\x0e", F_ARITH),
	C("\x86\x2e", F_ARITH),                 /* %ch */
	C("\x66\x87\x0e", F_ARITH),
	C("\x87\x0e", F_ARITH),
	C("\x48\x87\x0e", F_ARITH),
	C("\x4c\x87\x06", F_ARITH),             /* %r8 */
	C("\xf0\x87\x0e", F_ARITH),
	/* CMPXCHG */
	C("\xf0\x0f\xb0\x0e", F_ARITH),
	C("\xf0\x66\x0f\xb1\x0e", F_ARITH),
	C("\xf0\x0f\xb1\x0e", F_ARITH),
	C("\xf0\x48\x0f\xb1\x0e", F_ARITH),
	C("\x0f\xb1\x0e", F_ARITH),
	C("\xf0\x0f\xc7\x0e", F_ZF),            /* cmpxchg8b */
	C("\xf0\x48\x0f\xc7\x0e", F_ZF),        /* cmpxchg16b */
	/* ALU r/m, reg: add or adc sbb and sub xor */
#define ALU_RM(o, mask) \
	C("\xf0" o "\x0e", mask), C("\xf0" o "\x26", mask)
	ALU_RM("\x00", F_ARITH), ALU_RM("\x08", F_LOGIC),
	ALU_RM("\x10", F_ARITH), ALU_RM("\x18", F_ARITH),
	ALU_RM("\x20", F_LOGIC), ALU_RM("\x28", F_ARITH),
	ALU_RM("\x30", F_LOGIC),
#define ALU_RMV(o, mask) \
	C("\xf0\x66" o "\x0e", mask), C("\xf0" o "\x0e", mask), \
	C("\xf0\x48" o "\x0e", mask), C(o "\x0e", mask)
	ALU_RMV("\x01", F_ARITH), ALU_RMV("\x09", F_LOGIC),
	ALU_RMV("\x11", F_ARITH), ALU_RMV("\x19", F_ARITH),
	ALU_RMV("\x21", F_LOGIC), ALU_RMV("\x29", F_ARITH),
	ALU_RMV("\x31", F_LOGIC),
	/* ALU r/m, imm */
#define ALU_IMM(d, mask) \
	C("\xf0\x80" d "\x81", mask), \
	C("\xf0\x66\x81" d "\x01\x80", mask), \
	C("\xf0\x81" d "\x01\x00\x00\x80", mask), \
	C("\xf0\x48\x81" d "\x01\x00\x00\x80", mask), \
	C("\xf0\x83" d "\xff", mask), \
	C("\xf0\x48\x83" d "\x80", mask), \
	C("\xf0\x66\x83" d "\x7f", mask)
	ALU_IMM("\x06", F_ARITH), ALU_IMM("\x0e", F_LOGIC),
	ALU_IMM("\x16", F_ARITH), ALU_IMM("\x1e", F_ARITH),
	ALU_IMM("\x26", F_LOGIC), ALU_IMM("\x2e", F_ARITH),
	ALU_IMM("\x36", F_LOGIC),
	/* BTS/BTR/BTC imm8 (masked to the operand width) */
	C("\xf0\x0f\xba\x2e\x05", F_CF),
	C("\xf0\x0f\xba\x36\x25", F_CF),        /* bit 37 & 31 = 5 */
	C("\xf0\x0f\xba\x3e\x1f", F_CF),
	C("\xf0\x48\x0f\xba\x2e\x3f", F_CF),
	C("\xf0\x66\x0f\xba\x36\x13", F_CF),    /* 19 & 15 = 3 */
	/* BTS/BTR/BTC with a signed register bit offset in %rcx */
	CB("\xf0\x0f\xab\x0e"), CB("\xf0\x0f\xb3\x0e"), CB("\xf0\x0f\xbb\x0e"),
	CB("\xf0\x48\x0f\xab\x0e"), CB("\xf0\x48\x0f\xb3\x0e"),
	CB("\xf0\x48\x0f\xbb\x0e"),
	CB("\xf0\x66\x0f\xab\x0e"), CB("\xf0\x66\x0f\xbb\x0e"),
};

static const uint64_t values[] = {
	0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
	0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
	0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL,
	0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0x8000000080008080ULL,
};
#define NR_VALUES (sizeof(values) / sizeof(values[0]))

/* Bit offsets for BT_REG (kept inside the scratch buffer). */
static const int64_t bit_offsets[] = {
	0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 65, 127, 130, 191,
	-1, -2, -8, -9, -16, -17, -31, -32, -33, -64, -65, -100, -128,
};
#define NR_BITS (sizeof(bit_offsets) / sizeof(bit_offsets[0]))

static _Alignas(64) uint8_t scratch[SCRATCH_LEN];

static void fill_scratch(uint8_t *buf, uint64_t v, unsigned salt)
{
	for (unsigned i = 0; i < SCRATCH_LEN; i++)
		buf[i] = (uint8_t)(i * 37 + salt);
	for (unsigned i = 0; i < 8; i++) {
		buf[BASE_OFF + i] = (uint8_t)(v >> (8 * i));
		/* CMPXCHG16B's high half mirrors the low one (swapped) */
		buf[BASE_OFF + 8 + i] = (uint8_t)(v >> (8 * (7 - i)));
	}
}

static void init_regs(struct native_state *s, uint64_t mem, uint64_t v,
		      unsigned variant)
{
	for (unsigned i = 0; i < 16; i++)
		s->gpr[i] = (v << (i % 5)) ^ (0x1111111111111111ULL * i);
	s->gpr[X86EMU_RSP] = 0;
	s->gpr[X86EMU_RSI] = (uintptr_t)scratch + BASE_OFF;
	s->gpr[X86EMU_RDI] = (uintptr_t)scratch + BASE_OFF;
	if (variant & 1) {
		/* accumulators equal memory: CMPXCHG* take the store path */
		s->gpr[X86EMU_RAX] = mem;
		s->gpr[X86EMU_RDX] = __builtin_bswap64(mem);
		/* cmpxchg8b compares EDX:EAX with the low 8 bytes */
		if (variant & 4)
			s->gpr[X86EMU_RDX] = mem >> 32;
	}
	s->rflags = 0x202;
	if (variant & 2)
		s->rflags |= F_ARITH;
	if (variant & 8)
		s->rflags |= X86EMU_FLAG_DF;
}

static void regs_from(struct x86emu_regs *r, const struct native_state *s)
{
	memcpy(r->gpr, s->gpr, sizeof(r->gpr));
	r->rflags = s->rflags;
}

static int64_t floor_div8(int64_t v)
{
	return v >= 0 ? v / 8 : -((-v + 7) / 8);
}

/* Runs one case natively and emulated; fails the test on a mismatch. */
static void check_one(const struct wcase *c, uint64_t mem, uint64_t v,
		      unsigned variant, int64_t bitoff)
{
	uint8_t *page = native_code_page();
	uint8_t init_mem[SCRATCH_LEN], emu_mem[SCRATCH_LEN];
	struct native_state s0, s1;
	struct x86emu_regs r;
	struct x86emu_outcome out;
	struct fake f;
	uint64_t fault;
	enum x86emu_status st;
	bool stos = c->code[c->len - 1] == (char)0xaa ||
		    c->code[c->len - 1] == (char)0xab;

	assert_non_null(page);
	fill_scratch(init_mem, mem, (unsigned)v);
	init_regs(&s0, mem, v, variant);
	if (c->kind == BT_REG) {
		s0.gpr[X86EMU_RCX] = (uint64_t)bitoff;
		fault = (uintptr_t)scratch + BASE_OFF + floor_div8(bitoff);
	} else {
		fault = (uintptr_t)scratch + BASE_OFF;
	}
	if (!stos)
		s0.rflags &= ~X86EMU_FLAG_DF;

	/* native */
	memcpy(page, c->code, c->len);
	page[c->len] = 0xc3;
	memcpy(scratch, init_mem, SCRATCH_LEN);
	s1 = s0;
	x86emu_test_run_native(&s1, page);

	/* emulated */
	fake_init(&f, &r, c->code, c->len);
	regs_from(&r, &s0);
	memcpy(emu_mem, init_mem, SCRATCH_LEN);
	f.mem = emu_mem;
	f.mem_addr = (uintptr_t)scratch;
	f.mem_len = SCRATCH_LEN;
	st = x86emu_emulate_write(&r, &fake_ops, &f, fault, &out);

	bool ok = st == X86EMU_DONE &&
		  memcmp(r.gpr, s1.gpr, sizeof(r.gpr)) == 0 &&
		  ((r.rflags ^ s1.rflags) & c->flags_mask) == 0 &&
		  memcmp(emu_mem, scratch, SCRATCH_LEN) == 0 &&
		  r.rip == FAKE_CODE_ADDR + c->len;
	if (!ORACLE_TRUSTED())
		return;
	if (!ok) {
		fprintf(stderr, "mismatch: code");
		for (unsigned i = 0; i < c->len; i++)
			fprintf(stderr, " %02x", (uint8_t)c->code[i]);
		fprintf(stderr, " mem %#llx v %#llx variant %u bit %lld st %d\n",
			(unsigned long long)mem, (unsigned long long)v, variant,
			(long long)bitoff, st);
		for (unsigned i = 0; i < 16; i++)
			if (r.gpr[i] != s1.gpr[i])
				fprintf(stderr, "  gpr%u emu %#llx native %#llx\n",
					i, (unsigned long long)r.gpr[i],
					(unsigned long long)s1.gpr[i]);
		fprintf(stderr, "  flags emu %#llx native %#llx mask %#llx\n",
			(unsigned long long)r.rflags,
			(unsigned long long)s1.rflags,
			(unsigned long long)c->flags_mask);
		for (unsigned i = 0; i < SCRATCH_LEN; i++)
			if (emu_mem[i] != scratch[i])
				fprintf(stderr, "  mem[%u] emu %02x native %02x\n",
					i, emu_mem[i], scratch[i]);
	}
	assert_true(ok);
}

static void test_native_oracle(void **state)
{
	(void)state;
	for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
		const struct wcase *c = &cases[ci];

		for (unsigned variant = 0; variant < 16; variant++) {
			for (size_t a = 0; a < NR_VALUES; a++) {
				if (c->kind == BT_REG) {
					for (size_t b = 0; b < NR_BITS; b++)
						check_one(c, values[a], 0, variant,
							  bit_offsets[b]);
					continue;
				}
				for (size_t b = 0; b < NR_VALUES; b += 3)
					check_one(c, values[a], values[b],
						  variant, 0);
			}
		}
	}
}

/* ---- behaviour that the oracle cannot show -------------------------- */

struct wsetup {
	struct fake f;
	struct x86emu_regs r;
	struct x86emu_outcome out;
	uint8_t mem[32];
};

#define MEM_ADDR 0xffff880001234000ULL

static void wsetup(struct wsetup *w, const char *code, size_t len)
{
	fake_init(&w->f, &w->r, code, len);
	for (unsigned i = 0; i < sizeof(w->mem); i++)
		w->mem[i] = (uint8_t)(0x10 + i);
	w->f.mem = w->mem;
	w->f.mem_addr = MEM_ADDR;
	w->f.mem_len = sizeof(w->mem);
	w->r.gpr[X86EMU_RSI] = MEM_ADDR + 8;
}

static enum x86emu_status wrun(struct wsetup *w, uint64_t fault)
{
	return x86emu_emulate_write(&w->r, &fake_ops, &w->f, fault, &w->out);
}

static void test_pte_store_commit_args(void **state)
{
	struct wsetup w;

	(void)state;
	wsetup(&w, "\x48\x89\x0e", 3);          /* mov %rcx,(%rsi) */
	w.r.gpr[X86EMU_RCX] = 0x8000000012345067ULL;
	assert_int_equal(wrun(&w, MEM_ADDR + 8), X86EMU_DONE);
	assert_int_equal(w.f.nr_commits, 1);
	assert_int_equal(w.f.last_write.addr, MEM_ADDR + 8);
	assert_int_equal(w.f.last_write.size, 8);
	assert_int_equal(w.f.last_write.entry_addr, MEM_ADDR + 8);
	assert_int_equal(w.f.last_write.entry_size, 8);
	assert_int_equal(w.f.last_write.old[0], 0x1f1e1d1c1b1a1918ULL);
	assert_int_equal(w.f.last_write.new_[0], 0x8000000012345067ULL);
	assert_false(w.f.last_write.atomic);
	assert_int_equal(w.r.rip, FAKE_CODE_ADDR + 3);
}

static void test_subword_widened(void **state)
{
	struct wsetup w;

	(void)state;
	/* lock andb $0xfd,1(%rsi): ptep_set_wrprotect-style byte RMW */
	wsetup(&w, "\xf0\x80\x66\x01\xfd", 5);
	assert_int_equal(wrun(&w, MEM_ADDR + 9), X86EMU_DONE);
	assert_int_equal(w.f.last_write.addr, MEM_ADDR + 9);
	assert_int_equal(w.f.last_write.size, 1);
	assert_int_equal(w.f.last_write.entry_addr, MEM_ADDR + 8);
	assert_int_equal(w.f.last_write.old[0], 0x1f1e1d1c1b1a1918ULL);
	assert_int_equal(w.f.last_write.new_[0], 0x1f1e1d1c1b1a1918ULL & ~0x200ULL);
	assert_true(w.f.last_write.atomic);
	assert_int_equal(w.mem[9], 0x19 & 0xfd);

	/* btr $5,4(%rsi) on the upper dword */
	wsetup(&w, "\x0f\xba\x76\x04\x05", 5);
	w.mem[12] = 0x20;
	assert_int_equal(wrun(&w, MEM_ADDR + 12), X86EMU_DONE);
	assert_int_equal(w.mem[12], 0);
	assert_true(w.r.rflags & X86EMU_FLAG_CF);
	assert_int_equal(w.f.last_write.entry_addr, MEM_ADDR + 8);
}

static void test_straddle_refused(void **state)
{
	static const struct { const char *code; unsigned len; uint64_t off; }
	bad[] = {
		{ "\x48\x89\x4e\x04", 4, 12 },  /* 8 bytes at +4 */
		{ "\x89\x4e\x06", 3, 14 },      /* 4 bytes at +6 */
		{ "\x66\x89\x4e\x07", 4, 15 },  /* 2 bytes at +7 */
		{ "\xf0\x0f\xc7\x4e\x04", 5, 12 }, /* cmpxchg8b at +4 */
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct wsetup w;
		struct x86emu_regs before;

		wsetup(&w, bad[i].code, bad[i].len);
		before = w.r;
		assert_int_equal(wrun(&w, MEM_ADDR + 8 + bad[i].off - 8),
				 X86EMU_UNHANDLED);
		assert_int_equal(w.f.nr_commits, 0);
		assert_memory_equal(&w.r, &before, sizeof(before));
	}
}

static void test_wrong_entry_refused(void **state)
{
	struct wsetup w;

	(void)state;
	/* the store goes to +8 but the fault was reported in another entry */
	wsetup(&w, "\x48\x89\x0e", 3);
	assert_int_equal(wrun(&w, MEM_ADDR + 16), X86EMU_UNHANDLED);
	assert_int_equal(wrun(&w, MEM_ADDR + 7), X86EMU_UNHANDLED);
	assert_int_equal(wrun(&w, MEM_ADDR + 15), X86EMU_DONE);
}

static void test_cmpxchg16b(void **state)
{
	struct wsetup w;

	(void)state;
	wsetup(&w, "\xf0\x48\x0f\xc7\x0e", 5);  /* cmpxchg16b (%rsi) */
	w.r.gpr[X86EMU_RSI] = MEM_ADDR + 16;
	w.r.gpr[X86EMU_RAX] = 0x2726252423222120ULL;
	w.r.gpr[X86EMU_RDX] = 0x2f2e2d2c2b2a2928ULL;
	w.r.gpr[X86EMU_RBX] = 1;
	w.r.gpr[X86EMU_RCX] = 2;
	assert_int_equal(wrun(&w, MEM_ADDR + 16), X86EMU_DONE);
	assert_true(w.r.rflags & X86EMU_FLAG_ZF);
	assert_int_equal(w.f.last_write.entry_size, 16);
	assert_int_equal(w.f.last_write.new_[0], 1);
	assert_int_equal(w.f.last_write.new_[1], 2);
	assert_int_equal(w.mem[16], 1);
	assert_int_equal(w.mem[24], 2);

	/* misaligned: #GP(0) */
	wsetup(&w, "\xf0\x48\x0f\xc7\x0e", 5);
	assert_int_equal(wrun(&w, MEM_ADDR + 8), X86EMU_EXCEPTION);
	assert_int_equal(w.out.vector, X86EMU_VEC_GP);
	assert_int_equal(w.out.error_code, 0);
	assert_int_equal(w.r.rip, FAKE_CODE_ADDR);
}

static void test_commit_reject_and_retry(void **state)
{
	struct wsetup w;

	(void)state;
	wsetup(&w, "\xf0\x48\x87\x0e", 4);      /* xchg %rcx,(%rsi) */
	w.r.gpr[X86EMU_RCX] = 5;
	w.f.commit_rc = X86EMU_COMMIT_REJECT;
	assert_int_equal(wrun(&w, MEM_ADDR + 8), X86EMU_UNHANDLED);
	assert_int_equal(w.r.gpr[X86EMU_RCX], 5);
	assert_int_equal(w.r.rip, FAKE_CODE_ADDR);

	/* two races, then success */
	wsetup(&w, "\xf0\x48\x87\x0e", 4);
	w.r.gpr[X86EMU_RCX] = 5;
	w.f.commit_retries = 2;
	assert_int_equal(wrun(&w, MEM_ADDR + 8), X86EMU_DONE);
	assert_int_equal(w.f.nr_commits, 3);
	assert_int_equal(w.r.gpr[X86EMU_RCX], 0x1f1e1d1c1b1a1918ULL);

	/* endless races: give up with RETRY, guest untouched */
	wsetup(&w, "\xf0\x48\x87\x0e", 4);
	w.r.gpr[X86EMU_RCX] = 5;
	w.f.commit_retries = 1000;
	assert_int_equal(wrun(&w, MEM_ADDR + 8), X86EMU_RETRY);
	assert_int_equal(w.r.gpr[X86EMU_RCX], 5);
	assert_int_equal(w.r.rip, FAKE_CODE_ADDR);
}

static void test_cmpxchg_fail_no_commit(void **state)
{
	struct wsetup w;

	(void)state;
	wsetup(&w, "\xf0\x48\x0f\xb1\x0e", 5);
	w.r.gpr[X86EMU_RAX] = 1;
	assert_int_equal(wrun(&w, MEM_ADDR + 8), X86EMU_DONE);
	assert_int_equal(w.f.nr_commits, 0);
	assert_false(w.r.rflags & X86EMU_FLAG_ZF);
	assert_int_equal(w.r.gpr[X86EMU_RAX], 0x1f1e1d1c1b1a1918ULL);
}

static void test_write_refusals(void **state)
{
	static const struct { const char *code; unsigned len; } bad[] = {
		{ "\xf3\x48\xab", 3 },          /* rep stosq */
		{ "\xf0\x89\x0e", 3 },          /* lock mov: #UD */
		{ "\x48\x89\xc8", 3 },          /* register destination */
		{ "\x80\x3e\x01", 3 },          /* cmp: no write */
		{ "\x0f\xba\x26\x01", 4 },      /* bt: no write */
		{ "\x0f\xa3\x0e", 3 },          /* bt reg */
		{ "\xfe\x06", 2 },              /* inc: unsupported */
		{ "\xff\x36", 2 },              /* push (%rsi) */
		{ "\x0f\xc7\x36", 3 },          /* 0f c7 /6: not cmpxchg8b */
		{ "\x66\x0f\xc3\x0e", 4 },      /* movnti word: undefined */
		{ "\x06", 1 },                  /* undefined opcode */
		{ "\xc5\xfd\x7f\x06", 4 },      /* vmovdqa store: not ours */
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct wsetup w;

		wsetup(&w, bad[i].code, bad[i].len);
		w.r.gpr[X86EMU_RDI] = MEM_ADDR + 8;
		w.r.gpr[X86EMU_RCX] = 1;
		assert_int_equal(wrun(&w, MEM_ADDR + 8), X86EMU_UNHANDLED);
		assert_int_equal(w.f.nr_commits, 0);
		assert_int_equal(w.r.rip, FAKE_CODE_ADDR);
	}
}

static void test_write_segment_and_moffs(void **state)
{
	struct wsetup w;

	(void)state;
	/* mov %eax,%gs:8 via moffs */
	wsetup(&w, "\x65\xa3\x08\x00\x00\x00\x00\x00\x00\x00", 10);
	w.r.gs_base = MEM_ADDR;
	w.r.gpr[X86EMU_RAX] = 0xaabbccdd;
	assert_int_equal(wrun(&w, MEM_ADDR + 8), X86EMU_DONE);
	assert_int_equal(w.mem[8], 0xdd);
	assert_int_equal(w.mem[11], 0xaa);
	assert_int_equal(w.mem[12], 0x1c);
	assert_int_equal(w.r.rip, FAKE_CODE_ADDR + 10);

	/* mov %rcx,%fs:(%rsi) */
	wsetup(&w, "\x64\x48\x89\x0e", 4);
	w.r.fs_base = 8;
	w.r.gpr[X86EMU_RSI] = MEM_ADDR;
	w.r.gpr[X86EMU_RCX] = 7;
	assert_int_equal(wrun(&w, MEM_ADDR + 8), X86EMU_DONE);
	assert_int_equal(w.f.last_write.addr, MEM_ADDR + 8);

	/* RIP-relative store */
	wsetup(&w, "\x48\x89\x0d\x01\x00\x00\x00", 7);
	w.f.mem_addr = FAKE_CODE_ADDR;
	assert_int_equal(wrun(&w, FAKE_CODE_ADDR + 8), X86EMU_DONE);
	assert_int_equal(w.f.last_write.addr, FAKE_CODE_ADDR + 8);
}

static void test_write_fetch_fault_and_read_fault(void **state)
{
	struct wsetup w;

	(void)state;
	wsetup(&w, "\x48\x89", 2);              /* code page ends mid-insn */
	assert_int_equal(wrun(&w, MEM_ADDR + 8), X86EMU_EXCEPTION);
	assert_true(w.out.fetch_fault);
	assert_int_equal(w.out.cr2, FAKE_CODE_ADDR + 2);

	wsetup(&w, "\x48\x89\x0e", 3);          /* entry not readable */
	w.r.gpr[X86EMU_RSI] = 0x1000;
	assert_int_equal(wrun(&w, 0x1000), X86EMU_EXCEPTION);
	assert_int_equal(w.out.vector, X86EMU_VEC_PF);
	assert_int_equal(w.out.cr2, 0x1000);
	assert_false(w.out.fetch_fault);
}

static void test_bt_huge_offsets(void **state)
{
	struct wsetup w;

	(void)state;
	/* bts %rcx,(%rsi) with rcx = INT64_MIN: address far below */
	wsetup(&w, "\x48\x0f\xab\x0e", 4);
	w.r.gpr[X86EMU_RCX] = 0x8000000000000000ULL;
	assert_int_equal(wrun(&w, MEM_ADDR + 8), X86EMU_UNHANDLED);
	w.r.gpr[X86EMU_RCX] = 0x7fffffffffffffffULL;
	assert_int_equal(wrun(&w, MEM_ADDR + 8), X86EMU_UNHANDLED);
	/* 32-bit: offset -1 means bit 31 of the dword below */
	wsetup(&w, "\x0f\xab\x0e", 3);
	w.r.gpr[X86EMU_RCX] = 0xffffffffULL;
	assert_int_equal(wrun(&w, MEM_ADDR + 4), X86EMU_DONE);
	assert_int_equal(w.f.last_write.addr, MEM_ADDR + 4);
	assert_int_equal(w.mem[7], 0x17 | 0x80);
}

int run_write_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_native_oracle),
		cmocka_unit_test(test_pte_store_commit_args),
		cmocka_unit_test(test_subword_widened),
		cmocka_unit_test(test_straddle_refused),
		cmocka_unit_test(test_wrong_entry_refused),
		cmocka_unit_test(test_cmpxchg16b),
		cmocka_unit_test(test_commit_reject_and_retry),
		cmocka_unit_test(test_cmpxchg_fail_no_commit),
		cmocka_unit_test(test_write_refusals),
		cmocka_unit_test(test_write_segment_and_moffs),
		cmocka_unit_test(test_write_fetch_fault_and_read_fault),
		cmocka_unit_test(test_bt_huge_offsets),
	};

	return cmocka_run_group_tests_name("x86emu_write", tests, NULL, NULL);
}
