#!/usr/bin/env bash
# Save, restore and live-migration figures for a 256 MiB savetest guest, each next to a
# reference from the same run: the save rate against writing the same stream raw to the same
# file system, the image size against `gzip -1` of it, restore time to the guest running, and
# migration downtime (suspend to the destination's copy running) of an idle and of a
# memory-writing guest (200 MiB rewritten without pause). kvm when usable, else soft.
#   bench/save/run.sh            (KXEN_BUILD = release build dir, set by bench/run-benches.sh)
set -u
build=$(realpath "${KXEN_BUILD:-build}")
export PATH=$build/bin:$PATH
guest=$build/tests/savetest.elf
for p in $build/bin/xl $build/bin/kxend $guest; do
  [ -e "$p" ] || { echo "bench/save: $p missing (make first)"; exit 1; }
done
accel=soft
[ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm
export KXEN_ACCEL=$accel
mem=256
src=$(mktemp -d /tmp/kxen-bench-save-XXXXXX)
dst=$src/dest-host
mkdir -p "$dst"
export KXEN_RUNDIR=$src XENSTORED_RUNDIR=$src
at_dst() { KXEN_RUNDIR=$dst XENSTORED_RUNDIR=$dst "$@"; }
cleanup() { kxen-services stop >/dev/null 2>&1; at_dst kxen-services stop >/dev/null 2>&1; rm -rf "$src"; }
trap cleanup EXIT
at_dst kxen-services start >/dev/null
kxen-services start >/dev/null
printf '#!/bin/sh\nhost=$1; shift\nKXEN_RUNDIR=$host XENSTORED_RUNDIR=$host exec sh -c "$*"\n' >"$src/ssh"
chmod +x "$src/ssh"
now_us() { echo $(( $(date +%s%N) / 1000 )); }
cfg() { printf 'name = "%s"\nkernel = "%s"\nmemory = %s\ncmdline = "%s"\n' "$1" "$guest" "$mem" "$2" >"$src/$1.cfg"; }
wait_line() { for _ in $(seq 400); do ${3:+at_dst} xl dmesg | grep -q "^(d$1) savetest: $2" && return 0; sleep 0.025; done; return 1; }

echo "accelerator $accel, guest RAM $mem MiB, $(nproc) cores"
cfg b1 ""
xl create -q "$src/b1.cfg"
id=$(xl domid b1)
wait_line "$id" "tick 2"
t0=$(now_us); xl save b1 "$src/b1.img" 2>/dev/null; t1=$(now_us)
save_us=$((t1 - t0))
img=$(stat -c %s "$src/b1.img")
zcat "$src/b1.img" >"$src/b1.stream"
stream=$(stat -c %s "$src/b1.stream")
t0=$(now_us); dd if="$src/b1.stream" of="$src/raw.copy" bs=1M conv=fsync status=none; t1=$(now_us)
raw_us=$((t1 - t0))
t0=$(now_us); gzip -1 -c "$src/b1.stream" >"$src/b1.gz"; t1=$(now_us)
gz=$(stat -c %s "$src/b1.gz"); gz_us=$((t1 - t0))
ram_mb=$mem
awk -v r="$ram_mb" -v s="$save_us" -v w="$raw_us" -v i="$img" -v g="$gz" -v gu="$gz_us" 'BEGIN {
  printf "save: %.2f GB/s of guest RAM (%d ms, incl. suspend and destroy); raw write of the same %d MiB stream: %.2f GB/s; ratio %.2f\n", r/1024/(s/1e6), s/1000, r, r/1024/(w/1e6), w/s
  printf "image: %d bytes; gzip -1 of the stream: %d bytes (%d ms single core); ratio %.2f\n", i, g, gu/1000, i/g }'
t0=$(now_us); xl restore -e "$src/b1.img" 2>/dev/null
id=$(xl domid b1); wait_line "$id" "resumed (rc=0)"; t1=$(now_us)
echo "restore: $(( (t1 - t0) / 1000 )) ms from xl restore to the guest running (reading $((stream >> 20)) MiB of stream)"
xl destroy b1

migrate() { # NAME CMDLINE LABEL
  cfg "$1" "$2"
  xl create -q "$src/$1.cfg"
  wait_line "$(xl domid "$1")" "tick 2"
  local out; out=$(xl migrate -s "$src/ssh" "$1" "$dst" 2>&1 | grep "stopped for")
  echo "migration, $3: ${out#migration sender: }"
  at_dst xl destroy "$1" 2>/dev/null
}
migrate idle "" "idle guest"
migrate busy "dirty=200" "guest rewriting 200 MiB"
echo "references: Xen reports 60-210 ms downtime, QEMU and Cloud Hypervisor default to a 300 ms limit"
