/*
 * Instructions a PV kernel executes directly and expects the hypervisor to
 * emulate after the fault they raise at CPL3: the forced-emulation CPUID
 * prefix, CPUID, RDMSR/WRMSR, moves to and from control and debug
 * registers, port I/O, WBINVD; and its writes into its own read-only L1
 * page tables ("writable page tables").  Decoding and the instruction
 * semantics are x86emu's; this file supplies the vCPU-side policy.
 *
 * Guest user mode reaches the same emulator (it decodes the instruction
 * once) but every privileged callback refuses it, except what Xen allows
 * user mode: port I/O and CLI/STI by the virtual IOPL or the guest's I/O
 * bitmap, and the forced-emulation CPUID.
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
#define MSR_IA32_DEBUGCTL  0x1d9

#define CR0_TS 0x8ull
#define CR4_TSD 0x4ull
/* CR4 bits a PV guest controls (Xen's PV_CR4_GUEST_MASK) and the hardware
 * bits it may see. */
#define CR4_DE       0x8ull
#define CR4_FSGSBASE 0x10000ull
#define CR4_OSXSAVE  0x40000ull
#define CR4_GUEST_MASK (CR4_TSD | CR4_DE | CR4_FSGSBASE | CR4_OSXSAVE)
#define CR4_VISIBLE  (0x20ull /*PAE*/ | 0x40ull /*MCE*/ | 0x200ull /*OSFXSR*/ | \
		      0x400ull /*OSXMMEXCPT*/)

/* Memory as the faulting mode sees it: user code through the user tables. */
static size_t cb_fetch(void *ctx, uint64_t addr, uint8_t *buf, size_t len)
{
	struct vcpu *v = ctx;
	size_t n = 0;
	while (n < len && guest_copy_from_current(v, buf + n, addr + n, 1) == 0)
		n++;
	return n;
}

static int cb_read(void *ctx, uint64_t addr, void *buf, unsigned size)
{
	return guest_copy_from_current(ctx, buf, addr, size) ? -1 : 0;
}

static int cb_write(void *ctx, uint64_t addr, const void *buf, unsigned size)
{
	return guest_copy_to_current(ctx, addr, buf, size) ? -1 : 0;
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
		*val = (v->sregs->cr4 & CR4_VISIBLE) | v->guest_cr4;
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
		vcpu_set_guest_cr4(v, val);   /* the rest is filtered, as in Xen */
		return X86EMU_CB_OK;
	default:
		return X86EMU_CB_GP;
	}
}

static int cb_read_dr(void *ctx, unsigned dr, uint64_t *val)
{
	return debugreg_get(ctx, dr, val) ? X86EMU_CB_UD : X86EMU_CB_OK;
}

static int cb_write_dr(void *ctx, unsigned dr, uint64_t val)
{
	int rc = debugreg_set(ctx, dr, val);
	if (rc == -ENODEV)
		return X86EMU_CB_UD;
	return rc ? X86EMU_CB_GP : X86EMU_CB_OK;
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
	case MSR_IA32_DEBUGCTL:
		*val = 0;   /* no LBR, BTF or BTS for PV guests */
		return X86EMU_CB_OK;
	default:
		return X86EMU_CB_GP;
	}
}

static int cb_write_msr(void *ctx, uint32_t msr, uint64_t val)
{
	struct vcpu *v = ctx;
	if ((msr == MSR_FS_BASE || msr == MSR_GS_BASE || msr == MSR_SHADOW_GS_BASE) &&
	    !is_canonical(val))
		return X86EMU_CB_GP;   /* as the CPU (and Xen), XSA-193 */
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
	if (leaf == 1) {
		out[1] = (out[1] & 0x00ffffff) | (v->id << 24);
		/* OSXSAVE mirrors the guest's CR4, except that (Xen's PV ABI,
		 * which Linux relies on) the guest kernel's forced-emulation
		 * CPUID sees it whenever XSAVE is offered. */
		if ((v->guest_cr4 & CR4_OSXSAVE) ||
		    (v->emulating_ud && v->in_kernel && cpuid_xcr0_offered()))
			out[2] |= 1u << 27;
	}
	/* The XSAVE area sizes follow the XCR0 in force. */
	if (leaf == 0xd && subleaf == 0 && out[0])
		out[1] = cpuid_xsave_size(v->xcr0, false);
	if (leaf == 0xd && subleaf == 1 && out[1])
		out[1] = cpuid_xsave_size(v->xcr0, true);
	return X86EMU_CB_OK;
}

