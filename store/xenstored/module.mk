# store/xenstored: the xenstore daemon (build/bin/xenstored) and its unit tests.
# The daemon's core is a private library shared by the daemon, the unit tests and the fuzzer.
PRIVATE_LIBS += libxenstored-core
libxenstored-core_SRCS += $(filter-out store/xenstored/main.c store/xenstored/ring_kxen.c, \
                            $(wildcard store/xenstored/*.c))

# The daemon: main.c plus the guest ring backend over kxend's dom0 libraries (ring_kxen.c
# overrides main.c's weak xenstored_ring_backend_default()); the unit tests stay free of
# kxend's libraries. Those libraries' headers are not on the global include path.
PROGRAMS += xenstored
xenstored_SRCS   += store/xenstored/main.c store/xenstored/ring_kxen.c
store/xenstored/ring_kxen.c_CPPFLAGS += -Ihypervisor/libs/include
xenstored_LIBS   += libxenstored-core libkxencommon libxenctrl libxenevtchn \
                    libxenforeignmemory libkxenctlclient
xenstored_LDLIBS += -levent
xenstored_LIBS   += libkxendaemonevent libkxenring

# The socket tests run the daemon binary of the same build; the replay test reads the corpus.
UNIT_TESTS += test_xenstored
test_xenstored_SRCS   += $(wildcard store/xenstored/tests/*.c)
test_xenstored_LIBS   += libxenstored-core libkxencommon libkxenring
test_xenstored_LDLIBS += -levent
test_xenstored_NEEDS  += $(BUILD)/bin/xenstored
store/xenstored/tests/test_socket.c_CPPFLAGS += -DXS_DAEMON_BIN=\"$(abspath $(BUILD)/bin/xenstored)\"
store/xenstored/tests/test_busy_poll.c_CPPFLAGS += \
    -DXS_DAEMON_BIN=\"$(abspath $(BUILD)/bin/xenstored)\"
store/xenstored/tests/test_fuzz_replay.c_CPPFLAGS += \
    -DXS_CORPUS_DIR=\"$(abspath store/xenstored/tests/corpus)\"

# Random-input driver for the parser (a libFuzzer target when built with clang, see README).
TEST_PROGRAMS += xenstored-fuzz
xenstored-fuzz_DIR    := bin
xenstored-fuzz_SRCS   += store/xenstored/fuzz/xenstored_fuzz.c store/xenstored/tests/fuzz_one.c \
                         store/xenstored/tests/harness.c
xenstored-fuzz_LIBS   += libxenstored-core libkxencommon libkxenring
xenstored-fuzz_LDLIBS += -levent
