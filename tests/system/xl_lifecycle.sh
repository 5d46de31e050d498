#!/usr/bin/env bash
# A hello guest's life under xl: create (services start on first use), list, console output
# (log, xl console replay and live bytes), xl dmesg, its xenstore tree and permissions, a
# second guest that cannot read the first one's tree, pause/unpause, rename, shutdown seen by
# the guest, reboot through on_reboot, preserve, destroy; unknown domains refused.
# Runs on KXEN_ACCEL (soft unless set); xl_lifecycle_kvm.sh runs it again on kvm.
. "$KXEN_SRC/tests/system/xl_common.sh"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
write_cfg "$d/hello.cfg" hello 'vcpus = 1' 'on_reboot = "restart"'

check "xl create starts the services and the guest" xl create -q "$d/hello.cfg"
for s in kxend xenstored xenconsoled; do
  check "$s runs with a pid file in the run dir" test -s "$KXEN_RUNDIR/$s.pid"
done
id=$(xl domid hello)
check "xl domid prints the new id" test "$id" -ge 1
check "kxend runs the $KXEN_ACCEL accelerator (xl info)" \
  sh -c "xl info | grep -q '^accelerator *: $KXEN_ACCEL\$'"
check "xl domname maps it back" test "$(xl domname "$id")" = hello
row=$(xl list | awk '$1 == "hello"')
check "xl list shows hello with 16 MiB and 1 vCPU" test "$(echo "$row" | awk '{ print $2, $3, $4 }')" = "$id 16 1"
check "xl list header is Xen's" sh -c "xl list | head -1 | grep -q '^Name  *ID   Mem VCPUs.State.Time(s)'"
check "xl list -l is JSON naming the domain" sh -c "xl list -l hello | grep -q '\"name\": \"hello\"'"
wait_for 20 console_has hello "waiting for control/shutdown"
check "the guest reached its shutdown watch (console log)" console_has hello "waiting for control/shutdown"
case $KXEN_ACCEL in soft) entry="pv-entry (soft)" ;; kvm) entry="pvh-entry (kvm)" ;; *) entry="" ;; esac
check "the guest booted through its accelerator's entry ($entry)" console_has hello "$entry"
check "the guest read its name and id from xenstore" console_has hello "I am \"hello\", domain $id"
check "xl dmesg shows the hypervisor console line of the guest" sh -c "xl dmesg | grep -q '(d$id) Hello from kxen'"

# The xenstore tree xl wrote, and what the guest wrote itself.
dp=/local/domain/$id
check "name node" test "$(xenstore-read "$dp/name")" = hello
check "domid node" test "$(xenstore-read "$dp/domid")" = "$id"
check "memory/target in KiB" test "$(xenstore-read "$dp/memory/target")" = 16384
vm=$(xenstore-read "$dp/vm")
check "vm path holds the uuid and name" test "$(xenstore-read "$vm/name")" = hello
check "console/port and ring-ref are set" sh -c "xenstore-read $dp/console/port >/dev/null && xenstore-read $dp/console/ring-ref >/dev/null"
check "store ring-ref matches what kxend placed" test -n "$(xenstore-read "$dp/store/ring-ref")"
check "the guest wrote data/hello = world" test "$(xenstore-read "$dp/data/hello")" = world
perms=$(xenstore-ls -p "$dp" | awk '$1 == "name" { print $NF }')
check "name is dom0-owned, readable by the guest only (n0,r$id)" test "$perms" = "(n0,r$id)"
perms=$(xenstore-ls -p "$dp" | awk '$1 == "data" { print $NF }')
check "data/ is owned by the guest (n$id)" test "$perms" = "(n$id)"
check "xenconsoled published console/tty" test -n "$(xenstore-read "$dp/console/tty")"

# A second guest must not reach the first one's tree.
probe=$KXEN_BUILD/tests/xsprobe.elf
if [ -f "$probe" ]; then
  write_cfg "$d/probe.cfg" xsprobe "kernel = \"$probe\"" "cmdline = \"peer=$id\"" 'on_poweroff = "preserve"'
  xl create -q "$d/probe.cfg"
  wait_for 20 console_has xsprobe "RESULT"
  check "a guest cannot read, list or write another guest's tree (xsprobe RESULT PASS)" console_has xsprobe "RESULT PASS"
  grep -a '^not ok' "$KXEN_RUNDIR/console/guest-xsprobe.log" | sed 's/^/# /'
  wait_for 10 sh -c "xl list xsprobe | awk 'NR == 2 { print \$5 }' | grep -q s"
  check "on_poweroff=preserve keeps the stopped domain (state s)" sh -c "xl list xsprobe | awk 'NR == 2 { print \$5 }' | grep -q '^---s--'"
  check "xl destroy removes the preserved domain" xl destroy xsprobe
else
  not_ok "xsprobe.elf was not built ($probe)"
