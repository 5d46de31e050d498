#!/usr/bin/env bash
# xl create refuses bad configs with "file:line: what" before touching anything: no daemon is
# started, no domain created. Good configs with command-line overrides are accepted.
. "$KXEN_SRC/tests/system/xl_common.sh"
d=$KXEN_RUNDIR/cfg
mkdir -p "$d"

# bad NAME EXPECTED-MESSAGE CONFIG-TEXT: create fails, stderr names file:line and the problem.
bad() {
  local what=$1 expect=$2 text=$3
  printf '%b' "$text" >"$d/bad.cfg"
  if xl create "$d/bad.cfg" >"$d/out" 2>"$d/err"; then
    not_ok "$what: accepted"; return
  fi
  if grep -qF -- "$expect" "$d/err"; then ok "$what"; else
    not_ok "$what: stderr was: $(tr '\n' ' ' <"$d/err")"; fi
}
bad "unterminated string is refused at its line" "$d/bad.cfg:2: unterminated string" \
    "name = 'a'\nkernel = 'k\n"
bad "missing '=' is refused" "$d/bad.cfg:3: '=' expected after 'memory'" \
    "name = 'a'\nkernel = 'k'\nmemory 64\n"
bad "unquoted string is refused" "$d/bad.cfg:1: name: unquoted word" "name = hello\n"
bad "unclosed list names the line it opened" "$d/bad.cfg:2: disk: list opened here is never closed" \
    "name='a'\ndisk = [ 'x',\n 'y'\n"
bad "vcpus out of range" "$d/bad.cfg:3: vcpus: 99 is out of range 1..32" \
    "name='a'\nkernel='k'\nvcpus=99\n"
bad "maxmem below memory" "$d/bad.cfg:4: maxmem: maxmem 8 is below memory 16" \
    "name='a'\nkernel='k'\nmemory=16\nmaxmem=8\n"
bad "unknown on_crash action" "$d/bad.cfg:3: on_crash: unknown action 'explode'" \
    "name='a'\nkernel='k'\non_crash='explode'\n"
bad "bad disk spec names the entry and reason" "$d/bad.cfg:3: disk: entry 1 'vdev=xvdb': no target given" \
    "name='a'\nkernel='k'\ndisk=['/img,raw,xvda,rw', 'vdev=xvdb']\n"
bad "bad vif mac" "$d/bad.cfg:3: vif: entry 0 'mac=zz': invalid mac 'zz'" \
    "name='a'\nkernel='k'\nvif=['mac=zz']\n"
bad "missing name" "$d/bad.cfg: no 'name' setting" "kernel='k'\n"
bad "unknown type" "$d/bad.cfg:2: type: unknown type 'xen'" "name='a'\ntype='xen'\nkernel='k'\n"
printf "name='a'\nkernel='k'\n" >"$d/ok.cfg"
xl create "$d/ok.cfg" 'vcpus=0' >/dev/null 2>"$d/err"
check "command-line override is validated and named" grep -qF "command line argument 1:1: vcpus: 0 is out of range" "$d/err"
xl create "$d/missing.cfg" 2>"$d/err" >/dev/null
check "missing config file is named" grep -qF "$d/missing.cfg: cannot open configuration" "$d/err"
check "no daemon was started by refused configs" test ! -e "$KXEN_RUNDIR/kxend.pid"

# A valid config whose kernel does not exist fails after the services start, and leaves no
# domain behind (rollback).
write_cfg "$d/nokernel.cfg" nokernel 'kernel = "/nonexistent/kernel.elf"'
xl create "$d/nokernel.cfg" >/dev/null 2>"$d/err"
check "missing kernel is reported with its path" grep -qF "cannot open kernel /nonexistent/kernel.elf" "$d/err"
check "nothing is left of the refused domain" test "$(xl list | awk 'NR > 2' | wc -l)" -eq 0
check "no xenstore node is left of it" test -z "$(guest_nodes_left)"
# An image kxend refuses (not an ELF): the domain created in kxend is destroyed again.
write_cfg "$d/notelf.cfg" notelf "kernel = \"$d/notelf.cfg\""
xl create "$d/notelf.cfg" >/dev/null 2>"$d/err"
check "kxend's refusal is reported" grep -qF "kxend refused to load kernel" "$d/err"
check "the half-built domain was rolled back" test "$(xl list | awk 'NR > 2' | wc -l)" -eq 0
# type = "hvm" with firmware parses but soft refuses it at build time with the reason,
# leaving nothing (docs/hvm.md).
printf 'name = "hvmguest"\ntype = "hvm"\nmemory = 16\n' >"$d/hvm.cfg"
xl create "$d/hvm.cfg" >/dev/null 2>"$d/err"
check "type hvm is refused with the reason" grep -qF "cannot run an HVM guest" "$d/err"
check "nothing is left of the hvm domain" test "$(xl list | awk 'NR > 2' | wc -l)" -eq 0
# A ramdisk that does not exist is named, and the domain rolled back.
write_cfg "$d/nord.cfg" nord 'ramdisk = "/nonexistent/initrd.img"'
xl create "$d/nord.cfg" >/dev/null 2>"$d/err"
check "missing ramdisk is reported with its path" grep -qF "cannot open ramdisk /nonexistent/initrd.img" "$d/err"
check "nothing is left of the ramdisk-less domain" test "$(xl list | awk 'NR > 2' | wc -l)" -eq 0
# Overrides: a valid file, name and memory from the command line.
write_cfg "$d/good.cfg" good
xl create -q "$d/good.cfg" 'name="over"' 'memory=24' 2>"$d/err"
check "command-line name and memory override the file" \
    test "$(xl list over | awk 'NR == 2 { print $1, $3 }')" = "over 24"
xl destroy over
check "destroy of the overridden domain" test "$(xl list | awk 'NR > 2' | wc -l)" -eq 0
