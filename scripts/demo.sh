#!/usr/bin/env bash
# `make demo`: fetches the reference guest (the Debian 12 kernel and
# busybox-static) into cache/, builds an initramfs whose init starts a
# busybox shell on the PV console, and boots it as a Xen PV domU with
# `xl create -c`.  Ctrl-] detaches from the console; `poweroff -f` in the
# guest shell stops it; `xl destroy debian-demo` kills it.
set -euo pipefail
BUILD=${1:-build}
CACHE=${KXEN_GUEST_CACHE:-cache}
[ -e /dev/kvm ] || { echo "demo: /dev/kvm is missing: kxen needs KVM" >&2; exit 1; }

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
