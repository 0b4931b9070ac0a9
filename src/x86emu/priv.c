/*
 * Privileged-instruction emulation for a PV guest kernel at CPL3: the
 * instruction at RIP raised #GP (or #UD for the Xen forced-emulation
 * prefix) and we perform it against the virtual CPU through callbacks.
 *
 * Registers are only written once the instruction has succeeded, so any
 * EXCEPTION/UNHANDLED result leaves the guest state as the fault found it
 * (REP INS/OUTS excepted: like hardware, they keep completed iterations).
 */
#include <string.h>

#include "x86emu/x86emu.h"
#include "x86emu/internal.h"

/* ud2; .ascii "xen"; cpuid — Linux's xen_cpuid() (XEN_EMULATE_PREFIX). */
static const uint8_t xen_forced_cpuid[7] = {
	0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2
};

#define R(r, n) ((r)->gpr[X86EMU_##n])

/* Maps a callback's X86EMU_CB_* result onto an emulation status. */
static enum x86emu_status cb_status(int rc, struct x86emu_outcome *out)
{
	switch (rc) {
	case X86EMU_CB_OK:
		return X86EMU_DONE;
	case X86EMU_CB_GP:
		x86emu_raise(out, X86EMU_VEC_GP, true, 0);
		return X86EMU_EXCEPTION;
	case X86EMU_CB_UD:
		x86emu_raise(out, X86EMU_VEC_UD, false, 0);
		return X86EMU_EXCEPTION;
	default:
		return X86EMU_UNHANDLED;
	}
}

/* Finishes a successful instruction: RIP moves past it. */
static enum x86emu_status done(struct x86emu_regs *r,
			       const struct x86emu_outcome *out)
{
	r->rip = out->next_rip;
	return X86EMU_DONE;
}

static enum x86emu_status event(struct x86emu_outcome *out,
				enum x86emu_event ev, uint8_t vec)
{
	out->event = ev;
	out->int_vector = vec;
	return X86EMU_EVENT;
}

static enum x86emu_status emu_cpuid(struct x86emu_regs *r,
				    const struct x86emu_ops *ops, void *ctx,
				    struct x86emu_outcome *out)
{
	uint32_t v[4] = { 0, 0, 0, 0 };
	enum x86emu_status st;

	if (!ops->cpuid)
		return X86EMU_UNHANDLED;
	st = cb_status(ops->cpuid(ctx, (uint32_t)R(r, RAX), (uint32_t)R(r, RCX),
				  v), out);
	if (st != X86EMU_DONE)
		return st;
	R(r, RAX) = v[0];
	R(r, RBX) = v[1];
	R(r, RCX) = v[2];
	R(r, RDX) = v[3];
	return done(r, out);
}

/* Stores a 64-bit result the way RDMSR/RDPMC/RDTSC do: EDX:EAX. */
static void set_edx_eax(struct x86emu_regs *r, uint64_t v)
{
	R(r, RAX) = (uint32_t)v;
	R(r, RDX) = v >> 32;
}

static uint64_t get_edx_eax(const struct x86emu_regs *r)
{
	return ((uint64_t)(uint32_t)R(r, RDX) << 32) | (uint32_t)R(r, RAX);
}

static enum x86emu_status emu_msr(struct x86emu_regs *r,
				  const struct x86emu_ops *ops, void *ctx,
				  struct x86emu_outcome *out, bool write)
{
	uint32_t msr = (uint32_t)R(r, RCX);
	enum x86emu_status st;
	uint64_t v = 0;

	if (write) {
		if (!ops->write_msr)
			return X86EMU_UNHANDLED;
		st = cb_status(ops->write_msr(ctx, msr, get_edx_eax(r)), out);
	} else {
		if (!ops->read_msr)
			return X86EMU_UNHANDLED;
		st = cb_status(ops->read_msr(ctx, msr, &v), out);
		if (st == X86EMU_DONE)
			set_edx_eax(r, v);
	}
	return st == X86EMU_DONE ? done(r, out) : st;
}

/* MOV to/from CRn: reg field = CR (REX.R gives CR8), rm = GPR. */
static enum x86emu_status emu_mov_cr(struct x86emu_regs *r,
				     const struct x86emu_ops *ops, void *ctx,
				     struct x86emu_outcome *out, bool write)
{
	const struct x86emu_insn *in = &out->insn;
	unsigned cr = in->reg;
	enum x86emu_status st;
	uint64_t v = 0;

