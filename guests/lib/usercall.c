/*
 * Running test code in guest user mode, the way XTF does: the kernel's own
 * page tables become the user tables too (every PV mapping is a user
 * mapping, since the guest kernel runs at CPL3), so any function of the
 * image can run in user mode.  user_call() irets to a trampoline in user
 * mode, which calls the function and comes back with `syscall`; the
 * syscall callback returns to the kernel right after user_call.
 */
#include "guest.h"

#define USER_RETURN_MAGIC 0x7573657272657421ull   /* "userret!" */

static uint8_t user_stack[2 * PAGE_SIZE] PAGE_ALIGNED;
static uint8_t kernel_stack[4 * PAGE_SIZE] PAGE_ALIGNED;
uint64_t user_call_kernel_rsp;
uint64_t user_rflags = 0x2;   /* IF clear: events stay masked */
static trap_handler_t saved_syscall_handler;
static bool user_ready;

uint64_t user_call_enter(uint64_t fn, uint64_t arg, uint64_t rsp);
void user_call_resume(void);

__asm__(
	"	.text\n"
	/* user mode: rdi = arg, rsi = fn */
	"user_trampoline:\n"
	"	call *%rsi\n"
	"	movq %rax, %rdi\n"
	"	movabsq $0x7573657272657421, %rax\n"
	"	syscall\n"
	"	ud2\n"
	/* user_call_enter(fn, arg, rsp): save the kernel context, iret */
	"	.globl user_call_enter\n"
	"user_call_enter:\n"
	"	push %rbp\n"
	"	push %rbx\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	"	movq %rsp, user_call_kernel_rsp(%rip)\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	movq %rax, %rsi\n"
	"	pushq $0xe02b\n"             /* SS: FLAT_USER_SS */
	"	pushq %rdx\n"                /* RSP */
	"	pushq user_rflags(%rip)\n"   /* RFLAGS */
	"	pushq $0xe033\n"             /* CS: FLAT_USER_CS, RPL 3 */
	"	leaq user_trampoline(%rip), %rax\n"
	"	pushq %rax\n"                /* RIP */
	"	pushq $0\n"                  /* flags */
	"	jmp hypercall_iret\n"
	"	.globl user_call_resume\n"
	"user_call_resume:\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbx\n"
	"	pop %rbp\n"
	"	ret\n");

/* The trampoline's `syscall`: back to the kernel after user_call_enter. */
static uint64_t user_call_return(struct trap_frame *f)
{
	if (f->rax != USER_RETURN_MAGIC) {
		if (saved_syscall_handler)
			return saved_syscall_handler(f);
		test_fail("syscall from user mode at %#lx (rax %#lx)",
		          (unsigned long)f->rip, (unsigned long)f->rax);
	}
	f->rax = f->rdi;
	f->rip = (uintptr_t)user_call_resume;
	f->cs = FLAT_KERNEL_CS & ~3ull;   /* RPL 0: stay in kernel mode */
	f->ss = FLAT_KERNEL_SS & ~3ull;
	f->rsp = user_call_kernel_rsp;
	f->rflags = 0x2;
	return 0;
}

void user_mode_init(void)
{
	struct callback_register cb = {
		.type = CALLBACKTYPE_syscall,
		.flags = CALLBACKF_mask_events,
		.address = (uintptr_t)syscall_entry,
	};
	long rc;

	if (user_ready)
		return;
	rc = HYPERVISOR_callback_op(CALLBACKOP_register, &cb);
	if (rc)
		test_fail("callback_op(register, CALLBACKTYPE_syscall) failed: %ld", rc);
	rc = HYPERVISOR_stack_switch(FLAT_KERNEL_SS,
	                             (uintptr_t)(kernel_stack + sizeof(kernel_stack)));
	if (rc)
		test_fail("stack_switch failed: %ld", rc);
	rc = mmuext_one(MMUEXT_NEW_USER_BASEPTR, va_to_mfn((void *)start_info->pt_base), 0);
	if (rc)
		test_fail("MMUEXT_NEW_USER_BASEPTR(kernel L4) failed: %ld", rc);
	user_ready = true;
}

uint64_t user_call(uint64_t (*fn)(uint64_t), uint64_t arg)
{
	uint64_t ret;

	user_mode_init();
	saved_syscall_handler = syscall_handler;
	syscall_handler = user_call_return;
	ret = user_call_enter((uintptr_t)fn, arg,
	                      (uintptr_t)(user_stack + sizeof(user_stack)));
	syscall_handler = saved_syscall_handler;
	return ret;
}
