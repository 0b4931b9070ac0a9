/*
 * The device runtime: domains and their devices, the device threads, and
 * the store lock that lets those threads share the single-threaded
 * XenStore with its owner.
 *
 * A device thread waits in epoll on its control eventfd (XenStore watch
 * events, detach and stop requests) and on the fds its kind added (the
 * guest's event channels, I/O completions).  Devices that finished a
 * hot-unplug are joined and freed by the next runtime call that walks the
 * list (dev_reap), under the store lock.
 */
#include "devices/dev-internal.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "core/core.h"
#include "xenstore/xenstore.h"
#include "xen/io.h"

static const struct dev_kind *const kinds[] = { &vbd_kind };

const struct dev_kind *dev_kind_find(const char *name)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (!strcmp(kinds[i]->name, name))
			return kinds[i];
	return NULL;
}

int64_t dev_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct devrt *devrt_create(struct xs_store *xs, const struct devrt_hooks *hooks)
{
	struct devrt *rt = calloc(1, sizeof *rt);
	if (!rt)
		return NULL;
	rt->xs = xs;
	if (hooks)
		rt->hooks = *hooks;
	pthread_mutex_init(&rt->store_lock, NULL);
	return rt;
}

void devrt_destroy(struct devrt *rt)
{
	if (!rt)
		return;
	pthread_mutex_destroy(&rt->store_lock);
	free(rt);
}

void devrt_lock(struct devrt *rt)
{
	pthread_mutex_lock(&rt->store_lock);
}

void devrt_unlock(struct devrt *rt)
{
	pthread_mutex_unlock(&rt->store_lock);
}

struct rt_domain *rt_domain_find(struct devrt *rt, uint16_t domid)
{
	for (struct rt_domain *rd = rt->domains; rd; rd = rd->next)
		if (rd->domid == domid)
			return rd;
	return NULL;
}

static void store_notify(void *opaque, uint32_t domid, uint32_t port)
{
	struct rt_domain *rd = domid <= UINT16_MAX ? rt_domain_find(opaque, (uint16_t)domid) : NULL;
	if (rd)
		domain_notify(rd->d, port);
}

void devrt_serve_store(struct devrt *rt)
{
	/* Bounded: a guest that keeps the store busy must not hold the
	 * lock (and the owner's loop) for ever; its next event continues. */
	for (int i = 0; i < 64; i++)
		if (!(xs_poll(rt->xs, store_notify, rt) & XS_PROCESS_AGAIN))
			break;
	xs_dispatch_watches(rt->xs);
}

/* ---- device threads -------------------------------------------------------------- */

int dev_fd_add(struct dev *dev, struct dev_fd *h)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };
	return epoll_ctl(dev->epfd, EPOLL_CTL_ADD, h->fd, &ev) ? -errno : 0;
}

