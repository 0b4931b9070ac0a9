/*
 * The hypervisor area of a domain: its layout, page tables, IDT, GDT
 * templates and TSSs.  Everything here is written before any vCPU of the
 * domain runs, so host-side writes are safe (see x86.h).
 */
#include "arch/x86/x86.h"

#include <errno.h>
#include <string.h>

#include "common/common.h"
#include "xen/xen.h"

#define PAGE 4096ull
#define PTE_P  _PAGE_PRESENT
#define PTE_W  _PAGE_RW
#define PTE_U  _PAGE_USER
#define PTE_A  _PAGE_ACCESSED
#define PTE_D  _PAGE_DIRTY
#define PTE_PS _PAGE_PSE

extern const uint8_t kx_stubs_start[], kx_stubs_end[];
extern const uint8_t kx_stub_entry[], kx_stub_iret[], kx_stub_ptw[], kx_stub_ptw_sync[];

uint64_t hv_stub_iret(void) { return (uint64_t)(kx_stub_iret - kx_stubs_start); }
uint64_t hv_stub_ptw(void) { return (uint64_t)(kx_stub_ptw - kx_stubs_start); }
uint64_t hv_stub_ptw_sync(void) { return (uint64_t)(kx_stub_ptw_sync - kx_stubs_start); }
uint64_t hv_stub_entry(unsigned vector)
{
	return (uint64_t)(kx_stub_entry - kx_stubs_start) + 16ull * (vector & 255);
}

static uint64_t pages_for(uint64_t bytes) { return (bytes + PAGE - 1) / PAGE; }
static uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

#define VCPU_PAGES (1 + HV_STACK_PAGES + 1 + HV_GDT_PAGES + HV_LDT_PAGES)

void hv_vcpu_layout(const struct hv_layout *l, unsigned id, struct hv_vcpu_layout *v)
{
	uint64_t base = hv_vcpu_off(l, id);
	v->tss = base;
	v->stack = base + PAGE;
	v->scratch = v->stack + HV_STACK_PAGES * PAGE;
	v->gdt = v->scratch + PAGE;
	v->ldt = v->gdt + HV_GDT_PAGES * PAGE;
}

int hv_layout_compute(struct hv_layout *l, uint64_t ram_pages, unsigned max_vcpus)
{
	uint64_t data_pages, pt_pages, hv_pages, m2p_pages, prev = 0;

	if (ram_pages == 0 || ram_pages * PAGE > HV_MAX_RAM || max_vcpus == 0 ||
	    max_vcpus > XEN_LEGACY_MAX_VCPUS * 4)
		return -EINVAL;
	memset(l, 0, sizeof *l);
	l->max_vcpus = max_vcpus;
	l->m2p_bytes = ram_pages * 8;
	m2p_pages = pages_for(l->m2p_bytes);
	data_pages = pages_for((uint64_t)(kx_stubs_end - kx_stubs_start)) + 1 /* idt */ +
		     1 /* shared_info */ + HV_GRANT_FRAMES + (uint64_t)max_vcpus * VCPU_PAGES +
		     m2p_pages;
	/* The hypervisor area maps itself with 4K pages, so its page-table count
	 * depends on its own size: iterate to the fixed point. */
	pt_pages = 0;
	do {
		prev = pt_pages;
		hv_pages = data_pages + pt_pages;
		pt_pages = 3 /* L3s */ + div_up(l->m2p_bytes, 1ull << 30) + 1 /* hv L2 */ +
			   div_up(ram_pages * PAGE, 1ull << 30) + div_up(m2p_pages, 512) +
			   div_up(hv_pages, 512);
	} while (pt_pages != prev);
	if ((data_pages + pt_pages) * PAGE > (1ull << 30))
		return -E2BIG;

	l->pt_start = 0;
	l->pt_end = pt_pages * PAGE;
	l->stubs = l->pt_end;
	l->idt = l->stubs + pages_for((uint64_t)(kx_stubs_end - kx_stubs_start)) * PAGE;
	l->shared_info = l->idt + PAGE;
	l->grant = l->shared_info + PAGE;
	l->vcpu_base = l->grant + HV_GRANT_FRAMES * PAGE;
	l->vcpu_stride = VCPU_PAGES * PAGE;
	l->m2p = l->vcpu_base + (uint64_t)max_vcpus * l->vcpu_stride;
	l->size = l->m2p + m2p_pages * PAGE;
	return 0;
}

