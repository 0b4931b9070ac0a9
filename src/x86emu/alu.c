/*
 * Integer arithmetic shared by the emulators: sign extension and the ALU
 * operations with the flags they leave, as the hardware computes them.
 */
#include "x86emu/x86emu.h"
#include "x86emu/internal.h"

uint64_t x86emu_sext(uint64_t v, unsigned size)
{
	uint64_t m = x86emu_size_mask(size);
	uint64_t sign;

	if (size == 0 || size >= 8)
		return v;
	/* Free of signed-shift pitfalls: flip the sign bit, subtract it. */
	sign = 1ULL << (8 * size - 1);
	return (((v & m) ^ sign) - sign);
}

static unsigned parity_even(uint64_t v)
{
	uint8_t b = (uint8_t)v;

	b ^= b >> 4;
	b ^= b >> 2;
	b ^= b >> 1;
	return !(b & 1);
}

/* ZF, SF, PF of a result. */
static uint64_t flags_zsp(uint64_t r, unsigned size)
{
	uint64_t f = 0;

	r &= x86emu_size_mask(size);
	if (!r)
		f |= X86EMU_FLAG_ZF;
	if (r >> (8 * size - 1))
		f |= X86EMU_FLAG_SF;
	if (parity_even(r))
		f |= X86EMU_FLAG_PF;
	return f;
}

/* Carry/overflow come from bit formulas on the top bit, so the same code
 * serves 8..64 bits with no wider type. */
uint64_t x86emu_alu(unsigned op, unsigned size, uint64_t a, uint64_t b,
		    uint64_t *rflags)
{
	uint64_t m = x86emu_size_mask(size);
	unsigned top = 8 * size - 1;
	uint64_t cin = *rflags & X86EMU_FLAG_CF;
	uint64_t r, f = 0, carry = 0, ovf = 0;

	a &= m;
	b &= m;
	switch (op) {
	case X86EMU_ALU_ADD: case X86EMU_ALU_ADC:
		r = (a + b + (op == X86EMU_ALU_ADC ? cin : 0)) & m;
		carry = ((a & b) | ((a | b) & ~r)) >> top;
		ovf = ((a ^ r) & (b ^ r)) >> top;
		break;
	case X86EMU_ALU_SUB: case X86EMU_ALU_SBB: case X86EMU_ALU_CMP:
		r = (a - b - (op == X86EMU_ALU_SBB ? cin : 0)) & m;
		carry = ((~a & b) | ((~a | b) & r)) >> top;
		ovf = ((a ^ b) & (a ^ r)) >> top;
		break;
	case X86EMU_ALU_OR:  r = a | b; break;
	case X86EMU_ALU_AND: r = a & b; break;
	default:      r = a ^ b; break;
	}
	if (carry & 1)
		f |= X86EMU_FLAG_CF;
	if (ovf & 1)
		f |= X86EMU_FLAG_OF;
	/* AF is undefined for logic ops; hardware clears it, so do we. */
	if (op != X86EMU_ALU_OR && op != X86EMU_ALU_AND && op != X86EMU_ALU_XOR &&
	    (((a ^ b ^ r) >> 4) & 1))
		f |= X86EMU_FLAG_AF;
	f |= flags_zsp(r, size);
	*rflags = (*rflags & ~X86EMU_FLAGS_ARITH) | f;
	return r;
}
