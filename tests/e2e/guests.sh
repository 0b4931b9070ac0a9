#!/usr/bin/env bash
# Boots every test guest (build/guests/*.elf) with build/kxen-run and checks
# its verdict: exit status 0 and the line "kxen-test: PASS <name>" -- or, for
# hostile, exit status 1 (the domain is crashed on purpose by its last
# step) and the line "hostile: survived N checks" with no FAIL line.
#
#   tests/e2e/guests.sh [NAME...]     (default: all guests)
#
# Environment: BUILD (default build), GUEST_TIMEOUT (seconds per guest,
# default 30), GUEST_MEMORY (MiB, default 32).  Exit 0 if all pass, 77 if
# kxen-run is not built yet, 1 otherwise.  Output of each guest is kept in
# $BUILD/test-logs/guests/<name>.log and shown when it fails.
set -u
BUILD=${BUILD:-build}
RUN=$BUILD/kxen-run
TIMEOUT=${GUEST_TIMEOUT:-30}
MEMORY=${GUEST_MEMORY:-32}
LOGS=$BUILD/test-logs/guests

# name | extra kxen-run flags | expected exit status
GUEST_TABLE="
hello||0
hypercall-page||0
cpuid||0
traps||0
mmu||0
events||0
time||0
multicall||0
smp|--vcpus 2|0
hostile||1
user||0
hvframes||0
stalepte|--vcpus 2|0
longbatch|--memory 128|0
ldt||0
xs-quota||0
xs-perms||0
user-emul|--vcpus 2|0
canonical|--vcpus 2|0
softint||0
step-events||0
rflags||0
callback||0
m2p||0
noncanon-data||0
farcall||0
mc-iret||0
debugreg||0
iopl||0
fsgsbase||0
xsave||0
"

if [ ! -x "$RUN" ]; then
	echo "skip: $RUN does not exist yet"
	exit 77
fi
mkdir -p "$LOGS"

describe_status() {
	case $1 in
	0) echo "poweroff" ;;
	1) echo "crashed" ;;
	2) echo "reboot" ;;
	3) echo "timeout" ;;
	4) echo "setup error" ;;
	124) echo "runner hung (killed by timeout)" ;;
	*) echo "status $1" ;;
	esac
}

# check NAME STATUS WANT LOG: prints the reason for a failure, if any.
check() {
	local name=$1 rc=$2 want=$3 log=$4
	if grep -q "^kxen-test: FAIL" "$log"; then
		grep -m1 "^kxen-test: FAIL" "$log"
		return 1
	fi
	if [ "$rc" -ne "$want" ]; then
		echo "exit $(describe_status "$rc"), expected $(describe_status "$want")"
		return 1
	fi
	if [ "$name" = hostile ]; then
		grep -Eq "^hostile: survived [0-9]+ checks" "$log" ||
			{ echo "no 'hostile: survived N checks' line"; return 1; }
	else
		grep -qx "kxen-test: PASS $name" "$log" ||
			{ echo "no 'kxen-test: PASS $name' line"; return 1; }
	fi
	return 0
}

want_names=("$@")
selected() {
	[ ${#want_names[@]} -eq 0 ] && return 0
	local n
	for n in "${want_names[@]}"; do [ "$n" = "$1" ] && return 0; done
	return 1
}

passed=0 failed=0
while IFS='|' read -r name flags want; do
	[ -n "$name" ] || continue
	selected "$name" || continue
	elf=$BUILD/guests/$name.elf
	log=$LOGS/$name.log
	if [ ! -f "$elf" ]; then
		echo "FAIL $name: $elf not built"
		failed=$((failed + 1))
		continue
	fi
	extra=()
	# PVM-style KVM takes a guest's debug registers but never arms them.
	if [ "$name" = debugreg ] && [ -d /sys/module/kvm_pvm ]; then
		extra=(--cmdline no-hw-breakpoints)
	fi
	# ... and runs guest code with its own CR4 (FSGSBASE always on).
	if [ "$name" = fsgsbase ] && [ -d /sys/module/kvm_pvm ]; then
		extra=(--cmdline fsgsbase-always)
	fi
	# shellcheck disable=SC2086 # flags is a word list
	timeout $((TIMEOUT + 30)) "$RUN" --memory "$MEMORY" --timeout "$TIMEOUT" \
		$flags "${extra[@]}" "$elf" >"$log" 2>&1 </dev/null
	rc=$?
	# tr: a console line may end in \r
	tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
	if reason=$(check "$name" "$rc" "$want" "$log"); then
		echo "ok   $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name: $reason"
		tail -n 20 "$log" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done <<<"$GUEST_TABLE"

echo "guests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
