#!/bin/sh
# Runs inside the kvm-under-TCG VM (run-vm.sh --hvm), or anywhere kxend runs on kvm: Debian's
# kernel as an HVM guest (`type = "hvm"`) with the files make-hvm-guest.sh made, booted
#   direct: by kxend's direct kernel boot (kernel=, ramdisk=), the ext2 disk as hda;
#   bios:   by SeaBIOS from the syslinux disk (hda), the ext2 disk as hdb.
# Prints one "=== hvm-linux-BOOT-MODE" TAP section from the guest's COM1 (xl console -t
# serial): /init and a shell, the IDE disk mounted and written (ata_piix), the emulated NIC
# (8139too) pinging the host's bridge, the host pinging back, `xl destroy`. The plain direct
# boot (ACPI from kxend's tables) also presses the ACPI power button (acpi_power_checks below):
# `xl shutdown` is refused without PV drivers, `xl shutdown -F` presses the button, the
# guest's /init powers off and Linux reaches S5. The plain SeaBIOS boot has 2 vCPUs and ACPI
# only from the tables SeaBIOS loaded through fw-cfg (bios_acpi_checks). With pvhvm the
# same disk image and bridge are reached through the platform device instead: Linux finds
# Xen, unplugs the emulated disk and NIC, and uses xen-blkfront and xen-netfront.
#   vm-hvm.sh MODE BOOT DIR [WAIT]
#     MODE hvm (emulated devices only, xen_platform_pci = 0) | pvhvm (the platform device) |
#          pvh (type = "pvh", the disk as xvda, console hvc0: only with KXEN_HVM_DD or
#          KXEN_HVM_NET)
#     BOOT direct | bios;  DIR holds vmlinuz, initrd-hvm.gz, root.img, boot.img
#     WAIT seconds for the first userspace line (default 240)
# KXEN_HVM_DD=1 (bench/linux/dd.sh): one vCPU, no network, a 64 MiB scratch disk on the VM's
# tmpfs as the second disk (hdb, or xvdb for PVH), which the guest writes and reads whole with
# dd O_DIRECT; "# dd-at" lines give the VM's clock and the vCPU's exit counters at the guest's
# markers, "# dd-cpu" and "# dd-proc" the VM's CPU time then, "# dd-sw" the thread runs of
# kxend and kxen-devd (bench_snap).
# KXEN_HVM_NET=1 (bench/linux/net.sh): one vCPU, one NIC on the bridge (the emulated RTL8139,
# or a PV vif), the VM's busybox nc listening for the guest's transfers and the VM pinging the
# guest (net_watch); the same lines as dd's with "net-" for "dd-", and "# net-mark" lines
# with the guest's own clock and eth0's counters at its markers.
# kxend is started when none runs; a bridge kxbr0 at 10.99.0.1/24 is made when the tap and
# bridge modules allow (the guest is 10.99.0.2).
export KXEN_RUNDIR=${KXEN_RUNDIR:-/kxen/run} XENSTORED_RUNDIR=${KXEN_RUNDIR:-/kxen/run} KXEN_ACCEL=kvm
export PATH=/kxen/bin:$PATH
mode=$1 boot=$2 L=$3 wait=${4:-240}
name=$mode$boot
serial=$KXEN_RUNDIR/$name-serial.out
echo "=== hvm-linux-$boot-$mode"
n=0 fails=0
tap() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
# seen PATTERN SECONDS: the guest's COM1 output shows PATTERN within twice SECONDS of the VM's
# clock (the nested guest runs several times slower when the host is loaded: make check at
# load 10+ saw 243 s to the first userspace line). The first line
# that is late dumps the machine's state at once (stall_dump) and makes the later waits fail
# at once (dead=1): a stuck guest leaves its evidence and the VM still reaches its end.
dead=0
seen() {
  [ $dead = 0 ] || return 1
  end=$(($(date +%s) + $2 * 2))
  while [ "$(date +%s)" -lt $end ]; do
    tr -d '\r' 2>/dev/null <"$serial" | grep -q -- "$1" && return 0
    timeout 10 xl list $name >/dev/null 2>&1 || { echo "# $name: gone (or xl list hangs) while waiting for '$1'"; dead=1; stall_dump; return 1; }
    sleep 0.5
  done
  tr -d '\r' 2>/dev/null <"$serial" | grep -q -- "$1" && return 0
  echo "# $name: no '$1' on COM1 within $(($2 * 2)) s"
  dead=1
  stall_dump
  return 1
}
# bounded CMD...: every command of a dump has a time limit (a deadlocked daemon must not stop
# the dump), its output indented as TAP comments.
bounded() { timeout 10 "$@" 2>&1 | sed 's/^/#   /'; }
# stall_dump: what a stuck PV-on-HVM or HVM guest looks like from the VM, read without the
# guest's help: kxend's view of the vCPUs and the per-vCPU upcall state it logs (kxend.log
# "upcall pending"), the exit counters twice (a halted vCPU does not exit), KVM's own trace
# of the vCPU for 3 s (exits with the guest's RIP, MSIs, vectors accepted into the LAPIC's
# IRR, injections, EOIs), every daemon thread (state, wchan, syscall, kernel stack: a
# deadlocked daemon shows its futex waits), the xenstore device states, the console's tail.
stall_dump() {
  id=$(timeout 10 xl domid $name 2>/dev/null)
  echo "# --- stall dump: $name (domain ${id:-?}) $(($(date +%s) - t0)) s after xl create"
  echo "# xl vcpu-list"; bounded xl vcpu-list $name
  echo "# xl vcpu-exits, then again 2 s later"; bounded xl vcpu-exits $name; sleep 2; bounded xl vcpu-exits $name
  stall_dump_kvm_trace
  echo "# daemon threads: name state wchan utime stime | syscall | kernel stack"
  for p in $(cat $KXEN_RUNDIR/*.pid 2>/dev/null); do
    for t in /proc/$p/task/*; do
      echo "#   $(cat $t/comm 2>/dev/null) $(cut -d' ' -f3 $t/stat 2>/dev/null) $(cat $t/wchan 2>/dev/null) $(cut -d' ' -f14,15 $t/stat 2>/dev/null) | $(cat $t/syscall 2>/dev/null)"
      head -4 $t/stack 2>/dev/null | sed 's/^/#       /'
    done
  done
  if [ -n "$id" ]; then
    echo "# xenstore: the guest's devices and their backends"
    timeout 10 xenstore-ls -f /local/domain/$id/device 2>&1 | grep -E '/state =|backend =|event-channel' | sed 's/^/#   /'
    timeout 10 xenstore-ls -f /local/domain/0/backend 2>&1 | grep -E "/$id/[0-9]*/state =" | sed 's/^/#   /'
  fi
  echo "# COM1, the last 25 lines"; tr -d '\r' <"$serial" | tail -25 | sed 's/^/#   /'
  echo "# kxend.log, the last 40 lines"; tail -40 $KXEN_RUNDIR/kxend.log | sed 's/^/#   /'
  echo "# xl dmesg, the last 10 lines"; bounded xl dmesg | tail -10
  echo "# --- end of the stall dump"
}
# KVM's tracepoints in the VM's kernel (tracefs): 3 s of the guest's vCPU as KVM sees it.
stall_dump_kvm_trace() {
  tr=/sys/kernel/tracing
  [ -d $tr/events ] || mount -t tracefs tracefs $tr 2>/dev/null
  if [ ! -d $tr/events/kvm ]; then echo "# (no KVM tracepoints)"; return; fi
  echo 0 >$tr/tracing_on; : >$tr/trace
  for e in kvm_exit kvm_userspace_exit kvm_msi_set_irq kvm_apic_accept_irq kvm_inj_virq kvm_eoi \
           kvm_pic_set_irq kvm_ioapic_set_irq kvm_vcpu_wakeup kvm_apic_ipi kvm_set_irq; do
    [ -f $tr/events/kvm/$e/enable ] && echo 1 >$tr/events/kvm/$e/enable
  done
  echo 1 >$tr/tracing_on; sleep 3; echo 0 >$tr/tracing_on
  echo "# KVM trace, 3 s: events by kind, then the last 30"
  grep -v '^#' $tr/trace | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^kvm_[a-z_]*:$/) { n[$i]++; break } }
    END { for (k in n) printf "#   %s %d\n", k, n[k] }'
  grep -v '^#' $tr/trace | tail -30 | sed 's/^ *//; s/^/#   /'
  echo 0 >$tr/events/kvm/enable 2>/dev/null
}
# The ACPI power button of a guest without PV drivers (on_poweroff = "preserve" keeps the
# domain for the checks; xl destroy follows as for every run).
acpi_power_checks() {
  seen "kxen-hvm: power button /dev/input/event" 5
  tap $? "Linux registers the ACPI power button (button.ko, evdev)"
  xl shutdown $name >/dev/null 2>"$KXEN_RUNDIR/$name-shutdown.err"; r=$?
  grep -q "PV control interface not available" "$KXEN_RUNDIR/$name-shutdown.err" && [ $r != 0 ]
  tap $? "xl shutdown without PV drivers is refused as Xen's xl does (use -F)"
  xl trigger $name sleep 2>"$KXEN_RUNDIR/$name-shutdown.err" && r=1 || r=0
  grep -q "no sleep button" "$KXEN_RUNDIR/$name-shutdown.err" || r=1
  tap $r "xl trigger sleep is refused with the reason (the PC has no sleep button)"
  xl shutdown -F $name 2>"$KXEN_RUNDIR/$name-shutdown.err"
  tap $? "xl shutdown -F sends the ACPI power button event"
  sed 's/^/# /' "$KXEN_RUNDIR/$name-shutdown.err"
  seen "kxen-hvm: power button pressed" 60
  tap $? "the guest's init sees the power button (KEY_POWER) and runs poweroff"
  i=0
  while [ $i -lt 360 ] && ! grep -q "shut down, reason poweroff" "$KXEN_RUNDIR/xl-$name.log" 2>/dev/null; do
    sleep 0.5; i=$((i + 1))
  done
  echo "# poweroff after $((i / 2)) s"
  grep "shut down" "$KXEN_RUNDIR/xl-$name.log" 2>/dev/null | tail -2 | sed 's/^/# /'
  grep -q "shut down, reason poweroff" "$KXEN_RUNDIR/xl-$name.log" 2>/dev/null; r=$?
  tap $r "Linux's poweroff reaches ACPI S5: the domain shuts down with reason poweroff"
  [ $r = 0 ] || { xl list 2>&1 | sed 's/^/# xl list: /'; ls $KXEN_RUNDIR | tr '\n' ' ' | sed 's/^/# rundir: /'; echo
    xl vcpu-exits $name 2>&1 | sed 's/^/# /'; }
}
# bench_snap MODE AT: the VM's clock (/proc/uptime) and the vCPU's exit counters (IO MMIO
# Hypercall Halt Other), the VM's CPU time in ticks (/proc/stat: user nice system idle iowait
# irq softirq steal guest), the utime, stime and guest time of kxen's daemons by name, and
# how often the threads of kxend and kxen-devd were put on the CPU (schedstat's third field,
# summed by daemon and thread: "main", "vcpu" for kxend's vCPU threads, "thread" for the
# others that kept the daemon's name, else the thread's own): each hand-off between threads is one such run (threads that ended are not counted).
# The lines start "# dd-" ("# net-" in KXEN_HVM_NET's runs); "peer" is the VM's own busybox
# nc and dd (net_peers), with the time of its children that ended (ping ends before its
# reading: "other").
bench=dd
[ -n "${KXEN_HVM_NET:-}" ] && bench=net
bench_snap() {
  echo "# $bench-at $1 $2 $(cut -d' ' -f1 /proc/uptime) $(xl vcpu-exits $name | awk 'NR == 2 { print $4, $5, $6, $7, $8 }')"
  echo "# $bench-cpu $1 $2 $(awk '$1 == "cpu" { print $2, $3, $4, $5, $6, $7, $8, $9, $10; exit }' /proc/stat)"
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v m=$1 -v at=$2 -v b=$bench '
    { c = $2; gsub(/[()]/, "", c)
      if (c ~ /^(busybox|ping)$/) { c = "peer"; u[c] += $16; s[c] += $17 }
      else if (c !~ /^(kxend|kxen-devd|xenstored|xenconsoled|xl)$/) c = "other"
      u[c] += $14; s[c] += $15; g[c] += $43 }
    END { for (c in u) print "#", b "-proc", m, at, c, u[c], s[c], g[c] }'
  f=
  for p in $(grep -l -x -E 'kxend|kxen-devd' /proc/[0-9]*/comm 2>/dev/null); do
    f="$f ${p%comm}task/*/comm ${p%comm}task/*/schedstat"
  done
  grep -H . $f 2>/dev/null | awk -v m=$1 -v at=$2 -v b=$bench '
    { i = index($0, ":"); split(substr($0, 1, i - 1), a, "/"); v = substr($0, i + 1)
      if (a[6] == "comm") { tc[a[3], a[5]] = v; if (a[3] == a[5]) pc[a[3]] = v }
      else { split(v, x, " "); n[a[3], a[5]] = x[3] } }
    END { for (k in n) { split(k, a, SUBSEP); t = a[1] == a[2] ? "main" : tc[k]
            if (t ~ /^kvm-d[0-9]+-v[0-9]+$/) t = "vcpu"; else if (t == pc[a[1]]) t = "thread"
            sub(/-[0-9]+$/, "", t)
            w[pc[a[1]] "/" t] += n[k] }
          for (k in w) print "#", b "-sw", m, at, k, w[k] }'
}
# dd_watch: the snapshots at the guest's dd phase lines (bench_snap). It starts as soon as the
# guest's shell is up, before any check that waits for a line /init prints after its dd (the
# PV-on-HVM checks read the kernel's lines /init prints at its end): a wait there would delay
# every reading to the end of the phases. The lines are read from the console log as they
# arrive by the shell's own read, and a 0.1 s pause is a read with a time limit on a FIFO
# nobody writes: no process is started while the guest runs (a fork costs milliseconds of the
# VM's one CPU under TCG), so the wait stays out of the figures. A reading is within about
# 0.1 s of its line. A guest that will print no more phase lines (no disk, no scratch disk,
# its init at its end) ends the wait.
dd_watch() {
  busybox mkfifo $KXEN_RUNDIR/dd-pause 2>/dev/null
  exec 3<"$serial" 4<>$KXEN_RUNDIR/dd-pause
  part= polls=0 gone=
  for at in idle wgo wend rgo rend; do
    while [ -z "$gone" ] && [ $polls -lt 18000 ]; do
      if IFS= read -r l <&3; then
        l=$part$l part=
        case $l in
          *"kxen-hvm: dd $at"*) break ;;
          *"kxen-hvm: dd no scratch"* | *"kxen-hvm: no disk"* | *"kxen-hvm: ready"*) gone=1 ;;
        esac
      else
        part=$part$l polls=$((polls + 1))
        read -t 0.1 l <&4
      fi
    done
    bench_snap $mode $at
  done
  exec 3<&- 4<&-
}
# net_watch: as dd_watch, at the guest's "net" lines (make-hvm-guest.sh's kxen_netbench), but
# the quiet spell's second reading ("iend") is 6 s after its first, on the VM's clock: the
# guest's own line would put its console output (a port exit a byte on COM1) into the idle
# rate. At "pgo" the VM pings the guest (busybox ping, 100 at 0.1 s), reads the same figures
# again ("pend"), prints ping's summary as "# net-ping MODE SENT RECEIVED MIN AVG MAX" (ms)
# and connects to the guest's port 5003, which lets it go on.
net_watch() {
  busybox mkfifo $KXEN_RUNDIR/dd-pause 2>/dev/null
  exec 3<"$serial" 4<>$KXEN_RUNDIR/dd-pause
  part= polls=0 gone=
  for at in tgo tend rgo rend idle pgo; do
    while [ -z "$gone" ] && [ $polls -lt 18000 ]; do
      if IFS= read -r l <&3; then
        l=$part$l part=
        case $l in
          *"kxen-hvm: net $at "*) break ;;
          *"kxen-hvm: net none"* | *"kxen-hvm: ready"*) gone=1 ;;
        esac
      else
        part=$part$l polls=$((polls + 1))
        read -t 0.1 l <&4
      fi
    done
    [ -n "$gone" ] && break
    bench_snap $mode $at
    if [ $at = idle ]; then
      i=0
      while [ $i -lt 60 ]; do read -t 0.1 l <&4; i=$((i + 1)); done
      bench_snap $mode iend
    fi
  done
  exec 3<&- 4<&-
  [ -z "$gone" ] && [ $polls -lt 18000 ] || return
  ping -q -c 100 -i 0.1 -W 5 10.99.0.2 >$KXEN_RUNDIR/$name-ping.out 2>&1
  bench_snap $mode pend
  awk -v m=$mode '/packets transmitted/ { s = $1; r = $4 }
    /round-trip/ { split($4, a, "/"); print "# net-ping", m, s, r, a[1], a[2], a[3] }' $KXEN_RUNDIR/$name-ping.out
  timeout 30 busybox nc 10.99.0.2 5003 </dev/null >/dev/null
}
# net_peers: the VM's ends of the guest's transfers, started before the guest (no process is
# started while a phase runs): sinks on 5000 (the probe) and 5001, sources of zeros on 5010
# (the probe) and 5002, dd writing 64 KiB at a time to the connection (`nc -e`). Each serves
# one connection. A sink's input is a FIFO it holds open itself: a busybox nc whose input ends
# shuts its sending side down, and the guest's end then quits. Each runs under a shell that
# then sleeps: the shell keeps the CPU time of its nc and dd once they end (bench_snap reads
# it as the shell's children's).
net_peers() {
  busybox mkfifo $KXEN_RUNDIR/nc-hold 2>/dev/null
  peers=
  for p in 5000 5001; do
    busybox sh -c "busybox nc -l -p $p <>$KXEN_RUNDIR/nc-hold >/dev/null; exec busybox sleep 100000" 2>/dev/null &
    peers="$peers $!"
  done
  for p in 5010 5002; do
    busybox sh -c "busybox nc -l -p $p -e busybox dd if=/dev/zero bs=65536; exec busybox sleep 100000" 2>/dev/null &
    peers="$peers $!"
  done
}
# bios_acpi_checks: Linux booted by SeaBIOS finds ACPI only in the tables SeaBIOS's loader
# placed from fw-cfg (the guest's RSDP is in the F segment): the MADT's 2 vCPUs come online,
# the FADT's PM block gives S0 and S5, and the power button, pressed by `xl trigger power`,
# ends in poweroff through S5 (on_poweroff = "preserve" keeps the domain for the check).
bios_acpi_checks() {
  seen "kxen-hvm: init, .*, 2 cpu(s)" 1; tap $? "SeaBIOS's ACPI tables: Linux brings up the MADT's 2 vCPUs"
  tr -d '\r' <"$serial" | grep -a 'kxen-hvm: acpi: ' | sed 's/^/# /'
  seen "kxen-hvm: acpi: .*ACPI: PM: (supports S0 S5)" 1
  tap $? "SeaBIOS's ACPI tables: Linux takes the PM block from the FADT (supports S0 S5)"
  ! tr -d '\r' <"$serial" | grep -aq 'kxen-hvm: acpi: .*ACPI BIOS'
  tap $? "SeaBIOS's ACPI tables: Linux finds no table warning (checksums, lengths)"
  seen "kxen-hvm: power button /dev/input/event" 5
  tap $? "SeaBIOS's ACPI tables: Linux registers the ACPI power button"
  xl trigger $name power; tap $? "xl trigger $name power"
  seen "kxen-hvm: power button pressed" 60
  tap $? "the guest's init sees the power button (KEY_POWER) and runs poweroff"
  i=0
  while [ $i -lt 360 ] && ! grep -q "shut down, reason poweroff" "$KXEN_RUNDIR/xl-$name.log" 2>/dev/null; do
    sleep 0.5; i=$((i + 1))
  done
  grep -q "shut down, reason poweroff" "$KXEN_RUNDIR/xl-$name.log" 2>/dev/null
  tap $? "Linux's poweroff reaches ACPI S5: the domain shuts down with reason poweroff"
}
dump() {
  echo "# --- COM1 (without the ticks)"
  tr -d '\r' <"$serial" | grep -av 'kxen-hvm: tick' | head -${KXEN_DBG_LINES:-150} | sed 's/^/# /'
  echo "# --- xl dmesg (last 15 lines)"; timeout 10 xl dmesg 2>/dev/null | tail -15 | sed 's/^/# /'
  echo "# --- kxend.log"; grep -E ' (err|warn): ' $KXEN_RUNDIR/kxend.log | tail -15 | sed 's/^/# /'
}
# check_vcpus: the guest brought up all its vCPUs (the MP table, INIT/SIPI), kxend counts
# them online, and the last one's own Xen timer ticks (its VIRQ upcalls reach its LAPIC).
check_vcpus() {
  seen "kxen-hvm: init, .*, $vcpus cpu(s)" 1; tap $? "Linux brings up its $vcpus vCPUs (INIT/SIPI)"
  bounded xl vcpu-list $name
  [ "$(timeout 10 xl vcpu-list $name 2>/dev/null | awk 'NR > 1 && $5 != "---"' | wc -l)" -eq $vcpus ]
  tap $? "xl vcpu-list shows $vcpus vCPUs online"
  last=$((vcpus - 1))
  tr -d '\r' <"$serial" | grep -a 'kxen-hvm: irq ' | sed 's/^/# /'
  ticks=$(tr -d '\r' <"$serial" | grep -a "kxen-hvm: irq .* timer$last\$" | head -1 | awk -v c=$last '{ print $(4 + c) }')
  [ "${ticks:-0}" -gt 0 ] 2>/dev/null; tap $? "vCPU $last counts its own Xen timer interrupts (timer$last: ${ticks:-none})"
}
# intx_run (BOOT intx, by hand: KXEN_HVM_STEPS="direct pvhvm intx"): a PV-on-HVM boot with
# xen_no_vector_callback (one vCPU, no vif):
# Linux then sets no upcall vector and takes its events through the platform device's PCI
# interrupt (HVM_PARAM_CALLBACK_IRQ in GSI or INTx form), which kxend raises while vCPU 0's
# upcall is pending. Checked up to the PV disk, and the interrupt's count.
intx_run() {
  name=pvhvmintx serial=$KXEN_RUNDIR/pvhvmintx-serial.out dead=0
  cfg=$KXEN_RUNDIR/$name.cfg
  {
    echo "name = \"$name\""; echo 'type = "hvm"'; echo 'memory = 192'; echo 'serial = "pty"'
    echo 'xen_platform_pci = 1'; echo 'on_reboot = "destroy"'; echo 'vcpus = 1'
    echo "kernel = \"$L/vmlinuz\""; echo "ramdisk = \"$L/initrd-hvm.gz\""
    echo 'cmdline = "console=ttyS0 panic=-1 loglevel=1 xen_no_vector_callback"'
    echo "disk = [ '$L/root.img,raw,hda,rw' ]"
  } >"$cfg"
  t0=$(date +%s)
  timeout 60 xl create -q "$cfg"; tap $? "xen_no_vector_callback: xl create $name.cfg"
  xl console -t serial $name </dev/null >"$serial" 2>&1 &
  ipid=$!
  seen "kxen-hvm: disk xvda made on the host" $wait
  tap $? "xen_no_vector_callback: xen-blkfront mounts xvda, its events through the platform device's interrupt"
  seen "kxen-hvm: ready" 30
  line=$(tr -d '\r' <"$serial" | grep -a 'kxen-hvm: irq .*xen-platform-pci' | head -1)
  echo "# ${line:-no xen-platform-pci line in /proc/interrupts}"
  [ "$(echo "$line" | awk '{ print $4 }')" -gt 0 ] 2>/dev/null
  tap $? "xen_no_vector_callback: the xen-platform-pci interrupt counts the upcalls"
  grep -a 'kxen-hvm: dmesg: .*\(callback\|platform\)' "$serial" | head -3 | sed 's/^/# /'
  timeout 30 xl destroy $name; tap $? "xen_no_vector_callback: xl destroy $name"
  kill $ipid 2>/dev/null
}
# save_checks (the direct boots of hvm and pvhvm, with the bridge): /init's kxen_save loop
# ("kxen-hvm: io N read before-the-save write ok net ok" each second) runs while the guest is
# saved and restored on this host, then migrated to a second kxend in this VM (its own run
# directory, $dst; `-s` names a script that plays ssh), whose bridge is the same kxbr0. A
# plain PC has no PV drivers and is paused by the toolstack; PV-on-HVM Linux advertises
# control/feature-suspend and suspends itself (xenbus, grant frames in the platform device's
# BAR, shared_info, the upcall vectors set again on resume). The checks after this one run
# against the host the guest now lives on. The domain ids of the two hosts differ while both
# exist (the tap names vifD.N carry them), as the source's ids have grown past the
# destination's by then.
dst=/kxen/dst
# io_last: the count of the last io line that read back the file and wrote its count.
io_last() { tr -d '\r' 2>/dev/null <"$serial" | grep -a 'kxen-hvm: io [0-9]* read before-the-save write ok' | tail -1 | cut -d' ' -f3; }
# io_past N SECONDS [WHAT]: an io line numbered above N, matching WHAT, within twice SECONDS.
io_past() {
  [ $dead = 0 ] || return 1
  end=$(($(date +%s) + $2 * 2))
  while [ "$(date +%s)" -lt $end ]; do
    c=$(tr -d '\r' 2>/dev/null <"$serial" | grep -a "kxen-hvm: io [0-9]* read before-the-save write ok${3:+.*$3}" | tail -1 | cut -d' ' -f3)
    [ -n "$c" ] && [ "$c" -gt "$1" ] && return 0
    sleep 0.5
  done
  echo "# $name: no io line past $1${3:+ with '$3'} within $(($2 * 2)) s"
  dead=1
  stall_dump
  return 1
}
# attach_console: COM1 of the domain (a new pty after each restore) appended to $serial.
attach_console() {
  kill $cpid 2>/dev/null
  xl console -t serial $name </dev/null >>"$serial" 2>&1 &
  cpid=$!
}
# after_move WHAT T0 IO0: the loop goes on after WHAT (the file written before reads back, the
# count is written), the guest pings the host, the host pings the guest.
after_move() {
  io_past "$3" 90
  tap $? "save: after $1 the loop goes on: the file written before the save reads back, new counts are written"
  io_past "$3" 30 "net ok"; tap $? "save: after $1 the guest pings the host ($nwhat)"
  ping -c 2 -W 5 10.99.0.2 >/dev/null 2>&1; r=$?
  tap $r "save: after $1 the host pings the guest"
  [ $r = 0 ] || {
    echo "# the VM's neighbour entry, the bridge's ports, the vifs' MACs in xenstore:"
    ip neigh show 10.99.0.2 2>&1 | sed 's/^/#   /'
    ip -o link show master kxbr0 2>&1 | cut -d' ' -f2,17- | sed 's/^/#   /'
    timeout 10 xenstore-ls -f /local/domain/0/backend/vif 2>&1 | grep '/mac =' | sed 's/^/#   /'
  }
  echo "# $name: $1 took $(($(date +%s) - $2)) s, io line $3 before, $(io_last) after"
}
save_checks() {
  seen "kxen-hvm: io " 60; tap $? "save: /init's loop reads a file back and writes its disk every second"
  id=$(timeout 10 xl domid $name 2>/dev/null)
  if [ "$mode" = pvhvm ]; then
    how="Linux suspends itself (control/shutdown = suspend)"
    [ "$(xenstore-read /local/domain/$id/control/feature-suspend 2>/dev/null)" = 1 ]
    tap $? "save: PV-on-HVM Linux writes control/feature-suspend (Xen's suspend protocol)"
  else
    how="the toolstack pauses it: no PV drivers"
  fi
  # The moves each run makes: the plain PC is saved and restored (the toolstack pauses it),
  # the PV-on-HVM guest migrates (Linux suspends itself); with DIR/save-all (run-vm.sh's
  # KXEN_HVM_SAVE_ALL=1) both runs make both moves, about 100 s more in the VM.
  all=$(cat $L/save-all 2>/dev/null || echo 0)
  if [ "$all" = 1 ] || [ "$mode" != pvhvm ]; then
  io0=$(io_last); io0=${io0:-0}
  t=$(date +%s)
  timeout 180 xl save $name $KXEN_RUNDIR/$name.save $cfg 2>&1 | sed 's/^/# xl save: /'
  [ -s $KXEN_RUNDIR/$name.save ] && ! timeout 10 xl list $name >/dev/null 2>&1
  tap $? "save: xl save writes the image ($how) and the domain is gone"
  timeout 180 xl restore $KXEN_RUNDIR/$name.save 2>&1 | sed 's/^/# xl restore: /'
  timeout 10 xl list $name >/dev/null 2>&1; tap $? "save: xl restore brings the domain back"
  attach_console
  after_move "the restore" $t $io0
  [ $vcpus = 1 ] || {
    [ "$(timeout 10 xl vcpu-list $name 2>/dev/null | awk 'NR > 1 && $5 != "---"' | wc -l)" -eq $vcpus ]
    tap $? "save: after the restore xl vcpu-list shows $vcpus vCPUs online"
  }
  rm -f $KXEN_RUNDIR/$name.save
  fi
  [ "$all" = 1 ] || [ "$mode" = pvhvm ] || return 0
  if [ $dead != 0 ] || ! [ -S $dst/kxend.sock ]; then
    tap 1 "save: xl migrate moves the guest to the second kxen host (not tried: a stuck guest or no host)"
    return
  fi
  printf '#!/bin/sh\nhost=$1; shift\nKXEN_RUNDIR=$host XENSTORED_RUNDIR=$host exec sh -c "$*"\n' >$KXEN_RUNDIR/fakessh
  chmod +x $KXEN_RUNDIR/fakessh
  io0=$(io_last); io0=${io0:-0}
  t=$(date +%s)
  timeout 240 xl migrate -C $cfg -s $KXEN_RUNDIR/fakessh $name $dst 2>&1 | sed 's/^/# xl migrate: /'
  KXEN_RUNDIR=$dst XENSTORED_RUNDIR=$dst timeout 10 xl list $name >/dev/null 2>&1 &&
    ! timeout 10 xl list $name >/dev/null 2>&1
  moved=$?
  tap $moved "save: xl migrate moves the guest to the second kxen host"
  [ $moved = 0 ] || { dead=1; stall_dump; return; }
  # The source ran the loop during the pre-copy rounds: the checks want lines from the
  # destination, after the last one the source's console passed on (it ends with the
  # source's domain, at most 5 s is waited for that).
  i=0
  while kill -0 $cpid 2>/dev/null && [ $i -lt 10 ]; do sleep 0.5; i=$((i + 1)); done
  echo "# $name: io line $io0 before the migration, $(io_last) when the source stopped"
  io0=$(io_last); io0=${io0:-0}
  export KXEN_RUNDIR=$dst XENSTORED_RUNDIR=$dst
  attach_console
  after_move "the migration" $t $io0
  [ $vcpus = 1 ] || {
    [ "$(timeout 10 xl vcpu-list $name 2>/dev/null | awk 'NR > 1 && $5 != "---"' | wc -l)" -eq $vcpus ]
    tap $? "save: after the migration xl vcpu-list shows $vcpus vCPUs online"
  }
}
# save_image_check (after the guest is gone): the last count the loop wrote on the host the
# guest ended on is in the disk image.
save_image_check() {
  got=$(debugfs -R 'cat /io.txt' $L/root.img 2>/dev/null)
  last=$(io_last)
  echo "# io.txt in the image: ${got:-none}, the last io line: ${last:-none}"
  [ -n "$got" ] && [ -n "$last" ] && [ "$got" -ge "$last" ] 2>/dev/null
  tap $? "save: after the guest is gone, the image holds the loop's last count (written after the last move)"
}
if [ ! -S $KXEN_RUNDIR/kxend.sock ] && ! kxend --accel kvm --log-file $KXEN_RUNDIR/kxend.log; then
  tap 1 "kxend starts with --accel kvm"; echo "=== hvm-linux-$boot-$mode rc=1"; exit 1
