/*
 * xl's side of the control socket: connect (starting kxend from the
 * directory of this xl binary if no daemon answers), send a request, read
 * the reply.
 */
#include "xl/xl.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DAEMON_START_TIMEOUT_MS 5000

void xl_err(const char *fmt, ...)
{
	va_list ap;

	fputs("xl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int try_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun)) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* kxend lives next to xl (build/xl and build/kxend, or both installed in
 * one bin directory). */
static int daemon_path(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	if (n < 0)
		return -errno;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = 0;
	if (snprintf(buf, len, "%s/kxend", self) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/* Run kxend; it detaches once its socket is listening, so waiting for
 * the starting process is enough; the connect loop covers the rest. */
static int start_daemon(void)
{
	char path[PATH_MAX];
	int status, rc = daemon_path(path, sizeof path);

	if (rc) {
		xl_err("cannot find kxend: %s", strerror(-rc));
		return rc;
	}
	pid_t pid = fork();
	if (pid < 0) {
		xl_err("fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		execl(path, "kxend", (char *)NULL);
		fprintf(stderr, "xl: cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			xl_err("waitpid: %s", strerror(errno));
			return -errno;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		xl_err("kxend did not start (see %s/kxend.log)", ctl_rundir());
		return -ECHILD;
	}
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int xl_connect(void)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;

	if (ctl_socket_path(path, sizeof path)) {
		xl_err("KXEN_RUNDIR is too long for a socket path");
		return -ENAMETOOLONG;
	}
	fd = try_connect(path);
	if (fd >= 0)
		return fd;
	if (fd != -ENOENT && fd != -ECONNREFUSED) {
		xl_err("cannot connect to %s: %s", path, strerror(-fd));
		return fd;
	}
	if (start_daemon())
		return -ECHILD;
	for (int waited = 0; waited < DAEMON_START_TIMEOUT_MS; waited += 50) {
		fd = try_connect(path);
		if (fd >= 0)
			return fd;
		sleep_ms(50);
	}
	xl_err("kxend started but %s does not answer: %s", path, strerror(-fd));
	return fd;
}

void xl_conn_close(struct xl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int xl_call(struct ctl_msg *req, struct ctl_msg *rep, struct xl_conn *keep)
{
	return xl_call_ex(req, rep, keep, false);
}

int xl_call_ex(struct ctl_msg *req, struct ctl_msg *rep, struct xl_conn *keep, bool quiet)
{
	struct xl_conn conn = { .fd = -1 };
	char err[256];
	int rc;

	conn.fd = xl_connect();
	if (conn.fd < 0)
		return 1;
	int sent = ctl_send(conn.fd, req, true);
	/* A daemon that refuses us says why and hangs up, maybe before our
	 * request went out: its answer is worth reading even then. */
	rc = sent && sent != -EPIPE ? sent :
	     ctl_recv(conn.fd, false, rep, conn.extra, sizeof conn.extra, &conn.extra_len,
		      err, sizeof err);
	if (rc && sent) {
		xl_err("cannot send the request to kxend: %s", strerror(-sent));
		goto fail;
	}
	if (rc) {
		xl_err("%s", err);
		goto fail;
	}
	for (size_t i = 0; i < rep->nr_fields; i++)
		if (!strcmp(rep->fields[i].key, "notice"))
			xl_err("warning: %s", rep->fields[i].val);
	if (strcmp(rep->head, "ok")) {
		if (!quiet)
			xl_err("%s", rep->head + strlen("error "));
		goto fail;
	}
	if (keep)
		*keep = conn;
	else
		xl_conn_close(&conn);
	return 0;
fail:
	xl_conn_close(&conn);
	return 1;
}

int xl_call_dom(const char *command, const char *dom, struct ctl_msg *rep)
{
	struct ctl_msg req;
	int rc = 1;

	ctl_msg_init(&req);
	if (ctl_msg_set_head(&req, command) || ctl_msg_add(&req, "dom", dom))
		xl_err("bad domain name \"%s\"", dom);
	else
		rc = xl_call(&req, rep, NULL);
	ctl_msg_dispose(&req);
	return rc;
}
