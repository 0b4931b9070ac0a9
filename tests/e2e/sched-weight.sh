#!/usr/bin/env bash
# Credit weights on real vCPUs: spin-a with weight 512 (set with
# `xl sched-credit -d spin-a -w 512` right after it is created) beside
# spin-b with 256 on one pCPU gets about twice the CPU.
. "$(dirname "$0")/sched-common.inc"
eval "orig_$(declare -f spin_create)"
spin_create() {
	orig_spin_create "$@"
	if [ "$1" = spin-a ]; then
		"$XL" sched-credit -d spin-a -w 512 || fail "xl sched-credit -d spin-a -w 512"
	fi
}
measure_pair
"$XL" sched-credit -d spin-a | grep -Eq '^spin-a +[0-9]+ +512 +0$' || fail "weight not 512"
ab=$(ratio "$A" "$B")
total=$(ratio "$((A + B))" "$SOLO")
echo "spin-a/spin-b = $ab (weights 512:256), together $total of the solo rate"
in_range "$ab" 1.6 2.5 || fail "spin-a/spin-b = $ab (want about 2)"
in_range "$total" 0.8 1.15 || fail "together they got $total of one pCPU"
"$XL" destroy spin-a
"$XL" destroy spin-b
echo "PASS: weights 512:256 give $ab:1"
