/*
 * x86-64 (64-bit mode only) instruction length decoder: legacy prefixes,
 * REX, VEX/EVEX, opcode maps, ModRM/SIB/displacement, immediates.
 *
 * The decoder is the one place that touches guest instruction bytes, so it
 * is written defensively: every byte goes through dec_byte(), which stops
 * at the caller's buffer end and at the architectural 15-byte limit.
 */
#include <string.h>

#include "x86emu/x86emu.h"
#include "x86emu/internal.h"

/*
 * Opcode properties.  Low bits: flags; high nibble: immediate kind.
 * Tables are per opcode map, 16 entries a row.
 */
#define M   0x01        /* has ModRM */
#define X   0x02        /* undefined in 64-bit mode (#UD) */
#define P   0x04        /* prefix: consumed by the prefix loop */
#define S   0x08        /* escape handled specially (0f, VEX, EVEX) */
#define IB  0x10        /* imm8 */
#define IW  0x20        /* imm16 */
#define IZ  0x30        /* imm16 with 66h, else imm32 */
#define IV  0x40        /* imm16/32/64 by operand size (mov r, imm) */
#define IE  0x50        /* ENTER: imm16 + imm8 */
#define IO  0x60        /* moffs: address-size offset */
#define ID  0x70        /* rel32 (66h ignored in 64-bit mode, Intel) */
#define IG  0x80        /* group 3 (f6/f7): imm only for /0 and /1 */
#define IMM_KIND(f) ((f) & 0xf0)

static const uint8_t one_byte[256] = {
/*        0     1     2     3     4     5     6     7     8     9     a     b     c     d     e     f */
/* 0 */   M,    M,    M,    M,    IB,   IZ,   X,    X,    M,    M,    M,    M,    IB,   IZ,   X,    S,
/* 1 */   M,    M,    M,    M,    IB,   IZ,   X,    X,    M,    M,    M,    M,    IB,   IZ,   X,    X,
/* 2 */   M,    M,    M,    M,    IB,   IZ,   P,    X,    M,    M,    M,    M,    IB,   IZ,   P,    X,
/* 3 */   M,    M,    M,    M,    IB,   IZ,   P,    X,    M,    M,    M,    M,    IB,   IZ,   P,    X,
/* 4 */   P,    P,    P,    P,    P,    P,    P,    P,    P,    P,    P,    P,    P,    P,    P,    P,
/* 5 */   0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
/* 6 */   X,    X,    S,    M,    P,    P,    P,    P,    IZ,   M|IZ, IB,   M|IB, 0,    0,    0,    0,
/* 7 */   IB,   IB,   IB,   IB,   IB,   IB,   IB,   IB,   IB,   IB,   IB,   IB,   IB,   IB,   IB,   IB,
/* 8 */   M|IB, M|IZ, X,    M|IB, M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
/* 9 */   0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    X,    0,    0,    0,    0,    0,
/* a */   IO,   IO,   IO,   IO,   0,    0,    0,    0,    IB,   IZ,   0,    0,    0,    0,    0,    0,
/* b */   IB,   IB,   IB,   IB,   IB,   IB,   IB,   IB,   IV,   IV,   IV,   IV,   IV,   IV,   IV,   IV,
/* c */   M|IB, M|IB, IW,   0,    S,    S,    M|IB, M|IZ, IE,   0,    IW,   0,    0,    IB,   X,    0,
/* d */   M,    M,    M,    M,    X,    X,    X,    0,    M,    M,    M,    M,    M,    M,    M,    M,
/* e */   IB,   IB,   IB,   IB,   IB,   IB,   IB,   IB,   ID,   ID,   X,    IB,   0,    0,    0,    0,
/* f */   P,    0,    P,    P,    0,    0,    M|IG, M|IG, 0,    0,    0,    0,    0,    0,    M,    M,
};

