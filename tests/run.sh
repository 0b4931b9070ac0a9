#!/usr/bin/env bash
# Runs kxen's test suite and prints one closing line "N passed, N failed".
#
#   tests/run.sh [--unit-only] [PATTERN]
#
# Unit tests: every build/tests/<name> binary (cmocka); its cases are counted.
# End-to-end tests: every tests/e2e/*.sh script; each is one case.  A script
# exits 0 (pass), 77 (skip, with a reason on stdout) or anything else (fail).
# Output of each program goes to $BUILD/test-logs/<name>.log and is shown
# when it fails.  A script whose header has a line "# e2e-slow" (a
# multi-minute whole-Debian boot) is skipped when KXEN_SKIP_SLOW=1 (CI's
# sanitizer pass, where such boots prove little the quick tests do not);
# "# e2e-timeout: SECONDS" replaces the 900 s limit.
set -u
BUILD=${BUILD:-build}
unit_only=0
pattern=
for a in "$@"; do
	case $a in
	--unit-only) unit_only=1 ;;
	*) pattern=$a ;;
	esac
done
logs=$BUILD/test-logs
mkdir -p "$logs"
passed=0 failed=0 skipped=0
failures=()

run_unit() {
	local bin=$1 name log rc p f
	name=$(basename "$bin")
	log=$logs/$name.log
	"$bin" >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or exited non-zero without a cmocka summary
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failures+=("$name")
		echo "FAIL unit/$name ($p passed, $f failed)"
		tail -n 40 "$log" | sed 's/^/    /'
	else
		echo "ok   unit/$name ($p cases)"
	fi
}

run_e2e() {
	local script=$1 name log rc limit
	name=$(basename "$script" .sh)
	log=$logs/e2e-$name.log
	# 900 s each, unless the script's header says "# e2e-timeout: SECONDS"
	# (whole-system boots of a Debian guest).
	limit=$(sed -n 's/^# e2e-timeout: *\([0-9][0-9]*\)$/\1/p' "$script" | head -n 1)
	if [ "${KXEN_SKIP_SLOW:-0}" = 1 ] && grep -q '^# e2e-slow' "$script"; then
		skipped=$((skipped + 1))
		echo "skip e2e/$name: a whole-Debian boot, skipped with KXEN_SKIP_SLOW=1"
		return
	fi
	local t0=$SECONDS
	BUILD=$BUILD timeout "${limit:-900}" bash "$script" >"$log" 2>&1
	rc=$?
	local took="$((SECONDS - t0)) s"
	case $rc in
	0) passed=$((passed + 1)); echo "ok   e2e/$name ($took)" ;;
	77) skipped=$((skipped + 1)); echo "skip e2e/$name: $(tail -n 1 "$log")" ;;
	*) failed=$((failed + 1)); failures+=("e2e/$name")
	   echo "FAIL e2e/$name (exit $rc, $took)"; tail -n 60 "$log" | sed 's/^/    /' ;;
	esac
}

for bin in "$BUILD"/tests/*; do
	[ -x "$bin" ] || continue
	[ -z "$pattern" ] || [[ $(basename "$bin") == *$pattern* ]] || continue
	run_unit "$bin"
done
if [ "$unit_only" -eq 0 ]; then
	for script in tests/e2e/*.sh; do
		[ -f "$script" ] || continue
		[ -z "$pattern" ] || [[ $(basename "$script") == *$pattern* ]] || continue
		run_e2e "$script"
	done
fi
[ ${#failures[@]} -eq 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
