#!/usr/bin/env bash
# A guest issuing huge hypercall batches must not starve a neighbour on the
# same pCPU: kxend on one host CPU runs idle.elf (a heartbeat every 100 ms
# that reports how long each period really took) beside longbatch.elf in
# "hog" mode (a multicall of 64 mmu_updates of 2^20 entries, repeated;
# tens of seconds in one hypercall if it could not be preempted).  While
# the hog runs, no heartbeat period may exceed 1 s: a starvation check,
# not a benchmark (the bound is ten periods).
set -euo pipefail
BUILD=${BUILD:-build}
[ -e /dev/kvm ] || { echo "skip: no /dev/kvm"; exit 77; }
export KXEN_RUNDIR KXEN_PCPUS=0
KXEN_RUNDIR=$(mktemp -d)
work=$(mktemp -d)
cleanup() {
	[ -f "$KXEN_RUNDIR/kxend.pid" ] && kill "$(cat "$KXEN_RUNDIR/kxend.pid")" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
XL=$BUILD/xl
LOG=$KXEN_RUNDIR/console/idle.log
fail() { echo "FAIL: $*"; tail -n 5 "$LOG" 2>/dev/null; exit 1; }
beats() {
	local n
	n=$(grep -c "idle: heartbeat" "$LOG" 2>/dev/null) || true
	echo "${n:-0}"
}

printf 'name = "idle"\nkernel = "%s"\nmemory = 32\nvcpus = 1\nextra = "period_ms=100"\n' \
	"$BUILD/guests/idle.elf" > "$work/idle.cfg"
printf 'name = "hog"\nkernel = "%s"\nmemory = 128\nvcpus = 1\nextra = "hog"\n' \
	"$BUILD/guests/longbatch.elf" > "$work/hog.cfg"
"$XL" create "$work/idle.cfg"
for _ in $(seq 40); do [ "$(beats)" -ge 5 ] && break; sleep 0.25; done
[ "$(beats)" -ge 5 ] || fail "idle guest shows no heartbeat"

"$XL" create "$work/hog.cfg"
# The hog is under way once its bss is zeroed and it has printed its start.
for _ in $(seq 40); do
	grep -q "longbatch: start" "$KXEN_RUNDIR/console/hog.log" 2>/dev/null && break
	sleep 0.25
done
grep -q "longbatch: start" "$KXEN_RUNDIR/console/hog.log" || fail "hog guest did not start"
before=$(beats)
sleep 6
after=$(beats)
"$XL" list | grep -q hog || fail "hog guest is gone"
# Gaps of the beats printed while the hog ran.
max=$(grep -o "idle: heartbeat [0-9]* gap [0-9]* ms" "$LOG" | tail -n +"$((before + 1))" |
	awk '{ if ($5 > m) m = $5 } END { print m + 0 }')
"$XL" destroy hog
"$XL" destroy idle
kill -0 "$(cat "$KXEN_RUNDIR/kxend.pid")" || fail "kxend died"
[ "$after" -gt "$((before + 10))" ] || fail "idle guest beat only $((after - before)) times in 6 s"
[ "$max" -lt 1000 ] || fail "a heartbeat period took $max ms while the hog ran"
echo "PASS: neighbour beat $((after - before)) times in 6 s beside the hog, longest period $max ms"
