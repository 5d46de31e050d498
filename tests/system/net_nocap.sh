#!/usr/bin/env bash
# The services without CAP_NET_ADMIN (dropped from the bounding set, as an unprivileged
# container does), what docs/architecture.md and drivers/net/netback_xenbus.c promise:
#   - a vif whose `bridge` is empty: the worker cannot make the shared bridge kxsw0, logs why
#     ("needs CAP_NET_ADMIN") and puts the vif on its own learning switch, where it connects;
#   - a vif naming a bridge needs a tap, which cannot be made: the backend closes that vif
#     naming the tap and the reason, xl create fails with that message and removes the
#     guest, and the other guest's vif stays connected.
# In a network namespace of the test's own (net_common.sh).
. "$KXEN_SRC/tests/system/net_common.sh"
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) not installed"

net_cfg() { # FILE NAME CMDLINE VIF
  printf 'name = "%s"\nkernel = "%s"\nmemory = 16\ncmdline = "%s"\nvif = [ %s ]\n' \
    "$2" "$guests/nettest.elf" "$3" "$4" >"$1"
}
nocap() { setpriv --bounding-set -net_admin "$@"; }
dmesg_has() { xl dmesg 2>/dev/null | grep -q -- "$1"; }
cap_net_admin() { # PID: 0 when the process holds CAP_NET_ADMIN (bit 12) effective
  local eff
  eff=$(awk '/^CapEff/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 2
  (((0x$eff >> 12) & 1))
}

cat >"$d/vif-ok" <<'SH'
#!/bin/sh
[ "$1" = add ] && xenstore-write "$XENBUS_PATH/hotplug-status" connected
exit 0
SH
chmod +x "$d/vif-ok"
kxen-services stop >/dev/null 2>&1
start_nocap() { nocap kxen-services start >/dev/null; }
check "the services start without CAP_NET_ADMIN" start_nocap
devd=$(cat "$KXEN_RUNDIR/kxen-devd.pid" 2>/dev/null)
devd_nocap() { [ -n "$devd" ] && ! cap_net_admin "$devd"; }
check "kxen-devd ($devd) runs without it" devd_nocap

net_cfg "$d/s.cfg" ns "ping 10.99.0.3 600" "'mac=00:16:3e:00:01:1a,bridge=,script=$d/vif-ok'"
check "xl create of a guest whose vif names no bridge" nocap timeout 60 xl create -q "$d/s.cfg"
ids=$(xl domid ns 2>/dev/null)
check "its netfront connects (the worker's own switch)" \
  wait_for 30 dmesg_has "(d$ids) nettest ping: answering"
check "the backend is Connected" \
  wait_for 10 sh -c "[ \"\$(xenstore-read /local/domain/0/backend/vif/$ids/0/state)\" = 4 ]"
check "the worker logged why there is no shared bridge" \
  wait_for 10 grep -q "cannot make the shared bridge kxsw0 .*needs CAP_NET_ADMIN" \
  "$KXEN_RUNDIR/kxen-devd.log"
check "and made none" test ! -e /sys/class/net/kxsw0
check "the vif has no tap either" test ! -e "/sys/class/net/vif$ids.0"

net_cfg "$d/t.cfg" nt "ping 10.99.0.4 600" "'mac=00:16:3e:00:01:1b,bridge=kxbr0,script=$d/vif-ok'"
# (check names its description d: the run directory is spelled out inside a function)
create_fails() { ! nocap timeout 60 xl create -q "$KXEN_RUNDIR/cfg/t.cfg" >"$KXEN_RUNDIR/cfg/t.out" 2>&1; }
check "xl create of a guest whose vif names a bridge fails" create_fails
sed 's/^/# /' "$d/t.out"
check "naming the tap, the bridge and the reason" \
  grep -q "vif 0 (bridge kxbr0): the backend closed the device: .*tap vif[0-9]*.0 for bridge kxbr0: Operation not permitted" "$d/t.out"
check "the worker logged the same" \
  grep -q "tap vif[0-9]*.0 for bridge kxbr0: Operation not permitted" "$KXEN_RUNDIR/kxen-devd.log"
check "the guest is gone" sh -c "! xl domid nt >/dev/null 2>&1"
check "the bridge got no port" sh -c "[ -z \"\$(ls /sys/class/net/kxbr0/brif)\" ]"
check "the first guest's vif is still Connected" \
  sh -c "[ \"\$(xenstore-read /local/domain/0/backend/vif/$ids/0/state)\" = 4 ]"
check "devd still runs" kill -0 "$devd"
xl destroy nt >/dev/null 2>&1 || true
xl destroy ns >/dev/null 2>&1 || true
exit 0
