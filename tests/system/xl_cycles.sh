#!/usr/bin/env bash
# 50 create/boot/destroy cycles of the hello guest: afterwards kxend, xenstored and xenconsoled
# hold the same number of fds (no memfd left), kxend the same number of threads, the store the
# same number of nodes, no per-domain monitor is left, and kxend's memory is back near its
# baseline.
. "$KXEN_SRC/tests/system/xl_common.sh"
cycles=${XL_CYCLES:-50}
# Freed memory parked in ASan's quarantine would hide the baseline: keep it tiny here.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=1"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
write_cfg "$d/cycle.cfg" cycle

pid() { cat "$KXEN_RUNDIR/$1.pid"; }
nfds() { ls "/proc/$(pid "$1")/fd" | wc -l; }
memfds() { ls -l "/proc/$(pid kxend)/fd" | grep -c memfd; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$(pid kxend)/status"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$(pid kxend)/status"; }
shmem_kb() { awk '/^RssShmem:/ { print $2 }' "/proc/$(pid kxend)/status"; }
monitors() { pgrep -f "xl create -q $d/cycle.cfg" | wc -l; }
no_monitors() { [ "$(monitors)" -eq 0 ]; }
booted() { [ "$(console_count cycle 'waiting for control/shutdown')" -ge "$1" ]; }

# One cycle: create, wait until the guest runs its xenstore watch, destroy.
cycle() {
  xl create -q "$d/cycle.cfg" || return 1
  wait_for 30 booted "$1" || return 1
  xl destroy cycle || return 1
}

# Warm-up: the first domain creates lazily allocated state in every daemon.
cycle 1 || { not_ok "warm-up cycle"; exit 1; }
wait_for 10 no_monitors
sleep 0.3
base_kxend=$(nfds kxend) base_xsd=$(nfds xenstored) base_xcd=$(nfds xenconsoled)
base_threads=$(threads) base_rss=$(rss_kb) base_shmem=$(shmem_kb) base_nodes=$(xs_nodes | wc -l)
start=$(date +%s%N)
failed=0
for ((i = 2; i <= cycles + 1; i++)); do
  cycle "$i" || { failed=$i; break; }
done
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "$cycles create/boot/destroy cycles all succeeded" test "$failed" -eq 0
echo "# $cycles cycles in $elapsed_ms ms ($(( elapsed_ms / cycles )) ms each, sanitized build)"
wait_for 10 no_monitors
sleep 0.3
check "no domain is left" test "$(xl list | awk 'NR > 2' | wc -l)" -eq 0
check "no per-domain monitor process is left" test "$(monitors)" -eq 0
check "kxend fds back to baseline ($base_kxend -> $(nfds kxend))" test "$(nfds kxend)" -eq "$base_kxend"
check "kxend holds no guest memfd" test "$(memfds)" -eq 0
check "kxend threads back to baseline ($base_threads -> $(threads))" test "$(threads)" -eq "$base_threads"
check "xenstored fds back to baseline ($base_xsd -> $(nfds xenstored))" test "$(nfds xenstored)" -eq "$base_xsd"
check "xenconsoled fds back to baseline ($base_xcd -> $(nfds xenconsoled))" test "$(nfds xenconsoled)" -eq "$base_xcd"
check "xenstore node count back to baseline ($base_nodes -> $(xs_nodes | wc -l))" test "$(xs_nodes | wc -l)" -eq "$base_nodes"
growth=$(( $(rss_kb) - base_rss ))
echo "# kxend RSS: $base_rss KiB -> $(rss_kb) KiB; shared (guest RAM) now $(shmem_kb) KiB"
check "kxend maps no guest RAM any more (RssShmem $(shmem_kb) KiB)" test "$(shmem_kb)" -le "$base_shmem"
# A leaked 16 MiB guest image per cycle would show as hundreds of MiB; allocator caches and the
# 1 MiB sanitizer quarantine stay well under this bound.
check "kxend memory back near baseline (growth ${growth} KiB < 8 MiB)" test "$growth" -lt 8192
