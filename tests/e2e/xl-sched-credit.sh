#!/usr/bin/env bash
# xl sched-credit / sched-credit2 / vcpu-list / vcpu-pin against a private
# kxend: Xen's output formats, Xen's range checks, parameters that stick.
set -euo pipefail
. "$(dirname "$0")/xl-common.inc"

"$XL" create "$(cfg idle1 idle)" >/dev/null 2>&1 || fail "create idle1"

# Pool listing: Xen's pool line, header, one line per domain.
"$XL" sched-credit >"$RUNDIR/o" || fail "sched-credit"
grep -qx 'Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us' "$RUNDIR/o" ||
	fail "pool line: $(cat "$RUNDIR/o")"
grep -Eq '^Name +ID Weight  Cap$' "$RUNDIR/o" || fail "header: $(cat "$RUNDIR/o")"
grep -Eq '^idle1 +[0-9]+ +256 +0$' "$RUNDIR/o" || fail "domain line: $(cat "$RUNDIR/o")"

# Domain parameters.
"$XL" sched-credit -d idle1 -w 512 -c 50 || fail "set weight/cap"
"$XL" sched-credit -d idle1 | grep -Eq '^idle1 +[0-9]+ +512 +50$' || fail "weight/cap not set"
"$XL" sched-credit -d idle1 -c 0 || fail "cap 0"
"$XL" sched-credit -d idle1 | grep -Eq '^idle1 +[0-9]+ +512 +0$' || fail "cap not cleared"
expect_fail "weight 0" "Cpu weight out of range" "$XL" sched-credit -d idle1 -w 0
expect_fail "weight 65536" "Cpu weight out of range" "$XL" sched-credit -d idle1 -w 65536
expect_fail "cap 101" "Cpu cap out of range" "$XL" sched-credit -d idle1 -c 101
expect_fail "no domain" "Must specify a domain" "$XL" sched-credit -w 3
expect_fail "-p with -d" "not allowed with domain options" "$XL" sched-credit -d idle1 -p Pool-0
expect_fail "unknown domain" "no such domain" "$XL" sched-credit -d nosuch -w 3

# Pool parameters.
"$XL" sched-credit -s -t 10 -r 500 || fail "set tslice/ratelimit"
"$XL" sched-credit -s | grep -qx 'Cpupool Pool-0: tslice=10ms ratelimit=500us migration-delay=0us' ||
	fail "pool params: $("$XL" sched-credit -s)"
"$XL" sched-credit -s -r 0 || fail "ratelimit 0"
"$XL" sched-credit -s -p Pool-0 | grep -q 'ratelimit=0us' || fail "ratelimit not 0"
expect_fail "tslice 0" "Time slice out of range" "$XL" sched-credit -s -t 0
expect_fail "tslice 1001" "Time slice out of range" "$XL" sched-credit -s -t 1001
expect_fail "ratelimit 50" "Ratelimit out of range" "$XL" sched-credit -s -r 50
expect_fail "ratelimit 500001" "Ratelimit out of range" "$XL" sched-credit -s -r 500001
expect_fail "ratelimit > tslice" "Ratelimit cannot be greater than timeslice" \
	"$XL" sched-credit -s -r 20000
expect_fail "-t without -s" "Must specify schedparam" "$XL" sched-credit -t 5

# Migration delay (credit's vcpu_migr_delay_us): set, shown, range-checked.
"$XL" sched-credit -s -m 500 || fail "set migration delay"
"$XL" sched-credit -s | grep -qx 'Cpupool Pool-0: tslice=10ms ratelimit=0us migration-delay=500us' ||
	fail "migration delay not shown: $("$XL" sched-credit -s)"
"$XL" sched-credit | grep -qx 'Cpupool Pool-0: tslice=10ms ratelimit=0us migration-delay=500us' ||
	fail "migration delay not in the pool listing: $("$XL" sched-credit)"
"$XL" sched-credit -s -t 20 || fail "set tslice with a migration delay"
"$XL" sched-credit -s | grep -q 'tslice=20ms ratelimit=0us migration-delay=500us$' ||
	fail "setting tslice changed the migration delay: $("$XL" sched-credit -s)"
expect_fail "migration delay 100001" "Migration delay out of range" \
	"$XL" sched-credit -s -m 100001
expect_fail "migration delay -1" "Migration delay out of range" "$XL" sched-credit -s -m -1
"$XL" sched-credit -s | grep -q 'migration-delay=500us$' ||
	fail "a refused migration delay changed it: $("$XL" sched-credit -s)"
expect_fail "-m without -s" "Must specify schedparam to set schedule parameter values" \
	"$XL" sched-credit -m 500
"$XL" sched-credit -s --migration_delay_us=100000 || fail "migration delay 100000"
"$XL" sched-credit -s | grep -q 'migration-delay=100000us$' || fail "migration delay not 100000"
"$XL" sched-credit -s -t 30 -r 1000 -m 0 || fail "restore defaults"
"$XL" sched-credit -s | grep -qx 'Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us' ||
	fail "defaults not restored: $("$XL" sched-credit -s)"
expect_fail "credit2 on a credit pool" "not credit2" "$XL" sched-credit2 -d idle1 -w 5

# vcpu-list and vcpu-pin.
"$XL" vcpu-list >"$RUNDIR/o" || fail "vcpu-list"
head -1 "$RUNDIR/o" | grep -Eq '^Name +ID +VCPU +CPU +State +Time\(s\) Affinity \(Hard / Soft\)$' ||
	fail "vcpu-list header: $(head -1 "$RUNDIR/o")"
grep -Eq '^idle1 +[0-9]+ +0 +[0-9]+ +[-r][-b]- +[0-9]+\.[0-9]  all / all$' "$RUNDIR/o" ||
	fail "vcpu-list line: $(cat "$RUNDIR/o")"
"$XL" vcpu-pin idle1 0 0 || fail "vcpu-pin"
"$XL" vcpu-list idle1 | grep -Eq '^idle1 .*  0 / all$' || fail "hard not 0: $("$XL" vcpu-list idle1)"
"$XL" vcpu-pin idle1 all - 0 || fail "vcpu-pin soft"
"$XL" vcpu-list idle1 | grep -Eq '^idle1 .*  0 / 0$' || fail "soft not 0: $("$XL" vcpu-list idle1)"
"$XL" vcpu-pin -f idle1 all all all || fail "vcpu-pin all"
"$XL" vcpu-list idle1 | grep -Eq '^idle1 .*  all / all$' || fail "not all again"
expect_fail "bad vcpu" "has vCPUs 0 to 0" "$XL" vcpu-pin idle1 3 0
expect_fail "bad cpus" "not a CPU list" "$XL" vcpu-pin idle1 0 abc
expect_fail "CPU beyond the host" "CPU number out of range" "$XL" vcpu-pin idle1 0 200

# xl info reports Pool-0's scheduler.
"$XL" info | grep -Eq '^xen_scheduler +: credit$' || fail "xl info xen_scheduler"

for c in sched-credit sched-credit2 vcpu-list vcpu-pin; do
	"$XL" help "$c" | grep -q "^Usage: xl $c " || fail "xl help $c"
done
"$XL" help sched-credit | grep -q -- "--migration_delay_us" || fail "xl help sched-credit lacks -m"
"$XL" destroy idle1
echo "PASS: xl sched-credit, vcpu-list, vcpu-pin"
