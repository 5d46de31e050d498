#!/usr/bin/env bash
# xenstored killed under running guests (docs/reliability.md): xenconsoled and kxen-devd,
# which cannot follow domains without it, stop with a line saying why instead of spinning on the dead
# connection; kxend and the guest keep running; the next xl command says it replaced the dead
# xenstored; `xl shutdown -w` of a guest the new xenstored does not serve fails at once with
# the reason instead of waiting for ever; xl destroy and kxen-services restart recover.
. "$KXEN_SRC/tests/system/xl_common.sh"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
write_cfg "$d/hello.cfg" hello
xl create -q "$d/hello.cfg"
wait_for 20 console_has hello "waiting for control/shutdown"
id=$(xl domid hello)
sp=$(cat "$KXEN_RUNDIR/xenstored.pid") cp=$(cat "$KXEN_RUNDIR/xenconsoled.pid")
kp=$(cat "$KXEN_RUNDIR/kxend.pid")
kill -KILL "$sp"
lost() { grep -q "lost the connection to xenstored" "$KXEN_RUNDIR/xenconsoled.log"; }
check "xenconsoled says it lost xenstored" wait_for 10 lost
check "and stops instead of spinning on the dead connection" wait_for 10 bash -c "! kill -0 $cp 2>/dev/null"
dp=$(cat "$KXEN_RUNDIR/kxen-devd.pid")
check "kxen-devd says it lost xenstored" \
  wait_for 10 grep -q "lost the connection to xenstored" "$KXEN_RUNDIR/kxen-devd.log"
check "and stops instead of spinning on the dead connection" wait_for 10 bash -c "! kill -0 $dp 2>/dev/null"
check "kxend keeps running" kill -0 "$kp"
check "the guest keeps running (kxend still has it, not shut down)" \
  bash -c "'$KXEN_BUILD/tests/kxen-xctool' list | grep '^$id ' | grep -vq shutdown"
rc=0
err=$(timeout 60 xl shutdown -w hello 2>&1) || rc=$?
echo "# xl shutdown -w: status $rc: $err"
check "xl says it started a new xenstored in place of the dead one" \
  grep -q "in place of xenstored (pid $sp), which had died: the new xenstored is empty" <<<"$err"
check "xl shutdown -w fails at once instead of waiting for ever" test "$rc" -ne 0 -a "$rc" -ne 124
check "saying the guest lost its xenstore connection" \
  grep -q "domain $id is not connected to xenstored" <<<"$err"
check "the guest is still there (kept, not destroyed)" \
  bash -c "'$KXEN_BUILD/tests/kxen-xctool' list | grep -q '^$id '"
check "xl destroy removes it" xl destroy hello
kxen-services restart >/dev/null 2>&1
rm -f "$KXEN_RUNDIR/console/guest-hello.log"
check "kxen-services restart brings the services back" \
  bash -c "xl list >/dev/null && xl create -q '$d/hello.cfg'"
check "consoles work again" wait_for 20 console_has hello "waiting for control/shutdown"
