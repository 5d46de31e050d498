# guests/: the freestanding guest runtime and the test guests (see guests/README.md).
#
# Guest code is never built with the host flags: no sanitizers, no PIC, no red zone (the
# callback vector's frame lands on the interrupted stack), no SSE (the PVH entry does not
# enable it), no libc headers (-nostdinc: only gcc's freestanding ones and ours).
GUESTS_OBJDIR   := $(BUILD)/guestobj
GUESTS_SYSINC   := $(shell $(CC) -print-file-name=include)
GUESTS_CPPFLAGS := -nostdinc -isystem $(GUESTS_SYSINC) -Iring/include -Iguests/runtime/include \
                   -MMD -MP
GUESTS_CFLAGS   := -std=gnu11 -g -O2 -Wall -Wextra -Werror -ffreestanding -fno-builtin \
                   -fno-pic -fno-pie -mcmodel=small -mno-red-zone -mgeneral-regs-only \
                   -fno-stack-protector -fno-asynchronous-unwind-tables \
                   -fno-tree-loop-distribute-patterns -fcf-protection=none
GUESTS_LDFLAGS  := -nostdlib -static -no-pie -Wl,-T,guests/runtime/link.ld \
                   -Wl,--build-id=none -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack \
                   -Wl,--no-warn-rwx-segments

GUESTS_RT_SRCS  := $(wildcard guests/runtime/*.c guests/runtime/*.S)
GUESTS_RT_OBJS  := $(patsubst %,$(GUESTS_OBJDIR)/%.o,$(GUESTS_RT_SRCS))
GUESTS_NAMES    := selftest hostile spin hello boottest xenbustest smptest evstorm hcfuzz gntpair \
                   usermode

$(GUESTS_OBJDIR)/%.c.o: %.c
	@mkdir -p $(@D)
	$(CC) $(GUESTS_CPPFLAGS) $(GUESTS_CFLAGS) -c $< -o $@

$(GUESTS_OBJDIR)/%.S.o: %.S
	@mkdir -p $(@D)
	$(CC) $(GUESTS_CPPFLAGS) $(GUESTS_CFLAGS) -c $< -o $@

# One image per guest folder: its *.c files on top of the runtime.
define GUESTS_IMAGE_RULE
GUESTS_$(1)_OBJS := $$(patsubst %,$$(GUESTS_OBJDIR)/%.o,$$(wildcard guests/$(1)/*.c))
$$(BUILD)/guests/$(1).elf: $$(GUESTS_RT_OBJS) $$(GUESTS_$(1)_OBJS) guests/runtime/link.ld
	@mkdir -p $$(@D)
	$$(CC) $$(GUESTS_LDFLAGS) -o $$@ $$(GUESTS_RT_OBJS) $$(GUESTS_$(1)_OBJS)
GUESTS += $$(BUILD)/guests/$(1).elf
endef
$(foreach g,$(GUESTS_NAMES),$(eval $(call GUESTS_IMAGE_RULE,$(g))))

-include $(shell find $(GUESTS_OBJDIR) -name '*.d' 2>/dev/null)

# Host unit tests: the pure runtime files (formatting, event scan, xenstore framing) compiled
# for the host next to Criterion tests, plus checks of the built images' ELF notes and layout.
GUESTS_HOST_SRCS := guests/runtime/printf.c guests/runtime/evtchn_scan.c \
                    guests/runtime/xs_frame.c $(wildcard guests/tests/*.c)
$(call objs,$(GUESTS_HOST_SRCS)): CPPFLAGS += -Iguests/runtime/include -DGUEST_HOST_BUILD
UNIT_TESTS += $(BUILD)/tests/test_guests
$(BUILD)/tests/test_guests: $(call objs,$(GUESTS_HOST_SRCS)) | $(filter $(BUILD)/guests/%,$(GUESTS))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(call objs,$(GUESTS_HOST_SRCS)) -lcriterion -lunicorn
