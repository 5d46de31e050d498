#!/usr/bin/env bash
# Debian's own Linux kernel as an HVM guest (`type = "hvm"`) on kxend's kvm accelerator, in
# the kvm-under-TCG VM (tests/kvm-under-tcg/run-vm.sh --hvm; the guest's files come from
# make-hvm-guest.sh). Reports the TAP lines printed inside the VM by vm-hvm.sh, one section
# per run: direct kernel boot and SeaBIOS + syslinux from the IDE disk with the emulated
# devices (ata_piix, 8139too, COM1), and PV-on-HVM (platform device, unplug, blkfront and
# netfront). KXEN_HVM_STEPS picks the runs. Skips (77) without qemu, a kernel with kvm
# modules or busybox.
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
log=$KXEN_RUNDIR/vm.log
KXEN_VM_TIMEOUT=${KXEN_VM_TIMEOUT:-900} "$KXEN_SRC/tests/kvm-under-tcg/run-vm.sh" "$log" "$rel" --hvm
rc=$?
mkdir -p "$KXEN_BUILD/test-logs" && cp "$log" "$KXEN_BUILD/test-logs/xl_hvm_linux-vm.log" 2>/dev/null
[ $rc -eq 77 ] && exit 77
if [ $rc -ne 0 ]; then
  not_ok "kvm-under-tcg VM boots and finishes"
  tail -30 "$log" 2>/dev/null | sed 's/^/# /'
  exit 1
fi
if grep -q '^VMSKIP' "$log"; then skip_all "$(grep -m1 '^VMSKIP' "$log" | cut -d' ' -f2-)"; fi
grep -q '^=== hvm-linux' "$log" || { not_ok "the VM ran the HVM Linux checks"; tail -30 "$log" | sed 's/^/# /'; exit 1; }
section=vm
while IFS= read -r line; do
  case $line in
    "=== "*" rc="*) ;;
    "=== "*) section=${line#=== } ;;
    "ok "*) ok "$section: ${line#* - }" ;;
    "not ok "*) not_ok "$section: ${line#* - }" ;;
    "# "*) echo "# $section: ${line#\# }" ;;
  esac
done < <(sed -e 's/^.*=== /=== /' "$log" | grep -aE '^(=== |ok |not ok |# )')
true
exit
}
