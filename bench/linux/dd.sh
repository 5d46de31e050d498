#!/usr/bin/env bash
# Linux's own disk path on each of kxen's three ways to give it a disk, in one kvm-under-TCG VM
# (tests/kvm-under-tcg/run-vm.sh --hvm, KXEN_HVM_STEPS=dd): Debian's kernel and initramfs
# (make-hvm-guest.sh), the same 16 MiB ext2 image each time, read whole four times by busybox
# `dd bs=1M iflag=direct`, timed by the VM (within 0.1 s: the guest's own clock may be
# calibrated wrong under nested TCG, its figure is printed next to it):
#   hvm    HVM direct boot, emulated IDE (ata_piix), no platform device;
#   pvhvm  HVM with the platform device: Linux unplugs the IDE disk, xen-blkfront;
#   pvh    type = "pvh", xen-blkfront.
# Exits per MB by kind from `xl vcpu-exits`, read before and after the dd, less the guest's
# idle rate measured in a 4-second quiet spell just before. Every figure is TCG-emulated: compare the
# rows with each other, not with hardware. No timing is asserted.
#   bench/linux/dd.sh [VM_LOG]   (KXEN_BUILD = release build dir)
# With VM_LOG, no VM is run: the figures are read from the serial log of a run made with
# KXEN_HVM_STEPS containing dd (tests/system/xl_hvm_linux.sh keeps its VM's log in
# build/san/test-logs/xl_hvm_linux-vm.log).
set -u
src=${KXEN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=$(realpath -m "${KXEN_BUILD:-$src/build}")
[ -x "$build/bin/xl" ] || { echo "bench/linux/dd: $build/bin/xl missing (make first)"; exit 1; }
mkdir -p "$build/bench"
log=${1:-$build/bench/linux-dd-vm.log} # the VM's serial log
rc=0
[ -n "${1:-}" ] || KXEN_HVM_STEPS=dd KXEN_VM_TIMEOUT=${KXEN_VM_TIMEOUT:-2400} \
  "$src/tests/kvm-under-tcg/run-vm.sh" "$log" "$build" --hvm >/dev/null || rc=$?
[ $rc -eq 77 ] && { echo "bench/linux/dd: skipped (no qemu, kernel or busybox)"; exit 0; }
[ $rc -ne 0 ] && { echo "bench/linux/dd: the VM did not finish"; tail -20 "$log"; exit 1; }
echo "dd if=DISK bs=1M iflag=direct inside Linux (all TCG-emulated); exits/MB: IO MMIO Hypercall Halt Other"
for m in hvm pvhvm pvh; do
  awk -v m="$m" '
    $2 == "dd-exits" && $3 == m { t[$4] = $5; for (k = 0; k < 5; k++) e[$4, k] = $(6 + k) }
    $2 == "dd-time" && $3 == m { dev = $4; mib = $5; gsecs = $8 - $7 }
    END {
      if (!mib || !("end" in t) || t["end"] <= t["go"] || t["go"] <= t["idle"]) {
        printf "  %-6s no figures (see the VM log)\n", m
        exit
      }
      what = m == "hvm" ? "ata_piix" : m == "pvhvm" ? "xen-blkfront, PV-on-HVM" : "xen-blkfront, PVH"
      secs = t["end"] - t["go"]
      printf "  %-6s %-5s %-24s %7.2f MiB/s (guest clock %.2f)  exits/MB", m, dev, what, mib / secs, (gsecs > 0 ? mib / gsecs : 0)
      for (k = 0; k < 5; k++) {
        idle = (e["go", k] - e["idle", k]) / (t["go"] - t["idle"])
        printf " %9.1f", (e["end", k] - e["go", k] - idle * secs) / (mib * 1.048576)
      }
      printf "\n"
    }' "$log"
done
grep -aq '^not ok' "$log" && { echo "bench/linux/dd: a step failed in the VM:"; grep -a '^not ok' "$log"; exit 1; }
exit 0
