#!/bin/sh
# Runs inside the kvm-under-TCG VM (run-vm.sh --hvm), or anywhere kxend runs on kvm: Debian's
# kernel as an HVM guest (`type = "hvm"`) with the files make-hvm-guest.sh made, booted
#   direct: by kxend's direct kernel boot (kernel=, ramdisk=), the ext2 disk as hda;
#   bios:   by SeaBIOS from the syslinux disk (hda), the ext2 disk as hdb.
# Prints one "=== hvm-linux-BOOT-MODE" TAP section from the guest's COM1 (xl console -t
# serial): /init and a shell, the IDE disk mounted and written (ata_piix), the emulated NIC
# (8139too) pinging the host's bridge, the host pinging back, `xl destroy`. The plain direct
# boot (ACPI from kxend's tables) also presses the ACPI power button (acpi_power_checks below):
# `xl shutdown` is refused without PV drivers, `xl shutdown -F` presses the button, the
# guest's /init powers off and Linux reaches S5. With pvhvm the
# same disk image and bridge are reached through the platform device instead: Linux finds
# Xen, unplugs the emulated disk and NIC, and uses xen-blkfront and xen-netfront.
#   vm-hvm.sh MODE BOOT DIR [WAIT]
#     MODE hvm (emulated devices only, xen_platform_pci = 0) | pvhvm (the platform device) |
#          pvh (type = "pvh", the disk as xvda, console hvc0: only with KXEN_HVM_DD)
#     BOOT direct | bios;  DIR holds vmlinuz, initrd-hvm.gz, root.img, boot.img
#     WAIT seconds for the first userspace line (default 240)
# KXEN_HVM_DD=1 (bench/linux/dd.sh): one vCPU, no network, a 16 MiB scratch disk on the VM's
# tmpfs as the second disk (hdb, or xvdb for PVH), which the guest writes and reads whole with
# dd O_DIRECT; "# dd-at" lines give the VM's clock and the vCPU's exit counters at the guest's
# markers, "# dd-cpu" and "# dd-proc" the VM's CPU time then (dd_snap).
# kxend is started when none runs; a bridge kxbr0 at 10.99.0.1/24 is made when the tap and
# bridge modules allow (the guest is 10.99.0.2).
export KXEN_RUNDIR=${KXEN_RUNDIR:-/kxen/run} XENSTORED_RUNDIR=${KXEN_RUNDIR:-/kxen/run} KXEN_ACCEL=kvm
export PATH=/kxen/bin:$PATH
mode=$1 boot=$2 L=$3 wait=${4:-240}
name=$mode$boot
serial=$KXEN_RUNDIR/$name-serial.out
echo "=== hvm-linux-$boot-$mode"
n=0 fails=0
tap() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
# seen PATTERN SECONDS: the guest's COM1 output shows PATTERN within twice SECONDS of the VM's
# clock (the nested guest runs several times slower when the host is loaded: make check at
# load 10+ saw 243 s to the first userspace line). The first line
# that is late dumps the machine's state at once (stall_dump) and makes the later waits fail
# at once (dead=1): a stuck guest leaves its evidence and the VM still reaches its end.
dead=0
seen() {
  [ $dead = 0 ] || return 1
  end=$(($(date +%s) + $2 * 2))
  while [ "$(date +%s)" -lt $end ]; do
    tr -d '\r' 2>/dev/null <"$serial" | grep -q -- "$1" && return 0
    timeout 10 xl list $name >/dev/null 2>&1 || { echo "# $name: gone (or xl list hangs) while waiting for '$1'"; dead=1; stall_dump; return 1; }
    sleep 0.5
  done
  tr -d '\r' 2>/dev/null <"$serial" | grep -q -- "$1" && return 0
  echo "# $name: no '$1' on COM1 within $(($2 * 2)) s"
  dead=1
  stall_dump
  return 1
}
# bounded CMD...: every command of a dump has a time limit (a deadlocked daemon must not stop
# the dump), its output indented as TAP comments.
bounded() { timeout 10 "$@" 2>&1 | sed 's/^/#   /'; }
# stall_dump: what a stuck PV-on-HVM or HVM guest looks like from the VM, read without the
# guest's help: kxend's view of the vCPUs and the per-vCPU upcall state it logs (kxend.log
# "upcall pending"), the exit counters twice (a halted vCPU does not exit), KVM's own trace
# of the vCPU for 3 s (exits with the guest's RIP, MSIs, vectors accepted into the LAPIC's
# IRR, injections, EOIs), every daemon thread (state, wchan, syscall, kernel stack: a
# deadlocked daemon shows its futex waits), the xenstore device states, the console's tail.
stall_dump() {
  id=$(timeout 10 xl domid $name 2>/dev/null)
  echo "# --- stall dump: $name (domain ${id:-?}) $(($(date +%s) - t0)) s after xl create"
  echo "# xl vcpu-list"; bounded xl vcpu-list $name
  echo "# xl vcpu-exits, then again 2 s later"; bounded xl vcpu-exits $name; sleep 2; bounded xl vcpu-exits $name
  stall_dump_kvm_trace
  echo "# daemon threads: name state wchan utime stime | syscall | kernel stack"
  for p in $(cat $KXEN_RUNDIR/*.pid 2>/dev/null); do
    for t in /proc/$p/task/*; do
      echo "#   $(cat $t/comm 2>/dev/null) $(cut -d' ' -f3 $t/stat 2>/dev/null) $(cat $t/wchan 2>/dev/null) $(cut -d' ' -f14,15 $t/stat 2>/dev/null) | $(cat $t/syscall 2>/dev/null)"
      head -4 $t/stack 2>/dev/null | sed 's/^/#       /'
    done
  done
  if [ -n "$id" ]; then
    echo "# xenstore: the guest's devices and their backends"
    timeout 10 xenstore-ls -f /local/domain/$id/device 2>&1 | grep -E '/state =|backend =|event-channel' | sed 's/^/#   /'
    timeout 10 xenstore-ls -f /local/domain/0/backend 2>&1 | grep -E "/$id/[0-9]*/state =" | sed 's/^/#   /'
  fi
  echo "# COM1, the last 25 lines"; tr -d '\r' <"$serial" | tail -25 | sed 's/^/#   /'
  echo "# kxend.log, the last 40 lines"; tail -40 $KXEN_RUNDIR/kxend.log | sed 's/^/#   /'
  echo "# xl dmesg, the last 10 lines"; bounded xl dmesg | tail -10
  echo "# --- end of the stall dump"
}
# KVM's tracepoints in the VM's kernel (tracefs): 3 s of the guest's vCPU as KVM sees it.
stall_dump_kvm_trace() {
  tr=/sys/kernel/tracing
  [ -d $tr/events ] || mount -t tracefs tracefs $tr 2>/dev/null
  if [ ! -d $tr/events/kvm ]; then echo "# (no KVM tracepoints)"; return; fi
  echo 0 >$tr/tracing_on; : >$tr/trace
  for e in kvm_exit kvm_userspace_exit kvm_msi_set_irq kvm_apic_accept_irq kvm_inj_virq kvm_eoi \
           kvm_pic_set_irq kvm_ioapic_set_irq kvm_vcpu_wakeup kvm_apic_ipi kvm_set_irq; do
    [ -f $tr/events/kvm/$e/enable ] && echo 1 >$tr/events/kvm/$e/enable
  done
  echo 1 >$tr/tracing_on; sleep 3; echo 0 >$tr/tracing_on
  echo "# KVM trace, 3 s: events by kind, then the last 30"
  grep -v '^#' $tr/trace | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^kvm_[a-z_]*:$/) { n[$i]++; break } }
    END { for (k in n) printf "#   %s %d\n", k, n[k] }'
  grep -v '^#' $tr/trace | tail -30 | sed 's/^ *//; s/^/#   /'
  echo 0 >$tr/events/kvm/enable 2>/dev/null
}
# The ACPI power button of a guest without PV drivers (on_poweroff = "preserve" keeps the
# domain for the checks; xl destroy follows as for every run).
acpi_power_checks() {
  seen "kxen-hvm: power button /dev/input/event" 5
  tap $? "Linux registers the ACPI power button (button.ko, evdev)"
  xl shutdown $name >/dev/null 2>"$KXEN_RUNDIR/$name-shutdown.err"; r=$?
  grep -q "PV control interface not available" "$KXEN_RUNDIR/$name-shutdown.err" && [ $r != 0 ]
  tap $? "xl shutdown without PV drivers is refused as Xen's xl does (use -F)"
  xl trigger $name sleep 2>"$KXEN_RUNDIR/$name-shutdown.err" && r=1 || r=0
  grep -q "no sleep button" "$KXEN_RUNDIR/$name-shutdown.err" || r=1
  tap $r "xl trigger sleep is refused with the reason (the PC has no sleep button)"
  xl shutdown -F $name 2>"$KXEN_RUNDIR/$name-shutdown.err"
  tap $? "xl shutdown -F sends the ACPI power button event"
  sed 's/^/# /' "$KXEN_RUNDIR/$name-shutdown.err"
  seen "kxen-hvm: power button pressed" 60
  tap $? "the guest's init sees the power button (KEY_POWER) and runs poweroff"
  i=0
  while [ $i -lt 360 ] && ! grep -q "shut down, reason poweroff" "$KXEN_RUNDIR/xl-$name.log" 2>/dev/null; do
    sleep 0.5; i=$((i + 1))
  done
  echo "# poweroff after $((i / 2)) s"
  grep "shut down" "$KXEN_RUNDIR/xl-$name.log" 2>/dev/null | tail -2 | sed 's/^/# /'
  grep -q "shut down, reason poweroff" "$KXEN_RUNDIR/xl-$name.log" 2>/dev/null; r=$?
  tap $r "Linux's poweroff reaches ACPI S5: the domain shuts down with reason poweroff"
  [ $r = 0 ] || { xl list 2>&1 | sed 's/^/# xl list: /'; ls $KXEN_RUNDIR | tr '\n' ' ' | sed 's/^/# rundir: /'; echo
    xl vcpu-exits $name 2>&1 | sed 's/^/# /'; }
}
# dd_snap MODE AT: the VM's clock (/proc/uptime) and the vCPU's exit counters (IO MMIO
# Hypercall Halt Other), the VM's CPU time in ticks (/proc/stat: user nice system idle iowait
# irq softirq steal guest) and the utime, stime and guest time of kxen's daemons by name.
dd_snap() {
  echo "# dd-at $1 $2 $(cut -d' ' -f1 /proc/uptime) $(xl vcpu-exits $name | awk 'NR == 2 { print $4, $5, $6, $7, $8 }')"
  echo "# dd-cpu $1 $2 $(awk '$1 == "cpu" { print $2, $3, $4, $5, $6, $7, $8, $9, $10; exit }' /proc/stat)"
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v m=$1 -v at=$2 '
    { c = $2; gsub(/[()]/, "", c); if (c !~ /^(kxend|kxen-devd|xenstored|xenconsoled|xl)$/) c = "other"
      u[c] += $14; s[c] += $15; g[c] += $43 }
    END { for (c in u) print "# dd-proc", m, at, c, u[c], s[c], g[c] }'
}
dump() {
  echo "# --- COM1 (without the ticks)"
  tr -d '\r' <"$serial" | grep -av 'kxen-hvm: tick' | head -${KXEN_DBG_LINES:-150} | sed 's/^/# /'
  echo "# --- xl dmesg (last 15 lines)"; timeout 10 xl dmesg 2>/dev/null | tail -15 | sed 's/^/# /'
  echo "# --- kxend.log"; grep -E ' (err|warn): ' $KXEN_RUNDIR/kxend.log | tail -15 | sed 's/^/# /'
}
# check_vcpus: the guest brought up all its vCPUs (the MP table, INIT/SIPI), kxend counts
# them online, and the last one's own Xen timer ticks (its VIRQ upcalls reach its LAPIC).
check_vcpus() {
  seen "kxen-hvm: init, .*, $vcpus cpu(s)" 1; tap $? "Linux brings up its $vcpus vCPUs (INIT/SIPI)"
  bounded xl vcpu-list $name
  [ "$(timeout 10 xl vcpu-list $name 2>/dev/null | awk 'NR > 1 && $5 != "---"' | wc -l)" -eq $vcpus ]
  tap $? "xl vcpu-list shows $vcpus vCPUs online"
  last=$((vcpus - 1))
  tr -d '\r' <"$serial" | grep -a 'kxen-hvm: irq ' | sed 's/^/# /'
  ticks=$(tr -d '\r' <"$serial" | grep -a "kxen-hvm: irq .* timer$last\$" | head -1 | awk -v c=$last '{ print $(4 + c) }')
  [ "${ticks:-0}" -gt 0 ] 2>/dev/null; tap $? "vCPU $last counts its own Xen timer interrupts (timer$last: ${ticks:-none})"
}
# intx_run (BOOT intx, by hand: KXEN_HVM_STEPS="direct pvhvm intx"): a PV-on-HVM boot with
# xen_no_vector_callback (one vCPU, no vif):
# Linux then sets no upcall vector and takes its events through the platform device's PCI
# interrupt (HVM_PARAM_CALLBACK_IRQ in GSI or INTx form), which kxend raises while vCPU 0's
# upcall is pending. Checked up to the PV disk, and the interrupt's count.
intx_run() {
  name=pvhvmintx serial=$KXEN_RUNDIR/pvhvmintx-serial.out dead=0
  cfg=$KXEN_RUNDIR/$name.cfg
  {
    echo "name = \"$name\""; echo 'type = "hvm"'; echo 'memory = 192'; echo 'serial = "pty"'
    echo 'xen_platform_pci = 1'; echo 'on_reboot = "destroy"'; echo 'vcpus = 1'
    echo "kernel = \"$L/vmlinuz\""; echo "ramdisk = \"$L/initrd-hvm.gz\""
    echo 'cmdline = "console=ttyS0 panic=-1 loglevel=1 xen_no_vector_callback"'
    echo "disk = [ '$L/root.img,raw,hda,rw' ]"
  } >"$cfg"
  t0=$(date +%s)
  timeout 60 xl create -q "$cfg"; tap $? "xen_no_vector_callback: xl create $name.cfg"
  xl console -t serial $name </dev/null >"$serial" 2>&1 &
  ipid=$!
  seen "kxen-hvm: disk xvda made on the host" $wait
  tap $? "xen_no_vector_callback: xen-blkfront mounts xvda, its events through the platform device's interrupt"
  seen "kxen-hvm: ready" 30
  line=$(tr -d '\r' <"$serial" | grep -a 'kxen-hvm: irq .*xen-platform-pci' | head -1)
  echo "# ${line:-no xen-platform-pci line in /proc/interrupts}"
  [ "$(echo "$line" | awk '{ print $4 }')" -gt 0 ] 2>/dev/null
  tap $? "xen_no_vector_callback: the xen-platform-pci interrupt counts the upcalls"
  grep -a 'kxen-hvm: dmesg: .*\(callback\|platform\)' "$serial" | head -3 | sed 's/^/# /'
  timeout 30 xl destroy $name; tap $? "xen_no_vector_callback: xl destroy $name"
  kill $ipid 2>/dev/null
}
if [ ! -S $KXEN_RUNDIR/kxend.sock ] && ! kxend --accel kvm --log-file $KXEN_RUNDIR/kxend.log; then
  tap 1 "kxend starts with --accel kvm"; echo "=== hvm-linux-$boot-$mode rc=1"; exit 1
