#!/usr/bin/env bash
# Microbenchmarks of the PV execution core: runs the freestanding guest
# guests/bench-trap.c (build/guests/bench-trap.elf) with build/kxen-run and
# prints a table of ns per operation:
#   hypercall  null hypercall round trip, xen_version(XENVER_version)
#   trap       int3 -> bounce to the guest's handler -> HYPERVISOR_iret
#   cpuid      forced-emulation CPUID (ud2; "xen"; cpuid), emulated in place
#   mmu        mmu_update of one L1 PTE (validation + the page-table store)
# Each is timed with rdtsc in the guest (ns from the vcpu_time_info
# mul/shift) over ROUNDS loops of N iterations; "net" subtracts the cost of
# the same loop with an empty body, "pvclock" is the best round timed with
# the guest's pvclock instead (a cross-check of the TSC conversion).
#
#   bench/core/micro.sh [ROUNDS]          (default 3, at most 15)
#
# Environment: BUILD (see lib.sh); MICRO_N_HYPERCALL (default 20000),
# MICRO_N_TRAP, MICRO_N_CPUID, MICRO_N_MMU (default 5000 each);
# MICRO_TIMEOUT (seconds, default 300); MICRO_NO_BUILD=1 skips `make guests`.
set -euo pipefail
# shellcheck source=bench/core/lib.sh
source "$(dirname "$0")/lib.sh"

ROUNDS=${1:-3}
if ! [[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || ((ROUNDS > 15)); then
	bench_die "usage: $0 [ROUNDS (1-15)]"
fi
N_HYPERCALL=${MICRO_N_HYPERCALL:-20000}
N_TRAP=${MICRO_N_TRAP:-5000}
N_CPUID=${MICRO_N_CPUID:-5000}
N_MMU=${MICRO_N_MMU:-5000}
TIMEOUT=${MICRO_TIMEOUT:-300}
for n in "$N_HYPERCALL" "$N_TRAP" "$N_CPUID" "$N_MMU"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || bench_die "iteration counts must be positive integers"
done
ELF=$BUILD/guests/bench-trap.elf

bench_need_run
if [ "${MICRO_NO_BUILD:-0}" != 1 ]; then
	make -s BUILD="$BUILD" "$ELF" >"$BENCH_TMP/make.log" 2>&1 ||
		{ cat "$BENCH_TMP/make.log" >&2; bench_die "building $ELF failed"; }
fi
[ -f "$ELF" ] || bench_die "$ELF not found: run make guests"

bench_header "microbenchmarks: guests/bench-trap.c under kxen-run (rounds=$ROUNDS)"
LOG=$BENCH_TMP/micro.log
rc=0
timeout $((TIMEOUT + 30)) "$KXEN_RUN" --memory 32 --timeout "$TIMEOUT" \
	--cmdline "hypercall=$N_HYPERCALL trap=$N_TRAP cpuid=$N_CPUID mmu=$N_MMU rounds=$ROUNDS" \
	"$ELF" </dev/null >"$LOG" 2>&1 || rc=$?
tr -d '\r' <"$LOG" >"$LOG.tmp" && mv "$LOG.tmp" "$LOG"
if [ "$rc" -ne 0 ] || ! grep -qx "kxen-test: PASS bench-trap" "$LOG"; then
	bench_note "bench-trap did not pass (exit status $rc); its output:"
	sed 's/^/    /' "$LOG" >&2
	exit 1
fi
grep -E '^bench-trap: (tsc_|zero-)' "$LOG" | sed 's/^bench-trap: /guest: /'
echo
awk '
	BEGIN {
		desc["empty"] = "empty loop (baseline)"
		desc["hypercall"] = "null hypercall (xen_version)"
		desc["trap"] = "int3 bounce + HYPERVISOR_iret"
		desc["cpuid"] = "forced-emulation CPUID"
		desc["mmu"] = "mmu_update, one PTE"
		printf "%-31s %6s %12s %12s %12s %12s %12s\n", "operation", "n", "min ns/op", \
			"median", "max", "net (min)", "pvclock"
	}
	/^bench-trap: result / {
		for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "%-31s %6s %12s %12s %12s %12s %12s\n", desc[v["op"]], v["n"], v["min"], \
			v["med"], v["max"], v["net"], v["pvclock"]
	}' "$LOG"
echo "(ns per operation over $ROUNDS rounds of n; net = min - empty loop per iteration;"
echo " pvclock = min round timed with the guest pvclock instead of rdtsc)"
