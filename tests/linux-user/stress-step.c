/*
 * stress-step: single-stepping, breakpoints and page faults in a loop, on
 * all vCPUs, while timer events arrive, for 20 s (or argv[1] seconds).
 *
 *   2 tracers, each stepping children through syscall/int3/fault
 *     (ptrace-step.h) over and over;
 *   1 process single-stepping itself: TF set with popf, a SIGTRAP per
 *     instruction over a counted loop with a system call in it;
 *   1 process taking int3 SIGTRAPs and page faults on fresh pages and
 *     making system calls, checking each result.
 *
 * Every round must give the right results and no worker may die: TF is
 * live in user mode most of the time, so timer events keep catching a
 * vCPU in single-stepped user code.
 */
#include <signal.h>
#include <stdint.h>
#include <sys/ucontext.h>
#include <time.h>

#include "ptrace-step.h"

static unsigned seconds = 20;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static _Noreturn void tracer(double end)
{
	char err[256];
	unsigned rounds = 0;

	while (now() < end) {
		if (step_trace_one(err, sizeof err))
			fail("tracer %d, round %u: %s", getpid(), rounds, err);
		rounds++;
	}
	note("tracer %d: %u rounds", getpid(), rounds);
	_exit(rounds ? 0 : 2);
}

static volatile unsigned long self_traps;

static void count_trap(int sig)
{
	(void)sig;
	self_traps++;
}

/* 250 iterations of (dec, jnz), then getppid, with TF set. */
static unsigned long self_step_once(void)
{
	unsigned long before = self_traps;

	__asm__ __volatile__("movl $250, %%r8d\n\t"
			     "pushfq\n\t"
			     "orq $0x100, (%%rsp)\n\t"
			     "popfq\n"
			     "1:	decl %%r8d\n\t"
			     "jnz 1b\n\t"
			     "movl %[nr], %%eax\n\t"
			     "syscall\n\t"
			     "pushfq\n\t"
			     "andq $~0x100, (%%rsp)\n\t"
			     "popfq"
			     :: [nr] "i"(SYS_getppid)
			     : "rax", "rcx", "r8", "r11", "memory", "cc");
	return self_traps - before;
}

static _Noreturn void self_stepper(double end)
{
	unsigned rounds = 0;

	signal(SIGTRAP, count_trap);
	while (now() < end) {
		unsigned long n = self_step_once();

		/* 500 loop instructions, the mov, the syscall, the pushf/and/popf */
		if (n < 500 || n > 510)
			fail("self-step round %u: %lu SIGTRAPs, expected about 505", rounds, n);
		rounds++;
	}
	note("self-stepper: %u rounds", rounds);
	_exit(rounds ? 0 : 2);
}

extern char bp_next[];
static volatile unsigned long bps;
static volatile uint64_t bp_rip;

static void on_bp(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;

	(void)sig;
	(void)si;
	bps++;
	bp_rip = uc->uc_mcontext.gregs[REG_RIP];
}

static _Noreturn void faulter(double end)
{
	struct sigaction sa = { .sa_sigaction = on_bp, .sa_flags = SA_SIGINFO };
	unsigned rounds = 0;

	sigaction(SIGTRAP, &sa, NULL);
	while (now() < end) {
		volatile uint64_t *p = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE,
					    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		unsigned long before = bps;

		if (p == MAP_FAILED)
			fail("mmap: %s", strerror(errno));
		for (unsigned i = 0; i < 16; i++)
			p[i * 512] = i + rounds;
		for (unsigned i = 0; i < 16; i++)
			if (p[i * 512] != i + rounds)
				fail("page %u lost its value", i);
		munmap((void *)p, 16 * 4096);
		__asm__ __volatile__("int3\nbp_next:" ::: "memory");
		if (bps != before + 1 || bp_rip != (uintptr_t)bp_next)
			fail("int3 round %u: %lu SIGTRAPs at %#lx", rounds, bps - before,
			     (unsigned long)bp_rip);
		if (syscall(SYS_getppid) != getppid())
			fail("getppid disagrees with itself");
		rounds++;
	}
	note("faulter: %u rounds", rounds);
	_exit(rounds ? 0 : 2);
}

int main(int argc, char **argv)
{
	void (*const workers[])(double) = { tracer, tracer, self_stepper, faulter };
	pid_t pids[4];
	double end;

	if (argc > 1)
		seconds = (unsigned)strtoul(argv[1], NULL, 0);
	end = now() + seconds;
	setvbuf(stdout, NULL, _IONBF, 0);
	for (unsigned i = 0; i < 4; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			fail("fork: %s", strerror(errno));
		if (pids[i] == 0)
			workers[i](end);
	}
	for (unsigned i = 0; i < 4; i++) {
		int st;

		if (waitpid(pids[i], &st, 0) != pids[i])
			fail("waitpid: %s", strerror(errno));
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail("worker %u ended with status %#x", i, st);
	}
	pass();
}
