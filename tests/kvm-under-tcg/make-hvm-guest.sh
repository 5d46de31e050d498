#!/usr/bin/env bash
# Makes what the L2 Linux HVM guest of the kvm-under-TCG VM boots from, in DIR, on top of
# make-linux-guest.sh's files (vmlinuz, initrd.gz, root.img: called first, unchanged):
#   initrd-hvm.gz  initrd.gz followed by a second cpio archive (Linux unpacks both, the later
#                  one winning) with the emulated PC's drivers (ata_piix, sd_mod, 8139too and
#                  what they need) and an /init that mounts the IDE disk and pings over the
#                  emulated NIC, printing "kxen-hvm: ..." lines on the console (ttyS0)
#   boot.img       (when syslinux and mtools are installed) a FAT disk that SeaBIOS boots:
#                  syslinux's boot sector and loader, vmlinuz, initrd-hvm.gz, syslinux.cfg
#                  with the command line in CMDLINE
#   dd-cmdline     $KXEN_HVM_DD_CMDLINE: words vm-hvm.sh adds to the guest's command line in
#                  bench/linux/dd.sh's runs (such as a module's MODULE.PARAM=VALUE)
#   make-hvm-guest.sh DIR KERNEL [CMDLINE]
set -euo pipefail
dir=$1 kernel=$2 cmdline=${3:-console=ttyS0 panic=-1}
here=$(cd "$(dirname "$0")" && pwd)
"$here/make-linux-guest.sh" "$dir" "$kernel"
kver=${kernel#/boot/vmlinuz-}
r=$(mktemp -d /tmp/kxen-l2hvm-XXXXXX)
trap 'rm -rf "$r"' EXIT
mkdir -p "$r/mod-hvm"
# Load order: dependencies first (modules.dep of Debian's 6.1 and 6.12).
m=/lib/modules/$kver/kernel
for ko in drivers/scsi/scsi_common drivers/scsi/scsi_mod drivers/ata/libata drivers/ata/ata_piix \
          crypto/crct10dif_common lib/crc-t10dif lib/crc64 lib/crc64-rocksoft block/t10-pi \
          drivers/scsi/sd_mod drivers/net/mii drivers/net/ethernet/realtek/8139too \
          drivers/input/evdev drivers/acpi/button; do
  b=$(basename $ko)
  if [ -f "$m/$ko.ko.xz" ]; then xz -dc "$m/$ko.ko.xz" > "$r/mod-hvm/$b.ko"
  elif [ -f "$m/$ko.ko" ]; then cp "$m/$ko.ko" "$r/mod-hvm/"; else continue; fi
  echo "$b" >> "$r/mod-hvm/order"
done
cat > "$r/init" <<'INIT'
#!/bin/sh
# The HVM guest's init: the emulated disk and NIC, or (PV-on-HVM) whatever Linux bound.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "kxen-hvm: init, kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpu(s)"
sh -c 'echo "kxen-hvm: shell up"'
# A module's parameters may be given on the kernel's command line as MODULE.PARAM=VALUE ('_'
# for '-'), as modprobe passes them: insmod does not read the command line.
mod_args() { for w in $(cat /proc/cmdline); do case $w in "${1//-/_}".*=*) echo "${w#*.}" ;; esac; done; }
for m in $(cat /mod-hvm/order /mod/order); do
  a=$(mod_args $m)
  insmod /mod-hvm/$m.ko $a 2>/dev/null || insmod /mod/$m.ko $a 2>/dev/null
done
# The ext2 disk is the first that mounts as ext2 and holds the host's hello.txt, tried in the
# order kxen_root=DEV[,DEV] names, then sda sdb xvda xvdb. Not by name alone: Linux names SCSI
# disks in the order their probes end, so with two IDE disks (a scratch disk, SeaBIOS's boot
# disk) hda can become sdb, and the other disk must never be taken for the root.
want=$(sed -n 's/.*kxen_root=\([a-z0-9,]*\).*/\1/p' /proc/cmdline | tr , ' ')
dev=
for i in $(seq 1 20); do
  for b in $want sda sdb xvda xvdb; do
    [ -b /dev/$b ] && mount -t ext2 /dev/$b /mnt 2>/dev/null || continue
    [ -f /mnt/hello.txt ] && dev=$b && break 2
    umount /mnt
  done
  sleep 1
