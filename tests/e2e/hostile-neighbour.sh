#!/usr/bin/env bash
# A hostile guest next to a well-behaved one in the same kxend: the hostile
# guest throws garbage at every hypercall and finally a malformed iret, and
# is destroyed alone; the daemon and the other guest (idle.elf, a heartbeat
# every second) keep running.
set -euo pipefail
BUILD=${BUILD:-build}
[ -e /dev/kvm ] || { echo "skip: no /dev/kvm"; exit 77; }
export KXEN_RUNDIR
KXEN_RUNDIR=$(mktemp -d)
work=$(mktemp -d)
cleanup() {
	[ -f "$KXEN_RUNDIR/kxend.pid" ] && kill "$(cat "$KXEN_RUNDIR/kxend.pid")" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
XL=$BUILD/xl
fail() { echo "FAIL: $*"; exit 1; }
beats() {
	local n
	n=$(grep -c "idle: heartbeat" "$KXEN_RUNDIR/console/idle.log" 2>/dev/null) || true
	echo "${n:-0}"
}

for g in idle hostile; do
	printf 'name = "%s"\nkernel = "%s"\nmemory = 32\nvcpus = 1\n' \
		"$g" "$BUILD/guests/$g.elf" > "$work/$g.cfg"
done
"$XL" create "$work/idle.cfg"
for _ in $(seq 40); do [ "$(beats)" -ge 2 ] && break; sleep 0.25; done
[ "$(beats)" -ge 2 ] || fail "idle guest shows no heartbeat"

"$XL" create "$work/hostile.cfg"
for _ in $(seq 120); do "$XL" list | grep -q hostile || break; sleep 0.25; done
"$XL" list | grep -q hostile && fail "hostile guest still running"
grep -q "hostile: survived" "$KXEN_RUNDIR/console/hostile.log" ||
	{ tail "$KXEN_RUNDIR/console/hostile.log"; fail "hostile guest did not get through its checks"; }
grep -q "FAIL" "$KXEN_RUNDIR/console/hostile.log" && fail "hostile guest reported a failure"

before=$(beats)
sleep 3
after=$(beats)
[ "$after" -gt "$before" ] || fail "idle guest stopped beating ($before -> $after)"
"$XL" list | grep -q idle || fail "idle guest gone"
kill -0 "$(cat "$KXEN_RUNDIR/kxend.pid")" || fail "kxend died"
"$XL" destroy idle
"$XL" list | grep -q idle && fail "idle guest survived xl destroy"
echo "PASS: hostile guest destroyed alone ($(grep -o 'survived [0-9]* checks' "$KXEN_RUNDIR/console/hostile.log")); neighbour beat $before -> $after"
