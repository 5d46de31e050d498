# drivers/: the xenbus backend core (libkxenxenbus.a) and blkback (libkxenblkback.a), with
# their unit tests on a fake platform. See drivers/README.md.
XENBUS_DIR  := drivers/xenbus
XENBUS_SRCS := $(XENBUS_DIR)/platform.c $(XENBUS_DIR)/backend.c $(XENBUS_DIR)/keys.c
XENBUS_LIB  := $(BUILD)/lib/libkxenxenbus.a
# The dom0 platform builds against kxen's dom0 library headers (hypervisor/libs/module.mk).
XENBUS_DOM0_SRC := $(XENBUS_DIR)/platform_dom0.c
$(call objs,$(XENBUS_DOM0_SRC)): CPPFLAGS += -Ihypervisor/libs/include
$(XENBUS_LIB): $(call objs,$(XENBUS_SRCS) $(XENBUS_DOM0_SRC))
LIBS += $(XENBUS_LIB)

BLKBACK_DIR  := drivers/block
BLKBACK_SRCS := $(addprefix $(BLKBACK_DIR)/,blkback_xenbus.c blkback_ring.c blkback_req.c \
                storage_file.c storage_pool.c storage_uring.c)
# Programs linking libkxenblkback.a add this (liburing-dev, scripts/deps.sh).
BLKBACK_LDLIBS := -luring
BLKBACK_LIB  := $(BUILD)/lib/libkxenblkback.a
$(BLKBACK_LIB): $(call objs,$(BLKBACK_SRCS))
LIBS += $(BLKBACK_LIB)

# Unit tests: the real cores over the fake platform and a fake Linux 6.1 blkfront. The
# corpus of the request-parsing fuzz target is replayed here too.
DRIVERS_T := drivers/tests
DRIVERS_TEST_SRCS := $(filter-out $(DRIVERS_T)/fuzz_blkreq_main.c,$(wildcard $(DRIVERS_T)/*.c))
DRIVERS_TEST_BIN  := $(BUILD)/tests/test_drivers
$(call objs,$(DRIVERS_T)/test_blkreq_fuzz_replay.c): \
    CPPFLAGS += -DBLKREQ_CORPUS_DIR='"$(abspath $(DRIVERS_T)/corpus_blkreq)"'
$(DRIVERS_TEST_BIN): $(call objs,$(DRIVERS_TEST_SRCS)) $(BLKBACK_LIB) \
    $(BUILD)/lib/libkxenxenbus-core.a $(BUILD)/lib/libkxenring.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(BLKBACK_LDLIBS) -lcriterion
UNIT_TESTS += $(DRIVERS_TEST_BIN)
# The tests link the core without the dom0 platform (no kxend, no xenstored).
$(BUILD)/lib/libkxenxenbus-core.a: $(call objs,$(XENBUS_SRCS))

# libFuzzer build of the request parser (clang; not part of `all`):
#   make blkreq-fuzz && build/fuzz/blkreq_fuzz -max_total_time=60 drivers/tests/corpus_blkreq
.PHONY: blkreq-fuzz
blkreq-fuzz: $(BUILD)/fuzz/blkreq_fuzz
$(BUILD)/fuzz/blkreq_fuzz: $(DRIVERS_T)/fuzz_blkreq.c $(BLKBACK_DIR)/blkback_req.c
	@mkdir -p $(@D)
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -Iring/include -fsanitize=fuzzer,address,undefined \
	    -o $@ $^
