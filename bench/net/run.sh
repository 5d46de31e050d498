#!/usr/bin/env bash
# Network figures through netback, in a network namespace of the bench's own: full-size frame
# throughput guest -> guest and guest -> host, and round trips guest <-> guest and
# guest <-> host (one frame in flight), on the soft accelerator. Reference from the same run:
# the same host-side tool (pkt.py) over a host veth pair, both ends in the namespace.
#   bench/net/run.sh      (KXEN_BUILD = release build dir, set by bench/run-benches.sh)
set -u
if [ -z "${KXEN_NET_NS:-}" ]; then
  unshare --net --mount --propagation private true 2>/dev/null ||
    { echo "bench/net: cannot make a network namespace here (skipped)"; exit 0; }
  KXEN_NET_NS=1 exec unshare --net --mount --propagation private "$0" "$@"
fi
mount -t sysfs sysfs /sys 2>/dev/null
build=${KXEN_BUILD:-build}
bin=$build/bin
export PATH=$bin:$PATH
here=$(cd "$(dirname "$0")" && pwd)
for p in xl kxend xenstored xenconsoled kxen-services kxen-devd; do
  [ -x "$bin/$p" ] || { echo "bench/net: $bin/$p missing (make first)"; exit 1; }
done
frames=${NET_BENCH_FRAMES:-5000}
trips=${NET_BENCH_TRIPS:-300}
rundir=$(mktemp -d /tmp/kxen-bench-net-XXXXXX)
export KXEN_RUNDIR=$rundir XENSTORED_RUNDIR=$rundir KXEN_ACCEL=${KXEN_ACCEL:-soft}
trap 'kxen-services stop >/dev/null 2>&1; rm -rf "$rundir"' EXIT
ip link set lo up
ip link add kxbr0 type bridge && ip link set kxbr0 up
ip link add kxh type veth peer name kxh-br
ip link set kxh-br master kxbr0 && ip link set kxh-br up && ip link set kxh up
ip link add ref-a type veth peer name ref-b
ip link set ref-a up && ip link set ref-b up
sleep 0.5
guest() { # NAME CMDLINE MAC
  printf 'name = "%s"\nkernel = "%s"\nmemory = 16\ncmdline = "%s"\nvif = [ "mac=%s,bridge=kxbr0" ]\n' \
    "$1" "$(cd "$build" && pwd)/guests/nettest.elf" "$2" "$3" >"$rundir/$1.cfg"
  xl create -q "$rundir/$1.cfg"
}
# dmesg_wait NAME PATTERN: the line of NAME's domain matching PATTERN (up to 120 s).
dmesg_wait() {
  local id; id=$(xl domid "$1" 2>/dev/null) || return 1
  for ((i = 0; i < 1200; i++)); do
    xl dmesg | grep -m1 "^(d$id) $2" && return 0
    sleep 0.1
  done
  return 1
}
connected() { dmesg_wait "$1" "nettest: connected" >/dev/null; }
rate() { # FRAMES BYTES US -> "frames/s MB/s"
  awk -v f="$1" -v b="$2" -v u="$3" 'BEGIN { if (u <= 0) u = 1; printf "%9.0f frames/s %7.1f MB/s", f * 1e6 / u, b / u }'
}

kxen-services start >/dev/null || { echo "bench/net: services did not start"; exit 1; }

# Reference: host veth pair, same tool both ends.
"$here/pkt.py" sink ref-b 30 >"$rundir/ref-sink" & sp=$!
sleep 0.3
"$here/pkt.py" blast ref-a "$frames" >/dev/null
wait $sp
read -r _ rf _ rb _ _ ru _ <"$rundir/ref-sink"
"$here/pkt.py" echo ref-b 30 >/dev/null & ep=$!
sleep 0.3
read -r _ rn _ _ _ rt _ < <("$here/pkt.py" ping ref-a "$trips")
wait $ep
printf '  reference: host veth pair      %s   round trip %7.1f us\n' \
  "$(rate "$rf" "$rb" "$ru")" "$(awk -v t="$rt" -v n="$rn" 'BEGIN { print (n ? t / n : 0) }')"

# guest -> guest throughput.
guest gsink "sink 120" 00:16:3e:00:01:02 && connected gsink
guest gblast "blast $frames 1000" 00:16:3e:00:01:01 && connected gblast
line=$(dmesg_wait gsink "nettest sink:")
read -r _ _ _ gf _ gb _ _ gu _ <<<"$line"
printf '  guest -> guest (via kxbr0)     %s\n' "$(rate "${gf:-0}" "${gb:-0}" "${gu:-0}")"
xl destroy gsink >/dev/null 2>&1; xl destroy gblast >/dev/null 2>&1

