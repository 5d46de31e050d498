#!/usr/bin/env bash
# Guests on the network, the whole stack (xl, devd's netback, the guest netfront), inside a
# network and mount namespace of the test's own (nothing on the host's network is touched):
#   - vif = ['mac=...,bridge=kxbr0']: netback makes each guest's tap, the default vif script
#     puts it on the bridge the test made, and two nettest guests exchange numbered frames
#     through it, every byte checked both ways;
#   - a guest answers ARP and ICMP echo from the test's side of a veth pair on that bridge
#     (10.99.0.1 -> 10.99.0.2);
#   - a vif naming a bridge that does not exist is refused with a clear error.
# Skipped where a namespace cannot be made (net_common.sh).
. "$KXEN_SRC/tests/system/net_common.sh"

net_cfg() { # FILE NAME CMDLINE VIF
  printf 'name = "%s"\nkernel = "%s"\nmemory = 16\ncmdline = "%s"\nvif = [ %s ]\n' \
    "$2" "$guests/nettest.elf" "$3" "$4" >"$1"
}
dmesg_has() { xl dmesg 2>/dev/null | grep -q -- "$1"; }

net_cfg "$d/b.cfg" nb "pair b" "'mac=00:16:3e:00:00:0b,bridge=kxbr0'"
net_cfg "$d/a.cfg" na "pair a 60" "'mac=00:16:3e:00:00:0a,bridge=kxbr0'"
check "xl create of the echoing guest (vif with mac= and bridge=)" timeout 60 xl create -q "$d/b.cfg"
idb=$(xl domid nb 2>/dev/null)
check "its backend has the MAC given by mac=" \
  test "$(xenstore-read "/local/domain/0/backend/vif/$idb/0/mac" 2>/dev/null)" = 00:16:3e:00:00:0b
check "netback made its tap vif$idb.0 and the vif script put it on kxbr0" \
  wait_for 10 test -e "/sys/class/net/kxbr0/brif/vif$idb.0"
check "the guest's netfront connects and reads its MAC" \
  wait_for 30 dmesg_has "(d$idb) nettest: connected as 00:16:3e:00:00:0b"
check "xl create of the sending guest" timeout 60 xl create -q "$d/a.cfg"
ida=$(xl domid na 2>/dev/null)
check "both guests pass every check (60 frames each way, every byte checked)" \
  wait_for 90 bash -c "xl dmesg | grep -q '(d$ida) RESULT' && xl dmesg | grep -q '(d$idb) RESULT'"
xl dmesg | grep -E "^\(d($ida|$idb)\) (not ok|ok|RESULT)" | sed 's/^/# /'
check "the sender's result is PASS" dmesg_has "(d$ida) RESULT PASS"
check "the echoer's result is PASS" dmesg_has "(d$idb) RESULT PASS"

# Ping from the test's side of a veth pair on the bridge.
ip link add kxh type veth peer name kxh-br
ip link set kxh-br master kxbr0
ip link set kxh-br up
ip addr add 10.99.0.1/24 dev kxh
ip link set kxh up
net_cfg "$d/p.cfg" np "ping 10.99.0.2 40" "'mac=00:16:3e:00:00:0c,bridge=kxbr0'"
check "xl create of the answering guest" timeout 60 xl create -q "$d/p.cfg"
idp=$(xl domid np 2>/dev/null)
check "it connects" wait_for 30 dmesg_has "(d$idp) nettest ping: answering"
ping_guest() {
  python3 - <<'PY'
import socket, struct, time, sys
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(1.0)
got = 0
for seq in range(1, 6):
    payload = bytes(range(56))
    hdr = struct.pack('!BBHHH', 8, 0, 0, 0x4b58, seq)
    pkt = struct.pack('!BBHHH', 8, 0, csum(hdr + payload), 0x4b58, seq) + payload
    s.sendto(pkt, ('10.99.0.2', 0))
    end = time.time() + 2
    while time.time() < end:
        try:
            data, addr = s.recvfrom(2048)
        except socket.timeout:
            break
        ihl = (data[0] & 0xf) * 4
        t, _, _, ident, sq = struct.unpack('!BBHHH', data[ihl:ihl + 8])
        if addr[0] == '10.99.0.2' and t == 0 and ident == 0x4b58 and sq == seq \
           and data[ihl + 8:] == payload:
            got += 1
            break
print('# ping: %d of 5 echo replies, payloads checked' % got)
sys.exit(0 if got >= 3 else 1)
PY
}
check "the host side pings the guest through the bridge (ARP, then ICMP echo)" ping_guest
check "the guest answered them" dmesg_has "(d$idp) nettest ping: echo reply"
xl destroy np >/dev/null 2>&1
check "destroying the guest removes its tap" wait_for 10 test ! -e "/sys/class/net/vif$idp.0"

# A bridge that does not exist.
net_cfg "$d/x.cfg" nx "pair b" "'bridge=kxbr-missing'"
err=$(timeout 60 xl create -q "$d/x.cfg" 2>&1)
check "a vif on a missing bridge is refused" test $? -ne 0
check "and the error names the bridge" grep -q "bridge kxbr-missing does not exist" <<<"$err"
xl destroy na >/dev/null 2>&1 || true
xl destroy nb >/dev/null 2>&1 || true
