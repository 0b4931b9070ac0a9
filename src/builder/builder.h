/*
 * PV domain builder: loads a Xen PV kernel image (bzImage, ELF or gzip'd
 * ELF), reads its Xen ELF notes, and lays out a fresh 64-bit PV domain's
 * memory exactly as Xen's libxc does (kernel, start_info, xenstore and
 * console rings, bootstrap page tables, boot stack, initrd, p2m list).
 *
 * Typical use by the daemon:
 *
 *     struct kimage img;
 *     char err[256];
 *     if (kimage_load(path, &img, err, sizeof(err)) < 0) ... report err ...
 *     struct pv_build_params p = { .nr_vcpus = 1, .store_evtchn = 1, ... };
 *     struct pv_build_result r;
 *     if (pv_build(&p, &img, ram, nr_pages, &r, err, sizeof(err)) < 0) ...
 *     kimage_free(&img);
 *     // vCPU 0: RIP = r.entry, RSP = r.stack, RSI = r.start_info_va,
 *     //         CR3 = r.cr3; then pin r.l4_mfn and start the vCPU.
 *
 * Guest frames are identity-mapped in kxen (MFN == PFN), so every "mfn"
 * below is also the PFN and the guest-physical frame number.
 *
 * All functions return 0 or a negative errno and write a message to err.
 * The image file is untrusted: any garbage gives an error, never a crash.
 */
#ifndef KXEN_BUILDER_H
#define KXEN_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KIMAGE_MAX_SEGS        32
#define KIMAGE_NOTE_STR_MAX    64    /* LOADER, GUEST_OS, ... are short */
#define KIMAGE_FEATURES_MAX    256   /* FEATURES string copy (truncated) */
#define KIMAGE_UNSET           UINT64_MAX

/* What the Xen ELF notes of an image say, after libelf-style validation. */
struct xen_elf_info {
	uint64_t virt_base;          /* VIRT_BASE (0 if absent, as libelf) */
	uint64_t paddr_offset;       /* PADDR_OFFSET (0 if absent) */
	uint64_t entry;              /* ENTRY (e_entry if absent) */
	uint64_t hypercall_page;     /* HYPERCALL_PAGE VA, 0 if absent */
	uint64_t init_p2m;           /* INIT_P2M VA, KIMAGE_UNSET if absent */
	uint64_t hv_start_low;       /* HV_START_LOW, KIMAGE_UNSET if absent */
	uint64_t phys32_entry;       /* PHYS32_ENTRY, KIMAGE_UNSET if absent */
	uint64_t suspend_cancel;     /* SUSPEND_CANCEL value, 0 if absent */
	bool     mod_start_pfn;      /* MOD_START_PFN: initrd may stay unmapped */
	bool     l1_mfn_valid;       /* L1_MFN_VALID note present */
	uint64_t l1_mfn_valid_mask;
	uint64_t l1_mfn_valid_value;
	uint32_t f_supported;        /* XENFEAT_* bits the kernel supports */
	uint32_t f_required;         /* XENFEAT_* bits the kernel requires ('!') */
	char features[KIMAGE_FEATURES_MAX]; /* FEATURES note, NUL added */
	char loader[KIMAGE_NOTE_STR_MAX];
	char guest_os[KIMAGE_NOTE_STR_MAX];
	char guest_version[KIMAGE_NOTE_STR_MAX];
	char xen_version[KIMAGE_NOTE_STR_MAX];
	char pae_mode[KIMAGE_NOTE_STR_MAX];
	unsigned nr_xen_notes;       /* how many "Xen" notes were parsed */
	bool notes_from_sections;    /* found via SHT_NOTE fallback */
	/* The kernel's virtual range [virt_kstart, virt_kend). */
	uint64_t virt_kstart;
	uint64_t virt_kend;
};

/* One loadable ELF segment (PT_LOAD with any of R/W/X). */
struct kimage_seg {
	uint64_t paddr;
	uint64_t offset;     /* in kimage.elf */
	uint64_t filesz;
	uint64_t memsz;
};

struct kimage {
	uint8_t *elf;               /* the (decompressed) ELF64, owned */
	size_t   elf_size;
	char     format[48];        /* e.g. "bzImage(xz)", "ELF", "gzip(ELF)" */
	uint64_t e_entry;
	uint64_t pstart, pend;      /* physical range of the loadable segments */
	unsigned nr_segs;
	struct kimage_seg segs[KIMAGE_MAX_SEGS];
	struct xen_elf_info info;
};

