#!/usr/bin/env bash
# Two CPU-bound guests on one pCPU (KXEN_PCPUS=0) in one kxend: kxen's own
# scheduler (credit, equal weights) gives each about half of what one gets
# alone.  With the vCPUs left to the host scheduler on a multi-core host,
# each would get nearly all of a CPU.
. "$(dirname "$0")/sched-common.inc"
measure_pair
sa=$(ratio "$A" "$SOLO")
sb=$(ratio "$B" "$SOLO")
ab=$(ratio "$A" "$B")
echo "shares of the solo rate: spin-a $sa, spin-b $sb; a/b $ab"
in_range "$sa" 0.35 0.65 || fail "spin-a got $sa of a pCPU (want about 0.5)"
in_range "$sb" 0.35 0.65 || fail "spin-b got $sb of a pCPU (want about 0.5)"
in_range "$ab" 0.75 1.33 || fail "spin-a/spin-b = $ab (want about 1)"
"$XL" destroy spin-a
"$XL" destroy spin-b
echo "PASS: two spinners on one pCPU share it ($sa / $sb)"
