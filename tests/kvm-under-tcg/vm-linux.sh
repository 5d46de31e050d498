#!/bin/sh
# Runs inside the kvm-under-tcg VM (run-vm.sh --linux): Debian's own kernel booted by
# `xl create` as a PVH guest on kxend's kvm accelerator, with the initramfs, disk image and
# settings make-linux-guest.sh made. Prints one "=== linux" TAP section; the guest's console
# (hvc0, logged by xenconsoled) and `xl dmesg` are echoed as comments when a step fails.
#   vm-linux.sh [STEPS]   STEPS: words among disk net smp save
export KXEN_RUNDIR=/kxen/run XENSTORED_RUNDIR=/kxen/run KXEN_ACCEL=kvm
export PATH=/kxen/bin:$PATH # iproute2 ip before busybox
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
  echo "# --- guest console: init's lines, block/net/ACPI messages, the last 20 lines"
  grep -aE 'kxen-linux: [a-z]|xvda|blkfront|netfront|EXT|eth0|ACPI|smpboot|BUG|Oops|panic' "$log" |
    grep -v 'kxen-linux: tick' | head -60 | sed 's/^/# /'
  tail -20 "$log" 2>/dev/null | sed 's/^/# /'
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
# The save step (needs disk and net): xl save and xl restore on this host, then xl migrate to
# a second kxen host in this VM (its own run directory; `-s` names a script that plays ssh)
# while the VM pings the guest. The guest's init reads back a file written before the save
# and writes a new one every second ("kxen-linux: io N ..."). The checks after this step run
# against the destination, where the guest now lives.
dst=/kxen/dst
io_last() { grep -a 'kxen-linux: io [0-9]* written before the save / write' "$1" 2>/dev/null | tail -1 | cut -d' ' -f3; }
# io_past LOG N SECONDS: LOG shows an io line numbered above N within SECONDS.
io_past() {
  i=0
  while [ $i -lt $(($3 * 2)) ]; do
    c=$(io_last "$1"); [ -n "$c" ] && [ "$c" -gt "$2" ] && return 0
    sleep 0.5; i=$((i + 1))
  done
  return 1
}
save_step() {
  seen "kxen-linux: io " 60; tap $? "save: the guest reads back and writes its disk every second"
  io0=$(io_last "$log"); io0=${io0:-0}
  t=$(date +%s)
  timeout 120 xl save linux $KXEN_RUNDIR/linux.save 2>&1 | sed 's/^/# xl save: /'
  [ -s $KXEN_RUNDIR/linux.save ] && ! xl list linux >/dev/null 2>&1
  tap $? "save: xl save writes the image (Linux suspends itself) and the domain is gone"
  timeout 120 xl restore $KXEN_RUNDIR/linux.save 2>&1 | sed 's/^/# xl restore: /'
  xl list linux >/dev/null 2>&1; tap $? "save: xl restore brings the domain back"
  io_past "$log" "$io0" 90
  tap $? "save: after the restore the file written before the save reads back and new writes work"
  echo "# save + restore took $(($(date +%s) - t)) s, io line $io0 before, $(io_last "$log") after"
  ping -c 3 -W 5 10.99.0.2 >/dev/null 2>&1; tap $? "save: the host pings the restored guest"
  # xl migrate while the VM pings the guest once a second.
  io0=$(io_last "$log"); io0=${io0:-0}
  printf '#!/bin/sh\nhost=$1; shift\nKXEN_RUNDIR=$host XENSTORED_RUNDIR=$host exec sh -c "$*"\n' >$KXEN_RUNDIR/fakessh
  chmod +x $KXEN_RUNDIR/fakessh
  ping 10.99.0.2 >$KXEN_RUNDIR/mig-ping.txt 2>&1 &
  pp=$!
  sleep 1
  t=$(date +%s)
  # A loaded host slows the nested guest's pre-copy rounds a lot: the bound is generous.
  timeout 240 xl migrate -s $KXEN_RUNDIR/fakessh linux $dst 2>&1 | sed 's/^/# xl migrate: /'
  mt=$(($(date +%s) - t))
  KXEN_RUNDIR=$dst XENSTORED_RUNDIR=$dst xl list linux >/dev/null 2>&1 && ! xl list linux >/dev/null 2>&1
  moved=$?
  tap $moved "save: xl migrate moves the guest to the second kxen host"
  if [ $moved != 0 ]; then
    # The source resumed its copy (or still has it): the checks after this step run there.
    kill $pp 2>/dev/null; wait $pp 2>/dev/null
    tap 1 "save: after the migration the guest reads its files and writes on"
    tap 1 "save: the VM's ping of the guest goes on after the migration"
    return
  fi
  export KXEN_RUNDIR=$dst XENSTORED_RUNDIR=$dst
  # xenconsoled names a log after the domain's name when it attaches: the receiving side's
  # domain was still "linux--incoming" then.
  log=$dst/console/guest-linux--incoming.log
  [ -f "$log" ] || log=$dst/console/guest-linux.log
  io_past "$log" "$io0" 90; tap $? "save: after the migration the guest reads its files and writes on"
  # The network comes back once netfront has reconnected: wait (at most 60 s) for a reply
  # sent after the migration ended.
  i=0
  while [ $i -lt 60 ]; do
    sq=$(sed -n 's/.*seq=\([0-9]*\).*/\1/p' /kxen/run/mig-ping.txt | tail -1)
    [ "${sq:-0}" -gt $((mt + 1)) ] && break
    sleep 1; i=$((i + 1))
  done
  kill $pp 2>/dev/null; wait $pp 2>/dev/null
  # Replies carry seq=N: the longest run of missing sequence numbers is the gap.
  sed -n 's/.*seq=\([0-9]*\).*/\1/p' /kxen/run/mig-ping.txt | awk '
    NR > 1 && $1 - p > g { g = $1 - p } { p = $1; n++ } END { printf "%d %d %d\n", n, p, g }' >/kxen/run/mig-gap.txt
  read got lastseq gap </kxen/run/mig-gap.txt
  echo "# xl migrate took $mt s; ping during it: $got replies, last seq $lastseq, longest gap between replies ${gap:-?} s (1 ping/s)"
  [ "${got:-0}" -gt 0 ] && [ "${lastseq:-0}" -gt $((mt + 1)) ]
  tap $? "save: the VM's ping of the guest goes on after the migration"
}
if ! kxend --accel kvm --log-file $KXEN_RUNDIR/kxend.log; then
  tap 1 "kxend starts with --accel kvm"; cat $KXEN_RUNDIR/kxend.log; exit 1
