#!/usr/bin/env bash
# Dirty tracking, path by path: a live migration sends the pages kxend's dirty log reports,
# so a host write that misses the log is a page the destination never gets. kxen-dirtyprobe
# clears the log, writes a gntpair guest's memory through one host path, and checks the page
# is in the next collect: dom0 foreign maps (held, and unmapped before the collect), dom0's
# grant map and grant copy, kxend's own shared_info/vcpu_info updates, and another guest's
# writable grant map (held, then dropped when that guest dies). Soft, then kvm when usable.
. "$KXEN_SRC/tests/lib.sh"
X=$KXEN_BUILD/tests/kxen-xctool
P=$KXEN_BUILD/tests/kxen-dirtyprobe
G=$KXEN_BUILD/guests/gntpair.elf
[ -x "$KXEN_BUILD/bin/kxend" ] && [ -x "$X" ] && [ -x "$P" ] && [ -f "$G" ] ||
  skip_all "kxend, kxen-xctool, kxen-dirtyprobe or gntpair.elf not built"

suite() {
ACCEL=$1
LOG=$KXEN_RUNDIR/kxend-$ACCEL.log
rm -f "$KXEN_RUNDIR/kxend.sock"
"$KXEN_BUILD/bin/kxend" -N --accel "$ACCEL" --log-file "$LOG" 2>"$LOG.err" &
KPID=$!
check "kxend ($ACCEL) listens on its socket" wait_for 10 test -S "$KXEN_RUNDIR/kxend.sock"
a=$("$X" create dirty-a 32768 1) && h=$("$X" create dirty-h 32768 1)
"$X" load "$a" "$G" "a $h" >/dev/null
refs_of() { "$X" console "$a" | sed -n 's/^gntpair a: refs \([0-9]*\) \([0-9]*\) \([0-9]*\).*/\1 \2 \3/p'; }
has_refs() { [ -n "$(refs_of)" ]; }
check "the granting guest prints its refs" wait_for 20 has_refs
refs=$(refs_of)
"$X" load "$h" "$G" "h $a $refs" >/dev/null
holding() { "$X" console "$h" | grep -q 'gntpair hold: holding both maps'; }
check "the peer guest holds a writable map of the granter's page" wait_for 20 holding
out=$("$P" "$a" "${refs##* }" "$h" 2>&1)
echo "$out" | sed 's/^/# /'
for path in foreign-held foreign-unmapped grant-map grant-copy kxend-vcpu-info \
  guest-map-held guest-map-gone; do
  check "$ACCEL: a write through $path is in the dirty log" grep -q "^$path: dirty" <<<"$out"
done
"$X" destroy "$a" 2>/dev/null; "$X" destroy "$h" 2>/dev/null
check "kxend ($ACCEL) is still running" kill -0 $KPID
kill $KPID 2>/dev/null; wait $KPID 2>/dev/null
}

trap 'kill $KPID 2>/dev/null' EXIT
mark=$(tap_mark)
for acc in soft kvm; do
  if [ "$acc" = kvm ] && ! kvm_usable; then
    skip_like "$mark" soft kvm "/dev/kvm is not usable here"
    continue
  fi
  mark=$(tap_mark)
  suite "$acc"
done
