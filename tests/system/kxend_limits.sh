#!/usr/bin/env bash
# Host limits a guest or many domains must not reach: the daemons raise their soft fd limit
# to the hard one; domain-event subscribers (one per monitor) and root's control connections
# have no fixed small cap; a guest issuing refused hypercalls in a loop gets its log lines
# rate-limited (a burst, then one per interval, and a "messages suppressed" count).
. "$KXEN_SRC/tests/lib.sh"
B=$KXEN_BUILD/bin
X=$KXEN_BUILD/tests/kxen-xctool
G=$KXEN_BUILD/guests
for f in "$B/kxend" "$B/xenstored" "$X" "$G/hcfuzz.elf"; do
  [ -e "$f" ] || skip_all "$f not built"
done
R=$KXEN_RUNDIR
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait' EXIT

# soft_nofile PID / hard_nofile PID: the process's open-files limits.
soft_nofile() { awk '/^Max open files/ {print $4}' "/proc/$1/limits"; }
hard_nofile() { awk '/^Max open files/ {print $5}' "/proc/$1/limits"; }

hard=$(ulimit -Hn)
(ulimit -Sn 256 && exec "$B/kxend" -N --accel soft --log-file "$R/kxend.log") 2>"$R/kxend.err" &
kp=$!
pids+=($kp)
wait_for 10 test -S "$R/kxend.sock" || { not_ok "kxend listens"; exit 1; }
(ulimit -Sn 256 && exec "$B/xenstored" -N -L "$R/xenstored.log") 2>"$R/xenstored.err" &
sp=$!
pids+=($sp)
wait_for 10 test -S "$R/socket" || not_ok "xenstored listens"
if [ "$hard" = unlimited ] || [ "$hard" -le 256 ]; then
  skip "kxend raised its soft fd limit to the hard one" "hard limit $hard"
  skip "xenstored raised its soft fd limit to the hard one" "hard limit $hard"
else
  check "kxend started with a soft fd limit of 256 raised it to the hard one ($hard)" \
    test "$(soft_nofile $kp)" = "$(hard_nofile $kp)"
  check "xenstored started with a soft fd limit of 256 raised it to the hard one ($hard)" \
    test "$(soft_nofile $sp)" = "$(hard_nofile $sp)"
fi

# 100 monitors waiting on one domain's events at once (Xen has no such cap).
id=$("$X" create waited 4096 1)
wp=()
for i in $(seq 100); do
  timeout 30 "$X" wait "$id" 25 >"$R/wait.$i" 2>&1 &
  wp+=($!)
done
sleep 2
"$X" destroy "$id"
wait "${wp[@]}"
n=$(cat "$R"/wait.* | grep -c '^destroyed')
grep -h -v '^destroyed' "$R"/wait.* | sort | uniq -c | head -3 | sed 's/^/# /'
check "100 event subscribers at once each see the domain destroyed ($n did)" test "$n" -eq 100

# Root's connections are never capped below the fd limit: 300 held open, then a call works.
python3 - "$R/kxend.sock" 300 >"$R/hold.out" 2>&1 <<'PY' &
import socket, sys, time
socks = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    socks.append(s)
print("holding", len(socks), flush=True)
time.sleep(8)
PY
hp=$!
check "300 connections to kxend are open at once" wait_for 10 grep -q "holding 300" "$R/hold.out"
sleep 0.5
check "with 300 root connections held open, root's toolstack still gets in" \
  bash -c "timeout 5 '$X' hello | grep -q accel=soft"
kill $hp 2>/dev/null; wait $hp 2>/dev/null

# A guest flooding refused hypercalls: its log lines are rate-limited. Six seconds, so even a
# guest slowed ~10x by a loaded host refuses more than the burst and lines get suppressed.
secs=6
timeout 60 "$X" run flood 32768 "$G/hcfuzz.elf" "seed=2 secs=$secs" 40 >"$R/flood.out" 2>&1
lines=$(grep -c "gnttab: d[0-9]" "$R/kxend.log")
supp=$(grep -c "messages suppressed" "$R/kxend.log")
echo "# $lines grant lines, $supp suppression notes in kxend.log ($(wc -c <"$R/kxend.log") bytes)"
# The bound: a burst of 10, then one per 500 ms, plus the suppression notes.
check "a guest's refused grant operations log at most a burst and then 2 lines a second" \
  test "$lines" -le $((10 + 2 * (secs + 4)))
check "the lines dropped are counted (\"N messages suppressed\")" test "$supp" -ge 1

# Memory: a domain whose RAM does not fit in what the host has free is refused (as Xen);
# --overcommit accepts it. Domains are only created here: their RAM is never touched.
availkb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
bigkb=$((availkb * 3 / 4 / 4096 * 4096))
if [ "$bigkb" -gt $((64 << 20)) ] || [ "$bigkb" -lt 65536 ]; then
  skip "a domain that does not fit in free memory is refused" "host memory out of range"
else
  id1=$("$X" create fits "$bigkb" 1)
  check "a domain of 3/4 of the free memory ($((bigkb >> 10)) MiB) is created" test -n "$id1"
  rc=0
  out=$("$X" create toomuch "$bigkb" 1 2>&1) || rc=$?
  echo "# $out"
  check "a second one, which does not fit, is refused (ENOMEM)" \
    bash -c "test $rc -ne 0 && grep -q 'Cannot allocate memory' <<<\"\$1\"" _ "$out"
  [ -n "$id1" ] && "$X" destroy "$id1"
  mkdir -p "$R/oc"
  KXEN_RUNDIR=$R/oc "$B/kxend" -N --accel soft --overcommit --log-file "$R/oc/kxend.log" 2>"$R/oc/err" &
  op=$!
  pids+=($op)
  wait_for 10 test -S "$R/oc/kxend.sock"
  a=$(KXEN_RUNDIR=$R/oc "$X" create oc1 "$bigkb" 1) b=$(KXEN_RUNDIR=$R/oc "$X" create oc2 "$bigkb" 1)
  check "kxend --overcommit accepts both" test -n "$a" -a -n "$b"
  kill $op; wait $op
fi