	if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8) {
		x86emu_raise(out, X86EMU_VEC_UD, false, 0);
		return X86EMU_EXCEPTION;
	}
	if (write) {
		if (!ops->write_cr)
			return X86EMU_UNHANDLED;
		st = cb_status(ops->write_cr(ctx, cr, r->gpr[in->rm]), out);
	} else {
		if (!ops->read_cr)
			return X86EMU_UNHANDLED;
		st = cb_status(ops->read_cr(ctx, cr, &v), out);
		if (st == X86EMU_DONE)
			r->gpr[in->rm] = v;
	}
	return st == X86EMU_DONE ? done(r, out) : st;
}

static enum x86emu_status emu_mov_dr(struct x86emu_regs *r,
				     const struct x86emu_ops *ops, void *ctx,
				     struct x86emu_outcome *out, bool write)
{
	const struct x86emu_insn *in = &out->insn;
	unsigned dr = in->reg;
	enum x86emu_status st;
	uint64_t v = 0;

	if (dr > 7) {   /* DR8-15 do not exist; DR4/5 are the callback's call */
		x86emu_raise(out, X86EMU_VEC_UD, false, 0);
		return X86EMU_EXCEPTION;
	}
	if (write) {
		if (!ops->write_dr)
			return X86EMU_UNHANDLED;
		st = cb_status(ops->write_dr(ctx, dr, r->gpr[in->rm]), out);
	} else {
		if (!ops->read_dr)
			return X86EMU_UNHANDLED;
		st = cb_status(ops->read_dr(ctx, dr, &v), out);
		if (st == X86EMU_DONE)
			r->gpr[in->rm] = v;
	}
	return st == X86EMU_DONE ? done(r, out) : st;
}

/* CLTS and LMSW are read-modify-writes of CR0. */
static enum x86emu_status update_cr0(struct x86emu_regs *r,
				     const struct x86emu_ops *ops, void *ctx,
				     struct x86emu_outcome *out,
				     uint64_t clear, uint64_t set)
{
	enum x86emu_status st;
	uint64_t cr0 = 0;

	if (!ops->read_cr || !ops->write_cr)
		return X86EMU_UNHANDLED;
	st = cb_status(ops->read_cr(ctx, 0, &cr0), out);
	if (st != X86EMU_DONE)
		return st;
	st = cb_status(ops->write_cr(ctx, 0, (cr0 & ~clear) | set), out);
	return st == X86EMU_DONE ? done(r, out) : st;
}

/* LMSW: loads CR0.PE/MP/EM/TS from a 16-bit operand; cannot clear PE. */
static enum x86emu_status emu_lmsw(struct x86emu_regs *r,
				   const struct x86emu_ops *ops, void *ctx,
				   struct x86emu_outcome *out)
{
	const struct x86emu_insn *in = &out->insn;
	uint64_t src;

	if (in->has_mem) {
		uint64_t ea = x86emu_insn_ea(in, r);
		uint8_t b[2];

		if (!ops->read)
			return X86EMU_UNHANDLED;
		if (ops->read(ctx, ea, b, 2) < 0) {
			x86emu_raise_pf(out, ea, 0);
			return X86EMU_EXCEPTION;
		}
		src = x86emu_get_le(b, 2);
	} else {
		src = r->gpr[in->rm];
	}
	return update_cr0(r, ops, ctx, out, 0xe, src & 0xf);
}

static enum x86emu_status emu_0f01(struct x86emu_regs *r,
				   const struct x86emu_ops *ops, void *ctx,
				   struct x86emu_outcome *out)
{
	const struct x86emu_insn *in = &out->insn;
	enum x86emu_status st;
	uint64_t tsc = 0;
	uint32_t aux = 0;

