#!/usr/bin/env bash
# type = "hvm" under xl: the HVM keys are checked at parse time (firmware, boot order, serial);
# soft refuses a firmware HVM guest at xl create, saying to use kvm, and leaves no domain
# behind, but runs a firmware-less test guest that drives COM1 and the IDE disk by PIO; on
# kvm (when /dev/kvm is usable) SeaBIOS starts at the reset vector on the emulated PC and its
# banner and PCI scan reach `xl dmesg`, COM1's pty is named in xenstore, and xl destroy
# removes the domain. SeaBIOS finds the fw-cfg device, takes its memory map from etc/e820 and
# runs its table loader: the RSDP it placed in the F segment and the tables behind it are
# checked in the guest's RAM (xl dump-core: every checksum, the FADT's FACS and DSDT, one MADT
# local APIC per vCPU, both vCPUs found by SeaBIOS), and the domain is saved and restored with
# it. Booting a disk needs `int N`, which this
# host's nested KVM cannot deliver: tests/kvm-under-tcg boots one (vm-guests.sh), and Linux
# on SeaBIOS with these tables (vm-hvm.sh's bios run).
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

hvm_cfg "$d/seabios.cfg" seabios 'serial = "pty"' 'on_crash = "preserve"' 'vcpus = 2'
KXEN_ACCEL=soft check "soft refuses an HVM guest at xl create and says to use kvm" \
  refused "$d/seabios.cfg" "use kxend --accel kvm"
check "the refused domain is gone" sh -c "! xl list seabios >/dev/null 2>&1"

# A test guest with no Xen interface on soft: a 64-bit ELF (no firmware) that writes to COM1
# and port 0xe9, reads sector 0 of the IDE disk by PIO and prints its first bytes.
cat >"$d/emu.S" <<'ASM'
    .text
    .globl _start
_start:
    lea msg(%rip), %rsi
    call puts
    mov $0x1f6, %dx; mov $0xe0, %al; out %al, %dx   /* master, LBA */
    mov $0x1f2, %dx; mov $1, %al; out %al, %dx      /* one sector */
    xor %eax, %eax
    mov $0x1f3, %dx; out %al, %dx                   /* LBA 0 */
    mov $0x1f4, %dx; out %al, %dx
    mov $0x1f5, %dx; out %al, %dx
    mov $0x1f7, %dx; mov $0x20, %al; out %al, %dx   /* READ SECTORS */
1:  in %dx, %al; test $0x80, %al; jnz 1b
    test $0x08, %al; jz fail
    lea buf(%rip), %rdi; mov $256, %ecx; mov $0x1f0, %dx
2:  in %dx, %ax; mov %ax, (%rdi); add $2, %rdi; dec %ecx; jnz 2b
    lea buf(%rip), %rsi; movb $0, 16(%rsi)
    call puts
    lea nl(%rip), %rsi; call puts
3:  hlt; jmp 3b
fail:
    lea nodrq(%rip), %rsi; call puts; jmp 3b
puts:
    mov $0x3f8, %dx
4:  lodsb; test %al, %al; jz 5f
    out %al, %dx; out %al, $0xe9; jmp 4b
5:  ret
    .data
msg: .asciz "KXEN-EMU-UART-OK\n"
nodrq: .asciz "IDE-NO-DRQ\n"
nl: .asciz "\n"
    .bss
buf: .space 512
ASM
if cc -nostdlib -static -no-pie -Wl,-Ttext=0x200000 -Wl,--build-id=none -o "$d/emu.elf" "$d/emu.S" \
  2>"$d/cc.err"; then
  printf 'KXEN-IDE-SECTOR0' >"$d/emu.img"; truncate -s 1M "$d/emu.img"
  hvm_cfg "$d/emu.cfg" emu "kernel = \"$d/emu.elf\"" 'serial = "pty"' 'xen_platform_pci = 0' \
    "disk = [ '$d/emu.img,raw,hda,rw' ]"
  KXEN_ACCEL=soft check "soft runs an HVM test guest (no firmware, no Xen interface)" xl create -q "$d/emu.cfg"
  eid=$(xl domid emu 2>/dev/null)
  edmesg() { xl dmesg | grep -q "(d$eid) $1"; }
  wait_for 20 edmesg "KXEN-IDE-SECTOR0"
  check "it writes to the emulated ports (0xe9 into xl dmesg)" edmesg "KXEN-EMU-UART-OK"
  check "it reads the emulated IDE disk by PIO on soft" edmesg "KXEN-IDE-SECTOR0"
  timeout 2 xl console -t serial emu </dev/null >"$d/emu.serial" 2>&1
  check "its COM1 output reaches xl console -t serial" grep -q "KXEN-EMU-UART-OK" "$d/emu.serial"
  check "xl destroy removes it" xl destroy emu
else
  not_ok "the test guest assembles"; sed 's/^/# /' "$d/cc.err"
fi
kxen-services stop >/dev/null 2>&1

