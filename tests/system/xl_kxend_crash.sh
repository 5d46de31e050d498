#!/usr/bin/env bash
# kxend killed under a running guest (docs/reliability.md): the guest dies with it. xenstored
# and xenconsoled see kxend go, release the dead domain (its xenstore nodes and /vm path go,
# @releaseDomain fires, its console closes, the mappings that kept its RAM alive go) and
# reconnect to the next kxend; the next xl command says it started a new kxend because the old
# one is gone; the new kxend hands out ids after the dead guest's; new domains work without
# restarting the services.
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
vm=$(xenstore-read "/local/domain/$old/vm")
xenstore-write "/local/domain/$old/data/secret" s3cret
xenstore-chmod "/local/domain/$old/data/secret" "n$old"
kp=$(cat "$KXEN_RUNDIR/kxend.pid") sp=$(cat "$KXEN_RUNDIR/xenstored.pid")
cp=$(cat "$KXEN_RUNDIR/xenconsoled.pid")
maps_ram() { grep -q kxen-guest-ram "/proc/$1/maps"; }
check "xenstored and xenconsoled map the guest's pages" bash -c "$(declare -f maps_ram); maps_ram $sp && maps_ram $cp"
xenstore-watch -n 2 @releaseDomain >"$KXEN_RUNDIR/release.watch" 2>&1 &
watcher=$!
sleep 0.3
kill -KILL "$kp"
wait_for 10 bash -c "! kill -0 $kp 2>/dev/null"
gone() { ! xenstore-exists "$1" 2>/dev/null; }
check "xenstored removes the dead domain's nodes (and its secret)" wait_for 10 gone "/local/domain/$old"
check "and its $vm" gone "$vm"
check "and fires @releaseDomain" wait_for 10 bash -c "! kill -0 $watcher 2>/dev/null"
check "xenstored says why" grep -q "kxend went away" "$KXEN_RUNDIR/xenstored.log"
check "xenstored no longer maps the dead guest's RAM" wait_for 10 bash -c "! grep -q kxen-guest-ram /proc/$sp/maps"
# Whichever xenconsoled sees first: its own connection to kxend hanging up, or xenstored's
# @releaseDomain for the domain (both follow from the crash).
check "xenconsoled closes the dead domain's console" \
  wait_for 10 grep -Eq "domain $old \(old\): console closed \((kxend went away|domain released)\)" \
  "$KXEN_RUNDIR/xenconsoled.log"
check "xenconsoled no longer maps the dead guest's RAM" bash -c "! grep -q kxen-guest-ram /proc/$cp/maps"
err=$(xl list 2>&1 >/dev/null) # starts a new kxend
echo "# xl: $err"
check "xl says it started a new kxend in place of the dead one" \
  grep -q "in place of kxend (pid $kp), which had died: the old kxend is gone" <<<"$err"
check "the new kxend says it found a crashed one's ids" \
  grep -q "previous kxend ended without stopping its domains (last id $old)" "$KXEN_RUNDIR/kxend.log"
probe=$("$X" create probe 4096 1)
echo "# dead domain $old, next id ${probe:-none}"
check "the new kxend hands out ids after the dead domain's" test -n "$probe" -a "${probe:-0}" -gt "$old"
[ -n "$probe" ] && "$X" destroy "$probe"
check "xenstored and xenconsoled kept running" kill -0 "$sp" "$cp"
check "xl create works without restarting the services" xl create -q "$d/new.cfg"
check "the new domain's console works" wait_for 20 console_has new "waiting for control/shutdown"
new=$(xl domid new)
check "the new domain's xenstore works" wait_for 10 bash -c "xl shutdown -w new >/dev/null 2>&1"
check "nothing of the dead domain is left in xenstore" bash -c "! xenstore-ls -f / | grep -e '/local/domain/$old/' -e s3cret"
echo "# new domain $new"
