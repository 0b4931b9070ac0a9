/*
 * user: guest user mode, the syscall callback and user faults.
 *
 * Builds user page tables (a fresh L4 -> L3 -> L2 -> L1 mapping one user
 * code page at 0x400000 and a user stack page after it), pins the L4,
 * installs it with MMUEXT_NEW_USER_BASEPTR, registers the syscall callback
 * (CALLBACKTYPE_syscall) and the kernel stack (stack_switch), then
 * HYPERVISOR_iret's to user mode (CS = FLAT_USER_CS, RPL 3).  The user
 * code executes `syscall`: the callback must see RCX = the return RIP and
 * the user's RAX/RDI/RSP; it returns with iret + VGCF_in_syscall (sysret
 * semantics: the user sees RCX = RIP, R11 = RFLAGS and our RAX).  The user
 * code then reads a kernel address, which is not mapped in its page
 * tables: a #PF bounced to the kernel with the U bit set in the error code
 * and CR2 = that address.  The #PF handler resumes the kernel.
 */
#include "guest.h"

const char test_name[] = "user";

#define USER_CODE_VA   0x400000ull
#define USER_STACK_VA  0x401000ull
#define KERNEL_PROBE   0xffffffff80100000ull
#define PT_FLAGS   (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY)

/* User page tables, the user stack and the kernel stack for bounces. */
static struct {
	uint64_t l4[512], l3[512], l2[512], l1[512];
	uint8_t stack[PAGE_SIZE];
	uint8_t kstack[4 * PAGE_SIZE];
} u PAGE_ALIGNED;

extern const uint8_t user_code[], user_after_syscall[], user_fault_insn[];
uint64_t kernel_resume_rsp;
void enter_user(uint64_t rip, uint64_t rsp);
void user_resume(void);

/*
 * One page of user code (its frame is mapped again at USER_CODE_VA).
 * enter_user saves the callee-saved registers and RSP, then irets to user
 * mode; the #PF handler resumes at user_resume on that RSP.
 */
__asm__(
	"	.section .text.user, \"ax\", @progbits\n"
	"	.balign 4096\n"
	"user_code:\n"
	"	movl $0x1234, %edi\n"
	"	movl $0x5678, %eax\n"
	"	syscall\n"
	"user_after_syscall:\n"
	"	movq %rax, %rbx\n"
	"	movq %rcx, %r12\n"
	"	movq %r11, %r13\n"
	"	movabsq $0xffffffff80100000, %rdx\n"
	"user_fault_insn:\n"
	"	movq (%rdx), %rcx\n"
	"	ud2\n"
	"	.balign 4096\n"
	"	.text\n"
	"	.globl enter_user\n"
	"enter_user:\n"
	"	push %rbp\n"
	"	push %rbx\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	"	movq %rsp, kernel_resume_rsp(%rip)\n"
	"	pushq $0xe02b\n"           /* SS: FLAT_USER_SS */
	"	pushq %rsi\n"              /* RSP */
	"	pushq $0x2\n"              /* RFLAGS: IF clear = events stay masked */
	"	pushq $0xe033\n"           /* CS: FLAT_USER_CS, RPL 3 -> user mode */
	"	pushq %rdi\n"              /* RIP */
	"	pushq $0\n"                /* flags */
	"	jmp hypercall_iret\n"
	"	.globl user_resume\n"
	"user_resume:\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbx\n"
	"	pop %rbp\n"
	"	ret\n");

static uint64_t user_va(const uint8_t *label)
{
	return USER_CODE_VA + (uint64_t)(label - user_code);
}

static struct trap_frame sys_frame, pf_frame;
static int syscalls, user_faults;

static uint64_t syscall_handler_fn(struct trap_frame *f)
{
	sys_frame = *f;
	syscalls++;
	f->rax = 0xabcd;
	f->cs = FLAT_USER_CS | 3;
	f->ss = FLAT_USER_SS | 3;
	return VGCF_IN_SYSCALL;   /* return like sysret: RIP/RFLAGS from the frame */
}

static uint64_t pf_handler(struct trap_frame *f)
{
	if ((f->cs & 3) != 3)   /* a kernel fault: not ours to absorb */
		test_fail("kernel #PF at %#lx, cr2 %#lx, error code %#lx",
		          (unsigned long)f->rip, (unsigned long)last_trap.cr2,
		          (unsigned long)f->error_code);
	pf_frame = *f;
	user_faults++;
	/* Back to the kernel, after enter_user's call. */
	f->rip = (uintptr_t)user_resume;
	f->cs = FLAT_KERNEL_CS & ~3ull;   /* RPL 0: stay in kernel mode */
	f->ss = FLAT_KERNEL_SS & ~3ull;
	f->rsp = kernel_resume_rsp;
	f->rflags = 0x2;
	return 0;
}

