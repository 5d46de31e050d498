#!/usr/bin/env bash
# Xen's own clients (Debian's xenstore-utils, linked against Debian's libxenstore) against our
# xenstored: every command must print exactly what it prints against Debian's C xenstored
# (run through the benchmark's hypervisor shim), with the same exit status. Debian's programs
# run by absolute path (our build's bin/ is first in PATH and has tools of the same names); the
# test fails when they are missing.
. "$KXEN_SRC/tests/lib.sh"
xen_bin=/usr/bin # Debian's xenstore-utils
xen_xsd=/usr/lib/xen-4.17/bin/xenstored
shim=$KXEN_BUILD/lib/kxen-xsd-shim.so
check "Debian's xenstore-utils are installed ($xen_bin/xenstore-read)" foreign "$xen_bin/xenstore-read"
check "Debian's xenstored (xen-utils-4.17) is installed" foreign "$xen_xsd"
[ -x "$xen_bin/xenstore-read" ] && [ -x "$xen_xsd" ] || exit 1
[ -f "$shim" ] || skip_all "shim not built ($shim)"

kx=$KXEN_RUNDIR/kxen xen=$KXEN_RUNDIR/xen
mkdir -p "$kx" "$xen"
"$KXEN_BUILD/bin/xenstored" -N --socket "$kx/socket" -F "$KXEN_RUNDIR/xenstored.pid" 2>"$kx/log" &
# Debian's daemon must not see our ASan runtime options; it only needs the shim.
env -u ASAN_OPTIONS XENSTORED_RUNDIR="$xen" LD_PRELOAD="$shim" "$xen_xsd" -N \
    -F "$KXEN_RUNDIR/xen-xenstored.pid" >"$xen/log" 2>&1 &
wait_for 10 test -S "$kx/socket" || { not_ok "our xenstored starts"; exit 1; }
wait_for 10 test -S "$xen/socket" || { not_ok "Debian xenstored starts under the shim"; exit 1; }

# same CMD ARGS...: runs Debian's /usr/bin/CMD against both daemons; outputs and exit codes must
# match. A run that times out (exit 124) fails the check: two hangs are not an agreement.
same() {
    local want got prog=$xen_bin/$1
    shift
    want=$(XENSTORED_RUNDIR=$xen timeout 10 "$prog" "$@" 2>&1; echo "exit $?")
    got=$(XENSTORED_RUNDIR=$kx timeout 10 "$prog" "$@" 2>&1; echo "exit $?")
    if [[ $want == *"exit 124" || $got == *"exit 124" ]]; then
        not_ok "${prog##*/} $* (timed out: Debian's daemon ${want##*exit }, ours ${got##*exit })"
    elif [ "$want" == "$got" ]; then
        ok "${prog##*/} $*"
    else
        not_ok "${prog##*/} $*"
        diff <(echo "$want") <(echo "$got") | sed 's/^/#   /' | head -20
    fi
}

# One write per call (no transaction), so the listings below test formats, not commit order.
same xenstore-write /t/a 1
same xenstore-write /t/b/c "two words"
same xenstore-write /t/bin 'x\001\t\xffy'
same xenstore-read /t/a
same xenstore-read -p /t/a /t/b/c
same xenstore-read /t/bin
same xenstore-read -R /t/bin
same xenstore-read /t/missing
same xenstore-read /t/a /t/missing /t/b/c
same xenstore-exists /t/b
same xenstore-exists /t/missing
same xenstore-list /t
same xenstore-list -p /t/b
same xenstore-list /t/missing
same xenstore-ls /t
same xenstore-ls -f /t
same xenstore-ls -p /t
same xenstore-ls -fp /t
same xenstore-ls /t/missing
same xenstore-chmod /t/a b3 r5
same xenstore-ls -p /t
same xenstore-chmod -r /t/b n0 w7
same xenstore-chmod -u /t/b/c b0
same xenstore-ls -fp /t
same xenstore-chmod /t/missing/x b1
same xenstore-chmod /t/a x1
same xenstore-write /t/deep/er/node v
same xenstore-rm -t /t/deep/er/node
same xenstore-exists /t/deep
same xenstore-rm /t/b
same xenstore-rm /t/gone
same xenstore-rm /t/gone/deeper
same xenstore-write /t/long "$(printf 'z%.0s' {1..150})"
same xenstore-ls /t
same xenstore-watch -n 1 /t
same xenstore-ls -f /t
# Several pairs go through one transaction: children must still list in creation order.
same xenstore-write /tx/one 1 /tx/two/deep 2 /tx/three 3
same xenstore-list /tx

kill "$(cat "$KXEN_RUNDIR/xenstored.pid")" "$(cat "$KXEN_RUNDIR/xen-xenstored.pid")" 2>/dev/null
wait # the daemons remove their pid files as they exit; let them finish first
exit 0
