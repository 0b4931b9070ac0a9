#!/usr/bin/env bash
# The Debian 12 root-fs image of scripts/mkrootfs.sh, booted the way Xen
# users boot such guests: bootloader="pygrub" and the image as xvda.
# pygrub's choice (the image's own kernel and initrd, grub.cfg's default
# entry) must start: the kernel from the image prints its banner and its
# initramfs starts looking for the root file system.
#
# The image is built once and cached outside the checkout (see
# scripts/mkrootfs.sh; CI builds it before `make test`); without it this
# test is skipped.  The guest writes to a sparse copy, never to the cache.
set -euo pipefail
source "$(dirname "$0")/xl-common.inc"
IMG=$(scripts/mkrootfs.sh --path)
[ -s "$IMG" ] || { echo "skip: no root-fs image at $IMG (run scripts/mkrootfs.sh as root)"; exit 77; }
[ -x "$BUILD/kxen-pygrub" ] || fail "$BUILD/kxen-pygrub is not built"
kver=$(sed -n 's/^kernel=//p' "$IMG.info" 2>/dev/null || true)
W=$RUNDIR/work
mkdir -p "$W"
cp --sparse=always "$IMG" "$W/disk.img"

cat > "$RUNDIR/debian.cfg" <<CFG
name = "debian-disk"
memory = 512
vcpus = 2
bootloader = "pygrub"
disk = ['format=raw,vdev=xvda,access=rw,target=$W/disk.img']
CFG
"$XL" create "$RUNDIR/debian.cfg" 2>"$RUNDIR/err" || fail "create: $(cat "$RUNDIR/err")"
grep -q "pygrub on $W/disk.img: partition 1, entry \"Debian GNU/Linux, with Linux ${kver:-6.1}" \
	"$RUNDIR/kxend.log" || fail "kxend.log lacks pygrub's choice of grub.cfg's default entry"
log=$RUNDIR/console/debian-disk.log
wait_console() { # pattern seconds
	for _ in $(seq $(($2 * 2))); do
		grep -q "$1" "$log" 2>/dev/null && return 0
		sleep 0.5
	done
	tail -n 30 "$log"
	fail "timed out waiting for: $1"
}
wait_console "Linux version ${kver:-6.1}" 120
grep -q "Command line: root=/dev/xvda1 ro console=hvc0" "$log" ||
	fail "the kernel did not get grub.cfg's command line"
wait_console "Loading, please wait" 240
echo "ok: pygrub booted the image's kernel ${kver:-} and its initramfs started"
"$XL" destroy debian-disk
wait_gone debian-disk || fail "debian-disk still listed after destroy"
echo PASS
