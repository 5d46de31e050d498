#!/usr/bin/env bash
# Event delivery under fast guest<->guest traffic on the soft accelerator (regression test for
# the crashes seen before the block-hook stop): two evstorm guests exchange thousands of events
# over one interdomain channel while the waiting side spins, blocks and polls in turn; both
# must count every event, and kxend must log no crash.
. "$KXEN_SRC/tests/lib.sh"
X=$KXEN_BUILD/tests/kxen-xctool
E=$KXEN_BUILD/guests/evstorm.elf
[ -x "$KXEN_BUILD/bin/kxend" ] && [ -x "$X" ] && [ -f "$E" ] || skip_all "kxend, kxen-xctool or evstorm.elf not built"
ROUNDS=${EVSTORM_ROUNDS:-3000}

"$KXEN_BUILD/bin/kxend" -N --accel soft --log-file "$KXEN_RUNDIR/kxend.log" 2>"$KXEN_RUNDIR/kxend.err" &
KPID=$!
trap 'kill $KPID 2>/dev/null; wait $KPID 2>/dev/null' EXIT
check "kxend listens on its socket" wait_for 10 test -S "$KXEN_RUNDIR/kxend.sock"

a=$("$X" create storm-a 32768 1) && b=$("$X" create storm-b 32768 1)
check "two storm domains are created ($a, $b)" test -n "$a" -a -n "$b"
"$X" load "$a" "$E" "a $b $ROUNDS" >/dev/null
"$X" load "$b" "$E" "b $a $ROUNDS" >/dev/null
ra=$("$X" wait "$a" 120)
rb=$("$X" wait "$b" 120)
ca=$("$X" console "$a"); cb=$("$X" console "$b")
echo "$ca$cb" | grep -E '^not ok' | sed 's/^/# /'
check "storm guest a powers off ($ra)" grep -q 'reason=0' <<<"$ra"
check "storm guest b powers off ($rb)" grep -q 'reason=0' <<<"$rb"
check "guest a counted every one of $((ROUNDS + 1)) events" \
  bash -c "grep -q 'ok .*evstorm a: $ROUNDS rounds.*($((ROUNDS + 1)) events, want' <<<\"\$1\" && grep -q 'RESULT PASS' <<<\"\$1\"" _ "$ca"
check "guest b counted every one of $ROUNDS events" \
  bash -c "grep -q 'ok .*evstorm b: $ROUNDS rounds.*($ROUNDS events, want' <<<\"\$1\" && grep -q 'RESULT PASS' <<<\"\$1\"" _ "$cb"
echo "$ca" | grep -o 'events, want [0-9]*, [0-9]* us' | sed 's/^/# a: /'
"$X" destroy "$a" 2>/dev/null; "$X" destroy "$b" 2>/dev/null
check "kxend logged no guest crash" bash -c "! grep -a 'crashed' '$KXEN_RUNDIR/kxend.log'"
