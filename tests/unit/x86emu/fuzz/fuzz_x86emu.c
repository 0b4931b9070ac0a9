/*
 * libFuzzer harness for src/x86emu (not part of the normal build).
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       -Isrc -o /tmp/fuzz_x86emu tests/unit/x86emu/fuzz/fuzz_x86emu.c \
 *       src/x86emu/decode.c src/x86emu/priv.c src/x86emu/write.c \
 *       src/x86emu/alu.c src/x86emu/read.c
 *   /tmp/fuzz_x86emu -max_total_time=60 -max_len=256
 *
 * Input: 1 control byte, 16 bytes of register seed, the rest is guest
 * code.  Callbacks are deterministic functions of the input, with faults
 * sprinkled in, so every path (fault, retry, reject) is reachable.
 * Invariants are checked with __builtin_trap().
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "x86emu/x86emu.h"

#define CODE_ADDR 0xffffffff81000000ULL

struct fctx {
	const uint8_t *code;
	size_t code_len;
	uint8_t ctl;
	unsigned calls;
};

static int fails(struct fctx *c)
{
	/* fail roughly one call in 8 when ctl bit 0 is set */
	return (c->ctl & 1) && ((++c->calls * 0x9e3779b9u) >> 29) == 0;
}

static size_t f_fetch(void *ctx, uint64_t addr, uint8_t *buf, size_t len)
{
	struct fctx *c = ctx;
	uint64_t off = addr - CODE_ADDR;
	size_t n;

	if (addr < CODE_ADDR || off >= c->code_len)
		return 0;
	n = c->code_len - off;
	if (n > len)
		n = len;
	memcpy(buf, c->code + off, n);
	return (c->ctl & 2) ? n + 100 : n;     /* sometimes lie */
}

static int f_read(void *ctx, uint64_t addr, void *buf, unsigned size)
{
	struct fctx *c = ctx;
	uint8_t *b = buf;

	if (size > 16)
		__builtin_trap();
	if (fails(c))
		return -1;
	for (unsigned i = 0; i < size; i++)
		b[i] = (uint8_t)((addr + i) * 131u);
	return 0;
}

static int f_write(void *ctx, uint64_t addr, const void *buf, unsigned size)
{
	(void)addr; (void)buf;
	if (size > 16)
		__builtin_trap();
	return fails(ctx) ? -1 : 0;
}

static int f_commit(void *ctx, const struct x86emu_write *w)
{
	struct fctx *c = ctx;

	if (w->entry_size != 8 && w->entry_size != 16)
		__builtin_trap();
	if (w->addr < w->entry_addr ||
	    w->addr + w->size > w->entry_addr + w->entry_size)
		__builtin_trap();
	if (w->entry_addr & (w->entry_size - 1))
		__builtin_trap();
	if (fails(c))
		return (c->calls & 1) ? X86EMU_COMMIT_RETRY : X86EMU_COMMIT_REJECT;
	return X86EMU_COMMIT_OK;
}

static int f_val(void *ctx, uint64_t *val)
{
	struct fctx *c = ctx;

	*val = 0x0123456789abcdefULL * (c->calls + 1);
	if (!fails(c))
		return 0;
	return -(int)(1 + c->calls % 4);       /* GP, UD, UNHANDLED, odd */
}

static int f_read_cr(void *ctx, unsigned n, uint64_t *v)
{
	if (n > 15)
		__builtin_trap();
	return f_val(ctx, v);
}
static int f_write_cr(void *ctx, unsigned n, uint64_t v)
{
	(void)v;
	if (n > 15)
		__builtin_trap();
	return f_val(ctx, &v);
}
static int f_read_dr(void *ctx, unsigned n, uint64_t *v)
{
	if (n > 7)
		__builtin_trap();
	return f_val(ctx, v);
}
static int f_write_dr(void *ctx, unsigned n, uint64_t v)
{
	if (n > 7)
		__builtin_trap();
	return f_val(ctx, &v);
}
static int f_read_msr(void *ctx, uint32_t m, uint64_t *v)
{
	(void)m;
	return f_val(ctx, v);
}
static int f_write_msr(void *ctx, uint32_t m, uint64_t v)
{
	(void)m;
	return f_val(ctx, &v);
}
static int f_cpuid(void *ctx, uint32_t l, uint32_t s, uint32_t o[4])
{
	uint64_t v;
	int rc = f_val(ctx, &v);

	o[0] = l; o[1] = s; o[2] = (uint32_t)v; o[3] = (uint32_t)(v >> 32);
	return rc;
}
static int f_in(void *ctx, uint16_t p, unsigned size, uint32_t *val)
{
	uint64_t v;
	int rc = f_val(ctx, &v);

	(void)p;
	if (size != 1 && size != 2 && size != 4)
		__builtin_trap();
	*val = (uint32_t)v;
	return rc;
}
static int f_out(void *ctx, uint16_t p, unsigned size, uint32_t val)
{
	uint64_t v;

	(void)p; (void)val;
	if (size != 1 && size != 2 && size != 4)
		__builtin_trap();
	return f_val(ctx, &v);
}
static int f_wbinvd(void *ctx)
{
	uint64_t v;
	return f_val(ctx, &v);
}
static int f_xsetbv(void *ctx, uint32_t x, uint64_t v)
{
	(void)x;
	return f_val(ctx, &v);
}
static int f_rdpmc(void *ctx, uint32_t n, uint64_t *v)
{
	(void)n;
	return f_val(ctx, v);
}
static int f_rdtsc(void *ctx, uint64_t *t, uint32_t *aux)
{
	int rc = f_val(ctx, t);

	*aux = (uint32_t)*t;
	return rc;
}

