# shellcheck shell=bash
# Shared helpers for the bench/core/ scripts (sourced, not run).
#
# Environment understood by every script:
#   BUILD             build directory (default build)
#   KXEN_GUEST_CACHE  where scripts/fetch-guest.sh left vmlinuz and busybox
#                     (default cache)
# Every script cds to the repository root first, so it may be started from
# anywhere; relative BUILD/KXEN_GUEST_CACHE are taken from the root.

# Timestamps come from $EPOCHREALTIME, whose decimal point follows LC_NUMERIC.
export LC_ALL=C

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$BENCH_ROOT"
BUILD=${BUILD:-build}
GUEST_CACHE=${KXEN_GUEST_CACHE:-cache}
KXEN_RUN=$BUILD/kxen-run

bench_die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

bench_note() {
	echo "$(basename "$0"): $*" >&2
}

((BASH_VERSINFO[0] >= 5)) || bench_die "needs bash 5 or newer (for \$EPOCHREALTIME)"

bench_need_run() {
	[ -x "$KXEN_RUN" ] || bench_die "$KXEN_RUN not found: build it first (make)"
}

# The reference guest: kernel and static busybox from scripts/fetch-guest.sh.
bench_need_guest_cache() {
	local f
	for f in vmlinuz busybox; do
		[ -s "$GUEST_CACHE/$f" ] ||
			bench_die "$GUEST_CACHE/$f is missing: run scripts/fetch-guest.sh $GUEST_CACHE" \
				"(or set KXEN_GUEST_CACHE to the directory it filled)"
	done
	[ -x "$GUEST_CACHE/busybox" ] || bench_die "$GUEST_CACHE/busybox is not executable"
}

# A private scratch directory, removed on exit (scripts add to the trap
# through bench_on_exit).
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kxen-bench.XXXXXX")
BENCH_EXIT_HOOKS=()
bench_on_exit() { BENCH_EXIT_HOOKS+=("$1"); }
bench_cleanup() {
	local h
	for h in "${BENCH_EXIT_HOOKS[@]}"; do eval "$h" || true; done
	rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# bench_initramfs OUT INIT_SCRIPT [EXTRA...]: scripts/mkinitramfs.sh with the
# cached busybox; its chatter goes to the log, only failures are shown.
bench_initramfs() {
	local out=$1
	BUSYBOX=$GUEST_CACHE/busybox scripts/mkinitramfs.sh "$@" >"$BENCH_TMP/mkinitramfs.log" 2>&1 ||
		{ cat "$BENCH_TMP/mkinitramfs.log" >&2; bench_die "building $out failed"; }
}

# Microseconds since the epoch, without forking.
bench_now_us() {
	local t=$EPOCHREALTIME
	echo "${t/./}"
}

# bench_stamp T0: copies stdin to stdout, each line prefixed with the
# microseconds between T0 and the moment the line was read (a trailing \r
# from the console is dropped).
bench_stamp() {
	local t0=$1 line t
	while IFS= read -r line || [ -n "$line" ]; do
		t=$EPOCHREALTIME
		printf '%s %s\n' "$((${t/./} - t0))" "${line%$'\r'}"
	done
}

# bench_console_run LOG CMD...: runs CMD (stdout and stderr together, as
# the console stream) and writes it to LOG time-stamped by bench_stamp,
# relative to the moment just before CMD was started; its last line,
# "STAMP [kxen-bench: exit status N]", is stamped when CMD and the console
# stream have both ended.  Returns CMD's status.
bench_console_run() {
	local log=$1 t0 rc
	shift
	t0=$(bench_now_us)
	set +e
	"$@" </dev/null 2>&1 | bench_stamp "$t0" >"$log"
	rc=${PIPESTATUS[0]}
	set -e
	printf '%s [kxen-bench: exit status %s]\n' "$(($(bench_now_us) - t0))" "$rc" >>"$log"
	return "$rc"
}

# bench_stamp_of LOG PATTERN: the time stamp (µs) of the first line of LOG
# containing the fixed string PATTERN; nothing if there is none.
bench_stamp_of() {
	awk -v pat="$2" 'index(substr($0, index($0, " ") + 1), pat) { print $1; exit }' "$1"
}

# bench_us_to_s US: seconds with three decimals.
bench_us_to_s() {
	awk -v us="$1" 'BEGIN { printf "%.3f", us / 1e6 }'
}

# bench_min_median V...: "MIN MEDIAN" of the numbers.
bench_min_median() {
	printf '%s\n' "$@" | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- -"; exit }
			med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print v[1], med
		}'
}

# bench_machine: one line describing where the numbers came from.
bench_machine() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
	echo "$(nproc) CPUs (${cpu:-unknown CPU}), $(uname -sr), $(git rev-parse --short HEAD 2>/dev/null || echo 'no git')$(git diff --quiet HEAD 2>/dev/null || echo '+dirty')"
}

bench_header() {
	echo "== $1"
	echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(bench_machine)"
	# Other work on the machine skews every number here: say how busy it was.
	echo "load:    $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) (1/5/15 min load average at start)"
}
