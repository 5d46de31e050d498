#!/usr/bin/env bash
# Xen's own xenstore test program (xen-utils-4.17's test-xenstore, built against Debian's
# libxenstore) against our xenstored: every test it has must pass. Each runs alone so a failure
# names the behaviour ("ta err" = a transaction must keep reading its snapshot after another
# connection changed the node, then fail with EAGAIN).
. "$KXEN_SRC/tests/lib.sh"
xs_test=/usr/lib/xen-4.17/bin/test-xenstore
[ -x "$xs_test" ] || skip_all "Xen's test-xenstore (xen-utils-4.17) not installed"

mkdir -p "$KXEN_RUNDIR/xs"
"$KXEN_BUILD/bin/xenstored" -N --socket "$KXEN_RUNDIR/xs/socket" -F "$KXEN_RUNDIR/xenstored.pid" \
    2>"$KXEN_RUNDIR/xs/log" &
wait_for 10 test -S "$KXEN_RUNDIR/xs/socket" || { not_ok "xenstored starts"; exit 1; }
export XENSTORED_RUNDIR=$KXEN_RUNDIR/xs

names=$("$xs_test" -l | sed -n 's/^\(.\{10\}\): \(.*\)$/\1|\2/p')
[ -n "$names" ] || { not_ok "test-xenstore lists its tests"; exit 1; }
while IFS='|' read -r name what; do
    name=$(echo "$name" | sed 's/ *$//')
    if out=$(timeout 60 "$xs_test" -t "$name" 2>&1); then
        ok "Xen test-xenstore '$name' ($what)"
    else
        not_ok "Xen test-xenstore '$name' ($what): ${out##*: }"
    fi
done <<<"$names"
kill "$(cat "$KXEN_RUNDIR/xenstored.pid")" 2>/dev/null
wait # the daemon removes its pid file as it exits; let it finish first
exit 0
