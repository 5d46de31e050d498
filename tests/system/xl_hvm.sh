#!/usr/bin/env bash
# type = "hvm" under xl: the HVM keys are checked at parse time (firmware, boot order, serial);
# soft refuses an HVM guest at xl create, saying to use kvm, and leaves no domain behind; on
# kvm (when /dev/kvm is usable) SeaBIOS starts at the reset vector on the emulated PC and its
# banner and PCI scan reach `xl dmesg`, COM1's pty is named in xenstore, and xl destroy
# removes the domain. Booting a disk needs `int N`, which this host's nested KVM cannot
# deliver: tests/kvm-under-tcg boots one (vm-guests.sh).
. "$KXEN_SRC/tests/system/xl_common.sh"
bios=/usr/share/seabios/bios.bin
[ -r "$bios" ] || skip_all "no $bios (Debian's seabios package)"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
hvm_cfg() {
  local f=$1 name=$2; shift 2
  { echo "name = \"$name\""; echo 'type = "hvm"'; echo "memory = 32"
    for l in "$@"; do echo "$l"; done; } >"$f"
}
refused() { # refused CFG NEEDLE: xl create fails and says NEEDLE
  local out
  out=$(xl create -q "$1" 2>&1) && return 1
  echo "$out" | grep -q -- "$2" || { echo "# $out"; return 1; }
}

hvm_cfg "$d/ovmf.cfg" ovmf 'firmware = "ovmf"'
check "firmware = \"ovmf\" is refused (SeaBIOS only)" refused "$d/ovmf.cfg" "SeaBIOS only"
hvm_cfg "$d/boot.cfg" badboot 'boot = "cz"'
check "a boot order with an unknown device is refused" refused "$d/boot.cfg" "not a boot order"
hvm_cfg "$d/serial.cfg" badserial 'serial = "tcp:1234"'
check "a serial port other than pty or none is refused" refused "$d/serial.cfg" "\"pty\" or \"none\""
hvm_cfg "$d/nic.cfg" nic "vif = ['type=ioemu,model=rtl8139']"

hvm_cfg "$d/seabios.cfg" seabios 'serial = "pty"' 'on_crash = "preserve"' 'xen_platform_pci = 0'
KXEN_ACCEL=soft check "soft refuses an HVM guest at xl create and says to use kvm" \
  refused "$d/seabios.cfg" "use kxend --accel kvm"
check "the refused domain is gone" sh -c "! xl list seabios >/dev/null 2>&1"
kxen-services stop >/dev/null 2>&1

if ! accel_usable kvm; then
  for t in "SeaBIOS's banner reaches xl dmesg" "SeaBIOS finds the PCI host bridge and ISA bridge" \
    "COM1's pty is named in serial/0/tty" "xl destroy removes the HVM domain"; do
    skip "$t" "kxend --accel kvm cannot start here"
  done
  exit 0
fi
export KXEN_ACCEL=kvm
check "emulated NICs are refused with a message" refused "$d/nic.cfg" "emulated nic"
check "xl create starts an HVM guest on kvm" xl create -q "$d/seabios.cfg"
id=$(xl domid seabios 2>/dev/null)
dmesg_has() { xl dmesg | grep -q "(d$id) $1"; }
wait_for 20 dmesg_has "SeaBIOS (version"
check "SeaBIOS's banner reaches xl dmesg" dmesg_has "SeaBIOS (version"
wait_for 20 dmesg_has "Found [0-9]* PCI devices"
check "SeaBIOS finds the PCI host bridge and ISA bridge" dmesg_has "Found [2-9] PCI devices"
check "SeaBIOS reads the RAM size from the CMOS" dmesg_has "RamSize: 0x01f[0-9a-f]* \[cmos\]"
tty=$(xenstore-read "/local/domain/$id/serial/0/tty" 2>/dev/null)
check "COM1's pty is named in serial/0/tty" test -c "$tty"
xl dmesg | grep "(d$id)" | tail -12 | sed 's/^/# /'
check "xl destroy removes the HVM domain" xl destroy seabios
check "no domain is left" sh -c "! xl list seabios >/dev/null 2>&1"
