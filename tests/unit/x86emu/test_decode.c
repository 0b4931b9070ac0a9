/* Decoder: instruction lengths, errors, effective addresses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

/* Parses "48 8b 05" into bytes; returns the count. */
static size_t hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		char *end;
		unsigned long v = strtoul(s, &end, 16);

		if (end == s)
			break;
		out[n++] = (uint8_t)v;
		s = end;
	}
	return n;
}

struct len_case {
	const char *bytes;
	int len;        /* expected length (hand-computed) */
};

/* Expected lengths counted by hand from the SDM encodings. */
static const struct len_case len_cases[] = {
	{ "90", 1 },                            /* nop */
	{ "c3", 1 },                            /* ret */
	{ "0f a2", 2 },                         /* cpuid */
	{ "0f 0b", 2 },                         /* ud2 */
	{ "48 89 e5", 3 },                      /* mov %rsp,%rbp */
	{ "48 8b 05 44 33 22 11", 7 },          /* mov rip+d32,%rax */
	{ "8b 04 24", 3 },                      /* mov (%rsp),%eax: SIB */
	{ "8b 44 24 08", 4 },                   /* SIB + disp8 */
	{ "8b 84 24 00 01 00 00", 7 },          /* SIB + disp32 */
	{ "8b 04 25 78 56 34 12", 7 },          /* SIB no base: disp32 */
	{ "8b 45 00", 3 },                      /* (%rbp) needs disp8 */
	{ "41 8b 45 00", 4 },                   /* (%r13) too */
	{ "41 8b 04 24", 4 },                   /* (%r12) needs SIB */
	{ "c7 00 44 33 22 11", 6 },             /* movl $imm32,(%rax) */
	{ "66 c7 00 22 11", 5 },                /* movw $imm16 */
	{ "48 c7 c0 ff ff ff ff", 7 },          /* mov $-1,%rax */
	{ "48 b8 01 02 03 04 05 06 07 08", 10 },/* movabs $imm64 */
	{ "66 b8 34 12", 4 },
	{ "b8 78 56 34 12", 5 },
	{ "48 66 b8 34 12", 5 },                /* REX then 66: REX lost */
	{ "66 48 b8 01 02 03 04 05 06 07 08", 11 }, /* REX.W beats 66 */
	{ "c6 40 10 7f", 4 },
	{ "80 48 08 01", 4 },
	{ "f0 48 81 20 ff ff ff 7f", 8 },       /* lock andq $imm32 */
	{ "66 81 20 ff 7f", 5 },                /* andw $imm16 */
	{ "f0 83 20 fd", 4 },
	{ "f0 48 0f b1 0a", 5 },                /* lock cmpxchg */
	{ "f0 48 0f c7 0e", 5 },                /* lock cmpxchg16b */
	{ "0f ba 28 05", 4 },                   /* btsl $5,(%rax) */
	{ "f0 48 0f ab 07", 5 },
	{ "f6 00 01", 3 },                      /* testb $1: imm */
	{ "f6 10", 2 },                         /* notb: no imm */
	{ "f7 00 78 56 34 12", 6 },
	{ "66 f7 00 34 12", 5 },
	{ "f7 d8", 2 },                         /* neg */
	{ "e8 00 00 00 00", 5 },
	{ "0f 84 00 00 00 00", 6 },
	{ "74 fe", 2 },
	{ "c8 10 00 01", 4 },                   /* enter */
	{ "c2 08 00", 3 },
	{ "a1 01 02 03 04 05 06 07 08", 9 },    /* moffs64 */
	{ "67 a1 01 02 03 04", 6 },             /* moffs32 */
	{ "48 a3 01 02 03 04 05 06 07 08", 10 },
	{ "0f 20 d8", 3 },                      /* mov %cr3,%rax */
	{ "0f 20 04", 3 },                      /* mod ignored: no SIB */
	{ "0f 22 45", 3 },                      /* ... and no disp */
	{ "44 0f 22 c0", 4 },                   /* mov %rax,%cr8 */
	{ "0f 01 d1", 3 },                      /* xsetbv */
	{ "0f 01 f8", 3 },                      /* swapgs */
	{ "0f 01 30", 3 },                      /* lmsw (%rax) */
	{ "e4 60", 2 },
	{ "66 ed", 2 },
	{ "f3 6c", 2 },
	{ "cd 80", 2 },
	{ "64 48 8b 04 25 28 00 00 00", 9 },
	{ "65 48 8b 04 25 28 00 00 00", 9 },
	{ "0f 38 00 c1", 4 },                   /* pshufb */
	{ "66 0f 3a 0f c1 08", 6 },             /* palignr */
	{ "c5 f8 77", 3 },                      /* vzeroupper */
	{ "c5 fd 6f 07", 4 },
	{ "c4 e3 7d 18 c1 01", 6 },             /* vinsertf128 */
	{ "c4 e2 79 18 07", 5 },                /* vbroadcastss (map 2) */
	{ "62 f1 7d 48 6f 07", 6 },             /* vmovdqa32 */
	{ "62 f1 7d 48 6f 47 01", 7 },
	{ "0f 0f c1 b4", 4 },                   /* 3DNow!: imm suffix */
	{ "0f 1f 44 00 00", 5 },
	{ "66 2e 0f 1f 84 00 00 00 00 00", 10 },
	{ "48 69 c0 10 00 00 00", 7 },
	{ "6b c0 10", 3 },
	{ "c1 e0 04", 3 },
	{ "0f c7 f0", 3 },                      /* rdrand */
	{ "f3 0f b8 c1", 4 },                   /* popcnt */
	{ "d9 c0", 2 },
	{ "0f 71 d0 04", 4 },
	{ "a8 01", 2 },
	{ "8d 04 c5 00 00 00 00", 7 },          /* index only */
	{ "4c 8d 24 e4", 4 },
	{ "c6 f8 05", 3 },                      /* xabort */
	{ "c7 f8 00 00 00 00", 6 },             /* xbegin */
	{ "f3 48 ab", 3 },                      /* rep stosq */
	{ "0f 30", 2 }, { "0f 32", 2 }, { "0f 06", 2 }, { "0f 09", 2 },
	{ "0f 21 f8", 3 },
	{ "26 2e 36 3e 64 65 f2 f3 f0 66 67 48 8b 00", 14 },
	{ "66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", 15 },
};

