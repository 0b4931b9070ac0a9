/*
 * pv_build: writes a laid-out PV domain into guest RAM — kernel segments,
 * hypercall page, rings, page tables, initrd, p2m and start_info — and
 * returns the initial vCPU state (libxc's xc_dom_build_image, the
 * arch hooks of xg_dom_x86.c and the ring setup of xg_dom_boot.c).
 */
#include <errno.h>
#include <string.h>

#include "builder/builder-priv.h"
#include "builder/pagetables.h"
#include "xen/xen.h"

/* struct xencons_interface: in[1024], out[2048], 4 ring indexes, then
 * `connection`; libxc starts it as XENCONSOLE_DISCONNECTED (1). */
#define XENCONS_CONNECTION_OFFSET 3088
#define XENCONSOLE_DISCONNECTED   1

#define HYPERCALL_SLOT_SIZE 32
#define HYPERCALL_IRET      23

static uint8_t *frame(uint8_t *ram, uint64_t pfn)
{
	return ram + pfn * PV_PAGE_SIZE;
}

/*
 * Xen's 64-bit PV hypercall page (pv_ring3_init_hypercall_page): each
 * 32-byte slot saves %rcx/%r11 around `syscall` with the number in %eax;
 * iret's slot pushes %rax too and never returns.
 */
void pv_hypercall_page_fill(uint8_t *page)
{
	memset(page, 0xcc, PV_PAGE_SIZE);
	for (uint32_t i = 0; i < PV_PAGE_SIZE / HYPERCALL_SLOT_SIZE; i++) {
		uint8_t *p = page + i * HYPERCALL_SLOT_SIZE;
		if (i == HYPERCALL_IRET) {
			static const uint8_t iret[] = { 0x51, 0x41, 0x53, 0x50, 0xb8, 0x17, 0x00,
			                                0x00, 0x00, 0x0f, 0x05 };
			memcpy(p, iret, sizeof(iret));
			continue;
		}
		static const uint8_t head[] = { 0x51, 0x41, 0x53, 0xb8 };
		static const uint8_t tail[] = { 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3 };
		memcpy(p, head, sizeof(head));
		p[4] = (uint8_t)i;
		p[5] = (uint8_t)(i >> 8);
		p[6] = (uint8_t)(i >> 16);
		p[7] = (uint8_t)(i >> 24);
		memcpy(p + 8, tail, sizeof(tail));
	}
}

/* Copies each PT_LOAD segment at its physical offset from the kernel start;
 * the memsz tail (bss) stays zero from the earlier clearing. */
static int load_kernel(const struct kimage *img, const struct pv_layout *lay, uint8_t *ram,
                       char *err, size_t errlen)
{
	uint8_t *kbase = frame(ram, lay->kernel_pfn);
	uint64_t kbytes = lay->kernel_pages * PV_PAGE_SIZE;
	for (unsigned i = 0; i < img->nr_segs; i++) {
		const struct kimage_seg *s = &img->segs[i];
		uint64_t off = s->paddr - img->pstart;
		if (off > kbytes || s->memsz > kbytes - off || s->offset > img->elf_size ||
		    s->filesz > img->elf_size - s->offset)
			return builder_err(err, errlen, -EINVAL,
			                   "segment %u does not fit the kernel area", i);
		memcpy(kbase + off, img->elf + s->offset, s->filesz);
	}
	return 0;
}

/* Truncates safely; returns true when the command line did not fit. */
static bool copy_cmdline(int8_t *dst, const char *src)
{
	memset(dst, 0, MAX_GUEST_CMDLINE);
	if (!src)
		return false;
	size_t len = strnlen(src, MAX_GUEST_CMDLINE);
	bool truncated = len >= MAX_GUEST_CMDLINE;
	if (truncated)
		len = MAX_GUEST_CMDLINE - 1;
	memcpy(dst, src, len);
	return truncated;
}

