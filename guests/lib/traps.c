/*
 * Trap table (HYPERVISOR_set_trap_table) and the C side of the entry stubs.
 */
#include "guest.h"

struct trap_info trap_table[33];
volatile struct trap_record last_trap;
volatile uint64_t trap_resume;
trap_handler_t syscall_handler;
static trap_handler_t handlers[32];

static const char *const vec_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "#MF-old", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void traps_init(void)
{
	unsigned n = 0;
	long rc;

	for (unsigned v = 0; v < 20; v++) {
		if (v == 15)    /* reserved */
			continue;
		trap_table[n] = (struct trap_info){
			.vector = (uint8_t)v,
			/* bit 2: mask events while handling, like an interrupt gate;
			 * DPL 3 for int3/into so `int3` works from any ring */
			.flags = 4 | ((v == 3 || v == 4) ? 3 : 0),
			.cs = FLAT_KERNEL_CS,
			.address = trap_stubs[v],
		};
		n++;
	}
	trap_table[n] = (struct trap_info){ .address = 0 };
	rc = HYPERVISOR_set_trap_table(trap_table);
	if (rc)
		test_fail("set_trap_table failed: %ld", rc);
}

void trap_set_handler(unsigned vec, trap_handler_t h)
{
	if (vec < ARRAY_SIZE(handlers))
		handlers[vec] = h;
}

static unsigned current_cpu_of(const struct trap_frame *f)
{
	(void)f;
	return 0;   /* only vCPU 0 takes exceptions in these tests */
}

static void record(const struct trap_frame *f)
{
	last_trap.vector = f->vector;
	last_trap.error_code = f->error_code;
	last_trap.rip = f->rip;
	last_trap.cs = f->cs;
	last_trap.rflags = f->rflags;
	last_trap.rsp = f->rsp;
	last_trap.cr2 = shared_info ? shared_info->vcpu_info[current_cpu_of(f)].arch.cr2 : 0;
	last_trap.count++;
}

uint64_t trap_dispatch(struct trap_frame *f);

uint64_t trap_dispatch(struct trap_frame *f)
{
	if (f->vector >= VEC_SYSCALL) {
		if (syscall_handler)
			return syscall_handler(f);
		test_fail("syscall callback without a handler (rip %#lx)",
		          (unsigned long)f->rip);
	}
	if (f->vector >= VEC_EVENT) {
		evtchn_do_upcall((unsigned)(f->vector - VEC_EVENT));
		return 0;
	}

	record(f);
	if (trap_resume) {
		f->rip = trap_resume;
		trap_resume = 0;
		return 0;
	}
	if (handlers[f->vector])
		return handlers[f->vector](f);

	test_fail("unexpected %s (vector %lu) at rip %#lx, error code %#lx, "
	          "cr2 %#lx, cs %#lx, rsp %#lx",
	          vec_names[f->vector] ? vec_names[f->vector] : "exception",
	          (unsigned long)f->vector, (unsigned long)f->rip,
	          (unsigned long)f->error_code, (unsigned long)last_trap.cr2,
	          (unsigned long)f->cs, (unsigned long)f->rsp);
}
