#!/usr/bin/env bash
# A storage driver domain: the driverdom guest (drivers/' blkback over the guest platform)
# serves disks to blktest guests (disk spec backend=NAME):
#   - a disk in the driver domain's memory (target=mem:SIZE:NAME): a guest writes and checks
#     the whole disk, a second guest reads the first one's pattern back;
#   - the driver domain's own PV disk from dom0 (target=vbd:DEVID): the guest's writes go
#     through the driver domain to the host file, which holds exactly the guest's pattern.
# dom0 serves no disk of the clients (its devd has no backend for them).
# On soft, then the memory disk on kvm when kxend can use it here (each grant map of the
# driver domain is a KVM memory slot there: hypervisor/accel/kvm_foreign.c).
. "$KXEN_SRC/tests/system/blk_common.sh"
[ -f "$guests/driverdom.elf" ] || skip_all "$guests/driverdom.elf not built"
SIZE=$((2 << 20))
dd_cfg() { # NAME CMDLINE [DISK]
  { printf 'name = "%s"\nkernel = "%s"\nmemory = 96\ndriver_domain = 1\ncmdline = "%s"\n' \
      "$1" "$guests/driverdom.elf" "$2"
    [ -z "${3:-}" ] || printf "disk = [ '%s' ]\n" "$3"; } >"$d/$1.cfg"
}

suite() {
  local acc=$1
  blk_setup "$acc"
  d=$KXEN_RUNDIR
  dd_cfg ddblk "vbd"
  check "$acc: xl create of the storage driver domain" timeout 60 xl create -q "$d/ddblk.cfg"
  idd=$(xl domid ddblk 2>/dev/null)
  check "$acc: its blkback starts inside the guest" wait_for 30 blk_dmesg_has "$idd" "driverdom: serving vbd"
  id=$(blk_guest bt1 blktest "mode=rw seed=5 depth=16" \
    "vdev=xvda,access=rw,backend=ddblk,target=mem:$SIZE:disk1")
  check "$acc: the client's backend lives in the driver domain" \
    xenstore-exists "/local/domain/$idd/backend/vbd/$id/$XVDA"
  check "$acc: blktest passes on a disk in the driver domain's memory" blk_result "$id" 120
  check "$acc: dom0 had no backend for it" bash -c "! xenstore-exists /local/domain/0/backend/vbd/$id"
  check "$acc: the guest is gone" blk_gone bt1
  id=$(blk_guest bt2 blktest "mode=verify seed=6 depth=4" \
    "vdev=xvda,access=rw,backend=ddblk,target=mem:$SIZE:disk1")
  check "$acc: a second guest reads the first one's pattern back through the driver domain" \
    blk_result "$id" 60
  blk_gone bt2
  echo "# driver domain counters: $(xenstore-read "/local/domain/$idd/data/vbd-stats" 2>/dev/null)"
  # kvm here is slow per guest instruction (docs/kvm.md): the forwarded disk, the same
  # blkback path behind one more frontend, runs on soft only.
  kvm_end=$(tap_mark)
  [ "$acc" = soft ] || { kxen-services stop >/dev/null 2>&1; return; }

  img=$d/dd.img
  truncate -s $SIZE "$img"
  dd_cfg ddfwd "vbd" "$img,raw,xvda,rw"
  check "$acc: xl create of a driver domain with a PV disk of its own" timeout 60 xl create -q "$d/ddfwd.cfg"
  idf=$(xl domid ddfwd 2>/dev/null)
  check "$acc: it serves" wait_for 30 blk_dmesg_has "$idf" "driverdom: serving vbd"
  id=$(blk_guest bt3 blktest "mode=rw seed=8 depth=8" \
    "vdev=xvda,access=rw,backend=ddfwd,target=vbd:$XVDA")
  check "$acc: blktest passes on the driver domain's own disk, forwarded" blk_result "$id" 180
  check "$acc: the guest is gone" blk_gone bt3
  blk_pattern "$d/want9" $SIZE 9
  check "$acc: the host file holds exactly what the guest wrote (seed 9), end to end" cmp -s "$img" "$d/want9"
  kxen-services stop >/dev/null 2>&1
}

mark=$(tap_mark)
suite soft
if accel_usable kvm 2>/dev/null; then
  suite kvm
else
  for ((i = mark; i < kvm_end; i++)); do
    n=${_tap_names[i]}
    skip "${n//soft/kvm}" "kxend cannot use kvm here"
  done
fi
exit 0
