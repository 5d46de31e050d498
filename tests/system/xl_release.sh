#!/usr/bin/env bash
# @releaseDomain fires when a guest shuts down, not only when it is destroyed (as Xen's
# xenstored does on VIRQ_DOM_EXC), once per transition; and `xl list` counts only the vCPUs a
# shut-down guest had online (Xen's nr_online_vcpus), not the ones it never brought up.
. "$KXEN_SRC/tests/system/xl_common.sh"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
booted() { console_has "$1" 'waiting for control/shutdown'; }
state_of() { xl list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }
vcpus_of() { xl list "$1" 2>/dev/null | awk 'NR == 2 { print $4 }'; }
events() { wc -l <"$KXEN_RUNDIR/watch.out"; }
events_ge() { [ "$(events)" -ge "$1" ]; }

write_cfg "$d/rel.cfg" rel 'on_poweroff = "preserve"' 'vcpus = 2'
xl create -q "$d/rel.cfg"
wait_for 20 booted rel
check "the guest boots" booted rel
check "a running guest with vcpus = 2 lists the 1 vCPU it brought up" test "$(vcpus_of rel)" = 1

# Our watcher: one line per event; the first is the firing on registration.
xenstore-watch @releaseDomain >"$KXEN_RUNDIR/watch.out" 2>&1 &
watcher=$!
wait_for 10 events_ge 1
sleep 0.3
check "the watcher got only the registration event while the guest runs ($(events))" test "$(events)" = 1

xl shutdown rel
wait_for 20 sh -c "xl list rel 2>/dev/null | awk 'NR == 2 { print \$5 }' | grep -q s"
check "the guest is shut down and preserved (state $(state_of rel))" sh -c "xl list rel 2>/dev/null | awk 'NR == 2 { print \$5 }' | grep -q '^---s'"
wait_for 10 events_ge 2
check "@releaseDomain fired on the shutdown, before any destroy ($(events) events)" events_ge 2
check "the domain still exists when it fired" xl domid rel
sleep 0.5
check "it fired once for the transition ($(events) events)" test "$(events)" = 2
check "a shut-down guest lists only the vCPU it had online ($(vcpus_of rel))" test "$(vcpus_of rel)" = 1
check "xl vcpu-list agrees: vCPU 1 is offline" sh -c "xl vcpu-list rel | awk 'NR == 3 { print \$2 == \"$(xl domid rel)\" && \$5 ~ /p/ }' | grep -qx 1"

xl destroy rel
wait_for 10 events_ge 3
check "the destroy (XS_RELEASE) fires it again ($(events) events)" events_ge 3
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
exit 0
