# bench/ring: two-process ring throughput (uses ring/tests/pump.c and libkxenring; the library
# path is spelled out because ring/module.mk is read after this file).
RING_BENCH := $(BUILD)/bench/ring_bench
BENCHES += $(RING_BENCH)
$(RING_BENCH): $(call objs,bench/ring/ring_bench.c ring/tests/pump.c) $(BUILD)/lib/libkxenring.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^
