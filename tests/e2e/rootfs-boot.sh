#!/usr/bin/env bash
# e2e-timeout: 3600
# e2e-slow
# The Debian 12 root-fs image of scripts/mkrootfs.sh, booted the way Xen
# users boot such guests: bootloader="pygrub" and the image as xvda.
#  1. pygrub's choice (the image's own kernel and initrd, grub.cfg's
#     default entry) starts: the kernel from the image prints its banner,
#     with grub.cfg's command line, and its initramfs starts.
#  2. With a block backend (xl block-list answers): systemd reaches
#     multi-user and root's shell on hvc0; a file written and synced in the
#     guest survives a reboot of the guest (on_reboot=restart, pygrub runs
#     again); the guest powers off cleanly.
#
# The image is built once and cached outside the checkout (see
# scripts/mkrootfs.sh; CI builds it before `make test`); without it this
# test is skipped, and so it is with KXEN_SKIP_SLOW=1 (CI's sanitizer
# pass: tens of minutes of systemd under ASan prove nothing pygrub.sh does
# not).  The guest writes to a sparse copy, never to the cache.
set -euo pipefail
trap '' PIPE    # a console client gone is reported by the checks, not a signal
source "$(dirname "$0")/xl-common.inc"
IMG=$(scripts/mkrootfs.sh --path)
[ -s "$IMG" ] || { echo "skip: no root-fs image at $IMG (run scripts/mkrootfs.sh as root)"; exit 77; }
[ -x "$BUILD/kxen-pygrub" ] || fail "$BUILD/kxen-pygrub is not built"
kver=$(sed -n 's/^kernel=//p' "$IMG.info" 2>/dev/null || true)
W=$RUNDIR/work
mkdir -p "$W"
cp --sparse=always "$IMG" "$W/disk.img"

cat > "$RUNDIR/debian.cfg" <<CFG
name = "debian-disk"
memory = 512
vcpus = 2
bootloader = "pygrub"
disk = ['format=raw,vdev=xvda,access=rw,target=$W/disk.img']
on_reboot = "restart"
CFG
# The console is both read (the log) and typed into (xl create -c).  kxend
# is started first: xl list below must not race xl create to start it.
"$XL" list >/dev/null
mkfifo "$W/in"
"$XL" create -c "$RUNDIR/debian.cfg" < "$W/in" > "$W/out" 2>"$RUNDIR/err" &
xlpid=$!
exec 3> "$W/in"
for _ in $(seq 120); do
	"$XL" list | grep -q "^debian-disk " && break
	kill -0 "$xlpid" 2>/dev/null || fail "create: $(cat "$RUNDIR/err")"
	sleep 0.5
done
grep -q "pygrub on $W/disk.img: partition 1, entry \"Debian GNU/Linux, with Linux ${kver:-6.1}" \
	"$RUNDIR/kxend.log" || fail "kxend.log lacks pygrub's choice of grub.cfg's default entry"
log=$RUNDIR/console/debian-disk.log
wait_console() { # pattern seconds
	for _ in $(seq $(($2 * 2))); do
		grep -q "$1" "$log" 2>/dev/null && return 0
		sleep 0.5
	done
	tail -n 30 "$log"
	fail "timed out waiting for: $1"
}
wait_console "Linux version ${kver:-6.1}" 120
grep -q "Command line: root=/dev/xvda1 ro console=hvc0" "$log" ||
	fail "the kernel did not get grub.cfg's command line"
wait_console "Loading, please wait" 240
echo "ok: pygrub booted the image's kernel ${kver:-} and its initramfs started"

if ! "$XL" block-list debian-disk >/dev/null 2>&1; then
	echo "note: no block backend (xl block-list): the root file system cannot be mounted yet"
	"$XL" destroy debian-disk
	wait_gone debian-disk || fail "debian-disk still listed after destroy"
	echo PASS
	exit 0
fi

# --- 2: systemd on the disk; a file survives a reboot --------------------------
# wait_after MARK PATTERN SECONDS: PATTERN on the console after line MARK.
wait_after() {
	for _ in $(seq $(($3 * 2))); do
		tail -n "+$(($1 + 1))" "$log" 2>/dev/null | grep -aq -- "$2" && return 0
		sleep 0.5
	done
	tail -n 40 "$log"
	fail "timed out waiting for: $2"
}
lines() { wc -l < "$log"; }
# Each guest system call traps to kxen: a boot takes minutes on a busy host.
# systemd stops printing its status once the getty owns the console, so
# the guest is asked whether multi-user.target is active.
multi_user() { # mark boot
	wait_after "$1" "root@kxen-debian" 1500
	sleep 2
	printf 'until systemctl is-active -q multi-user.target; do sleep 2; done; echo MU-$(systemctl is-active multi-user.target)-%s\n' "$2" >&3
	wait_after "$1" "MU-active-$2" 900
}
multi_user 0 1
printf 'echo kxen-persist-$((6*7)) > /root/persist.txt; sync; echo WROTE-$((1+1))\n' >&3
wait_after 0 "WROTE-2" 120
echo "ok: systemd reached multi-user; the guest wrote a file"
mark=$(lines)
printf 'systemctl reboot\n' >&3
# The old domain goes away, and with it the console of xl create -c; the
# restarted one (same name, new domid) gets a new console client.
exec 3>&-
wait "$xlpid" || true
wait_after "$mark" "Linux version ${kver:-6.1}" 600
mark=$(lines)
wait_after "$mark" "root@kxen-debian" 1500
mkfifo "$W/in2"
"$XL" console debian-disk < "$W/in2" > "$W/out2" 2>&1 &
xlpid=$!
exec 3> "$W/in2"
multi_user "$mark" 2
printf 'echo "GOT[$(cat /root/persist.txt)]"\n' >&3
wait_after "$mark" "GOT\[kxen-persist-42\]" 120
grep -q "restarted as domain" "$RUNDIR/kxend.log" || fail "kxend did not restart the domain"
echo "ok: after a reboot (pygrub ran again) the file is still there"
printf 'systemctl poweroff\n' >&3
for _ in $(seq 600); do
	"$XL" list | grep -q "^debian-disk " || break
	sleep 0.5
done
"$XL" list | grep -q "^debian-disk " && fail "debian-disk still listed after poweroff"
exec 3>&-
wait "$xlpid" || true
e2fsck -fn "$W/disk.img?offset=1048576" >/dev/null 2>&1 || fail "e2fsck finds the disk unclean"
echo "ok: clean poweroff; e2fsck -fn is clean"
echo PASS