	if (((in->modrm >> 3) & 7) == 6)
		return emu_lmsw(r, ops, ctx, out);
	switch (in->modrm) {
	case 0xd1:      /* XSETBV */
		if (!ops->xsetbv)
			return X86EMU_UNHANDLED;
		st = cb_status(ops->xsetbv(ctx, (uint32_t)R(r, RCX),
					   get_edx_eax(r)), out);
		return st == X86EMU_DONE ? done(r, out) : st;
	case 0xf8:      /* SWAPGS: the caller owns the GS bases */
		return event(out, X86EMU_EV_SWAPGS, 0);
	case 0xf9:      /* RDTSCP (only traps with CR4.TSD) */
		if (!ops->rdtsc)
			return X86EMU_UNHANDLED;
		st = cb_status(ops->rdtsc(ctx, &tsc, &aux), out);
		if (st != X86EMU_DONE)
			return st;
		set_edx_eax(r, tsc);
		R(r, RCX) = aux;
		return done(r, out);
	default:
		return X86EMU_UNHANDLED;
	}
}

static enum x86emu_status emu_rdtsc(struct x86emu_regs *r,
				    const struct x86emu_ops *ops, void *ctx,
				    struct x86emu_outcome *out)
{
	enum x86emu_status st;
	uint64_t tsc = 0;
	uint32_t aux = 0;

	if (!ops->rdtsc)
		return X86EMU_UNHANDLED;
	st = cb_status(ops->rdtsc(ctx, &tsc, &aux), out);
	if (st != X86EMU_DONE)
		return st;
	set_edx_eax(r, tsc);
	return done(r, out);
}

static enum x86emu_status emu_rdpmc(struct x86emu_regs *r,
				    const struct x86emu_ops *ops, void *ctx,
				    struct x86emu_outcome *out)
{
	enum x86emu_status st;
	uint64_t v = 0;

	if (!ops->rdpmc)
		return X86EMU_UNHANDLED;
	st = cb_status(ops->rdpmc(ctx, (uint32_t)R(r, RCX), &v), out);
	if (st != X86EMU_DONE)
		return st;
	set_edx_eax(r, v);
	return done(r, out);
}

static enum x86emu_status emu_wbinvd(struct x86emu_regs *r,
				     const struct x86emu_ops *ops, void *ctx,
				     struct x86emu_outcome *out)
{
	enum x86emu_status st;

	/* INVD would discard dirty lines: WBINVD is the safe superset. */
	if (!ops->wbinvd)
		return X86EMU_UNHANDLED;
	st = cb_status(ops->wbinvd(ctx), out);
	return st == X86EMU_DONE ? done(r, out) : st;
}

/* I/O size: byte opcodes are even; otherwise 16 with 66h, else 32. */
static unsigned io_size(const struct x86emu_insn *in)
{
	if (!(in->opcode & 1))
		return 1;
	return in->opsize_prefix ? 2 : 4;
}

/* IN/OUT with imm8 port (e4-e7) or DX port (ec-ef). */
static enum x86emu_status emu_in_out(struct x86emu_regs *r,
				     const struct x86emu_ops *ops, void *ctx,
				     struct x86emu_outcome *out)
{
	const struct x86emu_insn *in = &out->insn;
	unsigned size = io_size(in);
	bool is_out = (in->opcode & 2) != 0;
	uint16_t port = in->opcode >= 0xec ? (uint16_t)R(r, RDX)
					   : (uint16_t)in->imm;
	enum x86emu_status st;
	uint32_t v = 0;

	if (is_out) {
		if (!ops->port_out)
			return X86EMU_UNHANDLED;
		v = (uint32_t)(R(r, RAX) & x86emu_size_mask(size));
		st = cb_status(ops->port_out(ctx, port, size, v), out);
	} else {
		if (!ops->port_in)
			return X86EMU_UNHANDLED;
		st = cb_status(ops->port_in(ctx, port, size, &v), out);
		if (st == X86EMU_DONE)
			x86emu_set_gpr(r, X86EMU_RAX, size, v);
	}
	return st == X86EMU_DONE ? done(r, out) : st;
}

/* Writes an address-size register (RSI/RDI/RCX under 67h zero-extend). */
static void set_areg(struct x86emu_regs *r, unsigned n, unsigned asz,
		     uint64_t v)
{
	r->gpr[n] = asz == 4 ? (uint32_t)v : v;
}

