#!/usr/bin/env bash
# A hostile frontend (blkhostile) against blkback, while the same backend process serves a
# well-behaved guest: malformed requests (bad, foreign and out-of-table grant refs, segment
# counts, sector ranges, unknown and nested operations), an event storm, a producer overrun,
# an oversized ring-page-order, too many queues, garbage ring keys, a write to a read-only
# disk, and vanishing with requests in flight. Each gets an error response or the close of that
# one device; blk-harness survives, and blktest then passes on its own disk. Soft, then kvm.
. "$KXEN_SRC/tests/system/blk_common.sh"

for accel in $(blk_accels); do
  blk_setup "$accel"
  a=$KXEN_RUNDIR/hostile.img b=$KXEN_RUNDIR/ro.img good=$KXEN_RUNDIR/good.img
  truncate -s $((1 << 20)) "$a" "$b" "$good"
  hid=$(blk_guest hostile blkhostile "")
  gid=$(blk_guest good blktest "mode=rw seed=4")
  check "$accel: blk-harness serves both guests" blk_serve "$hid:$XVDA:$a:w" "$hid:$XVDB:$b:r" \
    "$hid:51744:$b:r" "$hid:51760:$b:r" "$hid:51776:$b:r" "$gid:$XVDA:$good:w"
  xl unpause hostile
  check "$accel: every attack got an error or closed its device only" blk_result "$hid" 90
  check "$accel: the hostile guest ran all its attacks" \
    bash -c "[ \$(xl dmesg | grep -c '^(d$hid) ok ') -ge 28 ]"
  check "$accel: it vanished with requests in flight" blk_dmesg_has "$hid" "blkhostile: vanishing"
  check "$accel: the overrun was logged as this device's protocol error" \
    grep -q "vbd-$hid-$XVDA: .*producer index" "$KXEN_RUNDIR/harness.log"
  check "$accel: blk-harness survived" blk_harness_alive
  xl unpause good
  check "$accel: the same backend then serves the good guest" blk_result "$gid" 60
  check "$accel: blk-harness is still running" blk_harness_alive
  blk_stop
  blk_pattern "$KXEN_RUNDIR/want" $((1 << 20)) 5
  check "$accel: the good guest's disk holds its data" cmp -s "$good" "$KXEN_RUNDIR/want"
done
