#!/usr/bin/env bash
# Attach and detach while the guest runs: blktest boots without a disk and waits for one;
# `xl block-attach` gives it one, the guest connects and runs its pattern test, then holds the
# disk until `xl block-detach`: the guest follows the backend's Closing, gives its grants back
# and closes, so the detach completes without being forced and no node is left. Soft, then kvm.
. "$KXEN_SRC/tests/system/blk_common.sh"

for accel in $(blk_accels); do
  blk_setup "$accel"
  img=$KXEN_RUNDIR/hot.img
  truncate -s $((1 << 20)) "$img"
  id=$(blk_guest hot blktest "mode=rw seed=2 wait=30 hold=1")
  check "$accel: the guest boots without a disk and waits" \
    wait_for 20 blk_dmesg_has "$id" "blktest: waiting for a disk"
  check "$accel: xl block-attach while it runs" xl block-attach hot "$img,raw,xvda,rw"
  check "$accel: the guest finds the disk and connects" \
    wait_for 30 blk_dmesg_has "$id" "ok 2 - blktest: vbd $XVDA connects"
  check "$accel: its pattern test runs and then it holds the disk" \
    wait_for 60 blk_dmesg_has "$id" "blktest: holding"
  check "$accel: the backend is Connected" \
    test "$(xenstore-read "/local/domain/0/backend/vbd/$id/$XVDA/state")" = 4
  xl block-detach hot xvda 2>"$KXEN_RUNDIR/detach.err"
  check "$accel: xl block-detach completes" test $? -eq 0
  check "$accel: the guest closed in time (no forced removal)" \
    bash -c "! grep -q 'removed by force' '$KXEN_RUNDIR/detach.err'"
  check "$accel: the guest followed the detach and passes" blk_result "$id" 30
  check "$accel: no vbd node is left" \
    bash -c "! xenstore-read /local/domain/0/backend/vbd/$id/$XVDA/state 2>/dev/null"
  blk_gone hot
  blk_pattern "$KXEN_RUNDIR/want" $((1 << 20)) 3
  check "$accel: the host file holds the guest's data" cmp -s "$img" "$KXEN_RUNDIR/want"
done
