#!/usr/bin/env bash
# Cpupools on real vCPUs: a credit2 pool on host CPU 1 beside Pool-0
# (credit) on CPU 0; `xl cpupool-migrate` moves a running spinner and from
# then on it runs only on CPU 1 (sampled with xl vcpu-list), and back.
# Also cpupool-create/-list/-rename/-cpu-add/-cpu-remove/-destroy,
# -numa-split, sched-credit2 and pool= in xl.cfg.
set -euo pipefail
. "$(dirname "$0")/xl-common.inc"
[ -e "$BUILD/guests/spin.elf" ] || fail "$BUILD/guests/spin.elf is not built"
if [ "$(nproc)" -lt 2 ]; then
	echo "skip: needs 2 host CPUs"
	exit 77
fi
export KXEN_PCPUS=0-1

"$XL" cpupool-list >"$RUNDIR/o" || fail "cpupool-list"
grep -qx 'Name               CPUs   Sched     Active   Domain count' "$RUNDIR/o" ||
	fail "header: $(cat "$RUNDIR/o")"
grep -Eq '^Pool-0 +2 +credit +y +0$' "$RUNDIR/o" || fail "Pool-0: $(cat "$RUNDIR/o")"

expect_fail "cpu in use" "not free" "$XL" cpupool-create name=\"p1\" cpus=1
"$XL" cpupool-cpu-remove Pool-0 1 || fail "cpu-remove"
expect_fail "no name" "Missing cpupool name" "$XL" cpupool-create sched=\"credit2\"
expect_fail "bad sched" "Unknown scheduler" "$XL" cpupool-create name=\"x\" sched=\"rtds\"
printf 'name = "p1"\nsched = "credit2"\ncpus = ["1"]\n' >"$RUNDIR/p1.cfg"
"$XL" cpupool-create "$RUNDIR/p1.cfg" || fail "cpupool-create"
expect_fail "duplicate" "already exists" "$XL" cpupool-create name=\"p1\"
"$XL" cpupool-list -c >"$RUNDIR/o"
grep -Eq '^Pool-0 +0$' "$RUNDIR/o" && grep -Eq '^p1 +1$' "$RUNDIR/o" || fail "-c: $(cat "$RUNDIR/o")"
"$XL" cpupool-list p1 | grep -Eq '^p1 +1 +credit2 +y +0$' || fail "p1 line"

"$XL" create "$(cfg spin1 spin)" >/dev/null 2>&1 || fail "create spin1"
# CPUs spin1's vCPU is seen on, over n samples 0.2 s apart.
cpus_seen() {
	for _ in $(seq "$1"); do
		"$XL" vcpu-list spin1 | awk '$1 == "spin1" { print $4 }'
		sleep 0.2
	done | sort -u | tr '\n' ' '
}
seen=$(cpus_seen 5)
[ "$seen" = "0 " ] || fail "in Pool-0 spin1 ran on CPUs: $seen"
t0=$("$XL" vcpu-list spin1 | awk '$1 == "spin1" { print $6 }')
"$XL" cpupool-migrate spin1 p1 || fail "cpupool-migrate"
"$XL" cpupool-list p1 | grep -Eq '^p1 +1 +credit2 +y +1$' || fail "p1 has no domain"
sleep 0.3
seen=$(cpus_seen 10)
[ "$seen" = "1 " ] || fail "after the move spin1 ran on CPUs: $seen (want 1 only)"
t1=$("$XL" vcpu-list spin1 | awk '$1 == "spin1" { print $6 }')
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 1.0) }' ||
	fail "spin1 got little CPU after the move: $t0 -> $t1 s"
"$XL" sched-credit2 >"$RUNDIR/o"
grep -qx 'Cpupool p1: ratelimit=1000us' "$RUNDIR/o" || fail "credit2 pool line: $(cat "$RUNDIR/o")"
grep -Eq '^spin1 +[0-9]+ +256 +0$' "$RUNDIR/o" || fail "credit2 domain line"
"$XL" sched-credit2 -d spin1 -w 100 || fail "credit2 weight"
"$XL" sched-credit2 -d spin1 | grep -Eq '^spin1 +[0-9]+ +100 +0$' || fail "credit2 weight not set"
"$XL" sched-credit2 -s -p p1 -r 2000 || fail "credit2 ratelimit"
"$XL" sched-credit2 -s -p p1 | grep -qx 'Cpupool p1: ratelimit=2000us' || fail "credit2 ratelimit"
expect_fail "destroy busy" "has domains" "$XL" cpupool-destroy p1
expect_fail "remove last cpu" "last cpu" "$XL" cpupool-cpu-remove p1 1
"$XL" cpupool-rename p1 pool-b || fail "rename"
expect_fail "rename to Pool-0" "name in use" "$XL" cpupool-rename pool-b Pool-0

# pool= in xl.cfg.
"$XL" create "$(cfg idle2 idle 'pool = "pool-b"')" >/dev/null 2>&1 || fail "create in pool-b"
"$XL" vcpu-list idle2 | awk '$1 == "idle2" { print $4 }' | grep -qx 1 || fail "idle2 not on CPU 1"
expect_fail "unknown pool" "cannot add the domain to the scheduler" \
	"$XL" create "$(cfg idle3 idle 'pool = "nosuch"')"

"$XL" cpupool-migrate spin1 Pool-0 || fail "migrate back"
sleep 0.3
seen=$(cpus_seen 5)
[ "$seen" = "0 " ] || fail "back in Pool-0 spin1 ran on CPUs: $seen"
"$XL" destroy spin1
"$XL" destroy idle2
"$XL" cpupool-destroy pool-b || fail "destroy"
expect_fail "destroy Pool-0" "Pool-0" "$XL" cpupool-destroy Pool-0
"$XL" cpupool-cpu-add Pool-0 1 || fail "cpu-add"
expect_fail "cpu beyond the host" "CPU number out of range" "$XL" cpupool-cpu-add Pool-0 200
"$XL" cpupool-numa-split || fail "numa-split"
"$XL" cpupool-list | grep -Eq '^Pool-node0 +2 +credit' || fail "numa-split: $("$XL" cpupool-list)"
for c in cpupool-create cpupool-list cpupool-destroy cpupool-rename cpupool-cpu-add \
	cpupool-cpu-remove cpupool-migrate cpupool-numa-split; do
	"$XL" help "$c" | grep -q "^Usage: xl $c" || fail "xl help $c"
done
echo "PASS: cpupools: a running domain moved to a credit2 pool runs only on its CPU"