if ! accel_usable kvm; then
  for t in "SeaBIOS's banner reaches xl dmesg" "SeaBIOS finds the PCI functions" \
    "the RSDP in the F segment, the XSDT, FADT, FACS, MADT (2 CPUs) and DSDT check out in RAM" \
    "COM1's pty is named in serial/0/tty" "xl destroy removes the HVM domain"; do
    skip "$t" "kxend --accel kvm cannot start here"
  done
  exit 0
fi
export KXEN_ACCEL=kvm
check "xl create starts an HVM guest on kvm" xl create -q "$d/seabios.cfg"
id=$(xl domid seabios 2>/dev/null)
dmesg_has() { xl dmesg | grep -q "(d$id) $1"; }
wait_for 20 dmesg_has "SeaBIOS (version"
check "SeaBIOS's banner reaches xl dmesg" dmesg_has "SeaBIOS (version"
wait_for 20 dmesg_has "PCI: init bdf=00:02.0 id=5853:0001"
check "SeaBIOS sees the Xen platform device (5853:0001)" dmesg_has "PCI: init bdf=00:02.0 id=5853:0001"
check "SeaBIOS finds the PCI functions (host bridge, ISA bridge, Xen platform device)" \
  dmesg_has "Found [3-9] PCI devices"
check "SeaBIOS finds the fw-cfg device and its DMA interface" \
  dmesg_has "QEMU fw_cfg DMA interface supported"
check "SeaBIOS reads the RAM size from fw-cfg's etc/e820 (RAM up to the special pages)" \
  dmesg_has "qemu/e820: addr 0x0000000000000000 len 0x0000000001f[0-9a-f]* \[RAM\]"
wait_for 20 dmesg_has "Booting from"
check "SeaBIOS runs fw-cfg's table loader without an internal error, then boots" \
  sh -c "xl dmesg | grep '(d$id)' | grep -q 'Booting from' && ! xl dmesg | grep '(d$id)' | grep -q 'internal error'"
check "SeaBIOS starts both vCPUs (fw-cfg's CPU count)" dmesg_has "Found 2 cpu(s)"
# The tables as an OS finds them, read from the guest's RAM: the RSDP on a 16-byte boundary
# of the F segment, then every table through the XSDT and the FADT.
acpi_in_core() {
  xl dump-core seabios "$KXEN_RUNDIR/seabios.core" >/dev/null &&
    python3 - "$KXEN_RUNDIR/seabios.core" <<'PY'
import struct, sys
ram = open(sys.argv[1], 'rb').read()[4096:]
def ok(c, what):
    if not c:
        print('# ' + what); sys.exit(1)
def table(a, sig):
    t = ram[a:a + struct.unpack_from('<I', ram, a + 4)[0]]
    ok(t[:4] == sig, 'no %s at %#x' % (sig, a))
    ok(sig == b'FACS' or sum(t) % 256 == 0, '%s checksum' % sig)
    return t
r = [a for a in range(0xf0000, 0x100000, 16) if ram[a:a + 8] == b'RSD PTR ']
ok(len(r) == 1, 'RSDPs in the F segment: %d' % len(r))
r = ram[r[0]:r[0] + 36]
ok(sum(r[:20]) % 256 == 0 and sum(r) % 256 == 0, 'RSDP checksums')
x = table(struct.unpack_from('<Q', r, 24)[0], b'XSDT')
t = {}
for i in range(36, len(x), 8):
    a = struct.unpack_from('<Q', x, i)[0]
    t[ram[a:a + 4]] = table(a, ram[a:a + 4])
ok(b'FACP' in t and b'APIC' in t, 'XSDT lists %s' % list(t))
f = t[b'FACP']
ok(struct.unpack_from('<I', f, 36)[0] % 64 == 0, 'FACS alignment')
table(struct.unpack_from('<I', f, 36)[0], b'FACS')
d = struct.unpack_from('<I', f, 40)[0]
ok(d == struct.unpack_from('<Q', f, 140)[0], 'DSDT and X_DSDT differ')
table(d, b'DSDT')
m, i, cpus = t[b'APIC'], 44, 0
while i + 2 <= len(m) and m[i + 1]:
    cpus += m[i] == 0 and m[i + 4] & 1  # an enabled processor local APIC
    i += m[i + 1]
ok(i == len(m) and cpus == 2, 'MADT: %d CPUs' % cpus)
PY
}
check "the RSDP in the F segment, the XSDT, FADT, FACS, MADT (2 CPUs) and DSDT check out in RAM" \
  acpi_in_core
tty=$(xenstore-read "/local/domain/$id/serial/0/tty" 2>/dev/null)
check "COM1's pty is named in serial/0/tty" test -c "$tty"
xl dmesg | grep "(d$id)" | tail -12 | sed 's/^/# /'
# The fw-cfg device's selector and offset travel in the save image like every model's state.
check "xl save of the SeaBIOS domain (fw-cfg's record with the other devices')" \
  xl save seabios "$KXEN_RUNDIR/seabios.img" "$d/seabios.cfg"
check "xl restore brings it back" xl restore "$KXEN_RUNDIR/seabios.img" "$d/seabios.cfg"
check "xl destroy removes the HVM domain" xl destroy seabios
check "no domain is left" sh -c "! xl list seabios >/dev/null 2>&1"
