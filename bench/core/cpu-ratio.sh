#!/usr/bin/env bash
# CPU-bound work in the guest against the same work on the host: busybox
# md5sum of SIZE MiB held in tmpfs.  The guest's /init creates the data (a
# deterministic non-zero pattern, `yes | head -c`) in a tmpfs, then times
# only the md5sum with busybox `time -p` and prints the result on the
# console; the host runs the same busybox binary on the same data in
# /dev/shm.  Each run boots the guest once and reports guest seconds, host
# seconds and the ratio guest/host (the goal is within 10%, i.e. <= 1.10).
#
# The guest's own clock (pvclock) is cross-checked by the host: /init
# prints a line just before and just after the md5sum, and the host's time
# stamps of those console lines give "host-observed" seconds.
#
#   bench/core/cpu-ratio.sh [RUNS]        (default 2)
#
# Environment: BUILD, KXEN_GUEST_CACHE (see lib.sh); CPU_SIZE_MB (default
# 200), CPU_MEMORY (guest MiB, default 512), CPU_VCPUS (default 1),
# CPU_TIMEOUT (seconds per guest, default 300).
set -euo pipefail
# shellcheck source=bench/core/lib.sh
source "$(dirname "$0")/lib.sh"

RUNS=${1:-2}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "usage: $0 [RUNS]"
SIZE_MB=${CPU_SIZE_MB:-200}
[[ $SIZE_MB =~ ^[1-9][0-9]*$ ]] || bench_die "CPU_SIZE_MB must be a positive integer"
MEMORY=${CPU_MEMORY:-512}
VCPUS=${CPU_VCPUS:-1}
TIMEOUT=${CPU_TIMEOUT:-300}
BYTES=$((SIZE_MB * 1024 * 1024))
PATTERN="kxen-bench-cpu-ratio"
BUSYBOX=$GUEST_CACHE/busybox

bench_need_run
bench_need_guest_cache
((MEMORY >= SIZE_MB * 2)) || bench_note "warning: ${MEMORY} MiB may be too little for ${SIZE_MB} MiB in tmpfs"

cat >"$BENCH_TMP/init" <<EOF
#!/bin/sh
mount -t proc proc /proc
mkdir -p /bench
mount -t tmpfs -o size=$((SIZE_MB + 16))m tmpfs /bench
yes $PATTERN | head -c $BYTES >/bench/data
echo "kxen-bench: data \$(wc -c </bench/data) bytes"
echo "kxen-bench: md5 start"
time -p md5sum /bench/data 2>&1
echo "kxen-bench: md5 end"
poweroff -f
EOF
INITRD=$BENCH_TMP/cpu.cpio.gz
bench_initramfs "$INITRD" "$BENCH_TMP/init"

# `time -p` output -> "REAL USER SYS" (from the first real/user/sys lines).
parse_time_p() {
	awk '
		{ sub(/^[0-9]+ /, "") }   # drop a console time stamp if present
		$1 == "real" && r == "" { r = $2 }
		$1 == "user" && u == "" { u = $2 }
		$1 == "sys"  && s == "" { s = $2 }
		END { print (r == "" ? "-" : r), (u == "" ? "-" : u), (s == "" ? "-" : s) }' "$1"
}

guest_run() {
	local run=$1 log rc t_start t_end
	log=$BENCH_TMP/guest-$run.log
	bench_console_run "$log" timeout $((TIMEOUT + 30)) "$KXEN_RUN" --memory "$MEMORY" \
		--vcpus "$VCPUS" --timeout "$TIMEOUT" --ramdisk "$INITRD" \
		--cmdline "console=hvc0 quiet" "$GUEST_CACHE/vmlinuz" && rc=0 || rc=$?
	t_start=$(bench_stamp_of "$log" "kxen-bench: md5 start")
	t_end=$(bench_stamp_of "$log" "kxen-bench: md5 end")
	if [ -z "$t_start" ] || [ -z "$t_end" ]; then
		bench_note "guest run $run: no result (exit status $rc); last lines:"
		tail -n 20 "$log" | cut -d' ' -f2- | sed 's/^/    /' >&2
		return 1
	fi
	GUEST_SUM=$(awk '$3 == "/bench/data" { print $2; exit }' "$log")
	read -r GUEST_REAL GUEST_USER GUEST_SYS < <(parse_time_p "$log")
	GUEST_OBSERVED=$(bench_us_to_s "$((t_end - t_start))")
}

host_run() {
	local data out=$BENCH_TMP/host.out
	if [ ! -d /dev/shm ] || [ ! -w /dev/shm ]; then
		bench_die "/dev/shm is not a writable tmpfs on this host"
	fi
	data=$(mktemp /dev/shm/kxen-bench-cpu.XXXXXX)
	bench_on_exit "rm -f '$data'"
	# yes ends with SIGPIPE once head has enough: not a failure here
	{ "$BUSYBOX" yes "$PATTERN" || true; } | "$BUSYBOX" head -c "$BYTES" >"$data"
	"$BUSYBOX" time -p "$BUSYBOX" md5sum "$data" >"$out" 2>&1
	rm -f "$data"
	HOST_SUM=$(awk 'NF == 2 && $2 ~ /kxen-bench-cpu/ { print $1; exit }' "$out")
	read -r HOST_REAL HOST_USER HOST_SYS < <(parse_time_p "$out")
}

ratio() {
	awk -v g="$1" -v h="$2" 'BEGIN { if (h + 0 > 0 && g != "-") printf "%.2f", g / h; else print "-" }'
}

bench_header "CPU ratio: busybox md5sum of ${SIZE_MB} MiB in tmpfs, guest (vcpus=$VCPUS, ${MEMORY} MiB) vs host"
ROWS=()
for ((run = 1; run <= RUNS; run++)); do
	guest_run "$run" || bench_die "guest run $run failed"
	host_run
	[ "$GUEST_SUM" = "$HOST_SUM" ] ||
		bench_note "run $run: checksums differ: guest $GUEST_SUM host $HOST_SUM"
	ROWS+=("$(printf '%3d  %8s %8s %8s %9s   %8s %8s %8s   %6s %6s' "$run" \
		"$GUEST_REAL" "$GUEST_USER" "$GUEST_SYS" "$GUEST_OBSERVED" \
		"$HOST_REAL" "$HOST_USER" "$HOST_SYS" \
		"$(ratio "$GUEST_REAL" "$HOST_REAL")" "$(ratio "$GUEST_USER" "$HOST_USER")")")
	echo "  run $run: guest ${GUEST_REAL} s (host-observed ${GUEST_OBSERVED} s), host ${HOST_REAL} s, md5 $HOST_SUM"
done
echo
printf '%3s  %8s %8s %8s %9s   %8s %8s %8s   %6s %6s\n' "run" "g.real" "g.user" "g.sys" \
	"g.observd" "h.real" "h.user" "h.sys" "ratio" "user"
for r in "${ROWS[@]}"; do echo "$r"; done
echo "(seconds; g = guest, timed inside by busybox time -p; g.observd = host time stamps of the"
echo " guest's console lines around the md5sum; ratio = g.real / h.real, user = g.user / h.user)"
