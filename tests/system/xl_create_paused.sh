#!/usr/bin/env bash
# `xl create -p` builds the domain paused, as Xen's domain builder leaves it: no guest
# instruction runs before `xl unpause` (no console output, no hypervisor console line, no
# xenstore write by the guest, zero vCPU time), while the toolstack's part is complete (its
# xenstore tree, the introduction, the console attached). Then unpause makes it run. Done on
# soft, and on kvm when `kxend --accel kvm` can start here.
. "$KXEN_SRC/tests/system/xl_common.sh"
base=$KXEN_RUNDIR
[ -x "$KXEN_BUILD/tests/kxen-xctool" ] || skip_all "$KXEN_BUILD/tests/kxen-xctool not built"

paused_run() {
  local accel=$1
  export KXEN_ACCEL=$accel KXEN_RUNDIR=$base/$accel XENSTORED_RUNDIR=$base/$accel
  mkdir -p "$KXEN_RUNDIR"
  local d=$KXEN_RUNDIR/cfg
  mkdir -p "$d"
  write_cfg "$d/p.cfg" early
  check "$accel: xl create -p succeeds" xl create -q -p "$d/p.cfg"
  local id
  id=$(xl domid early)
  local dp=/local/domain/$id
  check "$accel: xl list shows it paused" sh -c "xl list early | awk 'NR == 2 { print \$5 }' | grep -q '^..p'"
  check "$accel: the toolstack's tree exists (name)" test "$(xenstore-read "$dp/name")" = early
  check "$accel: xenconsoled attached before any unpause (console/tty)" \
    test -n "$(xenstore-read "$dp/console/tty" 2>/dev/null)"
  # Give a wrongly started guest ample time to show itself.
  sleep 1
  check "$accel: no console output while paused" \
    sh -c "! test -s '$KXEN_RUNDIR/console/guest-early.log'"
  check "$accel: no hypervisor console line from the guest while paused" \
    sh -c "! xl dmesg | grep -q '(d$id)'"
  check "$accel: the guest wrote nothing to xenstore while paused" \
    sh -c "! xenstore-read $dp/data/hello 2>/dev/null"
  check "$accel: vcpu-list shows 0.0 s of vCPU time while paused" \
    test "$(xl vcpu-list early | awk 'NR == 2 { print $6 }')" = 0.0
  check "$accel: kxend accounts exactly 0 ns of guest time while paused" \
    sh -c "'$KXEN_BUILD/tests/kxen-xctool' info $id | grep -q ' cpu_ns=0 '"
  check "$accel: xl unpause" xl unpause early
  wait_for 20 console_has early "waiting for control/shutdown"
  check "$accel: after unpause the guest prints its banner" console_has early "Hello from kxen"
  check "$accel: and writes its xenstore key" test "$(xenstore-read "$dp/data/hello")" = world
  check "$accel: the banner is the first console line (nothing lost before attach)" \
    sh -c "head -1 '$KXEN_RUNDIR/console/guest-early.log' | grep -q 'Hello from kxen'"
  check "$accel: and now has guest time" \
    sh -c "! '$KXEN_BUILD/tests/kxen-xctool' info $id | grep -q ' cpu_ns=0 '"
  check "$accel: xl destroy" xl destroy early
  kxen-services stop >/dev/null 2>&1
}

mark=$(tap_mark)
paused_run soft
if accel_usable kvm; then
  paused_run kvm
else
  skip_like "$mark" "soft:" "kvm:" "kxend --accel kvm cannot start on this host (see above)"
fi
