# Shared helpers for system tests (sourced). TAP output: ok/not ok lines.
: "${KXEN_SRC:?}" "${KXEN_BUILD:?}" "${KXEN_RUNDIR:?}"
export PATH="$KXEN_BUILD/bin:$PATH"
_tap_n=0
ok()     { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); echo "not ok $_tap_n - $*"; }
# check "description" command...: one TAP line from a command's exit status.
check()  { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
skip_all() { echo "SKIP $*"; exit 77; }
# wait_for SECONDS command...: polls until the command succeeds.
wait_for() { local t=$1; shift; local i; for ((i = 0; i < t * 20; i++)); do "$@" && return 0; sleep 0.05; done; return 1; }
