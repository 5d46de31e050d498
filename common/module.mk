# common/: logging and small utilities linked into every kxen program.
INCLUDES    += common/include
STATIC_LIBS += libkxencommon
libkxencommon_SRCS += $(wildcard common/src/*.c)

UNIT_TESTS += test_common
test_common_SRCS += $(wildcard common/tests/*.c)
test_common_LIBS += libkxencommon
