#!/usr/bin/env bash
# Domain ids are handed out as Xen does: the next free id after the last one given (a "rover"),
# so a destroyed domain's id is not reused at once (it comes back only after the ids wrap at
# 0x7fef); a restart (on_reboot=restart) gets a new id; xl's commands follow the name.
. "$KXEN_SRC/tests/system/xl_common.sh"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
for n in a b c e; do write_cfg "$d/$n.cfg" "$n" 'on_poweroff = "preserve"'; done

xl create -q -p -e "$d/a.cfg"
a=$(xl domid a)
check "the first domain gets id 1" test "$a" = 1
check "xl destroy a" xl destroy a
xl create -q -p -e "$d/b.cfg"
b=$(xl domid b)
check "the next domain gets the next id, not the freed one ($b after $a)" test "$b" = $((a + 1))
xl create -q -p -e "$d/c.cfg"
c=$(xl domid c)
check "and the one after that id $((b + 1))" test "$c" = $((b + 1))
xl destroy b
xl create -q -p -e "$d/a.cfg"
check "a free id below the last one given is skipped (new a = $((c + 1)))" \
  test "$(xl domid a)" = $((c + 1))
xl destroy a; xl destroy c

# A restart builds a new domain: a new id, as on Xen.
write_cfg "$d/r.cfg" r 'on_reboot = "restart"'
xl create -q "$d/r.cfg"
r1=$(xl domid r)
wait_for 20 console_has r "waiting for control/shutdown"
check "xl reboot -w of an on_reboot=restart domain" xl reboot -w r
wait_for 20 sh -c "xl domid r >/dev/null 2>&1 && [ \"\$(xl domid r)\" != $r1 ]"
r2=$(xl domid r 2>/dev/null)
check "the restarted domain has a new id ($r2 after $r1)" test "$r2" = $((r1 + 1))
check "xl destroy r" xl destroy r
check "no domain is left" test "$(xl list | wc -l)" -eq 2
