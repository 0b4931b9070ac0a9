/*
 * Single-stepping a traced child through a `syscall`, an `int3` and a page
 * fault on a fresh page, as gdb's stepi does (PTRACE_SINGLESTEP), shared by
 * step-syscall.c and stress-step.c.
 *
 * The child stops itself, then calls step_region(page).  The tracer steps
 * it one instruction at a time; inside the region every stop must be at
 * the next instruction: after the syscall (with its result in RAX), after
 * the int3 (its SIGTRAP), after the load from the fresh page (the fault is
 * the kernel's own business), then at the end.  The child checks what the
 * region computed and exits 0.
 */
#ifndef KXEN_PTRACE_STEP_H
#define KXEN_PTRACE_STEP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "verdict.h"

extern char step_region[], sr_syscall[], sr_after_syscall[], sr_int3[], sr_after_int3[],
	sr_after_load[], sr_end[];
long step_region_call(volatile uint64_t *page);

/* rdi = a page never touched (its first load faults); returns getpid()
 * plus the value loaded (0). */
__asm__(
	"	.text\n"
	"	.globl step_region_call\n"
	"step_region_call:\n"
	"step_region:\n"
	"	movl $39, %eax\n"          /* SYS_getpid */
	"sr_syscall:\n"
	"	syscall\n"
	"sr_after_syscall:\n"
	"	movq %rax, %rdx\n"
	"sr_int3:\n"
	"	int3\n"
	"sr_after_int3:\n"
	"	addq (%rdi), %rdx\n"
	"sr_after_load:\n"
	"	movq %rdx, %rax\n"
	"sr_end:\n"
	"	ret\n");

#define STEP_MAX_STEPS 100000

/* The child: stop, run the region on a page the tracer never touched. */
static inline _Noreturn void step_child(void)
{
	volatile uint64_t *page;
	long got;

	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(10);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		_exit(11);
	raise(SIGSTOP);
	got = step_region_call(page);
	_exit(got == getpid() ? 0 : 13);
}

static inline uint64_t child_rip(pid_t pid, struct user_regs_struct *r)
{
	if (ptrace(PTRACE_GETREGS, pid, NULL, r))
		fail("PTRACE_GETREGS: %s", strerror(errno));
	return r->rip;
}

/* Expected stops inside the region, in order. */
static inline const char *const *step_expected(const uint64_t **addrs, unsigned *n)
{
	static const char *const names[] = { "syscall", "after syscall", "int3", "after int3",
					     "after load", "end" };
	static uint64_t a[6];

	a[0] = (uintptr_t)sr_syscall;
	a[1] = (uintptr_t)sr_after_syscall;
	a[2] = (uintptr_t)sr_int3;
	a[3] = (uintptr_t)sr_after_int3;
	a[4] = (uintptr_t)sr_after_load;
	a[5] = (uintptr_t)sr_end;
	*addrs = a;
	*n = 6;
	return names;
}

/*
 * Trace one child through the region.  Returns 0, or writes why into err
 * (a tracer in a stress loop reports the first failure).
 */
static inline int step_trace_one(char *err, size_t errlen)
{
	const uint64_t *want;
	unsigned nwant, seen = 0;
	const char *const *names = step_expected(&want, &nwant);
	struct user_regs_struct r;
	bool inside = false;
	int st;
	pid_t pid = fork();

	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		step_child();
	if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP) {
		snprintf(err, errlen, "child did not stop itself (status %#x)", st);
		return -1;
	}
	for (unsigned steps = 0; steps < STEP_MAX_STEPS; steps++) {
		if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL)) {
			snprintf(err, errlen, "PTRACE_SINGLESTEP: %s", strerror(errno));
			goto kill;
		}
		if (waitpid(pid, &st, 0) != pid) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			goto kill;
		}
		if (!WIFSTOPPED(st)) {
			snprintf(err, errlen, "child ended while stepping (status %#x, step %u)", st,
				 steps);
			return -1;
		}
		if (WSTOPSIG(st) != SIGTRAP) {
			snprintf(err, errlen, "stop with signal %d at %#llx, not SIGTRAP", WSTOPSIG(st),
				 (unsigned long long)child_rip(pid, &r));
			goto kill;
		}
		uint64_t rip = child_rip(pid, &r);
		if (!inside) {
			inside = rip == (uintptr_t)step_region;
			continue;
		}
		/* A step reports TRAP_TRACE, the int3 a breakpoint (SI_KERNEL on
		 * x86), a step over a system call is reported at its exit with
		 * TRAP_BRKPT; debuggers tell them apart by it. */
		siginfo_t si;
		int want_code = seen == 3 ? SI_KERNEL : seen == 1 ? TRAP_BRKPT : TRAP_TRACE;
		if (ptrace(PTRACE_GETSIGINFO, pid, NULL, &si)) {
			snprintf(err, errlen, "PTRACE_GETSIGINFO: %s", strerror(errno));
			goto kill;
		}
		if (si.si_code != want_code) {
			snprintf(err, errlen, "stop at %#llx: si_code %d, expected %d",
				 (unsigned long long)rip, si.si_code, want_code);
			goto kill;
		}
		if (rip != want[seen]) {
			snprintf(err, errlen, "stop at %#llx, expected %s (%#llx)",
				 (unsigned long long)rip, names[seen], (unsigned long long)want[seen]);
			goto kill;
		}
		if (seen == 1 && r.rax != (uint64_t)pid) {
			snprintf(err, errlen, "getpid under single-step returned %lld, not %d",
				 (long long)r.rax, pid);
			goto kill;
		}
		if (++seen == nwant)
			break;
	}
	if (seen != nwant) {
		snprintf(err, errlen, "never stepped through the region (%u stops seen)", seen);
		goto kill;
	}
	if (ptrace(PTRACE_CONT, pid, NULL, NULL) || waitpid(pid, &st, 0) != pid) {
		snprintf(err, errlen, "PTRACE_CONT: %s", strerror(errno));
		goto kill;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(err, errlen, "child ended with status %#x", st);
		return -1;
	}
	return 0;
kill:
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

#endif
