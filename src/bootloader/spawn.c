/*
 * The daemon's side of booting from a guest disk: run kxen-pygrub in its
 * own process (as Xen's toolstack runs pygrub), so a bug that guest data
 * finds in the partition, file system or grub.cfg code costs that process,
 * never kxend.  posix_spawn (no fork: the daemon's address space holds the
 * guests' memory) with a clean signal state; the kernel and ramdisk come
 * back in two memory files, the choice as "key value" lines on stdout, an
 * error as the last line of stderr.  All of it is bounded and checked: the
 * helper has read guest data and may be lying.
 */
#include "bootloader/bootloader.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bootloader/bl-private.h"

#define OUT_MAX (64u << 10)   /* what the helper may print */

bool bl_is_pygrub(const char *bootloader)
{
	const char *base = bootloader ? strrchr(bootloader, '/') : NULL;

	base = base ? base + 1 : bootloader;
	return base && !strcmp(base, "pygrub");
}

void bl_result_free(struct bl_result *res)
{
	free(res->kernel);
	free(res->ramdisk);
	res->kernel = res->ramdisk = NULL;
	res->kernel_len = res->ramdisk_len = 0;
}

/* A memory file at fd >= 5, so dup2 onto 3 and 4 never meets itself. */
static int memfd_high(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC), hi;

	if (fd < 0)
		return -errno;
	if (fd >= 5)
		return fd;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 5);
	close(fd);
	return hi < 0 ? -errno : hi;
}

struct capture {
	int fd;
	char buf[OUT_MAX];
	size_t len;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads stdout and stderr until both close or the deadline passes. */
static int collect(struct capture *cap, size_t n, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd[2];
		nfds_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (cap[i].fd >= 0)
				pfd[k++] = (struct pollfd){ .fd = cap[i].fd, .events = POLLIN };
		if (!k)
			return 0;
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		int r = poll(pfd, k, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		for (nfds_t j = 0; j < k; j++) {
			if (!pfd[j].revents)
				continue;
			struct capture *c = NULL;
			for (size_t i = 0; i < n; i++)
				if (cap[i].fd == pfd[j].fd)
					c = &cap[i];
			char tmp[4096];
			ssize_t got = read(c->fd, tmp, sizeof tmp);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				close(c->fd);
				c->fd = -1;
				continue;
			}
			size_t room = sizeof c->buf - 1 - c->len;
			size_t take = (size_t)got < room ? (size_t)got : room;
			memcpy(c->buf + c->len, tmp, take);
			c->len += take;
			c->buf[c->len] = '\0';
		}
	}
}

/* Printable ASCII only: the text ends up in logs and in xl's error. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static void last_line(const char *text, char *out, size_t len)
{
	const char *end = text + strlen(text), *start;

	while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	start = end;
	while (start > text && start[-1] != '\n')
		start--;
	snprintf(out, len, "%.*s", (int)(end - start), start);
	sanitize(out);
}

/* "key value" lines from the helper's stdout. */
static int parse_answer(char *text, struct bl_result *res, char *err, size_t errlen)
{
	bool have_kernel = false;

	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *val = strchr(line, ' ');
		if (!val)
			continue;
		*val++ = '\0';
		sanitize(val);
		if (!strcmp(line, "kernel")) {
			snprintf(res->kernel_path, sizeof res->kernel_path, "%s", val);
			have_kernel = true;
		} else if (!strcmp(line, "args")) {
			snprintf(res->cmdline, sizeof res->cmdline, "%s", val);
		} else if (!strcmp(line, "title")) {
			snprintf(res->title, sizeof res->title, "%s", val);
		} else if (!strcmp(line, "partition")) {
			res->partition = (unsigned)strtoul(val, NULL, 10);
		}
	}
	if (!have_kernel)
		return bl_fail(err, errlen, -EPROTO, "the bootloader named no kernel");
	return 0;
}

/* The whole memory file, if it holds at most max bytes. */
static int take_memfd(int fd, uint64_t max, bool need, uint8_t **buf, size_t *len,
		      const char *what, char *err, size_t errlen)
{
	struct stat st;

	*buf = NULL;
	*len = 0;
	if (fstat(fd, &st))
		return bl_fail(err, errlen, -errno, "%s: %s", what, strerror(errno));
	if ((uint64_t)st.st_size > max)
		return bl_fail(err, errlen, -EFBIG, "the bootloader's %s is too large", what);
	if (st.st_size == 0)
		return need ? bl_fail(err, errlen, -EPROTO, "the bootloader gave an empty %s", what)
			    : 0;
	*buf = malloc((size_t)st.st_size);
	if (!*buf)
		return bl_fail(err, errlen, -ENOMEM, "out of memory for the %s", what);
	int rc = bl_pread_exact(fd, *buf, (size_t)st.st_size, 0, (uint64_t)st.st_size);
	if (rc) {
		free(*buf);
		*buf = NULL;
		return bl_fail(err, errlen, rc, "reading the %s back: %s", what, strerror(-rc));
	}
	*len = (size_t)st.st_size;
	return 0;
}

static int spawn_helper(const char *helper, char *const argv[], int kfd, int rfd, int out_w,
			int err_w, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	int rc;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	/* kxend blocks signals for its signalfd: the child must not inherit that. */
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	/* Its own process group: whatever it starts is stopped with it. */
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
				 POSIX_SPAWN_SETPGROUP);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_w, 1);
	posix_spawn_file_actions_adddup2(&fa, err_w, 2);
	posix_spawn_file_actions_adddup2(&fa, kfd, 3);
	posix_spawn_file_actions_adddup2(&fa, rfd, 4);
	rc = posix_spawn(pid, helper, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return -rc;
}