static void test_lengths(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(len_cases) / sizeof(len_cases[0]); i++) {
		uint8_t b[16];
		size_t n = hex(len_cases[i].bytes, b, sizeof(b));
		struct x86emu_insn in;
		int rc = x86emu_decode(b, n, &in);

		if (rc != 0 || in.len != len_cases[i].len)
			fprintf(stderr, "case '%s': rc %d len %u\n",
				len_cases[i].bytes, rc, in.len);
		assert_int_equal(rc, 0);
		assert_int_equal(in.len, len_cases[i].len);
		assert_memory_equal(in.bytes, b, in.len);
	}
}

/* Every proper prefix of a valid instruction is "truncated" at its end. */
static void test_truncated_prefixes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(len_cases) / sizeof(len_cases[0]); i++) {
		uint8_t b[16];
		size_t n = hex(len_cases[i].bytes, b, sizeof(b));

		for (size_t k = 0; k < n; k++) {
			struct x86emu_insn in;

			assert_int_equal(x86emu_decode(b, k, &in),
					 X86EMU_DEC_TRUNCATED);
			assert_int_equal(in.len, k);
		}
	}
}

static void test_too_long(void **state)
{
	uint8_t b[20];
	struct x86emu_insn in;

	(void)state;
	memset(b, 0x66, sizeof(b));
	b[15] = 0x90;
	assert_int_equal(x86emu_decode(b, 16, &in), X86EMU_DEC_TOO_LONG);
	/* a long tail of prefixes is #GP even with nothing after byte 15 */
	assert_int_equal(x86emu_decode(b, 15, &in), X86EMU_DEC_TOO_LONG);
	/* the 15-byte limit also counts ModRM/imm bytes */
	memset(b, 0x2e, sizeof(b));
	memcpy(b + 5, "\x48\xc7\x84\x24\x00\x01\x00\x00\x11\x22\x33\x44", 12);
	assert_int_equal(x86emu_decode(b, 17, &in), X86EMU_DEC_TOO_LONG);
	assert_int_equal(x86emu_decode(b + 1, 16, &in), X86EMU_DEC_TOO_LONG);
	assert_int_equal(x86emu_decode(b + 2, 15, &in), 0);
	assert_int_equal(in.len, 15);
}

