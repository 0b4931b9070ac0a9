#!/usr/bin/env bash
# Boot time of the reference guest under kxen against QEMU with pure
# software emulation (TCG), side by side and alternating, on this machine:
# wall clock from the start of the command to the first line /init prints,
# read from the console stream as it arrives.
#
#   kxen:  xl create -c (private kxend), PV, vcpus 1, memory 512 MiB
#   TCG:   qemu-system-x86_64 -accel tcg -smp 1 -m 512 -kernel vmlinuz
#          -initrd the same initramfs (console=ttyS0)
#
#   bench/core/boot-vs-tcg.sh [RUNS]        (default 3)
#
# Prints each run, min and median of both, the ratio kxen/TCG of the
# medians (goal <= 0.5) and the machine's raw trap cost measured by the
# trap-bench guest (one null hypercall round trip).
# Environment: BUILD, KXEN_GUEST_CACHE (see lib.sh); BOOT_CMDLINE (extra
# kernel arguments, default "quiet"); BOOT_TIMEOUT (seconds, default 300).
set -euo pipefail
# shellcheck source=bench/core/lib.sh
source "$(dirname "$0")/lib.sh"

RUNS=${1:-3}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "usage: $0 [RUNS]"
EXTRA=${BOOT_CMDLINE:-quiet}
TIMEOUT=${BOOT_TIMEOUT:-300}
MARKER="kxen-bench: init reached"
XL=$BUILD/xl
KXEND=$BUILD/kxend
QEMU=$(command -v qemu-system-x86_64 || true)

bench_need_guest_cache
[ -x "$XL" ] && [ -x "$KXEND" ] || bench_die "$XL and $KXEND must be built (make)"
[ -n "$QEMU" ] || bench_die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"

cat >"$BENCH_TMP/init" <<EOF
#!/bin/sh
echo "$MARKER"
poweroff -f
EOF
INITRD=$BENCH_TMP/boot.cpio.gz
bench_initramfs "$INITRD" "$BENCH_TMP/init"
kernel=$GUEST_CACHE/vmlinuz
[[ $kernel = /* ]] || kernel=$BENCH_ROOT/$kernel

RUNDIR=$BENCH_TMP/run
mkdir -p "$RUNDIR"
export KXEN_RUNDIR=$RUNDIR
stop_daemon() {
	local pid
	pid=$(cat "$RUNDIR/kxend.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
}
bench_on_exit stop_daemon

cat >"$BENCH_TMP/boot.cfg" <<EOF
name = "boot-vs-tcg"
kernel = "$kernel"
ramdisk = "$INITRD"
extra = "console=hvc0 $EXTRA"
memory = 512
vcpus = 1
EOF

kxen_boot() {
	timeout "$TIMEOUT" "$XL" create -c "$BENCH_TMP/boot.cfg"
	"$XL" destroy boot-vs-tcg >/dev/null 2>&1 || true
}

tcg_boot() {
	timeout "$TIMEOUT" "$QEMU" -accel tcg -smp 1 -m 512 -nographic -no-reboot \
		-kernel "$kernel" -initrd "$INITRD" -append "console=ttyS0 $EXTRA panic=-1"
}

# one LABEL RUN CMD: the marker's time stamp in microseconds, or nothing.
one() {
	local label=$1 run=$2 log
	shift 2
	log=$BENCH_TMP/$label-$run.log
	bench_console_run "$log" "$@" || true
	bench_stamp_of "$log" "$MARKER"
}

# The null hypercall round trip of the bench-trap guest, in microseconds
# (its results are TSC cycles).
trap_cost() {
	local out
	out=$(timeout 120 "$BUILD/kxen-run" --memory 32 "$BUILD/guests/bench-trap.elf" 2>&1) || true
	awk '/TSC [0-9]+ kHz/ { sub(/.*TSC /, ""); khz = $1 }
	     /op=hypercall/ { for (i = 1; i <= NF; i++) if ($i ~ /^min=/) { sub(/min=/, "", $i); c = $i } }
	     END { if (khz && c) printf "%.1f us per null hypercall (min of 3 x 20000)", c / khz * 1000;
	           else print "unknown" }' <<<"$out"
}

bench_header "boot to /init: kxen (xl create -c, PV) vs QEMU TCG, alternating, $RUNS runs each"
echo "raw trap cost: $(trap_cost)"
KX=()
TC=()
for ((r = 1; r <= RUNS; r++)); do
	k=$(one kxen "$r" kxen_boot)
	t=$(one tcg "$r" tcg_boot)
	printf '  run %d: kxen %s s, TCG %s s\n' "$r" "$(bench_us_to_s "${k:-0}")" \
		"$(bench_us_to_s "${t:-0}")"
	[ -n "$k" ] && KX+=("$k") || bench_note "kxen run $r: no marker"
	[ -n "$t" ] && TC+=("$t") || bench_note "TCG run $r: no marker"
done
[ ${#KX[@]} -gt 0 ] && [ ${#TC[@]} -gt 0 ] || bench_die "no complete runs"
read -r kmin kmed <<<"$(bench_min_median "${KX[@]}")"
read -r tmin tmed <<<"$(bench_min_median "${TC[@]}")"
printf '%-6s min %8s s  median %8s s\n' kxen "$(bench_us_to_s "$kmin")" "$(bench_us_to_s "$kmed")"
printf '%-6s min %8s s  median %8s s\n' TCG "$(bench_us_to_s "$tmin")" "$(bench_us_to_s "$tmed")"
awk -v k="$kmed" -v t="$tmed" 'BEGIN { printf "ratio kxen/TCG (medians): %.2f (goal <= 0.5)\n", k / t }'
