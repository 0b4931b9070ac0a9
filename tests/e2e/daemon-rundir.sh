#!/usr/bin/env bash
# kxend's run dir is trusted only when no other user could have touched
# it: created 0700 (and so are console/, the logs, the pid file and the
# socket), refused when another user owns it or may write to it or to a
# parent, or when it or a console log is a symlink; and only root or the
# daemon's own user may use the control socket (SO_PEERCRED), even when
# its mode is loosened.
#
# Exit 0 pass, 77 skip (no /dev/kvm, not root), anything else fail.
set -u
BUILD=${BUILD:-build}
XL=$BUILD/xl
if [ ! -c /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "skip: /dev/kvm is missing or not writable"
	exit 77
fi
[ "$(id -u)" = 0 ] || { echo "skip: needs root (chown, another uid)"; exit 77; }
command -v setpriv >/dev/null || { echo "skip: no setpriv"; exit 77; }
for f in "$XL" "$BUILD/kxend" "$BUILD/guests/hello.elf"; do
	[ -e "$f" ] || { echo "FAIL: $f is not built (run make)"; exit 1; }
done
T=$(mktemp -d)
daemons=()
stop_daemons() {
	local d pid
	for d in "${daemons[@]}"; do
		pid=$(cat "$d/kxend.pid" 2>/dev/null) || continue
		kill "$pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	done
}
trap 'stop_daemons; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mode_of() { stat -c %a "$1"; }
# xl_in DIR ARGS...: xl with that run dir (starts a daemon there)
xl_in() { local d=$1; shift; daemons+=("$d"); KXEN_RUNDIR=$d "$XL" "$@"; }
# refused DIR PATTERN: no daemon may start there, with PATTERN on stderr
refused() {
	if xl_in "$1" list >"$T/out" 2>"$T/err"; then
		fail "kxend accepted $1 ($2)"
	fi
	grep -Eq -- "$2" "$T/err" || fail "refusal of $1 lacks /$2/: $(cat "$T/err")"
	[ -S "$1/kxend.sock" ] && fail "a socket appeared in refused $1"
	echo "ok: refused $1: $(grep -m1 kxend "$T/err")"
}

# A: a new run dir is made 0700, with 0700 console/ and 0600 files.
A=$T/new/run
xl_in "$A" list >/dev/null || fail "kxend did not start in a fresh $A"
[ "$(mode_of "$A")" = 700 ] || fail "$A has mode $(mode_of "$A")"
[ "$(mode_of "$A/console")" = 700 ] || fail "console/ has mode $(mode_of "$A/console")"
for f in kxend.sock kxend.log kxend.pid; do
	[ "$(mode_of "$A/$f")" = 600 ] || fail "$f has mode $(mode_of "$A/$f")"
done
echo "ok: fresh run dir 0700, socket/log/pid 0600"

# B-F: run dirs another user could have prepared.
mkdir -m 777 "$T/open" && chmod 777 "$T/open"
refused "$T/open" "writable by other users"
mkdir -m 700 "$T/theirs" && chown nobody "$T/theirs"
refused "$T/theirs" "owned by uid"
mkdir -m 777 "$T/pub" && chmod 777 "$T/pub" && mkdir -m 700 "$T/pub/run"
refused "$T/pub/run" "parent .* writable by other users"
mkdir -m 700 "$T/real" && ln -s "$T/real" "$T/link"
refused "$T/link" "symlink"
mkdir -m 700 "$T/evil-console" && ln -s "$T/real" "$T/evil-console/console"
refused "$T/evil-console" "console.*symlink"
# A run dir that is only readable by others is tightened, not refused.
mkdir -m 755 "$T/readable" && chmod 755 "$T/readable"
xl_in "$T/readable" list >/dev/null || fail "kxend refused a 0755 run dir"
[ "$(mode_of "$T/readable")" = 700 ] || fail "0755 run dir left $(mode_of "$T/readable")"
echo "ok: a 0755 run dir becomes 0700"

# G: a symlink planted as a console log is not followed (no O_TRUNC of
# its target), and the domain is not created.
echo precious >"$T/victim"
ln -s "$T/victim" "$A/console/evil.log"
printf 'name = "evil"\nkernel = "%s/guests/hello.elf"\nmemory = 32\n' "$BUILD" >"$T/evil.cfg"
if xl_in "$A" create "$T/evil.cfg" >/dev/null 2>"$T/err"; then
	fail "a domain was created over a symlinked console log"
fi
grep -q "symlink" "$T/err" || fail "create said: $(cat "$T/err")"
[ "$(cat "$T/victim")" = precious ] || fail "the symlink's target was written"
echo "ok: symlinked console log refused, target untouched"

# H: another user: the socket's mode keeps them out; loosened, the
# daemon still refuses them by their credentials.
XLN=$T/bin/xl
mkdir -m 755 "$T/bin" && cp "$XL" "$XLN" && chmod 755 "$XLN" && chmod 711 "$T"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env KXEN_RUNDIR="$A" "$XLN" "$@"; }
if as_nobody list >"$T/out" 2>"$T/err"; then fail "nobody listed domains"; fi
grep -qi "permission denied" "$T/err" || fail "nobody got: $(cat "$T/err")"
chmod 755 "$T/new" "$A" && chmod 666 "$A/kxend.sock"
if as_nobody list >"$T/out" 2>"$T/err"; then fail "nobody listed domains over a 0666 socket"; fi
grep -q "only root or the daemon's user" "$T/err" || fail "nobody got: $(cat "$T/err")"
grep -q "refused a control connection from uid 65534" "$A/kxend.log" ||
	fail "the refusal was not logged"
xl_in "$A" list | grep -q '^Domain-0' || fail "root can no longer use the daemon"
echo "ok: other users are refused by SO_PEERCRED"

# I: xl's PCI records (pci-assignable/ under the run dir) are not written
# through a symlink either.
SYS=$T/sys
mkdir -p "$SYS/bus/pci/devices/0000:03:00.0" "$SYS/bus/pci/drivers/vfio-pci" \
	"$SYS/bus/pci/drivers/e1000e"
: >"$SYS/bus/pci/drivers_probe"
: >"$SYS/bus/pci/devices/0000:03:00.0/driver_override"
for f in bind unbind; do : >"$SYS/bus/pci/drivers/e1000e/$f"; : >"$SYS/bus/pci/drivers/vfio-pci/$f"; done
ln -s ../../drivers/e1000e "$SYS/bus/pci/devices/0000:03:00.0/driver"
mkdir -m 700 "$A/pci-assignable"
ln -s "$T/victim" "$A/pci-assignable/0000:03:00.0.tmp"
if KXEN_SYSFS_ROOT=$SYS KXEN_RUNDIR=$A "$XL" pci-assignable-add 03:00.0 >/dev/null 2>"$T/err"; then
	fail "a PCI record was written through a symlink"
fi
[ "$(cat "$T/victim")" = precious ] || fail "the symlink's target was written by pci-assignable-add"
echo "ok: PCI records are not written through a symlink ($(cat "$T/err"))"
