#!/usr/bin/env bash
# Para-virtual against emulated devices, same run, same accelerator, same image and peer:
#   block: one image written whole and read back through the emulated IDE disk by PIO and by
#          bus-master DMA (guests/hvmtest in bench mode, no Xen interface), then through
#          blkfront/blkback (guests/blktest mode=bench);
#   net:   the emulated RTL8139 (hvmtest) and netfront (guests/nettest) against the same host
#          tool (bench/net/pkt.py) on the same bridge: guest -> host throughput and round trips.
# Prints MB/s, round-trip times, exits per MB by kind (`xl vcpu-exits`) and the PV/emulated
# ratios, on soft and on kvm when /dev/kvm is usable. No timing is asserted.
#   bench/pvemu/run.sh   (KXEN_BUILD = release build dir, set by bench/run-benches.sh)
# Knobs: PVEMU_SOFT_MIB (default 8), PVEMU_KVM_MIB (4), PVEMU_SEQDEPTH (blkfront's 1 MiB
# requests in flight in the second blkfront run; the first has 1, as IDE has one command;
# default 4), PVEMU_IMG_DIR (where the images are: default /dev/shm, empty: the run
# directory under /tmp), PVEMU_FRAMES
# (2000), PVEMU_TRIPS (300), PVEMU_NO_SOFT=1, PVEMU_NO_KVM=1, PVEMU_NO_NET=1,
# PVEMU_NO_BLOCK=1, PVEMU_KEEP=1 (keep the run directory: guest logs, exit readings).
set -u
if [ -z "${KXEN_NET_NS:-}" ] && [ -z "${PVEMU_NO_NET:-}" ]; then
  if unshare --net --mount --propagation private true 2>/dev/null; then
    KXEN_NET_NS=1 exec unshare --net --mount --propagation private "$0" "$@"
  fi
  echo "  (no network namespace here: the net part is skipped)"
  PVEMU_NO_NET=1
fi
[ -n "${KXEN_NET_NS:-}" ] && mount -t sysfs sysfs /sys 2>/dev/null
build=$(realpath -m "${KXEN_BUILD:-build}")
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/bin
export PATH=$bin:$PATH
pvemu_hvmtest=$build/tests/hvmtest.elf
blktest=$build/guests/blktest.elf nettest=$build/guests/nettest.elf
for p in "$bin/xl" "$bin/kxen-services" "$pvemu_hvmtest" "$blktest" "$nettest"; do
  [ -e "$p" ] || { echo "bench/pvemu: $p missing (make first)"; exit 1; }
done
seqdepth=${PVEMU_SEQDEPTH:-4}
# The images live in memory (tmpfs) unless PVEMU_IMG_DIR says otherwise: the IDE model reads
# and writes through the host's page cache and blkback with O_DIRECT, so on a disk-backed
# file the two would measure different host I/O, not the two device models.
shm=${PVEMU_IMG_DIR-/dev/shm}
[ -n "$shm" ] && { [ -d "$shm" ] && [ -w "$shm" ] || shm=; }
frames=${PVEMU_FRAMES:-2000}
trips=${PVEMU_TRIPS:-300}
status=0

# field FILE NAME N: the Nth word after "bench NAME" / "blkbench NAME" in FILE.
field() { awk -v n="$2" -v k="$3" '($1 == "bench" || $1 == "blkbench") && $2 == n { print $(2 + k); exit }' "$1"; }
# per_mb "IO MMIO HC HALT OTHER" BYTES: each count per MB (10^6 bytes), one decimal.
per_mb() { echo "$1" | awk -v b="$2" '{ for (i = 1; i <= 5; i++) printf "%s%10.1f", (i > 1 ? " " : ""), (b ? $i * 1e6 / b : 0) }'; }
# row NAME KB/s EXITS BYTES US
row() {
  local us_per_exit
  us_per_exit=$(echo "$3" | awk -v u="$5" '{ n = $1 + $2 + $3 + $4 + $5; printf "%8.2f", n ? u / n : 0 }')
  printf '    %-16s %9.1f MB/s  exits/MB %s   us/exit %s\n' "$1" "$(awk -v k="$2" 'BEGIN { print k * 1.024 / 1000 }')" \
    "$(per_mb "$3" "$4")" "$us_per_exit"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else printf "-" }'; }

# image FILE MIB: FILE made MIB long and written through once, so that no path pays the file
# system's first allocation of its blocks.
image() {
  rm -f "$1"
  dd if=/dev/zero of="$1" bs=1M count="$2" status=none
}