fi
# COM1 is a pty.
mkdir -p /dev/pts && mount -t devpts -o ptmxmode=0666 devpts /dev/pts 2>/dev/null
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
net=
if [ -n "${KXEN_HVM_DD:-}" ]; then
  :
elif [ -d /sys/class/net/kxbr0 ] || { for m in llc stp bridge tun; do insmod /mod/$m.ko 2>/dev/null; done
     ip link add kxbr0 type bridge && ip addr add 10.99.0.1/24 dev kxbr0 && ip link set kxbr0 up; }; then
  net=1
else
  echo "# cannot make the bridge kxbr0: no network checks"
fi
if [ "$boot" = intx ]; then
  intx_run
  [ $fails = 0 ] || dump
  echo "=== hvm-linux-$boot-$mode rc=$fails"
  exit 0
fi
# PV-on-HVM with several vCPUs (check_vcpus: per-vCPU vcpu_info, upcall vectors, VIRQs and
# event-channel IPIs) needs a table that lists them: the direct boot writes none yet (an MP
# table without an I/O APIC makes 64-bit Linux mask the 8259s' ExtINT; ACPI's MADT does not),
# so the count comes from DIR/hvm-vcpus, 1 when that file is absent.
platform=0 vcpus=1
[ "$mode" = pvhvm ] && platform=1 vcpus=$(cat "$L/hvm-vcpus" 2>/dev/null || echo 1)
# dd: the same one vCPU and the same scratch image on every path (the VM's root is tmpfs).
scratch=
if [ -n "${KXEN_HVM_DD:-}" ]; then
  vcpus=1 scratch=$KXEN_RUNDIR/dd-scratch.img
  [ -f "$scratch" ] || busybox dd if=/dev/zero of="$scratch" bs=1048576 count=16 2>/dev/null
