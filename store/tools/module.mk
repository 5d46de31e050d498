# store/tools: xenstore and its xenstore-* aliases (one program, mode from its name).
XSTOOLS_BIN     := $(BUILD)/bin/xenstore
XSTOOLS_MODES   := read write rm exists list ls chmod watch
XSTOOLS_ALIASES := $(addprefix $(BUILD)/bin/xenstore-,$(XSTOOLS_MODES))
BINS += $(XSTOOLS_BIN) $(XSTOOLS_ALIASES) $(BUILD)/bin/xenstore-control

$(XSTOOLS_BIN): $(call objs,store/tools/xenstore_client.c) $(XSLIB_SO) $(XSLIB_SOLINK)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -L$(BUILD)/lib -lxenstore $(XSLIB_RPATH)

$(XSTOOLS_ALIASES): $(XSTOOLS_BIN)
	ln -sf xenstore $@

$(BUILD)/bin/xenstore-control: $(call objs,store/tools/xenstore_control.c) $(XSLIB_SO) $(XSLIB_SOLINK)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -L$(BUILD)/lib -lxenstore $(XSLIB_RPATH)
