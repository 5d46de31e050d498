#!/usr/bin/env bash
# kxend killed under a running guest (docs/reliability.md): the guest dies with it; the next
# xl command starts a new kxend, which says it found a crashed one and hands out ids after the
# dead guest's, so no new domain gets the id of a dead one whose state xenstored and
# xenconsoled may still hold; kxen-services restart recovers.
. "$KXEN_SRC/tests/system/xl_common.sh"
X=$KXEN_BUILD/tests/kxen-xctool
[ -x "$X" ] || skip_all "$X not built"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
write_cfg "$d/old.cfg" old
write_cfg "$d/new.cfg" new
xl create -q "$d/old.cfg"
wait_for 20 console_has old "waiting for control/shutdown"
old=$(xl domid old)
kill -KILL "$(cat "$KXEN_RUNDIR/kxend.pid")"
wait_for 10 bash -c "! kill -0 \$(cat '$KXEN_RUNDIR/kxend.pid') 2>/dev/null"
xl list >/dev/null 2>&1 # starts a new kxend
check "the new kxend says it found a crashed one's ids" \
  grep -q "previous kxend ended without stopping its domains (last id $old)" "$KXEN_RUNDIR/kxend.log"
probe=$("$X" create probe 4096 1)
echo "# dead domain $old, next id ${probe:-none}"
check "the new kxend hands out ids after the dead domain's" test -n "$probe" -a "${probe:-0}" -gt "$old"
[ -n "$probe" ] && "$X" destroy "$probe"
kxen-services restart >/dev/null 2>&1
check "after kxen-services restart, xl create works" xl create -q "$d/new.cfg"
check "and the new domain's console works" wait_for 20 console_has new "waiting for control/shutdown"
