#!/usr/bin/env bash
# e2e-slow
# The stock Debian kernel's own xen-blkfront against kxen's block backend,
# through kxend and xl (disk= in xl.cfg, xl block-detach, xl destroy).
#
# Domain 1 (vcpus=2, so blkfront uses two queues; grant tables v1):
#   xvda  an ext4 image made with mkfs.ext4 -d: the guest mounts it, reads
#         a known file and a 4 MiB file whose checksum we know, writes a
#         marker file and 8 MiB of random data, syncs, drops its caches,
#         mounts again and reads its data back from the disk.  (Reconnecting
#         after the frontend closed is blkhostile's part: Linux's blkfront
#         cannot be re-bound, Mini-OS frontends such as pvgrub's do it.)  After `xl destroy` the host runs e2fsck -fn (clean) and
#         finds the files with the checksums the guest printed.
#   xvdb  a raw image attached access=ro: blkfront sees it read-only, a
#         direct write fails, and the image is unchanged afterwards.
# Domain 2 (grant tables v2, as `grant_table.version=2` makes Linux ask):
#   xvdc  a raw image the guest writes block after block (O_DIRECT + fsync,
#         printing each block it was told is written) while the host runs
#         `xl block-detach`: every block the guest saw completed is in the
#         image, the guest sees the disk go, the daemon keeps running.
# Both domains boot at the same time (the test costs one boot, not two).
set -euo pipefail
BUILD=${BUILD:-build}
CACHE=${KXEN_GUEST_CACHE:-cache}
[ -e /dev/kvm ] || { echo "skip: no /dev/kvm"; exit 77; }
command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null && command -v debugfs >/dev/null ||
	{ echo "skip: e2fsprogs (mkfs.ext4, e2fsck, debugfs) not installed"; exit 77; }
scripts/fetch-guest.sh "$CACHE" >/dev/null
MODS=$CACHE/modules/kernel

