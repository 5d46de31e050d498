#!/usr/bin/env bash
# xl save / restore / migrate of an HVM guest: hvmtest in save mode (guests/hvmtest/save.c)
# runs rounds that use COM1, the CMOS, the IDE disk by PIO and DMA, the RTL8139 in loopback
# and, on kvm, the PIT's interrupts, each checking what the rounds before left; the rounds go
# on passing after a restore and after a migration, the images pass Xen's verify-stream-v2
# with an HVM_CONTEXT holding Xen's records, and images whose device state was corrupted
# (an IDE PIO position, the NIC's ring offset, a PCI BAR, the CMOS index; on kvm the IOAPIC)
# are refused naming the device and field, leaving no domain. On soft, then on kvm when
# /dev/kvm is usable. In its own network namespace (the emulated NIC's tap needs a bridge).
. "$KXEN_SRC/tests/system/net_common.sh"
elf=$KXEN_BUILD/tests/hvmtest.elf
[ -r "$elf" ] || skip_all "no $elf"
verify=/usr/lib/xen-4.17/bin/verify-stream-v2
two_hosts --lazy

truncate -s 4M "$d/disk.img"
printf 'KXEN-HVMSAVE' >"$d/opts.img" && truncate -s 64K "$d/opts.img"
cat >"$d/hvms.cfg" <<CFG
name = "hvms"
type = "hvm"
memory = 32
kernel = "$elf"
disk = [ 'format=raw,vdev=hda,access=rw,target=$d/disk.img', 'format=raw,vdev=hdb,access=ro,target=$d/opts.img' ]
vif = [ 'type=ioemu,model=rtl8139,bridge=kxbr0,mac=00:16:3e:00:00:07' ]
xen_platform_pci = 0
serial = "pty"
CFG
cfg=$d/hvms.cfg # check() has a local d of its own

# last_round ID [dst]: the highest round the guest reported passing.
last_round() { ${2:+at_dst} xl dmesg | sed -n "s/^(d$1) hvmtest: round \([0-9]*\) ok\$/\1/p" | tail -1; }
rounds_past() { local r; r=$(last_round "$1" "$3"); [ -n "$r" ] && [ "$r" -gt "$2" ]; }
no_fail() {
  local f
  f=$(${2:+at_dst} xl dmesg | grep "^(d$1) hvmtest: round .* FAIL")
  [ -z "$f" ] || { echo "$f" | sed 's/^/# /'; return 1; }
}
nr_domains() { xl list | tail -n +2 | wc -l; }
verify_image() {
  zcat "$1" >"$1.raw" || return 1
  PYTHONPATH=/usr/lib/xen-4.17/lib/python "$verify" -q -f xl -i "$1.raw"
}
# xen_records RAW: the typecodes in the libxc HVM_CONTEXT record of an uncompressed image.
xen_records() {
  python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
i = b.find(struct.pack('<HHII', 1, 0, 24, 0x54381286))  # HEADER descriptor, HVM_FILE_MAGIC
o, codes = i + 8 + 24, []
while o + 8 <= len(b):
    code, inst, ln = struct.unpack_from('<HHI', b, o)
    if code == 0:
        break
    codes.append(code); o += 8 + ln
print(' '.join(str(c) for c in sorted(set(codes))))
PY
}
# corrupt RAW OUT MODEL OFFSET FMT VALUE: OUT is RAW with the field at OFFSET of the last
# KXEN_SREC_DEVICE body of MODEL (after its 32-byte name) set to VALUE (struct format FMT).
corrupt() {
  python3 - "$@" <<'PY'
import struct, sys
raw, out, model, off, fmt, val = sys.argv[1:]
b = bytearray(open(raw, 'rb').read())
at = b.rfind(model.encode() + b'\0')
assert at > 0, model
struct.pack_into('<' + fmt, b, at + 32 + int(off, 0), int(val, 0))
open(out, 'wb').write(b)
PY
}
save_needs_cfg() {
  local out
  out=$(xl save hvms "$cfg.img" 2>&1) && return 1
  echo "$out" | grep -q 'give its config' || { echo "# $out"; return 1; }
}
refused() { # refused IMAGE NEEDLE: xl restore fails saying NEEDLE and leaves no domain
  local out n=$(nr_domains)
  out=$(xl restore "$1" "$cfg" 2>&1) && return 1
  echo "$out" | grep -q -- "$2" || { echo "# $out"; return 1; }
  [ "$(nr_domains)" = "$n" ] && ! guest_nodes_left | grep -q .
}

