# hypervisor/devices/: the emulated hardware of an HVM machine, one self-registering model per
# file. The models raise interrupts through domain_irq_set_level() (kxend/irq.h, kxend/irq.c).
kxend_SRCS += $(wildcard hypervisor/devices/*.c)

# Unit tests: the models on a fake domain, I/O space and interrupt controller, outside kxend.
UNIT_TESTS += test_devices
test_devices_SRCS += $(wildcard hypervisor/devices/*.c hypervisor/tests/test_dev_*.c) \
                     hypervisor/tests/dev_fake_machine.c hypervisor/kxend/device.c \
                     hypervisor/kxend/hvm_acpi.c hypervisor/kxend/acpi_tables.c
test_devices_LIBS += libkxencommon

# The IDE and NIC fuzz target: replayed over its corpus in test_devices (gcc, sanitizers) ...
test_devices_SRCS += hypervisor/tests/fuzz_devices.c
hypervisor/tests/test_dev_fuzz_replay.c_CPPFLAGS += \
    -DDEVICES_CORPUS_DIR='"$(abspath hypervisor/tests/corpus_devices)"'
# ... and the libFuzzer build (clang; not part of `all`):
#   make devices-fuzz && build/fuzz/devices_fuzz -max_total_time=60 hypervisor/tests/corpus_devices
FUZZERS += devices_fuzz
devices_fuzz_SRCS += hypervisor/tests/fuzz_devices.c hypervisor/tests/dev_fake_machine.c \
                     hypervisor/kxend/device.c $(addprefix hypervisor/devices/,opts.c pci.c \
                     piix3.c ide.c ide_ata.c rtl8139.c)
