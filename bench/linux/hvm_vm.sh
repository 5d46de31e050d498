# Sourced by dd.sh and net.sh: one kvm-under-TCG VM (run-vm.sh --hvm) running one
# KXEN_HVM_STEPS step, or none when the caller was given a VM log to read.
#   hvm_vm STEP [VM_LOG]
# Sets src, build and log (the VM's serial log: VM_LOG, else $build/bench/linux-STEP-vm.log),
# samples the host's 1-minute load every 10 s while the VM runs, prints the load and the
# guest's kernel and added command line, and exits the calling script (0 with "skipped" where
# the harness cannot run, 1 when the build fails or the VM does not finish).
hvm_vm() {
  local step=$1 given=${2:-} rc=0 load0 load1 lpid
  src=${KXEN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
  build=$(realpath -m "${KXEN_BUILD:-$src/build}")
  [ -x "$build/bin/xl" ] || { echo "bench/linux/$step: $build/bin/xl missing (make first)"; exit 1; }
  mkdir -p "$build/bench"
  log=${given:-$build/bench/linux-$step-vm.log}
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  if [ -z "$given" ]; then
    make -s -C "$src" BUILD="$build" "$build/tests/kvm_accel_test" "$build/tests/kvm_guest_run" \
      >/dev/null || { echo "bench/linux/$step: build failed"; exit 1; }
    # The host's 1-minute load every 10 s while the VM runs (the figures follow it).
    (while :; do read -r l _ </proc/loadavg; echo "$l"; sleep 10; done) >"$build/bench/linux-$step-load.txt" &
    lpid=$!
    KXEN_HVM_STEPS=$step KXEN_VM_TIMEOUT=${KXEN_VM_TIMEOUT:-3600} \
      "$src/tests/kvm-under-tcg/run-vm.sh" "$log" "$build" --hvm >/dev/null || rc=$?
    kill $lpid 2>/dev/null
    load1=$(cut -d' ' -f1-3 /proc/loadavg)
  fi
  [ $rc -eq 77 ] && { echo "bench/linux/$step: skipped (no qemu, kernel or busybox)"; exit 0; }
  [ -n "$given" ] || echo "host load average (1, 5, 15 min): $load0 before, $load1 after;" \
    "1 min, every 10 s during the VM: $(sort -n "$build/bench/linux-$step-load.txt" | sed -n '1p;$p' | paste -sd-)"
  [ $rc -ne 0 ] && { echo "bench/linux/$step: the VM did not finish"; tail -20 "$log"; exit 1; }
  grep -aq '^VMSKIP' "$log" && { echo "bench/linux/$step: skipped ($(grep -a -m1 '^VMSKIP' "$log" | cut -d' ' -f2-))"; exit 0; }
  echo "guest kernel $(grep -a -m1 '^# from-guest.txt in the image: written by Linux' "$log" | awk '{ print $9 }'), all TCG-emulated"
  local add
  add=$(grep -a -m1 '^# dd-cmdline ' "$log" | cut -d' ' -f4-)
  [ -z "$add" ] || echo "added to the guests' command line: $add"
}
