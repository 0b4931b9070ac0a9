/*
 * Instructions a PV kernel executes directly and expects the hypervisor to
 * emulate after the #GP/#UD they raise at CPL3: the forced-emulation CPUID
 * prefix, plain CPUID, RDMSR/WRMSR, moves to and from control registers,
 * port I/O, WBINVD.  Anything else is handed back to the guest as a fault.
 */
#include <errno.h>
#include <string.h>

#include "common/common.h"
#include "core/core-internal.h"

#define MSR_FS_BASE        0xc0000100
#define MSR_GS_BASE        0xc0000101
#define MSR_SHADOW_GS_BASE 0xc0000102
#define MSR_EFER           0xc0000080
#define MSR_IA32_CR_PAT    0x277
#define MSR_IA32_APICBASE  0x1b
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_TSC       0x10

static int fetch(struct vcpu *v, uint64_t rip, uint8_t *buf, size_t *len)
{
	size_t n = 15;
	while (n > 0 && guest_copy_from(v, buf, rip, n))
		n--;
	*len = n;
	return n ? 0 : -EFAULT;
}

static void do_cpuid(struct vcpu *v)
{
	uint32_t out[4];
	cpuid_policy((uint32_t)v->regs->rax, (uint32_t)v->regs->rcx, out);
	if ((uint32_t)v->regs->rax == 1)
		out[1] = (out[1] & 0x00ffffff) | (v->id << 24);
	v->regs->rax = out[0];
	v->regs->rbx = out[1];
	v->regs->rcx = out[2];
	v->regs->rdx = out[3];
}

static bool rdmsr(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	switch (msr) {
	case MSR_FS_BASE:
		*val = v->sregs->fs.base;
		return true;
	case MSR_GS_BASE:
		*val = v->sregs->gs.base;
		return true;
	case MSR_SHADOW_GS_BASE:
		*val = v->in_kernel ? v->gs_base_user : v->gs_base_kernel;
		return true;
	case MSR_EFER:
		*val = v->sregs->efer;
		return true;
	case MSR_IA32_CR_PAT:
		*val = 0x0000050100070406ull;
		return true;
	case MSR_IA32_APICBASE:
		*val = 0xfee00000ull | (v->id == 0 ? 0x100 : 0) | 0x800;
		return true;
	case MSR_IA32_MISC_ENABLE:
		*val = 1;   /* fast strings */
		return true;
	default:
		return false;
	}
}

static bool wrmsr(struct vcpu *v, uint32_t msr, uint64_t val)
{
	switch (msr) {
	case MSR_FS_BASE:
		vcpu_set_fs(v, val);
		return true;
	case MSR_GS_BASE:
		if (v->in_kernel)
			vcpu_set_kernel_gs(v, val);
		else
			vcpu_set_user_gs(v, val);
		return true;
	case MSR_SHADOW_GS_BASE:
		if (v->in_kernel)
			vcpu_set_user_gs(v, val);
		else
			vcpu_set_kernel_gs(v, val);
		return true;
	case MSR_EFER:
		return val == v->sregs->efer;
	default:
		return false;
	}
}

/* 1 = emulated (RIP advanced), 0 = not ours (bounce the fault). */
int emulate_priv_op(struct vcpu *v, unsigned vector)
{
	struct kvm_regs *r = v->regs;
	struct x86_trap_frame *f = v->frame;
	uint8_t b[15];
	size_t len;

	if (!v->in_kernel || fetch(v, f->rip, b, &len))
		return 0;
	/* ud2; .ascii "xen"; cpuid */
	if (vector == 6 && len >= 7 && b[0] == 0x0f && b[1] == 0x0b && b[2] == 'x' &&
	    b[3] == 'e' && b[4] == 'n' && b[5] == 0x0f && b[6] == 0xa2) {
		do_cpuid(v);
		f->rip += 7;
		goto done;
	}
	if (vector != 13 || len < 1)
		return 0;
	if (len >= 2 && b[0] == 0x0f) {
		switch (b[1]) {
		case 0xa2:
			do_cpuid(v);
			f->rip += 2;
			goto done;
		case 0x30: {        /* wrmsr */
			uint64_t val = (r->rdx << 32) | (uint32_t)r->rax;
			if (!wrmsr(v, (uint32_t)r->rcx, val))
				return 0;
			f->rip += 2;
			goto done;
		}
		case 0x32: {        /* rdmsr */
			uint64_t val;
			if (!rdmsr(v, (uint32_t)r->rcx, &val))
				return 0;
			r->rax = (uint32_t)val;
			r->rdx = val >> 32;
			f->rip += 2;
			goto done;
		}
		case 0x09:          /* wbinvd */
		case 0x06:          /* clts */
			f->rip += 2;
			goto done;
		default:
			break;
		}
	}
	return 0;
done:
	v->kvm.run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return 1;
}
