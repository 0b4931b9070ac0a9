/* Private helpers shared by the x86emu source files. */
#ifndef KXEN_X86EMU_INTERNAL_H
#define KXEN_X86EMU_INTERNAL_H

#include "x86emu/x86emu.h"

/* Effective address without the segment base (truncated under 67h). */
uint64_t x86emu_insn_offset(const struct x86emu_insn *insn,
			    const struct x86emu_regs *regs);
uint64_t x86emu_seg_base(const struct x86emu_insn *insn,
			 const struct x86emu_regs *regs);
void x86emu_raise(struct x86emu_outcome *out, uint8_t vector, bool has_ec,
		  uint32_t ec);
void x86emu_raise_pf(struct x86emu_outcome *out, uint64_t addr, uint32_t ec);

/* Fetches up to 15 bytes at RIP into buf (*got readable) and decodes. */
enum x86emu_status x86emu_fetch_insn(const struct x86emu_regs *regs,
				     const struct x86emu_ops *ops, void *ctx,
				     uint8_t buf[X86EMU_MAX_INSN_LEN],
				     size_t *got, struct x86emu_outcome *out);
/* Decodes buf[0..n) as the instruction at regs->rip (same results). */
enum x86emu_status x86emu_decode_insn(const struct x86emu_regs *regs,
				      const uint8_t *buf, size_t n,
				      struct x86emu_outcome *out);

/* ALU operation numbers as in the opcode (opcode >> 3, or the /digit of
 * 80/81/83); CMP computes SUB's flags. */
enum {
	X86EMU_ALU_ADD, X86EMU_ALU_OR, X86EMU_ALU_ADC, X86EMU_ALU_SBB,
	X86EMU_ALU_AND, X86EMU_ALU_SUB, X86EMU_ALU_XOR, X86EMU_ALU_CMP,
};

/* a op b for size bytes; replaces the arithmetic flags in *rflags. */
uint64_t x86emu_alu(unsigned op, unsigned size, uint64_t a, uint64_t b,
		    uint64_t *rflags);
/* The low size bytes of v, sign-extended to 64 bits. */
uint64_t x86emu_sext(uint64_t v, unsigned size);

/* Register access with x86 partial-register rules. */
static inline uint64_t x86emu_size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

/* Writes size bytes of val to a GPR: 4 zero-extends, 1/2 merge. */
static inline void x86emu_set_gpr(struct x86emu_regs *r, unsigned n,
				  unsigned size, uint64_t val)
{
	uint64_t m = x86emu_size_mask(size);

	n &= 15;
	if (size == 4 || size >= 8)
		r->gpr[n] = val & m;
	else
		r->gpr[n] = (r->gpr[n] & ~m) | (val & m);
}

/* Byte register n: without REX, 4..7 are AH, CH, DH, BH. */
static inline uint64_t x86emu_get_reg8(const struct x86emu_regs *r,
				       unsigned n, bool rex)
{
	n &= 15;
	if (!rex && n >= 4 && n < 8)
		return (r->gpr[n - 4] >> 8) & 0xff;
	return r->gpr[n] & 0xff;
}

static inline void x86emu_set_reg8(struct x86emu_regs *r, unsigned n,
				   bool rex, uint64_t val)
{
	n &= 15;
	if (!rex && n >= 4 && n < 8)
		r->gpr[n - 4] = (r->gpr[n - 4] & ~0xff00ULL) |
				((val & 0xff) << 8);
	else
		r->gpr[n] = (r->gpr[n] & ~0xffULL) | (val & 0xff);
}

/* Operand of size bytes from register n (byte registers per REX rule). */
static inline uint64_t x86emu_get_reg(const struct x86emu_regs *r,
				      unsigned n, unsigned size, bool rex)
{
	if (size == 1)
		return x86emu_get_reg8(r, n, rex);
	return r->gpr[n & 15] & x86emu_size_mask(size);
}

static inline void x86emu_set_reg(struct x86emu_regs *r, unsigned n,
				  unsigned size, bool rex, uint64_t val)
{
	if (size == 1)
		x86emu_set_reg8(r, n, rex, val);
	else
		x86emu_set_gpr(r, n, size, val);
}

static inline uint64_t x86emu_get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline void x86emu_put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n && i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#endif
