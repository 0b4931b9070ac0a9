/*
 * Device backends: the one runtime kxend and kxen-run share.
 *
 * A backend is "domain 0" for a guest's split drivers.  Each device kind
 * (the PV console, "vbd" block devices; "vif" later) is an ops table found
 * by its name; each device runs on its own thread, woken directly by the
 * guest's event channel (an eventfd the vCPU thread writes) and by XenStore
 * watches, never on the owner's control loop.  Devices with a XenBus
 * presence get the directories, permissions and state machine libxl and
 * Linux's backends use (see xenbus.c).
 *
 * The store lock: the XenStore is single-threaded, so the owner (kxend's
 * loop, kxen-run's store hook) holds devrt_lock() whenever it uses the
 * store, and device threads take it for their XenStore work.  Functions
 * below marked "store lock held" must be called with it; the ones that
 * wait for a device thread release it while waiting.  In-process watch
 * callbacks may run on device threads (under the lock).  Order: the store
 * lock before any core lock.
 */
#ifndef KXEN_DEVICES_H
#define KXEN_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct domain;
struct xs_store;
struct devrt;

/* ---- the PV console ring (xencons_interface), hostile indices checked ---- */
/* Copy guest console output; returns bytes copied (0..max), or -EINVAL if
 * the ring's indices are insane.  Advances out_cons. */
int console_ring_read(void *page, char *buf, size_t max);
/* Queue input for the guest; returns bytes accepted. */
size_t console_ring_write(void *page, const char *buf, size_t len);

/* ---- the runtime ------------------------------------------------------------ */
struct devrt_hooks {
	/* Guest console output (the PV console ring), on the console's
	 * thread: copy it and return.  dom_opaque is devrt_domain_add's. */
	void (*console_output)(void *dom_opaque, const char *buf, size_t len);
};

struct devrt *devrt_create(struct xs_store *xs, const struct devrt_hooks *hooks);
/* After every domain was removed. */
void devrt_destroy(struct devrt *rt);
void devrt_lock(struct devrt *rt);
void devrt_unlock(struct devrt *rt);
/* Serve every guest's store ring (notifying them) and deliver watch
 * events; store lock held. */
void devrt_serve_store(struct devrt *rt);

/* A domain's devices live from add to remove.  add starts the console
 * backend on the domain's console ring; remove stops every device of the
 * domain at once (in-flight I/O completes first, the console ring is
 * drained), so call it before domain_destroy.  Store lock held. */
int devrt_domain_add(struct devrt *rt, struct domain *d, void *opaque);
void devrt_domain_remove(struct devrt *rt, uint16_t domid);
/* Remove the domain's XenBus devices at once, keeping its console (a
 * preserved domain whose devices go to its successor).  Store lock held. */
void devrt_domain_detach_all(struct devrt *rt, uint16_t domid);
/* Console input for the guest; returns bytes accepted (the rest is
 * dropped: the ring is full).  Store lock held. */
size_t devrt_console_input(struct devrt *rt, uint16_t domid, const char *buf, size_t len);

/* ---- devices on XenBus -------------------------------------------------------- */
enum vbd_devtype { VBD_DISK, VBD_CDROM };

/* A block device as xl's disk spec gives it. */
struct vbd_config {
	const char *target;      /* raw image file or host block device */
	const char *vdev;        /* "xvda", "hdc", "sda1", ... */
	bool readonly;           /* access=r */
	enum vbd_devtype devtype;
	int discard;             /* -1 default (on where the store can), 0, 1 */
	const char *format;      /* only "raw" is supported */
};

/* Xen's device number of a virtual device name (xvda = 51712, hda = 768,
 * sda = 2048, xvdq = 268439552, ...), or -EINVAL. */
int vbd_vdev_to_devid(const char *vdev);
/* Whether a format name is one the block backend can serve; when not, why
 * says what is supported. */
bool vbd_format_supported(const char *format, char *why, size_t len);

/* Attach a device: opens the backing store, writes the frontend and
 * backend directories and starts the device's thread.  Store lock held.
 * err says what went wrong (e.g. the image cannot be opened). */
int devrt_vbd_add(struct devrt *rt, uint16_t domid, const struct vbd_config *cfg, char *err,
		  size_t errlen);
/* The same from an xl disk spec (xl-disk-configuration(5)); vdev_out
 * (may be NULL) gets the virtual device name.  Formats other than raw,
 * empty drives, script= and other backend domains are refused, saying
 * what is supported. */
int devrt_disk_attach(struct devrt *rt, uint16_t domid, const char *spec, char *vdev_out,
		      size_t vdev_len, char *err, size_t errlen);
/* Hot-unplug: the backend asks the frontend to close (state Closing,
 * online 0) and the device goes away once the frontend has closed, or
 * after timeout_ms (0: at once, without waiting) when it has not.
 * Returns at once; devrt_dev_find reports the device until it is gone.
 * Store lock held.  -ENOENT if there is no such device. */
int devrt_dev_remove(struct devrt *rt, uint16_t domid, const char *kind, unsigned devid,
		     int timeout_ms);
/* Whether the device exists (still attached or going away). */
bool devrt_dev_find(struct devrt *rt, uint16_t domid, const char *kind, unsigned devid);

/* What `xl block-list` shows; fills at most max, returns the count. */
struct devrt_dev_info {
	char kind[8];
	unsigned devid;
	int be_state, fe_state;  /* XenbusState; -1 unknown */
	uint32_t evtchn;         /* queue 0's, 0 if none */
	uint32_t ring_ref;       /* queue 0's, 0 if none */
	char be_path[128];
	char vdev[16];
	char target[256];
	bool readonly;
	/* statistics since attach */
	uint64_t requests, bytes, events_in, events_out;
};
int devrt_dev_list(struct devrt *rt, uint16_t domid, const char *kind,
		   struct devrt_dev_info *out, int max);

#endif