/*
 * XSETBV (Xen's handle_xsetbv): guest kernel only, with CR4.OSXSAVE, XCR0
 * only; x87 always on, AVX only with SSE, nothing beyond what CPUID
 * offers.  KVM loads the value for the guest where the VM's CR4.OSXSAVE
 * follows the guest's; PVM hosts run guest code with their own XCR0.
 */
static int cb_xsetbv(void *ctx, uint32_t xcr, uint64_t val)
{
	struct vcpu *v = ctx;

	if (!(v->guest_cr4 & CR4_OSXSAVE))
		return X86EMU_CB_UD;
	if (xcr != 0 || !(val & XSTATE_X87) || (val & ~cpuid_xcr0_offered()) ||
	    ((val & XSTATE_YMM) && !(val & XSTATE_SSE)))
		return X86EMU_CB_GP;
	if (kvm_vcpu_set_xcr0(&v->kvm, val))
		return X86EMU_CB_GP;
	v->xcr0 = val;
	return X86EMU_CB_OK;
}

/*
 * Xen's pv_fixup_guest_cr4: the guest keeps the bits of CR4_GUEST_MASK its
 * CPUID policy offers.  FSGSBASE is also loaded into the vCPU, so on hosts
 * that honour the VM's CR4 (VT-x, AMD-V) {RD,WR}{FS,GS}BASE fault exactly
 * while the guest has not enabled them; PVM hosts run guest code with the
 * host's CR4, where they always work (docs/xtf.md).
 */
void vcpu_set_guest_cr4(struct vcpu *v, uint64_t val)
{
	uint32_t leaf7[4];
	uint64_t hw_bits = 0;

	cpuid_policy(7, 0, leaf7);
	if (!(leaf7[1] & 1))
		val &= ~CR4_FSGSBASE;
	if (!cpuid_xcr0_offered())
		val &= ~CR4_OSXSAVE;
	v->guest_cr4 = val & CR4_GUEST_MASK;
	/* Into the vCPU where KVM honours them (not on PVM hosts, where
	 * guest code runs with the host's CR4, and KVM may refuse them). */
	if (cpuid_fsgsbase_follows_vm_cr4())
		hw_bits |= CR4_FSGSBASE;
	if (!kvm_host_is_pvm())
		hw_bits |= CR4_OSXSAVE;
	uint64_t hw = (v->sregs->cr4 & ~hw_bits) | (v->guest_cr4 & hw_bits);
	if (hw != v->sregs->cr4) {
		v->sregs->cr4 = hw;
		v->kvm.run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	}
}

bool vcpu_architectural_iopl(const struct vcpu *v)
{
	return (__atomic_load_n(&v->d->vm_assist, __ATOMIC_RELAXED) >>
		VMASST_TYPE_architectural_iopl) & 1;
}

bool vcpu_iopl_ok(const struct vcpu *v)
{
	unsigned cpl = v->in_kernel ? (vcpu_architectural_iopl(v) ? 0 : 1) : 3;
	return cpl <= v->iopl;
}

/* Xen's guest_io_okay: the virtual IOPL, else the guest's I/O bitmap
 * (read through the kernel's tables; unreadable bytes deny). */
static bool io_allowed(struct vcpu *v, uint16_t port, unsigned size)
{
	uint8_t b[2] = { 0xff, 0xff };
	uint64_t at = v->iobmp + port / 8;

	if (vcpu_iopl_ok(v))
		return true;
	if ((uint32_t)port + size > v->iobmp_limit)
		return false;
	if (guest_copy_from(v, &b[0], at, 1) == 0)
		guest_copy_from(v, &b[1], at + 1, 1);
	uint32_t deny = (uint32_t)b[0] | ((uint32_t)b[1] << 8);
	return !(deny & (((1u << size) - 1) << (port & 7)));
}

