/*
 * The CPUID a PV guest sees: the host's KVM-supported leaves with the
 * features Xen hides from 64-bit PV guests removed, and Xen's hypervisor
 * leaves at 0x40000000 instead of KVM's.  Plain `cpuid` is answered by KVM
 * from this table and the PV forced-emulation prefix by cpuid_policy(), so
 * both always agree.
 *
 * PVM hosts are the exception: guest code runs on the real CPU and plain
 * `cpuid` there returns the host's own values (no trap), so every user
 * program sees the host's features.  The feature leaves then start from
 * the host's values too, so the guest kernel's view matches its
 * programs' -- above all XSAVE and AVX: a kernel that saves only the SSE
 * state on its context switches would let its programs' AVX state leak
 * between them.  XSAVE is offered (as Xen does) for the x87, SSE and AVX
 * state; the guest enables it with CR4.OSXSAVE and XSETBV.
 */
#include "arch/x86/x86.h"

#include <errno.h>
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/common.h"

#define MAX_ENTRIES 256

static struct {
	pthread_once_t once;
	int nent;
	struct kvm_cpuid_entry2 e[MAX_ENTRIES];
} host = { .once = PTHREAD_ONCE_INIT };

#define BIT(n) (1u << (n))

/* leaf 1 */
#define EDX_HIDE_1 (BIT(1) /*VME*/ | BIT(3) /*PSE*/ | BIT(7) /*MCE*/ | BIT(12) /*MTRR*/ | BIT(13) /*PGE*/ | \
		    BIT(14) /*MCA*/ | \
		    BIT(17) /*PSE36*/ | BIT(21) /*DS*/ | BIT(22) /*ACPI*/ | BIT(29) /*TM*/)
#define ECX_HIDE_1 (BIT(2) /*DTES64*/ | BIT(3) /*MONITOR*/ | BIT(4) /*DSCPL*/ | BIT(5) /*VMX*/ | \
		    BIT(6) /*SMX*/ | BIT(7) /*EST*/ | BIT(8) /*TM2*/ | \
		    BIT(15) /*PDCM*/ | BIT(17) /*PCID*/ | BIT(18) /*DCA*/ | BIT(21) /*X2APIC*/ | \
		    BIT(24) /*TSC_DEADLINE*/ | BIT(27) /*OSXSAVE: the guest's CR4 */)
#define ECX_XSAVE_1 BIT(26)
/* need the YMM state */
#define ECX_AVX_1   (BIT(12) /*FMA*/ | BIT(28) /*AVX*/ | BIT(29) /*F16C*/)
#define EBX_AVX_7   BIT(5) /*AVX2*/
/* 0xd.1: unprivileged XSAVE forms (XSAVES/XRSTORS need CPL0) */
#define EAX_KEEP_D1 (BIT(0) /*XSAVEOPT*/ | BIT(1) /*XSAVEC*/ | BIT(2) /*XGETBV1*/)
/* leaf 7.0: plain integer extensions, and FSGSBASE (Xen offers it to PV
 * guests; the guest's CR4 enables it) */
#define EBX_KEEP_7 (BIT(0) /*FSGSBASE*/ | BIT(3) /*BMI1*/ | BIT(8) /*BMI2*/ | BIT(9) /*ERMS*/ | BIT(18) /*RDSEED*/ | \
		    BIT(19) /*ADX*/ | BIT(23) /*CLFLUSHOPT*/ | BIT(24) /*CLWB*/ | BIT(29) /*SHA*/)
/* 0x80000001 */
#define EDX_HIDE_X1 (BIT(26) /*PDPE1GB*/)
#define ECX_HIDE_X1 (BIT(2) /*SVM*/ | BIT(3) /*EXTAPIC*/ | BIT(10) /*IBS*/ | BIT(13) /*WDT*/ | \
		     BIT(16) /*FMA4*/ | BIT(11) /*XOP*/ | BIT(22) /*TOPOEXT*/ | BIT(23) /*PERFCTR*/)

/* A kvm_cpuid2 with room for MAX_ENTRIES entries (a flexible array). */
static struct kvm_cpuid2 *cpuid2_alloc(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof *c + MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
	if (c)
		c->nent = MAX_ENTRIES;
	return c;
}

static void load_host(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	struct kvm_cpuid2 *c = cpuid2_alloc();
	if (fd >= 0 && c && ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
		host.nent = (int)c->nent;
		memcpy(host.e, c->entries, sizeof(c->entries[0]) * c->nent);
	}
	free(c);
	if (fd >= 0)
		close(fd);
}

static const struct kvm_cpuid_entry2 *host_leaf(uint32_t leaf, uint32_t sub)
{
	pthread_once(&host.once, load_host);
	for (int i = 0; i < host.nent; i++) {
		const struct kvm_cpuid_entry2 *e = &host.e[i];
		if (e->function != leaf)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != sub)
			continue;
		return e;
	}
	return NULL;
}

