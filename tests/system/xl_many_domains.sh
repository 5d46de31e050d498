#!/usr/bin/env bash
# 200 tiny domains at once (Xen has no small cap on domains): every `xl create` succeeds,
# every domain is listed, every monitor got its event subscription (none failed), and the
# monitor of the last one still acts on its shutdown. kxend holds more than the default
# 1024 descriptors here: the daemon skeleton raised its soft limit.
. "$KXEN_SRC/tests/system/xl_common.sh"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
N=200
for i in $(seq $N); do write_cfg "$d/t$i.cfg" "t$i" 'memory = 4'; done
xl list >/dev/null
start=$(date +%s)
fails=0
for b in $(seq 0 20 $((N - 1))); do
  pids=()
  for i in $(seq $((b + 1)) $((b + 20))); do
    xl create -q "$d/t$i.cfg" 2>"$d/t$i.err" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
done
echo "# $N creates in $(($(date +%s) - start)) s; kxend holds $(ls "/proc/$(cat "$KXEN_RUNDIR/kxend.pid")/fd" | wc -l) fds"
cat "$d"/*.err | sort | uniq -c | head -3 | sed 's/^/# /'
check "$N xl creates at once all succeed" test "$fails" -eq 0
check "xl list shows all $N domains" test "$(xl list | grep -c '^t[0-9]')" -eq $N
bad=$(grep -l -i "no space\|cannot\|fail" "$KXEN_RUNDIR"/xl-t*.log 2>/dev/null | wc -l)
check "no monitor failed (event subscriptions for every domain)" test "$bad" -eq 0
xl shutdown "t$N"
check "the last domain's monitor still acts on its shutdown (destroyed)" \
  wait_for 20 bash -c "! xl domid t$N >/dev/null 2>&1"
