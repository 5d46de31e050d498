#!/usr/bin/env bash
# A multi-queue vif, the whole stack (xl, devd's netback offering a queue per host CPU, the
# guest netfront), in a network namespace of the test's own: a nettest guest with 2 vCPUs
# negotiates 2 queues and drives each from its own vCPU, a one-vCPU guest with 2 queues echoes
# through the calls that read every queue and spread sends by flow; every frame is checked
# byte by byte, and netback's per-queue counters (logged when each vif disconnects) show frames
# both ways on every queue of both vifs. On soft, then on kvm where /dev/kvm is usable.
# Skipped where a namespace cannot be made (net_common.sh).
. "$KXEN_SRC/tests/system/net_common.sh"

net_cfg() { # FILE NAME CMDLINE VCPUS MAC
  printf 'name = "%s"\nkernel = "%s"\nmemory = 16\nvcpus = %s\ncmdline = "%s"\nvif = [ "mac=%s,bridge=kxbr0" ]\n' \
    "$2" "$guests/nettest.elf" "$4" "$3" "$5" >"$1"
}
dmesg_has() { xl dmesg 2>/dev/null | grep -q -- "$1"; }
# every_queue_used DOMID: devd logged the vif's counters, each queue with frames both ways.
every_queue_used() {
  local line
  line=$(grep -a "vif $1/0 disconnects:" "$KXEN_RUNDIR/kxen-devd.log" | tail -1)
  echo "# ${line#*] }"
  [ -n "$line" ] && grep -q "queue 1 " <<<"$line" &&
    ! grep -qE "took 0 frames|gave 0 frames" <<<"$line"
}

run() { # ACCEL FRAMES
  local acc=$1 n=$2 ida idb
  net_cfg "$d/mqb-$acc.cfg" "mqb-$acc" "mq b 2" 1 00:16:3e:00:02:0b
  net_cfg "$d/mqa-$acc.cfg" "mqa-$acc" "mq a $n 2" 2 00:16:3e:00:02:0a
  check "$acc: xl create of the echoing guest (1 vCPU, 2 queues)" timeout 60 xl create -q "$d/mqb-$acc.cfg"
  idb=$(xl domid "mqb-$acc" 2>/dev/null)
  check "$acc: its netfront connects" wait_for 30 dmesg_has "(d$idb) nettest: connected"
  check "$acc: netback offers a queue per host CPU" \
    test "$(xenstore-read "/local/domain/0/backend/vif/$idb/0/multi-queue-max-queues" 2>/dev/null)" = "$(nproc)"
  check "$acc: the frontend wrote multi-queue-num-queues and queue-1/'s keys" \
    test "$(xenstore-read "/local/domain/$idb/device/vif/0/multi-queue-num-queues" 2>/dev/null)" = 2 -a \
    -n "$(xenstore-read "/local/domain/$idb/device/vif/0/queue-1/tx-ring-ref" 2>/dev/null)"
  check "$acc: xl create of the sending guest (2 vCPUs, a queue each)" timeout 60 xl create -q "$d/mqa-$acc.cfg"
  ida=$(xl domid "mqa-$acc" 2>/dev/null)
  check "$acc: both guests finish ($n frames, every byte checked both ways)" \
    wait_for 120 bash -c "xl dmesg | grep -q '(d$ida) RESULT' && xl dmesg | grep -q '(d$idb) RESULT'"
  xl dmesg | grep -E "^\(d($ida|$idb)\) (not ok|ok|RESULT)" | sed 's/^/# /'
  check "$acc: the sender's result is PASS" dmesg_has "(d$ida) RESULT PASS"
  check "$acc: the echoer's result is PASS" dmesg_has "(d$idb) RESULT PASS"
  check "$acc: netback carried frames both ways on every queue of the sender's vif" \
    wait_for 20 every_queue_used "$ida"
  check "$acc: and of the echoer's" wait_for 20 every_queue_used "$idb"
  xl destroy "mqa-$acc" >/dev/null 2>&1 || true
  xl destroy "mqb-$acc" >/dev/null 2>&1 || true
}

if [ "$(nproc)" -lt 2 ]; then
  skip_all "one host CPU: netback offers a single queue"
fi
mark=$(tap_mark)
# Fewer frames on kvm: where /dev/kvm is nested or software-assisted and the host is busy, a
# round trip can take tens of milliseconds, and each frame is resent until its echo is in.
run soft 200
if kvm_usable; then
  kxen-services stop >/dev/null 2>&1
  export KXEN_ACCEL=kvm
  run kvm 40
else
  skip_like "$mark" soft kvm "/dev/kvm is not usable here"
fi
