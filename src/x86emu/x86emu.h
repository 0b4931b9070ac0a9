/*
 * x86emu — decoder and emulator for the few x86-64 instructions a PV
 * hypervisor must emulate on behalf of a guest kernel running at CPL3.
 *
 * Pure logic: no allocation, no globals, no syscalls.  Everything that
 * touches the vCPU or guest memory goes through struct x86emu_ops, so the
 * same code runs in the hypervisor, in unit tests and under a fuzzer.
 *
 * How a trap handler uses it:
 *
 *   #GP / #UD taken in guest kernel mode:
 *       st = x86emu_emulate_priv(&regs, &ops, vcpu, &out);
 *       DONE       -> regs (RIP included) were updated: resume the guest.
 *       UNHANDLED  -> bounce the original fault to the guest.
 *       EXCEPTION  -> inject out.vector / out.error_code (out.cr2 for #PF);
 *                     RIP still points at the instruction.
 *       RETRY      -> a REP INS/OUTS stopped after X86EMU_REP_MAX
 *                     iterations (RCX/RSI/RDI updated, RIP unchanged), or
 *                     commit() kept racing: just resume the guest, which
 *                     re-executes the instruction.
 *       EVENT      -> HLT, CLI, STI, INT n, INT3, SWAPGS: regs untouched;
 *                     the caller acts on out.event and, if it accepts the
 *                     instruction, sets regs.rip = out.next_rip.
 *
 *   #PF write fault on a read-only page-table page:
 *       st = x86emu_emulate_write(&regs, &ops, vcpu, cr2, &out);
 *       The emulator calls ops.commit() with the entry's old and new value;
 *       the caller validates and stores it (compare-exchange against old
 *       when w->atomic).  Same statuses as above (UNHANDLED = bounce the
 *       #PF; EXCEPTION = #GP for misaligned CMPXCHG16B or a #PF reading
 *       the entry or fetching the code).
 */
#ifndef KXEN_X86EMU_H
#define KXEN_X86EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- register file ------------------------------------------------------ */

enum {
	X86EMU_RAX, X86EMU_RCX, X86EMU_RDX, X86EMU_RBX,
	X86EMU_RSP, X86EMU_RBP, X86EMU_RSI, X86EMU_RDI,
	X86EMU_R8, X86EMU_R9, X86EMU_R10, X86EMU_R11,
	X86EMU_R12, X86EMU_R13, X86EMU_R14, X86EMU_R15,
	X86EMU_NR_GPRS
};

struct x86emu_regs {
	uint64_t gpr[X86EMU_NR_GPRS];   /* architectural order, see enum */
	uint64_t rip;
	uint64_t rflags;
	uint64_t fs_base;               /* segment bases for FS:/GS: overrides */
	uint64_t gs_base;
};

/* RFLAGS bits the emulator reads or writes. */
#define X86EMU_FLAG_CF  (1ULL << 0)
#define X86EMU_FLAG_PF  (1ULL << 2)
#define X86EMU_FLAG_AF  (1ULL << 4)
#define X86EMU_FLAG_ZF  (1ULL << 6)
#define X86EMU_FLAG_SF  (1ULL << 7)
#define X86EMU_FLAG_DF  (1ULL << 10)
#define X86EMU_FLAG_OF  (1ULL << 11)
#define X86EMU_FLAGS_ARITH (X86EMU_FLAG_CF | X86EMU_FLAG_PF | X86EMU_FLAG_AF | \
			    X86EMU_FLAG_ZF | X86EMU_FLAG_SF | X86EMU_FLAG_OF)

/* ---- decoded instruction ------------------------------------------------ */

#define X86EMU_MAX_INSN_LEN 15

enum x86emu_seg { X86EMU_SEG_DEFAULT, X86EMU_SEG_FS, X86EMU_SEG_GS };

enum x86emu_map {
	X86EMU_MAP_ONE,      /* one-byte opcodes */
	X86EMU_MAP_0F,       /* 0f xx */
	X86EMU_MAP_0F38,     /* 0f 38 xx (and VEX/EVEX map 2) */
	X86EMU_MAP_0F3A,     /* 0f 3a xx (and VEX/EVEX map 3) */
};

#define X86EMU_REG_NONE (-1)
#define X86EMU_REG_RIP  (-2)

struct x86emu_insn {
	uint8_t bytes[X86EMU_MAX_INSN_LEN];
	uint8_t len;            /* total length in bytes */
	uint8_t nr_prefixes;    /* legacy prefixes + REX */

	/* prefixes */
	bool lock;
	uint8_t rep;            /* 0, 0xf2 or 0xf3 (last one wins) */
	bool opsize_prefix;     /* 66h seen */
	bool addrsize_prefix;   /* 67h seen */
	enum x86emu_seg seg;    /* FS/GS override; ES/CS/SS/DS are no-ops */
	uint8_t rex;            /* 0, or 0x40..0x4f if it preceded the opcode */
	uint8_t vex;            /* 0, 0xc4, 0xc5 or 0x62 (EVEX) */

