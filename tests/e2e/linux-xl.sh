#!/usr/bin/env bash
# e2e-slow
# The reference guest through the toolstack: kxend + xl with a real xl.cfg.
#  1. `xl create` (vcpus=2, memory=512): the init script prints a marker and
#     powers off; the domain disappears from `xl list`; kxend keeps running.
#  2. `xl create -c` (vcpus=1): the Linux boot log and a busybox shell appear
#     on the console; `uname -a` and `cat /proc/cpuinfo` answer; `poweroff -f`
#     ends the domain.
set -euo pipefail
BUILD=${BUILD:-build}
CACHE=${KXEN_GUEST_CACHE:-cache}
[ -e /dev/kvm ] || { echo "skip: no /dev/kvm"; exit 77; }
scripts/fetch-guest.sh "$CACHE" >/dev/null

export KXEN_RUNDIR
KXEN_RUNDIR=$(mktemp -d)
work=$(mktemp -d)
cleanup() {
	[ -f "$KXEN_RUNDIR/kxend.pid" ] && kill "$(cat "$KXEN_RUNDIR/kxend.pid")" 2>/dev/null || true
	exec 3>&- 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
XL=$BUILD/xl
fail() { echo "FAIL: $*"; exit 1; }

# --- 1: boot to a marker and power off -----------------------------------
cat > "$work/init-poweroff" <<'INIT'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
echo "KXEN-INIT-MARKER: $(/bin/busybox grep -c ^processor /proc/cpuinfo) CPUs"
/bin/busybox poweroff -f
INIT
BUSYBOX=$CACHE/busybox scripts/mkinitramfs.sh "$work/initrd1.gz" "$work/init-poweroff" >/dev/null
cat > "$work/boot.cfg" <<CFG
name = "deb-boot"
kernel = "$CACHE/vmlinuz"
ramdisk = "$work/initrd1.gz"
extra = "console=hvc0"
memory = 512
vcpus = 2
CFG
"$XL" create "$work/boot.cfg"
log=$KXEN_RUNDIR/console/deb-boot.log
for _ in $(seq 240); do
	grep -q "KXEN-INIT-MARKER" "$log" 2>/dev/null && break
	sleep 0.5
done
grep -q "KXEN-INIT-MARKER: 2 CPUs" "$log" || { tail -20 "$log"; fail "no marker with 2 CPUs"; }
for _ in $(seq 60); do
	"$XL" list | grep -q deb-boot || break
	sleep 0.5
done
"$XL" list | grep -q deb-boot && fail "deb-boot still listed after poweroff"
kill -0 "$(cat "$KXEN_RUNDIR/kxend.pid")" || fail "kxend died"
echo "ok: boot to marker, poweroff, gone from xl list, kxend alive"

# --- 2: interactive console ------------------------------------------------
cat > "$work/init-shell" <<'INIT'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
echo "KXEN-INIT-MARKER: shell"
/bin/busybox setsid /bin/busybox cttyhack /bin/sh
/bin/busybox poweroff -f
INIT
BUSYBOX=$CACHE/busybox scripts/mkinitramfs.sh "$work/initrd2.gz" "$work/init-shell" >/dev/null
sed -e 's/deb-boot/deb-shell/' -e "s|initrd1|initrd2|" -e 's/vcpus = 2/vcpus = 1/' \
	"$work/boot.cfg" > "$work/shell.cfg"
mkfifo "$work/in"
"$XL" create -c "$work/shell.cfg" < "$work/in" > "$work/out" 2>&1 &
xlpid=$!
exec 3> "$work/in"
wait_for() {   # pattern, seconds
	for _ in $(seq $(($2 * 2))); do
		grep -q "$1" "$work/out" && return 0
		sleep 0.5
	done
	tail -20 "$work/out"
	fail "timed out waiting for: $1"
}
wait_for "Linux version 6.1" 60
wait_for "KXEN-INIT-MARKER: shell" 120
sleep 1
printf 'uname -a\n' >&3
wait_for "Linux (none) 6.1" 30
printf 'cat /proc/cpuinfo\n' >&3
wait_for "^processor" 30
wait_for "model name" 30
printf 'poweroff -f\n' >&3
for _ in $(seq 60); do
	"$XL" list | grep -q deb-shell || break
	sleep 0.5
done
"$XL" list | grep -q deb-shell && fail "deb-shell still listed after poweroff"
exec 3>&-
wait "$xlpid" || true
kill -0 "$(cat "$KXEN_RUNDIR/kxend.pid")" || fail "kxend died"
echo "ok: xl create -c shows the boot log and a shell that answers"
echo "PASS"
