# guests/: the freestanding guest runtime, the guest images and the test guests (see
# guests/README.md). The guest flags are in the top-level Makefile (GUEST_*).
guest_runtime_SRCS += $(wildcard guests/runtime/*.c guests/runtime/*.S)

# Images in $(BUILD)/guests (installed): each folder's *.c on top of the runtime.
GUEST_IMAGES += selftest hostile spin hello boottest xenbustest smptest evstorm hcfuzz gntpair usermode \
                blktest blkhostile
selftest_SRCS   += $(wildcard guests/selftest/*.c)
hostile_SRCS    += $(wildcard guests/hostile/*.c)
spin_SRCS       += $(wildcard guests/spin/*.c)
hello_SRCS      += $(wildcard guests/hello/*.c)
boottest_SRCS   += $(wildcard guests/boottest/*.c)
xenbustest_SRCS += $(wildcard guests/xenbustest/*.c)
smptest_SRCS    += $(wildcard guests/smptest/*.c)
evstorm_SRCS    += $(wildcard guests/evstorm/*.c)
hcfuzz_SRCS     += $(wildcard guests/hcfuzz/*.c)
gntpair_SRCS    += $(wildcard guests/gntpair/*.c)
usermode_SRCS   += $(wildcard guests/usermode/*.c)
blktest_SRCS    += $(wildcard guests/blktest/*.c)
blkhostile_SRCS += $(wildcard guests/blkhostile/*.c)

# Test guests in $(BUILD)/tests (not installed).
TEST_GUESTS += xsprobe consbomb dom0libs-echo kxend-mini savetest
savetest_SRCS      += $(wildcard guests/savetest/*.c)
xsprobe_SRCS       += $(wildcard guests/xsprobe/*.c)
consbomb_SRCS      += $(wildcard guests/consbomb/*.c)
dom0libs-echo_SRCS += $(wildcard guests/dom0libs-echo/*.c)
# kxend-mini is raw assembly without the runtime, linked at 1 MiB.
kxend-mini_SRCS    += guests/kxend-mini/mini.S
kxend-mini_RUNTIME := none
kxend-mini_LDFLAGS += -Wl,-Ttext=0x100000

# Host unit tests: the pure runtime files (formatting, event scan, xenstore framing) compiled
# for the host next to Criterion tests, plus checks of the built images' ELF notes and layout.
UNIT_TESTS += test_guests
test_guests_SRCS     += guests/runtime/printf.c guests/runtime/evtchn_scan.c \
                        guests/runtime/xs_frame.c $(wildcard guests/tests/*.c)
test_guests_CPPFLAGS += -Iguests/runtime/include -DGUEST_HOST_BUILD
test_guests_LDLIBS   += -lunicorn
test_guests_NEEDS    += $(GUESTS)

# Network test guest on the runtime's netfront (tests/system/net_guests.sh).
GUEST_IMAGES += nettest
nettest_SRCS += $(wildcard guests/nettest/*.c)

# hvmtest: no Xen interface, only the emulated PC's devices (hypervisor/devices), raw code
# without the runtime (printf.c is pure formatting). An ELF for kxend (e_entry on soft, the
# PHYS32 note on kvm) whose first sections, made flat with `objcopy -O binary`, are also a
# bzImage: the header at 0xffc00, the 32-bit entry at 1 MiB (tests/system/hvm_devices.sh).
TEST_GUESTS += hvmtest
hvmtest_SRCS    += $(wildcard guests/hvmtest/*.c guests/hvmtest/*.S) guests/runtime/printf.c
hvmtest_RUNTIME := none
hvmtest_LDFLAGS += -Wl,--section-start=.setup=0xffc00 -Wl,--section-start=.head=0x100000 \
                   -Wl,-Ttext=0x101000 -Wl,-e,hvmtest_start64

# The driver domain: drivers/' backend cores (blkback, netback, the switch) over the guest
# platform and a small C library of its own (guests/driverdom/libc), so the cores build
# unchanged.
GUEST_IMAGES += driverdom
driverdom_SRCS += $(wildcard guests/driverdom/*.c) drivers/xenbus/platform_guest.c \
                  $(addprefix drivers/xenbus/,platform.c backend.c keys.c) \
                  $(addprefix drivers/block/,blkback_xenbus.c blkback_ring.c blkback_req.c) \
                  $(addprefix drivers/net/,netback_xenbus.c netback_ring.c netback_req.c gso.c \
                    csum.c switch.c) ring/src/ring_safe.c ring/src/guard.c
driverdom_CPPFLAGS += -Iguests/driverdom/libc/include
