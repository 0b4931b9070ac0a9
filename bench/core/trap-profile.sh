#!/usr/bin/env bash
# Where the exits to the hypervisor go: boots the reference guest through
# kxend and xl and prints `xl trapstat` of the domain (every exit by kind,
# the daemon's time on it, and the hottest guest RIPs).
#
#   bench/core/trap-profile.sh [boot|md5]        (default boot)
#
#   boot  the boot up to /init's first line and the poweroff (the
#         boot-time.sh workload: vcpus=1, 512 MiB, quiet busybox init)
#   md5   only the busybox md5sum of CPU_SIZE_MB MiB in tmpfs (the
#         cpu-ratio.sh workload): the table at the start of the md5sum is
#         subtracted from the table at its end
#
# Environment: BUILD, KXEN_GUEST_CACHE (see lib.sh); PROFILE_VCPUS (1),
# PROFILE_MEMORY (512), PROFILE_CMDLINE ("console=hvc0 quiet"), CPU_SIZE_MB
# (200), PROFILE_TIMEOUT (seconds, 300).  RIPs are named when
# $KXEN_GUEST_CACHE/kallsyms exists (bench/core/guest-kallsyms.sh makes it).
set -euo pipefail
# shellcheck source=bench/core/lib.sh
source "$(dirname "$0")/lib.sh"

WHAT=${1:-boot}
case $WHAT in boot | md5) ;; *) bench_die "usage: $0 [boot|md5]" ;; esac
VCPUS=${PROFILE_VCPUS:-1}
MEMORY=${PROFILE_MEMORY:-512}
CMDLINE=${PROFILE_CMDLINE:-console=hvc0 quiet}
SIZE_MB=${CPU_SIZE_MB:-200}
TIMEOUT=${PROFILE_TIMEOUT:-300}
XL=$BUILD/xl
KXEND=$BUILD/kxend
NAME=trap-profile
SYMS=()
[ -s "$GUEST_CACHE/kallsyms" ] && SYMS=(-s "$GUEST_CACHE/kallsyms")

bench_need_guest_cache
[ -x "$XL" ] && [ -x "$KXEND" ] || bench_die "$XL and $KXEND must be built (make)"

if [ "$WHAT" = boot ]; then
	cat >"$BENCH_TMP/init" <<'EOF'
#!/bin/sh
echo "kxen-bench: init reached"
poweroff -f
EOF
else
	cat >"$BENCH_TMP/init" <<EOF
#!/bin/sh
mount -t proc proc /proc
mkdir -p /bench
mount -t tmpfs -o size=$((SIZE_MB + 16))m tmpfs /bench
yes kxen-bench-cpu-ratio | head -c $((SIZE_MB * 1024 * 1024)) >/bench/data
echo "kxen-bench: md5 start"
sleep 1
md5sum /bench/data
echo "kxen-bench: md5 end"
poweroff -f
EOF
fi
INITRD=$BENCH_TMP/profile.cpio.gz
bench_initramfs "$INITRD" "$BENCH_TMP/init"

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

kernel=$GUEST_CACHE/vmlinuz
[[ $kernel = /* ]] || kernel=$BENCH_ROOT/$kernel
cat >"$BENCH_TMP/$NAME.cfg" <<EOF
name = "$NAME"
kernel = "$kernel"
ramdisk = "$INITRD"
extra = "$CMDLINE"
memory = $MEMORY
vcpus = $VCPUS
on_poweroff = "preserve"
on_crash = "preserve"
EOF

# wait_console PATTERN: until the domain's console log has a line with it.
wait_console() {
	local log=$RUNDIR/console/$NAME.log
	for _ in $(seq $((TIMEOUT * 10))); do
		grep -qF "$1" "$log" 2>/dev/null && return 0
		sleep 0.1
	done
	bench_die "no \"$1\" on the console after $TIMEOUT s"
}

wait_shutdown() {
	for _ in $(seq $((TIMEOUT * 10))); do
		"$XL" list "$NAME" 2>/dev/null | awk -v n="$NAME" '$1 == n { exit ($5 ~ /s/) ? 0 : 1 }' &&
			return 0
		sleep 0.1
	done
	bench_die "the domain did not power off within $TIMEOUT s"
}

# The main rows of a trapstat dump as "kind<TAB>count<TAB>ns-in-ms".
rows_of() {
	awk '/^kind /{on=1; next} on && /^$/{exit} on {
		printf "%s\t%s\t%s\n", substr($0, 1, 34), substr($0, 36, 12) + 0, substr($0, 56, 12) + 0 }' "$1"
}

bench_header "trap profile: $WHAT (vcpus $VCPUS, memory $MEMORY MiB, cmdline \"$CMDLINE\")"
"$XL" create "$BENCH_TMP/$NAME.cfg" >/dev/null
if [ "$WHAT" = boot ]; then
	wait_shutdown
	"$XL" trapstat -n 25 "${SYMS[@]}" "$NAME"
else
	wait_console "kxen-bench: md5 start"
	"$XL" trapstat -n 0 "$NAME" >"$BENCH_TMP/before"
	wait_console "kxen-bench: md5 end"
	"$XL" trapstat -n 25 "${SYMS[@]}" "$NAME" >"$BENCH_TMP/after"
	echo "exits during the md5sum (table at its end minus table at its start; 1 s sleep included):"
	printf '%-34s %12s %12s\n' kind count "daemon(ms)"
	join -t $'\t' -a 2 -e 0 -o 0,1.2,1.3,2.2,2.3 <(rows_of "$BENCH_TMP/before" | sort) \
		<(rows_of "$BENCH_TMP/after" | sort) |
		awk -F'\t' '{ c = $4 - $2; if (c > 0) printf "%-34s\t%12d\t%12.1f\n", $1, c, $5 - $3 }' |
		sort -t$'\t' -k2,2 -rn | tr -d '\t'
	echo
	sed -n '/^hottest/,$p' "$BENCH_TMP/after"
fi
"$XL" destroy "$NAME" >/dev/null 2>&1 || true
