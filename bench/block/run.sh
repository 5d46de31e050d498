#!/usr/bin/env bash
# Block figures: a guest's blkfront through drivers/block's blkback (kxen-devd, disk= in xl.cfg)
# against the host's own pread/pwrite on the same image file, same request sizes and depths
# (blk_hostref), measured in the same run: sequential 1 MiB writes and reads
# (BLK_BENCH_SEQ_DEPTH in flight, default 4),
# 4 KiB random reads at queue depth 1 and 32. Soft, then kvm when kxend can use it. The image
# is made in BLK_BENCH_DIR (default /tmp; a tmpfs such as /dev/shm takes blkback's path for
# images in memory, served on its event loop).
#   bench/block/run.sh   (KXEN_BUILD = release build dir, set by bench/run-benches.sh)
set -u
build=$(realpath -m "${KXEN_BUILD:-build}")
bin=$build/bin
export PATH=$bin:$PATH
R=$build/bench/blk_hostref G=$build/guests/blktest.elf
for p in "$bin/xl" "$bin/kxen-services" "$bin/kxen-devd" "$R" "$G"; do
  [ -e "$p" ] || { echo "bench/block: $p missing (make first)"; exit 1; }
done
ops=${BLK_BENCH_OPS:-2000}
seqdepth=${BLK_BENCH_SEQ_DEPTH:-4}
status=0

# rows FILE: "NAME VALUE UNIT" from blkbench lines (guest console or host reference).
rows() { sed -n 's/.*blkbench \([a-z0-9_]*\) \([0-9]*\) \([A-Za-z/]*\).*/\1 \2 \3/p' "$1"; }

bench_accel() {
  local accel=$1 mib=$2 extra=$3 rundir id
  rundir=$(mktemp -d /tmp/kxen-bench-blk-XXXXXX)
  imgdir=$(mktemp -d "${BLK_BENCH_DIR:-/tmp}/kxen-bench-img-XXXXXX")
  export KXEN_RUNDIR=$rundir XENSTORED_RUNDIR=$rundir KXEN_ACCEL=$accel
  kxen-services start >/dev/null || { echo "  $accel: services did not start"; rm -rf "$rundir" "$imgdir"; return; }
  if [ "$(xl info | awk '/^accelerator/ { print $3 }')" != "$accel" ]; then
    echo "  $accel: not available on this host"; kxen-services stop >/dev/null 2>&1; rm -rf "$rundir" "$imgdir"; return
  fi
  img=$imgdir/disk.img
  # Written through once, so that neither side's writes pay the file system's conversion of
  # fallocated (unwritten) extents: the guest's pass runs first and would otherwise pay it
  # alone (a first 1 MiB O_DIRECT write pass on ext4 ran at a third of the second's speed).
  fallocate -l "${mib}M" "$img"
  dd if=/dev/zero of="$img" bs=1M count="$mib" conv=notrunc oflag=direct status=none 2>/dev/null ||
    dd if=/dev/zero of="$img" bs=1M count="$mib" conv=notrunc status=none
  printf 'name = "blkbench"\nkernel = "%s"\nmemory = 32\nextra = "mode=bench ops=%s seqdepth=%s %s"\ndisk = [ "%s,raw,xvda,rw" ]\n' \
    "$G" "$ops" "$seqdepth" "$extra" "$img" >"$rundir/g.cfg"
  xl create -q "$rundir/g.cfg" && id=$(xl domid blkbench)
  for _ in $(seq 600); do xl dmesg | grep -q "(d$id) blkbench done" && break; sleep 0.5; done
  xl dmesg | grep "(d$id) blkbench" >"$rundir/guest.txt"
  xl destroy blkbench >/dev/null 2>&1
  kxen-services stop >/dev/null 2>&1
  "$R" "$img" "$ops" "$seqdepth" >"$rundir/host.txt"
  echo "  $accel, ${mib} MiB image in $(stat -f -c %T "$imgdir"), $seqdepth sequential requests in flight, $ops random reads per depth, guest options '$extra':"
  join <(rows "$rundir/guest.txt" | sort) <(rows "$rundir/host.txt" | sort) |
    awk '{ printf "    %-14s guest %9d %-5s  host pread/pwrite %9d %-5s  guest/host %6.3f\n", $1, $2, $3, $4, $5, ($4 ? $2 / $4 : 0) }'
  if ! grep -q "blkbench done" "$rundir/guest.txt" || grep "rc=" "$rundir/guest.txt" | grep -qv "rc=0 errors=0"; then
    echo "    FAILED: the guest did not finish cleanly:"; sed 's/^/      /' "$rundir/guest.txt"; status=1
  fi
  rm -rf "$rundir" "$imgdir"
}

# Linux's defaults (persistent grants: blkback maps each new gref on its own and keeps up to
# 1056 per ring, so the first pass over the guest's 4 MiB of buffers pays 1024 single-page
# maps), then without them (one map call per request, unmapped after it).
for opts in "persistent=1" "persistent=0"; do
  [ -n "${BLK_BENCH_NO_SOFT:-}" ] || bench_accel soft "${BLK_BENCH_SOFT_MIB:-32}" "$opts"
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    bench_accel kvm "${BLK_BENCH_KVM_MIB:-4}" "$opts"
  else
    echo "  kvm: no usable /dev/kvm"
  fi
done
exit $status
