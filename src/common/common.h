/*
 * Small utilities shared by every kxen subsystem: logging, time, checked
 * arithmetic.  Nothing here knows about domains.
 */
#ifndef KXEN_COMMON_H
#define KXEN_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Messages at or below this level are printed (default LOG_INFO; the
 * environment variable KXEN_LOG=debug|info|warn|error overrides). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Send log lines to this file descriptor (default: stderr). */
void log_set_fd(int fd);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_get_level() >= LOG_DEBUG) \
	log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC). */
int64_t now_ns(void);
/* Wall-clock time in nanoseconds since the epoch. */
int64_t wall_ns(void);

/* a + b without wrap-around; false if it would overflow. */
static inline bool add_overflows_u64(uint64_t a, uint64_t b, uint64_t *sum)
{
	return __builtin_add_overflow(a, b, sum);
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

#endif