bench_block() {
  local accel=$1 mib=$2 bytes pd s w r d
  bytes=$((mib << 20))
  image "$imgdir/disk.img" "$mib"
  echo "  block, $accel: a ${mib} MiB image written whole, then read; exits/MB columns: IO MMIO Hypercall Halt Other"
  for p in pio dma; do
    if ! pvemu_hvm "hvm$p" "path=$p seed=1 check=0" "$imgdir/disk.img"; then
      echo "    $p: FAILED"; sed 's/^/      /' "$pvemu_dir/hvm$p.log"; status=1; continue
    fi
    row "ide-$p write" "$(field "$pvemu_dir/hvm$p.log" "${p}_write" 1)" "$(pvemu_phase "hvm$p" start read)" \
      "$bytes" "$(field "$pvemu_dir/hvm$p.log" "${p}_write" 5)"
    row "ide-$p read" "$(field "$pvemu_dir/hvm$p.log" "${p}_read" 1)" "$(pvemu_phase "hvm$p" read end)" \
      "$bytes" "$(field "$pvemu_dir/hvm$p.log" "${p}_read" 5)"
  done
  # blkfront: the whole guest run at mib and at 2 * mib; the difference is the extra image's
  # write and read (boot, xenstore and the connection cancel out). Then at each other depth.
  for s in 1 2; do
    image "$imgdir/pv$s.img" $((mib * s))
    pvemu_pv "blk$s" "$blktest" \
      "extra = \"mode=bench ops=0 hold=1 warm=1 seqdepth=1\"
disk = [ \"$imgdir/pv$s.img,raw,xvda,rw\" ]" "blkbench done" ||
      { echo "    blkfront: FAILED"; sed 's/^/      /' "$pvemu_dir/blk$s.log"; status=1; return; }
  done
  pd=$(paste -d' ' "$pvemu_dir/blk2.exits" "$pvemu_dir/blk1.exits" | awk '{ print $1 - $6, $2 - $7, $3 - $8, $4 - $9, $5 - $10 }')
  for d in $(echo 1 "$seqdepth" | tr ' ' '\n' | uniq); do
    [ "$d" = 1 ] || pvemu_pv "blkd$d" "$blktest" \
      "extra = \"mode=bench ops=0 hold=1 warm=1 seqdepth=$d\"
disk = [ \"$imgdir/pv2.img,raw,xvda,rw\" ]" "blkbench done" ||
      { echo "    blkfront depth $d: FAILED"; sed 's/^/      /' "$pvemu_dir/blkd$d.log"; status=1; continue; }
    local log=$pvemu_dir/blk2.log
    [ "$d" = 1 ] || log=$pvemu_dir/blkd$d.log
    w=$(field "$log" seqwrite_1m 1) r=$(field "$log" seqread_1m 1)
    printf '    %-16s %9.1f MB/s  (%s in flight)\n' "blkfront write" "$(awk -v k="$w" 'BEGIN { print k * 1.024 / 1000 }')" "$d"
    printf '    %-16s %9.1f MB/s  (%s in flight)' "blkfront read" "$(awk -v k="$r" 'BEGIN { print k * 1.024 / 1000 }')" "$d"
    [ "$d" = 1 ] && printf '  exits/MB %s   (both directions, from the 2x image run)' "$(per_mb "$pd" $((2 * bytes)))"
    echo
    printf '    PV/emulated, %s in flight: write %sx PIO, %sx DMA; read %sx PIO, %sx DMA\n' "$d" \
      "$(ratio "$w" "$(field "$pvemu_dir/hvmpio.log" pio_write 1)")" \
      "$(ratio "$w" "$(field "$pvemu_dir/hvmdma.log" dma_write 1)")" \
      "$(ratio "$r" "$(field "$pvemu_dir/hvmpio.log" pio_read 1)")" \
      "$(ratio "$r" "$(field "$pvemu_dir/hvmdma.log" dma_read 1)")"
  done
}

run_accel() {
  local accel=$1 mib=$2
  pvemu_dir=$(mktemp -d /tmp/kxen-bench-pvemu-XXXXXX)
  imgdir=$pvemu_dir
  [ -n "$shm" ] && imgdir=$(mktemp -d "$shm/kxen-bench-pvemu-XXXXXX")
  truncate -s 1M "$pvemu_dir/disk.img"
  export KXEN_RUNDIR=$pvemu_dir XENSTORED_RUNDIR=$pvemu_dir KXEN_ACCEL=$accel
  kxen-services start >/dev/null || { echo "  $accel: services did not start"; rm -rf "$pvemu_dir"; return; }
  if [ "$(xl info | awk '/^accelerator/ { print $3 }')" != "$accel" ]; then
    echo "  $accel: not available on this host"
  else
    [ -n "${PVEMU_NO_BLOCK:-}" ] || bench_block "$accel" "$mib"
    [ -n "${PVEMU_NO_NET:-}" ] || bench_net "$accel"
  fi
  kxen-services stop >/dev/null 2>&1
  [ "$imgdir" = "$pvemu_dir" ] || rm -rf "$imgdir"
  [ -n "${PVEMU_KEEP:-}" ] && echo "  (kept $pvemu_dir)" || rm -rf "$pvemu_dir"
}

pvemu_dir=/nonexistent
. "$here/lib.sh"
. "$here/net.sh"
[ -n "${PVEMU_NO_NET:-}" ] || net_setup
[ -n "${PVEMU_NO_SOFT:-}" ] || run_accel soft "${PVEMU_SOFT_MIB:-8}"
if [ -n "${PVEMU_NO_KVM:-}" ]; then
  :
elif [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
  run_accel kvm "${PVEMU_KVM_MIB:-4}"
else
  echo "  kvm: no usable /dev/kvm"
fi
exit $status
