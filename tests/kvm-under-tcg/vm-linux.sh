#!/bin/sh
# Runs inside the kvm-under-tcg VM (run-vm.sh --linux): Debian's own kernel booted by
# `xl create` as a PVH guest on kxend's kvm accelerator, with the initramfs, disk image and
# settings make-linux-guest.sh made. Prints one "=== linux" TAP section; the guest's console
# (hvc0, logged by xenconsoled) and `xl dmesg` are echoed as comments when a step fails.
#   vm-linux.sh [STEPS]   the guest in /kxen/linux, then the one in /kxen/linux/other when
#                         run-vm.sh made it (its steps in /kxen/linux/other/steps)
# STEPS: words among smp mem disk net reboot save destroy, or bench alone (bench/linux). Every
# guest boots to a shell and is shut down with `xl shutdown -w`; each word adds the step
# function of the same name (step_WORD), run in the order run_guest lists them, whatever the
# order of the words.
export KXEN_RUNDIR=/kxen/run XENSTORED_RUNDIR=/kxen/run KXEN_ACCEL=kvm
export PATH=/kxen/bin:$PATH # iproute2 ip before busybox
echo "=== linux"
n=0 fails=0
tap() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $G: $2"; else echo "not ok $n - $G: $2"; fails=$((fails + 1)); fi; }
has() { case " $steps " in *" $1 "*) return 0 ;; esac; return 1; }
# seen PATTERN SECONDS: the guest's console log shows PATTERN within SECONDS. A guest that
# missed one line is taken as stuck (dead=1): its state is dumped at once and the later
# waits fail at once, so the VM reaches its end (and the next guest) within its time limit.
seen() {
  [ $dead = 0 ] || return 1
  i=0
  while [ $i -lt $(($2 * 2)) ]; do
    grep -q -- "$1" "$log" 2>/dev/null && return 0
    sleep 0.5; i=$((i + 1))
  done
  echo "# $G: no '$1' on the console within $2 s"
  dump
  dead=1
  return 1
}
# count PATTERN: how many console lines match.
count() { grep -c -- "$1" "$log" 2>/dev/null || true; }
# nseen PATTERN N SECONDS: at least N console lines match PATTERN within SECONDS.
nseen() {
  [ $dead = 0 ] || return 1
  i=0
  while [ $i -lt $(($3 * 2)) ]; do
    [ "$(count "$1")" -ge "$2" ] && return 0
    sleep 0.5; i=$((i + 1))
  done
  echo "# $G: fewer than $2 '$1' lines on the console within $3 s"
  dump
  dead=1
  return 1
}
domid() { xl domid "$G" 2>/dev/null; }
dump() {
  echo "# --- $G console: init's lines, block/net/ACPI messages, the last 20 lines"
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

# write_config: the guest's xl config from its steps.
write_config() {
  extra= disk= vif= vcpus=1 mem=256
  has smp && vcpus=2
  has mem && mem=512
  if has disk && [ -f $D/root.img ]; then extra="$extra kxen_disk" disk="disk = ['$D/root.img,raw,xvda,rw']"; fi
  if has net && [ -n "$bridge" ]; then extra="$extra kxen_net" vif="vif = ['bridge=kxbr0']"; fi
  if has save && [ -n "$dst_up" ]; then extra="$extra kxen_save"; fi
  cat >$cfg <<CFG
name = "$G"
type = "pvh"
kernel = "$D/vmlinuz"
ramdisk = "$D/initrd.gz"
memory = $mem
vcpus = $vcpus
cmdline = "console=hvc0 earlyprintk=xen keep_bootcon panic=-1 $extra"
$disk
$vif
CFG
}
# step_boot: xl create, /init on hvc0, a shell; the later steps fail at once when this did.
step_boot() {
  t0=$(date +%s)
  timeout 60 xl create -q $cfg; created=$?
  tap $created "xl create of Debian's kernel $(cat $D/kver) as a PVH guest (kvm)"
  if [ $created = 0 ]; then seen "kxen-linux: init" 300; booted=$?; else booted=1 dead=1; fi
  tap $booted "Linux runs /init from the ramdisk, printing on hvc0"
  seen "kxen-linux: shell up" 30; tap $? "a shell prints its line on the console"
  echo "# $G: first userspace line after $(($(date +%s) - t0)) s"
  # The hypercall transport follows the L1 kernel: KVM's Xen intercept where KVM has it (6.12).
  case $(uname -r) in 6.1.*) hc="routed by rewrite" ;; *) hc="KVM Xen intercept" ;; esac
  xl dmesg 2>/dev/null | grep -q "hypercalls: $hc"; tap $? "hypercalls: $hc (L1 $(uname -r))"
  grep -E 'hypercalls:|KVM Xen|delivered by KVM|kvmclock' $KXEN_RUNDIR/kxend.log | tail -4 | sed 's/^/# /'
}
step_smp() {
  seen "kxen-linux: init, .*, $vcpus cpu(s)" 1; tap $? "Linux brings up its $vcpus vCPUs (ACPI MADT, INIT/SIPI)"
  xl vcpu-list "$G" 2>&1 | sed 's/^/# /'
  [ "$(xl vcpu-list "$G" 2>/dev/null | awk 'NR > 1 && $5 != "---"' | wc -l)" -eq $vcpus ]
  tap $? "xl vcpu-list shows $vcpus vCPUs online"
  [ "$(xl list "$G" 2>/dev/null | awk 'NR == 2 { print $4 }')" = $vcpus ]; tap $? "xl list shows $vcpus vCPUs"
}
step_mem() {
  kb=$(grep -m1 'kxen-linux: init' "$log" | sed -n 's/.*cpu(s), \([0-9]*\) kB.*/\1/p')
  echo "# $G: MemTotal ${kb:-?} kB"
  # What the kernel keeps for itself comes off MemTotal (~55 MiB for Debian's 6.1): a 512 MiB
  # guest sees 400..512 MiB, a 256 MiB one would see less than 256.
  [ "${kb:-0}" -gt 409600 ] && [ "$kb" -le 524288 ]; tap $? "the guest sees ~$mem MiB (/proc/meminfo MemTotal)"
  [ "$(xl list "$G" 2>/dev/null | awk 'NR == 2 { print $3 }')" = $mem ]; tap $? "xl list shows $mem MiB"
}
step_disk() {
  seen "kxen-linux: root on xvda (made on the host), boot 1" 120
  tap $? "the initramfs switch_roots onto the PV disk (blkfront on kxen's blkback), which reads the host's file"
}
step_net() {
  seen "kxen-linux: ping ok" 90; tap $? "the guest configures eth0 (netfront on kxen's netback) and pings the host over kxbr0"
  ping -c 2 -W 5 10.99.0.2 >/dev/null 2>&1; tap $? "the host pings the guest over kxbr0"
}
step_ready() { seen "kxen-linux: ready" 60; tap $? "the guest's init reaches its end"; }
step_reboot() {
  before=$(domid) boots=$(count "kxen-linux: shell up")
  timeout 30 xl reboot "$G" 2>&1 | sed 's/^/# xl reboot: /'
  nseen "kxen-linux: shell up" $((boots + 1)) 300
  tap $? "xl reboot: Linux reboots through control/shutdown and a new boot reaches its shell"
  after=$(domid)
  xl list 2>&1 | sed 's/^/# /'
  [ -n "$after" ] && [ "$after" != "$before" ]; tap $? "xl list shows $G again (domain $before, now ${after:-none})"
  if has disk; then
    seen "kxen-linux: root on xvda (made on the host), boot 2" 120
    tap $? "the new boot mounts the same root (its boot count is 2)"
  fi
  step_ready
}
step_shutdown() {
  xl list "$G" 2>&1 | sed 's/^/# /'
  xenstore-ls /local/domain/$(domid)/control 2>&1 | sed 's/^/# /'
  timeout 60 xl shutdown -w "$G" 2>&1 | sed 's/^/# xl shutdown: /'
  ! xl list 2>/dev/null | grep -q "^$G "; tap $? "xl shutdown -w: Linux powers off through control/shutdown, no domain is left"
}
# After the guest is gone: its file in the image, and a clean file system.
step_fsck() {
  # boots_base: the boots logged on the first host when the guest moved (step_save).
  b=$((boots_base + $(count "kxen-linux: root on xvda")))
  got=$(debugfs -R 'cat /from-guest.txt' $D/root.img 2>/dev/null)
  echo "# $G: from-guest.txt in the image: $got"
  [ "$got" = "written by Linux $(cat $D/kver), boot $b" ]
  tap $? "after the guest is gone, the file its real root wrote is in the disk image (debugfs)"
  e2fsck -fn $D/root.img 2>&1 | tail -3 | sed 's/^/# e2fsck: /'
  e2fsck -fn $D/root.img >/dev/null 2>&1; tap $? "e2fsck -fn finds the image clean"
}
# step_destroy: a new boot destroyed at a random point leaves no domain, xenstore node or tap.
step_destroy() {
  delay=$(awk 'BEGIN { srand(); print int(rand() * 30) }')
  timeout 60 xl create -q $cfg; tap $? "xl create again (to destroy it)"
  id=$(domid)
  sleep "$delay"
  echo "# $G: domain ${id:-?} destroyed $delay s after xl create ($(grep -c . "$log") console lines)"
  timeout 30 xl destroy "$G" 2>&1 | sed 's/^/# xl destroy: /'
  ! xl list 2>/dev/null | grep -q "^$G "; tap $? "xl destroy: no domain is left"
  left=$(xenstore-ls -f / 2>/dev/null | sed 's/ = .*//' | grep -E "/${id:-none}(/|\$)")
  [ -z "$left" ] || echo "$left" | head -5 | sed 's/^/# left: /'
  [ -n "$id" ] && [ -z "$left" ]; tap $? "no xenstore node names domain ${id:-?}"
  ! ip link 2>/dev/null | grep -q "vif${id:-none}\."; tap $? "no vif${id:-?}.N tap is left"
}

