/*
 * What guests may put into files on the host, bounded.
 *
 * Console logs (<rundir>/console/<name>.log) are capped and rotated: past
 * $KXEN_CONSOLE_LOG_SIZE bytes the file becomes <name>.log.1 (older ones
 * move up to .log.$KXEN_CONSOLE_LOG_KEEP, the oldest is dropped), so a
 * guest printing as fast as it can fills at most (KEEP + 1) * SIZE bytes
 * of the run dir.  SIGHUP reopens every log, like xenconsoled, for an
 * outside logrotate.
 *
 * kxend.log: what a guest writes with HYPERVISOR_console_io is mirrored
 * there as "(d<id>) <line>", as Xen's console shows it, and every message
 * a domain's behaviour causes (shutdowns, restarts, a broken ring) goes
 * through kd_log().  Both are rate limited per domain, like Xen's
 * printk_ratelimit (a burst of 10, then one every 5 s), and guest output
 * also by a limit for all guests together; the limits carry over a
 * restart, so a guest in a crash or reboot loop cannot flood the log
 * either.  Suppressed lines are counted and the count is logged.
 */
#include "daemon/kxend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

#define NS_PER_SEC 1000000000ll
/* Per domain, like Xen's printk_ratelimit. */
#define DOM_BURST 10
#define DOM_INTERVAL_NS (5 * NS_PER_SEC)
/* All guests' console output together. */
#define ALL_BURST 50
#define ALL_INTERVAL_NS (NS_PER_SEC / 5)

#define CONSOLE_LOG_SIZE_DEFAULT (1ull << 20)
#define CONSOLE_LOG_SIZE_MIN 4096ull
#define CONSOLE_LOG_KEEP_DEFAULT 1
#define CONSOLE_LOG_KEEP_MAX 9

/* ---- rate limits ------------------------------------------------------------ */

/* Xen's algorithm: credit accrues with time up to a burst's worth; a line
 * costs one interval of it. */
static bool bucket_take(struct log_bucket *b, int64_t now, int64_t interval, unsigned burst)
{
	if (!b->stamp_ns) {
		b->stamp_ns = now;
		b->credit_ns = interval * burst;
	}
	b->credit_ns += now - b->stamp_ns;
	b->stamp_ns = now;
	if (b->credit_ns > interval * burst)
		b->credit_ns = interval * burst;
	if (b->credit_ns < interval) {
		b->suppressed++;
		return false;
	}
	b->credit_ns -= interval;
	return true;
}

/* Says how many lines a bucket held back, once it lets one through. */
static void bucket_report(struct log_bucket *b, struct kdom *kd, const char *what)
{
	if (!b->suppressed)
		return;
	log_warn("domain %u (%s): %u %s suppressed (rate limit)", kd->domid, kd->name,
		 b->suppressed, what);
	b->suppressed = 0;
}

static void kd_vlog(struct kdom *kd, bool guest_caused, enum log_level level,
		    const char *fmt, va_list ap)
{
	char line[900];

	if (level > log_get_level())
		return;
	if (guest_caused) {
		if (!bucket_take(&kd->logrl.events, now_ns(), DOM_INTERVAL_NS, DOM_BURST))
			return;
		bucket_report(&kd->logrl.events, kd, "messages");
	}
	vsnprintf(line, sizeof line, fmt, ap);
	log_msg(level, "%s", line);
}

void kd_log(struct kdom *kd, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kd_vlog(kd, true, level, fmt, ap);
	va_end(ap);
}

void kd_log_if_guest(struct kdom *kd, bool guest_caused, enum log_level level,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kd_vlog(kd, guest_caused, level, fmt, ap);
	va_end(ap);
}

static void output_line(struct kdom *kd)
{
	int64_t now = now_ns();

	kd->line[kd->line_len] = 0;
	kd->line_len = 0;
	if (!bucket_take(&kd->logrl.output, now, DOM_INTERVAL_NS, DOM_BURST))
		return;
	if (!bucket_take(&kd->k->output_all, now, ALL_INTERVAL_NS, ALL_BURST)) {
		kd->logrl.output.suppressed++;
		return;
	}
	bucket_report(&kd->logrl.output, kd, "console lines");
	log_info("(d%u) %s", kd->domid, kd->line);
}

