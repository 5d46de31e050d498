#!/usr/bin/env bash
# A migration receiver (`xl migrate-receive`) killed with SIGKILL leaves nothing at the
# destination (a second run directory, as xl_migrate.sh), whatever the moment: before its
# domain exists, while the pages stream in (the domain built, its disk's and vif's backends,
# devd's worker and the tap up), in the middle of the last round, and after the sender's go
# reached it but before it unpaused its copy. Each time the source runs on, and within a
# bounded wait the destination has no domain in kxend, no /local/domain/N, /vm or /libxl
# entry, no backend directory, no devd worker, no tap and no mapping of the guest's memory in
# xenstored or xenconsoled (the build guard tore down what the build had made,
# docs/migration.md). `xl restore` killed while its image streams in leaves nothing either,
# nor does a domain monitor killed in the middle of a restart, and a receiver that finishes
# keeps its domain. In a network namespace of the test's own (the vif's tap and bridge); runs
# on KXEN_ACCEL (soft unless set).
. "$KXEN_SRC/tests/system/net_common.sh"
guest=$KXEN_BUILD/tests/savetest.elf
[ -f "$guest" ] || skip_all "$guest not built"
# The destination's ids start after 100: its taps are told from the source's by their names.
two_hosts --first-domid 100

# killrelay MODE HOST CMD...: the ssh of xl migrate -s. Relays the stream to the receiver and
# its answers back, kills the receiver (SIGKILL) at the moment MODE names, then waits until
# the receiver's stdout closes (its guard holds it until it has cleaned up) and exits 1.
#   bytes:0   once the receiver sent its banner, before any of the stream;
#   bytes:N   after N bytes of the stream, once the domain's devd worker runs;
#   pause     half-way through the first data after a pause of more than 0.8 s once the
#             source's copy is NAME--migratedaway (the guest delaying its suspend): the
#             last round;
#   go        when the receiver says it holds the domain: it is stopped (SIGSTOP), the
#             sender's go is passed on to it, then it is killed.
# What the destination held just before the kill goes to HOST/at-kill.
killrelay=$src/killrelay
cat >"$killrelay" <<'PY'
#!/usr/bin/env python3
import glob, os, select, signal, subprocess, sys, time
mode, host = sys.argv[1], sys.argv[2]
env = dict(os.environ, KXEN_RUNDIR=host, XENSTORED_RUNDIR=host)
recv = subprocess.Popen(['sh', '-c', 'exec ' + ' '.join(sys.argv[3:])], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, env=env)
rin, rout = recv.stdin.fileno(), recv.stdout.fileno()

def snapshot():
    s = subprocess.run(['sh', '-c', 'xl list; xenstore-ls -f /local/domain/0/backend | grep /state; '
                        'ls devd-d*.pid; ip -o link | grep -o " vif[0-9]*\\.[0-9]*"'],
                       cwd=host, env=env, capture_output=True, text=True)
    with open(os.path.join(host, 'at-kill'), 'w') as f:
        f.write(s.stdout)

def kill(what):
    snapshot()
    recv.kill()
    recv.wait()
    print('killrelay: receiver killed ' + what, file=sys.stderr, flush=True)
    end = time.time() + 60
    while time.time() < end and select.select([rout], [], [], 1)[0]:
        if not os.read(rout, 65536):
            break
    sys.exit(1)

def stopping():
    # The sender renames its copy before it asks the guest to suspend (this runs on its host).
    s = subprocess.run(['xl', 'list'], capture_output=True, text=True)
    return '--migratedaway' in s.stdout

def worker_up():
    end = time.time() + 20
    while time.time() < end and not glob.glob(os.path.join(host, 'devd-d*.pid')):
        time.sleep(0.05)

