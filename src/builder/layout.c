/*
 * PV memory layout: libxc's allocation algorithm for 64-bit PV guests
 * (tools/libs/guest/xg_dom_core.c xc_dom_build_image, xc_dom_alloc_segment;
 * xg_dom_x86.c alloc_magic_pages_pv, alloc_pgtables_pv, count_pgtables,
 * alloc_p2m_list_x86_64).  Linux relies on the exact result (frame order
 * of the page tables, 512 KiB of mapped slack, unmapped initrd placement),
 * so the steps and their order are kept as libxc has them.
 *
 * Allocation is linear: frame n is at virt_base + n * 4096 while inside the
 * bootstrap mapping.
 */
#include <errno.h>
#include <string.h>

#include "builder/builder-priv.h"

#define VADDR_MASK      ((1ull << 48) - 1)   /* libxc masks VAs to 48 bits */
#define PT_LEVELS       4
#define PT_LEVEL_SHIFT  9
#define PAD_4M_MASK     ((1ull << 22) - 1)
#define SLACK_PAGES     ((512 * 1024) / PV_PAGE_SIZE)
/* 16 TiB: far beyond any domain, keeps every frame/byte product in range. */
#define PV_MAX_PAGES    (1ull << 32)

/* L4 slots 256-271 belong to the hypervisor (as in Xen). */
#define HV_AREA_START   0xffff800000000000ull
#define HV_AREA_END     0xffff880000000000ull

struct alloc {
	uint64_t pfn_end;       /* libxc pfn_alloc_end */
	uint64_t virt_end;      /* libxc virt_alloc_end */
	uint64_t total;         /* nr_pages */
	char *err;
	size_t errlen;
};

/* xc_dom_chk_alloc_pages: reserve `pages` frames (and VA) after the end. */
static int alloc_pages(struct alloc *a, const char *what, uint64_t pages)
{
	if (pages > a->total || a->pfn_end > a->total || pages > a->total - a->pfn_end)
		return builder_err(a->err, a->errlen, -ENOMEM,
		                   "not enough memory for %s: need %#llx pages at pfn %#llx, "
		                   "domain has %#llx", what, (unsigned long long)pages,
		                   (unsigned long long)a->pfn_end, (unsigned long long)a->total);
	if (pages > (UINT64_MAX - a->virt_end) / PV_PAGE_SIZE)
		return builder_err(a->err, a->errlen, -EINVAL,
		                   "%s: virtual address overflow", what);
	a->pfn_end += pages;
	a->virt_end += pages * PV_PAGE_SIZE;
	return 0;
}

/* xc_dom_alloc_pad: allocate up to a page-aligned VA boundary. */
static int alloc_pad(struct alloc *a, uint64_t boundary)
{
	if (boundary & (PV_PAGE_SIZE - 1))
		return builder_err(a->err, a->errlen, -EINVAL,
		                   "segment boundary %#llx is not page aligned",
		                   (unsigned long long)boundary);
	if (boundary < a->virt_end)
		return builder_err(a->err, a->errlen, -EINVAL,
		                   "segment boundary %#llx below allocation end %#llx",
		                   (unsigned long long)boundary, (unsigned long long)a->virt_end);
	return alloc_pages(a, "padding", (boundary - a->virt_end) / PV_PAGE_SIZE);
}

/* xc_dom_alloc_segment: optional pad to `start`, then whole pages. */
static int alloc_segment(struct alloc *a, const char *what, uint64_t start,
                         uint64_t size, uint64_t *pfn, uint64_t *pages, uint64_t *va)
{
	if (start) {
		int rc = alloc_pad(a, start);
		if (rc < 0)
			return rc;
	}
	if (size > UINT64_MAX - PV_PAGE_SIZE)
		return builder_err(a->err, a->errlen, -EINVAL, "%s: size overflow", what);
	uint64_t n = (size + PV_PAGE_SIZE - 1) / PV_PAGE_SIZE;
	uint64_t first = a->pfn_end, vstart = a->virt_end;
	int rc = alloc_pages(a, what, n);
	if (rc < 0)
		return rc;
	*pfn = first;
	*pages = n;
	if (va)
		*va = vstart;
	return 0;
}

static uint64_t level_shift(int l)
{
	return PV_PAGE_SHIFT + (uint64_t)l * PT_LEVEL_SHIFT;
}

