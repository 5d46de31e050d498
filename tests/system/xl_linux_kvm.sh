#!/usr/bin/env bash
# Debian's own Linux kernels, unmodified, booted by `xl create` as PVH guests on kxend's kvm
# accelerator, in the kvm-under-TCG VM (tests/kvm-under-tcg/run-vm.sh --linux; the guests'
# initramfs and disk images come from make-linux-guest.sh). Reports the TAP lines printed
# inside the VM by vm-linux.sh. One VM boot runs two guests:
#   L1 6.1 (KVM without Xen support): guest 6.1, every step (2 vCPUs, 512 MiB, root on the PV
#   disk, network, xl reboot, shutdown, e2fsck, destroy); then guest 6.12: disk and network.
# xl_linux_kvm612.sh runs the same with the kernels swapped (KXEN_L1_KERNEL=6.12, KVM with
# CONFIG_KVM_XEN; the second guest gets the disk step only).
# Skips (77) without qemu, the L1 kernel with kvm modules, or busybox; a missing second guest
# kernel is one skipped check.
set -u
# The body is one block, parsed whole before it runs: editing this file while a test runs
# cannot break that run.
{
source "$KXEN_SRC/tests/lib.sh"
export KXEN_L1_KERNEL=${KXEN_L1_KERNEL:-6.1.} KXEN_L2_OTHER=${KXEN_L2_OTHER:-6.12.}
export KXEN_LINUX_OTHER_STEPS=${KXEN_LINUX_OTHER_STEPS:-disk net}
name=${KXEN_LINUX_TEST:-xl_linux_kvm}
rel=${KXEN_REL_BUILD:-$KXEN_SRC/build}
[ -x "$rel/bin/kxend" ] && [ -x "$rel/bin/xl" ] || skip_all "the release build (make) is missing"
ls /boot/vmlinuz-"$KXEN_L1_KERNEL"* >/dev/null 2>&1 || skip_all "no /boot/vmlinuz-$KXEN_L1_KERNEL* (the L1 and guest kernel)"
make -s -C "$KXEN_SRC" BUILD="$rel" "$rel/tests/kvm_accel_test" "$rel/tests/kvm_guest_run" \
  >"$KXEN_RUNDIR/make.log" 2>&1 ||
  { not_ok "build the VM's test programs"; tail -20 "$KXEN_RUNDIR/make.log" | sed 's/^/# /'; exit 1; }
other=$KXEN_L2_OTHER
if ! ls /boot/vmlinuz-"$other"* >/dev/null 2>&1; then
  skip "linux-other: Debian's kernel $other* as a second guest" "no /boot/vmlinuz-$other* on this host"
  unset KXEN_L2_OTHER
fi
source "$KXEN_SRC/tests/kvm-under-tcg/vm-relay.sh"
vm_relay "$name" --linux linux 1000
true
exit
}
