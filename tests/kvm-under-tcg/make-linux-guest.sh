#!/usr/bin/env bash
# Makes what the L2 Linux guest of the kvm-under-tcg VM boots from, in DIR:
#   vmlinuz      the kernel (Debian's own bzImage, unmodified)
#   initrd.gz    a busybox-static initramfs whose /init prints marker lines on the console
#                (hvc0) and, when a PV disk is there, mounts it as root and writes a file
#   root.img     an ext2 image (mke2fs -d) for disk = [...,xvda,...]
#   make-linux-guest.sh DIR KERNEL
set -euo pipefail
dir=$1 kernel=$2
kver=${kernel#/boot/vmlinuz-}
busybox=$(command -v busybox)
cp "$kernel" "$dir/vmlinuz"
r=$(mktemp -d /tmp/kxen-l2-XXXXXX)
trap 'rm -rf "$r"' EXIT
mkdir -p "$r"/{bin,sbin,proc,sys,dev,mnt,mod}
cp "$busybox" "$r/bin/busybox"
for a in sh mount umount insmod cat grep echo sleep sync ls ip ping uname mkdir tr; do ln -s busybox "$r/bin/$a"; done
# Linux's control/shutdown watch runs /sbin/poweroff or /sbin/reboot (orderly_poweroff).
printf '#!/bin/sh\nsync\nexec /bin/busybox poweroff -f\n' > "$r/sbin/poweroff"
printf '#!/bin/sh\nsync\nexec /bin/busybox reboot -f\n' > "$r/sbin/reboot"
chmod +x "$r/sbin/poweroff" "$r/sbin/reboot"
# The PV front ends and ext2 (served by ext4) are modules in Debian's kernels; /mod/order
# lists them in load order (dependencies first).
m=/lib/modules/$kver/kernel
for ko in drivers/block/xen-blkfront drivers/net/xen-netfront crypto/crc32c_generic lib/crc16 fs/mbcache fs/jbd2/jbd2 \
          fs/ext4/ext4; do
  b=$(basename $ko)
  if [ -f "$m/$ko.ko.xz" ]; then xz -dc "$m/$ko.ko.xz" > "$r/mod/$b.ko"
  elif [ -f "$m/$ko.ko" ]; then cp "$m/$ko.ko" "$r/mod/"; else continue; fi
  echo "$b" >> "$r/mod/order"
done
cat > "$r/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "kxen-linux: init, kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpu(s)"
sh -c 'echo "kxen-linux: shell up"'
for m in $(cat /mod/order); do insmod /mod/$m.ko; done
if grep -q kxen_disk /proc/cmdline; then
  for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/xvda ] && break; sleep 1; done
  if mount -t ext2 /dev/xvda /mnt; then
    echo "written by Linux $(uname -r)" > /mnt/from-guest.txt
    sync
    echo "kxen-linux: disk $(cat /mnt/hello.txt)"
    umount /mnt
  else
    echo "kxen-linux: no disk"
  fi
fi
if grep -q kxen_net /proc/cmdline; then
  ip link set eth0 up && ip addr add 10.99.0.2/24 dev eth0 &&
    ping -c 2 -W 5 10.99.0.1 >/dev/null && echo "kxen-linux: ping ok" || echo "kxen-linux: ping failed"
fi
# The save step: the disk stays mounted and, once a second, a new write is synced and both
# it and a file written before the save are read back from the disk (page cache dropped).
if grep -q kxen_save /proc/cmdline && mount -t ext2 /dev/xvda /mnt; then
  echo "written before the save" > /mnt/before-save.txt && sync
  (i=0; while :; do
    i=$((i + 1)); echo "write $i" > /mnt/io.txt; sync; echo 3 > /proc/sys/vm/drop_caches
    echo "kxen-linux: io $i $(cat /mnt/before-save.txt) / $(cat /mnt/io.txt)"
    sleep 1
  done) &
fi
echo "kxen-linux: ready"
echo "kxen-linux: clockevent $(cat /sys/devices/system/clockevents/clockevent0/current_device) clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
while :; do sleep 10; echo "kxen-linux: tick $(cat /proc/uptime) $(grep -E 'xen|HYP' /proc/interrupts | tr -s ' ' | tr '\n' ';')"; done
INIT
chmod +x "$r/init"
(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) > "$dir/initrd.gz"
if command -v mke2fs >/dev/null; then
  mkdir -p "$r/img"
  echo "made on the host" > "$r/img/hello.txt"
  mke2fs -q -t ext2 -d "$r/img" "$dir/root.img" 8M
fi
