/*
 * KVM plumbing: VMs, memory slots, vCPUs and their 64-bit PV start state.
 */
#include "arch/x86/x86.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/common.h"
#include "xen/xen.h"

#define MSR_EFER          0xc0000080
#define MSR_STAR          0xc0000081
#define MSR_LSTAR         0xc0000082
#define MSR_CSTAR         0xc0000083
#define MSR_SFMASK        0xc0000084
#define MSR_IA32_TSC      0x10
#define MSR_IA32_CR_PAT   0x277

int kvm_open_vm(struct kvm_vm *vm)
{
	memset(vm, 0, sizeof *vm);
	vm->vm_fd = -1;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return -errno;
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		close(vm->kvm_fd);
		return -ENOTSUP;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		int rc = -errno;
		close(vm->kvm_fd);
		vm->kvm_fd = -1;
		return rc;
	}
	int khz = ioctl(vm->vm_fd, KVM_GET_TSC_KHZ, 0);
	vm->tsc_khz = khz > 0 ? (uint64_t)khz : 0;
	return 0;
}

void kvm_close_vm(struct kvm_vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

int kvm_add_memory(struct kvm_vm *vm, unsigned slot, uint64_t gpa, void *host, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};
	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

int kvm_create_vcpu(struct kvm_vm *vm, unsigned id, struct kvm_vcpu *vc)
{
	memset(vc, 0, sizeof *vc);
	vc->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (vc->fd < 0)
		return -errno;
	int sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0)
		goto fail;
	vc->run_size = (size_t)sz;
	vc->run = mmap(NULL, vc->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vc->fd, 0);
	if (vc->run == MAP_FAILED)
		goto fail;
	int caps = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	vc->sync_regs = caps > 0 && (caps & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) ==
					   (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
	return 0;
fail:;
	int rc = errno ? -errno : -EIO;
	close(vc->fd);
	vc->fd = -1;
	vc->run = NULL;
	return rc;
}

void kvm_destroy_vcpu(struct kvm_vcpu *vc)
{
	if (vc->run)
		munmap(vc->run, vc->run_size);
	if (vc->fd >= 0)
		close(vc->fd);
	vc->run = NULL;
	vc->fd = -1;
}

static struct kvm_segment flat_seg(uint16_t sel, bool code, unsigned dpl)
{
	struct kvm_segment s = {
		.base = 0, .limit = 0xffffffff, .selector = sel, .present = 1,
		.dpl = (uint8_t)dpl, .s = 1, .g = 1,
	};
	if (code) {
		s.type = 0xb;
		s.l = 1;
	} else {
		s.type = 0x3;
		s.db = 1;
	}
	return s;
}

static int set_msrs(struct kvm_vcpu *vc, const uint32_t *idx, const uint64_t *val, unsigned n)
{
	union {
		struct kvm_msrs h;
		uint8_t bytes[sizeof(struct kvm_msrs) + 8 * sizeof(struct kvm_msr_entry)];
	} m;
	if (n > 8)
		return -EINVAL;
	memset(&m, 0, sizeof m);
	m.h.nmsrs = n;
	for (unsigned i = 0; i < n; i++) {
		m.h.entries[i].index = idx[i];
		m.h.entries[i].data = val[i];
	}
	return ioctl(vc->fd, KVM_SET_MSRS, &m) == (int)n ? 0 : -EIO;
}

void kvm_sregs_enter_cpl0(struct kvm_sregs *s)
{
	s->cs = flat_seg(0xe008, true, 0);
	s->ss = flat_seg(0xe010, false, 0);
}

bool kvm_vcpu_event_in_flight(struct kvm_vcpu *vc)
{
	struct kvm_vcpu_events ev;
	if (ioctl(vc->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return true;     /* cannot tell: assume the worst */
	return ev.exception.injected || ev.exception.pending || ev.interrupt.injected ||
	       ev.nmi.injected || ev.nmi.pending;
}

int kvm_vcpu_read_tsc(struct kvm_vcpu *vc, uint64_t *tsc)
{
	union {
		struct kvm_msrs h;
		uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} m;
	memset(&m, 0, sizeof m);
	m.h.nmsrs = 1;
	m.h.entries[0].index = MSR_IA32_TSC;
	if (ioctl(vc->fd, KVM_GET_MSRS, &m) != 1)
		return -EIO;
	*tsc = m.h.entries[0].data;
	return 0;
}

int kvm_vcpu_set_debugregs(struct kvm_vcpu *vc, const uint64_t addr[4], uint64_t dr6,
			   uint64_t dr7)
{
	struct kvm_debugregs d;
	memset(&d, 0, sizeof d);
	memcpy(d.db, addr, sizeof d.db);
	d.dr6 = dr6;
	d.dr7 = dr7;
	return ioctl(vc->fd, KVM_SET_DEBUGREGS, &d) < 0 ? -errno : 0;
}

int kvm_vcpu_get_debugregs(struct kvm_vcpu *vc, uint64_t addr[4], uint64_t *dr6, uint64_t *dr7)
{
	struct kvm_debugregs d;
	if (ioctl(vc->fd, KVM_GET_DEBUGREGS, &d) < 0)
		return -errno;
	memcpy(addr, d.db, sizeof d.db);
	*dr6 = d.dr6;
	*dr7 = d.dr7;
	return 0;
}

int kvm_vcpu_set_xcr0(struct kvm_vcpu *vc, uint64_t xcr0)
{
	struct kvm_xcrs x;
	memset(&x, 0, sizeof x);
	x.nr_xcrs = 1;
	x.xcrs[0].xcr = 0;
	x.xcrs[0].value = xcr0;
	return ioctl(vc->fd, KVM_SET_XCRS, &x) < 0 ? -errno : 0;
}

int kvm_vcpu_setup_pv(struct kvm_vm *vm, struct kvm_vcpu *vc, const struct hv_layout *l,
		      unsigned id, uint64_t cr3)
{
	struct kvm_sregs s;
	struct hv_vcpu_layout v;
	int rc;

	rc = kvm_vcpu_set_cpuid(vm, vc);
	if (rc)
		return rc;
	hv_vcpu_layout(l, id, &v);
	if (ioctl(vc->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	/* The vCPU always (re)enters through a CPL0 stub that irets into the
	 * guest, so it starts on the hypervisor's CPL0 selectors. */
	s.cs = flat_seg(0xe008, true, 0);
	s.ss = flat_seg(0xe010, false, 0);
	s.ds = s.es = s.fs = s.gs = flat_seg(0, false, 3);
	s.ds.present = s.es.present = s.fs.present = s.gs.present = 0;
	s.ds.unusable = s.es.unusable = s.fs.unusable = s.gs.unusable = 1;
	s.gdt.base = hv_va(v.gdt);
	s.gdt.limit = HV_GDT_PAGES * 4096 - 1;
	s.idt.base = hv_va(l->idt);
	s.idt.limit = 256 * 16 - 1;
	s.tr = (struct kvm_segment){ .base = hv_va(v.tss), .limit = 103, .selector = HV_SEL_TSS,
				     .type = 11, .present = 1 };
	s.ldt = (struct kvm_segment){ .selector = 0, .unusable = 1 };
	s.cr0 = 0x80050033;   /* PG WP NE ET MP PE */
	s.cr3 = cr3;
	s.cr4 = 0x620;        /* OSXMMEXCPT OSFXSR PAE */
	s.efer = 0xd01;       /* NXE LMA LME SCE */
	if (ioctl(vc->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;

	static const uint32_t idx[] = { MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_IA32_CR_PAT };
	const uint64_t val[] = {
		(uint64_t)0xe008 << 32 | (uint64_t)0xe020 << 48, /* sysret base: 0xe023/0xe02b/0xe033 */
		HV_LSTAR_VA, HV_LSTAR_VA,
		0x47700,                  /* clear TF DF IF NT AC on a host-CPL0 syscall */
		0x0000050100070406ull,    /* Xen's PAT layout */
	};
	return set_msrs(vc, idx, val, 5);
}
