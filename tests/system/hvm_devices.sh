#!/usr/bin/env bash
# The emulated devices from inside a guest with no Xen interface: hvmtest (guests/hvmtest),
# booted without firmware on the emulated PC with a raw disk on hda, checks the UART, PCI, the
# IDE disk through PIO and bus-master DMA (including a DMA aimed outside its RAM, which must
# end in the error bit), IRQ 14 and IRQ 4 through kvm's PIC, and the RTL8139 in loopback
# when the machine has one, then waits for the ACPI power button (acpi_checks); it reports
# through port 0xe9 into `xl dmesg`, and the host then finds its PIO and DMA writes in the
# image. On soft as an ELF; on kvm (when /dev/kvm is usable) as an ELF through its PVH entry
# and as a bzImage through Linux's boot protocol. Skips when this xl builds no HVM guests.
. "$KXEN_SRC/tests/system/xl_common.sh"
elf=$KXEN_BUILD/tests/hvmtest.elf
[ -r "$elf" ] || skip_all "no $elf"
dir=$KXEN_RUNDIR/hvmdev
mkdir -p "$dir"

# acpi_checks LABEL ID: after its RESULT line hvmtest waits for the power button; xl trigger
# presses it, the guest sees PWRBTN_STS (and on kvm the SCI on IRQ 9), clears it and writes
# S5, which shuts the domain down with reason poweroff (on_poweroff = "preserve" keeps it).
acpi_checks() {
  local label=$1 id=$2 c
  check "$label: guest: waits for the ACPI power button" wait_for 20 dmesg_has "acpi: waiting"
  xl trigger hvmtest sleep 2>"$dir/trigger.err" && c=1 || c=0
  check "$label: xl trigger sleep is refused with the reason (no sleep button)" \
    sh -c "[ $c = 0 ] && grep -q 'no sleep button' '$dir/trigger.err'"
  check "$label: xl trigger hvmtest power" xl trigger hvmtest power
  wait_for 20 dmesg_has "acpi: entering S5"
  for c in "acpi: the PM1 block at 0xb000 is in ACPI mode (SCI_EN)" \
    "acpi: of PM1_EN only the power button's enable sticks" \
    "acpi: the power button sets PWRBTN_STS" "acpi: writing PWRBTN_STS back clears it"; do
    check "$label: guest: $c" dmesg_has "ok $c"
  done
  [ "$accel" = kvm ] && check "$label: guest: acpi: the SCI arrives on IRQ 9" \
    dmesg_has "ok acpi: the SCI arrives on IRQ 9"
  poweroff_logged() { grep -q "domain $id (hvmtest) shut down, reason 0" "$KXEN_RUNDIR/kxend.log"; }
  check "$label: the guest's S5 write shuts the domain down with reason poweroff" \
    wait_for 10 poweroff_logged
}

# run_guest ACCEL KERNEL LABEL: one boot of hvmtest and every check on it.
run_guest() {
  local accel=$1 kernel=$2 label=$3 out id c
  truncate -s 0 "$dir/disk.img" && truncate -s 4M "$dir/disk.img"
  printf 'KXEN-HVMTEST-SECTOR-5' | dd of="$dir/disk.img" bs=512 seek=5 conv=notrunc status=none
  cat >"$dir/hvmtest.cfg" <<CFG
name = "hvmtest"
type = "hvm"
memory = 32
kernel = "$kernel"
disk = [ 'format=raw,vdev=hda,access=rw,target=$dir/disk.img' ]
xen_platform_pci = 0
serial = "pty"
on_poweroff = "preserve"
CFG
  if ! out=$(KXEN_ACCEL=$accel xl create -q "$dir/hvmtest.cfg" 2>&1); then
    echo "$out" | grep -q "not supported by this xl" && skip_all "this xl builds no HVM guests"
    echo "$out" | sed 's/^/# /'
  fi
  id=$(xl domid hvmtest 2>/dev/null)
  check "$label: xl create boots hvmtest on the emulated PC" test -n "$id"
  dmesg_has() { xl dmesg | grep -q "^(d$id) hvmtest: $1"; }
  wait_for 30 dmesg_has "RESULT"
  xl dmesg | grep "^(d$id) hvmtest:" | grep -v "hvmtest: ok" | sed 's/^/# /'
  for c in "uart: a 16550A with its FIFO" "pci: PIIX3 IDE found" \
    "ide: IDENTIFY of a disk with LBA and DMA" \
    "ide: PIO read of sector 5 returns what the host wrote" \
    "ide: DMA read scatters over two PRD entries" "ide: DMA write of sectors 200-203" \
    "ide: DMA into memory that is not RAM ends with the error bit" \
    "ide: the disk still works after the refused DMA"; do
    check "$label: guest: $c" dmesg_has "ok $c"
  done
  if [ "$accel" = kvm ]; then # soft has no interrupt controller
    for c in "irq: the IDE controller raises IRQ 14 at the end of a DMA read" \
      "irq: the UART raises IRQ 4 for an empty transmitter" "irq: each arrived exactly once"; do
      check "$label: guest: $c" dmesg_has "ok $c"
    done
  fi
  check "$label: the guest reports RESULT PASS" dmesg_has "RESULT PASS"
  sector_has() { dd if="$dir/disk.img" bs=512 skip="$1" count=1 status=none | grep -aq "$2"; }
  check "$label: the host finds the guest's PIO write" sector_has 100 "hvmtest PIO sector 100"
  check "$label: the host finds the guest's DMA write" sector_has 200 "hvmtest DMA sectors 200-203"
  acpi_checks "$label" "$id"
  check "$label: xl destroy removes the guest" xl destroy hvmtest
  kxen-services stop >/dev/null 2>&1
}

run_guest soft "$elf" "soft, ELF"
if ! accel_usable kvm 2>/dev/null; then
  skip "kvm: hvmtest as an ELF and as a bzImage" "kxend --accel kvm cannot start here"
  exit 0
fi
command -v objcopy >/dev/null || skip_all "no objcopy (binutils) for the bzImage"
# The bzImage: the header sector pair at 0xffc00, then the code kxend loads at 1 MiB.
objcopy -O binary -j .setup -j .head -j .text -j .rodata -j .data "$elf" "$dir/hvmtest.bzimage"
run_guest kvm "$elf" "kvm, ELF (PVH entry)"
run_guest kvm "$dir/hvmtest.bzimage" "kvm, bzImage"
