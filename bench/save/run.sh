#!/usr/bin/env bash
# Save, restore and live-migration figures for a 256 MiB savetest guest, on soft and on kvm
# (when usable) in the same run, each next to a reference from the same run: the save rate of
# a guest holding 200 MiB of data against writing the same stream raw to the same file system,
# the image size against `gzip -1` of it, restore time to the guest running against reading
# the image (zcat), and the total time, pre-copy rounds and guest downtime (last instruction
# on the source to the first on the destination, docs/migration.md) of an idle and of a
# memory-writing guest (200 MiB rewritten without pause).
#   bench/save/run.sh            (KXEN_BUILD = release build dir, set by bench/run-benches.sh)
set -u
build=$(realpath "${KXEN_BUILD:-build}")
export PATH=$build/bin:$PATH
guest=$build/tests/savetest.elf
for p in $build/bin/xl $build/bin/kxend $guest; do
  [ -e "$p" ] || { echo "bench/save: $p missing (make first)"; exit 1; }
done
mem=256
src=$(mktemp -d /tmp/kxen-bench-save-XXXXXX)
dst=$src/dest-host
mkdir -p "$dst"
export KXEN_RUNDIR=$src XENSTORED_RUNDIR=$src
at_dst() { KXEN_RUNDIR=$dst XENSTORED_RUNDIR=$dst "$@"; }
stop_hosts() { kxen-services stop >/dev/null 2>&1; at_dst kxen-services stop >/dev/null 2>&1; }
trap 'stop_hosts; rm -rf "$src"' EXIT
printf '#!/bin/sh\nhost=$1; shift\nKXEN_RUNDIR=$host XENSTORED_RUNDIR=$host exec sh -c "$*"\n' >"$src/ssh"
chmod +x "$src/ssh"
now_us() { echo $(($(date +%s%N) / 1000)); }
cfg() { printf 'name = "%s"\nkernel = "%s"\nmemory = %s\ncmdline = "%s"\n' "$1" "$guest" "$mem" "$2" >"$src/$1.cfg"; }
wait_line() { for _ in $(seq 800); do ${3:+at_dst} xl dmesg | grep -q "^(d$1) savetest: $2" && return 0; sleep 0.025; done; return 1; }

run() { # ACCEL
  export KXEN_ACCEL=$1
  stop_hosts
  at_dst kxen-services start >/dev/null # the destination first: guests see its younger clock
  kxen-services start >/dev/null
  echo "-- accelerator $1, guest RAM $mem MiB, $(nproc) cores"
  # Save: a guest paused by the toolstack (nosuspend) while rewriting 200 MiB, so its memory
  # holds data and the figure is the toolstack's own (no wait for the guest's suspend).
  cfg b1 "nosuspend dirty=200"
  xl create -q "$src/b1.cfg"
  wait_line "$(xl domid b1)" "tick 2"
  local out t0 t1
  out=$(xl save b1 "$src/b1.img" 2>&1 | sed -n 's/.*domain stopped for \([0-9.]*\) ms.*/\1/p')
  zcat "$src/b1.img" >"$src/b1.stream"
  local img stream
  img=$(stat -c %s "$src/b1.img")
  stream=$(stat -c %s "$src/b1.stream")
  t0=$(now_us); dd if="$src/b1.stream" of="$src/raw.copy" bs=1M conv=fsync status=none; t1=$(now_us)
  local raw_us=$((t1 - t0))
  t0=$(now_us); gzip -1 -c "$src/b1.stream" >"$src/b1.gz"; t1=$(now_us)
  local gz gz_us=$((t1 - t0))
  gz=$(stat -c %s "$src/b1.gz")
  rm -f "$src/raw.copy" "$src/b1.gz"
  awk -v s="$stream" -v ms="$out" -v w="$raw_us" -v i="$img" -v g="$gz" -v gu="$gz_us" 'BEGIN {
    printf "save: %d MiB stream in %.0f ms = %.2f GB/s; raw write of it (dd, fsync): %.2f GB/s; ratio %.2f\n", s/1048576, ms, s/1e9/(ms/1e3), s/1e9/(w/1e6), (s/1e9/(ms/1e3))/(s/1e9/(w/1e6))
    printf "image: %d bytes; gzip -1 of the stream: %d bytes (%d ms, one core); ratio %.2f\n", i, g, gu/1000, i/g }'
  t0=$(now_us); zcat "$src/b1.img" >/dev/null; t1=$(now_us)
  local read_us=$((t1 - t0))
  t0=$(now_us); xl restore -e "$src/b1.img" >/dev/null 2>&1
  t1=$(now_us)
  echo "restore: $(((t1 - t0) / 1000)) ms from xl restore to the guest running; reading the image alone (zcat): $((read_us / 1000)) ms"
  xl destroy b1
  rm -f "$src/b1.img" "$src/b1.stream"
  for kind in idle busy; do
    local cmd="" label="idle guest"
    [ $kind = busy ] && cmd="dirty=200" label="guest rewriting 200 MiB"
    cfg "$kind" "$cmd"
    xl create -q "$src/$kind.cfg"
    wait_line "$(xl domid "$kind")" "tick 2"
    out=$(xl migrate -s "$src/ssh" "$kind" "$dst" 2>&1 | grep "stopped for")
    echo "migration, $label: ${out#migration sender: }"
    at_dst xl destroy "$kind" 2>/dev/null
  done
}

run soft
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then run kvm; else echo "-- kvm: /dev/kvm is not usable here"; fi
echo "references: Xen reports 60-210 ms downtime, QEMU and Cloud Hypervisor default to a 300 ms limit"
