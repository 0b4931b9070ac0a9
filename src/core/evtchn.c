/*
 * Event channels, 2-level ABI.
 *
 * Ports live in d->evtchn (4096 for a 64-bit guest); port 0 is never used.
 * Raising a port follows Xen's 2-level rules on the guest-shared bitmaps:
 * set pending; if it was clear and the port is unmasked, set the word's bit
 * in the target vCPU's pending_sel and its upcall_pending, then wake/kick
 * the vCPU.  The guest changes these bitmaps concurrently, so every update
 * is an atomic read-modify-write.
 *
 * Ports bound to the toolstack (remote_dom 0: the xenstore and console
 * rings, device backends) wake the backend on send: a backend that bound
 * the port to its eventfd (domain_evtchn_bind_backend) is woken directly
 * by the sending vCPU thread; the others get the domain's backend_event
 * hook.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "core/core-internal.h"

static bool test_and_set(uint64_t *word, unsigned bit)
{
	uint64_t m = 1ull << bit;
	return __atomic_fetch_or(word, m, __ATOMIC_SEQ_CST) & m;
}

static bool test_bit(const uint64_t *word, unsigned bit)
{
	return (__atomic_load_n(word, __ATOMIC_ACQUIRE) >> bit) & 1;
}

static bool port_valid(struct domain *d, uint32_t port)
{
	return port > 0 && port < NR_EVTCHN && d->evtchn[port].state != ECS_FREE;
}

static void mark_vcpu_pending(struct domain *d, struct vcpu *v, uint32_t port)
{
	struct vcpu_info *vi = v->vinfo;
	if (!test_and_set(&vi->evtchn_pending_sel, port / 64))
		__atomic_store_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
	(void)d;
	vcpu_kick(v);
}

void evtchn_set_pending(struct domain *d, uint32_t port)
{
	struct shared_info *s = d->shinfo;
	if (port == 0 || port >= NR_EVTCHN)
		return;
	uint32_t vcpu = d->evtchn[port].vcpu;
	struct vcpu *v = vcpu < MAX_VCPUS ? d->vcpus[vcpu] : NULL;
	if (!v)
		v = d->vcpus[0];
	if (test_and_set(&s->evtchn_pending[port / 64], port % 64)) {
		/* Already pending: still wake a poller, as Xen does. */
		if (v && v->poll_ports)
			vcpu_wake(v);
		return;
	}
	if (!test_bit(&s->evtchn_mask[port / 64], port % 64) && v)
		mark_vcpu_pending(d, v, port);
	else if (v && v->poll_ports)
		vcpu_wake(v);
}

bool evtchn_port_pending(struct domain *d, uint32_t port)
{
	if (port == 0 || port >= NR_EVTCHN)
		return false;
	return test_bit(&d->shinfo->evtchn_pending[port / 64], port % 64);
}

bool vcpu_event_pending(struct vcpu *v)
{
	return __atomic_load_n(&v->vinfo->evtchn_upcall_pending, __ATOMIC_ACQUIRE);
}

/* Lowest free port, or -ENOSPC.  Caller holds d->lock. */
int evtchn_alloc_port(struct domain *d, uint8_t state, uint32_t vcpu, uint16_t remote)
{
	for (uint32_t p = 1; p < NR_EVTCHN; p++) {
		struct evtchn *e = &d->evtchn[p];
		if (e->state != ECS_FREE)
			continue;
		memset(e, 0, sizeof *e);
		e->state = state;
		e->vcpu = vcpu;
		e->remote_dom = remote;
		return (int)p;
	}
	return -ENOSPC;
}

int evtchn_send_virq(struct domain *d, unsigned vcpu, unsigned virq)
{
	if (vcpu >= MAX_VCPUS || virq >= NR_VIRQS)
		return -EINVAL;
	uint32_t port = __atomic_load_n(&d->virq_port[vcpu][virq], __ATOMIC_ACQUIRE);
	if (!port)
		return -ENOENT;
	evtchn_set_pending(d, port);
	return 0;
}

static bool virq_is_per_vcpu(unsigned virq)
{
	return virq == VIRQ_TIMER || virq == VIRQ_DEBUG || virq == VIRQ_XENOPROF ||
	       virq == VIRQ_XENPMU;
}

