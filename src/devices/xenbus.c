/*
 * XenBus: a split device's two directories in XenStore and the state
 * machine that connects them, as libxl lays them out and Linux's backends
 * drive them.
 *
 *   /local/domain/<domid>/device/<kind>/<devid>            frontend
 *       backend, backend-id, state, virtual-device, ...   owner the guest,
 *                                                          domain 0 may read
 *   /local/domain/0/backend/<kind>/<domid>/<devid>          backend
 *       frontend, frontend-id, online, state, ...         owner domain 0,
 *                                                          the guest may read
 *
 * Backend side of the handshake (the frontend's state drives it):
 *   attach          Initialising, then InitWait once the features are written
 *   fe Initialised  connect (map rings, bind ports) -> Connected
 *   / Connected     (on a failure: "error" node, Closing)
 *   fe Closing      Closing
 *   fe Closed       disconnect -> Closed; the device stays (online = 1)
 *   fe Initialising after Closed: InitWait again (the frontend reconnects)
 * Hot-unplug: the backend says Closing with online = 0 and waits until the
 * frontend has closed (or a timeout), then disconnects, says Closed and
 * removes both directories.
 */
#include "devices/dev-internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "xenstore/xenstore.h"
#include "xen/io.h"

static int path_join(char *buf, size_t len, const char *dir, const char *node)
{
	int n = snprintf(buf, len, "%s/%s", dir, node);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int read_node(struct dev *dev, const char *dir, const char *node, char *buf, size_t len)
{
	char path[256];
	char *val;
	size_t n;
	int rc = path_join(path, sizeof path, dir, node);

	if (rc)
		return rc;
	rc = xs_read(dev->rt->xs, path, &val, &n);
	if (rc)
		return rc;
	snprintf(buf, len, "%s", val);
	free(val);
	return n < len ? 0 : -E2BIG;
}

int dev_fe_read(struct dev *dev, const char *node, char *buf, size_t len)
{
	return read_node(dev, dev->fe_path, node, buf, len);
}

int dev_be_read(struct dev *dev, const char *node, char *buf, size_t len)
{
	return read_node(dev, dev->be_path, node, buf, len);
}

/* Strict decimal, as Linux's xenbus_read_unsigned parses it (a guest's
 * "12abc" or "-1" is garbage, not 12). */
static int parse_uint(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (~0ull - 9) / 10)
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*out = v;
	return 0;
}

int dev_fe_read_uint(struct dev *dev, const char *node, unsigned long long def,
		     unsigned long long *out)
{
	char buf[32];
	int rc = dev_fe_read(dev, node, buf, sizeof buf);

	if (rc == -ENOENT) {
		*out = def;
		return 0;
	}
	return rc ? -EINVAL : parse_uint(buf, out);
}

static int vwrite(struct xs_store *xs, const char *dir, const char *node, const char *fmt,
		  va_list ap)
{
	char path[256], val[512];
	int rc = path_join(path, sizeof path, dir, node);
	int n = vsnprintf(val, sizeof val, fmt, ap);

	if (rc)
		return rc;
	if (n < 0 || (size_t)n >= sizeof val)
		return -E2BIG;
	return xs_write_str(xs, path, val);
}

int dev_be_write(struct dev *dev, const char *node, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vwrite(dev->rt->xs, dev->be_path, node, fmt, ap);
	va_end(ap);
	return rc;
}

