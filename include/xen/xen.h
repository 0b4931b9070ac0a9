/*
 * The Xen guest ABI as kxen implements it: 64-bit x86 PV guests.
 *
 * Written for kxen from the documented layouts (Xen's public headers are the
 * reference for the facts).  Freestanding: only <stdint.h>, so the daemon and
 * the test guests share these definitions.  Every structure that crosses the
 * guest boundary has its size checked at compile time.
 */
#ifndef KXEN_XEN_H
#define KXEN_XEN_H

#include <stdint.h>

typedef uint16_t xen_domid_t;
typedef uint32_t evtchn_port_t;
typedef uint32_t grant_ref_t;
typedef uint32_t grant_handle_t;
typedef uint64_t xen_pfn_t;

#define DOMID_FIRST_RESERVED 0x7ff0u
#define DOMID_SELF           0x7ff0u
#define DOMID_IO             0x7ff1u
#define DOMID_XEN            0x7ff2u
#define DOMID_COW            0x7ff3u
#define DOMID_INVALID        0x7ff4u
#define DOMID_IDLE           0x7fffu

/* ---- error numbers returned to guests (same values as Linux x86) ------- */
#define XEN_EPERM        1
#define XEN_ENOENT       2
#define XEN_ESRCH        3
#define XEN_EINTR        4
#define XEN_EIO          5
#define XEN_ENXIO        6
#define XEN_E2BIG        7
#define XEN_EBADF        9
#define XEN_EAGAIN      11
#define XEN_ENOMEM      12
#define XEN_EACCES      13
#define XEN_EFAULT      14
#define XEN_EBUSY       16
#define XEN_EEXIST      17
#define XEN_ENODEV      19
#define XEN_EINVAL      22
#define XEN_ENOSPC      28
#define XEN_ERANGE      34
#define XEN_ENOSYS      38
#define XEN_ENOTEMPTY   39
#define XEN_ETIME       62
#define XEN_EOPNOTSUPP  95
#define XEN_EISCONN    106
#define XEN_ENOTCONN   107

/* ---- hypercall numbers -------------------------------------------------- */
#define __HYPERVISOR_set_trap_table          0
#define __HYPERVISOR_mmu_update              1
#define __HYPERVISOR_set_gdt                 2
#define __HYPERVISOR_stack_switch            3
#define __HYPERVISOR_set_callbacks           4
#define __HYPERVISOR_fpu_taskswitch          5
#define __HYPERVISOR_sched_op_compat         6
#define __HYPERVISOR_platform_op             7
#define __HYPERVISOR_set_debugreg            8
#define __HYPERVISOR_get_debugreg            9
#define __HYPERVISOR_update_descriptor      10
#define __HYPERVISOR_memory_op              12
#define __HYPERVISOR_multicall              13
#define __HYPERVISOR_update_va_mapping      14
#define __HYPERVISOR_set_timer_op           15
#define __HYPERVISOR_event_channel_op_compat 16
#define __HYPERVISOR_xen_version            17
#define __HYPERVISOR_console_io             18
#define __HYPERVISOR_physdev_op_compat      19
#define __HYPERVISOR_grant_table_op         20
#define __HYPERVISOR_vm_assist              21
#define __HYPERVISOR_update_va_mapping_otherdomain 22
#define __HYPERVISOR_iret                   23
#define __HYPERVISOR_vcpu_op                24
#define __HYPERVISOR_set_segment_base       25
#define __HYPERVISOR_mmuext_op              26
#define __HYPERVISOR_xsm_op                 27
#define __HYPERVISOR_nmi_op                 28
#define __HYPERVISOR_sched_op               29
#define __HYPERVISOR_callback_op            30
#define __HYPERVISOR_xenoprof_op            31
#define __HYPERVISOR_event_channel_op       32
#define __HYPERVISOR_physdev_op             33
#define __HYPERVISOR_hvm_op                 34
#define __HYPERVISOR_sysctl                 35
#define __HYPERVISOR_domctl                 36
#define __HYPERVISOR_kexec_op               37
#define __HYPERVISOR_tmem_op                38
#define __HYPERVISOR_argo_op                39
#define __HYPERVISOR_xenpmu_op              40
#define __HYPERVISOR_dm_op                  41
#define __HYPERVISOR_hypfs_op               42
#define XEN_NR_HYPERCALLS                   64

