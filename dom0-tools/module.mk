# dom0-tools/: xl, the libxl-like domain library (libkxl), xenconsoled, service scripts.
KXL_INCLUDE := dom0-tools/libxl/include
INCLUDES += $(KXL_INCLUDE)

# libkxl.a: xl.cfg parser and (when the hypervisor and xenstore libraries are present) the
# domain builder. The parser part has no dependency besides libc.
KXL_CFG_SRCS := dom0-tools/libxl/src/cfg_parse.c dom0-tools/libxl/src/cfg_domain.c \
                dom0-tools/libxl/src/cfg_devices.c
KXL_CFG_LIB  := $(BUILD)/lib/libkxlcfg.a
$(KXL_CFG_LIB): $(call objs,$(KXL_CFG_SRCS))
LIBS += $(KXL_CFG_LIB)

UNIT_TESTS += $(BUILD)/tests/test_xlcfg
$(BUILD)/tests/test_xlcfg: $(call objs,dom0-tools/tests/test_xlcfg.c) $(KXL_CFG_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion

# xenconsoled's ring logic is a small library of its own so the unit tests can drive it.
XCONS_RING_SRCS := dom0-tools/xenconsoled/cons_ring.c
UNIT_TESTS += $(BUILD)/tests/test_cons_ring
# The ring code itself is libkxenring's (ring/module.mk is read after this file: name it by path).
$(BUILD)/tests/test_cons_ring: $(call objs,dom0-tools/tests/test_cons_ring.c $(XCONS_RING_SRCS)) \
		$(BUILD)/lib/libkxenring.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion

# libkxl proper: context, domain build/teardown, services. It needs kxend's control client
# and libxenstore; their module.mk files are read after this one, so name their outputs by path.
KXL_DEP_LIBS := $(BUILD)/lib/libkxenctlclient.a $(BUILD)/lib/libxenstore.a $(COMMON_LIB)
KXL_SRCS := dom0-tools/libxl/src/ctx.c dom0-tools/libxl/src/build.c \
            dom0-tools/libxl/src/services.c dom0-tools/libxl/src/coredump.c
KXL_LIB  := $(BUILD)/lib/libkxl.a
$(KXL_LIB): $(call objs,$(KXL_SRCS) $(KXL_CFG_SRCS))
LIBS += $(KXL_LIB)

XL_SRCS := $(wildcard dom0-tools/xl/*.c)
$(BUILD)/bin/xl: $(call objs,$(XL_SRCS)) $(KXL_LIB) $(KXL_DEP_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^
BINS += $(BUILD)/bin/xl

# kxend's dom0 libraries (hypervisor/libs): their headers are not on the global include path.
KXL_DOM0_CPPFLAGS := -Ihypervisor/libs/include
KXL_DOM0_LIBS := $(BUILD)/lib/libxenevtchn.a $(BUILD)/lib/libxenforeignmemory.a \
                 $(BUILD)/lib/libkxenctlclient.a

# xenconsoled
XCONS_SRCS := dom0-tools/xenconsoled/xenconsoled.c $(XCONS_RING_SRCS)
$(call objs,dom0-tools/xenconsoled/xenconsoled.c): CPPFLAGS += $(KXL_DOM0_CPPFLAGS)
$(BUILD)/bin/xenconsoled: $(call objs,$(XCONS_SRCS)) $(BUILD)/lib/libkxenring.a $(BUILD)/lib/libxenstore.a \
		$(KXL_DOM0_LIBS) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^
BINS += $(BUILD)/bin/xenconsoled

# The guest ring backend of xenstored (store/xenstored/ring_kxen.c, written for issue 5) is
# linked into the daemon from here, so that xenstored's own unit tests stay free of kxend's
# libraries: it overrides main.c's weak xenstored_ring_backend_default().
XSD_KXEN_OBJ := $(call objs,store/xenstored/ring_kxen.c)
$(XSD_KXEN_OBJ): CPPFLAGS += $(KXL_DOM0_CPPFLAGS)
$(BUILD)/bin/xenstored: $(XSD_KXEN_OBJ) $(BUILD)/lib/libxenctrl.a $(KXL_DOM0_LIBS)

# kxen-services sits next to the daemons it starts.
$(BUILD)/bin/kxen-services: dom0-tools/services/kxen-services
	@mkdir -p $(@D)
	install -m 755 $< $@
BINS += $(BUILD)/bin/kxen-services

# xsprobe: a test guest (guests/ runtime) that checks it cannot reach another guest's
# xenstore tree. guests/module.mk is read after this file: name the runtime objects by path
# (its pattern rule $(BUILD)/guestobj/%.c.o compiles them and ours).
XSPROBE_RT_OBJS := $(patsubst %,$(BUILD)/guestobj/%.o,$(wildcard guests/runtime/*.c guests/runtime/*.S))
XSPROBE_OBJS := $(BUILD)/guestobj/dom0-tools/tests/xsprobe/main.c.o
$(BUILD)/tests/xsprobe.elf: $(XSPROBE_RT_OBJS) $(XSPROBE_OBJS) guests/runtime/link.ld
	@mkdir -p $(@D)
	$(CC) $(GUESTS_LDFLAGS) -o $@ $(XSPROBE_RT_OBJS) $(XSPROBE_OBJS)
TEST_PROGS += $(BUILD)/tests/xsprobe.elf

# consbomb: a test guest that breaks its console ring's indices (xenconsoled must cope).
CONSBOMB_OBJS := $(BUILD)/guestobj/dom0-tools/tests/consbomb/main.c.o
$(BUILD)/tests/consbomb.elf: $(XSPROBE_RT_OBJS) $(CONSBOMB_OBJS) guests/runtime/link.ld
	@mkdir -p $(@D)
	$(CC) $(GUESTS_LDFLAGS) -o $@ $(XSPROBE_RT_OBJS) $(CONSBOMB_OBJS)
TEST_PROGS += $(BUILD)/tests/consbomb.elf
