# Shared by bench/pvemu/run.sh and tests/system/hvm_pv_compare.sh (sourced, not run): boots
# the emulated-hardware bench guest (guests/hvmtest in bench mode) or a PV guest and reads its
# exit counters (`xl vcpu-exits`). Needs PATH with xl, KXEN_RUNDIR set and services started;
# pvemu_dir is where images, configs and results go.
#   pvemu_hvm NAME OPTIONS DISK [CFG_LINE...]   hvmtest with OPTIONS on hdb, DISK as hda;
#       NAME.log: its bench lines; NAME.marks: "MARK CONSOLE_IOS IO MMIO HYPERCALL HALT OTHER"
#       read in the quiet time after each "bench mark" line
#   pvemu_pv NAME KERNEL CFG_LINES DONE_PATTERN   a PV guest until DONE_PATTERN is on its
#       console; NAME.log: its lines; NAME.exits: "IO MMIO HYPERCALL HALT OTHER" at that point
#   pvemu_phase NAME FROM TO   "IO MMIO HYPERCALL HALT OTHER" between two marks, without the
#       console's port accesses
: "${pvemu_dir:?}"

# pvemu_exits NAME: the counters of NAME's vCPU 0.
pvemu_exits() { xl vcpu-exits "$1" 2>/dev/null | awk 'NR == 2 { print $4, $5, $6, $7, $8 }'; }

pvemu_hvm() {
  local name=$1 opts=$2 disk=$3 id line mark seen=" " t
  shift 3
  printf 'KXEN-HVMBENCH %s\n' "$opts" >"$pvemu_dir/$name.opts"
  truncate -s 4096 "$pvemu_dir/$name.opts"
  {
    printf 'name = "%s"\ntype = "hvm"\nmemory = 32\nkernel = "%s"\n' "$name" "$pvemu_hvmtest"
    printf 'disk = [ "format=raw,vdev=hda,access=rw,target=%s", ' "$disk"
    printf '"format=raw,vdev=hdb,access=ro,target=%s" ]\n' "$pvemu_dir/$name.opts"
    printf 'xen_platform_pci = 0\nserial = "pty"\n'
    for line in "$@"; do echo "$line"; done
  } >"$pvemu_dir/$name.cfg"
  : >"$pvemu_dir/$name.marks"
  xl create -q "$pvemu_dir/$name.cfg" || return 1
  id=$(xl domid "$name") || return 1
  # Up to 10 minutes; each new mark line is answered at once (the guest is quiet for a while).
  for ((t = 0; t < 6000; t++)); do
    xl dmesg | grep "^(d$id) hvmtest: bench" | sed 's/^([^)]*) hvmtest: //' >"$pvemu_dir/$name.log"
    while read -r _ _ mark cios; do
      case $seen in *" $mark "*) continue ;; esac
      seen="$seen$mark "
      echo "$mark ${cios#console_ios=} $(pvemu_exits "$name")" >>"$pvemu_dir/$name.marks"
    done < <(grep '^bench mark ' "$pvemu_dir/$name.log")
    grep -q '^bench done' "$pvemu_dir/$name.log" && break
    sleep 0.1
  done
  xl destroy "$name" >/dev/null 2>&1
  grep -q '^bench done errors=0' "$pvemu_dir/$name.log"
}

pvemu_pv() {
  local name=$1 kernel=$2 cfg=$3 done=$4 id t
  printf 'name = "%s"\nkernel = "%s"\nmemory = 32\n%s\n' "$name" "$kernel" "$cfg" \
    >"$pvemu_dir/$name.cfg"
  xl create -q "$pvemu_dir/$name.cfg" || return 1
  id=$(xl domid "$name") || return 1
  for ((t = 0; t < 6000; t++)); do
    xl dmesg | grep "^(d$id) " | sed 's/^([^)]*) //' >"$pvemu_dir/$name.log"
    grep -q -- "$done" "$pvemu_dir/$name.log" && break
    sleep 0.1
  done
  pvemu_exits "$name" >"$pvemu_dir/$name.exits"
  xl destroy "$name" >/dev/null 2>&1
  grep -q -- "$done" "$pvemu_dir/$name.log"
}

pvemu_phase() {
  awk -v from="$2" -v to="$3" '
    $1 == from { for (i = 3; i <= 7; i++) a[i] = $i }
    $1 == to { for (i = 3; i <= 7; i++) b[i] = $i; c = $2 }
    END { print b[3] - a[3] - c, b[4] - a[4], b[5] - a[5], b[6] - a[6], b[7] - a[7] }' \
    "$pvemu_dir/$1.marks"
}
