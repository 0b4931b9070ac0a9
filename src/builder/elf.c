/*
 * ELF64 parsing and Xen note collection for PV kernels.
 *
 * The rules follow Xen's libelf (xen/common/libelf/libelf-dominfo.c and
 * libelf-loader.c) and libxc's xg_dom_elfloader.c / xg_dom_core.c so that an
 * image Xen accepts is accepted here, and vice versa, with one difference:
 * every header, segment and note is bounds-checked up front and anything
 * inconsistent is refused (libelf instead tolerates and clamps).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder-priv.h"
#include "xen/elfnote.h"
#include "xen/xen.h"

/* ELF64 constants and layout (offsets, little-endian only). */
#define EI_CLASS       4
#define EI_DATA        5
#define EI_VERSION     6
#define ELFCLASS64     2
#define ELFDATA2LSB    1
#define ET_EXEC        2
#define EM_X86_64      62
#define PT_LOAD        1
#define PT_NOTE        4
#define PF_X           1
#define PF_W           2
#define PF_R           4
#define SHT_NOTE       7
#define EHDR_SIZE      64
#define PHDR_SIZE      56
#define SHDR_SIZE      64

/* libelf's ELF_MAX_TOTAL_NOTE_COUNT: bounds the work on hostile images. */
#define MAX_TOTAL_NOTES 2048

struct elf_view {
	const uint8_t *p;
	size_t size;
};

struct phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

static void read_phdr(const uint8_t *h, struct phdr *ph)
{
	ph->type = get_le32(h + 0);
	ph->flags = get_le32(h + 4);
	ph->offset = get_le64(h + 8);
	ph->vaddr = get_le64(h + 16);
	ph->paddr = get_le64(h + 24);
	ph->filesz = get_le64(h + 32);
	ph->memsz = get_le64(h + 40);
	ph->align = get_le64(h + 48);
}

/* True when [off, off+len) lies inside the file, without overflow. */
static bool range_in_file(const struct elf_view *v, uint64_t off, uint64_t len)
{
	return off <= v->size && len <= v->size - off;
}

/* ---- ELF header ---------------------------------------------------------- */

struct ehdr_info {
	uint64_t entry, phoff, shoff;
	uint16_t phnum, shnum;
};

static int check_ehdr(const struct elf_view *v, struct ehdr_info *eh,
                      char *err, size_t errlen)
{
	const uint8_t *p = v->p;
	if (v->size < EHDR_SIZE || memcmp(p, "\177ELF", 4) != 0)
		return builder_err(err, errlen, -ENOEXEC, "ELF: file too small or bad magic");
	if (p[EI_CLASS] != ELFCLASS64)
		return builder_err(err, errlen, -ENOEXEC, "ELF: not a 64-bit ELF (class %u)",
		                   p[EI_CLASS]);
	if (p[EI_DATA] != ELFDATA2LSB)
		return builder_err(err, errlen, -ENOEXEC, "ELF: not little-endian");
	if (p[EI_VERSION] != 1)
		return builder_err(err, errlen, -ENOEXEC, "ELF: bad ident version %u",
		                   p[EI_VERSION]);
	uint16_t type = get_le16(p + 16), machine = get_le16(p + 18);
	if (type != ET_EXEC)
		return builder_err(err, errlen, -ENOEXEC, "ELF: type %u is not ET_EXEC", type);
	if (machine != EM_X86_64)
		return builder_err(err, errlen, -ENOEXEC, "ELF: machine %u is not x86-64",
		                   machine);
	eh->entry = get_le64(p + 24);
	eh->phoff = get_le64(p + 32);
	eh->shoff = get_le64(p + 40);
	uint16_t phentsize = get_le16(p + 54), shentsize = get_le16(p + 58);
	eh->phnum = get_le16(p + 56);
	eh->shnum = get_le16(p + 60);
	if (eh->phnum == 0)
		return builder_err(err, errlen, -ENOEXEC, "ELF: no program headers");
	if (phentsize != PHDR_SIZE)
		return builder_err(err, errlen, -ENOEXEC, "ELF: e_phentsize %u, expected %u",
		                   phentsize, PHDR_SIZE);
	if (!range_in_file(v, eh->phoff, (uint64_t)eh->phnum * PHDR_SIZE))
		return builder_err(err, errlen, -ENOEXEC,
		                   "ELF: program headers (%u at %#llx) extend beyond the file",
		                   eh->phnum, (unsigned long long)eh->phoff);
	/* Section headers only serve the SHT_NOTE fallback; bad ones are refused
	 * like libelf does, absent ones (shnum 0) are fine. */
	if (eh->shnum) {
		if (shentsize != SHDR_SIZE)
			return builder_err(err, errlen, -ENOEXEC,
			                   "ELF: e_shentsize %u, expected %u", shentsize, SHDR_SIZE);
		if (!range_in_file(v, eh->shoff, (uint64_t)eh->shnum * SHDR_SIZE))
			return builder_err(err, errlen, -ENOEXEC,
			                   "ELF: section headers extend beyond the file");
	}
	return 0;
}

