#!/usr/bin/env bash
#   scripts/demo.sh BUILD [busybox|debian]
#
# busybox (`make demo`, the quick look): fetches the reference guest (the
# Debian 12 kernel and busybox-static) into cache/, builds an initramfs
# whose init starts a busybox shell on the PV console, and boots it as a
# Xen PV domU with `xl create -c`.  `poweroff -f` in the guest shell stops
# it; `xl destroy debian-demo` kills it.
#
# debian (`make demo-debian`, a real VM): a Debian 12 system on its own
# disk, booted with bootloader="pygrub" as Xen users boot theirs.  The
# disk is cache/debian-vm.img, a copy of the root-fs image that
# scripts/mkrootfs.sh builds once (as root, a few minutes) and caches; the
# copy keeps what the VM writes from one demo to the next (delete it to
# start afresh).  root is logged in on the console; `poweroff` stops it.
#
# Ctrl-] detaches from the console in both.
set -euo pipefail
BUILD=${1:-build}
WHICH=${2:-busybox}
CACHE=${KXEN_GUEST_CACHE:-cache}
[ -e /dev/kvm ] || { echo "demo: /dev/kvm is missing: kxen needs KVM" >&2; exit 1; }

if [ "$WHICH" = debian ]; then
	img=$(scripts/mkrootfs.sh)
	mkdir -p "$CACHE"
	disk=$CACHE/debian-vm.img
	[ -s "$disk" ] || cp --sparse=always "$img" "$disk"
	cat > "$CACHE/debian-vm.cfg" <<CFG
# A Debian 12 VM booting from its own disk (made by scripts/mkrootfs.sh).
name = "debian-vm"
type = "pv"
bootloader = "pygrub"
disk = ['format=raw,vdev=xvda,access=rw,target=$(cd "$CACHE" && pwd)/debian-vm.img']
memory = 1024
vcpus = 2
on_poweroff = "destroy"
on_reboot = "restart"
CFG
	echo "demo: booting $CACHE/debian-vm.cfg (Ctrl-] detaches)"
	exec "$BUILD/xl" create -c "$CACHE/debian-vm.cfg"
fi
[ "$WHICH" = busybox ] || { echo "demo: unknown demo \"$WHICH\" (busybox or debian)" >&2; exit 2; }

scripts/fetch-guest.sh "$CACHE"
cat > "$CACHE/demo-init" <<'INIT'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
echo "KXEN-INIT-MARKER: userspace is up"
echo "kxen demo: a busybox shell on hvc0. 'poweroff -f' stops the guest; Ctrl-] detaches."
/bin/busybox setsid /bin/busybox cttyhack /bin/sh
/bin/busybox poweroff -f
INIT
BUSYBOX=$CACHE/busybox scripts/mkinitramfs.sh "$CACHE/demo-initrd.gz" "$CACHE/demo-init"
cat > "$CACHE/demo.cfg" <<CFG
# The default kxen guest: the stock Debian 12 kernel as a Xen PV domU.
name = "debian-demo"
type = "pv"
kernel = "$CACHE/vmlinuz"
ramdisk = "$CACHE/demo-initrd.gz"
extra = "console=hvc0"
memory = 512
vcpus = 1
on_poweroff = "destroy"
CFG
echo "demo: booting $CACHE/demo.cfg (Ctrl-] detaches)"
exec "$BUILD/xl" create -c "$CACHE/demo.cfg"
