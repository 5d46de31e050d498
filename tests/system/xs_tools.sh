#!/usr/bin/env bash
# Our xenstore-* tools and libxenstore against our xenstored. Every command must print what
# Xen's own tool (Debian's xenstore-utils) prints for the same command, with the same exit
# status; each side talks to its own fresh xenstored so both stores evolve identically. Xen's
# programs run by absolute path (ours, of the same names, are first in PATH); the test fails
# when they are missing. A run that times out fails its check: two hangs are not an agreement.
. "$KXEN_SRC/tests/lib.sh"
ours=$KXEN_BUILD/bin
xen_bin=/usr/bin # Debian's xenstore-utils
check "Debian's xenstore-utils are installed ($xen_bin/xenstore-read)" foreign "$xen_bin/xenstore-read"
[ -x "$xen_bin/xenstore-read" ] || exit 1

a=$KXEN_RUNDIR/a b=$KXEN_RUNDIR/b
mkdir -p "$a" "$b"
"$ours/xenstored" -N --socket "$a/socket" -F "$KXEN_RUNDIR/xenstored-a.pid" 2>"$a/log" &
"$ours/xenstored" -N --socket "$b/socket" -F "$KXEN_RUNDIR/xenstored-b.pid" 2>"$b/log" &
wait_for 10 test -S "$a/socket" -a -S "$b/socket" || { not_ok "xenstored starts"; exit 1; }

# run_as NAME PROGRAM ARGS...: PROGRAM with argv[0] = NAME (usage lines echo the name a tool
# was invoked as, and a shell running it by name would pass just the name), at most 10 s.
run_as() { timeout 10 bash -c 'exec -a "$0" "$@"' "$@"; }
# timed_out WANT GOT: either captured run ("...exit N") ended by the timeout.
timed_out() { [[ $1 == *"exit 124" || $2 == *"exit 124" ]]; }

# same TOOL ARGS...: Xen's /usr/bin/TOOL on store a, our TOOL on store b; output must match.
same() {
    local tool=$1 want got
    shift
    want=$(XENSTORED_RUNDIR=$a run_as "$tool" "$xen_bin/$tool" "$@" 2>&1; echo "exit $?")
    got=$(XENSTORED_RUNDIR=$b run_as "$tool" "$ours/$tool" "$@" 2>&1; echo "exit $?")
    if timed_out "$want" "$got"; then
        not_ok "$tool $* (as Xen's): timed out (Xen's ${want##*exit }, ours ${got##*exit })"
    elif [ "$want" == "$got" ]; then
        ok "$tool $* (as Xen's)"
    else
        not_ok "$tool $* (as Xen's)"
        diff <(echo "$want") <(echo "$got") | sed 's/^/#   /' | head -20
    fi
}

same xenstore-write /t/a 1
same xenstore-write /t/b/c "two words" /t/bin 'x\001\t\xff\\y\x4'
same xenstore-write /t/odd
same xenstore-read /t/a
same xenstore-read -p /t/a /t/b/c
same xenstore-read /t/bin
same xenstore-read -R /t/bin
same xenstore-read /t/a /t/missing /t/b/c
same xenstore-read
same xenstore-read -h
same xenstore-read -x /t/a
same xenstore-read --tidy /t/a
same xenstore-ls --flat /t/b
same xenstore-read --raw --prefix /t/a
same xenstore-exists /t/b
same xenstore-exists /t/missing
same xenstore-list /t
same xenstore-list -p /t/b
same xenstore-list /t/missing
same xenstore-write /t/long "$(printf 'z%.0s' {1..150})"
same xenstore-ls /t
same xenstore-ls -f /t
same xenstore-ls -p /t
same xenstore-ls -fp /t
same xenstore-ls /t/missing
same xenstore-chmod /t/a b3 r5
same xenstore-chmod -r /t/b n0 w7
same xenstore-chmod -u /t/b/c b0 r-1
same xenstore-chmod /t/missing/x b1
same xenstore-chmod /t/a q1
same xenstore-chmod /t/a
same xenstore-ls -fp /t
same xenstore-write /t/deep/er/node v
same xenstore-rm -t /t/deep/er/node
same xenstore-exists /t/deep
same xenstore-rm /t/b
same xenstore-rm /t/gone
same xenstore-rm /t/gone/deeper
same xenstore-rm
same xenstore-watch -n 1 /t
same xenstore-watch
same xenstore read /t/a
same xenstore ls -f /t
same xenstore bogus
# A listing larger than one message: xs_directory falls back to XS_DIRECTORY_PART.
big=()
for ((i = 0; i < 600; i++)); do big+=("/big/child-with-a-long-name-$i" "$i"); done
same xenstore-write "${big[@]}"
same xenstore-list /big

