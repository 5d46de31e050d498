# Helpers shared by the blk_*.sh system tests (sourced, not run: not executable). The guests
# are built paused by `xl create -p`, their disks are served by blk-harness (drivers/block's
# blkback on the dom0 platform, writing the toolstack's vbd keys), then they are unpaused.
. "$KXEN_SRC/tests/system/xl_common.sh"
H=$KXEN_BUILD/tests/blk-harness
for f in "$H" "$guests/blktest.elf" "$guests/blkhostile.elf"; do
  [ -e "$f" ] || skip_all "$f not built"
done
XVDA=51712 # (202 << 8) | (0 << 4): xvda
XVDB=51728
blk_base=$KXEN_RUNDIR
HPID=

# blk_accels: the accelerators to run on (soft always; kvm when kxend can use it here).
blk_accels() { echo soft; if accel_usable kvm 2>/dev/null; then echo kvm; fi; }

# blk_setup ACCEL: a fresh run directory and services for ACCEL.
blk_setup() {
  kxen-services stop >/dev/null 2>&1
  export KXEN_ACCEL=$1 KXEN_RUNDIR=$blk_base/$1 XENSTORED_RUNDIR=$blk_base/$1
  mkdir -p "$KXEN_RUNDIR"
}

# blk_guest NAME IMAGE EXTRA [MEMORY]: builds a paused guest of IMAGE (an .elf in guests/)
# with kernel command line EXTRA; prints its domid.
blk_guest() {
  printf 'name = "%s"\nkernel = "%s"\nmemory = %s\nextra = "%s"\n' "$1" "$guests/$2.elf" \
    "${4:-32}" "$3" >"$KXEN_RUNDIR/$1.cfg"
  timeout 60 xl create -q -p "$KXEN_RUNDIR/$1.cfg" >&2 && xl domid "$1"
}

# blk_serve DISK...: starts blk-harness on DOMID:DEVID:IMAGE:w|r ... and waits until the keys
# are written.
blk_serve() {
  rm -f "$KXEN_RUNDIR/harness.out"
  "$H" -p "$KXEN_RUNDIR/harness.pid" "$@" >"$KXEN_RUNDIR/harness.out" \
    2>>"$KXEN_RUNDIR/harness.log" &
  HPID=$!
  wait_for 10 grep -qs ready "$KXEN_RUNDIR/harness.out"
}
blk_harness_alive() { [ -n "$HPID" ] && kill -0 "$HPID" 2>/dev/null; }
blk_stop() {
  if blk_harness_alive; then kill "$HPID"; wait "$HPID" 2>/dev/null; fi
  HPID=
}
trap 'blk_stop; kxen-services stop >/dev/null 2>&1' EXIT

# blk_result DOMID [SECONDS]: waits for the guest's RESULT line; 0 when it is PASS. The guest's
# failed checks are echoed as comments.
blk_result() {
  wait_for "${2:-60}" bash -c "xl dmesg | grep -q '^(d$1) RESULT'"
  xl dmesg | grep -E "^\(d$1\) not ok" | sed 's/^/# /'
  xl dmesg | grep -q "^(d$1) RESULT PASS"
}
blk_dmesg_has() { xl dmesg | grep -q "^(d$1) $2"; }

# blk_pattern FILE SIZE SEED: writes the image blktest leaves behind (each 8-byte
# little-endian word at offset o holds o ^ (SEED * 0x9e3779b97f4a7c15) mod 2^64).
blk_pattern() {
  python3 - "$1" "$2" "$3" <<'EOF'
import struct, sys
path, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
k = (seed * 0x9e3779b97f4a7c15) & (2**64 - 1)
with open(path, "wb") as f:
    for base in range(0, size, 1 << 16):
        f.write(struct.pack("<8192Q", *[(base + i * 8) ^ k for i in range(8192)]))
EOF
}
