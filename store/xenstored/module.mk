# store/xenstored: the xenstore daemon (build/bin/xenstored) and its unit tests.
XENSTORED_DIR      := store/xenstored
# ring_kxen.c (the kxend ring backend) is linked into the daemon by dom0-tools/module.mk.
XENSTORED_CORE     := $(filter-out $(XENSTORED_DIR)/main.c $(XENSTORED_DIR)/ring_kxen.c,$(wildcard $(XENSTORED_DIR)/*.c))
XENSTORED_CORE_LIB := $(BUILD)/lib/libxenstored-core.a
XENSTORED_BIN      := $(BUILD)/bin/xenstored

$(XENSTORED_CORE_LIB): $(call objs,$(XENSTORED_CORE))

# Guest rings go through libkxenring (ring/module.mk, read before this file).
$(XENSTORED_BIN): $(call objs,$(XENSTORED_DIR)/main.c) $(XENSTORED_CORE_LIB) $(RING_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -levent

BINS += $(XENSTORED_BIN)

XENSTORED_TEST_SRCS := $(wildcard $(XENSTORED_DIR)/tests/*.c)
XENSTORED_TEST_BIN  := $(BUILD)/tests/test_xenstored
$(XENSTORED_TEST_BIN): $(call objs,$(XENSTORED_TEST_SRCS)) $(XENSTORED_CORE_LIB) $(RING_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -levent -lcriterion
UNIT_TESTS += $(XENSTORED_TEST_BIN)
# The socket tests run the daemon binary of the same build; the replay test reads the corpus.
$(XENSTORED_TEST_BIN): | $(XENSTORED_BIN)
$(BUILD)/obj/$(XENSTORED_DIR)/tests/test_socket.o: CPPFLAGS += -DXS_DAEMON_BIN=\"$(abspath $(XENSTORED_BIN))\"
$(BUILD)/obj/$(XENSTORED_DIR)/tests/test_busy_poll.o: CPPFLAGS += -DXS_DAEMON_BIN=\"$(abspath $(XENSTORED_BIN))\"
$(BUILD)/obj/$(XENSTORED_DIR)/tests/test_fuzz_replay.o: CPPFLAGS += -DXS_CORPUS_DIR=\"$(abspath $(XENSTORED_DIR)/tests/corpus)\"

# Random-input driver for the parser (a libFuzzer target when built with clang, see README).
XENSTORED_FUZZ := $(BUILD)/bin/xenstored-fuzz
$(XENSTORED_FUZZ): $(call objs,$(XENSTORED_DIR)/fuzz/xenstored_fuzz.c $(XENSTORED_DIR)/tests/fuzz_one.c $(XENSTORED_DIR)/tests/harness.c) $(XENSTORED_CORE_LIB) $(RING_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -levent
TEST_PROGS += $(XENSTORED_FUZZ)
