# hypervisor/: kxend (core, hypercalls, control server, accelerators), the control-client
# helper shared by every dom0 library, libxenctrl (xc_*), unit tests and test programs.
INCLUDES += hypervisor/include hypervisor/libxc/include

# Control client: linked into every dom0 library (xc, evtchn, gnttab, foreignmemory).
HV_CTL_CLIENT_LIB := $(BUILD)/lib/libkxenctlclient.a
$(HV_CTL_CLIENT_LIB): $(call objs,hypervisor/libxc/ctl_client.c)
LIBS += $(HV_CTL_CLIENT_LIB)

# libxenctrl: our xc_* subset over the control socket (shared + static for test programs).
HV_XC_SRCS := $(filter-out hypervisor/libxc/ctl_client.c,$(wildcard hypervisor/libxc/*.c))
HV_XC_LIB := $(BUILD)/lib/libxenctrl.a
HV_XC_SO := $(BUILD)/lib/libxenctrl.so
$(HV_XC_LIB): $(call objs,$(HV_XC_SRCS) hypervisor/libxc/ctl_client.c)
$(HV_XC_SO): $(call objs,$(HV_XC_SRCS) hypervisor/libxc/ctl_client.c) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libxenctrl.so -o $@ $^
LIBS += $(HV_XC_LIB) $(HV_XC_SO)
INSTALL_HDRS += hypervisor/include:kxen/ctl.h hypervisor/include:kxen/ctl_client.h \
	hypervisor/include:kxen/ctl_domain.h hypervisor/libxc/include:xenctrl.h

# kxend: every core file and every accelerator. Parts register themselves
# (include/kxend/registry.h): a new file under kxend/ or accel/ joins the daemon by being there.
HV_KXEND_SRCS := $(wildcard hypervisor/kxend/*.c hypervisor/accel/*.c)
HV_CORE_OBJS := $(call objs,$(filter-out hypervisor/kxend/main.c,$(HV_KXEND_SRCS)))
HV_KXEND_LDLIBS := -lunicorn -lm
$(BUILD)/bin/kxend: $(call objs,hypervisor/kxend/main.c) $(HV_CORE_OBJS) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(HV_KXEND_LDLIBS)
BINS += $(BUILD)/bin/kxend

# Unit tests: the core linked without main(), no daemon needed.
UNIT_TESTS += $(BUILD)/tests/test_kxend
$(BUILD)/tests/test_kxend: $(call objs,$(wildcard hypervisor/tests/test_kxend_*.c)) \
		$(HV_CORE_OBJS) $(HV_CTL_CLIENT_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(HV_KXEND_LDLIBS) -lcriterion

# Test programs: a small xc client for the system tests and our own tiny soft-path guest.
HV_XCTOOL := $(BUILD)/tests/kxen-xctool
$(HV_XCTOOL): $(call objs,hypervisor/tests/xctool.c) $(HV_XC_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^
HV_MINI_GUEST := $(BUILD)/tests/kxend-mini.elf
$(HV_MINI_GUEST): hypervisor/tests/guest/mini.S
	@mkdir -p $(@D)
	$(CC) -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-Ttext=0x100000 \
	  -Wl,-z,max-page-size=4096 -o $@ $<
TEST_PROGS += $(HV_XCTOOL) $(HV_MINI_GUEST)