fi
# COM1 is a pty.
mkdir -p /dev/pts && mount -t devpts -o ptmxmode=0666 devpts /dev/pts 2>/dev/null
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
net=
if [ -n "${KXEN_HVM_DD:-}" ] && [ -z "${KXEN_HVM_NET:-}" ]; then
  :
elif [ -d /sys/class/net/kxbr0 ] || { for m in llc stp bridge tun; do insmod /mod/$m.ko 2>/dev/null; done
     ip link add kxbr0 type bridge && ip addr add 10.99.0.1/24 dev kxbr0 && ip link set kxbr0 up; }; then
  net=1
else
  echo "# cannot make the bridge kxbr0: no network checks"
fi
# The save checks: the direct boots of a plain PC and of PV-on-HVM, with the bridge. The
# second host starts before the guest, as vm-linux.sh's does.
save=
if [ -n "$net" ] && [ "$boot" = direct ] && [ "$mode" != pvh ] && [ -z "${KXEN_HVM_NET:-}" ]; then
  save=1
  mkdir -p $dst
  [ -S $dst/kxend.sock ] || KXEN_RUNDIR=$dst XENSTORED_RUNDIR=$dst kxend --accel kvm --log-file $dst/kxend.log
  KXEN_RUNDIR=$dst XENSTORED_RUNDIR=$dst timeout 30 xl list >/dev/null 2>&1 ||
    echo "# the second kxen host ($dst) does not answer: the migration check fails"