fi
extra=
disk=
vcpus=1
case " $steps " in *" save "*)
  # The destination starts before the guest: guests see their host's system time since its
  # kxend started, and Linux's timers would wait out a younger host's difference.
  mkdir -p $dst
  KXEN_RUNDIR=$dst XENSTORED_RUNDIR=$dst kxend --accel kvm --log-file $dst/kxend.log &&
    KXEN_RUNDIR=$dst XENSTORED_RUNDIR=$dst xl list >/dev/null 2>&1 && extra="$extra kxen_save" ;;
esac
case " $steps " in *" smp "*) vcpus=2 ;; esac
case " $steps " in *" disk "*) [ -f $L/root.img ] && extra="$extra kxen_disk" &&
  disk="disk = ['$L/root.img,raw,xvda,rw']" ;; esac
vif=
case " $steps " in *" net "*)
  for m in llc stp bridge tun; do insmod /mod/$m.ko 2>/dev/null; done
  if /kxen/bin/ip link add kxbr0 type bridge && /kxen/bin/ip addr add 10.99.0.1/24 dev kxbr0 &&
     /kxen/bin/ip link set kxbr0 up; then
    extra="$extra kxen_net" vif="vif = ['bridge=kxbr0']"
  else
    echo "# cannot make the bridge kxbr0: no network step"
  fi ;;
