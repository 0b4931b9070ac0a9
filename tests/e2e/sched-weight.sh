#!/usr/bin/env bash
# Credit weights on real vCPUs: spin-a with weight 512 beside spin-b with
# 256 on one pCPU gets about twice the CPU.  The weight comes from the
# test-only variable KXEN_TEST_SCHED (the control protocol has no
# sched-credit command yet); the core API is domain_sched_set().
. "$(dirname "$0")/sched-common.inc"
export KXEN_TEST_SCHED="spin-a=512"
measure_pair
ab=$(ratio "$A" "$B")
total=$(ratio "$((A + B))" "$SOLO")
echo "spin-a/spin-b = $ab (weights 512:256), together $total of the solo rate"
in_range "$ab" 1.6 2.5 || fail "spin-a/spin-b = $ab (want about 2)"
in_range "$total" 0.8 1.15 || fail "together they got $total of one pCPU"
"$XL" destroy spin-a
"$XL" destroy spin-b
echo "PASS: weights 512:256 give $ab:1"
