#!/usr/bin/env bash
# xl create of Debian's own Linux kernel (/boot/vmlinuz-*, a bzImage with an XZ payload) with
# a ramdisk made here. On soft, which cannot page, the create is refused saying why and to use
# kvm, and nothing is left. On kvm the domain builder decompresses and loads it: kxend logs the
# PVH entry, and once unpaused the guest runs from it (Linux's pvh_start_xen copies
# hvm_start_info into the kernel's data, which the test finds in guest RAM); destroy leaves
# nothing behind. Linux boots no further without the hypercall and local APIC work.
. "$KXEN_SRC/tests/system/xl_common.sh"
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | tail -1)
[ -n "$kernel" ] || skip_all "no /boot/vmlinuz-* (Debian's linux-image-amd64 is not installed)"
command -v cpio >/dev/null || skip_all "cpio is missing"
d=$KXEN_RUNDIR/linux
mkdir -p "$d/root"
printf '#!/bin/sh\necho hello from the initramfs\n' >"$d/root/init"
chmod +x "$d/root/init"
(cd "$d/root" && echo init | cpio -o -H newc 2>/dev/null) >"$d/init.cpio"
cat >"$d/linux.cfg" <<CFG
name = "linux"
type = "pvh"
kernel = "$kernel"
ramdisk = "$d/init.cpio"
memory = 256
cmdline = "console=hvc0"
CFG
nothing_left() { [ "$(xl list | awk 'NR > 2' | wc -l)" -eq 0 ] && [ -z "$(guest_nodes_left)" ]; }

# soft: refused before anything runs, with the reason and what to use instead.
KXEN_ACCEL=soft xl create "$d/linux.cfg" >/dev/null 2>"$d/err"
check "soft refuses Linux PVH and says to use kvm" grep -qF "soft cannot run Linux PVH (the kernel needs paging): use --accel kvm" "$d/err"
check "nothing is left of the refused domain" nothing_left
check "kxend's own reason is in xl dmesg" bash -c "xl dmesg | grep -qF 'soft cannot run Linux PVH'"
kxen-services stop >/dev/null 2>&1

names=("the kernel is loaded paused with its PVH entry logged"
       "the ramdisk-bearing domain is listed"
       "unpaused, the guest runs from the PVH entry (hvm_start_info copied by pvh_start_xen)"
       "destroy leaves no domain and no xenstore node")
if ! accel_usable kvm; then
  for n in "${names[@]}"; do skip "$n" "kxend --accel kvm cannot start here"; done
  exit 0
fi
export KXEN_ACCEL=kvm
# start_info_copies: how many copies of hvm_start_info's first 8 bytes (magic, version 1)
# guest RAM holds; kxend's RAM is its memfd "kxen-guest-ram", readable by root through /proc.
start_info_copies() {
  local pid fd
  pid=$(cat "$KXEN_RUNDIR/kxend.pid") || return 1
  fd=$(ls -l "/proc/$pid/fd" | awk '/memfd:kxen-guest-ram/ { print $9; exit }')
  [ -n "$fd" ] || { echo 0; return; }
  python3 -c 'import sys; print(open(sys.argv[1], "rb").read().count(bytes.fromhex("78c56e3301000000")))' \
    "/proc/$pid/fd/$fd"
}
xl create -p "$d/linux.cfg" >/dev/null 2>"$d/err" || sed 's/^/# /' "$d/err"
check "${names[0]}" grep -qE "domain [0-9]+: image loaded, entry 0x[0-9a-f]+, paused" "$KXEN_RUNDIR/kxend.log"
check "${names[1]}" bash -c "xl list linux >/dev/null 2>&1"
before=$(start_info_copies)
xl unpause linux
for _ in $(seq 100); do
  after=$(start_info_copies)
  [ "${after:-0}" -gt "${before:-1}" ] && break
  sleep 0.1
done
echo "# hvm_start_info copies in guest RAM: $before paused, $after running"
check "${names[2]}" test "${before:-0}" -eq 1 -a "${after:-0}" -ge 2
xl destroy linux
check "${names[3]}" nothing_left
