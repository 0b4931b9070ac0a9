#!/usr/bin/env bash
# xl create's options end to end:
#  - `xl create -n` over tests/configs/: every valid config prints its
#    parsed configuration as JSON (equal to the reviewed .json next to it),
#    every broken one exits non-zero with its precise, line-numbered
#    message (the .err next to it);
#  - `-f FILE` and `-q`; overrides after the file;
#  - `xl shutdown -a` asks every guest domain.
set -euo pipefail
BUILD=${BUILD:-build}
XL=$BUILD/xl
fail() { echo "FAIL: $*"; exit 1; }
work=$(mktemp -d)
export KXEN_RUNDIR
KXEN_RUNDIR=$(mktemp -d)
cleanup() {
	[ -f "$KXEN_RUNDIR/kxend.pid" ] && kill "$(cat "$KXEN_RUNDIR/kxend.pid")" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

valid=0 broken=0
cd tests/configs
for cfg in *.cfg; do
	name=${cfg%.cfg}
	if [[ $cfg == *.bad.cfg ]]; then
		name=${cfg%.bad.cfg}
		if "../../$XL" create -n "$cfg" > "$work/out" 2> "$work/err"; then
			fail "$cfg: accepted"
		fi
		grep -qxF "$(cat "$name.err")" "$work/err" ||
			{ cat "$work/err"; fail "$cfg: message differs from $name.err"; }
		broken=$((broken + 1))
	else
		"../../$XL" create -n "$cfg" > "$work/out" 2> "$work/err" ||
			{ cat "$work/err"; fail "$cfg: refused"; }
		python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(a!=b)' \
			"$work/out" "$name.json" || fail "$cfg: JSON differs from $name.json"
		valid=$((valid + 1))
	fi
done
cd ../..
[ "$valid" -ge 5 ] && [ "$broken" -ge 10 ] || fail "too few configs ($valid valid, $broken broken)"
echo "ok: create -n: $valid valid configs print their JSON, $broken broken ones their error"

[ -e /dev/kvm ] || { echo "skip: no /dev/kvm for the rest"; exit 77; }
printf 'name = "idle-a"\nkernel = "%s"\nmemory = 32\n' "$BUILD/guests/idle.elf" > "$work/a.cfg"
"$XL" create -q -f "$work/a.cfg" 2> "$work/err"
[ ! -s "$work/err" ] || { cat "$work/err"; fail "-q was not quiet"; }
"$XL" create -f "$work/a.cfg" name=idle-b 2> "$work/err"
grep -q "Parsing config from" "$work/err" || fail "no 'Parsing config' without -q"
"$XL" list | grep -q "^idle-a " || fail "idle-a not created by -f"
"$XL" list | grep -q "^idle-b " || fail "override name=idle-b not applied"
"$XL" shutdown -a || fail "shutdown -a failed"
"$XL" shutdown -a extra 2>/dev/null && fail "shutdown -a with a domain accepted"
"$XL" destroy idle-a
"$XL" destroy idle-b
echo "PASS"
