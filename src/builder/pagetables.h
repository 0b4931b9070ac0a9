/* Private to src/builder: writing the page tables and the p2m list. */
#ifndef KXEN_BUILDER_PAGETABLES_H
#define KXEN_BUILDER_PAGETABLES_H

#include <stdint.h>

#include "builder/builder.h"

/* Writes every mapping's page tables (frames must already be zeroed). */
int pv_write_pagetables(const struct pv_layout *lay, uint8_t *ram, uint64_t nr_pages);

/* Writes the identity p2m list (p2m[pfn] = pfn), ~0 after nr_pages. */
int pv_write_p2m(const struct pv_layout *lay, uint8_t *ram, uint64_t nr_pages);

#endif
