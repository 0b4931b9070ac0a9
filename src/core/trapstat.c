/*
 * Trap accounting: what every exit to the daemon was for, and what it cost.
 *
 * On the hosts kxen targets a trap costs 45-105 us whatever it does, so the
 * number of traps by kind is the profile that matters.  Each vCPU thread
 * counts its own exits in its own table (no locks, no shared cache lines):
 * one "primary" kind per exit (an exception vector, a hypercall, an
 * emulated instruction class, ...) with the time the daemon spent on it,
 * plus detail rows that break a hypercall down by sub-op or batch size and
 * count things that are not exits of their own (event upcalls, page-table
 * replay batches, hypercalls inside multicalls).  A small table of
 * (kind, guest RIP) pairs keeps the hottest call sites.
 *
 * Readers (xl trapstat, xl top) take unlocked snapshots: every counter is a
 * 64-bit word written with a relaxed atomic store by its one writer, so a
 * snapshot may be a trap behind but never torn.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "core/core-internal.h"

/* Multiplexed hypercalls broken down by their first argument (the sub-op),
 * and the two batching hypercalls broken down by batch size. */
static const uint8_t sub_hypercalls[TS_NR_SUB_SLOTS] = {
	__HYPERVISOR_mmuext_op, __HYPERVISOR_vcpu_op, __HYPERVISOR_sched_op,
	__HYPERVISOR_event_channel_op, __HYPERVISOR_memory_op, __HYPERVISOR_grant_table_op,
	__HYPERVISOR_physdev_op, __HYPERVISOR_xen_version, __HYPERVISOR_callback_op,
	__HYPERVISOR_mmu_update, __HYPERVISOR_multicall,
};

static const char *const hypercall_names[XEN_NR_HYPERCALLS] = {
	[__HYPERVISOR_set_trap_table] = "set_trap_table",
	[__HYPERVISOR_mmu_update] = "mmu_update",
	[__HYPERVISOR_set_gdt] = "set_gdt",
	[__HYPERVISOR_stack_switch] = "stack_switch",
	[__HYPERVISOR_set_callbacks] = "set_callbacks",
	[__HYPERVISOR_fpu_taskswitch] = "fpu_taskswitch",
	[__HYPERVISOR_platform_op] = "platform_op",
	[__HYPERVISOR_set_debugreg] = "set_debugreg",
	[__HYPERVISOR_get_debugreg] = "get_debugreg",
	[__HYPERVISOR_update_descriptor] = "update_descriptor",
	[__HYPERVISOR_memory_op] = "memory_op",
	[__HYPERVISOR_multicall] = "multicall",
	[__HYPERVISOR_update_va_mapping] = "update_va_mapping",
	[__HYPERVISOR_set_timer_op] = "set_timer_op",
	[__HYPERVISOR_xen_version] = "xen_version",
	[__HYPERVISOR_console_io] = "console_io",
	[__HYPERVISOR_grant_table_op] = "grant_table_op",
	[__HYPERVISOR_vm_assist] = "vm_assist",
	[__HYPERVISOR_iret] = "iret",
	[__HYPERVISOR_vcpu_op] = "vcpu_op",
	[__HYPERVISOR_set_segment_base] = "set_segment_base",
	[__HYPERVISOR_mmuext_op] = "mmuext_op",
	[__HYPERVISOR_sched_op] = "sched_op",
	[__HYPERVISOR_callback_op] = "callback_op",
	[__HYPERVISOR_event_channel_op] = "event_channel_op",
	[__HYPERVISOR_physdev_op] = "physdev_op",
};

static const char *const exception_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#09", "#TS", "#NP",
	"#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

static const char *const emul_names[TS_NR_EMUL] = {
	[TS_EMUL_CPUID] = "cpuid", [TS_EMUL_RDMSR] = "rdmsr", [TS_EMUL_WRMSR] = "wrmsr",
	[TS_EMUL_RDTSC] = "rdtsc", [TS_EMUL_MOVCR] = "mov-cr", [TS_EMUL_MOVDR] = "mov-dr",
	[TS_EMUL_IN] = "in", [TS_EMUL_OUT] = "out", [TS_EMUL_CLISTI] = "cli/sti",
	[TS_EMUL_CACHE] = "wbinvd", [TS_EMUL_SYS] = "0f01-group", [TS_EMUL_OTHER] = "other",
};

static const char *const misc_names[TS_NR_MISC] = {
	[TS_MISC_SYSCALL] = "user syscall",
	[TS_MISC_PTWR] = "pt write (emulated)",
	[TS_MISC_ASYNC] = "kick/timer interrupt",
	[TS_MISC_PTW_SYNC] = "pt store batch run mid-exit",
	[TS_MISC_OTHER] = "other exit",
	[TS_MISC_BAD_HC] = "hc (unknown number)",
	[TS_MISC_UPCALL] = "event upcall (no exit)",
	[TS_MISC_PTW_REPLAY] = "pt store replay (no exit)",
};

static const char *const batch_names[4] = { "n=1", "n=2-7", "n=8-63", "n>=64" };

