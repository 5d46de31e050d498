# The net half of bench/pvemu/run.sh (sourced): the emulated RTL8139 (hvmtest in bench mode)
# and netfront (guests/nettest) against the host's bench/net/pkt.py on one bridge (kxbr0, a
# veth kxh into it), inside run.sh's network namespace.
#   guest -> host: full-size frames; the rate is the bytes the host's sink received over the
#   guest's own time for sending them (a sender faster than the sink loses frames, counted);
#   round trips: the host's pkt.py ping, one frame in flight, the guest echoing.
# Exits: hvmtest's between its marks; a PV guest's as the difference between a run and a
# one-frame (one-trip) run of the same guest, read after it powered off (on_poweroff =
# "preserve" keeps its counters).
pkt=$here/../net/pkt.py

net_setup() {
  ip link set lo up
  ip link add kxbr0 type bridge && ip link set kxbr0 up
  ip link add kxh type veth peer name kxh-br
  ip link set kxh-br master kxbr0 && ip link set kxh-br up && ip link set kxh up
  sleep 0.5
}

# pv_net NAME CMDLINE MAC: a nettest guest kept after power-off; waits until connected.
pv_net() {
  printf 'name = "%s"\nkernel = "%s"\nmemory = 16\ncmdline = "%s"\non_poweroff = "preserve"\nvif = [ "mac=%s,bridge=kxbr0" ]\n' \
    "$1" "$nettest" "$2" "$3" >"$pvemu_dir/$1.cfg"
  xl create -q "$pvemu_dir/$1.cfg"
}
# pv_wait NAME PATTERN: NAME's console lines until PATTERN (2 minutes at most) into NAME.log.
pv_wait() {
  local id t
  id=$(xl domid "$1") || return 1
  for ((t = 0; t < 1200; t++)); do
    xl dmesg | grep "^(d$id) " | sed 's/^([^)]*) //' >"$pvemu_dir/$1.log"
    grep -q -- "$2" "$pvemu_dir/$1.log" && return 0
    sleep 0.1
  done
  return 1
}
# pv_done NAME: waits for its RESULT line and the power-off, saves NAME.exits, destroys it.
pv_done() {
  pv_wait "$1" "RESULT"
  for ((t = 0; t < 50; t++)); do
    xl list "$1" 2>/dev/null | awk 'NR == 2 { exit $5 !~ /s/ }' && break
    sleep 0.1
  done
  pvemu_exits "$1" >"$pvemu_dir/$1.exits"
  xl destroy "$1" >/dev/null 2>&1
}
# diff_exits A B: B's counters minus A's.
diff_exits() { paste -d' ' "$pvemu_dir/$2.exits" "$pvemu_dir/$1.exits" | awk '{ print $1 - $6, $2 - $7, $3 - $8, $4 - $9, $5 - $10 }'; }
# per_trip "IO MMIO HC HALT OTHER" N
per_trip() { echo "$1" | awk -v n="$2" '{ for (i = 1; i <= 5; i++) printf "%s%10.1f", (i > 1 ? " " : ""), (n ? $i / n : 0) }'; }
# tx_rate SINK_FILE GUEST_US: "R MB/s (F of N frames)" from pkt.py's "sink F frames B bytes in U us".
tx_rate() { awk -v u="$2" -v n="$frames" '{ printf "%9.1f MB/s (%d of %d frames reached the host)", u ? $4 / u : 0, $2, n }' "$1"; }
ping_us() { awk '{ printf "%.1f", $2 ? $6 / $2 : 0 }' "$1"; }  # "ping N round trips in U us"

