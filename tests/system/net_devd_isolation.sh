#!/usr/bin/env bash
# Guests of one backend domain share a switch under devd's one-worker-per-guest model: each
# vif is a tap that netback opens in its guest's worker and the vif script puts on the Linux
# bridge the vif names, so the kernel bridge is the learning switch between the guests and
# no worker holds any of it. Three nettest guests on the test's bridge kxbr0: A and B exchange
# numbered frames (every byte checked) while guest C's worker is killed; A and B still pass,
# C's worker is restarted and its new tap is back on the bridge (the adopted vif had its
# script run already, so netback enslaves the tap itself) and answers a ping from the host.
# A vif with an empty `bridge` (here with a script of the test's own, as xl checks the bridge
# of the default script) is not left on a switch of its one worker: netback puts its tap on
# kxsw0, a bridge every worker shares, so two such guests still exchange frames.
# In a network namespace of the test's own (net_common.sh).
. "$KXEN_SRC/tests/system/net_common.sh"

net_cfg() { # FILE NAME CMDLINE VIF
  printf 'name = "%s"\nkernel = "%s"\nmemory = 16\ncmdline = "%s"\nvif = [ %s ]\n' \
    "$2" "$guests/nettest.elf" "$3" "$4" >"$1"
}
dmesg_has() { xl dmesg 2>/dev/null | grep -q -- "$1"; }
worker() { cat "$KXEN_RUNDIR/devd-d$1.pid" 2>/dev/null; }

ip link add kxh type veth peer name kxh-br
ip link set kxh-br master kxbr0
ip link set kxh-br up
ip addr add 10.99.0.1/24 dev kxh
ip link set kxh up

net_cfg "$d/b.cfg" nb "pair b" "'mac=00:16:3e:00:01:0b,bridge=kxbr0'"
net_cfg "$d/c.cfg" nc "ping 10.99.0.3 90" "'mac=00:16:3e:00:01:0c,bridge=kxbr0'"
net_cfg "$d/a.cfg" na "pair a 2000" "'mac=00:16:3e:00:01:0a,bridge=kxbr0'"
check "xl create of the echoing guest B and the third guest C" \
  sh -c "timeout 60 xl create -q '$d/b.cfg' && timeout 60 xl create -q '$d/c.cfg'"
idb=$(xl domid nb 2>/dev/null) idc=$(xl domid nc 2>/dev/null)
check "C connects" wait_for 30 dmesg_has "(d$idc) nettest ping: answering"
wb=$(worker "$idb") wc=$(worker "$idc")
check "B and C have workers of their own ($wb, $wc)" test -n "$wb" -a -n "$wc" -a "$wb" != "$wc"
check "xl create of the sending guest A" timeout 60 xl create -q "$d/a.cfg"
ida=$(xl domid na 2>/dev/null)
check "A connects" wait_for 30 dmesg_has "(d$ida) nettest: connected"
kill -KILL "$wc"
check "C's worker killed" wait_for 5 sh -c "! kill -0 $wc 2>/dev/null"
check "while A and B still exchange frames" sh -c "! xl dmesg | grep -q '(d$ida) RESULT'"
check "B's worker was left alone" test "$(worker "$idb")" = "$wb"
check "both A and B finish" \
  wait_for 120 bash -c "xl dmesg | grep -q '(d$ida) RESULT' && xl dmesg | grep -q '(d$idb) RESULT'"
xl dmesg | grep -E "^\(d($ida|$idb)\) (not ok|ok|RESULT|nettest a: [0-9]+ round)" | sed 's/^/# /'
check "A's result is PASS (2000 frames echoed, every byte checked)" dmesg_has "(d$ida) RESULT PASS"
check "B's result is PASS" dmesg_has "(d$idb) RESULT PASS"
check "the supervisor restarted C's worker" \
  wait_for 10 sh -c "p=\$(cat '$KXEN_RUNDIR/devd-d$idc.pid' 2>/dev/null) && [ -n \"\$p\" ] && [ \"\$p\" != $wc ]"
check "and its new tap is on the bridge again" wait_for 10 test -e "/sys/class/net/kxbr0/brif/vif$idc.0"
ping_c() {
  python3 - <<'PY2'
import socket, struct, time, sys
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(1.0)
payload = bytes(range(56))
for seq in range(1, 11):
    hdr = struct.pack('!BBHHH', 8, 0, 0, 0x4b59, seq)
    s.sendto(struct.pack('!BBHHH', 8, 0, csum(hdr + payload), 0x4b59, seq) + payload,
             ('10.99.0.3', 0))
    end = time.time() + 1
    while time.time() < end:
        try:
            data, addr = s.recvfrom(2048)
        except socket.timeout:
            break
        ihl = (data[0] & 0xf) * 4
        t, _, _, ident, sq = struct.unpack('!BBHHH', data[ihl:ihl + 8])
        if addr[0] == '10.99.0.3' and t == 0 and ident == 0x4b59 and data[ihl + 8:] == payload:
            sys.exit(0)
sys.exit(1)
PY2
}
check "the host pings C through the bridge (its netfront reconnected to the new worker)" ping_c
xl destroy na >/dev/null 2>&1 || true
xl destroy nb >/dev/null 2>&1 || true
xl destroy nc >/dev/null 2>&1 || true

cat >"$d/vif-ok" <<'SH'
#!/bin/sh
[ "$1" = add ] && xenstore-write "$XENBUS_PATH/hotplug-status" connected
exit 0
SH
chmod +x "$d/vif-ok"
net_cfg "$d/e.cfg" ne "pair b" "'mac=00:16:3e:00:01:0e,bridge=,script=$d/vif-ok'"
net_cfg "$d/f.cfg" nf "pair a 1000" "'mac=00:16:3e:00:01:0f,bridge=,script=$d/vif-ok'"
check "two guests whose vifs name no bridge" \
  sh -c "timeout 60 xl create -q '$d/e.cfg' && timeout 60 xl create -q '$d/f.cfg'"
ide=$(xl domid ne 2>/dev/null) idf=$(xl domid nf 2>/dev/null)
check "their taps are on the shared bridge kxsw0, made by a worker" \
  wait_for 10 test -e "/sys/class/net/kxsw0/brif/vif$ide.0" -a -e "/sys/class/net/kxsw0/brif/vif$idf.0"
check "and the two workers differ" test "$(worker "$ide")" != "$(worker "$idf")"
check "both finish" \
  wait_for 60 bash -c "xl dmesg | grep -q '(d$ide) RESULT' && xl dmesg | grep -q '(d$idf) RESULT'"
check "the sender's result is PASS" dmesg_has "(d$idf) RESULT PASS"
check "the echoer's result is PASS" dmesg_has "(d$ide) RESULT PASS"
xl destroy ne >/dev/null 2>&1 || true
xl destroy nf >/dev/null 2>&1 || true
