#!/usr/bin/env bash
# What scripts written for a Xen host read: /local/domain/0 as xen-init-dom0 writes it
# (name = "Domain-0", domid = "0"), and `xl info`'s xen_* lines (the release kxend presents
# to guests, the scheduler, kxend's command line), plus `xl info -n`'s topology tables.
. "$KXEN_SRC/tests/system/xl_common.sh"
check "xl info runs (and starts the services)" sh -c "xl info >'$KXEN_RUNDIR/info'"
field() { awk -F': ' -v k="$1" '$1 ~ "^"k" *$" { print $2 }' "$KXEN_RUNDIR/info"; }
check "/local/domain/0/name is Domain-0" test "$(xenstore-read /local/domain/0/name)" = Domain-0
check "/local/domain/0/domid is 0" test "$(xenstore-read /local/domain/0/domid)" = 0
for k in xen_major xen_minor xen_extra xen_version xen_scheduler xen_commandline; do
  check "xl info has $k" grep -q "^$k *: " "$KXEN_RUNDIR/info"
done
check "xen_version is major.minor + extra" \
  test "$(field xen_version)" = "$(field xen_major).$(field xen_minor)$(field xen_extra)"
check "xen_major.xen_minor is a Xen release (4.x)" test "$(field xen_major)" = 4
check "xen_commandline is kxend's command line" sh -c "echo '$(field xen_commandline)' | grep -q 'kxend.*--rundir $KXEN_RUNDIR'"
check "xl info -n prints cpu_topology and numa_info" sh -c "xl info -n | grep -q '^numa_info' && xl info --numa | grep -q '^cpu_topology'"
check "xl info -h exits 0" sh -c "xl info -h | grep -q '^Usage: xl info'"
echo "1..$_tap_n"
