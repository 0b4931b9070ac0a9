#!/usr/bin/env bash
# CPU lists in xl's syntax ("0-3,^2", "all", "node:0", "nodes:0-1") wherever
# xl takes them, and xl.cfg's cpus=, cpus_soft=, weight= and cap= applied
# before the first guest instruction.  The host's NUMA nodes come from sysfs;
# node 0 always exists, node 63 never does on these machines.
set -euo pipefail
. "$(dirname "$0")/xl-common.inc"
if [ "$(nproc)" -lt 2 ]; then
	echo "skip: needs 2 host CPUs"
	exit 77
fi
export KXEN_PCPUS=0-1
[ -e /sys/devices/system/node/node63 ] && { echo "skip: the host has a node 63"; exit 77; }
# Hard / soft affinity of vCPU $2 of domain $1 as vcpu-list prints them.
affinity() {
	"$XL" vcpu-list "$1" | awk -v d="$1" -v v="$2" '$1 == d && $3 == v { print $7, $8, $9 }'
}

# xl.cfg: per-vCPU lists (one with a node), soft affinity, weight and cap.
"$XL" create "$(cfg two idle 'vcpus = 2' 'cpus = ["1", "node:0,^1"]' 'cpus_soft = "0"' \
	'weight = 512' 'cap = 50')" >/dev/null 2>&1 || fail "create with cpus="
[ "$(affinity two 0)" = "1 / 0" ] || fail "vCPU 0 affinity: $(affinity two 0)"
[ "$(affinity two 1)" = "0 / 0" ] || fail "vCPU 1 affinity: $(affinity two 1)"
"$XL" sched-credit -d two | grep -Eq '^two +[0-9]+ +512 +50$' ||
	fail "weight/cap from xl.cfg: $("$XL" sched-credit -d two)"

# Bad lists and parameters fail the create and leave nothing behind.
expect_fail "unknown node" 'cpus of vCPU 0 \("node:63"\): no such NUMA node' \
	"$XL" create "$(cfg bad idle 'cpus = "node:63"')"
expect_fail "cap too big" 'cap 500: out of range' "$XL" create "$(cfg bad idle 'cap = 500')"
expect_fail "no owned CPU" 'selects no CPU kxend owns' "$XL" create "$(cfg bad idle 'cpus = "all,^0-1"')"
expect_fail "syntax" 'cpus: "x" is not a CPU number' "$XL" create "$(cfg bad idle 'cpus = "node:x"')"
"$XL" list | grep -q '^bad ' && fail "a failed create left domain bad behind"

# xl vcpu-pin.
"$XL" vcpu-pin two 0 node:0 "^0" || fail "vcpu-pin node:0 ^0"
[ "$(affinity two 0)" = "all / 1" ] || fail "after vcpu-pin node:0: $(affinity two 0)"
"$XL" vcpu-pin two all "all,^1" || fail "vcpu-pin all,^1"
[ "$(affinity two 0)" = "0 / 1" ] && [ "$(affinity two 1)" = "0 / 0" ] ||
	fail "after vcpu-pin all all,^1: $(affinity two 0) and $(affinity two 1)"
expect_fail "pin to a missing node" "no such NUMA node" "$XL" vcpu-pin two 0 node:63
expect_fail "pin ^all" "not a CPU list" "$XL" vcpu-pin two 0 "^all"
expect_fail "pin CPU 9999" "out of range" "$XL" vcpu-pin two 0 9999
[ "$(affinity two 0)" = "0 / 1" ] || fail "a failed vcpu-pin changed vCPU 0: $(affinity two 0)"
"$XL" destroy two

# cpupools: nodes= takes the node's free CPUs; cpu lists with ^ and node:.
"$XL" cpupool-cpu-remove Pool-0 1 || fail "cpu-remove 1"
"$XL" cpupool-create name=\"byn\" 'nodes=[0]' || fail "cpupool-create nodes=[0]"
"$XL" cpupool-list -c | grep -Eq '^byn +1$' || fail "nodes=[0]: $("$XL" cpupool-list -c)"
expect_fail "no free CPU in node" "no free cpu found" "$XL" cpupool-create name=\"x\" 'nodes=[0]'
expect_fail "missing node" 'nodes "63": no such NUMA node' "$XL" cpupool-create name=\"x\" 'nodes=[63]'
"$XL" cpupool-destroy byn || fail "destroy byn"
"$XL" cpupool-create name=\"byc\" 'cpus="nodes:0,^0"' || fail "cpupool-create cpus=nodes:0,^0"
"$XL" cpupool-list -c | grep -Eq '^byc +1$' || fail "cpus=nodes:0,^0: $("$XL" cpupool-list -c)"
"$XL" cpupool-destroy byc || fail "destroy byc"
# Adding a whole node: every CPU is tried, the one already there is named.
expect_fail "node:0 into Pool-0" 'cannot add cpu 0 to cpupool Pool-0: it is already in this cpupool \(1 of 2 done\)' \
	"$XL" cpupool-cpu-add Pool-0 node:0
"$XL" cpupool-list -c | grep -Eq '^Pool-0 +all$' || fail "after node:0: $("$XL" cpupool-list -c)"
expect_fail "bad list" 'not a CPU list' "$XL" cpupool-cpu-remove Pool-0 "1,,2"
echo "PASS: xl CPU lists and xl.cfg scheduling keys"