static int sub_slot(unsigned nr)
{
	for (int i = 0; i < TS_NR_SUB_SLOTS; i++)
		if (sub_hypercalls[i] == nr)
			return i;
	return -1;
}

static unsigned batch_bucket(uint64_t n)
{
	return n <= 1 ? 0 : n < 8 ? 1 : n < 64 ? 2 : 3;
}

bool trapstat_kind_is_exit(unsigned kind)
{
	if (kind < TS_SUB)
		return true;               /* exceptions and hypercalls */
	if (kind < TS_EMUL)
		return false;              /* sub-op detail of a hypercall row */
	if (kind < TS_MISC)
		return true;
	if (kind < TS_MC)
		return kind - TS_MISC < TS_MISC_UPCALL;
	return false;                  /* inside a multicall */
}

/* "hc mmuext_op", "hc mmuext_op/3", "exc #PF", "emul cpuid", ... */
void trapstat_kind_name(unsigned kind, char *buf, size_t len)
{
	if (kind < TS_HC) {
		const char *n = kind < 32 ? exception_names[kind] : NULL;
		if (n)
			snprintf(buf, len, "exc %s", n);
		else
			snprintf(buf, len, "exc %u", kind);
	} else if (kind < TS_SUB) {
		unsigned nr = kind - TS_HC;
		if (hypercall_names[nr])
			snprintf(buf, len, "hc %s", hypercall_names[nr]);
		else
			snprintf(buf, len, "hc %u", nr);
	} else if (kind < TS_EMUL) {
		unsigned slot = (kind - TS_SUB) / TS_SUB_PER_SLOT, sub = (kind - TS_SUB) % TS_SUB_PER_SLOT;
		unsigned nr = sub_hypercalls[slot];
		if (nr == __HYPERVISOR_mmu_update || nr == __HYPERVISOR_multicall)
			snprintf(buf, len, "  %s %s", hypercall_names[nr], batch_names[sub & 3]);
		else
			snprintf(buf, len, "  %s/%u", hypercall_names[nr], sub);
	} else if (kind < TS_MISC) {
		snprintf(buf, len, "emul %s", emul_names[kind - TS_EMUL]);
	} else if (kind < TS_MC) {
		snprintf(buf, len, "%s", misc_names[kind - TS_MISC]);
	} else if (kind < TS_NR) {
		unsigned nr = kind - TS_MC;
		if (hypercall_names[nr])
			snprintf(buf, len, "in multicall: %s", hypercall_names[nr]);
		else
			snprintf(buf, len, "in multicall: hc %u", nr);
	} else {
		snprintf(buf, len, "?");
	}
}

/* ---- writer side (the vCPU's own thread) --------------------------------- */

static void bump(uint64_t *ctr, uint64_t by)
{
	__atomic_store_n(ctr, *ctr + by, __ATOMIC_RELAXED);
}

void trapstat_begin_exit(struct vcpu *v, unsigned kind, uint64_t rip)
{
	v->ts_kind = kind;
	v->ts_sub = -1;
	v->ts_rip = rip;
}

void trapstat_set_kind(struct vcpu *v, unsigned kind)
{
	v->ts_kind = kind;
	v->ts_sub = -1;
}

void trapstat_hypercall(struct vcpu *v, uint64_t nr, const uint64_t a[6], bool in_multicall)
{
	if (nr >= XEN_NR_HYPERCALLS) {
		if (!in_multicall)
			trapstat_set_kind(v, TS_MISC + TS_MISC_BAD_HC);
		return;
	}
	if (in_multicall) {
		if (v->ts)
			bump(&v->ts->count[TS_MC + nr], 1);
		return;
	}
	v->ts_kind = TS_HC + (unsigned)nr;
	int slot = sub_slot((unsigned)nr);
	if (slot < 0 || nr == __HYPERVISOR_mmuext_op) {   /* mmuext: see below */
		v->ts_sub = -1;
		return;
	}
	uint64_t sub;
	if (nr == __HYPERVISOR_mmu_update || nr == __HYPERVISOR_multicall)
		sub = batch_bucket(a[1]);
	else
		sub = a[0] < TS_SUB_PER_SLOT ? a[0] : TS_SUB_PER_SLOT - 1;
	v->ts_sub = (int)(TS_SUB + (unsigned)slot * TS_SUB_PER_SLOT + (unsigned)sub);
}

/* Linux issues every hypercall from one stub ("push %rcx; push %r11;
 * syscall", in the hypercall page or in the kernel), so the syscall's own
 * return address names the stub, not the caller: the caller's return
 * address is the word above the two saved registers.  Read for the
 * statistics only, never acted on; when the stack is unreadable or the
 * guest uses another convention, the stub's address is kept. */
void trapstat_hypercall_site(struct vcpu *v, uint64_t ret, uint64_t rsp)
{
	uint64_t caller;
	v->ts_rip = ret;
	if (!guest_copy_from(v, &caller, rsp + 16, sizeof caller) && (caller >> 47) == 0x1ffff)
		v->ts_rip = caller;
}

/* mmuext_op's sub-op lives in guest memory; the handler reports it once
 * it has its own copy. */