run() {
  local accel=$1 id id2 r did
  export KXEN_ACCEL=$accel
  check "$accel: xl create runs hvmtest in save mode" xl create -q "$d/hvms.cfg"
  id=$(xl domid hvms)
  wait_for 30 rounds_past "$id" 2
  check "$accel: the rounds pass" rounds_past "$id" 2
  check "$accel: xl save without a config is refused, naming the reason" save_needs_cfg
  check "$accel: xl save writes the image" xl save hvms "$d/hvms.img" "$d/hvms.cfg"
  r=$(last_round "$id")
  if foreign "$verify"; then
    check "$accel: Xen's verify-stream-v2 accepts the image" verify_image "$d/hvms.img"
  else
    skip "$accel: Xen's verify-stream-v2 accepts the image" "xen-utils-4.17 not installed"
    zcat "$d/hvms.img" >"$d/hvms.img.raw"
  fi
  local want="7 9 11 13" # PCI_IRQ, PCI_LINK, RTC, PMTIMER (acpi = 1, the default)
  [ "$accel" = kvm ] && want="3 4 6 7 9 10 11 13" # and PIC, IOAPIC, LAPIC_REGS, PIT
  check "$accel: HVM_CONTEXT holds Xen's records ($want)" \
    test "$(xen_records "$d/hvms.img.raw")" = "$want"
  check "$accel: xl restore brings the guest back" xl restore "$d/hvms.img" "$d/hvms.cfg"
  id2=$(xl domid hvms)
  wait_for 30 rounds_past "$id2" "$((r + 3))"
  check "$accel: the rounds go on after the restore (from $r)" rounds_past "$id2" "$((r + 3))"
  check "$accel: no round failed" no_fail "$id2"

  check "$accel: xl migrate moves the guest" \
    sh -c "xl migrate -C '$d/hvms.cfg' -s '$fakessh' hvms '$dst' >'$d/mig.out' 2>&1"
  sed 's/^/# /' "$d/mig.out"
  did=$(at_dst xl domid hvms)
  r=$(last_round "$id2")
  wait_for 30 rounds_past "$did" "$((r + 3))" dst
  check "$accel: the rounds go on at the destination (from $r)" rounds_past "$did" "$((r + 3))" dst
  check "$accel: no round failed at the destination" no_fail "$did" dst
  at_dst xl destroy hvms

  local raw=$d/hvms.img.raw
  if [ "$accel" = soft ]; then
    corrupt "$raw" "$d/c1.raw" piix3-ide 0x2110 I 0x10000 # channel 0 buf_pos
    check "soft: an IDE PIO position past its buffer is refused by name" \
      refused "$d/c1.raw" "piix3-ide): channel 0: PIO buffer position"
    corrupt "$raw" "$d/c2.raw" rtl8139 0x13a H 0x3000 # CBR
    check "soft: a NIC ring offset outside the ring is refused by name" \
      refused "$d/c2.raw" "rtl8139): receive ring write offset CBR"
    corrupt "$raw" "$d/c3.raw" piix3-ide 0x20 I 0xc003 # BAR4 with a memory bit
    check "soft: an impossible PCI BAR is refused by name" refused "$d/c3.raw" "PCI BAR4 is 0xc003"
    corrupt "$raw" "$d/c4.raw" cmos 14 B 0x90 # cmos_index
    check "soft: a CMOS index past the NVRAM is refused by name" refused "$d/c4.raw" "cmos_index 144"
  fi
  kxen-services stop >/dev/null 2>&1
  at_dst kxen-services stop >/dev/null 2>&1
}

run soft
if accel_usable kvm 2>/dev/null; then
  run kvm
else
  skip "kvm: save, restore and migrate of hvmtest" "kxend --accel kvm cannot start here"
fi