/* ---- loadable segments ---------------------------------------------------- */

static bool phdr_is_loadable(const struct phdr *ph)
{
	return ph->type == PT_LOAD && (ph->flags & (PF_R | PF_W | PF_X)) != 0;
}

static int check_load_segment(const struct elf_view *v, unsigned i, const struct phdr *ph,
                              char *err, size_t errlen)
{
	if (ph->filesz > ph->memsz)
		return builder_err(err, errlen, -ENOEXEC,
		                   "ELF: segment %u: filesz %#llx > memsz %#llx", i,
		                   (unsigned long long)ph->filesz, (unsigned long long)ph->memsz);
	if (!range_in_file(v, ph->offset, ph->filesz))
		return builder_err(err, errlen, -ENOEXEC,
		                   "ELF: segment %u (offset %#llx, size %#llx) beyond the file", i,
		                   (unsigned long long)ph->offset, (unsigned long long)ph->filesz);
	if (ph->memsz > KIMAGE_MAX_KERNEL_SPAN || ph->paddr > UINT64_MAX - ph->memsz)
		return builder_err(err, errlen, -ENOEXEC,
		                   "ELF: segment %u: memsz %#llx at paddr %#llx is too large", i,
		                   (unsigned long long)ph->memsz, (unsigned long long)ph->paddr);
	return 0;
}

static bool segs_overlap(const struct kimage_seg *a, const struct kimage_seg *b)
{
	return a->memsz && b->memsz && a->paddr < b->paddr + b->memsz &&
	       b->paddr < a->paddr + a->memsz;
}

/* Collects PT_LOAD segments; pstart/pend as libelf's elf_parse_binary. */
static int collect_segments(const struct elf_view *v, const struct ehdr_info *eh,
                            struct kimage *img, char *err, size_t errlen)
{
	uint64_t low = UINT64_MAX, high = 0;
	img->nr_segs = 0;
	for (unsigned i = 0; i < eh->phnum; i++) {
		struct phdr ph;
		read_phdr(v->p + eh->phoff + (uint64_t)i * PHDR_SIZE, &ph);
		if (!phdr_is_loadable(&ph))
			continue;
		int rc = check_load_segment(v, i, &ph, err, errlen);
		if (rc < 0)
			return rc;
		if (img->nr_segs == KIMAGE_MAX_SEGS)
			return builder_err(err, errlen, -ENOEXEC,
			                   "ELF: more than %u loadable segments", KIMAGE_MAX_SEGS);
		struct kimage_seg *s = &img->segs[img->nr_segs];
		*s = (struct kimage_seg){ ph.paddr, ph.offset, ph.filesz, ph.memsz };
		for (unsigned j = 0; j < img->nr_segs; j++)
			if (segs_overlap(s, &img->segs[j]))
				return builder_err(err, errlen, -ENOEXEC,
				                   "ELF: loadable segments overlap at paddr %#llx",
				                   (unsigned long long)s->paddr);
		img->nr_segs++;
		if (low > ph.paddr)
			low = ph.paddr;
		if (high < ph.paddr + ph.memsz)
			high = ph.paddr + ph.memsz;
	}
	if (img->nr_segs == 0)
		return builder_err(err, errlen, -ENOEXEC, "ELF: no loadable segment");
	if (high - low > KIMAGE_MAX_KERNEL_SPAN)
		return builder_err(err, errlen, -ENOEXEC,
		                   "ELF: kernel spans %#llx bytes (max %#llx)",
		                   (unsigned long long)(high - low), KIMAGE_MAX_KERNEL_SPAN);
	img->pstart = low;
	img->pend = high;
	return 0;
}