fi
if [ "$boot" = intx ]; then
  intx_run
  [ $fails = 0 ] || dump
  echo "=== hvm-linux-$boot-$mode rc=$fails"
  exit 0
fi
# PV-on-HVM with several vCPUs (check_vcpus: per-vCPU vcpu_info, upcall vectors, VIRQs and
# event-channel IPIs) needs a table that lists them: the direct boot writes none yet (an MP
# table without an I/O APIC makes 64-bit Linux mask the 8259s' ExtINT; ACPI's MADT does not),
# so the count comes from DIR/hvm-vcpus, 1 when that file is absent.
platform=0 vcpus=1
[ "$mode" = pvhvm ] && platform=1 vcpus=$(cat "$L/hvm-vcpus" 2>/dev/null || echo 1)
[ "$mode$boot" = hvmbios ] && vcpus=2
# dd: the same one vCPU and the same scratch image on every path (the VM's root is tmpfs).
scratch=
if [ -n "${KXEN_HVM_DD:-}" ]; then
  vcpus=1 scratch=$KXEN_RUNDIR/dd-scratch.img
  [ -f "$scratch" ] || busybox dd if=/dev/zero of="$scratch" bs=1048576 count=64 2>/dev/null
fi
# net: one vCPU, one NIC (net_peers, net_watch).
netbench=
if [ -n "${KXEN_HVM_NET:-}" ]; then
  vcpus=1
  if [ -n "$net" ]; then netbench=1; else tap 1 "the bridge kxbr0 for the network figures"; fi
