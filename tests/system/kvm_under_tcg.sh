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
# kvm_accel_test is built from scratch in this test's own directory (a few files): the shared
# build directory may hold an accelerator object compiled against an older kxend/domain.h
# while someone edited it (make then sees it as up to date), which made the accelerator's
# checks fail for reasons unrelated to the code ("guest run time is accounted").
own=$KXEN_RUNDIR/build
make -s -C "$KXEN_SRC" BUILD="$own" "$own/tests/kvm_accel_test" >"$KXEN_RUNDIR/make.log" 2>&1 ||
  { not_ok "build kvm_accel_test for the VM"; tail -20 "$KXEN_RUNDIR/make.log" | sed 's/^/# /'; exit 1; }
export KXEN_ACCEL_TEST=$own/tests/kvm_accel_test
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

# "The same guests give the same results on both accelerators": run the guests the VM ran on
# kvm again on soft, here on the host, and compare test by test (status and name; details in
# parentheses, such as addresses and timings, may differ).
runner=$rel/tests/kvm_guest_run
if grep -q '^=== selftest' "$log" && [ -x "$runner" ] && [ -x "$KXEN_BUILD/bin/kxend" ]; then
  soft=$KXEN_RUNDIR/soft
  mkdir -p "$soft"
  KXEN_RUNDIR=$soft "$KXEN_BUILD/bin/kxend" -N --accel soft --log-file "$soft/kxend.log" \
    2>"$soft/kxend.err" &
  kpid=$!
  trap 'kill $kpid 2>/dev/null' EXIT
  wait_for 10 test -S "$soft/kxend.sock"
  norm() { grep -aE '^(ok|not ok) ' | sed -E 's/ \([^)]*\)//g'; }
  for g in selftest hostile; do
    grep -q "^=== $g\$" "$log" || continue
    awk -v s="=== $g" '$0 == s { f = 1; next } /^=== / { f = 0 } f' "$log" | norm >"$soft/$g.kvm"
    KXEN_RUNDIR=$soft timeout 300 "$runner" "$rel/guests/$g.elf" 32 240 | norm >"$soft/$g.soft"
    if [ -s "$soft/$g.kvm" ] && diff "$soft/$g.soft" "$soft/$g.kvm" >"$soft/$g.diff"; then
      ok "$g: same results on soft (host) and kvm (VM), $(wc -l <"$soft/$g.kvm") tests"
    else
      not_ok "$g: same results on soft (host) and kvm (VM)"
      sed 's/^/# /' "$soft/$g.diff" | head -20
    fi
  done
  kill $kpid 2>/dev/null
  wait $kpid 2>/dev/null
fi
true
exit
}
