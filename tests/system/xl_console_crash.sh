#!/usr/bin/env bash
# xenconsoled killed while `xl console` is attached: xl console says it lost its server and
# exits non-zero (it does not pretend the domain is gone); the guest keeps running; the next
# xl command starts a new xenconsoled, which attaches the console again (docs/reliability.md).
. "$KXEN_SRC/tests/system/xl_common.sh"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
write_cfg "$d/hello.cfg" hello
xl create -q "$d/hello.cfg"
wait_for 20 console_has hello "waiting for control/shutdown"
cp=$(cat "$KXEN_RUNDIR/xenconsoled.pid")
# Its input stays open (a FIFO we hold) so that only the console's end can stop it.
mkfifo "$d/in"
exec 3<>"$d/in"
xl console hello <"$d/in" >"$d/out" 2>"$d/err" &
xp=$!
wait_for 10 grep -q "Hello from kxen" "$d/out"
kill -KILL "$cp"
check "xl console ends when xenconsoled dies" wait_for 10 bash -c "! kill -0 $xp 2>/dev/null"
rc=0
wait "$xp" || rc=$?
sed 's/^/# /' "$d/err"
check "with a failure status" test "$rc" -ne 0
check "saying it lost xenconsoled" grep -q "lost xenconsoled" "$d/err"
check "the guest keeps running" bash -c "xl list | grep -q '^hello '"
np=$(cat "$KXEN_RUNDIR/xenconsoled.pid" 2>/dev/null)
check "xl started a new xenconsoled" bash -c "test -n '$np' && test '$np' != '$cp' && kill -0 '$np'"
timeout 10 xl console hello </dev/null >"$d/out2" 2>&1 &
cp2=$!
wait_for 10 grep -q "Hello from kxen" "$d/out2"
check "the new xenconsoled serves the console again" grep -q "Hello from kxen" "$d/out2"
kill "$cp2" 2>/dev/null
wait "$cp2" 2>/dev/null
exec 3>&-
