/*
 * Blocking socket helpers for clients of kxend, and where its socket lives.
 */
#include "control/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int ctl_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		/* send() with MSG_NOSIGNAL: a daemon that went away must be an
		 * error, not a SIGPIPE; fall back to write() for non-sockets. */
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int ctl_send(int fd, const struct ctl_msg *m, bool is_request)
{
	char *buf;
	size_t len;
	int rc = ctl_msg_encode(m, is_request, &buf, &len);
	if (rc)
		return rc;
	rc = ctl_write_all(fd, buf, len);
	free(buf);
	return rc;
}

int ctl_recv(int fd, bool is_request, struct ctl_msg *out,
	     char *extra, size_t extra_cap, size_t *extra_len,
	     char *err, size_t errlen)
{
	struct ctl_parser p;
	char buf[4096];
	int rc = 0;

	*extra_len = 0;
	ctl_parser_init(&p, is_request);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen, "read: %s", strerror(errno));
			break;
		}
		if (n == 0) {
			rc = -ECONNRESET;
			snprintf(err, errlen, "the daemon closed the connection");
			break;
		}
		size_t used = 0;
		rc = ctl_parser_feed(&p, buf, (size_t)n, &used, out);
		if (rc < 0) {
			snprintf(err, errlen, "bad message from the daemon: %s", p.err);
			break;
		}
		if (rc == 1) {
			size_t left = (size_t)n - used;
			if (left > extra_cap)
				left = extra_cap;
			if (extra && left)
				memcpy(extra, buf + used, left);
			*extra_len = extra ? left : 0;
			rc = 0;
			break;
		}
	}
	ctl_parser_dispose(&p);
	return rc;
}

const char *ctl_rundir(void)
{
	const char *d = getenv("KXEN_RUNDIR");
	return d && *d ? d : CTL_DEFAULT_RUNDIR;
}

int ctl_socket_path(char *buf, size_t len)
{
	struct sockaddr_un sun;
	int n = snprintf(buf, len, "%s/%s", ctl_rundir(), CTL_SOCKET_NAME);
	if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof sun.sun_path)
		return -ENAMETOOLONG;
	return 0;
}
