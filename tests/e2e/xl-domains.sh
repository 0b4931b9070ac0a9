#!/usr/bin/env bash
# xl's domain commands against a private kxend: list -l / -v / DOM...,
# info, domid / domname / rename, reboot, vcpu-set, mem-set / mem-max,
# uptime, dmesg, top -b, and help for every command.
# Exit 0 pass, 77 skip (no /dev/kvm), anything else fail.
set -u
. "$(dirname "$0")/xl-common.inc"

"$XL" create "$(cfg web idle 'maxmem = 128' 'vcpus = 1' 'maxvcpus = 3' \
	'uuid = "6f1c2b9e-0d3a-4c55-9b7e-1a2b3c4d5e6f"')" 2>/dev/null || fail "create web"
"$XL" create "$(cfg db idle)" 2>/dev/null || fail "create db"

# --- list -------------------------------------------------------------------
"$XL" list >"$RUNDIR/out" || fail "xl list"
head -1 "$RUNDIR/out" | grep -q '^Name  *ID   Mem VCPUs	State	Time(s)$' || fail "list header: $(head -1 "$RUNDIR/out")"
grep -q '^Domain-0  *0 ' "$RUNDIR/out" || fail "no Domain-0 line"
"$XL" list web db >"$RUNDIR/out" || fail "xl list web db"
[ "$(awk 'NR > 1 { print $1 }' "$RUNDIR/out" | tr '\n' ' ')" = "web db " ] || fail "list web db: $(cat "$RUNDIR/out")"
expect_fail "list of an unknown domain" "no such domain: nosuch" "$XL" list web nosuch
[ -s "$RUNDIR/out" ] && fail "list with an unknown domain printed: $(cat "$RUNDIR/out")"
"$XL" list -v web >"$RUNDIR/out" || fail "xl list -v"
grep -q 'UUID  *Reason-Code	Security Label' "$RUNDIR/out" || fail "list -v header: $(head -1 "$RUNDIR/out")"
grep -Eq '^web .* 6f1c2b9e-0d3a-4c55-9b7e-1a2b3c4d5e6f +- +-$' "$RUNDIR/out" || fail "list -v row: $(cat "$RUNDIR/out")"
"$XL" list -l >"$RUNDIR/json" || fail "xl list -l"
if command -v python3 >/dev/null; then
	python3 - "$RUNDIR/json" <<'PY' || fail "list -l JSON: $(cat "$RUNDIR/json")"
import json, sys
doms = json.load(open(sys.argv[1]))
by = {d["config"]["c_info"]["name"]: d for d in doms}
assert set(by) == {"Domain-0", "web", "db"}, by.keys()
w = by["web"]
assert w["domid"] > 0
ci, bi = w["config"]["c_info"], w["config"]["b_info"]
assert ci["type"] == "pv" and ci["uuid"] == "6f1c2b9e-0d3a-4c55-9b7e-1a2b3c4d5e6f", ci
assert bi["max_vcpus"] == 3 and bi["avail_vcpus"] == [0], bi
assert bi["max_memkb"] == 131072 and bi["target_memkb"] == 65536, bi
assert bi["type.pv"]["kernel"].endswith("/guests/idle.elf"), bi
assert w["config"]["on_reboot"] == "restart", w["config"]
assert by["Domain-0"]["domid"] == 0
PY
fi
grep -q '"domid": ' "$RUNDIR/json" || fail "list -l has no domid"
echo "ok list -l/-v/DOM"

# --- info ---------------------------------------------------------------------
"$XL" info >"$RUNDIR/out" || fail "xl info"
for k in host release version machine nr_cpus nr_nodes cores_per_socket threads_per_core \
	cpu_mhz total_memory free_memory xen_major xen_minor xen_extra xen_version xen_caps \
	xen_scheduler xen_pagesize xen_commandline cc_compiler xend_config_format; do
	grep -Eq "^$k {0,23}: " "$RUNDIR/out" || fail "xl info lacks $k"
done
[ "$(awk -F': ' '/^nr_cpus /{print $2}' "$RUNDIR/out")" = "$(nproc)" ] || fail "nr_cpus != nproc"
grep -q "^xen_version            : 4.19.0-kxen$" "$RUNDIR/out" || fail "xen_version: $(grep xen_version "$RUNDIR/out")"
grep -q "^host                   : $(uname -n)$" "$RUNDIR/out" || fail "host line"
echo "ok info"

# --- domid / domname / rename ----------------------------------------------------
id=$("$XL" domid web) || fail "xl domid web"
[ "$("$XL" domname "$id")" = web ] || fail "domname $id"
expect_fail "domid of an unknown name" "no such domain" "$XL" domid nosuch
expect_fail "domname of a non-number" "invalid domain identifier" "$XL" domname web
expect_fail "domname of an unknown id" "no such domain" "$XL" domname 999
"$XL" rename web www || fail "xl rename"
[ "$("$XL" domname "$id")" = www ] || fail "rename not seen by domname"
[ "$("$XL" domid www)" = "$id" ] || fail "renamed domain has another domid"
expect_fail "rename onto an existing name" "already exists" "$XL" rename www db
expect_fail "rename to a bad name" "bad domain name" "$XL" rename www 'a/b'
[ -f "$RUNDIR/console/www.log" ] || fail "console log not renamed"
grep -q "domain $id renamed from web to www" "$RUNDIR/kxend.log" || fail "rename not logged"
echo "ok domid/domname/rename"