/* ---- segment selectors of the hypervisor-reserved GDT area -------------- */
#define FIRST_RESERVED_GDT_PAGE   14
#define FIRST_RESERVED_GDT_BYTE   (FIRST_RESERVED_GDT_PAGE * 4096)
#define FIRST_RESERVED_GDT_ENTRY  (FIRST_RESERVED_GDT_BYTE / 8)
#define FLAT_RING3_CS32  0xe023
#define FLAT_RING3_CS64  0xe033
#define FLAT_RING3_DS32  0xe02b
#define FLAT_RING3_DS64  0x0000
#define FLAT_RING3_SS32  0xe02b
#define FLAT_RING3_SS64  0xe02b
#define FLAT_KERNEL_CS   FLAT_RING3_CS64
#define FLAT_KERNEL_DS   FLAT_RING3_DS64
#define FLAT_KERNEL_SS   FLAT_RING3_SS64
#define FLAT_USER_CS     FLAT_RING3_CS64
#define FLAT_USER_DS     FLAT_RING3_DS64
#define FLAT_USER_SS     FLAT_RING3_SS64

/* Where the hypervisor lives in every guest address space. */
#define HYPERVISOR_VIRT_START 0xffff800000000000ull
#define HYPERVISOR_VIRT_END   0xffff880000000000ull
/* The read-only machine-to-phys table at its fixed ABI address (guests may
 * also ask XENMEM_machphys_mapping where it is). */
#define MACH2PHYS_VIRT_START  0xffff800000000000ull
#define MACH2PHYS_VIRT_END    0xffff804000000000ull

/* ---- trap table (set_trap_table) ---------------------------------------- */
struct trap_info {
	uint8_t  vector;
	uint8_t  flags;     /* bits 0-1: DPL for `int n`; bit 2: mask events */
	uint16_t cs;
	uint32_t _pad;
	uint64_t address;   /* 0 terminates the table */
};
#define TI_GET_DPL(t)  ((t)->flags & 3)
#define TI_GET_IF(t)   (((t)->flags >> 2) & 1)

/* ---- register frame of vcpu_guest_context ------------------------------- */
struct cpu_user_regs {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	uint64_t rax, rcx, rdx, rsi, rdi;
	uint32_t error_code;
	uint32_t entry_vector;
	uint64_t rip;
	uint16_t cs, _pad0[1];
	uint8_t  saved_upcall_mask;
	uint8_t  _pad1[3];
	uint64_t rflags;
	uint64_t rsp;
	uint16_t ss, _pad2[3];
	uint16_t es, _pad3[3];
	uint16_t ds, _pad4[3];
	uint16_t fs, _pad5[3];
	uint16_t gs, _pad6[3];
};

#define VGCF_I387_VALID   (1u << 0)
#define VGCF_IN_KERNEL    (1u << 2)
#define VGCF_FAILSAFE_DISABLES_EVENTS (1u << 3)
#define VGCF_SYSCALL_DISABLES_EVENTS  (1u << 4)
#define VGCF_ONLINE       (1u << 5)
#define VGCF_IN_SYSCALL   (1u << 8)

struct vcpu_guest_context {
	uint8_t  fpu_ctxt[512];
	uint64_t flags;
	struct cpu_user_regs user_regs;
	struct trap_info trap_ctxt[256];
	uint64_t ldt_base, ldt_ents;
	uint64_t gdt_frames[16], gdt_ents;
	uint64_t kernel_ss, kernel_sp;
	uint64_t ctrlreg[8];
	uint64_t debugreg[8];
	uint64_t event_callback_eip;
	uint64_t failsafe_callback_eip;
	uint64_t syscall_callback_eip;
	uint64_t vm_assist;
	uint64_t fs_base, gs_base_kernel, gs_base_user;
};

/* Frame that HYPERVISOR_iret pops from the guest stack. */
struct iret_context {
	uint64_t rax, r11, rcx, flags, rip, cs, rflags, rsp, ss;
};

