#!/usr/bin/env bash
# The on_* actions the per-domain monitor runs, and create's -p/-e flags: rename-restart,
# crash with preserve (state c) and coredump-restart, a paused create, a domain without a
# monitor, plus the informational commands on a running guest.
. "$KXEN_SRC/tests/system/xl_common.sh"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
booted_n() { [ "$(console_count "$1" 'waiting for control/shutdown')" -ge "$2" ]; }
state_of() { xl list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }

# create -p: built but paused until unpause; the guest prints nothing meanwhile.
write_cfg "$d/p.cfg" paused
check "xl create -p" xl create -q -p "$d/p.cfg"
check "the domain is listed paused" sh -c "xl list paused | awk 'NR == 2 { print \$5 }' | grep -q '^--p'"
# A paused load parks the vCPUs before their first instruction (kxend's domain_start_ex), so
# the console stays as it is until unpause.
size0=$(stat -c %s "$KXEN_RUNDIR/console/guest-paused.log" 2>/dev/null || echo 0)
sleep 0.5
size1=$(stat -c %s "$KXEN_RUNDIR/console/guest-paused.log" 2>/dev/null || echo 0)
check "a paused guest makes no progress ($size0 -> $size1 console bytes)" test "$size0" -eq "$size1"
check "it has not reached its shutdown watch" sh -c "! grep -q 'waiting for control' $KXEN_RUNDIR/console/guest-paused.log 2>/dev/null"
xl unpause paused
wait_for 20 booted_n paused 1
check "after unpause the guest boots" booted_n paused 1

# Informational commands on a running guest.
id=$(xl domid paused)
check "xl vcpu-list shows vCPU 0 of the guest" sh -c "xl vcpu-list paused | awk 'NR == 2 { print \$1, \$2, \$3 }' | grep -qx 'paused $id 0'"
check "xl uptime -s prints Xen's short form ( HH:MM:SS up H:MM, name (id))" sh -c "xl uptime -s paused | grep -qE '^ [0-9]{2}:[0-9]{2}:[0-9]{2} up  ?[0-9]+:[0-9]{2}, paused \\($id\\)$'"
check "xl info names the accelerator" sh -c "xl info | grep -qE '^accelerator *: (soft|kvm)'"
check "xl help lists create" sh -c "xl help | grep -q '^ create'"
check "xl dmesg -c clears the hypervisor console" sh -c "xl dmesg -c >/dev/null && ! xl dmesg | grep -q 'Hello from kxen'"
xl destroy paused

# rename-restart: the old domain is kept under a new name, a new one starts.
write_cfg "$d/rr.cfg" rr 'on_reboot = "rename-restart"'
xl create -q "$d/rr.cfg"
wait_for 20 booted_n rr 1
old=$(xl domid rr)
xl reboot rr
wait_for 20 booted_n rr 2
check "rename-restart started a new rr" booted_n rr 2
check "the old domain is kept as rr-old$old" sh -c "xl domid rr-old$old >/dev/null"
check "the new rr is a different domain" test "$(xl domid rr)" != "$old"
xl destroy "rr-old$old"; xl destroy rr

# A crash (the hello guest crashes on control/shutdown = crash): on_crash = preserve.
write_cfg "$d/c.cfg" crashy 'on_crash = "preserve"'
xl create -q "$d/c.cfg"
wait_for 20 booted_n crashy 1
xenstore-write "/local/domain/$(xl domid crashy)/control/shutdown" crash
wait_for 20 sh -c "xl list crashy | awk 'NR == 2 { print \$5 }' | grep -q c"
check "on_crash=preserve keeps the crashed domain (state ---sc-, as Xen's xl)" sh -c "xl list crashy | awk 'NR == 2 { print \$5 }' | grep -qx -- '---sc-'"
check "the monitor logged the crash" grep -q "reason crash: action preserve" "$KXEN_RUNDIR/xl-crashy.log"
xl destroy crashy

# on_crash = coredump-restart: the monitor writes the guest's RAM as an ELF core to
# dump/NAME, then restarts it.
write_cfg "$d/cr.cfg" crashr 'on_crash = "coredump-restart"'
xl create -q "$d/cr.cfg"
wait_for 20 booted_n crashr 1
xenstore-write "/local/domain/$(xl domid crashr)/control/shutdown" crash
wait_for 20 booted_n crashr 2
check "on_crash=coredump-restart boots the guest again" booted_n crashr 2
core=$KXEN_RUNDIR/dump/crashr
check "coredump-restart wrote the guest's RAM to dump/crashr (16 MiB + header)" \
  test "$(stat -c %s "$core" 2>/dev/null)" -eq $((16 * 1048576 + 4096))
check "the dump is an x86-64 ELF core (ET_CORE)" \
  sh -c "head -c 20 '$core' | od -An -tx1 | tr -d ' \n' | grep -qx '7f454c46020101000000000000000000'04003e00"
check "the dump holds the guest's memory (its banner text)" grep -aq "Hello from kxen" "$core"
check "the monitor logged the dump" grep -q "core dumped to $core" "$KXEN_RUNDIR/xl-crashr.log"
xl destroy crashr

