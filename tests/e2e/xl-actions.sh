#!/usr/bin/env bash
# on_poweroff / on_crash actions honoured by kxend: restart (same name, new
# domid, console log continued), preserve (listed as crashed until
# destroyed), rename-restart (old one kept under a new name), destroy.
# Exit 0 pass, 77 skip (no /dev/kvm), anything else fail.
set -u
. "$(dirname "$0")/xl-common.inc"

# restart: hello.elf powers off at once; every restart prints PASS again.
"$XL" create "$(cfg again hello 'on_poweroff = "restart"')" 2>/dev/null || fail "create again"
first=$("$XL" domid again 2>/dev/null)
for _ in $(seq 100); do
	[ "$(grep -c 'kxen-test: PASS hello' "$RUNDIR/console/again.log")" -ge 3 ] && break
	sleep 0.1
done
n=$(grep -c 'kxen-test: PASS hello' "$RUNDIR/console/again.log")
[ "$n" -ge 3 ] || fail "on_poweroff=restart: $n runs in the console log"
grep -q "(again) restarted as domain" "$RUNDIR/kxend.log" || fail "restart not logged"
"$XL" destroy again 2>/dev/null || { sleep 0.2; "$XL" destroy again; } || fail "destroy again"
wait_gone again || fail "again still listed after destroy"
[ "$first" != "" ] || fail "no domid seen for again"
echo "ok on_poweroff=restart ($n runs)"

# preserve: the crashed domain stays, state c, until xl destroy.
"$XL" create "$(cfg crashy hostile 'on_crash = "preserve"')" 2>/dev/null || fail "create crashy"
for _ in $(seq 100); do [ "$(state_of crashy)" = "----c-" ] && break; sleep 0.1; done
[ "$(state_of crashy)" = "----c-" ] || fail "crashy state '$(state_of crashy)', want ----c-"
"$XL" list -v crashy | grep -Eq '^crashy .* +3 +-$' || fail "list -v reason: $("$XL" list -v crashy)"
sleep 0.3
[ "$(state_of crashy)" = "----c-" ] || fail "preserved domain went away"
"$XL" destroy crashy || fail "destroy crashy"
wait_gone crashy || fail "crashy still listed"
echo "ok on_crash=preserve"

# rename-restart: the crashed one is kept as crashy2-<time>, a new one runs.
"$XL" create "$(cfg cr2 hostile 'on_crash = "rename-restart"')" 2>/dev/null || fail "create cr2"
for _ in $(seq 100); do "$XL" list | grep -q '^cr2-' && break; sleep 0.1; done
old=$("$XL" list | awk '/^cr2-/ { print $1; exit }')
[ -n "$old" ] || fail "rename-restart kept no renamed domain: $("$XL" list)"
[ "$(state_of "$old")" = "----c-" ] || fail "$old state $(state_of "$old")"
for d in $("$XL" list | awk '/^cr2/ { print $1 }'); do "$XL" destroy "$d" 2>/dev/null; done
for _ in $(seq 50); do
	"$XL" list | grep -q '^cr2' || break
	for d in $("$XL" list | awk '/^cr2/ { print $1 }'); do "$XL" destroy "$d" 2>/dev/null; done
	sleep 0.1
done
echo "ok on_crash=rename-restart"

# destroy (the default) still destroys.
"$XL" create "$(cfg bye hello)" 2>/dev/null || fail "create bye"
wait_gone bye || fail "on_poweroff=destroy: bye still listed"
echo "ok on_poweroff=destroy"
kill -0 "$(cat "$RUNDIR/kxend.pid")" || fail "kxend died"
