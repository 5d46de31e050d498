#!/usr/bin/env bash
# Debian's own Linux kernel, unmodified, booted by `xl create` as a PVH guest on kxend's kvm
# accelerator, in the kvm-under-TCG VM (tests/kvm-under-tcg/run-vm.sh --linux; the guest's
# initramfs and disk image come from make-linux-guest.sh). Reports the TAP lines printed
# inside the VM by vm-linux.sh: the create, the shell line on hvc0 and the steps after it.
# KXEN_L1_KERNEL picks the VM's kernel (6.1: KVM without Xen support, the default; 6.12),
# KXEN_L2_KERNEL the guest's. Skips (77) without qemu, a kernel with kvm modules or busybox.
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
KXEN_VM_TIMEOUT=${KXEN_VM_TIMEOUT:-600} "$KXEN_SRC/tests/kvm-under-tcg/run-vm.sh" "$log" "$rel" --linux
rc=$?
mkdir -p "$KXEN_BUILD/test-logs" && cp "$log" "$KXEN_BUILD/test-logs/xl_linux_kvm-vm.log" 2>/dev/null
[ $rc -eq 77 ] && exit 77
if [ $rc -ne 0 ]; then
  not_ok "kvm-under-tcg VM boots and finishes"
  tail -30 "$log" 2>/dev/null | sed 's/^/# /'
  exit 1
fi
if grep -q '^VMSKIP' "$log"; then skip_all "$(grep -m1 '^VMSKIP' "$log" | cut -d' ' -f2-)"; fi
grep -q '^=== linux' "$log" || { not_ok "the VM ran the Linux guest checks"; tail -30 "$log" | sed 's/^/# /'; exit 1; }
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