fi

check "xl pause" xl pause hello
check "paused state shows in xl list" sh -c "xl list hello | awk 'NR == 2 { print \$5 }' | grep -q '^..p'"
check "xl unpause" xl unpause hello
check "state is no longer paused" sh -c "xl list hello | awk 'NR == 2 { print \$5 }' | grep -q '^..-'"

# Console: attach (the output so far is replayed), then the live shutdown line arrives and the
# console closes when the domain goes.
xl console hello >"$d/console.out" 2>&1 </dev/null &
cpid=$!
wait_for 10 grep -q "waiting for control/shutdown" "$d/console.out"
check "xl console replays the output produced before attach" grep -q "Hello from kxen" "$d/console.out"

printf 'x\035' | timeout 10 xl console hello >"$d/detach.out" 2>&1
check "Ctrl-] (0x1d) detaches xl console while the guest runs on" test $? -eq 0
check "the guest still runs after the detach" sh -c "xl domid hello >/dev/null"

check "xl rename" xl rename hello hello2
check "renamed domain found by its new name" test "$(xl domid hello2)" = "$id"
check "rename updated xenstore" test "$(xenstore-read "$dp/name")" = hello2
check "xl rename back" xl rename hello2 hello

# Reboot: the guest sees control/shutdown = reboot, the monitor restarts it (on_reboot).
check "xl reboot -w" xl reboot -w hello
wait_for 20 sh -c "[ \$(grep -c 'waiting for control/shutdown' '$KXEN_RUNDIR/console/guest-hello.log') -ge 2 ]"
check "the guest saw the reboot request" console_has hello "shutting down (reboot)"
check "on_reboot=restart booted it again (second banner)" test "$(console_count hello 'Hello from kxen')" -ge 2
check "the restarted domain is listed" sh -c "xl domid hello >/dev/null"
id=$(xl domid hello)
check "the restarted domain has its xenstore tree" test "$(xenstore-read "/local/domain/$id/name")" = hello
wait "$cpid"
check "the console attached before the reboot ended when that domain went away" test $? -eq 0
check "the console saw the guest's reboot line live" grep -q "shutting down (reboot)" "$d/console.out"

check "xl shutdown -w" xl shutdown -w hello
check "the guest saw the poweroff request" console_has hello "shutting down (poweroff)"
check "on_poweroff=destroy: the domain is gone" sh -c "! xl domid hello 2>/dev/null"
check "no /local/domain node is left" test -z "$(guest_nodes_left)"
check "no /vm node is left" test -z "$(xenstore-ls /vm 2>/dev/null)"

# on_reboot=destroy
write_cfg "$d/once.cfg" once 'on_reboot = "destroy"'
xl create -q "$d/once.cfg"
wait_for 20 console_has once "waiting for control/shutdown"
xl reboot -w once
check "on_reboot=destroy: rebooting destroys the domain" sh -c "! xl domid once 2>/dev/null"

# Unknown domains and bad arguments are refused with clear messages.
for cmd in destroy pause unpause shutdown reboot console; do
  xl $cmd nosuchdomain >/dev/null 2>"$d/err"
  rc=$?
  check "xl $cmd nosuchdomain fails naming the domain" sh -c "[ $rc -ne 0 ] && grep -q \"'nosuchdomain' is an invalid domain identifier\" '$d/err'"
done
xl destroy 4000 2>"$d/err"
check "xl destroy of an unknown id names the id" grep -q "'4000' is an invalid domain identifier" "$d/err"
xl domname 77 2>"$d/err"
check "xl domname of an unknown id (Xen's message)" grep -qx "Can't get domain name of domain id '77', maybe this domain does not exist." "$d/err"
xl domid nosuchguest 2>"$d/err"
check "xl domid of an unknown name (Xen's message)" grep -qx "Can't get domid of domain name 'nosuchguest', maybe this domain does not exist." "$d/err"
xl domname abc 2>"$d/err"
check "xl domname of a non-number (Xen's message)" grep -qx "Invalid domain id." "$d/err"
xl frobnicate 2>"$d/err"
check "unknown command is refused" grep -q "unknown command 'frobnicate'" "$d/err"
xl destroy 0 2>"$d/err"
check "Domain-0 cannot be destroyed" grep -q "Domain-0 cannot be destroyed" "$d/err"
xl create -q "$d/hello.cfg"
xl create -q "$d/hello.cfg" 2>"$d/err"
check "a second domain with the same name is refused" grep -q "domain 'hello' already exists" "$d/err"
check "only one hello exists" test "$(xl list | awk '$1 == "hello"' | wc -l)" -eq 1
check "xl destroy" xl destroy hello
check "kxen-services stop stops everything" kxen-services stop
check "no pid file is left" sh -c "! ls $KXEN_RUNDIR/*.pid 2>/dev/null"
