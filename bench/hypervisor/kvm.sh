#!/usr/bin/env bash
# The kvm rows of bench/hypervisor: measured inside the kvm-under-tcg VM (qemu TCG emulating
# AMD SVM), so every figure is TCG-emulated — compare the rows with each other, not with
# hardware KVM. Called by bench/hypervisor/run.sh; runs alone too:
#   KXEN_SRC=. KXEN_BUILD=build bench/hypervisor/kvm.sh
# Rows: hypercall round trip next to its reference, a bare trapped port write (same guest,
# same run); domain create to first guest exit (accelerator alone); kxend create+load and
# create to the guest's first console output (selftest guest).
set -u
src=${KXEN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=$(realpath -m "${KXEN_BUILD:-$src/build}")
make -s -C "$src" BUILD="$build" "$build/tests/kvm_accel_test" "$build/tests/kvm_guest_run" \
  >/dev/null || { echo "kvm rows: build failed"; exit 1; }
log=$(mktemp /tmp/kxen-kvm-bench-XXXXXX.log)
trap 'rm -f "$log"' EXIT
"$src/tests/kvm-under-tcg/run-vm.sh" "$log" "$build" --bench
rc=$?
[ $rc -eq 77 ] && { echo "kvm rows: skipped (no qemu or kernel)"; exit 0; }
[ $rc -ne 0 ] && { echo "kvm rows: the VM did not finish"; tail -20 "$log"; exit 1; }
fig() { echo "$(grep -a -m1 "$1" "$log" | sed 's/.*: //') (TCG-emulated)"; }
printf '%-52s %s\n' "kvm hypercall round trip" "$(fig 'BENCH kvm hypercall round trip')"
printf '%-52s %s\n' "  reference: bare trapped port write" "$(fig 'BENCH kvm bare trapped port write')"
printf '%-52s %s\n' "kvm domain create to first guest exit (accel)" "$(fig 'BENCH kvm domain create')"
sel=$(grep -a -m1 '# selftest: create+load' "$log")
printf '%-52s %s\n' "kvm kxend create+load (selftest)" "$(sed -n 's/.*create+load \([0-9.]* ms\).*/\1/p' <<<"$sel") (TCG-emulated)"
printf '%-52s %s\n' "kvm kxend create to first console output" "$(sed -n 's/.*first console output \([0-9.]* ms\).*/\1/p' <<<"$sel") (TCG-emulated)"
grep -aq '^RESULT PASS' "$log" || { echo "kvm rows: the accelerator checks failed in the VM"; exit 1; }
