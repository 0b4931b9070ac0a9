/* Fake callbacks, the native-execution oracle and the test entry point. */
#include <string.h>
#include <sys/mman.h>

#include "fake.h"

static size_t f_fetch(void *ctx, uint64_t addr, uint8_t *buf, size_t len)
{
	struct fake *f = ctx;
	uint64_t off = addr - f->code_addr;
	size_t n;

	if (addr < f->code_addr || off >= f->code_len)
		return 0;
	n = f->code_len - off;
	if (n > len)
		n = len;
	memcpy(buf, f->code + off, n);
	return n;
}

static int in_mem(const struct fake *f, uint64_t addr, unsigned size)
{
	return f->mem && addr >= f->mem_addr && size <= f->mem_len &&
	       addr - f->mem_addr <= f->mem_len - size;
}

static int f_read(void *ctx, uint64_t addr, void *buf, unsigned size)
{
	struct fake *f = ctx;

	if (!in_mem(f, addr, size))
		return -14;
	memcpy(buf, f->mem + (addr - f->mem_addr), size);
	f->nr_reads++;
	return 0;
}

static int f_write(void *ctx, uint64_t addr, const void *buf, unsigned size)
{
	struct fake *f = ctx;

	if (!in_mem(f, addr, size))
		return -14;
	memcpy(f->mem + (addr - f->mem_addr), buf, size);
	f->nr_writes++;
	return 0;
}

/* Behaves like a page-table owner: checks old against memory when
 * atomic, then stores the whole entry. */
static int f_commit(void *ctx, const struct x86emu_write *w)
{
	struct fake *f = ctx;
	uint8_t cur[16];

	f->last_write = *w;
	f->nr_commits++;
	if (f->commit_retries) {
		f->commit_retries--;
		return X86EMU_COMMIT_RETRY;
	}
	if (f->commit_rc)
		return f->commit_rc;
	if (!in_mem(f, w->entry_addr, w->entry_size))
		return X86EMU_COMMIT_REJECT;
	memcpy(cur, f->mem + (w->entry_addr - f->mem_addr), w->entry_size);
	if (w->atomic && memcmp(cur, w->old, w->entry_size))
		return X86EMU_COMMIT_RETRY;
	memcpy(f->mem + (w->entry_addr - f->mem_addr), w->new_, w->entry_size);
	return X86EMU_COMMIT_OK;
}

static int f_read_cr(void *ctx, unsigned cr, uint64_t *val)
{
	struct fake *f = ctx;

	*val = f->cr[cr & 15];
	return f->cr_rc;
}

static int f_write_cr(void *ctx, unsigned cr, uint64_t val)
{
	struct fake *f = ctx;

	if (f->cr_rc)
		return f->cr_rc;
	f->cr[cr & 15] = val;
	return 0;
}

static int f_read_dr(void *ctx, unsigned dr, uint64_t *val)
{
	struct fake *f = ctx;

	*val = f->dr[dr & 7];
	return f->dr_rc;
}

static int f_write_dr(void *ctx, unsigned dr, uint64_t val)
{
	struct fake *f = ctx;

	if (f->dr_rc)
		return f->dr_rc;
	f->dr[dr & 7] = val;
	return 0;
}

static int f_read_msr(void *ctx, uint32_t msr, uint64_t *val)
{
	struct fake *f = ctx;

	f->last_msr = msr;
	*val = f->msr_val;
	return f->msr_rc;
}

static int f_write_msr(void *ctx, uint32_t msr, uint64_t val)
{
	struct fake *f = ctx;

	f->last_msr = msr;
	if (f->msr_rc)
		return f->msr_rc;
	f->msr_val = val;
	return 0;
}

static int f_cpuid(void *ctx, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	struct fake *f = ctx;

	f->cpuid_in[0] = leaf;
	f->cpuid_in[1] = sub;
	out[0] = 0x40000005;
	out[1] = 0x566e6558;    /* "XenV" */
	out[2] = 0x65584d4d;    /* "MMXe" */
	out[3] = 0x4d4d566e;    /* "nVMM" */
	return f->cpuid_rc;
}

static int port_fails(struct fake *f)
{
	return f->port_fail_after && f->nr_in + f->nr_out + 1 == f->port_fail_after;
}

static int f_port_in(void *ctx, uint16_t port, unsigned size, uint32_t *val)
{
	struct fake *f = ctx;

	if (port_fails(f))
		return X86EMU_CB_GP;
	f->last_port = port;
	f->last_port_size = size;
	/* returns garbage above size to check the emulator masks it */
	*val = f->port_in_val + f->nr_in;
	f->nr_in++;
	return f->port_rc;
}

static int f_port_out(void *ctx, uint16_t port, unsigned size, uint32_t val)
{
	struct fake *f = ctx;

	if (port_fails(f))
		return X86EMU_CB_GP;
	f->last_port = port;
	f->last_port_size = size;
	f->last_port_out = val;
	f->nr_out++;
	return f->port_rc;
}

