# hypervisor/libs: the dom0 libraries (libxenevtchn, libxengnttab, libxenforeignmemory) and
# the unit tests of kxend's event channels and grant tables.

# Unit tests: kxend's evtchn and gnttab files over a fake core (no accelerator, no daemon).
DOM0LIBS_UT_SRCS := $(wildcard hypervisor/tests/test_evtchn*.c hypervisor/tests/test_gnttab*.c)
UNIT_TESTS += $(BUILD)/tests/test_evtchn_gnttab
$(BUILD)/tests/test_evtchn_gnttab: $(call objs,$(DOM0LIBS_UT_SRCS) \
		hypervisor/kxend/evtchn.c hypervisor/kxend/evtchn_dom0.c \
		$(wildcard hypervisor/kxend/gnttab*.c)) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion

# The dom0 libraries: shared (Xen's sonames) and static (for test programs). The control
# client archive is named literally: hypervisor/module.mk is read after this file.
# Our xenevtchn.h & co. are not on the global include path: other modules build against Xen's
# own headers in /usr/include (compatibility shims). Users of ours add DOM0LIBS_CPPFLAGS.
DOM0LIBS_CPPFLAGS := -Ihypervisor/libs/include
$(call objs,$(wildcard hypervisor/libs/*.c)): CPPFLAGS += $(DOM0LIBS_CPPFLAGS)
DOM0LIBS_CTL := $(BUILD)/lib/libkxenctlclient.a
DOM0LIBS_NAMES := xenevtchn xengnttab xenforeignmemory
DOM0LIBS_SRC_xenevtchn := hypervisor/libs/evtchn.c
DOM0LIBS_SRC_xengnttab := hypervisor/libs/gnttab.c
DOM0LIBS_SRC_xenforeignmemory := hypervisor/libs/foreignmemory.c

define DOM0LIBS_RULES
$(BUILD)/lib/lib$(1).so.1: $(call objs,$(DOM0LIBS_SRC_$(1))) $(DOM0LIBS_CTL) $(COMMON_LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -shared -Wl,-soname,lib$(1).so.1 -o $$@ $$^
	ln -sf lib$(1).so.1 $(BUILD)/lib/lib$(1).so
$(BUILD)/lib/lib$(1).a: $(call objs,$(DOM0LIBS_SRC_$(1)))
LIBS += $(BUILD)/lib/lib$(1).so.1 $(BUILD)/lib/lib$(1).a
endef
$(foreach l,$(DOM0LIBS_NAMES),$(eval $(call DOM0LIBS_RULES,$(l))))

INSTALL_HDRS += hypervisor/libs/include:xenevtchn.h hypervisor/libs/include:xengnttab.h \
	hypervisor/libs/include:xenforeignmemory.h hypervisor/include:kxen/ctl_evtchn.h \
	hypervisor/include:kxen/ctl_gnttab.h

# The echo guest of the system test and benchmark, on the guest runtime (guests/module.mk,
# read before this file, provides the flags, the runtime objects and the pattern rule).
DOM0LIBS_ECHO := $(BUILD)/tests/dom0libs-echo.elf
DOM0LIBS_ECHO_OBJS := $(GUESTS_OBJDIR)/hypervisor/libs/guest/echo.c.o
$(DOM0LIBS_ECHO): $(GUESTS_RT_OBJS) $(DOM0LIBS_ECHO_OBJS) guests/runtime/link.ld
	@mkdir -p $(@D)
	$(CC) $(GUESTS_LDFLAGS) -o $@ $(GUESTS_RT_OBJS) $(DOM0LIBS_ECHO_OBJS)
TEST_PROGS += $(DOM0LIBS_ECHO)

# The dom0 test and benchmark program (tests/system/dom0libs_*.sh, bench/hypervisor).
DOM0LIBS_TEST := $(BUILD)/tests/dom0libs-test
$(call objs,hypervisor/libs/tests/dom0test.c): CPPFLAGS += $(DOM0LIBS_CPPFLAGS)
$(DOM0LIBS_TEST): $(call objs,hypervisor/libs/tests/dom0test.c) $(BUILD)/lib/libxenevtchn.a \
		$(BUILD)/lib/libxengnttab.a $(BUILD)/lib/libxenforeignmemory.a \
		$(BUILD)/lib/libxenctrl.a $(DOM0LIBS_CTL) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^
TEST_PROGS += $(DOM0LIBS_TEST)
