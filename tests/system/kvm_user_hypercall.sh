#!/usr/bin/env bash
# kvm refuses hypercalls from guest user space: guests/usermode drops to CPL 3 (with IOPL 3, so
# the hypercall page's port write reaches kxend) and calls xen_version, which must fail with
# -EPERM while the same call from its kernel succeeds. Skipped, saying why, where
# `kxend --accel kvm` cannot start (no usable /dev/kvm).
. "$KXEN_SRC/tests/system/xl_common.sh"
X=$KXEN_BUILD/tests/kxen-xctool
G=$KXEN_BUILD/guests/usermode.elf
[ -x "$KXEN_BUILD/bin/kxend" ] && [ -x "$X" ] && [ -f "$G" ] || skip_all "kxend, kxen-xctool or usermode.elf not built"
accel_usable kvm || skip_all "kxend --accel kvm cannot start on this host (no usable /dev/kvm)"

"$KXEN_BUILD/bin/kxend" -N --accel kvm --log-file "$KXEN_RUNDIR/kxend.log" 2>"$KXEN_RUNDIR/kxend.err" &
KPID=$!
trap 'kill $KPID 2>/dev/null; wait $KPID 2>/dev/null' EXIT
check "kxend listens on its socket (kvm)" wait_for 10 test -S "$KXEN_RUNDIR/kxend.sock"

out=$(timeout 120 "$X" run usermode 16384 "$G" "" 60)
echo "$out" | grep -E '^(ok|not ok) ' | sed 's/^/# usermode: /'
check "usermode: xen_version from the guest kernel (CPL 0) succeeds" \
  grep -qE '^ok [0-9]+ - xen_version from the kernel' <<<"$out"
check "usermode: the guest reached user space (CPL 3)" \
  grep -qE '^ok [0-9]+ - the user code ran at CPL 3' <<<"$out"
check "usermode: a hypercall from guest user space is refused with -EPERM" \
  grep -qE '^ok [0-9]+ - a hypercall from user space \(CPL 3\) is refused with -EPERM' <<<"$out"
check "usermode: hypercalls work again at CPL 0 and the guest ends with RESULT PASS" \
  bash -c "grep -qE '^ok [0-9]+ - back at CPL 0' <<<\"\$1\" && grep -q 'RESULT PASS' <<<\"\$1\"" _ "$out"
