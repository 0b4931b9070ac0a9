/*
 * kxend: the kxen daemon.  Holds every domain (each its own KVM VM in this
 * process), serves the XenStore and the consoles, and answers the control
 * socket <rundir>/kxend.sock (docs/control-api.md).
 *
 *   kxend [--foreground] [--help]
 *
 * $KXEN_RUNDIR (default /run/kxen) holds kxend.sock, kxend.pid, kxend.log,
 * console/<name>.log (capped and rotated, see logs.c) and the record of
 * running domains (record.c); it must be safe from other users (see
 * rundir_setup).  SIGTERM and SIGINT stop the daemon, SIGHUP reopens its
 * logs.  Without --foreground the daemon detaches once its socket is
 * listening, so a client may connect as soon as the starting process
 * exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/common.h"
#include "core/core.h"
#include "daemon/kxend.h"
#include "xenstore/xenstore.h"

/* <rundir>/<name>; the rundir was length-checked, so this fits. */
static const char *run_path(const struct kxend *k, const char *name, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s/%s", k->rundir, name) >= (int)len)
		buf[0] = 0;
	return buf;
}

/* Creates the missing ancestors of path (not path itself); the daemon's
 * umask leaves them 0700. */
static int mkdir_parents(const char *path)
{
	char buf[PATH_MAX];
	int n = snprintf(buf, sizeof buf, "%s", path);

	if (n < 0 || (size_t)n >= sizeof buf)
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* Every ancestor of the run dir must be safe from other users: owned by
 * root or us, and writable by nobody else unless sticky (like /tmp),
 * or they could swap the run dir for one of theirs. */
static int check_ancestors(const char *path, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	struct stat st;

	snprintf(buf, sizeof buf, "%s", path);
	for (char *slash = strrchr(buf, '/'); slash; slash = strrchr(buf, '/')) {
		if (slash == buf)
			slash[1] = 0;
		else
			*slash = 0;
		if (stat(buf, &st)) {
			snprintf(err, errlen, "cannot check %.300s: %s", buf, strerror(errno));
			return -errno;
		}
		bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX);
		if ((st.st_uid != 0 && st.st_uid != geteuid()) || others_write) {
			snprintf(err, errlen, "refusing KXEN_RUNDIR %.150s: its parent %.150s is "
				 "%s", path, buf, others_write ? "writable by other users"
							 : "owned by another user");
			return -EPERM;
		}
		if (slash == buf)
			break;
	}
	return 0;
}

/* A directory of ours (opened without following a symlink) that no other
 * user can write into: one they can would let them plant symlinks where
 * the daemon writes as root.  Read access for others is taken away. */
static int check_own_dir(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st)) {
		snprintf(err, errlen, "cannot check %.300s: %s", path, strerror(errno));
		return -errno;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "refusing %.300s: owned by uid %u, not by the daemon's uid %u",
			 path, (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "refusing %.300s: writable by other users (mode %03o); "
			 "remove it or chmod 700 it", path, (unsigned)(st.st_mode & 0777));
		return -EPERM;
	}
	if ((st.st_mode & 0777) != 0700 && fchmod(fd, 0700)) {
		snprintf(err, errlen, "cannot chmod 700 %.300s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* mkdir (0700) and open a directory at dirfd, never through a symlink. */
static int open_own_dir(int dirfd, const char *name, const char *path, int *out,
			char *err, size_t errlen)
{
	if (mkdirat(dirfd, name, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %.300s: %s", path, strerror(errno));
		return -errno;
	}
	*out = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*out < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open %.300s: %s", path,
			 e == ELOOP || e == ENOTDIR ? "not a directory (a symlink?)" : strerror(e));
		return -e;
	}
	return check_own_dir(*out, path, err, errlen);
}

static int rundir_setup(struct kxend *k, char *err, size_t errlen)
{
	char sub[PATH_MAX];
	int n = snprintf(k->rundir, sizeof k->rundir, "%s", ctl_rundir());
	int rc;

	if (n < 0 || n >= (int)sizeof k->rundir - 64 || k->rundir[0] != '/' || n < 2) {
		snprintf(err, errlen, "KXEN_RUNDIR must be an absolute path");
		return -EINVAL;
	}
	while (n > 1 && k->rundir[n - 1] == '/')
		k->rundir[--n] = 0;
	rc = mkdir_parents(k->rundir);
	if (rc) {
		snprintf(err, errlen, "cannot create the parents of %.300s: %s", k->rundir,
			 strerror(-rc));
		return rc;
	}
	rc = check_ancestors(k->rundir, err, errlen);
	if (!rc)
		rc = open_own_dir(AT_FDCWD, k->rundir, k->rundir, &k->run_fd, err, errlen);
	run_path(k, "console", sub, sizeof sub);
	if (!rc)
		rc = open_own_dir(k->run_fd, "console", sub, &k->console_fd, err, errlen);
	return rc;
}

static int open_log(struct kxend *k, char *err, size_t errlen)
{
	int fd = openat(k->run_fd, "kxend.log",
			O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open %.300s/kxend.log: %s", k->rundir, strerror(errno));
		return -errno;
	}
	log_set_fd(fd);
	k->log_fd = fd;
	return 0;
}

/* The pid file doubles as the lock that keeps two daemons off one rundir:
 * the flock lives as long as the open file description, which the
 * detached child inherits. */
static int lock_pidfile(struct kxend *k, char *err, size_t errlen)
{
	char path[PATH_MAX];

	run_path(k, "kxend.pid", path, sizeof path);
	k->pid_fd = openat(k->run_fd, "kxend.pid",
			   O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (k->pid_fd < 0) {
		snprintf(err, errlen, "cannot open %.300s: %s", path, strerror(errno));
		return -errno;
	}
	if (flock(k->pid_fd, LOCK_EX | LOCK_NB)) {
		int e = errno;
		if (e == EWOULDBLOCK)
			snprintf(err, errlen, "another kxend is running with %.300s", k->rundir);
		else
			snprintf(err, errlen, "cannot lock %.300s: %s", path, strerror(e));
		/* Not ours: cleanup() must leave that daemon's pid file alone. */
		close(k->pid_fd);
		k->pid_fd = -1;
		return -e;
	}
	return 0;
}

static int write_pidfile(struct kxend *k)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());

	if (ftruncate(k->pid_fd, 0) || pwrite(k->pid_fd, buf, (size_t)n, 0) != n)
		return -errno;
	return 0;
}

