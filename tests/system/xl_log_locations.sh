#!/usr/bin/env bash
# Where logs and dumps go, and what a log line looks like (docs/paths.md): every daemon's line
# starts with an ISO 8601 UTC time; a daemon log past $KXEN_LOG_MAX rotates to .1;
# KXEN_LOG_DIR and KXEN_DUMP_DIR move daemon logs, console logs, xl-NAME.log and core dumps;
# without KXEN_RUNDIR, root's go to Xen's /var/log/xen and /var/lib/xen/dump (checked in a
# private mount namespace with tmpfs over /var/log, /var/lib and /run, so the host is untouched).
. "$KXEN_SRC/tests/system/xl_common.sh"
w=$KXEN_RUNDIR/cfg
mkdir -p "$w"
L=$KXEN_RUNDIR/logs
export KXEN_LOG_DIR=$L KXEN_DUMP_DIR=$KXEN_RUNDIR/dumps KXEN_LOG_MAX=800
write_cfg "$w/loc.cfg" loc 'on_poweroff = "coredump-destroy"'
xl create -q "$w/loc.cfg"
wait_for 20 grep -q "waiting for control/shutdown" "$L/console/guest-loc.log"
iso='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z '
for d in kxend xenstored xenconsoled kxen-devd; do
  check "KXEN_LOG_DIR holds $d.log" test -s "$L/$d.log"
  check "... not the run dir" test ! -e "$KXEN_RUNDIR/$d.log"
  check "$d's lines start with an ISO 8601 UTC time" grep -qE "$iso$d\[[0-9]+\] (info|warn|err|debug): " "$L/$d.log"
done
check "the console log is in KXEN_LOG_DIR/console" test -s "$L/console/guest-loc.log"
check "... not in the run dir" test ! -e "$KXEN_RUNDIR/console/guest-loc.log"
check "xl's monitor log xl-loc.log is in KXEN_LOG_DIR" test -e "$L/xl-loc.log"
check "... its lines dated as the daemons' are" grep -qE "${iso}xl-monitor\[[0-9]+\] info: following domain" "$L/xl-loc.log"
# More kxend lines than KXEN_LOG_MAX bytes: kxend.log rotates.
for i in 1 2 3; do write_cfg "$w/r$i.cfg" r$i; xl create -q "$w/r$i.cfg"; xl destroy r$i; done
check "kxend.log rotated to kxend.log.1 past KXEN_LOG_MAX" test -s "$L/kxend.log.1"
check "... and kxend.log stays near the limit" test "$(stat -c %s "$L/kxend.log")" -lt 3000
check "... the new file is dated too" grep -qE "$iso" "$L/kxend.log"
xl shutdown -w loc 2>/dev/null
check "on_poweroff=coredump-destroy dumps into KXEN_DUMP_DIR" wait_for 10 test -s "$KXEN_RUNDIR/dumps/loc"
kxen-services stop >/dev/null 2>&1

# root's persistent places, without KXEN_RUNDIR.
if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
  write_cfg "$w/root.cfg" rootlog 'on_poweroff = "coredump-destroy"'
  unshare -m --propagation private env -u KXEN_RUNDIR -u KXEN_LOG_DIR -u KXEN_DUMP_DIR \
    -u XENSTORED_RUNDIR -u KXEN_LOG_MAX bash -c '
    mount -t tmpfs none /var/log && mount -t tmpfs none /var/lib && mount -t tmpfs none /run || exit 1
    xl create -q "$1" >/dev/null 2>&1
    for i in $(seq 200); do grep -qs "waiting for control" /var/log/xen/console/guest-rootlog.log && break; sleep 0.05; done
    xl shutdown -w rootlog >/dev/null 2>&1
    for i in $(seq 200); do [ -s /var/lib/xen/dump/rootlog ] && break; sleep 0.05; done
    kxen-services stop >/dev/null 2>&1
    ls /run/kxen >"$2"
    ls /var/log/xen /var/log/xen/console /var/lib/xen/dump' _ "$w/root.cfg" "$w/run.ls" >"$w/root.ls" 2>&1
  check "root without KXEN_RUNDIR: kxend.log in /var/log/xen" grep -qx "kxend.log" "$w/root.ls"
  check "... xl-rootlog.log in /var/log/xen" grep -qx "xl-rootlog.log" "$w/root.ls"
  check "... the console log in /var/log/xen/console" grep -qx "guest-rootlog.log" "$w/root.ls"
  check "... the core dump in /var/lib/xen/dump" grep -qx "rootlog" "$w/root.ls"
  check "... nothing of it in the run dir /run/kxen" sh -c "! grep -qE '\.log\$|^console\$|^dump\$' '$w/run.ls'"
else
  for n in kxend.log xl-rootlog.log console dump rundir; do skip "root's default for $n" "not root or no mount namespaces"; done
fi
echo "1..$_tap_n"