void dev_fd_del(struct dev *dev, struct dev_fd *h)
{
	if (h->fd >= 0)
		epoll_ctl(dev->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	dev->fd_gen++;
}

void dev_kick(struct dev *dev)
{
	uint64_t one = 1;
	if (write(dev->ctl.fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn("device %s/%u: control eventfd: %s", dev->kind->name, dev->devid,
			 strerror(errno));
}

void dev_fail(struct dev *dev, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	log_warn("domain %u: %s %u shut down: %s", dev->domid, dev->kind->name, dev->devid, why);
	if (dev->connected) {
		dev->kind->disconnect(dev);
		dev->connected = false;
	}
	dev->failed = true;
	if (!dev->has_xenbus)
		return;
	devrt_lock(dev->rt);
	dev_be_write(dev, "error", "%s", why);
	xenbus_switch(dev, XenbusStateClosing);
	devrt_serve_store(dev->rt);
	devrt_unlock(dev->rt);
}

static void ctl_handler(struct dev *dev, struct dev_fd *h)
{
	uint64_t v;
	if (read(h->fd, &v, sizeof v) < 0 && errno != EAGAIN)
		log_warn("device %s/%u: control eventfd: %s", dev->kind->name, dev->devid,
			 strerror(errno));
	if (dev->has_xenbus && !atomic_load(&dev->stop))
		xenbus_process(dev);
}

static int wait_timeout_ms(struct dev *dev)
{
	if (!dev->detaching)
		return -1;
	int64_t left = dev->detach_deadline - dev_now_ns();
	return left <= 0 ? 0 : (int)(left / 1000000) + 1;
}

/*
 * Backend work must not wait behind guest code: the vCPU threads share the
 * host CPUs with us, and the host's fair scheduler lets a thread running
 * guest code keep its CPU for milliseconds before a woken backend thread
 * runs -- the whole latency of a request.  So, like a blocked vCPU thread
 * (see dispatch.c), a device thread waits at the lowest real-time priority
 * and handles what woke it at once; work that keeps coming back-to-back
 * (a busy or hostile frontend) is handled at normal priority, so a guest
 * cannot hold a CPU at real-time priority through its backend.  KXEN_RT=0
 * or a host that refuses SCHED_FIFO: normal priority throughout.
 */
static atomic_bool rt_refused;

static void dev_priority(bool *urgent, bool want)
{
	struct sched_param sp = { .sched_priority = want ? 1 : 0 };
	const char *env = getenv("KXEN_RT");

	if (*urgent == want || atomic_load(&rt_refused))
		return;
	if ((env && !strcmp(env, "0")) ||
	    pthread_setschedparam(pthread_self(), want ? SCHED_FIFO : SCHED_OTHER, &sp)) {
		atomic_store(&rt_refused, true);
		return;
	}
	*urgent = want;
}

static void *dev_thread(void *arg)
{
	struct dev *dev = arg;
	struct epoll_event evs[16];
	bool urgent = false;
	char name[16];

	snprintf(name, sizeof name, "%.6s-%u", dev->kind->name, dev->domid);
	pthread_setname_np(pthread_self(), name);
	if (dev->has_xenbus)
		xenbus_process(dev);      /* the frontend may be there already */
	while (!atomic_load(&dev->stop) && !atomic_load(&dev->finished)) {
		int n = epoll_wait(dev->epfd, evs, 16, 0);
		if (n == 0) {
			dev_priority(&urgent, true);
			n = epoll_wait(dev->epfd, evs, 16, wait_timeout_ms(dev));
		} else {
			dev_priority(&urgent, false);
		}
		if (n < 0 && errno != EINTR) {
			log_err("device %s/%u: epoll: %s", dev->kind->name, dev->devid,
				strerror(errno));
			break;
		}
		/* A handler that tears fds down (a disconnect) makes the rest
		 * of this batch stale: epoll reports the live ones again. */
		unsigned gen = dev->fd_gen;
		for (int i = 0; i < n && !atomic_load(&dev->stop) && gen == dev->fd_gen; i++) {
			struct dev_fd *h = evs[i].data.ptr;
			h->fn(dev, h);
		}
		if (n == 0 && dev->detaching && dev->has_xenbus)
			xenbus_process(dev);      /* the hot-unplug timeout */
	}
	return NULL;
}

int dev_start(struct dev *dev)
{
	dev->epfd = epoll_create1(EPOLL_CLOEXEC);
	dev->ctl.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	dev->ctl.fn = ctl_handler;
	if (dev->epfd < 0 || dev->ctl.fd < 0 || dev_fd_add(dev, &dev->ctl))
		return -errno;
	int rc = pthread_create(&dev->thread, NULL, dev_thread, dev);
	if (rc)
		return -rc;
	dev->thread_started = true;
	return 0;
}

/* Stop the thread; the store lock is released while waiting, since the
 * thread may need it to finish. */
static void dev_stop_thread(struct dev *dev)
{
	if (!dev->thread_started)
		return;
	atomic_store(&dev->stop, true);
	dev_kick(dev);
	devrt_unlock(dev->rt);
	pthread_join(dev->thread, NULL);
	devrt_lock(dev->rt);
	dev->thread_started = false;
}

/* Tear a device down completely (store lock held). */
static void dev_free(struct dev *dev)
{
	dev_stop_thread(dev);
	if (dev->connected) {
		/* The thread is gone; disconnect waits for I/O, unlocked. */
		devrt_unlock(dev->rt);
		dev->kind->disconnect(dev);
		devrt_lock(dev->rt);
		dev->connected = false;
	}
	if (dev->has_xenbus)
		xenbus_remove(dev);
	if (dev->kind->close)
		dev->kind->close(dev);
	if (dev->ctl.fd >= 0)
		close(dev->ctl.fd);
	if (dev->epfd >= 0)
		close(dev->epfd);
	log_info("domain %u: %s %u removed (%llu requests, %llu KiB, %llu events in, %llu out)",
		 dev->domid, dev->kind->name, dev->devid,
		 (unsigned long long)atomic_load(&dev->requests),
		 (unsigned long long)atomic_load(&dev->bytes) / 1024,
		 (unsigned long long)atomic_load(&dev->events_in),
		 (unsigned long long)atomic_load(&dev->events_out));
	free(dev);
}

static void dev_unlink(struct devrt *rt, struct dev *dev)
{
	for (struct dev **pp = &rt->devs; *pp; pp = &(*pp)->next) {
		if (*pp == dev) {
			*pp = dev->next;
			return;
		}
	}
}

/* Free devices whose hot-unplug finished. */
static void dev_reap(struct devrt *rt)
{
	struct dev *dev = rt->devs, *next;
	for (; dev; dev = next) {
		next = dev->next;
		if (!atomic_load(&dev->finished))
			continue;
		dev_unlink(rt, dev);
		dev_free(dev);
		next = rt->devs;          /* the lock was dropped: start over */
	}
}

/* ---- domains --------------------------------------------------------------------- */

int devrt_domain_add(struct devrt *rt, struct domain *d, void *opaque)
{
	struct rt_domain *rd = calloc(1, sizeof *rd);
	if (!rd)
		return -ENOMEM;
	rd->d = d;
	rd->domid = domain_id(d);
	rd->opaque = opaque;
	rd->console = console_dev_create(rt, rd);
	if (!rd->console) {
		free(rd);
		return -ENOMEM;
	}
	rd->next = rt->domains;
	rt->domains = rd;
	return 0;
}

void devrt_domain_detach_all(struct devrt *rt, uint16_t domid)
{
	dev_reap(rt);
	for (struct dev *dev = rt->devs, *next; dev; dev = next) {
		next = dev->next;
		if (dev->domid != domid)
			continue;
		dev_unlink(rt, dev);
		dev_free(dev);
		next = rt->devs;
	}
}

void devrt_domain_remove(struct devrt *rt, uint16_t domid)
{
	devrt_domain_detach_all(rt, domid);
	for (struct rt_domain **pp = &rt->domains; *pp; pp = &(*pp)->next) {
		struct rt_domain *rd = *pp;
		if (rd->domid != domid)
			continue;
		*pp = rd->next;
		if (rd->console) {
			dev_stop_thread(rd->console);
			console_dev_drain(rd->console);
			console_dev_free(rd->console);
		}
		free(rd);
		return;
	}
}

size_t devrt_console_input(struct devrt *rt, uint16_t domid, const char *buf, size_t len)
{
	struct rt_domain *rd = rt_domain_find(rt, domid);
	void *ring = rd ? domain_console_ring(rd->d) : NULL;

	if (!ring)
		return 0;
	size_t n = console_ring_write(ring, buf, len);
	if (n)
		domain_notify(rd->d, domain_console_port(rd->d));
	return n;
}

/* ---- devices ----------------------------------------------------------------------- */

static struct dev *dev_lookup(struct devrt *rt, uint16_t domid, const char *kind, unsigned devid)
{
	for (struct dev *dev = rt->devs; dev; dev = dev->next)
		if (dev->domid == domid && dev->devid == devid && !strcmp(dev->kind->name, kind))
			return dev;
	return NULL;
}

bool devrt_dev_find(struct devrt *rt, uint16_t domid, const char *kind, unsigned devid)
{
	dev_reap(rt);
	return dev_lookup(rt, domid, kind, devid) != NULL;
}

/* Create, open and start a XenBus device of a kind. */
int devrt_dev_add(struct devrt *rt, uint16_t domid, const char *kind, unsigned devid,
		  const void *config, const char *const *fe_extra, const char *const *be_extra,
		  char *err, size_t errlen)
{
	struct rt_domain *rd;
	struct dev *dev;
	int rc;

	dev_reap(rt);
	rd = rt_domain_find(rt, domid);
	if (!rd) {
		snprintf(err, errlen, "no domain %u", domid);
		return -ESRCH;
	}
	if (dev_lookup(rt, domid, kind, devid)) {
		snprintf(err, errlen, "device %s %u already exists", kind, devid);
		return -EEXIST;
	}
	dev = calloc(1, sizeof *dev);
	if (!dev) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	dev->rt = rt;
	dev->kind = dev_kind_find(kind);
	dev->d = rd->d;
	dev->domid = domid;
	dev->devid = devid;
	dev->has_xenbus = true;
	dev->epfd = dev->ctl.fd = -1;
	atomic_store(&dev->detach_ms, -1);
	dev->fe_state_seen = -1;
	snprintf(dev->fe_path, sizeof dev->fe_path, "/local/domain/%u/device/%s/%u", domid, kind,
		 devid);
	snprintf(dev->be_path, sizeof dev->be_path, "/local/domain/0/backend/%s/%u/%u", kind,
		 domid, devid);
	rc = xenbus_create(dev, fe_extra, be_extra, err, errlen);
	if (rc) {
		xenbus_remove(dev);
		free(dev);
		return rc;
	}
	rc = dev->kind->open(dev, config, err, errlen);
	if (rc) {
		xenbus_remove(dev);
		free(dev);
		return rc;
	}
	/* The kind wrote its features: the frontend may start. */
	rc = xenbus_switch(dev, XenbusStateInitWait);
	if (rc)
		snprintf(err, errlen, "cannot write the backend state: %s", strerror(-rc));
	if (!rc) {
		rc = dev_start(dev);
		if (rc)
			snprintf(err, errlen, "cannot start the device thread: %s", strerror(-rc));
	}
	dev->next = rt->devs;
	rt->devs = dev;
	if (rc) {
		dev_unlink(rt, dev);
		dev_free(dev);
		return rc;
	}
	devrt_serve_store(rt);
	return 0;
}

int devrt_dev_remove(struct devrt *rt, uint16_t domid, const char *kind, unsigned devid,
		     int timeout_ms)
{
	dev_reap(rt);
	struct dev *dev = dev_lookup(rt, domid, kind, devid);
	if (!dev)
		return -ENOENT;
	atomic_store(&dev->detach_ms, timeout_ms < 0 ? 0 : timeout_ms);
	dev_kick(dev);
	return 0;
}

int devrt_dev_list(struct devrt *rt, uint16_t domid, const char *kind,
		   struct devrt_dev_info *out, int max)
{
	int n = 0;

	dev_reap(rt);
	for (struct dev *dev = rt->devs; dev && n < max; dev = dev->next) {
		if (dev->domid != domid || (kind && strcmp(kind, dev->kind->name)))
			continue;
		struct devrt_dev_info *i = &out[n++];
		memset(i, 0, sizeof *i);
		snprintf(i->kind, sizeof i->kind, "%s", dev->kind->name);
		i->devid = dev->devid;
		snprintf(i->be_path, sizeof i->be_path, "%s", dev->be_path);
		i->be_state = -1;
		i->fe_state = xenbus_fe_state(dev);
		char buf[16];
		unsigned long long v;
		if (!dev_be_read(dev, "state", buf, sizeof buf) && sscanf(buf, "%llu", &v) == 1)
			i->be_state = (int)v;
		i->requests = atomic_load(&dev->requests);
		i->bytes = atomic_load(&dev->bytes);
		i->events_in = atomic_load(&dev->events_in);
		i->events_out = atomic_load(&dev->events_out);
		if (dev->kind->info)
			dev->kind->info(dev, i);
	}
	return n;
}
