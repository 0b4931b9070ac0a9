#!/usr/bin/env bash
# Wake-up latency of a latency-sensitive guest (guests/latency.c: one-shot
# timer every 3 ms, lateness on its pvclock) beside two CPU-bound spinners
# on one pCPU (KXEN_PCPUS=0, credit), with the ratelimit at its default
# (1000 us) and off (0).  Prints the guest's p50/p95/p99/max of its second
# round (1000 wakeups).
# Usage: bench/sched/real-latency.sh
set -euo pipefail
BUILD=${BUILD:-build}
XL=$BUILD/xl
[ -w /dev/kvm ] || { echo "needs /dev/kvm"; exit 77; }
export KXEN_RUNDIR KXEN_PCPUS=0
KXEN_RUNDIR=$(mktemp -d)
trap 'kill "$(cat "$KXEN_RUNDIR/kxend.pid" 2>/dev/null)" 2>/dev/null; sleep 0.5; rm -rf "$KXEN_RUNDIR"' EXIT
guest() {
	printf 'name = "%s"\nkernel = "%s"\nmemory = 32\nvcpus = 1\n' "$1" \
		"$BUILD/guests/$2.elf" >"$KXEN_RUNDIR/$1.cfg"
	"$XL" create "$KXEN_RUNDIR/$1.cfg" >/dev/null 2>&1
}
for rl in 1000 0; do
	"$XL" sched-credit -s -r "$rl"
	guest hog1 spin; guest hog2 spin; guest lat latency
	for _ in $(seq 600); do
		grep -q 'round 2:' "$KXEN_RUNDIR/console/lat.log" 2>/dev/null && break
		sleep 0.1
	done
	printf 'ratelimit=%-5s us: ' "$rl"
	sed -n 's/^latency: round 2: //p' "$KXEN_RUNDIR/console/lat.log"
	for d in hog1 hog2 lat; do "$XL" destroy "$d"; done
done
