/*
 * The invariants the schedulers rely on are checked, never asserted: the
 * scheduler runs every domain of the daemon, so one broken invariant must
 * not take them all down.  A failed check backs the operation out and is
 * counted; the daemon logs the count (with the last check that failed,
 * "file:line: condition"), and the tests require it to stay 0.
 *
 * Its own header so that the daemon can ask without sched.h (whose
 * sched_yield() would clash with the C library's).
 */
#ifndef KXEN_SCHED_INVARIANTS_H
#define KXEN_SCHED_INVARIANTS_H

unsigned long sched_invariant_failures(const char **last);

#endif
