/*
 * int80: software interrupts from a 64-bit process, as x86-64 Linux
 * defines them.  `int $0x80` is the 32-bit system call gate (getpid is
 * number 20 there; an unknown number gives -ENOSYS).  `int $0x81` and
 * `int $1` hit DPL-0 gates: SIGSEGV for a #GP whose error code names the
 * vector ((n << 3) | 2), with RIP at the instruction.  `int $3` and `int3`
 * are the breakpoint: SIGTRAP with RIP after the instruction.
 *
 * Under kxen on PVM-style hosts `int n` arrives as #UD at the instruction,
 * and was bounced to the guest as such (SIGILL).
 */
#include <signal.h>
#include <stdint.h>
#include <sys/ucontext.h>
#include <unistd.h>

#include "verdict.h"

extern char i81[], i81_end[], i1[], i1_end[], i3[], i3_end[], icc[], icc_end[];

static volatile int got_sig;
static volatile uint64_t got_rip, got_err, got_trapno;

static void on_signal(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;

	(void)si;
	got_sig = sig;
	got_rip = uc->uc_mcontext.gregs[REG_RIP];
	got_err = uc->uc_mcontext.gregs[REG_ERR];
	got_trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
	/* resume after the faulting `int n` (2 bytes); a SIGILL (the old
	 * kxen bug) is skipped too, so the check reports it */
	if (sig == SIGSEGV || sig == SIGILL)
		uc->uc_mcontext.gregs[REG_RIP] += 2;
}

static long int80(long nr)
{
	got_sig = 0;
	long ret;

	__asm__ __volatile__("int $0x80" : "=a"(ret) : "0"(nr) : "memory", "rcx", "r11",
			     "r8", "r9", "r10");
	return ret;
}

static void run(void (*fn)(void), const char *what, int sig, const char *rip_label,
		uint64_t trapno, uint64_t err)
{
	got_sig = 0;
	fn();
	CHECK(got_sig == sig, "%s: signal %d, expected %d", what, got_sig, sig);
	CHECK(got_rip == (uintptr_t)rip_label, "%s: signal RIP %#lx, expected %#lx", what,
	      (unsigned long)got_rip, (unsigned long)(uintptr_t)rip_label);
	CHECK(got_trapno == trapno, "%s: trap number %lu, expected %lu", what,
	      (unsigned long)got_trapno, (unsigned long)trapno);
	if (sig == SIGSEGV)
		CHECK(got_err == err, "%s: error code %#lx, expected %#lx", what,
		      (unsigned long)got_err, (unsigned long)err);
	note("%s: signal %d at %#lx, trap %lu error %#lx", what, sig, (unsigned long)got_rip,
	     (unsigned long)got_trapno, (unsigned long)got_err);
}

static void do_int81(void) { __asm__ __volatile__("i81: int $0x81\ni81_end:" ::: "memory"); }
static void do_int1(void) { __asm__ __volatile__("i1: int $1\ni1_end:" ::: "memory"); }
static void do_int3(void) { __asm__ __volatile__("i3: int $3\ni3_end:" ::: "memory"); }
static void do_icc(void) { __asm__ __volatile__("icc: int3\nicc_end:" ::: "memory"); }

int main(void)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO };
	long r;

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGTRAP, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);

	r = int80(20);
	CHECK(got_sig == 0, "int $0x80: signal %d at %#lx", got_sig, (unsigned long)got_rip);
	CHECK(r == getpid(), "int $0x80 getpid (20) = %ld, expected %d", r, getpid());
	r = int80(0x7fff);
	CHECK(r == -ENOSYS, "int $0x80 with an unknown number = %ld, expected -ENOSYS", r);
	note("int $0x80: 32-bit getpid works, unknown number gives -ENOSYS");

	run(do_int81, "int $0x81", SIGSEGV, i81, 13, (0x81 << 3) | 2);
	run(do_int1, "int $1", SIGSEGV, i1, 13, (1 << 3) | 2);
	run(do_int3, "int $3", SIGTRAP, i3_end, 3, 0);
	run(do_icc, "int3", SIGTRAP, icc_end, 3, 0);
	pass();
}