static const uint8_t two_byte[256] = {
/*        0     1     2     3     4     5     6     7     8     9     a     b     c     d     e     f */
/* 0 */   M,    M,    M,    M,    X,    0,    0,    0,    0,    0,    X,    0,    X,    M,    0,    M|IB,
/* 1 */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
/* 2 */   M,    M,    M,    M,    X,    X,    X,    X,    M,    M,    M,    M,    M,    M,    M,    M,
/* 3 */   0,    0,    0,    0,    0,    0,    X,    0,    S,    X,    S,    X,    X,    X,    X,    X,
/* 4 */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
/* 5 */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
/* 6 */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
/* 7 */   M|IB, M|IB, M|IB, M|IB, M,    M,    M,    0,    M,    M,    X,    X,    M,    M,    M,    M,
/* 8 */   ID,   ID,   ID,   ID,   ID,   ID,   ID,   ID,   ID,   ID,   ID,   ID,   ID,   ID,   ID,   ID,
/* 9 */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
/* a */   0,    0,    0,    M,    M|IB, M,    X,    X,    0,    0,    0,    M,    M|IB, M,    M,    M,
/* b */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M|IB, M,    M,    M,    M,    M,
/* c */   M,    M,    M|IB, M,    M|IB, M|IB, M|IB, M,    0,    0,    0,    0,    0,    0,    0,    0,
/* d */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
/* e */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
/* f */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
};

/* Decoder cursor over the caller's bytes. */
struct dec {
	const uint8_t *buf;
	size_t avail;
	unsigned pos;
	struct x86emu_insn *insn;
};

static int dec_byte(struct dec *d, uint8_t *b)
{
	/* The 15-byte limit is checked first: hardware raises #GP for an
	 * over-long instruction even if the 16th byte is not mapped. */
	if (d->pos >= X86EMU_MAX_INSN_LEN)
		return X86EMU_DEC_TOO_LONG;
	if (d->pos >= d->avail)
		return X86EMU_DEC_TRUNCATED;
	*b = d->buf[d->pos];
	d->insn->bytes[d->pos] = *b;
	d->pos++;
	return 0;
}

/* Little-endian value of n (<= 8) bytes, zero-extended. */
static int dec_le(struct dec *d, unsigned n, uint64_t *val)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++) {
		uint8_t b;
		int rc = dec_byte(d, &b);

		if (rc)
			return rc;
		v |= (uint64_t)b << (8 * i);
	}
	*val = v;
	return 0;
}

static int dec_prefixes(struct dec *d)
{
	struct x86emu_insn *in = d->insn;

	for (;;) {
		uint8_t b;
		int rc = dec_byte(d, &b);

		if (rc)
			return rc;
		if (b >= 0x40 && b <= 0x4f) {
			/* Only the REX right before the opcode counts. */
			in->rex = b;
			in->nr_prefixes++;
			continue;
		}
		switch (b) {
		case 0xf0: in->lock = true; break;
		case 0xf2: case 0xf3: in->rep = b; break;
		case 0x66: in->opsize_prefix = true; break;
		case 0x67: in->addrsize_prefix = true; break;
		case 0x64: in->seg = X86EMU_SEG_FS; break;
		case 0x65: in->seg = X86EMU_SEG_GS; break;
		/* CS/DS/ES/SS overrides are architectural no-ops in 64-bit
		 * mode; like Xen, they do not cancel an FS/GS override. */
		case 0x26: case 0x2e: case 0x36: case 0x3e: break;
		default:
			d->pos--;       /* not a prefix: the opcode */
			return 0;
		}
		/* A legacy prefix after REX makes the REX ignored. */
		in->rex = 0;
		in->nr_prefixes++;
	}
}

/*
 * VEX (c4/c5) and EVEX (62): always valid in 64-bit mode.  Only their
 * length matters to kxen (none is emulated); register extension bits are
 * recorded as a REX equivalent so ModRM decoding stays uniform.
 */
