#!/usr/bin/env bash
# The hostile block frontend (guests/blkhostile.c) in kxend next to a
# well-behaved guest that also has a disk: blkhostile gets through every
# attack (its devices shut down and come back, its other disks keep
# working); the neighbour keeps its heartbeat and its disk stays attached
# and untouched; the daemon keeps running; no image outside what
# blkhostile may write changed or grew.
set -euo pipefail
source "$(dirname "$0")/xl-common.inc"
[ -e "$BUILD/guests/blkhostile.elf" ] || fail "$BUILD/guests/blkhostile.elf is not built"
beats() {
	local n
	n=$(grep -c "idle: heartbeat" "$RUNDIR/console/nb.log" 2>/dev/null) || true
	echo "${n:-0}"
}

perl -e 'for $i (0..2047) { print pack("a512", sprintf("A-SECTOR-%08d", $i)) }' >"$RUNDIR/a.img"
perl -e 'for $i (0..2047) { print pack("a512", sprintf("B-SECTOR-%08d", $i)) }' >"$RUNDIR/b.img"
head -c 1048576 /dev/urandom >"$RUNDIR/c.img"
head -c 1048576 /dev/urandom >"$RUNDIR/n.img"
for f in a b c n; do cp "$RUNDIR/$f.img" "$RUNDIR/$f.orig"; done

"$XL" create "$(cfg nb idle "disk = [ 'vdev=xvda, access=rw, target=$RUNDIR/n.img' ]")"
for _ in $(seq 40); do [ "$(beats)" -ge 2 ] && break; sleep 0.25; done
[ "$(beats)" -ge 2 ] || fail "the neighbour shows no heartbeat"

"$XL" create "$(cfg bh blkhostile "disk = [ 'vdev=xvda, access=rw, target=$RUNDIR/a.img',
	'vdev=xvdb, access=rw, target=$RUNDIR/b.img', 'vdev=xvdc, access=ro, target=$RUNDIR/c.img' ]")"
for _ in $(seq 600); do "$XL" list | grep -q "^bh " || break; sleep 0.25; done
"$XL" list | grep -q "^bh " && fail "blkhostile still running"
grep -q "^kxen-test: PASS blkhostile" "$RUNDIR/console/bh.log" ||
	{ tail -n 20 "$RUNDIR/console/bh.log"; fail "blkhostile did not pass"; }
grep -q "vbd 51712 shut down" "$RUNDIR/kxend.log" || fail "no device shut-down logged"

before=$(beats)
for _ in $(seq 40); do [ "$(beats)" -gt "$before" ] && break; sleep 0.25; done
[ "$(beats)" -gt "$before" ] || fail "the neighbour stopped beating"
"$XL" block-list nb | grep -q "^51712 " || fail "the neighbour lost its disk"
kill -0 "$(cat "$RUNDIR/kxend.pid")" || fail "kxend died"

for f in a b c n; do
	[ "$(stat -c %s "$RUNDIR/$f.img")" = 1048576 ] || fail "$f.img changed size"
done
for f in b c n; do cmp -s "$RUNDIR/$f.img" "$RUNDIR/$f.orig" || fail "$f.img was written"; done
cmp -s <(head -c 8192 "$RUNDIR/a.img") <(head -c 8192 "$RUNDIR/a.orig") &&
	cmp -s <(tail -c +8705 "$RUNDIR/a.img") <(tail -c +8705 "$RUNDIR/a.orig") ||
	fail "a.img changed outside sector 16"
"$XL" destroy nb
echo "PASS"
