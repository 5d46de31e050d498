#!/usr/bin/env bash
# xl save / xl restore of a running savetest guest (guests/savetest): the guest suspends
# itself through Xen's protocol and goes on counting after the restore (its suspend call
# returning 0), or after a checkpoint (-c, returning 1); a guest without suspend support is
# paused by the toolstack instead. Every image is gzip, passes Xen's verify-stream-v2 after
# zcat, restores uncompressed too, and a corrupt, truncated, wrong-version or misfitting
# image is refused with a message naming what is wrong, leaving no domain or xenstore nodes.
# Runs on KXEN_ACCEL (soft unless set); xl_save_kvm.sh runs it again on kvm.
. "$KXEN_SRC/tests/system/xl_common.sh"
guest=$KXEN_BUILD/tests/savetest.elf
[ -f "$guest" ] || skip_all "$guest not built"
cf=$KXEN_RUNDIR/cfg
mkdir -p "$cf"
cfg() { { echo "name = \"$1\""; echo "kernel = \"$guest\""; echo "memory = 16"
          [ -n "$2" ] && echo "cmdline = \"$2\""; } >"$cf/$1.cfg"; }
# last_tick ID: the highest tick the guest with that id printed on the hypervisor console.
last_tick() { xl dmesg | sed -n "s/^(d$1) savetest: tick \([0-9]*\)\$/\1/p" | tail -1; }
has_line() { xl dmesg | grep -q "^(d$1) savetest: $2"; }
ticks_past() { local t; t=$(last_tick "$1"); [ -n "$t" ] && [ "$t" -gt "$2" ]; }
nr_domains() { xl list | tail -n +2 | wc -l; }
verify=/usr/lib/xen-4.17/bin/verify-stream-v2
verify_image() {
  zcat "$1" >"$1.raw" || return 1
  PYTHONPATH=/usr/lib/xen-4.17/lib/python "$verify" -q -f xl -i "$1.raw"
}

cfg st1
check "xl create starts the savetest guest" xl create -q "$cf/st1.cfg"
id=$(xl domid st1)
wait_for 20 has_line "$id" "tick 3"
check "the guest counts ticks" has_line "$id" "tick 3"
check "xl save writes the image and takes the domain away" xl save st1 "$cf/st1.img"
check "the domain is gone after the save" sh -c "! xl domid st1 2>/dev/null"
check "the guest suspended itself (control/shutdown = suspend)" has_line "$id" "suspending at tick"
saved=$(xl dmesg | sed -n "s/^(d$id) savetest: suspending at tick \([0-9]*\)\$/\1/p")
check "no temporary file is left beside the image" \
  sh -c "! ls '$cf' | grep -q 'st1.img.tmp'"
check "the image is gzip (gzip -t)" gzip -t "$cf/st1.img"
if foreign "$verify"; then
  check "Xen's verify-stream-v2 accepts the stream after zcat" verify_image "$cf/st1.img"
else
  skip "Xen's verify-stream-v2 accepts the stream after zcat" "xen-utils-4.17 not installed"
fi

check "xl restore brings the domain back" xl restore "$cf/st1.img"
id2=$(xl domid st1)
check "the restored domain has a new id" test -n "$id2" -a "$id2" != "$id"
wait_for 20 has_line "$id2" "resumed (rc=0)"
check "the guest's suspend call returned 0 (resumed in a new domain)" has_line "$id2" "resumed (rc=0) at tick $saved"
wait_for 20 ticks_past "$id2" "$((saved + 2))"
check "the counter goes on from where it stopped ($saved)" ticks_past "$id2" "$((saved + 2))"
check "xenstore knows the restored domain" test "$(xenstore-read "/local/domain/$id2/name")" = st1

check "xl save -c keeps the domain running" xl save -c st1 "$cf/st1-c.img"
check "the domain is still there after the checkpoint" test "$(xl domid st1)" = "$id2"
wait_for 20 has_line "$id2" "resumed (rc=1)"
check "the guest's suspend call returned 1 (checkpoint)" has_line "$id2" "resumed (rc=1)"
t=$(last_tick "$id2")
wait_for 20 ticks_past "$id2" "$((t + 2))"
check "the guest keeps counting after the checkpoint" ticks_past "$id2" "$((t + 2))"
check "xl save -p leaves the domain paused" xl save -p st1 "$cf/st1-p.img"
check "xl list shows it paused" sh -c "xl list | awk '\$1 == \"st1\" { print \$5 }' | grep -q p"
xl destroy st1