static int dec_vex(struct dec *d, uint8_t esc, uint8_t *props)
{
	struct x86emu_insn *in = d->insn;
	uint8_t p0, p1 = 0, p2;
	unsigned map;
	int rc;

	/* 66/f2/f3/REX before VEX are #UD; LOCK too. */
	if (in->rex || in->rep || in->opsize_prefix || in->lock)
		return X86EMU_DEC_INVALID;
	in->vex = esc;
	if ((rc = dec_byte(d, &p0)))
		return rc;
	if (esc == 0xc5) {
		map = 1;
		in->rex = 0x40 | ((p0 & 0x80) ? 0 : 4);
	} else {
		if ((rc = dec_byte(d, &p1)))
			return rc;
		map = esc == 0x62 ? (p0 & 7u) : (p0 & 0x1fu);
		in->rex = 0x40 | ((~p0 >> 5) & 7) | ((p1 & 0x80) ? 8 : 0);
		if (esc == 0x62) {
			if ((rc = dec_byte(d, &p2)))
				return rc;
			if (!(p1 & 0x04))    /* EVEX P1 bit 2 is fixed 1 */
				return X86EMU_DEC_INVALID;
		}
	}
	/* EVEX maps 5 and 6 (AVX512-FP16) have no immediate, like map 2. */
	if (map < 1 || (map > 3 && !(esc == 0x62 && (map == 5 || map == 6))))
		return X86EMU_DEC_INVALID;
	in->map = map <= 3 ? (enum x86emu_map)map : X86EMU_MAP_0F38;
	if (map > 3)
		map = 2;
	if ((rc = dec_byte(d, &in->opcode)))
		return rc;
	if (map == 1) {
		/* Map 1 follows the legacy 0f table (vzeroupper: no ModRM). */
		*props = two_byte[in->opcode] & (M | 0xf0);
		if (esc == 0x62)
			*props |= M;
	} else {
		*props = M | (map == 3 ? IB : 0);
	}
	return 0;
}

static int dec_opcode(struct dec *d, uint8_t *props)
{
	struct x86emu_insn *in = d->insn;
	uint8_t b;
	int rc;

	if ((rc = dec_byte(d, &b)))
		return rc;
	in->map = X86EMU_MAP_ONE;
	in->opcode = b;
	*props = one_byte[b];
	if (b == 0xc4 || b == 0xc5 || b == 0x62)
		return dec_vex(d, b, props);
	if (b != 0x0f)
		return 0;
	if ((rc = dec_byte(d, &b)))
		return rc;
	in->map = X86EMU_MAP_0F;
	in->opcode = b;
	*props = two_byte[b];
	if (b == 0x38 || b == 0x3a) {
		in->map = b == 0x38 ? X86EMU_MAP_0F38 : X86EMU_MAP_0F3A;
		if ((rc = dec_byte(d, &in->opcode)))
			return rc;
		*props = M | (b == 0x3a ? IB : 0);
	}
	return 0;
}

/* MOV to/from CR/DR ignore ModRM.mod: always a register operand. */
static bool modrm_is_always_reg(const struct x86emu_insn *in)
{
	return in->map == X86EMU_MAP_0F && !in->vex &&
	       in->opcode >= 0x20 && in->opcode <= 0x23;
}

