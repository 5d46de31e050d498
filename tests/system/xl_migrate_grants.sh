#!/usr/bin/env bash
# Host writes into guest memory during a live migration's pre-copy reach the destination: the
# savetest guest (`disk readback`) has kxen-devd's blkback read its disk into 8 buffers without
# pause (through persistent grants, then with `nopersist` through per-request grants), while
# a dom0 process writes a counter through a writable foreign map (kxen-dirtyprobe). After the
# migration the guest checks on the destination that every buffer holds the region last read
# into it, and the destination holds the counter's last value. Runs on KXEN_ACCEL (soft
# unless set); xl_migrate_kvm_grants.sh runs it again on kvm.
. "$KXEN_SRC/tests/system/xl_common.sh"
guest=$KXEN_BUILD/tests/savetest.elf
probe=$KXEN_BUILD/tests/kxen-dirtyprobe
[ -f "$guest" ] || skip_all "$guest not built"
two_hosts
truncate -s 4M "$src/disk.img"
dm() { ${2:+at_dst} xl dmesg | grep "^(d$1) savetest: "; }
has() { dm "$1" "$3" | grep -qF -- "$2"; }
no_failure() { ! dm "$1" dst | grep -q 'check FAILED'; }

for mode in persistent nopersist; do
  name=rb-$mode
  { echo "name = \"$name\""; echo "kernel = \"$guest\""; echo 'memory = 16'
    echo "cmdline = \"disk readback $([ $mode = nopersist ] && echo nopersist)\""
    echo "disk = [ '$src/disk.img,raw,xvda,rw' ]"; } >"$src/$name.cfg"
  check "$mode: the guest with a disk starts" timeout 60 xl create -q "$src/$name.cfg"
  id=$(xl domid "$name")
  wait_for 60 has "$id" "check ok - the read-back regions written"
  check "$mode: its read-back regions are on the disk" has "$id" "check ok - the read-back regions written"
  "$probe" write "$id" 2048 >"$src/written" 2>&1 &
  writer=$!
  check "$mode: xl migrate moves it while blkback and a foreign map write its memory" \
    sh -c "xl migrate -s '$fakessh' '$name' '$dst' 2>'$src/out'"
  wait $writer
  last=$(cat "$src/written")
  sed 's/^/# /' "$src/out"
  did=$(at_dst xl domid "$name" 2>/dev/null)
  check "$mode: it runs at the destination" test -n "$did"
  [ -n "$did" ] || continue
  wait_for 60 has "$did" "the backend's reads into guest memory arrived" dst
  dm "$did" dst | grep "backend's reads" | sed 's/^/# /'
  check "$mode: every buffer blkback read into during the pre-copy holds its region there" \
    has "$did" "check ok - the backend's reads into guest memory arrived" dst
  n=$(dm "$did" dst | sed -n "s/.*the backend's reads.*(\([0-9]*\) reads)$/\1/p")
  check "$mode: blkback wrote the guest's buffers during the migration (${n:-0} reads)" \
    test "${n:-0}" -ge 8
  got=$(at_dst "$probe" read "$did" 2048)
  check "$mode: the foreign map's last write is there ($got of $last)" \
    test -n "$got" -a "${last:-0}" -ge 2 -a "${got:-0}" -ge "$((${last:-0} - 1))"
  check "$mode: no check failed at the destination" no_failure "$did"
  at_dst xl destroy "$name"
done
