/*
 * Structures shared by the core's files.
 *
 * Locking: d->lock (a mutex) serialises everything that changes domain-wide
 * state: page types, event channels, grant table, vCPU bring-up.  A vCPU's
 * own fields are touched only by its thread, except the kick/wake fields
 * (v->wake_lock).  Bits the guest shares with us (shared_info, vcpu_info)
 * are updated with atomic operations because the guest races with us.
 * Order: d->lock before v->wake_lock; d->state_lock is a leaf.
 *
 * The dispatcher (dispatch.c) has one lock for all domains, dp->lock; it is
 * a leaf too: it may be taken with d->lock or v->wake_lock held, and nothing
 * is locked under it.  A vCPU thread holds a pCPU from dispatch_run_begin to
 * dispatch_run_end and never waits there for a thread without one (a vCPU
 * is preempted only at the top of its run loop, with no lock held).
 */
#ifndef KXEN_CORE_INTERNAL_H
#define KXEN_CORE_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "arch/x86/x86.h"
#include "core/core.h"
#include "xen/xen.h"

#define PAGE_SIZE 4096ull
#define MAX_VCPUS 64
#define NR_EVTCHN EVTCHN_2L_NR_CHANNELS

/* ---- page frames --------------------------------------------------------- */
enum frame_type { FT_NONE, FT_L1, FT_L2, FT_L3, FT_L4, FT_SEG };

struct frame {
	uint8_t type;        /* enum frame_type while type_count > 0 */
	uint8_t pinned;
	uint32_t type_count; /* validated uses: parent entries, pins, CR3 loads */
	uint32_t wr_count;   /* writable mappings from validated L1 tables */
};

/* ---- event channels ------------------------------------------------------ */
enum evtchn_state { ECS_FREE, ECS_UNBOUND, ECS_INTERDOMAIN, ECS_VIRQ, ECS_IPI, ECS_RESERVED };

struct evtchn {
	uint8_t state;
	uint8_t _pad;
	uint16_t remote_dom;  /* UNBOUND/INTERDOMAIN: the peer (0 = toolstack) */
	uint32_t vcpu;        /* notify this vCPU */
	uint32_t virq;
	uint32_t remote_port;
};

/* ---- trap accounting (trapstat.c) ------------------------------------------ */
/* Kind numbers: one space for every row of the table. */
enum {
	TS_EXC = 0,                        /* + exception vector (0-31) */
	TS_HC = 32,                        /* + hypercall number (0-63) */
	TS_SUB = TS_HC + 64,               /* + slot * TS_SUB_PER_SLOT + sub-op */
	TS_NR_SUB_SLOTS = 11,
	TS_SUB_PER_SLOT = 32,
	TS_EMUL = TS_SUB + TS_NR_SUB_SLOTS * TS_SUB_PER_SLOT, /* + TS_EMUL_* */
	TS_NR_EMUL = 16,
	TS_MISC = TS_EMUL + TS_NR_EMUL,    /* + TS_MISC_* */
	TS_NR_MISC = 16,
	TS_MC = TS_MISC + TS_NR_MISC,      /* + hypercall number, inside multicalls */
	TS_NR = TS_MC + 64,
	TS_RIP_SLOTS = 512,
};
enum {
	TS_EMUL_CPUID, TS_EMUL_RDMSR, TS_EMUL_WRMSR, TS_EMUL_RDTSC, TS_EMUL_MOVCR,
	TS_EMUL_MOVDR, TS_EMUL_IN, TS_EMUL_OUT, TS_EMUL_CLISTI, TS_EMUL_CACHE,
	TS_EMUL_SYS, TS_EMUL_OTHER,
};
/* Exits first (< TS_MISC_UPCALL), then count-only events. */
enum {
	TS_MISC_SYSCALL, TS_MISC_PTWR, TS_MISC_ASYNC, TS_MISC_OTHER, TS_MISC_BAD_HC,
	TS_MISC_UPCALL, TS_MISC_PTW_REPLAY, TS_MISC_PTW_SYNC,
};
struct trapstat_rip_slot {
	uint64_t rip, count;
	unsigned kind;
};
struct trapstat {
	uint64_t exits;
	uint64_t count[TS_NR];
	uint64_t ns[TS_NR];
	struct trapstat_rip_slot rips[TS_RIP_SLOTS];
};
_Static_assert(TS_NR <= TRAPSTAT_MAX_ROWS, "trapstat rows");

