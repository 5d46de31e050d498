# kxen top-level build. Non-recursive: every folder contributes a module.mk that appends to the
# lists below, so one make process sees every dependency (and -MMD headers) of every target.
#
#   make            release build into build/
#   make check      dependency check, sanitized build into build/san/, every test
#   make bench      release build, then every benchmark
#   make run        dependency check, release build, the demo
#   make install PREFIX=/usr/local
BUILD   ?= build
SAN     ?= 0
ifeq ($(origin CC),default)
CC      := gcc
endif
AR      ?= ar
PREFIX  ?= /usr/local

# Modules append include folders here; recursive '=' so later modules are seen.
INCLUDES  = ring/include common/include
CPPFLAGS  = $(addprefix -I,$(INCLUDES)) -D_GNU_SOURCE -MMD -MP
CFLAGS    = -std=gnu11 -g -O2 -Wall -Wextra -Werror -fPIC -pthread
LDFLAGS   = -pthread
ifeq ($(SAN),1)
CFLAGS   += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

# Lists the modules fill.
BINS          :=   # programs -> $(BUILD)/bin
LIBS          :=   # libraries -> $(BUILD)/lib
GUESTS        :=   # guest images -> $(BUILD)/guests
UNIT_TESTS    :=   # Criterion binaries -> $(BUILD)/tests
TEST_PROGS    :=   # helper programs the system tests run
SYSTEM_TESTS  :=   # executable scripts in the source tree, run by tests/run-tests.sh
BENCHES       :=   # benchmark programs or scripts
INSTALL_HDRS  :=   # headers for $(PREFIX)/include (path relative to an include dir: dir:file)
DEPS          :=

# objs: source list -> object list under $(BUILD)/obj
objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

.PHONY: all deps check tests bench run install clean format format-check
all:

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Static archive of a folder's objects.
$(BUILD)/lib/%.a:
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

include $(sort $(wildcard */module.mk */*/module.mk */*/*/module.mk))

HDR_SRCS = $(foreach h,$(INSTALL_HDRS),$(subst :,/,$(h)))
$(BUILD)/include/.stamp: $(HDR_SRCS)
	@for h in $(INSTALL_HDRS); do dir=$${h%%:*}; f=$${h#*:}; \
	  install -D -m 644 $$dir/$$f $(BUILD)/include/$$f || exit 1; done
	@mkdir -p $(@D) && touch $@

all: $(BINS) $(LIBS) $(GUESTS) $(BUILD)/include/.stamp
tests: all $(UNIT_TESTS) $(TEST_PROGS)

deps:
	@scripts/deps.sh

check: deps format-check
	$(MAKE) --no-print-directory SAN=1 BUILD=build/san tests
	$(MAKE) --no-print-directory all
	tests/run-tests.sh build/san build

bench: deps
	$(MAKE) --no-print-directory all $(BENCHES)
	bench/run-benches.sh $(BUILD)

run: deps
	$(MAKE) --no-print-directory all
	scripts/demo.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	$(if $(BINS),install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/)
	$(if $(LIBS),cp -P $(LIBS) $(DESTDIR)$(PREFIX)/lib/)
	cp -r $(BUILD)/include/. $(DESTDIR)$(PREFIX)/include/ && rm -f $(DESTDIR)$(PREFIX)/include/.stamp
	$(if $(GUESTS),install -d $(DESTDIR)$(PREFIX)/lib/kxen/guests && install -m 644 $(GUESTS) $(DESTDIR)$(PREFIX)/lib/kxen/guests/)

clean:
	rm -rf build

# Generated files keep their generator's layout (the generator checks them byte for byte).
FORMAT_GENERATED = ring/tests/abi_list.h
FORMAT_SRCS = $(filter-out $(FORMAT_GENERATED),$(shell git ls-files '*.c' '*.h' 2>/dev/null))
format:
	clang-format -i $(FORMAT_SRCS)
# Part of make check: the tree follows .clang-format (make format fixes it).
format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRCS) || \
	  { echo "format-check: run 'make format' (files above differ from .clang-format)" >&2; exit 1; }

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