static long bind_virq(struct vcpu *v, struct evtchn_bind_virq *b)
{
	struct domain *d = v->d;
	if (b->virq >= NR_VIRQS || b->vcpu >= d->max_vcpus || !d->vcpus[b->vcpu])
		return -EINVAL;
	if (!virq_is_per_vcpu(b->virq) && b->vcpu != 0)
		return -EINVAL;
	if (d->virq_port[b->vcpu][b->virq])
		return -EEXIST;
	int p = evtchn_alloc_port(d, ECS_VIRQ, b->vcpu, 0);
	if (p < 0)
		return p;
	d->evtchn[p].virq = b->virq;
	__atomic_store_n(&d->virq_port[b->vcpu][b->virq], (uint32_t)p, __ATOMIC_RELEASE);
	b->port = (uint32_t)p;
	return 0;
}

static long close_port(struct domain *d, uint32_t port)
{
	if (!port_valid(d, port))
		return -EINVAL;
	struct evtchn *e = &d->evtchn[port];
	if (e->state == ECS_RESERVED)
		return -EINVAL;
	if (e->state == ECS_VIRQ && e->vcpu < MAX_VCPUS && e->virq < NR_VIRQS)
		__atomic_store_n(&d->virq_port[e->vcpu][e->virq], 0, __ATOMIC_RELEASE);
	if (e->state == ECS_INTERDOMAIN && e->remote_dom == d->domid && port_valid(d, e->remote_port)) {
		/* A loopback channel: the other end becomes unbound again. */
		struct evtchn *r = &d->evtchn[e->remote_port];
		r->state = ECS_UNBOUND;
		r->remote_dom = d->domid;
		r->remote_port = 0;
	}
	memset(e, 0, sizeof *e);
	return 0;
}

/* Wake a backend's thread; d->lock held, so the fd cannot be unbound (and
 * closed) under us.  EAGAIN: the counter is saturated, the backend will
 * wake anyway. */
