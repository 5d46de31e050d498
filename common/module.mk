# common/: logging, small utilities and the daemon skeleton linked into every kxen program.
COMMON_SRCS := $(wildcard common/src/*.c)
COMMON_LIB  := $(BUILD)/lib/libkxencommon.a
$(COMMON_LIB): $(call objs,$(COMMON_SRCS))
LIBS += $(COMMON_LIB)

# The skeleton's libevent hook: a library of its own so libkxencommon needs no libevent.
COMMON_EVENT_LIB := $(BUILD)/lib/libkxendaemonevent.a
$(COMMON_EVENT_LIB): $(call objs,common/event/daemon_event.c)
LIBS += $(COMMON_EVENT_LIB)

UNIT_TESTS += $(BUILD)/tests/test_common
$(BUILD)/tests/test_common: $(call objs,$(wildcard common/tests/*.c)) $(COMMON_EVENT_LIB) \
		$(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -levent -lcriterion
