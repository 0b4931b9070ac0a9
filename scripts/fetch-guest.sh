#!/usr/bin/env bash
# Fetches the reference guest: the newest Debian 12 kernel
# linux-image-6.1.0-*-amd64-unsigned (CONFIG_XEN_PV=y) and busybox-static.
#
#   scripts/fetch-guest.sh CACHE_DIR
#
# Leaves in CACHE_DIR:
#   vmlinuz        the kernel (bzImage, loaded by kxen's builder)
#   busybox        static busybox (for scripts/mkinitramfs.sh)
#   modules-dir    a text file: the path of the kernel's lib/modules/<ver>
#   modules        symlink to that directory
#   *.deb          the downloaded packages
# and prints these paths.  A second run finds everything in place and does
# nothing; delete CACHE_DIR to pick up a newer kernel.
#
# Uses `apt-get download` (no root needed for it); when apt knows no such
# kernel yet, runs `apt-get update` first (as root, or with sudo).
# KXEN_KERNEL_PKG=linux-image-6.1.0-NN-amd64-unsigned pins the package.
set -euo pipefail

die() { echo "fetch-guest: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 CACHE_DIR"
mkdir -p "$1"
cache=$(cd "$1" && pwd)

print_paths() {
	echo "vmlinuz=$cache/vmlinuz"
	echo "busybox=$cache/busybox"
	echo "modules=$(cat "$cache/modules-dir")"
	echo "kernel-version=$(basename "$(cat "$cache/modules-dir")")"
}

if [ -s "$cache/vmlinuz" ] && [ -x "$cache/busybox" ] && [ -s "$cache/modules-dir" ] &&
	[ -d "$(cat "$cache/modules-dir")" ]; then
	print_paths
	exit 0
fi

for tool in apt-get apt-cache dpkg-deb dpkg; do
	command -v "$tool" >/dev/null || die "$tool not found (this needs a Debian-based host)"
done

kernel_candidates() {
	apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' |
		awk '{print $1}'
}

apt_update() {
	echo "fetch-guest: running apt-get update" >&2
	if [ "$(id -u)" -eq 0 ]; then
		apt-get update -qq >&2
	elif command -v sudo >/dev/null; then
		sudo apt-get update -qq >&2
	else
		die "no kernel package known to apt and not root: run apt-get update"
	fi
}

# The candidate with the highest version (compared by dpkg, not by name).
newest_kernel() {
	local best= best_ver= pkg ver
	for pkg in $(kernel_candidates); do
		ver=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
		[ -n "$ver" ] && [ "$ver" != "(none)" ] || continue
		if [ -z "$best" ] || dpkg --compare-versions "$ver" gt "$best_ver"; then
			best=$pkg
			best_ver=$ver
		fi
	done
	echo "$best"
}

kpkg=${KXEN_KERNEL_PKG:-}
if [ -z "$kpkg" ]; then
	kpkg=$(newest_kernel)
	if [ -z "$kpkg" ]; then
		apt_update
		kpkg=$(newest_kernel)
	fi
	[ -n "$kpkg" ] || die "no linux-image-6.1.0-*-amd64-unsigned package available"
fi
bb_policy=$(apt-cache policy busybox-static)
case $bb_policy in
*"Candidate: "[0-9]*) ;;
*) apt_update ;;
esac

# Downloads package $1 into the cache unless a .deb of it is already there.
fetch_deb() {
	local pkg=$1 deb
	deb=$(ls "$cache/${pkg}"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -z "$deb" ]; then
		echo "fetch-guest: downloading $pkg" >&2
		# apt drops privileges to _apt for downloads; a root-owned cache
		# dir only makes it warn, so the warning is filtered out.
		(cd "$cache" && apt-get download -q "$pkg" 2> >(grep -v 'unsandboxed' >&2)) >&2
		deb=$(ls "$cache/${pkg}"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
		[ -n "$deb" ] || die "download of $pkg failed"
	fi
	echo "$deb"
}

kdeb=$(fetch_deb "$kpkg")
bdeb=$(fetch_deb busybox-static)

# Extract into a fresh directory, then move into place: an interrupted run
# never leaves a half-extracted tree that a re-run would take as complete.
extract() {
	local deb=$1 dest=$2 tmp
	[ -d "$dest" ] && return 0
	tmp=$(mktemp -d "$cache/.extract.XXXXXX")
	dpkg-deb -x "$deb" "$tmp" || { rm -rf "$tmp"; die "cannot extract $deb"; }
	mv "$tmp" "$dest"
}

kdir=$cache/kernel-$(basename "$kdeb" .deb)
bdir=$cache/busybox-$(basename "$bdeb" .deb)
extract "$kdeb" "$kdir"
extract "$bdeb" "$bdir"

vmlinuz=$(ls "$kdir"/boot/vmlinuz-* 2>/dev/null | head -n 1 || true)
[ -n "$vmlinuz" ] || die "no boot/vmlinuz-* in $kdeb"
modules=$(ls -d "$kdir"/lib/modules/*/ 2>/dev/null | head -n 1 || true)
[ -n "$modules" ] || die "no lib/modules/<version> in $kdeb"
modules=${modules%/}
[ -x "$bdir/bin/busybox" ] || die "no bin/busybox in $bdeb"

cp -f "$vmlinuz" "$cache/vmlinuz.tmp" && mv -f "$cache/vmlinuz.tmp" "$cache/vmlinuz"
cp -f "$bdir/bin/busybox" "$cache/busybox.tmp" && mv -f "$cache/busybox.tmp" "$cache/busybox"
ln -sfn "$modules" "$cache/modules"
echo "$modules" >"$cache/modules-dir.tmp" && mv -f "$cache/modules-dir.tmp" "$cache/modules-dir"

print_paths
