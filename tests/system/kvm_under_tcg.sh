#!/usr/bin/env bash
# The kvm accelerator, tested where /dev/kvm really works: one boot of Debian's kernel in qemu
# TCG (tests/kvm-under-tcg/run-vm.sh). Reports the TAP lines printed inside the VM: first the
# accelerator's own checks (kvm_accel_test), then kxend running the test guests on kvm when
# kxend and the guests are built. Skips (77) without qemu or a kernel with kvm modules.
set -u
# The body is one block, parsed whole before it runs: editing this file while a test runs
# cannot break that run.
{
source "$KXEN_SRC/tests/lib.sh"
rel=${KXEN_REL_BUILD:-$KXEN_SRC/build}
# The VM runs release binaries; `make all` does not build test programs, so build ours here.
make -s -C "$KXEN_SRC" BUILD="$rel" "$rel/tests/kvm_accel_test" >/dev/null ||
  { not_ok "build kvm_accel_test for the VM"; exit 1; }
# The kxend part needs kxend, the guests and this runner; without them only the accelerator runs.
make -s -C "$KXEN_SRC" BUILD="$rel" "$rel/tests/kvm_guest_run" >/dev/null 2>&1 ||
  echo "# kvm_guest_run does not build: the VM runs the accelerator checks only"
log=$KXEN_RUNDIR/vm.log
"$KXEN_SRC/tests/kvm-under-tcg/run-vm.sh" "$log" "$rel"
rc=$?
mkdir -p "$KXEN_BUILD/test-logs" && cp "$log" "$KXEN_BUILD/test-logs/kvm_under_tcg-vm.log" 2>/dev/null
[ $rc -eq 77 ] && exit 77
if [ $rc -ne 0 ]; then
  not_ok "kvm-under-tcg VM boots and finishes"
  tail -30 "$log" 2>/dev/null | sed 's/^/# /'
  exit 1
fi
if grep -q '^VMSKIP' "$log"; then skip_all "$(grep -m1 '^VMSKIP' "$log" | cut -d' ' -f2-)"; fi
# Renumber the VM's TAP lines (one stream per program) into this test's single sequence.
section=vm
while IFS= read -r line; do
  case $line in
    "=== "*" rc="*)
      r=${line##*rc=}
      if [ "$r" = 0 ]; then ok "$section: ran to its end (exit 0)"; else not_ok "$section: ran to its end (exit $r)"; fi ;;
    "=== "*) section=${line#=== } ;;
    "ok "*) ok "$section: ${line#* - }" ;;
    "not ok "*) not_ok "$section: ${line#* - }" ;;
    "RESULT "*|BENCH*|"# "*) echo "# $section: $line" ;;
  esac
done < <(sed -e 's/^.*=== /=== /' "$log")
grep -q '^RESULT PASS' "$log" || { echo "# no RESULT PASS in the VM log"; tail -40 "$log" | sed 's/^/# /'; exit 1; }
exit
}