fi
# loglevel=1: every COM1 byte is an exit to kxend, slow in the nested VM; /init prints the
# kernel lines the checks need from dmesg.
cmdline="console=ttyS0 panic=-1 loglevel=1${net:+ kxen_net}${KXEN_HVM_DD:+ kxen_dd}"
[ "$mode" = pvh ] && cmdline="console=hvc0 panic=-1 loglevel=1 kxen_dd"
cfg=$KXEN_RUNDIR/$name.cfg
{
  echo "name = \"$name\""; echo 'memory = 192'; echo 'on_reboot = "destroy"'; echo "vcpus = $vcpus"
  [ "$mode$boot" = hvmdirect ] && echo 'on_poweroff = "preserve"'
  if [ "$mode" = pvh ]; then
    echo 'type = "pvh"'; echo "kernel = \"$L/vmlinuz\""; echo "ramdisk = \"$L/initrd-hvm.gz\""
    echo "cmdline = \"$cmdline\""; echo "disk = [ '$L/root.img,raw,xvda,rw'${scratch:+, '$scratch,raw,xvdb,rw'} ]"
  elif [ "$boot" = direct ]; then
    echo 'type = "hvm"'; echo 'serial = "pty"'; echo "xen_platform_pci = $platform"
    echo "kernel = \"$L/vmlinuz\""; echo "ramdisk = \"$L/initrd-hvm.gz\""
    echo "cmdline = \"$cmdline\""
    echo "disk = [ '$L/root.img,raw,hda,rw'${scratch:+, '$scratch,raw,hdb,rw'} ]"
  else
    echo 'type = "hvm"'; echo 'serial = "pty"'; echo "xen_platform_pci = $platform"
    echo 'boot = "c"'
    echo "disk = [ '$L/boot.img,raw,hda,rw', '$L/root.img,raw,hdb,rw' ]"
  fi
  # PV-on-HVM: the emulated NIC (which Linux unplugs) and a PV vif on the same bridge.
  if [ -n "$net" ] && [ "$mode" = pvhvm ]; then echo "vif = [ 'type=ioemu,bridge=kxbr0', 'bridge=kxbr0' ]"
  elif [ -n "$net" ]; then echo "vif = [ 'type=ioemu,bridge=kxbr0' ]"; fi
} >"$cfg"
t0=$(date +%s)
timeout 60 xl create -q "$cfg"; created=$?
tap $created "xl create $name.cfg (type hvm, $boot boot, $mode)"
cpid=
if [ "$mode" = pvh ]; then serial=$KXEN_RUNDIR/console/guest-$name.log # xenconsoled's log of hvc0
else xl console -t serial $name </dev/null >"$serial" 2>&1 & cpid=$!; fi
[ $created = 0 ] || seen() { return 1; }
if [ "$boot" = bios ]; then
  seen "Loading initrd.gz...ok" "$wait"
  tap $? "SeaBIOS boots syslinux from the IDE disk, which loads Linux and its initrd"