/* ---- start of day ------------------------------------------------------- */
#define MAX_GUEST_CMDLINE 1024
struct start_info {
	char     magic[32];          /* "xen-3.0-x86_64" */
	uint64_t nr_pages;
	uint64_t shared_info;        /* machine address of shared_info */
	uint32_t flags;
	uint32_t _pad0;
	xen_pfn_t store_mfn;
	uint32_t store_evtchn;
	uint32_t _pad1;
	union {
		struct {
			xen_pfn_t mfn;
			uint32_t evtchn;
			uint32_t _pad;
		} domU;
		struct {
			uint32_t info_off, info_size;
		} dom0;
	} console;
	uint64_t pt_base;            /* VA of the bootstrap L4 */
	uint64_t nr_pt_frames;
	uint64_t mfn_list;           /* VA of the p2m list */
	uint64_t mod_start;          /* VA, or PFN with SIF_MOD_START_PFN */
	uint64_t mod_len;
	int8_t   cmd_line[MAX_GUEST_CMDLINE];
	uint64_t first_p2m_pfn;
	uint64_t nr_p2m_frames;
};
#define SIF_PRIVILEGED      (1u << 0)
#define SIF_INITDOMAIN      (1u << 1)
#define SIF_MULTIBOOT_MOD   (1u << 2)
#define SIF_MOD_START_PFN   (1u << 3)
#define SIF_VIRT_P2M_4TOOLS (1u << 4)

/* ---- shared_info / vcpu_info -------------------------------------------- */
struct vcpu_time_info {
	uint32_t version;
	uint32_t _pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t   tsc_shift;
	uint8_t  flags;
	uint8_t  _pad1[2];
};
#define XEN_PVCLOCK_TSC_STABLE_BIT   (1u << 0)
#define XEN_PVCLOCK_GUEST_STOPPED    (1u << 1)

struct arch_vcpu_info {
	uint64_t cr2;
	uint64_t _pad;
};

struct vcpu_info {
	uint8_t  evtchn_upcall_pending;
	uint8_t  evtchn_upcall_mask;
	uint8_t  _pad[6];
	uint64_t evtchn_pending_sel;
	struct arch_vcpu_info arch;
	struct vcpu_time_info time;
};

#define XEN_LEGACY_MAX_VCPUS 32
#define EVTCHN_2L_NR_CHANNELS 4096

struct arch_shared_info {
	uint64_t max_pfn;
	uint64_t pfn_to_mfn_frame_list_list;
	uint64_t nmi_reason;
	uint64_t p2m_cr3;
	uint64_t p2m_vaddr;
	uint64_t p2m_generation;
};

struct shared_info {
	struct vcpu_info vcpu_info[XEN_LEGACY_MAX_VCPUS];
	uint64_t evtchn_pending[64];
	uint64_t evtchn_mask[64];
	uint32_t wc_version;
	uint32_t wc_sec;
	uint32_t wc_nsec;
	uint32_t wc_sec_hi;
	struct arch_shared_info arch;
};

/* ---- mmu_update / mmuext_op / update_va_mapping ------------------------- */
struct mmu_update {
	uint64_t ptr;   /* machine address of the PTE | command in bits 0-1 */
	uint64_t val;
};
#define MMU_NORMAL_PT_UPDATE        0
#define MMU_MACHPHYS_UPDATE         1
#define MMU_PT_UPDATE_PRESERVE_AD   2
/* In the count of mmu_update / mmuext_op: a continuation of a preempted
 * batch; *done holds the entries already done. */
#define MMU_UPDATE_PREEMPTED 0x80000000u
#define MMU_PT_UPDATE_NO_TRANSLATE  3

