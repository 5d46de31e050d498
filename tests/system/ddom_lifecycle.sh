#!/usr/bin/env bash
# Driver domain lifecycle, with a storage driver domain and a blktest client (hold=1: it stays
# connected after its test until its backend lets go):
#   - the client is created while its driver domain is still paused: xl does not wait for the
#     backend, the device sits in Initialising, and connects once the driver domain runs;
#   - the driver domain is destroyed under the connected client: the client keeps running, its
#     blkfront sees the backend gone, closes its device (Closed) and finishes cleanly;
#   - a driver domain destroyed mid-traffic and created again: a savetest client writing and
#     reading its disk every tick (target=vbd:..., so the data lives in dom0's image file of the
#     driver domain) keeps running with the same id, its frontend waits in Initialising, the
#     new driver domain takes its device over (xl re-creates the backend directory), the
#     frontend reconnects by itself and the traffic goes on (the request in flight is
#     replayed) and the data written before the restart reads back;
#   - what the new driver domain takes over is only what its predecessor served: a device it
#     claimed in its own tree but dom0 serves is not marked, nor adopted; a device whose
#     frontend's backend-id names another domain by then is not adopted;
#   - dom0's own services are untouched throughout.
. "$KXEN_SRC/tests/system/blk_common.sh"
[ -f "$guests/driverdom.elf" ] || skip_all "$guests/driverdom.elf not built"
d=$KXEN_RUNDIR
printf 'name = "ddl"\nkernel = "%s"\nmemory = 96\ndriver_domain = 1\ncmdline = "vbd"\n' \
  "$guests/driverdom.elf" >"$d/ddl.cfg"
check "xl create -p of the storage driver domain (left paused)" timeout 60 xl create -q -p "$d/ddl.cfg"
idd=$(xl domid ddl 2>/dev/null)
id=$(blk_guest cl blktest "mode=rw seed=2 depth=4 hold=1" \
  "vdev=xvda,access=rw,backend=ddl,target=mem:1M:cl")
check "the client is created although its backend is not up" test -n "$id"
be=/local/domain/$idd/backend/vbd/$id/$XVDA fe=/local/domain/$id/device/vbd/$XVDA
sleep 1
check "its device waits: backend Initialising" test "$(xenstore-read "$be/state" 2>/dev/null)" = 1
check "and its frontend has not connected" \
  bash -c "[ \"\$(xenstore-read $fe/state 2>/dev/null)\" -lt 4 ]"
check "the client is still running" bash -c "xl list cl 2>/dev/null | grep -q '^cl '"
xl unpause ddl
check "once the driver domain runs, the client connects and passes its test" \
  wait_for 90 blk_dmesg_has "$id" "blktest: holding"
check "the device is Connected at both ends" \
  bash -c "[ \"\$(xenstore-read $be/state)\" = 4 ] && [ \"\$(xenstore-read $fe/state)\" = 4 ]"
check "xl destroy of the driver domain" xl destroy ddl
check "the client follows: its blkfront closes the device (frontend Closed)" \
  wait_for 20 bash -c "xl dmesg | grep -q '^(d$id) ok .*the backend.s detach was followed'"
check "the client was not hurt: its result is PASS" blk_result "$id" 30

save=$KXEN_BUILD/tests/savetest.elf
truncate -s 8M "$d/ddr.img"
{ printf 'name = "ddr"\nkernel = "%s"\nmemory = 96\ndriver_domain = 1\ncmdline = "vbd quiet"\n' \
    "$guests/driverdom.elf"; printf "disk = [ '%s,raw,xvda,rw' ]\n" "$d/ddr.img"; } >"$d/ddr.cfg"
{ printf 'name = "io"\nkernel = "%s"\nmemory = 16\ncmdline = "disk io"\n' "$save"
  printf "disk = [ 'vdev=xvda,access=rw,backend=ddr,target=vbd:%s' ]\n" "$XVDA"; } >"$d/io.cfg"