fi
seen "kxen-hvm: shell up" "$wait"; up=$?
tap $up "Linux runs /init and a shell on COM1 (xl console -t serial)"
echo "# first userspace line after $(($(date +%s) - t0)) s"
[ $up = 0 ] || { dump; seen() { return 1; }; }
if [ "$mode" = pvh ]; then
  disk=xvda what="xen-blkfront (PVH)"
elif [ "$mode" = pvhvm ]; then
  seen "Hypervisor detected: Xen HVM" 120; tap $? "Linux finds Xen (CPUID 0x40000000) and runs as a PV-on-HVM guest"
  timeout 10 xl dmesg | grep "(d$(timeout 10 xl domid $name 2>/dev/null))" | head -5 | sed 's/^/# /'
  grep -E "hypercall instruction|platform" $KXEN_RUNDIR/kxend.log | tail -4 | sed 's/^.*\] //; s/^/# /'
  seen "unplug emulated disks" 5; tap $? "Linux unplugs the emulated disks and NICs (ports 0x10/0x12)"
  disk=xvda nic=vif what="xen-blkfront" nwhat="xen-netfront"
else
  disk=sda nic=8139too what="ata_piix" nwhat="the emulated RTL8139 (8139too)"
fi
[ "$boot" = bios ] && disk=${disk%a}b
seen "kxen-hvm: disk $disk made on the host" 60
tap $? "the guest mounts its disk ($disk, $what) and reads the host's file"
if [ -n "${KXEN_HVM_DD:-}" ]; then
  # The guest's phase lines are read from its console log as they arrive by the shell's own
  # read, and a 0.1 s pause is a read with a time limit on a FIFO nobody writes: no process is
  # started while the guest runs (a fork costs milliseconds of the VM's one CPU under TCG), so
  # the wait stays out of the figures. A reading is within about 0.1 s of its line.
  busybox mkfifo $KXEN_RUNDIR/dd-pause 2>/dev/null
  exec 3<"$serial" 4<>$KXEN_RUNDIR/dd-pause
  part= polls=0 gone=
  for at in idle wgo wend rgo rend; do
    while [ -z "$gone" ] && [ $polls -lt 18000 ]; do
      if IFS= read -r l <&3; then
        l=$part$l part=
        case $l in *"kxen-hvm: dd $at"*) break ;; *"kxen-hvm: dd no scratch"*) gone=1 ;; esac
      else
        part=$part$l polls=$((polls + 1))
        read -t 0.1 l <&4
      fi
    done
    dd_snap $mode $at
  done
  exec 3<&- 4<&-
  seen "kxen-hvm: dd rend" 1; tap $? "dd writes and reads the whole scratch disk with O_DIRECT"
  tr -d '\r' <"$serial" | grep -a "kxen-hvm: dd [wr]end" | sed "s/^.*kxen-hvm: dd \([wr]\)end/# dd-time $mode \1/"
