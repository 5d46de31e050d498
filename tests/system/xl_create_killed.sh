#!/usr/bin/env bash
# Half-built domains (docs/reliability.md): `xl create` killed at any point of the build
# (Ctrl-C or SIGKILL; before the domain exists, right after, and while a hotplug script
# blocks it after the introduction) leaves no paused domain holding RAM: kxend destroys a
# domain whose builder's control connection went before the build finished, and xenstored
# and xenconsoled drop their mappings of it. A kernel path that is a FIFO is refused before
# any domain exists instead of blocking. `xl create -p` still leaves its domain paused.
. "$KXEN_SRC/tests/system/xl_common.sh"
X=$KXEN_BUILD/tests/kxen-xctool
[ -x "$X" ] || skip_all "$X not built"
[ -x "$KXEN_BUILD/bin/kxen-devd" ] || skip_all "kxen-devd not built"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"
xl list >/dev/null 2>&1 # the services
# guests: the domains kxend has besides dom0.
guests() { "$X" list | awk '$1 != 0 && $1 ~ /^[0-9]+$/'; }
no_guest_ram() { ! grep -q kxen-guest-ram "/proc/$1/maps"; }
sp=$(cat "$KXEN_RUNDIR/xenstored.pid") cp=$(cat "$KXEN_RUNDIR/xenconsoled.pid")

mkfifo "$d/kernel.fifo"
write_cfg "$d/fifo.cfg" fifo
sed -i "s|^kernel = .*|kernel = \"$d/kernel.fifo\"|" "$d/fifo.cfg"
rc=0
out=$(timeout 20 xl create -q "$d/fifo.cfg" 2>&1) || rc=$?
echo "# fifo kernel: status $rc: $out"
check "a FIFO kernel is refused at once instead of blocking" test "$rc" -ne 0 -a "$rc" -ne 124
check "saying it is not a regular file" grep -q "kernel $d/kernel.fifo is not a regular file" <<<"$out"
check "and no domain was created for it" test -z "$(guests)"

# A vif hotplug script that blocks the build after the introduction until it is killed.
cat >"$d/vif-block" <<EOS
#!/bin/sh
[ "\$1" = add ] || exit 0
echo \$\$ >"$d/script.pid"
exec sleep 60
EOS
chmod +x "$d/vif-block"
write_cfg "$d/block.cfg" block "vif = [ 'script=$d/vif-block' ]"
for sig in KILL INT; do
  rm -f "$d/script.pid"
  # A background job of a script ignores SIGINT: give xl the default, as at a terminal.
  env --default-signal=INT xl create -q "$d/block.cfg" >/dev/null 2>&1 &
  xlp=$!
  wait_for 20 test -s "$d/script.pid"
  id=$(guests | awk '{print $1}' | head -1)
  check "SIG$sig: the build reached the hotplug script (domain $id introduced)" \
    xenstore-exists "/local/domain/${id:-none}/name"
  kill -"$sig" "$xlp"
  wait "$xlp" 2>/dev/null
  kill "$(cat "$d/script.pid")" 2>/dev/null
  check "SIG$sig: kxend destroys the half-built domain" wait_for 10 bash -c "test -z \"\$($(declare -f guests); X=$X guests)\""
  check "SIG$sig: and says why" grep -q "domain $id (block): its builder went away before finishing it: destroying it" "$KXEN_RUNDIR/kxend.log"
  check "SIG$sig: xenstored removes its nodes and backend directories" wait_for 10 bash -c \
    "! xenstore-exists /local/domain/$id && ! xenstore-exists /local/domain/0/backend/vif/$id"
  check "SIG$sig: xenstored and xenconsoled drop their mappings of it" \
    wait_for 10 bash -c "$(declare -f no_guest_ram); no_guest_ram $sp && no_guest_ram $cp"
  xl destroy "$id" >/dev/null 2>&1
done

# SIGKILL at a range of moments through a plain build; whatever the moment, each domain
# either was finished (it runs) or is gone: none stays paused.
write_cfg "$d/quick.cfg" quick
for delay in 0 0.02 0.05 0.1 0.2 0.4; do
  xl create -q "$d/quick.cfg" >/dev/null 2>&1 &
  xlp=$!
  sleep "$delay"
  kill -KILL "$xlp" 2>/dev/null
  wait "$xlp" 2>/dev/null
  sleep 0.5
  left=$(guests)
  echo "# killed after ${delay}s: ${left:-no domain}"
  check "killed after ${delay}s: no paused domain is left" bash -c "! grep -q paused <<<'$left'"
  for id in $(awk '{print $1}' <<<"$left"); do xl destroy "$id" >/dev/null 2>&1; done
done

write_cfg "$d/p.cfg" keep
check "xl create -p still works" xl create -q -p "$d/p.cfg"
sleep 0.5
check "and its domain stays, paused, after xl exits" bash -c "xl list keep | awk 'NR == 2 { print \$5 }' | grep -q '^..p'"
check "xl unpause runs it" xl unpause keep
check "it prints its banner" wait_for 20 console_has keep "Hello from kxen"
