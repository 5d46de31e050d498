#!/usr/bin/env bash
# Runs every benchmark: executables bench/*/run.sh, each given the release build directory.
# Each prints its figures next to a reference measured in the same run.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$src" && realpath -m "${1:-build}")
rc=0
for b in "$src"/bench/*/run.sh; do
  [ -x "$b" ] || continue
  echo "== bench/$(basename "$(dirname "$b")")"
  ( cd "$src" && KXEN_SRC=$src KXEN_BUILD=$build "$b" ) || rc=1
done
exit $rc
