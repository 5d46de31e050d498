#!/usr/bin/env bash
# A hostile frontend (blkhostile) against kxen-devd's blkback: malformed requests (bad,
# foreign and out-of-table grant refs, segment counts, sector ranges, unknown and nested
# operations), an event storm, a producer overrun, an oversized ring-page-order, too many
# queues, garbage ring keys, a write to a read-only disk, and vanishing with requests in
# flight. Each gets an error response or the close of that one device; devd survives and then
# serves a well-behaved guest that was created beside it. A frontend reconnecting in a loop
# (Closed, Initialising, again and again) has that device refused, logged once, while its
# other disk is served. Soft, then kvm.
. "$KXEN_SRC/tests/system/blk_common.sh"

for accel in $(blk_accels); do
  blk_setup "$accel"
  a=$KXEN_RUNDIR/hostile.img b=$KXEN_RUNDIR/ro.img good=$KXEN_RUNDIR/good.img
  truncate -s $((1 << 20)) "$a" "$b" "$good"
  gid=$(blk_guest -p good blktest "mode=rw seed=4" "$good,raw,xvda,rw")
  hid=$(blk_guest hostile blkhostile "" "$a,raw,xvda,rw" "$b,raw,xvdb,ro" "$b,raw,xvdc,ro" \
    "$b,raw,xvdd,ro" "$b,raw,xvde,ro")
  check "$accel: every attack got an error or closed its device only" blk_result "$hid" 90
  check "$accel: the hostile guest ran all its attacks" \
    bash -c "[ \$(xl dmesg | grep -c '^(d$hid) ok ') -ge 28 ]"
  check "$accel: it vanished with requests in flight" blk_dmesg_has "$hid" "blkhostile: vanishing"
  check "$accel: the overrun was logged as that device's protocol error" \
    grep -q "vbd-$hid-$XVDA: .*producer index" "$KXEN_RUNDIR/kxen-devd.log"
  blk_gone hostile
  check "$accel: devd survived" devd_alive
  xl unpause good
  check "$accel: devd then serves the good guest" blk_result "$gid" 60
  blk_gone good
  check "$accel: devd is still running" devd_alive
  blk_pattern "$KXEN_RUNDIR/want" $((1 << 20)) 5
  check "$accel: the good guest's disk holds its data" cmp -s "$good" "$KXEN_RUNDIR/want"
  lid=$(blk_guest loop blkhostile "reconnect" "$a,raw,xvda,rw" "$good,raw,xvdb,ro")
  check "$accel: a frontend reconnecting in a loop is refused; its other disk is served" \
    blk_result "$lid" 90
  check "$accel: the refusal is logged once" \
    test "$(grep -c "vbd-$lid-$XVDA: refused: the frontend reconnected" "$KXEN_RUNDIR/kxen-devd.log")" = 1
  blk_gone loop
  check "$accel: devd is still running after the loop" devd_alive
done
