#!/usr/bin/env bash
# A network driver domain: the driverdom guest (drivers/' netback and learning switch over the
# guest platform, driver_domain=1) serves the vifs of two nettest guests (vif backend=NAME).
# They exchange numbered frames through it, every byte checked; dom0 is out of the data path:
# it has no backend for them and the driver domain's own counters (data/vif-stats) moved.
# Then the network driver domain is destroyed under two savetest clients exchanging frames
# (`vif net`: a round trip each tick, each echoing the other) and created again: their
# frontends wait in Initialising, the new driver domain takes the vifs over, each netfront
# reconnects by itself (new rings and grants, TX in flight dropped) and the traffic resumes.
. "$KXEN_SRC/tests/system/xl_common.sh"
for f in driverdom nettest; do
  [ -f "$guests/$f.elf" ] || skip_all "$guests/$f.elf not built"
done
d=$KXEN_RUNDIR
dmesg_has() { xl dmesg 2>/dev/null | grep -q -- "$1"; }
net_cfg() { # FILE NAME CMDLINE VIF
  printf 'name = "%s"\nkernel = "%s"\nmemory = 16\ncmdline = "%s"\nvif = [ %s ]\n' \
    "$2" "$guests/nettest.elf" "$3" "$4" >"$1"
}
perm_is() { # DIR CHILD PERMS: the permissions xenstore-ls -p shows for DIR/CHILD
  xenstore-ls -p "$1" 2>/dev/null | grep -Eq "^$2 = .*\($3\)\$"
}
stat_of() { # DOMID KEY: a counter of the driver domain's data/vif-stats
  xenstore-read "/local/domain/$1/data/vif-stats" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"
}

printf 'name = "ddnet"\nkernel = "%s"\nmemory = 96\ndriver_domain = 1\ncmdline = "vif"\n' \
  "$guests/driverdom.elf" >"$d/dd.cfg"
check "xl create of the network driver domain (driver_domain = 1)" timeout 60 xl create -q "$d/dd.cfg"
idd=$(xl domid ddnet 2>/dev/null)
check "it owns its backend tree" \
  perm_is "/local/domain/$idd" backend "n$idd"
check "its netback starts inside the guest" wait_for 30 dmesg_has "(d$idd) driverdom: serving vif"

net_cfg "$d/b.cfg" ddb "pair b" "'mac=00:16:3e:00:01:0b,backend=ddnet'"
net_cfg "$d/a.cfg" dda "pair a 60" "'mac=00:16:3e:00:01:0a,backend=ddnet'"
check "xl create of the echoing guest (vif backend=ddnet)" timeout 60 xl create -q "$d/b.cfg"
idb=$(xl domid ddb 2>/dev/null)
be=/local/domain/$idd/backend/vif/$idb/0
check "its backend lives in the driver domain's tree" test "$(xenstore-read "$be/frontend" 2>/dev/null)" = "/local/domain/$idb/device/vif/0"
check "the frontend names that backend and its domain" \
  test "$(xenstore-read "/local/domain/$idb/device/vif/0/backend-id" 2>/dev/null)" = "$idd"
check "backend directory: owned by the driver domain, readable by the guest" \
  perm_is "$(dirname "$be")" 0 "n$idd,r$idb"
check "frontend directory: owned by the guest, readable by the driver domain" \
  perm_is "/local/domain/$idb/device/vif" 0 "n$idb,r$idd"
check "the echoing guest connects through the driver domain" \
  wait_for 30 dmesg_has "(d$idb) nettest: connected as 00:16:3e:00:01:0b"
check "xl create of the sending guest" timeout 60 xl create -q "$d/a.cfg"
ida=$(xl domid dda 2>/dev/null)
check "both guests pass every check (60 frames each way, every byte checked)" \
  wait_for 90 bash -c "xl dmesg | grep -q '(d$ida) RESULT' && xl dmesg | grep -q '(d$idb) RESULT'"
xl dmesg | grep -E "^\(d($ida|$idb|$idd)\) (not ok|RESULT|driverdom)" | sed 's/^/# /'
check "the sender's result is PASS" dmesg_has "(d$ida) RESULT PASS"
check "the echoer's result is PASS" dmesg_has "(d$idb) RESULT PASS"
check "dom0 serves no vif for them (no dom0 backend, no devd worker)" \
  bash -c "! xenstore-exists /local/domain/0/backend/vif/$ida && ! xenstore-exists /local/domain/0/backend/vif/$idb && ! test -e $KXEN_RUNDIR/devd-d$ida.pid"
moved() { [ "$(stat_of "$idd" tx_packets)" -ge 120 ] 2>/dev/null && [ "$(stat_of "$idd" rx_packets)" -ge 120 ] 2>/dev/null; }
check "the driver domain's counters moved (>= 120 frames each way)" wait_for 5 moved
echo "# driver domain counters: $(xenstore-read "/local/domain/$idd/data/vif-stats" 2>/dev/null)"

save=$KXEN_BUILD/tests/savetest.elf
for n in 1 2; do
  printf 'name = "n%s"\nkernel = "%s"\nmemory = 16\ncmdline = "vif net"\nvif = [ %s ]\n' "$n" \
    "$save" "'mac=00:16:3e:00:02:0$n,backend=ddnet'" >"$d/n$n.cfg"
  check "xl create of client n$n exchanging frames every tick" timeout 60 xl create -q "$d/n$n.cfg"
done
id1=$(xl domid n1 2>/dev/null) id2=$(xl domid n2 2>/dev/null)
net_past() { # ID N: a "net M ok" line with M > N
  xl dmesg | sed -n "s/^(d$1) savetest: net \([0-9]*\) ok.*/\1/p" | awk -v n="$2" '$1 > n {f=1} END {exit !f}'
}
last_net() { xl dmesg | sed -n "s/^(d$1) savetest: net \([0-9]*\) ok.*/\1/p" | tail -1; }
check "both clients' round trips run (10 each)" wait_for 120 bash -c "$(declare -f net_past); net_past $id1 9 && net_past $id2 9"
check "xl destroy of the network driver domain mid-traffic" xl destroy ddnet
fe1=/local/domain/$id1/device/vif/0
check "the clients' frontends reset to Initialising and wait" wait_for 20 bash -c \
  "[ \"\$(xenstore-read $fe1/state)\" = 1 ] && [ \"\$(xenstore-read /local/domain/$id2/device/vif/0/state)\" = 1 ]"
m1=$(last_net "$id1") m2=$(last_net "$id2")
check "xl create of the network driver domain again" timeout 60 xl create -q "$d/dd.cfg"
nidd=$(xl domid ddnet 2>/dev/null)
check "the frontend names the new backend" \
  test "$(xenstore-read "$fe1/backend" 2>/dev/null)" = "/local/domain/$nidd/backend/vif/$id1/0"
check "the traffic between the two clients resumes (10 more round trips each)" wait_for 120 \
  bash -c "$(declare -f net_past); net_past $id1 $((m1 + 10)) && net_past $id2 $((m2 + 10))"
check "each netfront reconnected once, by itself" bash -c "for i in $id1 $id2; do \
  xl dmesg | grep \"^(d\$i) savetest: net \" | tail -1 | grep -q '(1 reconnects' || exit 1; done"
echo "# $(xl dmesg | grep "^(d$id1) savetest: net " | tail -1); failed: $(xl dmesg | grep -c "savetest: net .*FAILED")"
check "the clients were never restarted" test "$(xl domid n1 2>/dev/null)" = "$id1"
xl destroy n1 >/dev/null 2>&1
xl destroy n2 >/dev/null 2>&1
exit 0
