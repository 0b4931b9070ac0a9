/*
 * CPL0 stubs that kxen copies into every domain's hypervisor area.
 *
 * On the PVM-style hosts kxen targets, every CPL0 instruction is emulated
 * (~1 us each), so these are as short as possible: an exception entry is
 * "push vector; hlt" (hlt exits to the daemon because the VM has no in-kernel
 * irqchip), and returning is "add $16,%rsp; iretq".  Page-table writes must be
 * executed by the vCPU itself (host-side writes are invisible to a running
 * guest on those hosts), which is what kx_stub_ptw does.
 *
 * The code is position independent: the daemon copies the bytes between
 * kx_stubs_start and kx_stubs_end to a page of its choosing and computes
 * entry points from the offsets of the symbols below.
 *
 * Frame on the per-vCPU IST stack at every exit (lowest address first):
 *   vector, error code (0 if the CPU pushed none), rip, cs, rflags, rsp, ss
 */
	.section .rodata.kxstubs, "a"
	.code64
	.globl kx_stubs_start, kx_stubs_end
	.globl kx_stub_entry, kx_stub_iret, kx_stub_ptw, kx_stub_ptw_sync
	.p2align 4
kx_stubs_start:

/* One 16-byte slot per vector; vectors whose exceptions carry an error code
 * get no dummy push. */
kx_stub_entry:
	vec = 0
	.rept 256
	.p2align 4
	.if vec == 8 || vec == 10 || vec == 11 || vec == 12 || vec == 13 || vec == 14 || vec == 17 || vec == 21 || vec == 29 || vec == 30
	pushq $vec
	hlt
	.else
	pushq $0
	pushq $vec
	hlt
	.endif
	vec = vec + 1
	.endr

/* Resume the guest from the frame at %rsp. */
	.p2align 4
kx_stub_iret:
	add $16, %rsp
	iretq

/*
 * Re-store a batch of page-table entries, then flush, then resume the guest.
 * The daemon has already written each entry into RAM; storing it again from
 * here is what makes KVM's shadow page tables notice.  Each entry is
 * re-stored with its CURRENT value by a locked read-modify-write that
 * changes nothing, so the store can never bring back a value that another
 * vCPU has replaced in the meantime.
 * In:  %rsi = list of u64 VAs (direct map), %rcx = count (may be 0),
 *      %rdx = flush: 0 none, 1 full (reload %cr3), otherwise a VA to invlpg.
 *      The stack holds the guest's rax, rcx, rdx, rsi, then the usual frame.
 */
	.p2align 4
kx_stub_ptw:
	test %rcx, %rcx
	jz 2f
1:	mov (%rsi), %rax
	lock orq $0, (%rax)
	add $8, %rsi
	dec %rcx
	jnz 1b
2:	test %rdx, %rdx
	jz 4f
	cmp $1, %rdx
	jne 3f
	mov %cr3, %rax
	mov %rax, %cr3
	jmp 4f
3:	invlpg (%rdx)
4:	pop %rax
	pop %rcx
	pop %rdx
	pop %rsi
	pop %rdi
	add $16, %rsp
	iretq

/*
 * The same batch, for when the daemon needs the stores done before it can
 * go on (a batch overflowed mid-hypercall, or a store dropped a reference
 * that must leave the shadow tables before d->lock is released): ends
 * with hlt instead of returning to the guest; the daemon restores the
 * registers itself.
 */
	.p2align 4
kx_stub_ptw_sync:
	test %rcx, %rcx
	jz 2f
1:	mov (%rsi), %rax
	lock orq $0, (%rax)
	add $8, %rsi
	dec %rcx
	jnz 1b
2:	test %rdx, %rdx
	jz 4f
	cmp $1, %rdx
	jne 3f
	mov %cr3, %rax
	mov %rax, %cr3
	jmp 4f
3:	invlpg (%rdx)
4:	hlt

	.p2align 4
kx_stubs_end:
	.section .note.GNU-stack, "", @progbits
