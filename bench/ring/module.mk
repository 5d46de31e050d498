# bench/ring: two-process ring throughput (the pump of ring/tests and libkxenring).
BENCH_PROGRAMS += ring_bench
ring_bench_SRCS += bench/ring/ring_bench.c ring/tests/pump.c
ring_bench_LIBS += libkxenring
