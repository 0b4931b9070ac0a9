/*
 * sigreturn-rsp: a signal handler returns (rt_sigreturn) to code running
 * on a non-canonical RSP, which executes int3 without touching its stack.
 * The breakpoint must arrive as a SIGTRAP (on the alternate signal stack,
 * RIP after the int3, RSP the non-canonical value) -- as it does when the
 * same RSP is set with a plain mov, which is checked first.
 *
 * Under kxen the int3 after such a sigreturn arrived as #UD (SIGILL).
 */
#include <signal.h>
#include <stdint.h>
#include <sys/ucontext.h>
#include <ucontext.h>

#include "verdict.h"

#define BAD_RSP 0x8000000000000000ull

extern char bp_after[], set_rsp_after[];
void on_bad_stack(void);   /* int3 with the RSP it was given */
void set_rsp_then_int3(uint64_t rsp);

/* Neither touches the stack between taking the bad RSP and the int3. */
__asm__(
	"	.text\n"
	"	.globl on_bad_stack\n"
	"on_bad_stack:\n"
	"	int3\n"
	"bp_after:\n"
	"	ud2\n"
	"	.globl set_rsp_then_int3\n"
	"set_rsp_then_int3:\n"
	"	movq %rsp, %rax\n"
	"	movq %rdi, %rsp\n"
	"	int3\n"
	"set_rsp_after:\n"
	"	ud2\n");

static volatile int traps, segvs, ills;
static volatile uint64_t trap_rip, trap_rsp;
static ucontext_t back;

static void on_trap(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;

	(void)si;
	if (sig == SIGTRAP)
		traps++;
	else if (sig == SIGSEGV)
		segvs++;
	else
		ills++;
	trap_rip = uc->uc_mcontext.gregs[REG_RIP];
	trap_rsp = uc->uc_mcontext.gregs[REG_RSP];
	/* back to main, whatever happened */
	uc->uc_mcontext.gregs[REG_RIP] = back.uc_mcontext.gregs[REG_RIP];
	uc->uc_mcontext.gregs[REG_RSP] = back.uc_mcontext.gregs[REG_RSP];
	uc->uc_mcontext.gregs[REG_RBP] = back.uc_mcontext.gregs[REG_RBP];
}

static void on_usr1(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;

	(void)sig;
	(void)si;
	uc->uc_mcontext.gregs[REG_RIP] = (uintptr_t)on_bad_stack;
	uc->uc_mcontext.gregs[REG_RSP] = BAD_RSP;
}

static void expect_trap(const char *how, uint64_t rip)
{
	CHECK(ills == 0 && segvs == 0, "%s: SIGILL %d, SIGSEGV %d (RIP %#lx), expected SIGTRAP",
	      how, ills, segvs, (unsigned long)trap_rip);
	CHECK(traps == 1, "%s: %d SIGTRAPs", how, traps);
	CHECK(trap_rip == rip, "%s: SIGTRAP at %#lx, expected %#lx", how,
	      (unsigned long)trap_rip, (unsigned long)rip);
	CHECK(trap_rsp == BAD_RSP, "%s: RSP %#lx in the context, expected %#llx", how,
	      (unsigned long)trap_rsp, BAD_RSP);
	note("%s: SIGTRAP at %#lx with RSP %#lx", how, (unsigned long)trap_rip,
	     (unsigned long)trap_rsp);
	traps = 0;
}

int main(void)
{
	static char altstack[65536];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	struct sigaction sa = { .sa_sigaction = on_trap, .sa_flags = SA_SIGINFO | SA_ONSTACK };
	struct sigaction su = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };
	volatile int step = 0;

	CHECK(sigaltstack(&ss, NULL) == 0, "sigaltstack: %s", strerror(errno));
	sigaction(SIGTRAP, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGUSR1, &su, NULL);

	getcontext(&back);
	switch (step++) {
	case 0:
		set_rsp_then_int3(BAD_RSP);
		fail("set_rsp_then_int3 returned");
	case 1:
		expect_trap("mov to RSP", (uintptr_t)set_rsp_after);
		raise(SIGUSR1);
		fail("the signal returned normally");
	case 2:
		expect_trap("sigreturn to RSP", (uintptr_t)bp_after);
		break;
	default:
		fail("resumed %d times", step);
	}
	pass();
}
