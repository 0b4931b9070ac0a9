/*
 * Entry point and the Xen ELF notes every test guest carries.
 *
 * The hypervisor starts us (Xen's PV start of day) with RSI = VA of
 * start_info and events masked, without a trap table.  We move to our own
 * stack, zero .bss (in case the builder did not), and call lib_start().
 */
#include "elfnote.inc"

ELFNOTE(XEN_ELFNOTE_GUEST_OS,      .asciz "kxen-test")
ELFNOTE(XEN_ELFNOTE_GUEST_VERSION, .asciz "1")
ELFNOTE(XEN_ELFNOTE_LOADER,        .asciz "generic")
ELFNOTE(XEN_ELFNOTE_XEN_VERSION,   .asciz "xen-3.0")
ELFNOTE(XEN_ELFNOTE_VIRT_BASE,     .quad 0xffffffff80000000)
ELFNOTE(XEN_ELFNOTE_PADDR_OFFSET,  .quad 0)
ELFNOTE(XEN_ELFNOTE_ENTRY,         .quad _start)
ELFNOTE(XEN_ELFNOTE_FEATURES,      .asciz "!writable_page_tables|pae_pgdir_above_4gb")

	.section .text.entry, "ax", @progbits
	.code64
	.globl _start
	.type _start, @function
_start:
	cld
	lea	boot_stack_top(%rip), %rsp
	mov	%rsi, %r12		/* callee-saved across the clear */

	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
	sub	%rdi, %rcx
	shr	$3, %rcx
	xor	%eax, %eax
	rep stosq

	mov	%r12, %rdi
	call	lib_start		/* does not return */
	ud2
	.size _start, . - _start

	.section .bss.stack, "aw", @nobits
	.balign 4096
	.globl boot_stack
boot_stack:
	.skip 4 * 4096
boot_stack_top:
