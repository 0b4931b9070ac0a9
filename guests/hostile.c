/*
 * hostile: a guest that passes garbage to every hypercall it knows.
 *
 * Nothing here may take down anything but this domain, and nothing before
 * the last step may take down even this domain:
 *   - unknown hypercall numbers -> -ENOSYS;
 *   - every pointer argument pointed at the hypervisor hole
 *     (0xffff800000000000..0xffff87ffffffffff), at non-canonical and at
 *     unmapped addresses -> -EFAULT (-ENOSYS where a stub is allowed);
 *   - out-of-range ports, vCPUs, VIRQs, frames -> an error;
 *   - huge counts for mmu_update / mmuext_op / multicall running into an
 *     unmapped page -> an error after partial progress, not a hang;
 *   - a trap table in garbage memory; afterwards the real table still works.
 * It then prints "hostile: survived N checks" and finally does
 * HYPERVISOR_iret with its stack in unmapped memory: that must crash this
 * domain (runner exit status 1).  If the iret returns we print FAIL.
 */
#include "guest.h"

const char test_name[] = "hostile";

static const uint64_t bad_ptrs[] = {
	0xffff800000000000ull,   /* start of the hypervisor hole (M2P in Xen) */
	0xffff830000000000ull,   /* the middle of the hole */
	0xffff87fffffff000ull,   /* its last page */
	0x0000800000000000ull,   /* first non-canonical */
	0x8000000000000000ull,   /* non-canonical */
	0xfffffffffffff000ull,   /* unmapped top of the kernel half */
	0x0000000000010000ull,   /* unmapped low half */
};

/* Two pages: `filled` is mapped, `hole` is unmapped by test_main. */
static struct {
	uint8_t filled[PAGE_SIZE];
	uint8_t hole[PAGE_SIZE];
} pages PAGE_ALIGNED;

static void want(const char *what, uint64_t ptr, long rc, long e1, long e2)
{
	if (rc == -e1 || (e2 && rc == -e2)) {
		checks_passed++;
		return;
	}
	test_fail("%s(%#lx) returned %ld, expected -%ld%s", what,
	          (unsigned long)ptr, rc, e1, e2 ? " (or a stub's error)" : "");
}

static void want_error(const char *what, long rc)
{
	CHECK(rc < 0, "%s returned %ld, expected an error", what, rc);
}

static long hc(unsigned long nr, unsigned long a1, unsigned long a2,
               unsigned long a3, unsigned long a4)
{
	return hypercall_direct(nr, a1, a2, a3, a4, 0);
}

static void check_unknown_numbers(void)
{
	static const unsigned long nrs[] = {
		/* 48-55 are Xen's arch-specific slots: avoided */
		43, 44, 45, 46, 47, 56, 63, 64, 100, 1000, 0xffffffffull,
		/* these two alias valid numbers if RAX is cut to 32 bits */
		0x100000000ull,
		0x8000000000000011ull, ~0ull,
	};

	for (unsigned i = 0; i < ARRAY_SIZE(nrs); i++)
		want("hypercall number", nrs[i], hc(nrs[i], 1, 2, 3, 4), XEN_ENOSYS, 0);
	printk("hostile: unknown hypercall numbers -> -ENOSYS\n");
}

