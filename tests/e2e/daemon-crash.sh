#!/usr/bin/env bash
# If kxend dies, every domain dies with it; that must never be silent.
#  1. Two domains run; kxend aborts (SIGABRT, as a failed assert would):
#     kxend.log says so.
#  2. The next `xl list` starts a fresh daemon and warns on stderr which
#     domains were lost (domid and name) and where the log is; the list
#     itself shows only Domain-0; <rundir>/lost-domains keeps the record.
#  3. The warning is given once; after a clean stop (SIGTERM) there is
#     nothing to warn about.  A daemon killed with no domains is reported
#     as such.
#
# Exit 0 pass, 77 skip (no /dev/kvm), anything else fail.
set -u
. "$(dirname "$0")/xl-common.inc"
pid_of() { cat "$RUNDIR/kxend.pid"; }
wait_dead() { for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }

# --- 1 ---------------------------------------------------------------------------
"$XL" create "$(cfg web idle)" || fail "create web"
"$XL" create "$(cfg db idle)" || fail "create db"
web=$("$XL" domid web) && db=$("$XL" domid db) || fail "no domids"
grep -q "^$web web$" "$RUNDIR/domains" && grep -q "^$db db$" "$RUNDIR/domains" ||
	fail "the running domains are not recorded: $(cat "$RUNDIR/domains" 2>&1)"
old=$(pid_of)
kill -ABRT "$old"
wait_dead "$old" || fail "kxend survived SIGABRT"
grep -q "kxend: fatal signal 6" "$RUNDIR/kxend.log" || fail "the abort is not in kxend.log"
echo "ok: kxend aborted, the log says so"

# --- 2 ---------------------------------------------------------------------------
"$XL" list >"$RUNDIR/out" 2>"$RUNDIR/err" || fail "xl list after the crash: $(cat "$RUNDIR/err")"
cat "$RUNDIR/err"
grep -q "did not stop cleanly" "$RUNDIR/err" || fail "xl list did not warn"
grep -q "pid $old" "$RUNDIR/err" || fail "the warning lacks the dead daemon's pid"
grep -q "$web (web)" "$RUNDIR/err" && grep -q "$db (db)" "$RUNDIR/err" ||
	fail "the warning does not name both lost domains"
grep -q "$RUNDIR/kxend.log" "$RUNDIR/err" || fail "the warning does not say where the log is"
grep -q "^web \|^db " "$RUNDIR/out" && fail "xl list shows lost domains"
grep -q "^Domain-0 " "$RUNDIR/out" || fail "xl list shows no Domain-0"
grep -q "$web (web)" "$RUNDIR/lost-domains" || fail "no lost-domains record"
[ "$(pid_of)" != "$old" ] || fail "no new daemon"
echo "ok: the next xl names the lost domains and the log"

# --- 3 ---------------------------------------------------------------------------
"$XL" list >/dev/null 2>"$RUNDIR/err" || fail "second xl list"
[ -s "$RUNDIR/err" ] && fail "warned twice: $(cat "$RUNDIR/err")"
"$XL" create "$(cfg calm idle)" || fail "create calm"
stop_daemon
[ -e "$RUNDIR/domains" ] && fail "a clean stop left the domains record"
"$XL" list >/dev/null 2>"$RUNDIR/err" || fail "xl list after a clean stop"
[ -s "$RUNDIR/err" ] && fail "warned after a clean stop: $(cat "$RUNDIR/err")"
old=$(pid_of)
kill -KILL "$old"
wait_dead "$old" || fail "kxend survived SIGKILL"
"$XL" list >/dev/null 2>"$RUNDIR/err" || fail "xl list after SIGKILL"
grep -q "pid $old did not stop cleanly; it ran no domains" "$RUNDIR/err" ||
	fail "an empty daemon's death: $(cat "$RUNDIR/err")"
echo "ok: warned once; nothing after a clean stop; an empty daemon's death noted"
