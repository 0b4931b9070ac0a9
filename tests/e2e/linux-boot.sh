#!/usr/bin/env bash
# The reference guest end to end: the stock Debian 12 kernel boots as a Xen
# PV domU (vcpus=2, memory=512) into a busybox initramfs whose init prints a
# marker, runs uname, and powers off.  Checks the marker, that both vCPUs
# came up, and a clean poweroff (kxen-run exit status 0).
#
# Downloads the kernel and busybox into $KXEN_GUEST_CACHE (default cache/)
# on first use (scripts/fetch-guest.sh).
set -euo pipefail
BUILD=${BUILD:-build}
CACHE=${KXEN_GUEST_CACHE:-cache}
[ -e /dev/kvm ] || { echo "skip: no /dev/kvm"; exit 77; }

scripts/fetch-guest.sh "$CACHE" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/init" <<'INIT'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
echo "KXEN-INIT-MARKER: userspace is up on $(/bin/busybox grep -c ^processor /proc/cpuinfo) CPUs"
/bin/busybox uname -a
/bin/busybox poweroff -f
INIT
BUSYBOX=$CACHE/busybox scripts/mkinitramfs.sh "$work/initrd.gz" "$work/init" >/dev/null

set +e
timeout 300 "$BUILD/kxen-run" --timeout 240 --memory 512 --vcpus 2 \
	--ramdisk "$work/initrd.gz" --cmdline "console=hvc0" "$CACHE/vmlinuz" > "$work/console.log" 2>&1
rc=$?
set -e
tail -n 25 "$work/console.log"
grep -q "KXEN-INIT-MARKER: userspace is up on 2 CPUs" "$work/console.log" ||
	{ echo "FAIL: no init marker with 2 CPUs"; exit 1; }
grep -q "Linux .* 6\.1\..*x86_64" "$work/console.log" || { echo "FAIL: no uname output"; exit 1; }
[ "$rc" -eq 0 ] || { echo "FAIL: kxen-run exited $rc (expected 0: poweroff)"; exit 1; }
echo "PASS: Debian kernel booted to userspace and powered off"
