#!/usr/bin/env bash
# The demo `make run` boots. Replaced piece by piece as the system grows.
set -u
build=${1:-build}
echo "kxen: built programs in $build/bin:"
ls "$build/bin" 2>/dev/null | sed 's/^/  /'
