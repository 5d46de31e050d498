#!/usr/bin/env bash
# kxend's refusals reach the terminal: xl create prints the reason kxend sent back over the
# control socket (the value refused and the limit), never a bare errno string that misleads
# (a directory is not "File too large", a bzImage is not a bare "Exec format error").
. "$KXEN_SRC/tests/system/xl_common.sh"
w=$KXEN_RUNDIR/cfg  # not "d": check() has a local d
mkdir -p "$w"
xl_err() { xl create -q "$1" 2>"$w/err" >/dev/null; local rc=$?; sed 's/^/# /' "$w/err"; return $rc; }
has() { grep -qF -- "$1" "$w/err"; }
lacks() { ! grep -qF -- "$1" "$w/err"; }

mkdir -p "$w/kdir"
write_cfg "$w/dir.cfg" kdir "kernel = \"$w/kdir\""
check "a directory as kernel is refused" sh -c "! xl create -q '$w/dir.cfg' 2>'$w/err'"
check "... saying it is a directory, not 'File too large'" sh -c "grep -q 'a directory' '$w/err' && ! grep -q 'File too large' '$w/err'"

: >"$w/empty.elf"
write_cfg "$w/empty.cfg" kempty "kernel = \"$w/empty.elf\""
xl_err "$w/empty.cfg"
check "an empty kernel: 'empty file (0 bytes)'" has "empty file (0 bytes)"
check "... not 'File too large'" lacks "File too large"

# A bzImage: the boot flag 0xaa55 at 0x1fe and the Linux boot protocol signature at 0x202.
{ head -c 510 /dev/zero; printf '\x55\xaa\x00\x00HdrS'; head -c 1024 /dev/zero; } >"$w/bzImage"
write_cfg "$w/bz.cfg" kbz "kernel = \"$w/bzImage\""
xl_err "$w/bz.cfg"
check "a bzImage on soft is refused as Linux, with what to use instead" has "soft cannot run Linux PVH (the kernel needs paging): use --accel kvm"

# A PIE: hello.elf with e_type patched to ET_DYN.
cp "$guests/hello.elf" "$w/pie.elf"
printf '\003' | dd of="$w/pie.elf" bs=1 seek=16 conv=notrunc status=none
write_cfg "$w/pie.cfg" kpie "kernel = \"$w/pie.elf\""
xl_err "$w/pie.cfg"
check "a PIE kernel: ET_DYN named, ET_EXEC required" has "ET_DYN: a PIE"

write_cfg "$w/big.cfg" kbig
sed -i 's/^memory = .*/memory = 1048576/' "$w/big.cfg"
xl_err "$w/big.cfg"
check "memory=1048576: the value and kxend's limit are named" has "memory 1048576 MiB is outside kxend's range 1..65536 MiB"
check "... not a bare 'Invalid argument'" lacks "Invalid argument"

check "no refused domain is left behind" sh -c "! xl list | grep -q '^k'"
check "kxend logged the reasons it sent" grep -q "refused: memory 1048576 MiB" "$KXEN_RUNDIR/kxend.log"
echo "1..$_tap_n"
