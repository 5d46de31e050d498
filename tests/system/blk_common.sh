# Helpers shared by the blk_*.sh system tests (sourced, not run: not executable). Disks are
# given to guests as xl.cfg disk= entries (or xl block-attach); xl starts kxen-devd, whose
# worker for each guest runs drivers/block's blkback.
. "$KXEN_SRC/tests/system/xl_common.sh"
[ -x "$KXEN_BUILD/bin/kxen-devd" ] || skip_all "$KXEN_BUILD/bin/kxen-devd not built"
for f in "$guests/blktest.elf" "$guests/blkhostile.elf"; do
  [ -e "$f" ] || skip_all "$f not built"
done
XVDA=51712 # (202 << 8) | (0 << 4): xvda
blk_base=$KXEN_RUNDIR

# blk_accels: the accelerators to run on (soft always; kvm when kxend can use it here).
blk_accels() { echo soft; if accel_usable kvm 2>/dev/null; then echo kvm; fi; }

# blk_setup ACCEL: a fresh run directory and services for ACCEL.
blk_setup() {
  kxen-services stop >/dev/null 2>&1
  export KXEN_ACCEL=$1 KXEN_RUNDIR=$blk_base/$1 XENSTORED_RUNDIR=$blk_base/$1
  mkdir -p "$KXEN_RUNDIR"
}

# blk_guest [-p] NAME IMAGE EXTRA [DISKSPEC...]: creates a guest of IMAGE (an .elf in guests/)
# with kernel command line EXTRA and the disks, paused with -p; prints its domid.
blk_guest() {
  local paused=
  if [ "$1" = -p ]; then paused=-p; shift; fi
  local name=$1 image=$2 extra=$3 disks= d
  shift 3
  for d in "$@"; do disks="$disks${disks:+, }'$d'"; done
  { printf 'name = "%s"\nkernel = "%s"\nmemory = 32\nextra = "%s"\n' "$name" \
      "$guests/$image.elf" "$extra"
    [ -z "$disks" ] || printf 'disk = [ %s ]\n' "$disks"; } >"$KXEN_RUNDIR/$name.cfg"
  # Always created paused: a short guest may power off (and be destroyed by xl) before
  # `xl domid` runs on a loaded host. Unpaused here unless the caller asked for -p.
  local id
  timeout 60 xl create -q -p "$KXEN_RUNDIR/$name.cfg" >&2 && id=$(xl domid "$name") || return 1
  [ -n "$paused" ] || xl unpause "$id" >&2 || return 1
  echo "$id"
}

# blk_result DOMID [SECONDS]: waits for the guest's RESULT line; 0 when it is PASS. The guest's
# failed checks are echoed as comments.
blk_result() {
  wait_for "${2:-60}" bash -c "xl dmesg | grep -q '^(d$1) RESULT'"
  xl dmesg | grep -E "^\(d$1\) not ok" | sed 's/^/# /'
  xl dmesg | grep -q "^(d$1) RESULT PASS"
}
blk_dmesg_has() { xl dmesg | grep -q "^(d$1) $2"; }
# blk_gone NAME: the domain no longer exists (powered off and destroyed by xl).
blk_gone() { wait_for 20 bash -c "! xl domid '$1' >/dev/null 2>&1"; }
# devd_alive: the devd supervisor still runs.
devd_alive() { kill -0 "$(cat "$KXEN_RUNDIR/kxen-devd.pid" 2>/dev/null)" 2>/dev/null; }

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
