#!/usr/bin/env bash
# xenstored killed under running guests (docs/reliability.md): xenconsoled, which cannot
# follow domains without it, stops with a line saying why instead of spinning on the dead
# connection; kxend and the guest keep running; kxen-services restart recovers.
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
check "kxend keeps running" kill -0 "$kp"
check "the guest keeps running (kxend still has it, not shut down)" \
  bash -c "'$KXEN_BUILD/tests/kxen-xctool' list | grep '^$id ' | grep -vq shutdown"
kxen-services restart >/dev/null 2>&1
rm -f "$KXEN_RUNDIR/console/guest-hello.log"
check "kxen-services restart brings the services back" \
  bash -c "xl list >/dev/null && xl create -q '$d/hello.cfg'"
check "consoles work again" wait_for 20 console_has hello "waiting for control/shutdown"