# guest -> host throughput.
"$here/pkt.py" sink kxh 120 >"$rundir/h-sink" & sp=$!
guest hblast "blast $frames 1000" 00:16:3e:00:01:03
wait $sp
read -r _ hf _ hb _ _ hu _ <"$rundir/h-sink"
printf '  guest -> host                   %s\n' "$(rate "${hf:-0}" "${hb:-0}" "${hu:-0}")"
xl destroy hblast >/dev/null 2>&1

# Round trips guest <-> guest.
guest pb "pair b" 00:16:3e:00:01:05 && connected pb
guest pa "pair a $trips 1000" 00:16:3e:00:01:04
line=$(dmesg_wait pa "nettest a: [0-9]* round trips")
read -r _ _ _ pn _ _ _ pt _ <<<"$line"
printf '  guest <-> guest round trip      %7.1f us over %s\n' \
  "$(awk -v t="${pt:-0}" -v n="${pn:-0}" 'BEGIN { print (n ? t / n : 0) }')" "${pn:-0}"
xl destroy pa >/dev/null 2>&1; xl destroy pb >/dev/null 2>&1

# Round trips guest <-> host.
"$here/pkt.py" echo kxh 120 >/dev/null & ep=$!
guest ha "pair a $trips 1000" 00:16:3e:00:01:06
line=$(dmesg_wait ha "nettest a: [0-9]* round trips")
read -r _ _ _ hn _ _ _ ht _ <<<"$line"
kill $ep 2>/dev/null; wait $ep 2>/dev/null
printf '  guest <-> host round trip       %7.1f us over %s\n' \
  "$(awk -v t="${ht:-0}" -v n="${hn:-0}" 'BEGIN { print (n ? t / n : 0) }')" "${hn:-0}"
xl destroy ha >/dev/null 2>&1

# Large frames: 65000-byte TCP super-frames with a GSO extra (16 slots each), cut by netback
# for the taps. Payload rate; guest -> guest has one super-frame in flight (acknowledged whole
# by the checking guest), guest -> host is timed at the sender (netback writes each segment
# to the tap before answering the ring).
gso=${NET_BENCH_GSO:-100}
guest gb "gso b" 00:16:3e:00:01:08 && connected gb
guest ga "gso a $gso" 00:16:3e:00:01:07
line=$(dmesg_wait ga "nettest gso a: [0-9]* super-frames")
read -r _ _ _ _ gn _ gpb _ _ _ gpu _ <<<"$line"
printf '  guest -> guest 64 KiB GSO       %s (payload, %s super-frames)\n' \
  "$(rate "${gn:-0}" "${gpb:-0}" "${gpu:-0}")" "${gn:-0}"
xl destroy ga >/dev/null 2>&1; xl destroy gb >/dev/null 2>&1
guest gh "gso blast $gso" 00:16:3e:00:01:09
# It may be gone (powered off) before its domid is asked: its line is the only such one.
for ((i = 0; i < 1200; i++)); do
  line=$(xl dmesg | grep -m1 "nettest gso blast:") && break
  sleep 0.1
done
read -r _ _ _ _ hn _ hpb _ _ _ hpu _ <<<"$line"
printf '  guest -> host 64 KiB GSO        %s (payload, %s super-frames)\n' \
  "$(rate "${hn:-0}" "${hpb:-0}" "${hpu:-0}")" "${hn:-0}"
xl destroy gh >/dev/null 2>&1

# The same with the super-frames handed to the host stack whole through the tap's virtio-net
# header (KXEN_DEVD_TAP_GSO=1: the kernel cuts them) instead of cut by netback.
kxen-services stop >/dev/null 2>&1
KXEN_DEVD_TAP_GSO=1 kxen-services start >/dev/null || { echo "bench/net: services did not restart"; exit 1; }
guest gw "gso blast $gso" 00:16:3e:00:01:0a
line=
for ((i = 0; i < 1200; i++)); do
  line=$(xl dmesg | grep -m1 "nettest gso blast:") && break
  sleep 0.1
done
read -r _ _ _ _ wn _ wpb _ _ _ wpu _ <<<"$line"
printf '  guest -> host 64 KiB GSO, whole %s (payload, %s super-frames; kernel cuts them)\n' \
  "$(rate "${wn:-0}" "${wpb:-0}" "${wpu:-0}")" "${wn:-0}"
xl destroy gw >/dev/null 2>&1
exit 0
