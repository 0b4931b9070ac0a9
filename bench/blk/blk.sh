#!/usr/bin/env bash
# Block I/O through kxen's blkback vs the same on the host, side by side:
# sequential read and write of SIZE MiB (default 1024) with O_DIRECT in
# 1 MiB requests, and 4 KiB random reads (1 and 8 at a time), run by the
# same static program (bench/blk/blkbench.c) in the guest on /dev/xvdb and
# on the host on the image file.  For each guest run it also reports what
# it cost: events from the guest (its notifications), events to it, and
# the domain's traps (guest -> kxen transitions), per MiB moved.
#
#   bench/blk/blk.sh [SIZE_MIB]
#
# The guest: Debian 12 kernel, vcpus=2, memory=512, blkfront from the
# kernel package, through kxend and xl (disk= in xl.cfg).  The image is a
# preallocated raw file in $TMPDIR (SIZE + 64 MiB).  Environment: BUILD,
# KXEN_GUEST_CACHE (see bench/core/lib.sh), BLK_SECONDS (random-read run
# length, default 20), BLK_BLKFRONT_ARGS (xen-blkfront module parameters,
# e.g. "max_indirect_segments=256" for 1 MiB requests instead of its
# default 128 KiB, or "max_queues=1").
set -euo pipefail
# shellcheck source=bench/core/lib.sh
source "$(dirname "$0")/../core/lib.sh"

SIZE=${1:-1024}
SECS=${BLK_SECONDS:-20}
[[ $SIZE =~ ^[1-9][0-9]*$ ]] || bench_die "usage: $0 [SIZE_MIB]"
bench_need_run
bench_need_guest_cache
XL=$BUILD/xl
[ -x "$XL" ] && [ -x "$BUILD/kxend" ] || bench_die "$XL and $BUILD/kxend must be built (make)"
command -v gcc >/dev/null || bench_die "needs gcc (static blkbench for the guest)"

bench_header "block I/O: guest (blkfront -> kxen blkback) vs host, ${SIZE} MiB, O_DIRECT"
echo "guest:   Debian 12 kernel, vcpus=2, memory=512, xen-blkfront ${BLK_BLKFRONT_ARGS:-(defaults)}"

gcc -static -O2 -o "$BENCH_TMP/blkbench" bench/blk/blkbench.c -lpthread ||
	bench_die "cannot build blkbench statically (libc6-dev's libc.a)"
IMG=$BENCH_TMP/disk.img
fallocate -l $(((SIZE + 64) << 20)) "$IMG" 2>/dev/null || truncate -s $(((SIZE + 64) << 20)) "$IMG"

# --- the raw trap cost of this machine, right now ------------------------------------
TRAP_NS=$("$KXEN_RUN" --timeout 120 --cmdline "hypercall=20000 trap=1 cpuid=1 mmu=1 rounds=5" \
	"$BUILD/guests/bench-trap.elf" 2>/dev/null |
	awk '/op=hypercall/ { for (i = 1; i <= NF; i++) if ($i ~ /^min=/) { sub(/min=/, "", $i); print $i } }')
echo "trap:    null hypercall round trip ${TRAP_NS:-?} ns (bench-trap, min of 5 rounds)"

# --- host -------------------------------------------------------------------------------
host() { "$BENCH_TMP/blkbench" "$@" | sed -n 's/^blkbench: //p'; }
declare -A HOST
HOST[seqwrite]=$(host seqwrite "$IMG" "$SIZE")
HOST[seqread]=$(host seqread "$IMG" "$SIZE")
HOST[randread-qd1]=$(host randread "$IMG" "$SIZE" "$SECS" 1)
HOST[randread-qd8]=$(host randread "$IMG" "$SIZE" "$SECS" 8)

