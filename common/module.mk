# common/: logging and small utilities linked into every kxen program.
COMMON_SRCS := $(wildcard common/src/*.c)
COMMON_LIB  := $(BUILD)/lib/libkxencommon.a
$(COMMON_LIB): $(call objs,$(COMMON_SRCS))
LIBS += $(COMMON_LIB)

UNIT_TESTS += $(BUILD)/tests/test_common
$(BUILD)/tests/test_common: $(call objs,$(wildcard common/tests/*.c)) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion
