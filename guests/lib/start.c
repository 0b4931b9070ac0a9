/*
 * Start of day, the PASS/FAIL protocol, shared_info and frame numbers.
 */
#include "guest.h"

struct start_info *start_info;
struct shared_info *shared_info;
unsigned long checks_passed;

/* The page shared_info is mapped over (its original frame is abandoned). */
static uint8_t shared_info_page[PAGE_SIZE] PAGE_ALIGNED;

_Noreturn void lib_start(struct start_info *si);

_Noreturn void lib_start(struct start_info *si)
{
	start_info = si;
	printk("%s: start (start_info %p, magic \"%.32s\", %lu pages)\n",
	       test_name, (void *)si, si->magic, (unsigned long)si->nr_pages);
	if (memcmp(si->magic, "xen-3.0-x86_64", 14) != 0)
		test_fail("start_info magic is not xen-3.0-x86_64");
	test_main();
	test_pass();
}

_Noreturn void poweroff(void)
{
	struct sched_shutdown sd = { .reason = SHUTDOWN_poweroff };
	long rc = HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);

	/* Still here: say so, and try the crash path the runner also sees. */
	printk("%s: SCHEDOP_shutdown(poweroff) returned %ld\n", test_name, rc);
	sd.reason = SHUTDOWN_crash;
	HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
	for (;;)
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
}

_Noreturn void test_pass(void)
{
	printk("kxen-test: PASS %s\n", test_name);
	poweroff();
}

_Noreturn void test_fail(const char *fmt, ...)
{
	static int failing;
	va_list ap;

	if (failing++)  /* a fault while reporting a failure */
		poweroff();
	printk("kxen-test: FAIL %s: ", test_name);
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
	printk("\n");
	poweroff();
}

long map_shared_info(void)
{
	uint64_t maddr = start_info->shared_info & PTE_ADDR_MASK;
	uint64_t pte = maddr | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
	long rc;

	if (shared_info)
		return 0;
	rc = HYPERVISOR_update_va_mapping((unsigned long)shared_info_page, pte,
	                                  UVMF_INVLPG);
	if (rc == 0)
		shared_info = (struct shared_info *)shared_info_page;
	return rc;
}

void need_shared_info(void)
{
	long rc = map_shared_info();

	if (rc)
		test_fail("update_va_mapping of shared_info (maddr %#lx) failed: %ld",
		          (unsigned long)start_info->shared_info, rc);
}

uint64_t va_to_pfn(const void *va)
{
	return ((uintptr_t)va - GUEST_VIRT_BASE) >> 12;
}

uint64_t pfn_to_mfn(uint64_t pfn)
{
	return ((const uint64_t *)start_info->mfn_list)[pfn];
}

uint64_t va_to_mfn(const void *va)
{
	return pfn_to_mfn(va_to_pfn(va));
}

void *pfn_to_va(uint64_t pfn)
{
	return (void *)(GUEST_VIRT_BASE + (pfn << 12));
}

int64_t mfn_to_pfn(uint64_t mfn)
{
	const uint64_t *p2m = (const uint64_t *)start_info->mfn_list;

	for (uint64_t pfn = 0; pfn < start_info->nr_pages; pfn++)
		if (p2m[pfn] == mfn)
			return (int64_t)pfn;
	return -1;
}

long mmuext_one(unsigned cmd, uint64_t arg1, uint64_t arg2)
{
	struct mmuext_op op = { .cmd = cmd };

	op.arg1.mfn = arg1;
	op.arg2.vcpumask = arg2;
	return HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
}
