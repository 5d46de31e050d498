#!/usr/bin/env bash
# Lost wake-ups on the event-channel fast paths (soft accelerator): 100k dom0<->guest round
# trips (a dom0 notify wakes the guest's idle runner through its own epoll set, or the poller
# when the runner is busy; the echo comes back through the port's notify eventfd), 100k
# guest<->guest round trips through the callback vector and 25k with the pinger polling after
# SCHEDOP_block; then a quarter of each with kxend and the client pinned to one CPU (where many
# kicks reach the guest through the poller). Each echo must come within 2 s, every one is
# counted: a lost wake-up fails the run instead of slowing it. No timing is asserted beyond
# those bounds.
. "$KXEN_SRC/tests/lib.sh"
T=$KXEN_BUILD/tests/dom0libs-test
ECHO=$KXEN_BUILD/tests/dom0libs-echo.elf
# The release kxend when there is one, as dom0libs_events_grants.sh explains; the client runs
# sanitized.
K=$KXEN_BUILD/bin/kxend
[ -n "${KXEN_REL_BUILD:-}" ] && [ -x "$KXEN_REL_BUILD/bin/kxend" ] && K=$KXEN_REL_BUILD/bin/kxend
[ -x "$K" ] && [ -x "$T" ] && [ -f "$ECHO" ] || skip_all "kxend or dom0libs-test not built"
ROUNDS=${EVTCHN_STRESS_ROUNDS:-100000}

"$K" -N --accel soft --log-file "$KXEN_RUNDIR/kxend.log" 2>"$KXEN_RUNDIR/kxend.err" &
KPID=$!
trap 'kill $KPID 2>/dev/null; wait $KPID 2>/dev/null' EXIT
wait_for 10 test -S "$KXEN_RUNDIR/kxend.sock" || { not_ok "kxend starts"; exit 1; }

# stress_pass LABEL ROUNDS [taskset prefix...]: one dom0libs-test stress run, its TAP lines
# reported under LABEL.
stress_pass() {
    local label=$1 n=$2 line l out rc
    shift 2
    out=$(timeout 240 "$@" "$T" stress "$ECHO" "$n" 2>&1); rc=$?
    while IFS= read -r line; do
        case $line in
            "ok "*) ok "$label${line#ok * - }" ;;
            "not ok "*) l=${line#not ok }; not_ok "$label${l#* - }" ;;
            "Bail out!"*) not_ok "$label$line" ;;
        esac
    done <<<"$out"
    check "${label}dom0libs-test stress exits 0 within 240 s (exit $rc)" test "$rc" -eq 0
}
stress_pass "" "$ROUNDS"
# kxend's threads and the client on one CPU: waking the client preempts the runner between its
# notify write and its wait, so about a third of the kicks go through the dom0 poller instead
# of straight to the runner. A wake-up lost on that path fails here.
if taskset -a -cp 0 "$KPID" >/dev/null 2>&1; then
    stress_pass "one CPU: " $((ROUNDS / 4)) taskset -c 0
else
    ok "one CPU: pass skipped # SKIP taskset cannot pin kxend here"
fi
check "kxend is still alive" kill -0 $KPID
crash=$(grep -a 'crashed' "$KXEN_RUNDIR/kxend.log" | head -1)
check "no guest crashed during the runs${crash:+ ($crash)}" test -z "$crash"
