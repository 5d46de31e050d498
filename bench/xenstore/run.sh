#!/usr/bin/env bash
# xenstore benchmark: the same client (xsbench, linked against Debian's libxenstore) measures
# Debian's C xenstored (Xen 4.17, run through the hypervisor shim) and our xenstored in one run,
# each on a private socket, and prints both figures side by side.
set -u
src=${KXEN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${KXEN_BUILD:-$src/build}
xen_xsd=/usr/lib/xen-4.17/bin/xenstored
bench=$build/bench/xsbench shim=$build/lib/kxen-xsd-shim.so ours=$build/bin/xenstored
for f in "$bench" "$shim" "$ours" "$xen_xsd"; do
    [ -e "$f" ] || { echo "xenstore bench: missing $f (make bench builds it)"; exit 1; }
done
dir=$(mktemp -d /tmp/kxen-xsbench-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT

# run_one NAME CMD...: starts a daemon on $dir/NAME/socket, runs the client, stops the daemon.
run_one() {
    local name=$1 i
    shift
    mkdir -p "$dir/$name"
    XENSTORED_RUNDIR=$dir/$name "$@" >"$dir/$name/log" 2>&1 &
    pids+=($!)
    for ((i = 0; i < 100; i++)); do [ -S "$dir/$name/socket" ] && break; sleep 0.05; done
    XENSTORED_RUNDIR=$dir/$name "$bench" >"$dir/$name.out" 2>"$dir/$name.err" ||
        { echo "xenstore bench: client failed against $name: $(cat "$dir/$name.err")"; return 1; }
    kill "${pids[-1]}" 2>/dev/null
}
run_one xen env LD_PRELOAD="$shim" "$xen_xsd" -N || exit 1
run_one kxen "$ours" -N --log-level warn || exit 1

# Table: higher is better for ops/s, lower for ms and us; "kxen gain" is always better/worse.
awk '
FNR == NR { xv[$1] = $2; unit[$1] = $3; order[n++] = $1; next }
{ kv[$1] = $2 }
END {
    printf "%-22s %14s %14s %9s  %s\n", "operation", "Debian C xsd", "kxen xsd", "kxen gain", "unit"
    for (i = 0; i < n; i++) {
        k = order[i]
        if (!(k in kv)) continue
        g = unit[k] == "ops/s" ? kv[k] / xv[k] : xv[k] / kv[k]
        printf "%-22s %14s %14s %8.2fx  %s\n", k, xv[k], kv[k], g, unit[k]
    }
}' "$dir/xen.out" "$dir/kxen.out"
