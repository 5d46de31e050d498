#!/usr/bin/env bash
# One run-dir/socket rule (docs/paths.md): kxen's xenstore-* tools and xs_open() reach the
# host's xenstored with only KXEN_RUNDIR set; with XENSTORED_RUNDIR elsewhere, xl starts
# xenstored there and every client (xl, the tools, kxen-services) agrees; errors name the
# socket tried; xl says when it starts the daemons and honours KXEN_NO_AUTOSTART=1.
. "$KXEN_SRC/tests/system/xl_common.sh"
unset XENSTORED_RUNDIR XENSTORED_PATH
w=$(mktemp -d /tmp/kxen-paths-XXXXXX)
trap 'kxen-services stop >/dev/null 2>&1; KXEN_RUNDIR=$w/h2 XENSTORED_RUNDIR=$w/xs kxen-services stop >/dev/null 2>&1; rm -rf "$w"' EXIT

# Nothing runs yet.
KXEN_NO_AUTOSTART=1 xl list >/dev/null 2>"$w/err"; rc=$?
check "KXEN_NO_AUTOSTART=1: xl fails when nothing runs" test "$rc" = 1
check "... naming kxend's socket and the opt-out" grep -q "kxend at $KXEN_RUNDIR/kxend.sock.*KXEN_NO_AUTOSTART" "$w/err"
check "... and starts nothing" sh -c "! ls '$KXEN_RUNDIR'/*.pid 2>/dev/null"
xenstore-read /local/domain/0/name >/dev/null 2>"$w/err"
check "xenstore-read names the socket it tried" grep -qF "xs_open $KXEN_RUNDIR/socket" "$w/err"

xl list >/dev/null 2>"$w/err"
check "the first xl command says it started the services" grep -q "started the kxen services in $KXEN_RUNDIR" "$w/err"
xl list >/dev/null 2>"$w/err"
check "the second one says nothing" test ! -s "$w/err"
check "KXEN_NO_AUTOSTART=1 connects to running services" sh -c "KXEN_NO_AUTOSTART=1 xl list >/dev/null"
check "xenstore-read with only KXEN_RUNDIR set reaches the host's xenstored" \
  test "$(xenstore-read /local/domain/0/name)" = Domain-0
check "xenstore-ls too" sh -c "xenstore-ls /local/domain/0 | grep -q 'domid = \"0\"'"

# A second host whose xenstored socket lives elsewhere (XENSTORED_RUNDIR != KXEN_RUNDIR).
mkdir -p "$w/h2" "$w/xs"
export2() { KXEN_RUNDIR=$w/h2 XENSTORED_RUNDIR=$w/xs "$@"; }
export2 xl list >/dev/null 2>"$w/err"
check "xl with XENSTORED_RUNDIR elsewhere starts that host" grep -q "started the kxen services in $w/h2" "$w/err"
check "its xenstored listens in XENSTORED_RUNDIR" test -S "$w/xs/socket"
check "... and not in KXEN_RUNDIR" test ! -e "$w/h2/socket"
check "the tools follow the same rule" sh -c "KXEN_RUNDIR=$w/h2 XENSTORED_RUNDIR=$w/xs xenstore-read /local/domain/0/domid | grep -qx 0"
check "XENSTORED_PATH wins" sh -c "XENSTORED_PATH=$w/xs/socket KXEN_RUNDIR=/nonexistent xenstore-read /local/domain/0/name | grep -qx Domain-0"
check "a second xl command starts nothing more" sh -c "KXEN_RUNDIR=$w/h2 XENSTORED_RUNDIR=$w/xs xl list 2>&1 >/dev/null | wc -c | grep -qx 0"
check "kxen-services agrees (status: all running)" sh -c "KXEN_RUNDIR=$w/h2 XENSTORED_RUNDIR=$w/xs kxen-services status >/dev/null"
check "kxen-services stop stops that host" sh -c "KXEN_RUNDIR=$w/h2 XENSTORED_RUNDIR=$w/xs kxen-services stop >/dev/null && ! ls $w/h2/*.pid 2>/dev/null"
check "kxen-services start writes /local/domain/0" sh -c "KXEN_RUNDIR=$w/h2 XENSTORED_RUNDIR=$w/xs kxen-services start >/dev/null && test \"\$(KXEN_RUNDIR=$w/h2 XENSTORED_RUNDIR=$w/xs xenstore-read /local/domain/0/name)\" = Domain-0"
echo "1..$_tap_n"
