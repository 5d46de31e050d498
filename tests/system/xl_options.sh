#!/usr/bin/env bash
# Xen's option habits: options after the config file, long options, the global -N dry run
# (and create -n), global -f/-t/-T, `-h` that succeeds, `xl list -v`, command prefixes, and
# Xen's commands kxen lacks named as such (and listed apart by `xl help`).
. "$KXEN_SRC/tests/system/xl_common.sh"
w=$KXEN_RUNDIR/cfg  # not "d": check() has a local d
mkdir -p "$w"
write_cfg "$w/opt.cfg" opt 'on_poweroff = "destroy"'

# Dry runs start nothing.
check "xl -N create prints the config as JSON" sh -c "xl -N create '$w/opt.cfg' 2>/dev/null | grep -q '\"name\": \"opt\"'"
check "create -n and key=value after options" sh -c "xl create -n '$w/opt.cfg' -q vcpus=2 | grep -q '\"max_vcpus\": 2'"
check "create --dryrun --defconfig FILE" sh -c "xl create --dryrun --defconfig '$w/opt.cfg' memory=32 2>/dev/null | grep -q '\"target_memkb\": 32768'"
check "no dry run started a daemon" sh -c "! ls '$KXEN_RUNDIR'/*.pid 2>/dev/null"

# Help and usage: exit 0, usage on stdout.
check "xl create -h exits 0 and prints the usage" sh -c "xl create -h | grep -q '^Usage: xl create'"
check "xl list --help exits 0" sh -c "xl list --help | grep -q '^Usage: xl list'"
check "xl pause -h exits 0 (a command without options)" sh -c "xl pause -h | grep -q '^Usage: xl pause'"
check "xl -h exits 0" sh -c "xl -h | grep -q '^Usage: xl'"
check "an unknown option is a usage error (2)" sh -c "xl list --frob 2>/dev/null; test \$? = 2"

# Options after the config file, as Xen documents `xl create CFG -q`.
xl create "$w/opt.cfg" -q 2>"$w/err"
check "xl create CFG -q creates the domain" sh -c "xl domid opt >/dev/null"
check "... quietly (no 'Parsing config')" sh -c "! grep -q 'Parsing config' '$w/err'"
check "global -f -t -T are accepted" sh -c "xl -f -t -T list opt >/dev/null"
check "bundled global options (-vf)" sh -c "xl -vf list opt >/dev/null"
check "xl list -v adds UUID and Reason-Code" sh -c "xl list -v | head -1 | grep -q 'UUID.*Reason-Code'"
uuid=$(xenstore-read "$(xenstore-read /local/domain/"$(xl domid opt)"/vm)"/uuid 2>/dev/null)
check "xl list --verbose shows the domain's uuid" sh -c "xl list --verbose opt | grep -q -- '$uuid'"
check "xl list --long is JSON" sh -c "xl list --long opt | grep -q '\"name\": \"opt\"'"
check "xl list -n (--numa) and -c add their columns" sh -c "xl list -n -c | head -1 | grep -q 'Cpupool.*NODE Affinity'"
check "a command prefix Xen accepts (xl li)" sh -c "xl li opt | grep -q '^opt '"
check "xl shutdown --wait DOMAIN (option after nothing, long name)" xl shutdown --wait opt
check "the domain is gone" sh -c "! xl domid opt 2>/dev/null"

# Xen's commands kxen lacks.
xl cd-insert opt hdc /tmp/x.iso 2>"$w/err"; rc=$?
check "xl cd-insert: 'an xl command kxen does not support yet'" grep -q "'cd-insert' is an xl command kxen does not support yet" "$w/err"
check "... a usage error (2)" test "$rc" = 2
check "an unknown command is still unknown" sh -c "xl frobnicate 2>&1 | grep -q \"unknown command 'frobnicate'\""
check "xl help lists the unsupported commands apart" sh -c "xl help | sed -n '/does not support yet/,\$p' | grep -qw cd-insert"
check "xl help does not list cd-insert among the commands" sh -c "! xl help | sed '/does not support yet/q' | grep -q '^ cd-insert '"
echo "1..$_tap_n"
