#!/usr/bin/env bash
# Save, restore and migration of a guest with a disk and a vif (guests/savetest with `disk vif`),
# in a network namespace of the test's own: the guest writes a region of its disk and exchanges
# frames with an echoing nettest guest over the bridge kxbr0; it queues one more write just
# before each suspend. After xl save + xl restore, xl save -c and xl migrate (to a second run
# directory, as xl_migrate.sh) its blkfront and netfront reconnect by themselves to the backends
# the toolstack made for the new domain: the write in flight completes, every region reads back
# as written, a new one is written and read back, and frames go both ways again. The image file
# on the host holds what the guest wrote. Runs on KXEN_ACCEL (soft unless set);
# xl_save_devices_kvm.sh runs it again on kvm.
. "$KXEN_SRC/tests/system/net_common.sh"
guest=$KXEN_BUILD/tests/savetest.elf
[ -f "$guest" ] || skip_all "$guest not built"
two_hosts

cf=$KXEN_RUNDIR/cfg # not $d: lib.sh's check() has a local of that name
truncate -s 4M "$cf/disk.img"
printf 'name = "peer"\nkernel = "%s"\nmemory = 16\ncmdline = "pair b 300"\nvif = [ %s ]\n' \
  "$guests/nettest.elf" "'mac=00:16:3e:00:02:0b,bridge=kxbr0'" >"$cf/peer.cfg"
{ echo 'name = "sd"'; echo "kernel = \"$guest\""; echo 'memory = 16'; echo 'cmdline = "disk vif"'
  echo "disk = [ '$cf/disk.img,raw,xvda,rw' ]"
  echo "vif = [ 'mac=00:16:3e:00:02:0a,bridge=kxbr0' ]"; } >"$cf/sd.cfg"
# The echoing peer answers for 300 s: on a loaded host's kvm the disk checks of one phase can
# take a minute or more, and an exchange after a peer that stopped answering fails. A fresh one
# for each move keeps the test's length free.
peer() { xl destroy peer >/dev/null 2>&1; timeout 60 xl create -q "$cf/peer.cfg"; }
dm() { ${2:+at_dst} xl dmesg | grep "^(d$1) savetest: "; }
has() { dm "$1" "$3" | grep -qF -- "$2"; }
count() { dm "$1" "$3" | grep -cF -- "$2"; }
peer_runs() { xl domid peer >/dev/null 2>&1; } # the peer runs on the source host
no_failure() { ! dm "$1" "$2" | grep -q 'check FAILED'; }
# after_resume ID PHASE REGIONS [dst]: the checks a resumed guest prints, each named.
after_resume() {
  local id=$1 n=$2 r=$3 at=$4
  # The disk checks come first: on a loaded host's kvm they take a minute or more.
  wait_for 300 has "$id" "the vif exchanged frames with its peer, every echo byte for byte ($n)" "$at"
  check "  the write in flight across the suspend completed" \
    has "$id" "check ok - the write in flight across the suspend completed" "$at"
  check "  the disk is connected to the new backend" has "$id" "check ok - the disk is connected" "$at"
  check "  every region written before reads back as written ($((r - 1)))" \
    has "$id" "check ok - every region written so far reads back as written ($((r - 1)))" "$at"
  check "  a new region is written and read back ($r)" \
    has "$id" "check ok - a new region written and read back ($r)" "$at"
  check "  frames go both ways over the vif, byte for byte (exchange $n)" \
    has "$id" "check ok - the vif exchanged frames with its peer, every echo byte for byte ($n)" "$at"
  # The guest printed the exchange's result at its end: a peer still running now answered
  # through all of it, so a failed exchange above is the data path's, not a peer that quit.
  check "  the echoing peer still runs after the exchange (exchange $n)" peer_runs
  check "  no check failed" no_failure "$id" "$at"
}

check "the echoing peer starts on kxbr0" peer
check "xl create of the savetest guest with a disk and a vif" timeout 60 xl create -q "$cf/sd.cfg"
id=$(xl domid sd)
wait_for 60 has "$id" "ready"
check "the guest wrote its first region and read it back" \
  has "$id" "check ok - the disk's first region written and read back"
check "and exchanged frames with the peer over its vif" \
  has "$id" "check ok - the vif exchanged frames with its peer, every echo byte for byte (0)"

check "xl save of the guest" xl save sd "$cf/sd.img"
check "the guest suspended with a write queued" has "$id" "suspending at tick"
check "the peer restarts" peer
check "xl restore of the guest" xl restore "$cf/sd.img"
id2=$(xl domid sd)
wait_for 60 has "$id2" "resumed (rc=0)"
check "the restored guest resumed (suspend returned 0) in a new domain" \
  test -n "$id2" -a "$id2" != "$id"
after_resume "$id2" 1 3
fe=/local/domain/$id2/device
check "both frontends are Connected in the new domain" \
  test "$(xenstore-read "$fe/vbd/51712/state")$(xenstore-read "$fe/vif/0/state")" = 44

# The checkpoint is given a config whose vif names no MAC (as `xl save DOM FILE CFG` and
# `xl migrate -C CFG` of an HVM guest always are): the image's config gets the MAC the vif was
# built with, so a restore would not hand netfront a new random one.
sed 's/mac=00:16:3e:00:02:0a,//' "$cf/sd.cfg" >"$cf/sd-nomac.cfg"
check "xl save -c (a checkpoint) keeps the guest running" xl save -c sd "$cf/sd-c.img" "$cf/sd-nomac.cfg"
check "a config given without the vif's MAC is saved with the MAC the vif was built with" \
  sh -c "zcat '$cf/sd-c.img' 2>/dev/null | head -c 8192 | grep -aq '\"bridge=kxbr0,mac=00:16:3e:00:02:0a\"'"
wait_for 20 has "$id2" "resumed (rc=1)"
check "its suspend returned 1" has "$id2" "resumed (rc=1)"
after_resume "$id2" 2 5

check "the peer restarts" peer
check "xl migrate to the second host" xl migrate -s "$fakessh" sd "$dst"
id3=$(at_dst xl domid sd)
check "the guest runs at the destination" test -n "$id3"
wait_for 60 has "$id3" "resumed (rc=0)" dst
check "its suspend returned 0 there" has "$id3" "resumed (rc=0)" dst
after_resume "$id3" 3 7 dst
dm "$id3" dst | grep -o '([0-9]* requests replayed so far)' | tail -1 | sed 's/^/# in flight at the last suspend, then /'
check "the source has no guest sd left" sh -c "! xl domid sd 2>/dev/null"

# The image file on the host: region r holds words (r+1)*0x9e3779b1 ^ offset (devices.c).
region_ok() {
  python3 - "$cf/disk.img" "$1" <<'PY'
import struct, sys
r = int(sys.argv[2])
with open(sys.argv[1], 'rb') as f:
    f.seek(r * 65536)
    data = f.read(65536)
want = b''.join(struct.pack('<I', (((r + 1) * 0x9e3779b1) ^ i) & 0xffffffff) for i in range(0, 65536, 4))
sys.exit(data != want)
PY
}
regions_ok() { local r; for r in 0 1 2 3 4 5 6; do region_ok $r || return 1; done; }
check "the host's image file holds what the guest wrote, before and after each move (regions 0-6)" \
  regions_ok
at_dst xl destroy sd >/dev/null 2>&1
xl destroy peer >/dev/null 2>&1
exit 0