want = int(mode.split(':')[1]) if mode.startswith('bytes:') else -1
sent, last, said = 0, time.time(), b''
while True:
    r = select.select([0, rout], [], [])[0]
    if rout in r:
        data = os.read(rout, 65536)
        if not data:
            break
        said += data
        if mode == 'go' and b'domain received, ready to unpause' in said:
            os.kill(recv.pid, signal.SIGSTOP)
            os.write(1, data)
            go = b''
            while len(go) < len(b'domain is yours, you are cleared to unpause') + 1:
                more = os.read(0, 4096)
                if not more:
                    break
                go += more
            os.write(rin, go)
            kill('after the go reached it, before it unpaused its copy')
        os.write(1, data)
        if want == 0 and b'\n' in said:
            kill('before the stream')
    if 0 in r:
        data = os.read(0, 65536)
        if not data:
            recv.stdin.close()
            break
        now = time.time()
        if mode == 'pause' and sent and now - last > 0.8 and stopping():
            os.write(rin, data[:len(data) // 2])
            kill('%d bytes into the last round' % (len(data) // 2))
        if want > 0 and sent + len(data) >= want:
            os.write(rin, data[:want - sent])
            worker_up()
            kill('%d bytes into the stream' % want)
        os.write(rin, data)
        sent, last = sent + len(data), now
while os.read(rout, 65536):
    pass
sys.exit(recv.wait())
PY
chmod +x "$killrelay"

cf=$KXEN_RUNDIR/cfg # not $d: lib.sh's check() has a local of that name
truncate -s 4M "$cf/disk.img"
# A ramdisk of random bytes the guest ignores: 1 MiB of its memory that does not compress,
# so that its saved image is larger than what xl restore reads ahead (256 KiB) and can be cut
# in the middle of its pages.
head -c 1M /dev/urandom >"$cf/noise"
{ echo 'name = "mk"'; echo "kernel = \"$guest\""; echo "ramdisk = \"$cf/noise\""; echo 'memory = 16'
  echo 'cmdline = "suspend-delay=1500"'; echo "disk = [ '$cf/disk.img,raw,xvda,rw' ]"
  echo "vif = [ 'mac=00:16:3e:00:03:0a,bridge=kxbr0' ]"; } >"$cf/mk.cfg"

dm() { xl dmesg | grep "^(d$1) savetest: "; }
count() { dm "$1" | grep -cF -- "$2"; }
last_tick() { dm "$1" | sed -n 's/^.*savetest: tick \([0-9]*\)$/\1/p' | tail -1; }
ticks_past() { local t; t=$(last_tick "$1"); [ -n "$t" ] && [ "$t" -gt "$2" ]; }
# What the destination (or, with src, the source) may still hold of a guest, one line each.
left_at() {
  local at=$1 h=$dst; [ "$at" = src ] && h=$src
  KXEN_RUNDIR=$h XENSTORED_RUNDIR=$h xl list | tail -n +3 | sed 's/^/kxend: /'
  # dom0's backend directory stays once its last device went, as after xl destroy.
  XENSTORED_RUNDIR=$h guest_nodes_left | grep -vx ' backend = ""' | sed 's/^/xenstore: /'
  XENSTORED_RUNDIR=$h xenstore-list /vm 2>/dev/null | sed 's/^/xenstore: \/vm\//'
  XENSTORED_RUNDIR=$h xenstore-list /libxl 2>/dev/null | sed 's/^/xenstore: \/libxl\//'
  ls "$h" | grep '^devd-d[0-9]*\.pid$' | sed 's/^/devd worker: /'
  # The destination's taps, or (once the guest left it) the source's.
  local taps=' vif1[0-9][0-9]\.[0-9]*'; [ "$at" = src ] && taps=' vif[0-9]\.[0-9]*'
  ip -o link | grep -o "$taps" | sed 's/^/tap:/'
  for p in xenstored xenconsoled; do
    grep -q kxen-guest-ram "/proc/$(cat "$h/$p.pid")/maps" 2>/dev/null && echo "$p maps guest RAM"
  done
  return 0
}
clean_at() { [ -z "$(left_at "$1")" ]; }

check "the guest with a disk and a vif starts" xl create -q "$cf/mk.cfg"
id=$(xl domid mk)
wait_for 30 sh -c "xl dmesg | grep -q '^(d$id) savetest: tick 3'"
check "the source's devd serves it (worker and tap)" \
  sh -c "test -e '$src/devd-d$id.pid' && ip link show vif$id.0 >/dev/null"

# attempt MODE WHAT EVIDENCE: one migration whose receiver killrelay kills at MODE; EVIDENCE
# is a pattern of what the destination held at the kill (empty: nothing of the guest).
attempt() {
  local mode=$1 what=$2 ev=$3 n rc=0
  echo "# $(date +%T.%N) $what"
  n=$(count "$id" "resumed (rc=1)")
  rm -f "$dst/at-kill"
  xl migrate --suspend-timeout 20 -s "$killrelay $mode" mk "$dst" 2>"$src/err" || rc=$?
  grep -v "round\|Ready" "$src/err" | sed 's/^/# /'
  sed 's/^/# at the kill: /' "$dst/at-kill" 2>/dev/null
  check "$what: the receiver was killed and xl migrate fails" \
    sh -c "test $rc -ne 0 && grep -q 'killrelay: receiver killed' '$src/err'"
  if [ -n "$ev" ]; then
    check "$what: the destination had built the domain ($ev)" grep -q -- "$ev" "$dst/at-kill"
  else
    check "$what: the destination had no domain yet" sh -c "! grep -q ' mk--incoming ' '$dst/at-kill'"
  fi
  check "$what: the source domain is there under its name" test "$(xl domid mk 2>/dev/null)" = "$id"
  if [ "$mode" = pause ] || [ "$mode" = go ]; then
    wait_for 20 sh -c "[ \$(xl dmesg | grep -c '^(d$id) savetest: resumed (rc=1)') -gt $n ]"
    check "$what: the guest's suspend was cancelled" test "$(count "$id" "resumed (rc=1)")" -gt "$n"
  fi
  local t; t=$(last_tick "$id")
  wait_for 20 ticks_past "$id" "$((${t:-0} + 1))"
  check "$what: the guest keeps counting" ticks_past "$id" "$((${t:-0} + 1))"
  wait_for 10 clean_at dst
  check "$what: nothing is left at the destination" clean_at dst
  left_at dst | sed 's/^/# left: /'
}
attempt bytes:0 "killed before the stream" ""
attempt bytes:4096 "killed while the pages stream" "devd-d1[0-9][0-9].pid"
attempt pause "killed in the last round" "vif1[0-9][0-9].0"
attempt go "killed after the go, before the unpause" "mk--incoming .* --p"

check "a receiver that finishes keeps its domain: xl migrate succeeds" \
  xl migrate -s "$fakessh" mk "$dst"
nid=$(at_dst xl domid mk)
sleep 1
check "the migrated guest runs at the destination under its name, its devices served" \
  sh -c "test -n '$nid' && test -e '$dst/devd-d$nid.pid' && ip link show vif$nid.0 >/dev/null"
wait_for 10 clean_at src
check "and the source has nothing of it left" clean_at src
left_at src | sed 's/^/# left at the source: /'

# xl restore killed while its image streams in (from a FIFO that stops half-way): the domain
# is built and paused, its pages are awaited; SIGKILL; the guard tears it down.
check "xl save at the destination" at_dst xl save mk "$cf/mk.img"
mkfifo "$cf/img.fifo"
(head -c $(($(stat -c %s "$cf/mk.img") / 2)) "$cf/mk.img"; exec sleep 30) >"$cf/img.fifo" &
feeder=$!
xl restore "$cf/img.fifo" 2>"$src/err-restore" &
rp=$!
wait_for 20 sh -c "ls '$src' | grep -q '^devd-d[0-9]*\.pid$'"
check "xl restore built the domain (paused, its devd worker up) while its image streams in" \
  sh -c "xl list | grep -q '^mk .* --p' && ls '$src' | grep -q '^devd-d[0-9]*\.pid$'"
xl list | sed 's/^/# /'
kill -KILL "$rp"
wait "$rp" 2>/dev/null
kill "$feeder" 2>/dev/null
wait "$feeder" 2>/dev/null
wait_for 10 clean_at src
check "xl restore killed midway: nothing is left" clean_at src
left_at src | sed 's/^/# left: /'
sed 's/^/# /' "$src/err-restore"

# The guard tears down only the domain its build reported: the id and its uuid (kxend's, or
# the /vm path of a directory kxend no longer has a domain for). kxl-orphan runs the same
# teardown on a named domain.
orphan=$KXEN_BUILD/tests/kxl-orphan
other=00000000-0000-4000-8000-000000000001
check "a guest to guard starts" xl create -q "$cf/mk.cfg"
gid=$(xl domid mk)
guuid=$(xenstore-read "/local/domain/$gid/vm" | sed 's|^/vm/||')
check "its id with another uuid: left alone" \
  sh -c "test \"\$('$orphan' '$gid' $other)\" = 'left alone'"
check "and the guest is untouched" sh -c "xl list | grep -q '^mk ' && xenstore-exists /local/domain/$gid/vm"
check "its id with its uuid: torn down" sh -c "test \"\$('$orphan' '$gid' '$guuid')\" = 'torn down'"
wait_for 10 clean_at src
check "and nothing of it is left" clean_at src
left_at src | sed 's/^/# left: /'
xenstore-write /local/domain/150/name ghost /local/domain/150/vm "/vm/$other"
check "a directory kxend has no domain for, naming another uuid: left alone" \
  sh -c "test \"\$('$orphan' 150 '$guuid')\" = 'left alone' && xenstore-exists /local/domain/150/name"
check "naming the uuid: removed" \
  sh -c "test \"\$('$orphan' 150 $other)\" = 'torn down' && ! xenstore-exists /local/domain/150"

# The monitor's restart (on_reboot = restart) killed while it rebuilds the domain: the test's
# build hold (KXEN_TEST_BUILD_HOLD, libkxl's orphan.c), armed once the first build ran, stops
# the restart's build before the introduce, its pid in the hold file. The new domain, its
# tree, devd's worker and the tap are up, and only the monitor's build guard knows of them.
# SIGKILL to the monitor; the guard tears the half-built domain down.
hold=$cf/rs-hold
truncate -s 1M "$cf/rs.img"
write_cfg "$cf/rs.cfg" rs 'on_reboot = "restart"' "disk = [ '$cf/rs.img,raw,xvda,rw' ]" \
  "vif = [ 'mac=00:16:3e:00:03:0b,bridge=kxbr0' ]"
check "a guest whose on_reboot restarts it starts" \
  env KXEN_TEST_BUILD_HOLD="$hold" xl create -q "$cf/rs.cfg"
wait_for 20 console_has rs "waiting for control/shutdown"
: >"$hold"
xl reboot rs >/dev/null
wait_for 30 test -s "$hold"
mon=$(cat "$hold") nid=$(xl domid rs 2>/dev/null)
held() {
  [ -n "$mon" ] && [ -n "$nid" ] && xenstore-exists "/local/domain/$nid/vm" &&
    test -e "$src/devd-d$nid.pid" && ip link show "vif$nid.0" >/dev/null 2>&1
}
wait_for 10 held
check "the restart is held with domain ${nid:-none} built (its tree, devd worker and tap up)" held
kill -KILL "$mon"
rm -f "$hold"
wait_for 10 clean_at src
check "the monitor killed in its restart: nothing is left of the domain" clean_at src
left_at src | sed 's/^/# left: /'
# The guard keeps no copy of the monitor's connection to kxend: kxend sees the builder go.
check "kxend saw the monitor's build end with it and destroyed the domain itself" \
  grep -q "domain ${nid:-none} (rs): its builder went away before finishing it" "$src/kxend.log"
check "its guard says it tore the domain down" \
  grep -q "restarting rs died before it finished domain ${nid:-none}: its guard tore the domain down" "$src/xl-rs.log"
sed 's/^/# xl-rs.log: /' "$src/xl-rs.log"
exit 0
