/*
 * Guest user mode for test guests: user page tables built from a small
 * pool, the syscall callback, the kernel stack for bounces from user mode,
 * and user_run(), which irets to user mode and returns when a handler of a
 * trap from user mode calls user_return() (or the user code makes the
 * USER_SYS_EXIT system call).
 *
 * Only vCPU 0 enters user mode (one kernel stack, one resume point).
 */
#include "guest.h"

#define USER_PT_POOL 16
#define PT_FLAGS (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY)

static uint64_t user_pt[USER_PT_POOL][512] PAGE_ALIGNED;
static unsigned user_pt_used = 1;          /* user_pt[0] is the L4 */
static uint8_t user_kstack[4 * PAGE_SIZE] PAGE_ALIGNED;
static bool user_installed;

trap_handler_t user_syscall_hook;
uint64_t user_run_rsp;
uint64_t user_run_asm(uint64_t rip, uint64_t rsp, uint64_t rflags);
void user_run_resume(void);

/*
 * user_run_asm saves the callee-saved registers and its stack pointer,
 * then irets to user mode; user_return() makes a handler's iret land on
 * user_run_resume with that stack, and RAX (the frame's) is the result.
 */
__asm__(
	"	.text\n"
	"	.globl user_run_asm\n"
	"user_run_asm:\n"
	"	push %rbp\n"
	"	push %rbx\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	"	movq %rsp, user_run_rsp(%rip)\n"
	"	pushq $0xe02b\n"           /* SS: FLAT_USER_SS */
	"	pushq %rsi\n"              /* RSP */
	"	pushq %rdx\n"              /* RFLAGS */
	"	pushq $0xe033\n"           /* CS: FLAT_USER_CS, RPL 3 -> user mode */
	"	pushq %rdi\n"              /* RIP */
	"	pushq $0\n"                /* flags */
	"	jmp hypercall_iret\n"
	"	.globl user_run_resume\n"
	"user_run_resume:\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbx\n"
	"	pop %rbp\n"
	"	ret\n");

static uint64_t *next_table(uint64_t *table, unsigned idx)
{
	if (!(table[idx] & _PAGE_PRESENT)) {
		if (user_pt_used == USER_PT_POOL)
			test_fail("user_map: out of page-table pages");
		table[idx] = (va_to_mfn(user_pt[user_pt_used]) << 12) | PT_FLAGS;
		return user_pt[user_pt_used++];
	}
	for (unsigned i = 0; i < user_pt_used; i++)
		if (va_to_mfn(user_pt[i]) == (table[idx] & PTE_ADDR_MASK) >> 12)
			return user_pt[i];
	test_fail("user_map: table entry %#lx not from the pool", (unsigned long)table[idx]);
}

void user_map(uint64_t va, const void *kva, bool writable)
{
	uint64_t *t = user_pt[0];

	if (user_installed)
		test_fail("user_map after user_tables_install");
	for (int level = 4; level > 1; level--)
		t = next_table(t, (va >> (12 + 9 * (level - 1))) & 511);
	t[(va >> 12) & 511] = (va_to_mfn(kva) << 12) | _PAGE_PRESENT | _PAGE_USER |
	                      _PAGE_ACCESSED | (writable ? _PAGE_RW | _PAGE_DIRTY : 0);
}

static uint64_t user_syscall(struct trap_frame *f)
{
	if (f->rax == USER_SYS_EXIT) {
		user_return(f, f->rdi);
		return 0;
	}
	if (user_syscall_hook)
		return user_syscall_hook(f);
	f->rax = (uint64_t)-38;   /* -ENOSYS */
	f->cs = FLAT_USER_CS | 3;
	f->ss = FLAT_USER_SS | 3;
	return VGCF_IN_SYSCALL;
}

void user_tables_install(void)
{
	struct callback_register cb = {
		.type = CALLBACKTYPE_syscall,
		.flags = CALLBACKF_mask_events,
		.address = (uintptr_t)syscall_entry,
	};
	long rc;

	for (unsigned i = 0; i < user_pt_used; i++) {
		rc = HYPERVISOR_update_va_mapping((uintptr_t)user_pt[i],
		        (va_to_mfn(user_pt[i]) << 12) | _PAGE_PRESENT | _PAGE_ACCESSED,
		        UVMF_INVLPG);
		CHECK(rc == 0, "update_va_mapping(read-only) of user table %u: %ld", i, rc);
	}
	rc = mmuext_one(MMUEXT_PIN_L4_TABLE, va_to_mfn(user_pt[0]), 0);
	CHECK(rc == 0, "MMUEXT_PIN_L4_TABLE of the user L4: %ld", rc);
	rc = mmuext_one(MMUEXT_NEW_USER_BASEPTR, va_to_mfn(user_pt[0]), 0);
	CHECK(rc == 0, "MMUEXT_NEW_USER_BASEPTR: %ld", rc);
	rc = HYPERVISOR_callback_op(CALLBACKOP_register, &cb);
	CHECK(rc == 0, "callback_op(register, CALLBACKTYPE_syscall): %ld", rc);
	rc = HYPERVISOR_stack_switch(FLAT_KERNEL_SS,
	                             (uintptr_t)(user_kstack + sizeof(user_kstack)));
	CHECK(rc == 0, "stack_switch: %ld", rc);
	syscall_handler = user_syscall;
	user_installed = true;
}

uint64_t user_run_flags(uint64_t rip, uint64_t rsp, uint64_t rflags)
{
	if (!user_installed)
		test_fail("user_run before user_tables_install");
	return user_run_asm(rip, rsp, rflags);
}

uint64_t user_run(uint64_t rip, uint64_t rsp)
{
	return user_run_flags(rip, rsp, 0x2);   /* IF clear: events stay masked */
}

void user_return(struct trap_frame *f, uint64_t val)
{
	if ((f->cs & 3) != 3)
		test_fail("user_return from a kernel-mode trap at %#lx", (unsigned long)f->rip);
	f->rax = val;
	f->rip = (uintptr_t)user_run_resume;
	f->cs = FLAT_KERNEL_CS & ~3ull;   /* RPL 0: stay in kernel mode */
	f->ss = FLAT_KERNEL_SS & ~3ull;
	f->rsp = user_run_rsp;
	f->rflags = 0x2;                  /* events masked again, as before user_run */
}
