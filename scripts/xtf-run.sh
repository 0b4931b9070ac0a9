#!/usr/bin/env bash
# Runs Xen's own test framework (XTF, https://github.com/andyhhp/xtf) against
# kxen: builds XTF, boots every 64-bit PV test (test-pv64-*, one run per
# variation .cfg) and prints one table row per run with XTF's verdict
# ("Test result: SUCCESS|SKIP|FAILURE|ERROR"), or CRASH (the domain died
# without one) or TIMEOUT.  Not part of `make test`: it needs XTF's source.
#
#   scripts/xtf-run.sh [options] [XTF_DIR] [NAME_PATTERN...]
#
#   XTF_DIR           an XTF source checkout (built here with make); without
#                     one, https://github.com/andyhhp/xtf is cloned into
#                     $BUILD/xtf-src when the network allows
#   NAME_PATTERN      only runs whose name contains one of these
#   --runner xl       (default) a private kxend, `xl create -c CFG`
#   --runner kxen-run build/kxen-run on the test ELF with the cfg's memory,
#                     vcpus and cmdline
#   --timeout S       seconds per test (default 60)
#   --markdown        print the table as Markdown (for docs/xtf.md)
#   --no-build        use XTF_DIR as built
#   --logs DIR        keep each run's console output there, and kxend.log
#                     (default $BUILD/test-logs/xtf)
#
# Exit status: 0 when no run ended in FAILURE, ERROR, CRASH or TIMEOUT.
set -u
BUILD=${BUILD:-build}
RUNNER=xl
TIMEOUT=60
MARKDOWN=0
DO_BUILD=1
LOGS=
XTF=
PATTERNS=()
XTF_URL=https://github.com/andyhhp/xtf

usage() { sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
	case $1 in
	--runner) RUNNER=${2:?}; shift ;;
	--timeout) TIMEOUT=${2:?}; shift ;;
	--markdown) MARKDOWN=1 ;;
	--no-build) DO_BUILD=0 ;;
	--logs) LOGS=${2:?}; shift ;;
	-h|--help) usage 0 ;;
	-*) echo "xtf-run: unknown option $1" >&2; usage 2 >&2 ;;
	*)
		if [ -z "$XTF" ] && [ -d "$1" ]; then XTF=$1; else PATTERNS+=("$1"); fi ;;
	esac
	shift
done
case $RUNNER in xl|kxen-run) ;; *) echo "xtf-run: --runner xl or kxen-run" >&2; exit 2 ;; esac
LOGS=${LOGS:-$BUILD/test-logs/xtf}

for f in "$BUILD/xl" "$BUILD/kxend" "$BUILD/kxen-run"; do
	[ -x "$f" ] || { echo "xtf-run: $f is not built (run make)" >&2; exit 2; }