/* ---- vCPU ---------------------------------------------------------------- */
struct dispatcher;
struct dispatch_vcpu;
struct dispatch_dom;

struct vcpu {
	struct domain *d;
	unsigned id;
	struct kvm_vcpu kvm;
	pthread_t thread;
	bool thread_started;
	struct hv_vcpu_layout hvl;

	/* Guest-visible PV state. */
	bool initialised, online;
	bool in_kernel;
	uint64_t kernel_root, user_root;   /* MFNs of the L4s (0 = none) */
	uint64_t gs_base_kernel, gs_base_user;
	uint64_t kernel_ss, kernel_sp;
	struct trap_info traps[256];
	uint64_t event_cb, failsafe_cb, syscall_cb;
	bool event_cb_mask, failsafe_cb_mask, syscall_cb_mask;
	uint64_t syscall32_cb, sysenter_cb;   /* 32-bit user entry points */
	bool syscall32_cb_mask, sysenter_cb_mask;
	uint64_t gdt_frames[16];
	unsigned gdt_ents;
	uint64_t ldt_base;
	unsigned ldt_ents;
	uint64_t ldt_frames[HV_LDT_PAGES]; /* typed FT_SEG while loaded */
	unsigned ldt_nframes;
	uint64_t debugreg[8];               /* DR0-3, DR6, DR7 as the guest sees them */
	uint32_t dr7_emul;                 /* DR7 enables of emulated I/O breakpoints */
	uint64_t vm_cr0_ts;
	uint64_t guest_cr4;
	uint64_t xcr0;                     /* XSETBV's value (x87 until then) */
	unsigned iopl;                     /* virtual IOPL, 0-3 */
	uint64_t iobmp;                    /* guest VA of the I/O bitmap */
	uint32_t iobmp_limit;              /* ports it covers (0 = none) */
	bool io_bp_hit;                    /* an emulated port access hit an I/O breakpoint */
	bool emulating_ud;                 /* the emulated instruction raised #UD */
	struct vcpu_info *vinfo;           /* legacy slot or registered area */
	bool vinfo_registered;
	uint64_t vinfo_mfn;                /* registered: held writable (mm_get_writable) */
	uint64_t runstate_va;              /* guest VA, 0 = none */
	struct vcpu_runstate_info runstate;

	/* Time. */
	int64_t tsc_offset;                /* guest TSC - host TSC */
	int64_t singleshot_ns;             /* absolute system time, 0 = off */
	int64_t periodic_ns, periodic_next;
	int64_t time_updated_ns;
	timer_t host_timer;
	bool host_timer_ok;

	/* Run state. */
	struct kvm_regs *regs;             /* sync-regs views in kvm.run */
	struct kvm_sregs *sregs;
	struct x86_trap_frame *frame;      /* host pointer into the IST stack */
	uint64_t *ptw;                     /* scratch page: direct-map VAs of PT entries to re-store */
	unsigned ptw_count;
	/* A queued store dropped a writable mapping / a page-table use of a
	 * frame: until it is re-stored at CPL0 the shadow tables still have
	 * the old entry, so the frame must not change type (see mm.c). */
	bool ptw_dropped_rw, ptw_dropped_type;
	uint64_t ptw_flush;                /* 0 none, 1 full, else VA */
	atomic_bool flush_pending;         /* a remote TLB flush was requested */
	atomic_bool running;               /* inside KVM_RUN */
	bool blocked;
	const uint32_t *poll_ports;        /* SCHEDOP_poll set (NULL = none) */
	unsigned poll_nr;
	uint32_t poll_buf[128];
	pthread_mutex_t wake_lock;
	pthread_cond_t wake_cond;
	atomic_bool kicked;
	bool resume_pending;               /* the trap frame holds state to resume */
	bool resume_db_stack;              /* resume a stub from its #DB frame */
	/* The hypercall stopped early (hypercall_continue): it is re-issued
	 * with these arguments when the vCPU next runs. */
	bool hc_preempted;
	uint64_t hc_args[6];
	bool rekick;                       /* interrupted inside a stub */
	uint64_t trap_wait_rip;            /* interrupted where a trap may be pending */
	uint64_t trap_wait_since;          /* thread CPU time when first seen there */
	uint64_t cpu_time_ns;
	int64_t run_started_ns;