# ---- bench (bench/linux/run.sh): one guest with KXEN_LINUX_STEPS=bench, nothing else runs.
# Prints "# bench KEY VALUE" lines: first userspace line after `xl create` and after qemu
# started the same kernel and initramfs (on this VM's /dev/kvm; TCG when
# /kxen/linux/tcg-seconds says how long it may take), PV disk
# throughput inside the guest and this VM's own direct I/O on the same virtio disks.
up_s() { cut -d' ' -f1 /proc/uptime; }
# first_line FILE T0 SECONDS [PID]: seconds from T0 (up_s) to the first userspace line in
# FILE, polled every 0.1 s; gives up early when process PID is gone.
first_line() {
  i=0
  while [ $i -lt $(($3 * 10)) ]; do
    if grep -q "kxen-linux: init" "$1" 2>/dev/null; then
      awk -v a="$2" -v b="$(up_s)" 'BEGIN { printf "%.1f\n", b - a }'; return 0
    fi
    [ -z "${4:-}" ] || kill -0 "$4" 2>/dev/null || return 1
    sleep 0.1; i=$((i + 1))
  done
  return 1
}
# mibs: MiB/s from "N MiB in S s".
mibs() { awk '{ for (i = 1; i < NF; i++) if ($i == "in") s = $(i + 1); if (s > 0) printf "%.1f\n", $1 / s }'; }
# timed_dd ARGS...: busybox dd of 16 MiB (as in the guest), as "16 MiB in S s".
timed_dd() {
  t=$(up_s)
  dd "$@" bs=1M count=16 2>/dev/null
  echo "16 MiB in $(awk -v a=$t -v b="$(up_s)" 'BEGIN { print b - a }') s"
}
qemu_first_line() { # ACCEL CPU SECONDS
  out=$KXEN_RUNDIR/qemu-$1.log
  : >$out
  t=$(up_s)
  "$(cat /kxen/linux/qemu)" -nodefaults -display none -no-reboot -m 512 -smp 1 -accel $1 -cpu $2 \
    -kernel $D/vmlinuz -initrd $D/initrd.gz -append "console=ttyS0 panic=-1" -serial file:$out 2>/dev/null &
  q=$!
  v=$(first_line $out $t $3 $q)
  kill $q 2>/dev/null; wait $q 2>/dev/null
  if [ -n "$v" ]; then echo "# bench boot-qemu-$1 $v"; else echo "# qemu $1: no userspace line in $3 s"; tail -5 $out | sed 's/^/# /'; fi
}
bench_guest() {
  for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
    insmod /mod/$m.ko 2>/dev/null
  done
  for i in 1 2 3 4 5; do [ -b /dev/vdb ] && break; sleep 1; done
  [ -b /dev/vda ] && [ -b /dev/vdb ]; tap $? "the VM has its two virtio disks (vda: read, vdb: scratch)"
  qemu_first_line kvm host 300
  # qemu's TCG inside this TCG-emulated VM: off unless given a time (it boots the kernel an
  # order of magnitude slower than TCG on the host; bench/linux/run.sh runs that one there).
  tcg=$(cat /kxen/linux/tcg-seconds 2>/dev/null || echo 0)
  [ "$tcg" -gt 0 ] && qemu_first_line tcg max $tcg
  cat >$cfg <<CFG
name = "$G"
type = "pvh"
kernel = "$D/vmlinuz"
ramdisk = "$D/initrd.gz"
memory = 512
vcpus = 1
cmdline = "console=hvc0 panic=-1 kxen_bench"
disk = ['/dev/vda,raw,xvda,r', '/dev/vdb,raw,xvdb,rw']
CFG
  t=$(up_s)
  timeout 60 xl create -q $cfg; tap $? "xl create of the bench guest"
  v=$(first_line "$log" $t 300) && echo "# bench boot-xl $v"
  seen "kxen-linux: ready" 300; tap $? "the bench guest reads xvda and writes xvdb"
  echo "# bench read-guest $(grep -a 'kxen-linux: bench read' "$log" | sed 's/.*bench read //' | mibs)"
  echo "# bench write-guest $(grep -a 'kxen-linux: bench write' "$log" | sed 's/.*bench write //' | mibs)"
  grep -a 'kxen-linux: bench' "$log" | sed 's/^/# /'
  step_shutdown
  r=$(timed_dd if=/dev/vda of=/dev/null iflag=direct) w=$(timed_dd if=/dev/zero of=/dev/vdb oflag=direct)
  echo "# VM: read $r, write $w"
  echo "# bench read-host $(echo "$r" | mibs)"
  echo "# bench write-host $(echo "$w" | mibs)"
}

