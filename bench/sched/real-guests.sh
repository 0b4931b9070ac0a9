#!/usr/bin/env bash
# Scheduler benchmarks on real guests (guests/spin.c) under kxend on one
# pCPU (KXEN_PCPUS=0).  CPU time comes from `xl vcpu-list` (Time(s)).
#   (a) weights 512:256 -> CPU time ratio of the two spinners (want 2.0)
#   (b) cap 25 on a lone spinner -> its share of the pCPU (want 25%)
# Usage: bench/sched/real-guests.sh [SECONDS]   (default 10)
set -euo pipefail
BUILD=${BUILD:-build}
XL=$BUILD/xl
SECS=${1:-10}
[ -w /dev/kvm ] || { echo "needs /dev/kvm"; exit 77; }
export KXEN_RUNDIR KXEN_PCPUS=0
KXEN_RUNDIR=$(mktemp -d)
trap 'kill "$(cat "$KXEN_RUNDIR/kxend.pid" 2>/dev/null)" 2>/dev/null; sleep 0.5; rm -rf "$KXEN_RUNDIR"' EXIT
spin() {
	printf 'name = "%s"\nkernel = "%s"\nmemory = 32\nvcpus = 1\n' "$1" \
		"$BUILD/guests/spin.elf" >"$KXEN_RUNDIR/$1.cfg"
	"$XL" create "$KXEN_RUNDIR/$1.cfg" >/dev/null 2>&1
}
# Time(s) of a domain's vCPU 0, in seconds.
t() { "$XL" vcpu-list "$1" | awk -v n="$1" '$1 == n { print $6 }'; }
now() { date +%s.%N; }

echo "== (a) weights 512:256, two spinners on one pCPU, ${SECS} s"
spin wa; spin wb
"$XL" sched-credit -d wa -w 512
"$XL" sched-credit -d wb -w 256
sleep 2
a0=$(t wa); b0=$(t wb); w0=$(now)
sleep "$SECS"
a1=$(t wa); b1=$(t wb); w1=$(now)
awk -v a0="$a0" -v a1="$a1" -v b0="$b0" -v b1="$b1" -v w0="$w0" -v w1="$w1" 'BEGIN {
	a = a1 - a0; b = b1 - b0; w = w1 - w0
	printf "wa %.1f s, wb %.1f s of %.1f s wall; ratio %.3f (want 2.000, error %+.1f%%)\n",
		a, b, w, a / b, (a / b / 2 - 1) * 100 }'
"$XL" destroy wa; "$XL" destroy wb

echo "== (b) cap 25 on a lone spinner, ${SECS} s"
spin cp
"$XL" sched-credit -d cp -c 25
sleep 2
c0=$(t cp); w0=$(now)
sleep "$SECS"
c1=$(t cp); w1=$(now)
awk -v c0="$c0" -v c1="$c1" -v w0="$w0" -v w1="$w1" 'BEGIN {
	printf "cp %.1f s of %.1f s wall: %.1f%% of the pCPU (want 25%%, off by %+.1f points)\n",
		c1 - c0, w1 - w0, (c1 - c0) / (w1 - w0) * 100, (c1 - c0) / (w1 - w0) * 100 - 25 }'
"$XL" destroy cp