void trapstat_mmuext_cmd(struct vcpu *v, unsigned cmd)
{
	if (v->ts_kind == TS_HC + __HYPERVISOR_mmuext_op && v->ts_sub < 0)
		v->ts_sub = (int)(TS_SUB + (unsigned)sub_slot(__HYPERVISOR_mmuext_op) *
				  TS_SUB_PER_SLOT + MIN(cmd, TS_SUB_PER_SLOT - 1));
}

void trapstat_note(struct vcpu *v, unsigned kind)
{
	if (v->ts && kind < TS_NR)
		bump(&v->ts->count[kind], 1);
}

/* Remember (kind, rip); when the table is full, the least counted of the
 * few slots probed makes room (an approximate "space-saving" top list). */
static void note_rip(struct trapstat *ts, unsigned kind, uint64_t rip)
{
	uint64_t h = (rip ^ ((uint64_t)kind * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
	unsigned base = (unsigned)(h >> 56) % TS_RIP_SLOTS;
	struct trapstat_rip_slot *victim = NULL;

	for (unsigned i = 0; i < 8; i++) {
		struct trapstat_rip_slot *s = &ts->rips[(base + i) % TS_RIP_SLOTS];
		if (s->count && s->kind == kind && s->rip == rip) {
			bump(&s->count, 1);
			return;
		}
		if (!s->count) {
			victim = s;
			break;
		}
		if (!victim || s->count < victim->count)
			victim = s;
	}
	uint64_t start = victim->count + 1;
	__atomic_store_n(&victim->count, 0, __ATOMIC_RELAXED);
	victim->kind = kind;
	victim->rip = rip;
	__atomic_store_n(&victim->count, start, __ATOMIC_RELAXED);
}

void trapstat_end_exit(struct vcpu *v, uint64_t ns)
{
	struct trapstat *ts = v->ts;
	if (!ts || v->ts_kind >= TS_NR)
		return;
	bump(&ts->count[v->ts_kind], 1);
	bump(&ts->ns[v->ts_kind], ns);
	if (v->ts_sub >= 0) {
		bump(&ts->count[v->ts_sub], 1);
		bump(&ts->ns[v->ts_sub], ns);
	}
	bump(&ts->exits, 1);
	note_rip(ts, v->ts_kind, v->ts_rip);
}

/* ---- reader side ----------------------------------------------------------- */

static uint64_t rd(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static bool vcpu_selected(struct domain *d, int vcpu, unsigned i)
{
	return d->vcpus[i] && d->vcpus[i]->ts && (vcpu < 0 || (unsigned)vcpu == i);
}

int domain_trapstat(struct domain *d, int vcpu, struct trapstat_row *out, int max)
{
	int n = 0;

	if (vcpu >= (int)d->max_vcpus)
		return -ENOENT;
	for (unsigned k = 0; k < TS_NR && n < max; k++) {
		uint64_t count = 0, ns = 0;
		for (unsigned i = 0; i < d->max_vcpus; i++) {
			if (!vcpu_selected(d, vcpu, i))
				continue;
			count += rd(&d->vcpus[i]->ts->count[k]);
			ns += rd(&d->vcpus[i]->ts->ns[k]);
		}
		if (!count)
			continue;
		out[n].kind = k;
		out[n].is_exit = trapstat_kind_is_exit(k);
		out[n].count = count;
		out[n].ns = ns;
		n++;
	}
	return n;
}

static int by_count_desc(const void *a, const void *b)
{
	const struct trapstat_hot *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

int domain_trapstat_hot(struct domain *d, int vcpu, struct trapstat_hot *out, int max)
{
	int n = 0;

	if (vcpu >= (int)d->max_vcpus)
		return -ENOENT;
	size_t cap = (size_t)d->max_vcpus * TS_RIP_SLOTS;
	struct trapstat_hot *all = calloc(cap, sizeof *all);
	if (!all)
		return -ENOMEM;
	size_t m = 0;
	for (unsigned i = 0; i < d->max_vcpus; i++) {
		if (!vcpu_selected(d, vcpu, i))
			continue;
		for (unsigned s = 0; s < TS_RIP_SLOTS; s++) {
			const struct trapstat_rip_slot *r = &d->vcpus[i]->ts->rips[s];
			uint64_t c = rd(&r->count);
			if (c)
				all[m++] = (struct trapstat_hot){ r->kind, r->rip, c };
		}
	}
	qsort(all, m, sizeof *all, by_count_desc);
	for (size_t i = 0; i < m && n < max; i++)
		out[n++] = all[i];
	free(all);
	return n;
}

uint64_t domain_trap_count(struct domain *d)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < d->max_vcpus; i++)
		if (d->vcpus[i] && d->vcpus[i]->ts)
			total += rd(&d->vcpus[i]->ts->exits);
	return total;
}

int trapstat_alloc(struct vcpu *v)
{
	v->ts = calloc(1, sizeof *v->ts);
	return v->ts ? 0 : -ENOMEM;
}

void trapstat_free(struct vcpu *v)
{
	free(v->ts);
	v->ts = NULL;
}
