# hypervisor/: kxend (core, hypercalls, control server, accelerators), the control-client
# helper shared by every dom0 library, libxenctrl (xc_*), unit tests and test programs.
INCLUDES += hypervisor/include hypervisor/libxc/include
# xenctrl.h carries the control protocol's domain records (ctl_domain.h, ctl.h); the control
# client's own header stays private.
INSTALL_HDRS += hypervisor/include:kxen/ctl.h hypervisor/include:kxen/ctl_domain.h \
	hypervisor/libxc/include:xenctrl.h
PKGCONFIG    += hypervisor/libxc/xencontrol.pc.in

# Control client: linked into every dom0 library (xc, evtchn, gnttab, foreignmemory).
STATIC_LIBS += libkxenctlclient
libkxenctlclient_SRCS += hypervisor/libxc/ctl_client.c

# libxenctrl: our xc_* subset over the control socket (shared + static for test programs).
STATIC_LIBS += libxenctrl
SHARED_LIBS += libxenctrl
INSTALL_DEVLINKS += libxenctrl
# Xen's soname for the 4.17 libxenctrl (its ABI changes with every Xen release).
libxenctrl_SOVERSION := 4.17
libxenctrl_SRCS += $(wildcard hypervisor/libxc/*.c)
libxenctrl_LIBS += libkxencommon

# kxend: every core file and every accelerator, by wildcard. Parts register themselves
# (include/kxend/registry.h): a new file under kxend/ or accel/ joins the daemon by being there.
PROGRAMS += kxend
kxend_SRCS   += $(wildcard hypervisor/kxend/*.c hypervisor/accel/*.c)
kxend_LIBS   += libkxencommon
kxend_LDLIBS += -lunicorn -lm -llzma -lz
# The loader decompresses zstd bzImage payloads when Debian's libzstd-dev is installed
# (loader_bzimage.c tests for <zstd.h> the same way).
ifneq ($(wildcard /usr/include/zstd.h),)
kxend_LDLIBS += -lzstd
test_kxend_LDLIBS += -lzstd
endif

# Unit tests: the core (whatever any folder adds to kxend) linked without main(), no daemon.
UNIT_TESTS += test_kxend
test_kxend_SRCS   += $(wildcard hypervisor/tests/test_kxend_*.c) \
                     $(filter-out hypervisor/kxend/main.c,$(kxend_SRCS))
test_kxend_LIBS   += libkxenctlclient libkxencommon
test_kxend_LDLIBS += -lunicorn -lm -llzma -lz

# The loader's fuzz target: replayed over its corpus in test_kxend (gcc, sanitizers) ...
test_kxend_SRCS += hypervisor/tests/fuzz_loader.c
hypervisor/tests/fuzz_loader.c_CPPFLAGS += -DLOADER_REPLAY
hypervisor/tests/test_kxend_loader_fuzz_replay.c_CPPFLAGS += \
    -DLOADER_CORPUS_DIR='"$(abspath hypervisor/tests/corpus_loader)"'
# ... and the libFuzzer build (clang; not part of `all`):
#   make loader-fuzz && build/fuzz/loader_fuzz -max_total_time=60 hypervisor/tests/corpus_loader
FUZZERS += loader_fuzz
loader_fuzz_SRCS += hypervisor/tests/fuzz_loader.c hypervisor/kxend/loader_elf.c \
                    hypervisor/kxend/loader_bzimage.c
loader_fuzz_LDLIBS += -llzma -lz

# A small xc client for the system tests (kxend's own guest is guests/kxend-mini).
TEST_PROGRAMS += kxen-xctool
kxen-xctool_SRCS += hypervisor/tests/xctool.c
kxen-xctool_LIBS += libxenctrl libkxencommon
