#!/usr/bin/env bash
# bootloader="pygrub" through kxend and xl, on small disks made here:
#  1. a partitioned ext4 disk whose grub.cfg's default entry (set default=1)
#     names the Debian kernel and a busybox initrd: `xl create` boots it; the
#     guest sees the entry's arguments followed by xl.cfg's extra=, and
#     powers off.  bootloader_args=["--entry=0"] picks the other entry.
#     A path ending in /pygrub works like "pygrub".
#  2. failures end the create with a clear message and leave no domain:
#     no disk= at all, a missing disk file, a disk without a file system,
#     a file system without grub.cfg or kernel, an entry naming a missing
#     kernel, a qcow2 disk.
set -euo pipefail
source "$(dirname "$0")/xl-common.inc"
CACHE=${KXEN_GUEST_CACHE:-cache}
command -v mke2fs >/dev/null || { echo "skip: mke2fs (e2fsprogs) is missing"; exit 77; }
command -v sfdisk >/dev/null || { echo "skip: sfdisk (fdisk) is missing"; exit 77; }
[ -x "$BUILD/kxen-pygrub" ] || fail "$BUILD/kxen-pygrub is not built"
scripts/fetch-guest.sh "$CACHE" >/dev/null
W=$RUNDIR/work
mkdir -p "$W/tree/boot/grub"

# --- the disk: MBR, ext4 at 1 MiB, kernel + initrd + grub.cfg ---------------
cat > "$W/init" <<'INIT'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
echo "KXEN-PYGRUB-MARKER: cmdline=[$(/bin/busybox cat /proc/cmdline)]"
/bin/busybox poweroff -f
INIT
BUSYBOX=$CACHE/busybox scripts/mkinitramfs.sh "$W/tree/boot/initrd.img-kxen" "$W/init" >/dev/null
cp "$CACHE/vmlinuz" "$W/tree/boot/vmlinuz-kxen"
cat > "$W/tree/boot/grub/grub.cfg" <<'CFG'
set default="1"
set timeout=5
menuentry 'other entry' {
	linux /boot/vmlinuz-kxen console=hvc0 from-entry-zero
	initrd /boot/initrd.img-kxen
}
menuentry 'Debian test' --class debian $menuentry_id_option 'kxen-test' {
	insmod ext2
	set root='hd0,msdos1'
	linux (hd0,msdos1)/boot/vmlinuz-kxen console=hvc0 from-grub-cfg
	initrd /boot/initrd.img-kxen
}
CFG
make_disk() { # image tree
	rm -f "$1"
	truncate -s 64M "$1"
	echo 'start=2048, type=83, bootable' | sfdisk -q --label dos "$1" >/dev/null
	mke2fs -q -F -t ext4 -E offset=1048576 -d "$2" "$1" 63M >/dev/null
}
make_disk "$W/disk.img" "$W/tree"

pcfg() { # name bootloader [extra lines...]
	local name=$1 bl=$2
	shift 2
	{
		printf 'name = "%s"\nmemory = 256\nbootloader = "%s"\n' "$name" "$bl"
		for l in "$@"; do printf '%s\n' "$l"; done
	} > "$RUNDIR/$name.cfg"
	echo "$RUNDIR/$name.cfg"
}
boot_and_check() { # name pattern
	local log=$RUNDIR/console/$1.log
	for _ in $(seq 300); do
		grep -q "KXEN-PYGRUB-MARKER" "$log" 2>/dev/null && break
		sleep 0.5
	done
	grep -q "KXEN-PYGRUB-MARKER" "$log" || { tail -n 20 "$log"; fail "$1: no marker"; }
	grep -q -- "$2" "$log" || { grep MARKER "$log"; fail "$1: cmdline lacks /$2/"; }
	wait_gone "$1" || { sleep 5; wait_gone "$1"; } || fail "$1 still listed after poweroff"
}

# --- 1: boots the default entry; the entry's args, then xl.cfg's ------------
c=$(pcfg pg-default pygrub "extra = \"xl-extra=1\"" \
	"disk = ['format=raw,vdev=xvda,access=rw,target=$W/disk.img']")
"$XL" create "$c" 2>"$RUNDIR/err" || fail "create: $(cat "$RUNDIR/err")"
boot_and_check pg-default "cmdline=\[console=hvc0 from-grub-cfg xl-extra=1\]"
grep -q 'pygrub on .*disk.img: partition 1, entry "Debian test": kernel /boot/vmlinuz-kxen' \
	"$RUNDIR/kxend.log" || fail "kxend.log does not record pygrub's choice"
echo "ok: default entry booted, cmdline = entry's args + extra="

c=$(pcfg pg-entry /usr/lib/xen-4.17/bin/pygrub 'bootloader_args = ["--entry=0"]' \
	"disk = ['$W/disk.img,raw,xvda,rw']")
"$XL" create "$c" 2>"$RUNDIR/err" || fail "create: $(cat "$RUNDIR/err")"
boot_and_check pg-entry "cmdline=\[console=hvc0 from-entry-zero\]"
echo "ok: --entry=0 and a path ending in /pygrub"

# --- 2: failures ----------------------------------------------------------------
c=$(pcfg pg-nodisk pygrub)
expect_fail "no disk" "needs a disk to read" "$XL" create "$c"
c=$(pcfg pg-missing pygrub "disk = ['format=raw,vdev=xvda,target=$W/nope.img']")
expect_fail "missing disk" "nope.img: No such file or directory" "$XL" create "$c"
truncate -s 8M "$W/blank.img"
c=$(pcfg pg-blank pygrub "disk = ['format=raw,vdev=xvda,target=$W/blank.img']")
expect_fail "no file system" "no ext2/3/4 file system on the disk" "$XL" create "$c"
mkdir -p "$W/empty"
make_disk "$W/empty.img" "$W/empty"
c=$(pcfg pg-empty pygrub "disk = ['format=raw,vdev=xvda,target=$W/empty.img']")
expect_fail "no grub.cfg, no kernel" "no GRUB configuration .* and no kernel in /boot" \
	"$XL" create "$c"
rm "$W/tree/boot/vmlinuz-kxen"
make_disk "$W/nokernel.img" "$W/tree"
c=$(pcfg pg-nokernel pygrub "disk = ['format=raw,vdev=xvda,target=$W/nokernel.img']")
expect_fail "missing kernel" "entry \"Debian test\": kernel /boot/vmlinuz-kxen: no such file" \
	"$XL" create "$c"
c=$(pcfg pg-qcow pygrub "disk = ['format=qcow2,vdev=xvda,target=$W/disk.img']")
expect_fail "qcow2" "pygrub reads raw disks only" "$XL" create "$c"
for n in pg-nodisk pg-missing pg-blank pg-empty pg-nokernel pg-qcow; do
	"$XL" list | grep -q "^$n " && fail "$n is listed after a failed create"
done
kill -0 "$(cat "$RUNDIR/kxend.pid")" || fail "kxend died"
echo "ok: failures are clear and leave no domain"
echo PASS
