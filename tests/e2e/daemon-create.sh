#!/usr/bin/env bash
# kxend + xl end to end: xl starts the daemon on first use; `xl create`
# boots hello.elf, whose output lands in the console log and which then
# disappears from `xl list` while the daemon keeps running; `xl create -c`
# shows the output; `xl console` on a paused domain sees everything;
# `xl list` has Xen's layout; a bad config and an unknown domain give
# non-zero exits with clear messages.
#
# Exit 0 pass, 77 skip (no /dev/kvm), anything else fail.
set -u
# shellcheck source=tests/e2e/xl-common.inc
source "$(dirname "$0")/xl-common.inc"

# 1. create: output in the console log, domain gone, daemon alive.
"$XL" create "$(cfg hello hello)" || fail "xl create exited $?"
[ -S "$RUNDIR/kxend.sock" ] || fail "xl did not start kxend (no socket)"
pid=$(cat "$RUNDIR/kxend.pid") || fail "no kxend.pid"
wait_gone hello || fail "hello still listed after 10 s"
grep -q "kxen-test: PASS hello" "$RUNDIR/console/hello.log" ||
	fail "no PASS marker in console/hello.log: $(cat "$RUNDIR/console/hello.log")"
kill -0 "$pid" || fail "kxend died"
"$XL" list >/dev/null || fail "xl list failed after the domain left"
echo "ok create + console log"

# 2. create -c shows the guest's output and returns when it powers off.
out=$(timeout 30 "$XL" create -c "$(cfg hello2 hello)" </dev/null) || fail "xl create -c exited $?"
grep -q "kxen-test: PASS hello" <<<"$out" || fail "create -c printed: $out"
echo "ok create -c"

# 3. list layout (Xen's), with a paused domain to show.
"$XL" create -p "$(cfg parked hello)" || fail "xl create -p exited $?"
list=$("$XL" list) || fail "xl list exited $?"
header=$(sed -n 1p <<<"$list")
[ "$header" = "$(printf 'Name                                        ID   Mem VCPUs\tState\tTime(s)')" ] ||
	fail "bad header: '$header'"
dom0=$(sed -n 2p <<<"$list")
[[ $dom0 =~ ^Domain-0\ {37}0\ +[0-9]+\ +[0-9]+\ {5}r-----\ +[0-9]+\.[0-9]$ ]] ||
	fail "bad Domain-0 row: '$dom0'"
[ ${#dom0} -eq 79 ] || fail "Domain-0 row is ${#dom0} columns, want 79: '$dom0'"
row=$(grep '^parked ' <<<"$list") || fail "parked not listed: $list"
[[ $row =~ ^parked\ +[0-9]+\ +64\ +1\ {5}--p---\ +[0-9]+\.[0-9]$ ]] || fail "bad row: '$row'"
[ ${#row} -eq 79 ] || fail "row is ${#row} columns: '$row'"
"$XL" list parked | grep -q '^parked ' || fail "xl list parked"
echo "ok list layout"

# 4. console attached to a paused domain sees all of its output.
timeout 30 "$XL" console parked </dev/null >"$RUNDIR/con.out" &
con=$!
# Unpause only once the console is attached (the daemon logs it).
for _ in $(seq 100); do grep -q "console of domain .* (parked) attached" "$RUNDIR/kxend.log" && break; sleep 0.1; done
"$XL" unpause parked || fail "xl unpause exited $?"
wait $con || fail "xl console exited $?"
grep -q "kxen-test: PASS hello" "$RUNDIR/con.out" || fail "console showed: $(cat "$RUNDIR/con.out")"
wait_gone parked || fail "parked still listed"
echo "ok console"

# 5. a bad config: non-zero and the parser's line-numbered message.
printf 'name = "bad"\nkernel = "k"\nmemory = lots\n' >"$RUNDIR/bad.cfg"
if err=$("$XL" create "$RUNDIR/bad.cfg" 2>&1); then fail "bad config accepted"; fi
grep -q "bad.cfg:3" <<<"$err" || fail "no line number in: $err"
"$XL" create "$RUNDIR/bad.cfg" memory=64 2>/dev/null && fail "missing kernel accepted"
echo "ok bad config"

# 6. unknown domain: clear error, exit 1, for every command taking one.
for cmd in destroy pause unpause shutdown console list; do
	if err=$("$XL" $cmd nosuch 2>&1 </dev/null); then fail "xl $cmd nosuch succeeded"; fi
	grep -q "no such domain: nosuch" <<<"$err" || fail "xl $cmd nosuch said: $err"
done
echo "ok unknown domain"

# 7. dry run needs no daemon and prints JSON.
"$XL" create -n "$(cfg dry hello)" | grep -q '"name": "dry"' || fail "xl create -n"
echo "ok dry run"

kill -0 "$pid" || fail "kxend died"
echo "PASS daemon-create"
