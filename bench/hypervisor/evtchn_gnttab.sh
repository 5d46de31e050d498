#!/usr/bin/env bash
# bench/hypervisor, event-channel and grant rows (called by run.sh): with its own kxend (release
# build, soft accelerator) and the echo guest, dom0libs-test measures
# - event-channel ping-pong dom0 process <-> guest (libxenevtchn eventfds, the guest echoes
#   from its upcall handler), next to a bare eventfd ping-pong between two host threads;
# - ping-pong guest <-> guest (interdomain channel, timed by the pinging guest's clock), once
#   with the pinger taking events through the callback vector and once polling with
#   interrupts off (scan after SCHEDOP_block), next to the dom0<->guest figure;
# - grant copy throughput guest -> dom0 (libxengnttab, 64 x 4 KiB segments per request),
#   next to host memcpy of the same bytes.
set -u
src=${KXEN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=$(realpath -m "${KXEN_BUILD:-$src/build}")
rounds=${EVTCHN_BENCH_ROUNDS:-1000}
make -s -C "$src" BUILD="$build" "$build/bin/kxend" "$build/tests/dom0libs-test" \
  "$build/tests/dom0libs-echo.elf" >/dev/null || { echo "evtchn/gnttab bench: build failed"; exit 1; }
export KXEN_RUNDIR=$(mktemp -d /tmp/kxen-bench-XXXXXX)
"$build/bin/kxend" -N --accel soft --log-file "$KXEN_RUNDIR/kxend.log" &
kpid=$!
trap 'kill $kpid 2>/dev/null; wait $kpid 2>/dev/null; rm -rf "$KXEN_RUNDIR"' EXIT
for _ in $(seq 100); do [ -S "$KXEN_RUNDIR/kxend.sock" ] && break; sleep 0.05; done
timeout 300 "$build/tests/dom0libs-test" bench "$build/tests/dom0libs-echo.elf" "$rounds" ||
  { echo "evtchn/gnttab bench: failed"; exit 1; }
grep -a 'crashed' "$KXEN_RUNDIR/kxend.log" | sed 's/^/evtchn\/gnttab bench: kxend log: /'
exit 0
