# Sourced by the system tests that boot the kvm-under-TCG VM for one mode and report the TAP
# lines printed inside it (xl_linux_kvm.sh, xl_hvm_linux.sh); needs tests/lib.sh first.
#   vm_relay NAME MODE SECTION TIMEOUT
# runs run-vm.sh MODE with KXEN_VM_TIMEOUT (default TIMEOUT), keeps the VM's serial log as
# build/.../test-logs/NAME-vm.log, skips (77) as run-vm.sh does, and relays every `=== SECTION`
# part's checks as this test's own, prefixed with the section. Leaves the exit status to the
# caller (0 when the relay ran; failures are in the TAP lines).
vm_relay() {
  local name=$1 mode=$2 want=$3 limit=$4 rel=${KXEN_REL_BUILD:-$KXEN_SRC/build}
  local log=$KXEN_RUNDIR/vm.log rc section line try left
  # The test runner gives a system test 1200 s: both tries share KXEN_RELAY_BUDGET.
  local budget=${KXEN_RELAY_BUDGET:-1140} start=$SECONDS
  mkdir -p "$KXEN_BUILD/test-logs"
  # A VM that never reaches its end is run once more when the budget leaves room for a whole
  # run: run-vm.sh's watchdog ends a VM whose kernel stopped (no heartbeat) or whose console
  # stayed silent for 480 s early, and appends its state (HARNESS lines). The first log is kept as NAME-vm-try1.log; a second failure
  # fails the test.
  for try in 1 2; do
    left=$((budget - (SECONDS - start)))
    [ "$left" -gt "$limit" ] && left=$limit
    # The outer limit covers what comes before qemu (the initramfs is built first).
    KXEN_VM_TIMEOUT=${KXEN_VM_TIMEOUT:-$left} KXEN_VM_QUIET=${KXEN_VM_QUIET:-480} \
      timeout -k 20 $((${KXEN_VM_TIMEOUT:-$left} + 240)) \
      "$KXEN_SRC/tests/kvm-under-tcg/run-vm.sh" "$log" "$rel" "$mode"
    rc=$?
    cp "$log" "$KXEN_BUILD/test-logs/$name-vm.log" 2>/dev/null
    [ $rc -eq 0 ] || [ $rc -eq 77 ] || [ $try = 2 ] && break
    cp "$log" "$KXEN_BUILD/test-logs/$name-vm-try1.log" 2>/dev/null
    echo "# the VM did not reach its end (run-vm.sh: $rc) after $((SECONDS - start)) s; its last lines:"
    grep -av '^HARNESS' "$log" 2>/dev/null | tail -10 | sed 's/^/#   /'
    grep -a '^HARNESS' "$log" 2>/dev/null | sed 's/^/#   /'
    left=$((budget - (SECONDS - start)))
    if [ "$left" -lt "${KXEN_RELAY_MIN_RETRY:-300}" ]; then
      echo "# no second run: $left s of the test's $budget s are left"
      break
    fi
    echo "# a second run, with $left s"
  done
  [ $rc -eq 77 ] && exit 77
  if [ $rc -ne 0 ]; then
    not_ok "kvm-under-tcg VM boots and finishes"
    tail -30 "$log" 2>/dev/null | sed 's/^/# /'
    exit 1
  fi
  # The watchdog's key presses that woke a stopped VM (run-vm.sh), for the record.
  grep -a '^HARNESS: \(no heartbeat\|the heartbeat came back\)' "$log" | sed 's/^/# /'
  if grep -q '^VMSKIP' "$log"; then skip_all "$(grep -m1 '^VMSKIP' "$log" | cut -d' ' -f2-)"; fi
  grep -q "^=== $want" "$log" || { not_ok "the VM ran the $want checks"; tail -30 "$log" | sed 's/^/# /'; exit 1; }
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
  return 0
}