static void check_bad_pointers(uint64_t p)
{
	/* set_trap_table(NULL) legitimately clears the table: p is never 0. */
	want("set_trap_table", p, hc(__HYPERVISOR_set_trap_table, p, 0, 0, 0), XEN_EFAULT, 0);
	want("mmu_update", p, hc(__HYPERVISOR_mmu_update, p, 1, 0, DOMID_SELF), XEN_EFAULT, 0);
	want("mmuext_op", p, hc(__HYPERVISOR_mmuext_op, p, 1, 0, DOMID_SELF), XEN_EFAULT, 0);
	want("multicall", p, hc(__HYPERVISOR_multicall, p, 1, 0, 0), XEN_EFAULT, 0);
	want("xen_version(extraversion)", p,
	     hc(__HYPERVISOR_xen_version, XENVER_extraversion, p, 0, 0), XEN_EFAULT, 0);
	want("xen_version(get_features)", p,
	     hc(__HYPERVISOR_xen_version, XENVER_get_features, p, 0, 0), XEN_EFAULT, 0);
	want("xen_version(capabilities)", p,
	     hc(__HYPERVISOR_xen_version, XENVER_capabilities, p, 0, 0), XEN_EFAULT, XEN_ENOSYS);
	want("xen_version(compile_info)", p,
	     hc(__HYPERVISOR_xen_version, XENVER_compile_info, p, 0, 0), XEN_EFAULT, XEN_ENOSYS);
	want("console_io(write)", p,
	     hc(__HYPERVISOR_console_io, CONSOLEIO_write, 16, p, 0), XEN_EFAULT, 0);
	want("sched_op(shutdown)", p, hc(__HYPERVISOR_sched_op, SCHEDOP_shutdown, p, 0, 0),
	     XEN_EFAULT, 0);
	want("sched_op(poll)", p, hc(__HYPERVISOR_sched_op, SCHEDOP_poll, p, 0, 0),
	     XEN_EFAULT, 0);
	want("callback_op(register)", p,
	     hc(__HYPERVISOR_callback_op, CALLBACKOP_register, p, 0, 0), XEN_EFAULT, 0);
	want("vcpu_op(set_singleshot_timer)", p,
	     hc(__HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 0, p, 0), XEN_EFAULT, 0);
	want("vcpu_op(register_runstate_memory_area)", p,
	     hc(__HYPERVISOR_vcpu_op, VCPUOP_register_runstate_memory_area, 0, p, 0),
	     XEN_EFAULT, 0);
	want("vcpu_op(register_vcpu_info)", p,
	     hc(__HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 0, p, 0), XEN_EFAULT, 0);
	for (int cmd = EVTCHNOP_bind_interdomain; cmd <= EVTCHNOP_unmask; cmd++) {
		if (cmd == EVTCHNOP_bind_pirq)
			continue;   /* domU: may be refused before the copy */
		want("event_channel_op", p, hc(__HYPERVISOR_event_channel_op, cmd, p, 0, 0),
		     XEN_EFAULT, 0);
	}
	want("memory_op(memory_map)", p,
	     hc(__HYPERVISOR_memory_op, XENMEM_memory_map, p, 0, 0), XEN_EFAULT, XEN_ENOSYS);
	want("memory_op(machphys_mapping)", p,
	     hc(__HYPERVISOR_memory_op, XENMEM_machphys_mapping, p, 0, 0), XEN_EFAULT, XEN_ENOSYS);
	want("grant_table_op(query_size)", p,
	     hc(__HYPERVISOR_grant_table_op, GNTTABOP_query_size, p, 1, 0), XEN_EFAULT, XEN_ENOSYS);
	want("grant_table_op(setup_table)", p,
	     hc(__HYPERVISOR_grant_table_op, GNTTABOP_setup_table, p, 1, 0), XEN_EFAULT, XEN_ENOSYS);
}

static void check_nested_bad_pointers(void)
{
	struct xen_feature_info fi = { 0 };
	struct multicall_entry mc[3] = {
		{ .op = __HYPERVISOR_xen_version,
		  .args = { XENVER_extraversion, bad_ptrs[0] } },
		{ .op = __HYPERVISOR_xen_version,
		  .args = { XENVER_get_features, (uintptr_t)&fi } },
		{ .op = __HYPERVISOR_console_io, .args = { CONSOLEIO_write, 8, bad_ptrs[3] } },
	};
	struct sched_poll poll = { .ports = bad_ptrs[0], .nr_ports = 1, .timeout = 1 };

	EXPECT_EQ(HYPERVISOR_multicall(mc, 3), 0);
	EXPECT_EQ(mc[0].result, -XEN_EFAULT);
	EXPECT_EQ(mc[1].result, 0);
	EXPECT_EQ(mc[2].result, -XEN_EFAULT);

	want("sched_op(poll) with bad ports", poll.ports,
	     HYPERVISOR_sched_op(SCHEDOP_poll, &poll), XEN_EFAULT, XEN_EINVAL);
	printk("hostile: bad pointers inside structures -> -EFAULT\n");
}

