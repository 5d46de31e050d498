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
# An HVM guest on kvm: SeaBIOS from the reset vector, its banner in xl dmesg (port 0x402),
# then the emulated IDE disk's boot sector, which prints on COM1 (xl console -t serial) and on
# port 0xe9, and finds the RSDP SeaBIOS placed (hvm_boot_sector.S).
if [ -x /kxen/bin/xl ] && [ -f /usr/share/seabios/bios.bin ] && [ -f /kxen/guests/hvm-boot.img ]; then
  echo "=== xl-hvm"
  # COM1 is a pty: the initramfs has no devpts until here.
  mkdir -p /dev/pts && mount -t devpts -o ptmxmode=0666 devpts /dev/pts 2>/dev/null
  [ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
  export XENSTORED_RUNDIR=$KXEN_RUNDIR KXEN_ACCEL=kvm
  printf '%s\n' 'name = "hvm"' 'type = "hvm"' 'memory = 32' 'serial = "pty"' 'boot = "c"' \
    'xen_platform_pci = 0' "disk = [ '/kxen/guests/hvm-boot.img,raw,hda,rw' ]" > /kxen/run/hvm.cfg
  n=0 fails=0
  tap() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
  timeout 60 xl create -q /kxen/run/hvm.cfg; tap $? "xl create hvm.cfg (type hvm, SeaBIOS, IDE disk, COM1 on a pty)"
  id=$(xl domid hvm 2>/dev/null)
  xl console -t serial hvm </dev/null >/kxen/run/hvm-serial.out 2>&1 &
  cpid=$!
  for i in $(seq 1 300); do
    xl dmesg | grep -q "(d$id) KXEN-BOOTSECTOR-OK" && break
    sleep 0.1
  done
  xl dmesg | grep -q "(d$id) SeaBIOS (version"; tap $? "SeaBIOS's banner reaches xl dmesg"
  xl dmesg | grep -q "(d$id) Booting from Hard Disk"; tap $? "SeaBIOS boots from the IDE disk"
  xl dmesg | grep -q "(d$id) KXEN-BOOTSECTOR-OK"; tap $? "the boot sector runs (port 0xe9)"
  for i in $(seq 1 300); do grep -q KXEN-BOOTSECTOR-OK /kxen/run/hvm-serial.out && break; sleep 0.1; done
  grep -q KXEN-BOOTSECTOR-OK /kxen/run/hvm-serial.out; tap $? "the boot sector's line reaches xl console -t serial (COM1)"
  for i in $(seq 1 300); do xl dmesg | grep -q "(d$id) KXEN-RSDP" && break; sleep 0.1; done
  xl dmesg | grep -q "(d$id) KXEN-RSDP-OK"
  tap $? "the boot sector finds the ACPI RSDP SeaBIOS placed from fw-cfg (F segment, both checksums)"
  [ $fails = 0 ] || xl dmesg | grep "(d$id)" | tail -25 | sed 's/^/# /'
  timeout 30 xl destroy hvm; tap $? "xl destroy hvm"
  kill $cpid 2>/dev/null
  echo "=== xl-hvm rc=$fails"
fi
# --bench: bench/hypervisor's event-channel rows on kvm (dom0<->guest median and p99 next to the
# eventfd reference of the same run, guest<->guest), read by bench/hypervisor/kvm.sh.
if [ "$1" = --bench ] && [ -x /kxen/bin/dom0libs-test ] && [ -f /kxen/guests/dom0libs-echo.elf ]; then
  echo "=== evtchn-bench"
  timeout 600 dom0libs-test bench /kxen/guests/dom0libs-echo.elf 200 | grep 'ping-pong' |
    sed 's/^/BENCH kvm /'
  echo "=== evtchn-bench done"
fi
grep -E ' (err|warn): ' /kxen/run/kxend.log | sed 's/^/# kxend: /' | head -20
kill "$(cat /kxen/run/kxend.pid)" 2>/dev/null
exit 0
