#!/usr/bin/env bash
# An image saved on one accelerator and restored on the other: kxen refuses, saying which
# accelerators and why (their vCPU state is not interchangeable), before any domain exists.
# Two kxen hosts on this machine: the test's run directory on soft, a second one on kvm.
. "$KXEN_SRC/tests/system/xl_common.sh"
guest=$KXEN_BUILD/tests/savetest.elf
[ -f "$guest" ] || skip_all "$guest not built"
accel_usable kvm || skip_all "kxend --accel kvm cannot start on this host (no usable /dev/kvm)"
export KXEN_ACCEL=soft # this host; at_dst runs commands on the kvm one
two_hosts --dir kvm-host --lazy --env KXEN_ACCEL=kvm
{ echo 'name = "cross"'; echo "kernel = \"$guest\""; echo 'memory = 16'; } >"$src/cross.cfg"
# nr_domains [at_dst]: the domains of this host (or the kvm one), Domain-0 included.
nr_domains() { "$@" xl list | tail -n +2 | wc -l; }
# both_restore: each host restores the image saved on its own accelerator.
both_restore() {
  at_dst xl restore -e "$src/kvm.img" 2>/dev/null && xl restore -e "$src/soft.img" 2>/dev/null
}

check "a guest runs on the kvm host" at_dst xl create -q "$src/cross.cfg"
sleep 0.3
check "xl save on kvm" at_dst xl save cross "$src/kvm.img"
check "a guest runs on the soft host" xl create -q "$src/cross.cfg"
sleep 0.3
check "xl save on soft" xl save cross "$src/soft.img"
n=$(nr_domains)
! xl restore "$src/kvm.img" >"$src/out1" 2>&1
check "the soft host refuses the kvm image, naming both accelerators and why" \
  grep -q "saved on the kvm accelerator and kxend runs soft: their vCPU state is not interchangeable" "$src/out1"
check "nothing is left on the soft host" test "$(nr_domains)" = "$n"
n=$(nr_domains at_dst)
! at_dst xl restore "$src/soft.img" >"$src/out2" 2>&1
check "the kvm host refuses the soft image, naming both accelerators and why" \
  grep -q "saved on the soft accelerator and kxend runs kvm" "$src/out2"
check "nothing is left on the kvm host" test "$(nr_domains at_dst)" = "$n"
check "each host restores its own image" both_restore