/* A umask makes the socket 0600 from the moment it exists: no window
 * between bind() and a chmod(). */
static int listen_socket(struct kxend *k, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (ctl_socket_path(sun.sun_path, sizeof sun.sun_path)) {
		snprintf(err, errlen, "socket path too long under %.300s", k->rundir);
		return -ENAMETOOLONG;
	}
	/* We hold the rundir's lock, so a socket file left here is stale. */
	if (unlinkat(k->run_fd, CTL_SOCKET_NAME, 0) && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove stale %.300s: %s", sun.sun_path, strerror(errno));
		return -errno;
	}
	k->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old = umask(0177);
	int rc = k->listen_fd < 0 ? -1 : bind(k->listen_fd, (struct sockaddr *)&sun, sizeof sun);
	int e = errno;
	umask(old);
	if (rc || listen(k->listen_fd, 64)) {
		e = rc ? e : errno;
		snprintf(err, errlen, "cannot listen on %.300s: %s", sun.sun_path, strerror(e));
		return -e;
	}
	return 0;
}

/* Fork; the parent returns 1 and exits, the child continues detached
 * with stderr into kxend.log (what a dying process prints lands there). */
static int daemonize(int log_fd, char *err, size_t errlen)
{
	pid_t pid = fork();

	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -errno;
	}
	if (pid > 0)
		return 1;
	if (setsid() < 0) {
		snprintf(err, errlen, "setsid: %s", strerror(errno));
		return -errno;
	}
	/* Hold no directory of whoever started us (and dump no core there). */
	if (chdir("/")) {
		snprintf(err, errlen, "chdir /: %s", strerror(errno));
		return -errno;
	}
	int fd = open("/dev/null", O_RDWR);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(log_fd, 2) < 0) {
		snprintf(err, errlen, "/dev/null: %s", strerror(errno));
		return -errno;
	}
	if (fd > 2)
		close(fd);
	return 0;
}

/* Signals arrive through a signalfd read by the loop.  Blocked here,
 * before any vCPU thread exists, so every thread inherits the mask and
 * SIGTERM never interrupts a vCPU. */
static int signals_setup(struct kxend *k)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return -errno;
	k->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return k->sig_fd < 0 ? -errno : 0;
}

static int store_setup(struct kxend *k)
{
	k->xs = xs_create(NULL);
	if (!k->xs)
		return -ENOMEM;
	int rc = xs_write_str(k->xs, "/local/domain/0/name", "Domain-0");
	return rc ? rc : xs_write_str(k->xs, "/local/domain/0/domid", "0");
}

