#!/usr/bin/env bash
# Linux PVH guest figures, measured inside the kvm-under-tcg VM (qemu TCG emulating AMD SVM):
# every figure is TCG-emulated; compare the rows with their references, not with hardware.
#   (a) `xl create` to the guest's first userspace line, next to qemu booting the same kernel
#       and initramfs directly (-kernel/-initrd) in the same VM on the VM's KVM (the same
#       /dev/kvm kxend uses), and with TCG on this host (-cpu max, as the VM itself): TCG
#       inside the TCG-emulated VM is an order of magnitude slower again, so it runs only
#       when KXEN_BENCH_TCG_SECONDS gives it a time limit;
#   (b) PV disk throughput inside Linux (busybox dd, direct I/O, 1 MiB blocks: read all of a
#       64 MiB xvda, write 64 MiB to a scratch xvdb), next to the VM reading and writing the
#       same two virtio disks with the same dd.
# Then dd.sh and net.sh: Linux's own disk and network paths, the emulated device against the PV
# front end, in a VM each.
#   bench/linux/run.sh   (KXEN_BUILD = release build dir, set by bench/run-benches.sh)
# KXEN_L1_KERNEL / KXEN_L2_KERNEL pick the kernels (default Debian 12's 6.1 for both).
set -u
src=${KXEN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=$(realpath -m "${KXEN_BUILD:-$src/build}")
make -s -C "$src" BUILD="$build" "$build/tests/kvm_accel_test" "$build/tests/kvm_guest_run" \
  >/dev/null || { echo "bench/linux: build failed"; exit 1; }
[ -x "$build/bin/xl" ] || { echo "bench/linux: $build/bin/xl missing (make first)"; exit 1; }
mkdir -p "$build/bench"
log=$build/bench/linux-vm.log # the VM's serial log, kept for a look at the details
g=$(mktemp -d /tmp/kxen-linux-bench-XXXXXX)
trap 'rm -rf "$g"' EXIT
# The host's TCG reference first (nothing else of this run is using the CPU then).
host_tcg=
kernel=${KXEN_L2_KERNEL:-$(ls /boot/vmlinuz-${KXEN_L1_KERNEL:-6.1.}* 2>/dev/null | sort -rV | head -1)}
if [ -n "$kernel" ] && command -v qemu-system-x86_64 >/dev/null &&
   "$src/tests/kvm-under-tcg/make-linux-guest.sh" "$g" "$kernel"; then
  : >"$g/serial"
  t0=$(date +%s%N)
  qemu-system-x86_64 -nodefaults -display none -no-reboot -m 512 -smp 1 -accel tcg -cpu max \
    -kernel "$g/vmlinuz" -initrd "$g/initrd.gz" -append "console=ttyS0 panic=-1" \
    -serial file:"$g/serial" 2>/dev/null &
  q=$!
  for ((i = 0; i < 3000; i++)); do
    grep -q "kxen-linux: init" "$g/serial" && { host_tcg=$((($(date +%s%N) - t0) / 100000000)); break; }
    kill -0 $q 2>/dev/null || break
    sleep 0.1
  done
  kill $q 2>/dev/null; wait $q 2>/dev/null
  [ -n "$host_tcg" ] && host_tcg=$((host_tcg / 10)).$((host_tcg % 10))
fi
KXEN_LINUX_STEPS=bench KXEN_VM_TIMEOUT=${KXEN_VM_TIMEOUT:-$((1800 + ${KXEN_BENCH_TCG_SECONDS:-0}))} \
  "$src/tests/kvm-under-tcg/run-vm.sh" "$log" "$build" --linux >"$g/run-vm.out"
rc=$?
cat "$g/run-vm.out" | grep -v '^# L1 kernel' | sed 's/^/# /'
[ $rc -eq 77 ] && { echo "bench/linux: skipped (no qemu, kernel or busybox)"; exit 0; }
[ $rc -ne 0 ] && { echo "bench/linux: the VM did not finish"; tail -20 "$log"; exit 1; }
val() { grep -a -m1 "^# bench $1 " "$log" | awk '{ print $4 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
row() { printf '%-58s %s\n' "$1" "$2"; }
echo "kernel: $(grep -a -m1 '^# linux: kernel' "$log" | sed 's/.*kernel \([^,]*\),.*/\1/'), $(grep -a -m1 '^# L1 kernel' "$g/run-vm.out" | sed 's/^# //') (all TCG-emulated)"
xl=$(val boot-xl) qk=$(val boot-qemu-kvm) qt=$(val boot-qemu-tcg)
row "xl create to first userspace line (kxend, kvm)" "${xl:-?} s"
row "  reference: qemu -kernel/-initrd on the same KVM" "${qk:-?} s (xl/qemu = $(ratio "$xl" "$qk"))"
[ -n "$qt" ] && row "  reference: qemu -kernel/-initrd, TCG in the VM" "$qt s (xl/qemu = $(ratio "$xl" "$qt"))"
row "  reference: qemu -kernel/-initrd, TCG on the host" "${host_tcg:-?} s (xl/qemu = $(ratio "$xl" "$host_tcg"))"
for d in read write; do
  gv=$(val $d-guest) h=$(val $d-host)
  f=iflag; [ $d = write ] && f=oflag
  row "PV disk $d inside Linux (dd $f=direct, 1 MiB)" "${gv:-?} MiB/s"
  row "  reference: the VM's own dd on the same virtio disk" "${h:-?} MiB/s (guest/host = $(ratio "$gv" "$h"))"
done
grep -aq '^not ok' "$log" && { echo "bench/linux: a step failed in the VM:"; grep -a '^not ok\|^# ' "$log" | tail -30; exit 1; }
# The disk through ata_piix, PV-on-HVM and PVH, then the network through 8139too and
# xen-netfront: a VM of its own each (KXEN_BENCH_NO_DD=1, KXEN_BENCH_NO_NET=1 skip them).
rc=0
[ -n "${KXEN_BENCH_NO_DD:-}" ] || "$src/bench/linux/dd.sh" || rc=1
[ -n "${KXEN_BENCH_NO_NET:-}" ] || "$src/bench/linux/net.sh" || rc=1
exit $rc