	/* opcode */
	enum x86emu_map map;
	uint8_t opcode;

	/* ModRM: reg and rm include REX.R / REX.B */
	bool has_modrm;
	uint8_t modrm, mod, reg, rm;
	bool has_sib;
	uint8_t sib;

	/* memory operand (valid when has_modrm && mod != 3, or moffs) */
	bool has_mem;
	int8_t base;            /* GPR, X86EMU_REG_NONE or X86EMU_REG_RIP */
	int8_t index;           /* GPR or X86EMU_REG_NONE */
	uint8_t scale;          /* 1, 2, 4, 8 */
	int64_t disp;           /* sign-extended (moffs: zero-extended) */
	uint8_t disp_size;

	uint64_t imm;           /* zero-extended raw immediate */
	uint8_t imm_size;
	uint8_t imm2;           /* ENTER's second immediate */

	uint8_t opsize;         /* 2, 4 or 8 for non-byte forms */
	uint8_t addrsize;       /* 4 or 8 */
};

/* x86emu_decode() errors (negative errno style). */
#define X86EMU_DEC_TRUNCATED  (-11)  /* -EAGAIN: needs byte at buf[avail] */
#define X86EMU_DEC_TOO_LONG   (-7)   /* -E2BIG: > 15 bytes => #GP(0) */
#define X86EMU_DEC_INVALID    (-84)  /* -EILSEQ: undefined opcode => #UD */

/*
 * Decodes one 64-bit-mode instruction from buf[0..avail).  Never reads
 * buf[avail] or beyond, nor beyond 15 bytes.  On X86EMU_DEC_TRUNCATED,
 * insn->len is the offset of the byte that was missing.
 */
int x86emu_decode(const uint8_t *buf, size_t avail, struct x86emu_insn *insn);

/*
 * Linear address of the memory operand, for an instruction that starts at
 * regs->rip: base + index*scale + disp (RIP-relative from the next
 * instruction), truncated to 32 bits under 67h, plus the FS/GS base.
 * EVEX compressed disp8 is not scaled (no EVEX instruction is emulated).
 */
uint64_t x86emu_insn_ea(const struct x86emu_insn *insn,
			const struct x86emu_regs *regs);

/* ---- callbacks ---------------------------------------------------------- */

/* Return values for non-memory callbacks. */
#define X86EMU_CB_OK         0
#define X86EMU_CB_GP       (-1)  /* emulator injects #GP(0) */
#define X86EMU_CB_UD       (-2)  /* emulator injects #UD */
#define X86EMU_CB_UNHANDLED (-3) /* emulator returns UNHANDLED */

/* Return values of commit(). */
#define X86EMU_COMMIT_OK      0  /* stored */
#define X86EMU_COMMIT_RETRY   1  /* memory no longer holds old: re-read */
#define X86EMU_COMMIT_REJECT  2  /* new value refused: bounce the #PF */

/*
 * One write found by x86emu_emulate_write().  The access is widened to the
 * naturally aligned entry that holds it (8 bytes; 16 for CMPXCHG16B) so a
 * page-table caller always sees whole entries.  Values are little-endian
 * integers: old[0]/new_[0] hold the (first) 8 bytes.
 */
struct x86emu_write {
	uint64_t addr;          /* linear address the instruction writes */
	unsigned size;          /* 1, 2, 4, 8 or 16 */
	uint64_t entry_addr;    /* addr aligned down to entry_size */
	unsigned entry_size;    /* 8 or 16 */
	uint64_t old[2];        /* entry contents the emulator read */
	uint64_t new_[2];       /* entry contents after the instruction */
	/*
	 * true: store only if memory still holds old (compare-exchange),
	 * else return X86EMU_COMMIT_RETRY.  Set for locked/RMW instructions
	 * and for sub-entry writes (the merge is based on old).
	 */
	bool atomic;
};

struct x86emu_ops {
	/*
	 * Copies up to len instruction bytes from linear address addr.
	 * Returns how many bytes were readable (0..len); a short count means
	 * the byte at addr+count cannot be fetched.
	 */
	size_t (*fetch)(void *ctx, uint64_t addr, uint8_t *buf, size_t len);
	/* Data access; any negative return is a #PF at addr. */
	int (*read)(void *ctx, uint64_t addr, void *buf, unsigned size);
	int (*write)(void *ctx, uint64_t addr, const void *buf, unsigned size);

	/* emulate_write: validate and store one entry (X86EMU_COMMIT_*). */
	int (*commit)(void *ctx, const struct x86emu_write *w);