static void wake_backend(struct domain *d, const struct evtchn *e)
{
	uint64_t one = 1;
	if (write(e->backend_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn("domain %u: backend eventfd: %s", d->domid, strerror(errno));
}

static long send_port(struct vcpu *v, uint32_t port)
{
	struct domain *d = v->d;
	pthread_mutex_lock(&d->lock);
	if (!port_valid(d, port)) {
		pthread_mutex_unlock(&d->lock);
		return -EINVAL;
	}
	struct evtchn e = d->evtchn[port];
	if (e.state == ECS_INTERDOMAIN && e.has_backend_fd) {
		wake_backend(d, &e);
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	pthread_mutex_unlock(&d->lock);
	switch (e.state) {
	case ECS_IPI:
		evtchn_set_pending(d, port);
		return 0;
	case ECS_INTERDOMAIN:
		if (e.remote_dom == d->domid) {
			evtchn_set_pending(d, e.remote_port);
			return 0;
		}
		if (d->hooks && d->hooks->backend_event)
			d->hooks->backend_event(d->opaque, d, port);
		return 0;
	case ECS_UNBOUND:
	case ECS_VIRQ:
		return 0;    /* Xen silently drops these */
	default:
		return -EINVAL;
	}
}

static long unmask_port(struct vcpu *v, uint32_t port)
{
	struct domain *d = v->d;
	struct shared_info *s = d->shinfo;
	if (!port_valid(d, port))
		return -EINVAL;
	uint64_t m = 1ull << (port % 64);
	if (!(__atomic_fetch_and(&s->evtchn_mask[port / 64], ~m, __ATOMIC_SEQ_CST) & m))
		return 0;
	if (evtchn_port_pending(d, port)) {
		uint32_t t = d->evtchn[port].vcpu;
		struct vcpu *tv = t < MAX_VCPUS && d->vcpus[t] ? d->vcpus[t] : d->vcpus[0];
		mark_vcpu_pending(d, tv, port);
	}
	return 0;
}

static long status_port(struct domain *d, struct evtchn_status *st)
{
	if (st->dom != DOMID_SELF && st->dom != d->domid)
		return -ESRCH;
	if (st->port >= NR_EVTCHN)
		return -EINVAL;
	struct evtchn *e = &d->evtchn[st->port];
	memset(&st->u, 0, sizeof st->u);
	st->vcpu = e->vcpu;
	switch (e->state) {
	case ECS_FREE:
		st->status = EVTCHNSTAT_closed;
		break;
	case ECS_UNBOUND:
		st->status = EVTCHNSTAT_unbound;
		st->u.unbound.dom = e->remote_dom;
		break;
	case ECS_INTERDOMAIN:
	case ECS_RESERVED:
		st->status = EVTCHNSTAT_interdomain;
		st->u.interdomain.dom = e->remote_dom;
		st->u.interdomain.port = e->remote_port;
		break;
	case ECS_VIRQ:
		st->status = EVTCHNSTAT_virq;
		st->u.virq = e->virq;
		break;
	case ECS_IPI:
		st->status = EVTCHNSTAT_ipi;
		break;
	}
	return 0;
}

static long bind_interdomain(struct domain *d, struct evtchn_bind_interdomain *b)
{
	/* Only loopback to ourselves: other domains are not reachable from a
	 * domU's VM in kxen, and the toolstack pre-binds its own channels. */
	if (b->remote_dom != DOMID_SELF && b->remote_dom != d->domid)
		return -EPERM;
	if (!port_valid(d, b->remote_port) || d->evtchn[b->remote_port].state != ECS_UNBOUND ||
	    (d->evtchn[b->remote_port].remote_dom != d->domid &&
	     d->evtchn[b->remote_port].remote_dom != DOMID_SELF))
		return -EINVAL;
	int p = evtchn_alloc_port(d, ECS_INTERDOMAIN, 0, d->domid);
	if (p < 0)
		return p;
	d->evtchn[p].remote_port = b->remote_port;
	struct evtchn *r = &d->evtchn[b->remote_port];
	r->state = ECS_INTERDOMAIN;
	r->remote_dom = d->domid;
	r->remote_port = (uint32_t)p;
	b->local_port = (uint32_t)p;
	return 0;
}

#define COPY_IN(type, var)                                             \
	type var;                                                      \
	if (guest_copy_from(v, &var, arg, sizeof var))                 \
		return -EFAULT

#define COPY_OUT(var)                                                  \
	(guest_copy_to(v, arg, &var, sizeof var) ? -EFAULT : 0)

long do_event_channel_op(struct vcpu *v, uint64_t cmd, uint64_t arg)
{
	struct domain *d = v->d;
	long rc;

	switch (cmd) {
	case EVTCHNOP_send: {
		COPY_IN(struct evtchn_port_op, op);
		return send_port(v, op.port);
	}
	case EVTCHNOP_unmask: {
		COPY_IN(struct evtchn_port_op, op);
		pthread_mutex_lock(&d->lock);
		rc = unmask_port(v, op.port);
		pthread_mutex_unlock(&d->lock);
		return rc;
	}
	case EVTCHNOP_close: {
		COPY_IN(struct evtchn_port_op, op);
		pthread_mutex_lock(&d->lock);
		rc = close_port(d, op.port);
		pthread_mutex_unlock(&d->lock);
		return rc;
	}
	case EVTCHNOP_bind_virq: {
		COPY_IN(struct evtchn_bind_virq, b);
		pthread_mutex_lock(&d->lock);
		rc = bind_virq(v, &b);
		pthread_mutex_unlock(&d->lock);
		return rc ? rc : COPY_OUT(b);
	}
	case EVTCHNOP_bind_ipi: {
		COPY_IN(struct evtchn_bind_ipi, b);
		if (b.vcpu >= d->max_vcpus || !d->vcpus[b.vcpu])
			return -ENOENT;
		pthread_mutex_lock(&d->lock);
		rc = evtchn_alloc_port(d, ECS_IPI, b.vcpu, 0);
		pthread_mutex_unlock(&d->lock);
		if (rc < 0)
			return rc;
		b.port = (uint32_t)rc;
		return COPY_OUT(b);
	}
	case EVTCHNOP_alloc_unbound: {
		COPY_IN(struct evtchn_alloc_unbound, a);
		if (a.dom != DOMID_SELF && a.dom != d->domid)
			return -EPERM;
		uint16_t remote = a.remote_dom == DOMID_SELF ? d->domid : a.remote_dom;
		pthread_mutex_lock(&d->lock);
		rc = evtchn_alloc_port(d, ECS_UNBOUND, 0, remote);
		pthread_mutex_unlock(&d->lock);
		if (rc < 0)
			return rc;
		a.port = (uint32_t)rc;
		return COPY_OUT(a);
	}
	case EVTCHNOP_bind_interdomain: {
		COPY_IN(struct evtchn_bind_interdomain, b);
		pthread_mutex_lock(&d->lock);
		rc = bind_interdomain(d, &b);
		pthread_mutex_unlock(&d->lock);
		return rc ? rc : COPY_OUT(b);
	}
	case EVTCHNOP_status: {
		COPY_IN(struct evtchn_status, st);
		pthread_mutex_lock(&d->lock);
		rc = status_port(d, &st);
		pthread_mutex_unlock(&d->lock);
		return rc ? rc : COPY_OUT(st);
	}
	case EVTCHNOP_bind_vcpu: {
		COPY_IN(struct evtchn_bind_vcpu, b);
		pthread_mutex_lock(&d->lock);
		if (!port_valid(d, b.port) || b.vcpu >= d->max_vcpus || !d->vcpus[b.vcpu])
			rc = -EINVAL;
		else if (d->evtchn[b.port].state == ECS_VIRQ &&
			 virq_is_per_vcpu(d->evtchn[b.port].virq))
			rc = -EINVAL;
		else {
			d->evtchn[b.port].vcpu = b.vcpu;
			rc = 0;
		}
		pthread_mutex_unlock(&d->lock);
		return rc;
	}
	case EVTCHNOP_set_priority:
		return 0;    /* no priorities in the 2-level ABI */
	case EVTCHNOP_init_control:
	case EVTCHNOP_expand_array:
		return -ENOSYS;   /* FIFO ABI not offered: Linux uses 2-level */
	case EVTCHNOP_bind_pirq:
		return -EPERM;
	case EVTCHNOP_reset:
		return -ENOSYS;
	default:
		return -ENOSYS;
	}
}

/* ---- the backend (domain 0) end ---------------------------------------------- */

int domain_evtchn_bind_backend(struct domain *d, uint32_t port, int fd)
{
	int rc = 0;

	if (fd < 0)
		return -EBADF;
	pthread_mutex_lock(&d->lock);
	struct evtchn *e = port_valid(d, port) ? &d->evtchn[port] : NULL;
	if (!e || e->remote_dom != 0 || (e->state != ECS_UNBOUND && e->state != ECS_INTERDOMAIN))
		rc = -EINVAL;
	else if (e->has_backend_fd)
		rc = -EBUSY;
	else {
		e->state = ECS_INTERDOMAIN;
		e->remote_port = 0;
		e->has_backend_fd = true;
		e->backend_fd = fd;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static bool bound_to(struct domain *d, uint32_t port, int fd)
{
	return port_valid(d, port) && d->evtchn[port].state == ECS_INTERDOMAIN &&
	       d->evtchn[port].has_backend_fd && d->evtchn[port].backend_fd == fd;
}

int domain_evtchn_notify_backend(struct domain *d, uint32_t port, int fd)
{
	pthread_mutex_lock(&d->lock);
	bool ok = bound_to(d, port, fd);
	pthread_mutex_unlock(&d->lock);
	if (!ok)
		return -ENOTCONN;
	/* The guest may close the port right now: then this raises a bit
	 * on a free port, which Xen's guests ignore as well. */
	evtchn_set_pending(d, port);
	return 0;
}

void domain_evtchn_unbind_backend(struct domain *d, uint32_t port, int fd)
{
	pthread_mutex_lock(&d->lock);
	if (bound_to(d, port, fd)) {
		struct evtchn *e = &d->evtchn[port];
		e->has_backend_fd = false;
		e->backend_fd = 0;
		/* The toolstack's own ports stay bound; a guest's goes back
		 * to waiting for a domain-0 peer. */
		if (port != d->store_port && port != d->console_port)
			e->state = ECS_UNBOUND;
	}
	pthread_mutex_unlock(&d->lock);
}
