#!/usr/bin/env bash
# make install as an SDK and a host: versioned sonames with dev symlinks, Xen's pkg-config
# names, public headers only (each compiles alone), no internal archives, xenstore-* hard
# links, man pages that render without warnings, systemd units that verify. A program built
# with pkg-config only runs against the installed daemons, kxen-domains starts the installed
# example config from an auto directory and stops it, and make uninstall leaves nothing.
. "$KXEN_SRC/tests/lib.sh"
cd "$KXEN_SRC" || exit 1
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
rel=${KXEN_REL_BUILD:-$KXEN_SRC/build}
relb=$(realpath -m --relative-to="$KXEN_SRC" "$rel")
[ -x "$rel/bin/xl" ] && [ -f "$rel/guests/hello.elf" ] || skip_all "release build $rel not built"
tmp=$KXEN_RUNDIR/install-sdk
p=$tmp/prefix
mkdir -p "$tmp"
export XENSTORED_RUNDIR=$KXEN_RUNDIR KXEN_ACCEL=${KXEN_ACCEL:-soft} KXEN_BINDIR=$p/bin
trap '"$p/bin/kxen-services" stop >/dev/null 2>&1' EXIT

make --no-print-directory -o all BUILD="$relb" PREFIX="$p" install >"$tmp/install.log" 2>&1
check "make install PREFIX=... succeeds" test $? -eq 0

for l in xenstore.so.4 xenctrl.so.4.17 xenevtchn.so.1 xengnttab.so.1 xenforeignmemory.so.1; do
  so=lib$l
  check "$so carries its soname and lib${l%%.so*}.so links to it" sh -c \
    "objdump -p '$p/lib/$so' | grep -q 'SONAME *$so\$' && [ \"\$(readlink '$p/lib/lib${l%%.so*}.so')\" = $so ]"
done
check "no internal archive is installed (only libxenstore.a, which stands alone)" \
  test "$(cd "$p/lib" && ls ./*.a)" = ./libxenstore.a
check "no internal header is installed" \
  test ! -e "$p/include/kxen/ctl_client.h" -a ! -e "$p/include/kxen/ring_safe.h"
bad=
for h in $(cd "$p/include" && find . -name '*.h'); do
  echo "#include \"${h#./}\"" | gcc -std=gnu11 -Wall -Wextra -Werror -Wno-cpp -I"$p/include" -x c -c - \
    -o /dev/null 2>>"$tmp/hdr.log" || bad="$bad $h"
done
# (-Wno-cpp: the xenstore-compat headers warn that they are deprecated, as Xen's do.)
check "every installed header compiles on its own against the installed tree" test -z "$bad"
check "xenstore-read is a hard link to xenstore" test "$p/bin/xenstore-read" -ef "$p/bin/xenstore"

export PKG_CONFIG_PATH=$p/lib/pkgconfig
pcs="xenstore xenevtchn xengnttab xenforeignmemory xencontrol"
check "pkg-config finds $pcs in the prefix" pkg-config --exists $pcs
check "xencontrol.pc links -lxenctrl from the prefix" \
  sh -c "pkg-config --libs xencontrol | grep -q -- '-L$p/lib -lxenctrl'"
cat >"$tmp/sdk.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenstore.h>
int main(void)
{
    struct xs_handle *xs = xs_open(0);
    if (!xs || !xs_write(xs, XBT_NULL, "/sdk", "installed", 9))
        return 1;
    unsigned int len;
    char *v = xs_read(xs, XBT_NULL, "/sdk", &len);
    xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
    int port = xce ? xenevtchn_bind_unbound_port(xce, 0) : -1;
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    printf("%s %d %d\n", v ? v : "-", port > 0, xch != NULL);
    free(v);
    xs_rm(xs, XBT_NULL, "/sdk");
    xs_close(xs);
    return 0;
}
C
gcc -std=gnu11 -Wall -Werror -o "$tmp/sdk" "$tmp/sdk.c" $(pkg-config --cflags --libs $pcs) \
  -Wl,-rpath,"$(pkg-config --variable=libdir xenstore)" 2>"$tmp/sdk.log"
check "a program builds against the prefix with pkg-config only" test $? -eq 0
check "the installed kxen-services starts the installed daemons" "$p/bin/kxen-services" start
check "the program runs against them (xenstore, an event channel, xc)" \
  test "$("$tmp/sdk" 2>&1)" = "installed 1 1"
check "it loads the installed libraries" \
  sh -c "ldd '$tmp/sdk' | grep -q '$p/lib/libxenevtchn.so.1'"