static int f_wbinvd(void *ctx)
{
	struct fake *f = ctx;

	f->nr_wbinvd++;
	return 0;
}

static int f_xsetbv(void *ctx, uint32_t xcr, uint64_t val)
{
	struct fake *f = ctx;

	f->last_xcr = xcr;
	f->xcr_val = val;
	return xcr == 0 ? 0 : X86EMU_CB_GP;
}

static int f_rdpmc(void *ctx, uint32_t counter, uint64_t *val)
{
	struct fake *f = ctx;

	*val = f->pmc_val + counter;
	return counter < 8 ? 0 : X86EMU_CB_GP;
}

static int f_rdtsc(void *ctx, uint64_t *tsc, uint32_t *aux)
{
	struct fake *f = ctx;

	*tsc = f->tsc_val;
	*aux = f->tsc_aux;
	return 0;
}

const struct x86emu_ops fake_ops = {
	.fetch = f_fetch, .read = f_read, .write = f_write,
	.commit = f_commit,
	.read_cr = f_read_cr, .write_cr = f_write_cr,
	.read_dr = f_read_dr, .write_dr = f_write_dr,
	.read_msr = f_read_msr, .write_msr = f_write_msr,
	.cpuid = f_cpuid, .port_in = f_port_in, .port_out = f_port_out,
	.wbinvd = f_wbinvd, .xsetbv = f_xsetbv, .rdpmc = f_rdpmc,
	.rdtsc = f_rdtsc,
};

void fake_init(struct fake *f, struct x86emu_regs *regs,
	       const void *code, size_t len)
{
	memset(f, 0, sizeof(*f));
	memset(regs, 0, sizeof(*regs));
	if (len > sizeof(f->code))
		len = sizeof(f->code);
	memcpy(f->code, code, len);
	f->code_addr = FAKE_CODE_ADDR;
	f->code_len = len;
	regs->rip = FAKE_CODE_ADDR;
	regs->rflags = 0x202;
}

/*
 * Native oracle: loads every GPR except RSP and RFLAGS from *s, calls
 * code (which must end in ret and not touch RSP), stores them back.
 */
__asm__(
	".text\n"
	".globl x86emu_test_run_native\n"
	".type x86emu_test_run_native, @function\n"
	"x86emu_test_run_native:\n"
	"	push %rbx\n	push %rbp\n	push %r12\n"
	"	push %r13\n	push %r14\n	push %r15\n"
	"	push %rdi\n"                    /* state */
	"	push %rsi\n"                    /* code */
	"	pushq 128(%rdi)\n	popfq\n"
	"	mov 0(%rdi), %rax\n	mov 8(%rdi), %rcx\n"
	"	mov 16(%rdi), %rdx\n	mov 24(%rdi), %rbx\n"
	"	mov 40(%rdi), %rbp\n	mov 48(%rdi), %rsi\n"
	"	mov 64(%rdi), %r8\n	mov 72(%rdi), %r9\n"
	"	mov 80(%rdi), %r10\n	mov 88(%rdi), %r11\n"
	"	mov 96(%rdi), %r12\n	mov 104(%rdi), %r13\n"
	"	mov 112(%rdi), %r14\n	mov 120(%rdi), %r15\n"
	"	mov 56(%rdi), %rdi\n"
	"	call *(%rsp)\n"
	"	pushfq\n"
	"	cld\n"
	"	push %rdi\n"                    /* 0 rdi, 8 flags, 16 code, 24 state */
	"	mov 24(%rsp), %rdi\n"
	"	mov %rax, 0(%rdi)\n	mov %rcx, 8(%rdi)\n"
	"	mov %rdx, 16(%rdi)\n	mov %rbx, 24(%rdi)\n"
	"	mov %rbp, 40(%rdi)\n	mov %rsi, 48(%rdi)\n"
	"	mov %r8, 64(%rdi)\n	mov %r9, 72(%rdi)\n"
	"	mov %r10, 80(%rdi)\n	mov %r11, 88(%rdi)\n"
	"	mov %r12, 96(%rdi)\n	mov %r13, 104(%rdi)\n"
	"	mov %r14, 112(%rdi)\n	mov %r15, 120(%rdi)\n"
	"	pop %rax\n	mov %rax, 56(%rdi)\n"
	"	pop %rax\n	mov %rax, 128(%rdi)\n"
	"	add $16, %rsp\n"
	"	pop %r15\n	pop %r14\n	pop %r13\n"
	"	pop %r12\n	pop %rbp\n	pop %rbx\n"
	"	ret\n"
	".size x86emu_test_run_native, .-x86emu_test_run_native\n");

void *native_code_page(void)
{
	static void *page;      /* test-only cache of one RWX page */

	if (!page) {
		page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (page == MAP_FAILED)
			page = NULL;
	}
	return page;
}

int main(void)
{
	int failed = 0;

	failed += run_decode_tests();
	failed += run_priv_tests();
	failed += run_write_tests();
	failed += run_read_tests();
	return failed ? 1 : 0;
}