static int dec_modrm(struct dec *d)
{
	struct x86emu_insn *in = d->insn;
	unsigned rex_r = (in->rex >> 2) & 1, rex_x = (in->rex >> 1) & 1;
	unsigned rex_b = in->rex & 1;
	uint64_t disp;
	int rc;

	if ((rc = dec_byte(d, &in->modrm)))
		return rc;
	in->has_modrm = true;
	in->mod = in->modrm >> 6;
	in->reg = (uint8_t)(((in->modrm >> 3) & 7) | (rex_r << 3));
	in->rm = (uint8_t)((in->modrm & 7) | (rex_b << 3));
	if (in->mod == 3 || modrm_is_always_reg(in))
		return 0;

	in->has_mem = true;
	in->index = X86EMU_REG_NONE;
	in->scale = 1;
	in->disp_size = in->mod == 1 ? 1 : in->mod == 2 ? 4 : 0;
	if ((in->modrm & 7) == 4) {
		if ((rc = dec_byte(d, &in->sib)))
			return rc;
		in->has_sib = true;
		in->scale = (uint8_t)(1u << (in->sib >> 6));
		unsigned idx = ((in->sib >> 3) & 7) | (rex_x << 3);
		/* index 100b means none, but REX.X makes it r12 */
		in->index = idx == 4 ? X86EMU_REG_NONE : (int8_t)idx;
		in->base = (int8_t)((in->sib & 7) | (rex_b << 3));
		if ((in->sib & 7) == 5 && in->mod == 0) {
			in->base = X86EMU_REG_NONE;
			in->disp_size = 4;
		}
	} else if ((in->modrm & 7) == 5 && in->mod == 0) {
		in->base = X86EMU_REG_RIP;
		in->disp_size = 4;
	} else {
		in->base = (int8_t)in->rm;
	}
	if (in->disp_size) {
		if ((rc = dec_le(d, in->disp_size, &disp)))
			return rc;
		in->disp = in->disp_size == 1 ? (int8_t)disp : (int32_t)disp;
	}
	return 0;
}

static unsigned imm_size(const struct x86emu_insn *in, uint8_t props)
{
	switch (IMM_KIND(props)) {
	case IB: return 1;
	case IW: return 2;
	case IZ: return in->opsize == 2 ? 2 : 4;
	case IV: return in->opsize;
	case IE: return 3;
	case IO: return in->addrsize;
	case ID: return 4;
	case IG:
		/* TEST r/m, imm is /0 (and its alias /1) */
		if (((in->modrm >> 3) & 7) > 1)
			return 0;
		return in->opcode == 0xf6 ? 1 : (in->opsize == 2 ? 2 : 4);
	default: return 0;
	}
}

static int dec_imm(struct dec *d, uint8_t props)
{
	struct x86emu_insn *in = d->insn;
	unsigned n = imm_size(in, props);
	uint64_t v;
	int rc;

	if (!n)
		return 0;
	if (IMM_KIND(props) == IO) {
		/* moffs is the memory operand's displacement */
		if ((rc = dec_le(d, n, &v)))
			return rc;
		in->has_mem = true;
		in->base = X86EMU_REG_NONE;
		in->index = X86EMU_REG_NONE;
		in->scale = 1;
		in->disp = (int64_t)v;
		in->disp_size = (uint8_t)n;
		return 0;
	}
	if (IMM_KIND(props) == IE) {
		if ((rc = dec_le(d, 2, &v)))
			return rc;
		in->imm = v;
		in->imm_size = 2;
		if ((rc = dec_le(d, 1, &v)))
			return rc;
		in->imm2 = (uint8_t)v;
		return 0;
	}
	if ((rc = dec_le(d, n, &v)))
		return rc;
	in->imm = v;
	in->imm_size = (uint8_t)n;
	return 0;
}

int x86emu_decode(const uint8_t *buf, size_t avail, struct x86emu_insn *insn)
{
	struct dec d = { .buf = buf, .avail = buf ? avail : 0, .insn = insn };
	uint8_t props = 0;
	int rc;

	memset(insn, 0, sizeof(*insn));
	insn->base = X86EMU_REG_NONE;
	insn->index = X86EMU_REG_NONE;

	if ((rc = dec_prefixes(&d)))
		goto out;
	if ((rc = dec_opcode(&d, &props)))
		goto out;
	insn->opsize = (insn->rex & 8) ? 8 : insn->opsize_prefix ? 2 : 4;
	insn->addrsize = insn->addrsize_prefix ? 4 : 8;
	if (props & X) {
		rc = X86EMU_DEC_INVALID;
		goto out;
	}
	if ((props & M) && (rc = dec_modrm(&d)))
		goto out;
	rc = dec_imm(&d, props);
out:
	insn->len = (uint8_t)d.pos;
	return rc;
}