struct mmuext_op {
	uint32_t cmd;
	uint32_t _pad;
	union {
		xen_pfn_t mfn;
		uint64_t  linear_addr;
	} arg1;
	union {
		uint32_t nr_ents;
		uint64_t vcpumask;     /* guest VA of a vCPU bitmap */
		xen_pfn_t src_mfn;
	} arg2;
};
#define MMUEXT_PIN_L1_TABLE      0
#define MMUEXT_PIN_L2_TABLE      1
#define MMUEXT_PIN_L3_TABLE      2
#define MMUEXT_PIN_L4_TABLE      3
#define MMUEXT_UNPIN_TABLE       4
#define MMUEXT_NEW_BASEPTR       5
#define MMUEXT_TLB_FLUSH_LOCAL   6
#define MMUEXT_INVLPG_LOCAL      7
#define MMUEXT_TLB_FLUSH_MULTI   8
#define MMUEXT_INVLPG_MULTI      9
#define MMUEXT_TLB_FLUSH_ALL    10
#define MMUEXT_INVLPG_ALL       11
#define MMUEXT_FLUSH_CACHE      12
#define MMUEXT_SET_LDT          13
#define MMUEXT_NEW_USER_BASEPTR 15
#define MMUEXT_CLEAR_PAGE       16
#define MMUEXT_COPY_PAGE        17
#define MMUEXT_FLUSH_CACHE_GLOBAL 18
#define MMUEXT_MARK_SUPER       19
#define MMUEXT_UNMARK_SUPER     20

#define UVMF_NONE        0
#define UVMF_TLB_FLUSH   1
#define UVMF_INVLPG      2
#define UVMF_FLUSHTYPE_MASK 3
#define UVMF_MULTI       0
#define UVMF_LOCAL       0
#define UVMF_ALL         4

/* ---- multicall ---------------------------------------------------------- */
struct multicall_entry {
	uint64_t op;
	uint64_t result;
	uint64_t args[6];
};

/* ---- vm_assist ------------------------------------------------------------ */
#define VMASST_CMD_enable  0
#define VMASST_CMD_disable 1
#define VMASST_TYPE_4gb_segments         0
#define VMASST_TYPE_4gb_segments_notify  1
#define VMASST_TYPE_writable_pagetables  2
#define VMASST_TYPE_pae_extended_cr3     3
#define VMASST_TYPE_architectural_iopl   4
#define VMASST_TYPE_runstate_update_flag 5
#define VMASST_TYPE_m2p_strict          32

/* ---- set_segment_base --------------------------------------------------- */
#define SEGBASE_FS          0
#define SEGBASE_GS_USER     1
#define SEGBASE_GS_KERNEL   2
#define SEGBASE_GS_USER_SEL 3

/* ---- sched_op ----------------------------------------------------------- */
#define SCHEDOP_yield        0
#define SCHEDOP_block        1
#define SCHEDOP_shutdown     2
#define SCHEDOP_poll         3
#define SCHEDOP_remote_shutdown 4
#define SCHEDOP_shutdown_code 5
#define SCHEDOP_watchdog     6
#define SCHEDOP_pin_override 7

#define SHUTDOWN_poweroff  0
#define SHUTDOWN_reboot    1
#define SHUTDOWN_suspend   2
#define SHUTDOWN_crash     3
#define SHUTDOWN_watchdog  4
#define SHUTDOWN_soft_reset 5

struct sched_shutdown {
	uint32_t reason;
};
struct sched_poll {
	uint64_t ports;      /* guest VA of evtchn_port_t[nr_ports] */
	uint32_t nr_ports;
	uint32_t _pad;
	uint64_t timeout;    /* absolute system time, ns; 0 = none */
};

/* ---- vcpu_op ------------------------------------------------------------ */
#define VCPUOP_initialise              0
#define VCPUOP_up                      1
#define VCPUOP_down                    2
#define VCPUOP_is_up                   3
#define VCPUOP_get_runstate_info       4
#define VCPUOP_register_runstate_memory_area 5
#define VCPUOP_set_periodic_timer      6
#define VCPUOP_stop_periodic_timer     7
#define VCPUOP_set_singleshot_timer    8
#define VCPUOP_stop_singleshot_timer   9
#define VCPUOP_register_vcpu_info     10
#define VCPUOP_send_nmi               11
#define VCPUOP_get_physid             12
#define VCPUOP_register_vcpu_time_memory_area 13

struct vcpu_runstate_info {
	int32_t  state;
	uint32_t _pad;
	uint64_t state_entry_time;
	uint64_t time[4];
};
#define RUNSTATE_running  0
#define RUNSTATE_runnable 1
#define RUNSTATE_blocked  2
#define RUNSTATE_offline  3
#define XEN_RUNSTATE_UPDATE (1ull << 63)

