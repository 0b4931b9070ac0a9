/*
 * Writable-page-table emulation: a guest kernel store hit a read-only
 * page-table page.  We decode the store, compute the entry's new value
 * from its current one and let the caller's commit() validate and install
 * it atomically; then registers and flags change exactly as the hardware
 * would have changed them.
 *
 * All work happens on a copy of the registers: they reach the caller only
 * after commit() succeeded, so every refusal leaves the guest untouched.
 */
#include <string.h>

#include "x86emu/x86emu.h"
#include "x86emu/internal.h"

/* Commit races (entry changed under us) retried before giving up. */
#define WRITE_MAX_TRIES 8

enum wkind {
	W_MOV,          /* 88 89 c6 c7 a2 a3 0f c3 */
	W_STOS,         /* aa ab */
	W_XCHG,         /* 86 87 */
	W_CMPXCHG,      /* 0f b0 0f b1 */
	W_CMPXCHG8B,    /* 0f c7 /1 (16 bytes with REX.W) */
	W_ALU,          /* add or adc sbb and sub xor */
	W_BT,           /* bts btr btc */
};

/* BT* operation numbers as in 0f ba /digit. */
enum { BT_S = 5, BT_R = 6, BT_C = 7 };

struct wop {
	enum wkind kind;
	unsigned size;          /* operand size in bytes */
	uint64_t addr;          /* linear address written */
	uint64_t src;           /* register or immediate operand */
	unsigned op;            /* ALU_* or BT_* */
	unsigned bit;           /* BT*: bit within the operand */
	bool rmw;               /* result depends on the old value */
};

/* Floor division of a signed bit offset by the operand width in bits. */
static int64_t floor_div(int64_t off, int64_t bits)
{
	if (off >= 0)
		return off / bits;
	/* -(off + 1) cannot overflow, even for INT64_MIN */
	return -((-(off + 1)) / bits) - 1;
}

/*
 * BT* with a register bit offset: the offset is signed and may address
 * any operand-size unit around the ModRM address.
 */
static void bt_reg_offset(struct wop *op, const struct x86emu_insn *in,
			  const struct x86emu_regs *r)
{
	int64_t bits = 8 * (int64_t)op->size;
	uint64_t raw = x86emu_sext(r->gpr[in->reg], op->size);
	int64_t off = raw > (uint64_t)INT64_MAX ?
		      -(int64_t)(~raw) - 1 : (int64_t)raw;
	int64_t q = floor_div(off, bits);
	uint64_t ea = x86emu_insn_offset(in, r) + (uint64_t)q * op->size;

	if (in->addrsize == 4)
		ea = (uint32_t)ea;
	op->addr = ea + x86emu_seg_base(in, r);
	op->bit = (unsigned)(off - q * bits);
}

static bool classify_one_byte(struct wop *op, const struct x86emu_insn *in,
			      const struct x86emu_regs *r)
{
	bool rex = in->rex != 0;
	uint8_t o = in->opcode;
	unsigned digit = (in->modrm >> 3) & 7;

	op->size = (o & 1) ? in->opsize : 1;
	switch (o) {
	case 0x88: case 0x89:
		op->kind = W_MOV;
		op->src = x86emu_get_reg(r, in->reg, op->size, rex);
		return in->has_mem;
	case 0xa2: case 0xa3:   /* mov moffs, al/rAX */
		op->kind = W_MOV;
		op->src = x86emu_get_reg(r, X86EMU_RAX, op->size, rex);
		return true;
	case 0xc6: case 0xc7:
		if (digit != 0)
			return false;   /* xabort/xbegin */
		op->kind = W_MOV;
		op->src = x86emu_sext(in->imm, in->imm_size);
		return in->has_mem;
	case 0x86: case 0x87:
		op->kind = W_XCHG;
		op->rmw = true;
		op->src = x86emu_get_reg(r, in->reg, op->size, rex);
		return in->has_mem;
	case 0xaa: case 0xab:
		op->kind = W_STOS;
		op->src = x86emu_get_reg(r, X86EMU_RAX, op->size, rex);
		return true;
	case 0x80: case 0x81: case 0x83:
		if (digit == 7)
			return false;   /* CMP never writes */
		op->kind = W_ALU;
		op->rmw = true;
		op->op = digit;
		op->size = o == 0x80 ? 1 : in->opsize;
		op->src = x86emu_sext(in->imm, in->imm_size);
		return in->has_mem;
	default:
		break;
	}
	/* 00-31 ALU r/m, reg forms (only the two r/m-destination opcodes of
	 * each row; CMP, row 7, never writes). */
	if (o < 0x38 && (o & 7) < 2) {
		op->kind = W_ALU;
		op->rmw = true;
		op->op = o >> 3;
		op->src = x86emu_get_reg(r, in->reg, op->size, rex);
		return in->has_mem;
	}
	return false;
}

