# dom0-tools/: xl, the libxl-like domain library (libkxl), xenconsoled, service scripts.
INCLUDES += dom0-tools/libxl/include

# libkxlcfg: the xl.cfg parser alone (no dependency besides libc), for its unit test.
STATIC_LIBS += libkxlcfg libkxl
libkxlcfg_SRCS += dom0-tools/libxl/src/cfg_parse.c dom0-tools/libxl/src/cfg_domain.c \
                  dom0-tools/libxl/src/cfg_devices.c dom0-tools/libxl/src/cfg_hvm.c
# libkxl proper: the parser plus context, domain build/teardown, services; its users also link
# kxend's control client and libxenstore.
libkxl_SRCS += $(libkxlcfg_SRCS) dom0-tools/libxl/src/ctx.c dom0-tools/libxl/src/build.c \
               dom0-tools/libxl/src/services.c dom0-tools/libxl/src/coredump.c \
               dom0-tools/libxl/src/admin.c \
               dom0-tools/libxl/src/device.c dom0-tools/libxl/src/device_adopt.c \
               dom0-tools/libxl/src/hotplug.c \
               dom0-tools/libxl/src/disk.c dom0-tools/libxl/src/nic.c \
               dom0-tools/libxl/src/hvm.c dom0-tools/libxl/src/hvm_nic.c \
               dom0-tools/libxl/src/stream_io.c dom0-tools/libxl/src/save_stream.c \
               dom0-tools/libxl/src/restore_stream.c dom0-tools/libxl/src/save.c \
               dom0-tools/libxl/src/restore.c dom0-tools/libxl/src/save_config.c \
               dom0-tools/libxl/src/migrate.c dom0-tools/libxl/src/orphan.c \
               dom0-tools/libxl/src/progress.c

PROGRAMS += xl xenconsoled
xl_SRCS += $(wildcard dom0-tools/xl/*.c)
xl_LIBS += libkxl libkxenctlclient libxenstore libkxencommon
xl_LDLIBS += -lz

# xenconsoled; its ring logic (cons_ring.c) is separate so the unit tests can drive it. kxend's
# dom0 libraries' headers are not on the global include path.
xenconsoled_SRCS += dom0-tools/xenconsoled/xenconsoled.c dom0-tools/xenconsoled/cons_ring.c
xenconsoled_SRCS += dom0-tools/xenconsoled/console_log.c
dom0-tools/xenconsoled/xenconsoled.c_CPPFLAGS += -Ihypervisor/libs/include
xenconsoled_LIBS += libxenstore libxenevtchn libxenforeignmemory libkxenctlclient libkxencommon
xenconsoled_LIBS += libkxendaemonevent libkxenring
xenconsoled_LDLIBS += -levent

# kxen-services sits next to the daemons it starts; kxen-domains next to xl.
SCRIPTS += dom0-tools/services/kxen-services dom0-tools/services/kxen-vif-bridge \
           dom0-tools/services/kxen-domains
# The systemd units, their paths filled in by make install.
SYSTEMD_UNITS += $(addprefix dom0-tools/services/,kxen-kxend.service.in kxen-xenstored.service.in \
                   kxen-xenconsoled.service.in kxen-devd.service.in kxen-domains.service.in)

UNIT_TESTS += test_xlcfg test_cons_ring test_xlprogress
test_xlcfg_SRCS += dom0-tools/tests/test_xlcfg.c
test_xlcfg_LIBS += libkxlcfg
test_cons_ring_SRCS += dom0-tools/tests/test_cons_ring.c dom0-tools/xenconsoled/cons_ring.c
test_cons_ring_LIBS += libkxenring
# xl's progress lines with libkxl's rates (progress.c of each; the rest of libkxl stays out).
test_xlprogress_SRCS += dom0-tools/tests/test_xlprogress.c dom0-tools/xl/progress.c
test_xlprogress_LIBS += libkxl libkxencommon

# kxen-devd (`xl devd`): the backend daemon. Backend types register themselves by their glue
# file (backend_*.c) being in this list; netback joins by adding its own.
PROGRAMS += kxen-devd
kxen-devd_SRCS += $(wildcard dom0-tools/devd/*.c)
kxen-devd_LIBS += libkxenblkback libkxenxenbus libxenstore libxenevtchn libxengnttab \
                  libkxenctlclient libkxendaemonevent libkxenring libkxencommon
kxen-devd_LDLIBS += -levent -luring

# kxl-orphan: the build guard's teardown on a named domain, for xl_migrate_killed.sh.
TEST_PROGRAMS += kxl-orphan
kxl-orphan_SRCS += dom0-tools/tests/kxl_orphan.c
kxl-orphan_LIBS += libkxl libkxenctlclient libxenstore libkxencommon
kxl-orphan_LDLIBS += -lz
