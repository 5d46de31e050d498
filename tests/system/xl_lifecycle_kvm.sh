#!/usr/bin/env bash
# xl_lifecycle.sh again, with kxend on the kvm accelerator (the other xl tests run on soft), so
# the toolstack is exercised on both accelerators wherever both exist. Skipped, saying why,
# when `kxend --accel kvm` cannot start here (no usable /dev/kvm); the kvm accelerator is then
# still covered inside qemu by kvm_under_tcg.sh.
. "$KXEN_SRC/tests/system/xl_common.sh"
accel_usable kvm || skip_all "kxend --accel kvm cannot start on this host (no usable /dev/kvm)"
export KXEN_ACCEL=kvm
exec "$KXEN_SRC/tests/system/xl_lifecycle.sh"
