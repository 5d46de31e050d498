#!/usr/bin/env bash
# The administrator's everyday commands on running hello and spin guests: mem-set/mem-max
# through the guest's balloon driver (xl list shows the new size and kxend gives the pages
# back to the host: the guest RAM memfd shrinks), vcpu-set (cpu/N/availability), vcpu-pin
# (the thread's host affinity, shown by vcpu-list), sched-credit (weight -> nice, cap -> a
# duty cycle), sysrq, trigger/button-press refused with the reason, a sparse dump-core,
# top -b, vm-list and config-update applied at the next restart.
. "$KXEN_SRC/tests/system/xl_common.sh"
w=$KXEN_RUNDIR/cfg
mkdir -p "$w"
write_cfg "$w/bal.cfg" bal 'memory = 32' 'vcpus = 2' 'cmdline = "touch"' 'on_reboot = "restart"'
xl create -q "$w/bal.cfg"
id=$(xl domid bal)
wait_for 20 console_has bal "waiting for control/shutdown"
mem() { xl list "$1" | awk -v n="$1" '$1 == n { print $3 }'; }
# memfd_kb: KiB of host memory backing the guest's RAM (kxend's only memfd: one guest).
memfd_kb() {
  local p f
  p=$(cat "$KXEN_RUNDIR/kxend.pid")
  for f in /proc/"$p"/fd/*; do
    case $(readlink "$f") in *kxen-guest-ram*) echo $(($(stat -L -c '%b * %B' "$f") / 1024)) ;; esac
  done
}
check "the guest touched its RAM (memfd holds > 24 MiB)" test "$(memfd_kb)" -gt 24576

# Balloon down and up.
check "xl mem-set bal 12m" xl mem-set bal 12m
check "... the guest gives the memory back (console)" wait_for 10 console_has bal "balloon: 12288 KiB"
check "... xl list shows 12 MiB" test "$(mem bal)" = 12
check "... kxend gave the pages back to the host (memfd < 16 MiB)" test "$(memfd_kb)" -lt 16384
check "xl mem-set bal 20480 (KiB by default)" xl mem-set bal 20480
check "... the guest takes memory again (xl list: 20)" wait_for 10 sh -c "test \"\$(xl list bal | awk '\$1 == \"bal\" { print \$3 }')\" = 20"
xl mem-set bal 64m 2>"$w/err"; rc=$?
check "mem-set above the maximum is refused" test "$rc" = 1
check "... naming the value and the maximum" grep -q "memory target 65536 KiB: above domain $id's maximum of 32768 KiB" "$w/err"
xl mem-max bal 16m 2>"$w/err"
check "mem-max under the target is refused with the reason" grep -q "maximum 16384 KiB: below domain $id's memory target of 20480 KiB" "$w/err"
check "xl mem-max bal 24m" xl mem-max bal 24m
check "... memory/static-max follows" test "$(xenstore-read /local/domain/$id/memory/static-max)" = 24576
check "xl list -l shows max_memkb 24576" sh -c "xl list -l bal | grep -q '\"max_memkb\": 24576'"
# A target above the maximum written behind xl's back: kxend's populate_physmap stops there.
xenstore-write /local/domain/$id/memory/target 32768
check "populate_physmap stops at the maximum (xl list: 24)" wait_for 10 sh -c "test \"\$(xl list bal | awk '\$1 == \"bal\" { print \$3 }')\" = 24"
sleep 0.3
check "... and stays there" test "$(mem bal)" = 24
xl mem-set bal 20m

# vCPUs.
check "xl vcpu-set bal 1" xl vcpu-set bal 1
check "... cpu/1/availability = offline" test "$(xenstore-read /local/domain/$id/cpu/1/availability)" = offline
check "... cpu/0/availability = online" test "$(xenstore-read /local/domain/$id/cpu/0/availability)" = online
xl vcpu-set bal 3 2>"$w/err"
check "vcpu-set above maxvcpus is refused with the reason" grep -q "3 vcpus: domain $id has maxvcpus 2" "$w/err"
check "xl vcpu-set bal 2 brings it back online" sh -c "xl vcpu-set bal 2 && test \"\$(xenstore-read /local/domain/$id/cpu/1/availability)\" = online"

# sysrq, triggers.
check "xl sysrq bal s writes control/sysrq" sh -c "xl sysrq bal s && test \"\$(xenstore-read /local/domain/$id/control/sysrq)\" = s"
xl sysrq bal sx 2>"$w/err"
check "sysrq takes one letter" grep -q "'sx' is not a single letter" "$w/err"
xl trigger bal power 2>"$w/err"; rc=$?
check "xl trigger on a pv guest is refused (1)" test "$rc" = 1
check "... naming why (no emulated platform)" grep -q "domain $id is a pv guest, which has no emulated platform" "$w/err"
xl button-press bal power 2>"$w/err"
check "xl button-press power: the same reason" grep -q "which has no emulated platform" "$w/err"
xl trigger bal frob 2>"$w/err"
check "an unknown trigger names Xen's" grep -q "Xen's triggers are nmi, reset, init, power, sleep, s3resume" "$w/err"

# dump-core: an ELF core of the guest's RAM, sparse, and the guest runs on.
check "xl dump-core bal FILE" xl dump-core bal "$w/core"
check "... an ELF core file" sh -c "readelf -h '$w/core' | grep -q 'CORE (Core file)'"
check "... its size covers the RAM (32 MiB + a header page)" test "$(stat -c %s "$w/core")" = $((32 * 1048576 + 4096))
check "... sparse: the given-back pages are holes (< 28 MiB on disk)" test $(($(stat -c '%b * %B' "$w/core") / 1048576)) -lt 28
check "... the guest is running again" sh -c "xl list bal | awk '\$1 == \"bal\"' | grep -qv 'p-'"

# vm-list, top.
check "xl vm-list: Xen's header" sh -c "xl vm-list | head -1 | grep -q '^UUID  *ID  *name'"
check "... lists the guest, not Domain-0" sh -c "xl vm-list | grep -q ' $id  *bal' && ! xl vm-list | grep -q Domain-0"
xl top -b -i 2 -d 0.2 >"$w/top"
check "xl top -b -i 2 prints two screens" test "$(grep -c '^xentop - ' "$w/top")" = 2
check "... with xentop's columns" grep -q "NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k)" "$w/top"
check "... and the guest's row (20480 KiB)" sh -c "grep -E '^ +bal ' '$w/top' | tail -1 | awk '{ print \$5 }' | grep -qx 20480"

# Host scheduling on a guest that always runs.
write_cfg "$w/spin.cfg" spin 'vcpus = 1'
sed -i "s|hello.elf|spin.elf|" "$w/spin.cfg"
xl create -q "$w/spin.cfg"
sid=$(xl domid spin)
kpid=$(cat "$KXEN_RUNDIR/kxend.pid")
# thread_with FIELD VALUE: some kxend thread has nice (field 19 of stat) or affinity VALUE.
nice_threads() { for t in /proc/"$kpid"/task/*; do cut -d' ' -f19 "$t/stat"; done; }
aff_threads() { for t in /proc/"$kpid"/task/*; do awk '/^Cpus_allowed_list/ { print $2 }' "$t/status"; done; }
check "xl sched-credit -d spin -w 64" xl sched-credit -d spin -w 64
check "... a vCPU thread runs at nice 6 (one step per factor 1.25)" wait_for 5 sh -c "for t in /proc/$kpid/task/*; do cut -d' ' -f19 \$t/stat; done | grep -qx 6"
check "... xl sched-credit shows weight 64" sh -c "xl sched-credit -d spin | grep -qE '^spin +$sid +64 +0\$'"
xl sched-credit -d spin -w 70000 2>"$w/err"
check "a weight above 65535 is refused" grep -q "invalid weight '70000'" "$w/err"
xl sched-credit -d spin -c 150 2>"$w/err"
check "a cap above 100 x vcpus is refused by kxend with the reason" grep -q "cap 150: domain $sid has 1 vcpus, at most 100%" "$w/err"
cpu_s() { xl list -l spin | awk -F': ' '/"cpu_time"/ { print $2 }'; }
check "xl sched-credit -d spin -c 10" xl sched-credit -d spin -c 10
sleep 0.5
a=$(cpu_s); sleep 2; b=$(cpu_s)
check "... the capped guest gets about 10% of a CPU, not over 25% ($a -> $b in 2 s)" awk -v a="$a" -v b="$b" 'BEGIN { exit !(b - a < 0.5) }'
xl sched-credit -d spin -c 0
ncpu=$(nproc)
if [ "$ncpu" -ge 2 ]; then
  check "xl vcpu-pin spin 0 1" xl vcpu-pin spin 0 1
  check "... the vCPU thread may only run on CPU 1" wait_for 5 sh -c "for t in /proc/$kpid/task/*; do awk '/^Cpus_allowed_list/ { print \$2 }' \$t/status; done | grep -qx 1"
  check "... xl vcpu-list shows hard affinity 1 and CPU 1" wait_for 5 sh -c "xl vcpu-list spin | grep -qE '^spin +$sid +0 +1 +.* 1 / all\$'"
  check "xl vcpu-pin spin all all" xl vcpu-pin spin all all
  check "... xl vcpu-list shows all again" sh -c "xl vcpu-list spin | grep -q ' all / all\$'"
else
  skip "xl vcpu-pin" "one host CPU"
fi
xl vcpu-pin spin 0 999 2>"$w/err"
check "a cpu list beyond the host's is refused" grep -qE "invalid cpu list|no host CPU" "$w/err"
xl destroy spin

# config-update: nothing changes now, the next restart takes the new config.
write_cfg "$w/bal2.cfg" bal 'memory = 24' 'vcpus = 1' 'on_reboot = "restart"'
check "xl config-update bal CFG" xl config-update bal "$w/bal2.cfg"
check "... the running domain keeps its size (20)" test "$(mem bal)" = 20
write_cfg "$w/other.cfg" other
xl config-update bal "$w/other.cfg" 2>"$w/err"
check "a config with another name is refused" grep -q "the config names 'other', the domain is 'bal'" "$w/err"
xl reboot bal
check "after a reboot the domain runs the updated config (24 MiB)" wait_for 20 sh -c "test \"\$(xl list bal 2>/dev/null | awk '\$1 == \"bal\" { print \$3 }')\" = 24"
check "... with 1 vCPU" sh -c "xl list -l bal | grep -q '\"max_vcpus\": 1'"
xl destroy bal
echo "1..$_tap_n"