# step_save (needs disk and net): xl save and xl restore on this host, then xl migrate to a
# second kxen host in this VM (its own run directory; `-s` names a script that plays ssh)
# while the VM pings the guest. The guest's second stage reads back a file written before the
# save and writes a new one every second ("kxen-linux: io N ..."). The steps after this one
# run against the destination, where the guest now lives.
dst=/kxen/dst dst_up= boots_base=0
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
step_save() {
  if [ -z "$dst_up" ] || ! has disk || ! has net; then
    tap 1 "save: needs the second kxen host, a disk and a vif"; return
  fi
  seen "kxen-linux: io " 60; tap $? "save: the guest reads back and writes its disk every second"
  io0=$(io_last "$log"); io0=${io0:-0}
  t=$(date +%s)
  timeout 120 xl save "$G" $KXEN_RUNDIR/$G.save 2>&1 | sed 's/^/# xl save: /'
  [ -s $KXEN_RUNDIR/$G.save ] && ! xl list "$G" >/dev/null 2>&1
  tap $? "save: xl save writes the image (Linux suspends itself) and the domain is gone"
  timeout 120 xl restore $KXEN_RUNDIR/$G.save 2>&1 | sed 's/^/# xl restore: /'
  xl list "$G" >/dev/null 2>&1; tap $? "save: xl restore brings the domain back"
  io_past "$log" "$io0" 90
  tap $? "save: after the restore the file written before the save reads back and new writes work"
  echo "# $G: save + restore took $(($(date +%s) - t)) s, io line $io0 before, $(io_last "$log") after"
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
  timeout 240 xl migrate -s $KXEN_RUNDIR/fakessh "$G" $dst 2>&1 | sed 's/^/# xl migrate: /'
  mt=$(($(date +%s) - t))
  KXEN_RUNDIR=$dst XENSTORED_RUNDIR=$dst xl list "$G" >/dev/null 2>&1 && ! xl list "$G" >/dev/null 2>&1
  moved=$?
  tap $moved "save: xl migrate moves the guest to the second kxen host"
  if [ $moved != 0 ]; then
    # The source resumed its copy (or still has it): the steps after this one run there.
    kill $pp 2>/dev/null; wait $pp 2>/dev/null
    tap 1 "save: after the migration the guest reads its files and writes on"
    tap 1 "save: the VM's ping of the guest goes on after the migration"
    return
  fi
  boots_base=$(count "kxen-linux: root on xvda")
  export KXEN_RUNDIR=$dst XENSTORED_RUNDIR=$dst
  # xenconsoled names a log after the domain's name when it attaches: the receiving side's
  # domain was still "$G--incoming" then.
  log=$dst/console/guest-$G--incoming.log
  [ -f "$log" ] || log=$dst/console/guest-$G.log
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
  echo "# $G: xl migrate took $mt s; ping during it: $got replies, last seq $lastseq, longest gap between replies ${gap:-?} s (1 ping/s)"
  [ "${got:-0}" -gt 0 ] && [ "${lastseq:-0}" -gt $((mt + 1)) ]
  tap $? "save: the VM's ping of the guest goes on after the migration"
}

