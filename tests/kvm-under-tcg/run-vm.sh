#!/usr/bin/env bash
# Boots Debian's kernel in qemu TCG (-cpu max: AMD SVM emulated, so kvm_amd gives a working
# /dev/kvm) with an initramfs holding kxen's kvm tests, and writes the serial console to LOG.
#   run-vm.sh LOG BUILD_DIR [--bench | --linux | --hvm]
# Exit status: 0 when the VM ran (read LOG for the results), 77 when qemu, a kernel with the
# kvm modules, or busybox is missing (a "SKIP reason" line says which), 1 on harness errors.
set -euo pipefail
# The body is one block, parsed whole before it runs: editing this file while a test runs
# cannot break that run.
{
log=$1 build=$(realpath "$2") mode=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIP $*"; exit 77; }

command -v qemu-system-x86_64 >/dev/null || skip "no qemu (qemu-system-x86_64 not installed)"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" | grep -q 'statically linked' || skip "no static busybox"
# The kernel must come with its own kvm modules (the host may run another kernel).
# KXEN_L1_KERNEL picks one by version prefix (6.1: no CONFIG_KVM_XEN, 6.12: with it); the
# default is Debian 12's 6.1, the one linux-image-amd64 installs.
l1=${KXEN_L1_KERNEL:-6.1.}
kernel= kver= kmod=
for k in $(ls /boot/vmlinuz-$l1* 2>/dev/null | sort -rV); do
  v=${k#/boot/vmlinuz-}
  for ext in ko ko.xz; do
    if [ -r "$k" ] && [ -f /lib/modules/$v/kernel/arch/x86/kvm/kvm-amd.$ext ]; then
      kernel=$k kver=$v kmod=$ext; break 2
    fi
  done
done
[ -n "$kernel" ] || skip "no /boot/vmlinuz-$l1* with kvm modules (linux-image-amd64)"
# KXEN_ACCEL_TEST may name a kvm_accel_test built elsewhere (kvm_under_tcg.sh builds its own).
accel_test=${KXEN_ACCEL_TEST:-$build/tests/kvm_accel_test}
[ -x "$accel_test" ] || { echo "harness: $accel_test missing" >&2; exit 1; }

root=$(mktemp -d /tmp/kxen-kvmtcg-XXXXXX)
trap 'rm -rf "$root"' EXIT
# Stopped from outside (vm_relay's time limit, the test runner's): the EXIT trap still runs.
trap 'exit 1' TERM INT
mkdir -p "$root"/{bin,proc,sys,dev,tmp,mod,kxen/bin,kxen/guests,kxen/run}
cp "$busybox" "$root/bin/busybox"
for a in sh mount insmod cat grep ls dmesg poweroff sleep mkdir rm kill sed head tail timeout seq printf awk wc tr cut date ping; do
  ln -s busybox "$root/bin/$a"
done
m=/lib/modules/$kver/kernel
for ko in virt/lib/irqbypass arch/x86/kvm/kvm drivers/crypto/ccp/ccp arch/x86/kvm/kvm-amd; do
  if [ "$kmod" = ko.xz ]; then xz -dc "$m/$ko.ko.xz" > "$root/mod/$(basename "$ko").ko"
  else cp "$m/$ko.ko" "$root/mod/"; fi
done
echo "# L1 kernel: $kver"

# Programs plus every shared library ldd lists for them, at the same paths.
add_prog() {
  cp "$1" "$root/kxen/bin/"
  ldd "$1" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
    [ -f "$lib" ] || continue
    case $(realpath "$lib") in
      "$build"/*) install -D -m 755 "$lib" "$root/kxen/lib/$(basename "$lib")" ;; # $ORIGIN/../lib
      *) install -D -m 755 "$lib" "$root$lib" ;;
    esac
  done
}
# add_at FILE: a file at its own absolute path in the VM, with the libraries ldd lists.
add_at() {
  install -D -m 755 "$1" "$root$1"
  ldd "$1" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
    if [ -f "$lib" ] && [ ! -e "$root$lib" ]; then install -D -m 755 "$lib" "$root$lib"; fi
  done || true # firmware files: ldd lists nothing
}
add_prog "$accel_test"
# A 1 MiB disk image whose MBR is hvm_boot_sector.S (loaded by the BIOS at 0x7c00, real mode):
# it writes "KXEN-BOOTSECTOR-OK" to COM1 (0x3f8) and to port 0xe9, then checks the ACPI RSDP
# SeaBIOS placed in the F segment and prints KXEN-RSDP-OK, then halts.
hvm_boot_sector() {
  local o=$root.bootsector.o
  as --32 -o "$o" "$here/hvm_boot_sector.S" &&
    ld -m elf_i386 -Ttext=0x7c00 --oformat binary -o "$o.bin" "$o" || return 1
  head -c 1048576 /dev/zero >"$1"
  dd if="$o.bin" of="$1" conv=notrunc status=none
  rm -f "$o" "$o.bin"
}
# kxend and the test guests join when they exist (the kxend part of the run is then enabled).
if [ -x "$build/bin/kxend" ] && [ -x "$build/tests/kvm_guest_run" ]; then
  add_prog "$build/bin/kxend"
  add_prog "$build/tests/kvm_guest_run"
  cp "$build"/guests/*.elf "$root/kxen/guests/" 2>/dev/null || true
  # The toolstack (xl, xenstored, xenconsoled, kxen-devd, xenstore-read) for the xl part, when
  # built: xl's embedded start runs all four daemons.
  if [ -x "$build/bin/xl" ] && [ -x "$build/bin/xenstored" ] && [ -x "$build/bin/xenconsoled" ] &&
     [ -x "$build/bin/xenstore" ]; then
    for p in xl xenstored xenconsoled kxen-devd xenstore; do add_prog "$build/bin/$p"; done
    for t in read ls write rm exists list; do ln -s xenstore "$root/kxen/bin/xenstore-$t"; done
    # HVM guests: Debian's SeaBIOS where xl looks for it, and a disk whose boot sector prints
    # a line on COM1 and on port 0xe9 and checks the RSDP (hvm_boot_sector above).
    if [ -r /usr/share/seabios/bios.bin ]; then
      install -D -m 644 /usr/share/seabios/bios.bin "$root/usr/share/seabios/bios.bin"
      hvm_boot_sector "$root/kxen/guests/hvm-boot.img" ||
        echo "harness: cannot assemble hvm_boot_sector.S: no xl-hvm section" >&2
    fi
  fi
  cp "$here/vm-guests.sh" "$root/kxen/bin/"
  # --bench: the dom0<->guest event-channel rows (vm-guests.sh) need the client and its guest.
  if [ "$mode" = --bench ] && [ -x "$build/tests/dom0libs-test" ] &&
     [ -f "$build/tests/dom0libs-echo.elf" ]; then
    add_prog "$build/tests/dom0libs-test"
    cp "$build/tests/dom0libs-echo.elf" "$root/kxen/guests/"
  fi
fi
echo "$mode" > "$root/kxen/mode"
# --linux: the L2 guest is Debian's own kernel (KXEN_L2_KERNEL, default the L1 kernel) with
# an initramfs and disk image that vm-linux.sh's checks need (made by make-linux-guest.sh);
# KXEN_L2_OTHER names a second guest kernel, booted after the first with
# KXEN_LINUX_OTHER_STEPS. Kernels are paths or /boot/vmlinuz-* version prefixes.
# --hvm: the same kernel as an HVM guest (vm-hvm.sh), its files from make-hvm-guest.sh;
# KXEN_HVM_STEPS picks the runs (words among `direct pvhvm bios dd`, default `direct pvhvm`;
# dd is bench/linux/dd.sh's three disk paths;
# pvhvm is the direct boot with the platform device; bios, SeaBIOS and syslinux loading 10 MB
# through int 13h, takes minutes nested under TCG and is run by hand).
vm_mem=1G vm_disks=
l2_kernel() {
  if [ -f "$1" ]; then echo "$1"; else ls /boot/vmlinuz-"$1"* 2>/dev/null | sort -rV | head -1; fi
}
if [ "$mode" = --linux ] || [ "$mode" = --hvm ]; then
  mkdir -p "$root/kxen/linux"
  l2=$(l2_kernel "${KXEN_L2_KERNEL:-$kernel}")
  [ -n "$l2" ] || skip "no guest kernel /boot/vmlinuz-${KXEN_L2_KERNEL}*"
  if [ "$mode" = --hvm ]; then
    "$here/make-hvm-guest.sh" "$root/kxen/linux" "$l2" \
      "console=ttyS0 panic=-1 loglevel=1 kxen_root=sdb,xvdb kxen_net"
    cp "$here/vm-hvm.sh" "$root/kxen/bin/"
    echo "${KXEN_HVM_STEPS:-direct pvhvm}" > "$root/kxen/linux/steps"
    # save_checks: both moves (save+restore and migrate) in both runs, not one each.
    echo "${KXEN_HVM_SAVE_ALL:-0}" > "$root/kxen/linux/save-all"
    # The PV-on-HVM run's vCPUs (check_vcpus): the direct boot's ACPI MADT lists them.
    echo "${KXEN_HVM_PVHVM_VCPUS:-2}" > "$root/kxen/linux/hvm-vcpus"
  else
    "$here/make-linux-guest.sh" "$root/kxen/linux" "$l2"
    echo "${KXEN_LINUX_STEPS:-smp mem disk net reboot save destroy}" > "$root/kxen/linux/steps"
    if [ -n "${KXEN_L2_OTHER:-}" ]; then
      other=$(l2_kernel "$KXEN_L2_OTHER")
      if [ -n "$other" ]; then
        mkdir -p "$root/kxen/linux/other"
        "$here/make-linux-guest.sh" "$root/kxen/linux/other" "$other"
        echo "${KXEN_LINUX_OTHER_STEPS:-disk}" > "$root/kxen/linux/other/steps"
      else
        echo "# no second guest kernel /boot/vmlinuz-$KXEN_L2_OTHER*"
      fi
    fi
    cp "$here/vm-linux.sh" "$root/kxen/bin/"
  fi
  # The network step: the bridge and tap modules, iproute2's ip (bridges, master) and the
  # vif hotplug script.
  for ko in net/llc/llc net/802/stp net/bridge/bridge drivers/net/tun; do
    if [ "$kmod" = ko.xz ]; then xz -dc "$m/$ko.ko.xz" > "$root/mod/$(basename "$ko").ko"
    else cp "$m/$ko.ko" "$root/mod/"; fi
  done
  add_prog "$(command -v ip)"
  [ -x "$build/bin/kxen-vif-bridge" ] && cp "$build/bin/kxen-vif-bridge" "$root/kxen/bin/"
  # debugfs and e2fsck read the guest's disk image once the guest is gone.
  for p in debugfs e2fsck; do command -v $p >/dev/null && add_prog "$(command -v $p)"; done
  vm_mem=1536M
  # The bench step (bench/linux): qemu at its own path (it finds its firmware and TCG module
  # relative to it and at /usr/share), the virtio disk modules, and two 64 MiB disks for the
  # VM: vda holds data to read, vdb is scratch.
  case " ${KXEN_LINUX_STEPS:-} " in *" bench "*)
    q=$(command -v qemu-system-x86_64)
    add_at "$q"
    echo "$q" > "$root/kxen/linux/qemu"
    echo "${KXEN_BENCH_TCG_SECONDS:-0}" > "$root/kxen/linux/tcg-seconds"
    for f in /usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so /usr/share/qemu/linuxboot_dma.bin \
             /usr/share/qemu/kvmvapic.bin /usr/share/seabios/bios-256k.bin; do
      [ -f "$f" ] && add_at "$f"
    done
    for ko in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev \
              drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci drivers/block/virtio_blk; do
      if [ -f "$m/$ko.ko.xz" ]; then xz -dc "$m/$ko.ko.xz" > "$root/mod/$(basename "$ko").ko"
      elif [ -f "$m/$ko.ko" ]; then cp "$m/$ko.ko" "$root/mod/"; fi
    done
    head -c 64M /dev/urandom > "$root.vda"
    head -c 64M /dev/zero > "$root.vdb"
    vm_disks="-drive file=$root.vda,if=virtio,format=raw -drive file=$root.vdb,if=virtio,format=raw"
    vm_mem=2G ;;
  esac
fi
install -m 755 "$here/vm-init.sh" "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$root.cpio.gz"
trap 'rm -rf "$root" "$root.cpio.gz" "$root.vda" "$root.vdb"' EXIT

# COM1 is the console and the results; COM2 carries vm-init.sh's heartbeat (one line every
# 20 s of the VM's clock), so a VM whose kernel stopped altogether is told from one whose
# nested guest is merely slow or quiet; the monitor (two FIFOs) is how the watchdog looks
# inside a stopped VM before it gives up on it.
serial=$root.com1 beat=$root.com2 mon=$root.mon
mkfifo "$mon.in" "$mon.out"
: >"$serial"
: >"$beat"
qemu= reader=
trap 'kill $qemu $reader 2>/dev/null || true; rm -rf "$root" "$root".{cpio.gz,vda,vdb,com1,com2,qemu} "$mon".*' EXIT
# timeout: a backstop should this script die without its EXIT trap.
timeout $((${KXEN_VM_TIMEOUT:-420} + 60)) qemu-system-x86_64 -display none -no-reboot -m $vm_mem -smp 1 \
  -accel tcg -cpu max -kernel "$kernel" -initrd "$root.cpio.gz" $vm_disks \
  -serial file:"$serial" -serial file:"$beat" -monitor pipe:"$mon" \
  -append 'console=ttyS0 panic=-1 quiet nokaslr sysrq_always_enabled' \
  </dev/null >"$root.qemu" 2>&1 &
qemu=$!
cat "$mon.out" >"$mon.log" 2>/dev/null &
reader=$!
# qemu 7.2's TCG can leave the VM's one CPU halted with its LAPIC timer's vector pending in
# IRR and interrupts enabled: the timer's wakeup is lost and the VM stops for good, although
# qemu's monitor says it runs. Any other interrupt wakes it, and the pending timer is then
# taken at once. So a late heartbeat (vm-init.sh writes one every 10 s on COM2) is answered
# with a key press on the PS/2 keyboard (an IRQ 1 nobody reads), after a look at the CPU and
# LAPIC for the first time; the log counts the presses.
# vm_watch: waits for qemu to end, for KXEN_VM_TIMEOUT, for the heartbeat to stay away for
# KXEN_VM_FROZEN seconds in spite of the key presses (the first may take KXEN_VM_FIRST_BEAT:
# the kernel boots and unpacks the initramfs under TCG), or for the console to stay silent for
# KXEN_VM_QUIET seconds (0: no limit) while the heartbeat goes on (a step inside the VM that
# waits forever). A VM given up on gets its state dumped (vm_stopped) first.
vm_watch() {
  local limit=${KXEN_VM_TIMEOUT:-420} frozen=${KXEN_VM_FROZEN:-150}
  local first=${KXEN_VM_FIRST_BEAT:-400} late=${KXEN_VM_NUDGE:-25} quiet=${KXEN_VM_QUIET:-0}
  local start=$SECONDS last=$SECONDS size=0 now wait nudged=0 presses=0
  local said=$SECONDS said_size=0
  while kill -0 $qemu 2>/dev/null; do
    sleep 2
    now=$(stat -c %s "$beat" 2>/dev/null || echo 0)
    if [ "$now" != "$size" ]; then
      [ $nudged = 1 ] && echo "HARNESS: the heartbeat came back $((SECONDS - last)) s after" \
        "the last one" >>"$mon.note"
      size=$now last=$SECONDS nudged=0
    fi
    now=$(stat -c %s "$serial" 2>/dev/null || echo 0)
    [ "$now" != "$said_size" ] && said_size=$now said=$SECONDS
    wait=$frozen
    [ "$size" = 0 ] && wait=$first
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      echo "HARNESS: the VM ran out of its $limit s (KXEN_VM_TIMEOUT)" >>"$mon.note"
      vm_stopped
      return 1
    fi
    if [ "$quiet" -gt 0 ] && [ $((SECONDS - said)) -ge "$quiet" ]; then
      echo "HARNESS: the console was silent for $((SECONDS - said)) s at" \
        "$((SECONDS - start)) s (KXEN_VM_QUIET), the heartbeat going on" >>"$mon.note"
      vm_stopped
      return 1
    fi
    if [ "$size" != 0 ] && [ $nudged = 0 ] && [ $((SECONDS - last)) -ge "$late" ]; then
      presses=$((presses + 1)) nudged=1
      echo "HARNESS: no heartbeat for $((SECONDS - last)) s at $((SECONDS - start)) s:" \
        "key press $presses" >>"$mon.note"
      [ $presses = 1 ] && vm_monitor "info cpus" "info registers" "info lapic"
      vm_monitor "sendkey shift"
    fi
    if [ $((SECONDS - last)) -ge "$wait" ]; then
      echo "HARNESS: no heartbeat from the VM for $((SECONDS - last)) s at" \
        "$((SECONDS - start)) s: given up" >>"$mon.note"
      vm_stopped
      return 1
    fi
  done
  return 0
}
# vm_monitor CMD...: qemu monitor commands (their output lands in $mon.log).
vm_monitor() {
  local c
  for c in "$@"; do
    printf '%s\n' "$c" >"$mon.in" 2>/dev/null
    sleep 1
  done
}
# vm_stopped: the VM's CPU as qemu sees it (the VM boots with nokaslr, so a RIP can be
# looked up in /proc/kallsyms of any run of the same kernel; Debian's System.map is empty),
# then sysrq through the PS/2 keyboard (console level 9, every task's state and stack, the
# CPU's backtrace) and 20 s for it to print.
vm_stopped() {
  vm_monitor "info status" "info cpus" "info registers" "info lapic" "info pic" \
    "sendkey alt-sysrq-9" "sendkey alt-sysrq-t" "sendkey alt-sysrq-l"
  sleep 20
}
rc=0
vm_watch || rc=1
kill $qemu 2>/dev/null || true
wait $qemu 2>/dev/null || true
kill $reader 2>/dev/null || true
qemu= reader=
tr -d '\r' <"$serial" >"$log"
if [ $rc -ne 0 ] || [ -s "$mon.note" ]; then
  {
    cat "$mon.note" 2>/dev/null
    echo "HARNESS: heartbeat (last 3):"
    tail -3 "$beat" | tr -d '\r' | sed 's/^/HARNESS:   /'
    echo "HARNESS: qemu monitor:"
    # The monitor echoes each command as its line editor redraws it: keep the final text.
    tr -d '\r' <"$mon.log" | grep -av '^QEMU .* monitor' |
      sed -e 's/^(qemu) .*\x1b\[D\([^\x1b]*\)\x1b\[K$/(qemu) \1/' -e 's/^/HARNESS:   /'
    cat "$root.qemu" 2>/dev/null | sed 's/^/HARNESS: qemu: /'
  } >>"$log"
fi
[ $rc -eq 0 ] && grep -q '^VMDONE' "$log" ||
  { echo "harness: the VM did not finish (see $log)" >&2; exit 1; }
exit
}
