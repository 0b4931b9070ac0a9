/*
 * Guest consoles: everything a guest prints -- HYPERVISOR_console_io on
 * vCPU threads, the PV console ring on the console backend's thread
 * (src/devices) -- is buffered and moved by the loop to
 * <rundir>/console/<name>.log (logs.c) and to every attached console
 * client; console_io text also goes to kxend.log.  Client input goes into
 * the ring's in[] through the device runtime.
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

/* Append to one of the buffers; the loop is far behind when it is full:
 * drop, never block the producer. */
static void buffer(struct kdom *kd, char **bufp, size_t *lenp, const char *buf, size_t len)
{
	pthread_mutex_lock(&kd->io_lock);
	size_t room = KXEND_IO_BUF_MAX - *lenp;
	if (len > room)
		len = room;
	if (len && !*bufp)
		*bufp = malloc(KXEND_IO_BUF_MAX);
	if (len && *bufp) {
		memcpy(*bufp + *lenp, buf, len);
		*lenp += len;
	}
	pthread_mutex_unlock(&kd->io_lock);
	atomic_fetch_or(&kd->pending, KD_EV_CONSOLE);
	kxend_wake(kd->k);
}

void console_io_output(struct kdom *kd, const char *buf, size_t len)
{
	buffer(kd, &kd->io_buf, &kd->io_len, buf, len);
}

void console_output(void *opaque, const char *buf, size_t len)
{
	struct kdom *kd = opaque;
	buffer(kd, &kd->ring_buf, &kd->ring_len, buf, len);
}

void console_flush(struct kdom *kd)
{
	char *io, *ring;
	size_t io_len, ring_len;

	/* Swap the buffers out so the producers are held for a pointer swap,
	 * not for file and socket writes. */
	pthread_mutex_lock(&kd->io_lock);
	io = kd->io_buf;
	io_len = kd->io_len;
	ring = kd->ring_buf;
	ring_len = kd->ring_len;
	kd->io_buf = kd->ring_buf = NULL;
	kd->io_len = kd->ring_len = 0;
	pthread_mutex_unlock(&kd->io_lock);
	if (io_len) {
		console_emit(kd, io, io_len);
		kd_log_output(kd, io, io_len);
	}
	if (ring_len)
		console_emit(kd, ring, ring_len);
	free(io);
	free(ring);
}

void console_attach(struct kdom *kd, struct client *c)
{
	c->mode = CLIENT_CONSOLE;
	c->console_domid = kd->domid;
}

void console_input(struct kxend *k, struct client *c, const char *buf, size_t len)
{
	struct kdom *kd = kd_by_domid(k, c->console_domid);

	if (!kd || !kd->d)
		return;
	size_t n = devrt_console_input(k->rt, kd->domid, buf, len);
	if (n < len)
		log_debug("domain %u: console input ring full, %zu bytes dropped",
			  kd->domid, len - n);
}

void console_detach_all(struct kxend *k, uint16_t domid)
{
	for (struct client *c = k->clients; c; c = c->next)
		if (c->mode == CLIENT_CONSOLE && c->console_domid == domid)
			c->close_after_flush = true;
}