struct vcpu_set_periodic_timer {
	uint64_t period_ns;
};
struct vcpu_set_singleshot_timer {
	uint64_t timeout_abs_ns;
	uint32_t flags;
	uint32_t _pad;
};
#define VCPU_SSHOTTMR_future (1u << 0)

struct vcpu_register_vcpu_info {
	uint64_t mfn;
	uint32_t offset;
	uint32_t rsvd;
};

/* ---- callback_op -------------------------------------------------------- */
#define CALLBACKOP_register   0
#define CALLBACKOP_unregister 1
#define CALLBACKTYPE_event     0
#define CALLBACKTYPE_failsafe  1
#define CALLBACKTYPE_syscall   2   /* 64-bit user `syscall` */
#define CALLBACKTYPE_sysenter_deprecated 3   /* retired number, refused */
#define CALLBACKTYPE_nmi       4
#define CALLBACKTYPE_sysenter  5   /* `sysenter` from user mode */
#define CALLBACKTYPE_syscall32 7   /* `syscall` from 32-bit user code */
#define CALLBACKF_mask_events  (1u << 0)

struct callback_register {
	uint16_t type;
	uint16_t flags;
	uint32_t _pad;
	uint64_t address;
};
struct callback_unregister {
	uint16_t type;
	uint16_t _unused;
};

/* ---- event_channel_op --------------------------------------------------- */
#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq        1
#define EVTCHNOP_bind_pirq        2
#define EVTCHNOP_close            3
#define EVTCHNOP_send             4
#define EVTCHNOP_status           5
#define EVTCHNOP_alloc_unbound    6
#define EVTCHNOP_bind_ipi         7
#define EVTCHNOP_bind_vcpu        8
#define EVTCHNOP_unmask           9
#define EVTCHNOP_reset           10
#define EVTCHNOP_init_control    11
#define EVTCHNOP_expand_array    12
#define EVTCHNOP_set_priority    13

struct evtchn_alloc_unbound {
	xen_domid_t dom, remote_dom;
	evtchn_port_t port;
};
struct evtchn_bind_interdomain {
	xen_domid_t remote_dom;
	uint16_t _pad;
	evtchn_port_t remote_port;
	evtchn_port_t local_port;
};
struct evtchn_bind_virq {
	uint32_t virq;
	uint32_t vcpu;
	evtchn_port_t port;
};
struct evtchn_bind_ipi {
	uint32_t vcpu;
	evtchn_port_t port;
};
struct evtchn_port_op {           /* close, send, unmask */
	evtchn_port_t port;
};
struct evtchn_status {
	xen_domid_t dom;
	uint16_t _pad;
	evtchn_port_t port;
	uint32_t status;
	uint32_t vcpu;
	union {
		struct { xen_domid_t dom; } unbound;
		struct { xen_domid_t dom; uint16_t _pad; evtchn_port_t port; } interdomain;
		uint32_t pirq;
		uint32_t virq;
	} u;
};
#define EVTCHNSTAT_closed     0
#define EVTCHNSTAT_unbound    1
#define EVTCHNSTAT_interdomain 2
#define EVTCHNSTAT_pirq       3
#define EVTCHNSTAT_virq       4
#define EVTCHNSTAT_ipi        5
struct evtchn_bind_vcpu {
	evtchn_port_t port;
	uint32_t vcpu;
};

#define VIRQ_TIMER     0
#define VIRQ_DEBUG     1
#define VIRQ_CONSOLE   2
#define VIRQ_DOM_EXC   3
#define VIRQ_TBUF      4
#define VIRQ_DEBUGGER  6
#define VIRQ_XENOPROF  7
#define VIRQ_CON_RING  8
#define VIRQ_PCPU_STATE 9
#define VIRQ_MEM_EVENT 10
#define VIRQ_ARGO      11
#define VIRQ_ENOMEM    12
#define VIRQ_XENPMU    13
#define NR_VIRQS       24

