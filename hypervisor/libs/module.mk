# hypervisor/libs: the dom0 libraries (libxenevtchn, libxengnttab, libxenforeignmemory) and
# the unit tests of kxend's event channels and grant tables.

# Unit tests: event_channel.c and grant_table.c over a fake core (no accelerator, no daemon).
DOM0LIBS_UT_SRCS := $(wildcard hypervisor/tests/test_evtchn*.c hypervisor/tests/test_gnttab*.c)
UNIT_TESTS += $(BUILD)/tests/test_evtchn_gnttab
$(BUILD)/tests/test_evtchn_gnttab: $(call objs,$(DOM0LIBS_UT_SRCS) \
		hypervisor/kxend/event_channel.c hypervisor/kxend/grant_table.c) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion
