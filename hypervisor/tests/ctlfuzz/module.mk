# hypervisor/tests/ctlfuzz/: the control-socket fuzzer, run by tests/system/fuzz_ctl.sh.
CTLFUZZ_BIN := $(BUILD)/tests/kxen-ctlfuzz
$(CTLFUZZ_BIN): $(call objs,hypervisor/tests/ctlfuzz/ctlfuzz.c) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^
TEST_PROGS += $(CTLFUZZ_BIN)
