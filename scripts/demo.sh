#!/usr/bin/env bash
# The demo `make run` boots: the `hello` PV guest under xl in a private run directory (never a
# real /run/kxen): its console as `xl create -c` shows it, `xl list`, its xenstore tree, then
# `xl shutdown -w` (the guest sees control/shutdown and powers off) and the services stop.
#   scripts/demo.sh [BUILD]     KXEN_ACCEL=soft|kvm picks the accelerator (default: auto)
set -u
build=$(cd "${1:-build}" && pwd) || { echo "demo: no build directory ${1:-build}" >&2; exit 1; }
bin=$build/bin
for p in xl kxend xenstored xenconsoled xenstore-ls kxen-services; do
  [ -x "$bin/$p" ] || { echo "demo: $bin/$p is missing: run make first" >&2; exit 1; }
done
[ -f "$build/guests/hello.elf" ] || { echo "demo: $build/guests/hello.elf is missing" >&2; exit 1; }

rundir=$(mktemp -d /tmp/kxen-demo-XXXXXX)
export KXEN_RUNDIR=$rundir XENSTORED_RUNDIR=$rundir PATH=$bin:$PATH
console_pid=
cleanup() {
  [ -n "$console_pid" ] && kill "$console_pid" 2>/dev/null
  kxen-services stop >/dev/null 2>&1
  rm -rf "$rundir"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cat >"$rundir/hello.cfg" <<EOF
# The demo guest: kxen's hello PV guest.
name = "hello"
kernel = "$build/guests/hello.elf"
memory = 16
vcpus = 1
on_poweroff = "destroy"
on_reboot = "restart"
EOF

step "xl create -c $rundir/hello.cfg   (services start on first use: kxend, xenstored, xenconsoled)"
start=$(date +%s%N)
xl create -c "$rundir/hello.cfg" </dev/null &
console_pid=$!
log=$rundir/console/guest-hello.log
for ((i = 0; i < 200; i++)); do
  grep -q "waiting for control/shutdown" "$log" 2>/dev/null && break
  sleep 0.05
done
if ! grep -q "waiting for control/shutdown" "$log" 2>/dev/null; then
  echo "demo: the guest did not reach its shutdown watch; logs in $rundir:" >&2
  tail -n 5 "$rundir"/*.log >&2
  exit 1
fi
echo "   [guest up and waiting, $(( ($(date +%s%N) - start) / 1000000 )) ms after xl create]"

step "xl list"
xl list
step "xenstore-ls -p /local/domain/$(xl domid hello)   (permissions: n0,rN = dom0 owns, guest reads)"
xenstore-ls -p "/local/domain/$(xl domid hello)"
step "xl shutdown -w hello   (the guest watches control/shutdown)"
xl shutdown -w hello
wait "$console_pid" 2>/dev/null
console_pid=
step "xl list   (hello is gone; its xenstore nodes too)"
xl list
xenstore-ls /local/domain | grep -c . | sed 's/^/   xenstore nodes under \/local\/domain: /'
step "kxen-services stop"
kxen-services stop
echo
echo "kxen demo: done (accelerator: $(grep -o 'with the [a-z]* accelerator' "$rundir/kxend.log" | head -1 | cut -d' ' -f3))"
