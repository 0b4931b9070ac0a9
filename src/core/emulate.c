/*
 * Instructions a PV kernel executes directly and expects the hypervisor to
 * emulate after the fault they raise at CPL3: the forced-emulation CPUID
 * prefix, CPUID, RDMSR/WRMSR, moves to and from control and debug
 * registers, port I/O, WBINVD; and its writes into its own read-only L1
 * page tables ("writable page tables").  Decoding and the instruction
 * semantics are x86emu's; this file supplies the vCPU-side policy.
 */
#include <errno.h>
#include <string.h>

#include "common/common.h"
#include "core/core-internal.h"
#include "x86emu/x86emu.h"

#define MSR_FS_BASE        0xc0000100
#define MSR_GS_BASE        0xc0000101
#define MSR_SHADOW_GS_BASE 0xc0000102
#define MSR_EFER           0xc0000080
#define MSR_IA32_CR_PAT    0x277
#define MSR_IA32_APICBASE  0x1b
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_TSC       0x10

#define CR0_TS 0x8ull
/* CR4 bits a PV guest may think it controls (Xen's pv_fixup_guest_cr4). */
#define CR4_GUEST_MASK (0x4ull /*TSD*/ | 0x8ull /*DE*/ | 0x10000ull /*FSGSBASE*/)

static size_t cb_fetch(void *ctx, uint64_t addr, uint8_t *buf, size_t len)
{
	struct vcpu *v = ctx;
	size_t n = 0;
	while (n < len && guest_copy_from(v, buf + n, addr + n, 1) == 0)
		n++;
	return n;
}

static int cb_read(void *ctx, uint64_t addr, void *buf, unsigned size)
{
	return guest_copy_from(ctx, buf, addr, size) ? -1 : 0;
}

static int cb_write(void *ctx, uint64_t addr, const void *buf, unsigned size)
{
	return guest_copy_to(ctx, addr, buf, size) ? -1 : 0;
}

static int cb_read_cr(void *ctx, unsigned cr, uint64_t *val)
{
	struct vcpu *v = ctx;
	switch (cr) {
	case 0:
		*val = 0x80050033ull | (v->vm_cr0_ts ? CR0_TS : 0);
		return X86EMU_CB_OK;
	case 2:
		*val = v->vinfo->arch.cr2;
		return X86EMU_CB_OK;
	case 3:
		*val = (v->in_kernel ? v->kernel_root : v->user_root) << 12;
		return X86EMU_CB_OK;
	case 4:
		*val = (v->sregs->cr4 & ~CR4_GUEST_MASK) | v->guest_cr4;
		return X86EMU_CB_OK;
	default:
		return X86EMU_CB_GP;
	}
}

static int cb_write_cr(void *ctx, unsigned cr, uint64_t val)
{
	struct vcpu *v = ctx;
	switch (cr) {
	case 0:
		/* Only TS may change; other bits must keep their value. */
		if ((val & ~CR0_TS) != (0x80050033ull & ~CR0_TS))
			return X86EMU_CB_GP;
		v->vm_cr0_ts = !!(val & CR0_TS);
		return X86EMU_CB_OK;
	case 4:
		v->guest_cr4 = val & CR4_GUEST_MASK;   /* the rest is filtered */
		return X86EMU_CB_OK;
	default:
		return X86EMU_CB_GP;
	}
}

static int cb_read_dr(void *ctx, unsigned dr, uint64_t *val)
{
	struct vcpu *v = ctx;
	if (dr == 4 || dr == 5)
		dr += 2;
	if (dr > 7)
		return X86EMU_CB_UD;
	*val = v->debugreg[dr];
	if (dr == 6 && !*val)
		*val = 0xffff0ff0;
	if (dr == 7 && !*val)
		*val = 0x400;
	return X86EMU_CB_OK;
}

static int cb_write_dr(void *ctx, unsigned dr, uint64_t val)
{
	struct vcpu *v = ctx;
	if (dr == 4 || dr == 5)
		dr += 2;
	if (dr > 7)
		return X86EMU_CB_UD;
	v->debugreg[dr] = val;
	return X86EMU_CB_OK;
}

static int cb_read_msr(void *ctx, uint32_t msr, uint64_t *val)
{
	struct vcpu *v = ctx;
	switch (msr) {
	case MSR_FS_BASE:
		*val = v->sregs->fs.base;
		return X86EMU_CB_OK;
	case MSR_GS_BASE:
		*val = v->sregs->gs.base;
		return X86EMU_CB_OK;
	case MSR_SHADOW_GS_BASE:
		*val = v->in_kernel ? v->gs_base_user : v->gs_base_kernel;
		return X86EMU_CB_OK;
	case MSR_EFER:
		*val = v->sregs->efer;
		return X86EMU_CB_OK;
	case MSR_IA32_CR_PAT:
		*val = 0x0000050100070406ull;   /* Xen's PAT */
		return X86EMU_CB_OK;
	case MSR_IA32_APICBASE:
		*val = 0xfee00000ull | (v->id == 0 ? 0x100 : 0) | 0x800;
		return X86EMU_CB_OK;
	case MSR_IA32_MISC_ENABLE:
		*val = 1;
		return X86EMU_CB_OK;
	default:
		return X86EMU_CB_GP;
	}
}

