/*
 * Hypercalls issued directly with `syscall` (Linux >= 6.1.121 style).
 *
 * hypercall(nr, a1..a5) takes System V arguments (rdi, rsi, rdx, rcx, r8,
 * r9) and moves them to the PV hypercall convention: RAX = number, args in
 * RDI, RSI, RDX, R10, R8; result in RAX; RCX/R11 clobbered (caller-saved
 * in the System V ABI anyway).
 */
	.text
	.code64

	.globl hypercall_direct
	.type hypercall_direct, @function
hypercall_direct:
	mov	%rdi, %rax
	mov	%rsi, %rdi
	mov	%rdx, %rsi
	mov	%rcx, %rdx
	mov	%r8, %r10
	mov	%r9, %r8
	syscall
	ret
	.size hypercall_direct, . - hypercall_direct

	/*
	 * HYPERVISOR_iret: entered by jmp with [flags, rip, cs, rflags, rsp,
	 * ss] on the stack; completes struct iret_context and never returns.
	 */
	.globl hypercall_iret_direct
	.type hypercall_iret_direct, @function
hypercall_iret_direct:
	push	%rcx
	push	%r11
	push	%rax
	mov	$23, %eax		/* __HYPERVISOR_iret */
	syscall
	ud2
	.size hypercall_iret_direct, . - hypercall_iret_direct

#ifndef HCALL_PAGE_FLAVOUR
	.globl hypercall
	.set hypercall, hypercall_direct
	.globl hypercall_iret
	.set hypercall_iret, hypercall_iret_direct

	.data
	.globl hypercall_via_page
hypercall_via_page:
	.byte 0
#endif