static void test_invalid(void **state)
{
	static const char *bad[] = {
		"06", "07", "0e", "16", "17", "1e", "1f", "27", "2f", "37",
		"3f", "60", "61", "82 00 00", "9a", "ce", "d4 0a", "d5 0a",
		"d6", "ea", "0f 04", "0f 0a", "0f 24 c0", "0f 36", "0f 39",
		"0f a6", "0f 7a", "66 c5 f8 77", "f0 c5 f8 77",
		"c4 e0 7d 18 c1 01",    /* VEX map 0 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t b[16];
		size_t n = hex(bad[i], b, sizeof(b));
		struct x86emu_insn in;

		assert_int_equal(x86emu_decode(b, n, &in), X86EMU_DEC_INVALID);
	}
}

static void test_prefix_fields(void **state)
{
	uint8_t b[16];
	struct x86emu_insn in;
	size_t n;

	(void)state;
	n = hex("f0 f3 64 66 67 41 0f b1 0a", b, sizeof(b));
	assert_int_equal(x86emu_decode(b, n, &in), 0);
	assert_true(in.lock);
	assert_int_equal(in.rep, 0xf3);
	assert_int_equal(in.seg, X86EMU_SEG_FS);
	assert_true(in.opsize_prefix);
	assert_int_equal(in.opsize, 2);
	assert_int_equal(in.addrsize, 4);
	assert_int_equal(in.rex, 0x41);
	assert_int_equal(in.map, X86EMU_MAP_0F);
	assert_int_equal(in.opcode, 0xb1);
	assert_int_equal(in.reg, 1);
	assert_int_equal(in.base, 10);          /* r10 via REX.B */
	assert_int_equal(in.nr_prefixes, 6);

	/* REX followed by a legacy prefix is dropped */
	n = hex("48 66 89 00", b, sizeof(b));
	assert_int_equal(x86emu_decode(b, n, &in), 0);
	assert_int_equal(in.rex, 0);
	assert_int_equal(in.opsize, 2);

	/* REX.R on MOV CR selects CR8 */
	n = hex("44 0f 20 c1", b, sizeof(b));
	assert_int_equal(x86emu_decode(b, n, &in), 0);
	assert_int_equal(in.reg, 8);
	assert_int_equal(in.rm, 1);
	assert_false(in.has_mem);
}

static void test_null_buffer(void **state)
{
	struct x86emu_insn in;

	(void)state;
	assert_int_equal(x86emu_decode(NULL, 5, &in), X86EMU_DEC_TRUNCATED);
	assert_int_equal(in.len, 0);
}

/* ---- effective addresses --------------------------------------------- */

struct ea_case {
	const char *bytes;
	uint64_t expect;        /* relative to the register values below */
};

static void ea_regs(struct x86emu_regs *r)
{
	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < 16; i++)
		r->gpr[i] = 0x100000ULL * (i + 1);
	r->gpr[X86EMU_RBX] = 0xdead0000beef0000ULL;
	r->rip = 0xffffffff81000000ULL;
	r->fs_base = 0x7f0000000000ULL;
	r->gpr[X86EMU_RDI] = 0;
	r->gs_base = 0xffff888000000000ULL;
}

#define G(n) (0x100000ULL * (X86EMU_##n + 1))
#define RIP 0xffffffff81000000ULL