static int cb_write_msr(void *ctx, uint32_t msr, uint64_t val)
{
	struct vcpu *v = ctx;
	switch (msr) {
	case MSR_FS_BASE:
		vcpu_set_fs(v, val);
		return X86EMU_CB_OK;
	case MSR_GS_BASE:
		if (v->in_kernel)
			vcpu_set_kernel_gs(v, val);
		else
			vcpu_set_user_gs(v, val);
		return X86EMU_CB_OK;
	case MSR_SHADOW_GS_BASE:
		if (v->in_kernel)
			vcpu_set_user_gs(v, val);
		else
			vcpu_set_kernel_gs(v, val);
		return X86EMU_CB_OK;
	case MSR_EFER:
		return val == v->sregs->efer ? X86EMU_CB_OK : X86EMU_CB_GP;
	default:
		return X86EMU_CB_GP;
	}
}

static int cb_cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	struct vcpu *v = ctx;
	cpuid_policy(leaf, subleaf, out);
	if (leaf == 1)
		out[1] = (out[1] & 0x00ffffff) | (v->id << 24);
	return X86EMU_CB_OK;
}

/* A domU owns no I/O ports: reads see all-ones and writes vanish, as on
 * Xen -- except the PIT channel 2 ports, which Xen's optional PV PIT
 * serves (pit.c says why kxen always offers it).  Like Xen, a wide access
 * is served byte by byte. */
static int cb_port_in(void *ctx, uint16_t port, unsigned size, uint32_t *val)
{
	struct vcpu *v = ctx;
	uint32_t data = 0;
	if (!v->iopl)
		return X86EMU_CB_GP;
	for (unsigned i = 0; i < size; i++) {
		uint16_t p = (uint16_t)(port + i);
		uint8_t b = pit_port(p) ? pit_read(&v->d->pit, p, now_ns()) : 0xff;
		data |= (uint32_t)b << (8 * i);
	}
	*val = data;
	return X86EMU_CB_OK;
}

static int cb_port_out(void *ctx, uint16_t port, unsigned size, uint32_t val)
{
	struct vcpu *v = ctx;
	if (!v->iopl)
		return X86EMU_CB_GP;
	for (unsigned i = 0; i < size; i++) {
		uint16_t p = (uint16_t)(port + i);
		if (pit_port(p))
			pit_write(&v->d->pit, p, (uint8_t)(val >> (8 * i)), now_ns());
	}
	return X86EMU_CB_OK;
}

static int cb_wbinvd(void *ctx)
{
	(void)ctx;
	return X86EMU_CB_OK;
}

static int cb_rdtsc(void *ctx, uint64_t *tsc, uint32_t *aux)
{
	struct vcpu *v = ctx;
	uint64_t t = 0;
	kvm_vcpu_read_tsc(&v->kvm, &t);
	*tsc = t;
	*aux = v->id;
	return X86EMU_CB_OK;
}

static int cb_commit(void *ctx, const struct x86emu_write *w)
{
	struct vcpu *v = ctx;
	uint64_t maddr;
	if (w->entry_size != 8 || guest_va_to_maddr(v, w->entry_addr, &maddr))
		return X86EMU_COMMIT_REJECT;
	int rc = mm_ptwr_store(v, maddr, w->old[0], w->new_[0], w->atomic);
	if (rc == -EAGAIN)
		return X86EMU_COMMIT_RETRY;
	return rc ? X86EMU_COMMIT_REJECT : X86EMU_COMMIT_OK;
}

static const struct x86emu_ops emu_ops = {
	.fetch = cb_fetch,
	.read = cb_read,
	.write = cb_write,
	.commit = cb_commit,
	.read_cr = cb_read_cr,
	.write_cr = cb_write_cr,
	.read_dr = cb_read_dr,
	.write_dr = cb_write_dr,
	.read_msr = cb_read_msr,
	.write_msr = cb_write_msr,
	.cpuid = cb_cpuid,
	.port_in = cb_port_in,
	.port_out = cb_port_out,
	.wbinvd = cb_wbinvd,
	.rdtsc = cb_rdtsc,
};

/* The guest's registers as x86emu sees them: RIP, RSP and RFLAGS live in
 * the trap frame, the rest in the KVM register file. */
static void regs_in(struct vcpu *v, struct x86emu_regs *e)
{
	const struct kvm_regs *r = v->regs;
	const uint64_t g[16] = { r->rax, r->rcx, r->rdx, r->rbx, v->frame->rsp, r->rbp,
				 r->rsi, r->rdi, r->r8, r->r9, r->r10, r->r11,
				 r->r12, r->r13, r->r14, r->r15 };
	memcpy(e->gpr, g, sizeof g);
	e->rip = v->frame->rip;
	e->rflags = v->frame->rflags;
	e->fs_base = v->sregs->fs.base;
	e->gs_base = v->sregs->gs.base;
}