uint64_t x86_desc(uint32_t base, uint32_t limit, unsigned type, unsigned dpl, bool code64,
		  bool gran4k)
{
	uint64_t d = (limit & 0xffffull) | ((uint64_t)(base & 0xffffff) << 16) |
		     ((uint64_t)(type & 0xf) << 40) | (1ull << 44) /* S */ |
		     ((uint64_t)(dpl & 3) << 45) | (1ull << 47) /* P */ |
		     ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)(base >> 24) << 56);
	if (code64)
		d |= 1ull << 53;        /* L */
	else
		d |= 1ull << 54;        /* D/B */
	if (gran4k)
		d |= 1ull << 55;
	return d;
}

/* A page-table allocator over the hypervisor area's page-table pages. */
struct pt_alloc {
	uint8_t *hv;
	uint64_t next, end;
};

static uint64_t pt_take(struct pt_alloc *a)
{
	uint64_t off = a->next;
	a->next += PAGE;
	return off; /* hv_layout_compute sized the pool; overrun would be a bug */
}

static uint64_t *pt_at(struct pt_alloc *a, uint64_t off)
{
	return (uint64_t *)(a->hv + off);
}

/* Map [va, va+len) of one L4 slot to consecutive hv-area offsets. */
static void map_4k_range(struct pt_alloc *a, uint64_t l3_off, uint64_t va, uint64_t src_off,
			 uint64_t len, uint64_t flags, uint64_t upper)
{
	uint64_t *l3 = pt_at(a, l3_off);
	for (uint64_t done = 0; done < len; done += PAGE) {
		uint64_t v = va + done;
		unsigned i3 = (v >> 30) & 511, i2 = (v >> 21) & 511, i1 = (v >> 12) & 511;
		if (!(l3[i3] & PTE_P))
			l3[i3] = hv_gpa(pt_take(a)) | upper;
		uint64_t *l2 = pt_at(a, (l3[i3] & PTE_ADDR_MASK) - HV_GPA_BASE);
		if (!(l2[i2] & PTE_P))
			l2[i2] = hv_gpa(pt_take(a)) | upper;
		uint64_t *l1 = pt_at(a, (l2[i2] & PTE_ADDR_MASK) - HV_GPA_BASE);
		l1[i1] = hv_gpa(src_off + done) | flags;
	}
}

static void map_ram_2m(struct pt_alloc *a, uint64_t l3_off, uint64_t ram_bytes)
{
	uint64_t *l3 = pt_at(a, l3_off);
	for (uint64_t gpa = 0; gpa < ram_bytes; gpa += 1ull << 21) {
		unsigned i3 = (gpa >> 30) & 511, i2 = (gpa >> 21) & 511;
		if (!(l3[i3] & PTE_P))
			l3[i3] = hv_gpa(pt_take(a)) | PTE_P | PTE_W | PTE_A;
		uint64_t *l2 = pt_at(a, (l3[i3] & PTE_ADDR_MASK) - HV_GPA_BASE);
		l2[i2] = gpa | PTE_P | PTE_W | PTE_A | PTE_D | PTE_PS;
	}
}

static void write_idt(const struct hv_layout *l, uint8_t *hv)
{
	uint64_t *idt = (uint64_t *)(hv + l->idt);
	for (unsigned v = 0; v < 256; v++) {
		uint64_t h = hv_va(l->stubs + hv_stub_entry(v));
		/* Software-interrupt vectors a PV guest may raise with `int n`
		 * from CPL3 directly; all others give #GP and are checked
		 * against the guest's trap table. */
		unsigned dpl = (v == 3 || v == 4 || v == 0x80) ? 3 : 0;
		/* #DB gets its own stack: after MOV SS it can hit a stub whose
		 * entry frame is still on IST1 (CVE-2018-8897). */
		uint64_t ist = v == 1 ? 2 : 1;
		idt[2 * v] = (h & 0xffff) | ((uint64_t)0xe008 << 16) | (ist << 32) |
			     ((uint64_t)(0x8e | (dpl << 5)) << 40) | (((h >> 16) & 0xffff) << 48);
		idt[2 * v + 1] = h >> 32;
	}
}

