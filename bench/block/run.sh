#!/usr/bin/env bash
# Block figures: a guest's blkfront through drivers/block's blkback (served by blk-harness)
# against the host's own pread/pwrite on the same image file, same request sizes and depths
# (blk_hostref), measured in the same run: sequential 1 MiB writes and reads (4 in flight),
# 4 KiB random reads at queue depth 1 and 32. Soft, then kvm when kxend can use it.
#   bench/block/run.sh   (KXEN_BUILD = release build dir, set by bench/run-benches.sh)
set -u
build=$(realpath -m "${KXEN_BUILD:-build}")
bin=$build/bin
export PATH=$bin:$PATH
H=$build/tests/blk-harness R=$build/bench/blk_hostref G=$build/guests/blktest.elf
for p in "$bin/xl" "$bin/kxen-services" "$H" "$R" "$G"; do
  [ -e "$p" ] || { echo "bench/block: $p missing (make first)"; exit 1; }
done
ops=${BLK_BENCH_OPS:-2000}

# rows FILE: "NAME VALUE UNIT" from blkbench lines (guest console or host reference).
rows() { sed -n 's/.*blkbench \([a-z0-9_]*\) \([0-9]*\) \([A-Za-z/]*\).*/\1 \2 \3/p' "$1"; }

bench_accel() {
  local accel=$1 mib=$2 extra=$3 rundir hpid id
  rundir=$(mktemp -d /tmp/kxen-bench-blk-XXXXXX)
  export KXEN_RUNDIR=$rundir XENSTORED_RUNDIR=$rundir KXEN_ACCEL=$accel
  kxen-services start >/dev/null || { echo "  $accel: services did not start"; rm -rf "$rundir"; return; }
  if [ "$(xl info | awk '/^accelerator/ { print $3 }')" != "$accel" ]; then
    echo "  $accel: not available on this host"; kxen-services stop >/dev/null 2>&1; rm -rf "$rundir"; return
  fi
  img=$rundir/disk.img
  fallocate -l "${mib}M" "$img"
  printf 'name = "blkbench"\nkernel = "%s"\nmemory = 32\nextra = "mode=bench ops=%s %s"\n' "$G" "$ops" "$extra" >"$rundir/g.cfg"
  xl create -q -p "$rundir/g.cfg" && id=$(xl domid blkbench)
  "$H" "$id:51712:$img:w" >"$rundir/h.out" 2>"$rundir/h.log" &
  hpid=$!
  for _ in $(seq 100); do grep -qs ready "$rundir/h.out" && break; sleep 0.1; done
  xl unpause blkbench
  for _ in $(seq 600); do xl dmesg | grep -q "(d$id) blkbench done" && break; sleep 0.5; done
  xl dmesg | grep "(d$id) blkbench" >"$rundir/guest.txt"
  kill "$hpid"; wait "$hpid" 2>/dev/null
  xl destroy blkbench >/dev/null 2>&1
  kxen-services stop >/dev/null 2>&1
  "$R" "$img" "$ops" >"$rundir/host.txt"
  echo "  $accel, ${mib} MiB image, $ops random reads per depth, guest options '$extra':"
  join <(rows "$rundir/guest.txt" | sort) <(rows "$rundir/host.txt" | sort) |
    awk '{ printf "    %-14s guest %9d %-5s  host pread/pwrite %9d %-5s  guest/host %6.3f\n", $1, $2, $3, $4, $5, ($4 ? $2 / $4 : 0) }'
  grep -q "rc=0 errors=0" "$rundir/guest.txt" || echo "    guest reported errors: $(cat "$rundir/guest.txt")"
  rm -rf "$rundir"
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
