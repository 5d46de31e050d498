# store/libxenstore: kxen's libxenstore (Xen's xs_* client API), shared and static.
XSLIB_SRCS    := $(addprefix store/libxenstore/,xs_lib.c xs_conn.c xs_api.c)
XSLIB_OBJS    := $(call objs,$(XSLIB_SRCS))
XSLIB_SO      := $(BUILD)/lib/libxenstore.so.4
XSLIB_SOLINK  := $(BUILD)/lib/libxenstore.so
XSLIB_A       := $(BUILD)/lib/libxenstore.a
XSLIB_MAP     := store/libxenstore/libxenstore.map
# Programs in $(BUILD)/bin or $(BUILD)/tests find the library next door without installing it.
XSLIB_RPATH   := -Wl,-rpath,'$$ORIGIN/../lib'

INCLUDES     += store/libxenstore/include
INSTALL_HDRS += store/libxenstore/include:xenstore.h store/libxenstore/include:xenstore_lib.h \
                store/libxenstore/include:xenstore-compat/xs.h \
                store/libxenstore/include:xenstore-compat/xs_lib.h \
                ring/include:kxen/io/xs_wire.h
LIBS         += $(XSLIB_SO) $(XSLIB_SOLINK) $(XSLIB_A)

$(XSLIB_A): $(XSLIB_OBJS)

$(XSLIB_SO): $(XSLIB_OBJS) $(XSLIB_MAP)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libxenstore.so.4 -Wl,--version-script=$(XSLIB_MAP) \
	  -Wl,-z,defs -o $@ $(XSLIB_OBJS)

$(XSLIB_SOLINK): $(XSLIB_SO)
	ln -sf libxenstore.so.4 $@

UNIT_TESTS += $(BUILD)/tests/test_xs_lib
$(BUILD)/tests/test_xs_lib: $(call objs,$(wildcard store/libxenstore/tests/*.c)) $(XSLIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion

# The same Xen-API client built against Xen's header + Debian's library and against ours.
XSLIB_COMPAT_SRC := store/libxenstore/compat/xs_compat_client.c
TEST_PROGS += $(BUILD)/tests/xs_compat_client_kxen $(BUILD)/tests/xs_compat_client_xen
$(BUILD)/tests/xs_compat_client_kxen: $(XSLIB_COMPAT_SRC) $(XSLIB_SO) $(XSLIB_SOLINK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -L$(BUILD)/lib -lxenstore \
	  -Wl,-rpath,'$$ORIGIN/../lib'
# No project include paths and no -L: /usr/include/xenstore.h and Debian's libxenstore.so.4.
$(BUILD)/tests/xs_compat_client_xen: $(XSLIB_COMPAT_SRC)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -lxenstore
