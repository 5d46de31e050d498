#!/usr/bin/env bash
# Debian's own Linux kernel as an HVM guest (`type = "hvm"`) on kxend's kvm accelerator, in
# the kvm-under-TCG VM (tests/kvm-under-tcg/run-vm.sh --hvm; the guest's files come from
# make-hvm-guest.sh). Reports the TAP lines printed inside the VM by vm-hvm.sh, one section
# per run: direct kernel boot and SeaBIOS + syslinux from the IDE disk with the emulated
# devices (ata_piix, 8139too, COM1), and PV-on-HVM (platform device, unplug, blkfront and
# netfront); both direct boots are then saved, restored and migrated to a second kxend in the
# VM while their /init reads, writes and pings in a loop (vm-hvm.sh save_checks).
# KXEN_HVM_STEPS picks the runs. Skips (77) without qemu, a kernel with kvm modules or busybox.
set -u
# The body is one block, parsed whole before it runs: editing this file while a test runs
# cannot break that run.
{
source "$KXEN_SRC/tests/lib.sh"
rel=${KXEN_REL_BUILD:-$KXEN_SRC/build}
[ -x "$rel/bin/kxend" ] && [ -x "$rel/bin/xl" ] || skip_all "the release build (make) is missing"
make -s -C "$KXEN_SRC" BUILD="$rel" "$rel/tests/kvm_accel_test" "$rel/tests/kvm_guest_run" \
  >"$KXEN_RUNDIR/make.log" 2>&1 ||
  { not_ok "build the VM's test programs"; tail -20 "$KXEN_RUNDIR/make.log" | sed 's/^/# /'; exit 1; }
source "$KXEN_SRC/tests/kvm-under-tcg/vm-relay.sh"
# 1200 s: a loaded host (load 14) took 694 s for both runs with their saves and migrations.
vm_relay xl_hvm_linux --hvm hvm-linux 1200
true
exit
}
