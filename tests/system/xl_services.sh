#!/usr/bin/env bash
# The host services: kxen-services start|status|stop, xl's embedded start (also when several
# xl commands race), a guest on the soft accelerator, and a stop that destroys the domains
# and leaves no daemon behind.
. "$KXEN_SRC/tests/system/xl_common.sh"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"

kxen-services status >/dev/null
check "status exits 3 while nothing runs" test $? -eq 3
check "kxen-services start" kxen-services start
check "status exits 0 once everything runs" kxen-services status
check "status names each daemon with its pid" sh -c "kxen-services status | grep -q '^kxend: running (pid [0-9]*)'"
check "a second start is a no-op" kxen-services start
check "still one kxend" test "$(pgrep -fc "bin/kxend .*$KXEN_RUNDIR")" -eq 1
write_cfg "$d/a.cfg" a
check "xl uses the running services" xl create -q "$d/a.cfg"
check "kxen-services stop" kxen-services stop
check "stop destroyed the domain and stopped the daemons" test "$(pgrep -fc "bin/kxend .*$KXEN_RUNDIR")" -eq 0
check "no xenstored of this host is left" test "$(pgrep -fc "bin/xenstored .*$KXEN_RUNDIR")" -eq 0
check "no pid file is left" sh -c "! ls $KXEN_RUNDIR/*.pid 2>/dev/null"

# Four xl commands at once on a host with no services: exactly one set of daemons starts.
for i in 1 2 3 4; do xl list >"$d/list$i" 2>&1 & done
wait
check "racing xl commands all succeeded" sh -c "grep -l '^Domain-0' $d/list1 $d/list2 $d/list3 $d/list4 | wc -l | grep -qx 4"
check "exactly one kxend was started" test "$(pgrep -fc "bin/kxend .*$KXEN_RUNDIR")" -eq 1
check "exactly one xenconsoled was started" test "$(pgrep -fc "bin/xenconsoled .*$KXEN_RUNDIR")" -eq 1
# A xenconsoled that dies is started again by the next xl command; it re-attaches the running
# guest's console (the port is rebound) and replays its log.
write_cfg "$d/r.cfg" survivor
xl create -q "$d/r.cfg"
wait_for 20 console_has survivor "waiting for control/shutdown"
kill "$(cat "$KXEN_RUNDIR/xenconsoled.pid")"
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_for 10 gone "$(cat "$KXEN_RUNDIR/xenconsoled.pid")"
xl list >/dev/null
check "xl restarted xenconsoled" kill -0 "$(cat "$KXEN_RUNDIR/xenconsoled.pid")"
reattached() { [ "$(grep -c 'domain [0-9]* (survivor): console attached' "$KXEN_RUNDIR/xenconsoled.log")" -ge 2 ]; }
wait_for 10 reattached
check "the new xenconsoled re-attached the running guest's console" reattached
xl console survivor </dev/null >"$d/survivor.out" 2>&1 &
cpid=$!
wait_for 10 grep -q "waiting for control/shutdown" "$d/survivor.out"
xl shutdown -w survivor >/dev/null
wait "$cpid"
check "its console replays the log and carries the live shutdown line" \
    sh -c "grep -q 'Hello from kxen' $d/survivor.out && grep -q 'shutting down (poweroff)' $d/survivor.out"
kxen-services stop >/dev/null

# The soft accelerator (Unicorn) runs the same guest through the same toolstack.
export KXEN_ACCEL=soft
write_cfg "$d/soft.cfg" soft
check "xl create on the soft accelerator" xl create -q "$d/soft.cfg"
check "xl info reports the soft accelerator" sh -c "xl info | grep -q '^accelerator *: soft'"
wait_for 30 console_has soft "waiting for control/shutdown"
check "the guest booted through the soft (PV) entry" console_has soft "pv-entry (soft)"
check "it reached xenstore on soft" console_has soft "I am \"soft\""
check "xl shutdown -w on soft" xl shutdown -w soft
check "the guest powered off" console_has soft "shutting down (poweroff)"
check "kxen-services stop after soft" kxen-services stop
