#!/usr/bin/env bash
# Writes the reference guest kernel's symbol table (as /proc/kallsyms shows
# it inside the guest) to a file, for `xl trapstat -s FILE`: the Debian
# package ships no System.map, and a PV guest's kernel is not randomised,
# so one boot gives addresses that hold for every boot of that kernel.
#
#   bench/core/guest-kallsyms.sh [OUT]    (default $KXEN_GUEST_CACHE/kallsyms)
set -euo pipefail
# shellcheck source=bench/core/lib.sh
source "$(dirname "$0")/lib.sh"

OUT=${1:-$GUEST_CACHE/kallsyms}
bench_need_run
bench_need_guest_cache
cat >"$BENCH_TMP/init" <<'EOF2'
#!/bin/sh
mount -t proc proc /proc
grep -i ' t ' /proc/kallsyms | gzip -c | base64 >/syms.b64
echo "kxen-kallsyms: begin"
cat /syms.b64
echo "kxen-kallsyms: end"
poweroff -f
EOF2
bench_initramfs "$BENCH_TMP/syms.cpio.gz" "$BENCH_TMP/init"
"$KXEN_RUN" --memory 256 --timeout 300 --ramdisk "$BENCH_TMP/syms.cpio.gz" \
	--cmdline "console=hvc0 quiet" "$GUEST_CACHE/vmlinuz" >"$BENCH_TMP/console" 2>&1 ||
	bench_die "the guest did not power off cleanly"
# The console carries the table gzip'ed and in base64 (far fewer bytes
# through the guest's tty and console ring).
sed -n '/^kxen-kallsyms: begin/,/^kxen-kallsyms: end/{//!p}' "$BENCH_TMP/console" |
	tr -d '\r' | base64 -d | gunzip -c | grep -E '^[0-9a-f]{16} [tT] ' >"$OUT.tmp" || true
[ -s "$OUT.tmp" ] || bench_die "no symbols came out of the guest"
mv "$OUT.tmp" "$OUT"
echo "$OUT: $(wc -l <"$OUT") text symbols"
