#!/usr/bin/env bash
# Builds a small initramfs (cpio "newc", gzip) for a kxen guest:
#
#   scripts/mkinitramfs.sh OUT.cpio.gz INIT_SCRIPT [EXTRA...]
#
#   INIT_SCRIPT  becomes /init; "-" uses a built-in one that mounts
#                proc, sys and devtmpfs and starts a shell on the console.
#   EXTRA        SRC or SRC=DEST: extra files (DEST is a path inside the
#                initramfs, default /SRC's basename); directories are copied
#                recursively.
#
# Busybox comes from $BUSYBOX, else $KXEN_GUEST_CACHE/busybox (as left by
# scripts/fetch-guest.sh); it must be the static build (busybox-static).
# It is installed at /bin/busybox with a symlink per applet.
#
# The archive is written by this script itself (no cpio needed, no root
# needed): /dev/console and /dev/null are created as device entries in the
# archive, which the kernel needs before /init runs to give it a console.
set -euo pipefail

die() { echo "mkinitramfs: $*" >&2; exit 1; }

[ $# -ge 2 ] || die "usage: $0 OUT.cpio.gz INIT_SCRIPT [SRC[=DEST]...]"
out=$1
init=$2
shift 2

busybox=${BUSYBOX:-}
if [ -z "$busybox" ] && [ -n "${KXEN_GUEST_CACHE:-}" ]; then
	busybox=$KXEN_GUEST_CACHE/busybox
fi
[ -n "$busybox" ] || die "set BUSYBOX=/path/to/static/busybox (or KXEN_GUEST_CACHE)"
[ -f "$busybox" ] || die "busybox not found: $busybox"
[ "$init" = - ] || [ -f "$init" ] || die "init script not found: $init"

work=$(mktemp -d "${TMPDIR:-/tmp}/kxen-initramfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,tmp,root,etc,mnt,run,lib}
chmod 1777 "$root/tmp"

install -m 0755 "$busybox" "$root/bin/busybox"

# One symlink per applet, at the path busybox itself reports.
applets=$("$busybox" --list-full) || die "cannot run $busybox --list-full (not a static x86-64 busybox?)"
while IFS= read -r applet; do
	[ -n "$applet" ] || continue
	case $applet in
	bin/busybox | linuxrc | init) continue ;;
	esac
	mkdir -p "$root/$(dirname "$applet")"
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done <<<"$applets"

if [ "$init" = - ]; then
	cat >"$root/init" <<'EOF'
#!/bin/sh
# Default kxen initramfs init: mount the basics, show a banner, give a shell.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || true
echo "kxen initramfs: $(uname -r) up, $(cat /proc/meminfo | head -1)"
exec setsid cttyhack sh
EOF
	chmod 0755 "$root/init"
else
	install -m 0755 "$init" "$root/init"
fi

for extra in "$@"; do
	src=${extra%%=*}
	if [ "$src" = "$extra" ]; then
		dest=/$(basename "$src")
	else
		dest=${extra#*=}
	fi
	case $dest in /*) ;; *) dest=/$dest ;; esac
	[ -e "$src" ] || die "extra file not found: $src"
	mkdir -p "$root$(dirname "$dest")"
	cp -a "$src" "$root$dest"
done

# ---- cpio newc writer ---------------------------------------------------------
# Header: "070701" then 13 eight-digit hex fields; name and data are each
# padded to 4 bytes.  The archive ends with the TRAILER!!! entry.
ino=1
cpio_pad() {
	local n=$(( (4 - $1 % 4) % 4 ))
	[ "$n" -eq 0 ] || head -c "$n" /dev/zero
}
# cpio_header NAME MODE SIZE RDEVMAJOR RDEVMINOR
cpio_header() {
	local name=$1 mode=$2 size=$3 rmaj=$4 rmin=$5 namesize
	namesize=$(( ${#name} + 1 ))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$ino" "$mode" 0 0 1 0 "$size" 0 0 "$rmaj" "$rmin" "$namesize" 0
	printf '%s\0' "$name"
	cpio_pad $(( 110 + namesize ))
	ino=$((ino + 1))
}
cpio_entry() { # path relative to $root
	local rel=$1 path=$root/$1 mode size target
	mode=$((16#$(stat -c %f "$path")))
	if [ -L "$path" ]; then
		target=$(readlink "$path")
		cpio_header "$rel" "$mode" "${#target}" 0 0
		printf '%s' "$target"
		cpio_pad "${#target}"
	elif [ -f "$path" ]; then
		size=$(stat -c %s "$path")
		cpio_header "$rel" "$mode" "$size" 0 0
		cat "$path"
		cpio_pad "$size"
	elif [ -d "$path" ]; then
		cpio_header "$rel" "$mode" 0 0 0
	fi
}

LC_ALL=C
{
	cpio_header dev $((8#040755)) 0 0 0
	cpio_header dev/console $((8#020600)) 0 5 1
	cpio_header dev/null $((8#020666)) 0 1 3
	(cd "$root" && find . -mindepth 1 | sed 's|^\./||' | sort) | while IFS= read -r rel; do
		cpio_entry "$rel"
	done
	cpio_header 'TRAILER!!!' 0 0 0 0
} | gzip -9 -n >"$work/out.cpio.gz"

mkdir -p "$(dirname "$out")"
mv "$work/out.cpio.gz" "$out"
echo "$out"
