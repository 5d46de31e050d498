#!/usr/bin/env bash
# A migration that fails around the guest's suspend leaves the source running and nothing at
# the destination (a second run directory, as xl_migrate.sh):
#   - a guest that takes the suspend request at once but calls suspend 2 s later (savetest
#     `suspend-delay=2000`, as Linux freezing its tasks under load) past `--suspend-timeout 1`:
#     xl gives up, then cancels the late suspend (the guest's call returns 1);
#   - a guest that looks at the request only 2 s after it came (`ack-delay=2000`): xl takes
#     the request back and the guest never suspends;
#   - the connection cut while the guest delays its suspend, and the receiver killed in the
#     middle of the last round: the sender resumes its copy, and the killed receiver's copy
#     goes with everything it had in xenstore (its build guard; xl_migrate_killed.sh kills
#     receivers at every stage, with devices).
# Runs on KXEN_ACCEL (soft unless set): the toolstack's side does not depend on it.
. "$KXEN_SRC/tests/system/xl_common.sh"
guest=$KXEN_BUILD/tests/savetest.elf
[ -f "$guest" ] || skip_all "$guest not built"
two_hosts
# cutssh: the stream passes through a cat whose pid is in $host/cat.pid (killing it cuts the
# connection: the receiver sees the stream end).
cutssh=$src/cutssh
cat >"$cutssh" <<'SH'
#!/bin/sh
host=$1; shift
rm -f "$host/cut.fifo" "$host/cat.pid"
mkfifo "$host/cut.fifo"
exec 3<&0
cat <&3 >"$host/cut.fifo" &
echo $! >"$host/cat.pid"
exec 3<&-
KXEN_RUNDIR=$host XENSTORED_RUNDIR=$host sh -c "exec $*" <"$host/cut.fifo"
SH
# killssh: relays the stream to the receiver; the first bytes after a pause of more than 1 s
# (the guest delaying its suspend) are the last round: half of them go through, then the
# receiver is killed (SIGKILL) and the relay ends.
killssh=$src/killssh
cat >"$killssh" <<'SH'
#!/usr/bin/env python3
import os, subprocess, sys, time
host = sys.argv[1]
env = dict(os.environ, KXEN_RUNDIR=host, XENSTORED_RUNDIR=host)
recv = subprocess.Popen(['sh', '-c', 'exec ' + ' '.join(sys.argv[2:])], stdin=subprocess.PIPE,
                        env=env)
