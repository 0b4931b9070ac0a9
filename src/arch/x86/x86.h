/*
 * x86/KVM backend: one KVM VM per domain, one KVM vCPU per guest vCPU.
 *
 * Guest-physical layout of a domain's VM:
 *   [0, ram)                 the domain's RAM; MFN == PFN (each domain owns a
 *                            whole VM, so identity machine frames are safe)
 *   [HV_GPA_BASE, +hv_size)  hypervisor-owned frames: page tables of the
 *                            hypervisor slots, CPL0 stubs, IDT, shared_info,
 *                            grant-table frames, per-vCPU TSS/stack/GDT/LDT,
 *                            and the machine-to-phys table.
 *
 * Virtual layout shared by every top-level page table the guest runs on
 * (Xen's reserved slots 256-271; slot 256 is unusable on PVM hosts):
 *   slot 257  HV_M2P_VA   read-only M2P, readable from CPL3
 *   slot 258  HV_AREA_VA  hypervisor frames (supervisor only)
 *   slot 259  HV_DMAP_VA  supervisor-only direct map of RAM, through which
 *                         the vCPU's own CPL0 stub performs page-table writes
 */
#ifndef KXEN_ARCH_X86_H
#define KXEN_ARCH_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#define HV_GPA_BASE     (1ull << 36)
#define HV_MAX_RAM      HV_GPA_BASE
#define HV_M2P_VA       0xffff808000000000ull
#define HV_AREA_VA      0xffff810000000000ull
#define HV_DMAP_VA      0xffff818000000000ull
/* syscall jumps here; it is canonical and never mapped, so the fetch
 * faults with CR2 == HV_LSTAR_VA, which is how a syscall is recognised. */
#define HV_LSTAR_VA     0xffff820000000000ull
#define HV_FIRST_SLOT   257
#define HV_LAST_SLOT    259
#define L4_SLOT(va)     (((va) >> 39) & 511)

#define HV_GDT_PAGES    16
#define HV_LDT_PAGES    16
#define HV_STACK_PAGES  2
/* The lower page of the stack area is #DB's IST stack (IST2); every other
 * vector enters on IST1 at the top, which never needs a whole page. */
#define HV_DB_STACK_TOP 4096ull
#define HV_PTW_MAX      512   /* entries in one page-table re-store batch (a page of VAs) */
#define HV_GRANT_FRAMES 32

/* Selectors in the hypervisor-reserved GDT area (entry >= 7168). */
#define HV_SEL_CS32     0xe023
#define HV_SEL_DS       0xe02b
#define HV_SEL_CS64     0xe033
#define HV_SEL_TSS      0xe040   /* 16-byte descriptor: entries 7176-7177 */
#define HV_SEL_LDT      0xe050   /* 16-byte descriptor: entries 7178-7179 */

/* Offsets (bytes) of one vCPU's pages inside its per-vCPU block. */
struct hv_vcpu_layout {
	uint64_t tss, stack, scratch, gdt, ldt;
};

struct hv_layout {
	uint64_t size;             /* bytes of the hypervisor area */
	uint64_t stubs, idt, shared_info, grant, m2p, m2p_bytes;
	uint64_t pt_start, pt_end; /* hypervisor page tables */
	uint64_t vcpu_base, vcpu_stride;
	unsigned max_vcpus;
	uint64_t l4e[3];           /* L4 entries for slots 257..259 */
};

/* Frame pushed by the CPL0 entry stubs on the IST stack. */
struct x86_trap_frame {
	uint64_t vector, error_code, rip, cs, rflags, rsp, ss;
};

/* Compute the hypervisor area for a domain (pure arithmetic). */
int hv_layout_compute(struct hv_layout *l, uint64_t ram_pages, unsigned max_vcpus);
/* Fill the hypervisor area (host pointer hv, zeroed by the caller). */
void hv_area_init(struct hv_layout *l, uint8_t *hv, uint64_t ram_pages);

