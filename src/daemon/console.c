/*
 * Guest consoles: everything a guest prints (HYPERVISOR_console_io on vCPU
 * threads, the PV console ring on the console backend's thread) is
 * buffered and moved by the loop to <rundir>/console/<name>.log and to
 * every attached console client; client input goes into the ring's in[]
 * through the device runtime.
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

int console_open_log(struct kxend *k, struct kdom *kd, char *err, size_t errlen)
{
	char path[PATH_MAX];

	int n = snprintf(path, sizeof path, "%s/console/%s.log", k->rundir, kd->name);
	if (n < 0 || (size_t)n >= sizeof path) {
		snprintf(err, errlen, "console log path too long");
		return -ENAMETOOLONG;
	}
	/* A new domain of an old name starts a fresh log: the file is "what
	 * this domain printed"; a restart (on_* = restart) continues it. */
	kd->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
			  (kd->restarts ? 0 : O_TRUNC), 0640);
	if (kd->log_fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open console log %s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

static void console_emit(struct kdom *kd, const char *buf, size_t len)
{
	int rc = kd->log_fd >= 0 ? ctl_write_all(kd->log_fd, buf, len) : 0;

	if (rc) {
		log_warn("console log of %s: write failed, logging stops: %s", kd->name,
			 strerror(-rc));
		if (close(kd->log_fd))
			log_warn("close console log of %s: %s", kd->name, strerror(errno));
		kd->log_fd = -1;
	}
	for (struct client *c = kd->k->clients; c; c = c->next)
		if (c->mode == CLIENT_CONSOLE && c->console_domid == kd->domid && !c->dead)
			client_queue(c, buf, len);
}

void console_output(void *opaque, const char *buf, size_t len)
{
	struct kdom *kd = opaque;

	pthread_mutex_lock(&kd->io_lock);
	size_t room = KXEND_IO_BUF_MAX - kd->io_len;
	if (len > room)
		len = room;     /* the loop is far behind: drop, never block */
	if (len && !kd->io_buf)
		kd->io_buf = malloc(KXEND_IO_BUF_MAX);
	if (len && kd->io_buf) {
		memcpy(kd->io_buf + kd->io_len, buf, len);
		kd->io_len += len;
	}
	pthread_mutex_unlock(&kd->io_lock);
	atomic_fetch_or(&kd->pending, KD_EV_CONSOLE);
	kxend_wake(kd->k);
}

void console_flush(struct kdom *kd)
{
	char *buf;
	size_t len;

	/* Swap the buffer out so the producers are held for a pointer swap,
	 * not for file and socket writes. */
	pthread_mutex_lock(&kd->io_lock);
	buf = kd->io_buf;
	len = kd->io_len;
	kd->io_buf = NULL;
	kd->io_len = 0;
	pthread_mutex_unlock(&kd->io_lock);
	if (len)
		console_emit(kd, buf, len);
	free(buf);
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
