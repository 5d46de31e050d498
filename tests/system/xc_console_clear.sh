#!/usr/bin/env bash
# xc_readconsolering with clear (libxenctrl, as Xen's `xl dmesg -c` uses it): the ring keeps
# the bytes the caller was not given. Reading only the first 100 bytes with clear drops those
# 100 and the older ones, never the rest, which the next read still returns from byte 101.
. "$KXEN_SRC/tests/system/xl_common.sh"
X=$KXEN_BUILD/tests/kxen-xctool
[ -x "$X" ] || skip_all "$X not built"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
write_cfg "$d/hello.cfg" hello
xl create -q "$d/hello.cfg"
wait_for 20 bash -c "xl dmesg | grep -q '(d[0-9]*) .*waiting for control/shutdown'"
xl pause hello # nothing new reaches the ring while we compare
"$X" dmesg >"$d/before"
echo "# the hypervisor console holds $(wc -c <"$d/before") bytes"
check "the ring holds more than 150 bytes" test "$(wc -c <"$d/before")" -gt 150
"$X" dmesg-clear 100 >"$d/cleared"
check "a read with clear of 100 bytes returns the oldest 100" cmp -s "$d/cleared" <(head -c 100 "$d/before")
"$X" dmesg >"$d/after"
check "the bytes it did not return stay in the ring" cmp -s "$d/after" <(tail -c +101 "$d/before")
"$X" dmesg-clear 65536 >/dev/null
check "a read with clear of everything empties it" test "$("$X" dmesg | wc -c)" -eq 0
xl destroy hello
