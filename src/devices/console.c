/*
 * The PV console: the ring (xencons_interface) and its backend.
 *
 * Ring layout: in[1024] @0, out[2048] @1024, u32 in_cons @3072, in_prod
 * @3076, out_cons @3080, out_prod @3084.  The guest writes out[] and bumps
 * out_prod; we consume and bump out_cons.  Indices are free-running; the
 * guest controls the producer, so a producer more than a ring ahead of the
 * consumer is refused.
 *
 * The backend is a device without XenBus (the console is set up through
 * start_info): its thread is woken through an eventfd bound to the
 * console port and hands the text to the runtime's console_output hook.
 * Input (devrt_console_input) is written by the owner's thread into in[],
 * a different part of the ring.
 */
#include "devices/dev-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/common.h"
#include "core/core.h"

#define CONS_IN_SIZE  1024u
#define CONS_OUT_SIZE 2048u
#define OFF_IN        0
#define OFF_OUT       1024
#define OFF_IN_CONS   3072
#define OFF_IN_PROD   3076
#define OFF_OUT_CONS  3080
#define OFF_OUT_PROD  3084

static uint32_t *idx(void *page, unsigned off)
{
	return (uint32_t *)((uint8_t *)page + off);
}

int console_ring_read(void *page, char *buf, size_t max)
{
	uint32_t cons = __atomic_load_n(idx(page, OFF_OUT_CONS), __ATOMIC_RELAXED);
	uint32_t prod = __atomic_load_n(idx(page, OFF_OUT_PROD), __ATOMIC_ACQUIRE);
	uint32_t avail = prod - cons;
	const volatile uint8_t *out = (uint8_t *)page + OFF_OUT;
	size_t n = 0;

	if (avail > CONS_OUT_SIZE)
		return -EINVAL;
	while (n < max && n < avail)
		buf[n] = (char)out[(cons + (uint32_t)n) % CONS_OUT_SIZE], n++;
	__atomic_store_n(idx(page, OFF_OUT_CONS), cons + (uint32_t)n, __ATOMIC_RELEASE);
	return (int)n;
}

size_t console_ring_write(void *page, const char *buf, size_t len)
{
	uint32_t cons = __atomic_load_n(idx(page, OFF_IN_CONS), __ATOMIC_ACQUIRE);
	uint32_t prod = __atomic_load_n(idx(page, OFF_IN_PROD), __ATOMIC_RELAXED);
	volatile uint8_t *in = (uint8_t *)page + OFF_IN;
	size_t n = 0;

	if (prod - cons > CONS_IN_SIZE)
		return 0;
	while (n < len && prod - cons < CONS_IN_SIZE) {
		in[prod % CONS_IN_SIZE] = (uint8_t)buf[n++];
		prod++;
	}
	__atomic_store_n(idx(page, OFF_IN_PROD), prod, __ATOMIC_RELEASE);
	return n;
}

/* ---- the backend ------------------------------------------------------------------ */

struct console {
	void *opaque;                /* the owner's, for the hook */
	struct dev_fd ev;            /* bound to the console port */
	uint32_t port;
	bool bound;
	bool broken_logged;
};

/* Move what the ring holds to the hook: at most a few rings' worth per
 * wake-up, so a guest refilling as fast as we drain cannot keep us. */
static void console_pump(struct dev *dev)
{
	struct console *c = dev->priv;
	void *ring = domain_console_ring(dev->d);
	char buf[CONS_OUT_SIZE];
	bool got = false;
	int n = 0;

	if (!ring)
		return;
	for (int i = 0; i < 8 && (n = console_ring_read(ring, buf, sizeof buf)) > 0; i++) {
		if (dev->rt->hooks.console_output)
			dev->rt->hooks.console_output(c->opaque, buf, (size_t)n);
		got = true;
	}
	if (n < 0 && !c->broken_logged) {
		log_warn("domain %u: console ring indices are insane, ignoring it", dev->domid);
		c->broken_logged = true;
	}
	if (got) {
		domain_notify(dev->d, c->port);
		atomic_fetch_add(&dev->events_out, 1);
	}
}

static void console_event(struct dev *dev, struct dev_fd *h)
{
	uint64_t v;
	if (read(h->fd, &v, sizeof v) == (ssize_t)sizeof v)
		atomic_fetch_add(&dev->events_in, v);
	console_pump(dev);
}

static const struct dev_kind console_kind = { .name = "console" };

struct dev *console_dev_create(struct devrt *rt, struct rt_domain *rd)
{
	struct domain *d = rd->d;
	struct dev *dev = calloc(1, sizeof *dev);
	struct console *c = calloc(1, sizeof *c);

	if (dev)
		dev->epfd = dev->ctl.fd = -1;
	if (!dev || !c)
		goto fail;
	dev->rt = rt;
	dev->kind = &console_kind;
	dev->d = d;
	dev->domid = domain_id(d);
	dev->priv = c;
	c->opaque = rd->opaque;
	c->port = domain_console_port(d);
	c->ev.fd = -1;
	c->ev.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c->ev.fn = console_event;
	if (c->ev.fd < 0)
		goto fail;
	if (dev_start(dev))
		goto fail;
	if (dev_fd_add(dev, &c->ev) || domain_evtchn_bind_backend(d, c->port, c->ev.fd)) {
		log_warn("domain %u: cannot wait on the console port", dev->domid);
		goto fail_started;
	}
	c->bound = true;
	return dev;
fail_started:
	atomic_store(&dev->stop, true);
	dev_kick(dev);
	pthread_join(dev->thread, NULL);
	dev->thread_started = false;
fail:
	if (dev) {
		dev->priv = c;
		console_dev_free(dev);
	} else {
		free(c);
	}
	return NULL;
}

/* After the thread stopped: whatever the guest left in the ring. */
void console_dev_drain(struct dev *dev)
{
	console_pump(dev);
}

void console_dev_free(struct dev *dev)
{
	struct console *c = dev->priv;

	if (c) {
		if (c->bound)
			domain_evtchn_unbind_backend(dev->d, c->port, c->ev.fd);
		if (c->ev.fd >= 0)
			close(c->ev.fd);
		free(c);
	}
	if (dev->ctl.fd >= 0)
		close(dev->ctl.fd);
	if (dev->epfd >= 0)
		close(dev->epfd);
	free(dev);
}