static bool classify_two_byte(struct wop *op, const struct x86emu_insn *in,
			      const struct x86emu_regs *r)
{
	unsigned digit = (in->modrm >> 3) & 7;
	uint8_t o = in->opcode;

	op->size = in->opsize;
	switch (o) {
	case 0xb0: case 0xb1:
		op->kind = W_CMPXCHG;
		op->rmw = true;
		op->size = o == 0xb0 ? 1 : in->opsize;
		op->src = x86emu_get_reg(r, in->reg, op->size, in->rex != 0);
		return in->has_mem;
	case 0xc7:
		if (digit != 1)
			return false;
		op->kind = W_CMPXCHG8B;
		op->rmw = true;
		op->size = (in->rex & 8) ? 16 : 8;
		return in->has_mem;
	case 0xc3:
		if (in->opsize == 2)
			return false;   /* 66 0f c3 is undefined */
		op->kind = W_MOV;
		op->src = x86emu_get_reg(r, in->reg, op->size, true);
		return in->has_mem;
	case 0xab: case 0xb3: case 0xbb:
		if (!in->has_mem)
			return false;
		op->kind = W_BT;
		op->rmw = true;
		op->op = o == 0xab ? BT_S : o == 0xb3 ? BT_R : BT_C;
		bt_reg_offset(op, in, r);
		return true;
	case 0xba:
		if (digit < BT_S)
			return false;   /* BT itself never writes */
		op->kind = W_BT;
		op->rmw = true;
		op->op = digit;
		op->bit = (unsigned)(in->imm & (8 * op->size - 1));
		return in->has_mem;
	default:
		return false;
	}
}

/* Decoded instruction -> write description; false = not a supported
 * memory-writing instruction. */
static bool classify(struct wop *op, const struct x86emu_insn *in,
		     const struct x86emu_regs *r)
{
	bool ok;

	memset(op, 0, sizeof(*op));
	if (in->vex)
		return false;
	if (in->map == X86EMU_MAP_ONE)
		ok = classify_one_byte(op, in, r);
	else if (in->map == X86EMU_MAP_0F)
		ok = classify_two_byte(op, in, r);
	else
		ok = false;
	if (!ok)
		return false;
	/* LOCK on a non-RMW instruction is #UD and could not have caused
	 * this #PF; REP STOS is a bulk write we refuse to split. */
	if (in->lock && !op->rmw)
		return false;
	if (op->kind == W_STOS) {
		if (in->rep)
			return false;
		op->addr = in->addrsize == 4 ? (uint32_t)r->gpr[X86EMU_RDI]
					     : r->gpr[X86EMU_RDI];
	} else if (op->kind != W_BT || in->opcode == 0xba) {
		op->addr = x86emu_insn_ea(in, r);
	}
	op->src &= x86emu_size_mask(op->size);
	return true;
}

/*
 * Applies the instruction to the old operand value.  Register and flag
 * effects go to *nr; returns whether memory is written.
 */
static bool compute(const struct wop *op, const struct x86emu_insn *in,
		    struct x86emu_regs *nr, uint64_t old, uint64_t *val)
{
	uint64_t m = x86emu_size_mask(op->size);
	bool rex = in->rex != 0;
	uint64_t acc, bit;

