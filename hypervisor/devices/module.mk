# hypervisor/devices/: the emulated hardware of an HVM machine, one self-registering model per
# file. The models raise interrupts through domain_irq_set_level() (kxend/irq.h), which the
# machine's accelerators implement; they join kxend once kxend defines it.
ifneq ($(shell grep -ls '^int domain_irq_set_level' hypervisor/kxend/*.c hypervisor/accel/*.c),)
kxend_SRCS += $(wildcard hypervisor/devices/*.c)
endif

# Unit tests: the models on a fake domain, I/O space and interrupt controller, outside kxend.
UNIT_TESTS += test_devices
test_devices_SRCS += $(wildcard hypervisor/devices/*.c hypervisor/tests/test_dev_*.c) \
                     hypervisor/kxend/device.c
test_devices_LIBS += libkxencommon