void kd_log_output(struct kdom *kd, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\n') {
			output_line(kd);
			continue;
		}
		/* Only printable text reaches the log (no escapes, no CRs). */
		if (c >= 0x20 && c < 0x7f)
			kd->line[kd->line_len++] = (char)c;
		if (kd->line_len == sizeof kd->line - 1)
			output_line(kd);
	}
}

void kd_log_final(struct kdom *kd)
{
	if (kd->line_len)
		output_line(kd);
	bucket_report(&kd->logrl.events, kd, "messages");
	bucket_report(&kd->logrl.output, kd, "console lines");
}

/* ---- console log files ----------------------------------------------------- */

/* "123", "64K", "1M", "2G"; false if it is none of those. */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	int shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (errno || *end || v > (UINT64_MAX >> 30))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

int console_logs_setup(struct kxend *k, char *err, size_t errlen)
{
	const char *size = getenv("KXEN_CONSOLE_LOG_SIZE");
	const char *keep = getenv("KXEN_CONSOLE_LOG_KEEP");

	k->console_log_max = CONSOLE_LOG_SIZE_DEFAULT;
	k->console_log_keep = CONSOLE_LOG_KEEP_DEFAULT;
	if (size && *size && (!parse_size(size, &k->console_log_max) ||
			      k->console_log_max < CONSOLE_LOG_SIZE_MIN)) {
		snprintf(err, errlen, "KXEN_CONSOLE_LOG_SIZE=\"%.64s\": want a size of at least "
			 "4K, such as 4096, 64K or 1M", size);
		return -EINVAL;
	}
	if (keep && *keep) {
		uint64_t n;
		if (ctl_parse_u64(keep, 0, CONSOLE_LOG_KEEP_MAX, &n)) {
			snprintf(err, errlen, "KXEN_CONSOLE_LOG_KEEP=\"%.64s\": want 0 to %d",
				 keep, CONSOLE_LOG_KEEP_MAX);
			return -EINVAL;
		}
		k->console_log_keep = (unsigned)n;
	}
	return 0;
}

static void log_file_name(const char *name, unsigned gen, char *buf, size_t len)
{
	if (gen)
		snprintf(buf, len, "%s.log.%u", name, gen);
	else
		snprintf(buf, len, "%s.log", name);
}

/* Opens <name>.log in console/: never through a symlink, never anything
 * but a plain file. */
static int log_open(struct kxend *k, struct kdom *kd, bool truncate, char *err, size_t errlen)
{
	char file[KXEND_NAME_MAX + 16];
	struct stat st;

	log_file_name(kd->name, 0, file, sizeof file);
	kd->log_fd = openat(k->console_fd, file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
			    O_NOFOLLOW | O_NONBLOCK | (truncate ? O_TRUNC : 0), 0600);
	if (kd->log_fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open console log %s/console/%s: %s", k->rundir, file,
			 e == ELOOP ? "it is a symlink" : strerror(e));
		return -e;
	}
	if (fstat(kd->log_fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "console log %s/console/%s is not a regular file",
			 k->rundir, file);
		close(kd->log_fd);
		kd->log_fd = -1;
		return -EINVAL;
	}
	kd->log_size = (uint64_t)st.st_size;
	return 0;
}

int console_open_log(struct kxend *k, struct kdom *kd, char *err, size_t errlen)
{
	char file[KXEND_NAME_MAX + 16];

	/* A new domain of an old name starts afresh: the files are "what
	 * this domain printed"; a restart (on_* = restart) continues them. */
	if (!kd->restarts) {
		for (unsigned g = 1; g <= CONSOLE_LOG_KEEP_MAX; g++) {
			log_file_name(kd->name, g, file, sizeof file);
			if (unlinkat(k->console_fd, file, 0) && errno != ENOENT)
				log_warn("remove console/%s: %s", file, strerror(errno));
		}
	}
	return log_open(k, kd, !kd->restarts, err, errlen);
}