	/* The rest return X86EMU_CB_*. NULL = instruction not handled. */
	int (*read_cr)(void *ctx, unsigned cr, uint64_t *val);
	int (*write_cr)(void *ctx, unsigned cr, uint64_t val);
	int (*read_dr)(void *ctx, unsigned dr, uint64_t *val);
	int (*write_dr)(void *ctx, unsigned dr, uint64_t val);
	int (*read_msr)(void *ctx, uint32_t msr, uint64_t *val);
	int (*write_msr)(void *ctx, uint32_t msr, uint64_t val);
	int (*cpuid)(void *ctx, uint32_t leaf, uint32_t subleaf,
		     uint32_t out[4]);         /* eax, ebx, ecx, edx */
	int (*port_in)(void *ctx, uint16_t port, unsigned size, uint32_t *val);
	int (*port_out)(void *ctx, uint16_t port, unsigned size, uint32_t val);
	int (*wbinvd)(void *ctx);              /* also used for INVD */
	int (*xsetbv)(void *ctx, uint32_t xcr, uint64_t val);
	int (*rdpmc)(void *ctx, uint32_t counter, uint64_t *val);
	int (*rdtsc)(void *ctx, uint64_t *tsc, uint32_t *tsc_aux);
};

/* ---- results ------------------------------------------------------------ */

enum x86emu_status {
	X86EMU_DONE = 0,     /* emulated: registers and RIP updated */
	X86EMU_UNHANDLED,    /* not emulated: deliver the original fault */
	X86EMU_EXCEPTION,    /* inject out->vector (RIP unchanged) */
	X86EMU_RETRY,        /* partial progress or a race: resume guest */
	X86EMU_EVENT,        /* caller must act on out->event */
};

enum x86emu_event {
	X86EMU_EV_NONE,
	X86EMU_EV_HLT,
	X86EMU_EV_CLI,
	X86EMU_EV_STI,
	X86EMU_EV_INT3,      /* cc: out->int_vector = 3 */
	X86EMU_EV_INTN,      /* cd ib: out->int_vector = ib */
	X86EMU_EV_SWAPGS,
};

#define X86EMU_VEC_UD  6
#define X86EMU_VEC_GP 13
#define X86EMU_VEC_PF 14

/* #PF error-code bits the emulator knows; the caller ORs in P and U. */
#define X86EMU_PFEC_WRITE (1u << 1)
#define X86EMU_PFEC_INSN  (1u << 4)

struct x86emu_outcome {
	/* X86EMU_EXCEPTION */
	uint8_t vector;
	bool has_error_code;
	uint32_t error_code;
	uint64_t cr2;           /* #PF: faulting linear address */
	bool fetch_fault;       /* #PF while fetching the instruction */
	/* X86EMU_EVENT */
	enum x86emu_event event;
	uint8_t int_vector;
	uint64_t next_rip;      /* RIP after the instruction (also on DONE) */
	/* the decoded instruction, when decoding succeeded */
	struct x86emu_insn insn;
};

/* Maximum REP INS/OUTS iterations per call before returning RETRY. */
#define X86EMU_REP_MAX 4096

/*
 * Fetches (ops->fetch) and decodes the instruction at regs->rip.
 * Returns X86EMU_DONE with out->insn filled, or X86EMU_EXCEPTION
 * (#PF on fetch, #GP for > 15 bytes, #UD for an undefined opcode).
 */
enum x86emu_status x86emu_fetch_decode(const struct x86emu_regs *regs,
				       const struct x86emu_ops *ops, void *ctx,
				       struct x86emu_outcome *out);

/* Privileged-instruction emulation after a #GP or #UD in guest kernel. */
enum x86emu_status x86emu_emulate_priv(struct x86emu_regs *regs,
				       const struct x86emu_ops *ops, void *ctx,
				       struct x86emu_outcome *out);

/*
 * The same, for instruction bytes the caller fetched itself (len readable
 * bytes at regs->rip; a short len means the next byte is unreadable).
 * ops->fetch is never called: what is emulated is exactly what the caller
 * looked at, so a guest that rewrites the bytes on another vCPU cannot
 * swap the instruction after the caller's checks (no double fetch).
 */
enum x86emu_status x86emu_emulate_priv_bytes(struct x86emu_regs *regs,
					     const struct x86emu_ops *ops,
					     void *ctx, const uint8_t *bytes,
					     size_t len,
					     struct x86emu_outcome *out);

/*
 * Writable-page-table emulation after a write #PF at fault_addr on a
 * read-only page: only a write that stays inside the 8-byte entry holding
 * fault_addr (16-byte for CMPXCHG16B) is emulated.
 */
enum x86emu_status x86emu_emulate_write(struct x86emu_regs *regs,
					const struct x86emu_ops *ops, void *ctx,
					uint64_t fault_addr,
					struct x86emu_outcome *out);

/*
 * Load emulation after a read #PF at fault_addr on memory the caller
 * serves through ops->read (kxen's M2P at an address the host reserves).
 * Only an instruction whose single memory operand is a source and covers
 * fault_addr is emulated: MOV, MOVZX, MOVSX(D), CMOVcc, ALU reg,mem, CMP,
 * TEST, BT mem,imm.  DONE: registers, flags and RIP updated; UNHANDLED:
 * deliver the original fault; EXCEPTION: #PF from fetch or ops->read.
 */
enum x86emu_status x86emu_emulate_read(struct x86emu_regs *regs,
				       const struct x86emu_ops *ops, void *ctx,
				       uint64_t fault_addr,
				       struct x86emu_outcome *out);

#endif /* KXEN_X86EMU_H */