/* The hypervisor-reserved GDT page of one vCPU (entries from 7168 on). */
static void write_reserved_gdt(const struct hv_layout *l, uint8_t *hv, unsigned id)
{
	struct hv_vcpu_layout v;
	hv_vcpu_layout(l, id, &v);
	uint64_t *gdt = (uint64_t *)(hv + v.gdt + FIRST_RESERVED_GDT_BYTE);
	uint64_t tss = hv_va(v.tss);
	gdt[1] = x86_desc(0, 0xfffff, 0xb, 0, true, true);   /* 0xe008 CPL0 code */
	gdt[2] = x86_desc(0, 0xfffff, 0x3, 0, false, true);  /* 0xe010 CPL0 data */
	gdt[4] = x86_desc(0, 0xfffff, 0xb, 3, false, true);  /* 0xe023 CS32 */
	gdt[5] = x86_desc(0, 0xfffff, 0x3, 3, false, true);  /* 0xe02b DS/SS */
	gdt[6] = x86_desc(0, 0xfffff, 0xb, 3, true, true);   /* 0xe033 CS64 */
	/* 64-bit available TSS, 16 bytes. */
	gdt[8] = (103ull & 0xffff) | ((tss & 0xffffff) << 16) | (0x89ull << 40) |
		 (((tss >> 24) & 0xff) << 56);
	gdt[9] = tss >> 32;
	uint8_t *t = hv + v.tss;
	uint64_t stack_top = hv_va(v.stack + HV_STACK_PAGES * PAGE);
	memcpy(t + 4, &stack_top, 8);    /* rsp0 */
	memcpy(t + 36, &stack_top, 8);   /* ist1 */
	uint64_t db_top = hv_va(v.stack + HV_DB_STACK_TOP);
	memcpy(t + 44, &db_top, 8);      /* ist2: #DB */
	uint16_t iomap = 104;            /* no I/O bitmap: every port faults */
	memcpy(t + 102, &iomap, 2);
}

void hv_area_init(struct hv_layout *l, uint8_t *hv, uint64_t ram_pages)
{
	struct pt_alloc a = { .hv = hv, .next = l->pt_start, .end = l->pt_end };
	uint64_t l3_m2p = pt_take(&a), l3_hv = pt_take(&a), l3_dmap = pt_take(&a);

	memcpy(hv + l->stubs, kx_stubs_start, (size_t)(kx_stubs_end - kx_stubs_start));
	write_idt(l, hv);
	for (unsigned i = 0; i < l->max_vcpus; i++)
		write_reserved_gdt(l, hv, i);

	/* M2P: identity (MFN == PFN); read-only and user-readable like Xen's. */
	uint64_t *m2p = (uint64_t *)(hv + l->m2p);
	for (uint64_t mfn = 0; mfn < ram_pages; mfn++)
		m2p[mfn] = mfn;
	map_4k_range(&a, l3_m2p, HV_M2P_VA, l->m2p, ALIGN_UP(l->m2p_bytes, PAGE),
		     PTE_P | PTE_U | PTE_A, PTE_P | PTE_W | PTE_U | PTE_A);
	map_4k_range(&a, l3_hv, HV_AREA_VA, 0, l->size, PTE_P | PTE_W | PTE_A | PTE_D,
		     PTE_P | PTE_W | PTE_A);
	map_ram_2m(&a, l3_dmap, ram_pages * PAGE);

	l->l4e[0] = hv_gpa(l3_m2p) | PTE_P | PTE_W | PTE_U | PTE_A;
	l->l4e[1] = hv_gpa(l3_hv) | PTE_P | PTE_W | PTE_A;
	l->l4e[2] = hv_gpa(l3_dmap) | PTE_P | PTE_W | PTE_A;
}