static void check_bad_values(void)
{
	struct evtchn_port_op po;
	struct evtchn_bind_virq bv;
	struct vcpu_set_singleshot_timer st = { .timeout_abs_ns = 1 };
	uint64_t far_mfn = 0xfffffffffull;
	uint64_t spare = (uintptr_t)pages.filled;

	CHECK(mfn_to_pfn(far_mfn) < 0, "test assumption: MFN %#lx is ours",
	      (unsigned long)far_mfn);

	for (unsigned i = 0; i < 3; i++) {
		static const uint32_t ports[] = { 0, 4096, 0xffffffffu };

		po.port = ports[i];
		want_error("EVTCHNOP_send(bad port)",
		           HYPERVISOR_event_channel_op(EVTCHNOP_send, &po));
		want_error("EVTCHNOP_close(bad port)",
		           HYPERVISOR_event_channel_op(EVTCHNOP_close, &po));
		if (i)  /* unmasking port 0 is a harmless no-op in Xen */
			want_error("EVTCHNOP_unmask(bad port)",
			           HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &po));
	}
	bv = (struct evtchn_bind_virq){ .virq = 1000, .vcpu = 0 };
	want_error("bind_virq(virq 1000)", HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &bv));
	bv = (struct evtchn_bind_virq){ .virq = VIRQ_TIMER, .vcpu = 5000 };
	want_error("bind_virq(vcpu 5000)", HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &bv));

	want_error("vcpu_op(is_up, 8192)", HYPERVISOR_vcpu_op(VCPUOP_is_up, 8192, NULL));
	want_error("vcpu_op(is_up, ~0)", HYPERVISOR_vcpu_op(VCPUOP_is_up, 0xffffffffu, NULL));
	want_error("vcpu_op(up, 5000)", HYPERVISOR_vcpu_op(VCPUOP_up, 5000, NULL));
	want_error("vcpu_op(set_singleshot_timer) for another vCPU",
	           HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 7, &st));
	want_error("vcpu_op(cmd 1000)", HYPERVISOR_vcpu_op(1000, 0, NULL));
	want_error("sched_op(cmd 1000)", HYPERVISOR_sched_op(1000, NULL));
	want_error("event_channel_op(cmd 1000)", HYPERVISOR_event_channel_op(1000, &po));
	want_error("mmuext_op(cmd 1000)", mmuext_one(1000, 0, 0));
	want_error("console_io(cmd 1000)", HYPERVISOR_console_io(1000, 1, "x"));

	/* Frames that are not ours. */
	want_error("update_va_mapping(foreign MFN)",
	           HYPERVISOR_update_va_mapping(spare, (far_mfn << 12) | 3, UVMF_INVLPG));
	want_error("mmuext_op(PIN_L1_TABLE, foreign MFN)",
	           mmuext_one(MMUEXT_PIN_L1_TABLE, far_mfn, 0));
	want_error("mmuext_op(NEW_BASEPTR, foreign MFN)",
	           mmuext_one(MMUEXT_NEW_BASEPTR, far_mfn, 0));
	want_error("mmuext_op(NEW_BASEPTR, a data page)",
	           mmuext_one(MMUEXT_NEW_BASEPTR, va_to_mfn(pages.filled), 0));
	{
		struct mmu_update u = { .ptr = far_mfn << 12, .val = 0 };
		want_error("mmu_update(PTE in a foreign MFN)",
		           HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF));
	}
	/* Virtual addresses that are not the guest's to map. */
	for (unsigned i = 0; i < 5; i++)
		want_error("update_va_mapping(bad va)",
		           HYPERVISOR_update_va_mapping(bad_ptrs[i],
		                                        (va_to_mfn(pages.filled) << 12) | 1, 0));
	want_error("set_segment_base(FS, non-canonical)",
	           HYPERVISOR_set_segment_base(SEGBASE_FS, 0x8000000000000000ull));
	want_error("set_segment_base(which 99)", HYPERVISOR_set_segment_base(99, 0));
	printk("hostile: out-of-range values -> errors\n");
}

/*
 * Arrays of harmless entries filling `filled`, followed by the unmapped
 * `hole`.  With a count reaching into the hole the call must fail; the
 * entries before it may have run (Xen runs them, then hits -EFAULT) or not
 * (a hypervisor may check the whole range first): all or none.  With a
 * count that overflows the address space it must fail too.
 */
