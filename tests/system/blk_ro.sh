#!/usr/bin/env bash
# A read-only disk (disk = ['IMAGE,raw,xvda,ro']): the backend says so in `info`, the
# frontend refuses writes, a write pushed straight onto the ring is answered with an error,
# reads of the whole disk work, and the host file is unchanged afterwards. Soft, then kvm.
. "$KXEN_SRC/tests/system/blk_common.sh"

for accel in $(blk_accels); do
  blk_setup "$accel"
  img=$KXEN_RUNDIR/ro.img
  blk_pattern "$img" $((1 << 20)) 3
  cp "$img" "$KXEN_RUNDIR/before"
  id=$(blk_guest ro blktest "mode=ro" "$img,raw,xvda,ro")
  check "$accel: blktest's read-only checks pass" blk_result "$id" 60
  check "$accel: the backend refused the raw write" \
    blk_dmesg_has "$id" "ok .* the backend answers a raw write with an error"
  blk_gone ro
  check "$accel: the read-only image is unchanged" cmp -s "$img" "$KXEN_RUNDIR/before"
done
