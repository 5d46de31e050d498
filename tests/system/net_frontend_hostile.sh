#!/usr/bin/env bash
# Hostile store values against the runtime's netfront: a backend-id that is no domain id
# (65536 would become domain 0 in a 16-bit domid, 2^64 would wrap to 0 while being parsed)
# makes netfront_init refuse the vif before it grants anything; the guest reports the refusal
# and nothing reaches the backend's Connected state. Soft only (the check is guest code).
. "$KXEN_SRC/tests/system/net_common.sh"

net_cfg() { # FILE NAME
  printf 'name = "%s"\nkernel = "%s"\nmemory = 16\ncmdline = "pair b"\nvif = [ "bridge=kxbr0" ]\n' \
    "$2" "$guests/nettest.elf" >"$1"
}
dmesg_has() { xl dmesg 2>/dev/null | grep -q -- "$1"; }

n=0
for bad in 65536 18446744073709551616; do
  n=$((n + 1))
  net_cfg "$d/h$n.cfg" "hbid$n"
  check "xl create -p of a guest whose vif will say backend-id=$bad" timeout 60 xl create -q -p "$d/h$n.cfg"
  id=$(xl domid "hbid$n" 2>/dev/null)
  check "the store takes the hostile value" \
    xenstore-write "/local/domain/$id/device/vif/0/backend-id" "$bad"
  xl unpause "hbid$n"
  check "backend-id=$bad: netfront refuses the vif" \
    wait_for 30 dmesg_has "(d$id) not ok 1 - nettest: netfront connects"
  check "backend-id=$bad: and never says it connected" bash -c "! xl dmesg | grep -q '(d$id) nettest: connected'"
  check "backend-id=$bad: its backend never reached Connected" \
    test "$(xenstore-read "/local/domain/0/backend/vif/$id/0/state" 2>/dev/null)" != 4
  xl destroy "hbid$n" >/dev/null 2>&1 || true
done