static uint64_t bits_mask(uint64_t bits)
{
	return bits >= 64 ? UINT64_MAX : (1ull << bits) - 1;
}

/*
 * count_pgtables: how many tables of each level the new mapping
 * [from, to] (inclusive) needs, given the mappings already made: tables an
 * earlier mapping already provides are shared, not counted again.  Table
 * frames are numbered from the current allocation end, top level first.
 */
static int count_pgtables(struct pv_layout *lay, struct alloc *a, uint64_t from,
                          uint64_t to, uint64_t pfn)
{
	if (lay->nr_maps >= 2)
		return builder_err(a->err, a->errlen, -EINVAL, "too many mappings");
	struct pv_pt_mapping *map = &lay->maps[lay->nr_maps];
	uint64_t pfn_end = pfn + ((to - from) >> PV_PAGE_SHIFT);
	if (to < from || pfn_end < pfn || pfn_end >= a->total)
		return builder_err(a->err, a->errlen, -ENOMEM,
		                   "not enough memory for initial mapping (%#llx > %#llx)",
		                   (unsigned long long)pfn_end, (unsigned long long)a->total);
	memset(map, 0, sizeof(*map));
	map->area.from = from & VADDR_MASK;
	map->area.to = to & VADDR_MASK;
	for (unsigned m = 0; m < lay->nr_maps; m++) {
		const struct pv_pt_mapping *cmp = &lay->maps[m];
		if (map->area.from <= cmp->area.to && map->area.to >= cmp->area.from)
			return builder_err(a->err, a->errlen, -EINVAL,
			                   "mapping [%#llx, %#llx] overlaps the bootstrap mapping",
			                   (unsigned long long)from, (unsigned long long)to);
	}

	for (int l = PT_LEVELS - 1; l >= 0; l--) {
		struct pv_pt_level *lv = &map->lvl[l];
		lv->pfn = a->pfn_end + map->area.tables;
		if (l == PT_LEVELS - 1) {
			/* The single top-level table belongs to the first mapping. */
			if (lay->nr_maps == 0) {
				lv->from = 0;
				lv->to = VADDR_MASK;
				lv->tables = 1;
				map->area.tables++;
			}
			continue;
		}
		uint64_t bits = level_shift(l + 1);
		uint64_t mask = bits_mask(bits);
		lv->from = map->area.from & ~mask;
		lv->to = map->area.to | mask;
		for (unsigned m = 0; m < lay->nr_maps; m++) {
			const struct pv_pt_level *c = &lay->maps[m].lvl[l];
			if (c->from == c->to)
				continue;
			if (lv->from >= c->from && lv->to <= c->to) {
				lv->from = lv->to = 0;   /* fully provided already */
				break;
			}
			if (lv->from < c->from && lv->to > c->to)
				return builder_err(a->err, a->errlen, -EINVAL,
				                   "mapping straddles an earlier one at level %d", l + 1);
			if (lv->from >= c->from && lv->from <= c->to)
				lv->from = c->to + 1;
			if (lv->to >= c->from && lv->to <= c->to)
				lv->to = c->from - 1;
		}
		if (lv->from < lv->to)
			lv->tables = ((lv->to - lv->from) >> bits) + 1;
		map->area.tables += lv->tables;
	}
	return 0;
}

/* alloc_pgtables_pv: grow the mapped area until its own tables fit. */
static int alloc_bootstrap_pgtables(struct pv_layout *lay, struct alloc *a)
{
	const uint64_t extra = 1 /* boot stack */ + SLACK_PAGES;
	struct pv_pt_mapping *map = &lay->maps[lay->nr_maps];
	uint64_t pages = extra, try_end;
	for (;;) {
		if (pages > (UINT64_MAX - a->virt_end) / PV_PAGE_SIZE ||
		    a->virt_end + pages * PV_PAGE_SIZE > UINT64_MAX - PAD_4M_MASK)
			return builder_err(a->err, a->errlen, -EINVAL,
			                   "bootstrap mapping runs past the end of the address space");
		try_end = (a->virt_end + pages * PV_PAGE_SIZE) | PAD_4M_MASK;
		int rc = count_pgtables(lay, a, lay->virt_base, try_end, 0);
		if (rc < 0)
			return rc;
		pages = map->area.tables + extra;
		if (a->virt_end + pages * PV_PAGE_SIZE <= try_end + 1)
			break;
	}
	map->area.pfn = 0;
	lay->nr_maps++;
	lay->virt_pgtab_end = try_end + 1;
	/* Linux copies the one L2 under L3[510] (xen_setup_kernel_pagetable):
	 * the whole bootstrap area must fit under a single L2 (1 GiB). */
	if (map->lvl[1].tables != 1 || map->lvl[2].tables != 1)
		return builder_err(a->err, a->errlen, -E2BIG,
		                   "bootstrap mapping [%#llx, %#llx) needs %llu L2 tables; "
		                   "a PV kernel needs it inside one 1 GiB L2",
		                   (unsigned long long)lay->virt_base,
		                   (unsigned long long)lay->virt_pgtab_end,
		                   (unsigned long long)map->lvl[1].tables);
	uint64_t va;
	return alloc_segment(a, "page tables", 0, map->area.tables * PV_PAGE_SIZE,
	                     &lay->pt_pfn, &lay->pt_frames, &va);
}

