#!/usr/bin/env bash
# Console logs per incarnation and line ends toward a terminal: a new domain with an old
# name starts its part of guest-NAME.log with a dated separator (the first one of a name
# starts the file without), and xl console replays only the current domain's output (also
# after xenconsoled restarts); xl console on a terminal
# (raw mode) turns the guest's bare \n into \r\n, while a pipe gets the bytes unchanged.
. "$KXEN_SRC/tests/system/xl_common.sh"
w=$KXEN_RUNDIR/cfg
mkdir -p "$w"
log=$KXEN_RUNDIR/console/guest-inc.log
write_cfg "$w/inc.cfg" inc
xl create -q "$w/inc.cfg"
id1=$(xl domid inc)
wait_for 20 console_has inc "waiting for control/shutdown"
xl shutdown -w inc 2>/dev/null
xl create -q "$w/inc.cfg"
id2=$(xl domid inc)
wait_for 20 sh -c "[ \$(grep -c 'waiting for control/shutdown' '$log') -ge 2 ]"
check "two incarnations of 'inc' ($id1, $id2)" test "$id1" != "$id2"
check "the log has one separator, before the second domain's output" test "$(grep -c '^=== kxen: console of domain ' "$log")" = 1
check "... the first domain's output starts the file" sh -c "head -1 '$log' | grep -q 'Hello from kxen'"
check "... naming the second domain, dated in ISO 8601 UTC" grep -qE "^=== kxen: console of domain $id2 \(inc\) from [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z ===\$" "$log"
check "... between the two domains' output" sh -c "awk '/^=== kxen: console of domain $id2 /{m=1} /domain $id1\$/{if(m) bad=1} END{exit bad}' '$log'"

replay() {
  xl console inc >"$1" 2>&1 </dev/null &
  local pid=$!
  wait_for 10 grep -q "waiting for control/shutdown" "$1"
  sleep 0.2
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}
replay "$w/replay1"
check "xl console replays the current domain's output" grep -q "I am \"inc\", domain $id2" "$w/replay1"
check "... and not the previous domain's" sh -c "! grep -q 'domain $id1\$' '$w/replay1'"
check "... nor the separator" sh -c "! grep -q '=== kxen' '$w/replay1'"
check "... byte for byte to a file (no \\r added)" sh -c "! grep -q \$'\\r' '$w/replay1'"

# A restarted xenconsoled continues the incarnation it logged before.
cpid=$(cat "$KXEN_RUNDIR/xenconsoled.pid")
kill "$cpid"
wait_for 10 sh -c "! kill -0 $cpid 2>/dev/null"
xl list >/dev/null 2>&1 # starts xenconsoled again
wait_for 10 test -S "$KXEN_RUNDIR/xenconsoled.sock"
replay "$w/replay2"
check "after a xenconsoled restart xl console still replays this domain from its start" grep -q "Hello from kxen" "$w/replay2"
check "... and no new separator was written" test "$(grep -c '^=== kxen: console of domain ' "$log")" = 1

# Toward a terminal: \r\n.
if command -v script >/dev/null; then
  (sleep 1; printf '\035') | script -qec "xl console inc" /dev/null >"$w/tty" 2>&1
  check "xl console on a terminal ends lines with \\r\\n" grep -q $'domain '"$id2"$'\r$' "$w/tty"
  bare_lf() { grep -a 'hello:' "$w/tty" | grep -qv $'\r$'; }
  check "... on every line of the guest's" eval '! bare_lf' 
else
  skip "xl console on a terminal" "no script(1)"
  skip "xl console on a terminal, every line" "no script(1)"
fi
xl destroy inc
echo "1..$_tap_n"