# run_guest NAME DIR STEPS: one guest, every step it asks for.
run_guest() {
  G=$1 D=$2 steps=$3 dead=0 fails0=$fails
  log=$KXEN_RUNDIR/console/guest-$G.log cfg=$KXEN_RUNDIR/$G.cfg
  echo "# $G: kernel $(cat $D/kver), steps: $steps"
  if has bench; then bench_guest; return; fi
  write_config
  step_boot
  for s in smp mem disk net; do has $s && step_$s; done
  step_ready
  has reboot && step_reboot
  has save && step_save
  step_shutdown
  # A stuck guest does not power off: it goes, so the next steps and guest start clean.
  [ $dead = 0 ] || timeout 30 xl destroy "$G" 2>/dev/null
  has disk && [ -n "$disk" ] && step_fsck
  has destroy && step_destroy
  [ $fails = $fails0 ] || [ $dead = 1 ] || dump
  # A guest that moved to the second host leaves the next guest to the first.
  export KXEN_RUNDIR=/kxen/run XENSTORED_RUNDIR=/kxen/run
  boots_base=0
}
G=kxend
if ! kxend --accel kvm --log-file $KXEN_RUNDIR/kxend.log; then
  tap 1 "kxend starts with --accel kvm"; cat $KXEN_RUNDIR/kxend.log; exit 1