done
if [ -n "$dev" ]; then
  echo "written by Linux $(uname -r) on $dev" > /mnt/from-guest.txt
  sync
  echo "kxen-hvm: disk $dev $(cat /mnt/hello.txt)"
  umount /mnt
else
  echo "kxen-hvm: no disk"
fi
# kxen_dd (bench/linux/dd.sh): the scratch disk (the other IDE disk, or xvdb under
# xen-blkfront; never the ext2 disk) written whole 4 times, then read whole 4 times, with
# O_DIRECT in 1 MiB blocks.
# Each phase lies between two lines ("dd wgo"/"dd wend", "dd rgo"/"dd rend") at which the host
# reads its clock and the vCPU's exit counters; a quiet spell after "dd idle" gives the idle
# rate, and one second of quiet parts the phases. The guest's own /proc/uptime is printed too
# (an HVM guest's clock may be calibrated wrong under nested TCG). The lines go through the
# kernel's console (/dev/kmsg at level 0, written out at once by polling the UART): a shell's
# echo goes through the tty's transmit interrupt, and under PV-on-HVM those lines reached the
# host in bursts, seconds late.
mark() { echo "<0>kxen-hvm: dd $*" >/dev/kmsg; }
# ios R|W: the requests the disk completed so far in that direction (/sys/block/DEV/stat).
ios() { d=$1; set -- $(cat /sys/block/$s/stat); if [ $d = R ]; then echo $1; else echo $5; fi; }
if grep -q kxen_dd /proc/cmdline && [ -n "$dev" ]; then
  s=
  for i in $(seq 1 20); do
    for b in sda sdb xvdb; do [ $b != "$dev" ] && [ -b /dev/$b ] && s=$b && break 2; done
    sleep 1
  done
  if [ -n "$s" ]; then
    mib=$(($(cat /sys/block/$s/size) / 2048))
    mark idle; sleep 4
    n0=$(ios W); mark wgo
    t0=$(cut -d' ' -f1 /proc/uptime)
    for i in 1 2 3 4; do dd if=/dev/zero of=/dev/$s bs=1M count=$mib oflag=direct 2>/dev/null; done
    t1=$(cut -d' ' -f1 /proc/uptime)
    mark wend $s $((4 * mib)) MiB $t0 $t1 $(($(ios W) - n0)) requests; sleep 1
    n0=$(ios R); mark rgo
    t0=$(cut -d' ' -f1 /proc/uptime)
    for i in 1 2 3 4; do dd if=/dev/$s of=/dev/null bs=1M count=$mib iflag=direct 2>/dev/null; done
    t1=$(cut -d' ' -f1 /proc/uptime)
    mark rend $s $((4 * mib)) MiB $t0 $t1 $(($(ios R) - n0)) requests; sleep 1
  else
    mark no scratch disk
  fi
fi
for n in /sys/class/net/eth*; do
  [ -e "$n/device/driver" ] && echo "kxen-hvm: nic ${n##*/} driver $(basename "$(readlink "$n/device/driver")")"
done
if grep -q kxen_net /proc/cmdline; then
  ip link set eth0 up && ip addr add 10.99.0.2/24 dev eth0 &&
    ping -c 2 -W 5 10.99.0.1 >/dev/null && echo "kxen-hvm: ping ok" || echo "kxen-hvm: ping failed"
