#!/usr/bin/env bash
# xl_linux_kvm.sh on the other L1 kernel: the kvm-under-TCG VM boots Debian's 6.12 (KVM with
# CONFIG_KVM_XEN); guest 6.12 runs every step, then guest 6.1 boots with its root on the PV
# disk. Skips (77) when /boot has no 6.12 kernel.
KXEN_L1_KERNEL=6.12 KXEN_L2_OTHER=6.1. KXEN_LINUX_OTHER_STEPS=disk KXEN_LINUX_TEST=xl_linux_kvm612 \
  exec "$KXEN_SRC/tests/system/xl_linux_kvm.sh"
