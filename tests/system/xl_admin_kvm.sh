#!/usr/bin/env bash
# xl_admin.sh again on the kvm accelerator: there each vCPU has its own thread (vcpu-pin and
# sched-credit act on it alone), the guest enters through PVH with its own memory map (the
# balloon driver's range), and KVM's memory slots must follow the holes kxend punches.
# Skipped, saying why, when `kxend --accel kvm` cannot start here.
. "$KXEN_SRC/tests/system/xl_common.sh"
accel_usable kvm || skip_all "kxend --accel kvm cannot start on this host (no usable /dev/kvm)"
export KXEN_ACCEL=kvm
exec "$KXEN_SRC/tests/system/xl_admin.sh"
