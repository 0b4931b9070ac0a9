/*
 * step-syscall: ptrace single-step (gdb's stepi) over `syscall`, `int3`
 * and a page fault, a few times (see ptrace-step.h).  Under kxen this used
 * to end the whole domain ("fault in hypervisor code: vector 1").
 */
#include "ptrace-step.h"

int main(void)
{
	char err[256];

	for (int round = 0; round < 5; round++)
		if (step_trace_one(err, sizeof err))
			fail("round %d: %s", round, err);
	pass();
}
