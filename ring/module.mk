# ring/: Xen's shared-memory ABI headers (ring/include/kxen/...) and libkxenring, the consumer
# helpers that are safe against a hostile peer. Tests under ring/tests.
RING_SRCS := $(wildcard ring/src/*.c)
RING_LIB  := $(BUILD)/lib/libkxenring.a
$(RING_LIB): $(call objs,$(RING_SRCS))
LIBS += $(RING_LIB)

RING_HDRS := $(patsubst ring/include/%,%,$(shell find ring/include -name '*.h'))
INSTALL_HDRS += $(addprefix ring/include:,$(RING_HDRS))

# Conformance: the same list of ABI facts compiled against Xen's headers and against ours.
RING_T := ring/tests
UNIT_TESTS += $(BUILD)/tests/test_ring_abi
$(call objs,$(RING_T)/test_abi_conformance.c): CPPFLAGS += -DRING_SRC_DIR='"$(abspath .)"'
$(BUILD)/tests/test_ring_abi: $(call objs,$(RING_T)/test_abi_conformance.c \
    $(RING_T)/abi_table_xen.c $(RING_T)/abi_table_kxen.c)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion

# Hostile-peer unit tests of libkxenring.
UNIT_TESTS += $(BUILD)/tests/test_ring_safe
$(BUILD)/tests/test_ring_safe: $(call objs,$(RING_T)/test_ring_safe.c) $(RING_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion

# Interop across processes: sides built on Xen's headers and on ours.
UNIT_TESTS += $(BUILD)/tests/test_ring_interop
$(BUILD)/tests/test_ring_interop: $(call objs,$(RING_T)/test_ring_interop.c $(RING_T)/interop_xen.c \
    $(RING_T)/interop_kxen.c $(RING_T)/interop_common.c) $(RING_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion

# Two-process stress test (the pump is shared with bench/ring).
RING_PUMP_OBJ := $(call objs,$(RING_T)/pump.c)
UNIT_TESTS += $(BUILD)/tests/test_ring_stress
$(BUILD)/tests/test_ring_stress: $(call objs,$(RING_T)/test_ring_stress.c) $(RING_PUMP_OBJ) $(RING_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion

# Fuzz corpus replay (gcc, sanitizers) in `make check` ...
UNIT_TESTS += $(BUILD)/tests/test_ring_fuzz_replay
$(call objs,$(RING_T)/test_ring_fuzz_replay.c): CPPFLAGS += -DRING_CORPUS_DIR='"$(abspath $(RING_T)/corpus)"'
$(BUILD)/tests/test_ring_fuzz_replay: $(call objs,$(RING_T)/test_ring_fuzz_replay.c $(RING_T)/fuzz_ring.c) $(RING_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion

# ... and the libFuzzer build (clang; not part of `all`):
#   make ring-fuzz && build/fuzz/ring_fuzz -max_total_time=60 ring/tests/corpus
.PHONY: ring-fuzz
ring-fuzz: $(BUILD)/fuzz/ring_fuzz
$(BUILD)/fuzz/ring_fuzz: $(RING_T)/fuzz_ring.c $(RING_SRCS) $(shell find ring/include -name '*.h')
	@mkdir -p $(@D)
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -Iring/include -fsanitize=fuzzer,address,undefined \
	    -o $@ $(RING_T)/fuzz_ring.c $(RING_SRCS)

# Every ABI header must compile on its own and freestanding (guests include them without libc).
# The stamp is a prerequisite of test_ring_abi, so a header that breaks this breaks the build.
RING_FREESTANDING_HDRS := $(filter-out kxen/ring_safe.h,$(RING_HDRS))
RING_HDRCHECK := $(BUILD)/obj/ring/headers-freestanding.stamp
$(RING_HDRCHECK): $(addprefix ring/include/,$(RING_HDRS))
	@mkdir -p $(@D)
	@for h in $(RING_FREESTANDING_HDRS); do \
	  printf '#include <%s>\n#include <%s>\n' $$h $$h | $(CC) -std=gnu11 -Wall -Wextra -Werror \
	    -ffreestanding -nostdinc -isystem $$($(CC) -print-file-name=include) -Iring/include \
	    -x c -c - -o /dev/null || { echo "ring: $$h does not compile freestanding" >&2; exit 1; }; \
	done
	@touch $@
$(BUILD)/tests/test_ring_abi: | $(RING_HDRCHECK)
