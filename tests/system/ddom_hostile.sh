#!/usr/bin/env bash
# A hostile frontend (blkhostile: bad and foreign grant refs, segment counts, sector ranges,
# unknown operations, an event storm, a producer overrun, oversized rings, garbage keys, a
# write to a read-only disk, vanishing mid-I/O) against a storage driver domain. At worst it
# breaks its own devices: the driver domain keeps running and then serves a well-behaved
# guest created beside it, whose data checks out. A frontend reconnecting in a loop has that
# device refused by the driver domain, while its other disk is served.
. "$KXEN_SRC/tests/system/blk_common.sh"
[ -f "$guests/driverdom.elf" ] || skip_all "$guests/driverdom.elf not built"
d=$KXEN_RUNDIR
printf 'name = "ddh"\nkernel = "%s"\nmemory = 96\ndriver_domain = 1\ncmdline = "vbd quiet"\n' \
  "$guests/driverdom.elf" >"$d/ddh.cfg"
check "xl create of the storage driver domain" timeout 60 xl create -q "$d/ddh.cfg"
idd=$(xl domid ddh 2>/dev/null)
check "it serves" wait_for 30 blk_dmesg_has "$idd" "driverdom: serving vbd"
disk() { echo "vdev=$1,access=$2,backend=ddh,target=mem:1M:$3"; }
gid=$(blk_guest -p good blktest "mode=rw seed=4" "$(disk xvda rw good)")
hid=$(blk_guest hostile blkhostile "" "$(disk xvda rw h)" "$(disk xvdb ro r)" "$(disk xvdc ro r)" \
  "$(disk xvdd ro r)" "$(disk xvde ro r)")
wait_for 120 bash -c "xl dmesg | grep -q '^(d$hid) RESULT'"
echo "# the hostile guest: $(xl dmesg | grep -c "^(d$hid) ok ") attacks answered, $(xl dmesg | grep -c "^(d$hid) not ok ") not as on dom0's blkback"
xl dmesg | grep -E "^\(d$hid\) not ok" | sed 's/^/# /'
check "the hostile guest ran its attacks to the end" blk_dmesg_has "$hid" "blkhostile: vanishing"
blk_gone hostile
check "the driver domain is still running" bash -c "xl list ddh 2>/dev/null | grep -q '^ddh '"
xl unpause good
check "the driver domain then serves the good guest (its whole disk written and verified)" \
  blk_result "$gid" 90
blk_gone good
gid=$(blk_guest verify blktest "mode=verify seed=5 depth=4" "$(disk xvda rw good)")
check "another guest reads the good guest's data back" blk_result "$gid" 60
lid=$(blk_guest loop blkhostile "reconnect" "$(disk xvda rw l)" "$(disk xvdb rw good)")
check "a frontend reconnecting in a loop is refused; its other disk is served" blk_result "$lid" 90
check "the driver domain is still running at the end" bash -c "xl list ddh 2>/dev/null | grep -q '^ddh '"
exit 0
