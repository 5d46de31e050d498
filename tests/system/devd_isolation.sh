#!/usr/bin/env bash
# xl devd's process model: one worker per guest. A guest's worker that is stopped (SIGSTOP)
# does not stop another guest's backend; a worker killed with SIGKILL is restarted and the new
# one adopts the devices its predecessor served; a supervisor killed with SIGKILL takes its
# workers with it and the next xl command starts a new devd that adopts everything again.
# The guests are hello guests without blkfront: dom0 stands in for each guest's frontend by
# writing its state, and the backend's answer shows which worker serves the disk. Last, a
# savetest guest writing and reading its disk every tick has its worker killed mid-I/O: the new
# worker takes the connected rings over and the guest's I/O goes on without a failure.
. "$KXEN_SRC/tests/system/xl_common.sh"
[ -x "$KXEN_BUILD/bin/kxen-devd" ] || skip_all "kxen-devd not built"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
truncate -s 1M "$d/a.img" "$d/b.img" "$d/b2.img" "$d/b3.img"
write_cfg "$d/a.cfg" iso-a "disk = [ '$d/a.img,raw,xvda,rw' ]"
write_cfg "$d/b.cfg" iso-b "disk = [ '$d/b.img,raw,xvda,rw' ]"
check "two guests with a disk each" sh -c "xl create -q '$d/a.cfg' && xl create -q '$d/b.cfg'"
a=$(xl domid iso-a) b=$(xl domid iso-b)
worker() { cat "$KXEN_RUNDIR/devd-d$1.pid" 2>/dev/null; }
be_state() { xenstore-read "/local/domain/0/backend/vbd/$1/$2/state" 2>/dev/null; }
fe_write() { xenstore-write "/local/domain/$1/device/vbd/$2/state" "$3"; }
state_is() { [ "$(be_state "$1" "$2")" = "$3" ]; }
wa=$(worker "$a") wb=$(worker "$b")
check "each guest has its own worker ($wa, $wb)" test -n "$wa" -a -n "$wb" -a "$wa" != "$wb"

# A stopped worker: its guest's disk waits, the other guest's disk is served.
kill -STOP "$wa"
fe_write "$a" 51712 6
fe_write "$b" 51712 6
wait_for 5 state_is "$b" 51712 6
check "with guest A's worker stopped, guest B's backend follows its frontend to Closed" state_is "$b" 51712 6
check "while guest A's backend has not moved (InitWait)" state_is "$a" 51712 2
check "a disk attached to guest B meanwhile reaches InitWait" xl block-attach iso-b "$d/b2.img,raw,xvdb,rw"
kill -CONT "$wa"
wait_for 5 state_is "$a" 51712 6
check "guest A's worker, continued, catches up (Closed)" state_is "$a" 51712 6

# A killed worker is restarted and adopts the devices.
kill -KILL "$wb"
wait_for 5 sh -c "p=\$(cat '$KXEN_RUNDIR/devd-d$b.pid' 2>/dev/null) && [ -n \"\$p\" ] && [ \"\$p\" != $wb ]"
nb=$(worker "$b")
check "the supervisor restarted guest B's worker ($wb -> $nb)" test -n "$nb" -a "$nb" != "$wb"
check "and logged why" grep -q "domain $b: worker $wb killed by signal 9; restarting" "$KXEN_RUNDIR/kxen-devd.log"
check "guest A's worker was left alone" test "$(worker "$a")" = "$wa"
fe_write "$b" 51728 6
wait_for 5 state_is "$b" 51728 6
check "the new worker serves the disk its predecessor had taken to InitWait" state_is "$b" 51728 6

# A killed supervisor: its workers go with it; the next xl command starts a devd that adopts.
check "xl block-attach before the supervisor dies" xl block-attach iso-b "$d/b3.img,raw,xvdc,rw"
sup=$(cat "$KXEN_RUNDIR/kxen-devd.pid")
kill -KILL "$sup"
gone() { ! kill -0 "$1" 2>/dev/null || grep -qs '^State:.*Z' "/proc/$1/status"; }
wait_for 5 gone "$nb"
check "the workers die with the supervisor" gone "$nb"
check "the next xl command starts devd again" xl list
nb2=$(worker "$b")
wait_for 5 sh -c "[ -n \"\$(cat '$KXEN_RUNDIR/devd-d$b.pid' 2>/dev/null)\" ]"
nb2=$(worker "$b")
check "with a worker for guest B" test -n "$nb2" -a "$nb2" != "$nb"
fe_write "$b" 51744 6
wait_for 5 state_is "$b" 51744 6
check "which adopts the disk attached before the crash" state_is "$b" 51744 6
err=$(timeout 10 xl devd 2>&1)
check "xl devd refuses to start a second devd for the host ($err)" test $? -ne 0 -a -n "$err"

# A worker killed under a guest doing I/O: the restarted worker serves the connected device.
truncate -s 4M "$d/io.img"
{ printf 'name = "io"\nkernel = "%s"\nmemory = 16\ncmdline = "disk io"\n' "$KXEN_BUILD/tests/savetest.elf"
  printf "disk = [ '%s,raw,xvda,rw' ]\n" "$d/io.img"; } >"$d/io.cfg"
io_past() { # ID N: an "io M ok" line with M > N
  xl dmesg | sed -n "s/^(d$1) savetest: io \([0-9]*\) ok.*/\1/p" | awk -v n="$2" '$1 > n {f=1} END {exit !f}'
}
check "a savetest guest doing disk I/O every tick" xl create -q "$d/io.cfg"
io=$(xl domid io)
check "its I/O runs" wait_for 60 io_past "$io" 9
wio=$(worker "$io")
kill -KILL "$wio"
check "its worker ($wio), killed mid-I/O, is restarted" \
  wait_for 5 sh -c "p=\$(cat '$KXEN_RUNDIR/devd-d$io.pid' 2>/dev/null) && [ -n \"\$p\" ] && [ \"\$p\" != $wio ]"
n=$(xl dmesg | sed -n "s/^(d$io) savetest: io \([0-9]*\) ok.*/\1/p" | tail -1)
check "the guest's I/O goes on through the new worker (past io $n)" wait_for 60 io_past "$io" "$((n + 10))"
check "and no I/O failed" sh -c "! xl dmesg | grep -q '^(d$io) savetest: io .*FAILED'"
check "the guest's device stayed Connected" \
  test "$(xenstore-read "/local/domain/$io/device/vbd/51712/state")" = 4
xl destroy io >/dev/null 2>&1
check "xl destroy both" sh -c "xl destroy iso-a && xl destroy iso-b"
wait_for 5 sh -c "! ls '$KXEN_RUNDIR'/devd-d*.pid >/dev/null 2>&1"
check "no worker is left" sh -c "! ls '$KXEN_RUNDIR'/devd-d*.pid >/dev/null 2>&1"
