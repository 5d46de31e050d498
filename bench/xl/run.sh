#!/usr/bin/env bash
# xl figures: time from `xl create` to the guest's first console line (soft and kvm), and 32
# small hello guests running at once. References from the same run: an `xl list` round trip
# (toolstack + kxend + xenstored, no guest) and a single guest's boot next to the 32.
#   bench/xl/run.sh            (KXEN_BUILD = release build dir, set by bench/run-benches.sh)
set -u
build=${KXEN_BUILD:-build}
bin=$build/bin
export PATH=$bin:$PATH
for p in xl kxend xenstored xenconsoled kxen-services; do
  [ -x "$bin/$p" ] || { echo "bench/xl: $bin/$p missing (make first)"; exit 1; }
done
runs=${XL_BENCH_RUNS:-5}
many=${XL_BENCH_MANY:-32}

now_us() { echo $(( $(date +%s%N) / 1000 )); }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# setup ACCEL: a fresh host (run dir, services) for one accelerator.
setup() {
  rundir=$(mktemp -d /tmp/kxen-bench-xl-XXXXXX)
  export KXEN_RUNDIR=$rundir XENSTORED_RUNDIR=$rundir KXEN_ACCEL=$1
  kxen-services start >/dev/null || return 1
  cat >"$rundir/g.cfg" <<EOC
kernel = "$(cd "$build" && pwd)/guests/hello.elf"
memory = 16
EOC
}
teardown() { kxen-services stop >/dev/null 2>&1; rm -rf "$rundir"; }

first_line_us() {   # NAME: create, wait for the first byte of console output
  local name=$1 log=$rundir/console/guest-$1.log t0 t1
  t0=$(now_us)
  xl create -q "$rundir/g.cfg" "name=\"$name\"" || return 1
  for ((i = 0; i < 20000; i++)); do [ -s "$log" ] && break; sleep 0.001; done
  t1=$(now_us)
  [ -s "$log" ] || return 1
  echo $(( t1 - t0 ))
}

bench_accel() {
  local accel=$1
  setup "$accel" || { echo "  $accel: services did not start"; teardown; return; }
  got=$(xl info | awk '/^accelerator/ { print $3 }')
  if [ "$got" != "$accel" ]; then echo "  $accel: not available on this host (kxend chose $got)"; teardown; return; fi
  local ref=() t=()
  for ((r = 0; r < runs; r++)); do
    a=$(now_us); xl list >/dev/null; b=$(now_us); ref+=($(( b - a )))
    v=$(first_line_us "g$r") || { echo "  $accel: guest g$r printed nothing"; break; }
    t+=("$v")
    xl destroy "g$r"
  done
  printf '  %-5s xl create -> first console line: median %6.1f ms over %d runs   (reference: xl list round trip %5.1f ms)\n' \
    "$accel" "$(printf '%s\n' "${t[@]}" | median | awk '{ print $1 / 1000 }')" "${#t[@]}" \
    "$(printf '%s\n' "${ref[@]}" | median | awk '{ print $1 / 1000 }')"

  # Many guests at once: all created back to back, then wait until every one runs its
  # xenstore watch (booted, talked to xenstored and xenconsoled).
  local t0 t1 ok=0
  t0=$(now_us)
  for ((g = 0; g < many; g++)); do xl create -q "$rundir/g.cfg" "name=\"m$g\"" || break; done
  # Done when every guest still listed has booted (a crashed guest is destroyed: on_crash).
  local listed
  local deadline=$(( $(now_us) + 60000000 ))   # a minute at most
  while [ "$(now_us)" -lt "$deadline" ]; do
    ok=$(grep -l "waiting for control/shutdown" "$rundir"/console/guest-m*.log 2>/dev/null | wc -l)
    listed=$(xl list | awk 'NR > 2' | wc -l)
    [ "$ok" -ge "$listed" ] && break
    sleep 0.05
  done
  t1=$(now_us)
  local rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$(cat "$rundir/kxend.pid")/status")
  local crashed
  crashed=$(grep -c "crashed" "$rundir/kxend.log")
  printf '  %-5s %d guests at once: %d/%d booted and running in %.0f ms, %d crashed during boot, kxend RSS %d MiB   (reference: 1 guest %.1f ms)\n' \
    "$accel" "$many" "$ok" "$many" "$(( t1 - t0 ))e-3" "$crashed" $(( rss / 1024 )) \
    "$(printf '%s\n' "${t[@]}" | median | awk '{ print $1 / 1000 }')"
  t0=$(now_us)
  xl shutdown -a -w >/dev/null 2>&1
  t1=$(now_us)
  printf '  %-5s xl shutdown -a -w of %d guests: %.0f ms, %d left\n' "$accel" "$many" \
    "$(( t1 - t0 ))e-3" "$(xl list | awk 'NR > 2' | wc -l)"
  teardown
}

bench_accel soft
bench_accel kvm