/* The leaves of features guest code sees: from the host itself on PVM
 * hosts (see the top of the file), else from KVM. */
static bool leaf_from_cpu(uint32_t leaf)
{
	return kvm_host_is_pvm() &&
	       (leaf == 1 || leaf == 7 || leaf == 0xd || leaf == 0x80000001);
}

static bool source_leaf(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	if (leaf_from_cpu(leaf)) {
		uint32_t max = 0, b, c, d;
		uint32_t base = leaf & 0x80000000u;
		__asm__ __volatile__("cpuid" : "=a"(max), "=b"(b), "=c"(c), "=d"(d) : "a"(base), "c"(0));
		if (leaf > max)
			return false;
		__asm__ __volatile__("cpuid" : "=a"(out[0]), "=b"(out[1]), "=c"(out[2]), "=d"(out[3])
				     : "a"(leaf), "c"(sub));
		return true;
	}
	const struct kvm_cpuid_entry2 *e = host_leaf(leaf, sub);
	if (!e)
		return false;
	out[0] = e->eax;
	out[1] = e->ebx;
	out[2] = e->ecx;
	out[3] = e->edx;
	return true;
}

static uint64_t host_xcr0(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static struct {
	pthread_once_t once;
	uint64_t offered;
} xstate = { .once = PTHREAD_ONCE_INIT };

/* x87 and SSE (always together) and AVX, as far as the source offers them
 * and, on PVM hosts, the host's XCR0 (which guest code runs with) has
 * them. */
static void xstate_init(void)
{
	uint32_t l1[4], ld[4];
	uint64_t mask = XSTATE_X87 | XSTATE_SSE | XSTATE_YMM;

	if (!source_leaf(1, 0, l1) || !(l1[2] & ECX_XSAVE_1) || !source_leaf(0xd, 0, ld))
		return;
	mask &= ((uint64_t)ld[3] << 32) | ld[0];
	if (kvm_host_is_pvm()) {
		uint64_t hw = host_xcr0();
		mask &= hw;
		if (hw & ~(XSTATE_X87 | XSTATE_SSE | XSTATE_YMM) & 0xe0)
			log_warn("cpuid: the host's XCR0 %#llx has AVX-512 state kxen does not offer: "
				 "guests' programs may see it clobbered", (unsigned long long)hw);
	}
	if ((mask & (XSTATE_X87 | XSTATE_SSE)) == (XSTATE_X87 | XSTATE_SSE))
		xstate.offered = mask;
}

uint64_t cpuid_xcr0_offered(void)
{
	pthread_once(&xstate.once, xstate_init);
	return xstate.offered;
}

uint32_t cpuid_xsave_size(uint64_t xcr0, bool compacted)
{
	uint32_t size = 576, r[4];   /* legacy area and header */

	for (unsigned i = 2; i < 63; i++) {
		if (!((xcr0 & cpuid_xcr0_offered()) >> i & 1) || !source_leaf(0xd, i, r))
			continue;
		if (compacted)   /* in component order, 64-byte aligned if asked */
			size = ((r[2] & 2) ? ALIGN_UP(size, 64) : size) + r[0];
		else if (r[1] + r[0] > size)
			size = r[1] + r[0];
	}
	return size;
}

/* Leaf 0xd for the offered state only. */
static void xsave_leaf(uint32_t sub, uint32_t out[4])
{
	uint64_t xcr0 = cpuid_xcr0_offered();
	uint32_t src[4];

	memset(out, 0, 16);
	if (!xcr0 || !source_leaf(0xd, sub, src))
		return;
	if (sub == 0) {
		out[0] = (uint32_t)xcr0;
		out[3] = (uint32_t)(xcr0 >> 32);
		out[1] = cpuid_xsave_size(XSTATE_X87 | XSTATE_SSE, false);  /* XCR0 at reset */
		out[2] = cpuid_xsave_size(xcr0, false);
	} else if (sub == 1) {
		out[0] = src[0] & EAX_KEEP_D1;
		/* XSAVEC's area for XCR0 at reset (no XSS: no XSAVES) */
		out[1] = out[0] & 2 ? cpuid_xsave_size(XSTATE_X87 | XSTATE_SSE, true) : 0;
	} else if (sub < 63 && (xcr0 >> sub & 1)) {
		memcpy(out, src, 16);
	}
}

static void xen_leaf(uint32_t leaf, uint32_t out[4])
{
	memset(out, 0, 16);
	switch (leaf - 0x40000000u) {
	case 0:
		out[0] = 0x40000005;
		memcpy(&out[1], "XenV", 4);
		memcpy(&out[2], "MMXe", 4);
		memcpy(&out[3], "nVMM", 4);
		break;
	case 1:
		out[0] = (4u << 16) | 19;  /* Xen 4.19 */
		break;
	case 2:
		out[0] = 1;                /* one hypercall page */
		out[1] = 0x40000000;       /* hypercall-page MSR (HVM only) */
		out[2] = 1;                /* MMU_PT_UPDATE_PRESERVE_AD */
		break;
	case 5:
		out[1] = 37;               /* machine address width */
		break;
	default:
		break;
	}
}

bool kvm_host_is_pvm(void)
{
	static int pvm = -1;
	struct stat st;
	if (pvm < 0)
		pvm = stat("/sys/module/kvm_pvm", &st) == 0;
	return pvm;
}

bool cpuid_fsgsbase_follows_vm_cr4(void)
{
	const struct kvm_cpuid_entry2 *e = host_leaf(7, 0);
	return e && (e->ebx & BIT(0));
}

/*
 * PVM hosts run guest code with the host's CR4: {RD,WR}{FS,GS}BASE work
 * in the guest whenever the host kernel enabled them (HWCAP2_FSGSBASE),
 * though KVM does not list the feature.  Telling the guest keeps its
 * kernel from losing bases its user programs set with them.
 */
static bool fsgsbase_usable(void)
{
	return cpuid_fsgsbase_follows_vm_cr4() ||
	       (kvm_host_is_pvm() && (getauxval(AT_HWCAP2) & 2 /* HWCAP2_FSGSBASE */));
}

void cpuid_policy(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	if (leaf >= 0x40000000 && leaf < 0x40010000) {
		if (leaf <= 0x40000005)
			xen_leaf(leaf, out);
		else
			memset(out, 0, 16);
		return;
	}
	if (!source_leaf(leaf, subleaf, out)) {
		memset(out, 0, 16);
		return;
	}
	uint64_t xcr0 = cpuid_xcr0_offered();
	switch (leaf) {
	case 1:
		out[2] &= ~ECX_HIDE_1;
		if (!xcr0)
			out[2] &= ~ECX_XSAVE_1;
		if (!(xcr0 & XSTATE_YMM))
			out[2] &= ~ECX_AVX_1;
		out[2] |= BIT(31);          /* running on a hypervisor */
		out[3] &= ~EDX_HIDE_1;
		break;
	case 7:
		if (subleaf == 0) {
			out[1] &= (EBX_KEEP_7 | ((xcr0 & XSTATE_YMM) ? EBX_AVX_7 : 0)) & ~BIT(0);
			out[1] |= fsgsbase_usable() ? BIT(0) : 0;
			out[2] = 0;
			out[3] &= BIT(10) /*MD_CLEAR*/ | BIT(26) /*IBRS*/ | BIT(27) /*STIBP*/ |
				  BIT(29) /*ARCH_CAP*/ | BIT(31) /*SSBD*/;
		} else {
			memset(out, 0, 16);
		}
		break;
	case 0xd:
		xsave_leaf(subleaf, out);
		break;
	case 0x80000001:
		out[2] &= ~ECX_HIDE_X1;
		out[3] &= ~EDX_HIDE_X1;
		break;
	default:
		break;
	}
}

int kvm_vcpu_set_cpuid(struct kvm_vm *vm, struct kvm_vcpu *vc)
{
	struct kvm_cpuid2 *c = cpuid2_alloc();
	int n = 0, rc = 0;
	(void)vm;
	if (!c)
		return -ENOMEM;
	pthread_once(&host.once, load_host);
	if (host.nent == 0) {
		free(c);
		return -ENODEV;
	}
	for (int i = 0; i < host.nent && n < MAX_ENTRIES - 8; i++) {
		const struct kvm_cpuid_entry2 *e = &host.e[i];
		if (e->function >= 0x40000000 && e->function < 0x40010000)
			continue;           /* KVM's own leaves stay hidden */
		uint32_t r[4];
		cpuid_policy(e->function, e->index, r);
		c->entries[n] = *e;
		c->entries[n].eax = r[0];
		c->entries[n].ebx = r[1];
		c->entries[n].ecx = r[2];
		c->entries[n].edx = r[3];
		n++;
	}
	for (uint32_t leaf = 0x40000000; leaf <= 0x40000005; leaf++) {
		uint32_t r[4];
		xen_leaf(leaf, r);
		c->entries[n++] = (struct kvm_cpuid_entry2){ .function = leaf, .eax = r[0], .ebx = r[1],
							.ecx = r[2], .edx = r[3] };
	}
	c->nent = (uint32_t)n;
	if (ioctl(vc->fd, KVM_SET_CPUID2, c) < 0)
		rc = -errno;
	free(c);
	return rc;
}