	/* Dispatcher: fields the vCPU's own thread uses without dp->lock. */
	struct dispatch_vcpu *dv;          /* NULL: no dispatcher, runs free */
	int pcpu;                          /* host CPU held, -1 = none */
	int pinned_cpu;                    /* thread affinity last set, -1 = none */
	bool host_urgent;                  /* thread at real-time host priority */
	int64_t slice_end;                 /* give the pCPU back by then */
	bool sched_awake;                  /* woken in the scheduler (own thread, under dp->lock) */
	bool yield_pending;                /* SCHEDOP_yield: leave at the loop top */
	atomic_bool preempt;               /* the scheduler wants the pCPU back */
	atomic_bool dispatch_waiting;      /* in dispatch_run_begin */

	/* Trap accounting: the table, and the exit being handled. */
	struct trapstat *ts;
	unsigned ts_kind;
	int ts_sub;                        /* detail row, -1 none */
	uint64_t ts_rip;
};

/* ---- PIT channel 2 (pit.c) ------------------------------------------------ */
struct pit2 {
	pthread_mutex_t lock;
	uint32_t reload;          /* 1-0x10000 */
	uint8_t mode;             /* 0-5 */
	uint8_t rw;               /* access mode: 1 LSB, 2 MSB, 3 LSB then MSB */
	bool gate, speaker;       /* port 0x61 bits 0 and 1 */
	bool write_msb_next, read_msb_next;
	uint8_t write_lsb;
	uint8_t latched;          /* access mode of a latched count, 0 = none */
	bool latch_msb_next;
	uint16_t latch;
	bool status_latched;
	uint8_t status;
	int64_t load_ns;          /* host time counting (re)started */
	int64_t stopped_at;       /* host time the gate last went low */
	int64_t paused_ns;        /* gate-low time since load (modes 0, 4) */
};
void pit_init(struct pit2 *p);
void pit_destroy(struct pit2 *p);
bool pit_port(uint16_t port);
uint8_t pit_read(struct pit2 *p, uint16_t port, int64_t now_ns);
void pit_write(struct pit2 *p, uint16_t port, uint8_t val, int64_t now_ns);

/* ---- domain -------------------------------------------------------------- */
struct domain {
	uint16_t domid;
	char name[64];
	const struct domain_hooks *hooks;
	void *opaque;
	pthread_mutex_t lock;

	struct kvm_vm kvm;
	uint8_t *ram;
	uint64_t nr_pages;
	uint8_t *hv;
	struct hv_layout hvl;
	struct frame *frames;
	struct shared_info *shinfo;
	uint64_t shinfo_mfn;

	struct vcpu *vcpus[MAX_VCPUS];
	unsigned max_vcpus;
	unsigned long vm_assist;

	struct evtchn evtchn[NR_EVTCHN];
	uint32_t virq_port[MAX_VCPUS][NR_VIRQS];
	uint32_t store_port, console_port;
	uint64_t store_mfn, console_mfn;
	bool rings_held;                   /* both held writable (mm_get_writable) */

	struct pit2 pit;                   /* ports 0x42, 0x43, 0x61 */
	unsigned grant_frames;             /* frames set up by the guest */
	atomic_bool dying;
	atomic_bool paused;
	bool shut_down;
	unsigned shutdown_reason;
	/* state_lock guards shut_down, shutdown_reason, paused_vcpus and
	 * state_cond; it is a leaf lock, so a domain can be killed from any
	 * context, including with d->lock held. */
	pthread_mutex_t state_lock;
	pthread_cond_t state_cond;
	unsigned paused_vcpus;

