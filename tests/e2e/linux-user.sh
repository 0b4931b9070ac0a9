#!/usr/bin/env bash
# e2e-slow
# Static user programs (tests/linux-user/*.c, built into $BUILD/linux-user)
# run inside the stock Debian kernel booted as a PV domU under kxen
# (vcpus=2), one boot for all of them.  Each program prints one verdict
# line, "kxen-user: PASS <name>" or "kxen-user: FAIL <name>: <why>".  Every
# program must PASS in the guest, and the domain must power off cleanly
# (no user action may crash it).  Each program first runs on the host,
# where Linux on bare hardware is the reference: one that fails there is a
# broken test, reported as such.
#
# Facts about the host that no guest can change are found out first with
# test guests and passed to the programs in the environment:
#   KXEN_HOST_KEEPS_NT=0|1   whether the host's iretq keeps RFLAGS.NT
#                            (guests/rflags.c; PVM-style hosts drop it)
#
#   tests/e2e/linux-user.sh [NAME...]      (default: every program)
#
# Environment: BUILD, KXEN_GUEST_CACHE (see linux-boot.sh), USER_TIMEOUT
# (seconds per program, default 300).
set -uo pipefail
BUILD=${BUILD:-build}
CACHE=${KXEN_GUEST_CACHE:-cache}
PER_PROG=${USER_TIMEOUT:-300}
[ -e /dev/kvm ] || { echo "skip: no /dev/kvm"; exit 77; }

if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for src in tests/linux-user/*.c; do
		n=${src##*/}
		names+=("${n%.c}")
	done
fi
for n in "${names[@]}"; do
	[ -x "$BUILD/linux-user/$n" ] || { echo "skip: $BUILD/linux-user/$n not built (make all)"; exit 77; }
done

scripts/fetch-guest.sh "$CACHE" >/dev/null || { echo "FAIL: cannot fetch the guest"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- the reference: each program on the host ----------------------------------
failed=0
for n in "${names[@]}"; do
	if ! timeout "$PER_PROG" "$BUILD/linux-user/$n" >"$work/host-$n.log" 2>&1 ||
	   ! grep -qx "kxen-user: PASS $n" "$work/host-$n.log"; then
		echo "FAIL: $n fails on the host (a broken test, not a kxen bug):"
		sed 's/^/    /' "$work/host-$n.log" | tail -n 20
		failed=1
	fi
done
[ "$failed" -eq 0 ] || exit 1

# ---- host facts ------------------------------------------------------------------
keeps_nt=1
if [ -f "$BUILD/guests/rflags.elf" ]; then
	"$BUILD/kxen-run" --memory 32 --timeout 60 "$BUILD/guests/rflags.elf" >"$work/rflags.log" 2>&1 </dev/null
	grep -q "host iretq keeps NT: no" "$work/rflags.log" && keeps_nt=0
fi
echo "host iretq keeps NT: $keeps_nt"

# ---- one guest boot for all of them ---------------------------------------------
cat >"$work/init" <<INIT
#!/bin/sh
export KXEN_HOST_KEEPS_NT=$keeps_nt
/bin/busybox mount -t proc proc /proc
echo "kxen-user: guest up on \$(/bin/busybox grep -c ^processor /proc/cpuinfo) CPUs"
for p in ${names[*]}; do
	echo "kxen-user: RUN \$p"
	/bin/busybox timeout $PER_PROG /progs/\$p
	echo "kxen-user: EXIT \$p \$?"
done
echo "kxen-user: DONE"
/bin/busybox poweroff -f
INIT
extras=()
for n in "${names[@]}"; do
	extras+=("$BUILD/linux-user/$n=/progs/$n")
done
BUSYBOX=$CACHE/busybox scripts/mkinitramfs.sh "$work/initrd.gz" "$work/init" "${extras[@]}" >/dev/null ||
	{ echo "FAIL: mkinitramfs"; exit 1; }

timeout $((PER_PROG * ${#names[@]} + 600)) "$BUILD/kxen-run" --timeout $((PER_PROG * ${#names[@]} + 540)) \
	--memory 512 --vcpus 2 --ramdisk "$work/initrd.gz" --cmdline "console=hvc0 quiet" \
	"$CACHE/vmlinuz" >"$work/console.log" 2>&1 </dev/null
rc=$?
tr -d '\r' <"$work/console.log" >"$work/guest.log"
mkdir -p "$BUILD/test-logs"
cp "$work/guest.log" "$BUILD/test-logs/linux-user-guest.log"

grep -q "kxen-user: guest up on 2 CPUs" "$work/guest.log" || { tail -n 40 "$work/guest.log"; echo "FAIL: the guest did not come up on 2 CPUs"; exit 1; }
failed=0
for n in "${names[@]}"; do
	if grep -qx "kxen-user: PASS $n" "$work/guest.log" && ! grep -q "^kxen-user: FAIL $n" "$work/guest.log"; then
		echo "ok   $n"
	else
		echo "FAIL $n:"
		sed -n "/^kxen-user: RUN $n\$/,/^kxen-user: EXIT $n /p" "$work/guest.log" | tail -n 30 | sed 's/^/    /'
		failed=1
	fi
done
if [ "$rc" -ne 0 ]; then
	tail -n 30 "$work/guest.log"
	echo "FAIL: kxen-run exited $rc (expected 0: the guest powers off)"
	exit 1
fi
grep -q "kxen-user: DONE" "$work/guest.log" || { echo "FAIL: the init did not finish"; exit 1; }
[ "$failed" -eq 0 ] || exit 1
echo "PASS: ${#names[@]} user programs under the Debian kernel"
