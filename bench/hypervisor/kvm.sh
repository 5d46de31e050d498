#!/usr/bin/env bash
# The kvm rows of bench/hypervisor: measured inside the kvm-under-tcg VM (qemu TCG emulating
# AMD SVM), so every figure is TCG-emulated — compare the rows with each other, not with
# hardware KVM. Called by bench/hypervisor/run.sh; runs alone too:
#   KXEN_SRC=. KXEN_BUILD=build bench/hypervisor/kvm.sh
# Rows: hypercall round trip next to its reference, a bare trapped port write (same guest,
# same run); domain create to first guest exit (accelerator alone); kxend create+load and
# create to the guest's first console output (selftest guest); the event-channel ping-pong
# dom0<->guest (median, p99, next to an eventfd ping-pong between two threads of the VM) and
# guest<->guest (dom0libs-test bench, 200 round trips a run). Then, when Debian's 6.12
# kernel is installed, a second VM on it (KVM with Xen support) for the kvm-xen rows: a
# hypercall through KVM's Xen intercept next to the port trap the builder's rewrite uses, and
# an upcall to a spinning vCPU through KVM_XEN_HVM_EVTCHN_SEND next to kxend's kick + MSI
# (kvm_accel_test, same domain, same run).
set -u
src=${KXEN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=$(realpath -m "${KXEN_BUILD:-$src/build}")
make -s -C "$src" BUILD="$build" "$build/tests/kvm_accel_test" "$build/tests/kvm_guest_run" \
  "$build/tests/dom0libs-test" "$build/tests/dom0libs-echo.elf" \
  >/dev/null || { echo "kvm rows: build failed"; exit 1; }
log=$(mktemp /tmp/kxen-kvm-bench-XXXXXX.log)
log612=$(mktemp /tmp/kxen-kvm-bench-XXXXXX.log)
trap 'rm -f "$log" "$log612"' EXIT
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
# The event-channel rows of evtchn_gnttab.sh, on kvm inside the VM (each with its reference).
grep -a 'BENCH kvm evtchn' "$log" | tr -d '\r' | sed 's/^.*BENCH kvm /kvm /; s/$/ (TCG-emulated)/'
grep -aq '^RESULT PASS' "$log" || { echo "kvm rows: the accelerator checks failed in the VM"; exit 1; }
# The kvm-xen rows: us per operation, and each pair's ratio (KVM path / kxend's path).
if ls /boot/vmlinuz-6.12* >/dev/null 2>&1; then
  if KXEN_L1_KERNEL=6.12 "$src/tests/kvm-under-tcg/run-vm.sh" "$log612" "$build" --bench &&
     grep -aq 'BENCH kvm-xen' "$log612"; then
    us() { grep -a -m1 "$1" "$log612" | sed 's/.*: \([0-9.]*\) us/\1/'; }
    row() { printf '%-52s %s us (TCG-emulated)\n' "$1" "$2"; }
    hi=$(us 'round trip, KVM Xen intercept') hr=$(us 'round trip, port trap')
    ui=$(us 'upcall latency, KVM_XEN') uk=$(us 'upcall latency, kxend')
    row "kvm-xen (6.12 L1) hypercall, KVM Xen intercept" "$hi"
    row "  reference: port trap (rewrite)" "$hr"
    printf '%-52s %s\n' "  ratio intercept / port trap" "$(awk -v a="$hi" -v b="$hr" 'BEGIN { printf "%.2f", a / b }')"
    row "kvm-xen (6.12 L1) upcall, KVM_XEN_HVM_EVTCHN_SEND" "$ui"
    row "  reference: kxend kick + MSI" "$uk"
    printf '%-52s %s\n' "  ratio KVM send / kick + MSI" "$(awk -v a="$ui" -v b="$uk" 'BEGIN { printf "%.2f", a / b }')"
  else
    echo "kvm-xen rows: the 6.12 VM did not report them"
  fi
else
  echo "kvm-xen rows: skipped (no /boot/vmlinuz-6.12*: KVM with Xen support)"
fi
