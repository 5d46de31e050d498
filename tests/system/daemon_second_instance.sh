#!/usr/bin/env bash
# One daemon of each kind per run directory (the daemon skeleton's pid-file lock): a second
# kxend, xenstored, xenconsoled or kxen-devd started with a pid file of its own (-F), in the foreground or
# detaching, is refused with exit status 1 and a reason, leaves the first one's socket and pid
# file alone, and the first keeps serving and stops cleanly.
. "$KXEN_SRC/tests/lib.sh"
B=$KXEN_BUILD/bin
X=$KXEN_BUILD/tests/kxen-xctool
for b in kxend xenstored xenconsoled kxen-devd xenstore-write xenstore-read; do
  [ -x "$B/$b" ] || skip_all "$b not built"
done
R=$KXEN_RUNDIR
declare -A sock=([kxend]=kxend.sock [xenstored]=socket [xenconsoled]=xenconsoled.sock
  [kxen-devd]=devd.sock)
declare -A extra=([kxend]="--accel soft" [xenstored]="" [xenconsoled]="" [kxen-devd]="")
declare -A logopt=([kxend]=--log-file [xenstored]=-L [xenconsoled]=--log-file
  [kxen-devd]=--log-file)
declare -A first

for d in kxend xenstored xenconsoled kxen-devd; do
  # shellcheck disable=SC2086 # extra[] holds whole options
  "$B/$d" -N ${extra[$d]} "${logopt[$d]}" "$R/$d.log" 2>"$R/$d.err" &
  first[$d]=$!
  check "$d starts and listens" wait_for 10 test -S "$R/${sock[$d]}"
  check "$d's pid file in the run dir names it" wait_for 10 \
    bash -c "test \"\$(cat '$R/$d.pid' 2>/dev/null)\" = ${first[$d]}"
done

for d in kxend xenstored xenconsoled kxen-devd; do
  for mode in -N ""; do
    how=${mode:+in the foreground}
    how=${how:-detaching}
    rc=0
    # shellcheck disable=SC2086
    out=$("$B/$d" $mode ${extra[$d]} -F "$R/second-$d.pid" 2>&1) || rc=$?
    check "a second $d ($how, another -F) is refused with status 1" test "$rc" -eq 1
    check "saying another $d already runs" grep -q "another $d already runs" <<<"$out"
    check "it wrote no pid file of its own" test ! -e "$R/second-$d.pid"
    check "the first $d's pid file still names it" test "$(cat "$R/$d.pid")" = "${first[$d]}"
    check "the first $d's socket is still there" test -S "$R/${sock[$d]}"
  done
done

if [ -x "$X" ]; then
  check "the first kxend still answers" bash -c "'$X' hello | grep -q 'accel=soft'"
fi
check "the first xenstored still serves" \
  bash -c "'$B/xenstore-write' /second/test ok && test \"\$('$B/xenstore-read' /second/test)\" = ok"
reply=$(python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"ATTACH 0\n")
print(s.recv(200).decode(errors="replace"))
' "$R/xenconsoled.sock" 2>&1)
check "the first xenconsoled still answers (dom0 has no console: ERR)" grep -q "^ERR domain 0" <<<"$reply"

check "the first kxen-devd still accepts connections" python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
' "$R/devd.sock"

for d in kxen-devd xenconsoled xenstored kxend; do
  kill -TERM "${first[$d]}"
  rc=0
  wait "${first[$d]}" || rc=$?
  check "$d stops on SIGTERM with status 0" test "$rc" -eq 0
  check "$d removed its socket and pid file" \
    bash -c "! test -e '$R/${sock[$d]}' && ! test -e '$R/$d.pid'"
  check "$d: no sanitizer report" bash -c "! grep -q Sanitizer '$R/$d.err'"
done
