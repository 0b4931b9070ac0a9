/*
 * mc-iret: HYPERVISOR_iret inside a multicall.  Xen runs the iret and ends
 * the batch there (XSA-213: carrying on ran the rest of the batch in the
 * context the iret switched to): the guest resumes at the iret frame's RIP
 * with its RAX, that RAX is the entry's result, and later entries do not
 * run.  A multicall nested in a multicall is refused.
 */
#include "guest.h"

const char test_name[] = "mc-iret";

#define IRET_RAX 0xdeadull
#define UNTOUCHED 0x5a5a5a5aull

static struct multicall_entry calls[2];

/* Issues the multicall with an iret frame (to `landed`, RAX = IRET_RAX) on
 * the stack; returns 2 if we arrived through the iret, 1 if the multicall
 * returned normally; *rax gets RAX at that point. */
static uint64_t multicall_with_iret(uint64_t *rax)
{
	uint64_t where, a;

	__asm__ __volatile__("movq %%rsp, %%rdx\n\t"
	                     "pushq $0xe02b\n\t"          /* SS */
	                     "pushq %%rdx\n\t"            /* RSP */
	                     "pushq $0x2\n\t"             /* RFLAGS */
	                     "pushq $0xe030\n\t"          /* CS: kernel, RPL 0 */
	                     "leaq 2f(%%rip), %%rax\n\t"
	                     "pushq %%rax\n\t"            /* RIP */
	                     "pushq $0\n\t"               /* flags */
	                     "pushq $0\n\t"               /* RCX */
	                     "pushq $0\n\t"               /* R11 */
	                     "pushq %[iret_rax]\n\t"      /* RAX */
	                     "movl %[nr], %%eax\n\t"
	                     "leaq calls(%%rip), %%rdi\n\t"
	                     "movl $2, %%esi\n\t"
	                     "syscall\n\t"
	                     "movq %%rdx, %%rsp\n\t"      /* returned: drop the frame */
	                     "movl $1, %%ebx\n\t"
	                     "jmp 3f\n"
	                     "2: movl $2, %%ebx\n"
	                     "3:"
	                     : "=b"(where), "=a"(a)
	                     : [iret_rax] "i"(IRET_RAX), [nr] "i"(__HYPERVISOR_multicall)
	                     : "rcx", "rdx", "rsi", "rdi", "r11", "memory");
	*rax = a;
	return where;
}

void test_main(void)
{
	uint64_t rax = 0;

	calls[0] = (struct multicall_entry){ .op = __HYPERVISOR_iret, .result = UNTOUCHED };
	calls[1] = (struct multicall_entry){ .op = __HYPERVISOR_xen_version,
	                                     .args = { XENVER_version, 0 }, .result = UNTOUCHED };
	EXPECT_EQ(multicall_with_iret(&rax), 2);
	EXPECT_EQ(rax, IRET_RAX);
	EXPECT_EQ(calls[0].result, IRET_RAX);
	EXPECT_EQ(calls[1].result, UNTOUCHED);
	printk("mc-iret: the iret ended the batch, result %#lx\n", (unsigned long)calls[0].result);

	calls[0] = (struct multicall_entry){ .op = __HYPERVISOR_multicall,
	                                     .args = { (uintptr_t)&calls[1], 1 } };
	calls[1].result = UNTOUCHED;
	EXPECT_EQ(HYPERVISOR_multicall(calls, 1), 0);
	EXPECT_EQ(calls[0].result, -XEN_EINVAL);
	EXPECT_EQ(calls[1].result, UNTOUCHED);
	printk("mc-iret: nested multicall refused\n");
}