/* start_info_x86_64. */
static bool write_start_info(const struct pv_build_params *p, const struct pv_layout *lay,
                             uint8_t *ram)
{
	struct start_info *si = (struct start_info *)frame(ram, lay->start_info_pfn);
	memset(si, 0, sizeof(*si));
	memcpy(si->magic, "xen-3.0-x86_64", sizeof("xen-3.0-x86_64"));
	si->nr_pages = lay->nr_pages;
	si->shared_info = p->shared_info_maddr;
	si->flags = 0;
	si->store_mfn = lay->xenstore_pfn;
	si->store_evtchn = p->store_evtchn;
	si->console.domU.mfn = lay->console_pfn;
	si->console.domU.evtchn = p->console_evtchn;
	si->pt_base = lay->virt_base + lay->pt_pfn * PV_PAGE_SIZE;
	si->nr_pt_frames = lay->pt_frames;
	si->mfn_list = lay->p2m_va;
	if (!lay->p2m_in_kernel_map) {
		si->first_p2m_pfn = lay->p2m_pfn;
		si->nr_p2m_frames = lay->p2m_frames;
	}
	if (lay->initrd_pages) {
		si->mod_start = lay->mod_start;
		si->mod_len = lay->mod_len;
		if (!lay->initrd_mapped)
			si->flags |= SIF_MOD_START_PFN;
	}
	return copy_cmdline(si->cmd_line, p->cmdline);
}

static void fill_result(const struct pv_layout *lay, const struct kimage *img,
                        struct pv_build_result *out)
{
	memset(out, 0, sizeof(*out));
	out->layout = *lay;
	out->entry = img->info.entry;
	out->stack = lay->virt_base + (lay->bootstack_pfn + 1) * PV_PAGE_SIZE;
	out->start_info_va = lay->virt_base + lay->start_info_pfn * PV_PAGE_SIZE;
	out->l4_mfn = lay->pt_pfn;
	out->cr3 = lay->pt_pfn << PV_PAGE_SHIFT;
	out->start_info_pfn = lay->start_info_pfn;
	out->store_mfn = lay->xenstore_pfn;
	out->console_mfn = lay->console_pfn;
	out->pt_first_pfn = lay->pt_pfn;
	out->pt_nr_frames = lay->pt_frames;
	if (lay->nr_maps > 1) {
		out->p2m_pt_first_pfn = lay->maps[1].lvl[3].pfn;
		out->p2m_pt_nr_frames = lay->maps[1].area.tables;
	}
	out->pages_used = lay->pages_used;
}

int pv_build(const struct pv_build_params *p, const struct kimage *img,
             uint8_t *ram, uint64_t nr_pages, struct pv_build_result *out,
             char *err, size_t errlen)
{
	struct pv_layout lay;
	if (!ram || !out)
		return builder_err(err, errlen, -EINVAL, "no guest memory or result");
	int rc = pv_layout(p, img, nr_pages, &lay, err, errlen);
	if (rc < 0)
		return rc;

	/* Every frame the layout hands out starts zeroed (libxc clears its
	 * segments; padding frames come fresh from Xen). */
	memset(ram, 0, lay.pages_used * PV_PAGE_SIZE);

	rc = load_kernel(img, &lay, ram, err, errlen);
	if (rc < 0)
		return rc;
	if (lay.hypercall_pfn != KIMAGE_UNSET)
		pv_hypercall_page_fill(frame(ram, lay.hypercall_pfn));
	if (lay.initrd_pages)
		memcpy(frame(ram, lay.initrd_pfn), p->initrd, p->initrd_len);
	frame(ram, lay.console_pfn)[XENCONS_CONNECTION_OFFSET] = XENCONSOLE_DISCONNECTED;

	rc = pv_write_p2m(&lay, ram, nr_pages);
	if (rc == 0)
		rc = pv_write_pagetables(&lay, ram, nr_pages);
	if (rc < 0)
		return builder_err(err, errlen, rc, "internal error writing page tables");

	bool truncated = write_start_info(p, &lay, ram);
	fill_result(&lay, img, out);
	out->cmdline_truncated = truncated;
	return 0;
}