static int fe_write(struct dev *dev, const char *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fe_write(struct dev *dev, const char *node, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vwrite(dev->rt->xs, dev->fe_path, node, fmt, ap);
	va_end(ap);
	return rc;
}

int xenbus_fe_state(struct dev *dev)
{
	char buf[16];
	unsigned long long v;

	if (dev_fe_read(dev, "state", buf, sizeof buf) || parse_uint(buf, &v) || v > 8)
		return -1;
	return (int)v;
}

int xenbus_switch(struct dev *dev, int state)
{
	if (dev->be_state == state)
		return 0;
	log_debug("domain %u: %s %u backend state %d -> %d", dev->domid, dev->kind->name,
		  dev->devid, dev->be_state, state);
	dev->be_state = state;
	return dev_be_write(dev, "state", "%d", state);
}

static void watch_fired(void *opaque, const char *path, const char *token)
{
	(void)path;
	(void)token;
	dev_kick(opaque);
}

/* Directory with permissions: owner (full), reader (read), others none.
 * Nodes written below it inherit them. */
static int mkdir_perms(struct devrt *rt, const char *path, uint32_t owner, uint32_t reader)
{
	struct xs_perm perms[2] = { { owner, XS_PERM_NONE }, { reader, XS_PERM_READ } };
	int rc = xs_mkdir(rt->xs, path);
	return rc ? rc : xs_set_perms(rt->xs, path, perms, 2);
}

static int write_pairs(struct dev *dev, const char *dir, const char *const *kv)
{
	for (; kv && kv[0]; kv += 2) {
		char path[256];
		int rc = path_join(path, sizeof path, dir, kv[0]);
		if (!rc)
			rc = xs_write_str(dev->rt->xs, path, kv[1] ? kv[1] : "");
		if (rc)
			return rc;
	}
	return 0;
}

int xenbus_create(struct dev *dev, const char *const *fe_extra, const char *const *be_extra,
		  char *err, size_t errlen)
{
	struct devrt *rt = dev->rt;
	int rc;

	/* A leftover frontend directory of an earlier device (the guest
	 * owns it and may have put anything there) is replaced. */
	xs_rm(rt->xs, dev->fe_path);
	xs_rm(rt->xs, dev->be_path);
	rc = mkdir_perms(rt, dev->be_path, 0, dev->domid);
	rc = rc ? rc : dev_be_write(dev, "frontend", "%s", dev->fe_path);
	rc = rc ? rc : dev_be_write(dev, "frontend-id", "%u", dev->domid);
	rc = rc ? rc : dev_be_write(dev, "online", "1");
	rc = rc ? rc : dev_be_write(dev, "state", "%d", XenbusStateInitialising);
	rc = rc ? rc : write_pairs(dev, dev->be_path, be_extra);
	rc = rc ? rc : mkdir_perms(rt, dev->fe_path, dev->domid, 0);
	rc = rc ? rc : fe_write(dev, "backend", "%s", dev->be_path);
	rc = rc ? rc : fe_write(dev, "backend-id", "0");
	rc = rc ? rc : fe_write(dev, "state", "%d", XenbusStateInitialising);
	rc = rc ? rc : fe_write(dev, "virtual-device", "%u", dev->devid);
	rc = rc ? rc : write_pairs(dev, dev->fe_path, fe_extra);
	dev->be_state = XenbusStateInitialising;
	if (!rc) {
		char path[256];
		snprintf(dev->watch_token, sizeof dev->watch_token, "kxen-dev:%s", dev->be_path);
		rc = path_join(path, sizeof path, dev->fe_path, "state");
		rc = rc ? rc : xs_watch(rt->xs, path, dev->watch_token, watch_fired, dev);
	}
	if (rc)
		snprintf(err, errlen, "cannot write the device's XenStore directories: %s",
			 strerror(-rc));
	return rc;
}

void xenbus_remove(struct dev *dev)
{
	struct devrt *rt = dev->rt;
	char path[256];

	if (dev->watch_token[0] && !path_join(path, sizeof path, dev->fe_path, "state"))
		xs_unwatch(rt->xs, path, dev->watch_token);
	dev->watch_token[0] = 0;
	xs_rm(rt->xs, dev->fe_path);
	xs_rm(rt->xs, dev->be_path);
	/* The per-domain backend directory goes with its last device. */
	snprintf(path, sizeof path, "/local/domain/0/backend/%s/%u", dev->kind->name, dev->domid);
	char **names;
	unsigned n;
	if (!xs_directory(rt->xs, path, &names, &n)) {
		if (n == 0)
			xs_rm(rt->xs, path);
		free(names);
	}
	devrt_serve_store(rt);
}

/* Disconnect with the store lock dropped (it may wait for I/O). */
static void disconnect_unlocked(struct dev *dev)
{
	if (!dev->connected)
		return;
	devrt_unlock(dev->rt);
	dev->kind->disconnect(dev);
	devrt_lock(dev->rt);
	dev->connected = false;
}

static bool fe_gone_or_closed(int fe)
{
	return fe < 0 || fe == XenbusStateUnknown || fe == XenbusStateInitialising ||
	       fe == XenbusStateClosed;
}

static void detach_step(struct dev *dev, int fe)
{
	bool timed_out = dev_now_ns() >= dev->detach_deadline;

	if (!fe_gone_or_closed(fe) && !timed_out)
		return;
	if (!fe_gone_or_closed(fe))
		log_warn("domain %u: %s %u: the frontend did not close (state %d), removing it "
			 "anyway", dev->domid, dev->kind->name, dev->devid, fe);
	disconnect_unlocked(dev);
	xenbus_switch(dev, XenbusStateClosed);
	xenbus_remove(dev);
	log_info("domain %u: %s %u detached", dev->domid, dev->kind->name, dev->devid);
	dev->detaching = false;
	atomic_store(&dev->finished, true);
}

static void connect(struct dev *dev)
{
	char why[256] = "";

	disconnect_unlocked(dev);     /* idempotent: a frontend that reconnects */
	if (dev->kind->connect(dev, why, sizeof why)) {
		log_warn("domain %u: %s %u cannot connect: %s", dev->domid, dev->kind->name,
			 dev->devid, why);
		dev_be_write(dev, "error", "%s", why);
		xenbus_switch(dev, XenbusStateClosing);
		dev->failed = true;
		return;
	}
	dev->connected = true;
	xenbus_switch(dev, XenbusStateConnected);
	log_info("domain %u: %s %u connected", dev->domid, dev->kind->name, dev->devid);
}

void xenbus_process(struct dev *dev)
{
	struct devrt *rt = dev->rt;

	devrt_lock(rt);
	int fe = xenbus_fe_state(dev);
	int ms = atomic_exchange(&dev->detach_ms, -1);
	if (ms >= 0 && !dev->detaching && !atomic_load(&dev->finished)) {
		dev->detaching = true;
		dev->detach_deadline = dev_now_ns() + (int64_t)ms * 1000000;
		dev_be_write(dev, "online", "0");
		xenbus_switch(dev, XenbusStateClosing);
	}
	if (dev->detaching) {
		detach_step(dev, fe);
		goto out;
	}
	if (fe == dev->fe_state_seen && fe != XenbusStateInitialised && fe != XenbusStateConnected)
		goto out;
	dev->fe_state_seen = fe;
	if (dev->failed) {
		/* Shut down for misbehaving: nothing until the frontend has
		 * closed; then it may start over. */
		if (!fe_gone_or_closed(fe))
			goto out;
		dev->failed = false;
		xenbus_switch(dev, XenbusStateClosed);
	}
	switch (fe) {
	case XenbusStateInitialising:
		if (dev->be_state == XenbusStateClosed)
			xenbus_switch(dev, XenbusStateInitWait);
		break;
	case XenbusStateInitialised:
	case XenbusStateConnected:
		if (dev->be_state == XenbusStateInitWait || dev->be_state == XenbusStateClosed)
			connect(dev);
		break;
	case XenbusStateClosing:
		xenbus_switch(dev, XenbusStateClosing);
		break;
	case XenbusStateInitWait:
	case XenbusStateReconfiguring:
	case XenbusStateReconfigured:
		break;
	default:    /* Closed, Unknown, or the frontend directory is gone */
		disconnect_unlocked(dev);
		if (dev->be_state != XenbusStateClosed && dev->be_state != XenbusStateInitWait)
			xenbus_switch(dev, XenbusStateClosed);
		break;
	}
out:
	devrt_serve_store(rt);
	devrt_unlock(rt);
}
