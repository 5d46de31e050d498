#!/usr/bin/env bash
# A guest that rewrites its memory without pause (savetest dirty=N) still migrates: the
# pre-copy is bounded (--max-rounds), the sender throttles the guest a step each round it
# dirties more than half of what was sent and says so, the rest goes across stopped, and on
# the destination the guest finds every page of its region holding its last pass. Also: with
# --no-throttle the guest is never slowed, and the throttle is gone once the migration ends.
# The guest's clock never goes back: not on the way back to the source, whose kxend is younger
# than the destination's, nor across a save and a restore into a kxend started after it.
# Runs on KXEN_ACCEL (soft unless set); xl_migrate_kvm_converge.sh runs it again on kvm.
. "$KXEN_SRC/tests/system/xl_common.sh"
guest=$KXEN_BUILD/tests/savetest.elf
[ -f "$guest" ] || skip_all "$guest not built"
two_hosts
has_line() { ${3:+at_dst} xl dmesg | grep -q "^(d$1) savetest: $2"; }
{ echo 'name = "busy"'; echo "kernel = \"$guest\""; echo 'memory = 32'
  echo 'cmdline = "dirty=12"'; } >"$src/busy.cfg"

check "a guest rewriting 12 MiB without pause runs" xl create -q "$src/busy.cfg"
id=$(xl domid busy)
wait_for 20 has_line "$id" "tick 2"

check "xl migrate --max-rounds 4 moves it" \
  sh -c "xl migrate --max-rounds 4 -s '$fakessh' busy '$dst' 2>'$src/out1'"
sed 's/^/# /' "$src/out1"
rounds=$(grep -c "^migration sender: round [0-9]*:" "$src/out1")
check "the pre-copy took at most 4 rounds ($rounds)" test "$rounds" -ge 1 -a "$rounds" -le 4
check "each round's line says what was sent and dirtied" \
  grep -q "round 1: [0-9]* pages in [0-9.]* ms .* [0-9]* dirtied meanwhile" "$src/out1"
check "the sender says why it stopped and what it sent stopped" \
  sh -c "grep -q '^migration sender: \(not \)\?converged after [0-9]* rounds: stop and copy' '$src/out1' && grep -q '[0-9]* stopped)' '$src/out1'"
if grep -q "throttled to" "$src/out1"; then
  check "the throttle line names its level" grep -q "throttled to [0-9]*% of its vCPU time" "$src/out1"
  check "kxend logged the throttle and lifted it" \
    sh -c "grep -q 'migration throttle [1-9][0-9]*%' '$src/kxend.log' && grep -q 'migration throttle lifted' '$src/kxend.log'"
else
  check "the guest converged without a throttle" grep -q "converged after" "$src/out1"
fi
did=$(at_dst xl domid busy)
check "the domain runs at the destination" test -n "$did"
wait_for 20 has_line "$did" "dirty check" dst
check "every page of the region holds the guest's last pass at the destination" \
  has_line "$did" "dirty check ok" dst
at_dst xl dmesg | grep "^(d$did) savetest: dirty check" | sed 's/^/# /'
check "the guest's clock did not go back at the destination" has_line "$did" "time check ok" dst

check "xl migrate --no-throttle --max-rounds 2 brings it back" \
  at_dst sh -c "xl migrate --no-throttle --max-rounds 2 -s '$fakessh' busy '$src' 2>'$src/out2'"
sed 's/^/# /' "$src/out2"
check "without a throttle the guest was never slowed" \
  sh -c "! grep -q 'throttled to' '$src/out2' && grep -q 'throttle 0%' '$src/out2'"
check "at most 2 rounds" test "$(grep -c '^migration sender: round' "$src/out2")" -le 2
id=$(xl domid busy)
wait_for 20 has_line "$id" "dirty check" 
check "back at the source every page holds the last pass too" has_line "$id" "dirty check ok"
check "the guest's clock did not go back on the younger kxend" has_line "$id" "time check ok"
xl dmesg | grep "^(d$id) savetest: time check" | sed 's/^/# /'
check "--max-rounds 0 is refused" sh -c "! xl migrate --max-rounds 0 -s '$fakessh' busy '$dst' 2>/dev/null"
check "the refused migration left the guest running here" test "$(xl domid busy)" = "$id"

check "xl save stores it" xl save busy "$src/busy.img"
kxen-services stop >/dev/null 2>&1
sleep 0.5
check "xl restore brings it back into a kxend started after the save" \
  xl restore "$src/busy.img"
id=$(xl domid busy)
wait_for 20 has_line "$id" "time check"
check "across the save and restore the guest's clock did not go back" has_line "$id" "time check ok"
xl dmesg | grep "^(d$id) savetest: time check" | sed 's/^/# /'
# The guest prints its dirty check after the time check, once it has read every page.
wait_for 20 has_line "$id" "dirty check"
check "and every page holds the last pass" has_line "$id" "dirty check ok"
