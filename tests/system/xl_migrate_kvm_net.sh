#!/usr/bin/env bash
# xl_migrate_net.sh again with both kxen hosts on the kvm accelerator. Skipped, saying why, when
# `kxend --accel kvm` cannot start here (no usable /dev/kvm).
. "$KXEN_SRC/tests/system/xl_common.sh"
accel_usable kvm || skip_all "kxend --accel kvm cannot start on this host (no usable /dev/kvm)"
export KXEN_ACCEL=kvm
exec "$KXEN_SRC/tests/system/xl_migrate_net.sh"