fi
bridge=
if grep -qw net /kxen/linux/steps /kxen/linux/other/steps 2>/dev/null; then
  for m in llc stp bridge tun; do insmod /mod/$m.ko 2>/dev/null; done
  if ip link add kxbr0 type bridge && ip addr add 10.99.0.1/24 dev kxbr0 && ip link set kxbr0 up; then
    bridge=kxbr0
  else
    echo "# cannot make the bridge kxbr0: no network step"
  fi
fi
# The second host (the save step's destination) starts before the guest: guests see their
# host's system time since its kxend started, and Linux's timers would wait out a younger
# host's difference.
case " ${1:-} " in *" save "*)
  mkdir -p $dst
  KXEN_RUNDIR=$dst XENSTORED_RUNDIR=$dst kxend --accel kvm --log-file $dst/kxend.log &&
    KXEN_RUNDIR=$dst XENSTORED_RUNDIR=$dst xl list >/dev/null 2>&1 && dst_up=1 ;;
esac
run_guest linux /kxen/linux "${1:-}"
[ -f /kxen/linux/other/steps ] && run_guest linux-other /kxen/linux/other "$(cat /kxen/linux/other/steps)"
grep -- '-ENOSYS (logged once)' $KXEN_RUNDIR/kxend.log | sed "s/^.*kvm: /# enosys: /"
echo "=== linux rc=$fails"
kill "$(cat $KXEN_RUNDIR/kxend.pid)" 2>/dev/null
[ -n "$dst_up" ] && kill "$(cat $dst/kxend.pid)" 2>/dev/null
exit 0
