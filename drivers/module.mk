# drivers/: the xenbus backend core (libkxenxenbus) and blkback (libkxenblkback), with their
# unit tests on a fake platform. See drivers/README.md.
PRIVATE_LIBS += libkxenxenbus-core libkxenxenbus libkxenblkback

# The core without a platform (unit tests link it with the fake one) ...
DRIVERS_XENBUS_CORE := drivers/xenbus/platform.c drivers/xenbus/backend.c drivers/xenbus/keys.c
libkxenxenbus-core_SRCS += $(DRIVERS_XENBUS_CORE)
# ... and with the dom0 platform over kxen's dom0 libraries (their headers are not global).
libkxenxenbus_SRCS += $(DRIVERS_XENBUS_CORE) drivers/xenbus/platform_dom0.c
drivers/xenbus/platform_dom0.c_CPPFLAGS += -Ihypervisor/libs/include

# blkback; a program linking it adds -luring (liburing-dev).
libkxenblkback_SRCS += $(addprefix drivers/block/,blkback_xenbus.c blkback_ring.c \
                       blkback_req.c storage_file.c storage_pool.c storage_uring.c)

# Unit tests: the real cores over the fake platform and a fake Linux 6.1 blkfront; the corpus
# of the request-parsing fuzz target is replayed here too.
UNIT_TESTS += test_drivers
test_drivers_SRCS   += $(wildcard drivers/tests/*.c)
test_drivers_LIBS   += libkxenblkback libkxenxenbus-core libkxenring libkxencommon
test_drivers_LDLIBS += -luring
drivers/tests/test_blkreq_fuzz_replay.c_CPPFLAGS += \
    -DBLKREQ_CORPUS_DIR='"$(abspath drivers/tests/corpus_blkreq)"'

# libFuzzer build of the request parser (clang; not part of `all`):
#   make blkreq-fuzz && build/fuzz/blkreq_fuzz -max_total_time=60 drivers/tests/corpus_blkreq
FUZZERS += blkreq_fuzz
blkreq_fuzz_SRCS += drivers/tests/fuzz_blkreq.c drivers/block/blkback_req.c

# netback, the learning switch and tap ports (drivers/net).
PRIVATE_LIBS += libkxennetback
libkxennetback_SRCS += $(addprefix drivers/net/,netback_xenbus.c netback_ring.c netback_req.c gso.c csum.c \
                       switch.c tap.c)
test_drivers_LIBS += libkxennetback
drivers/tests/fuzz_nettx.c_CPPFLAGS += -DNETTX_REPLAY
drivers/tests/test_nettx_fuzz_replay.c_CPPFLAGS += \
    -DNETTX_CORPUS_DIR='"$(abspath drivers/tests/corpus_nettx)"'

#   make nettx-fuzz && build/fuzz/nettx_fuzz -max_total_time=60 drivers/tests/corpus_nettx
FUZZERS += nettx_fuzz
nettx_fuzz_SRCS += drivers/tests/fuzz_nettx.c drivers/net/netback_req.c
# devd serves vifs through its glue file (dom0-tools/devd/backend_vif.c).
kxen-devd_LIBS += libkxennetback
