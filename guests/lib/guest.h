/*
 * The kxen test-guest library: everything a tiny 64-bit PV test kernel needs.
 *
 * A guest defines `const char test_name[]` and `void test_main(void)`; the
 * library's entry code sets up a stack and calls it.  The guest reports with
 * CHECK()/EXPECT_EQ() and ends with test_pass() or test_fail(), which print
 * the one closing line "kxen-test: PASS <name>" / "kxen-test: FAIL <name>:
 * <reason>" and power the domain off.
 *
 * Only the facilities a test asks for are used: hello needs console_io and
 * sched_op alone; shared_info, the trap table and the event callback are
 * set up on request, so a failure points at the hypercall under test.
 */
#ifndef KXEN_GUEST_H
#define KXEN_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>

/* The image is linked at 0xffffffff80100000 = VIRT_BASE + physical 1 MiB. */
#define GUEST_VIRT_BASE 0xffffffff80000000ul
#define PAGE_SIZE       4096ul
#define PAGE_ALIGNED    __attribute__((aligned(4096)))
#define ARRAY_SIZE(a)   (sizeof(a) / sizeof((a)[0]))

#define READ_ONCE(x)     (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#define barrier()        __asm__ __volatile__("" ::: "memory")

/* ---- provided by the test ------------------------------------------------ */
extern const char test_name[];
void test_main(void);

/* ---- start of day -------------------------------------------------------- */
extern struct start_info *start_info;
extern struct shared_info *shared_info;   /* NULL until map_shared_info() */

/* Maps start_info->shared_info at a spare page of the image; 0 or -errno. */
long map_shared_info(void);
/* Fails the test if shared_info cannot be mapped. */
void need_shared_info(void);

/*
 * Frame numbers.  The bootstrap region maps PFN n at GUEST_VIRT_BASE + n*4096
 * (the image itself, start_info, the page tables, the p2m), so VAs there
 * convert to PFNs arithmetically; start_info->mfn_list gives PFN -> MFN.
 */
uint64_t va_to_pfn(const void *va);
uint64_t pfn_to_mfn(uint64_t pfn);
uint64_t va_to_mfn(const void *va);
void *pfn_to_va(uint64_t pfn);
/* Reverse p2m lookup by scanning mfn_list; returns -1 if the MFN is not ours. */
int64_t mfn_to_pfn(uint64_t mfn);

/* ---- hypercalls ----------------------------------------------------------- */
/*
 * hypercall() is the flavour chosen at link time: hcall-direct.S issues
 * `syscall` itself, hcall-page.S calls into the HYPERCALL_PAGE the
 * hypervisor filled.  hypercall_direct() always issues `syscall`.
 */
long hypercall(unsigned long nr, unsigned long a1, unsigned long a2,
               unsigned long a3, unsigned long a4, unsigned long a5);
long hypercall_direct(unsigned long nr, unsigned long a1, unsigned long a2,
                      unsigned long a3, unsigned long a4, unsigned long a5);
/* Set by the hypercall-page test once it has seen the page filled. */
extern uint8_t hypercall_via_page;

#define HC(nr, a1, a2, a3, a4, a5)                                           \
	hypercall(__HYPERVISOR_##nr, (unsigned long)(a1), (unsigned long)(a2), \
	          (unsigned long)(a3), (unsigned long)(a4), (unsigned long)(a5))

