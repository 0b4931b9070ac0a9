/*
 * Bootstrap page tables and the p2m list (libxc's setup_pgtables_pv and
 * setup_pgtables_x86_64), written straight into guest RAM.
 *
 * Each mapping's tables of one level are consecutive frames, used as one
 * long array of entries; the entries point at the next level's tables of
 * every mapping that falls inside, or at the mapped frames for L1.
 */
#include <errno.h>
#include <string.h>

#include "builder/pagetables.h"
#include "xen/xen.h"

#define PT_LEVELS 4
#define ENTRIES_PER_TABLE 512

/* libxc's x86_64_params.lvl_prot. */
#define PROT_L1    (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED)
#define PROT_UPPER (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_USER)

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* get_pg_prot: L1 entries mapping any mapping's table frames are RO. */
static uint64_t entry_prot(const struct pv_layout *lay, int l, uint64_t pfn)
{
	if (l > 0)
		return PROT_UPPER;
	for (unsigned m = 0; m < lay->nr_maps; m++) {
		uint64_t first = lay->maps[m].lvl[PT_LEVELS - 1].pfn;
		if (pfn >= first && pfn < first + lay->maps[m].area.tables)
			return PROT_L1 & ~_PAGE_RW;
	}
	return PROT_L1;
}

/* Fills the entries of mapping m1's level-l tables that cover `lower`. */
static int fill_entries(const struct pv_layout *lay, uint8_t *ram, uint64_t nr_pages,
                        const struct pv_pt_level *tbl, int l,
                        const struct pv_pt_level *lower)
{
	uint64_t shift = 12 + 9 * (uint64_t)l;
	uint64_t from = tbl->from, to = tbl->to;
	if (lower->from >= to || lower->to <= from)
		return 0;
	uint64_t p_s = (max_u64(from, lower->from) - from) >> shift;
	uint64_t p_e = (min_u64(to, lower->to) - from) >> shift;
	uint64_t pfn = ((max_u64(from, lower->from) - lower->from) >> shift) + lower->pfn;
	/* The algorithm keeps indexes inside the tables; checked anyway since a
	 * write outside them would corrupt guest memory silently. */
	if (p_e >= tbl->tables * ENTRIES_PER_TABLE || tbl->pfn + tbl->tables > nr_pages)
		return -EINVAL;
	uint64_t *pg = (uint64_t *)(ram + tbl->pfn * 4096);
	for (uint64_t p = p_s; p <= p_e; p++, pfn++) {
		if (pfn >= nr_pages)
			return -EINVAL;
		/* MFN == PFN in kxen: the entry's frame is the PFN itself. */
		pg[p] = (pfn << 12) | entry_prot(lay, l, pfn);
	}
	return 0;
}

int pv_write_pagetables(const struct pv_layout *lay, uint8_t *ram, uint64_t nr_pages)
{
	for (int l = PT_LEVELS - 1; l >= 0; l--) {
		for (unsigned m1 = 0; m1 < lay->nr_maps; m1++) {
			const struct pv_pt_level *tbl = &lay->maps[m1].lvl[l];
			if (tbl->tables == 0)
				continue;  /* this mapping shares an earlier one's tables */
			for (unsigned m2 = 0; m2 < lay->nr_maps; m2++) {
				const struct pv_pt_mapping *map2 = &lay->maps[m2];
				const struct pv_pt_level *lower = l > 0 ? &map2->lvl[l - 1] : &map2->area;
				if (l > 0 && lower->tables == 0)
					continue;
				int rc = fill_entries(lay, ram, nr_pages, tbl, l, lower);
				if (rc < 0)
					return rc;
			}
		}
	}
	return 0;
}

int pv_write_p2m(const struct pv_layout *lay, uint8_t *ram, uint64_t nr_pages)
{
	if (lay->p2m_pfn + lay->p2m_data_pages > nr_pages)
		return -EINVAL;
	uint64_t *p2m = (uint64_t *)(ram + lay->p2m_pfn * 4096);
	for (uint64_t pfn = 0; pfn < nr_pages; pfn++)
		p2m[pfn] = pfn;
	/* Linux writes INVALID_P2M_ENTRY up to the next 512 entries itself;
	 * doing it here keeps the page consistent from the start. */
	uint64_t end = lay->p2m_data_pages * (4096 / 8);
	for (uint64_t i = nr_pages; i < end; i++)
		p2m[i] = ~0ull;
	return 0;
}
