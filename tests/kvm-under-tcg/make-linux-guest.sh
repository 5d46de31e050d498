#!/usr/bin/env bash
# Makes what the L2 Linux guest of the kvm-under-tcg VM boots from, in DIR:
#   vmlinuz      the kernel (Debian's own bzImage, unmodified)
#   initrd.gz    a busybox-static initramfs: its /init prints marker lines on the console
#                (hvc0), loads the PV front ends, and with `kxen_disk` on the command line
#                mounts /dev/xvda and switch_roots onto it; without a disk it runs the same
#                second stage from the ramdisk
#   root.img     an ext2 image (mke2fs -d) for disk = [...,xvda,...]: busybox, the second stage
#                as /init, a file made on the host
#   make-linux-guest.sh DIR KERNEL
# The second stage counts its boots on the disk and writes from-guest.txt, so the host can
# check with debugfs after the guest is gone that a reboot came up again on the same root. It
# remounts the root read-only before powering off or rebooting (the file system stays clean for
# e2fsck -fn): Linux runs /sbin/poweroff for control/shutdown "poweroff", and for "reboot"
# signals init (SIGINT) once init has turned ctrl-alt-del off.
set -euo pipefail
dir=$1 kernel=$2
kver=${kernel#/boot/vmlinuz-}
busybox=$(command -v busybox)
cp "$kernel" "$dir/vmlinuz"
echo "$kver" >"$dir/kver"
r=$(mktemp -d /tmp/kxen-l2-XXXXXX)
trap 'rm -rf "$r"' EXIT
# populate ROOT: busybox, its applets, the stop scripts and the second stage (/stage2).
populate() {
  mkdir -p "$1"/{bin,sbin,proc,sys,dev,mnt,mod}
  cp "$busybox" "$1/bin/busybox"
  for a in sh mount umount insmod cat grep echo sleep sync ls ip ping uname mkdir tr awk \
           switch_root kill dd cut; do
    ln -s busybox "$1/bin/$a"
  done
  for s in poweroff reboot; do
    printf '#!/bin/sh\nsync\nmount -o remount,ro / 2>/dev/null\nexec /bin/busybox %s -f\n' $s >"$1/sbin/$s"
    chmod +x "$1/sbin/$s"
  done
  cat >"$1/stage2" <<'STAGE2'
#!/bin/sh
# The guest's userspace after the root is chosen (the ramdisk, or /dev/xvda after switch_root).
export PATH=/bin:/sbin
grep -q ' /proc ' /proc/mounts 2>/dev/null || mount -t proc proc /proc
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# xl reboot: Linux calls ctrl_alt_del(); with it off, that is a SIGINT to init (this shell).
echo 0 >/proc/sys/kernel/ctrl-alt-del
trap 'echo "kxen-linux: rebooting"; exec /sbin/reboot' INT
if [ -f /kxen-root ]; then
  n=$(($(cat /boot-count 2>/dev/null || echo 0) + 1))
  echo $n >/boot-count
  echo "written by Linux $(uname -r), boot $n" >/from-guest.txt
  sync
  echo "kxen-linux: root on xvda ($(cat /hello.txt)), boot $n"
fi
if grep -q kxen_net /proc/cmdline; then
  ip link set eth0 up && ip addr add 10.99.0.2/24 dev eth0 &&
    ping -c 2 -W 5 10.99.0.1 >/dev/null && echo "kxen-linux: ping ok" || echo "kxen-linux: ping failed"
fi
# kxen_bench: PV disk throughput, direct I/O (no page cache): read 16 MiB of xvda, write 16
# MiB to the scratch disk xvdb, timed with /proc/uptime (busybox dd prints no time).
if grep -q kxen_bench /proc/cmdline; then
  for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/xvdb ] && break; sleep 1; done
  t=$(cut -d' ' -f1 /proc/uptime)
  dd if=/dev/xvda of=/dev/null bs=1M count=16 iflag=direct 2>/dev/null
  u=$(cut -d' ' -f1 /proc/uptime)
  dd if=/dev/zero of=/dev/xvdb bs=1M count=16 oflag=direct 2>/dev/null
  v=$(cut -d' ' -f1 /proc/uptime)
  echo "kxen-linux: bench read 16 MiB in $(awk -v a=$t -v b=$u 'BEGIN { print b - a }') s"
  echo "kxen-linux: bench write 16 MiB in $(awk -v a=$u -v b=$v 'BEGIN { print b - a }') s"
fi
# kxen_save (the save step): on the real root, once a second a new write is synced and both it
# and a file written before the save are read back from the disk (page cache dropped).
if grep -q kxen_save /proc/cmdline && [ -f /kxen-root ]; then
  echo "written before the save" >/before-save.txt && sync
  (i=0; while :; do
    i=$((i + 1)); echo "write $i" >/io.txt; sync; echo 3 >/proc/sys/vm/drop_caches
    echo "kxen-linux: io $i $(cat /before-save.txt) / $(cat /io.txt)"
    sleep 1
  done) &
fi
echo "kxen-linux: ready"
echo "kxen-linux: clockevent $(cat /sys/devices/system/clockevents/clockevent0/current_device) clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
# `wait` returns as soon as the trapped signal arrives (a foreground sleep would delay it).
while :; do
  sleep 10 & wait $!
  echo "kxen-linux: tick $(cat /proc/uptime) $(grep -E 'xen|HYP' /proc/interrupts | tr -s ' ' | tr '\n' ';')"
done
STAGE2
  chmod +x "$1/stage2"
}
populate "$r/ram"
# The PV front ends and ext2 (served by ext4) are modules in Debian's kernels; /mod/order
# lists them in load order (dependencies first).
m=/lib/modules/$kver/kernel
for ko in drivers/block/xen-blkfront drivers/net/xen-netfront crypto/crc32c_generic lib/crc16 fs/mbcache fs/jbd2/jbd2 \
          fs/ext4/ext4; do
  b=$(basename $ko)
  if [ -f "$m/$ko.ko.xz" ]; then xz -dc "$m/$ko.ko.xz" >"$r/ram/mod/$b.ko"
  elif [ -f "$m/$ko.ko" ]; then cp "$m/$ko.ko" "$r/ram/mod/"; else continue; fi
  echo "$b" >>"$r/ram/mod/order"
done
cat >"$r/ram/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "kxen-linux: init, kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpu(s), $(awk '/^MemTotal/ { print $2 }' /proc/meminfo) kB"
sh -c 'echo "kxen-linux: shell up"'
for m in $(cat /mod/order); do insmod /mod/$m.ko; done
if grep -q kxen_disk /proc/cmdline; then
  for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/xvda ] && break; sleep 1; done
  if mount -t ext2 /dev/xvda /mnt; then
    echo "kxen-linux: switch_root to /dev/xvda"
    umount /sys /dev /proc
    exec switch_root /mnt /init
  fi
  echo "kxen-linux: no disk"
fi
exec /stage2
INIT
chmod +x "$r/ram/init"
(cd "$r/ram" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/initrd.gz"
if command -v mke2fs >/dev/null; then
  populate "$r/img"
  mv "$r/img/stage2" "$r/img/init"
  echo "made on the host" >"$r/img/hello.txt"
  : >"$r/img/kxen-root"
  mke2fs -q -t ext2 -d "$r/img" "$dir/root.img" 16M >/dev/null
fi
