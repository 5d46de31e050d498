#!/usr/bin/env bash
# Runs every kxen test and ends with one summary line: "N passed, N failed, N skipped".
#   tests/run-tests.sh SANBUILD RELBUILD [filter]
# Unit tests: every Criterion binary $SANBUILD/tests/test_* (sanitized build).
# System tests: every executable tests/system/*.sh, each in a fresh private run directory, with
#   KXEN_SRC (source root), KXEN_BUILD (sanitized build), KXEN_REL_BUILD (release build) and
#   KXEN_RUNDIR set. A system test prints TAP lines ("ok N - what" / "not ok N - what"); one that
#   prints none counts as one test judged by its exit status. Exit status 77 means skipped.
#   A TAP line "ok N - what # SKIP why" is a check that could not run here: counted as skipped,
#   never as passed.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
san=$(cd "$src" && realpath -m "${1:-build/san}")
rel=$(cd "$src" && realpath -m "${2:-build}")
filter=${3:-}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$src/tests/lsan.supp:print_suppressions=0}
# One log folder per run, so two runs at once never mix their logs; "latest" names the newest.
mkdir -p "$san/test-logs"
logdir=$(mktemp -d "$san/test-logs/run-$(date +%Y%m%d-%H%M%S)-XXXX")
ln -sfn "$(basename "$logdir")" "$san/test-logs/latest"

pass=0 fail=0 skip=0
failed_names=()
skipped_names=()

note() { printf '%s\n' "$*"; }

for t in "$san"/tests/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
  log=$logdir/$name.log
  start=$(date +%s)
  timeout 900 "$t" --jobs 2 >"$log" 2>&1
  rc=$?
  line=$(grep -a 'Synthesis: Tested:' "$log" | tail -1)
  if [[ $line =~ Tested:\ ([0-9]+).*Passing:\ ([0-9]+).*Failing:\ ([0-9]+).*Crashing:\ ([0-9]+) ]]; then
    p=${BASH_REMATCH[2]}; f=$(( BASH_REMATCH[3] ))
    [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
  else
    p=0; f=1
  fi
  pass=$((pass + p)); fail=$((fail + f))
  note "unit   $name: $p passed, $f failed ($(( $(date +%s) - start ))s)"
  if [ "$f" -ne 0 ]; then failed_names+=("$name"); sed 's/^/    | /' "$log" | tail -40; fi
done

for t in "$src"/tests/system/*.sh; do
  [ -x "$t" ] || continue
  name=$(basename "$t" .sh)
  [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
  log=$logdir/system-$name.log
  rundir=$(mktemp -d /tmp/kxen-test-XXXXXX)
  start=$(date +%s)
  ( cd "$src" && KXEN_SRC=$src KXEN_BUILD=$san KXEN_REL_BUILD=$rel KXEN_RUNDIR=$rundir \
      XENSTORED_RUNDIR=$rundir timeout 1200 "$t" ) >"$log" 2>&1 </dev/null
  rc=$?
  # Anything the test left running in its run dir is stopped here.
  for pidf in "$rundir"/*.pid; do [ -f "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null; done
  rm -rf "$rundir"
  # "# SKIP" in an ok line's description (TAP's directive) marks a check that did not run.
  s=$(grep -ac '^ok [0-9]* *-.*# *SKIP' "$log")
  p=$(( $(grep -ac '^ok ' "$log") - s )); f=$(grep -ac '^not ok ' "$log")
  if [ $rc -eq 77 ] && [ $((p + f + s)) -eq 0 ]; then
    skip=$((skip + 1)); skipped_names+=("$name"); note "system $name: skipped ($(grep -a 'SKIP' "$log" | head -1))"; continue
  fi
  if [ "$s" -gt 0 ]; then
    skip=$((skip + s)); skipped_names+=("$name($s)")
    grep -a '^ok [0-9]* *-.*# *SKIP' "$log" | sed 's/^/    | /'
  fi
  if [ $((p + f + s)) -eq 0 ]; then
    if [ $rc -eq 0 ]; then p=1; else f=1; fi
  elif [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
  fi
  pass=$((pass + p)); fail=$((fail + f))
  note "system $name: $p passed, $f failed$([ "$s" -gt 0 ] && echo ", $s skipped") ($(( $(date +%s) - start ))s)"
  if [ "$f" -ne 0 ]; then failed_names+=("$name"); sed 's/^/    | /' "$log" | tail -40; fi
done

[ ${#failed_names[@]} -gt 0 ] && note "failing: ${failed_names[*]} (logs in $logdir)"
# The last line is always exactly "N passed, N failed, N skipped" (skipped checks plus skipped
# system tests); the line before names what was skipped.
[ $skip -gt 0 ] && note "skipped: ${skipped_names[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