static inline uint64_t hv_va(uint64_t off) { return HV_AREA_VA + off; }
static inline uint64_t hv_gpa(uint64_t off) { return HV_GPA_BASE + off; }
static inline uint64_t hv_vcpu_off(const struct hv_layout *l, unsigned id)
{
	return l->vcpu_base + (uint64_t)id * l->vcpu_stride;
}
void hv_vcpu_layout(const struct hv_layout *l, unsigned id, struct hv_vcpu_layout *v);

/* Offsets of the stubs inside the stub page. */
uint64_t hv_stub_iret(void);
uint64_t hv_stub_ptw(void);
uint64_t hv_stub_ptw_sync(void);
uint64_t hv_stub_entry(unsigned vector);

/* ---- KVM plumbing ----------------------------------------------------- */
struct kvm_vm {
	int vm_fd;
	int kvm_fd;
	uint64_t tsc_khz;
};

struct kvm_vcpu {
	int fd;
	struct kvm_run *run;
	size_t run_size;
	bool sync_regs;   /* KVM_CAP_SYNC_REGS in use */
};

int kvm_open_vm(struct kvm_vm *vm);
void kvm_close_vm(struct kvm_vm *vm);
int kvm_add_memory(struct kvm_vm *vm, unsigned slot, uint64_t gpa, void *host, uint64_t size);
int kvm_create_vcpu(struct kvm_vm *vm, unsigned id, struct kvm_vcpu *vc);
void kvm_destroy_vcpu(struct kvm_vcpu *vc);
/* Put a vCPU into 64-bit mode at CPL3 on the hypervisor's GDT/IDT/TSS. */
int kvm_vcpu_setup_pv(struct kvm_vm *vm, struct kvm_vcpu *vc, const struct hv_layout *l,
		      unsigned id, uint64_t cr3);
/* Switch saved segment state to the hypervisor's CPL0 selectors. */
void kvm_sregs_enter_cpl0(struct kvm_sregs *s);
/* Whether KVM holds an exception or interrupt not yet delivered to the
 * guest (the vCPU was stopped in the middle of an event delivery). */
bool kvm_vcpu_event_in_flight(struct kvm_vcpu *vc);
/* The vCPU's hardware debug registers (DR0-3, DR6, DR7). */
int kvm_vcpu_set_debugregs(struct kvm_vcpu *vc, const uint64_t addr[4], uint64_t dr6,
			   uint64_t dr7);
int kvm_vcpu_get_debugregs(struct kvm_vcpu *vc, uint64_t addr[4], uint64_t *dr6, uint64_t *dr7);
/* The vCPU's XCR0 (KVM_SET_XCRS). */
int kvm_vcpu_set_xcr0(struct kvm_vcpu *vc, uint64_t xcr0);
/* Read the guest TSC (MSR 0x10) of a vCPU. */
int kvm_vcpu_read_tsc(struct kvm_vcpu *vc, uint64_t *tsc);

/* The CPUID the guest sees (both plain cpuid and the forced-emulation
 * prefix answer from this policy). */
void cpuid_policy(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
int kvm_vcpu_set_cpuid(struct kvm_vm *vm, struct kvm_vcpu *vc);
/* XSAVE state components (XCR0 bits). */
#define XSTATE_X87 0x1ull
#define XSTATE_SSE 0x2ull
#define XSTATE_YMM 0x4ull
/* The XCR0 bits a guest may enable (0: no XSAVE offered). */
uint64_t cpuid_xcr0_offered(void);
/* Bytes of the XSAVE area (XSAVEC's compacted one) for those of xcr0's
 * components offered. */
uint32_t cpuid_xsave_size(uint64_t xcr0, bool compacted);
/* KVM offers FSGSBASE: the VM's CR4.FSGSBASE decides whether the guest
 * can use the instructions (VT-x, AMD-V). */
bool cpuid_fsgsbase_follows_vm_cr4(void);
/* The host's KVM is PVM-style (kvm_pvm): guest code runs at the host's
 * CPL3 with the host's CR4, CPL0 is emulated. */
bool kvm_host_is_pvm(void);

/* Build a 64-bit code/data or system descriptor. */
uint64_t x86_desc(uint32_t base, uint32_t limit, unsigned type, unsigned dpl,
		  bool code64, bool gran4k);

#endif