/* One INS or OUTS iteration; registers advance only if it completed. */
static enum x86emu_status string_io_once(struct x86emu_regs *r,
					 const struct x86emu_ops *ops,
					 void *ctx, struct x86emu_outcome *out,
					 unsigned size, bool is_out)
{
	const struct x86emu_insn *in = &out->insn;
	uint64_t amask = in->addrsize == 4 ? 0xffffffffULL : ~0ULL;
	uint16_t port = (uint16_t)R(r, RDX);
	unsigned idx = is_out ? X86EMU_RSI : X86EMU_RDI;
	uint64_t addr = r->gpr[idx] & amask;
	enum x86emu_status st;
	uint8_t buf[4];
	uint32_t v = 0;

	if (is_out) {
		/* OUTS reads DS:RSI (overridable); INS writes ES:RDI. */
		addr += x86emu_seg_base(in, r);
		if (ops->read(ctx, addr, buf, size) < 0) {
			x86emu_raise_pf(out, addr, 0);
			return X86EMU_EXCEPTION;
		}
		st = cb_status(ops->port_out(ctx, port, size,
					     (uint32_t)x86emu_get_le(buf, size)),
			       out);
		if (st != X86EMU_DONE)
			return st;
	} else {
		st = cb_status(ops->port_in(ctx, port, size, &v), out);
		if (st != X86EMU_DONE)
			return st;
		/* The port read already happened if this faults; hardware
		 * has the same side effect ordering. */
		x86emu_put_le(buf, v, size);
		if (ops->write(ctx, addr, buf, size) < 0) {
			x86emu_raise_pf(out, addr, X86EMU_PFEC_WRITE);
			return X86EMU_EXCEPTION;
		}
	}
	if (r->rflags & X86EMU_FLAG_DF)
		set_areg(r, idx, in->addrsize, r->gpr[idx] - size);
	else
		set_areg(r, idx, in->addrsize, r->gpr[idx] + size);
	return X86EMU_DONE;
}

/*
 * INS/OUTS, optionally REP (f2 and f3 both repeat).  At most
 * X86EMU_REP_MAX iterations per call so a guest cannot pin the host:
 * RETRY with RIP unchanged re-executes the rest.
 */
static enum x86emu_status emu_string_io(struct x86emu_regs *r,
					const struct x86emu_ops *ops,
					void *ctx, struct x86emu_outcome *out)
{
	const struct x86emu_insn *in = &out->insn;
	uint64_t amask = in->addrsize == 4 ? 0xffffffffULL : ~0ULL;
	bool is_out = (in->opcode & 2) != 0;
	unsigned size = io_size(in);
	uint64_t count = in->rep ? (R(r, RCX) & amask) : 1;
	enum x86emu_status st;

	if (!ops->read || !ops->write || !ops->port_in || !ops->port_out)
		return X86EMU_UNHANDLED;
	for (unsigned i = 0; count && i < X86EMU_REP_MAX; i++) {
		st = string_io_once(r, ops, ctx, out, size, is_out);
		if (st != X86EMU_DONE)
			return st;
		count--;
		if (in->rep)
			set_areg(r, X86EMU_RCX, in->addrsize, count);
	}
	if (count)
		return X86EMU_RETRY;
	return done(r, out);
}

static enum x86emu_status emu_one_byte(struct x86emu_regs *r,
				       const struct x86emu_ops *ops, void *ctx,
				       struct x86emu_outcome *out)
{
	const struct x86emu_insn *in = &out->insn;

	switch (in->opcode) {
	case 0xe4: case 0xe5: case 0xe6: case 0xe7:
	case 0xec: case 0xed: case 0xee: case 0xef:
		return emu_in_out(r, ops, ctx, out);
	case 0x6c: case 0x6d: case 0x6e: case 0x6f:
		return emu_string_io(r, ops, ctx, out);
	case 0xf4: return event(out, X86EMU_EV_HLT, 0);
	case 0xfa: return event(out, X86EMU_EV_CLI, 0);
	case 0xfb: return event(out, X86EMU_EV_STI, 0);
	case 0xcc: return event(out, X86EMU_EV_INT3, 3);
	case 0xcd: return event(out, X86EMU_EV_INTN, (uint8_t)in->imm);
	/* INTO (ce) is #UD in 64-bit mode: the decoder rejects it. */
	default: return X86EMU_UNHANDLED;
	}
}