io_lines() { xl dmesg | grep "^(d$1) savetest: io "; }
io_past() { # ID N: an "io M ok" line with M > N
  io_lines "$1" | sed -n 's/.*savetest: io \([0-9]*\) ok.*/\1/p' | awk -v n="$2" '$1 > n {f=1} END {exit !f}'
}
last_io() { io_lines "$1" | sed -n 's/.*savetest: io \([0-9]*\) ok.*/\1/p' | tail -1; }
check "xl create of a storage driver domain with a disk of its own (ddr)" timeout 60 xl create -q "$d/ddr.cfg"
check "xl create of a client doing disk I/O every tick through it" timeout 60 xl create -q "$d/io.cfg"
cid=$(xl domid io 2>/dev/null) rid=$(xl domid ddr 2>/dev/null)
# A bystander with a disk served by dom0 (xvda) and one by ddr that it never opens (xvdb).
XVDB=51728
truncate -s 1M "$d/z.img"
{ printf 'name = "z"\nkernel = "%s"\nmemory = 16\n' "$save"
  printf "disk = [ '%s,raw,xvda,rw', 'vdev=xvdb,access=rw,backend=ddr,target=mem:1M:z' ]\n" \
    "$d/z.img"; } >"$d/z.cfg"
check "xl create of a bystander with one disk served by dom0 and one by the driver domain" \
  timeout 60 xl create -q "$d/z.cfg"
zid=$(xl domid z 2>/dev/null)
check "the client's I/O runs (10 writes and read-backs)" wait_for 120 io_past "$cid" 9
# What a hostile ddr can do: claim, in its own tree, the bystander's disk that dom0 serves.
xenstore-write "/local/domain/$rid/backend/vbd/$zid/$XVDA/frontend" \
  "/local/domain/$zid/device/vbd/$XVDA" "/local/domain/$rid/backend/vbd/$zid/$XVDA/state" 4
check "xl destroy of the driver domain mid-traffic" xl destroy ddr
check "the disk dom0 serves, claimed by the driver domain, is not marked for adoption" \
  bash -c "! xenstore-read /libxl/$zid/device/vbd/$XVDA/backend-name 2>/dev/null"
check "the disk it served is marked with its name" \
  test "$(xenstore-read "/libxl/$zid/device/vbd/$XVDB/backend-name" 2>/dev/null)" = ddr
# The bystander's xvdb now names another domain (the client's) as its backend.
xenstore-write "/local/domain/$zid/device/vbd/$XVDB/backend-id" "$cid"
fe=/local/domain/$cid/device/vbd/$XVDA
fe_state_is() { [ "$(xenstore-read "$fe/state" 2>/dev/null)" = "$1" ]; }
check "the client's frontend resets to Initialising and waits" wait_for 20 fe_state_is 1
n=$(last_io "$cid")
check "xl create of the driver domain again" timeout 60 xl create -q "$d/ddr.cfg"
nid=$(xl domid ddr 2>/dev/null)
check "it has a new id ($rid -> $nid)" test -n "$nid" -a "$nid" != "$rid"
check "the frontend now names the new backend (xl re-created its directory)" \
  test "$(xenstore-read "$fe/backend" 2>/dev/null)" = "/local/domain/$nid/backend/vbd/$cid/$XVDA"
check "the disk dom0 serves was not taken over" test "$(xenstore-read \
  "/local/domain/$zid/device/vbd/$XVDA/backend" 2>/dev/null)" = "/local/domain/0/backend/vbd/$zid/$XVDA"
check "the disk whose backend-id names another domain was not taken over" \
  bash -c "! xenstore-exists /local/domain/$nid/backend/vbd/$zid && [ \"\$(xenstore-read \
  /local/domain/$zid/device/vbd/$XVDB/backend)\" = /local/domain/$rid/backend/vbd/$zid/$XVDB ]"
check "the client's I/O goes on after the restart (past io $n)" wait_for 120 io_past "$cid" "$((n + 10))"
check "the frontend reconnected once, by itself" \
  sh -c "xl dmesg | grep '^(d$cid) savetest: io ' | tail -1 | grep -q '(1 reconnects'"
check "the client was never restarted (same domain id $cid)" test "$(xl domid io 2>/dev/null)" = "$cid"
# Every 10th I/O also reads back region 0, written before the restart: the io_past check above
# covers it. An I/O that timed out instead of being replayed is only reported (seen once under
# a heavily loaded host; see docs/driver-domains.md).
echo "# I/O that failed across the restart: $(xl dmesg | grep -c "^(d$cid) savetest: io .*FAILED")"
check "the device is Connected at both ends" bash -c "[ \"\$(xenstore-read $fe/state)\" = 4 ] && \
  [ \"\$(xenstore-read /local/domain/$nid/backend/vbd/$cid/$XVDA/state)\" = 4 ]"
xl destroy io >/dev/null 2>&1
xl destroy z >/dev/null 2>&1
xl destroy ddr >/dev/null 2>&1
check "dom0's devd is still running" devd_alive
exit 0
