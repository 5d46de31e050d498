#!/usr/bin/env bash
# Driver domain against dom0, in the same run (soft accelerator): guest -> guest frame
# throughput (nettest blast/sink) and round trips (pair, one frame in flight) through dom0's
# netback and Linux bridge kxbr0, then through the driverdom guest's netback and switch; and
# blktest's bench pass (sequential 1 MiB writes and reads, 4 KiB random reads at depth 1 and
# 32) on a disk served by dom0's blkback from a tmpfs file, then by the driver domain from its
# memory. Runs in a network namespace of its own (for the bridge).
#   bench/ddom/run.sh   (KXEN_BUILD = release build dir, set by bench/run-benches.sh)
set -u
if [ -z "${KXEN_NET_NS:-}" ]; then
  unshare --net --mount --propagation private true 2>/dev/null ||
    { echo "bench/ddom: cannot make a network namespace here (skipped)"; exit 0; }
  KXEN_NET_NS=1 exec unshare --net --mount --propagation private "$0" "$@"
fi
mount -t sysfs sysfs /sys 2>/dev/null
build=$(realpath -m "${KXEN_BUILD:-build}")
bin=$build/bin
export PATH=$bin:$PATH
for p in xl kxen-services kxen-devd; do
  [ -x "$bin/$p" ] || { echo "bench/ddom: $bin/$p missing (make first)"; exit 1; }
done
for g in driverdom nettest blktest; do
  [ -e "$build/guests/$g.elf" ] || { echo "bench/ddom: $g.elf missing (make first)"; exit 1; }
done
frames=${DDOM_BENCH_FRAMES:-3000}
trips=${DDOM_BENCH_TRIPS:-300}
ops=${DDOM_BENCH_OPS:-1000}
rundir=$(mktemp -d /tmp/kxen-bench-ddom-XXXXXX)
shm=$(mktemp -d /dev/shm/kxen-bench-ddom-XXXXXX)
export KXEN_RUNDIR=$rundir XENSTORED_RUNDIR=$rundir KXEN_ACCEL=${KXEN_ACCEL:-soft}
trap 'kxen-services stop >/dev/null 2>&1; rm -rf "$rundir" "$shm"' EXIT
ip link set lo up
ip link add kxbr0 type bridge && ip link set kxbr0 up
kxen-services start >/dev/null || { echo "bench/ddom: services did not start"; exit 1; }

dmesg_wait() { # NAME PATTERN: the line of NAME's domain matching PATTERN (up to 120 s)
  local id i; id=$(xl domid "$1" 2>/dev/null) || return 1
  for ((i = 0; i < 1200; i++)); do
    xl dmesg | grep -m1 "^(d$id) $2" && return 0
    sleep 0.1
  done
  return 1
}
rate() { # FRAMES BYTES US -> "frames/s MB/s"
  awk -v f="$1" -v b="$2" -v u="$3" 'BEGIN { if (u <= 0) u = 1; printf "%9.0f frames/s %7.1f MB/s", f * 1e6 / u, b / u }'
}
guest() { # NAME CMDLINE VIF
  printf 'name = "%s"\nkernel = "%s"\nmemory = 16\ncmdline = "%s"\nvif = [ "%s" ]\n' \
    "$1" "$build/guests/nettest.elf" "$2" "$3" >"$rundir/$1.cfg"
  xl create -q "$rundir/$1.cfg"
}
printf 'name = "dd"\nkernel = "%s"\nmemory = 96\ndriver_domain = 1\ncmdline = "vbd vif quiet"\n' \
  "$build/guests/driverdom.elf" >"$rundir/dd.cfg"
xl create -q "$rundir/dd.cfg" && dmesg_wait dd "driverdom: serving" >/dev/null ||
  { echo "bench/ddom: the driver domain did not start"; exit 1; }

net_via() { # LABEL VIF-EXTRA
  local line gf gb gu pn pt
  guest gsink "sink 120" "mac=00:16:3e:00:02:02,$2" && dmesg_wait gsink "nettest: connected" >/dev/null
  guest gblast "blast $frames" "mac=00:16:3e:00:02:01,$2"
  line=$(dmesg_wait gsink "nettest sink:")
  read -r _ _ _ gf _ gb _ _ gu _ <<<"$line"
  xl destroy gsink >/dev/null 2>&1; xl destroy gblast >/dev/null 2>&1
  guest pb "pair b" "mac=00:16:3e:00:02:05,$2" && dmesg_wait pb "nettest: connected" >/dev/null
  guest pa "pair a $trips" "mac=00:16:3e:00:02:04,$2"
  line=$(dmesg_wait pa "nettest a: [0-9]* round trips")
  read -r _ _ _ pn _ _ _ pt _ <<<"$line"
  xl destroy pa >/dev/null 2>&1; xl destroy pb >/dev/null 2>&1
  printf '  net via %-14s guest -> guest %s   round trip %7.1f us over %s\n' "$1" \
    "$(rate "${gf:-0}" "${gb:-0}" "${gu:-0}")" \
    "$(awk -v t="${pt:-0}" -v n="${pn:-0}" 'BEGIN { print (n ? t / n : 0) }')" "${pn:-0}"
}
net_via "dom0 (kxbr0)" "bridge=kxbr0"
net_via "driver domain" "backend=dd"

blk_via() { # LABEL DISKSPEC
  local id
  printf 'name = "bb"\nkernel = "%s"\nmemory = 32\nextra = "mode=bench ops=%s"\ndisk = [ "%s" ]\n' \
    "$build/guests/blktest.elf" "$ops" "$2" >"$rundir/bb.cfg"
  xl create -q "$rundir/bb.cfg" && id=$(xl domid bb)
  dmesg_wait bb "blkbench done" >/dev/null
  xl dmesg | grep "^(d$id) blkbench [a-z]" | sed -n 's/.*blkbench \([a-z0-9_]*\) \([0-9]*\) \([A-Za-z/]*\) \(.*\)/\1 \2 \3 \4/p' |
    while read -r n v u rest; do printf '  blk via %-14s %-14s %9d %-5s %s\n' "$1" "$n" "$v" "$u" "$rest"; done
  xl destroy bb >/dev/null 2>&1
}
fallocate -l 16M "$shm/disk.img"
blk_via "dom0 (tmpfs)" "$shm/disk.img,raw,xvda,rw"
blk_via "driver domain" "vdev=xvda,access=rw,backend=dd,target=mem:16M:bench"
echo "  driver domain counters: $(xenstore-read "/local/domain/$(xl domid dd)/data/vif-stats" 2>/dev/null)"
exit 0
