/* Fake vCPU and guest memory behind struct x86emu_ops, for the tests. */
#ifndef X86EMU_TEST_FAKE_H
#define X86EMU_TEST_FAKE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "x86emu/x86emu.h"

#define FAKE_CODE_ADDR 0xffffffff81000ff0ULL

struct fake {
	/* instruction bytes at code_addr; fetch stops at code_len */
	uint8_t code[32];
	uint64_t code_addr;
	size_t code_len;

	/* one window of data memory */
	uint8_t *mem;
	uint64_t mem_addr;
	size_t mem_len;
	unsigned nr_reads, nr_writes;

	uint64_t cr[16], dr[8];
	int cr_rc, dr_rc;

	uint32_t last_msr;
	uint64_t msr_val;       /* returned by read, stored by write */
	int msr_rc;

	uint32_t cpuid_in[2];
	int cpuid_rc;

	uint16_t last_port;
	unsigned last_port_size;
	uint32_t port_in_val, last_port_out;
	unsigned nr_in, nr_out;
	int port_rc;            /* returned by both */
	unsigned port_fail_after; /* if nonzero, fail the n-th access */

	unsigned nr_wbinvd;
	uint32_t last_xcr;
	uint64_t xcr_val;
	uint64_t pmc_val, tsc_val;
	uint32_t tsc_aux;

	/* commit(): log and answer */
	struct x86emu_write last_write;
	unsigned nr_commits;
	int commit_rc;
	unsigned commit_retries;        /* answer RETRY this many times */
};

extern const struct x86emu_ops fake_ops;

/* Resets f, puts bytes at FAKE_CODE_ADDR and points regs->rip there. */
void fake_init(struct fake *f, struct x86emu_regs *regs,
	       const void *code, size_t len);

/* Native execution of code (ending in ret) with regs in/out. */
struct native_state {
	uint64_t gpr[16];
	uint64_t rflags;
};
void x86emu_test_run_native(struct native_state *s, const void *code);
void *native_code_page(void);

/* Test groups. */
int run_decode_tests(void);
int run_priv_tests(void);
int run_write_tests(void);
int run_read_tests(void);

#endif