esac
cat > $KXEN_RUNDIR/linux.cfg <<CFG
name = "linux"
type = "pvh"
kernel = "$L/vmlinuz"
ramdisk = "$L/initrd.gz"
memory = 256
vcpus = $vcpus
cmdline = "console=hvc0 earlyprintk=xen keep_bootcon panic=-1 $extra"
$disk
$vif
CFG
t0=$(date +%s)
timeout 60 xl create -q $KXEN_RUNDIR/linux.cfg; created=$?
tap $created "xl create of Debian's kernel as a PVH guest (kvm)"
if [ $created != 0 ]; then
  # Nothing to wait for: the remaining checks fail at once.
  seen() { return 1; }
fi
seen "kxen-linux: init" 300; booted=$?
tap $booted "Linux runs /init from the ramdisk, printing on hvc0"
if [ $booted != 0 ]; then
  # Say where the guest is now (the VM may be stopped by its timeout before the end), then
  # fail the remaining checks at once.
  dump
  seen() { return 1; }
fi
seen "kxen-linux: shell up" 30; tap $? "a shell prints its line on the console"
if [ $vcpus -gt 1 ]; then
  seen "kxen-linux: init, .*, $vcpus cpu(s)" 1; tap $? "Linux brings up its $vcpus vCPUs (ACPI MADT, INIT/SIPI)"
  xl vcpu-list linux 2>&1 | sed 's/^/# /'
  [ "$(xl vcpu-list linux 2>/dev/null | awk 'NR > 1 && $5 != "---"' | wc -l)" -eq $vcpus ]
  tap $? "xl vcpu-list shows $vcpus vCPUs online"
fi
echo "# first userspace line after $(($(date +%s) - t0)) s"
if [ -n "$disk" ]; then
  seen "kxen-linux: disk made on the host" 120
  tap $? "the guest mounts the PV disk (blkfront on kxen's blkback) and reads the host's file"
fi
if [ -n "$vif" ]; then
  seen "kxen-linux: ping ok" 90; tap $? "the guest configures eth0 (netfront on kxen's netback) and pings the host over kxbr0"
  ping -c 2 -W 5 10.99.0.2 >/dev/null 2>&1; tap $? "the host pings the guest over kxbr0"
fi
seen "kxen-linux: ready" 60; tap $? "the guest's init reaches its end"
case " $steps " in *" save "*) if [ -n "$disk" ] && [ -n "$vif" ]; then save_step; else
  echo "# save step: needs the disk and net steps"; fi ;; esac
xl list linux 2>&1 | sed 's/^/# /'
xenstore-ls /local/domain/1/control 2>&1 | sed 's/^/# /'
timeout 60 xl shutdown -w linux 2>&1 | sed 's/^/# xl shutdown: /'; [ -z "$(xl list 2>/dev/null | grep '^linux ')" ]; tap $? "xl shutdown -w: Linux powers off through control/shutdown"
xl list 2>/dev/null | grep -q '^linux ' && r=1 || r=0
tap $r "no domain is left"
if [ -n "$disk" ]; then
  got=$(debugfs -R 'cat /from-guest.txt' $L/root.img 2>/dev/null)
  echo "# from-guest.txt in the image: $got"
  case $got in "written by Linux "*) r=0 ;; *) r=1 ;; esac
  tap $r "after the guest is gone, the file it wrote is in the disk image (debugfs)"
fi
grep -- '-ENOSYS (logged once)' $KXEN_RUNDIR/kxend.log | sed 's/^.*kvm: /# enosys: /'
[ $fails = 0 ] || dump
echo "=== linux rc=$fails"
kill "$(cat /kxen/run/kxend.pid)" "$(cat $dst/kxend.pid 2>/dev/null)" 2>/dev/null
exit 0
