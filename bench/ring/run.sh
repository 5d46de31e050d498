#!/usr/bin/env bash
# Ring throughput benchmark (see bench/ring/README.md). KXEN_BUILD = release build directory.
# RING_BENCH_SCALE multiplies the request counts (default 1: about 10-15 s in all).
set -eu
build=${KXEN_BUILD:-build}
exec "$build/bench/ring_bench" "${RING_BENCH_SCALE:-1}"
