/*
 * What survives the daemon: every domain is a KVM VM inside kxend, so if
 * kxend dies they all die with it.  So that this is never silent:
 *
 *  - <rundir>/domains lists the running domains ("<domid> <name>" lines),
 *    rewritten (atomically) whenever one comes or goes; a clean stop
 *    removes it together with the pid file.
 *  - At start-up, a pid file with a pid in it or a domains list left
 *    behind means the previous daemon ended without stopping: the lost
 *    domains are logged, appended to <rundir>/lost-domains, and told to
 *    the first client (a "notice" field in its reply, which xl prints).
 *  - A fatal signal (abort, a crash) writes a line into kxend.log before
 *    the daemon dies, and stderr goes to kxend.log, so the reason is there.
 */
#include "daemon/kxend.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"

#define RECORD "domains"
#define RECORD_TMP "domains.new"
#define LOST "lost-domains"
#define RECORD_MAX (64u << 10)

void kd_record_domains(struct kxend *k)
{
	char line[KXEND_NAME_MAX + 16];
	int fd = openat(k->run_fd, RECORD_TMP,
			O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = fd < 0 ? -errno : 0;

	for (struct kdom *kd = k->doms; kd && !rc; kd = kd->next) {
		int n = snprintf(line, sizeof line, "%u %s\n", kd->domid, kd->name);
		rc = ctl_write_all(fd, line, (size_t)n);
	}
	if (fd >= 0 && close(fd) && !rc)
		rc = -errno;
	if (!rc && renameat(k->run_fd, RECORD_TMP, k->run_fd, RECORD))
		rc = -errno;
	if (rc)
		log_warn("cannot record the running domains in %s/%s: %s", k->rundir, RECORD,
			 strerror(-rc));
}

void kd_record_remove(struct kxend *k)
{
	if (unlinkat(k->run_fd, RECORD, 0) && errno != ENOENT)
		log_warn("cannot remove %s/%s: %s", k->rundir, RECORD, strerror(errno));
}

/* Up to cap-1 bytes of a file in the run dir, NUL-terminated; "" if none. */
static void read_small(int dirfd, const char *name, char *buf, size_t cap)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t len = 0;

	buf[0] = 0;
	if (fd < 0)
		return;
	while (len < cap - 1) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	close(fd);
}

/* "3 (web), 5 (db)" from the record's "<domid> <name>" lines; only what
 * looks like our own lines is taken (the file is ours, but be careful). */
static void list_lost(const char *record, char *out, size_t cap)
{
	size_t used = 0;
	const char *p = record;

	out[0] = 0;
	while (*p && used + 1 < cap) {
		unsigned domid;
		char name[KXEND_NAME_MAX + 1];
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		char line[KXEND_NAME_MAX + 16];

		snprintf(line, sizeof line, "%.*s", (int)(l < sizeof line ? l : sizeof line - 1), p);
		p += l + (nl ? 1 : 0);
		if (sscanf(line, "%u %63[A-Za-z0-9_.-]", &domid, name) != 2)
			continue;
		int n = snprintf(out + used, cap - used, "%s%u (%s)", used ? ", " : "", domid, name);
		if (n < 0 || (size_t)n >= cap - used)
			break;
		used += (size_t)n;
	}
}

static void append_lost(struct kxend *k, const char *text)
{
	char stamp[32], line[2048];
	time_t now = time(NULL);
	struct tm tm;
	int fd = openat(k->run_fd, LOST, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
			0600);

	if (fd < 0) {
		log_warn("cannot open %s/%s: %s", k->rundir, LOST, strerror(errno));
		return;
	}
	if (!gmtime_r(&now, &tm) || !strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(stamp, sizeof stamp, "%lld", (long long)now);
	int n = snprintf(line, sizeof line, "%s %s\n", stamp, text);
	if (ctl_write_all(fd, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1))
		log_warn("cannot write %s/%s", k->rundir, LOST);
	close(fd);
}

void kd_check_previous_run(struct kxend *k)
{
	char pid[32], record[RECORD_MAX], lost[1500], text[2048];

	ssize_t n = pread(k->pid_fd, pid, sizeof pid - 1, 0);

	pid[n > 0 ? n : 0] = 0;
	pid[strspn(pid, "0123456789")] = 0;
	read_small(k->run_fd, RECORD, record, sizeof record);
	if (!pid[0] && !record[0])
		return;
	list_lost(record, lost, sizeof lost);
	snprintf(text, sizeof text, "kxend%s%s did not stop cleanly; %s%s; its log is %.300s/kxend.log",
		 pid[0] ? " pid " : "", pid[0] ? pid : "",
		 lost[0] ? "domains lost with it: " : "it ran no domains", lost, k->rundir);
	log_err("%s", text);
	append_lost(k, text);
	kd_record_remove(k);
	free(k->notice);
	k->notice = strdup(text);
}

/* ---- fatal signals ----------------------------------------------------------- */

static int fatal_log_fd = -1;

static void put_num(char *p, size_t *len, long v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < (int)sizeof tmp);
	while (n)
		p[(*len)++] = tmp[--n];
}

/* Async-signal-safe: a line with the signal, then the default action. */
static void on_fatal_signal(int sig)
{
	static const char head[] = "kxend: fatal signal ";
	static const char tail[] = "; every domain of this daemon is lost (see the domains file)\n";
	char line[160];
	size_t len = 0;

	memcpy(line, head, sizeof head - 1);
	len = sizeof head - 1;
	put_num(line, &len, sig);
	memcpy(line + len, tail, sizeof tail - 1);
	len += sizeof tail - 1;
	if (fatal_log_fd >= 0 && write(fatal_log_fd, line, len) < 0) {
		/* nothing left to do */
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

#if defined(__SANITIZE_ADDRESS__)
#define KXEND_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KXEND_SANITIZED 1
#endif
#endif

void kd_fatal_signals_setup(struct kxend *k)
{
	/* Sanitizer builds report crashes themselves, better than we can;
	 * they leave SIGABRT alone. */
#ifdef KXEND_SANITIZED
	static const int sigs[] = { SIGABRT };
#else
	static const int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE };
#endif
	struct sigaction sa = { .sa_handler = on_fatal_signal, .sa_flags = SA_RESETHAND };

	fatal_log_fd = k->log_fd;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		if (sigaction(sigs[i], &sa, NULL))
			log_warn("cannot catch signal %d: %s", sigs[i], strerror(errno));
}
