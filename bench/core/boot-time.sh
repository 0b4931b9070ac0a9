#!/usr/bin/env bash
# Boot time of the reference guest (Debian 12 kernel + busybox initramfs):
# wall clock from starting the domain to the first line /init prints, read
# from the console stream as it arrives (each line time-stamped on the
# host), over N runs; min and median, for --vcpus 1 and 2, --memory 512.
# Also reported: the time until the domain has powered off and the runner
# exited ("exit"), and the guest kernel's own printk stamp of "Run /init".
#
#   bench/core/boot-time.sh [RUNS]        (default 3)
#
# Environment: BUILD, KXEN_GUEST_CACHE (see lib.sh); BOOT_VCPUS (default
# "1 2"), BOOT_MEMORY (MiB, default 512), BOOT_CMDLINE (default
# "console=hvc0"), BOOT_TIMEOUT (seconds per boot, default 120).
#
# Paths measured: build/kxen-run (the domain in-process); and, when
# build/xl and build/kxend both exist, `xl create -c` against a private
# kxend (own KXEN_RUNDIR, stopped afterwards) -- the time then includes the
# client, the daemon's domain build and the console relay.
set -euo pipefail
# shellcheck source=bench/core/lib.sh
source "$(dirname "$0")/lib.sh"

RUNS=${1:-3}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "usage: $0 [RUNS]"
VCPUS_LIST=${BOOT_VCPUS:-1 2}
MEMORY=${BOOT_MEMORY:-512}
CMDLINE=${BOOT_CMDLINE:-console=hvc0}
TIMEOUT=${BOOT_TIMEOUT:-120}
MARKER="kxen-bench: init reached"

bench_need_run
bench_need_guest_cache

# /init prints the marker before doing anything else, then powers off.
cat >"$BENCH_TMP/init" <<EOF
#!/bin/sh
echo "$MARKER"
poweroff -f
EOF
INITRD=$BENCH_TMP/boot.cpio.gz
bench_initramfs "$INITRD" "$BENCH_TMP/init"

# boot_once LABEL RUN CMD...: one boot; prints "MARKER_US EXIT_US RUN_INIT_S".
boot_once() {
	local label=$1 run=$2 log rc marker_us exit_us init_s
	shift 2
	log=$BENCH_TMP/boot-$label-$run.log
	bench_console_run "$log" "$@" && rc=0 || rc=$?
	exit_us=$(tail -n 1 "$log" | awk '{ print $1 }')
	marker_us=$(bench_stamp_of "$log" "$MARKER")
	if [ -z "$marker_us" ]; then
		bench_note "$label run $run: no marker on the console (exit status $rc); last lines:"
		tail -n 15 "$log" | cut -d' ' -f2- | sed 's/^/    /' >&2
		return 1
	fi
	[ "$rc" -eq 0 ] || bench_note "$label run $run: exit status $rc after the marker"
	# "[    9.515044] Run /init as init process"
	init_s=$(awk '/\] Run \/init as init process/ { sub(/^[0-9]+ \[ */, ""); sub(/\].*/, ""); print; exit }' "$log")
	echo "$marker_us $exit_us ${init_s:--}"
}

