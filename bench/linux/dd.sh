#!/usr/bin/env bash
# Linux's own disk path on each of kxen's three ways to give it a disk, in one kvm-under-TCG VM
# (tests/kvm-under-tcg/run-vm.sh --hvm, KXEN_HVM_STEPS=dd): Debian's kernel and initramfs
# (make-hvm-guest.sh), one vCPU, the same 64 MiB scratch image on the VM's tmpfs as the second
# disk, written whole four times then read whole four times by busybox `dd bs=1M` with
# oflag=direct / iflag=direct:
#   hvm    HVM direct boot, emulated IDE (ata_piix, bus-master DMA), no platform device;
#   pvhvm  HVM with the platform device: Linux unplugs the IDE disks, xen-blkfront;
#   pvh    type = "pvh", xen-blkfront.
# Timed on the VM's clock (vm-hvm.sh polls the guest's console for its phase lines every
# 0.1 s and reads /proc/uptime there): an HVM guest's own clock can be calibrated wrong under
# nested TCG, so its figure is only printed beside. At the same lines the VM reads
# `xl vcpu-exits` (exits per MB by kind, less the guest's idle rate from a 4-second quiet
# spell before) and its own CPU time: the guest's instructions (KVM guest time), kxend in user
# space and in the kernel (KVM's exit handling), kxen-devd (blkback), the other daemons, idle.
# Every figure is TCG-emulated: compare the paths with each other, not with hardware. No
# timing is asserted.
#   bench/linux/dd.sh [VM_LOG]   (KXEN_BUILD = release build dir)
# KXEN_HVM_DD_CMDLINE adds words to every guest's command line, such as a module's parameter
# (xen_blkfront.max_indirect_segments=256: the guest's /init passes MODULE.PARAM=VALUE to insmod).
# With VM_LOG, no VM is run: the figures are read from the serial log of a run made with
# KXEN_HVM_STEPS containing dd (tests/system/xl_hvm_linux.sh keeps its VM's log in
# build/san/test-logs/xl_hvm_linux-vm.log).
set -u
# The body is one block, parsed whole before it runs: editing this file while a run waits for
# the VM cannot break that run.
{
. "$(dirname "$0")/hvm_vm.sh"
hvm_vm dd "${1:-}"
echo "dd bs=1M O_DIRECT, scratch disk written whole 4x then read whole 4x; MiB/s on the VM's clock"
echo "KiB/req: the disk's requests (/sys/block); exits/MB by kind, the idle rate removed; the VM's"
echo "CPU in the phase: guest = the guest's own instructions (KVM guest time), kxend = user space /"
echo "kernel (KVM's exits and entries), devd = kxen-devd (blkback), other = the other daemons and"
echo "the VM's kernel threads. Thread runs/req: how often each thread of kxend and kxen-devd"
echo "was put on the VM's CPU per request (schedstat), the idle rate removed"
awk '
  $1 != "#" { next }
  $2 == "dd-at" { m = $3; p = $4; t[m, p] = $5; for (k = 0; k < 5; k++) e[m, p, k] = $(6 + k); seen[m] = 1 }
  $2 == "dd-cpu" { cpub[$3, $4] = $5 + $6 + $7 + $10 + $11 + $12; cpui[$3, $4] = $8 + $9 }
  $2 == "dd-proc" { pu[$3, $4, $5] = $6; ps[$3, $4, $5] = $7; pg[$3, $4, $5] = $8 }
  $2 == "dd-sw" { sw[$3, $4, $5] = $6; swk[$5] = 1 }
  $2 == "dd-time" { dev[$3] = $5; n[$3, $4] = $6; gs[$3, $4] = $9 - $8; req[$3, $4] = $10 }
  function d(a, m, p, q, c) { return a[m, q, c] - a[m, p, c] }
  function ratio(a, b) { return a > 0 && b > 0 ? sprintf("%.2fx", a / b) : "-" }
  END {
    nk = 0
    for (k in swk) { # sorted by name
      for (ki = ++nk; ki > 1 && keys[ki - 1] > k; ki--) keys[ki] = keys[ki - 1]
      keys[ki] = k
    }
    split("hvm pvhvm pvh", modes, " ")
    what["hvm"] = "ata_piix"; what["pvhvm"] = "xen-blkfront, PV-on-HVM"; what["pvh"] = "xen-blkfront, PVH"
    split("w r", dirs, " "); go["w"] = "wgo"; fin["w"] = "wend"; go["r"] = "rgo"; fin["r"] = "rend"
    name["w"] = "write"; name["r"] = "read"
    printf "  %-6s %-5s %-24s %5s %8s %8s %8s %7s %7s %7s %7s %7s %7s   %s\n", "path", "", "driver", "disk", "MiB/s", "(guest)", "ms/MiB", "KiB/req",
      "IO", "MMIO", "Hcall", "Halt", "Other", "CPU %: guest kxend(usr/sys) devd other idle"
    for (i = 1; i <= 3; i++) {
      m = modes[i]
      for (j = 1; j <= 2; j++) {
        r = dirs[j]; g = go[r]; f = fin[r]; size = n[m, r]
        if (!seen[m] || !size || t[m, f] <= t[m, g] || t[m, "wgo"] <= t[m, "idle"]) {
          printf "  %-6s %-5s no figures (see the VM log)\n", m, name[r]
          continue
        }
        secs = t[m, f] - t[m, g]
        rate[m, r] = size / secs
        printf "  %-6s %-5s %-24s %5s %8.2f %8.2f %8.1f %7s", m, name[r], what[m], dev[m], size / secs,
          (gs[m, r] > 0 ? size / gs[m, r] : 0), 1000 * secs / size,
          (req[m, r] > 0 ? sprintf("%.0f", 1024 * size / req[m, r]) : "-")
        for (k = 0; k < 5; k++) {
          idle = (e[m, "wgo", k] - e[m, "idle", k]) / (t[m, "wgo"] - t[m, "idle"])
          printf " %7.1f", (e[m, f, k] - e[m, g, k] - idle * secs) / (size * 1.048576)
        }
        tot = cpub[m, f] - cpub[m, g] + cpui[m, f] - cpui[m, g]
        if (tot > 0) {
          gt = d(pg, m, g, f, "kxend")
          # utime is scaled to the run time of the task, gtime is not: their difference can dip
          # below zero by a tick or two.
          ku = d(pu, m, g, f, "kxend") - gt; ku = ku < 0 ? 0 : ku; ks = d(ps, m, g, f, "kxend")
          dv = d(pu, m, g, f, "kxen-devd") + d(ps, m, g, f, "kxen-devd")
          oth = cpub[m, f] - cpub[m, g] - gt - ku - ks - dv
          printf "   %3.0f %3.0f/%-3.0f %3.0f %3.0f %3.0f", 100 * gt / tot, 100 * ku / tot, 100 * ks / tot,
            100 * dv / tot, 100 * oth / tot, 100 * (cpui[m, f] - cpui[m, g]) / tot
        }
        printf "\n"
        if (req[m, r] > 0) {
          runs = ""
          for (ki = 1; ki <= nk; ki++) {
            k = keys[ki]
            if (!((m, g, k) in sw) || !((m, f, k) in sw) || !((m, "idle", k) in sw) || !((m, "wgo", k) in sw))
              continue
            idle = (sw[m, "wgo", k] - sw[m, "idle", k]) / (t[m, "wgo"] - t[m, "idle"])
            runs = runs sprintf("  %s %.1f", k, (sw[m, f, k] - sw[m, g, k] - idle * secs) / req[m, r])
          }
          if (runs != "")
            printf "  %-6s %-5s thread runs/req:%s\n", "", "", runs
        }
      }
    }
    for (j = 1; j <= 2; j++) {
      r = dirs[j]
      if (rate["hvm", r] > 0)
        printf "  %s against ata_piix: PV-on-HVM %s, PVH %s\n", name[r],
          ratio(rate["pvhvm", r], rate["hvm", r]), ratio(rate["pvh", r], rate["hvm", r])
    }
  }' "$log"
grep -aq '^not ok' "$log" && { echo "bench/linux/dd: a step failed in the VM:"; grep -a '^not ok' "$log"; exit 1; }
exit 0
}