fi
if [ -n "$net" ]; then
  seen "kxen-hvm: nic eth0 driver $nic" 5; tap $? "eth0 is $nwhat"
  seen "kxen-hvm: ping ok" 60; tap $? "the guest pings the host over kxbr0"
  ping -c 2 -W 5 10.99.0.2 >/dev/null 2>&1; tap $? "the host pings the guest"
fi
seen "kxen-hvm: ready" 30; tap $? "the guest's init reaches its end"
[ $vcpus = 1 ] || check_vcpus
[ "$mode$boot" = hvmdirect ] && acpi_power_checks
timeout 30 xl destroy $name; tap $? "xl destroy $name"
timeout 10 xl list $name >/dev/null 2>&1 && r=1 || r=0
tap $r "no domain is left"
kill $cpid 2>/dev/null
if command -v debugfs >/dev/null; then
  got=$(debugfs -R 'cat /from-guest.txt' $L/root.img 2>/dev/null)
  echo "# from-guest.txt in the image: $got"
  case $got in "written by Linux "*) r=0 ;; *) r=1 ;; esac
  tap $r "after the guest is gone, the file it wrote is in the IDE disk image (debugfs)"
fi
[ $fails = 0 ] || dump
echo "=== hvm-linux-$boot-$mode rc=$fails"
exit 0
