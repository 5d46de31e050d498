#!/usr/bin/env bash
# GSO through the whole stack (xl, devd's netback, the guest netfront with feature-sg), inside
# a network and mount namespace of the test's own:
#   - a nettest guest sends 64 KiB TCP super-frames with a GSO extra (several slots each);
#     netback cuts them for its tap, the bridge carries the segments to a second guest, which
#     checks every segment's checksums and every byte, and acknowledges each whole frame;
#   - a guest's super-frames reach the host side of a veth pair on the bridge as segments that
#     a raw socket checks the same way (checksums, every byte, nothing missing).
# Skipped where a namespace cannot be made (net_common.sh).
. "$KXEN_SRC/tests/system/net_common.sh"
ip link add kxh type veth peer name kxh-br
ip link set kxh-br master kxbr0
ip link set kxh-br up
ip link set kxh up

net_cfg() { # FILE NAME CMDLINE MAC
  printf 'name = "%s"\nkernel = "%s"\nmemory = 16\ncmdline = "%s"\nvif = [ "mac=%s,bridge=kxbr0" ]\n' \
    "$2" "$guests/nettest.elf" "$3" "$4" >"$1"
}
dmesg_has() { xl dmesg 2>/dev/null | grep -q -- "$1"; }
frames=6

net_cfg "$d/b.cfg" gb "gso b" 00:16:3e:00:01:0b
net_cfg "$d/a.cfg" ga "gso a $frames" 00:16:3e:00:01:0a
check "xl create of the checking guest" timeout 60 xl create -q "$d/b.cfg"
idb=$(xl domid gb 2>/dev/null)
check "its netfront connects" wait_for 30 dmesg_has "(d$idb) nettest: connected"
check "the backend offers feature-gso-tcpv4" \
  test "$(xenstore-read "/local/domain/0/backend/vif/$idb/0/feature-gso-tcpv4" 2>/dev/null)" = 1
check "the frontend asked for feature-sg and GSO on RX" \
  test "$(xenstore-read "/local/domain/$idb/device/vif/0/feature-sg" 2>/dev/null)$(xenstore-read "/local/domain/$idb/device/vif/0/feature-gso-tcpv4" 2>/dev/null)" = 11
check "xl create of the sending guest" timeout 60 xl create -q "$d/a.cfg"
ida=$(xl domid ga 2>/dev/null)
check "both guests finish ($frames super-frames of 65000 bytes, every segment checked)" \
  wait_for 120 bash -c "xl dmesg | grep -q '(d$ida) RESULT' && xl dmesg | grep -q '(d$idb) RESULT'"
xl dmesg | grep -E "^\(d($ida|$idb)\) (not ok|ok|RESULT|nettest gso)" | sed 's/^/# /'
check "the sender's result is PASS (every super-frame acknowledged whole)" dmesg_has "(d$ida) RESULT PASS"
check "the checker's result is PASS (checksums and every byte)" dmesg_has "(d$idb) RESULT PASS"
xl destroy ga >/dev/null 2>&1
xl destroy gb >/dev/null 2>&1

# Guest -> host: a raw socket on the host end of the veth checks the segments.
sniff() {
  python3 - "$frames" >"$d/sniff.out" 2>&1 <<'PY'
import socket, struct, sys, time
frames = int(sys.argv[1])
payload = 65000 - 54
want = frames * payload
def fold(s):
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return s
def sum16(b):
    if len(b) % 2: b += b'\0'
    return sum(struct.unpack('!%dH' % (len(b) // 2), b))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(('kxh', 0))
s.settimeout(1.0)
print('ready', flush=True)
got = {}
bad = 0
end = time.time() + 100
while time.time() < end and sum(got.values()) < want:
    try:
        f = s.recv(65536)
    except socket.timeout:
        continue
    ip = f[14:]
    if len(ip) < 40 or ip[0] != 0x45 or ip[9] != 6 or struct.unpack('!H', ip[22:24])[0] != 5001:
        continue
    tot = struct.unpack('!H', ip[2:4])[0]
    seg = ip[:tot]
    tcp = seg[20:]
    seq = struct.unpack('!I', tcp[4:8])[0]
    off = seq - 1000
    data = tcp[20:]
    pseudo = sum16(seg[12:20]) + 6 + len(tcp)
    ok = fold(sum16(seg[:20])) == 0xffff and fold(pseudo + sum16(tcp)) == 0xffff
    ok = ok and len(data) <= 1448
    ok = ok and all(data[i] == ((off + i) * 131 + ((off + i) >> 11)) & 0xff for i in range(len(data)))
    if not ok:
        bad += 1
        continue
    got[off] = len(data)
total = sum(got.values())
print('# host: %d segments, %d of %d payload bytes, %d bad' % (len(got), total, want, bad))
sys.exit(0 if total == want and bad == 0 else 1)
PY
}
sniff &
spid=$!
wait_for 10 grep -q ready "$d/sniff.out"
net_cfg "$d/h.cfg" gh "gso host $frames" 00:16:3e:00:01:0c
check "xl create of the guest sending to the host" timeout 60 xl create -q "$d/h.cfg"
idh=$(xl domid gh 2>/dev/null)
check "it sends every super-frame" wait_for 120 dmesg_has "(d$idh) RESULT PASS"
wait "$spid"
rc=$?
sed -n 's/^# /# /p' "$d/sniff.out"
check "the host receives every segment whole: checksums right, every byte, none missing" test $rc -eq 0
xl destroy gh >/dev/null 2>&1 || true
