#!/usr/bin/env bash
# Two guests, each on its own image, running their pattern tests at the same time with
# different seeds and ring shapes: each passes, and each host file holds only its own
# guest's pattern. Soft, then kvm when usable.
. "$KXEN_SRC/tests/system/blk_common.sh"

for accel in $(blk_accels); do
  blk_setup "$accel"
  a=$KXEN_RUNDIR/a.img b=$KXEN_RUNDIR/b.img
  truncate -s $((1 << 20)) "$a" "$b"
  ia=$(blk_guest -p ga blktest "mode=rw seed=20 depth=32" "$a,raw,xvda,rw")
  ib=$(blk_guest -p gb blktest "mode=rw seed=40 depth=8 queues=2 order=1" "$b,raw,xvda,rw")
  xl unpause ga
  xl unpause gb
  check "$accel: guest a passes" blk_result "$ia" 90
  check "$accel: guest b passes" blk_result "$ib" 90
  blk_gone ga
  blk_gone gb
  blk_pattern "$KXEN_RUNDIR/want-a" $((1 << 20)) 21
  blk_pattern "$KXEN_RUNDIR/want-b" $((1 << 20)) 41
  check "$accel: a's image holds a's pattern" cmp -s "$a" "$KXEN_RUNDIR/want-a"
  check "$accel: b's image holds b's pattern" cmp -s "$b" "$KXEN_RUNDIR/want-b"
done
