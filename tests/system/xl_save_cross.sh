#!/usr/bin/env bash
# An image saved on one accelerator and restored on the other: kxen refuses, saying which
# accelerators and why (their vCPU state is not interchangeable), before any domain exists.
# Two kxen hosts on this machine: the test's run directory on soft, a second one on kvm.
. "$KXEN_SRC/tests/system/xl_common.sh"
guest=$KXEN_BUILD/tests/savetest.elf
[ -f "$guest" ] || skip_all "$guest not built"
accel_usable kvm || skip_all "kxend --accel kvm cannot start on this host (no usable /dev/kvm)"
soft=$KXEN_RUNDIR
kvm=$KXEN_RUNDIR/kvm-host
mkdir -p "$kvm"
trap 'kxen-services stop >/dev/null 2>&1; KXEN_RUNDIR=$kvm XENSTORED_RUNDIR=$kvm kxen-services stop >/dev/null 2>&1' EXIT
on() { local dir=$1 acc=$2; shift 2; KXEN_RUNDIR=$dir XENSTORED_RUNDIR=$dir KXEN_ACCEL=$acc "$@"; }
{ echo 'name = "cross"'; echo "kernel = \"$guest\""; echo 'memory = 16'; } >"$soft/cross.cfg"
nr_domains() { on "$1" "$2" xl list | tail -n +2 | wc -l; }

check "a guest runs on the kvm host" on "$kvm" kvm xl create -q "$soft/cross.cfg"
sleep 0.3
check "xl save on kvm" on "$kvm" kvm xl save cross "$soft/kvm.img"
check "a guest runs on the soft host" on "$soft" soft xl create -q "$soft/cross.cfg"
sleep 0.3
check "xl save on soft" on "$soft" soft xl save cross "$soft/soft.img"
n=$(nr_domains "$soft" soft)
! on "$soft" soft xl restore "$soft/kvm.img" >"$soft/out1" 2>&1
check "the soft host refuses the kvm image, naming both accelerators and why" \
  grep -q "saved on the kvm accelerator and kxend runs soft: their vCPU state is not interchangeable" "$soft/out1"
check "nothing is left on the soft host" test "$(nr_domains "$soft" soft)" = "$n"
n=$(nr_domains "$kvm" kvm)
! on "$kvm" kvm xl restore "$soft/soft.img" >"$soft/out2" 2>&1
check "the kvm host refuses the soft image, naming both accelerators and why" \
  grep -q "saved on the soft accelerator and kxend runs kvm" "$soft/out2"
check "nothing is left on the kvm host" test "$(nr_domains "$kvm" kvm)" = "$n"
check "each host restores its own image" \
  sh -c "KXEN_RUNDIR='$kvm' XENSTORED_RUNDIR='$kvm' KXEN_ACCEL=kvm xl restore -e '$soft/kvm.img' 2>/dev/null && KXEN_ACCEL=soft xl restore -e '$soft/soft.img' 2>/dev/null"
