#!/usr/bin/env bash
# Pure computation in the guest against the same on the host: a busybox awk
# loop that makes no system calls while it runs (ITER iterations of integer
# arithmetic).  This isolates what the PV model costs a CPU-bound process:
# its instructions run natively at CPL3, so only timer interrupts and other
# traps add time.  (bench/core/cpu-ratio.sh measures md5sum, which on this
# kind of host is dominated by the cost of one system call per 4 KiB read.)
#
#   bench/core/cpu-compute.sh [RUNS]      (default 2)
#
# Environment: BUILD, KXEN_GUEST_CACHE (see lib.sh); COMPUTE_ITER (default
# 20000000), CPU_MEMORY (default 512), CPU_VCPUS (default 1).
set -euo pipefail
# shellcheck source=bench/core/lib.sh
source "$(dirname "$0")/lib.sh"

RUNS=${1:-2}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "usage: $0 [RUNS]"
ITER=${COMPUTE_ITER:-20000000}
[[ $ITER =~ ^[1-9][0-9]*$ ]] || bench_die "COMPUTE_ITER must be a positive integer"
MEMORY=${CPU_MEMORY:-512}
VCPUS=${CPU_VCPUS:-1}
BUSYBOX=$GUEST_CACHE/busybox
PROGRAM="BEGIN { s = 0; for (i = 0; i < $ITER; i++) s = (s + i * 7) % 1000003; print s }"

bench_need_run
bench_need_guest_cache

cat >"$BENCH_TMP/init" <<INIT
#!/bin/sh
mount -t proc proc /proc
echo "kxen-bench: compute start"
time -p awk '$PROGRAM' 2>&1
echo "kxen-bench: compute end"
poweroff -f
INIT
INITRD=$BENCH_TMP/compute.cpio.gz
bench_initramfs "$INITRD" "$BENCH_TMP/init"

real_of() { awk '{ sub(/^[0-9]+ /, "") } $1 == "real" { print $2; exit }' "$1"; }

bench_header "CPU compute: busybox awk, $ITER iterations, guest (vcpus=$VCPUS, ${MEMORY} MiB) vs host"
for ((run = 1; run <= RUNS; run++)); do
	log=$BENCH_TMP/guest-$run.log
	bench_console_run "$log" timeout 600 "$KXEN_RUN" --memory "$MEMORY" --vcpus "$VCPUS" \
		--timeout 500 --ramdisk "$INITRD" --cmdline "console=hvc0 quiet" \
		"$GUEST_CACHE/vmlinuz" || true
	g=$(real_of "$log")
	[ -n "$g" ] || bench_die "guest run $run gave no result"
	"$BUSYBOX" time -p "$BUSYBOX" awk "$PROGRAM" > "$BENCH_TMP/host.out" 2>&1
	h=$(real_of "$BENCH_TMP/host.out")
	printf '  run %d: guest %s s, host %s s, ratio %s\n' "$run" "$g" "$h" \
		"$(awk -v g="$g" -v h="$h" 'BEGIN { printf "%.3f", g / h }')"
done
