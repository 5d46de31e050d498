# ring/: Xen's shared-memory ABI headers (ring/include/kxen/...) and libkxenring, the consumer
# helpers that are safe against a hostile peer. Tests under ring/tests.
INCLUDES    += ring/include
STATIC_LIBS += libkxenring
libkxenring_SRCS += $(wildcard ring/src/*.c)

RING_HDRS := $(patsubst ring/include/%,%,$(shell find ring/include -name '*.h'))
# ring_safe.h serves libkxenring, which is not installed.
INSTALL_HDRS += $(addprefix ring/include:,$(filter-out kxen/ring_safe.h,$(RING_HDRS)))
# Every ABI header must compile on its own and freestanding (guests include them without libc).
FREESTANDING_HDRS += $(addprefix ring/include:,$(filter-out kxen/ring_safe.h,$(RING_HDRS)))

UNIT_TESTS += test_ring_abi test_ring_safe test_ring_interop test_ring_stress \
              test_ring_fuzz_replay

# Conformance: the same list of ABI facts compiled against Xen's headers and against ours.
test_ring_abi_SRCS += ring/tests/test_abi_conformance.c ring/tests/abi_table_xen.c \
                      ring/tests/abi_table_kxen.c
ring/tests/test_abi_conformance.c_CPPFLAGS += -DRING_SRC_DIR='"$(abspath .)"'

# Hostile-peer unit tests of libkxenring.
test_ring_safe_SRCS += ring/tests/test_ring_safe.c
test_ring_safe_LIBS += libkxenring

# Interop across processes: sides built on Xen's headers and on ours.
test_ring_interop_SRCS += ring/tests/test_ring_interop.c ring/tests/interop_xen.c \
                          ring/tests/interop_kxen.c ring/tests/interop_common.c
test_ring_interop_LIBS += libkxenring

# Two-process stress test (the pump is shared with bench/ring).
test_ring_stress_SRCS += ring/tests/test_ring_stress.c ring/tests/pump.c
test_ring_stress_LIBS += libkxenring

# Fuzz corpus replay (gcc, sanitizers) in `make check` ...
test_ring_fuzz_replay_SRCS += ring/tests/test_ring_fuzz_replay.c ring/tests/fuzz_ring.c
test_ring_fuzz_replay_LIBS += libkxenring
ring/tests/test_ring_fuzz_replay.c_CPPFLAGS += -DRING_CORPUS_DIR='"$(abspath ring/tests/corpus)"'

# ... and the libFuzzer build (clang; not part of `all`):
#   make ring-fuzz && build/fuzz/ring_fuzz -max_total_time=60 ring/tests/corpus
FUZZERS += ring_fuzz
ring_fuzz_SRCS += ring/tests/fuzz_ring.c $(wildcard ring/src/*.c)
ring_fuzz_DEPS += $(addprefix ring/include/,$(RING_HDRS))
