# hypervisor/tests/ctlfuzz/: the control-socket fuzzer, run by tests/system/fuzz_ctl.sh.
TEST_PROGRAMS += kxen-ctlfuzz
kxen-ctlfuzz_SRCS += hypervisor/tests/ctlfuzz/ctlfuzz.c
kxen-ctlfuzz_LIBS += libkxencommon