	switch (op->kind) {
	case W_MOV:
		*val = op->src;
		return true;
	case W_STOS: {
		uint64_t rdi = nr->gpr[X86EMU_RDI];

		rdi = (nr->rflags & X86EMU_FLAG_DF) ? rdi - op->size
						    : rdi + op->size;
		nr->gpr[X86EMU_RDI] = in->addrsize == 4 ? (uint32_t)rdi : rdi;
		*val = op->src;
		return true;
	}
	case W_XCHG:
		x86emu_set_reg(nr, in->reg, op->size, rex, old);
		*val = op->src;
		return true;
	case W_CMPXCHG:
		acc = x86emu_get_reg(nr, X86EMU_RAX, op->size, rex);
		x86emu_alu(X86EMU_ALU_SUB, op->size, acc, old, &nr->rflags);
		if (acc == old) {
			*val = op->src;
			return true;
		}
		/* Failure loads the accumulator (EAX zero-extends). */
		x86emu_set_reg(nr, X86EMU_RAX, op->size, rex, old);
		return false;
	case W_ALU:
		*val = x86emu_alu(op->op, op->size, old, op->src, &nr->rflags);
		return true;
	case W_BT:
		bit = 1ULL << op->bit;
		nr->rflags &= ~X86EMU_FLAG_CF;
		if (old & bit)
			nr->rflags |= X86EMU_FLAG_CF;
		*val = op->op == BT_S ? (old | bit) :
		       op->op == BT_R ? (old & ~bit) : (old ^ bit);
		*val &= m;
		return true;
	default:
		return false;
	}
}

/* Maps commit()'s answer: COMMIT_RETRY loops, anything odd refuses. */
static enum x86emu_status commit_status(int rc)
{
	if (rc == X86EMU_COMMIT_OK)
		return X86EMU_DONE;
	if (rc == X86EMU_COMMIT_RETRY)
		return X86EMU_RETRY;
	return X86EMU_UNHANDLED;
}

static enum x86emu_status read_entry(const struct x86emu_ops *ops, void *ctx,
				     uint64_t addr, unsigned n, uint64_t v[2],
				     struct x86emu_outcome *out)
{
	uint8_t b[16];

	if (ops->read(ctx, addr, b, n) < 0) {
		x86emu_raise_pf(out, addr, 0);
		return X86EMU_EXCEPTION;
	}
	v[0] = x86emu_get_le(b, 8);
	v[1] = n > 8 ? x86emu_get_le(b + 8, 8) : 0;
	return X86EMU_DONE;
}

/* One attempt on an access of <= 8 bytes inside one 8-byte entry. */
static enum x86emu_status write_entry_once(struct x86emu_regs *regs,
					   const struct x86emu_ops *ops,
					   void *ctx, const struct wop *op,
					   struct x86emu_outcome *out)
{
	unsigned shift = 8 * (unsigned)(op->addr & 7);
	uint64_t m = x86emu_size_mask(op->size);
	struct x86emu_regs nr = *regs;
	struct x86emu_write w = {
		.addr = op->addr, .size = op->size,
		.entry_addr = op->addr & ~7ULL, .entry_size = 8,
		/* A partial store merges with old: only valid if old holds. */
		.atomic = op->rmw || op->size < 8,
	};
	enum x86emu_status st;
	uint64_t val = 0;

	st = read_entry(ops, ctx, w.entry_addr, 8, w.old, out);
	if (st != X86EMU_DONE)
		return st;
	if (compute(op, &out->insn, &nr, (w.old[0] >> shift) & m, &val)) {
		w.new_[0] = (w.old[0] & ~(m << shift)) | ((val & m) << shift);
		st = commit_status(ops->commit(ctx, &w));
		if (st != X86EMU_DONE)
			return st;
	}
	*regs = nr;
	regs->rip = out->next_rip;
	return X86EMU_DONE;
}