int bl_spawn(const char *helper, const char *disk, const struct bl_options *opt,
	     int timeout_ms, struct bl_result *res, char *err, size_t errlen)
{
	struct capture *cap = NULL;
	int kfd = -1, rfd = -1, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	char entry_arg[BL_MAX_TITLE + 16], args_arg[BL_MAX_ARGS + 16], max_arg[48];
	uint64_t max_ramdisk = opt && opt->max_ramdisk && opt->max_ramdisk < BL_MAX_RAMDISK ?
			       opt->max_ramdisk : BL_MAX_RAMDISK;
	char *argv[12];
	int argc = 0, rc, status = 0;
	pid_t pid = -1;

	memset(res, 0, sizeof *res);
	if (opt && opt->args && strlen(opt->args) >= BL_MAX_ARGS)
		return bl_fail(err, errlen, -E2BIG, "the command line is too long");
	/* Said here: not every posix_spawn reports a failed exec. */
	if (access(helper, X_OK))
		return bl_fail(err, errlen, -errno, "cannot run the bootloader %s: %s", helper,
			       strerror(errno));
	argv[argc++] = (char *)helper;
	argv[argc++] = "--quiet";
	argv[argc++] = "--kernel-fd=3";
	argv[argc++] = "--ramdisk-fd=4";
	snprintf(max_arg, sizeof max_arg, "--max-ramdisk=%llu", (unsigned long long)max_ramdisk);
	argv[argc++] = max_arg;
	if (opt && opt->entry) {
		snprintf(entry_arg, sizeof entry_arg, "--entry=%s", opt->entry);
		argv[argc++] = entry_arg;
	}
	if (opt && opt->args && opt->args[0]) {
		snprintf(args_arg, sizeof args_arg, "--args=%s", opt->args);
		argv[argc++] = args_arg;
	}
	argv[argc++] = "--";
	argv[argc++] = (char *)disk;
	argv[argc] = NULL;

	cap = calloc(2, sizeof *cap);
	if (!cap)
		return bl_fail(err, errlen, -ENOMEM, "out of memory");
	cap[0].fd = cap[1].fd = -1;
	kfd = memfd_high("kxen-boot-kernel");
	rfd = kfd < 0 ? kfd : memfd_high("kxen-boot-ramdisk");
	if (kfd < 0 || rfd < 0 || pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		rc = bl_fail(err, errlen, kfd < 0 ? kfd : rfd < 0 ? rfd : -errno,
			     "cannot set up the bootloader: %s",
			     strerror(kfd < 0 ? -kfd : rfd < 0 ? -rfd : errno));
		goto out;
	}
	rc = spawn_helper(helper, argv, kfd, rfd, outp[1], errp[1], &pid);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	if (rc) {
		pid = -1;
		rc = bl_fail(err, errlen, rc, "cannot run the bootloader %s: %s", helper,
			     strerror(-rc));
		goto out;
	}
	cap[0].fd = outp[0];
	cap[1].fd = errp[0];
	outp[0] = errp[0] = -1;
	rc = collect(cap, 2, timeout_ms);
	if (rc == -ETIMEDOUT)
		kill(pid, SIGKILL);
	pid_t got;
	while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	kill(-pid, SIGKILL);    /* the group: nothing it left behind lives on */
	pid = -1;
	if (got < 0 && !rc) {
		rc = bl_fail(err, errlen, -errno, "cannot wait for the bootloader: %s",
			     strerror(errno));
		goto out;
	}
	if (rc) {
		rc = bl_fail(err, errlen, rc, rc == -ETIMEDOUT ? "the bootloader took longer "
			     "than %d s and was stopped" : "reading the bootloader's output failed",
			     timeout_ms / 1000);
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char line[512];
		last_line(cap[1].buf, line, sizeof line);
		/* "kxen-pygrub: msg" -> "msg": the caller says who spoke. */
		const char *base = strrchr(helper, '/'), *msg = line;
		base = base ? base + 1 : helper;
		size_t bl = strlen(base);
		if (!strncmp(line, base, bl) && !strncmp(line + bl, ": ", 2))
			msg = line + bl + 2;
		if (msg[0])
			rc = bl_fail(err, errlen, -ENOEXEC, "%s", msg);
		else if (WIFSIGNALED(status))
			rc = bl_fail(err, errlen, -ENOEXEC, "the bootloader died (signal %d)",
				     WTERMSIG(status));
		else
			rc = bl_fail(err, errlen, -ENOEXEC, "the bootloader failed (exit %d)",
				     WEXITSTATUS(status));
		goto out;
	}
	rc = parse_answer(cap[0].buf, res, err, errlen);
	if (!rc)
		rc = take_memfd(kfd, BL_MAX_KERNEL, true, &res->kernel, &res->kernel_len, "kernel",
				err, errlen);
	if (!rc)
		rc = take_memfd(rfd, max_ramdisk, false, &res->ramdisk, &res->ramdisk_len,
				"ramdisk", err, errlen);
	if (rc)
		bl_result_free(res);
out:
	for (int i = 0; cap && i < 2; i++)
		if (cap[i].fd >= 0)
			close(cap[i].fd);
	free(cap);
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (kfd >= 0)
		close(kfd);
	if (rfd >= 0)
		close(rfd);
	return rc;
}
