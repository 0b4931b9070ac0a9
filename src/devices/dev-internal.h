/*
 * The device runtime's private structures.
 *
 * struct devrt: the store, the domains and the devices; all of it is
 * guarded by the store lock (rt->store_lock), which device threads take
 * for XenStore work only.  struct dev: one device; its thread owns the
 * data path (rings, grants, I/O) and is the only one touching the kind's
 * private state.  Other threads talk to it through the atomics below and
 * its control eventfd.
 */
#ifndef KXEN_DEV_INTERNAL_H
#define KXEN_DEV_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/devices.h"

struct dev;

/* An fd a device waits on; the kind's handler runs on the device thread. */
struct dev_fd {
	int fd;
	void (*fn)(struct dev *dev, struct dev_fd *h);
	void *arg;
};

/* A device kind: looked up by name (dev_kind_find), never by port. */
struct dev_kind {
	const char *name;            /* XenStore directory name: "vbd", "vif" */
	/* Attach: check and open what backs the device, keep it in
	 * dev->priv, and write kind-specific backend nodes (dev_be_write)
	 * such as features.  Store lock held. */
	int (*open)(struct dev *dev, const void *config, char *err, size_t errlen);
	/* The frontend published its rings: read its nodes, map, bind (fds
	 * added with dev_fd_add), write what the frontend reads before
	 * Connected.  On failure why says what was wrong (it is logged and
	 * written to the backend's "error" node).  Store lock held. */
	int (*connect)(struct dev *dev, char *why, size_t len);
	/* Stop the rings: finish in-flight I/O, answer it, unmap, unbind.
	 * Idempotent.  Store lock NOT held (it may wait for I/O). */
	void (*disconnect)(struct dev *dev);
	/* Detach: release what open took. */
	void (*close)(struct dev *dev);
	/* Fill the kind's part of an info record (vdev, target, rings). */
	void (*info)(struct dev *dev, struct devrt_dev_info *out);
};

const struct dev_kind *dev_kind_find(const char *name);
extern const struct dev_kind vbd_kind;

struct rt_domain {
	struct domain *d;
	uint16_t domid;
	void *opaque;                /* the owner's, for hooks */
	struct dev *console;
	struct rt_domain *next;
};

struct devrt {
	struct xs_store *xs;
	struct devrt_hooks hooks;
	pthread_mutex_t store_lock;
	struct rt_domain *domains;
	struct dev *devs;
};

struct dev {
	struct devrt *rt;
	const struct dev_kind *kind;
	struct domain *d;
	uint16_t domid;
	unsigned devid;
	char fe_path[96], be_path[96];
	char watch_token[128];
	bool has_xenbus;             /* console: no */

	pthread_t thread;
	bool thread_started;
	int epfd;
	unsigned fd_gen;             /* bumped when an fd leaves the epoll set */
	struct dev_fd ctl;           /* eventfd: watch fired, detach, stop */
	atomic_bool stop;            /* go away now (domain destroyed) */
	atomic_int detach_ms;        /* -1 none, else the hot-unplug timeout */
	atomic_bool finished;        /* the thread is done, join it */

	/* Device thread only. */
	int be_state;                /* what we wrote */
	bool connected;              /* kind->connect succeeded, not disconnected */
	bool failed;                 /* shut down for misbehaving, until the frontend closes */
	bool detaching;
	int64_t detach_deadline;     /* CLOCK_MONOTONIC ns */
	int fe_state_seen;

	void *priv;                  /* the kind's */

	/* Statistics (any thread reads). */
	atomic_uint_fast64_t requests, bytes, events_in, events_out;

	struct dev *next;
};

/* runtime.c */
int dev_fd_add(struct dev *dev, struct dev_fd *h);
void dev_fd_del(struct dev *dev, struct dev_fd *h);
/* Wake the device thread to look at XenStore and its flags again. */
void dev_kick(struct dev *dev);
int64_t dev_now_ns(void);
struct rt_domain *rt_domain_find(struct devrt *rt, uint16_t domid);
/* Start a device's thread (after it is on rt->devs). */
int dev_start(struct dev *dev);
/* Create, open (kind->open) and start a XenBus device; fe_extra/be_extra
 * are NULL-terminated key, value lists of nodes libxl writes for the kind.
 * Store lock held. */
int devrt_dev_add(struct devrt *rt, uint16_t domid, const char *kind, unsigned devid,
		  const void *config, const char *const *fe_extra, const char *const *be_extra,
		  char *err, size_t errlen);
/* The device shuts itself down for misbehaviour of the frontend: logged
 * with why; the rings are torn down and the backend says Closing with an
 * "error" node.  Device thread, store lock NOT held. */
void dev_fail(struct dev *dev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* xenbus.c: the XenBus side of a device (store lock held unless said). */
int xenbus_create(struct dev *dev, const char *const *fe_extra, const char *const *be_extra,
		  char *err, size_t errlen);
void xenbus_remove(struct dev *dev);
int xenbus_switch(struct dev *dev, int state);
int xenbus_fe_state(struct dev *dev);
/* Read a frontend node (relative to fe_path) into buf; -ENOENT if none. */
int dev_fe_read(struct dev *dev, const char *node, char *buf, size_t len);
/* Read an unsigned frontend node; def if absent; -EINVAL if not a number. */
int dev_fe_read_uint(struct dev *dev, const char *node, unsigned long long def,
		     unsigned long long *out);
int dev_be_write(struct dev *dev, const char *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int dev_be_read(struct dev *dev, const char *node, char *buf, size_t len);
/* The state machine step: run on the device thread when kicked.  Takes
 * and releases the store lock itself. */
void xenbus_process(struct dev *dev);

/* console.c */
struct dev *console_dev_create(struct devrt *rt, struct rt_domain *rd);
void console_dev_drain(struct dev *dev);
void console_dev_free(struct dev *dev);

#endif
