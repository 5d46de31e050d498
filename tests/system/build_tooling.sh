#!/usr/bin/env bash
# The foundation's build tooling: the dependency step (silent when everything is present, the
# exact apt-get command when a package is missing and we are not root), `make install
# PREFIX=...` (programs, libraries with their symlinks, headers usable by a client, guests) and
# header dependencies (changing a header remakes exactly the objects that include it).
. "$KXEN_SRC/tests/lib.sh"
cd "$KXEN_SRC" || exit 1
# We may run under `make check`: its jobserver and flags must not leak into our make calls.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
rel=${KXEN_REL_BUILD:-$KXEN_SRC/build}
# make's targets are spelled as the build did (BUILD relative to the source root): the .d files
# name "build/obj/x.o", which an absolute BUILD would not match.
relb=$(realpath -m --relative-to="$KXEN_SRC" "$rel")
tmp=$KXEN_RUNDIR/build-tooling
mkdir -p "$tmp"

# --- scripts/deps.sh
out=$(scripts/deps.sh 2>&1)
rc=$?
check "deps.sh exits 0 and prints nothing when every package is installed" \
    test "$rc" -eq 0 -a -z "$out"

# A package that cannot be installed, checked as an unprivileged user: the script must not try
# apt-get but print the command (and fail, so make stops before building).
as_user=()
if [ "$(id -u)" = 0 ]; then
    if command -v setpriv >/dev/null; then
        as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    else
        as_user=(su nobody -s /bin/bash -c)
    fi
fi
if [ ${#as_user[@]} -eq 3 ]; then # su form: one command string
    out=$("${as_user[@]}" "KXEN_DEPS_EXTRA=kxen-no-such-pkg $KXEN_SRC/scripts/deps.sh" 2>&1)
else
    out=$(KXEN_DEPS_EXTRA=kxen-no-such-pkg "${as_user[@]}" scripts/deps.sh 2>&1)
fi
rc=$?
check "non-root deps.sh with a missing package exits 1" test "$rc" -eq 1
check "and prints the exact apt-get command naming only the missing package" \
    grep -qx '  apt-get update && apt-get install -y --no-install-recommends kxen-no-such-pkg' \
    <<<"$out"
[ "$rc" -eq 1 ] || echo "# deps.sh said: $out"

# As root it installs: a stand-in apt-get first in PATH records its calls. Its first install
# fails, so the script must refresh the package lists and try once more.
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$tmp/fakebin"
    printf '%s\n' '#!/bin/sh' \
        'echo "$*" >>"$FAKE_APT_DIR/apt.calls"' \
        'case "$*" in' \
        '  *update*) touch "$FAKE_APT_DIR/apt.updated" ;;' \
        '  *install*) [ -e "$FAKE_APT_DIR/apt.updated" ] || exit 100 ;;' \
        'esac' \
        'exit 0' >"$tmp/fakebin/apt-get"
    chmod +x "$tmp/fakebin/apt-get"
    out=$(FAKE_APT_DIR=$tmp PATH=$tmp/fakebin:$PATH KXEN_DEPS_EXTRA=kxen-no-such-pkg \
        scripts/deps.sh 2>&1)
    rc=$?
    check "root deps.sh installs the missing package with apt-get and succeeds" test "$rc" -eq 0
    check "and says which packages it installs" \
        grep -q "installing missing packages: kxen-no-such-pkg" <<<"$out"
    printf '%s\n' "install -y -qq --no-install-recommends kxen-no-such-pkg" "update -qq" \
        "install -y -qq --no-install-recommends kxen-no-such-pkg" >"$tmp/apt.want"
    check "a failed install is retried once after apt-get update" \
        diff "$tmp/apt.want" "$tmp/apt.calls"
else
    for what in "root deps.sh installs the missing package with apt-get and succeeds" \
        "and says which packages it installs" "a failed install is retried once after apt-get update"; do
        skip "$what" "needs root"
    done
fi

# --- make install (of the release build, without rebuilding it: -o all)
if [ -x "$rel/bin/xenstored" ] && [ -f "$rel/include/.stamp" ]; then
    prefix=$tmp/prefix
    make --no-print-directory -o all BUILD="$relb" PREFIX="$prefix" install >"$tmp/install.log" 2>&1
    check "make install PREFIX=... succeeds" test $? -eq 0
    check "programs land in PREFIX/bin" test -x "$prefix/bin/xenstored" -a -x "$prefix/bin/xenstore-read"
    check "libxenstore.so keeps its symlink to the soname" \
        test "$(readlink "$prefix/lib/libxenstore.so")" = libxenstore.so.4
    check "the static library is installed" test -f "$prefix/lib/libxenstore.a"
    check "headers land in PREFIX/include" test -f "$prefix/include/xenstore.h"
    check "no build stamp is installed" test ! -e "$prefix/include/.stamp"
    ls "$rel/guests/"* >/dev/null 2>&1 &&
        check "guest images land in PREFIX/lib/kxen/guests" \
            test -n "$(ls "$prefix/lib/kxen/guests" 2>/dev/null)"
    # A client built only against the installed tree compiles, links and runs.
    cat >"$tmp/client.c" <<'EOF'
#include <errno.h>
#include <stdio.h>
#include <xenstore.h>
int main(void)
{
    struct xs_permissions p;
    if (!xs_strings_to_perms(&p, 1, "r5"))
        return 2;
    printf("%u %d\n", p.id, p.perms == XS_PERM_READ);
    return 0;
}
EOF
    gcc -o "$tmp/client" "$tmp/client.c" -I"$prefix/include" -L"$prefix/lib" -lxenstore \
        -Wl,-rpath,"$prefix/lib" 2>"$tmp/cc.log"
    check "a client compiles and links against the installed header and library" test $? -eq 0
    check "and runs on the installed libxenstore" test "$("$tmp/client" 2>&1)" = "5 1"
    # The installed tools find the installed library (rpath $ORIGIN/../lib), no loader error.
    XENSTORED_RUNDIR=$tmp/none "$prefix/bin/xenstore-read" /x >/dev/null 2>"$tmp/read.err"
    check "an installed xenstore-read loads its library and reports the missing daemon" \
        grep -q xs_open "$tmp/read.err"
else
    not_ok "release build present for the install checks ($rel/bin/xenstored)"
fi

# --- header dependencies (-W pretends the header changed, nothing is touched or built)
if [ -f "$rel/obj/ring/src/ring_safe.o" ]; then
    make --no-print-directory -n -W ring/include/kxen/io/ring.h BUILD="$relb" \
        "$relb/obj/ring/src/ring_safe.o" "$relb/obj/common/src/log.o" >"$tmp/dry.log" 2>&1
    check "a changed ring.h remakes the objects that include it" \
        grep -q -- '-c ring/src/ring_safe.c' "$tmp/dry.log"
    check "and not those that do not" sh -c "! grep -q -- '-c common/src/log.c' '$tmp/dry.log'"
    make --no-print-directory -n -W common/include/kxen/log.h BUILD="$relb" \
        "$relb/obj/common/src/log.o" >"$tmp/dry2.log" 2>&1
    check "a changed log.h remakes log.o" grep -q -- '-c common/src/log.c' "$tmp/dry2.log"
else
    not_ok "release objects present for the dependency checks"
fi
exit 0