auto=$tmp/auto
mkdir -p "$auto"
cp "$p/share/doc/kxen/examples/hello.cfg" "$auto/"
check "the example config names the installed hello guest" \
  grep -q "kernel = \"$p/lib/kxen/guests/hello.elf\"" "$auto/hello.cfg"
KXEN_DOMAINS_AUTO=$auto "$p/bin/kxen-domains" start >"$tmp/dom.out" 2>&1
check "kxen-domains start creates the auto directory's config" \
  sh -c "'$p/bin/xl' list | grep -q '^hello '"
KXEN_DOMAINS_AUTO=$auto "$p/bin/kxen-domains" start >"$tmp/dom2.out" 2>&1
check "a second start leaves the running domain alone" grep -q "hello: already running" "$tmp/dom2.out"
KXEN_DOMAINS_TIMEOUT=30 "$p/bin/kxen-domains" stop >"$tmp/dom3.out" 2>&1
check "kxen-domains stop shuts every domain down" \
  test "$("$p/bin/xl" list | awk 'NR > 2' | wc -l)" -eq 0
"$p/bin/kxen-services" stop >/dev/null 2>&1

mans=$(cd "$p/share/man" && ls man1/xl.1 man5/xl.cfg.5 man8/kxend.8 man8/xenstored.8 \
  man8/xenconsoled.8 man8/kxen-services.8 man8/kxen-devd.8 2>&1)
check "the seven man pages are installed under share/man" test $? -eq 0
warn=
for m in $mans; do
  [ -z "$(groff -ww -man -z "$p/share/man/$m" 2>&1)" ] || warn="$warn $m"
done
check "they render without warnings (groff -ww -man)" test -z "$warn"

# Type=notify is race-free only if each daemon says READY=1 once its socket listens: started
# as the units start them (-N, NOTIFY_SOCKET), each must have its socket when READY=1 arrives.
if command -v python3 >/dev/null; then
  nd=$(mktemp -d /tmp/kxen-notify.XXXXXX)
  python3 - "$p/bin" "$nd" >"$tmp/notify.out" 2>"$tmp/notify.err" <<'PY'
import os, socket, subprocess, sys
bindir, rd = sys.argv[1], sys.argv[2]
env = dict(os.environ, KXEN_RUNDIR=rd, XENSTORED_RUNDIR=rd, NOTIFY_SOCKET=rd + "/notify")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(rd + "/notify")
s.settimeout(20)
procs = []
for d, sock, args in (("kxend", "kxend.sock", ["--rundir", rd]), ("xenstored", "socket", []),
                      ("xenconsoled", "xenconsoled.sock", ["--rundir", rd]),
                      ("kxen-devd", "devd.sock", ["--rundir", rd])):
    log = open(os.path.join(rd, d + ".log"), "w")
    procs.append(subprocess.Popen([os.path.join(bindir, d), "-N"] + args, env=env,
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=log))
    try:
        msg = s.recv(256).decode()
    except socket.timeout:
        msg = "timeout"
    print(d, msg, os.path.exists(os.path.join(rd, sock)))
for p in reversed(procs):
    p.terminate()
    p.wait(timeout=20)
PY
  check "each daemon sends READY=1 with its socket already listening" test "$(cat "$tmp/notify.out")" = \
"kxend READY=1 True
xenstored READY=1 True
xenconsoled READY=1 True
kxen-devd READY=1 True"
  rm -rf "$nd"
else
  skip "each daemon sends READY=1 with its socket already listening" "python3 is not installed"
fi
units=$(ls "$p"/lib/systemd/system/kxen-*.service 2>/dev/null | wc -l)
check "five systemd units are installed" test "$units" -eq 5
check "units name the installed programs" grep -q "^ExecStart=$p/bin/kxend -N" \
  "$p/lib/systemd/system/kxen-kxend.service"
check "no unit keeps a template placeholder" sh -c "! grep -q @ '$p'/lib/systemd/system/*.service"
if command -v systemd-analyze >/dev/null; then
  MANPATH=$p/share/man systemd-analyze verify "$p"/lib/systemd/system/*.service >"$tmp/verify.log" 2>&1
  check "systemd-analyze verify is clean" test $? -eq 0 -a ! -s "$tmp/verify.log"
else
  skip "systemd-analyze verify is clean" "systemd-analyze is not installed"
fi

make --no-print-directory -o all BUILD="$relb" PREFIX="$p" uninstall >"$tmp/uninstall.log" 2>&1
check "make uninstall succeeds" test $? -eq 0
check "and leaves nothing in the prefix" test -z "$(find "$p" -mindepth 1 2>/dev/null)"
exit 0