static void test_effective_addresses(void **state)
{
	const struct ea_case cases[] = {
		{ "8b 00", G(RAX) },
		{ "8b 04 24", G(RSP) },
		{ "8b 44 24 f8", G(RSP) - 8 },
		{ "8b 84 24 00 00 00 80", G(RSP) - 0x80000000ULL },
		{ "8b 04 25 78 56 34 12", 0x12345678 },
		{ "8b 04 25 f0 ff ff ff", 0xfffffffffffffff0ULL },
		{ "8b 04 c5 00 10 00 00", G(RAX) * 8 + 0x1000 },
		{ "42 8b 04 a1", G(RCX) + G(R12) * 4 },
		{ "43 8b 04 64", G(R12) + G(R12) * 2 },
		{ "41 8b 45 00", G(R13) },
		{ "8b 45 10", G(RBP) + 0x10 },
		{ "4a 8b 44 e5 08", G(RBP) + G(R12) * 8 + 8 },
		/* mod 0, SIB base 101b: disp32, REX.B does not matter */
		{ "41 8b 04 2d 00 01 00 00", G(RBP) + 0x100 },
		{ "8b 05 10 00 00 00", RIP + 6 + 0x10 },
		{ "41 8b 05 f0 ff ff ff", RIP + 7 - 0x10 },  /* REX.B: still RIP */
		{ "c7 05 10 00 00 00 01 00 00 00", RIP + 10 + 0x10 },
		{ "67 8b 03", 0xbeef0000ULL },
		{ "67 8b 43 20", 0xbeef0020ULL },
		{ "67 8b 05 00 00 00 00", (uint32_t)(RIP + 7) },
		{ "64 8b 07", 0x7f0000000000ULL },
		{ "65 48 8b 04 25 28 00 00 00", 0xffff888000000028ULL },
		{ "64 3e 8b 07", 0x7f0000000000ULL },   /* DS keeps FS */
		{ "65 64 8b 07", 0x7f0000000000ULL },   /* last FS/GS wins */
		{ "64 67 8b 03", 0x7f0000000000ULL + 0xbeef0000ULL },
		{ "65 a1 08 00 00 00 00 00 00 00", 0xffff888000000008ULL },
		{ "67 a1 08 00 00 80", 0x80000008ULL },
		{ "8b 43 80", 0xdead0000beef0000ULL - 0x80 },
	};
	struct x86emu_regs r;

	(void)state;
	ea_regs(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[16];
		size_t n = hex(cases[i].bytes, b, sizeof(b));
		struct x86emu_insn in;

		assert_int_equal(x86emu_decode(b, n, &in), 0);
		assert_int_equal(in.len, n);
		assert_true(in.has_mem);
		if (x86emu_insn_ea(&in, &r) != cases[i].expect)
			fprintf(stderr, "case '%s': %#llx\n", cases[i].bytes,
				(unsigned long long)x86emu_insn_ea(&in, &r));
		assert_int_equal(x86emu_insn_ea(&in, &r), cases[i].expect);
	}
}

static void test_fetch_decode(void **state)
{
	struct x86emu_regs r;
	struct x86emu_outcome out;
	struct fake f;

	(void)state;
	fake_init(&f, &r, "\x48\x8b\x05\x44\x33\x22\x11", 7);
	assert_int_equal(x86emu_fetch_decode(&r, &fake_ops, &f, &out),
			 X86EMU_DONE);
	assert_int_equal(out.insn.len, 7);
	assert_int_equal(out.next_rip, FAKE_CODE_ADDR + 7);

	/* the code page ends after 3 bytes: #PF on fetch at byte 3 */
	fake_init(&f, &r, "\x48\x8b\x05\x44\x33\x22\x11", 3);
	assert_int_equal(x86emu_fetch_decode(&r, &fake_ops, &f, &out),
			 X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_PF);
	assert_true(out.fetch_fault);
	assert_int_equal(out.cr2, FAKE_CODE_ADDR + 3);
	assert_true(out.error_code & X86EMU_PFEC_INSN);

	/* a short instruction before an unmapped page is fine */
	fake_init(&f, &r, "\x0f\xa2", 2);
	assert_int_equal(x86emu_fetch_decode(&r, &fake_ops, &f, &out),
			 X86EMU_DONE);

	/* 16 bytes of prefixes: #GP(0) */
	uint8_t longi[17];
	memset(longi, 0x66, 16);
	longi[16] = 0x90;
	fake_init(&f, &r, longi, sizeof(longi));
	assert_int_equal(x86emu_fetch_decode(&r, &fake_ops, &f, &out),
			 X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_GP);
	assert_true(out.has_error_code);
	assert_int_equal(out.error_code, 0);
}

/* Callback claiming more bytes than asked must not overflow anything. */
static size_t liar_fetch(void *ctx, uint64_t addr, uint8_t *buf, size_t len)
{
	(void)ctx; (void)addr;
	memset(buf, 0x66, len);
	return 1000;
}

static void test_lying_fetch(void **state)
{
	struct x86emu_ops ops = { .fetch = liar_fetch };
	struct x86emu_regs r = { .rip = 0x1000 };
	struct x86emu_outcome out;

	(void)state;
	assert_int_equal(x86emu_fetch_decode(&r, &ops, NULL, &out),
			 X86EMU_EXCEPTION);
	assert_int_equal(out.vector, X86EMU_VEC_GP);
}

int run_decode_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_truncated_prefixes),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_prefix_fields),
		cmocka_unit_test(test_null_buffer),
		cmocka_unit_test(test_effective_addresses),
		cmocka_unit_test(test_fetch_decode),
		cmocka_unit_test(test_lying_fetch),
	};

	return cmocka_run_group_tests_name("x86emu_decode", tests, NULL, NULL);
}
