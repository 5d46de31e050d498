# Sourced by the net_* system tests (not executable, so the runner does not run it): re-runs the
# test in a network and mount namespace of its own (skipped where none can be made), mounts
# that namespace's sysfs so /sys/class/net shows its links (as `ip netns exec` does), loads
# xl_common.sh, checks the programs and guest the tests need, and makes the bridge kxbr0.
if [ -z "${KXEN_NET_NS:-}" ]; then
  if unshare --net --mount --propagation private true 2>/dev/null; then
    KXEN_NET_NS=1 exec unshare --net --mount --propagation private "$0" "$@"
  fi
  . "$KXEN_SRC/tests/lib.sh"
  skip_all "cannot make a network namespace here"
fi
mount -t sysfs sysfs /sys 2>/dev/null
. "$KXEN_SRC/tests/system/xl_common.sh"
[ -x "$KXEN_BUILD/bin/kxen-devd" ] || skip_all "kxen-devd not built"
[ -f "$guests/nettest.elf" ] || skip_all "nettest.elf not built"
[ -e /dev/net/tun ] || skip_all "no /dev/net/tun"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
ip link set lo up
check "the test's bridge kxbr0 exists in its own namespace" \
  sh -c 'ip link add kxbr0 type bridge && ip link set kxbr0 up'
