#!/usr/bin/env bash
# xl against limits and floods: a second domain with a running domain's uuid is refused with
# a reason; `xl dmesg` prints the whole hypervisor ring up to its newest line even when a
# guest wrote more than one read's worth, and `xl dmesg -c` leaves it empty of what it printed;
# a guest's console log stays within its bound (rotated once past it), and within Xen's
# console/limit when the domain's xenstore sets a smaller one.
. "$KXEN_SRC/tests/system/xl_common.sh"
# xenconsoled (started by xl below) bounds each console log to 16 KiB here.
export KXEN_CONSOLE_LOG_MAX=16384
[ -f "$guests/hcfuzz.elf" ] || skip_all "$guests/hcfuzz.elf not built"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
uuid=5c0ffee0-1234-4abc-8def-0123456789ab
write_cfg "$d/a.cfg" ua "uuid = \"$uuid\""
write_cfg "$d/b.cfg" ub "uuid = \"$uuid\""
xl create -q "$d/a.cfg"
rc=0
xl create -q "$d/b.cfg" 2>"$d/b.err" || rc=$?
sed 's/^/# /' "$d/b.err"
check "a second domain with a running domain's uuid is refused" test "$rc" -ne 0
check "saying why" grep -q "name or uuid" "$d/b.err"
check "no domain ub was left behind" bash -c "! xl domid ub >/dev/null 2>&1"
xl destroy ua

# A guest writing more than 64 KiB to the hypervisor console (every hypercall traced).
write_cfg "$d/loud.cfg" loud "kernel = \"$guests/hcfuzz.elf\"" 'memory = 32' \
  'extra = "seed=3 secs=2 trace=1"' 'on_poweroff = "preserve"'
xl create -q "$d/loud.cfg"
id=$(xl domid loud)
wait_for 60 sh -c "xl dmesg | grep -q 'domain $id shut down'"
xl dmesg >"$d/dmesg.out"
size=$(wc -c <"$d/dmesg.out")
echo "# xl dmesg printed $size bytes; last line: $(tail -1 "$d/dmesg.out")"
check "xl dmesg prints more than one 32 KiB read" test "$size" -gt 40000
check "xl dmesg ends with the newest line (domain $id shut down)" \
  grep -q "domain $id shut down" <(tail -2 "$d/dmesg.out")
xl dmesg -c >/dev/null
check "after xl dmesg -c, nothing it printed is shown again" \
  bash -c "! xl dmesg | grep -q 'domain $id shut down'"
log=$KXEN_RUNDIR/console/guest-loud.log
wait_for 10 test -e "$log.1"
echo "# console log: $(wc -c <"$log") bytes, previous: $(wc -c <"$log.1" 2>/dev/null) bytes"
check "a guest's console log past its bound is rotated (guest-loud.log.1)" test -s "$log.1"
check "and neither file is much larger than the bound" \
  test "$(wc -c <"$log")" -le $((16384 + 4096)) -a "$(wc -c <"$log.1")" -le $((16384 + 4096))
xl destroy loud 2>/dev/null

# Xen's console/limit (bytes), written while the domain is paused: xenconsoled rotates that
# domain's log at it instead of at its own bound.
write_cfg "$d/lim.cfg" lim "kernel = \"$guests/hcfuzz.elf\"" 'memory = 32' \
  'extra = "seed=4 secs=2 trace=1"' 'on_poweroff = "preserve"'
xl create -q -p "$d/lim.cfg"
id=$(xl domid lim)
xenstore-write "/local/domain/$id/console/limit" 4096
sleep 1.5 # xenconsoled's rescan reads it
xl unpause lim
wait_for 60 sh -c "xl dmesg | grep -q 'domain $id shut down'"
log=$KXEN_RUNDIR/console/guest-lim.log
wait_for 10 test -e "$log.1"
echo "# console/limit 4096: log $(wc -c <"$log") bytes, previous: $(wc -c <"$log.1" 2>/dev/null) bytes"
check "console/limit: the log is rotated at the domain's limit" test -s "$log.1"
check "and neither file is much larger than 4096 bytes" \
  test "$(wc -c <"$log")" -le $((4096 + 2048)) -a "$(wc -c <"$log.1")" -le $((4096 + 2048))
xl destroy lim 2>/dev/null