/* ---- grant tables (v1) -------------------------------------------------- */
#define GNTTABOP_map_grant_ref     0
#define GNTTABOP_unmap_grant_ref   1
#define GNTTABOP_setup_table       2
#define GNTTABOP_dump_table        3
#define GNTTABOP_transfer          4
#define GNTTABOP_copy              5
#define GNTTABOP_query_size        6
#define GNTTABOP_unmap_and_replace 7
#define GNTTABOP_set_version       8
#define GNTTABOP_get_status_frames 9
#define GNTTABOP_get_version      10

struct grant_entry_v1 {
	uint16_t flags;
	xen_domid_t domid;
	uint32_t frame;
};
#define GTF_invalid          0
#define GTF_permit_access    1
#define GTF_accept_transfer  2
#define GTF_transitive       3
#define GTF_type_mask        3
#define GTF_readonly        (1u << 2)
#define GTF_reading         (1u << 3)
#define GTF_writing         (1u << 4)

#define GNTST_okay              0
#define GNTST_general_error    (-1)
#define GNTST_bad_domain       (-2)
#define GNTST_bad_gntref       (-3)
#define GNTST_bad_handle       (-4)
#define GNTST_bad_virt_addr    (-5)
#define GNTST_bad_dev_addr     (-6)
#define GNTST_no_device_space  (-7)
#define GNTST_permission_denied (-8)
#define GNTST_bad_page         (-9)
#define GNTST_bad_copy_arg    (-10)
#define GNTST_address_too_big (-11)
#define GNTST_eagain          (-12)
#define GNTST_no_space        (-13)

struct gnttab_setup_table {
	xen_domid_t dom;
	uint16_t _pad0;
	uint32_t nr_frames;
	int16_t  status;
	uint16_t _pad1[3];
	uint64_t frame_list;     /* guest VA of xen_pfn_t[nr_frames] (OUT) */
};
struct gnttab_query_size {
	xen_domid_t dom;
	uint16_t _pad0;
	uint32_t nr_frames;
	uint32_t max_nr_frames;
	int16_t  status;
	uint16_t _pad1;
};
struct gnttab_set_version {
	uint32_t version;
};

/* ---- memory_op ---------------------------------------------------------- */
#define XENMEM_increase_reservation 0
#define XENMEM_decrease_reservation 1
#define XENMEM_maximum_ram_page     2
#define XENMEM_current_reservation  3
#define XENMEM_maximum_reservation  4
#define XENMEM_machphys_mfn_list    5
#define XENMEM_populate_physmap     6
#define XENMEM_add_to_physmap       7
#define XENMEM_memory_map           9
#define XENMEM_machine_memory_map  10
#define XENMEM_exchange            11
#define XENMEM_machphys_mapping    12
#define XENMEM_maximum_gpfn        14

struct xen_memory_reservation {
	uint64_t extent_start;   /* guest VA of xen_pfn_t[] */
	uint64_t nr_extents;
	uint32_t extent_order;
	uint32_t mem_flags;
	xen_domid_t domid;
	uint16_t _pad[3];
};
struct xen_machphys_mapping {
	uint64_t v_start, v_end;
	uint64_t max_mfn;
};
struct xen_memory_map {
	uint32_t nr_entries;
	uint32_t _pad;
	uint64_t buffer;         /* guest VA of struct e820_entry[] */
};
struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));
#define E820_RAM      1
#define E820_RESERVED 2

/* ---- xen_version -------------------------------------------------------- */
#define XENVER_version      0
#define XENVER_extraversion 1
#define XENVER_compile_info 2
#define XENVER_capabilities 3
#define XENVER_changeset    4
#define XENVER_platform_parameters 5
#define XENVER_get_features 6
#define XENVER_pagesize     7
#define XENVER_guest_handle 8
#define XENVER_commandline  9
#define XENVER_build_id    10

struct xen_feature_info {
	uint32_t submap_idx;
	uint32_t submap;
};
struct xen_compile_info {
	char compiler[64];
	char compile_by[16];
	char compile_domain[32];
	char compile_date[32];
};
struct xen_platform_parameters {
	uint64_t virt_start;
};