	struct dispatcher *dp;             /* NULL: vCPUs run free */
	struct dispatch_dom *dd;
};

/* ---- cross-file functions ------------------------------------------------ */

/* 48-bit canonical: bits 63..47 all equal.  Xen refuses any other code or
 * stack address a guest hands it; the CPU would fault on it inside kxen. */
static inline bool is_canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* guestmem.c: guest virtual memory through the vCPU's current tables. */
int guest_copy_from(struct vcpu *v, void *dst, uint64_t va, size_t len);
int guest_copy_to(struct vcpu *v, uint64_t va, const void *src, size_t len);
/* Read through the tables the vCPU runs on now (user ones in user mode). */
int guest_copy_from_current(struct vcpu *v, void *dst, uint64_t va, size_t len);
int guest_copy_to_current(struct vcpu *v, uint64_t va, const void *src, size_t len);
int guest_va_to_maddr(struct vcpu *v, uint64_t va, uint64_t *maddr);
/* Up to len bytes at va through the tables of the mode the vCPU is in
 * (user code may be mapped in the user tables only); returns how many of
 * them are readable, from one copy. */
size_t guest_fetch(struct vcpu *v, uint64_t va, void *buf, size_t len);
/* Walk the vCPU's kernel tables; returns the maddr of the L1 entry for va. */
int guest_l1e_maddr(struct vcpu *v, uint64_t root_mfn, uint64_t va, uint64_t *maddr);
/* Host pointer to one guest frame (RAM or a guest-mappable hv frame). */
void *domain_frame_ptr(struct domain *d, uint64_t mfn);
bool mfn_is_ram(const struct domain *d, uint64_t mfn);
bool mfn_is_hv_mappable(const struct domain *d, uint64_t mfn);

/* mm.c: PV MMU. */
long do_mmu_update(struct vcpu *v, uint64_t reqs, uint64_t count, uint64_t done_va,
		   uint64_t foreigndom);
long do_mmuext_op(struct vcpu *v, uint64_t ops, uint64_t count, uint64_t done_va,
		  uint64_t foreigndom);
long do_update_va_mapping(struct vcpu *v, uint64_t va, uint64_t val, uint64_t flags);
int mm_pin_initial(struct domain *d, uint64_t l4_mfn);
int mm_get_root(struct domain *d, uint64_t mfn);
/* Hold / release a frame the daemon writes into (d->lock held). */
int mm_get_writable(struct domain *d, uint64_t mfn);
void mm_put_writable(struct domain *d, uint64_t mfn);
void mm_put_root(struct domain *d, uint64_t mfn);
/* Emulate a kernel write to a read-only page-table page; 1 = handled. */
int mm_ptwr_fault(struct vcpu *v, uint64_t va, uint64_t err);
/* Store a validated L1 entry for the emulated write path (d->lock held). */
int mm_ptwr_store(struct vcpu *v, uint64_t maddr, uint64_t old, uint64_t val, bool atomic);
bool mm_is_l1(struct domain *d, uint64_t maddr);
/* A descriptor at maddr changed (update_descriptor, d->lock held):
 * refresh every loaded LDT copy of that frame. */
void mm_ldt_refresh(struct domain *d, uint64_t maddr, uint64_t desc);
/* Queue the entry at maddr, just written by the host, for the vCPU to
 * re-store at CPL0 (its current value, whatever it is by then). */
int ptw_queue(struct vcpu *v, uint64_t maddr);
/* Execute the pending queue now (costs a VM entry). */
int ptw_flush_now(struct vcpu *v);
void tlb_flush_request(struct vcpu *v, bool full, uint64_t va, bool all_vcpus, const uint8_t *mask,
		       unsigned mask_bits);