fi
# kxen_netbench (bench/linux/net.sh): TCP over eth0 to and from the VM (10.99.0.1) with busybox
# nc running dd on the connection (`nc -e dd`: dd's 64 KiB writes and reads go to the socket
# itself; nc's own copy loop writes 1 KiB at a time), then the VM's pings. Each phase lies between two lines at which the VM reads its clock,
# the vCPU's exit counters and its CPU time: "net tgo"/"net tend" the guest sends, "net rgo"/
# "net rend" it receives, and from "net pgo" the VM pings it, then connects to its port 5003
# to let it go on. A quiet spell of 10 s from "net idle", after the transfers and before the
# pings (the guest is still settling after its boot before the transfers), gives the idle
# rate (the VM reads its figures at the line and 6 s later, so that no console output falls
# in between). Each
# line (through /dev/kmsg, as dd's) carries the phase's 64 KiB blocks, the guest's clock and
# eth0's counters: packets received and sent, bytes received and sent, its interrupts
# (8139too's "eth0", netfront's "vifN-qM-tx" and "-rx"). The blocks are chosen from a 2 MiB
# probe each way so that a phase lasts about kxen_netsecs (default 12) seconds of the guest's
# clock. The VM's nc listens on 5000 and 5001 (sinks) and 5010 and 5002 (sources of zeros,
# read for as long as the guest's dd takes). A send ends when the VM's nc has had all of it
# (it closes, and this end of the connection is in TIME_WAIT), not when dd has handed the
# last block to the socket.
if grep -q kxen_netbench /proc/cmdline; then
  up() { cut -d' ' -f1 /proc/uptime; }
  nstat() {
    q=/sys/class/net/eth0/statistics
    echo $(cat $q/rx_packets $q/tx_packets $q/rx_bytes $q/tx_bytes 2>/dev/null) $(awk '/ (eth0|vif[0-9]+-q[0-9]+(-[rt]x)?) *$/ {
      for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }' /proc/interrupts)
  }
  nmark() { echo "<0>kxen-hvm: net $1 ${2:-0} $(up) $(nstat)" >/dev/kmsg; }
  secs=$(sed -n 's/.*kxen_netsecs=\([0-9]*\).*/\1/p' /proc/cmdline)
  blocks() {
    awk -v a=$1 -v b=$(up) -v s=${secs:-12} 'BEGIN { t = b - a; n = t > 0 ? int(32 * s / t) : 16384
      print (n < 32 ? 32 : (n > 16384 ? 16384 : n)) }'
  }
  # nc's standard input: a FIFO it holds open itself, so it never ends. A busybox nc whose
  # input ends shuts its sending side down, and the nc at the other end then quits. A read
  # with a time limit on it is a pause that starts no process.
  mkfifo /nc-hold
  # drained PORT: the VM's nc on PORT has read everything and closed (within 60 s).
  drained() {
    h=$(printf '0100630A:%04X 06' $1)
    for i in $(seq 1 1200); do
      while read -r l; do case $l in *" $h "*) return 0 ;; esac; done </proc/net/tcp
      read -t 0.05 l <>/nc-hold
    done
    return 1
  }
  # What the kernel reads its clock from (without a PV clock, the PM timer's port, an exit).
  echo "kxen-hvm: net clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
  if [ -e /sys/class/net/eth0 ]; then
    # A probe that cannot reach the VM leaves the phases at their smallest (2 MiB).
    nt=32 nr=32 t=$(up)
    if nc 10.99.0.1 5000 -e dd if=/dev/zero bs=64k count=32 2>/dev/null && drained 5000; then
      nt=$(blocks $t) t=$(up)
      nc 10.99.0.1 5010 -e dd of=/dev/null bs=64k count=32 iflag=fullblock 2>/dev/null
      nr=$(blocks $t)
    fi
    sleep 1
    nmark tgo $nt
    nc 10.99.0.1 5001 -e dd if=/dev/zero bs=64k count=$nt 2>/dev/null && drained 5001
    nmark tend $nt; sleep 1
    nmark rgo $nr
    nc 10.99.0.1 5002 -e dd of=/dev/null bs=64k count=$nr iflag=fullblock 2>/dev/null
    nmark rend $nr; sleep 1
    nmark idle; sleep 10; nmark iend
    timeout 900 nc -l -p 5003 <>/nc-hold >/dev/null &
    p=$!; sleep 1
    nmark pgo; wait $p; nmark pdone
  else
    nmark none
  fi
