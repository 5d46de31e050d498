#!/usr/bin/env bash
# xl migrate between two kxen hosts on this machine: the test's run directory is the source,
# a second run directory the destination, and `-s` names a small script that plays ssh (it
# runs the command with the destination's KXEN_RUNDIR). The savetest guest goes on counting
# on the destination; a destination that refuses, and streams cut at random offsets, leave
# the source running (its suspend call returning 1) and nothing at the destination.
# Runs on KXEN_ACCEL (soft unless set); xl_migrate_kvm.sh runs it again on kvm.
. "$KXEN_SRC/tests/system/xl_common.sh"
guest=$KXEN_BUILD/tests/savetest.elf
[ -f "$guest" ] || skip_all "$guest not built"
two_hosts
refuse=$src/refuse-ssh # answers with the banner, takes some of the stream, then goes away
cat >"$refuse" <<'SH'
#!/bin/sh
printf 'xl migration receiver ready, send binary domain data.\n'
head -c 1000 >/dev/null
exit 1
SH
chmod +x "$refuse"
cut=$src/cut-ssh # passes only the first $CUT bytes of the stream to the receiver
cat >"$cut" <<'SH'
#!/bin/sh
host=$1; shift
head -c "$CUT" | KXEN_RUNDIR=$host XENSTORED_RUNDIR=$host sh -c "$*"
SH
chmod +x "$cut"

last_tick() { ${2:+at_dst} xl dmesg | sed -n "s/^(d$1) savetest: tick \([0-9]*\)\$/\1/p" | tail -1; }
ticks_past() { local t; t=$(last_tick "$1" "$3"); [ -n "$t" ] && [ "$t" -gt "$2" ]; }
has_line() { ${3:+at_dst} xl dmesg | grep -q "^(d$1) savetest: $2"; }
dst_domains() { at_dst xl list | tail -n +2 | wc -l; }
{ echo 'name = "mig"'; echo "kernel = \"$guest\""; echo 'memory = 16'; } >"$src/mig.cfg"

check "the guest runs on the source" xl create -q "$src/mig.cfg"
id=$(xl domid mig)
wait_for 20 has_line "$id" "tick 3"
n0=$(dst_domains)

check "migrate -C naming a directory is refused by name before anything is sent" \
  sh -c "! xl migrate -C '$src' -s '$refuse' mig host 2>'$src/errC' && grep -q 'not a regular file' '$src/errC' && xl domid mig >/dev/null"
check "a destination that refuses fails the migration" sh -c "! xl migrate -s '$refuse' mig host 2>'$src/err1'"
check "the sender says the domain runs here again" grep -q "runs here again\|did not take" "$src/err1"
check "the source domain still exists under its name" test "$(xl domid mig)" = "$id"
wait_for 20 has_line "$id" "resumed (rc=1)"
check "the guest's suspend call returned 1 (cancelled)" has_line "$id" "resumed (rc=1)"
t=$(last_tick "$id")
wait_for 20 ticks_past "$id" "$((t + 2))"
check "the source guest keeps counting" ticks_past "$id" "$((t + 2))"
check "nothing was created at the destination" test "$(dst_domains)" = "$n0"

for cutat in $((RANDOM % 200 + 1)) $((RANDOM % 5000 + 200)) $((RANDOM % 20000 + 5000)); do
  t=$(last_tick "$id")
  CUT=$cutat xl migrate -s "$cut" mig "$dst" >/dev/null 2>&1
  check "stream cut at byte $cutat: the migration fails" test $? -ne 0
  check "stream cut at byte $cutat: the source runs on" test "$(xl domid mig 2>/dev/null)" = "$id"
  wait_for 20 ticks_past "$id" "$((t + 2))"
  check "stream cut at byte $cutat: the guest keeps counting" ticks_past "$id" "$((t + 2))"
  check "stream cut at byte $cutat: nothing at the destination" test "$(dst_domains)" = "$n0"
done

# A sender that connects and then stalls must not hold the destination: -T bounds the wait.
mkfifo "$src/stall"
sleep 30 >"$src/stall" &
stallpid=$!
at_dst timeout 20 xl migrate-receive -T 1 <"$src/stall" >/dev/null 2>"$src/errT"
rcT=$?
kill $stallpid 2>/dev/null
check "a stalled sender: migrate-receive -T 1 gives up with an error ($rcT)" test "$rcT" -eq 1
check "a stalled sender: the receiver says the stream stalled" grep -q "stalled" "$src/errT"
check "a stalled sender: nothing is left at the destination" test "$(dst_domains)" = "$n0"

t=$(last_tick "$id")
# End to end: a dom0 process writes a counter into a page the guest leaves alone, through
# writable foreign maps, for as long as the source runs; the destination must hold its last
# value (or the one before: a write begun just before the stop may land after the last collect).
probe=$KXEN_BUILD/tests/kxen-dirtyprobe
"$probe" write "$id" 2048 >"$src/written" 2>&1 &
writer=$!
check "xl migrate -s moves the domain" sh -c "xl migrate -s '$fakessh' mig '$dst' 2>'$src/migout'"
wait $writer
last=$(cat "$src/written")

check "xl migrate reports the guest's downtime from the two kxends' stamps" \
  grep -q "guest downtime [0-9.]* ms" "$src/migout"
check "each pre-copy round's line gives its send rate in MB/s and the ETA of what follows" \
  sh -c "grep -q '^migration sender: round 1: [0-9]* pages in [0-9.]* ms ([0-9]* pages/s, [0-9]* MB/s), [0-9]* dirtied meanwhile ([0-9]* pages/s); ETA of the \(next round\|stop and copy\) \([0-9.]* ms\|unknown\) at this rate\$' '$src/migout' && ! grep '^migration sender: round' '$src/migout' | grep -v 'MB/s.*; ETA of the'"
check "the domain is gone from the source" sh -c "! xl domid mig 2>/dev/null"
did=$(at_dst xl domid mig)
got=$(at_dst "$probe" read "$did" 2048)
check "the destination holds the last value dom0 wrote through a foreign map ($got of $last)" \
  test -n "$got" -a "${last:-0}" -ge 2 -a "${got:-0}" -ge "$((${last:-0} - 1))"
check "the domain runs at the destination under its name" test -n "$did"
wait_for 20 has_line "$did" "resumed (rc=0)" dst
check "the guest's suspend call returned 0 at the destination" has_line "$did" "resumed (rc=0)" dst
wait_for 20 ticks_past "$did" "$((t + 2))" dst
check "the counter goes on at the destination from $t" ticks_past "$did" "$((t + 2))" dst
check "the source's xenstore has no trace of the domain" sh -c "! guest_nodes_left | grep -q ."
check "xl migrate back to the source works too" \
  at_dst xl migrate -s "$fakessh" mig "$src"