last, total = time.time(), 0
while True:
    data = os.read(0, 65536)
    if not data:
        break
    now = time.time()
    if total and now - last > 1.0:
        recv.stdin.write(data[:len(data) // 2])
        recv.stdin.flush()
        recv.kill()
        recv.wait()
        print('killssh: receiver killed %d bytes into the last round' % (len(data) // 2),
              file=sys.stderr)
        sys.exit(1)
    recv.stdin.write(data)
    recv.stdin.flush()
    last, total = now, total + len(data)
recv.stdin.close()
sys.exit(recv.wait())
SH
chmod +x "$cutssh" "$killssh"

dm() { xl dmesg | grep "^(d$1) savetest: "; }
has() { dm "$1" | grep -qF -- "$2"; }
count() { dm "$1" | grep -cF -- "$2"; }
last_tick() { dm "$1" | sed -n 's/^.*savetest: tick \([0-9]*\)$/\1/p' | tail -1; }
ticks_past() { local t; t=$(last_tick "$1"); [ -n "$t" ] && [ "$t" -gt "$2" ]; }
dst_domains() { at_dst xl list | tail -n +3 | wc -l; } # without the header and Domain-0
dst_empty() { [ "$(dst_domains)" = 0 ]; }
dst_clean() { [ "$(dst_domains)" = 0 ] && ! XENSTORED_RUNDIR=$dst guest_nodes_left | grep -q .; }
mk() { { echo "name = \"$1\""; echo "kernel = \"$guest\""; echo 'memory = 16'
         echo "cmdline = \"$2\""; } >"$src/$1.cfg"; xl create -q "$src/$1.cfg"; }
# runs_on NAME ID WHAT: the domain is there under its name and keeps counting.
runs_on() {
  local t
  check "$3: the source domain is there under its name" test "$(xl domid "$1" 2>/dev/null)" = "$2"
  t=$(last_tick "$2")
  wait_for 20 ticks_past "$2" "$((${t:-0} + 2))"
  check "$3: the guest keeps counting" ticks_past "$2" "$((${t:-0} + 2))"
  wait_for 10 dst_clean
  check "$3: nothing is left at the destination (domains, xenstore)" dst_clean
  at_dst xl list | tail -n +3 | sed 's/^/# left: /'
  XENSTORED_RUNDIR=$dst guest_nodes_left | sed 's/^/# left: /'
}

check "a guest that suspends 2 s after taking the request starts" mk late "suspend-delay=2000"
check "a guest that takes the request 2 s after it came starts" mk slow "ack-delay=2000"
late=$(xl domid late) slow=$(xl domid slow)
wait_for 30 has "$late" "tick 3"
wait_for 30 has "$slow" "tick 3"

! xl migrate --suspend-timeout 1 -s "$fakessh" late "$dst" 2>"$src/err1"
check "late suspend: xl migrate --suspend-timeout 1 fails" test $? -eq 0
sed 's/^/# /' "$src/err1" | grep -v "round\|Ready"
check "late suspend: xl says the late suspend was cancelled and the domain runs on" \
  grep -q "suspended only after xl stopped waiting (1 s): its suspend was cancelled, it runs on" "$src/err1"
wait_for 20 has "$late" "resumed (rc=1)"
check "late suspend: the guest's suspend call returned 1 (cancelled)" has "$late" "resumed (rc=1)"
runs_on late "$late" "late suspend"

! xl migrate --suspend-timeout 1 -s "$fakessh" slow "$dst" 2>"$src/err2"
check "request seen late: xl migrate --suspend-timeout 1 fails" test $? -eq 0
check "request seen late: xl says the request went unanswered and was taken back" \
  grep -q 'did not suspend within 1 s (control/shutdown = "suspend" unanswered, taken back)' "$src/err2"
wait_for 20 has "$slow" "the suspend request was taken back"
check "request seen late: the guest found it taken back" has "$slow" "the suspend request was taken back"
check "request seen late: the guest did not suspend" test "$(count "$slow" "suspending at tick")" = 0
runs_on slow "$slow" "request seen late"

# The connection cut while the guest delays its suspend: the receiver sees the stream end
# and drops its copy; the sender, once the guest suspended, cannot send the last round.
n=$(count "$late" "resumed (rc=1)")
xl migrate --suspend-timeout 20 -s "$cutssh" late "$dst" 2>"$src/err3" &
mig=$!
wait_for 30 sh -c "[ \$(xl dmesg | grep -c '^(d$late) savetest: suspend request taken') -ge 2 ]"
kill "$(cat "$dst/cat.pid")"
wait $mig
check "connection cut during the suspend: xl migrate fails" test $? -ne 0
sed 's/^/# /' "$src/err3" | grep -v "round\|Ready"
wait_for 20 sh -c "[ \$(xl dmesg | grep -c '^(d$late) savetest: resumed (rc=1)') -gt $n ]"
check "connection cut during the suspend: the guest's suspend was cancelled" \
  test "$(count "$late" "resumed (rc=1)")" -gt "$n"
runs_on late "$late" "connection cut during the suspend"

# The receiver killed in the middle of the last round (killssh).
n=$(count "$late" "resumed (rc=1)")
! xl migrate --suspend-timeout 20 -s "$killssh" late "$dst" 2>"$src/err4"
check "receiver killed during the last round: xl migrate fails" test $? -eq 0
sed 's/^/# /' "$src/err4" | grep -v "round\|Ready"
check "receiver killed during the last round: it was (the relay says so)" \
  grep -q "killssh: receiver killed" "$src/err4"
wait_for 20 sh -c "[ \$(xl dmesg | grep -c '^(d$late) savetest: resumed (rc=1)') -gt $n ]"
check "receiver killed during the last round: the guest's suspend was cancelled" \
  test "$(count "$late" "resumed (rc=1)")" -gt "$n"
check "receiver killed during the last round: its paused copy went with it" \
  wait_for 10 dst_empty
runs_on late "$late" "receiver killed during the last round"