export KXEN_RUNDIR
KXEN_RUNDIR=$(mktemp -d)
work=$(mktemp -d)
cleanup() {
	[ -f "$KXEN_RUNDIR/kxend.pid" ] && kill "$(cat "$KXEN_RUNDIR/kxend.pid")" 2>/dev/null || true
	sleep 1
	rm -rf "$work" "$KXEN_RUNDIR"
}
trap cleanup EXIT
XL=$BUILD/xl
fail() {
	echo "FAIL: $*"
	for f in "$KXEN_RUNDIR"/console/*.log; do
		[ -f "$f" ] && { echo "--- $f"; grep -v '^\[' "$f" | tail -n 25; }
	done
	[ -f "$KXEN_RUNDIR/kxend.log" ] && { echo "--- kxend.log"; tail -n 40 "$KXEN_RUNDIR/kxend.log"; }
	exit 1
}
wait_console() {   # domain, pattern, seconds
	local log=$KXEN_RUNDIR/console/$1.log
	for _ in $(seq $(($3 * 2))); do
		grep -q -- "$2" "$log" 2>/dev/null && return 0
		sleep 0.5
	done
	fail "$1: timed out waiting for \"$2\""
}

# --- images ------------------------------------------------------------------
mkdir -p "$work/fs"
echo "kxen-known-content-$$" > "$work/fs/hello.txt"
head -c $((4 << 20)) /dev/urandom > "$work/fs/big.bin"
big_sha=$(sha256sum < "$work/fs/big.bin" | cut -d' ' -f1)
mkfs.ext4 -q -F -L kxentest -d "$work/fs" "$work/ext4.img" 64M
head -c $((8 << 20)) /dev/urandom > "$work/ro.img"
ro_sha=$(sha256sum < "$work/ro.img" | cut -d' ' -f1)
truncate -s 256M "$work/raw.img"

mods=()
for m in drivers/block/xen-blkfront.ko lib/crc16.ko fs/mbcache.ko fs/jbd2/jbd2.ko \
	crypto/crc32c_generic.ko fs/ext4/ext4.ko; do
	mods+=("$MODS/$m=/mod/$(basename "$m")")
done

# --- domain 1: ext4, read-only disk, destroy -----------------------
cat > "$work/init1" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in xen-blkfront crc16 mbcache jbd2 crc32c_generic ext4; do insmod /mod/$m.ko; done
for _ in $(seq 100); do [ -b /dev/xvda ] && [ -b /dev/xvdb ] && break; sleep 0.2; done
echo "QUEUES: $(ls /sys/block/xvda/mq | wc -l)"
echo "RO-FLAG: $(blockdev --getro /dev/xvdb)"
if dd if=/dev/zero of=/dev/xvdb bs=4096 count=1 oflag=direct 2>/dev/null; then
	echo "RO-WRITE: succeeded"
else
	echo "RO-WRITE: refused"
fi
mount -t ext4 /dev/xvda /mnt || echo "MOUNT-FAILED"
echo "KNOWN: $(cat /mnt/hello.txt)"
echo "BIG-SHA: $(sha256sum /mnt/big.bin | cut -d' ' -f1)"
echo "guest-wrote-this" > /mnt/marker.txt
head -c 8388608 /dev/urandom > /mnt/written.bin
echo "WROTE-SHA: $(sha256sum /mnt/written.bin | cut -d' ' -f1)"
sync
umount /mnt
# Read it back from the disk, not from the page cache.
echo 3 > /proc/sys/vm/drop_caches
mount -t ext4 /dev/xvda /mnt || echo "REMOUNT-FAILED"
echo "REREAD-SHA: $(sha256sum /mnt/written.bin | cut -d' ' -f1)"
echo "second-write" > /mnt/second.txt
sync
echo "SYNCED"
while true; do sleep 60; done
INIT
BUSYBOX=$CACHE/busybox scripts/mkinitramfs.sh "$work/initrd1.gz" "$work/init1" "${mods[@]}" >/dev/null
cat > "$work/d1.cfg" <<CFG
name = "blk1"
kernel = "$CACHE/vmlinuz"
ramdisk = "$work/initrd1.gz"
extra = "console=hvc0"
memory = 512
vcpus = 2
disk = [ 'format=raw, vdev=xvda, access=rw, target=$work/ext4.img',
         '$work/ro.img,raw,xvdb,r' ]
CFG
# --- domain 2: detach under load, grant tables v2 -------------------------------
cat > "$work/init2" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
insmod /mod/xen-blkfront.ko
for _ in $(seq 100); do [ -b /dev/xvdc ] && break; sleep 0.2; done
dmesg | grep -i "grant table" | tail -1
i=0
while [ -b /dev/xvdc ]; do
	yes "BLK-$i" | head -c 4096 > /tmp/blk
	dd if=/tmp/blk of=/dev/xvdc bs=4096 seek=$i count=1 oflag=direct conv=fsync 2>/dev/null ||
		break
	echo "DONE $i"
	i=$((i + 1))
done
echo "XVDC-GONE after $i"
while true; do sleep 60; done
INIT
BUSYBOX=$CACHE/busybox scripts/mkinitramfs.sh "$work/initrd2.gz" "$work/init2" "${mods[@]}" >/dev/null
cat > "$work/d2.cfg" <<CFG
name = "blk2"
kernel = "$CACHE/vmlinuz"
ramdisk = "$work/initrd2.gz"
extra = "console=hvc0 grant_table.version=2"
memory = 256
disk = [ 'vdev=xvdc, access=rw, target=$work/raw.img' ]
CFG
"$XL" create "$work/d1.cfg" || fail "xl create"
# Both boot at once: the test takes one boot's time, not two.
"$XL" create "$work/d2.cfg" || fail "xl create blk2"
# --- domain 2 first (it boots faster): detach under load ---------------------------
wait_console blk2 "DONE 30" 600
"$XL" block-detach blk2 xvdc || fail "xl block-detach"
wait_console blk2 "XVDC-GONE" 60
"$XL" block-list blk2 | grep -q "^51744 " && fail "xvdc still listed after block-detach"
tr -d '\r' < "$KXEN_RUNDIR/console/blk2.log" > "$work/c2"
grep -q "Grant tables using version 2" "$work/c2" || fail "the guest did not use grant tables v2"
done_n=0
while read -r _ n; do
	first=$(dd if="$work/raw.img" bs=4096 skip="$n" count=1 2>/dev/null | head -n 1)
	[ "$first" = "BLK-$n" ] || fail "block $n was reported written but holds \"$first\""
	done_n=$((done_n + 1))
done < <(grep '^DONE [0-9]*$' "$work/c2")
"$XL" destroy blk2 || fail "xl destroy blk2"
echo "ok: $done_n completed writes all in the image after a detach under load (grant v2)"

# --- domain 1 ------------------------------------------------------------------------
"$XL" block-list blk1 > "$work/blist" || fail "xl block-list"
grep -q "^51712 " "$work/blist" && grep -q "^51728 " "$work/blist" ||
	fail "block-list lacks xvda/xvdb: $(cat "$work/blist")"
"$XL" list -l blk1 | grep -q '"vdev": "xvdb"' || fail "xl list -l does not show the disks"
wait_console blk1 "SYNCED" 400
log=$KXEN_RUNDIR/console/blk1.log
tr -d '\r' < "$log" > "$work/c1"
grep -q "QUEUES: 2" "$work/c1" || fail "blkfront did not use 2 queues: $(grep QUEUES "$work/c1")"
grep -q "RO-FLAG: 1" "$work/c1" || fail "xvdb not read-only in the guest"
grep -q "RO-WRITE: refused" "$work/c1" || fail "a write to the read-only disk succeeded"
grep -q "KNOWN: kxen-known-content-$$" "$work/c1" || fail "known file not read back"
grep -q "BIG-SHA: $big_sha" "$work/c1" || fail "4 MiB file read with a wrong checksum"
grep -q "MOUNT-FAILED\|REMOUNT-FAILED" "$work/c1" && fail "mount failed"
wrote=$(sed -n 's/^WROTE-SHA: //p' "$work/c1")
[ -n "$wrote" ] || fail "no WROTE-SHA line"
grep -q "REREAD-SHA: $wrote" "$work/c1" || fail "data read back from the disk differs"
grep -q "vbd 51712 connected" "$KXEN_RUNDIR/kxend.log" || fail "no connect logged"
"$XL" destroy blk1 || fail "xl destroy"
e2fsck -fn "$work/ext4.img" > "$work/fsck" 2>&1 || { cat "$work/fsck"; fail "e2fsck -fn not clean"; }
debugfs -R "cat /marker.txt" "$work/ext4.img" 2>/dev/null | grep -q "guest-wrote-this" ||
	fail "marker.txt not in the image"
debugfs -R "cat /second.txt" "$work/ext4.img" 2>/dev/null | grep -q "second-write" ||
	fail "second.txt (written after the remount) not in the image"
got=$(debugfs -R "cat /written.bin" "$work/ext4.img" 2>/dev/null | sha256sum | cut -d' ' -f1)
[ "$got" = "$wrote" ] || fail "written.bin in the image has another checksum"
[ "$(sha256sum < "$work/ro.img" | cut -d' ' -f1)" = "$ro_sha" ] || fail "the read-only image changed"
echo "ok: ext4 read/write, 2 queues, read-only disk, destroy, e2fsck clean"
kill -0 "$(cat "$KXEN_RUNDIR/kxend.pid")" || fail "kxend died"

echo "PASS"
