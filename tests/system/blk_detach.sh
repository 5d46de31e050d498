#!/usr/bin/env bash
# Attach and detach while the guest runs: blktest boots without a disk and waits for one; the
# disk is then attached (the backend and frontend keys written, as xl block-attach does), the
# guest connects and runs its pattern test, then holds the disk until it is detached (online=0
# and state Closing on the backend, as xl block-detach does): the guest follows the backend's
# Closing, gives its grants back and closes; the backend reaches Closed. Soft, then kvm.
. "$KXEN_SRC/tests/system/blk_common.sh"

be_state() { xenstore-read "/local/domain/0/backend/vbd/$1/$XVDA/state" 2>/dev/null; }
for accel in $(blk_accels); do
  blk_setup "$accel"
  img=$KXEN_RUNDIR/hot.img
  truncate -s $((1 << 20)) "$img"
  id=$(blk_guest hot blktest "mode=rw seed=2 wait=30 hold=1")
  xl unpause hot
  check "$accel: the guest boots without a disk and waits" \
    wait_for 20 blk_dmesg_has "$id" "blktest: waiting for a disk"
  check "$accel: attaching xvda while it runs" blk_serve "$id:$XVDA:$img:w"
  check "$accel: the guest finds the disk and connects" \
    wait_for 30 blk_dmesg_has "$id" "ok 2 - blktest: vbd $XVDA connects"
  check "$accel: its pattern test runs and then it holds the disk" \
    wait_for 60 blk_dmesg_has "$id" "blktest: holding"
  check "$accel: the backend is Connected" test "$(be_state "$id")" = 4
  check "$accel: detaching xvda" "$H" -d "$id:$XVDA"
  check "$accel: the guest follows the detach and passes" blk_result "$id" 30
  check "$accel: the backend reaches Closed" wait_for 10 bash -c "[ \"\$(xenstore-read /local/domain/0/backend/vbd/$id/$XVDA/state 2>/dev/null)\" = 6 ] || ! xenstore-read /local/domain/0/backend/vbd/$id/$XVDA/state >/dev/null 2>&1"
  check "$accel: blk-harness is still running" blk_harness_alive
  blk_stop
  blk_pattern "$KXEN_RUNDIR/want" $((1 << 20)) 3
  check "$accel: the host file holds the guest's data" cmp -s "$img" "$KXEN_RUNDIR/want"
done
