#!/usr/bin/env bash
# PV disks and nics from the toolstack's side, with a hello guest (no blkfront, no netfront):
# the xenstore layout and permissions of disk= and vif= as Xen's libxl writes them (read with
# Xen's own /usr/bin/xenstore-ls), every backend in InitWait before the guest runs, hotplug
# scripts run as Xen runs them, xl block-/network-attach/-list/-detach with Xen's syntax and
# output, a detach that the guest never answers forced after the timeout, and xl destroy
# leaving no device node and no devd worker behind.
. "$KXEN_SRC/tests/system/xl_common.sh"
xen_ls=/usr/bin/xenstore-ls
check "Xen's xenstore-ls is installed ($xen_ls)" foreign "$xen_ls"
[ -x "$xen_ls" ] || exit 1
[ -x "$KXEN_BUILD/bin/kxen-devd" ] || skip_all "kxen-devd not built"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
truncate -s 8M "$d/a.img"
truncate -s 4M "$d/b.img"
truncate -s 1M "$d/q.img"
# A vif hotplug script that records how it was run and reports success as Xen's do.
cat >"$d/vif-record" <<EOF
#!/bin/sh
echo "\$1 XENBUS_TYPE=\$XENBUS_TYPE XENBUS_PATH=\$XENBUS_PATH XENBUS_BASE_PATH=\$XENBUS_BASE_PATH vif=\$vif" >>"$d/hotplug.log"
[ "\$1" = add ] && xenstore-write "\$XENBUS_PATH/hotplug-status" connected
exit 0
EOF
chmod +x "$d/vif-record"
# No netback runs in this test: a stand-in takes every new vif backend to InitWait.
( while :; do
    for p in $(xenstore-ls -f /local/domain/0/backend/vif 2>/dev/null | awk '$1 ~ /\/state$/ && $3 == "\"1\"" { print $1 }'); do
      xenstore-write "$p" 2 2>/dev/null
    done
    sleep 0.05
  done ) &
stub=$!
trap 'kill $stub 2>/dev/null; kxen-services stop >/dev/null 2>&1' EXIT

write_cfg "$d/dev.cfg" dev \
  "disk = [ '$d/a.img,raw,xvda,rw', 'vdev=xvdb, access=ro, devtype=cdrom, target=$d/b.img', 'format=raw, vdev=xvdq, no-discard, target=$d/q.img' ]" \
  "vif = [ 'mac=00:16:3e:0a:0b:0c,bridge=kxbr-none,script=$d/vif-record,vifname=kx-test0', 'script=$d/vif-record' ]"