static void log_close(struct kdom *kd)
{
	if (kd->log_fd >= 0 && close(kd->log_fd))
		log_warn("close console log of %s: %s", kd->name, strerror(errno));
	kd->log_fd = -1;
}

/* <name>.log.(i-1) -> <name>.log.i, the oldest dropped, a new <name>.log. */
static void log_rotate(struct kxend *k, struct kdom *kd)
{
	char from[KXEND_NAME_MAX + 16], to[KXEND_NAME_MAX + 16], err[256];

	log_close(kd);
	for (unsigned g = k->console_log_keep; g >= 1; g--) {
		log_file_name(kd->name, g - 1, from, sizeof from);
		log_file_name(kd->name, g, to, sizeof to);
		if (renameat(k->console_fd, from, k->console_fd, to) && errno != ENOENT)
			log_warn("rotate console/%s: %s", from, strerror(errno));
	}
	if (log_open(k, kd, true, err, sizeof err))
		log_warn("domain %u (%s): %s; its console is no longer logged", kd->domid,
			 kd->name, err);
}

void console_log_write(struct kdom *kd, const char *buf, size_t len)
{
	struct kxend *k = kd->k;
	uint64_t max = k->console_log_max;
	uint64_t room_all = max * (k->console_log_keep + 1);

	/* More than every kept file holds: only the end can survive. */
	if (len > room_all) {
		buf += len - room_all;
		len = (size_t)room_all;
	}
	while (len && kd->log_fd >= 0) {
		if (kd->log_size >= max)
			log_rotate(k, kd);
		if (kd->log_fd < 0)
			return;
		size_t n = len < max - kd->log_size ? len : (size_t)(max - kd->log_size);
		int rc = ctl_write_all(kd->log_fd, buf, n);
		if (rc) {
			log_warn("console log of %s: write failed, logging stops: %s", kd->name,
				 strerror(-rc));
			log_close(kd);
			return;
		}
		kd->log_size += n;
		buf += n;
		len -= n;
	}
}

void console_log_rename(struct kxend *k, struct kdom *kd, const char *name)
{
	char from[KXEND_NAME_MAX + 16], to[KXEND_NAME_MAX + 16];

	/* The open log follows the file: console/<name>.log stays "what the
	 * domain called <name> printed". */
	for (unsigned g = 0; g <= CONSOLE_LOG_KEEP_MAX; g++) {
		log_file_name(kd->name, g, from, sizeof from);
		log_file_name(name, g, to, sizeof to);
		if (renameat(k->console_fd, from, k->console_fd, to) && errno != ENOENT)
			log_warn("rename console/%s to console/%s: %s", from, to, strerror(errno));
	}
}

/* After SIGHUP: kxend.log and every console log are opened again by name
 * (an outside logrotate moved them away).  dup2 swaps kxend.log under the
 * same descriptor, so vCPU threads logging meanwhile never write into a
 * closed or reused one. */
void kxend_reopen_logs(struct kxend *k)
{
	char err[256];
	int fd = openat(k->run_fd, "kxend.log",
			O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		log_warn("SIGHUP: cannot reopen kxend.log: %s", strerror(errno));
	} else {
		if (dup3(fd, k->log_fd, O_CLOEXEC) < 0)
			log_warn("SIGHUP: cannot switch to the new kxend.log: %s", strerror(errno));
		close(fd);
	}
	for (struct kdom *kd = k->doms; kd; kd = kd->next) {
		if (kd->log_fd < 0)
			continue;
		log_close(kd);
		if (log_open(k, kd, false, err, sizeof err))
			log_warn("domain %u (%s): %s", kd->domid, kd->name, err);
	}
	log_info("SIGHUP: logs reopened");
}
