/* Logging with levels and timestamps; thread safe (one write per line). */
#include "common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_INFO;
static int log_fd = 2;
static bool level_from_env_done;

static void level_from_env(void)
{
	const char *e = getenv("KXEN_LOG");
	level_from_env_done = true;
	if (!e)
		return;
	if (!strcasecmp(e, "debug"))
		current_level = LOG_DEBUG;
	else if (!strcasecmp(e, "info"))
		current_level = LOG_INFO;
	else if (!strcasecmp(e, "warn"))
		current_level = LOG_WARN;
	else if (!strcasecmp(e, "error"))
		current_level = LOG_ERROR;
}

void log_set_level(enum log_level level)
{
	level_from_env_done = true;
	current_level = level;
}

enum log_level log_get_level(void)
{
	if (!level_from_env_done)
		level_from_env();
	return current_level;
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char line[1024];
	int64_t t = now_ns();
	int n;
	va_list ap;

	if (level > log_get_level())
		return;
	n = snprintf(line, sizeof line, "[%6lld.%06lld] %s: ", (long long)(t / 1000000000),
		     (long long)(t % 1000000000 / 1000), names[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	if (write(log_fd, line, (size_t)n) < 0) {
		/* Nowhere left to report a failing log write. */
	}
}

int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
