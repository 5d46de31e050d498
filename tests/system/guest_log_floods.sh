#!/usr/bin/env bash
# Guests flooding kxend with what it logs (docs/reliability.md): hcfuzz (random and refused
# hypercalls, bad grants, hypercall-page and MSR misuse) and hostile (bad pointers, unknown
# hypercalls, event storms) run at once (one short hcfuzz on kvm), with kxend logging at debug level, on soft and, where
# it runs here, on kvm. Every line a guest triggers is rate-limited per domain, so kxend.log
# stays a few kilobytes whatever the guests do, and the dropped lines are counted.
. "$KXEN_SRC/tests/lib.sh"
B=$KXEN_BUILD/bin G=$KXEN_BUILD/guests X=$KXEN_BUILD/tests/kxen-xctool
for f in "$B/kxend" "$X" "$G/hcfuzz.elf" "$G/hostile.elf"; do
  [ -e "$f" ] || skip_all "$f not built"
done
flood() {
  local accel=$1 R=$KXEN_RUNDIR/$1
  mkdir -p "$R"
  KXEN_RUNDIR=$R "$B/kxend" -N --accel "$accel" --rundir "$R" --log-level debug \
    --log-file "$R/kxend.log" 2>"$R/kxend.err" &
  local kp=$!
  if ! wait_for 10 test -S "$R/kxend.sock"; then
    kill "$kp" 2>/dev/null
    skip "$accel: guests cannot flood kxend's log" "kxend --accel $accel does not start here"
    return
  fi
  local runs=()
  # Nested kvm runs these guests ten times slower: one short fuzzer is enough there.
  local seeds="5 6" secs=6
  [ "$accel" = kvm ] && seeds=5 secs=1
  for seed in $seeds; do
    KXEN_RUNDIR=$R timeout 90 "$X" run "fuzz$seed" 32768 "$G/hcfuzz.elf" "seed=$seed secs=$secs" \
      60 >"$R/fuzz$seed.out" 2>&1 &
    runs+=($!)
  done
  if [ "$accel" = soft ]; then
    KXEN_RUNDIR=$R timeout 90 "$X" run hostile 32768 "$G/hostile.elf" "" 60 >"$R/hostile.out" 2>&1 &
    runs+=($!)
  fi
  wait "${runs[@]}"
  local bytes lines supp
  bytes=$(wc -c <"$R/kxend.log") lines=$(wc -l <"$R/kxend.log")
  supp=$(grep -c "messages suppressed" "$R/kxend.log")
  echo "# $accel: kxend.log: $lines lines, $bytes bytes, $supp suppression notes"
  sed -E 's/^[0-9:.]+ kxend\[[0-9]+\] //; s/[0-9]+/N/g' "$R/kxend.log" | sort | uniq -c |
    sort -rn | head -5 | sed "s/^/# $accel: /"
  # Each domain at most a burst of 10 and 2 lines a second while it runs, plus the
  # life-cycle lines and the suppression notes.
  check "$accel: flooding guests leave kxend.log bounded ($lines lines)" \
    test "$lines" -le $((3 * (10 + 2 * (secs + 6)) + 60))
  # soft runs the fuzzers fast enough to pass the burst at once; nested kvm may not.
  [ "$accel" = soft ] && check "$accel: the lines dropped are counted" test "$supp" -ge 1
  check "$accel: kxend survives the flood" kill -0 "$kp"
  kill -TERM "$kp"
  wait "$kp"
}
flood soft
if kvm_usable; then flood kvm; else skip "kvm: guests cannot flood kxend's log" "no usable /dev/kvm"; fi
