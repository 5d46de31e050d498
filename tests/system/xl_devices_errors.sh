#!/usr/bin/env bash
# Every disk= and vif= entry xl create must refuse: the message names the entry, and nothing
# is left behind — no domain, no xenstore node of it (frontend, backend, /libxl), no devd
# worker. Also a hotplug script that fails after the domain exists (its hotplug-error is the
# message) and a backend that closes the device.
. "$KXEN_SRC/tests/system/xl_common.sh"
[ -x "$KXEN_BUILD/bin/kxen-devd" ] || skip_all "kxen-devd not built"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
truncate -s 1M "$d/ok.img"
cat >"$d/fail-script" <<'EOF'
#!/bin/sh
xenstore-write "$XENBUS_PATH/hotplug-error" "kxen test: no such tap" "$XENBUS_PATH/hotplug-status" error
exit 1
EOF
chmod +x "$d/fail-script"
# Services up (and dom0 listed) before the first refusal.
xl list >/dev/null

nothing_left() {
  local n
  n=$(xs_nodes)
  ! xl list | awk 'NR > 2' | grep -q . &&
    ! grep -qE '^/local/domain/[1-9]|/backend/(vbd|vif)/[1-9]|^/libxl/[1-9]' <<<"$n" &&
    ! ls "$KXEN_RUNDIR"/devd-d*.pid >/dev/null 2>&1
}
# refused WHAT PATTERN CFG-LINE...: xl create fails, stderr matches PATTERN, nothing left.
refused() {
  local what=$1 pat=$2 err
  shift 2
  write_cfg "$d/bad.cfg" bad "$@"
  err=$(xl create -q "$d/bad.cfg" 2>&1)
  if [ $? -ne 0 ] && grep -qE -- "$pat" <<<"$err"; then ok "$what is refused: $err"
  else not_ok "$what is refused naming the entry (got: $err)"; fi
  wait_for 3 nothing_left
  check "and nothing is left after $what" nothing_left
}

refused "a missing image" "disk xvda \\($d/missing.img\\): cannot open .*No such file" \
  "disk = [ '$d/missing.img,raw,xvda,rw' ]"
refused "a character device as a disk" "disk xvda \\(/dev/null\\): /dev/null is neither a file nor a block device" \
  "disk = [ '/dev/null,raw,xvda,rw' ]"
refused "a directory as a disk" "disk xvdb \\($d\\): cannot open|neither a file" \
  "disk = [ '$d/ok.img,raw,xvda,rw', '$d,raw,xvdb,ro' ]"
refused "a duplicate vdev" "disk: entry 1: vdev xvda is used twice" \
  "disk = [ '$d/ok.img,raw,xvda,rw', 'vdev=xvda, access=ro, target=$d/ok.img' ]"
refused "a qcow2 image" "disk xvda .*only raw images" "disk = [ '$d/ok.img,qcow2,xvda,rw' ]"
refused "backendtype=qdisk" "disk xvda .*backendtype=qdisk is not supported" \
  "disk = [ 'vdev=xvda, backendtype=qdisk, target=$d/ok.img' ]"
refused "a disk script that does not exist" "disk xvda .*hotplug script /nonexistent-script" \
  "disk = [ 'vdev=xvda, script=/nonexistent-script, target=$d/ok.img' ]"
refused "a bridge that does not exist" "vif 0 \\(bridge kxen-no-such-br\\): bridge kxen-no-such-br does not exist" \
  "vif = [ 'bridge=kxen-no-such-br' ]"
refused "rate=" "vif 0 .*rate= is not supported" "vif = [ 'rate=10Mb/s,script=$d/fail-script' ]"
refused "type=ioemu" "vif 0 .*type=ioemu" "vif = [ 'type=ioemu,script=$d/fail-script' ]"
refused "a backend domain that does not exist" "disk xvda .*backend domain 'nosuchdom' does not exist" \
  "disk = [ 'vdev=xvda, backend=nosuchdom, target=$d/ok.img' ]"
refused "a disk hotplug script that fails" "disk xvda .*kxen test: no such tap" \
  "disk = [ 'vdev=xvda, script=$d/fail-script, target=$d/ok.img' ]"
check "the failing script's domain did exist (devd served its disk meanwhile)" \
  grep -q "worker for domain [1-9]" "$KXEN_RUNDIR/kxen-devd.log"
# No netback runs here: a vif's backend never reaches InitWait (10 s, Xen's bound).
refused "a vif no backend serves" "vif 0 .*the backend did not reach InitWait within 10 s" \
  "vif = [ 'script=$d/fail-script' ]"
refused "a malformed vdev (parser)" "invalid vdev 'xvd1'" "disk = [ 'vdev=xvd1,target=$d/ok.img' ]"

# A good guest afterwards still works: the failures left devd healthy.
write_cfg "$d/good.cfg" good "disk = [ '$d/ok.img,raw,xvda,rw' ]"
check "a good disk entry still creates a guest" xl create -q "$d/good.cfg"
check "and its backend is in InitWait" \
  test "$(xenstore-read "/local/domain/0/backend/vbd/$(xl domid good)/51712/state")" = 2
check "xl destroy" xl destroy good
wait_for 3 nothing_left
check "nothing is left after destroy" nothing_left