fi
# loglevel=1: every COM1 byte is an exit to kxend, slow in the nested VM; /init prints the
# kernel lines the checks need from dmesg.
cmdline="console=ttyS0 panic=-1 loglevel=1${net:+ kxen_net}${KXEN_HVM_DD:+ kxen_dd}${save:+ kxen_save}${netbench:+ kxen_netbench}"
[ "$mode" = pvh ] && cmdline="console=hvc0 panic=-1 loglevel=1${KXEN_HVM_DD:+ kxen_dd}${netbench:+ kxen_net kxen_netbench}"
# The bench runs' own additions (make-hvm-guest.sh's DIR/dd-cmdline, from KXEN_HVM_DD_CMDLINE).
if [ -n "${KXEN_HVM_DD:-}$netbench" ] && [ -n "$(cat "$L/dd-cmdline" 2>/dev/null)" ]; then
  cmdline="$cmdline $(cat "$L/dd-cmdline")"
  echo "# dd-cmdline $mode $(cat "$L/dd-cmdline")"
fi
cfg=$KXEN_RUNDIR/$name.cfg
{
  echo "name = \"$name\""; echo 'memory = 192'; echo 'on_reboot = "destroy"'; echo "vcpus = $vcpus"
  case $mode$boot in hvmdirect | hvmbios) echo 'on_poweroff = "preserve"' ;; esac
  if [ "$mode" = pvh ]; then
    echo 'type = "pvh"'; echo "kernel = \"$L/vmlinuz\""; echo "ramdisk = \"$L/initrd-hvm.gz\""
    echo "cmdline = \"$cmdline\""; echo "disk = [ '$L/root.img,raw,xvda,rw'${scratch:+, '$scratch,raw,xvdb,rw'} ]"
  elif [ "$boot" = direct ]; then
    echo 'type = "hvm"'; echo 'serial = "pty"'; echo "xen_platform_pci = $platform"
    echo "kernel = \"$L/vmlinuz\""; echo "ramdisk = \"$L/initrd-hvm.gz\""
    echo "cmdline = \"$cmdline\""
    echo "disk = [ '$L/root.img,raw,hda,rw'${scratch:+, '$scratch,raw,hdb,rw'} ]"
  else
    echo 'type = "hvm"'; echo 'serial = "pty"'; echo "xen_platform_pci = $platform"
    echo 'boot = "c"'
    echo "disk = [ '$L/boot.img,raw,hda,rw', '$L/root.img,raw,hdb,rw' ]"
  fi
  # PV-on-HVM: the emulated NIC (which Linux unplugs) and a PV vif on the same bridge; the
  # network figures give each guest one NIC: the PV vif, or the emulated one for a plain PC.
  if [ -n "$netbench" ] && [ "$mode" != hvm ]; then echo "vif = [ 'bridge=kxbr0' ]"
  elif [ -n "$net" ] && [ "$mode" = pvhvm ]; then echo "vif = [ 'type=ioemu,bridge=kxbr0', 'bridge=kxbr0' ]"
  elif [ -n "$net" ]; then echo "vif = [ 'type=ioemu,bridge=kxbr0' ]"; fi
} >"$cfg"
[ -n "$netbench" ] && net_peers
t0=$(date +%s)
timeout 60 xl create -q "$cfg"; created=$?
tap $created "xl create $name.cfg (type hvm, $boot boot, $mode)"
cpid=
if [ "$mode" = pvh ]; then serial=$KXEN_RUNDIR/console/guest-$name.log # xenconsoled's log of hvc0
else xl console -t serial $name </dev/null >"$serial" 2>&1 & cpid=$!; fi
[ $created = 0 ] || seen() { return 1; }
if [ "$boot" = bios ]; then
  seen "Loading initrd.gz...ok" "$wait"
  tap $? "SeaBIOS boots syslinux from the IDE disk, which loads Linux and its initrd"