bench_net() {
  local accel=$1 hvif e tx_e tx_p rt_e rt_p polls
  hvif="vif = [ 'type=ioemu,model=rtl8139,bridge=kxbr0,mac=00:16:3e:00:02:01' ]"
  echo "  net, $accel: $frames full-size frames guest -> host, $trips round trips host -> guest -> host; exits per MB / per round trip: IO MMIO Hypercall Halt Other"
  # guest -> host, emulated.
  "$pkt" sink kxh 60 >"$pvemu_dir/sink-emu" & local sp=$!
  if pvemu_hvm nictx "path=nictx frames=$frames" "$pvemu_dir/disk.img" "$hvif"; then
    wait $sp
    e=$(pvemu_phase nictx start end)
    tx_e=$(tx_rate "$pvemu_dir/sink-emu" "$(field "$pvemu_dir/nictx.log" nic_tx 5)")
    printf '    %-16s %s\n                     exits/MB %s\n' "rtl8139 tx" "$tx_e" "$(per_mb "$e" $((frames * 1514)))"
  else
    kill $sp 2>/dev/null; wait $sp 2>/dev/null
    echo "    rtl8139 tx: FAILED"; sed 's/^/      /' "$pvemu_dir/nictx.log"; status=1
  fi
  # guest -> host, netfront: the bench run, then one frame for the baseline.
  "$pkt" sink kxh 60 >"$pvemu_dir/sink-pv" & sp=$!
  pv_net ntx "blast $frames 1000" 00:16:3e:00:02:02 && pv_done ntx
  wait $sp
  pv_net ntx1 "blast 1 1000" 00:16:3e:00:02:03 && pv_done ntx1
  tx_p=$(tx_rate "$pvemu_dir/sink-pv" "$(sed -n 's/^nettest blast: .* in \([0-9]*\) us.*/\1/p' "$pvemu_dir/ntx.log")")
  printf '    %-16s %s\n                     exits/MB %s\n' "netfront tx" "$tx_p" \
    "$(per_mb "$(diff_exits ntx1 ntx)" $(((frames - 1) * 1514)))"
  # Round trips, emulated: the guest echoes from its start mark until the ping's stop frame.
  pvemu_hvm nicecho "path=nicecho secs=120" "$pvemu_dir/disk.img" "$hvif" & local hp=$!
  for ((t = 0; t < 600; t++)); do grep -q '^start ' "$pvemu_dir/nicecho.marks" 2>/dev/null && break; sleep 0.1; done
  sleep 1.5 # the rest of the guest's quiet time after its mark
  "$pkt" ping kxh "$trips" >"$pvemu_dir/ping-emu"
  wait $hp
  e=$(pvemu_phase nicecho start end)
  polls=$(sed -n 's/.*(\([0-9]*\) empty polls).*/\1/p' "$pvemu_dir/nicecho.log")
  rt_e=$(ping_us "$pvemu_dir/ping-emu")
  printf '    %-16s %9s us    exits/trip %s   (less %s empty polls of the ring)\n' "rtl8139 echo" "$rt_e" \
    "$(per_trip "$(echo "$e" | awk -v p="${polls:-0}" '{ $1 -= p; print }')" "$trips")" "${polls:-0}"
  # Round trips, netfront: pair b echoes; baseline one trip.
  pv_net nrt "pair b" 00:16:3e:00:02:04 && pv_wait nrt "nettest: connected"
  "$pkt" ping kxh "$trips" >"$pvemu_dir/ping-pv"
  pv_done nrt
  pv_net nrt1 "pair b" 00:16:3e:00:02:05 && pv_wait nrt1 "nettest: connected"
  "$pkt" ping kxh 1 >/dev/null
  pv_done nrt1
  rt_p=$(ping_us "$pvemu_dir/ping-pv")
  printf '    %-16s %9s us    exits/trip %s\n' "netfront echo" "$rt_p" \
    "$(per_trip "$(diff_exits nrt1 nrt)" $((trips - 1)))"
  printf '    PV/emulated: throughput %sx, round trip %sx faster\n' "$(ratio "${tx_p%% MB/s*}" "${tx_e%% MB/s*}")" \
    "$(ratio "$rt_e" "$rt_p")"
}