# A hung guest (hello arms a 1 s SCHEDOP_watchdog on control/shutdown = watchdog and never
# pets it): kxend shuts it down with SHUTDOWN_watchdog; on_watchdog = preserve keeps it.
write_cfg "$d/wd.cfg" wdog 'on_watchdog = "preserve"' 'on_crash = "restart"'
xl create -q "$d/wd.cfg"
wait_for 20 booted_n wdog 1
xenstore-write "/local/domain/$(xl domid wdog)/control/shutdown" watchdog
wait_for 20 sh -c "xl list wdog | awk 'NR == 2 { print \$5 }' | grep -q s"
check "an expired SCHEDOP_watchdog shuts the guest down (state ---sw-, as Xen's xl)" sh -c "xl list wdog | awk 'NR == 2 { print \$5 }' | grep -qx -- '---sw-'"
check "the monitor applied on_watchdog (reason watchdog: action preserve)" \
  grep -q "reason watchdog: action preserve" "$KXEN_RUNDIR/xl-wdog.log"
check "the hypervisor console names the watchdog shutdown" sh -c "xl dmesg | grep -q \"domain $(xl domid wdog) shut down, reason 4\""
xl destroy wdog

# vcpu-list in Xen's exact columns; a vCPU the guest never brought up is offline (--p).
write_cfg "$d/v2.cfg" twovcpu 'vcpus = 2'
xl create -q "$d/v2.cfg"
wait_for 20 booted_n twovcpu 1
vid=$(xl domid twovcpu)
xl vcpu-list twovcpu >"$d/vl.out"
check "xl vcpu-list header is Xen's" sh -c "head -1 '$d/vl.out' | grep -qx 'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)'"
check "vCPU 0 row: id, vcpu, cpu, state, time as Xen prints them" \
  sh -c "sed -n 2p '$d/vl.out' | grep -qE '^twovcpu {25} +$vid {5}0 {0,4}[0-9]+   [-r][-b]- +[0-9]+\.[0-9]  all / all\$'"
check "vCPU 1 (never brought up) is offline: '-' CPU, '--p', 0.0 s" \
  test "$(sed -n 3p "$d/vl.out")" = "$(printf '%-32s %5u %5u%5s %3s%sp %9.1f  all / all' twovcpu "$vid" 1 - - - 0)"
xl destroy twovcpu

# -e: no monitor; a powered-off guest stays shut down until destroyed.
write_cfg "$d/e.cfg" nomon
xl create -q -e "$d/e.cfg"
wait_for 20 booted_n nomon 1
nid=$(xl domid nomon)
check "xl shutdown -w returns for a domain without monitor" sh -c "xl shutdown -w nomon 2>'$d/sw.err'"
check "xl shutdown -w reports as Xen's xl (stderr: Shutting down / Waiting for / reason code)" \
  sh -c "printf 'Shutting down domain $nid\nWaiting for 1 domains\nDomain $nid has been shut down, reason code 0\n' | cmp -s - '$d/sw.err'"
check "without a monitor the domain stays shut down (state s)" sh -c "xl list nomon | awk 'NR == 2 { print \$5 }' | grep -qx -- '---s--'"
check "no monitor log was written" test ! -e "$KXEN_RUNDIR/xl-nomon.log"
check "xl destroy of the shut-down domain" xl destroy nomon

# xl reboot -w of a domain whose monitor destroys it (on_reboot = destroy).
write_cfg "$d/rd.cfg" rbdes 'on_reboot = "destroy"'
xl create -q "$d/rd.cfg"
wait_for 20 booted_n rbdes 1
rid=$(xl domid rbdes)
check "xl reboot -w of an on_reboot=destroy domain" sh -c "xl reboot -w rbdes 2>'$d/rw.err'"
check "xl reboot -w reports as Xen's xl (stderr: Rebooting / Waiting for / destroyed)" \
  sh -c "printf 'Rebooting domain $rid\nWaiting for 1 domains\nDomain $rid has been destroyed\n' | cmp -s - '$d/rw.err'"
check "on_reboot=destroy left no domain rbdes" sh -c "! xl domid rbdes 2>/dev/null"

# create -c: the console is attached right away and ends when the domain goes.
write_cfg "$d/cc.cfg" withcons
xl create -q -c "$d/cc.cfg" >"$d/cc.out" 2>&1 </dev/null &
cpid=$!
wait_for 20 grep -q "waiting for control/shutdown" "$d/cc.out"
check "xl create -c shows the guest's console from its first line" grep -q "^Hello from kxen" "$d/cc.out"
check "xl list -l is valid JSON" sh -c "xl list -l | python3 -c 'import json, sys; d = json.load(sys.stdin); assert d[1][\"config\"][\"c_info\"][\"name\"] == \"withcons\"'"
xl shutdown -w withcons >/dev/null
wait "$cpid"
check "the attached console ends cleanly when the domain is gone" test $? -eq 0
check "nothing is left" test "$(xl list | awk 'NR > 2' | wc -l)" -eq 0
