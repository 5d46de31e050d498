#!/usr/bin/env bash
# kxend on the soft accelerator: daemon rules (one per run dir, clean SIGTERM), guests booting
# through the PV entry (our tiny guest, the runtime's selftest and hostile guests), pause /
# unpause / destroy of a spinning guest, crash reporting, create/destroy cycles without leaks.
. "$KXEN_SRC/tests/lib.sh"
X=$KXEN_BUILD/tests/kxen-xctool
MINI=$KXEN_BUILD/tests/kxend-mini.elf
G=$KXEN_BUILD/guests
[ -x "$KXEN_BUILD/bin/kxend" ] && [ -x "$X" ] || skip_all "kxend or kxen-xctool not built"

"$KXEN_BUILD/bin/kxend" -N --accel soft --log-file "$KXEN_RUNDIR/kxend.log" 2>"$KXEN_RUNDIR/kxend.err" &
KPID=$!
check "kxend listens on its socket" wait_for 10 test -S "$KXEN_RUNDIR/kxend.sock"
check "kxend answers hello with the soft accelerator" bash -c "'$X' hello | grep -q 'accel=soft'"
out=$("$KXEN_BUILD/bin/kxend" -N --accel soft 2>&1); rc=$?
if [ $rc -ne 0 ] && [[ $out == *"another kxend"* ]]; then ok "a second kxend in the same run dir is refused"; else not_ok "a second kxend in the same run dir is refused ($rc: $out)"; fi

out=$(timeout 60 "$X" run mini 16384 "$MINI" "" 30)
check "tiny guest: hypercalls, cpuid leaves and error codes" grep -q "RESULT PASS" <<<"$out"
out=$(timeout 60 "$X" run blk 16384 "$MINI" b 30)
check "tiny guest: SCHEDOP_block wakes on the singleshot timer" grep -q "ok 5 -" <<<"$out"
out=$(timeout 60 "$X" run crash 16384 "$MINI" c 30)
check "a guest executing ud2 without an IDT is shut down with SHUTDOWN_crash" grep -q "shutdown reason=3" <<<"$out"
check "the hypervisor console names the double fault (#UD with no IDT gate)" \
  bash -c "'$X' dmesg | grep -q 'crashed: double fault delivering #UD (vector 6).*no usable IDT gate'"

for g in selftest hostile; do
  if [ -f "$G/$g.elf" ]; then
    out=$(timeout 120 "$X" run "$g" 65536 "$G/$g.elf" "" 100)
    echo "$out" | grep -E '^not ok' | sed "s/^/# $g: /"
    check "$g guest ends with RESULT PASS on soft" bash -c "tail -3 <<<\"\$1\" | grep -q 'RESULT PASS'" _ "$out"
  else
    echo "# $g.elf not built: skipped"
  fi
done

if [ -f "$G/smptest.elf" ]; then
  out=$(timeout 60 "$X" run smp 32768 "$G/smptest.elf" "" 30 2)
  echo "$out" | grep -E '^not ok' | sed "s/^/# smptest: /"
  check "smptest: vCPU 1 starts through VCPUOP_initialise/up, its IPI reaches vCPU 0, RESULT PASS" \
    bash -c "grep -q 'smptest: hello from vCPU 1' <<<\"\$1\" && tail -3 <<<\"\$1\" | grep -q 'RESULT PASS'" _ "$out"
else
  echo "# smptest.elf not built: skipped"
fi

id=$("$X" create spinner 16384 1)
"$X" load "$id" "$MINI" s >/dev/null
sleep 0.3
t1=$("$X" info "$id" | sed 's/.*cpu_ns=\([0-9]*\).*/\1/')
check "a spinning guest is reported running" bash -c "'$X' info $id | grep -q ' running'"
"$X" pause "$id"
sleep 0.1
p1=$("$X" info "$id" | sed 's/.*cpu_ns=\([0-9]*\).*/\1/')
sleep 0.3
p2=$("$X" info "$id" | sed 's/.*cpu_ns=\([0-9]*\).*/\1/')
check "a paused guest is reported paused" bash -c "'$X' info $id | grep -q ' paused'"
check "a paused guest does not run ($p1 -> $p2 ns)" test "$p1" = "$p2"
"$X" unpause "$id"
sleep 0.3
u1=$("$X" info "$id" | sed 's/.*cpu_ns=\([0-9]*\).*/\1/')
check "an unpaused guest runs again ($p2 -> $u1 ns)" test "$u1" -gt "$p2"
check "hvm params set by the toolstack read back" bash -c "'$X' param-set $id 18 7 && test \$('$X' param-get $id 18) = 7"
check "rename to a taken name is refused" bash -c "'$X' create taken 4096 1 >/dev/null && ! '$X' rename $id taken 2>/dev/null"
check "rename changes the name getinfo reports" bash -c "'$X' rename $id spun && '$X' info $id | grep -q 'name=spun '"
p1=$("$X" evtchn-alloc "$id" 0); p2=$("$X" evtchn-alloc "$id" 0)
check "xc_evtchn_alloc_unbound gives distinct ports in the domain ($p1, $p2)" \
  bash -c "[ '$p1' -ge 1 ] && [ '$p2' -ge 1 ] && [ '$p1' != '$p2' ]"
check "xc_evtchn_alloc_unbound for an unknown domain fails with ESRCH" \
  bash -c "! '$X' evtchn-alloc 30000 0 2>&1 | grep -v 'No such process' | grep -q . && ! '$X' evtchn-alloc 30000 0 2>/dev/null"
check "xc_evtchn_reset closes every port (the next allocation is port 1 again)" \
  bash -c "'$X' evtchn-reset $id && test \$('$X' evtchn-alloc $id 0) = 1"
check "remote shutdown (reboot) reaches subscribers with its reason" bash -c "'$X' shutdown $id 1 && '$X' wait $id 5 | grep -q 'reason=1'"
check "destroy removes the spinning domain" bash -c "'$X' destroy $id && ! '$X' info $id 2>/dev/null"

fds0=$(ls /proc/$KPID/fd | wc -l); thr0=$(ls /proc/$KPID/task | wc -l)
check "10 create/load/destroy cycles of a 2-vCPU domain" "$X" cycle 10 "$MINI"
fds1=$(ls /proc/$KPID/fd | wc -l); thr1=$(ls /proc/$KPID/task | wc -l)
check "cycles leave no fds behind ($fds0 -> $fds1)" test "$fds0" -eq "$fds1"
check "cycles leave no threads behind ($thr0 -> $thr1)" test "$thr0" -eq "$thr1"

check "xl dmesg ring has the guests' lines prefixed (dN)" bash -c "'$X' dmesg | grep -q '^(d[0-9]*) RESULT PASS'"

# SIGTERM with a live domain: everything destroyed, exit status 0 (LeakSanitizer included).
id=$("$X" create last 16384 1); "$X" load "$id" "$MINI" s >/dev/null
kill -TERM $KPID
wait $KPID; rc=$?
check "SIGTERM with a running domain exits cleanly (status $rc)" test $rc -eq 0
check "no sanitizer report from kxend" bash -c "! grep -q 'Sanitizer' '$KXEN_RUNDIR/kxend.err'"
grep -A20 Sanitizer "$KXEN_RUNDIR/kxend.err" | head -40 | sed 's/^/# /'
check "the socket and pid file are removed" bash -c "! test -e '$KXEN_RUNDIR/kxend.sock' && ! test -e '$KXEN_RUNDIR/kxend.pid'"
