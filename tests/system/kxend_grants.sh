#!/usr/bin/env bash
# Guest-to-guest grant maps (GNTTABOP_map/unmap_grant_ref from a guest): the gntpair guests.
# A grants B a read-write and a read-only page; B maps them outside its RAM, reads A's
# patterns, writes back, gets Xen's GNTST_* code for each bad map/unmap, and unmaps; A sees
# B's write, the in-use flags, and revokes after the unmap. Then B is destroyed while holding
# a map: A's grant must become free again. Accelerator: KXEN_GRANTS_ACCEL (default soft;
# `KXEN_GRANTS_ACCEL=kvm` runs the same on /dev/kvm).
. "$KXEN_SRC/tests/lib.sh"
X=$KXEN_BUILD/tests/kxen-xctool
G=$KXEN_BUILD/guests/gntpair.elf
ACCEL=${KXEN_GRANTS_ACCEL:-soft}
[ -x "$KXEN_BUILD/bin/kxend" ] && [ -x "$X" ] && [ -f "$G" ] || skip_all "kxend, kxen-xctool or gntpair.elf not built"

"$KXEN_BUILD/bin/kxend" -N --accel "$ACCEL" --log-file "$KXEN_RUNDIR/kxend.log" 2>"$KXEN_RUNDIR/kxend.err" &
KPID=$!
trap 'kill $KPID 2>/dev/null; wait $KPID 2>/dev/null' EXIT
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
  grep -aq "map_grant_ref: host_addr .* lies inside the domain's RAM" "$KXEN_RUNDIR/kxend.log"
"$X" destroy "$a" 2>/dev/null; "$X" destroy "$b" 2>/dev/null
check "kxend logged no guest crash" bash -c "! grep -a 'crashed' '$KXEN_RUNDIR/kxend.log'"
check "kxend is still running" kill -0 $KPID