fi
# The ACPI power button (kxend's tables, xl trigger DOM power): its first input event powers
# the machine off: /sbin/poweroff (busybox poweroff -f; Linux writes SLP_TYP|SLP_EN, ACPI S5).
# By path: busybox's sh prefers its own applet, whose poweroff without -f only signals init
# (this shell, which ignores it). The kernel's shutdown lines reach COM1 (loglevel=1 hid them).
for e in /sys/class/input/event*; do
  [ "$(cat $e/device/name 2>/dev/null)" = "Power Button" ] && pwr=/dev/input/${e##*/}
done
if [ -n "$pwr" ]; then
  echo "kxen-hvm: power button $pwr"
  (dd if=$pwr of=/dev/null bs=24 count=1 2>/dev/null; echo "kxen-hvm: power button pressed"
   echo 6 >/proc/sys/kernel/printk; /sbin/poweroff) &
fi
# The ACPI tables as Linux found them: where the RSDP was, the PM states, any table warning.
dmesg | grep -E 'ACPI: (RSDP|PM:)|ACPI BIOS (Warning|Error)' | sed 's/^/kxen-hvm: acpi: /'
# The kernel's lines that say which platform and drivers it found (the console has loglevel=1).
dmesg | grep -E 'Hypervisor detected|unplug|Xen|xen|ata[0-9]|scsi|sd [0-9]|8139|eth0|vif|blkfront|xvd|IRQ|irq|ACPI: (PM|Interpreter|Using)|Power Button|PCI0' |
  grep -v 'random' | head -40 | sed 's/^/kxen-hvm: dmesg: /'
# Per-CPU interrupts (PV-on-HVM: each vCPU's Xen timer VIRQ "timerN", the event-channel IPIs,
# and the platform device's interrupt when the events come through it): a second vCPU whose
# upcalls work counts its own timer.
grep -E ' timer[0-9]+$|resched|callfunc|xen-platform-pci' /proc/interrupts | sed 's/^ */kxen-hvm: irq /'
echo "kxen-hvm: ready"
# kxen_save (vm-hvm.sh's save checks): instead of the ticks, a loop the host saves, restores
# and migrates under: each second it drops the page cache and reads back a file written
# before the first save (through the disk driver), writes its count and syncs, and with
# kxen_net pings the host once; one "kxen-hvm: io N read ... write ... net ..." line each.
if grep -q kxen_save /proc/cmdline && [ -n "$dev" ] && mount -t ext2 /dev/$dev /mnt; then
  echo before-the-save >/mnt/before-save.txt && sync
  i=0
  while :; do
    i=$((i + 1))
    echo 3 >/proc/sys/vm/drop_caches
    b=$(cat /mnt/before-save.txt 2>/dev/null)
    echo "$i" >/mnt/io.txt && sync && w=ok || w=failed
    p=none
    if grep -q kxen_net /proc/cmdline; then ping -c 1 -W 2 10.99.0.1 >/dev/null 2>&1 && p=ok || p=failed; fi
    echo "kxen-hvm: io $i read ${b:-nothing} write $w net $p"
    sleep 1
  done
fi
while :; do sleep 10; echo "kxen-hvm: tick $(cat /proc/uptime)"; done
INIT
chmod +x "$r/init"
# The first archive has /bin/busybox; these applets join its links.
mkdir -p "$r/bin"
for a in seq readlink basename sed nc mkfifo timeout; do ln -s busybox "$r/bin/$a"; done
cp "$dir/initrd.gz" "$dir/initrd-hvm.gz"
echo "${KXEN_HVM_DD_CMDLINE:-}" >"$dir/dd-cmdline"
(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) >> "$dir/initrd-hvm.gz"
# The BIOS boot disk: FAT without a partition table (syslinux's boot sector is the disk's
# first sector), written with mtools so no mount is needed.
if command -v syslinux >/dev/null && command -v mcopy >/dev/null && command -v mkfs.vfat >/dev/null; then
  rm -f "$dir/boot.img"
  size_kb=$(( ($(stat -c %s "$dir/vmlinuz") + $(stat -c %s "$dir/initrd-hvm.gz")) / 1024 + 2048 ))
  mkfs.vfat -C -n KXENBOOT "$dir/boot.img" $size_kb >/dev/null
  printf 'DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nSERIAL 0 115200\nLABEL linux\n  KERNEL vmlinuz\n  INITRD initrd.gz\n  APPEND %s\n' \
    "$cmdline" > "$r/syslinux.cfg"
  mcopy -i "$dir/boot.img" "$dir/vmlinuz" ::vmlinuz
  mcopy -i "$dir/boot.img" "$dir/initrd-hvm.gz" ::initrd.gz
  mcopy -i "$dir/boot.img" "$r/syslinux.cfg" ::syslinux.cfg
  syslinux --install "$dir/boot.img"
fi