uint64_t x86emu_insn_offset(const struct x86emu_insn *insn,
			    const struct x86emu_regs *regs)
{
	uint64_t ea = (uint64_t)insn->disp;

	/* Unsigned arithmetic: address computation wraps, never overflows. */
	if (insn->base == X86EMU_REG_RIP)
		ea += regs->rip + insn->len;
	else if (insn->base >= 0 && insn->base < X86EMU_NR_GPRS)
		ea += regs->gpr[insn->base];
	if (insn->index >= 0 && insn->index < X86EMU_NR_GPRS)
		ea += regs->gpr[insn->index] * insn->scale;
	return insn->addrsize == 4 ? (uint32_t)ea : ea;
}

uint64_t x86emu_insn_ea(const struct x86emu_insn *insn,
			const struct x86emu_regs *regs)
{
	return x86emu_insn_offset(insn, regs) + x86emu_seg_base(insn, regs);
}

uint64_t x86emu_seg_base(const struct x86emu_insn *insn,
			 const struct x86emu_regs *regs)
{
	switch (insn->seg) {
	case X86EMU_SEG_FS: return regs->fs_base;
	case X86EMU_SEG_GS: return regs->gs_base;
	default: return 0;
	}
}

void x86emu_raise(struct x86emu_outcome *out, uint8_t vector, bool has_ec,
		  uint32_t ec)
{
	out->vector = vector;
	out->has_error_code = has_ec;
	out->error_code = has_ec ? ec : 0;
}

void x86emu_raise_pf(struct x86emu_outcome *out, uint64_t addr, uint32_t ec)
{
	x86emu_raise(out, X86EMU_VEC_PF, true, ec);
	out->cr2 = addr;
	out->fetch_fault = (ec & X86EMU_PFEC_INSN) != 0;
}

enum x86emu_status x86emu_fetch_insn(const struct x86emu_regs *regs,
				     const struct x86emu_ops *ops, void *ctx,
				     uint8_t buf[X86EMU_MAX_INSN_LEN],
				     size_t *got, struct x86emu_outcome *out)
{
	size_t n = 0;

	memset(buf, 0, X86EMU_MAX_INSN_LEN);
	if (ops->fetch)
		n = ops->fetch(ctx, regs->rip, buf, X86EMU_MAX_INSN_LEN);
	if (n > X86EMU_MAX_INSN_LEN)    /* distrust the callback, too */
		n = X86EMU_MAX_INSN_LEN;
	*got = n;
	return x86emu_decode_insn(regs, buf, n, out);
}

enum x86emu_status x86emu_decode_insn(const struct x86emu_regs *regs,
				      const uint8_t *buf, size_t n,
				      struct x86emu_outcome *out)
{
	int rc = x86emu_decode(buf, n, &out->insn);

	switch (rc) {
	case 0:
		out->next_rip = regs->rip + out->insn.len;
		return X86EMU_DONE;
	case X86EMU_DEC_TRUNCATED:
		x86emu_raise_pf(out, regs->rip + out->insn.len,
				X86EMU_PFEC_INSN);
		return X86EMU_EXCEPTION;
	case X86EMU_DEC_TOO_LONG:
		x86emu_raise(out, X86EMU_VEC_GP, true, 0);
		return X86EMU_EXCEPTION;
	default:
		x86emu_raise(out, X86EMU_VEC_UD, false, 0);
		return X86EMU_EXCEPTION;
	}
}

enum x86emu_status x86emu_fetch_decode(const struct x86emu_regs *regs,
				       const struct x86emu_ops *ops, void *ctx,
				       struct x86emu_outcome *out)
{
	uint8_t buf[X86EMU_MAX_INSN_LEN];
	size_t got;

	memset(out, 0, sizeof(*out));
	return x86emu_fetch_insn(regs, ops, ctx, buf, &got, out);
}