done
if [ ! -c /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "xtf-run: /dev/kvm is missing or not writable" >&2
	exit 2
fi

if [ -z "$XTF" ]; then
	XTF=$BUILD/xtf-src
	if [ ! -d "$XTF/.git" ]; then
		if ! timeout 20 git ls-remote "$XTF_URL" HEAD >/dev/null 2>&1; then
			echo "xtf-run: no XTF_DIR given and $XTF_URL is not reachable" >&2
			exit 2
		fi
		git clone -q "$XTF_URL" "$XTF" || exit 2
	fi
fi
XTF=$(cd "$XTF" && pwd)
[ -f "$XTF/build/common.mk" ] || { echo "xtf-run: $XTF is not an XTF source tree" >&2; exit 2; }
commit=$(git -C "$XTF" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

if [ "$DO_BUILD" = 1 ]; then
	echo "xtf-run: building XTF $commit in $XTF" >&2
	make -C "$XTF" -j"$(nproc)" >"$XTF/.kxen-build.log" 2>&1 ||
		{ tail -n 20 "$XTF/.kxen-build.log" >&2; echo "xtf-run: XTF build failed" >&2; exit 2; }
fi

mkdir -p "$LOGS"
WORK=$(mktemp -d)
export KXEN_RUNDIR=$WORK/run
mkdir -p "$KXEN_RUNDIR"
stop_daemon() {
	local pid
	pid=$(cat "$KXEN_RUNDIR/kxend.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
}
# kxend's own log (warnings, sanitizer reports) is kept with the console logs.
trap 'stop_daemon; cp "$KXEN_RUNDIR/kxend.log" "$LOGS/kxend.log" 2>/dev/null; rm -rf "$WORK"' EXIT

# cfg_get KEY CFG: the value of a simple `key = value` line, quotes removed.
cfg_get() {
	sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$2" | head -n1 |
		sed 's/[[:space:]]*#.*$//; s/^"\(.*\)"$/\1/; s/[[:space:]]*$//'
}

selected() {
	[ ${#PATTERNS[@]} -eq 0 ] && return 0
	local p
	for p in "${PATTERNS[@]}"; do case $1 in *"$p"*) return 0 ;; esac; done
	return 1
}

# run_one NAME CFG LOG: boots one test; returns the timeout status.
run_one() {
	local name=$1 cfg=$2 log=$3
	if [ "$RUNNER" = xl ]; then
		# kxen's domain names are [A-Za-z0-9_.-]; XTF's variations use '~'.
		local dom=${name//[^A-Za-z0-9_.-]/-}
		sed "s/^name=.*/name=\"$dom\"/" "$cfg" >"$WORK/test.cfg"
		timeout "$TIMEOUT" "$BUILD/xl" create -c "$WORK/test.cfg" >"$log" 2>&1 </dev/null
		local rc=$?
		"$BUILD/xl" destroy "$dom" >/dev/null 2>&1
		return $rc
	fi
	local args=(--memory "$(cfg_get memory "$cfg")" --vcpus "$(cfg_get vcpus "$cfg")"
		    --timeout "$TIMEOUT")
	local cmdline
	cmdline=$(cfg_get cmdline "$cfg")
	[ -n "$cmdline" ] && args+=(--cmdline "$cmdline")
	timeout $((TIMEOUT + 10)) "$BUILD/kxen-run" "${args[@]}" "$(cfg_get kernel "$cfg")" \
		>"$log" 2>&1 </dev/null
	local rc=$?
	[ $rc -eq 3 ] && rc=124     # kxen-run's own timeout
	return $rc
}

# Why a run did not succeed: XTF's first Fail/Error line, else the line it
# printed just before its verdict (a SKIP's reason).
reason_of() {
	local text
	text=$(tr -d '\r' <"$1" | grep -v '^\[ *[0-9.]*\]' | awk '!seen[$0]++' |
		sed '/^Test result:/q')
	{ grep -m1 -E '^ *(Fail|Error)' <<<"$text" || tail -n2 <<<"$text" | head -n1; } |
		sed 's/^ *//' | cut -c1-100
}

declare -A count
rows=()
mapfile -t cfgs < <(find "$XTF/tests" -name 'test-pv64-*.cfg' | sort)
[ ${#cfgs[@]} -gt 0 ] || { echo "xtf-run: no test-pv64-*.cfg under $XTF/tests" >&2; exit 2; }
for cfg in "${cfgs[@]}"; do
	name=$(basename "$cfg" .cfg)
	selected "$name" || continue
	log=$LOGS/$name.log
	run_one "$name" "$cfg" "$log"
	rc=$?
	result=$(tr -d '\r' <"$log" | grep -m1 -o 'Test result: [A-Z]*' | cut -d' ' -f3)
	note=
	if [ -z "$result" ]; then
		if [ $rc -eq 124 ]; then
			result=TIMEOUT
		else
			result=CRASH
			note=$(tr -d '\r' <"$log" | grep -m1 -A2 '^PANIC' | tr '\n' ' ' | cut -c1-100)
		fi
	elif [ "$result" != SUCCESS ]; then
		note=$(reason_of "$log")
	fi
	count[$result]=$(( ${count[$result]:-0} + 1 ))
	rows+=("$name|$result|$note")
	[ "$MARKDOWN" = 1 ] || printf '%-40s %-8s %s\n' "$name" "$result" "$note" >&2
done

if [ "$MARKDOWN" = 1 ]; then
	echo "| test | result | note |"
	echo "|---|---|---|"
	for r in "${rows[@]}"; do
		IFS='|' read -r n res note <<<"$r"
		printf '| %s | %s | %s |\n' "$n" "$res" "${note//|/\\|}"
	done
else
	echo
	printf '%-40s %s\n' "test" "result"
	for r in "${rows[@]}"; do
		IFS='|' read -r n res _ <<<"$r"
		printf '%-40s %s\n' "$n" "$res"
	done
fi
summary="XTF $commit, runner $RUNNER:"
for k in SUCCESS SKIP FAILURE ERROR CRASH TIMEOUT; do
	summary+=" ${count[$k]:-0} $k"
done
echo
echo "$summary"
bad=$(( ${count[FAILURE]:-0} + ${count[ERROR]:-0} + ${count[CRASH]:-0} + ${count[TIMEOUT]:-0} ))
[ "$bad" -eq 0 ]