static inline long HYPERVISOR_set_trap_table(const struct trap_info *t)
{ return HC(set_trap_table, t, 0, 0, 0, 0); }
static inline long HYPERVISOR_mmu_update(const struct mmu_update *req, unsigned count,
                                         unsigned *done, unsigned dom)
{ return HC(mmu_update, req, count, done, dom, 0); }
static inline long HYPERVISOR_update_va_mapping(unsigned long va, uint64_t pte, unsigned long flags)
{ return HC(update_va_mapping, va, pte, flags, 0, 0); }
static inline long HYPERVISOR_xen_version(int cmd, void *arg)
{ return HC(xen_version, cmd, arg, 0, 0, 0); }
static inline long HYPERVISOR_console_io(int cmd, unsigned len, const char *buf)
{ return HC(console_io, cmd, len, buf, 0, 0); }
static inline long HYPERVISOR_multicall(struct multicall_entry *calls, unsigned nr)
{ return HC(multicall, calls, nr, 0, 0, 0); }
static inline long HYPERVISOR_vcpu_op(int cmd, unsigned vcpu, void *arg)
{ return HC(vcpu_op, cmd, vcpu, arg, 0, 0); }
static inline long HYPERVISOR_mmuext_op(struct mmuext_op *ops, unsigned count,
                                        unsigned *done, unsigned dom)
{ return HC(mmuext_op, ops, count, done, dom, 0); }
static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{ return HC(sched_op, cmd, arg, 0, 0, 0); }
static inline long HYPERVISOR_callback_op(int cmd, void *arg)
{ return HC(callback_op, cmd, arg, 0, 0, 0); }
static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{ return HC(event_channel_op, cmd, arg, 0, 0, 0); }
static inline long HYPERVISOR_set_segment_base(int which, unsigned long base)
{ return HC(set_segment_base, which, base, 0, 0, 0); }
static inline long HYPERVISOR_stack_switch(unsigned long ss, unsigned long sp)
{ return HC(stack_switch, ss, sp, 0, 0, 0); }
static inline long HYPERVISOR_memory_op(int cmd, void *arg)
{ return HC(memory_op, cmd, arg, 0, 0, 0); }
static inline long HYPERVISOR_vm_assist(unsigned cmd, unsigned type)
{ return HC(vm_assist, cmd, type, 0, 0, 0); }

/* Small helpers for single mmuext commands. */
long mmuext_one(unsigned cmd, uint64_t arg1, uint64_t arg2);

/* ---- console and reporting -------------------------------------------------- */
/* printf subset: %s %c %d %i %u %x %p with l/ll/z modifiers, width, 0 flag. */
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vprintk(const char *fmt, va_list ap);
void console_write(const char *buf, size_t len);

_Noreturn void test_pass(void);
_Noreturn void test_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void poweroff(void);

extern unsigned long checks_passed;

