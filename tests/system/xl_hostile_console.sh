#!/usr/bin/env bash
# A guest that breaks its console ring (producer index 64 KiB ahead in a 2 KiB ring):
# xenconsoled disconnects that console with a clear log line, refuses `xl console` for it,
# and keeps serving every other guest.
. "$KXEN_SRC/tests/system/xl_common.sh"
bomb=$KXEN_BUILD/tests/consbomb.elf
[ -f "$bomb" ] || skip_all "$bomb not built"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
write_cfg "$d/hello.cfg" hello
write_cfg "$d/bomb.cfg" consbomb "kernel = \"$bomb\""
xl create -q "$d/hello.cfg"
wait_for 20 console_has hello "waiting for control/shutdown"
xl create -q "$d/bomb.cfg"
id=$(xl domid consbomb)
broken() { grep -q "domain $id (consbomb): output ring indices are impossible" "$KXEN_RUNDIR/xenconsoled.log"; }
wait_for 20 broken
check "xenconsoled names the domain and what was wrong" broken
check "the line printed before the attack reached the log" console_has consbomb "console works before the attack"
check "the guest went on (hypervisor console)" sh -c "xl dmesg | grep -q 'consbomb: ring indices broken'"
check "xenconsoled is still running" kill -0 "$(cat "$KXEN_RUNDIR/xenconsoled.pid")"
xl console consbomb </dev/null >/dev/null 2>"$d/err"
check "xl console refuses the broken console with the reason" grep -q "its ring misbehaved" "$d/err"
# The other guest's console still works: attach and see its output replayed.
timeout 10 xl console hello </dev/null >"$d/hello.out" 2>&1 &
cpid=$!
wait_for 10 grep -q "waiting for control/shutdown" "$d/hello.out"
check "another guest's console is still served" grep -q "Hello from kxen" "$d/hello.out"
kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null
write_cfg "$d/late.cfg" late
xl create -q "$d/late.cfg"
wait_for 20 console_has late "waiting for control/shutdown"
check "a guest created after the attack gets its console" console_has late "waiting for control/shutdown"
check "xl destroy of the hostile guest" xl destroy consbomb
check "xl shutdown -w of the others" sh -c "xl shutdown -w hello >/dev/null && xl shutdown -w late >/dev/null"
