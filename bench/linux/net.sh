#!/usr/bin/env bash
# Linux's own network path on each of kxen's three ways to give it a NIC, in one kvm-under-TCG
# VM (tests/kvm-under-tcg/run-vm.sh --hvm, KXEN_HVM_STEPS=net): Debian's kernel and initramfs
# (make-hvm-guest.sh), one vCPU, one NIC on the VM's bridge kxbr0:
#   hvm    HVM direct boot, xen_platform_pci = 0, a type=ioemu vif: the RTL8139, 8139too;
#   pvhvm  HVM with the platform device and a PV vif: xen-netfront;
#   pvh    type = "pvh", a PV vif: xen-netfront.
# In each, TCP with busybox nc (64 KiB blocks from dd) from the guest to the VM's nc and from
# the VM's nc to the guest, each phase sized by a probe to last about 12 s of the guest's
# clock, then 100 pings of the guest from the VM (busybox ping, 0.1 s apart). Timed on the
# VM's clock (vm-hvm.sh's net_watch reads it at the guest's phase lines, as dd.sh's runs do):
# an HVM guest's own clock can be calibrated wrong under nested TCG, so its figure is only
# printed beside. At the same lines the VM reads `xl vcpu-exits` (exits per MB or per round
# trip by kind, less the guest's idle rate from a 6-second quiet spell between the transfers
# and the pings), its own CPU time (the guest's instructions, kxend in user space and in the
# kernel, kxen-devd, which serves the PV vifs, the VM's own nc and dd, the rest, idle) and how
# often each thread of kxend and kxen-devd was put on its CPU; the guest's lines carry eth0's
# packet and interrupt counters. MB is 10^6 bytes of TCP payload. Every figure is
# TCG-emulated: compare the paths with each other, not with hardware. No timing is asserted.
#   bench/linux/net.sh [VM_LOG]   (KXEN_BUILD = release build dir)
# KXEN_HVM_DD_CMDLINE adds words to every guest's command line (kxen_netsecs=N: phases of
# about N s; a module's MODULE.PARAM=VALUE). With VM_LOG, no VM is run: the figures are read
# from the serial log of a run made with KXEN_HVM_STEPS containing net.
set -u
# The body is one block, parsed whole before it runs: editing this file while a run waits for
# the VM cannot break that run.
{
. "$(dirname "$0")/hvm_vm.sh"
hvm_vm net "${1:-}"
echo "TCP with busybox nc, guest -> VM (send) and VM -> guest (receive); MB = 10^6 bytes of"
echo "payload, MB/s on the VM's clock (the guest's beside); exits/MB (per round trip for ping) by"
echo "kind, the idle rate removed; the VM's CPU in the phase: guest = the guest's own instructions"
echo "(KVM guest time), kxend = user space / kernel (KVM's exits and entries), devd = kxen-devd"
echo "(netback), peer = the VM's nc and dd, other = the other daemons, ping and the VM's kernel"
echo "threads. Packets and interrupts: eth0's counters in the guest (out/in). Thread runs: how"
echo "often each thread of kxend and kxen-devd was put on the VM's CPU, the idle rate removed"
awk '
  $1 != "#" { next }
  $2 == "net-at" { m = $3; p = $4; t[m, p] = $5; for (k = 0; k < 5; k++) e[m, p, k] = $(6 + k); seen[m] = 1 }
  $2 == "net-cpu" { cpub[$3, $4] = $5 + $6 + $7 + $10 + $11 + $12; cpui[$3, $4] = $8 + $9 }
  $2 == "net-proc" { pu[$3, $4, $5] = $6; ps[$3, $4, $5] = $7; pg[$3, $4, $5] = $8 }
  $2 == "net-sw" { sw[$3, $4, $5] = $6; swk[$5] = 1 }
  $2 == "net-mark" { m = $3; p = $4; blk[m, p] = $5; gt_[m, p] = $6
    rxp[m, p] = $7; txp[m, p] = $8; rxb[m, p] = $9; txb[m, p] = $10; irq[m, p] = $11 }
  $2 == "net-clock" { clk[$3] = $4 }
  $2 == "net-ping" { pn[$3] = $5; pmin[$3] = $6; pavg[$3] = $7; pmax[$3] = $8 }
  function d(a, m, p, q, c) { return a[m, q, c] - a[m, p, c] }
  function d2(a, m, p, q) { return a[m, q] - a[m, p] }
  function ratio(a, b) { return a > 0 && b > 0 ? sprintf("%.2fx", a / b) : "-" }
  function idle_rate(m, k) { return (e[m, "iend", k] - e[m, "idle", k]) / (t[m, "iend"] - t[m, "idle"]) }
  # cpu M G F: the VM CPU split of a phase, in percent.
  function cpu(m, g, f,   tot, gt, ku, ks, dv, pr, oth) {
    tot = cpub[m, f] - cpub[m, g] + cpui[m, f] - cpui[m, g]
    if (tot <= 0) return ""
    gt = d(pg, m, g, f, "kxend")
    # utime is scaled to the run time of the task, gtime is not: their difference can dip
    # below zero by a tick or two.
    ku = d(pu, m, g, f, "kxend") - gt; ku = ku < 0 ? 0 : ku; ks = d(ps, m, g, f, "kxend")
    dv = d(pu, m, g, f, "kxen-devd") + d(ps, m, g, f, "kxen-devd")
    pr = d(pu, m, g, f, "peer") + d(ps, m, g, f, "peer")
    oth = cpub[m, f] - cpub[m, g] - gt - ku - ks - dv - pr
    return sprintf("%3.0f %3.0f/%-3.0f %3.0f %3.0f %3.0f %3.0f", 100 * gt / tot, 100 * ku / tot,
      100 * ks / tot, 100 * dv / tot, 100 * pr / tot, 100 * oth / tot, 100 * (cpui[m, f] - cpui[m, g]) / tot)
  }
  # runs M G F UNITS: thread runs per unit in the phase, the idle rate removed.
  function runs(m, g, f, units,   ki, k, idle, out) {
    out = ""
    for (ki = 1; ki <= nk; ki++) {
      k = keys[ki]
      if (!((m, g, k) in sw) || !((m, f, k) in sw) || !((m, "idle", k) in sw) || !((m, "iend", k) in sw))
        continue
      idle = (sw[m, "iend", k] - sw[m, "idle", k]) / (t[m, "iend"] - t[m, "idle"])
      out = out sprintf("  %s %.1f", k, (sw[m, f, k] - sw[m, g, k] - idle * (t[m, f] - t[m, g])) / units)
    }
    return out
  }
  END {
    nk = 0
    for (k in swk) { # sorted by name
      for (ki = ++nk; ki > 1 && keys[ki - 1] > k; ki--) keys[ki] = keys[ki - 1]
      keys[ki] = k
    }
    split("hvm pvhvm pvh", modes, " ")
    what["hvm"] = "8139too"; what["pvhvm"] = "xen-netfront, PV-on-HVM"; what["pvh"] = "xen-netfront, PVH"
    split("t r", dirs, " "); go["t"] = "tgo"; fin["t"] = "tend"; go["r"] = "rgo"; fin["r"] = "rend"
    name["t"] = "send"; name["r"] = "recv"
    printf "  %-6s %-5s %-23s %7s %7s %7s %7s %7s %7s %7s %7s   %s\n", "path", "", "driver", "MB/s", "(guest)", "ms/MB",
      "IO", "MMIO", "Hcall", "Halt", "Other", "CPU %: guest kxend(usr/sys) devd peer other idle"
    for (i = 1; i <= 3; i++) {
      m = modes[i]
      ok = seen[m] && t[m, "iend"] > t[m, "idle"]
      for (j = 1; j <= 2; j++) {
        r = dirs[j]; g = go[r]; f = fin[r]; mb = blk[m, g] * 65536 / 1e6
        if (!ok || !mb || t[m, f] <= t[m, g]) {
          printf "  %-6s %-5s no figures (see the VM log)\n", m, name[r]
          continue
        }
        secs = t[m, f] - t[m, g]
        rate[m, r] = mb / secs
        gs = gt_[m, f] - gt_[m, g]
        printf "  %-6s %-5s %-23s %7.2f %7.2f %7.1f", m, name[r], what[m], mb / secs, (gs > 0 ? mb / gs : 0), 1000 * secs / mb
        ex = 0
        for (k = 0; k < 5; k++) {
          x = (e[m, f, k] - e[m, g, k] - idle_rate(m, k) * secs) / mb
          ex += x
          printf " %7.1f", x
        }
        printf "   %s\n", cpu(m, g, f)
        po = d2(txp, m, g, f); pi = d2(rxp, m, g, f); n = r == "t" ? po : pi
        printf "  %-6s %-5s packets/MB out %.0f in %.0f (%.0f B a data packet), interrupts/MB %.0f, exits a data packet %.2f\n", "", "",
          po / mb, pi / mb, (n > 0 ? (r == "t" ? d2(txb, m, g, f) : d2(rxb, m, g, f)) / n : 0),
          d2(irq, m, g, f) / mb, (n > 0 ? ex * mb / n : 0)
        s = runs(m, g, f, mb)
        if (s != "")
          printf "  %-6s %-5s thread runs/MB:%s\n", "", "", s
      }
      if (clk[m] != "")
        printf "  %-6s %-5s the guest'"'"'s clocksource: %s\n", "", "", clk[m]
      g = "pgo"; f = "pend"
      if (!ok || !pn[m] || t[m, f] <= t[m, g]) {
        printf "  %-6s %-5s no figures (see the VM log)\n", m, "ping"
        continue
      }
      secs = t[m, f] - t[m, g]
      printf "  %-6s %-5s %d pings, ms: avg %.3f min %.3f max %.3f; exits a round trip", m, "ping", pn[m], pavg[m], pmin[m], pmax[m]
      for (k = 0; k < 5; k++)
        printf " %.1f", (e[m, f, k] - e[m, g, k] - idle_rate(m, k) * secs) / pn[m]
      printf " (IO MMIO Hcall Halt Other)\n"
      printf "  %-6s %-5s interrupts a round trip %.1f; CPU %%: %s\n", "", "", d2(irq, m, "pgo", "pdone") / pn[m], cpu(m, g, f)
      s = runs(m, g, f, pn[m])
      if (s != "")
        printf "  %-6s %-5s thread runs a round trip:%s\n", "", "", s
    }
    for (j = 1; j <= 2; j++) {
      r = dirs[j]
      if (rate["hvm", r] > 0)
        printf "  %s against 8139too: PV-on-HVM %s, PVH %s\n", name[r],
          ratio(rate["pvhvm", r], rate["hvm", r]), ratio(rate["pvh", r], rate["hvm", r])
    }
    if (pavg["hvm"] > 0)
      printf "  round trip against 8139too (its time over theirs): PV-on-HVM %s, PVH %s\n",
        ratio(pavg["hvm"], pavg["pvhvm"]), ratio(pavg["hvm"], pavg["pvh"])
  }' "$log"
grep -aq '^not ok' "$log" && { echo "bench/linux/net: a step failed in the VM:"; grep -a '^not ok' "$log"; exit 1; }
exit 0
}
