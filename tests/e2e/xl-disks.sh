#!/usr/bin/env bash
# xl's disk handling against a private kxend, with a small test guest (no
# frontend of its own: the backend waits in InitWait):
#  - disk= with format=qcow2 fails at `xl create`, saying raw is supported;
#    a missing target fails naming it; no domain is left behind;
#  - disk= raw: the disk is listed by `xl block-list` (backend InitWait,
#    frontend Initialising) and `xl list -l`; max_grant_frames= is applied;
#  - block-attach adds a read-only disk, block-detach removes it (the
#    frontend never connected, so at once), detaching it again fails;
#  - a bad vdev, an unknown domain and a too large max_grant_frames fail;
#  - destroy takes the disks with it; the images were not written.
set -euo pipefail
source "$(dirname "$0")/xl-common.inc"

head -c 4194304 /dev/urandom > "$RUNDIR/a.img"
head -c 1048576 /dev/urandom > "$RUNDIR/b.img"
sum_a=$(sha256sum < "$RUNDIR/a.img")
sum_b=$(sha256sum < "$RUNDIR/b.img")

expect_fail "qcow2" "qcow2.*raw" "$XL" create "$(cfg q idle \
	"disk = [ 'format=qcow2, vdev=xvda, access=rw, target=$RUNDIR/a.img' ]")"
expect_fail "missing target" "nosuch.img" "$XL" create "$(cfg m idle \
	"disk = [ 'vdev=xvda, access=rw, target=$RUNDIR/nosuch.img' ]")"
expect_fail "max_grant_frames" "max_grant_frames" "$XL" create "$(cfg g idle \
	"max_grant_frames = 1000")"
"$XL" list | grep -Eq "^(q|m|g) " && fail "a failed create left a domain"

"$XL" create "$(cfg d1 idle "max_grant_frames = 16" \
	"disk = [ 'format=raw, vdev=xvda, access=rw, target=$RUNDIR/a.img' ]")" ||
	fail "create with a raw disk"
"$XL" block-list d1 > "$RUNDIR/bl"
grep -Eq "^51712 +0 +[0-9]+ +1 " "$RUNDIR/bl" || fail "block-list: $(cat "$RUNDIR/bl")"
"$XL" list -l d1 > "$RUNDIR/ll"
grep -q '"vdev": "xvda"' "$RUNDIR/ll" || fail "list -l lacks the disk"
grep -q '"max_grant_frames": 16' "$RUNDIR/ll" || fail "list -l lacks max_grant_frames"

"$XL" block-attach d1 "vdev=xvdb, access=ro, target=$RUNDIR/b.img" || fail "block-attach"
"$XL" block-list d1 | grep -q "^51728 " || fail "xvdb not listed after block-attach"
"$XL" list -l d1 | grep -q '"vdev": "xvdb"' || fail "list -l lacks xvdb"
expect_fail "attach twice" "exists" "$XL" block-attach d1 "vdev=xvdb, target=$RUNDIR/b.img"
"$XL" block-detach d1 xvdb || fail "block-detach"
"$XL" block-list d1 | grep -q "^51728 " && fail "xvdb still listed after block-detach"
"$XL" list -l d1 | grep -q '"vdev": "xvdb"' && fail "list -l still shows xvdb"
expect_fail "detach again" "no disk" "$XL" block-detach d1 xvdb
expect_fail "bad vdev" "bad" "$XL" block-detach d1 vda
expect_fail "no domain" "no such domain" "$XL" block-attach nosuch "vdev=xvdc, target=$RUNDIR/b.img"
expect_fail "bad spec" "qcow2" "$XL" block-attach d1 "format=qcow2, vdev=xvdc, target=$RUNDIR/b.img"

"$XL" destroy d1 || fail "destroy"
grep -q "vbd 51712 removed" "$RUNDIR/kxend.log" || fail "the disk was not removed with the domain"
[ "$(sha256sum < "$RUNDIR/a.img")" = "$sum_a" ] || fail "a.img was written"
[ "$(sha256sum < "$RUNDIR/b.img")" = "$sum_b" ] || fail "b.img was written"
echo "PASS"
