#!/bin/sh
# Runs inside the kvm-under-tcg VM (run-vm.sh --linux): Debian's own kernel booted by
# `xl create` as a PVH guest on kxend's kvm accelerator, with the initramfs, disk image and
# settings make-linux-guest.sh made. Prints one "=== linux" TAP section; the guest's console
# (hvc0, logged by xenconsoled) and `xl dmesg` are echoed as comments when a step fails.
#   vm-linux.sh [STEPS]   STEPS: words among disk net (default: both)
export KXEN_RUNDIR=/kxen/run XENSTORED_RUNDIR=/kxen/run KXEN_ACCEL=kvm
steps=${1:-none}
L=/kxen/linux
log=$KXEN_RUNDIR/console/guest-linux.log
echo "=== linux"
n=0 fails=0
tap() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
# seen PATTERN SECONDS: the guest's console log shows PATTERN within SECONDS.
seen() {
  i=0
  while [ $i -lt $(($2 * 2)) ]; do
    grep -q -- "$1" "$log" 2>/dev/null && return 0
    sleep 0.5; i=$((i + 1))
  done
  return 1
}
dump() {
  echo "# --- guest console (last 40 lines)"; tail -${KXEN_DBG_LINES:-40} "$log" 2>/dev/null | sed 's/^/# /'
  echo "# --- xl dmesg (last 30 lines)"; xl dmesg 2>/dev/null | tail -${KXEN_DBG_LINES:-30} | sed 's/^/# /'
  echo "# --- kxend.log"; grep -E ' (err|warn|info): ' $KXEN_RUNDIR/kxend.log | tail -${KXEN_DBG_LINES:-20} | sed 's/^/# /'
  echo "# --- threads (name state wchan utime stime)"
  for p in $(cat $KXEN_RUNDIR/*.pid 2>/dev/null); do
    for t in /proc/$p/task/*; do
      echo "# $(cat $t/comm) $(cat $t/wchan 2>/dev/null) $(cut -d' ' -f3,14,15 $t/stat)"
    done
  done
  xl vcpu-list 2>&1 | sed 's/^/# /'
}
if ! kxend --accel kvm --log-file $KXEN_RUNDIR/kxend.log; then
  tap 1 "kxend starts with --accel kvm"; cat $KXEN_RUNDIR/kxend.log; exit 1
fi
extra=
disk=
vcpus=1
case " $steps " in *" smp "*) vcpus=2 ;; esac
case " $steps " in *" disk "*) [ -f $L/root.img ] && extra="$extra kxen_disk" &&
  disk="disk = ['$L/root.img,raw,xvda,rw']" ;; esac
cat > $KXEN_RUNDIR/linux.cfg <<CFG
name = "linux"
type = "pvh"
kernel = "$L/vmlinuz"
ramdisk = "$L/initrd.gz"
memory = 256
vcpus = $vcpus
cmdline = "console=hvc0 earlyprintk=xen keep_bootcon panic=-1 $extra"
$disk
CFG
t0=$(date +%s)
timeout 60 xl create -q $KXEN_RUNDIR/linux.cfg; tap $? "xl create of Debian's kernel as a PVH guest (kvm)"
seen "kxen-linux: init" 240; tap $? "Linux runs /init from the ramdisk, printing on hvc0"
seen "kxen-linux: shell up" 30; tap $? "a shell prints its line on the console"
if [ $vcpus -gt 1 ]; then
  seen "kxen-linux: init, .*, $vcpus cpu(s)" 1; tap $? "Linux brings up its $vcpus vCPUs (ACPI MADT, INIT/SIPI)"
  xl vcpu-list linux 2>&1 | sed 's/^/# /'
  [ "$(xl vcpu-list linux 2>/dev/null | awk 'NR > 1 && $5 != "---"' | wc -l)" -eq $vcpus ]
  tap $? "xl vcpu-list shows $vcpus vCPUs online"
fi
echo "# first userspace line after $(($(date +%s) - t0)) s"
if [ -n "$disk" ]; then
  seen "kxen-linux: disk made on the host" 60
  tap $? "the guest mounts the PV disk (blkfront on kxen's blkback) and reads the host's file"
fi
seen "kxen-linux: ready" 60; tap $? "the guest's init reaches its end"
xl list linux 2>&1 | sed 's/^/# /'
xenstore-ls /local/domain/1/control 2>&1 | sed 's/^/# /'
timeout 60 xl shutdown -w linux 2>&1 | sed 's/^/# xl shutdown: /'; [ -z "$(xl list 2>/dev/null | grep '^linux ')" ]; tap $? "xl shutdown -w: Linux powers off through control/shutdown"
xl list 2>/dev/null | grep -q '^linux ' && r=1 || r=0
tap $r "no domain is left"
[ $fails = 0 ] || dump
echo "=== linux rc=$fails"
kill "$(cat $KXEN_RUNDIR/kxend.pid)" 2>/dev/null
exit 0
