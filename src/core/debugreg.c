/*
 * The guest's debug registers, with Xen's rules (its set_debugreg):
 * DR0-3 may hold any address outside the hypervisor's range; DR6 and DR7
 * have 32 bits, their reserved bits read as the hardware defines them;
 * DR7.GD is refused; I/O breakpoints need CR4.DE and are emulated, never
 * loaded; DR4/DR5 alias DR6/DR7 unless CR4.DE makes them #UD.
 *
 * What the guest sets is loaded into the vCPU at once (KVM_SET_DEBUGREGS),
 * so its breakpoints and watchpoints fire on guest code.  A #DB folds the
 * hardware DR6 into the guest's copy, which the guest reads back with
 * HYPERVISOR_get_debugreg or an emulated mov from %dr6, and leaves the
 * hardware DR6 at its default for the next one.
 */
#include <errno.h>
#include <string.h>

#include "common/common.h"
#include "core/core-internal.h"

#define CR4_DE        0x8u

#define DR6_DEFAULT   0xffff0ff0ull  /* bits that read as 1 when nothing happened */
#define DR6_ZEROS     0x00001000ull  /* forced to 0 */
#define DR6_BP_MASK   0x0000000full  /* B0-B3 */
#define DR6_BLD       0x00000800ull  /* bus-lock detect (inverted) */
#define DR6_BD        0x00002000ull
#define DR6_BS        0x00004000ull
#define DR6_BT        0x00008000ull
#define DR6_RTM       0x00010000ull  /* inverted */
#define DR6_KNOWN     (DR6_BP_MASK | DR6_BLD | DR6_BD | DR6_BS | DR6_BT | DR6_RTM)

#define DR7_DEFAULT   0x00000400ull
#define DR7_ZEROS     0x0000d000ull
#define DR7_RTM       0x00000800ull
#define DR7_GD        0x00002000ull
#define DR7_ACTIVE    0x000000ffull  /* L0 G0 ... L3 G3 */
#define DR7_RW_IO     2u

/* kxen's CPUID offers neither RTM nor bus-lock detect, so their DR6 bits
 * read as 1 and DR7.RTM as 0 (Xen's x86_adj_dr{6,7}_rsvd for that policy). */
static uint64_t dr6_adjust(uint64_t dr6)
{
	return (dr6 | DR6_DEFAULT) & ~DR6_ZEROS;
}

static uint64_t dr7_adjust(uint64_t dr7)
{
	return (dr7 & ~(DR7_ZEROS | DR7_RTM)) | DR7_DEFAULT;
}

/* Xen keeps guest breakpoints out of its own range (and non-canonical
 * addresses): the lower half, or above HYPERVISOR_VIRT_END. */
static bool breakpoint_addr_ok(uint64_t va)
{
	return va < (1ull << 47) || va >= HYPERVISOR_VIRT_END;
}

static bool guest_has_de(const struct vcpu *v)
{
	return v->guest_cr4 & CR4_DE;
}

/* Put the guest's values into the vCPU (its own thread, between runs). */
static int debugreg_load(struct vcpu *v)
{
	int rc = kvm_vcpu_set_debugregs(&v->kvm, v->debugreg, v->debugreg[6], v->debugreg[7]);
	if (rc)
		log_warn("d%uv%u: loading debug registers: %s", v->d->domid, v->id, strerror(-rc));
	return rc;
}

/* DR7 enable bits of the I/O breakpoints in val; -EPERM without CR4.DE. */
static int dr7_io_enables(const struct vcpu *v, uint64_t val, uint32_t *io)
{
	*io = 0;
	if (!(val & DR7_ACTIVE))
		return 0;
	for (unsigned bp = 0; bp < 4; bp++) {
		if (((val >> (16 + 4 * bp)) & 3) != DR7_RW_IO)
			continue;
		if (!guest_has_de(v))
			return -EPERM;
		*io |= (uint32_t)(val & (3ull << (2 * bp)));
	}
	return 0;
}

int debugreg_set(struct vcpu *v, unsigned reg, uint64_t val)
{
	uint32_t io;
	int rc;

	switch (reg) {
	case 0: case 1: case 2: case 3:
		if (!breakpoint_addr_ok(val))
			return -EPERM;
		v->debugreg[reg] = val;
		break;
	case 4:
		if (guest_has_de(v))
			return -ENODEV;
		/* fall through */
	case 6:
		if (val >> 32)
			return -EINVAL;
		v->debugreg[6] = dr6_adjust(val);
		break;
	case 5:
		if (guest_has_de(v))
			return -ENODEV;
		/* fall through */
	case 7:
		if (val >> 32)
			return -EINVAL;
		val = dr7_adjust(val);
		if (val & DR7_GD)
			return -EPERM;   /* would trap our own debug-register accesses */
		rc = dr7_io_enables(v, val, &io);
		if (rc)
			return rc;
		v->dr7_emul = io;
		v->debugreg[7] = val & ~(uint64_t)io;
		break;
	default:
		return -ENODEV;
	}
	return debugreg_load(v);
}