# --- reboot ------------------------------------------------------------------------
"$XL" reboot www || fail "xl reboot"
grep -q "asked domain $id (www) to reboot" "$RUNDIR/kxend.log" || fail "reboot not requested"
echo "ok reboot"

# --- vcpu-set / mem-set / mem-max -----------------------------------------------------
"$XL" vcpu-set www 3 || fail "vcpu-set 3"
"$XL" vcpu-set www 1 || fail "vcpu-set 1"
expect_fail "vcpu-set beyond maxvcpus" "maxvcpus is 3" "$XL" vcpu-set www 4
expect_fail "vcpu-set 0" "invalid number of vCPUs" "$XL" vcpu-set www 0
grep -q "(www): 3 of 3 vCPUs online" "$RUNDIR/kxend.log" || fail "vcpu-set not logged"
"$XL" mem-set www 100 || fail "mem-set 100 (MiB default)"
"$XL" list -l www | grep -q '"target_memkb": 102400' || fail "mem-set not in list -l"
"$XL" mem-set www 65536k || fail "mem-set 65536k"
"$XL" list -l www | grep -q '"target_memkb": 65536' || fail "mem-set k suffix"
expect_fail "mem-set beyond the maximum" "maximum is 131072 KiB" "$XL" mem-set www 1g
expect_fail "mem-set with a bad suffix" "invalid memory size" "$XL" mem-set www 12x
expect_fail "mem-max beyond what it was built with" "built with 131072 KiB" "$XL" mem-max www 1t
"$XL" mem-max www 96m || fail "mem-max 96m"
"$XL" list -l www | grep -q '"max_memkb": 98304' || fail "mem-max not in list -l"
expect_fail "mem-set beyond the new maximum" "maximum is 98304 KiB" "$XL" mem-set www 97
echo "ok vcpu-set/mem-set/mem-max"

# --- uptime -------------------------------------------------------------------------
"$XL" uptime >"$RUNDIR/out" || fail "xl uptime"
head -1 "$RUNDIR/out" | grep -Eq '^Name {29} +ID Uptime$' || fail "uptime header: $(head -1 "$RUNDIR/out")"
grep -Eq "^www +$id +[ 0-9]:[0-9]{2}:[0-9]{2}$" "$RUNDIR/out" || fail "uptime row: $(cat "$RUNDIR/out")"
grep -Eq '^Domain-0 +0 ' "$RUNDIR/out" || fail "uptime has no Domain-0"
"$XL" uptime -s www | grep -Eq "^ [0-9:]{8} up +[0-9]+:[0-9]{2}, www \($id\)$" || fail "uptime -s: $("$XL" uptime -s www)"
echo "ok uptime"

# --- dmesg ----------------------------------------------------------------------------
"$XL" dmesg >"$RUNDIR/out" || fail "xl dmesg"
grep -q "listening on" "$RUNDIR/out" || fail "dmesg lacks the daemon's start"
"$XL" dmesg -c >/dev/null || fail "xl dmesg -c"
"$XL" dmesg | grep -q "listening on" && fail "dmesg -c did not clear"
"$XL" pause db && "$XL" unpause db
"$XL" dmesg | grep -q "(db) unpaused" || fail "dmesg after clear lacks new lines"
echo "ok dmesg"

# --- top -b ----------------------------------------------------------------------------
timeout 20 "$XL" top -b -i 2 -d 0.5 >"$RUNDIR/out" || fail "xl top -b"
[ "$(grep -c '^      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS  TRAPS/s$' "$RUNDIR/out")" = 2 ] ||
	fail "top: want 2 headers: $(cat "$RUNDIR/out")"
grep -Eq '^ +www +--b--- +[0-9]+ +[0-9.]+ +[0-9]+ +[0-9.]+ +98304 +[0-9.]+ +1 +[0-9]+$' "$RUNDIR/out" ||
	fail "top row: $(cat "$RUNDIR/out")"
echo "ok top"

# --- help ---------------------------------------------------------------------------------
for c in list info dmesg uptime domid domname rename reboot vcpu-set mem-set mem-max top \
	pci-attach pci-detach pci-list pci-assignable-add pci-assignable-remove pci-assignable-list; do
	"$XL" help "$c" >"$RUNDIR/out" || fail "xl help $c"
	grep -q "^Usage: xl $c" "$RUNDIR/out" || fail "xl help $c: $(cat "$RUNDIR/out")"
	"$XL" help | grep -Eq "^ $c +[A-Z]" || fail "xl help does not list $c"
done
echo "ok help"
