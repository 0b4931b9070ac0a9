/*
 * Access to guest virtual memory from the hypervisor.
 *
 * Hypercall arguments are guest-virtual addresses in the guest kernel's
 * address space.  We translate them by walking the guest's page tables in
 * host memory (always current), and require every level to be present and
 * user-accessible (the PV kernel runs at CPL3, so everything it may touch
 * has USER set), writable for stores.  A store is made under d->lock, so
 * the frame cannot turn into a page table between the check and the write
 * (the runstate area, bounce frames and hypercall results all land here).  Each page is checked separately, so
 * a buffer may span pages.  Addresses in the hypervisor's range are refused.
 */
#include <errno.h>
#include <string.h>

#include "common/common.h"
#include "core/core-internal.h"

bool mfn_is_ram(const struct domain *d, uint64_t mfn)
{
	return mfn < d->nr_pages;
}

/* Hypervisor frames a guest may map: shared_info and grant-table frames. */
bool mfn_is_hv_mappable(const struct domain *d, uint64_t mfn)
{
	uint64_t first = HV_GPA_BASE >> 12;
	if (mfn < first)
		return false;
	uint64_t off = (mfn - first) << 12;
	if (off == d->hvl.shared_info)
		return true;
	return off >= d->hvl.grant && off < d->hvl.grant + (uint64_t)d->grant_frames * PAGE_SIZE;
}

void *domain_frame_ptr(struct domain *d, uint64_t mfn)
{
	if (mfn_is_ram(d, mfn))
		return d->ram + (mfn << 12);
	if (mfn_is_hv_mappable(d, mfn))
		return d->hv + ((mfn << 12) - HV_GPA_BASE);
	return NULL;
}

static bool va_is_guest(uint64_t va)
{
	uint64_t top = va >> 47;
	if (top != 0 && top != 0x1ffff)
		return false;           /* not canonical */
	unsigned slot = L4_SLOT(va);
	return !(va >> 63) || slot < 256 || slot > 271;
}

static uint64_t read_entry(struct domain *d, uint64_t table_mfn, unsigned idx)
{
	const uint64_t *t = (const uint64_t *)(d->ram + (table_mfn << 12));
	return __atomic_load_n(&t[idx], __ATOMIC_RELAXED);
}

/* Translate va to a host pointer; fills *avail with the bytes left in the
 * page.  Returns 0 or -EFAULT. */
static int translate(struct domain *d, uint64_t root, uint64_t va, bool write, uint8_t **host,
		     size_t *avail)
{
	uint64_t need = _PAGE_PRESENT | _PAGE_USER | (write ? _PAGE_RW : 0);
	uint64_t mfn = root;

	if (!va_is_guest(va) || !mfn_is_ram(d, root))
		return -EFAULT;
	for (int level = 4; level >= 1; level--) {
		unsigned idx = (va >> (12 + 9 * (level - 1))) & 511;
		uint64_t e = read_entry(d, mfn, idx);
		if ((e & need) != need)
			return -EFAULT;
		if (level > 1 && (e & _PAGE_PSE))
			return -EFAULT;
		mfn = (e & PTE_ADDR_MASK) >> 12;
		if (level > 1 && !mfn_is_ram(d, mfn))
			return -EFAULT;
	}
	uint8_t *page = domain_frame_ptr(d, mfn);
	if (!page)
		return -EFAULT;
	*host = page + (va & 4095);
	*avail = 4096 - (va & 4095);
	return 0;
}

static int copy_common(struct vcpu *v, uint64_t root, uint64_t va, void *buf, size_t len,
		       bool write)
{
	uint8_t *p = buf;
	uint64_t end;

	if (add_overflows_u64(va, len, &end))
		return -EFAULT;
	while (len) {
		uint8_t *host;
		size_t avail = 0;
		/* A store goes through a writable mapping, so into a frame that
		 * is no page table; d->lock keeps it so until the store is done
		 * (page types change only under it). */
		if (write)
			pthread_mutex_lock(&v->d->lock);
		int rc = translate(v->d, root, va, write, &host, &avail);
		size_t n = MIN(avail, len);
		if (!rc && write)
			memcpy(host, p, n);
		else if (!rc)
			memcpy(p, host, n);
		if (write)
			pthread_mutex_unlock(&v->d->lock);
		if (rc)
			return rc;
		p += n;
		va += n;
		len -= n;
	}
	return 0;
}

int guest_copy_from(struct vcpu *v, void *dst, uint64_t va, size_t len)
{
	return copy_common(v, v->kernel_root, va, dst, len, false);
}

int guest_copy_to(struct vcpu *v, uint64_t va, const void *src, size_t len)
{
	return copy_common(v, v->kernel_root, va, (void *)src, len, true);
}

int guest_copy_from_current(struct vcpu *v, void *dst, uint64_t va, size_t len)
{
	uint64_t root = v->in_kernel ? v->kernel_root : v->user_root;
	return copy_common(v, root, va, dst, len, false);
}

int guest_copy_to_current(struct vcpu *v, uint64_t va, const void *src, size_t len)
{
	uint64_t root = v->in_kernel ? v->kernel_root : v->user_root;
	return copy_common(v, root, va, (void *)src, len, true);
}

size_t guest_fetch(struct vcpu *v, uint64_t va, void *buf, size_t len)
{
	uint64_t root = v->in_kernel ? v->kernel_root : v->user_root;
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len && va + done >= va) {
		uint8_t *host;
		size_t avail;
		if (translate(v->d, root, va + done, false, &host, &avail))
			break;
		size_t n = MIN(avail, len - done);
		memcpy(p + done, host, n);
		done += n;
	}
	return done;
}

int guest_l1e_maddr(struct vcpu *v, uint64_t root, uint64_t va, uint64_t *maddr)
{
	struct domain *d = v->d;
	uint64_t mfn = root;

	if (!va_is_guest(va) || !mfn_is_ram(d, root))
		return -EINVAL;
	for (int level = 4; level >= 2; level--) {
		unsigned idx = (va >> (12 + 9 * (level - 1))) & 511;
		uint64_t e = read_entry(d, mfn, idx);
		if (!(e & _PAGE_PRESENT) || (e & _PAGE_PSE))
			return -EINVAL;
		mfn = (e & PTE_ADDR_MASK) >> 12;
		if (!mfn_is_ram(d, mfn))
			return -EINVAL;
	}
	*maddr = (mfn << 12) + 8 * ((va >> 12) & 511);
	return 0;
}

/* Machine address behind a guest VA (read access), for emulated writes to
 * read-only page-table pages. */
int guest_va_to_maddr(struct vcpu *v, uint64_t va, uint64_t *maddr)
{
	uint8_t *host;
	size_t avail;
	int rc = translate(v->d, v->kernel_root, va, false, &host, &avail);
	if (rc)
		return rc;
	if (host < v->d->ram || host >= v->d->ram + v->d->nr_pages * PAGE_SIZE)
		return -EFAULT;
	*maddr = (uint64_t)(host - v->d->ram);
	return 0;
}