fi
seen "kxen-hvm: shell up" "$wait"; up=$?
tap $up "Linux runs /init and a shell on COM1 (xl console -t serial)"
echo "# first userspace line after $(($(date +%s) - t0)) s"
[ $up = 0 ] || { dump; seen() { return 1; }; }
[ -n "${KXEN_HVM_DD:-}" ] && [ $up = 0 ] && dd_watch
[ -n "$netbench" ] && [ $up = 0 ] && net_watch
if [ "$mode" = pvh ]; then
  disk=xvda what="xen-blkfront (PVH)" nic=vif nwhat="xen-netfront (PVH)"
elif [ "$mode" = pvhvm ]; then
  seen "Hypervisor detected: Xen HVM" 120; tap $? "Linux finds Xen (CPUID 0x40000000) and runs as a PV-on-HVM guest"
  timeout 10 xl dmesg | grep "(d$(timeout 10 xl domid $name 2>/dev/null))" | head -5 | sed 's/^/# /'
  grep -E "hypercall instruction|platform" $KXEN_RUNDIR/kxend.log | tail -4 | sed 's/^.*\] //; s/^/# /'
  seen "unplug emulated disks" 5; tap $? "Linux unplugs the emulated disks and NICs (ports 0x10/0x12)"
  disk=xvda nic=vif what="xen-blkfront" nwhat="xen-netfront"