static void check_huge_counts(void)
{
	struct multicall_entry *mc = (void *)pages.filled;
	struct mmuext_op *ops = (void *)pages.filled;
	static const unsigned counts[] = { 0x10000, 0x7fffffff };
	unsigned n, ran, done;
	long rc;

	n = PAGE_SIZE / sizeof(*mc);
	for (unsigned c = 0; c < ARRAY_SIZE(counts); c++) {
		for (unsigned i = 0; i < n; i++)
			mc[i] = (struct multicall_entry){ .op = __HYPERVISOR_xen_version,
			                                  .result = ~0ull };
		rc = HYPERVISOR_multicall(mc, counts[c]);
		ran = 0;
		for (unsigned i = 0; i < n; i++)
			ran += mc[i].result != ~0ull;
		printk("hostile: multicall(%#x entries) -> %ld, %u of %u ran\n",
		       counts[c], rc, ran, n);
		want_error("multicall running into an unmapped page", rc);
		CHECK(ran == 0 || ran == n, "%u of the %u readable entries ran", ran, n);
	}

	n = PAGE_SIZE / sizeof(*ops);
	for (unsigned c = 0; c < ARRAY_SIZE(counts); c++) {
		memset(pages.filled, 0, PAGE_SIZE);
		for (unsigned i = 0; i < n; i++)
			ops[i].cmd = MMUEXT_TLB_FLUSH_LOCAL;
		done = 12345;
		rc = HYPERVISOR_mmuext_op(ops, counts[c], &done, DOMID_SELF);
		printk("hostile: mmuext_op(%#x ops) -> %ld, done %u of %u\n",
		       counts[c], rc, done, n);
		want_error("mmuext_op running into an unmapped page", rc);
		CHECK(done == 12345 || done == 0 || done == n,
		      "mmuext_op reports %u done of %u readable", done, n);
	}

	/*
	 * mmu_update: all-zero entries write 0 at machine address 0, refused
	 * unless that frame is ours and an ordinary page (Xen then writes it).
	 */
	memset(pages.filled, 0, PAGE_SIZE);
	n = PAGE_SIZE / sizeof(struct mmu_update);
	for (unsigned c = 0; c < ARRAY_SIZE(counts); c++) {
		done = 12345;
		rc = HYPERVISOR_mmu_update((void *)pages.filled, counts[c], &done, DOMID_SELF);
		printk("hostile: mmu_update(%#x zero entries) -> %ld, done %u\n",
		       counts[c], rc, done);
		want_error("mmu_update of zero entries", rc);
		CHECK(done == 12345 || done <= n, "mmu_update reports %u done of %u readable",
		      done, n);
	}
	want("mmu_update(huge count)", bad_ptrs[0],
	     HYPERVISOR_mmu_update((void *)bad_ptrs[0], 0x7fffffff, NULL, DOMID_SELF),
	     XEN_EFAULT, 0);
}

static void check_garbage_trap_table(void)
{
	struct trap_info *t = (void *)pages.filled;
	unsigned n = PAGE_SIZE / sizeof(*t);
	uint64_t before;
	long rc;

	/* No terminator before the hole; vectors nobody uses, junk handlers. */
	for (unsigned i = 0; i < n; i++)
		t[i] = (struct trap_info){ .vector = (uint8_t)(0xf0 + i % 16), .flags = 3,
		                           .cs = 0x1234, .address = 0xdead00000000beefull };
	rc = HYPERVISOR_set_trap_table(t);
	printk("hostile: set_trap_table(garbage, unterminated) -> %ld\n", rc);
	want_error("unterminated garbage trap table", rc);

	traps_init();
	before = last_trap.count;
	__asm__ __volatile__("int3" ::: "memory");
	CHECK(last_trap.count == before + 1, "int3 not handled after the garbage table");
	printk("hostile: the real trap table works again\n");
}

static uint64_t int3_ok(struct trap_frame *f)
{
	(void)f;
	return 0;
}

void test_main(void)
{
	long rc;

	traps_init();
	trap_set_handler(3, int3_ok);

	rc = HYPERVISOR_update_va_mapping((uintptr_t)pages.hole, 0, UVMF_INVLPG);
	CHECK(rc == 0, "update_va_mapping(unmap a page of our own) failed: %ld", rc);

	check_unknown_numbers();
	for (unsigned i = 0; i < ARRAY_SIZE(bad_ptrs); i++)
		check_bad_pointers(bad_ptrs[i]);
	check_bad_pointers((uintptr_t)pages.hole);
	printk("hostile: bad pointer arguments -> -EFAULT\n");
	check_nested_bad_pointers();
	check_bad_values();
	check_huge_counts();
	check_garbage_trap_table();

	printk("hostile: survived %lu checks\n", checks_passed);
	printk("hostile: now HYPERVISOR_iret with an unreadable frame; "
	       "this domain must crash\n");
	__asm__ __volatile__("movq %%rsp, %%rbx\n\t"
	                     "movq $0x10000, %%rsp\n\t"
	                     "movl $23, %%eax\n\t"
	                     "syscall\n\t"
	                     "movq %%rbx, %%rsp"
	                     ::: "rax", "rbx", "rcx", "r11", "memory");
	test_fail("HYPERVISOR_iret with an unreadable frame returned");
}