# Progress on stderr: a line at most once a second and the one at 100 % (with the rate and
# the ETA), the summary line unchanged; with -t (Xen's "progress with CR") one line rewritten
# in place. No timing is asserted: a quick save prints its final line only.
cfg big256
sed -i 's/memory = 16/memory = 256/' "$cf/big256.cfg"
xl create -q "$cf/big256.cfg"
id=$(xl domid big256)
wait_for 20 has_line "$id" "tick 2"
progress_ok() { # progress_ok WHO FILE: ends at 100 % of the guest's pages, a rate and an ETA
  tail -1 "$2.p" | grep -q "^$1: 65536/65536 pages (100%) in [0-9.]* s, [0-9]* MB/s ([0-9]* pages/s), ETA 0.0 s\$"
}
progress_lines() { grep "^$1: " "$2" >"$2.p"; }
check "xl save of a 256 MiB guest" sh -c "xl save -c big256 '$cf/big.img' 2>'$cf/save.err'"
sed 's/^/# /' "$cf/save.err"
progress_lines "xl save" "$cf/save.err"
check "xl save's progress on stderr ends at 100 % with a rate and an ETA" progress_ok "xl save" "$cf/save.err"
check "each progress line counts pages of the guest's 65536" \
  sh -c "! grep -v '^xl save: [0-9]*/65536 pages ([0-9]*%) in .* MB/s .* ETA ' '$cf/save.err.p'"
check "the summary line is still there, after the progress" \
  sh -c "tail -1 '$cf/save.err' | grep -q '^Saved domain $id: 65536 pages ([0-9]* zero, sent without data)'"
check "xl -t save rewrites one progress line in place (CR) and ends it" \
  sh -c "xl -t save -c big256 '$cf/big-t.img' 2>'$cf/save-t.err' && grep -c \"\$(printf '\r')xl save: .*(100%)\" '$cf/save-t.err' | grep -qx 1 && ! grep -q '^xl save: ' '$cf/save-t.err'"
xl destroy big256
check "xl restore of it" sh -c "xl restore -e '$cf/big.img' 2>'$cf/restore.err'"
sed 's/^/# /' "$cf/restore.err"
progress_lines "xl restore" "$cf/restore.err"
check "xl restore's progress on stderr ends at 100 % with a rate and an ETA" progress_ok "xl restore" "$cf/restore.err"
xl destroy big256

# A guest that does not suspend itself is paused by the toolstack.
cfg st2 nosuspend
xl create -q "$cf/st2.cfg"
id=$(xl domid st2)
wait_for 20 has_line "$id" "tick 3"
check "xl save pauses a guest without suspend support" xl save st2 "$cf/st2.img"
t=$(last_tick "$id")
zcat "$cf/st2.img" >"$cf/st2.raw"
check "xl restore reads an uncompressed image" xl restore "$cf/st2.raw"
id2=$(xl domid st2)
wait_for 20 ticks_past "$id2" "$((t + 2))"
check "the paused guest goes on counting from tick $t" ticks_past "$id2" "$((t + 2))"
xl destroy st2

# Refusals: nothing may be left behind.
before=$(nr_domains)
refused() { # refused PATTERN xl restore ARGS...: fails, says PATTERN, leaves nothing
  local pat=$1; shift
  ! "$@" >"$cf/out" 2>&1 && grep -q -- "$pat" "$cf/out" && [ "$(nr_domains)" = "$before" ] &&
    ! guest_nodes_left | grep -q .
}
size=$(stat -c %s "$cf/st1.img")
head -c $((size / 2)) "$cf/st1.img" >"$cf/trunc.img"
check "a truncated image is refused as truncated, nothing left" refused truncated xl restore "$cf/trunc.img"
cp "$cf/st1.img" "$cf/corrupt.img"
printf '\x55\xaa\x55\xaa' | dd of="$cf/corrupt.img" bs=1 seek=$((size / 2)) conv=notrunc status=none
check "a corrupt image is refused as corrupt, nothing left" refused corrupt xl restore "$cf/corrupt.img"
zcat "$cf/st1.img" >"$cf/st1.raw"
cp "$cf/st1.raw" "$cf/version.raw"
# the libxc version (big-endian u32) sits 12 bytes into the libxc header, which follows the
# xl header, its config, the libxl header, kxen's prologue and the LIBXC_CONTEXT record
off=$(grep -obUaP 'XENF' "$cf/version.raw" | head -1 | cut -d: -f1)
printf '\x00\x00\x00\x09' | dd of="$cf/version.raw" bs=1 seek=$((off + 4)) conv=notrunc status=none
check "a wrong stream version is refused naming it, nothing left" refused "libxc stream version 9" xl restore "$cf/version.raw"
# The first PAGE_DATA pfn (56 bytes after the libxc id: the rest of its image and domain
# headers, STATIC_DATA_END, the record header and the batch header) moved 4 GiB up: the pages
# go straight into the new domain's memory, so one beyond it must be refused, not written.
cp "$cf/st1.raw" "$cf/pfn.raw"
off=$(grep -obUaP 'XENF' "$cf/pfn.raw" | head -1 | cut -d: -f1)
printf '\x10' | dd of="$cf/pfn.raw" bs=1 seek=$((off + 58)) conv=notrunc status=none
check "a page beyond the domain's RAM is refused naming it, nothing left" refused "lies beyond the domain" xl restore "$cf/pfn.raw"
# kvm: the KVM_VCPU record (type 5) claims more MSRs than it holds; kxend refuses it before
# the vCPU takes any of it. soft writes no such record.
if [ "${KXEN_ACCEL:-soft}" = kvm ]; then
  python3 - "$cf/st1.raw" "$cf/kvmrec.raw" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
