#!/bin/sh
# Runs inside the kvm-under-tcg VM: kxend on the kvm accelerator, then each test guest through
# kvm_guest_run (the guest's TAP lines go to the serial console, one "=== name" section each).
export KXEN_RUNDIR=/kxen/run
if ! kxend --accel kvm --log-file /kxen/run/kxend.log; then
  echo "=== kxend"
  echo "not ok 1 - kxend starts with --accel kvm"
  cat /kxen/run/kxend.log
  exit 1
fi
for g in selftest hostile; do
  [ -f /kxen/guests/$g.elf ] || continue
  echo "=== $g"
  timeout 150 kvm_guest_run /kxen/guests/$g.elf 32 120
  echo "=== $g rc=$?"
done
if [ -f /kxen/guests/smptest.elf ]; then
  echo "=== smptest"
  timeout 60 kvm_guest_run /kxen/guests/smptest.elf 32 30 2
  echo "=== smptest rc=$?"
fi
if [ -f /kxen/guests/spin.elf ]; then
  echo "=== lifecycle"
  timeout 60 kvm_guest_run --lifecycle /kxen/guests/spin.elf
  echo "=== lifecycle rc=$?"
fi
# The toolstack path on kvm: xl create starts xenstored and xenconsoled; the hello guest
# talks xenstore over its ring and shuts down when asked through control/shutdown.
if [ -x /kxen/bin/xl ] && [ -f /kxen/guests/hello.elf ]; then
  echo "=== xl-hello"
  export XENSTORED_RUNDIR=$KXEN_RUNDIR KXEN_ACCEL=kvm
  printf 'name = "hello"\nkernel = "/kxen/guests/hello.elf"\nmemory = 32\nvcpus = 1\n' \
    > /kxen/run/hello.cfg
  n=0 fails=0
  tap() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
  timeout 60 xl create -q /kxen/run/hello.cfg; tap $? "xl create hello.cfg (kvm)"
  id=$(xl domid hello 2>/dev/null)
  v=
  for i in $(seq 1 200); do
    v=$(xenstore-read /local/domain/$id/data/hello 2>/dev/null) && [ "$v" = world ] && break
    sleep 0.1
  done
  [ "$v" = world ]; tap $? "hello wrote data/hello = world through its xenstore ring"
  [ "$v" = world ] || { echo "# domid '$id', data/hello '$v'"; xenstore-read /local/domain/$id/data/hello 2>&1 | sed 's/^/# /'; xl list 2>&1 | sed 's/^/# /'; }
  timeout 60 xl shutdown -w hello >/dev/null; tap $? "xl shutdown -w: hello powers off on request"
  xl dmesg | grep -q 'hello: shutting down (poweroff)'; tap $? "hello saw control/shutdown = poweroff"
  echo "=== xl-hello rc=$fails"
fi
grep -E ' (err|warn): ' /kxen/run/kxend.log | sed 's/^/# kxend: /' | head -20
kill "$(cat /kxen/run/kxend.pid)" 2>/dev/null
exit 0