static enum x86emu_status emu_two_byte(struct x86emu_regs *r,
				       const struct x86emu_ops *ops, void *ctx,
				       struct x86emu_outcome *out)
{
	switch (out->insn.opcode) {
	case 0x01: return emu_0f01(r, ops, ctx, out);
	case 0x06: return update_cr0(r, ops, ctx, out, 1u << 3, 0); /* CLTS */
	case 0x08: case 0x09: return emu_wbinvd(r, ops, ctx, out);
	case 0x20: return emu_mov_cr(r, ops, ctx, out, false);
	case 0x21: return emu_mov_dr(r, ops, ctx, out, false);
	case 0x22: return emu_mov_cr(r, ops, ctx, out, true);
	case 0x23: return emu_mov_dr(r, ops, ctx, out, true);
	case 0x30: return emu_msr(r, ops, ctx, out, true);
	case 0x31: return emu_rdtsc(r, ops, ctx, out);
	case 0x32: return emu_msr(r, ops, ctx, out, false);
	case 0x33: return emu_rdpmc(r, ops, ctx, out);
	case 0xa2: return emu_cpuid(r, ops, ctx, out);
	default: return X86EMU_UNHANDLED;
	}
}

/* Emulates the instruction decoded from buf[0..got) (out->insn). */
static enum x86emu_status emulate_decoded(struct x86emu_regs *regs,
					  const struct x86emu_ops *ops, void *ctx,
					  const uint8_t *buf, size_t got,
					  struct x86emu_outcome *out)
{

	/* ud2 + "xen" + cpuid: only this exact sequence (like Xen). */
	if (out->insn.map == X86EMU_MAP_0F && out->insn.opcode == 0x0b &&
	    out->insn.len == 2) {
		/* Like Xen: an unreadable signature means a plain ud2 that
		 * happens to end a page, i.e. the guest's own #UD. */
		if (got < sizeof(xen_forced_cpuid))
			return X86EMU_UNHANDLED;
		if (memcmp(buf, xen_forced_cpuid, sizeof(xen_forced_cpuid)))
			return X86EMU_UNHANDLED;
		out->next_rip = regs->rip + sizeof(xen_forced_cpuid);
		return emu_cpuid(regs, ops, ctx, out);
	}

	/* LOCK on any of these is #UD in hardware: that fault is the
	 * guest's to see. */
	if (out->insn.lock || out->insn.vex)
		return X86EMU_UNHANDLED;
	if (out->insn.map == X86EMU_MAP_ONE)
		return emu_one_byte(regs, ops, ctx, out);
	if (out->insn.map == X86EMU_MAP_0F)
		return emu_two_byte(regs, ops, ctx, out);
	return X86EMU_UNHANDLED;
}

/* A fetch or decode failure: an undefined opcode already raised #UD in
 * hardware, so that is the guest's own fault to see. */
static enum x86emu_status decode_failed(enum x86emu_status st,
					const struct x86emu_outcome *out)
{
	if (out->vector == X86EMU_VEC_UD && !out->fetch_fault)
		return X86EMU_UNHANDLED;
	return st;
}

enum x86emu_status x86emu_emulate_priv(struct x86emu_regs *regs,
				       const struct x86emu_ops *ops, void *ctx,
				       struct x86emu_outcome *out)
{
	uint8_t buf[X86EMU_MAX_INSN_LEN];
	size_t got = 0;
	enum x86emu_status st;

	memset(out, 0, sizeof(*out));
	st = x86emu_fetch_insn(regs, ops, ctx, buf, &got, out);
	if (st != X86EMU_DONE)
		return decode_failed(st, out);
	return emulate_decoded(regs, ops, ctx, buf, got, out);
}

enum x86emu_status x86emu_emulate_priv_bytes(struct x86emu_regs *regs,
					     const struct x86emu_ops *ops,
					     void *ctx, const uint8_t *bytes,
					     size_t len, struct x86emu_outcome *out)
{
	uint8_t buf[X86EMU_MAX_INSN_LEN];
	size_t got = len < sizeof(buf) ? len : sizeof(buf);
	enum x86emu_status st;

	memset(out, 0, sizeof(*out));
	memset(buf, 0, sizeof(buf));
	memcpy(buf, bytes, got);
	st = x86emu_decode_insn(regs, buf, got, out);
	if (st != X86EMU_DONE)
		return decode_failed(st, out);
	return emulate_decoded(regs, ops, ctx, buf, got, out);
}