/* Limits on untrusted input (decompression bombs, absurd segments). */
#define KIMAGE_MAX_FILE_SIZE   (256ull << 20)
#define KIMAGE_MAX_ELF_SIZE    (512ull << 20)
#define KIMAGE_MAX_KERNEL_SPAN (1ull << 30)

int  kimage_load(const char *path, struct kimage *img, char *err, size_t errlen);
/* Same from a buffer (copied; the caller keeps ownership of buf). */
int  kimage_load_mem(const void *buf, size_t len, struct kimage *img,
                     char *err, size_t errlen);
void kimage_free(struct kimage *img);

/* ---- layout and build ----------------------------------------------------- */

struct pv_build_params {
	uint32_t domid;
	uint32_t nr_vcpus;
	uint32_t store_evtchn;       /* 0 = no xenstore (Linux then XS_LOCAL) */
	uint32_t console_evtchn;     /* 0 = no PV console */
	uint64_t shared_info_maddr;  /* machine address of shared_info */
	const char *cmdline;         /* may be NULL; truncated to 1023 chars */
	const uint8_t *initrd;       /* may be NULL */
	size_t   initrd_len;
};

/* One page-table hierarchy covering one virtual area (libxc's "mapping"). */
struct pv_pt_level {
	uint64_t from, to;           /* VA range covered (inclusive end), 48-bit */
	uint64_t pfn;                /* first frame of this level's tables */
	uint64_t tables;             /* number of tables at this level */
};
struct pv_pt_mapping {
	struct pv_pt_level area;     /* the mapped area; pfn = its first frame */
	struct pv_pt_level lvl[4];   /* [0] = L1 ... [3] = L4 */
};

/* Where everything goes; computed by pv_layout() without touching memory. */
struct pv_layout {
	uint64_t nr_pages;
	uint64_t virt_base;
	uint64_t kernel_pfn, kernel_pages;
	uint64_t start_info_pfn, xenstore_pfn, console_pfn;
	uint64_t pt_pfn, pt_frames;            /* bootstrap tables, L4 first */
	uint64_t bootstack_pfn;
	uint64_t virt_pgtab_end;               /* end of the bootstrap mapping */
	bool     initrd_mapped;                /* no MOD_START_PFN: in mapping */
	uint64_t initrd_pfn, initrd_pages;     /* 0 pages = no initrd */
	uint64_t mod_start, mod_len;           /* start_info values */
	bool     p2m_in_kernel_map;            /* INIT_P2M absent/unusable */
	uint64_t p2m_va;                       /* mfn_list */
	uint64_t p2m_pfn, p2m_frames;          /* data + its page tables */
	uint64_t p2m_data_pages;
	uint64_t hypercall_pfn;                /* KIMAGE_UNSET if none */
	uint64_t pages_used;                   /* frames 0 .. pages_used-1 */
	unsigned nr_maps;
	struct pv_pt_mapping maps[2];
};

struct pv_build_result {
	uint64_t entry;              /* RIP */
	uint64_t stack;              /* RSP (top of the boot stack page) */
	uint64_t start_info_va;      /* RSI */
	uint64_t cr3;                /* l4_mfn << 12 */
	uint64_t l4_mfn;             /* to pin as L4 */
	uint64_t start_info_pfn;
	uint64_t store_mfn, console_mfn;
	uint64_t pt_first_pfn, pt_nr_frames;          /* bootstrap tables */
	uint64_t p2m_pt_first_pfn, p2m_pt_nr_frames;  /* p2m tables (0 if none) */
	uint64_t pages_used;
	bool     cmdline_truncated;
	struct pv_layout layout;
};

/* Compute the layout only (no memory written); for tools and tests. */
int pv_layout(const struct pv_build_params *p, const struct kimage *img,
              uint64_t nr_pages, struct pv_layout *out, char *err, size_t errlen);

/*
 * Build the domain into ram (nr_pages * 4096 bytes, guest frame 0 first):
 * every frame below result.pages_used is written (zeroed first); frames
 * above it are left untouched.  L4 slots 256-271 are left 0 for the
 * hypervisor to fill.
 */
int pv_build(const struct pv_build_params *p, const struct kimage *img,
             uint8_t *ram, uint64_t nr_pages, struct pv_build_result *out,
             char *err, size_t errlen);

/* Write Xen's 64-bit PV hypercall stubs into one 4 KiB page. */
void pv_hypercall_page_fill(uint8_t *page);

#endif
