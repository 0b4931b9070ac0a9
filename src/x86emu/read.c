/*
 * Load emulation: an instruction read memory the guest cannot reach by
 * itself (kxen's read-only M2P at Xen's ABI address, which some hosts
 * reserve), and the caller serves the bytes through ops->read.  Only
 * instructions whose one memory operand is a pure source are emulated:
 * MOV/MOVZX/MOVSX/MOVSXD, CMOVcc, the ALU ops with a register
 * destination, CMP, TEST and BT with an immediate bit number.
 *
 * The instruction is fetched and decoded once; registers reach the caller
 * only when the whole instruction succeeded.
 */
#include <string.h>

#include "x86emu/x86emu.h"
#include "x86emu/internal.h"

enum rkind {
	R_MOV,          /* 8a 8b a0 a1 0f b6/b7 (zero-extend) */
	R_MOVSX,        /* 0f be/bf 63 */
	R_CMOV,         /* 0f 40-4f */
	R_ALU,          /* reg = reg op mem */
	R_CMP_MR,       /* flags of mem - reg / mem - imm */
	R_CMP_RM,       /* flags of reg - mem */
	R_TEST,         /* flags of mem & reg / mem & imm */
	R_BT,           /* CF = bit of mem */
};

struct rop {
	enum rkind kind;
	unsigned size;          /* bytes read from memory */
	unsigned dsize;         /* destination register size */
	uint64_t src;           /* register or immediate operand */
	unsigned op;            /* ALU operation (opcode row) */
	bool uses_reg;          /* ModRM.reg is an operand */
};

static bool classify_alu_row(struct rop *op, const struct x86emu_insn *in,
			     const struct x86emu_regs *r)
{
	uint8_t o = in->opcode;
	bool rex = in->rex != 0;

	if (o >= 0x40 || (o & 7) > 3)
		return false;
	op->size = (o & 1) ? in->opsize : 1;
	op->dsize = op->size;
	op->op = o >> 3;
	op->src = x86emu_get_reg(r, in->reg, op->size, rex);
	if ((o & 7) >= 2) {             /* reg, r/m */
		op->kind = op->op == X86EMU_ALU_CMP ? R_CMP_RM : R_ALU;
		return true;
	}
	/* r/m, reg forms write memory, except CMP */
	op->kind = R_CMP_MR;
	return op->op == X86EMU_ALU_CMP;
}

static bool classify_one_byte(struct rop *op, const struct x86emu_insn *in,
			      const struct x86emu_regs *r)
{
	uint8_t o = in->opcode;
	unsigned digit = (in->modrm >> 3) & 7;
	bool rex = in->rex != 0;

	switch (o) {
	case 0x8a: case 0x8b:
		op->kind = R_MOV;
		op->size = op->dsize = o == 0x8a ? 1 : in->opsize;
		return in->has_mem;
	case 0xa0: case 0xa1:   /* mov al/rAX, moffs */
		op->kind = R_MOV;
		op->size = op->dsize = o == 0xa0 ? 1 : in->opsize;
		return true;
	case 0x63:
		op->kind = in->opsize == 8 ? R_MOVSX : R_MOV;
		op->size = in->opsize == 8 ? 4 : in->opsize;
		op->dsize = in->opsize;
		return in->has_mem;
	case 0x84: case 0x85:
		op->kind = R_TEST;
		op->size = o == 0x84 ? 1 : in->opsize;
		op->src = x86emu_get_reg(r, in->reg, op->size, rex);
		return in->has_mem;
	case 0x80: case 0x81: case 0x83:
		if (digit != 7)
			return false;   /* the others write memory */
		op->kind = R_CMP_MR;
		op->size = o == 0x80 ? 1 : in->opsize;
		op->src = x86emu_sext(in->imm, in->imm_size);
		return in->has_mem;
	case 0xf6: case 0xf7:
		if (digit > 1)
			return false;
		op->kind = R_TEST;
		op->size = o == 0xf6 ? 1 : in->opsize;
		op->src = x86emu_sext(in->imm, in->imm_size);
		return in->has_mem;
	default:
		return in->has_mem && classify_alu_row(op, in, r);
	}
}

static bool classify_two_byte(struct rop *op, const struct x86emu_insn *in)
{
	uint8_t o = in->opcode;
	unsigned digit = (in->modrm >> 3) & 7;

	switch (o) {
	case 0xb6: case 0xb7: case 0xbe: case 0xbf:
		op->kind = (o & 8) ? R_MOVSX : R_MOV;
		op->size = (o & 1) ? 2 : 1;
		op->dsize = in->opsize;
		return in->has_mem;
	case 0xba:
		if (digit != 4)
			return false;   /* bts/btr/btc write memory */
		op->kind = R_BT;
		op->size = in->opsize;
		op->src = in->imm & (8 * op->size - 1);
		return in->has_mem;
	default:
		break;
	}
	if (o >= 0x40 && o <= 0x4f) {
		op->kind = R_CMOV;
		op->size = op->dsize = in->opsize;
		return in->has_mem;
	}
	return false;
}

