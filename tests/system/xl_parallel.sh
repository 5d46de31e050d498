#!/usr/bin/env bash
# Many `xl create` at the same time: their xenstore transactions all add children under
# /local/domain and /vm and so conflict; every create must still succeed (libkxl retries with
# a jittered backoff, as Xen's libxl retries), every guest must come up, and a parallel
# `xl shutdown -a -w` must take them all down.
. "$KXEN_SRC/tests/system/xl_common.sh"
n=16
check "services start" xl list
pids=()
for i in $(seq 1 $n); do
  write_cfg "$KXEN_RUNDIR/p$i.cfg" "p$i"
  xl create -q "$KXEN_RUNDIR/p$i.cfg" 2>"$KXEN_RUNDIR/create-$i.err" &
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
cat "$KXEN_RUNDIR"/create-*.err | sed 's/^/# /'
check "$n parallel xl create all succeed" [ "$failed" -eq 0 ]
check "$n domains are listed" wait_for 20 bash -c "[ \$(xl list | awk 'NR > 2' | wc -l) -eq $n ]"
check "every guest reached its shutdown watch" wait_for 30 bash -c \
  "[ \$(xenstore-ls -f /local/domain 2>/dev/null | grep -c 'data/hello = \"world\"') -eq $n ]"
check "xl shutdown -a -w takes them all down" timeout 60 xl shutdown -a -w
check "no domain is left" bash -c "[ \$(xl list | awk 'NR > 2' | wc -l) -eq 0 ]"
check "no domain's tree is left in xenstore" bash -c "[ -z \"\$(xenstore-list /local/domain 2>/dev/null | grep -vx 0)\" ]"
