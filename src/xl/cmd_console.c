/*
 * xl console DOM, and the relay shared with `xl create -c`.
 *
 * On a terminal the relay puts it in raw mode (restored on every way
 * out) and Ctrl-] (0x1d) detaches, as in Xen's xenconsole.  Without a
 * terminal (a pipe in tests) stdin is forwarded until EOF and the guest's
 * output is copied until the daemon closes the stream (domain gone).
 */
#include "xl/xl.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#define ESCAPE_CHAR 0x1d   /* Ctrl-] */

struct relay {
	int sock;
	bool stdin_open;
	bool tty;
	struct termios saved;
};

static int tty_raw(struct relay *r)
{
	struct termios raw;

	r->tty = isatty(STDIN_FILENO);
	if (!r->tty)
		return 0;
	if (tcgetattr(STDIN_FILENO, &r->saved)) {
		xl_err("tcgetattr: %s", strerror(errno));
		return -errno;
	}
	raw = r->saved;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw)) {
		xl_err("tcsetattr: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void tty_restore(struct relay *r)
{
	if (r->tty && tcsetattr(STDIN_FILENO, TCSANOW, &r->saved))
		xl_err("cannot restore the terminal: %s", strerror(errno));
}

/* Returns 1 when the user detached, 0 to go on, -errno on failure. */
static int relay_stdin(struct relay *r)
{
	char buf[1024];
	ssize_t n = read(STDIN_FILENO, buf, sizeof buf);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0) {
		/* No more input; keep showing output until the domain goes. */
		r->stdin_open = false;
		if (shutdown(r->sock, SHUT_WR))
			return -errno;
		return 0;
	}
	char *esc = r->tty ? memchr(buf, ESCAPE_CHAR, (size_t)n) : NULL;
	size_t len = esc ? (size_t)(esc - buf) : (size_t)n;
	int rc = ctl_write_all(r->sock, buf, len);
	if (rc)
		return rc;
	return esc ? 1 : 0;
}

/* Returns 1 when the daemon closed the stream, 0 to go on. */
static int relay_sock(struct relay *r)
{
	char buf[4096];
	ssize_t n = read(r->sock, buf, sizeof buf);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return 1;
	int rc = ctl_write_all(STDOUT_FILENO, buf, (size_t)n);
	return rc;
}

static int relay_loop(struct relay *r)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = r->sock, .events = POLLIN },
			{ .fd = r->stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
		};
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		int rc = 0;
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			rc = relay_sock(r);
		if (rc == 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			rc = relay_stdin(r);
		if (rc)
			return rc < 0 ? rc : 0;
	}
}

int xl_console_relay(struct xl_conn *c)
{
	struct relay r = { .sock = c->fd, .stdin_open = true };
	int rc;

	fflush(stdout);
	if (c->extra_len && ctl_write_all(STDOUT_FILENO, c->extra, c->extra_len))
		return 1;
	if (tty_raw(&r))
		return 1;
	rc = relay_loop(&r);
	tty_restore(&r);
	if (rc) {
		xl_err("console: %s", strerror(-rc));
		return 1;
	}
	return 0;
}

int main_console(int argc, char **argv)
{
	struct ctl_msg req, rep;
	struct xl_conn conn = { .fd = -1 };
	int c, rc;

	/* -t TYPE and -n NUM exist in Xen's xl; there is one console here. */
	while ((c = getopt(argc, argv, "+ht:n:")) != -1) {
		if (c == 't' || c == 'n')
			continue;
		help("console", c != 'h');
		return c != 'h';
	}
	if (argc - optind != 1) {
		help("console", true);
		return 1;
	}
	ctl_msg_init(&req);
	ctl_msg_init(&rep);
	rc = ctl_msg_set_head(&req, "console") || ctl_msg_add(&req, "dom", argv[optind]);
	if (rc)
		xl_err("bad domain name \"%s\"", argv[optind]);
	else
		rc = xl_call(&req, &rep, &conn);
	if (!rc) {
		rc = xl_console_relay(&conn);
		xl_conn_close(&conn);
	}
	ctl_msg_dispose(&rep);
	ctl_msg_dispose(&req);
	return rc;
}
