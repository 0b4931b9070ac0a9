#!/usr/bin/env bash
# What guests put into host files stays bounded:
#  1. flood (4 MiB through console_io as fast as it can) with
#     KXEN_CONSOLE_LOG_SIZE=64K, KEEP=1: console/flood.log and .log.1 stay
#     within 64 KiB each, nothing older is kept, the log ends with the
#     guest's PASS line; kxend.log gets only a rate-limited trickle of the
#     guest's lines (as "(dN) ..."), no terminal escapes, and a count of
#     what was held back.
#  2. A domain in a restart loop (on_poweroff = "restart" on a guest that
#     powers off at once) does not flood kxend.log with its create,
#     shut-down and restart messages.
#  3. SIGHUP reopens kxend.log (an outside logrotate moved it away).
#
# Exit 0 pass, 77 skip (no /dev/kvm), anything else fail.
set -u
. "$(dirname "$0")/xl-common.inc"
[ -e "$BUILD/guests/flood.elf" ] || fail "$BUILD/guests/flood.elf is not built (run make)"
export KXEN_CONSOLE_LOG_SIZE=64K KXEN_CONSOLE_LOG_KEEP=1
LOG=$RUNDIR/kxend.log

# --- 1: a flood -----------------------------------------------------------------
"$XL" create "$(cfg flood flood)" || fail "create flood"
id=$("$XL" domid flood) || fail "no domid for flood"
for _ in $(seq 600); do
	grep -q "^kxen-test: \(PASS\|FAIL\)" "$RUNDIR/console/flood.log" 2>/dev/null && break
	sleep 0.1
done
grep -q "^kxen-test: PASS flood" "$RUNDIR/console/flood.log" ||
	fail "no PASS line at the end of console/flood.log: $(tail -c 300 "$RUNDIR/console/flood.log")"
wait_gone flood || fail "flood did not power off"
for f in flood.log flood.log.1; do
	[ -f "$RUNDIR/console/$f" ] || fail "console/$f missing (no rotation?)"
	size=$(stat -c %s "$RUNDIR/console/$f")
	[ "$size" -le 65536 ] || fail "console/$f is $size bytes, over the 64K cap"
done
[ -e "$RUNDIR/console/flood.log.2" ] && fail "more rotated logs kept than KEEP=1"
grep -q "^flood line" "$RUNDIR/console/flood.log.1" || fail "rotated log holds no guest output"
echo "ok: console log capped at 64K and rotated once ($(du -cb "$RUNDIR"/console/flood.log* | tail -1))"
mirrored=$(grep -c "(d$id) flood line" "$LOG")
[ "$mirrored" -ge 1 ] || fail "no guest line reached kxend.log"
[ "$mirrored" -le 20 ] || fail "$mirrored guest lines in kxend.log (rate limit?)"
grep -q "domain $id (flood): [0-9]* console lines suppressed" "$LOG" ||
	fail "no count of suppressed lines"
grep -qP '\x1b|\r' "$LOG" && fail "terminal escapes reached kxend.log"
size=$(stat -c %s "$LOG")
[ "$size" -lt 32768 ] || fail "kxend.log grew to $size bytes"
echo "ok: $mirrored guest lines in kxend.log, the rest counted; kxend.log $size bytes"

# --- 2: a restart loop ----------------------------------------------------------
"$XL" create "$(cfg loop hello 'on_poweroff = "restart"')" || fail "create loop"
first=$("$XL" domid loop) || fail "no domid for loop"
sleep 8
last=$("$XL" domid loop) || fail "loop is gone"
restarts=$((last - first))
"$XL" destroy loop || fail "destroy loop"
[ "$restarts" -ge 10 ] || fail "only $restarts restarts in 8 s: no loop to test"
lines=$(grep -c "(loop)" "$LOG")
# 10 of a burst, one every 5 s, the suppressed counts
[ "$lines" -le 30 ] || fail "$lines lines about the loop domain for $restarts restarts"
grep -q "(loop): [0-9]* messages suppressed" "$LOG" || fail "no count of held-back messages"
echo "ok: $restarts restarts, $lines lines in kxend.log"

# --- 3: SIGHUP ------------------------------------------------------------------
mv "$LOG" "$LOG.old"
kill -HUP "$(cat "$RUNDIR/kxend.pid")" || fail "cannot signal kxend"
for _ in $(seq 50); do [ -f "$LOG" ] && break; sleep 0.1; done
grep -q "logs reopened" "$LOG" 2>/dev/null || fail "kxend.log not reopened after SIGHUP"
"$XL" list >/dev/null || fail "kxend gone after SIGHUP"
echo "ok: SIGHUP reopens kxend.log"
