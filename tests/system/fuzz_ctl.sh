#!/usr/bin/env bash
# Control-socket fuzzing: kxen-ctlfuzz sends random and mutated requests to the sanitized kxend
# (bad lengths, unknown ops, truncated and oversized payloads, huge counts, descriptors of every
# kind, disconnects mid-request, bursts of connections, clients that never read their replies),
# as a privileged caller and, when root, as nobody. Meanwhile a well-behaved client keeps asking
# hello/list and must always be answered; afterwards kxend has the same descriptors and threads
# as before, exits cleanly and printed no sanitizer report.
# Seeds and duration: KXEN_FUZZ_SEEDS (default "1 2"), KXEN_FUZZ_SECS (default 3).
. "$KXEN_SRC/tests/lib.sh"
X=$KXEN_BUILD/tests/kxen-xctool
F=$KXEN_BUILD/tests/kxen-ctlfuzz
[ -x "$KXEN_BUILD/bin/kxend" ] && [ -x "$X" ] && [ -x "$F" ] || skip_all "kxend, kxen-xctool or kxen-ctlfuzz not built"
SEEDS=${KXEN_FUZZ_SEEDS:-1 2}
SECS=${KXEN_FUZZ_SECS:-3}
# The privileged runs also load a real guest (hcfuzz) into the domains they create, so
# pause/unpause/shutdown/destroy requests meet running vCPUs.
IMAGE=()
[ -f "$KXEN_BUILD/guests/hcfuzz.elf" ] && IMAGE=(--image "$KXEN_BUILD/guests/hcfuzz.elf")

"$KXEN_BUILD/bin/kxend" -N --accel soft --log-file "$KXEN_RUNDIR/kxend.log" 2>"$KXEN_RUNDIR/kxend.err" &
KPID=$!
check "kxend listens on its socket" wait_for 10 test -S "$KXEN_RUNDIR/kxend.sock"

out=$(timeout 20 "$F" --deaf-check 2>&1)
echo "# $out"
check "a client that never reads its replies does not stall the others" grep -q "hello: answered" <<<"$out"

# Warm-up: kxend creates some things once, on first use (the dom0 event poller).
timeout 20 "$F" --seed 100 --secs 1 >/dev/null 2>&1
nfds() { ls /proc/$KPID/fd | wc -l; }
nthr() { ls /proc/$KPID/task | wc -l; }
fds0=$(nfds); thr0=$(nthr)

# The well-behaved client: hello and list, each answered within 3 s, until told to stop.
(
  fails=0 n=0
  while [ ! -e "$KXEN_RUNDIR/stop-probe" ]; do
    timeout 3 "$X" hello >/dev/null 2>&1 || fails=$((fails + 1))
    timeout 3 "$X" list >/dev/null 2>&1 || fails=$((fails + 1))
    n=$((n + 2)); sleep 0.05
  done
  echo "$n $fails" >"$KXEN_RUNDIR/probe.result"
) &
PROBE=$!

for seed in $SEEDS; do
  out=$(timeout $((SECS + 30)) "$F" --seed "$seed" --secs "$SECS" "${IMAGE[@]}" 2>&1); rc=$?
  grep -v '^ctlfuzz: seed=' <<<"$out" | head -5 | sed 's/^/# /'
  grep '^ctlfuzz: seed=' <<<"$out" | sed 's/^/# /'
  check "privileged fuzzing, seed $seed: every reply in time and by the rules" test $rc -eq 0
  check "kxend alive after seed $seed" kill -0 $KPID
done

if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  # Let nobody reach the socket (kxend creates it 0600 in a private run dir).
  chmod 755 "$KXEN_RUNDIR" && chmod 666 "$KXEN_RUNDIR/kxend.sock"
  uid=$(id -u nobody)
  out=$(timeout 20 "$F" --deaf-check --unpriv "$uid" 2>&1)
  echo "# unprivileged: $out"
  check "an unprivileged client that never reads its replies does not stall the others" grep -q "hello: answered" <<<"$out"
  timeout 20 "$F" --hog 2 --unpriv "$uid" >"$KXEN_RUNDIR/hog.out" 2>&1 &
  hog=$!
  wait_for 10 grep -q holding "$KXEN_RUNDIR/hog.out"
  echo "# unprivileged: $(cat "$KXEN_RUNDIR/hog.out")"
  check "an unprivileged client holding every connection it can get does not lock the toolstack out" \
    bash -c "timeout 3 '$X' hello >/dev/null"
  wait $hog
  for seed in $SEEDS; do
    out=$(timeout $((SECS + 30)) "$F" --seed "$seed" --secs "$SECS" --unpriv "$uid" 2>&1); rc=$?
    grep -v '^ctlfuzz: seed=' <<<"$out" | head -5 | sed 's/^/# /'
    grep '^ctlfuzz: seed=' <<<"$out" | sed 's/^/# /'
    check "unprivileged fuzzing, seed $seed: every reply in time, privileged ops refused (EPERM)" \
      bash -c "test $rc -eq 0 && grep -q ' unprivileged ' <<<\"\$1\"" _ "$out"
  done
  chmod 700 "$KXEN_RUNDIR"; chmod 600 "$KXEN_RUNDIR/kxend.sock"
else
  why="needs root and a 'nobody' user"
  skip "an unprivileged client that never reads its replies does not stall the others" "$why"
  skip "an unprivileged client holding every connection it can get does not lock the toolstack out" "$why"
  for seed in $SEEDS; do
    skip "unprivileged fuzzing, seed $seed: every reply in time, privileged ops refused (EPERM)" "$why"
  done
fi

touch "$KXEN_RUNDIR/stop-probe"; wait $PROBE
read -r probes probe_fails <"$KXEN_RUNDIR/probe.result"
check "the well-behaved client was answered every time during the fuzzing ($probes calls, $probe_fails failed)" \
  test "$probe_fails" -eq 0 -a "$probes" -gt 0

# Domains the fuzzer created are destroyed; connections are closed: back to the same count.
wait_for 3 test "$(nfds)" -eq "$fds0"
fds1=$(nfds); thr1=$(nthr)
check "no descriptor leaked by kxend ($fds0 -> $fds1)" test "$fds1" -eq "$fds0"
[ "$fds1" -eq "$fds0" ] || ls -l /proc/$KPID/fd | sed 's/^/# /' | tail -20
check "no thread leaked by kxend ($thr0 -> $thr1)" test "$thr1" -eq "$thr0"

kill -TERM $KPID
wait $KPID; rc=$?
check "kxend exits cleanly after the fuzzing (status $rc)" test $rc -eq 0
check "no sanitizer report from kxend" bash -c "! grep -q 'Sanitizer\|runtime error' '$KXEN_RUNDIR/kxend.err'"
grep -A20 'Sanitizer\|runtime error' "$KXEN_RUNDIR/kxend.err" | head -30 | sed 's/^/# /'
