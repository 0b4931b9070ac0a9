/*
 * kxen-elfinfo: prints what the PV builder makes of a kernel image — its
 * format, loadable segments, Xen ELF notes and the memory layout a domain
 * of the given size would get.  For debugging kernels that do not boot.
 *
 *   kxen-elfinfo [-m MEM_MIB] [-i INITRD_BYTES] KERNEL
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/builder.h"
#include "xen/xen.h"

static void print_hex_opt(const char *name, uint64_t v)
{
	if (v == KIMAGE_UNSET)
		printf("  %-18s (absent)\n", name);
	else
		printf("  %-18s %#llx\n", name, (unsigned long long)v);
}

static void print_image(const struct kimage *img)
{
	const struct xen_elf_info *xi = &img->info;
	printf("format:              %s (ELF %zu bytes)\n", img->format, img->elf_size);
	printf("segments (by paddr): %u, physical %#llx-%#llx\n", img->nr_segs,
	       (unsigned long long)img->pstart, (unsigned long long)img->pend);
	for (unsigned i = 0; i < img->nr_segs; i++)
		printf("  paddr %#010llx filesz %#010llx memsz %#010llx\n",
		       (unsigned long long)img->segs[i].paddr,
		       (unsigned long long)img->segs[i].filesz,
		       (unsigned long long)img->segs[i].memsz);
	printf("Xen notes (%u%s):\n", xi->nr_xen_notes,
	       xi->notes_from_sections ? ", from SHT_NOTE sections" : "");
	printf("  %-18s %s\n", "GUEST_OS", xi->guest_os);
	printf("  %-18s %s\n", "GUEST_VERSION", xi->guest_version);
	printf("  %-18s %s\n", "XEN_VERSION", xi->xen_version);
	printf("  %-18s %s\n", "LOADER", xi->loader);
	printf("  %-18s %s\n", "PAE_MODE", xi->pae_mode);
	printf("  %-18s %#llx\n", "VIRT_BASE", (unsigned long long)xi->virt_base);
	printf("  %-18s %#llx\n", "PADDR_OFFSET", (unsigned long long)xi->paddr_offset);
	printf("  %-18s %#llx\n", "ENTRY", (unsigned long long)xi->entry);
	if (xi->hypercall_page)
		printf("  %-18s %#llx\n", "HYPERCALL_PAGE", (unsigned long long)xi->hypercall_page);
	else
		printf("  %-18s (absent: kernel issues syscall directly)\n", "HYPERCALL_PAGE");
	print_hex_opt("INIT_P2M", xi->init_p2m);
	print_hex_opt("HV_START_LOW", xi->hv_start_low);
	print_hex_opt("PHYS32_ENTRY", xi->phys32_entry);
	printf("  %-18s \"%s\"\n", "FEATURES", xi->features);
	printf("  %-18s supported %#x required %#x\n", "feature bits", xi->f_supported,
	       xi->f_required);
	printf("  %-18s %s\n", "MOD_START_PFN", xi->mod_start_pfn ? "yes" : "no");
	printf("  %-18s %llu\n", "SUSPEND_CANCEL", (unsigned long long)xi->suspend_cancel);
	if (xi->l1_mfn_valid)
		printf("  %-18s mask %#llx value %#llx\n", "L1_MFN_VALID",
		       (unsigned long long)xi->l1_mfn_valid_mask,
		       (unsigned long long)xi->l1_mfn_valid_value);
	printf("kernel range:        %#llx-%#llx\n", (unsigned long long)xi->virt_kstart,
	       (unsigned long long)xi->virt_kend);
}

static void print_layout(const struct pv_layout *l)
{
	unsigned long long vb = l->virt_base;
	printf("layout for %llu pages (%llu MiB):\n", (unsigned long long)l->nr_pages,
	       (unsigned long long)(l->nr_pages >> 8));
	printf("  kernel       pfn %#llx-%#llx\n", (unsigned long long)l->kernel_pfn,
	       (unsigned long long)(l->kernel_pfn + l->kernel_pages - 1));
	if (l->p2m_in_kernel_map)
		printf("  p2m (mapped) pfn %#llx, %llu frames, va %#llx\n",
		       (unsigned long long)l->p2m_pfn, (unsigned long long)l->p2m_frames,
		       (unsigned long long)l->p2m_va);
	printf("  start_info   pfn %#llx (va %#llx)\n", (unsigned long long)l->start_info_pfn,
	       vb + l->start_info_pfn * 4096);
	printf("  xenstore     pfn %#llx\n", (unsigned long long)l->xenstore_pfn);
	printf("  console      pfn %#llx\n", (unsigned long long)l->console_pfn);
	printf("  page tables  pfn %#llx-%#llx (%llu frames: L4 L3 L2 + %llu L1)\n",
	       (unsigned long long)l->pt_pfn,
	       (unsigned long long)(l->pt_pfn + l->pt_frames - 1),
	       (unsigned long long)l->pt_frames,
	       (unsigned long long)l->maps[0].lvl[0].tables);
	printf("  boot stack   pfn %#llx (rsp %#llx)\n", (unsigned long long)l->bootstack_pfn,
	       vb + (l->bootstack_pfn + 1) * 4096);
	printf("  mapped up to %#llx\n", (unsigned long long)l->virt_pgtab_end);
	if (l->initrd_pages)
		printf("  initrd       pfn %#llx, %llu pages (%s), mod_start %#llx mod_len %#llx\n",
		       (unsigned long long)l->initrd_pfn, (unsigned long long)l->initrd_pages,
		       l->initrd_mapped ? "mapped" : "unmapped",
		       (unsigned long long)l->mod_start, (unsigned long long)l->mod_len);
	if (!l->p2m_in_kernel_map)
		printf("  p2m          pfn %#llx, %llu frames (%llu data + %llu tables), va %#llx\n",
		       (unsigned long long)l->p2m_pfn, (unsigned long long)l->p2m_frames,
		       (unsigned long long)l->p2m_data_pages,
		       (unsigned long long)(l->p2m_frames - l->p2m_data_pages),
		       (unsigned long long)l->p2m_va);
	if (l->hypercall_pfn != KIMAGE_UNSET)
		printf("  hypercall    pfn %#llx\n", (unsigned long long)l->hypercall_pfn);
	printf("  pages used   %#llx\n", (unsigned long long)l->pages_used);
}

static int usage(void)
{
	fprintf(stderr, "usage: kxen-elfinfo [-m MEM_MIB] [-i INITRD_BYTES] KERNEL\n");
	return 2;
}

int main(int argc, char **argv)
{
	unsigned long long mem_mib = 512, initrd_len = 0;
	int opt;
	while ((opt = getopt(argc, argv, "m:i:h")) != -1) {
		char *end;
		switch (opt) {
		case 'm':
			mem_mib = strtoull(optarg, &end, 0);
			if (*end || mem_mib == 0)
				return usage();
			break;
		case 'i':
			initrd_len = strtoull(optarg, &end, 0);
			if (*end)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (optind != argc - 1)
		return usage();

	struct kimage img;
	char err[512];
	if (kimage_load(argv[optind], &img, err, sizeof(err)) < 0) {
		fprintf(stderr, "kxen-elfinfo: %s\n", err);
		return 1;
	}
	print_image(&img);

	/* The layout only needs the initrd's size; no data is read. */
	static const uint8_t dummy;
	struct pv_build_params p = { .nr_vcpus = 1, .initrd = initrd_len ? &dummy : NULL,
	                             .initrd_len = initrd_len };
	struct pv_layout lay;
	int rc = pv_layout(&p, &img, mem_mib << 8, &lay, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "kxen-elfinfo: layout: %s\n", err);
	else
		print_layout(&lay);
	kimage_free(&img);
	return rc < 0 ? 1 : 0;
}
