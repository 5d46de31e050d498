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
#     MODE hvm (emulated devices only, xen_platform_pci = 0) | pvhvm (the platform device)
#     BOOT direct | bios;  DIR holds vmlinuz, initrd-hvm.gz, root.img, boot.img
#     WAIT seconds for the first userspace line (default 240)
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
# seen PATTERN SECONDS: the guest's COM1 output shows PATTERN within SECONDS.
seen() {
  i=0
  while [ $i -lt $(($2 * 2)) ]; do
    tr -d '\r' 2>/dev/null <"$serial" | grep -q -- "$1" && return 0
    xl list $name >/dev/null 2>&1 || return 1
    sleep 0.5; i=$((i + 1))
  done
  return 1
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
dump() {
  echo "# --- COM1 (without the ticks)"
  tr -d '\r' <"$serial" | grep -av 'kxen-hvm: tick' | head -${KXEN_DBG_LINES:-150} | sed 's/^/# /'
  echo "# --- xl dmesg (last 15 lines)"; xl dmesg 2>/dev/null | tail -15 | sed 's/^/# /'
  echo "# --- kxend.log"; grep -E ' (err|warn): ' $KXEN_RUNDIR/kxend.log | tail -15 | sed 's/^/# /'
}
if [ ! -S $KXEN_RUNDIR/kxend.sock ] && ! kxend --accel kvm --log-file $KXEN_RUNDIR/kxend.log; then
  tap 1 "kxend starts with --accel kvm"; echo "=== hvm-linux-$boot-$mode rc=1"; exit 1
fi
# COM1 is a pty.
mkdir -p /dev/pts && mount -t devpts -o ptmxmode=0666 devpts /dev/pts 2>/dev/null
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
net=
if [ -d /sys/class/net/kxbr0 ] || { for m in llc stp bridge tun; do insmod /mod/$m.ko 2>/dev/null; done
     ip link add kxbr0 type bridge && ip addr add 10.99.0.1/24 dev kxbr0 && ip link set kxbr0 up; }; then
  net=1
else
  echo "# cannot make the bridge kxbr0: no network checks"
fi
platform=0; [ "$mode" = pvhvm ] && platform=1
# loglevel=1: every COM1 byte is an exit to kxend, slow in the nested VM; /init prints the
# kernel lines the checks need from dmesg.
cmdline="console=ttyS0 panic=-1 loglevel=1${net:+ kxen_net}"
cfg=$KXEN_RUNDIR/$name.cfg
{
  echo "name = \"$name\""; echo 'type = "hvm"'; echo 'memory = 192'; echo 'serial = "pty"'
  echo "xen_platform_pci = $platform"; echo 'on_reboot = "destroy"'
  [ "$mode$boot" = hvmdirect ] && echo 'on_poweroff = "preserve"'
  if [ "$boot" = direct ]; then
    echo "kernel = \"$L/vmlinuz\""; echo "ramdisk = \"$L/initrd-hvm.gz\""
    echo "cmdline = \"$cmdline\""
    echo "disk = [ '$L/root.img,raw,hda,rw' ]"
  else
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
xl console -t serial $name </dev/null >"$serial" 2>&1 &
cpid=$!
[ $created = 0 ] || seen() { return 1; }
if [ "$boot" = bios ]; then
  seen "Loading initrd.gz...ok" "$wait"
  tap $? "SeaBIOS boots syslinux from the IDE disk, which loads Linux and its initrd"
fi
seen "kxen-hvm: shell up" "$wait"; up=$?
tap $up "Linux runs /init and a shell on COM1 (xl console -t serial)"
echo "# first userspace line after $(($(date +%s) - t0)) s"
[ $up = 0 ] || { dump; seen() { return 1; }; }
if [ "$mode" = pvhvm ]; then
  seen "Hypervisor detected: Xen HVM" 120; tap $? "Linux finds Xen (CPUID 0x40000000) and runs as a PV-on-HVM guest"
  xl dmesg | grep "(d$(xl domid $name 2>/dev/null))" | head -5 | sed 's/^/# /'
  grep -E "hypercall instruction|platform" $KXEN_RUNDIR/kxend.log | tail -4 | sed 's/^.*\] //; s/^/# /'
  seen "unplug emulated disks" 5; tap $? "Linux unplugs the emulated disks and NICs (ports 0x10/0x12)"
  disk=xvda nic=vif what="xen-blkfront" nwhat="xen-netfront"
else
  disk=sda nic=8139too what="ata_piix" nwhat="the emulated RTL8139 (8139too)"
fi
[ "$boot" = bios ] && disk=${disk%a}b
seen "kxen-hvm: disk $disk made on the host" 60
tap $? "the guest mounts its disk ($disk, $what) and reads the host's file"
if [ -n "$net" ]; then
  seen "kxen-hvm: nic eth0 driver $nic" 5; tap $? "eth0 is $nwhat"
  seen "kxen-hvm: ping ok" 60; tap $? "the guest pings the host over kxbr0"
  ping -c 2 -W 5 10.99.0.2 >/dev/null 2>&1; tap $? "the host pings the guest"
fi
seen "kxen-hvm: ready" 30; tap $? "the guest's init reaches its end"
[ "$mode$boot" = hvmdirect ] && acpi_power_checks
timeout 30 xl destroy $name; tap $? "xl destroy $name"
xl list $name >/dev/null 2>&1 && r=1 || r=0
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