#define CHECK(cond, fmt, ...)                                               \
	do {                                                                \
		if (!(cond))                                                \
			test_fail("line %d: %s: " fmt, __LINE__, #cond,     \
			          ##__VA_ARGS__);                           \
		checks_passed++;                                            \
	} while (0)

#define EXPECT_EQ(got, want)                                                \
	do {                                                                \
		long got_ = (long)(got), want_ = (long)(want);              \
		if (got_ != want_)                                          \
			test_fail("line %d: %s = %ld (%#lx), expected %s = %ld", \
			          __LINE__, #got, got_, (unsigned long)got_, \
			          #want, want_);                            \
		checks_passed++;                                            \
	} while (0)

/* ---- string helpers (the compiler may emit calls to these) ------------------ */
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
/* A decimal number ending at a space or the end of the string. */
bool parse_ulong(const char *s, unsigned long *out);
size_t strnlen(const char *s, size_t max);

/* ---- traps -------------------------------------------------------------------- */
/* What the entry stubs save; Xen's bounce frame starts at error_code. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector;       /* 0-31, or a VEC_* pseudo vector below */
	uint64_t error_code;   /* 0 for vectors without one */
	uint64_t rip, cs, rflags, rsp, ss;
};
#define VEC_EVENT   0x100  /* + vCPU id: event upcall */
#define VEC_SYSCALL 0x200  /* syscall callback (from guest user mode) */

/* A handler returns the `flags` word for HYPERVISOR_iret (0 or VGCF_IN_SYSCALL). */
typedef uint64_t (*trap_handler_t)(struct trap_frame *f);

/* Installs handlers for vectors 0-19 (3 and 4 usable from any ring). */
void traps_init(void);
void trap_set_handler(unsigned vec, trap_handler_t h);
/* Handler for the syscall callback (CALLBACKTYPE_syscall -> syscall_entry). */
extern trap_handler_t syscall_handler;
/* The table traps_init() installed, terminated by address 0. */
extern struct trap_info trap_table[];

/* The last exception the library caught (see trap_resume). */
struct trap_record {
	uint64_t count, vector, error_code, rip, cs, rflags, rsp, cr2;
};
extern volatile struct trap_record last_trap;
/*
 * When nonzero, the next exception is recorded in last_trap and execution
 * resumes at this address (then it is cleared).  Otherwise an exception
 * without a handler fails the test.
 */
extern volatile uint64_t trap_resume;

/* Read/write 8 bytes; returns true (and records last_trap) if it faulted. */
bool probe_read(const volatile void *addr, uint64_t *val);
bool probe_write(volatile void *addr, uint64_t val);

/* Entry points implemented in entry.S. */
extern const uint64_t trap_stubs[32];
void event_entry_cpu0(void);
void event_entry_cpu1(void);
void syscall_entry(void);
/* Jump target: pops nothing, expects [flags, rip, cs, rflags, rsp, ss] at rsp. */
void hypercall_iret(void);

/* ---- user mode (usermode.c) ----------------------------------------------------- */
/*
 * Map the page holding kva at user VA va in the user page tables (before
 * user_tables_install); read-only unless writable.  The kernel's tables
 * are not touched, so va may be mapped for user mode only.
 */
void user_map(uint64_t va, const void *kva, bool writable);
/* Write-protect, pin and install the user tables; register the syscall
 * callback and a kernel stack for traps from user mode. */
void user_tables_install(void);
/* Run user code at rip on rsp (events masked) until a trap handler calls
 * user_return(); returns the value it passed. */
uint64_t user_run(uint64_t rip, uint64_t rsp);
/* The same with the given RFLAGS (IF set: events reach user mode). */
uint64_t user_run_flags(uint64_t rip, uint64_t rsp, uint64_t rflags);
/* From a handler of a trap taken in user mode: end user_run() with val. */
void user_return(struct trap_frame *f, uint64_t val);
/* `syscall` with RAX = USER_SYS_EXIT ends user_run() with RDI. */
#define USER_SYS_EXIT 60
/* Other system calls (the default answers -ENOSYS). */
extern trap_handler_t user_syscall_hook;

/* ---- user mode on the kernel's own tables (usercall.c) ---------------------------- */
/*
 * Installs the kernel's page tables as the user ones too (as XTF does), the
 * syscall callback and a kernel stack for bounces from user mode, so any
 * function of the image can run in user mode.  Needs traps_init() for
 * faults taken in user mode.  Not for guests that use user_tables_install.
 */
void user_mode_init(void);
/* Runs fn(arg) in user mode (events masked) and returns its result; a
 * fault there goes to the trap handlers, and trap_resume works too. */
uint64_t user_call(uint64_t (*fn)(uint64_t), uint64_t arg);
/* RFLAGS user_call enters user mode with (default 0x2). */
extern uint64_t user_rflags;

/* ---- events ------------------------------------------------------------------- */
#define EVTCHN_MAX 1024
extern volatile uint32_t evtchn_count[EVTCHN_MAX];   /* upcall deliveries per port */
extern uint8_t evtchn_cpu[EVTCHN_MAX];               /* vCPU each port is bound to */
typedef void (*evtchn_handler_t)(evtchn_port_t port);
extern evtchn_handler_t evtchn_handler[EVTCHN_MAX];

/* Maps shared_info and registers the event callback of vCPU 0. */
void events_init(void);
/* Called by the entry code for an upcall on vCPU `cpu`. */
void evtchn_do_upcall(unsigned cpu);
void events_unmask_vcpu(unsigned cpu);    /* clear upcall_mask, kick if pending */
void events_mask_vcpu(unsigned cpu);
void evtchn_mask_port(evtchn_port_t port);
bool evtchn_is_pending(evtchn_port_t port);

long evtchn_bind_virq(uint32_t virq, uint32_t vcpu, evtchn_port_t *port);
long evtchn_bind_ipi(uint32_t vcpu, evtchn_port_t *port);
long evtchn_alloc_unbound(xen_domid_t remote, evtchn_port_t *port);
long evtchn_bind_interdomain(xen_domid_t remote, evtchn_port_t rport, evtchn_port_t *port);
long evtchn_send(evtchn_port_t port);
long evtchn_unmask(evtchn_port_t port);
long evtchn_close(evtchn_port_t port);

/* ---- time ---------------------------------------------------------------------- */
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
/* System time (ns since domain start) from a vcpu_time_info (pvclock). */
uint64_t pvclock_read(const struct vcpu_time_info *t);
/* pvclock_read() of vCPU `cpu` in shared_info (must be mapped). */
uint64_t xen_now(unsigned cpu);

/* ---- misc ---------------------------------------------------------------------- */
static inline void cpu_relax(void) { __asm__ __volatile__("pause" ::: "memory"); }
static inline int ctz64(uint64_t x) { return __builtin_ctzll(x); }

#endif
