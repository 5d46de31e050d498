#!/usr/bin/env bash
# Driver domain lifecycle, with a storage driver domain and a blktest client (hold=1: it stays
# connected after its test until its backend lets go):
#   - the client is created while its driver domain is still paused: xl does not wait for the
#     backend, the device sits in Initialising, and connects once the driver domain runs;
#   - the driver domain is destroyed under the connected client: the client keeps running, its
#     blkfront sees the backend gone, closes its device (Closed) and finishes cleanly;
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
check "dom0's devd is still running" devd_alive
exit 0
