#!/usr/bin/env bash
# netback's writes into guest memory during a live migration reach the destination: the
# savetest guest (`vif rxlog`) keeps numbered, checksummed frames going to an echoer (a raw
# socket on the host end of a veth on the bridge, in the test's own network namespace), so
# kxen-devd's netback grant-copies echoes into netfront's receive buffers and updates the RX
# and TX rings without pause while xl migrate moves the guest to a second run directory (as
# xl_migrate.sh). On the destination, before its vif reconnects, the guest checks that every
# receive buffer holds the frame it last read from it and that no ring's response producer
# went back; then frames go both ways again over the destination's backend. Runs on
# KXEN_ACCEL (soft unless set); xl_migrate_kvm_net.sh runs it again on kvm.
. "$KXEN_SRC/tests/system/net_common.sh"
guest=$KXEN_BUILD/tests/savetest.elf
[ -f "$guest" ] || skip_all "$guest not built"
# Both hosts name a vif's tap vif<domid>.0 in the one namespace: the destination's ids start
# after 100.
echo_pid=
two_hosts --first-domid 100 --on-exit 'kill $echo_pid 2>/dev/null'
# Nothing but the echoes may land in the guest's receive buffers around the suspend: no IPv6
# chatter (router solicitations, MLD) from the bridge, the veth or the taps.
for k in all default kxbr0; do sysctl -qw "net.ipv6.conf.$k.disable_ipv6=1" 2>/dev/null; done
ip link add kxh type veth peer name kxh-br
ip link set kxh-br master kxbr0
ip link set kxh-br up
ip link set kxh up
# The echoer: every test frame ('P', ethertype 0x88b5) goes back to its sender as 'E', as
# nettest's `pair b` does, for as long as the test runs.
python3 - >"$src/echo.out" 2>&1 <<'PY' &
import socket, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88b5))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind(('kxh', 0))
me = s.getsockname()[4]
s.settimeout(1.0)
n, end = 0, time.time() + 300
while time.time() < end:
    try:
        f = s.recv(4096)
    except socket.timeout:
        continue
    if len(f) < 19 or f[18:19] != b'P' or f[6:12] == me:
        continue
    s.send(f[6:12] + me + f[12:18] + b'E' + f[19:])
    n += 1
    if n % 1000 == 0:
        print(n, flush=True)
PY
echo_pid=$!

{ echo 'name = "rx"'; echo "kernel = \"$guest\""; echo 'memory = 16'; echo 'cmdline = "vif rxlog"'
  echo "vif = [ 'mac=00:16:3e:00:03:0a,bridge=kxbr0' ]"; } >"$src/rx.cfg"
dm() { ${2:+at_dst} xl dmesg | grep "^(d$1) savetest: "; }
has() { dm "$1" "$3" | grep -qF -- "$2"; }
frames() { dm "$1" | sed -n 's/.*savetest: rxlog \([0-9]*\) frames$/\1/p' | tail -1; }
no_failure() { ! dm "$1" dst | grep -q 'check FAILED'; }
frames_past() { local n; n=$(frames "$1"); [ "${n:-0}" -ge "$2" ]; }

check "the guest with a vif starts on kxbr0" timeout 60 xl create -q "$src/rx.cfg"
id=$(xl domid rx)
wait_for 60 has "$id" "the vif exchanged frames with its peer, every echo byte for byte (0)"
check "it exchanges frames with the echoer" \
  has "$id" "check ok - the vif exchanged frames with its peer, every echo byte for byte (0)"
wait_for 30 frames_past "$id" 100
before=$(frames "$id")
check "netback keeps copying echoes into its receive buffers (${before:-0} frames)" \
  frames_past "$id" 100
check "xl migrate moves it while netback writes its receive buffers and rings" \
  sh -c "xl migrate -s '$fakessh' rx '$dst' 2>'$src/out'"
sed 's/^/# /' "$src/out"
did=$(at_dst xl domid rx 2>/dev/null)
check "it runs at the destination" test -n "$did"
[ -n "$did" ] || exit 0
wait_for 60 has "$did" "the vif exchanged frames with its peer" dst
dm "$id" | grep "rxlog quiet" | sed 's/^/# /'
dm "$did" dst | grep "check" | sed 's/^/# /'
copies=$(dm "$did" dst | sed -n "s/.*receive buffers arrived: .*(.* later; \([0-9]*\) frames.*/\1/p")
check "netback copied echoes during the migration ($((${copies:-0} - ${before:-0})) after the last count before it)" \
  test "${copies:-0}" -gt "${before:-0}"
check "every receive buffer holds the frame the guest last read from it there" \
  has "$did" "check ok - the backend's copies into the receive buffers arrived" dst
check "no ring's response producer is behind what the guest consumed" \
  has "$did" "check ok - the backend's ring updates arrived" dst
check "frames go both ways over the destination's backend, byte for byte" \
  has "$did" "check ok - the vif exchanged frames with its peer, every echo byte for byte (1)" dst
check "no check failed at the destination" no_failure "$did"
check "the source has no guest rx left" sh -c "! xl domid rx 2>/dev/null"
at_dst xl destroy rx >/dev/null 2>&1
exit 0
