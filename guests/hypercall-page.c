/*
 * hypercall-page: the HYPERCALL_PAGE ELF note (Linux <= 6.1.120 style).
 *
 * The image carries a page of `ret` + int3 placeholders; the builder must
 * replace the slots with stubs (mov $nr,%eax; syscall; ...) at nr*32.  We
 * first inspect the slots without any hypercall (an unfilled page would
 * make every call through it silently return garbage), then switch the
 * library to call through the page and repeat hello's checks, and take
 * an int3 whose return uses the page's iret slot (23).  Until the switch,
 * output goes through direct `syscall`s so a failure can still be told.
 */
#include "guest.h"

const char test_name[] = "hypercall-page";

extern uint8_t hypercall_page[];

/* Does the slot hold `mov $nr,%eax` and a `syscall`? */
static const char *slot_problem(unsigned nr)
{
	const uint8_t *s = hypercall_page + nr * 32;
	bool mov = false, sc = false;

	if (s[0] == 0xc3)
		return "still the ret placeholder (page not filled)";
	for (unsigned i = 0; i + 1 < 32; i++) {
		if (i + 5 <= 32 && s[i] == 0xb8 && s[i + 1] == nr && s[i + 2] == 0 &&
		    s[i + 3] == 0 && s[i + 4] == 0)
			mov = true;
		if (s[i] == 0x0f && s[i + 1] == 0x05)
			sc = true;
	}
	if (!mov)
		return "no `mov $nr, %eax` in the slot";
	if (!sc)
		return "no `syscall` in the slot";
	return NULL;
}

static void dump_slot(unsigned nr)
{
	const uint8_t *s = hypercall_page + nr * 32;

	printk("hypercall-page: slot %2u:", nr);
	for (unsigned i = 0; i < 16; i++)
		printk(" %02x", s[i]);
	printk("\n");
}

static uint64_t int3_handler(struct trap_frame *f)
{
	(void)f;
	return 0;
}

void test_main(void)
{
	static const unsigned used[] = {
		__HYPERVISOR_set_trap_table, __HYPERVISOR_xen_version,
		__HYPERVISOR_console_io, __HYPERVISOR_iret, __HYPERVISOR_sched_op,
	};
	struct xen_feature_info fi = { .submap_idx = 0 };
	char extra[16];
	long v_page, v_direct, rc;
	uint64_t traps;

	printk("hypercall-page: page at %p\n", (void *)hypercall_page);
	for (unsigned i = 0; i < ARRAY_SIZE(used); i++) {
		const char *why = slot_problem(used[i]);

		dump_slot(used[i]);
		if (why)
			test_fail("hypercall page slot %u: %s", used[i], why);
	}

	hypercall_via_page = 1;
	printk("hypercall-page: now calling through the page\n");

	v_page = HYPERVISOR_xen_version(XENVER_version, NULL);
	v_direct = hypercall_direct(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0);
	EXPECT_EQ(v_page, v_direct);
	CHECK(v_page > 0, "xen_version via page returned %ld", v_page);

	memset(extra, 0x5a, sizeof(extra));
	rc = HYPERVISOR_xen_version(XENVER_extraversion, extra);
	EXPECT_EQ(rc, 0);
	CHECK(strnlen(extra, sizeof(extra)) < sizeof(extra),
	      "extraversion is not NUL-terminated within 16 bytes");

	rc = HYPERVISOR_xen_version(XENVER_get_features, &fi);
	EXPECT_EQ(rc, 0);
	CHECK((fi.submap & 0xa0) == 0xa0, "features 5 and 7 missing: %#x", fi.submap);

	/* An exception handler returns with the page's iret slot. */
	traps_init();
	trap_set_handler(3, int3_handler);
	traps = last_trap.count;
	__asm__ __volatile__("int3" ::: "memory");
	EXPECT_EQ(last_trap.count, traps + 1);
	printk("hypercall-page: int3 returned through slot 23\n");
}
