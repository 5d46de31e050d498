#!/bin/sh
# /init of the kvm-under-tcg VM: loads kvm, runs kxen's kvm tests, prints their TAP lines,
# then "VMDONE" and powers off. Results are read from the serial log by the host.
export PATH=/bin:/kxen/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# The heartbeat on COM2 for run-vm.sh's watchdog: the VM's uptime and load every 10 s, so a
# VM that stopped altogether is told from a slow or quiet nested guest (and woken).
if [ -c /dev/ttyS1 ]; then
  (while :; do echo "beat $(cat /proc/uptime) $(cat /proc/loadavg)"; sleep 10; done >/dev/ttyS1) &
fi
for m in irqbypass kvm ccp kvm-amd; do insmod /mod/$m.ko 2>/dev/null; done
if [ ! -c /dev/kvm ]; then
  echo "VMSKIP no /dev/kvm inside the VM (kvm_amd did not load)"
else
  mode=$(cat /kxen/mode)
  if [ "$mode" = --hvm ]; then
    for s in $(cat /kxen/linux/steps); do
      case $s in pvhvm) sh /kxen/bin/vm-hvm.sh pvhvm direct /kxen/linux ;;
        dd) for m in hvm pvhvm pvh; do KXEN_HVM_DD=1 sh /kxen/bin/vm-hvm.sh $m direct /kxen/linux 900; done ;;
        net) for m in hvm pvhvm pvh; do KXEN_HVM_NET=1 sh /kxen/bin/vm-hvm.sh $m direct /kxen/linux 900; done ;;
        *) sh /kxen/bin/vm-hvm.sh hvm "$s" /kxen/linux ;; esac
    done
    echo VMDONE
    poweroff -f
  fi
  if [ "$mode" = --linux ]; then
    sh /kxen/bin/vm-linux.sh "$(cat /kxen/linux/steps 2>/dev/null)"
    echo VMDONE
    poweroff -f
  fi
  # The guest CPU time checks depend on the VM's clock: say which clocksource it runs on.
  echo "# clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
  echo "=== accel"
  kvm_accel_test $mode
  echo "=== accel rc=$?"
  dmesg | grep -iE 'clocksource|tsc' | sed 's/^/# kernel: /'
  if [ -f /kxen/bin/vm-guests.sh ]; then
    sh /kxen/bin/vm-guests.sh $mode
    echo "# vm-guests.sh exit $?"
  fi
fi
echo VMDONE
poweroff -f