/* vcpu.c: the run loop and guest-visible CPU state. */
int vcpu_create(struct domain *d, unsigned id);
void vcpu_destroy(struct vcpu *v);
int vcpu_start_thread(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
void vcpu_wake(struct vcpu *v);
/* End the vCPU's KVM_RUN if it is in one (no other effect). */
void vcpu_interrupt(struct vcpu *v);
/* Stop and join the vCPU's thread. */
void vcpu_stop_thread(struct vcpu *v);
void vcpu_set_kernel_gs(struct vcpu *v, uint64_t base);
void vcpu_set_user_gs(struct vcpu *v, uint64_t base);
void vcpu_set_fs(struct vcpu *v, uint64_t base);
int vcpu_set_cr3(struct vcpu *v, uint64_t mfn);
void domain_crash(struct domain *d, const char *why, ...)
	__attribute__((format(printf, 2, 3)));
/* Load a vcpu_guest_context (VCPUOP_initialise, or the boot vCPU). */
int vcpu_load_context(struct vcpu *v, const struct vcpu_guest_context *c);
long do_iret(struct vcpu *v);
int vcpu_set_gdt(struct vcpu *v, const uint64_t *frames, uint64_t ents);
int vcpu_bounce(struct vcpu *v, unsigned vector, bool has_err, uint64_t err);

/* hypercall.c */
long hypercall_dispatch(struct vcpu *v, uint64_t nr, const uint64_t a[6], bool in_multicall);
/* Whether a long hypercall should stop now and continue later: the
 * scheduler wants the pCPU back, an unmasked event or a timer is due, a
 * TLB flush was requested, or the domain is dying or paused. */
bool hypercall_preempt_check(struct vcpu *v);
/* Stop the current hypercall here: it is issued again with `args` (the
 * guest's RIP is rewound to its syscall, or a multicall entry rewritten).
 * Returns nr, which the caller returns. */
long hypercall_continue(struct vcpu *v, uint64_t nr, const uint64_t args[6]);
/* Whether the last hypercall asked to skip the normal return path. */
#define HC_NORETURN (-0x7fffffffL)   /* iret etc.: registers already set */

/* evtchn.c */
long do_event_channel_op(struct vcpu *v, uint64_t cmd, uint64_t arg);
int evtchn_alloc_port(struct domain *d, uint8_t state, uint32_t vcpu, uint16_t remote);
int evtchn_send_virq(struct domain *d, unsigned vcpu, unsigned virq);
void evtchn_set_pending(struct domain *d, uint32_t port);
bool vcpu_event_pending(struct vcpu *v);
bool evtchn_port_pending(struct domain *d, uint32_t port);

/* time.c */
void time_init_vcpu(struct vcpu *v);
void time_update_vcpu(struct vcpu *v);
int64_t time_system_ns(void);
void time_check_timers(struct vcpu *v);
int64_t time_next_deadline(struct vcpu *v);
void time_set_wallclock(struct domain *d);

/* vcpuop.c */
long do_vcpu_op(struct vcpu *v, uint64_t cmd, uint64_t id, uint64_t arg);
long do_sched_op(struct vcpu *v, uint64_t cmd, uint64_t arg);
long do_set_timer_op(struct vcpu *v, uint64_t timeout);

/* gnttab.c */
long do_grant_table_op(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t count);

/* dispatch.c: vCPUs of all domains on the daemon's pCPUs (see the file). */
enum dispatch_reason {
	DISPATCH_PREEMPTED,   /* slice over or the scheduler asked: still runnable */
	DISPATCH_BLOCKED,     /* SCHEDOP_block/poll, or the domain is paused */
	DISPATCH_YIELD,       /* SCHEDOP_yield */
	DISPATCH_OFFLINE,     /* VCPUOP_down, or the thread ends */
};
/* Register the domain and its vCPUs (asleep) in Pool-0; d->dp = dp.  A NULL
 * dp leaves the domain's vCPUs to the host scheduler. */
/* pool: a cpupool name, NULL for Pool-0 (-ENOENT if there is none). */
int dispatch_add_domain(struct dispatcher *dp, struct domain *d, const char *pool);
/* After the domain's vCPU threads have stopped. */
void dispatch_remove_domain(struct domain *d);
/* On the vCPU's thread: wake it in the scheduler if needed and wait until
 * it holds a pCPU (v->pcpu, thread pinned there, v->slice_end set).  0, or
 * -EINTR when the domain is dying or paused (nothing held). */
int dispatch_run_begin(struct vcpu *v);
/* On the vCPU's thread: give the pCPU back (if held) and tell the scheduler
 * why; that pCPU is rescheduled at once. */
void dispatch_run_end(struct vcpu *v, enum dispatch_reason why);
/* Make a vCPU waiting in dispatch_run_begin re-check dying/paused. */
void dispatch_poke(struct vcpu *v);
/* Whether the holder of a pCPU must give it back now. */
static inline bool dispatch_must_leave(struct vcpu *v, int64_t now)
{
	return atomic_load(&v->preempt) || now >= v->slice_end;
}

/* trapstat.c: written by the vCPU's own thread only. */
int trapstat_alloc(struct vcpu *v);
void trapstat_free(struct vcpu *v);
bool trapstat_kind_is_exit(unsigned kind);
/* An exit starts: its default kind and the guest RIP it is charged to. */
void trapstat_begin_exit(struct vcpu *v, unsigned kind, uint64_t rip);
/* A handler found out what the exit really was. */
void trapstat_set_kind(struct vcpu *v, unsigned kind);
void trapstat_hypercall(struct vcpu *v, uint64_t nr, const uint64_t a[6], bool in_multicall);
/* Charge a hypercall exit to its call site (see trapstat.c). */
void trapstat_hypercall_site(struct vcpu *v, uint64_t ret, uint64_t rsp);
void trapstat_mmuext_cmd(struct vcpu *v, unsigned cmd);
/* Count an event that is not an exit of its own. */
void trapstat_note(struct vcpu *v, unsigned kind);
void trapstat_end_exit(struct vcpu *v, uint64_t ns);

/* debugreg.c: the guest's debug registers (Xen's rules), loaded into the
 * vCPU.  set/get: 0, -ENODEV (#UD), -EINVAL or -EPERM (#GP). */
int debugreg_set(struct vcpu *v, unsigned reg, uint64_t val);
int debugreg_get(struct vcpu *v, unsigned reg, uint64_t *val);
void debugreg_reset(struct vcpu *v);
int debugreg_load_context(struct vcpu *v, const uint64_t dr[8]);
/* A #DB from guest code: the hardware DR6 goes into the guest's. */
void debugreg_guest_db(struct vcpu *v);
/* A #DB that hit a hypervisor stub (MOV SS shadow): noted and dropped. */
void debugreg_hv_db(struct vcpu *v);
/* After an emulated port access: true (DR6 updated) if an I/O breakpoint
 * matched, and the guest is owed a #DB. */
bool debugreg_io_hit(struct vcpu *v, uint16_t port, unsigned size);

/* emulate.c */
int emulate_priv_op(struct vcpu *v, unsigned vector);
/* If the instruction at the frame's RIP is a software interrupt -- int
 * imm8, int3 or icebp -- (decoded from one fetch), its length, with the
 * vector in *vector and whether the gate's DPL applies (int imm8 only);
 * else 0. */
unsigned emulate_soft_int_len(struct vcpu *v, uint8_t *vector, bool *dpl_checked);
/* Whether the current mode may use I/O instructions by the virtual IOPL
 * (Xen: guest kernel mode is CPL 1, or 0 with VMASST architectural_iopl). */
bool vcpu_iopl_ok(const struct vcpu *v);
/* The error code the hardware gives a #GP the host reported as #GP(0). */
uint64_t emulate_gp_error_code(struct vcpu *v, uint64_t err);
/* A #SS(0) from guest code that the hardware would have made #GP(0). */
bool emulate_ss_fault_is_gp(struct vcpu *v);
/* The guest's CR4 (emulated mov, or a vcpu_guest_context). */
void vcpu_set_guest_cr4(struct vcpu *v, uint64_t val);
/* VMASST_TYPE_architectural_iopl: the IOPL lives in the guest's RFLAGS. */
bool vcpu_architectural_iopl(const struct vcpu *v);
/* A #PF at va in Xen's read-only M2P range (which some hosts reserve):
 * emulate the read from kxen's M2P, or inject the #PF Xen would give.
 * 1 = handled, 0 = not an M2P address. */
int emulate_m2p_fault(struct vcpu *v, uint64_t va, uint64_t err);

#endif