# --- guest ------------------------------------------------------------------------------
cat >"$BENCH_TMP/init" <<EOF
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
insmod /xen-blkfront.ko ${BLK_BLKFRONT_ARGS:-}
for _ in \$(seq 100); do [ -b /dev/xvdb ] && break; sleep 0.2; done
phase() { echo "BENCH-START \$1"; sleep 2; /blkbench \$2; sleep 2; echo "BENCH-END \$1"; sleep 3; }
phase seqwrite "seqwrite /dev/xvdb $SIZE"
phase seqread "seqread /dev/xvdb $SIZE"
phase randread-qd1 "randread /dev/xvdb $SIZE $SECS 1"
phase randread-qd8 "randread /dev/xvdb $SIZE $SECS 8"
echo "BENCH-ALL-DONE"
poweroff -f
EOF
bench_initramfs "$BENCH_TMP/initrd.gz" "$BENCH_TMP/init" "$BENCH_TMP/blkbench=/blkbench" \
	"$GUEST_CACHE/modules/kernel/drivers/block/xen-blkfront.ko=/xen-blkfront.ko"
export KXEN_RUNDIR=$BENCH_TMP/run
mkdir -p "$KXEN_RUNDIR"
bench_on_exit '[ -f "$KXEN_RUNDIR/kxend.pid" ] && kill "$(cat "$KXEN_RUNDIR/kxend.pid")"'
cat >"$BENCH_TMP/blk.cfg" <<EOF
name = "blkbench"
kernel = "$GUEST_CACHE/vmlinuz"
ramdisk = "$BENCH_TMP/initrd.gz"
extra = "console=hvc0"
memory = 512
vcpus = 2
disk = [ 'format=raw, vdev=xvdb, access=rw, target=$IMG' ]
EOF
"$XL" create -q "$BENCH_TMP/blk.cfg" >/dev/null
LOG=$KXEN_RUNDIR/console/blkbench.log
# stats: "requests KiB events_in events_out traps" of xvdb now.
stats() { "$XL" block-list -s blkbench | awk '$1 == 51728 { print $2, $3, $4, $5, $6 }'; }
declare -A GUEST COST
for phase in seqwrite seqread randread-qd1 randread-qd8; do
	for _ in $(seq 1800); do grep -q "BENCH-START $phase" "$LOG" 2>/dev/null && break; sleep 0.5; done
	grep -q "BENCH-START $phase" "$LOG" || bench_die "guest never started $phase"
	read -r r0 k0 i0 o0 t0 < <(stats)
	for _ in $(seq 3600); do grep -q "BENCH-END $phase" "$LOG" && break; sleep 0.5; done
	grep -q "BENCH-END $phase" "$LOG" || bench_die "guest never finished $phase"
	read -r r1 k1 i1 o1 t1 < <(stats)
	GUEST[$phase]=$(tr -d '\r' <"$LOG" | sed -n "s/^blkbench: \($phase .*\)/\1/p")
	COST[$phase]=$(awk -v r=$((r1 - r0)) -v k=$((k1 - k0)) -v i=$((i1 - i0)) -v o=$((o1 - o0)) \
		-v t=$((t1 - t0)) 'BEGIN { m = k / 1024; if (m <= 0) m = 1e-9;
		printf "%d requests, %.1f MiB: %.1f events in/MiB, %.1f events out/MiB, %.0f traps/MiB (%.2f traps per request)",
		r, m, i / m, o / m, t / m, r ? t / r : 0 }')
done
for _ in $(seq 120); do "$XL" list blkbench >/dev/null 2>&1 || break; sleep 0.5; done

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
printf '\n%-14s %14s %14s %8s\n' "test" "guest" "host" "guest/host"
for phase in seqwrite seqread randread-qd1 randread-qd8; do
	case $phase in
	seq*) key=mib_s unit="MiB/s" ;;
	*) key=iops unit=IOPS ;;
	esac
	g=$(field "${GUEST[$phase]}" $key)
	h=$(field "${HOST[$phase]}" $key)
	printf '%-14s %8s %-5s %8s %-5s %7s%%\n' "$phase" "${g:--}" "$unit" "${h:--}" "$unit" \
		"$(awk -v g="${g:-0}" -v h="${h:-0}" 'BEGIN { printf "%.0f", (h > 0) ? 100 * g / h : 0 }')"
done
echo
for phase in seqwrite seqread randread-qd1 randread-qd8; do
	printf '%-14s %s\n' "$phase" "${COST[$phase]}"
done