/* alloc_p2m_list_x86_64 with INIT_P2M: data pages then their own tables. */
static int alloc_p2m_at_init_p2m(struct pv_layout *lay, struct alloc *a, uint64_t base)
{
	uint64_t size = lay->p2m_data_pages * PV_PAGE_SIZE;
	if (base > UINT64_MAX - size)
		return builder_err(a->err, a->errlen, -EINVAL, "INIT_P2M area wraps");
	int rc = count_pgtables(lay, a, base, base + size - 1, a->pfn_end);
	if (rc < 0)
		return rc;
	struct pv_pt_mapping *map = &lay->maps[lay->nr_maps];
	map->area.pfn = a->pfn_end;
	for (int l = 0; l < PT_LEVELS; l++)
		map->lvl[l].pfn += lay->p2m_data_pages;
	lay->nr_maps++;
	size += map->area.tables * PV_PAGE_SIZE;
	rc = alloc_segment(a, "p2m list", 0, size, &lay->p2m_pfn, &lay->p2m_frames, NULL);
	lay->p2m_va = base;
	return rc;
}

static bool in_hv_area(uint64_t from, uint64_t to_incl)
{
	return from < HV_AREA_END && to_incl >= HV_AREA_START;
}

static bool is_canonical(uint64_t va)
{
	uint64_t top = va >> 47;
	return top == 0 || top == 0x1ffff;
}

/* libxc drops INIT_P2M when it is not below VIRT_BASE or not aligned. */
static bool init_p2m_usable(const struct xen_elf_info *xi)
{
	return xi->init_p2m != KIMAGE_UNSET && xi->init_p2m < xi->virt_base &&
	       (xi->init_p2m & (PV_PAGE_SIZE - 1)) == 0;
}

static int check_inputs(const struct pv_build_params *p, const struct kimage *img,
                        uint64_t nr_pages, char *err, size_t errlen)
{
	const struct xen_elf_info *xi = &img->info;
	if (!p || !img->elf)
		return builder_err(err, errlen, -EINVAL, "no build parameters or image");
	if (nr_pages == 0 || nr_pages > PV_MAX_PAGES)
		return builder_err(err, errlen, -EINVAL, "bad domain size %#llx pages",
		                   (unsigned long long)nr_pages);
	if (p->nr_vcpus == 0)
		return builder_err(err, errlen, -EINVAL, "domain has no vCPU");
	if (p->initrd_len && !p->initrd)
		return builder_err(err, errlen, -EINVAL, "initrd length without data");
	if (xi->virt_kstart & (PV_PAGE_SIZE - 1))
		return builder_err(err, errlen, -EINVAL,
		                   "kernel start %#llx is not page aligned",
		                   (unsigned long long)xi->virt_kstart);
	if (!is_canonical(xi->virt_base) || !is_canonical(xi->virt_kend - 1))
		return builder_err(err, errlen, -EINVAL, "kernel range is not canonical");
	if (in_hv_area(xi->virt_base, xi->virt_kend - 1))
		return builder_err(err, errlen, -EINVAL,
		                   "kernel range overlaps the hypervisor area (L4 slots 256-271)");
	if (init_p2m_usable(xi) && !is_canonical(xi->init_p2m))
		return builder_err(err, errlen, -EINVAL, "INIT_P2M %#llx is not canonical",
		                   (unsigned long long)xi->init_p2m);
	return 0;
}