int debugreg_get(struct vcpu *v, unsigned reg, uint64_t *val)
{
	switch (reg) {
	case 0: case 1: case 2: case 3:
		*val = v->debugreg[reg];
		return 0;
	case 4:
		if (guest_has_de(v))
			return -ENODEV;
		/* fall through */
	case 6:
		*val = v->debugreg[6];
		return 0;
	case 5:
		if (guest_has_de(v))
			return -ENODEV;
		/* fall through */
	case 7:
		*val = v->debugreg[7] | v->dr7_emul;
		return 0;
	default:
		return -ENODEV;
	}
}

void debugreg_reset(struct vcpu *v)
{
	memset(v->debugreg, 0, sizeof v->debugreg);
	v->debugreg[6] = DR6_DEFAULT;
	v->debugreg[7] = DR7_DEFAULT;
	v->dr7_emul = 0;
}

/* VCPUOP_initialise and the boot vCPU: Xen takes the context's values
 * through the same checks; a refused one fails the whole context. */
int debugreg_load_context(struct vcpu *v, const uint64_t dr[8])
{
	static const unsigned order[] = { 0, 1, 2, 3, 6, 7 };

	debugreg_reset(v);
	for (unsigned i = 0; i < ARRAY_SIZE(order); i++) {
		uint64_t val = dr[order[i]];
		if (order[i] == 6 && !val)
			val = DR6_DEFAULT;
		int rc = debugreg_set(v, order[i], val);
		if (rc)
			return -EINVAL;
	}
	return 0;
}

/* Fold what the hardware reports (DR6, default polarity) into the guest's
 * DR6: the breakpoint bits are replaced, the others accumulate. */
static void merge_dr6(struct vcpu *v, uint64_t hw)
{
	uint64_t now = (v->debugreg[6] ^ DR6_DEFAULT) & DR6_KNOWN;
	uint64_t news = (hw ^ DR6_DEFAULT) & DR6_KNOWN;

	now = (now & ~DR6_BP_MASK) | news;
	v->debugreg[6] = dr6_adjust((now ^ DR6_DEFAULT) & 0xffffffffull);
}

/* Read and clear the hardware DR6; false if KVM would not tell. */
static bool take_hw_dr6(struct vcpu *v, uint64_t *dr6)
{
	uint64_t addr[4], dr7;

	if (kvm_vcpu_get_debugregs(&v->kvm, addr, dr6, &dr7))
		return false;
	kvm_vcpu_set_debugregs(&v->kvm, v->debugreg, DR6_DEFAULT, v->debugreg[7]);
	return true;
}

void debugreg_guest_db(struct vcpu *v)
{
	uint64_t dr6;

	if (take_hw_dr6(v, &dr6))
		merge_dr6(v, dr6);
}

void debugreg_hv_db(struct vcpu *v)
{
	uint64_t dr6 = 0;

	/* Only a data breakpoint (or single step) held back by a MOV SS
	 * shadow can reach our stubs: guest breakpoints never cover
	 * hypervisor addresses.  Like Xen, note it and carry on. */
	take_hw_dr6(v, &dr6);
	log_debug("d%uv%u: #DB in hypervisor context at %#llx (dr6 %#llx)", v->d->domid, v->id,
		  (unsigned long long)v->frame->rip, (unsigned long long)dr6);
}

bool debugreg_io_hit(struct vcpu *v, uint16_t port, unsigned size)
{
	uint64_t dr7 = v->debugreg[7] | v->dr7_emul, hits = 0;

	if (!v->dr7_emul || !guest_has_de(v))
		return false;
	for (unsigned bp = 0; bp < 4; bp++) {
		if (!((v->dr7_emul >> (2 * bp)) & 3))
			continue;
		unsigned len = (unsigned)((dr7 >> (18 + 4 * bp)) & 3);
		uint64_t width = len == 0 ? 1 : len == 1 ? 2 : len == 3 ? 4 : 8;
		uint64_t start = v->debugreg[bp];
		if (start < (uint64_t)port + size && start + width > port)
			hits |= 1ull << bp;
	}
	if (hits)
		merge_dr6(v, DR6_DEFAULT | hits);
	return hits != 0;
}