/* CMPXCHG8B (one entry) and CMPXCHG16B (two). */
static enum x86emu_status cmpxchg8b_once(struct x86emu_regs *regs,
					 const struct x86emu_ops *ops,
					 void *ctx, const struct wop *op,
					 struct x86emu_outcome *out)
{
	struct x86emu_regs nr = *regs;
	struct x86emu_write w = {
		.addr = op->addr, .size = op->size,
		.entry_addr = op->addr, .entry_size = op->size, .atomic = true,
	};
	uint64_t *g = nr.gpr;
	uint64_t exp[2], rep[2];
	enum x86emu_status st;

	if (op->size == 8) {
		exp[0] = ((uint64_t)(uint32_t)g[X86EMU_RDX] << 32) |
			 (uint32_t)g[X86EMU_RAX];
		rep[0] = ((uint64_t)(uint32_t)g[X86EMU_RCX] << 32) |
			 (uint32_t)g[X86EMU_RBX];
		exp[1] = rep[1] = 0;
	} else {
		exp[0] = g[X86EMU_RAX];
		exp[1] = g[X86EMU_RDX];
		rep[0] = g[X86EMU_RBX];
		rep[1] = g[X86EMU_RCX];
	}
	st = read_entry(ops, ctx, w.entry_addr, op->size, w.old, out);
	if (st != X86EMU_DONE)
		return st;
	if (w.old[0] == exp[0] && w.old[1] == exp[1]) {
		w.new_[0] = rep[0];
		w.new_[1] = rep[1];
		st = commit_status(ops->commit(ctx, &w));
		if (st != X86EMU_DONE)
			return st;
		nr.rflags |= X86EMU_FLAG_ZF;
	} else {
		nr.rflags &= ~X86EMU_FLAG_ZF;
		if (op->size == 8) {
			g[X86EMU_RAX] = (uint32_t)w.old[0];
			g[X86EMU_RDX] = w.old[0] >> 32;
		} else {
			g[X86EMU_RAX] = w.old[0];
			g[X86EMU_RDX] = w.old[1];
		}
	}
	*regs = nr;
	regs->rip = out->next_rip;
	return X86EMU_DONE;
}

/* The write must lie inside the entry that faulted, and not straddle. */
static bool access_ok(const struct wop *op, uint64_t fault_addr)
{
	uint64_t esz = op->size == 16 ? 16 : 8;
	uint64_t entry = op->addr & ~(esz - 1);

	if (op->size > esz || (op->addr - entry) + op->size > esz)
		return false;
	return fault_addr - entry < esz;
}

enum x86emu_status x86emu_emulate_write(struct x86emu_regs *regs,
					const struct x86emu_ops *ops, void *ctx,
					uint64_t fault_addr,
					struct x86emu_outcome *out)
{
	uint8_t buf[X86EMU_MAX_INSN_LEN];
	enum x86emu_status st;
	size_t got = 0;
	struct wop op;

	memset(out, 0, sizeof(*out));
	if (!ops->read || !ops->commit)
		return X86EMU_UNHANDLED;
	st = x86emu_fetch_insn(regs, ops, ctx, buf, &got, out);
	if (st != X86EMU_DONE) {
		/* Only a vanished code page is worth reporting; a decode
		 * failure means this was not an emulatable store. */
		if (out->fetch_fault)
			return st;
		memset(out, 0, sizeof(*out));
		return X86EMU_UNHANDLED;
	}
	if (!classify(&op, &out->insn, regs))
		return X86EMU_UNHANDLED;
	if (op.kind == W_CMPXCHG8B && op.size == 16 && (op.addr & 15)) {
		x86emu_raise(out, X86EMU_VEC_GP, true, 0);
		return X86EMU_EXCEPTION;
	}
	if (!access_ok(&op, fault_addr))
		return X86EMU_UNHANDLED;

	for (unsigned i = 0; i < WRITE_MAX_TRIES; i++) {
		if (op.kind == W_CMPXCHG8B)
			st = cmpxchg8b_once(regs, ops, ctx, &op, out);
		else
			st = write_entry_once(regs, ops, ctx, &op, out);
		if (st != X86EMU_RETRY)
			return st;
	}
	return X86EMU_RETRY;
}