off = d.find(b'KXSV') + 584  # the kxen state header is 584 bytes
while struct.unpack_from('<I', d, off)[0] != 5:
    off += 16 + ((struct.unpack_from('<I', d, off + 8)[0] + 7) & ~7)
struct.pack_into('<I', d, off + 16 + 8, 200)  # nr_msrs
open(sys.argv[2], 'wb').write(d)
PY
  check "kvm: a vCPU record whose MSR count overruns it is refused, nothing left" \
    refused "cpu-state state refused" xl restore "$cf/kvmrec.raw"
else
  skip "kvm: a vCPU record whose MSR count overruns it is refused" "soft writes no KVM_VCPU record"
fi
head -c 4096 /dev/urandom >"$cf/random.img"
check "a file that is no image is refused" refused "not a saved domain image" xl restore "$cf/random.img"
cfg big
sed -i 's/memory = 16/memory = 32/' "$cf/big.cfg"
check "a config that does not fit the image is refused naming memory" refused "memory = 32 MiB" xl restore "$cf/st1.img" "$cf/big.cfg"
check "xl save to a missing directory fails" sh -c "! xl save st9 /nonexistent/x.img 2>/dev/null"
cfg st3
xl create -q "$cf/st3.cfg"
check "a failed save leaves the domain running" sh -c "! xl save st3 /nonexistent/dir/x.img 2>/dev/null && xl domid st3 >/dev/null"
check "a config argument that is a directory is refused by name; the domain keeps running" \
  sh -c "! xl save st3 '$cf/st3-dir.img' '$cf' 2>'$cf/dircfg.err' && grep -q 'not a regular file' '$cf/dircfg.err' && xl domid st3 >/dev/null && [ ! -e '$cf/st3-dir.img' ]"
xl destroy st3

# xl save -c: the domain's monitor (started by xl create) follows it through the checkpoint
# and still carries out on_poweroff (destroy) afterwards.
cfg st4
xl create -q "$cf/st4.cfg"
id=$(xl domid st4)
wait_for 20 has_line "$id" "tick 2"
check "xl save -c of a monitored domain" xl save -c st4 "$cf/st4.img"
wait_for 20 has_line "$id" "resumed (rc=1)"
xenstore-write "/local/domain/$id/control/shutdown" poweroff
gone() { ! xl domid st4 >/dev/null 2>&1; }
wait_for 20 gone
check "after the checkpoint the monitor still applies on_poweroff (the domain is destroyed)" gone

# The balloon travels with the image: a guest that gave memory back is restored holding what
# it held, its given-back pages absent (xl list), not its full RAM.
write_cfg "$cf/bal.cfg" bal 'memory = 32'
xl create -q "$cf/bal.cfg"
wait_for 20 console_has bal "waiting for control/shutdown"
xl mem-set bal 12m
wait_for 10 console_has bal "balloon: 12288 KiB"
memof() { xl list "$1" 2>/dev/null | awk -v n="$1" '$1 == n { print $3 }'; }
check "a ballooned-down guest (12 of 32 MiB) is saved" xl save bal "$cf/bal.img"
check "... and restored" xl restore "$cf/bal.img"
check "... holding 12 MiB, as before the save (xl list: $(memof bal))" test "$(memof bal)" = 12
xl destroy bal
# kxend checks the balloon record of a hostile stream: a run starting past 2^56 is refused.
# The record (type 16, instance 0) is the last such header: kxend's state ends the stream.
zcat "$cf/bal.img" >"$cf/bal.raw"
off=$(grep -obUaP '\x10\x00\x00\x00\x00\x00\x00\x00[\x10-\xf0]\x00\x00\x00\x00\x00\x00\x00' "$cf/bal.raw" | tail -1 | cut -d: -f1)
printf '\x01' | dd of="$cf/bal.raw" bs=1 seek=$((off + 23)) conv=notrunc status=none
check "a balloon run outside the guest's RAM is refused by kxend, nothing left" \
  refused "balloon-state state refused" xl restore "$cf/bal.raw"

