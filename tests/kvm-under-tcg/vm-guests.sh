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
if [ -f /kxen/guests/spin.elf ]; then
  echo "=== lifecycle"
  timeout 60 kvm_guest_run --lifecycle /kxen/guests/spin.elf
  echo "=== lifecycle rc=$?"
fi
grep -E ' (err|warn): ' /kxen/run/kxend.log | sed 's/^/# kxend: /' | head -20
kill "$(cat /kxen/run/kxend.pid)" 2>/dev/null
exit 0