static int runtime_setup(struct kxend *k, char *err, size_t errlen)
{
	int rc = write_pidfile(k);
	if (rc) {
		snprintf(err, errlen, "cannot write the pid file: %s", strerror(-rc));
		return rc;
	}
	kd_record_domains(k);
	k->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (k->wake_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -errno;
	}
	rc = signals_setup(k);
	if (rc) {
		snprintf(err, errlen, "cannot set up signals: %s", strerror(-rc));
		return rc;
	}
	rc = store_setup(k);
	if (rc)
		snprintf(err, errlen, "cannot create the XenStore: %s", strerror(-rc));
	return rc;
}

static void cleanup(struct kxend *k)
{
	char path[PATH_MAX];

	kd_destroy_all(k);
	/* A clean stop: nothing was lost (only the lock holder's record). */
	if (k->pid_fd >= 0)
		kd_record_remove(k);
	free(k->notice);
	dispatch_fini(k->dp);
	k->dp = NULL;
	while (k->clients) {
		struct client *c = k->clients;
		k->clients = c->next;
		close(c->fd);
		ctl_parser_dispose(&c->parser);
		free(c->out);
		free(c);
	}
	if (k->xs)
		xs_destroy(k->xs);
	run_path(k, CTL_SOCKET_NAME, path, sizeof path);
	if (k->listen_fd >= 0 && unlinkat(k->run_fd, CTL_SOCKET_NAME, 0))
		log_warn("unlink %.300s: %s", path, strerror(errno));
	run_path(k, "kxend.pid", path, sizeof path);
	if (k->pid_fd >= 0 && unlinkat(k->run_fd, "kxend.pid", 0))
		log_warn("unlink %.300s: %s", path, strerror(errno));
	if (k->console_fd >= 0)
		close(k->console_fd);
	if (k->run_fd >= 0)
		close(k->run_fd);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kxend [--foreground] [--sched credit|credit2]\n"
		   "  Runs the kxen daemon; state lives in $KXEN_RUNDIR (default %s).\n"
		   "  --sched: Pool-0's scheduler, like Xen's sched= boot option\n"
		   "           (default $KXEN_SCHED, else credit).\n"
		   "  Host CPUs used: $KXEN_PCPUS (e.g. 0-1), else the process's affinity.\n"
		   "  Console logs: $KXEN_CONSOLE_LOG_SIZE bytes each (default 1M), then\n"
		   "  rotated; $KXEN_CONSOLE_LOG_KEEP old ones kept (default 1).\n"
		   "  SIGHUP reopens the logs, SIGTERM stops the daemon.\n",
		CTL_DEFAULT_RUNDIR);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "sched", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct kxend k = { .listen_fd = -1, .wake_fd = -1, .sig_fd = -1, .pid_fd = -1,
			   .run_fd = -1, .console_fd = -1, .log_fd = -1, .next_domid = 1 };
	bool foreground = false;
	const char *sched = getenv("KXEN_SCHED");
	char err[512] = "";
	int c, rc;

	while ((c = getopt_long(argc, argv, "fhs:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': foreground = true; break;
		case 's': sched = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	if (sched && !*sched)
		sched = NULL;
	if (sched && !dispatch_sched_known(sched)) {
		fprintf(stderr, "kxend: unknown scheduler \"%.64s\" (want credit or credit2)\n",
			sched);
		return 1;
	}
	/* Everything the daemon creates (logs, pid file, socket) is its
	 * own: console logs hold what guests print. */
	umask(077);
	rc = rundir_setup(&k, err, sizeof err);
	if (!rc)
		rc = open_log(&k, err, sizeof err);
	if (!rc)
		rc = console_logs_setup(&k, err, sizeof err);
	if (!rc)
		rc = lock_pidfile(&k, err, sizeof err);
	if (!rc)
		rc = listen_socket(&k, err, sizeof err);
	if (!rc && !foreground)
		rc = daemonize(k.log_fd, err, sizeof err);
	if (rc == 1)
		return 0;   /* the parent: the detached child serves */
	if (!rc) {
		/* Before our pid replaces the one a dead daemon left. */
		kd_check_previous_run(&k);
		kd_fatal_signals_setup(&k);
	}
	if (!rc)
		rc = runtime_setup(&k, err, sizeof err);
	if (!rc)   /* after daemonize: it starts a thread */
		rc = dispatch_init(NULL, sched, &k.dp, err, sizeof err);
	if (rc) {
		fprintf(stderr, "kxend: %s\n", err);
		log_err("%s", err);
		cleanup(&k);
		return 1;
	}
	log_info("kxend %ld listening on %s/%s", (long)getpid(), k.rundir, CTL_SOCKET_NAME);
	rc = kxend_loop(&k);
	cleanup(&k);
	log_info("kxend stopped");
	return rc ? 1 : 0;
}
