#!/usr/bin/env bash
# The runtime's guests on the whole stack: `xl create` boots hello and xenbustest on each
# accelerator available (soft always, kvm when /dev/kvm opens), through xenstored and
# xenconsoled. TAP output; run by hand or from tests/system (same environment:
# KXEN_SRC, KXEN_BUILD, KXEN_RUNDIR).
. "$KXEN_SRC/tests/lib.sh"
[ -x "$KXEN_BUILD/bin/xl" ] && [ -f "$KXEN_BUILD/guests/hello.elf" ] || skip_all "xl or guests not built"
base=$KXEN_RUNDIR
accels=(soft)
[ -r /dev/kvm ] && [ -w /dev/kvm ] && accels+=(kvm)

for accel in "${accels[@]}"; do
  export KXEN_RUNDIR=$base/$accel KXEN_ACCEL=$accel XENSTORED_RUNDIR=$base/$accel
  mkdir -p "$KXEN_RUNDIR"
  printf 'name = "xbt"\nmemory = 16\nkernel = "%s"\n' "$KXEN_BUILD/guests/xenbustest.elf" >"$KXEN_RUNDIR/xbt.cfg"
  printf 'name = "hello"\nmemory = 16\nkernel = "%s"\non_reboot = "restart"\n' \
    "$KXEN_BUILD/guests/hello.elf" >"$KXEN_RUNDIR/hello.cfg"

  check "$accel: xl create xenbustest" timeout 60 xl create -q "$KXEN_RUNDIR/xbt.cfg"
  check "$accel: xenbustest passes against xenstored" wait_for 30 bash -c "xl dmesg | grep -q '(d[0-9]*) RESULT PASS'"
  xl dmesg | grep -E '^\(d[0-9]+\) not ok' | sed "s/^/# $accel: /"

  check "$accel: xl create hello" timeout 60 xl create -q "$KXEN_RUNDIR/hello.cfg"
  check "$accel: hello reads its name and domid" wait_for 20 bash -c "xl dmesg | grep -q 'hello: I am \"hello\", domain'"
  check "$accel: hello wrote data/hello" wait_for 20 bash -c "id=\$(xl domid hello 2>/dev/null) && [ \"\$(xenstore-read /local/domain/\$id/data/hello 2>/dev/null)\" = world ]"
  check "$accel: hello waits on control/shutdown" wait_for 20 bash -c "xl dmesg | grep -q 'waiting for control/shutdown'"
  check "$accel: hello's PV console carries the banner" wait_for 20 bash -c "grep -q 'Hello from kxen' '$KXEN_RUNDIR'/console/guest-hello.log"
  xl reboot hello >/dev/null 2>&1
  check "$accel: hello obeys reboot" wait_for 20 bash -c "xl dmesg | grep -q 'hello: shutting down (reboot)'"
  check "$accel: hello is restarted by on_reboot" wait_for 20 bash -c "[ \$(xl dmesg | grep -c 'waiting for control/shutdown') -ge 2 ]"
  check "$accel: xl shutdown -w powers hello off" timeout 30 xl shutdown -w hello
  check "$accel: hello shut down with reason poweroff" bash -c "xl dmesg | grep -q 'hello: shutting down (poweroff)'"
  [ "${KXEN_DEBUG:-0}" = 1 ] && xl dmesg | sed "s/^/# $accel dmesg: /"
  kxen-services stop >/dev/null 2>&1
done