/* ---- Xen features string --------------------------------------------------- */

static const char *const xen_feature_names[] = {
	[XENFEAT_writable_page_tables] = "writable_page_tables",
	[XENFEAT_writable_descriptor_tables] = "writable_descriptor_tables",
	[XENFEAT_auto_translated_physmap] = "auto_translated_physmap",
	[XENFEAT_supervisor_mode_kernel] = "supervisor_mode_kernel",
	[XENFEAT_pae_pgdir_above_4gb] = "pae_pgdir_above_4gb",
	[XENFEAT_hvm_callback_vector] = "hvm_callback_vector",
	[XENFEAT_dom0] = "dom0",
};
#define NR_FEATURE_NAMES (sizeof(xen_feature_names) / sizeof(xen_feature_names[0]))

static int feature_by_name(const char *name, size_t len)
{
	for (unsigned i = 0; i < NR_FEATURE_NAMES; i++) {
		const char *n = xen_feature_names[i];
		if (n && strlen(n) == len && memcmp(n, name, len) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * "a|!b|c": every name is supported, a leading '!' also makes it required
 * (libelf's elf_xen_parse_features).  Unknown supported names are ignored;
 * an unknown required name makes libelf reject the image, so we do too.
 */
static int parse_features(const char *s, size_t len, struct xen_elf_info *xi,
                          char *err, size_t errlen)
{
	size_t pos = 0;
	while (pos < len) {
		size_t end = pos;
		while (end < len && s[end] != '|')
			end++;
		const char *tok = s + pos;
		size_t tlen = end - pos;
		bool required = tlen > 0 && tok[0] == '!';
		if (required) {
			tok++;
			tlen--;
		}
		int bit = feature_by_name(tok, tlen);
		if (bit >= 0) {
			xi->f_supported |= 1u << bit;
			if (required)
				xi->f_required |= 1u << bit;
		} else if (required) {
			return builder_err(err, errlen, -ENOEXEC,
			                   "Xen notes: kernel requires unknown feature '%.*s'",
			                   (int)(tlen > 64 ? 64 : tlen), tok);
		}
		pos = end + 1;
	}
	return 0;
}

/* ---- notes ---------------------------------------------------------------- */

struct note {
	uint32_t type;
	const uint8_t *name;
	uint32_t namesz;
	const uint8_t *desc;
	uint32_t descsz;
};

/* libelf's elf_note_numeric: 1, 2, 4 or 8 byte little-endian value. */
static uint64_t note_numeric(const struct note *n)
{
	switch (n->descsz) {
	case 1: return n->desc[0];
	case 2: return get_le16(n->desc);
	case 4: return get_le32(n->desc);
	case 8: return get_le64(n->desc);
	default: return 0;
	}
}

/* Copies a note string (NUL not required inside the note) into dst. */
static void note_string(const struct note *n, char *dst, size_t dstlen)
{
	size_t len = strnlen((const char *)n->desc, n->descsz);
	if (len >= dstlen)
		len = dstlen - 1;
	memcpy(dst, n->desc, len);
	dst[len] = '\0';
}

struct note_state {
	struct xen_elf_info *xi;
	bool has_virt_base, has_paddr_offset, has_entry;
	unsigned total;
};

static int apply_xen_note(struct note_state *st, const struct note *n,
                          char *err, size_t errlen)
{
	struct xen_elf_info *xi = st->xi;
	uint64_t val = note_numeric(n);

	switch (n->type) {
	case XEN_ELFNOTE_ENTRY:          xi->entry = val; st->has_entry = true; break;
	case XEN_ELFNOTE_HYPERCALL_PAGE: xi->hypercall_page = val; break;
	case XEN_ELFNOTE_VIRT_BASE:      xi->virt_base = val; st->has_virt_base = true; break;
	case XEN_ELFNOTE_PADDR_OFFSET:
		xi->paddr_offset = val;
		st->has_paddr_offset = true;
		break;
	case XEN_ELFNOTE_INIT_P2M:       xi->init_p2m = val; break;
	case XEN_ELFNOTE_HV_START_LOW:   xi->hv_start_low = val; break;
	case XEN_ELFNOTE_PHYS32_ENTRY:   xi->phys32_entry = val; break;
	case XEN_ELFNOTE_MOD_START_PFN:  xi->mod_start_pfn = val != 0; break;
	case XEN_ELFNOTE_SUSPEND_CANCEL: xi->suspend_cancel = val; break;
	case XEN_ELFNOTE_XEN_VERSION:
		note_string(n, xi->xen_version, sizeof(xi->xen_version));
		break;
	case XEN_ELFNOTE_GUEST_OS:
		note_string(n, xi->guest_os, sizeof(xi->guest_os));
		break;
	case XEN_ELFNOTE_GUEST_VERSION:
		note_string(n, xi->guest_version, sizeof(xi->guest_version));
		break;
	case XEN_ELFNOTE_LOADER:
		note_string(n, xi->loader, sizeof(xi->loader));
		break;
	case XEN_ELFNOTE_PAE_MODE:
		note_string(n, xi->pae_mode, sizeof(xi->pae_mode));
		break;
	case XEN_ELFNOTE_FEATURES:
		/* Linux emits this with .ascii: no NUL, the length is descsz. */
		note_string(n, xi->features, sizeof(xi->features));
		return parse_features((const char *)n->desc,
		                      strnlen((const char *)n->desc, n->descsz), xi, err, errlen);
	case XEN_ELFNOTE_SUPPORTED_FEATURES:
		if (n->descsz >= 4)
			xi->f_supported |= get_le32(n->desc);
		break;
	case XEN_ELFNOTE_L1_MFN_VALID:
		/* mask/value pairs of maddr_t; the first pair is what matters. */
		xi->l1_mfn_valid = true;
		if (n->descsz >= 16) {
			xi->l1_mfn_valid_mask = get_le64(n->desc);
			xi->l1_mfn_valid_value = get_le64(n->desc + 8);
		} else {
			xi->l1_mfn_valid_mask = val;
		}
		break;
	default:
		return 0;  /* unknown notes are ignored, as libelf does */
	}
	xi->nr_xen_notes++;
	return 0;
}

static uint64_t align4(uint64_t x)
{
	return (x + 3) & ~3ull;
}

/*
 * Walks the notes in [off, off+len) of the file.  Each note is a 12-byte
 * header, the name and the descriptor, each padded to 4 bytes; sizes are
 * checked against the region before anything is read.
 */
static int parse_note_region(const struct elf_view *v, uint64_t off, uint64_t len,
                             struct note_state *st, unsigned *found,
                             char *err, size_t errlen)
{
	if (!range_in_file(v, off, len))
		return builder_err(err, errlen, -ENOEXEC,
		                   "ELF: note area (%#llx + %#llx) beyond the file",
		                   (unsigned long long)off, (unsigned long long)len);
	uint64_t pos = 0;
	*found = 0;
	while (len - pos >= 12) {
		if (++st->total > MAX_TOTAL_NOTES)
			return builder_err(err, errlen, -ENOEXEC, "ELF: more than %u notes",
			                   MAX_TOTAL_NOTES);
		const uint8_t *h = v->p + off + pos;
		struct note n = { .namesz = get_le32(h), .descsz = get_le32(h + 4),
		                  .type = get_le32(h + 8) };
		uint64_t name_sp = align4(n.namesz), desc_sp = align4(n.descsz);
		uint64_t avail = len - pos - 12;
		if (name_sp > avail || desc_sp > avail - name_sp)
			return builder_err(err, errlen, -ENOEXEC,
			                   "ELF: note at %#llx (namesz %u, descsz %u) overruns its area",
			                   (unsigned long long)(off + pos), n.namesz, n.descsz);
		n.name = h + 12;
		n.desc = h + 12 + name_sp;
		pos += 12 + name_sp + desc_sp;
		/* Name "Xen" with its NUL: namesz 4 (3 tolerated). */
		if ((n.namesz == 4 && memcmp(n.name, "Xen", 4) == 0) ||
		    (n.namesz == 3 && memcmp(n.name, "Xen", 3) == 0)) {
			int rc = apply_xen_note(st, &n, err, errlen);
			if (rc < 0)
				return rc;
			(*found)++;
		}
	}
	return 0;
}

/* Xen notes from PT_NOTE segments, else from SHT_NOTE sections. */
static int collect_notes(const struct elf_view *v, const struct ehdr_info *eh,
                         struct note_state *st, char *err, size_t errlen)
{
	unsigned total = 0, found;
	for (unsigned i = 0; i < eh->phnum; i++) {
		struct phdr ph;
		read_phdr(v->p + eh->phoff + (uint64_t)i * PHDR_SIZE, &ph);
		/* Some binutils leave p_offset 0 on note segments (libelf skips). */
		if (ph.type != PT_NOTE || ph.offset == 0)
			continue;
		int rc = parse_note_region(v, ph.offset, ph.filesz, st, &found, err, errlen);
		if (rc < 0)
			return rc;
		total += found;
	}
	if (total > 0)
		return 0;
	for (unsigned i = 1; i < eh->shnum; i++) {
		const uint8_t *sh = v->p + eh->shoff + (uint64_t)i * SHDR_SIZE;
		if (get_le32(sh + 4) != SHT_NOTE)
			continue;
		int rc = parse_note_region(v, get_le64(sh + 24), get_le64(sh + 32), st, &found,
		                           err, errlen);
		if (rc < 0)
			return rc;
		total += found;
	}
	st->xi->notes_from_sections = total > 0;
	if (total == 0)
		return builder_err(err, errlen, -ENOEXEC,
		                   "not a Xen PV kernel: no \"Xen\" ELF notes found");
	return 0;
}

/* ---- validation (libelf's elf_xen_note_check / elf_xen_addr_calc_check) --- */

static int check_note_contents(const struct xen_elf_info *xi, char *err, size_t errlen)
{
	if (strncmp(xi->loader, "generic", 7) != 0 && strncmp(xi->guest_os, "linux", 5) != 0)
		return builder_err(err, errlen, -ENOEXEC,
		                   "Xen notes: will only load images built for the generic "
		                   "loader or Linux (LOADER '%s', GUEST_OS '%s')",
		                   xi->loader, xi->guest_os);
	if (strncmp(xi->xen_version, "xen-3.0", 7) != 0)
		return builder_err(err, errlen, -ENOEXEC,
		                   "Xen notes: XEN_VERSION '%s' is not xen-3.0", xi->xen_version);
	return 0;
}

/*
 * Feature policy for a PV domU, as Xen's toolstack applies it: libxc only
 * checks required ⊆ supported (always true after parsing), refuses dom0-only
 * kernels (xg_dom_elfloader.c) and auto-translated PV (bootearly), and Xen
 * refuses supervisor_mode_kernel.  Linux 6.1 says "!writable_page_tables";
 * Xen does not offer that feature to PV guests either and still boots it,
 * so a required writable_page_tables is accepted here as in Xen.
 */
static int check_features(const struct xen_elf_info *xi, char *err, size_t errlen)
{
	static const struct { int bit; const char *why; } refused[] = {
		{ XENFEAT_dom0, "kernel does not support unprivileged (domU) operation" },
		{ XENFEAT_auto_translated_physmap, "auto-translated PV guests are not supported" },
		{ XENFEAT_supervisor_mode_kernel, "supervisor_mode_kernel is not supported" },
	};
	for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (xi->f_required & (1u << refused[i].bit))
			return builder_err(err, errlen, -EOPNOTSUPP, "Xen notes: %s",
			                   refused[i].why);
	return 0;
}

static int check_addresses(struct kimage *img, const struct note_state *st,
                           char *err, size_t errlen)
{
	struct xen_elf_info *xi = &img->info;
	if (st->has_paddr_offset && !st->has_virt_base)
		return builder_err(err, errlen, -ENOEXEC,
		                   "Xen notes: PADDR_OFFSET set, VIRT_BASE unset");
	if (!st->has_virt_base)
		xi->virt_base = 0;
	if (!st->has_paddr_offset)
		xi->paddr_offset = 0;
	if (!st->has_entry)
		xi->entry = img->e_entry;
	/* Modular arithmetic, as libelf: VIRT_BASE - PADDR_OFFSET may wrap. */
	uint64_t virt_offset = xi->virt_base - xi->paddr_offset;
	xi->virt_kstart = img->pstart + virt_offset;
	xi->virt_kend = img->pend + virt_offset;
	if (xi->virt_kstart > xi->virt_kend)
		return builder_err(err, errlen, -ENOEXEC,
		                   "Xen notes: kernel range wraps around the address space");
	if (xi->entry < xi->virt_kstart || xi->entry >= xi->virt_kend)
		return builder_err(err, errlen, -ENOEXEC,
		                   "Xen notes: entry %#llx outside the kernel [%#llx, %#llx)",
		                   (unsigned long long)xi->entry,
		                   (unsigned long long)xi->virt_kstart,
		                   (unsigned long long)xi->virt_kend);
	if (xi->virt_base > xi->virt_kstart)
		return builder_err(err, errlen, -ENOEXEC,
		                   "Xen notes: VIRT_BASE %#llx above the kernel start %#llx",
		                   (unsigned long long)xi->virt_base,
		                   (unsigned long long)xi->virt_kstart);
	if (xi->init_p2m != KIMAGE_UNSET && xi->init_p2m >= xi->virt_kstart &&
	    xi->init_p2m < xi->virt_kend)
		return builder_err(err, errlen, -ENOEXEC,
		                   "Xen notes: INIT_P2M %#llx inside the kernel",
		                   (unsigned long long)xi->init_p2m);
	if (xi->hypercall_page &&
	    (xi->hypercall_page < xi->virt_kstart || xi->hypercall_page >= xi->virt_kend))
		return builder_err(err, errlen, -ENOEXEC,
		                   "Xen notes: HYPERCALL_PAGE %#llx outside the kernel",
		                   (unsigned long long)xi->hypercall_page);
	return 0;
}

int kimage_parse_elf(struct kimage *img, char *err, size_t errlen)
{
	struct elf_view v = { img->elf, img->elf_size };
	struct ehdr_info eh = { 0 };
	int rc = check_ehdr(&v, &eh, err, errlen);
	if (rc < 0)
		return rc;
	img->e_entry = eh.entry;
	rc = collect_segments(&v, &eh, img, err, errlen);
	if (rc < 0)
		return rc;

	struct xen_elf_info *xi = &img->info;
	memset(xi, 0, sizeof(*xi));
	xi->init_p2m = KIMAGE_UNSET;
	xi->hv_start_low = KIMAGE_UNSET;
	xi->phys32_entry = KIMAGE_UNSET;
	struct note_state st = { .xi = xi };
	rc = collect_notes(&v, &eh, &st, err, errlen);
	if (rc < 0)
		return rc;
	rc = check_note_contents(xi, err, errlen);
	if (rc < 0)
		return rc;
	rc = check_features(xi, err, errlen);
	if (rc < 0)
		return rc;
	return check_addresses(img, &st, err, errlen);
}
