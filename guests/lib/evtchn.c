/*
 * Event channels, 2-level ABI: the upcall handler and hypercall helpers.
 *
 * The upcall handler works like Linux's: clear upcall_pending, take
 * pending_sel, and for every selected word clear and count each pending,
 * unmasked port bound to this vCPU.  Tests look at evtchn_count[].
 */
#include "guest.h"

volatile uint32_t evtchn_count[EVTCHN_MAX];
uint8_t evtchn_cpu[EVTCHN_MAX];
evtchn_handler_t evtchn_handler[EVTCHN_MAX];

void events_init(void)
{
	struct callback_register cb = {
		.type = CALLBACKTYPE_event,
		.flags = CALLBACKF_mask_events,
		.address = (uintptr_t)event_entry_cpu0,
	};
	long rc;

	need_shared_info();
	rc = HYPERVISOR_callback_op(CALLBACKOP_register, &cb);
	if (rc)
		test_fail("callback_op(register, CALLBACKTYPE_event) failed: %ld", rc);
}

void evtchn_do_upcall(unsigned cpu)
{
	struct vcpu_info *vi = &shared_info->vcpu_info[cpu];

	do {
		uint64_t sel;

		WRITE_ONCE(vi->evtchn_upcall_pending, 0);
		sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
		while (sel) {
			unsigned w = (unsigned)ctz64(sel);
			uint64_t bits = READ_ONCE(shared_info->evtchn_pending[w]) &
			                ~READ_ONCE(shared_info->evtchn_mask[w]);

			sel &= sel - 1;
			while (bits) {
				unsigned b = (unsigned)ctz64(bits);
				evtchn_port_t port = w * 64 + b;

				bits &= bits - 1;
				if (port < EVTCHN_MAX && evtchn_cpu[port] != cpu)
					continue;
				__atomic_fetch_and(&shared_info->evtchn_pending[w],
				                   ~(1ull << b), __ATOMIC_SEQ_CST);
				if (port >= EVTCHN_MAX)
					continue;
				evtchn_count[port]++;
				if (evtchn_handler[port])
					evtchn_handler[port](port);
			}
		}
	} while (READ_ONCE(vi->evtchn_upcall_pending));
}

void events_unmask_vcpu(unsigned cpu)
{
	struct vcpu_info *vi = &shared_info->vcpu_info[cpu];

	barrier();
	WRITE_ONCE(vi->evtchn_upcall_mask, 0);
	barrier();
	/* Pending already: any hypercall returns through the upcall. */
	if (READ_ONCE(vi->evtchn_upcall_pending))
		HYPERVISOR_xen_version(XENVER_version, NULL);
}

void events_mask_vcpu(unsigned cpu)
{
	WRITE_ONCE(shared_info->vcpu_info[cpu].evtchn_upcall_mask, 1);
	barrier();
}

void evtchn_mask_port(evtchn_port_t port)
{
	__atomic_fetch_or(&shared_info->evtchn_mask[port / 64], 1ull << (port % 64),
	                  __ATOMIC_SEQ_CST);
}

bool evtchn_is_pending(evtchn_port_t port)
{
	return (READ_ONCE(shared_info->evtchn_pending[port / 64]) >> (port % 64)) & 1;
}

static void note_port(evtchn_port_t port, uint32_t vcpu)
{
	if (port < EVTCHN_MAX)
		evtchn_cpu[port] = (uint8_t)vcpu;
}

long evtchn_bind_virq(uint32_t virq, uint32_t vcpu, evtchn_port_t *port)
{
	struct evtchn_bind_virq op = { .virq = virq, .vcpu = vcpu };
	long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &op);

	if (rc == 0) {
		*port = op.port;
		note_port(op.port, vcpu);
	}
	return rc;
}

long evtchn_bind_ipi(uint32_t vcpu, evtchn_port_t *port)
{
	struct evtchn_bind_ipi op = { .vcpu = vcpu };
	long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &op);

	if (rc == 0) {
		*port = op.port;
		note_port(op.port, vcpu);
	}
	return rc;
}

long evtchn_alloc_unbound(xen_domid_t remote, evtchn_port_t *port)
{
	struct evtchn_alloc_unbound op = { .dom = DOMID_SELF, .remote_dom = remote };
	long rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);

	if (rc == 0) {
		*port = op.port;
		note_port(op.port, 0);
	}
	return rc;
}

long evtchn_bind_interdomain(xen_domid_t remote, evtchn_port_t rport, evtchn_port_t *port)
{
	struct evtchn_bind_interdomain op = { .remote_dom = remote, .remote_port = rport };
	long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &op);

	if (rc == 0) {
		*port = op.local_port;
		note_port(op.local_port, 0);
	}
	return rc;
}

static long port_op(int cmd, evtchn_port_t port)
{
	struct evtchn_port_op op = { .port = port };

	return HYPERVISOR_event_channel_op(cmd, &op);
}

long evtchn_send(evtchn_port_t port)   { return port_op(EVTCHNOP_send, port); }
long evtchn_unmask(evtchn_port_t port) { return port_op(EVTCHNOP_unmask, port); }
long evtchn_close(evtchn_port_t port)  { return port_op(EVTCHNOP_close, port); }
