# Shared helpers for system tests (sourced). TAP output: ok/not ok lines.
# Invariant: a check that cannot run here is still printed, as "ok N - what # SKIP why", so
# the runner counts it as skipped; a check never disappears silently.
: "${KXEN_SRC:?}" "${KXEN_BUILD:?}" "${KXEN_RUNDIR:?}"
export PATH="$KXEN_BUILD/bin:$PATH"
_tap_n=0
_tap_names=()
ok()     { _tap_n=$((_tap_n + 1)); _tap_names+=("$*"); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_names+=("$*"); echo "not ok $_tap_n - $*"; }
# skip "what" "why": one check that could not run here (counted as skipped, never as passed).
skip()   { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1 # SKIP $2"; }
# check "description" command...: one TAP line from a command's exit status.
check()  { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
skip_all() { echo "SKIP $*"; exit 77; }
# tap_mark: how many checks have run so far (for skip_like).
tap_mark() { echo "${#_tap_names[@]}"; }
# skip_like MARK FROM TO WHY: a half that cannot run here (say the kvm half of a suite whose
# soft half ran from MARK on) is reported as skipped check by check, each named like its
# counterpart with FROM replaced by TO (a name without FROM is prefixed by "TO: ").
skip_like() {
    local i name
    for ((i = $1; i < ${#_tap_names[@]}; i++)); do
        name=${_tap_names[i]}
        if [[ $name == *"$2"* ]]; then name=${name//"$2"/"$3"}; else name="$3: $name"; fi
        skip "$name" "$4"
    done
    [ "$1" -lt "${#_tap_names[@]}" ] || skip "$3" "$4"
}
# kvm_usable: /dev/kvm can be opened for reading and writing. KXEN_TEST_NO_KVM=1 makes a run
# behave as on a host without it (to see the kvm halves reported as skipped).
kvm_usable() { [ -z "${KXEN_TEST_NO_KVM:-}" ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }
# foreign PATH: a program from another project that a test claims to run. Prints nothing and
# fails when it is missing, so the caller reports a failure rather than running ours.
foreign() { [ -x "$1" ] || { echo "# $1 is missing (a foreign program this test must run)"; return 1; }; }
# wait_for SECONDS command...: polls until the command succeeds.
wait_for() { local t=$1; shift; local i; for ((i = 0; i < t * 20; i++)); do "$@" && return 0; sleep 0.05; done; return 1; }
# two_hosts [--dir NAME] [--first-domid N] [--lazy] [--env VAR=VALUE]... [--on-exit CMD]: a
# second kxen host on this machine, for tests that move a guest from one host to another. The
# test's run directory is the first host ($src), $KXEN_RUNDIR/NAME (default dest-host) the
# second ($dst), each with its own kxend, xenstored, xenconsoled and kxen-devd. at_dst CMD...
# runs CMD against the second host (its KXEN_RUNDIR and XENSTORED_RUNDIR, and each --env);
# $fakessh is an ssh for `xl migrate -s` whose HOST is a run directory. On exit CMD runs, then
# both hosts' services stop.
#   --first-domid N  the second host's domain ids start after N (kxend goes on from the last
#                    id in kxend.domid), so its taps (vif<domid>.<devid>) never take a name the
#                    first host's use in one network namespace.
#   --lazy           the second host's services start with the first command that needs them.
#                    Otherwise they start now, 0.2 s before the first host's: a guest sees its
#                    host's system time (since its kxend started), and one moving to a younger
#                    kxend would wait out the difference.
two_hosts() {
    local name=dest-host first='' lazy='' on_exit=''
    _two_hosts_env=()
    while [ $# -gt 0 ]; do
        case $1 in
        --dir) name=$2; shift 2 ;;
        --first-domid) first=$2; shift 2 ;;
        --lazy) lazy=1; shift ;;
        --env) _two_hosts_env+=("$2"); shift 2 ;;
        --on-exit) on_exit="$2; "; shift 2 ;;
        *) echo "two_hosts: unknown option $1" >&2; exit 2 ;;
        esac
    done
    src=$KXEN_RUNDIR dst=$KXEN_RUNDIR/$name
    mkdir -p "$dst"
    trap "${on_exit}kxen-services stop >/dev/null 2>&1; at_dst kxen-services stop >/dev/null 2>&1" \
        EXIT
    [ -z "$first" ] || echo "$first" >"$dst/kxend.domid"
    fakessh=$src/fakessh
    cat >"$fakessh" <<'SH'
#!/bin/sh
# fakessh HOST COMMAND...: HOST is the run directory of the host that runs COMMAND.
host=$1; shift
KXEN_RUNDIR=$host XENSTORED_RUNDIR=$host exec sh -c "$*"
SH
    chmod +x "$fakessh"
    [ -n "$lazy" ] && return 0
    at_dst xl list >/dev/null 2>&1
    sleep 0.2
}
# In a subshell: the --env settings must not leak into the first host's commands.
at_dst() { (export KXEN_RUNDIR="$dst" XENSTORED_RUNDIR="$dst" "${_two_hosts_env[@]}" && "$@"); }