static bool classify(struct rop *op, const struct x86emu_insn *in,
		     const struct x86emu_regs *r)
{
	memset(op, 0, sizeof(*op));
	/* LOCK on a load is #UD before any access: it cannot have faulted. */
	if (in->vex || in->lock)
		return false;
	if (in->map == X86EMU_MAP_ONE)
		return classify_one_byte(op, in, r);
	if (in->map == X86EMU_MAP_0F)
		return classify_two_byte(op, in);
	return false;
}

/* Condition code cc (low nibble of Jcc/SETcc/CMOVcc) against rflags. */
static bool cond_holds(unsigned cc, uint64_t f)
{
	bool cf = f & X86EMU_FLAG_CF, zf = f & X86EMU_FLAG_ZF;
	bool sf = f & X86EMU_FLAG_SF, of = f & X86EMU_FLAG_OF;
	bool pf = f & X86EMU_FLAG_PF;
	bool v;

	switch ((cc >> 1) & 7) {
	case 0: v = of; break;
	case 1: v = cf; break;
	case 2: v = zf; break;
	case 3: v = cf || zf; break;
	case 4: v = sf; break;
	case 5: v = pf; break;
	case 6: v = sf != of; break;
	default: v = zf || sf != of; break;
	}
	return (cc & 1) ? !v : v;
}

/* Applies the instruction to the loaded value m; effects go to *nr. */
static void apply(const struct rop *op, const struct x86emu_insn *in,
		  struct x86emu_regs *nr, uint64_t m)
{
	bool rex = in->rex != 0;
	unsigned reg = in->reg;
	uint64_t v;

	/* moffs forms name the accumulator, not ModRM.reg */
	if (in->map == X86EMU_MAP_ONE && (in->opcode == 0xa0 || in->opcode == 0xa1))
		reg = X86EMU_RAX;
	switch (op->kind) {
	case R_MOV:
		x86emu_set_reg(nr, reg, op->dsize, rex, m);
		break;
	case R_MOVSX:
		x86emu_set_reg(nr, reg, op->dsize, rex, x86emu_sext(m, op->size));
		break;
	case R_CMOV:
		/* A 32-bit CMOV zero-extends its destination even when false. */
		v = cond_holds(in->opcode, nr->rflags) ? m :
		    x86emu_get_reg(nr, reg, op->dsize, rex);
		x86emu_set_reg(nr, reg, op->dsize, rex, v);
		break;
	case R_ALU:
		v = x86emu_alu(op->op, op->size, op->src, m, &nr->rflags);
		x86emu_set_reg(nr, reg, op->dsize, rex, v);
		break;
	case R_CMP_MR:
		x86emu_alu(X86EMU_ALU_CMP, op->size, m, op->src, &nr->rflags);
		break;
	case R_CMP_RM:
		x86emu_alu(X86EMU_ALU_CMP, op->size, op->src, m, &nr->rflags);
		break;
	case R_TEST:
		x86emu_alu(X86EMU_ALU_AND, op->size, m, op->src, &nr->rflags);
		break;
	case R_BT:
		nr->rflags &= ~X86EMU_FLAG_CF;
		if ((m >> op->src) & 1)
			nr->rflags |= X86EMU_FLAG_CF;
		break;
	}
}

enum x86emu_status x86emu_emulate_read(struct x86emu_regs *regs,
				       const struct x86emu_ops *ops, void *ctx,
				       uint64_t fault_addr,
				       struct x86emu_outcome *out)
{
	uint8_t buf[X86EMU_MAX_INSN_LEN], data[8];
	struct x86emu_regs nr;
	enum x86emu_status st;
	size_t got = 0;
	struct rop op;
	uint64_t addr;

	memset(out, 0, sizeof(*out));
	if (!ops->read)
		return X86EMU_UNHANDLED;
	st = x86emu_fetch_insn(regs, ops, ctx, buf, &got, out);
	if (st != X86EMU_DONE) {
		if (out->fetch_fault)
			return st;
		memset(out, 0, sizeof(*out));
		return X86EMU_UNHANDLED;
	}
	if (!classify(&op, &out->insn, regs))
		return X86EMU_UNHANDLED;
	addr = x86emu_insn_ea(&out->insn, regs);
	/* Only the access that faulted is ours to serve. */
	if (fault_addr - addr >= op.size)
		return X86EMU_UNHANDLED;
	if (ops->read(ctx, addr, data, op.size) < 0) {
		x86emu_raise_pf(out, addr, 0);
		return X86EMU_EXCEPTION;
	}
	nr = *regs;
	apply(&op, &out->insn, &nr, x86emu_get_le(data, op.size));
	*regs = nr;
	regs->rip = out->next_rip;
	return X86EMU_DONE;
}
