#!/usr/bin/env bash
# xenstored as a program: run directory and socket path, pid file, options, a second instance,
# Xen's own clients (Debian's xenstore-utils) against it, and a clean stop on SIGTERM.
source "$KXEN_SRC/tests/lib.sh"
bin=$KXEN_BUILD/bin/xenstored
[ -x "$bin" ] || skip_all "xenstored not built"

# KXEN_RUNDIR alone decides the socket: XENSTORED_RUNDIR is derived from it.
unset XENSTORED_RUNDIR XENSTORED_PATH
"$bin" -N -F "$KXEN_RUNDIR/xenstored.pid" -L "$KXEN_RUNDIR/xenstored.log" \
  -T "$KXEN_RUNDIR/trace" 2>"$KXEN_RUNDIR/stderr" &
pid=$!
check "socket appears at \$KXEN_RUNDIR/socket" wait_for 10 test -S "$KXEN_RUNDIR/socket"
check "pid file holds the daemon's pid" test "$(cat "$KXEN_RUNDIR/xenstored.pid" 2>/dev/null)" = "$pid"

second_rc=0
"$bin" -N -L "$KXEN_RUNDIR/second.log" || second_rc=$?
check "a second daemon on the same socket refuses to start" test "$second_rc" -eq 1
check "and says why" grep -q "another xenstored" "$KXEN_RUNDIR/second.log"

bad_rc=0
"$bin" -N --quota bogus=3 2>"$KXEN_RUNDIR/bad.err" || bad_rc=$?
check "an unknown quota is refused with exit status 2" test "$bad_rc" -eq 2
check "naming the bad quota" grep -q "bogus" "$KXEN_RUNDIR/bad.err"
# Each refusal names what was wrong: an unknown quota vs a bad value vs Xen's options kxen lacks.
refused() { # refused "what" "expected message" args...
    local what=$1 msg=$2 rc=0
    shift 2
    "$bin" -N "$@" 2>"$KXEN_RUNDIR/opt.err" || rc=$?
    check "$what: exit 2 saying '$msg'" \
        sh -c "[ $rc -eq 2 ] && grep -qF -- \"$msg\" '$KXEN_RUNDIR/opt.err'"
}
refused "a quota value that is not a number" "bad value 'abc' for quota entry-nb" -Q entry-nb=abc
refused "a zero -E" "bad value '0' for quota entry-nb" -E 0
refused "an unknown quota" "unknown quota 'bogus'" -Q bogus=3
refused "Xen's memory quota" "'memory' quota is not implemented" -Q memory=100
refused "Xen's -R" "-R/--no-recovery is not supported" -R
refused "Xen's --timeout" "-w/--timeout watch-event=5 is not supported" --timeout watch-event=5
refused "Xen's -q" "-q/--quota-soft memory=5 is not supported" -q memory=5
refused "Xen's -K" "-K/--keep-orphans is not supported" -K
refused "Xen's -I off" "-I/--internal-db off is not supported" -I off
refused "a bad -I argument" "takes 'on' or 'off', got 'maybe'" --internal-db=maybe
mkdir -p "$KXEN_RUNDIR/idb"
"$bin" -N -I on --socket "$KXEN_RUNDIR/idb/socket" 2>"$KXEN_RUNDIR/idb/err" &
idb=$!
check "Xen's -I on (in-memory database, the only kind) is accepted and the daemon serves" \
    wait_for 10 test -S "$KXEN_RUNDIR/idb/socket"
kill "$idb" 2>/dev/null
wait "$idb" 2>/dev/null

# Debian's programs by absolute path: ours, of the same names, come first in PATH.
export XENSTORED_RUNDIR=$KXEN_RUNDIR
xen=/usr/bin
if check "Debian's xenstore-utils are installed" foreign "$xen/xenstore-read"; then
  check "Xen's xenstore-write succeeds" timeout 10 "$xen/xenstore-write" /vm/kxen/name demo /vm/kxen/mem 128
  check "Xen's xenstore-read reads it back" test "$(timeout 10 "$xen/xenstore-read" /vm/kxen/name)" = demo
  check "Xen's xenstore-ls lists the subtree" \
    test "$(timeout 10 "$xen/xenstore-ls" /vm/kxen | tr -d ' ')" = "$(printf 'name="demo"\nmem="128"')"
  check "Xen's xenstore-rm removes it" timeout 10 "$xen/xenstore-rm" /vm/kxen
  check "and it is gone" bash -c 'timeout 10 "$1/xenstore-read" /vm/kxen/name 2>/dev/null; [ $? -eq 1 ]' _ "$xen"
fi

check "the trace file records requests" grep -q "WRITE" "$KXEN_RUNDIR/trace"

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
check "SIGTERM stops the daemon with status 0 (no leak report)" test "$rc" -eq 0
check "no sanitizer report (leaks, memory errors)" \
  bash -c "! grep -q 'Sanitizer' '$KXEN_RUNDIR/stderr'"
check "the socket file is removed" test ! -e "$KXEN_RUNDIR/socket"
check "the pid file is removed" test ! -e "$KXEN_RUNDIR/xenstored.pid"

# Without -N it detaches: the command returns at once and the pid file names the daemon.
mkdir -p "$KXEN_RUNDIR/bg"
fork_rc=0
XENSTORED_RUNDIR=$KXEN_RUNDIR/bg "$bin" -F "$KXEN_RUNDIR/bg/xenstored.pid" -L "$KXEN_RUNDIR/bg/log" \
  2>"$KXEN_RUNDIR/bg/stderr" || fork_rc=$?
check "without -N the command returns with status 0" test "$fork_rc" -eq 0
check "the detached daemon listens" test -S "$KXEN_RUNDIR/bg/socket"
# Never "kill 0": an empty pid would signal this test's whole process group.
bgpid=$(cat "$KXEN_RUNDIR/bg/xenstored.pid" 2>/dev/null)
if [[ $bgpid =~ ^[0-9]+$ ]] && [ "$bgpid" -gt 1 ]; then
  check "its pid file, written before the command returned, names a live process" kill -0 "$bgpid"
  kill -TERM "$bgpid"
  check "it stops on SIGTERM and removes its socket" wait_for 10 test ! -e "$KXEN_RUNDIR/bg/socket"
else
  not_ok "its pid file, written before the command returned, names a live process ('$bgpid')"
fi