/* Permission, then the I/O breakpoints (which match even for ports that
 * do nothing). */
static int port_access(struct vcpu *v, uint16_t port, unsigned size)
{
	if (!io_allowed(v, port, size))
		return X86EMU_CB_GP;
	if (debugreg_io_hit(v, port, size))
		v->io_bp_hit = true;
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
	int rc = port_access(v, port, size);
	if (rc != X86EMU_CB_OK)
		return rc;
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
	int rc = port_access(v, port, size);
	if (rc != X86EMU_CB_OK)
		return rc;
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
	.xsetbv = cb_xsetbv,
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
			/* Xen: allowed by the virtual IOPL, and then a no-op (the PV
			 * way to mask events is vcpu_info). */
			if (!vcpu_iopl_ok(v)) {
				vcpu_bounce(v, 13, true, 0);
				return 1;
			}
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

/* Guest user mode gets from Xen the forced CPUID and, by its virtual IOPL
 * or I/O bitmap, port I/O and CLI/STI.  Only what these hooks offer is
 * reachable from user mode, whatever the bytes turned out to be. */
static const struct x86emu_ops user_emu_ops = {
	.cpuid = cb_cpuid,
};

static const struct x86emu_ops user_io_ops = {
	.read = cb_read,
	.write = cb_write,
	.port_in = cb_port_in,
	.port_out = cb_port_out,
};

static const uint8_t forced_cpuid[7] = { 0x0f, 0x0b, 'x', 'e', 'n', 0x0f, 0xa2 };

/* After finish(): an I/O breakpoint traps after the instruction. */
static int io_breakpoint(struct vcpu *v, enum x86emu_status st, int handled)
{
	if (handled && st == X86EMU_DONE && v->io_bp_hit)
		vcpu_bounce(v, 1, false, 0);
	return handled;
}

static int emulate_user_op(struct vcpu *v, unsigned vector, const uint8_t *insn, size_t len)
{
	struct x86emu_regs e;
	struct x86emu_outcome out;

	regs_in(v, &e);
	if (vector == 6 && len >= sizeof forced_cpuid &&
	    !memcmp(insn, forced_cpuid, sizeof forced_cpuid)) {
		if (x86emu_emulate_priv_bytes(&e, &user_emu_ops, v, insn, len, &out) != X86EMU_DONE)
			return 0;
		regs_out(v, &e);
		trapstat_set_kind(v, TS_EMUL + TS_EMUL_CPUID);
		return 1;
	}
	if (vector != 13)
		return 0;
	v->io_bp_hit = false;
	enum x86emu_status st = x86emu_emulate_priv_bytes(&e, &user_io_ops, v, insn, len, &out);
	int handled = finish(v, st, &e, &out);
	if (handled && out.insn.len)
		trapstat_set_kind(v, TS_EMUL + emul_class(&out.insn));
	return io_breakpoint(v, st, handled);
}

/*
 * The instruction is fetched once, through the tables of the mode the
 * guest was in, and that one copy is both checked and emulated: another
 * vCPU of the guest may rewrite the bytes at any time.
 */
int emulate_priv_op(struct vcpu *v, unsigned vector)
{
	uint8_t insn[X86EMU_MAX_INSN_LEN];
	size_t len;
	struct x86emu_regs e;
	struct x86emu_outcome out;

	/* Nothing to fetch there: the fault stands (the CPU's is a #GP(0)). */
	if (!is_canonical(v->frame->rip))
		return 0;
	len = guest_fetch(v, v->frame->rip, insn, sizeof insn);
	if (!v->in_kernel)
		return emulate_user_op(v, vector, insn, len);
	regs_in(v, &e);
	v->io_bp_hit = false;
	v->emulating_ud = vector == 6;
	enum x86emu_status st = x86emu_emulate_priv_bytes(&e, &emu_ops, v, insn, len, &out);
	int handled = finish(v, st, &e, &out);
	if (handled && out.insn.len)
		trapstat_set_kind(v, TS_EMUL + emul_class(&out.insn));
	return io_breakpoint(v, st, handled);
}

unsigned emulate_soft_int_len(struct vcpu *v, uint8_t *vector, bool *dpl_checked)
{
	uint8_t insn[X86EMU_MAX_INSN_LEN];
	struct x86emu_insn in;
	size_t len;

	if (!is_canonical(v->frame->rip))
		return 0;
	len = guest_fetch(v, v->frame->rip, insn, sizeof insn);
	if (x86emu_decode(insn, len, &in) || in.map != X86EMU_MAP_ONE || in.lock)
		return 0;
	switch (in.opcode) {
	case 0xcd:              /* int imm8 */
		*vector = (uint8_t)in.imm;
		*dpl_checked = true;
		return in.len;
	case 0xcc:              /* int3 */
		*vector = 3;
		*dpl_checked = false;
		return in.len;
	case 0xf1:              /* icebp: a #DB no DPL stops */
		*vector = 1;
		*dpl_checked = false;
		return in.len;
	default:
		return 0;
	}
}


/* ---- #SS or #GP for a non-canonical address ------------------------------ */

/*
 * In 64-bit mode a non-canonical data address faults #SS(0) only when it
 * goes through SS: an RSP/RBP base without an FS/GS override, or the
 * stack itself; otherwise #GP(0), whatever the CS/DS/ES/SS prefix.  PVM
 * hosts route such faults through KVM's emulator, which answers #SS for
 * any SS prefix; decode the instruction once and give the guest what the
 * hardware (and Xen) gives.
 */
bool emulate_ss_fault_is_gp(struct vcpu *v)
{
	struct x86emu_regs e;
	struct x86emu_outcome out;

	regs_in(v, &e);
	if (x86emu_fetch_decode(&e, &emu_ops, v, &out) != X86EMU_DONE || !out.insn.has_mem)
		return false;
	const struct x86emu_insn *in = &out.insn;
	if (is_canonical(x86emu_insn_ea(in, &e)))
		return false;   /* the stack faulted */
	bool via_ss = in->seg == X86EMU_SEG_DEFAULT &&
		      (in->base == X86EMU_RSP || in->base == X86EMU_RBP);
	return !via_ss;
}

/* ---- far CALL/JMP through the LDT ----------------------------------------- */

static bool host_is_amd(void)
{
	uint32_t r[4];
	cpuid_policy(0, 0, r);
	return r[1] == 0x68747541u /* "Auth" */ || r[1] == 0x6f677948u /* "Hygo" */;
}

/*
 * A far CALL/JMP through a selector beyond the LDT's limit faults
 * #GP(selector) (XSA-298's attack: no LDT at all).  PVM hosts route the
 * #GP through KVM's emulator, which answers #GP(0); read the far pointer
 * once from the decoded instruction and give the error code the hardware
 * gives.  Anything else keeps the original error code.
 */
uint64_t emulate_gp_error_code(struct vcpu *v, uint64_t err)
{
	struct x86emu_regs e;
	struct x86emu_outcome out;
	uint16_t sel;

	if (err != 0)
		return err;
	regs_in(v, &e);
	if (x86emu_fetch_decode(&e, &emu_ops, v, &out) != X86EMU_DONE)
		return err;
	const struct x86emu_insn *in = &out.insn;
	unsigned digit = (in->modrm >> 3) & 7;
	if (in->map != X86EMU_MAP_ONE || in->opcode != 0xff || !in->has_mem ||
	    (digit != 3 && digit != 5))
		return err;
	/* m16:16/32/64; AMD reads m16:32 even with REX.W */
	unsigned off = in->opsize == 8 && host_is_amd() ? 4 : in->opsize;
	if (guest_copy_from_current(v, &sel, x86emu_insn_ea(in, &e) + off, 2))
		return err;
	if ((sel & 4) && (sel >> 3) >= v->ldt_ents)
		return sel & ~3u;
	return err;
}

/* ---- Xen's read-only M2P at its ABI address ----------------------------- */

#define PFEC_PRESENT 0x1u
#define PFEC_WRITE   0x2u
#define PFEC_USER    0x4u
#define PFEC_INSN    0x10u

/* The part of the ABI range backed by kxen's M2P (the same bytes the guest
 * reads at HV_M2P_VA); Xen leaves the rest of the range unmapped. */
static uint64_t m2p_mapped_bytes(const struct domain *d)
{
	return ALIGN_UP(d->hvl.m2p_bytes, PAGE_SIZE);
}

/* Instruction bytes come from the tables the vCPU runs on: the load may be
 * in guest user code, which Xen's M2P also serves. */
static size_t m2p_cb_fetch(void *ctx, uint64_t addr, uint8_t *buf, size_t len)
{
	struct vcpu *v = ctx;
	size_t n = 0;
	while (n < len && guest_copy_from_current(v, buf + n, addr + n, 1) == 0)
		n++;
	return n;
}

static int m2p_cb_read(void *ctx, uint64_t addr, void *buf, unsigned size)
{
	struct vcpu *v = ctx;
	uint64_t off = addr - MACH2PHYS_VIRT_START, limit = m2p_mapped_bytes(v->d);
	const uint8_t *m2p = v->d->hv + v->d->hvl.m2p;
	uint8_t *out = buf;

	if (addr < MACH2PHYS_VIRT_START || off >= limit || size > limit - off)
		return -1;
	/* MMU_MACHPHYS_UPDATE on another vCPU may store concurrently. */
	for (unsigned i = 0; i < size; i++)
		out[i] = __atomic_load_n(&m2p[off + i], __ATOMIC_RELAXED);
	return 0;
}

static const struct x86emu_ops m2p_ops = {
	.fetch = m2p_cb_fetch,
	.read = m2p_cb_read,
};

static void m2p_inject_pf(struct vcpu *v, uint64_t va, uint64_t ec)
{
	v->vinfo->arch.cr2 = va;
	vcpu_bounce(v, 14, true, ec | (v->in_kernel ? 0 : PFEC_USER));
}

/*
 * Xen maps the M2P read-only, non-executable and readable from guest user
 * mode too.  On hosts that reserve this PML4 slot every access faults
 * (with a reserved-bit error code the guest must not see); elsewhere the
 * slot is simply empty.  Reads are emulated from one fetched copy of the
 * instruction; anything else gets the #PF Xen's mapping would give.
 */
int emulate_m2p_fault(struct vcpu *v, uint64_t va, uint64_t err)
{
	struct x86emu_regs e;
	struct x86emu_outcome out;
	enum x86emu_status st;
	uint64_t limit = MACH2PHYS_VIRT_START + m2p_mapped_bytes(v->d);

	if (va < MACH2PHYS_VIRT_START || va >= MACH2PHYS_VIRT_END)
		return 0;
	if (va >= limit) {
		m2p_inject_pf(v, va, err & (PFEC_WRITE | PFEC_INSN));
		return 1;
	}
	if (err & (PFEC_WRITE | PFEC_INSN)) {
		m2p_inject_pf(v, va, PFEC_PRESENT | (err & (PFEC_WRITE | PFEC_INSN)));
		return 1;
	}
	regs_in(v, &e);
	st = x86emu_emulate_read(&e, &m2p_ops, v, va, &out);
	if (st == X86EMU_DONE) {
		regs_out(v, &e);
		return 1;
	}
	if (st == X86EMU_EXCEPTION && out.vector == X86EMU_VEC_PF && !out.fetch_fault) {
		/* The operand runs past the end of the table. */
		m2p_inject_pf(v, MAX(out.cr2, limit), 0);
		return 1;
	}
	log_debug("d%uv%u: M2P read at %#llx by an instruction kxen does not emulate (rip %#llx)",
		  v->d->domid, v->id, (unsigned long long)va, (unsigned long long)v->frame->rip);
	m2p_inject_pf(v, va, PFEC_PRESENT);
	return 1;
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
