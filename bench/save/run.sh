#!/usr/bin/env bash
# Save, restore and live-migration figures for a 256 MiB savetest guest, on soft and on kvm
# (when usable) in the same run, each next to a reference from the same run: the save rate of
# a guest holding 200 MiB of data against writing the same stream raw to the same file system,
# the image size against `gzip -1` of it, restore time to the guest running against reading
# the image (zcat), split by `xl -v restore` into its pages and the rest (for that image and
# for an idle guest's), and the total time, pre-copy rounds and guest downtime (last
# instruction on the source to the first on the destination, docs/migration.md) of an idle
# and of a memory-writing guest (200 MiB rewritten without pause), with `xl -v migrate`'s
# split of the idle guest's stop. Restores and idle migrations run RUNS times (default 5) and
# the median run is printed, with the fastest: other load on the host moves single runs.
#   bench/save/run.sh            (KXEN_BUILD = release build dir, set by bench/run-benches.sh)
set -u
build=$(realpath "${KXEN_BUILD:-build}")
export PATH=$build/bin:$PATH
guest=$build/tests/savetest.elf
for p in $build/bin/xl $build/bin/kxend $guest; do
  [ -e "$p" ] || { echo "bench/save: $p missing (make first)"; exit 1; }
done
mem=256
runs=${RUNS:-5}
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
  restores b1 "$src/b1.img" "200 MiB of data"
  rm -f "$src/b1.img" "$src/b1.stream"
  # An idle guest's image: nearly every page is zero, so what is left is the rest.
  cfg b2 "nosuspend"
  xl create -q "$src/b2.cfg"
  wait_line "$(xl domid b2)" "tick 2"
  xl save b2 "$src/b2.img" >/dev/null 2>&1
  restores b2 "$src/b2.img" "idle"
  rm -f "$src/b2.img"
  idle_migrations
  cfg busy "dirty=200"
  xl create -q "$src/busy.cfg"
  wait_line "$(xl domid busy)" "tick 2"
  out=$(xl migrate -s "$src/ssh" busy "$dst" 2>&1 | grep "stopped for")
  echo "migration, guest rewriting 200 MiB: ${out#migration sender: }"
  at_dst xl destroy busy 2>/dev/null
}

# restores NAME IMAGE LABEL: `xl -v restore` of IMAGE $runs times; the median run (by the
# time from starting xl to the guest running) with its split, the fastest, and zcat of IMAGE.
restores() {
  local t0 t1 i
  : >"$src/restores"
  for i in $(seq "$runs"); do
    t0=$(now_us)
    line=$(xl -v restore -e "$2" 2>&1 | grep "running after")
    t1=$(now_us)
    echo "$((t1 - t0)) $line" >>"$src/restores"
    xl destroy "$1"
  done
  t0=$(now_us); zcat "$2" >/dev/null; t1=$(now_us)
  sort -n "$src/restores" | awk -v n="$runs" -v label="$3" -v zcat_us=$((t1 - t0)) '
    function num(key,   s) { s = $0; sub(".*" key " ", "", s); return s + 0 }
    NR == 1 { best = $1 / 1000; best_rest = num("the rest") }
    NR == int((n + 1) / 2) {
      printf "restore, %s image (median of %d): %.1f ms from starting xl to the guest running; reading the image alone (zcat): %.1f ms\n", label, n, $1 / 1000, zcat_us / 1000
      printf "  xl -v: its pages %.1f ms, the rest %.1f ms (goal: 10 ms) = xl start and services %.1f, head and config %.1f, domain %.1f, xenstore tree %.1f, kxend state %.1f, introduce %.1f, backends %.1f, unpause %.1f\n", num("its pages"), num("the rest"), num("xl start and services"), num("head and config"), num("domain"), num("xenstore tree"), num("kxend state"), num("introduce"), num("backends"), num("unpause")
    }
    END { printf "  fastest of %d: %.1f ms, the rest %.1f ms\n", n, best, best_rest }'
}

# idle_migrations: an idle guest migrated $runs times, there and back; the median run's
# summary (by the time the domain was stopped) and the split of that stop (xl -v migrate).
idle_migrations() {
  local i from=$src to=$dst
  cfg idle ""
  xl create -q "$src/idle.cfg"
  wait_line "$(xl domid idle)" "tick 2"
  : >"$src/migrations"
  for i in $(seq "$runs"); do
    out=$(KXEN_RUNDIR=$from XENSTORED_RUNDIR=$from xl -v migrate -s "$src/ssh" idle "$to" 2>&1)
    sum=$(grep "stopped for" <<<"$out")
    split=$(grep "stopped [0-9.]* ms =" <<<"$out")
    stop=$(sed -n 's/.*domain stopped for \([0-9.]*\) ms.*/\1/p' <<<"$sum")
    echo "${stop:-0}|${sum#migration sender: }|${split#migration sender: }" >>"$src/migrations"
    local t=$from; from=$to; to=$t
  done
  KXEN_RUNDIR=$from XENSTORED_RUNDIR=$from xl destroy idle 2>/dev/null
  sort -t'|' -k1,1n "$src/migrations" | awk -F'|' -v n="$runs" '
    NR == 1 { best = $1 }
    NR == int((n + 1) / 2) { printf "migration, idle guest (median of %d): %s\n  xl -v: %s\n", n, $2, $3 }
    END { printf "  fastest of %d: stopped %.1f ms\n", n, best }'
}

run soft
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then run kvm; else echo "-- kvm: /dev/kvm is not usable here"; fi
echo "references: Xen reports 60-210 ms downtime, QEMU and Cloud Hypervisor default to a 300 ms limit"
