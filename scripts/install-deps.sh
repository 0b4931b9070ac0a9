#!/usr/bin/env bash
# Installs the Debian packages kxen builds and tests with (see README).
set -euo pipefail
pkgs=(gcc clang make libc6-dev zlib1g-dev liblzma-dev libzstd-dev liblz4-dev
      liburing-dev libext2fs-dev e2fsprogs fdisk libcmocka-dev valgrind)
missing=()
for p in "${pkgs[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	sudo_cmd=
	[ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
	$sudo_cmd apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
