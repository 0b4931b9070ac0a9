/*
 * Hypercalls through the hypercall page (Linux <= 6.1.120 style).
 *
 * The HYPERCALL_PAGE note asks the hypervisor to fill hypercall_page with
 * 32-byte stubs at nr*32.  Until then each slot holds `ret` + int3 like
 * Linux's placeholder, so an unfilled page makes calls return garbage; the
 * hypercall-page test checks the contents and only then sets
 * hypercall_via_page, before which hypercall() uses `syscall` directly.
 */
#define HCALL_PAGE_FLAVOUR
#include "elfnote.inc"
#include "hcall-direct.S"

ELFNOTE(XEN_ELFNOTE_HYPERCALL_PAGE, .quad hypercall_page)

	.text
	.balign 4096
	.globl hypercall_page
hypercall_page:
	.rept 4096 / 32
	ret
	.fill 31, 1, 0xcc
	.endr
	.size hypercall_page, 4096

	.globl hypercall
	.type hypercall, @function
hypercall:
	cmpb	$0, hypercall_via_page(%rip)
	je	hypercall_direct
	cmp	$(4096 / 32), %rdi	/* numbers beyond the page: direct */
	jae	hypercall_direct
	mov	%rdi, %r11
	shl	$5, %r11
	lea	hypercall_page(%rip), %rax
	add	%rax, %r11
	mov	%rsi, %rdi
	mov	%rdx, %rsi
	mov	%rcx, %rdx
	mov	%r8, %r10
	mov	%r9, %r8
	jmp	*%r11			/* the stub's `ret` returns to our caller */
	.size hypercall, . - hypercall

	.globl hypercall_iret
	.type hypercall_iret, @function
hypercall_iret:
	cmpb	$0, hypercall_via_page(%rip)
	je	hypercall_iret_direct
	jmp	hypercall_page + 23 * 32
	.size hypercall_iret, . - hypercall_iret

	.data
	.globl hypercall_via_page
hypercall_via_page:
	.byte 0
