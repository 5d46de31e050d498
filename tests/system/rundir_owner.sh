#!/usr/bin/env bash
# The run directory is trusted only when it is ours: a non-root user whose default run
# directory (/tmp/kxen-<uid>) another local user created first, or planted as a symbolic link,
# or left writable by others, gets a refusal naming the directory from every daemon and from
# xl, and nothing is created or written in it. A log file planted as a symbolic link is never
# followed. Root plays both users here (it creates them with useradd and removes them).
. "$KXEN_SRC/tests/lib.sh"
B=$KXEN_BUILD/bin
for b in kxend xenstored xenconsoled xl; do
  [ -x "$B/$b" ] || skip_all "$b not built"
done
[ "$(id -u)" = 0 ] || skip_all "needs root to create a victim and an attacker user"
command -v useradd >/dev/null && command -v setpriv >/dev/null || skip_all "needs useradd and setpriv"

victim=kxrv$$ attacker=kxra$$
cleanup() {
  [ -n "${kp:-}" ] && kill "$kp" 2>/dev/null && wait "$kp" 2>/dev/null
  # A regression may have let the victim's xl start daemons: stop what the victim runs.
  for p in $(ps -u "$victim" -o pid= 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  sleep 0.2
  [ -n "${vdir:-}" ] && rm -rf "$vdir"
  userdel "$victim" 2>/dev/null
  userdel "$attacker" 2>/dev/null
  rm -rf "$KXEN_RUNDIR/target"
  [ -n "${copy:-}" ] && rm -rf "$copy"
}
trap cleanup EXIT
useradd -M -N -r -s /usr/sbin/nologin "$victim" || skip_all "useradd failed"
useradd -M -N -r -s /usr/sbin/nologin "$attacker" || skip_all "useradd failed"
vu=$(id -u "$victim") au=$(id -u "$attacker")
vdir=/tmp/kxen-$vu
rm -rf "$vdir"
# The victim runs with the defaults: no KXEN_RUNDIR, XENSTORED_RUNDIR or XDG_RUNTIME_DIR.
# Called in a subshell (exec: a background one is then the daemon itself).
as() {
  local u=$1; shift
  exec setpriv --reuid="$u" --regid="$u" --clear-groups \
    env -u KXEN_RUNDIR -u XENSTORED_RUNDIR -u XDG_RUNTIME_DIR HOME=/ "$@"
}
declare -A extra=([kxend]="--accel soft" [xenstored]="" [xenconsoled]="")
# The victim must reach the programs: a build inside a private folder (CI's clone lives in a
# mode-0700 mktemp directory) is copied, with the libraries next to it, somewhere it can.
if ! (as "$vu" test -x "$B/kxend"); then
  copy=$(mktemp -d /tmp/kxen-rundir-bins-XXXXXX)
  chmod 755 "$copy"
  cp -a "$KXEN_BUILD/bin" "$KXEN_BUILD/lib" "$copy/"
  chmod -R a+rX "$copy"
  B=$copy/bin
fi

# refused WHAT: every daemon and xl refuse the victim's run dir, naming it, and leave it empty.
refused() {
  local what=$1 d out rc
  for d in kxend xenstored xenconsoled; do
    rc=0
    # shellcheck disable=SC2086 # extra[] holds whole options
    out=$(as "$vu" timeout 10 "$B/$d" -N ${extra[$d]} 2>&1) || rc=$?
    echo "# $d: $out"
    check "$what: $d refuses to start (status 1)" test "$rc" -eq 1
    check "$what: $d names the run directory and why" \
      grep -q "$vdir: .*refusing to use it" <<<"$out"
  done
  rc=0
  out=$(as "$vu" timeout 10 "$B/xl" list 2>&1) || rc=$?
  echo "# xl: $out"
  check "$what: xl list fails and says why" \
    bash -c "test $rc -ne 0 && grep -q '$vdir: .*refusing to use it' <<<\"\$1\"" _ "$out"
}

# 1. Another user's directory, open to everyone so that the victim could have written in it.
mkdir -m 0777 "$vdir" && chown "$au:$au" "$vdir"
refused "a run directory owned by another user"
check "nothing was created in the other user's directory" test -z "$(ls -A "$vdir")"
rm -rf "$vdir"

# 2. A symbolic link planted where the run directory goes (to a directory the victim owns).
mkdir -p "$KXEN_RUNDIR/target" && chown "$vu:$vu" "$KXEN_RUNDIR/target"
chmod 0700 "$KXEN_RUNDIR/target"
chmod 0755 "$KXEN_RUNDIR"
ln -s "$KXEN_RUNDIR/target" "$vdir"
refused "a symbolic link as the run directory"
check "nothing was created through the link" test -z "$(ls -A "$KXEN_RUNDIR/target")"
rm -f "$vdir"

# 3. The victim's own directory, but writable by others (someone could plant sockets in it).
mkdir -m 0700 "$vdir" && chown "$vu:$vu" "$vdir" && chmod 0777 "$vdir"
refused "a run directory writable by others"
rm -rf "$vdir"

# 4. No directory yet: the victim's kxend creates it, private, and serves.
as "$vu" "$B/kxend" -N --accel soft 2>"$KXEN_RUNDIR/victim-kxend.err" &
kp=$!
check "with no run directory yet, the victim's kxend creates it and listens" \
  wait_for 10 test -S "$vdir/kxend.sock"
check "the new run directory is the victim's, mode 0700" \
  test "$(stat -c '%u %a' "$vdir")" = "$vu 700"
kill -TERM $kp; wait $kp
rm -rf "$vdir"

# 5. A log file planted as a symbolic link is not followed.
chmod 0700 "$KXEN_RUNDIR"
echo precious >"$KXEN_RUNDIR/precious"
ln -s "$KXEN_RUNDIR/precious" "$KXEN_RUNDIR/planted.log"
for d in kxend xenstored xenconsoled; do
  declare -A logopt=([kxend]=--log-file [xenstored]=-L [xenconsoled]=--log-file)
  rc=0
  # shellcheck disable=SC2086
  out=$(timeout 10 "$B/$d" -N ${extra[$d]} "${logopt[$d]}" "$KXEN_RUNDIR/planted.log" 2>&1) || rc=$?
  check "$d refuses a log file that is a symbolic link" test "$rc" -ne 0
done
check "the link's target was not written" test "$(cat "$KXEN_RUNDIR/precious")" = precious
