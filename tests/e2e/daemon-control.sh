#!/usr/bin/env bash
# kxend domain control end to end: destroy of a live domain, pause and
# unpause, shutdown (control/shutdown in XenStore), a crashing guest that
# must not take the daemon down, names unique, raw protocol validation,
# and SIGTERM: every domain destroyed, socket and pid file removed, exit 0.
#
# No test guest stays up on its own, so "live" domains are created paused
# (-p): they exist, own a KVM VM and vCPU threads, and stay until told.
#
# Exit 0 pass, 77 skip (no /dev/kvm), anything else fail.
set -u
# shellcheck source=tests/e2e/xl-common.inc
source "$(dirname "$0")/xl-common.inc"

# The daemon started by hand in the foreground, as a service manager would.
"$BUILD/kxend" --foreground &
kxend=$!
for _ in $(seq 50); do [ -S "$RUNDIR/kxend.sock" ] && break; sleep 0.1; done
[ -S "$RUNDIR/kxend.sock" ] || fail "kxend --foreground did not listen"
[ "$(cat "$RUNDIR/kxend.pid")" = "$kxend" ] || fail "pid file does not hold $kxend"

# 1. destroy a live domain, by name and by domid.
"$XL" create -p "$(cfg live1 hello)" || fail "create live1"
"$XL" create -p "$(cfg live2 hello)" || fail "create live2"
"$XL" create -p "$(cfg live2 hello)" 2>"$RUNDIR/err" && fail "duplicate name accepted"
grep -q 'already exists' "$RUNDIR/err" || fail "duplicate name: $(cat "$RUNDIR/err")"
id2=$("$XL" list live2 | awk '$1 == "live2" { print $2 }')
"$XL" destroy live1 || fail "xl destroy live1"
"$XL" destroy "$id2" || fail "xl destroy $id2"
"$XL" list | grep -Eq '^live[12] ' && fail "destroyed domains still listed"
grep -q "kxen-test: PASS" "$RUNDIR/console/live1.log" && fail "a paused domain ran"
echo "ok destroy"

# 2. pause / unpause: state letters follow; unpausing lets it finish.
"$XL" create -p "$(cfg pp hello)" || fail "create pp"
[ "$(state_of pp)" = "--p---" ] || fail "pp state $(state_of pp), want --p---"
"$XL" unpause pp || fail "xl unpause"
wait_gone pp || fail "pp did not finish after unpause"
grep -q "kxen-test: PASS hello" "$RUNDIR/console/pp.log" || fail "pp did not run"
"$XL" create -p "$(cfg pq hello)" || fail "create pq"
"$XL" pause pq || fail "xl pause (already paused)"
[ "$(state_of pq)" = "--p---" ] || fail "pq state $(state_of pq)"
"$XL" destroy pq || fail "destroy pq"
echo "ok pause/unpause"

# 3. shutdown writes control/shutdown; the test guests ignore it, so the
#    domain stays and -w waits (killed by timeout).
"$XL" create -p "$(cfg sd hello)" || fail "create sd"
"$XL" shutdown sd || fail "xl shutdown"
grep -q "asked domain .* (sd) to poweroff" "$RUNDIR/kxend.log" || fail "no shutdown request logged"
"$XL" reboot sd || fail "xl reboot"
grep -q "asked domain .* (sd) to reboot" "$RUNDIR/kxend.log" || fail "no reboot request logged"
timeout 1 "$XL" shutdown -w sd 2>/dev/null
[ $? -eq 124 ] || fail "shutdown -w did not wait for a domain that stays"
# and returns once the domain is gone
( sleep 0.5; "$XL" destroy sd ) &
killer=$!
timeout 10 "$XL" shutdown -w sd 2>"$RUNDIR/err" || fail "shutdown -w: $(cat "$RUNDIR/err")"
grep -q "has been shut down" "$RUNDIR/err" || fail "shutdown -w said: $(cat "$RUNDIR/err")"
wait "$killer"
echo "ok shutdown"

# 4. a guest that crashes (hostile.elf ends by being killed) leaves the
#    daemon running and is destroyed (on_crash=destroy).
"$XL" create "$(cfg hostile hostile)" || fail "create hostile"
wait_gone hostile || fail "hostile still listed"
kill -0 "$kxend" || fail "kxend died with a crashing guest"
grep -q "(hostile) shut down: crash" "$RUNDIR/kxend.log" || fail "crash not logged"
echo "ok crash"

# 5. the raw protocol: the daemon validates what clients send.
if command -v python3 >/dev/null; then
	python3 - "$RUNDIR/kxend.sock" <<'PY' || fail "protocol validation"
import socket, sys
def ask(data):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1]); s.sendall(data)
    out = b""
    while not out.endswith(b"\n\n"):
        b = s.recv(4096)
        if not b: break
        out += b
    s.close()
    return out.decode()
cases = [
    (b"kxen-ctl/2 list\n\n", "error bad request: unsupported protocol version"),
    (b"hello\n\n", "error bad request"),
    (b"kxen-ctl/1 frobnicate\n\n", 'error unknown command "frobnicate"'),
    (b"kxen-ctl/1 list\nbogus=1\n\n", 'error list: unknown field "bogus"'),
    (b"kxen-ctl/1 create\nname=x\nkernel=/nonexistent\nmemory=+64\n\n", "error memory: expected a number"),
    (b"kxen-ctl/1 create\nname=x\nkernel=/nonexistent\nmemory=64\n\n", "error cannot create domain x: kernel /nonexistent"),
    (b"kxen-ctl/1 create\nname=a/b\nkernel=/bin/sh\n\n", 'error cannot create domain a/b: bad domain name'),
    (b"kxen-ctl/1 create\nname=42\nkernel=/bin/sh\n\n", 'error cannot create domain 42: bad domain name'),
    (b"kxen-ctl/1 destroy\ndom=1\ndom=2\n\n", 'error destroy: field "dom" given twice'),
    (b"kxen-ctl/1 list\nx=" + b"a" * 5000 + b"\n\n", "error bad request: line too long"),
    (b"kxen-ctl/1 version\n\n", "ok\nprotocol=1\n"),
]
bad = 0
for req, want in cases:
    got = ask(req)
    if not got.startswith(want):
        print("request %r: got %r, want %r" % (req[:60], got, want)); bad = 1
sys.exit(bad)
PY
	echo "ok protocol validation"
else
	echo "note: python3 missing, raw protocol checks skipped"
fi

# 6. SIGTERM: domains destroyed, socket and pid file removed, exit 0.
"$XL" create -p "$(cfg last hello)" || fail "create last"
kill -TERM "$kxend"
wait "$kxend"
rc=$?
[ $rc -eq 0 ] || fail "kxend exited $rc on SIGTERM"
[ -e "$RUNDIR/kxend.sock" ] && fail "socket left behind"
[ -e "$RUNDIR/kxend.pid" ] && fail "pid file left behind"
grep -q "destroying domain .* (last): the daemon is stopping" "$RUNDIR/kxend.log" ||
	fail "last domain not destroyed on SIGTERM"
echo "PASS daemon-control"