#define XENFEAT_writable_page_tables        0
#define XENFEAT_writable_descriptor_tables  1
#define XENFEAT_auto_translated_physmap     2
#define XENFEAT_supervisor_mode_kernel      3
#define XENFEAT_pae_pgdir_above_4gb         4
#define XENFEAT_mmu_pt_update_preserve_ad   5
#define XENFEAT_highmem_assist              6
#define XENFEAT_gnttab_map_avail_bits       7
#define XENFEAT_hvm_callback_vector         8
#define XENFEAT_hvm_safe_pvclock            9
#define XENFEAT_hvm_pirqs                  10
#define XENFEAT_dom0                       11
#define XENFEAT_memory_op_vnode_supported  13
#define XENFEAT_ARM_SMCCC_supported        14
#define XENFEAT_linux_rsdp_unrestricted    15
#define XENFEAT_direct_mapped              16
#define XENFEAT_not_direct_mapped          17
#define XENFEAT_dom0_sees_dma_ranges       18
#define XENFEAT_hvm_pirqs_unsupported      19
#define XENFEAT_ioreq_guest_mapping        20

/* ---- console_io --------------------------------------------------------- */
#define CONSOLEIO_write 0
#define CONSOLEIO_read  1

/* ---- physdev_op --------------------------------------------------------- */
#define PHYSDEVOP_eoi              12
#define PHYSDEVOP_irq_status_query  5
#define PHYSDEVOP_set_iopl          6
#define PHYSDEVOP_set_iobitmap      7
#define PHYSDEVOP_pirq_eoi_gmfn_v2 28
struct physdev_set_iopl {
	uint32_t iopl;
};
struct physdev_set_iobitmap {
	uint64_t bitmap;
	uint32_t nr_ports;
	uint32_t _pad;
};

/* ---- CPUID interface ---------------------------------------------------- */
#define XEN_CPUID_FIRST_LEAF 0x40000000u
/* ud2; .ascii "xen"; cpuid -- the PV forced-emulation prefix + CPUID. */
#define XEN_EMULATE_PREFIX_LEN 5

/* ---- PTE bits the PV MMU cares about ------------------------------------ */
#define _PAGE_PRESENT   (1ull << 0)
#define _PAGE_RW        (1ull << 1)
#define _PAGE_USER      (1ull << 2)
#define _PAGE_PWT       (1ull << 3)
#define _PAGE_PCD       (1ull << 4)
#define _PAGE_ACCESSED  (1ull << 5)
#define _PAGE_DIRTY     (1ull << 6)
#define _PAGE_PSE       (1ull << 7)
#define _PAGE_PAT       (1ull << 7)
#define _PAGE_GLOBAL    (1ull << 8)
#define _PAGE_AVAIL     (7ull << 9)
#define _PAGE_GUEST_KERNEL (1ull << 12)
#define _PAGE_NX        (1ull << 63)
#define PTE_ADDR_MASK   0x000ffffffffff000ull

#define XEN_PAGE_SHIFT 12
#define XEN_PAGE_SIZE  4096ul

_Static_assert(sizeof(struct trap_info) == 16, "trap_info");
_Static_assert(sizeof(struct cpu_user_regs) == 200, "cpu_user_regs");
_Static_assert(sizeof(struct vcpu_guest_context) == 5168, "vcpu_guest_context");
_Static_assert(sizeof(struct start_info) == 1168, "start_info");
_Static_assert(sizeof(struct vcpu_info) == 64, "vcpu_info");
_Static_assert(sizeof(struct shared_info) == 3136, "shared_info");
_Static_assert(sizeof(struct mmuext_op) == 24, "mmuext_op");
_Static_assert(sizeof(struct multicall_entry) == 64, "multicall_entry");
_Static_assert(sizeof(struct evtchn_status) == 24, "evtchn_status");
_Static_assert(sizeof(struct gnttab_setup_table) == 24, "gnttab_setup_table");
_Static_assert(sizeof(struct xen_memory_reservation) == 32, "xen_memory_reservation");
_Static_assert(sizeof(struct e820_entry) == 20, "e820_entry");
_Static_assert(sizeof(struct vcpu_runstate_info) == 48, "vcpu_runstate_info");
_Static_assert(sizeof(struct callback_register) == 16, "callback_register");
_Static_assert(sizeof(struct sched_poll) == 24, "sched_poll");

#endif
