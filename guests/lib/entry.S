/*
 * Exception, event and syscall entry stubs.
 *
 * Xen bounces to a handler with this frame at RSP (lowest first):
 *   RCX, R11, [error code], RIP, CS, RFLAGS, RSP, SS
 * Each stub pops RCX/R11 (so they hold the interrupted values), pushes a 0
 * error code if the vector has none and the vector number, then builds a
 * struct trap_frame and calls trap_dispatch(frame), which returns the flags
 * word for HYPERVISOR_iret.  We return with HYPERVISOR_iret, never iretq.
 */
	.text
	.code64

.macro STUB name, vec, has_ec
	.globl \name
	.type \name, @function
\name:
	pop	%rcx
	pop	%r11
	.if \has_ec == 0
	push	$0
	.endif
	push	$\vec
	jmp	trap_common
	.size \name, . - \name
.endm

/* Vectors with an error code: 8, 10-14, 17, 21, 29, 30. */
	STUB trap_stub_0, 0, 0
	STUB trap_stub_1, 1, 0
	STUB trap_stub_2, 2, 0
	STUB trap_stub_3, 3, 0
	STUB trap_stub_4, 4, 0
	STUB trap_stub_5, 5, 0
	STUB trap_stub_6, 6, 0
	STUB trap_stub_7, 7, 0
	STUB trap_stub_8, 8, 1
	STUB trap_stub_9, 9, 0
	STUB trap_stub_10, 10, 1
	STUB trap_stub_11, 11, 1
	STUB trap_stub_12, 12, 1
	STUB trap_stub_13, 13, 1
	STUB trap_stub_14, 14, 1
	STUB trap_stub_15, 15, 0
	STUB trap_stub_16, 16, 0
	STUB trap_stub_17, 17, 1
	STUB trap_stub_18, 18, 0
	STUB trap_stub_19, 19, 0
	STUB trap_stub_20, 20, 0
	STUB trap_stub_21, 21, 1
	STUB trap_stub_22, 22, 0
	STUB trap_stub_23, 23, 0
	STUB trap_stub_24, 24, 0
	STUB trap_stub_25, 25, 0
	STUB trap_stub_26, 26, 0
	STUB trap_stub_27, 27, 0
	STUB trap_stub_28, 28, 0
	STUB trap_stub_29, 29, 1
	STUB trap_stub_30, 30, 1
	STUB trap_stub_31, 31, 0

	STUB event_entry_cpu0, 0x100, 0
	STUB event_entry_cpu1, 0x101, 0
	STUB syscall_entry, 0x200, 0

	.section .rodata
	.balign 8
	.globl trap_stubs
trap_stubs:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad trap_stub_\v
.endr

	.text
	.type trap_common, @function
trap_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	cld
	mov	%rsp, %rdi
	mov	%rsp, %rbx		/* the frame; rbx is callee-saved */
	and	$-16, %rsp		/* ABI alignment for the C call */
	call	trap_dispatch
	mov	%rbx, %rsp
	mov	%rax, 16 * 8(%rsp)	/* error code slot := iret flags */
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	add	$8, %rsp		/* drop the vector; flags word on top */
	jmp	hypercall_iret
	.size trap_common, . - trap_common

/*
 * bool probe_read(const volatile void *addr, uint64_t *val)
 * bool probe_write(volatile void *addr, uint64_t val)
 * A fault resumes at the label after the access (trap_resume) and returns 1.
 */
	.globl probe_read
	.type probe_read, @function
probe_read:
	lea	1f(%rip), %rax
	mov	%rax, trap_resume(%rip)
	mov	(%rdi), %rdx
	movq	$0, trap_resume(%rip)
	mov	%rdx, (%rsi)
	xor	%eax, %eax
	ret
1:	mov	$1, %eax
	ret
	.size probe_read, . - probe_read

	.globl probe_write
	.type probe_write, @function
probe_write:
	lea	1f(%rip), %rax
	mov	%rax, trap_resume(%rip)
	mov	%rsi, (%rdi)
	movq	$0, trap_resume(%rip)
	xor	%eax, %eax
	ret
1:	mov	$1, %eax
	ret
	.size probe_write, . - probe_write
