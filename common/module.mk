# common/: logging and small utilities linked into every kxen program.
INCLUDES    += common/include
STATIC_LIBS += libkxencommon
libkxencommon_SRCS += $(wildcard common/src/*.c)

UNIT_TESTS += test_common
test_common_SRCS += $(wildcard common/tests/*.c)
test_common_LIBS += libkxencommon

# The skeleton's libevent hook: its own library so libkxencommon does not need libevent.
PRIVATE_LIBS += libkxendaemonevent
libkxendaemonevent_SRCS += common/event/daemon_event.c
test_common_LIBS += libkxendaemonevent
test_common_LDLIBS += -levent