# Drop-in ABI: Debian's binaries loading our libxenstore.so.4 (the release build's: a sanitized
# library cannot load into a program without the sanitizer runtime).
rel_lib=$KXEN_REL_BUILD/lib
if [ -f "$rel_lib/libxenstore.so.4" ]; then
    # same_abi TOOL ARGS...: Xen's /usr/bin/TOOL on Debian's library (store a) and on ours
    # (store b) print the same and exit alike.
    same_abi() {
        local tool=$1 want got
        shift
        want=$(XENSTORED_RUNDIR=$a run_as "$tool" "$xen_bin/$tool" "$@" 2>&1; echo "exit $?")
        got=$(LD_LIBRARY_PATH=$rel_lib XENSTORED_RUNDIR=$b run_as "$tool" "$xen_bin/$tool" "$@" \
            2>&1; echo "exit $?")
        check "Xen's $tool on our libxenstore.so.4: $*" \
            bash -c '! [[ $1 == *"exit 124" || $2 == *"exit 124" ]] && [ "$1" == "$2" ]' _ \
            "$want" "$got"
    }
    check "Xen's xenstore-read resolves libxenstore.so.4 to ours" \
        grep -q "$rel_lib/libxenstore.so.4" <(LD_LIBRARY_PATH=$rel_lib ldd "$xen_bin/xenstore-read")
    same_abi xenstore-write /abi/a 1 /abi/b/c 2
    same_abi xenstore-ls -fp /abi
    same_abi xenstore-chmod -r /abi b2 r3
    same_abi xenstore-ls -p /abi
    same_abi xenstore-list /big
    same_abi xenstore-rm -t /abi/b/c
    same_abi xenstore-read /abi/a /abi/b
    same_abi xenstore-watch -n 1 /abi
else
    skip "Xen's xenstore-* on our libxenstore.so.4" "release build's libxenstore.so.4 not built"
fi

# Behaviour of our tools beyond output formats.
export XENSTORED_RUNDIR=$b
timeout 10 "$ours/xenstore-watch" -n 2 /w >"$b/watch.out" &
watcher=$!
wait_for 5 grep -qx /w "$b/watch.out"
"$ours/xenstore-write" /w/x 1
wait "$watcher"
check "xenstore-watch prints the registration event then the change" \
    diff <(printf '/w\n/w/x\n') "$b/watch.out"
check "xenstore-control print reaches the daemon and answers OK" \
    test "$("$ours/xenstore-control" print hello)" == OK
"$ours/xenstore-control" no-such-command >/dev/null 2>&1
check "xenstore-control exits 3 for a refused command" test $? -eq 3
"$ours/xenstore-control" >/dev/null
check "xenstore-control without a command exits 2" test $? -eq 2
# Against Xen's own xenstore-control (the real one: /usr/bin's wrapper wants a hypervisor):
# the same stdout, the same stderr (program path normalised), the same exit status.
xen_ctl=/usr/lib/xen-4.17/bin/xenstore-control
if check "Xen's xenstore-control (xen-utils-4.17) is installed" foreign "$xen_ctl"; then
    same_ctl() {
        local rundir=$1 want got
        shift
        want=$(cd "$b" && XENSTORED_RUNDIR=$rundir timeout 10 "$xen_ctl" "$@" 2>err.xen >out.xen
            echo "exit $?"; echo "out:"; cat out.xen; echo "err:"; sed "s|$xen_ctl|CTL|" err.xen)
        got=$(cd "$b" && XENSTORED_RUNDIR=$rundir timeout 10 "$ours/xenstore-control" "$@" \
            2>err.ours >out.ours
            echo "exit $?"; echo "out:"; cat out.ours; echo "err:"; sed "s|$ours/xenstore-control|CTL|" err.ours)
        if [[ $want == "exit 124"* || $got == "exit 124"* ]]; then
            not_ok "xenstore-control $* (streams and status as Xen's): timed out"
        elif [ "$want" == "$got" ]; then
            ok "xenstore-control $* (streams and status as Xen's)"
        else
            not_ok "xenstore-control $* (streams and status as Xen's)"
            diff <(echo "$want") <(echo "$got") | sed 's/^/#   /' | head -20
        fi
    }
    same_ctl "$b"
    same_ctl "$b" print hello
    same_ctl "$b" no-such-command
    same_ctl "$b" help
    same_ctl "$KXEN_RUNDIR/none" print hello
fi
check "a value with every escape survives write then read" \
    test "$("$ours/xenstore-write" /e 'a\tb\001\xff' && "$ours/xenstore-read" /e)" == 'a\tb\001\xff'
XENSTORED_PATH=$a/socket "$ours/xenstore-write" /via-path 1
check "XENSTORED_PATH overrides XENSTORED_RUNDIR" \
    test "$(XENSTORED_RUNDIR=$a "$ours/xenstore-read" /via-path)" == 1
XENSTORED_RUNDIR=$KXEN_RUNDIR/none "$ours/xenstore-read" -s /x 2>"$b/err"
check "no daemon: exit 1 naming xs_open" grep -q "xs_open" "$b/err"

kill "$(cat "$KXEN_RUNDIR/xenstored-a.pid")" "$(cat "$KXEN_RUNDIR/xenstored-b.pid")" 2>/dev/null
wait # the daemons remove their pid files as they exit; let them finish first
exit 0
