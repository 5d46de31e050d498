# hypervisor/libs: the dom0 libraries (libxenevtchn, libxengnttab, libxenforeignmemory) and
# the unit tests of kxend's event channels and grant tables.

# Unit tests: kxend's event channels and grant tables over a fake core (no accelerator, no
# daemon).
UNIT_TESTS += test_evtchn_gnttab
test_evtchn_gnttab_SRCS += $(wildcard hypervisor/tests/test_evtchn*.c hypervisor/tests/test_gnttab*.c) \
	hypervisor/kxend/evtchn.c hypervisor/kxend/evtchn_dom0.c $(wildcard hypervisor/kxend/gnttab*.c)
test_evtchn_gnttab_LIBS += libkxencommon

# The dom0 libraries: shared (Xen's sonames, libX.so.1) and static (for test programs), each
# over the control client. Our xenevtchn.h & co. are not on the global include path: other
# modules build against Xen's own headers in /usr/include (compatibility shims); their users
# add -Ihypervisor/libs/include themselves.
STATIC_LIBS += libxenevtchn libxengnttab libxenforeignmemory
SHARED_LIBS += libxenevtchn libxengnttab libxenforeignmemory
INSTALL_DEVLINKS += libxenevtchn libxengnttab libxenforeignmemory
PKGCONFIG   += hypervisor/libs/xenevtchn.pc.in hypervisor/libs/xengnttab.pc.in \
               hypervisor/libs/xenforeignmemory.pc.in
libxenevtchn_SRCS             += hypervisor/libs/evtchn.c
libxenevtchn_CPPFLAGS         += -Ihypervisor/libs/include
libxenevtchn_LIBS             += libkxenctlclient libkxencommon
libxenevtchn_SOVERSION        := 1
libxengnttab_SRCS             += hypervisor/libs/gnttab.c
libxengnttab_CPPFLAGS         += -Ihypervisor/libs/include
libxengnttab_LIBS             += libkxenctlclient libkxencommon
libxengnttab_SOVERSION        := 1
libxenforeignmemory_SRCS      += hypervisor/libs/foreignmemory.c
libxenforeignmemory_CPPFLAGS  += -Ihypervisor/libs/include
libxenforeignmemory_LIBS      += libkxenctlclient libkxencommon
libxenforeignmemory_SOVERSION := 1

INSTALL_HDRS += hypervisor/libs/include:xenevtchn.h hypervisor/libs/include:xengnttab.h \
	hypervisor/libs/include:xenforeignmemory.h

# The dom0 test and benchmark program (tests/system/dom0libs_*.sh, bench/hypervisor); its
# guest is guests/dom0libs-echo.
TEST_PROGRAMS += dom0libs-test
dom0libs-test_SRCS     += hypervisor/libs/tests/dom0test.c hypervisor/libs/tests/dom0bench.c
dom0libs-test_CPPFLAGS += -Ihypervisor/libs/include
dom0libs-test_LIBS     += libxenevtchn libxengnttab libxenforeignmemory libxenctrl \
                          libkxenctlclient libkxencommon

# The dirty-log proof of tests/system/kxend_dirty_paths.sh: writes through every host path.
TEST_PROGRAMS += kxen-dirtyprobe
kxen-dirtyprobe_SRCS     += hypervisor/libs/tests/dirtyprobe.c
kxen-dirtyprobe_CPPFLAGS += -Ihypervisor/libs/include
kxen-dirtyprobe_LIBS     += libxengnttab libxenforeignmemory libkxenctlclient libkxencommon