static void make_ro(void *va)
{
	long rc = HYPERVISOR_update_va_mapping((uintptr_t)va,
	        (va_to_mfn(va) << 12) | _PAGE_PRESENT | _PAGE_ACCESSED, UVMF_INVLPG);

	CHECK(rc == 0, "update_va_mapping(read-only) of a page table page: %ld", rc);
}

static void build_user_tables(void)
{
	uint64_t code_mfn = va_to_mfn(user_code);
	long rc;

	memset(&u, 0, sizeof(u));
	u.l4[(USER_CODE_VA >> 39) & 511] = (va_to_mfn(u.l3) << 12) | PT_FLAGS;
	u.l3[(USER_CODE_VA >> 30) & 511] = (va_to_mfn(u.l2) << 12) | PT_FLAGS;
	u.l2[(USER_CODE_VA >> 21) & 511] = (va_to_mfn(u.l1) << 12) | PT_FLAGS;
	u.l1[(USER_CODE_VA >> 12) & 511] = (code_mfn << 12) | _PAGE_PRESENT |
	                                    _PAGE_USER | _PAGE_ACCESSED;
	u.l1[(USER_STACK_VA >> 12) & 511] = (va_to_mfn(u.stack) << 12) | PT_FLAGS;

	make_ro(u.l1);
	make_ro(u.l2);
	make_ro(u.l3);
	make_ro(u.l4);
	rc = mmuext_one(MMUEXT_PIN_L4_TABLE, va_to_mfn(u.l4), 0);
	CHECK(rc == 0, "MMUEXT_PIN_L4_TABLE of the user L4 failed: %ld", rc);
	rc = mmuext_one(MMUEXT_NEW_USER_BASEPTR, va_to_mfn(u.l4), 0);
	CHECK(rc == 0, "MMUEXT_NEW_USER_BASEPTR failed: %ld", rc);
	printk("user: user L4 mfn %#lx pinned and installed\n",
	       (unsigned long)va_to_mfn(u.l4));
}

void test_main(void)
{
	struct callback_register cb = {
		.type = CALLBACKTYPE_syscall,
		.flags = CALLBACKF_mask_events,
		.address = (uintptr_t)syscall_entry,
	};
	uint64_t user_rsp = USER_STACK_VA + PAGE_SIZE - 64;
	long rc;

	need_shared_info();
	traps_init();
	trap_set_handler(14, pf_handler);
	syscall_handler = syscall_handler_fn;

	rc = HYPERVISOR_callback_op(CALLBACKOP_register, &cb);
	CHECK(rc == 0, "callback_op(register, CALLBACKTYPE_syscall) failed: %ld", rc);
	rc = HYPERVISOR_stack_switch(FLAT_KERNEL_SS, (uintptr_t)(u.kstack + sizeof(u.kstack)));
	CHECK(rc == 0, "stack_switch failed: %ld", rc);
	build_user_tables();

	printk("user: iret to user mode at %#lx\n", (unsigned long)USER_CODE_VA);
	enter_user(USER_CODE_VA, user_rsp);
	printk("user: back in the kernel\n");

	EXPECT_EQ(syscalls, 1);
	EXPECT_EQ(sys_frame.rcx, user_va(user_after_syscall));
	EXPECT_EQ(sys_frame.rip, user_va(user_after_syscall));
	EXPECT_EQ(sys_frame.rax, 0x5678);
	EXPECT_EQ(sys_frame.rdi, 0x1234);
	EXPECT_EQ(sys_frame.rsp, user_rsp);
	printk("user: syscall callback saw rip/rcx %#lx rsp %#lx\n",
	       (unsigned long)sys_frame.rip, (unsigned long)sys_frame.rsp);

	EXPECT_EQ(user_faults, 1);
	EXPECT_EQ(pf_frame.vector, 14);
	EXPECT_EQ(pf_frame.rip, user_va(user_fault_insn));
	CHECK(pf_frame.error_code & 4, "U bit clear in #PF error code %#lx",
	      (unsigned long)pf_frame.error_code);
	CHECK(!(pf_frame.error_code & 2), "W bit set for a read: %#lx",
	      (unsigned long)pf_frame.error_code);
	EXPECT_EQ(last_trap.cr2, KERNEL_PROBE);
	CHECK((pf_frame.cs & 3) == 3, "#PF frame CS %#lx is not user", (unsigned long)pf_frame.cs);
	/* What the user saw after the sysret-style return. */
	EXPECT_EQ(pf_frame.rbx, 0xabcd);
	EXPECT_EQ(pf_frame.r12, user_va(user_after_syscall));
	printk("user: #PF from user mode: error code %#lx cr2 %#lx\n",
	       (unsigned long)pf_frame.error_code, (unsigned long)last_trap.cr2);
}
