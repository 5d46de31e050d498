#!/usr/bin/env bash
# A guest's disk end to end through xl (disk = ['IMAGE,raw,xvda,rw']) and kxen-devd's blkback:
# blktest writes, flushes, reads back and verifies patterns over the whole raw image with many
# requests in flight, once as Linux 6.1's blkfront negotiates by default (one queue, one ring
# page, persistent grants, indirect requests) and once with two queues, four-page rings, no
# persistent grants and direct requests only. After each guest is gone the host file holds
# exactly the pattern it wrote (cmp against a file computed here); a third guest verifies the
# second one's data from inside. Soft, then kvm when usable.
. "$KXEN_SRC/tests/system/blk_common.sh"

for accel in $(blk_accels); do
  blk_setup "$accel"
  # Nested kvm moves about 1 MB/s through blkback on this host, soft tens of MB/s: the image
  # is sized so each half takes seconds.
  if [ "$accel" = kvm ]; then SIZE=$((1 << 20)); else SIZE=$((4 << 20)); fi
  img=$KXEN_RUNDIR/a.img
  truncate -s $SIZE "$img"

  id=$(blk_guest bt1 blktest "mode=rw seed=5 depth=16" "$img,raw,xvda,rw")
  check "$accel: blktest passes with Linux's defaults (persistent, indirect)" blk_result "$id" 90
  check "$accel: it used indirect requests" blk_dmesg_has "$id" "ok .* indirect requests"
  check "$accel: the guest is gone" blk_gone bt1
  blk_pattern "$KXEN_RUNDIR/want6" $SIZE 6
  check "$accel: the host file holds exactly what the guest wrote (seed 6)" cmp -s "$img" "$KXEN_RUNDIR/want6"

  id=$(blk_guest bt2 blktest "mode=rw seed=9 depth=32 queues=2 order=2 persistent=0 indirect=0" \
    "$img,raw,xvda,rw")
  check "$accel: blktest passes with 2 queues, 4-page rings, no persistent grants, direct only" \
    blk_result "$id" 90
  check "$accel: two queues were negotiated" blk_dmesg_has "$id" "ok .* 2 queue(s) negotiated"
  check "$accel: order-2 rings hold 128 requests" blk_dmesg_has "$id" "blktest: .* 2 queue(s) of 128 slots (order 2), indirect 0, persistent 0"
  check "$accel: the second guest is gone" blk_gone bt2
  blk_pattern "$KXEN_RUNDIR/want10" $SIZE 10
  check "$accel: the host file holds exactly what the second guest wrote (seed 10)" \
    cmp -s "$img" "$KXEN_RUNDIR/want10"

  id=$(blk_guest bt3 blktest "mode=verify seed=10" "$img,raw,xvda,rw")
  check "$accel: a third guest reads the second one's pattern back" blk_result "$id" 60
  blk_gone bt3
  check "$accel: verifying changed nothing on the host" cmp -s "$img" "$KXEN_RUNDIR/want10"
done
