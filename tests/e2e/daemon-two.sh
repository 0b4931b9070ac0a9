#!/usr/bin/env bash
# Two kxend daemons side by side, each with its own KXEN_RUNDIR: each
# holds its own domains (the same name in both is fine), its own logs, and
# stopping one leaves the other serving.
#
# Exit 0 pass, 77 skip (no /dev/kvm), anything else fail.
set -u
BUILD=${BUILD:-build}
XL=$BUILD/xl
if [ ! -c /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "skip: /dev/kvm is missing or not writable"
	exit 77
fi
for f in "$XL" "$BUILD/kxend" "$BUILD/guests/hello.elf"; do
	[ -e "$f" ] || { echo "FAIL: $f is not built (run make)"; exit 1; }
done
A=$(mktemp -d)
B=$(mktemp -d)
stop_daemon() {
	local pid
	pid=$(cat "$1/kxend.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
}
trap 'stop_daemon "$A"; stop_daemon "$B"; rm -rf "$A" "$B"' EXIT
fail() {
	echo "FAIL: $*"
	for d in "$A" "$B"; do
		[ -f "$d/kxend.log" ] && { echo "--- $d/kxend.log"; tail -n 20 "$d/kxend.log"; }
	done
	exit 1
}
xla() { KXEN_RUNDIR=$A "$XL" "$@"; }
xlb() { KXEN_RUNDIR=$B "$XL" "$@"; }
printf 'name = "twin"\nkernel = "%s/guests/hello.elf"\nmemory = 64\nvcpus = 1\n' "$BUILD" >"$A/twin.cfg"

# Both daemons start (via xl) and hold a paused domain of the same name.
xla create -p "$A/twin.cfg" || fail "create in A"
xlb create -p "$A/twin.cfg" || fail "create in B"
pa=$(cat "$A/kxend.pid") && pb=$(cat "$B/kxend.pid") || fail "pid files"
[ "$pa" != "$pb" ] || fail "one daemon for two rundirs"
xla list | grep -q '^twin ' || fail "twin missing in A"
xlb list | grep -q '^twin ' || fail "twin missing in B"
# Starting a second daemon on a busy rundir must fail, not steal it.
KXEN_RUNDIR=$A "$BUILD/kxend" --foreground 2>"$A/err" && fail "second kxend on A started"
grep -q "another kxend is running" "$A/err" || fail "second kxend said: $(cat "$A/err")"
[ -S "$A/kxend.sock" ] || fail "A's socket was removed by the loser"

# Run B's domain: only B's console log gets the output.
xlb unpause twin || fail "unpause in B"
for _ in $(seq 100); do grep -q "kxen-test: PASS hello" "$B/console/twin.log" && break; sleep 0.1; done
grep -q "kxen-test: PASS hello" "$B/console/twin.log" || fail "no output in B's log"
grep -q "PASS" "$A/console/twin.log" && fail "A's paused twin printed"
xla list | grep -q '^twin .*--p---' || fail "A's twin changed: $(xla list)"

# Stop A; B keeps serving.
kill "$pa"
for _ in $(seq 50); do kill -0 "$pa" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pa" 2>/dev/null && fail "A did not stop"
[ -e "$A/kxend.sock" ] && fail "A left its socket"
kill -0 "$pb" || fail "B died with A"
xlb list >/dev/null || fail "B stopped answering"
echo "PASS daemon-two"
