# Helpers shared by the xl_*.sh system tests (sourced, not run: not executable).
. "$KXEN_SRC/tests/lib.sh"
export XENSTORED_RUNDIR=$KXEN_RUNDIR
guests=$KXEN_BUILD/guests
for p in xl kxend xenstored xenconsoled xenstore-ls kxen-services; do
  [ -x "$KXEN_BUILD/bin/$p" ] || skip_all "$KXEN_BUILD/bin/$p not built"
done
[ -f "$guests/hello.elf" ] || skip_all "$guests/hello.elf not built"
# Services started by xl are stopped (domains destroyed) whatever the test's outcome.
trap 'kxen-services stop >/dev/null 2>&1' EXIT

# write_cfg FILE NAME [extra lines...]: a hello guest config.
write_cfg() {
  local f=$1 name=$2; shift 2
  { echo "name = \"$name\""; echo "kernel = \"$guests/hello.elf\""; echo "memory = 16"
    for l in "$@"; do echo "$l"; done; } >"$f"
}
# console_has NAME PATTERN: the guest's console log (xenconsoled) contains PATTERN.
console_has() { grep -q -- "$2" "$KXEN_RUNDIR/console/guest-$1.log" 2>/dev/null; }
console_count() { grep -c -- "$2" "$KXEN_RUNDIR/console/guest-$1.log" 2>/dev/null || true; }
# guest_nodes_left: /local/domain's tree without Domain-0's own name and domid (written as
# Xen's xen-init-dom0 does); anything else there (a guest's directory, a backend) is printed.
guest_nodes_left() {
  xenstore-ls /local/domain 2>/dev/null |
    grep -vx -e '0 = ""' -e ' name = "Domain-0"' -e ' domid = "0"'
}
# xs_nodes: every node in the store, one per line.
xs_nodes() { xenstore-ls -f / 2>/dev/null; }
# The accelerator the xl tests run on: KXEN_ACCEL when set, else soft, so the suite does the
# same thing on every machine (--accel auto would pick kvm only where /dev/kvm works). xl
# passes KXEN_ACCEL to the kxend it starts.
export KXEN_ACCEL=${KXEN_ACCEL:-soft}
# accel_usable ACCEL: a kxend with --accel ACCEL starts here (kvm needs a /dev/kvm that runs
# guests; kxend's probe boots a one-instruction guest). Prints kxend's refusal on stderr.
accel_usable() {
  local dir rc
  if [ "$1" = kvm ] && ! kvm_usable; then echo "# no usable /dev/kvm" >&2; return 1; fi
  dir=$(mktemp -d /tmp/kxen-probe-XXXXXX)
  KXEN_RUNDIR=$dir "$KXEN_BUILD/bin/kxend" --accel "$1" --rundir "$dir" \
    --log-file "$dir/kxend.log" 2>"$dir/err"
  rc=$?
  [ -s "$dir/kxend.pid" ] && kill "$(cat "$dir/kxend.pid")" 2>/dev/null
  for _ in $(seq 50); do [ -e "$dir/kxend.sock" ] || break; sleep 0.05; done
  [ $rc -ne 0 ] && sed 's/^/# /' "$dir/err" >&2
  rm -rf "$dir"
  return $rc
}