# measure LABEL CMD...: RUNS boots, then a summary line.
measure() {
	local label=$1 run marker exit_ init failed=0
	local -a markers=() exits=() inits=()
	shift
	for ((run = 1; run <= RUNS; run++)); do
		marker="" exit_="" init=""
		read -r marker exit_ init < <(boot_once "$label" "$run" "$@") || true
		if [ -z "$marker" ]; then
			printf '  %-22s run %d: FAILED (console tail above)\n' "$label" "$run"
			failed=$((failed + 1))
			continue
		fi
		markers+=("$marker")
		exits+=("$exit_")
		[ "$init" = - ] || inits+=("$init")
		printf '  %-22s run %d: init marker %s s, exit %s s, kernel "Run /init" at %s s\n' \
			"$label" "$run" "$(bench_us_to_s "$marker")" "$(bench_us_to_s "$exit_")" "$init"
	done
	local mm em im
	if [ "$failed" -gt 0 ]; then
		FAILURES+=("$label: $failed of $RUNS boots failed")
	fi
	if [ "${#markers[@]}" -eq 0 ]; then
		return 1
	fi
	mm=$(bench_min_median "${markers[@]}")
	em=$(bench_min_median "${exits[@]}")
	im=$(bench_min_median "${inits[@]}")
	RESULTS+=("$(printf '%-22s %4d  %10s %10s  %10s %10s  %10s' "$label" "${#markers[@]}" \
		"$(bench_us_to_s "${mm% *}")" "$(bench_us_to_s "${mm#* }")" \
		"$(bench_us_to_s "${em% *}")" "$(bench_us_to_s "${em#* }")" \
		"$(awk -v s="${im#* }" 'BEGIN { if (s == "-") print "-"; else printf "%.3f", s }')")")
}

# ---- the xl path ------------------------------------------------------------
XL=$BUILD/xl
KXEND=$BUILD/kxend
XL_STATUS=""
XL_RUNDIR=""

xl_start_daemon() {
	XL_RUNDIR=$BENCH_TMP/run
	mkdir -p "$XL_RUNDIR"
	bench_on_exit 'xl_stop_daemon'
	if ! KXEN_RUNDIR=$XL_RUNDIR timeout 30 "$KXEND" >"$BENCH_TMP/kxend.out" 2>&1; then
		XL_STATUS="kxend did not start: $(tail -n 1 "$BENCH_TMP/kxend.out")"
		return 1
	fi
	local i
	for ((i = 0; i < 50; i++)); do
		[ -S "$XL_RUNDIR/kxend.sock" ] && return 0
		sleep 0.1
	done
	XL_STATUS="kxend started but $XL_RUNDIR/kxend.sock never appeared"
	return 1
}

xl_stop_daemon() {
	local pid
	[ -n "$XL_RUNDIR" ] && [ -s "$XL_RUNDIR/kxend.pid" ] || return 0
	pid=$(cat "$XL_RUNDIR/kxend.pid")
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

# xl_create_console NAME CFG: `xl create -c`, then make sure the domain is gone.
xl_create_console() {
	local name=$1 cfg=$2 rc
	KXEN_RUNDIR=$XL_RUNDIR timeout "$TIMEOUT" "$XL" create -c "$cfg" && rc=0 || rc=$?
	KXEN_RUNDIR=$XL_RUNDIR "$XL" destroy "$name" >/dev/null 2>&1 || true
	return "$rc"
}

measure_xl() {
	local vcpus=$1 cfg name
	name=bench-boot-$vcpus
	cfg=$BENCH_TMP/$name.cfg
	cat >"$cfg" <<EOF
name = "$name"
kernel = "$BENCH_ROOT/$GUEST_CACHE/vmlinuz"
ramdisk = "$INITRD"
extra = "$CMDLINE"
memory = $MEMORY
vcpus = $vcpus
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "destroy"
EOF
	[[ $GUEST_CACHE = /* ]] && sed -i "s|^kernel = .*|kernel = \"$GUEST_CACHE/vmlinuz\"|" "$cfg"
	measure "xl create -c, vcpus=$vcpus" xl_create_console "$name" "$cfg"
}

# ---- run ----------------------------------------------------------------------
bench_header "boot time: start of domain -> first line from /init (memory ${MEMORY} MiB, cmdline \"$CMDLINE\")"
RESULTS=()
FAILURES=()
for v in $VCPUS_LIST; do
	measure "kxen-run, vcpus=$v" timeout $((TIMEOUT + 30)) "$KXEN_RUN" --memory "$MEMORY" \
		--vcpus "$v" --timeout "$TIMEOUT" --ramdisk "$INITRD" --cmdline "$CMDLINE" \
		"$GUEST_CACHE/vmlinuz" || bench_note "kxen-run, vcpus=$v: every boot failed"
done

if [ -x "$XL" ] && [ -x "$KXEND" ]; then
	if xl_start_daemon; then
		for v in $VCPUS_LIST; do
			if ! measure_xl "$v"; then
				XL_STATUS="xl create failed (see above)"
				break
			fi
		done
	fi
	xl_stop_daemon
else
	XL_STATUS="pending: $XL and $KXEND are not built yet"
fi

echo
printf '%-22s %4s  %10s %10s  %10s %10s  %10s\n' "path" "ok" "init min" "init med" \
	"exit min" "exit med" "Run /init"
for r in "${RESULTS[@]}"; do echo "$r"; done
for f in "${FAILURES[@]}"; do echo "FAILED: $f (not counted above)"; done
echo "(seconds; \"init\" = host wall clock until /init's first line reached the console,"
echo " \"exit\" = until the runner exited after poweroff, \"Run /init\" = median guest printk stamp)"
[ -z "$XL_STATUS" ] || echo "xl path: $XL_STATUS"
[ "${#FAILURES[@]}" -eq 0 ]
