# bench/block: the host reference for the guest block benchmark (pread/pwrite on the same
# file, same request sizes and queue depths).
BENCH_PROGRAMS += blk_hostref
blk_hostref_SRCS += bench/block/hostref.c
