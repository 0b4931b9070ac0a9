/*
 * Guest consoles: everything a guest prints (HYPERVISOR_console_io and the
 * PV console ring) goes to <rundir>/console/<name>.log (logs.c) and to every
 * attached console client; client input goes into the ring's in[].
 */
#include "daemon/kxend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "core/core.h"
#include "devices/devices.h"

static void console_emit(struct kdom *kd, const char *buf, size_t len)
{
	console_log_write(kd, buf, len);
	for (struct client *c = kd->k->clients; c; c = c->next)
		if (c->mode == CLIENT_CONSOLE && c->console_domid == kd->domid && !c->dead)
			client_queue(c, buf, len);
}

static void console_flush_io(struct kdom *kd)
{
	char *buf;
	size_t len;

	/* Swap the buffer out so vCPU threads are held for a pointer swap,
	 * not for file and socket writes. */
	pthread_mutex_lock(&kd->io_lock);
	buf = kd->io_buf;
	len = kd->io_len;
	kd->io_buf = NULL;
	kd->io_len = 0;
	pthread_mutex_unlock(&kd->io_lock);
	if (len) {
		console_emit(kd, buf, len);
		kd_log_output(kd, buf, len);
	}
	free(buf);
}

static void console_flush_ring(struct kdom *kd)
{
	void *ring = kd->d ? domain_console_ring(kd->d) : NULL;
	char buf[2048];
	bool got = false;
	int n = 0;

	if (!ring)
		return;
	/* At most a few ring's worth per wake-up: a guest refilling as fast
	 * as we drain must not keep the loop here. */
	for (int i = 0; i < 8 && (n = console_ring_read(ring, buf, sizeof buf)) > 0; i++) {
		console_emit(kd, buf, (size_t)n);
		got = true;
	}
	if (n < 0 && !kd->ring_broken_logged) {
		kd_log(kd, LOG_WARN, "domain %u (%s): console ring indices are insane, "
		       "ignoring it", kd->domid, kd->name);
		kd->ring_broken_logged = true;
	}
	if (got)
		domain_notify(kd->d, domain_console_port(kd->d));
}

void console_flush(struct kdom *kd, bool ring)
{
	console_flush_io(kd);
	if (ring)
		console_flush_ring(kd);
}

void console_attach(struct kdom *kd, struct client *c)
{
	c->mode = CLIENT_CONSOLE;
	c->console_domid = kd->domid;
}

void console_input(struct kxend *k, struct client *c, const char *buf, size_t len)
{
	struct kdom *kd = kd_by_domid(k, c->console_domid);
	void *ring = kd && kd->d ? domain_console_ring(kd->d) : NULL;

	if (!ring)
		return;
	size_t n = console_ring_write(ring, buf, len);
	if (n < len)
		log_debug("domain %u: console input ring full, %zu bytes dropped",
			  kd->domid, len - n);
	if (n)
		domain_notify(kd->d, domain_console_port(kd->d));
}

void console_detach_all(struct kxend *k, uint16_t domid)
{
	for (struct client *c = k->clients; c; c = c->next)
		if (c->mode == CLIENT_CONSOLE && c->console_domid == domid)
			c->close_after_flush = true;
}
