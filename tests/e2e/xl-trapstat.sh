#!/usr/bin/env bash
# xl trapstat and xl top's TRAPS/s against a private kxend: every exit of a
# running guest is counted by kind, the exit rows add up to the total, the
# counts grow while it runs, a vCPU can be picked, RIPs are named from a
# symbol map, and bad requests fail with a clear message.
# Exit 0 pass, 77 skip (no /dev/kvm), anything else fail.
set -u
. "$(dirname "$0")/xl-common.inc"

"$XL" create "$(cfg ts idle 'vcpus = 2')" 2>/dev/null || fail "create ts"
sleep 1

"$XL" trapstat ts >"$RUNDIR/t1" || fail "xl trapstat ts"
exits1=$(awk '/ exits$/ { print $(NF - 1) }' "$RUNDIR/t1")
[ "${exits1:-0}" -gt 0 ] || fail "no exits counted: $(cat "$RUNDIR/t1")"
grep -Eq '^hc sched_op +[1-9]' "$RUNDIR/t1" || fail "no sched_op row: $(cat "$RUNDIR/t1")"
grep -Eq '^hc console_io +[1-9]' "$RUNDIR/t1" || fail "no console_io row: $(cat "$RUNDIR/t1")"
# The exit rows (the first table) add up to the total.
sum=$(awk '/^kind /{n++; next} n == 1 && NF == 0 {exit} n == 1 {
	print substr($0, 36, 12) + 0 }' "$RUNDIR/t1" | awk '{ s += $1 } END { print s }')
[ "$sum" -ge "$exits1" ] && [ "$sum" -le $((exits1 + 50)) ] ||
	fail "exit rows sum to $sum, total says $exits1"
grep -q '^  sched_op/' "$RUNDIR/t1" || fail "no sched_op sub-op detail row"

sleep 1
"$XL" trapstat -n 3 ts >"$RUNDIR/t2" || fail "xl trapstat -n 3"
exits2=$(awk '/ exits$/ { print $(NF - 1) }' "$RUNDIR/t2")
[ "$exits2" -gt "$exits1" ] || fail "counts did not grow: $exits1 then $exits2"
[ "$(sed -n '/^hottest/,$p' "$RUNDIR/t2" | grep -c ' 0x')" -le 3 ] || fail "-n 3 showed more"

"$XL" trapstat -v 1 ts >"$RUNDIR/t3" || fail "xl trapstat -v 1"
grep -q 'vcpu 1' "$RUNDIR/t3" || fail "-v 1 header: $(head -1 "$RUNDIR/t3")"
expect_fail "vcpu out of range" "vcpu: expected a number from 0 to 2" "$XL" trapstat -v 3 ts
expect_fail "unknown domain" "no such domain: nosuch" "$XL" trapstat nosuch

# RIPs named from a symbol map of the guest image.
nm "$BUILD/guests/idle.elf" >"$RUNDIR/idle.map" 2>/dev/null || fail "nm of idle.elf"
"$XL" trapstat -s "$RUNDIR/idle.map" ts >"$RUNDIR/t4" || fail "xl trapstat -s"
sed -n '/^hottest/,$p' "$RUNDIR/t4" | grep -Eq '0x[0-9a-f]+ +[A-Za-z_][A-Za-z0-9_.]*\+0x' ||
	fail "no symbol names: $(sed -n '/^hottest/,$p' "$RUNDIR/t4")"
expect_fail "missing map" "nosuch.map" "$XL" trapstat -s "$RUNDIR/nosuch.map" ts

"$XL" top -b -i 2 -d 2.5 >"$RUNDIR/top" || fail "xl top -b"
grep -q 'VCPUS  TRAPS/s$' "$RUNDIR/top" || fail "top header: $(head -1 "$RUNDIR/top")"
rate=$(awk '$1 == "ts" { r = $NF } END { print r + 0 }' "$RUNDIR/top")
[ "$rate" -gt 0 ] || fail "TRAPS/s of ts is $rate: $(cat "$RUNDIR/top")"
"$XL" destroy ts || fail "destroy ts"
echo "xl trapstat: ok ($exits2 exits)"