check "xl create with three disks and two vifs succeeds" xl create -q "$d/dev.cfg"
id=$(xl domid dev)
be=/local/domain/0/backend/vbd/$id/51712
fe=/local/domain/$id/device/vbd/51712
ls_be=$("$xen_ls" -fp "$be")
ls_fe=$("$xen_ls" -fp "$fe")
# has LISTING PATH VALUE PERMS: one line of xenstore-ls -fp output.
has() { grep -qxF "$2 = \"$3\"   ($4)" <<<"$1" || { echo "# missing: $2 = \"$3\" ($4)"; return 1; }; }
check "backend dir is dom0's, readable by the guest (n0,r$id)" \
  has "$("$xen_ls" -fp "${be%/*}")" "$be" "" "n0,r$id"
for kv in "frontend=$fe" "frontend-id=$id" online=1 removable=0 bootable=1 dev=xvda type=phy \
          mode=w device-type=disk discard-enable=1 specification=xen "params=$d/a.img"; do
  check "backend key ${kv%%=*} = ${kv#*=}" has "$ls_be" "$be/${kv%%=*}" "${kv#*=}" "n0,r$id"
done
check "the backend reached InitWait before xl create returned" has "$ls_be" "$be/state" 2 "n0,r$id"
check "frontend dir is the guest's, readable by dom0 (n$id,r0)" \
  has "$("$xen_ls" -fp "${fe%/*}")" "$fe" "" "n$id,r0"
for kv in "backend=$be" backend-id=0 state=1 virtual-device=51712 device-type=disk trusted=1; do
  check "frontend key ${kv%%=*} = ${kv#*=}" has "$ls_fe" "$fe/${kv%%=*}" "${kv#*=}" "n$id,r0"
done
b2=/local/domain/0/backend/vbd/$id/51728
check "xvdb is device 51728, read-only cdrom" \
  test "$(/usr/bin/xenstore-read "$b2/mode" "$b2/device-type" "$b2/removable")" = "r
cdrom
1"
bq=/local/domain/0/backend/vbd/$id/268439552
check "xvdq takes the extended form (1<<28 | 16<<8 = 268439552) and no-discard" \
  test "$(/usr/bin/xenstore-read "$bq/discard-enable")" = 0
lx=$("$xen_ls" -fp "/libxl/$id")
check "/libxl/$id keeps a dom0-only copy of each device (n0)" has "$lx" "/libxl/$id/device/vbd/51712/backend" "$be" n0
check "the private copy has the backend keys" has "$lx" "/libxl/$id/device/vbd/51712/params" "$d/a.img" n0

v0=/local/domain/0/backend/vif/$id/0
vf0=/local/domain/$id/device/vif/0
ls_v=$("$xen_ls" -fp "$v0")
ls_vf=$("$xen_ls" -fp "$vf0")
for kv in "frontend=$vf0" "frontend-id=$id" online=1 "script=$d/vif-record" mac=00:16:3e:0a:0b:0c \
          bridge=kxbr-none handle=0 type=vif vifname=kx-test0; do
  check "vif backend key ${kv%%=*} = ${kv#*=}" has "$ls_v" "$v0/${kv%%=*}" "${kv#*=}" "n0,r$id"
done
for kv in "backend=$v0" backend-id=0 state=1 handle=0 mac=00:16:3e:0a:0b:0c trusted=1; do
  check "vif frontend key ${kv%%=*} = ${kv#*=}" has "$ls_vf" "$vf0/${kv%%=*}" "${kv#*=}" "n$id,r0"
done
check "vif frontend mtu is read-only for the guest (n0,r$id)" has "$ls_vf" "$vf0/mtu" 1500 "n0,r$id"
mac1=$(/usr/bin/xenstore-read "/local/domain/0/backend/vif/$id/1/mac")
check "a vif without mac= gets one in Xen's 00:16:3e range ($mac1)" \
  grep -qE '^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$' <<<"$mac1"
check "the vif script ran with add and Xen's environment" grep -qxF \
  "add XENBUS_TYPE=vif XENBUS_PATH=backend/vif/$id/0 XENBUS_BASE_PATH=backend vif=kx-test0" "$d/hotplug.log"
check "the second vif's interface is vif$id.1" grep -qF "XENBUS_PATH=backend/vif/$id/1 XENBUS_BASE_PATH=backend vif=vif$id.1" "$d/hotplug.log"
check "hotplug-status is connected" test "$(/usr/bin/xenstore-read "$v0/hotplug-status")" = connected
check "devd runs one worker for the guest" kill -0 "$(cat "$KXEN_RUNDIR/devd-d$id.pid" 2>/dev/null)"

# xl block-list / network-list print Xen's header and one row a device.
out=$(xl block-list dev)
check "block-list header is Xen's" grep -q '^Vdev  BE  handle state evt-ch ring-ref BE-path' <<<"$out"
check "block-list shows xvda (frontend state 1, no ring yet)" \
  grep -qE "^51712 +0 +$id +1 +-1 +-1 +$be" <<<"$out"
check "block-list shows three disks" test "$(tail -n +2 <<<"$out" | wc -l)" -eq 3
out=$(xl network-list dev)
check "network-list header is Xen's" grep -q '^Idx BE Mac Addr. *handle state evt-ch *tx-/rx-ring-ref BE-path' <<<"$out"
check "network-list shows vif 0 with its MAC" grep -qE "^0 +0 +00:16:3e:0a:0b:0c +0 +1 " <<<"$out"

# Attach and detach while the guest runs.
truncate -s 2M "$d/c.img"
check "xl block-attach with the positional form" xl block-attach dev "$d/c.img,raw,xvdc,rw"
check "the hot disk's backend is in InitWait" \
  test "$(/usr/bin/xenstore-read "/local/domain/0/backend/vbd/$id/51744/state")" = 2
check "attaching the same vdev again is refused" sh -c "! xl block-attach dev '$d/c.img,raw,xvdc,rw' 2>/dev/null"
start=$(date +%s)
err=$(xl block-detach dev xvdc 2>&1)
rc=$? el=$(( $(date +%s) - start ))
check "block-detach of a disk the guest never answers returns after the timeout ($el s)" \
  test $rc -eq 0 -a $el -ge 9 -a $el -le 20
check "and says the removal was forced" grep -q "removed by force" <<<"$err"
check "the detached disk left no node" sh -c "! xenstore-exists /local/domain/0/backend/vbd/$id/51744 && ! xenstore-exists /local/domain/$id/device/vbd/51744 && ! xenstore-exists /libxl/$id/device/vbd/51744"
start=$(date +%s)
check "block-detach -f removes at once" xl block-detach -f dev 51728
check "within 2 s" test $(( $(date +%s) - start )) -le 2
check "network-attach adds vif 2" xl network-attach dev "script=$d/vif-record" mac=00:16:3e:00:00:22
check "network-detach by MAC (forced) removes it" xl network-detach -f dev 00:16:3e:00:00:22
check "the vif script ran with remove" grep -qF "remove XENBUS_TYPE=vif XENBUS_PATH=backend/vif/$id/2" "$d/hotplug.log"
check "network-list is back to two vifs" test "$(xl network-list dev | tail -n +2 | wc -l)" -eq 2

# The default vif script puts the interface on the bridge (a tap stands in for netback's).
br=kxbr$$ tap=kxtap$$
if [ "$(id -u)" = 0 ] && ip link add "$br" type bridge 2>/dev/null; then
  ip tuntap add dev "$tap" mode tap 2>/dev/null
  check "network-attach with the default script and bridge=$br" \
    xl network-attach dev "bridge=$br" "vifname=$tap"
  check "kxen-vif-bridge put $tap on $br and brought it up" \
    sh -c "[ \"\$(basename \"\$(readlink /sys/class/net/$tap/master)\")\" = $br ] && ip link show $tap | grep -q UP"
  check "and reported hotplug-status connected" \
    test "$(/usr/bin/xenstore-read "/local/domain/0/backend/vif/$id/2/hotplug-status")" = connected
  check "network-detach -f runs its remove: $tap leaves the bridge" \
    sh -c "xl network-detach -f dev 2 && ! test -e /sys/class/net/$tap/master"
  ip link del "$tap" 2>/dev/null
  ip link del "$br" 2>/dev/null
else
  skip "the default vif script attaches the interface to the bridge" "needs root and Linux bridges"
fi

# Destroy tears everything down.
check "xl destroy" xl destroy dev
no_backend_left() { ! xs_nodes | grep -qE "/backend/(vbd|vif)/$id( |/)"; }
check "no backend node of the domain is left" no_backend_left
check "no /libxl/$id is left" sh -c "! xenstore-exists /libxl/$id"
wait_for 5 sh -c "! test -e '$KXEN_RUNDIR/devd-d$id.pid'"
check "devd stopped the guest's worker" test ! -e "$KXEN_RUNDIR/devd-d$id.pid"