static const struct x86emu_ops ops = {
	.fetch = f_fetch, .read = f_read, .write = f_write,
	.commit = f_commit, .read_cr = f_read_cr, .write_cr = f_write_cr,
	.read_dr = f_read_dr, .write_dr = f_write_dr,
	.read_msr = f_read_msr, .write_msr = f_write_msr, .cpuid = f_cpuid,
	.port_in = f_in, .port_out = f_out, .wbinvd = f_wbinvd,
	.xsetbv = f_xsetbv, .rdpmc = f_rdpmc, .rdtsc = f_rdtsc,
};

static void check_decoder(const uint8_t *code, size_t n)
{
	struct x86emu_insn a, b;
	int rc = x86emu_decode(code, n, &a);

	if (a.len > X86EMU_MAX_INSN_LEN || a.len > n)
		__builtin_trap();
	if (rc == 0) {
		/* exactly len bytes are enough, one fewer is not */
		if (x86emu_decode(code, a.len, &b) != 0 || b.len != a.len)
			__builtin_trap();
		if (x86emu_decode(code, a.len - 1u, &b) != X86EMU_DEC_TRUNCATED)
			__builtin_trap();
		if (memcmp(a.bytes, code, a.len))
			__builtin_trap();
	}
}

static void seed_regs(struct x86emu_regs *r, const uint8_t *seed)
{
	uint64_t s0, s1;

	memcpy(&s0, seed, 8);
	memcpy(&s1, seed + 8, 8);
	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < 16; i++) {
		s0 ^= s0 << 13; s0 ^= s0 >> 7; s0 ^= s0 << 17;
		/* small values too, so REP counts and bit offsets vary */
		r->gpr[i] = (i & 1) ? (s0 ^ s1) : (s0 & 0x1fff);
	}
	r->rip = CODE_ADDR;
	r->rflags = 0x202 | (s1 & 0xcd5);
	r->fs_base = s1;
	r->gs_base = ~s1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct x86emu_regs regs, before;
	struct x86emu_outcome out;
	struct fctx c;
	enum x86emu_status st;

	if (size < 17)
		return 0;
	c = (struct fctx){ .code = data + 17, .code_len = size - 17,
			   .ctl = data[0] };
	check_decoder(c.code, c.code_len);

	seed_regs(&regs, data + 1);
	before = regs;
	st = x86emu_emulate_priv(&regs, &ops, &c, &out);
	if (st == X86EMU_DONE && regs.rip != out.next_rip)
		__builtin_trap();
	if (st == X86EMU_DONE && regs.rip - before.rip != out.insn.len &&
	    regs.rip - before.rip != 7)
		__builtin_trap();
	if ((st == X86EMU_UNHANDLED || st == X86EMU_EVENT) &&
	    memcmp(&regs, &before, sizeof(regs)))
		__builtin_trap();
	if (st != X86EMU_DONE && regs.rip != before.rip)
		__builtin_trap();

	seed_regs(&regs, data + 1);
	before = regs;
	uint64_t fault = regs.gpr[data[0] >> 4] + (data[0] & 15);
	st = x86emu_emulate_write(&regs, &ops, &c, fault, &out);
	if (st == X86EMU_DONE && regs.rip != before.rip + out.insn.len)
		__builtin_trap();
	if (st != X86EMU_DONE && memcmp(&regs, &before, sizeof(regs)))
		__builtin_trap();

	seed_regs(&regs, data + 1);
	before = regs;
	st = x86emu_emulate_read(&regs, &ops, &c, fault, &out);
	if (st == X86EMU_DONE && regs.rip != before.rip + out.insn.len)
		__builtin_trap();
	if (st != X86EMU_DONE && memcmp(&regs, &before, sizeof(regs)))
		__builtin_trap();
	if (st == X86EMU_RETRY || st == X86EMU_EVENT)
		__builtin_trap();
	return 0;
}
