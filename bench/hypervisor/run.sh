#!/usr/bin/env bash
# bench/hypervisor: soft-accelerator figures measured with kxend (release build) and the tiny
# test guest, each next to its reference from the same run:
# - hypercall round trip (xen_version through the hypercall page: `out` to the hypercall port,
#   handled inside Unicorn's I/O hook) and through the slow `vmcall` entry (kept for blocking
#   hypercalls), next to a bare trapped port write (`out` to an unclaimed port);
# - domain create to first guest instruction: create + load + the guest's first instruction
#   (a SCHEDOP_shutdown) + the shutdown event reaching the client, median of 5.
# Then the event-channel/grant rows and the kvm rows (their own scripts) when present.
set -u
src=${KXEN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=$(realpath -m "${KXEN_BUILD:-$src/build}")
make -s -C "$src" BUILD="$build" "$build/bin/kxend" "$build/tests/kxen-xctool" \
  "$build/tests/kxend-mini.elf" >/dev/null || { echo "hypervisor bench: build failed"; exit 1; }
export KXEN_RUNDIR=$(mktemp -d /tmp/kxen-bench-XXXXXX)
X=$build/tests/kxen-xctool
M=$build/tests/kxend-mini.elf
"$build/bin/kxend" --accel soft --log-file "$KXEN_RUNDIR/kxend.log" || exit 1
trap '"$X" stop-daemon >/dev/null 2>&1; sleep 0.2; rm -rf "$KXEN_RUNDIR"' EXIT

elapsed() { "$X" run "b$1" 16384 "$M" "$1" 60 | sed -n 's/^elapsed_ns=//p'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
N=100000
q=$(for i in 1 2 3 4 5; do elapsed q; done | median)
p=$(for i in 1 2 3; do elapsed p; done | median)
o=$(for i in 1 2 3; do elapsed o; done | median)
v=$(for i in 1 2 3; do elapsed v; done | median)
[ -n "$q" ] && [ -n "$p" ] && [ -n "$o" ] && [ -n "$v" ] || { echo "hypervisor bench: a guest run failed"; exit 1; }
awk -v p="$p" -v o="$o" -v q="$q" -v v="$v" -v n=$N 'BEGIN {
  printf "%-52s %8.0f ns\n", "soft hypercall round trip (xen_version, page: out)", (p - q) / n
  printf "%-52s %8.0f ns\n", "  reference: bare trapped port write (out)", (o - q) / n
  printf "%-52s %8.0f ns\n", "  reference: slow entry (inline vmcall)", (v - q) / n
  printf "%-52s %8.2f ms\n", "soft domain create to first guest instruction", q / 1e6
}'
for extra in "$src"/bench/hypervisor/evtchn*.sh "$src"/bench/hypervisor/gnttab*.sh \
             "$src"/bench/hypervisor/kvm.sh; do
  [ -x "$extra" ] && KXEN_SRC=$src KXEN_BUILD=$build "$extra"
done
exit 0
