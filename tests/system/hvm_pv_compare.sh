#!/usr/bin/env bash
# The emulated and the para-virtual disk paths move the same bytes through one image, and the
# exit counters tell them apart (bench/pvemu's guests, short and unchecked for time): hvmtest in
# bench mode writes the image by IDE PIO, reads it back by bus-master DMA and writes it again,
# blktest reads that through blkfront and writes it again, and hvmtest reads that by DMA; the
# host checks the whole image after each writer. `xl vcpu-exits` must show port exits for each
# PIO sector, far fewer for DMA, and none on the blkfront path (its notifications are
# hypercalls). On soft, and on kvm when kxend can use it.
. "$KXEN_SRC/tests/system/xl_common.sh"
export pvemu_hvmtest=$KXEN_BUILD/tests/hvmtest.elf
blktest=$guests/blktest.elf
[ -r "$pvemu_hvmtest" ] && [ -r "$blktest" ] || skip_all "hvmtest or blktest not built"
command -v python3 >/dev/null || skip_all "no python3 to check the image"
pvemu_dir=$KXEN_RUNDIR/pvemu
mkdir -p "$pvemu_dir"
. "$KXEN_SRC/bench/pvemu/lib.sh"
sectors=512 # a 256 KiB image

# holds SEED: every 8-byte word at offset o of the image is o ^ (SEED * 0x9e3779b97f4a7c15).
holds() {
  python3 - "$pvemu_dir/disk.img" "$1" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
k = (int(sys.argv[2]) * 0x9e3779b97f4a7c15) & (2**64 - 1)
words = struct.unpack('<%dQ' % (len(data) // 8), data)
sys.exit(0 if all(w == (i * 8) ^ k for i, w in enumerate(words)) else 1)
PY
}
# io NAME FROM TO: port exits between two of hvmtest's marks, without its console's.
io() { pvemu_phase "$1" "$2" "$3" | awk '{ print $1 }'; }
pv_io() { awk '{ print $1 }' "$pvemu_dir/$1.exits"; }
pv_hc() { awk '{ print $3 }' "$pvemu_dir/$1.exits"; }
blk_cfg() { printf 'extra = "mode=%s seed=%s hold=1"\ndisk = [ "%s,raw,xvda,rw" ]' "$1" "$2" "$pvemu_dir/disk.img"; }
show() { sed 's/^/# /' "$pvemu_dir/$1.log"; }
hvm() { pvemu_hvm "$@" || { show "$1"; return 1; }; }
pv() { pvemu_pv "$@" || { show "$1"; return 1; }; }

run_accel() {
  local accel=$1 q="clock=0 quiet=200" n
  export KXEN_ACCEL=$accel
  truncate -s 0 "$pvemu_dir/disk.img" && truncate -s $((sectors * 512)) "$pvemu_dir/disk.img"
  check "$accel: hvmtest writes the image by IDE PIO and reads it back" \
    hvm hpio "path=pio seed=5 $q" "$pvemu_dir/disk.img"
  check "$accel: the host finds the PIO writes in the image" holds 5
  n=$(io hpio start read)
  echo "# $accel: PIO write of $sectors sectors: $n port exits"
  check "$accel: at least one port exit per sector written by PIO" test "${n:-0}" -ge $sectors
  check "$accel: hvmtest reads the PIO writes by DMA and writes the image again by DMA" \
    hvm hdma "path=dma verify=5 seed=6 $q" "$pvemu_dir/disk.img"
  check "$accel: the host finds the DMA writes in the image" holds 6
  n=$(io hdma start read)
  echo "# $accel: DMA write of $sectors sectors: $n port exits"
  check "$accel: a DMA write costs fewer port exits than one per sector" test "${n:-$sectors}" -lt $sectors
  check "$accel: blkfront reads the DMA writes" pv bver "$blktest" "$(blk_cfg verify 6)" "blktest: holding"
  check "$accel: blktest found the pattern" grep -q "^ok .*verify the disk's pattern" "$pvemu_dir/bver.log"
  check "$accel: blkfront writes and reads the whole image" pv brw "$blktest" "$(blk_cfg rw 7)" "blktest: holding"
  check "$accel: blktest's checks pass" eval '! grep -q "^not ok" "$pvemu_dir/brw.log"'
  check "$accel: the host finds blkfront's writes in the image" holds 8
  echo "# $accel: blkfront runs: port exits $(pv_io bver) and $(pv_io brw), hypercalls $(pv_hc bver) and $(pv_hc brw)"
  check "$accel: the blkfront path makes no port exit" test "$(pv_io bver)$(pv_io brw)" = 00
  check "$accel: its notifications are hypercalls" test "$(pv_hc brw)" -gt 0
  check "$accel: hvmtest reads blkfront's writes by DMA" \
    hvm hdma2 "path=dma verify=8 seed=9 $q" "$pvemu_dir/disk.img"
  kxen-services stop >/dev/null 2>&1
}

run_accel soft
if accel_usable kvm 2>/dev/null; then
  run_accel kvm
else
  skip "kvm: the same paths on kvm" "kxend --accel kvm cannot start here"
fi
