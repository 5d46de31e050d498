#!/usr/bin/env bash
# A program written for Xen's xenstore.h, built once against Xen's header and Debian's
# libxenstore and once against ours, run against our xenstored: same transcript, and the
# transcript shows the API behaving as Xen documents it.
. "$KXEN_SRC/tests/lib.sh"
xen_client=$KXEN_BUILD/tests/xs_compat_client_xen
kxen_client=$KXEN_BUILD/tests/xs_compat_client_kxen
[ -x "$xen_client" ] || skip_all "Xen-API client not built (needs libxen-dev)"

start_daemon() {
    mkdir -p "$1"
    "$KXEN_BUILD/bin/xenstored" -N --socket "$1/socket" -F "$1.pid" 2>"$1/log" &
    wait_for 10 test -S "$1/socket"
}
start_daemon "$KXEN_RUNDIR/x" && start_daemon "$KXEN_RUNDIR/k" || { not_ok "xenstored starts"; exit 1; }
XENSTORED_RUNDIR=$KXEN_RUNDIR/x timeout 20 "$xen_client" >"$KXEN_RUNDIR/xen.out" 2>&1
check "client built against Xen's libxenstore runs against our daemon" test $? -eq 0
XENSTORED_RUNDIR=$KXEN_RUNDIR/k timeout 20 "$kxen_client" >"$KXEN_RUNDIR/kxen.out" 2>&1
check "client built against our libxenstore runs against our daemon" test $? -eq 0
if diff "$KXEN_RUNDIR/xen.out" "$KXEN_RUNDIR/kxen.out" >"$KXEN_RUNDIR/diff"; then
    ok "both builds print the same transcript"
else
    not_ok "both builds print the same transcript"
    sed 's/^/#   /' "$KXEN_RUNDIR/diff"
fi
out=$KXEN_RUNDIR/kxen.out
expect() { check "transcript: $1" grep -qxF -- "$1" "$out"; }
expect "read /compat/a = 'hello' (5)"
expect "binary len 3 middle byte 0"
expect "read /compat/missing failed: No such file or directory"
expect "mkdir again 1"
expect "dir /compat (3): a bin dir"
expect "perms /compat/a: 0/0 5/1"
expect "read /compat/tx failed: No such file or directory"
expect "read /compat/tx = 'in' (2)"
expect "abort 1"
expect "initial event: /compat/w token=tok (2)"
expect "change event: /compat/w/child token=tok (2)"
expect "fileno readable 1"
expect "check_watch again EAGAIN"
expect "unwatch unknown 0"
expect "domain path 7 /local/domain/7"
expect "dom0 introduced 1"
expect "subpath 1 0 0"
expect "rm missing parent 0"
sed 's/^/# /' "$out"
kill "$(cat "$KXEN_RUNDIR/x.pid")" "$(cat "$KXEN_RUNDIR/k.pid")" 2>/dev/null
wait # the daemons remove their pid files as they exit; let them finish first
exit 0