static void regs_out(struct vcpu *v, const struct x86emu_regs *e)
{
	struct kvm_regs *r = v->regs;
	r->rax = e->gpr[0]; r->rcx = e->gpr[1]; r->rdx = e->gpr[2]; r->rbx = e->gpr[3];
	v->frame->rsp = e->gpr[4];
	r->rbp = e->gpr[5]; r->rsi = e->gpr[6]; r->rdi = e->gpr[7];
	r->r8 = e->gpr[8]; r->r9 = e->gpr[9]; r->r10 = e->gpr[10]; r->r11 = e->gpr[11];
	r->r12 = e->gpr[12]; r->r13 = e->gpr[13]; r->r14 = e->gpr[14]; r->r15 = e->gpr[15];
	v->frame->rip = e->rip;
	v->frame->rflags = e->rflags | 0x200;
	v->kvm.run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

/* Act on an emulation outcome: 1 = handled (resume), 0 = bounce the
 * original fault. */
static int finish(struct vcpu *v, enum x86emu_status st, struct x86emu_regs *e,
		  const struct x86emu_outcome *out)
{
	switch (st) {
	case X86EMU_DONE:
		regs_out(v, e);
		return 1;
	case X86EMU_RETRY:
		return 1;
	case X86EMU_EXCEPTION:
		if (out->vector == X86EMU_VEC_PF) {
			v->vinfo->arch.cr2 = out->cr2;
			vcpu_bounce(v, 14, true, out->error_code | 1);
		} else {
			vcpu_bounce(v, out->vector, out->has_error_code, out->error_code);
		}
		return 1;
	case X86EMU_EVENT:
		if (out->event == X86EMU_EV_CLI || out->event == X86EMU_EV_STI) {
			/* The PV way to mask events is vcpu_info; honour these too. */
			v->vinfo->evtchn_upcall_mask = out->event == X86EMU_EV_CLI;
			e->rip = out->next_rip;
			regs_out(v, e);
			return 1;
		}
		return 0;
	default:
		return 0;
	}
}

/* Which row of the trap table an emulated instruction is counted in. */
static unsigned emul_class(const struct x86emu_insn *i)
{
	if (i->map == X86EMU_MAP_0F) {
		switch (i->opcode) {
		case 0xa2: return TS_EMUL_CPUID;
		case 0x32: return TS_EMUL_RDMSR;
		case 0x30: return TS_EMUL_WRMSR;
		case 0x31: return TS_EMUL_RDTSC;
		case 0x20: case 0x22: return TS_EMUL_MOVCR;
		case 0x21: case 0x23: return TS_EMUL_MOVDR;
		case 0x08: case 0x09: return TS_EMUL_CACHE;
		case 0x01: return TS_EMUL_SYS;
		case 0x0b: return TS_EMUL_CPUID;   /* ud2 of the forced-CPUID prefix */
		default: return TS_EMUL_OTHER;
		}
	}
	if (i->map != X86EMU_MAP_ONE)
		return TS_EMUL_OTHER;
	switch (i->opcode) {
	case 0xe4: case 0xe5: case 0xec: case 0xed: case 0x6c: case 0x6d:
		return TS_EMUL_IN;
	case 0xe6: case 0xe7: case 0xee: case 0xef: case 0x6e: case 0x6f:
		return TS_EMUL_OUT;
	case 0xfa: case 0xfb:
		return TS_EMUL_CLISTI;
	default:
		return TS_EMUL_OTHER;
	}
}

int emulate_priv_op(struct vcpu *v, unsigned vector)
{
	struct x86emu_regs e;
	struct x86emu_outcome out;
	if (!v->in_kernel) {
		/* User mode only gets the forced CPUID from Xen. */
		uint8_t b[7];
		if (vector != 6 || guest_copy_from(v, b, v->frame->rip, 7) ||
		    memcmp(b, "\x0f\x0b" "xen" "\x0f\xa2", 7))
			return 0;
	}
	regs_in(v, &e);
	memset(&out, 0, sizeof out);
	enum x86emu_status st = x86emu_emulate_priv(&e, &emu_ops, v, &out);
	int handled = finish(v, st, &e, &out);
	if (handled && out.insn.len)
		trapstat_set_kind(v, TS_EMUL + emul_class(&out.insn));
	return handled;
}

int mm_ptwr_fault(struct vcpu *v, uint64_t va, uint64_t err)
{
	struct x86emu_regs e;
	struct x86emu_outcome out;
	uint64_t maddr;
	(void)err;
	if (guest_va_to_maddr(v, va, &maddr) || !mm_is_l1(v->d, maddr))
		return 0;
	regs_in(v, &e);
	enum x86emu_status st = x86emu_emulate_write(&e, &emu_ops, v, va, &out);
	if (st == X86EMU_UNHANDLED)
		return 0;
	return finish(v, st, &e, &out);
}
