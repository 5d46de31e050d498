#!/usr/bin/env bash
# `xl info`'s free_memory accounts for the guests (docs/reliability.md): a guest's RAM is
# filled as it touches it, so the host's MemAvailable alone would still count a fresh guest's
# RAM as free. free_memory is MemAvailable less what the guests may still touch: a 512 MiB
# guest that touched little takes about 512 MiB off it, given back when it is destroyed.
. "$KXEN_SRC/tests/system/xl_common.sh"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
free_mb() { xl info | awk -F': ' '$1 ~ /^free_memory/ { print $2 }'; }
avail_mb() { awk '$1 == "MemAvailable:" { print int($2 / 1024) }' /proc/meminfo; }
xl list >/dev/null 2>&1 # the services
[ "$(avail_mb)" -gt 2048 ] || skip_all "less than 2 GiB available"
write_cfg "$d/big.cfg" big "memory = 512"
xl create -q "$d/big.cfg"
wait_for 20 console_has big "waiting for control/shutdown"
f=$(free_mb) a=$(avail_mb)
echo "# with a 512 MiB guest: free_memory $f MiB, MemAvailable $a MiB"
check "free_memory leaves out the guest's RAM it has not touched yet" test "$f" -le $((a - 400))
xl destroy big
f=$(free_mb) a=$(avail_mb)
echo "# after destroy: free_memory $f MiB, MemAvailable $a MiB"
check "and gives it back when the guest is destroyed" test "$f" -ge $((a - 100))
