#!/usr/bin/env bash
# The XenStore test guests under kxend (xl create), two at once: xs-perms
# (the home kxend lays out is libxl's: toolstack nodes read-only, a
# neighbour's home closed) and xs-quota (quotas hold, transactions
# included, while another domain shares the store).  Each must print its
# PASS line in its console log and power off.
#
# Exit 0 pass, 77 skip (no /dev/kvm), anything else fail.
set -u
. "$(dirname "$0")/xl-common.inc"
for g in xs-perms xs-quota; do
	[ -e "$BUILD/guests/$g.elf" ] || fail "$BUILD/guests/$g.elf is not built (run make)"
done

"$XL" create "$(cfg perms xs-perms)" || fail "create perms"
"$XL" create "$(cfg quota xs-quota)" || fail "create quota"
for name in perms quota; do
	guest=xs-$name
	for _ in $(seq 600); do
		grep -q "^kxen-test: \(PASS\|FAIL\)" "$RUNDIR/console/$name.log" 2>/dev/null && break
		sleep 0.1
	done
	grep -q "^kxen-test: PASS $guest" "$RUNDIR/console/$name.log" ||
		{ cat "$RUNDIR/console/$name.log"; fail "$guest did not pass under kxend"; }
	wait_gone "$name" || fail "$name did not power off"
	echo "ok: $guest under kxend"
done
grep -q "transactions committed" "$RUNDIR/console/quota.log" || fail "xs-quota said nothing"
echo "ok: xenstore guests pass under kxend"
