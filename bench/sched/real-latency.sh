#!/usr/bin/env bash
# Wake-up latency of latency-sensitive guests (guests/latency.c: one-shot
# timer every 3 ms, or 2.3 ms for the second one so that the two do not
# wake in step; lateness of the timer upcall on its pvclock) beside two
# CPU-bound spinners, all on one pCPU (KXEN_PCPUS=0).  For each scheduler
# (Pool-0's, kxend --sched via $KXEN_SCHED) and each ratelimit (default
# 1000 us, and 0 = off) it runs
#   1 lat:  one latency guest   (a spinner has always run > 1 ms when it wakes)
#   2 lat:  two latency guests  (a wake often comes < 1 ms after a switch)
# and prints each latency guest's p50/p95/p99/max over its second round
# (1000 wake-ups).  RT="1 0" also runs each case with kxend's real-time
# wake-ups off (KXEN_RT=0), to see what they buy.
# Usage: [RT="1 0"] bench/sched/real-latency.sh [SCHEDULER...]
#        (default: credit credit2, RT=1)
set -euo pipefail
BUILD=${BUILD:-build}
XL=$BUILD/xl
SCHEDS=${*:-credit credit2}
[ -w /dev/kvm ] || { echo "needs /dev/kvm"; exit 77; }
export KXEN_RUNDIR KXEN_PCPUS=0 KXEN_SCHED KXEN_RT
KXEN_RUNDIR=$(mktemp -d)
stop_daemon() {
	local pid
	pid=$(cat "$KXEN_RUNDIR/kxend.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}
trap 'stop_daemon; rm -rf "$KXEN_RUNDIR"' EXIT
guest() {   # NAME KERNEL [EXTRA]
	printf 'name = "%s"\nkernel = "%s"\nmemory = 32\nvcpus = 1\nextra = "%s"\n' "$1" \
		"$BUILD/guests/$2.elf" "${3:-}" >"$KXEN_RUNDIR/$1.cfg"
	"$XL" create "$KXEN_RUNDIR/$1.cfg" >/dev/null 2>&1
}
round2() {
	local log=$KXEN_RUNDIR/console/$1.log
	for _ in $(seq 600); do
		grep -q 'round 2:' "$log" 2>/dev/null && break
		sleep 0.1
	done
	sed -n 's/^latency: round 2: //p' "$log"
}
for KXEN_SCHED in $SCHEDS; do
for KXEN_RT in ${RT:-1}; do
	stop_daemon
	for rl in 1000 0; do
		for nlat in 1 2; do
			"$XL" "sched-$KXEN_SCHED" -s -r "$rl" >/dev/null
			guest hog1 spin; guest hog2 spin
			lats=$(seq -f 'lat%g' "$nlat")
			guest lat1 latency
			[ "$nlat" = 1 ] || guest lat2 latency period_us=2300
			for l in $lats; do
				printf '%-7s rt=%s ratelimit=%-4s %s lat %s: %s\n' "$KXEN_SCHED" \
					"$KXEN_RT" "$rl" "$nlat" "$l" "$(round2 "$l")"
			done
			for d in hog1 hog2 $lats; do "$XL" destroy "$d"; done
		done
	done
done
done
