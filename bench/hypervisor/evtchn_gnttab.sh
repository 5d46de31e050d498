#!/usr/bin/env bash
# bench/hypervisor, event-channel and grant rows (called by run.sh): with its own kxend (release
# build) and the echo guest, dom0libs-test measures
# - event-channel ping-pong dom0 process <-> guest (libxenevtchn eventfds, the guest echoes
#   from its upcall handler), every round trip timed: median and p99 over 5 runs, alternating
#   with runs of the same-run reference, a bare eventfd ping-pong between two host threads;
# - grant copy guest -> dom0 (libxengnttab) with 1, 16 and 64 segments of 4 KiB per call, each
#   next to host memcpy of the same bytes, and the per-call / per-segment split;
# - ping-pong guest <-> guest (interdomain channel, timed by the pinging guest's clock), once
#   through the callback vector and once polling after SCHEDOP_block.
# Passes: soft not pinned, soft with kxend and the client pinned to one CPU (taskset), and kvm
# (not pinned) where /dev/kvm is usable. Every row names its pass and its CPU affinity.
set -u
src=${KXEN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=$(realpath -m "${KXEN_BUILD:-$src/build}")
rounds=${EVTCHN_BENCH_ROUNDS:-1000}
make -s -C "$src" BUILD="$build" "$build/bin/kxend" "$build/tests/dom0libs-test" \
  "$build/tests/dom0libs-echo.elf" >/dev/null || { echo "evtchn/gnttab bench: build failed"; exit 1; }

# pass LABEL ACCEL ROUNDS [taskset CPU list]: one kxend, one dom0libs-test bench run.
pass() {
  local label=$1 accel=$2 n=$3 cpus=${4:-} pin=()
  [ -n "$cpus" ] && pin=(taskset -c "$cpus")
  export KXEN_RUNDIR=$(mktemp -d /tmp/kxen-bench-XXXXXX)
  "${pin[@]}" "$build/bin/kxend" -N --accel "$accel" --log-file "$KXEN_RUNDIR/kxend.log" &
  local kpid=$!
  for _ in $(seq 100); do [ -S "$KXEN_RUNDIR/kxend.sock" ] && break; sleep 0.05; done
  timeout 300 "${pin[@]}" "$build/tests/dom0libs-test" bench "$build/tests/dom0libs-echo.elf" "$n" |
    sed "s/^/[$label] /"
  [ "${PIPESTATUS[0]}" -eq 0 ] || echo "[$label] evtchn/gnttab bench: failed"
  grep -a 'crashed' "$KXEN_RUNDIR/kxend.log" | sed "s/^/[$label] kxend log: /"
  kill $kpid 2>/dev/null
  wait $kpid 2>/dev/null
  rm -rf "$KXEN_RUNDIR"
}
pass "soft" soft "$rounds"
pass "soft, one CPU" soft "$rounds" 0
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
  pass "kvm" kvm $((rounds / 5))
else
  echo "[kvm] skipped: /dev/kvm not usable here"
fi
exit 0