else
  disk=sda nic=8139too what="ata_piix" nwhat="the emulated RTL8139 (8139too)"
fi
# Two IDE disks (SeaBIOS's boot disk, dd's scratch disk): Linux names them in the order their
# probes end, so the ext2 disk may be sda or sdb (/init finds it by its contents).
if [ "$mode" = hvm ] && { [ "$boot" = bios ] || [ -n "$scratch" ]; }; then disk="sd[ab]"
elif [ "$boot" = bios ]; then disk=${disk%a}b; fi
seen "kxen-hvm: disk $disk made on the host" 60
tap $? "the guest mounts its disk ($disk, $what) and reads the host's file"
if [ -n "${KXEN_HVM_DD:-}" ]; then
  seen "kxen-hvm: dd rend" 1; tap $? "dd writes and reads the whole scratch disk with O_DIRECT"
  tr -d '\r' <"$serial" | grep -a "kxen-hvm: dd [wr]end" | sed "s/^.*kxen-hvm: dd \([wr]\)end/# dd-time $mode \1/"
fi
if [ -n "$net" ]; then
  seen "kxen-hvm: nic eth0 driver $nic" 5; tap $? "eth0 is $nwhat"
  seen "kxen-hvm: ping ok" 60; tap $? "the guest pings the host over kxbr0"
  ping -c 2 -W 5 10.99.0.2 >/dev/null 2>&1; tap $? "the host pings the guest"