int pv_layout(const struct pv_build_params *p, const struct kimage *img,
              uint64_t nr_pages, struct pv_layout *lay, char *err, size_t errlen)
{
	const struct xen_elf_info *xi = &img->info;
	int rc = check_inputs(p, img, nr_pages, err, errlen);
	if (rc < 0)
		return rc;

	memset(lay, 0, sizeof(*lay));
	struct alloc a = { 0, xi->virt_base, nr_pages, err, errlen };
	lay->nr_pages = nr_pages;
	lay->virt_base = xi->virt_base;
	lay->hypercall_pfn = KIMAGE_UNSET;
	lay->p2m_data_pages = (nr_pages * 8 + PV_PAGE_SIZE - 1) / PV_PAGE_SIZE;
	bool p2m_outside = init_p2m_usable(xi);
	bool initrd_unmapped = xi->mod_start_pfn;
	uint64_t va;

	/* 1. Kernel at its own frame (frames below it are padding). */
	rc = alloc_segment(&a, "kernel", xi->virt_kstart, xi->virt_kend - xi->virt_kstart,
	                   &lay->kernel_pfn, &lay->kernel_pages, &va);
	if (rc < 0)
		return rc;
	if (xi->hypercall_page)
		lay->hypercall_pfn = (xi->hypercall_page - xi->virt_base) >> PV_PAGE_SHIFT;

	/* 2. Mapped initrd, only when the kernel cannot take an unmapped one. */
	if (p->initrd_len && !initrd_unmapped) {
		rc = alloc_segment(&a, "initrd", 0, p->initrd_len, &lay->initrd_pfn,
		                   &lay->initrd_pages, &lay->mod_start);
		if (rc < 0)
			return rc;
		lay->initrd_mapped = true;
		lay->mod_len = p->initrd_len;
	}

	/* 3. p2m inside the kernel mapping when INIT_P2M is unusable. */
	if (!p2m_outside) {
		rc = alloc_segment(&a, "p2m list", 0, lay->p2m_data_pages * PV_PAGE_SIZE,
		                   &lay->p2m_pfn, &lay->p2m_frames, &lay->p2m_va);
		if (rc < 0)
			return rc;
		lay->p2m_in_kernel_map = true;
	}

	/* 4. start_info, xenstore ring, console ring: one page each. */
	uint64_t n;
	if ((rc = alloc_segment(&a, "start info", 0, PV_PAGE_SIZE, &lay->start_info_pfn, &n,
	                        NULL)) < 0 ||
	    (rc = alloc_segment(&a, "xenstore", 0, PV_PAGE_SIZE, &lay->xenstore_pfn, &n,
	                        NULL)) < 0 ||
	    (rc = alloc_segment(&a, "console", 0, PV_PAGE_SIZE, &lay->console_pfn, &n,
	                        NULL)) < 0)
		return rc;

	/* 5. Bootstrap page tables (L4, L3, L2, L1...), then the boot stack. */
	rc = alloc_bootstrap_pgtables(lay, &a);
	if (rc < 0)
		return rc;
	rc = alloc_segment(&a, "boot stack", 0, PV_PAGE_SIZE, &lay->bootstack_pfn, &n, NULL);
	if (rc < 0)
		return rc;

	/* 6. Everything up to virt_pgtab_end is mapped, hence allocated. */
	rc = alloc_pad(&a, lay->virt_pgtab_end);
	if (rc < 0)
		return rc;

	/* 7. Unmapped initrd: start_info gets its PFN and a page-rounded size. */
	if (p->initrd_len && initrd_unmapped) {
		rc = alloc_segment(&a, "initrd", 0, p->initrd_len, &lay->initrd_pfn,
		                   &lay->initrd_pages, NULL);
		if (rc < 0)
			return rc;
		lay->mod_start = lay->initrd_pfn;
		lay->mod_len = lay->initrd_pages * PV_PAGE_SIZE;
	}

	/* 8. p2m at INIT_P2M with its own L3/L2/L1 frames. */
	if (p2m_outside) {
		uint64_t base = xi->init_p2m;
		if (in_hv_area(base, base + lay->p2m_data_pages * PV_PAGE_SIZE - 1))
			return builder_err(err, errlen, -EINVAL,
			                   "INIT_P2M area overlaps the hypervisor area");
		rc = alloc_p2m_at_init_p2m(lay, &a, base);
		if (rc < 0)
			return rc;
	}
	lay->pages_used = a.pfn_end;
	return 0;
}
