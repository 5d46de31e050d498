#!/usr/bin/env bash
# Guest-to-guest grant maps (GNTTABOP_map/unmap_grant_ref from a guest): the gntpair guests.
# A grants B a read-write and a read-only page; B maps them outside its RAM, reads A's
# patterns, writes back, gets Xen's GNTST_* code for each bad map/unmap, and unmaps; A sees
# B's write, the in-use flags, and revokes after the unmap. On kvm B also checks that an
# unmapped address shows a zero page and that a remap there with the other access takes effect. Then B is destroyed while holding
# a map: A's grant must become free again. Runs on soft, then on kvm when /dev/kvm is usable
# (KXEN_GRANTS_ACCEL="soft" or "kvm" picks one).
. "$KXEN_SRC/tests/lib.sh"
X=$KXEN_BUILD/tests/kxen-xctool
G=$KXEN_BUILD/guests/gntpair.elf
[ -x "$KXEN_BUILD/bin/kxend" ] && [ -x "$X" ] && [ -f "$G" ] || skip_all "kxend, kxen-xctool or gntpair.elf not built"

suite() {
ACCEL=$1
LOG=$KXEN_RUNDIR/kxend-$ACCEL.log
rm -f "$KXEN_RUNDIR/kxend.sock"  # the previous half's kxend is gone; wait for this one's
"$KXEN_BUILD/bin/kxend" -N --accel "$ACCEL" --log-file "$LOG" 2>"$LOG.err" &
KPID=$!
check "kxend ($ACCEL) listens on its socket" wait_for 10 test -S "$KXEN_RUNDIR/kxend.sock"

a=$("$X" create gnt-a 32768 1) && b=$("$X" create gnt-b 32768 1)
check "two domains are created ($a, $b)" test -n "$a" -a -n "$b"
"$X" load "$a" "$G" "a $b" >/dev/null
refs_of() { "$X" console "$a" | sed -n 's/^gntpair a: refs \([0-9]*\) \([0-9]*\) \([0-9]*\).*/\1 \2 \3/p'; }
has_refs() { [ -n "$(refs_of)" ]; }
check "guest a prints the refs it granted" wait_for 20 has_refs
refs=$(refs_of)
"$X" load "$b" "$G" "b $a $refs" >/dev/null
ra=$("$X" wait "$a" 60)
rb=$("$X" wait "$b" 60)
ca=$("$X" console "$a"); cb=$("$X" console "$b")
printf '%s\n%s\n' "$ca" "$cb" | grep -E '^(not )?ok' | sed 's/^/# /'
check "guest a passes every check and powers off ($ra)" \
  bash -c 'grep -q "reason=0" <<<"$1" && grep -q "RESULT PASS" <<<"$2"' _ "$ra" "$ca"
check "guest b passes every check and powers off ($rb)" \
  bash -c 'grep -q "reason=0" <<<"$1" && grep -q "RESULT PASS" <<<"$2"' _ "$rb" "$cb"
check "guest b ran its map, refusal and unmap checks" \
  bash -c '[ "$(grep -c "^ok .*gntpair b:" <<<"$1")" -ge 16 ]' _ "$cb"
check "kxend logged the refused host_addr inside RAM" \
  grep -aq "map_grant_ref: host_addr .* lies inside the domain's RAM" "$LOG"
"$X" destroy "$a" 2>/dev/null; "$X" destroy "$b" 2>/dev/null

# The mapper dies holding both maps: a must see the in-use flags go and revoke.
a=$("$X" create gnt-a2 32768 1) && b=$("$X" create gnt-hold 32768 1)
"$X" load "$a" "$G" "a $b" >/dev/null
check "guest a (second pair) prints its refs" wait_for 20 has_refs
"$X" load "$b" "$G" "h $a $(refs_of)" >/dev/null
holding() { "$X" console "$b" | grep -q 'gntpair hold: holding both maps'; }
check "the holding guest maps both grants" wait_for 20 holding
"$X" destroy "$b" 2>/dev/null
ra=$("$X" wait "$a" 60)
ca=$("$X" console "$a")
echo "$ca" | grep -E '^(not )?ok' | sed 's/^/# /'
check "destroying the mapper releases its maps: a revokes both grants ($ra)" \
  bash -c 'grep -q "reason=0" <<<"$1" && grep -q "RESULT PASS" <<<"$2"' _ "$ra" "$ca"
"$X" destroy "$a" 2>/dev/null
# The granter dies while mapped: the mapper keeps a's last contents (never another domain's
# memory), then unmaps cleanly.
a=$("$X" create gnt-a3 32768 1) && b=$("$X" create gnt-hold2 32768 1)
"$X" load "$a" "$G" "a $b" >/dev/null
check "guest a (third pair) prints its refs" wait_for 20 has_refs
"$X" load "$b" "$G" "h $a $(refs_of)" >/dev/null
check "the holding guest maps both grants of the third pair" wait_for 20 holding
"$X" destroy "$a" 2>/dev/null
c=$("$X" create gnt-reuse 32768 1)  # may take a's memory and even its id
rb=$("$X" wait "$b" 60)
cb=$("$X" console "$b")
echo "$cb" | grep -E '^(not )?ok' | sed 's/^/# /'
check "the mapper outlives the granter: same contents, clean unmap ($rb)" \
  bash -c 'grep -q "reason=0" <<<"$1" && grep -q "RESULT PASS" <<<"$2"' _ "$rb" "$cb"
"$X" destroy "$b" 2>/dev/null; "$X" destroy "$c" 2>/dev/null
check "kxend logged no guest crash" bash -c "! grep -a 'crashed' '$LOG'"
check "kxend is still running" kill -0 $KPID
kill $KPID 2>/dev/null; wait $KPID 2>/dev/null
}

trap 'kill $KPID 2>/dev/null' EXIT
accels=${KXEN_GRANTS_ACCEL:-soft kvm}
mark=$(tap_mark)
for acc in $accels; do
  if [ "$acc" = kvm ] && ! kvm_usable; then
    # Reported check by check, named like the soft half's (when it ran first).
    skip_like "$mark" soft kvm "/dev/kvm is not usable here"
    continue
  fi
  mark=$(tap_mark)
  suite "$acc"
done
