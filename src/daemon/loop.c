/*
 * kxend's event loop: one thread polls the listening socket, the clients,
 * the wake eventfd (written by vCPU-thread hooks) and the signalfd.
 * Everything that touches the store, the domain list or a client runs
 * here, so none of it needs a lock.
 */
#include "daemon/kxend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/common.h"
#include "sched/invariants.h"

void kxend_wake(struct kxend *k)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: the loop will wake. */
	if (write(k->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn("wake eventfd: %s", strerror(errno));
}

/* ---- client output ------------------------------------------------------------ */

static void client_flush(struct client *c)
{
	while (c->out_len && !c->dead) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			c->dead = true;   /* the peer went away */
			return;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
}

void client_queue(struct client *c, const void *buf, size_t len)
{
	if (c->dead || !len)
		return;
	if (c->out_len + len > KXEND_CLIENT_OUT_MAX) {
		/* A client that stopped reading loses console output rather
		 * than growing the daemon without bound. */
		len = KXEND_CLIENT_OUT_MAX - c->out_len;
		if (!len)
			return;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + len)
			cap *= 2;
		char *p = realloc(c->out, cap);
		if (!p) {
			c->dead = true;
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	client_flush(c);
}

void client_reply(struct client *c, const struct ctl_msg *m)
{
	char *buf;
	size_t len;

	if (ctl_msg_encode(m, false, &buf, &len)) {
		c->dead = true;
		return;
	}
	client_queue(c, buf, len);
	free(buf);
}

/* ---- clients ------------------------------------------------------------------ */

static void client_free(struct client *c)
{
	if (close(c->fd))
		log_debug("close client: %s", strerror(errno));
	ctl_parser_dispose(&c->parser);
	free(c->out);
	free(c);
}

/* Only root and the daemon's own user may drive it: the socket's mode
 * says so too, this holds even if someone loosens the mode. */
static bool peer_allowed(int fd)
{
	static int64_t last_warned;
	struct ucred cred = { 0 };
	socklen_t len = sizeof cred;
	bool known = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
		     len == sizeof cred;

	if (known && (cred.uid == 0 || cred.uid == geteuid()))
		return true;
	/* A local user knocking must not flood the log either. */
	if (now_ns() - last_warned > 10ll * 1000 * 1000 * 1000) {
		last_warned = now_ns();
		log_warn("refused a control connection from uid %ld (pid %ld)",
			 known ? (long)cred.uid : -1L, known ? (long)cred.pid : -1L);
	}
	return false;
}

static void accept_client(struct kxend *k)
{
	int fd = accept4(k->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("accept: %s", strerror(errno));
		return;
	}
	if (!peer_allowed(fd)) {
		static const char denied[] = "error permission denied: only root or the "
					     "daemon's user may control kxend\n\n";
		if (send(fd, denied, sizeof denied - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("refusing a client: %s", strerror(errno));
		close(fd);
		return;
	}
	struct client *c = k->nr_clients < KXEND_MAX_CLIENTS ? calloc(1, sizeof *c) : NULL;
	if (!c) {
		static const char busy[] = "error too many connections\n\n";
		if (send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("refusing a client: %s", strerror(errno));
		close(fd);
		return;
	}
	c->fd = fd;
	ctl_parser_init(&c->parser, true);
	c->next = k->clients;
	k->clients = c;
	k->nr_clients++;
}

static void client_bad_request(struct client *c)
{
	struct ctl_msg rep;

	ctl_msg_init(&rep);
	ctl_msg_set_error(&rep, "bad request: %s", c->parser.err);
	client_reply(c, &rep);
	ctl_msg_dispose(&rep);
	/* The stream is out of step: say why, then hang up. */
	c->close_after_flush = true;
}

/* Control bytes: decode requests one by one; once a request turns the
 * connection into a console, the rest of buf is console input. */
static void client_control_input(struct kxend *k, struct client *c, const char *buf, size_t len)
{
	while (len && !c->dead && !c->close_after_flush) {
		if (c->mode == CLIENT_CONSOLE) {
			console_input(k, c, buf, len);
			return;
		}
		struct ctl_msg req;
		size_t used = 0;
		int rc = ctl_parser_feed(&c->parser, buf, len, &used, &req);
		buf += used;
		len -= used;
		if (rc < 0) {
			client_bad_request(c);
			return;
		}
		if (rc == 1) {
			command_dispatch(k, c, &req);
			ctl_msg_dispose(&req);
		}
	}
}

static void client_read(struct kxend *k, struct client *c)
{
	char buf[4096];
	ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			c->dead = true;
		return;
	}
	if (n == 0) {
		/* Half-closed: a console client may still want output. */
		c->read_closed = true;
		if (c->mode != CLIENT_CONSOLE && !c->out_len)
			c->dead = true;
		else if (c->mode != CLIENT_CONSOLE)
			c->close_after_flush = true;
		return;
	}
	client_control_input(k, c, buf, (size_t)n);
}

static void reap_clients(struct kxend *k)
{
	for (struct client **pp = &k->clients; *pp;) {
		struct client *c = *pp;
		if (c->close_after_flush && !c->out_len)
			c->dead = true;
		if (!c->dead) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		k->nr_clients--;
		client_free(c);
	}
}

/* ---- the loop ------------------------------------------------------------------ */

static void drain_wake(struct kxend *k)
{
	uint64_t v;

	if (read(k->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
		log_warn("wake eventfd: %s", strerror(errno));
}

static void drain_signals(struct kxend *k)
{
	struct signalfd_siginfo si;

	while (read(k->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGHUP) {
			kxend_reopen_logs(k);
			continue;
		}
		log_info("signal %u: stopping", si.ssi_signo);
		k->stopping = true;
	}
}

enum { PFD_LISTEN, PFD_WAKE, PFD_SIG, PFD_FIRST_CLIENT };

static size_t build_pollfds(struct kxend *k, struct pollfd *pfd, struct client **who)
{
	size_t n = PFD_FIRST_CLIENT;

	pfd[PFD_LISTEN] = (struct pollfd){ .fd = k->listen_fd, .events = POLLIN };
	pfd[PFD_WAKE] = (struct pollfd){ .fd = k->wake_fd, .events = POLLIN };
	pfd[PFD_SIG] = (struct pollfd){ .fd = k->sig_fd, .events = POLLIN };
	for (struct client *c = k->clients; c; c = c->next) {
		short ev = c->read_closed || c->close_after_flush ? 0 : POLLIN;
		if (c->out_len)
			ev |= POLLOUT;
		who[n] = c;
		pfd[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
	}
	return n;
}

static void serve_clients(struct kxend *k, struct pollfd *pfd, struct client **who, size_t n)
{
	for (size_t i = PFD_FIRST_CLIENT; i < n; i++) {
		struct client *c = who[i];
		if (pfd[i].revents & POLLOUT)
			client_flush(c);
		if (pfd[i].revents & POLLIN)
			client_read(k, c);
		else if (pfd[i].revents & (POLLHUP | POLLERR))
			c->dead = true;
	}
}

/* A scheduler invariant that broke was backed out, not fatal (sched.h);
 * it is still a bug worth a line in the log. */
static void report_sched_invariants(struct kxend *k)
{
	const char *last;
	unsigned long n = sched_invariant_failures(&last);

	if (n == k->sched_failures_seen)
		return;
	log_err("scheduler: %lu invariant check(s) failed (backed out), the last: %s",
		n - k->sched_failures_seen, last ? last : "?");
	k->sched_failures_seen = n;
}

int kxend_loop(struct kxend *k)
{
	struct pollfd pfd[PFD_FIRST_CLIENT + KXEND_MAX_CLIENTS];
	struct client *who[PFD_FIRST_CLIENT + KXEND_MAX_CLIENTS];

	while (!k->stopping) {
		size_t n = build_pollfds(k, pfd, who);
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			return -errno;
		}
		if (pfd[PFD_SIG].revents & POLLIN)
			drain_signals(k);
		if (pfd[PFD_WAKE].revents & POLLIN)
			drain_wake(k);
		/* Guest events first: a console client created just now must
		 * see output in order after its reply. */
		kd_process_events(k);
		report_sched_invariants(k);
		serve_clients(k, pfd, who, n);
		if (pfd[PFD_LISTEN].revents & POLLIN)
			accept_client(k);
		reap_clients(k);
	}
	return 0;
}