fi
if [ -n "$netbench" ]; then
  seen "kxen-hvm: net pdone" 1
  tap $? "TCP both ways with nc, then the VM's pings (net.sh's phases)"
  tr -d '\r' <"$serial" | grep -a "kxen-hvm: net [a-z]* [0-9]" | sed "s/^.*kxen-hvm: net /# net-mark $mode /"
  tr -d '\r' <"$serial" | grep -a -m1 "kxen-hvm: net clocksource" | sed "s/^.*kxen-hvm: net clocksource /# net-clock $mode /"
  grep -q "round-trip" $KXEN_RUNDIR/$name-ping.out 2>/dev/null; tap $? "the VM's pings of the guest are answered"
  kill $peers 2>/dev/null
fi
seen "kxen-hvm: ready" 30; tap $? "the guest's init reaches its end"
[ $vcpus = 1 ] || [ "$mode" != pvhvm ] || check_vcpus
[ -n "$save" ] && save_checks
[ "$mode$boot" = hvmdirect ] && acpi_power_checks
[ "$mode$boot" = hvmbios ] && bios_acpi_checks
timeout 30 xl destroy $name; tap $? "xl destroy $name"
timeout 10 xl list $name >/dev/null 2>&1 && r=1 || r=0
tap $r "no domain is left"
kill $cpid 2>/dev/null
if command -v debugfs >/dev/null; then
  got=$(debugfs -R 'cat /from-guest.txt' $L/root.img 2>/dev/null)
  echo "# from-guest.txt in the image: $got"
  case $got in "written by Linux "*) r=0 ;; *) r=1 ;; esac
  tap $r "after the guest is gone, the file it wrote is in the IDE disk image (debugfs)"
  [ -n "$save" ] && save_image_check
fi
[ $fails = 0 ] || dump
echo "=== hvm-linux-$boot-$mode rc=$fails"
exit 0
