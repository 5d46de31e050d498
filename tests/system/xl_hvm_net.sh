#!/usr/bin/env bash
# An HVM guest's emulated NIC (vif type=ioemu): its tap vif<id>.0-emu is up on the vif's bridge,
# a firmware-less test guest on soft assigns the RTL8139's I/O BAR itself, sends one frame
# (the NIC reports TOK and the frame arrives on the tap), and the tap goes with the domain.
# Other models and a missing bridge are refused by name. In its own network namespace.
. "$KXEN_SRC/tests/system/net_common.sh"
hvm_cfg() {
  local f=$1 name=$2; shift 2
  { echo "name = \"$name\""; echo 'type = "hvm"'; echo "memory = 32"; echo 'xen_platform_pci = 0'
    for l in "$@"; do echo "$l"; done; } >"$f"
}
refused() {
  local out
  out=$(xl create -q "$1" 2>&1) && return 1
  echo "$out" | grep -q -- "$2" || { echo "# $out"; return 1; }
}
cat >"$d/nic.S" <<'ASM'
    .text
    .globl _start
_start:
    mov $0xcf8, %dx; mov $0x80001810, %eax; out %eax, %dx   /* 00:03.0 BAR0 */
    mov $0xcfc, %dx; mov $0xc000, %eax; out %eax, %dx
    mov $0xcf8, %dx; mov $0x80001804, %eax; out %eax, %dx   /* command: I/O + bus master */
    mov $0xcfc, %dx; mov $0x5, %ax; out %ax, %dx
    mov $0xc037, %dx; mov $0x0c, %al; out %al, %dx          /* CR: RE | TE */
    mov $0xc020, %dx; lea frame(%rip), %rax; out %eax, %dx  /* TSAD0 */
    mov $0xc010, %dx; mov $60, %eax; out %eax, %dx          /* TSD0: 60 bytes, OWN clear */
    in %dx, %eax
    lea ok(%rip), %rsi
    test $0x8000, %eax; jnz 1f
    lea bad(%rip), %rsi
1:  lodsb; test %al, %al; jz 2f; out %al, $0xe9; jmp 1b
2:  hlt; jmp 2b
    .data
ok: .asciz "KXEN-NIC-TX-OK\n"
bad: .asciz "KXEN-NIC-TX-FAILED\n"
frame:
    .byte 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01, 0x88, 0xb5
    .space 46, 0x5a
ASM
cc -nostdlib -static -no-pie -Wl,-Ttext=0x200000 -Wl,--build-id=none -o "$d/nic.elf" "$d/nic.S" \
  2>"$d/cc.err" || { sed 's/^/# /' "$d/cc.err"; skip_all "cannot assemble the test guest"; }
export KXEN_ACCEL=soft

hvm_cfg "$d/e1000.cfg" e1000 "kernel = \"$d/nic.elf\"" "vif = [ 'type=ioemu,model=e1000,bridge=kxbr0' ]"
check "model=e1000 is refused (rtl8139 only)" refused "$d/e1000.cfg" "rtl8139 only"
hvm_cfg "$d/nobr.cfg" nobr "kernel = \"$d/nic.elf\"" "vif = [ 'type=ioemu,bridge=kxnobr9' ]"
check "a missing bridge is refused" refused "$d/nobr.cfg" "bridge kxnobr9 does not exist"

hvm_cfg "$d/nic.cfg" nic "kernel = \"$d/nic.elf\"" \
  "vif = [ 'type=ioemu,model=rtl8139,bridge=kxbr0,mac=00:16:3e:00:00:01' ]"
check "xl create with an emulated NIC" xl create -q "$d/nic.cfg"
id=$(xl domid nic 2>/dev/null)
tap=vif$id.0-emu
check "the tap $tap is on kxbr0" test "$(basename "$(readlink /sys/class/net/$tap/master)")" = kxbr0
check "the tap is up" sh -c "ip link show $tap | grep -q 'UP'"
dmesg_has() { xl dmesg | grep -q "(d$id) $1"; }
wait_for 20 sh -c "xl dmesg | grep -q '(d$id) KXEN-NIC-TX'"
check "the guest's frame is sent (TSD0 TOK)" dmesg_has "KXEN-NIC-TX-OK"
check "the frame arrives on the tap" test "$(cat /sys/class/net/$tap/statistics/rx_packets)" -ge 1
check "xenstore has no PV vif for it" sh -c "! xenstore-read /local/domain/$id/device/vif/0/backend 2>/dev/null"
check "xl destroy" xl destroy nic
wait_for 10 sh -c "! test -e /sys/class/net/$tap"
check "the tap is gone with the domain" test ! -e "/sys/class/net/$tap"
