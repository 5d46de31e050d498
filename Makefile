# kxen top-level build. Non-recursive: every folder's module.mk appends to lists (what to build
# and from which sources); this file holds every flag and every rule. The rules are expanded
# only after every module.mk was read, so no module.mk depends on the order the others are
# read in (`make check-order` proves it: MODULE_ORDER=reverse reads them backwards).
#
#   make            release build into build/
#   make check      dependency check, sanitized build into build/san/, every test
#   make bench      release build, then every benchmark
#   make run        dependency check, release build, the demo
#   make install PREFIX=/usr/local   (DESTDIR too); make uninstall PREFIX=... removes it again
#
# What a module.mk may say (always `+=`, so a list can be appended to from any folder; a
# folder's private helper variables carry the folder's prefix):
#   PROGRAMS       programs -> $(BUILD)/bin/NAME (installed)
#   SCRIPTS        source paths of scripts -> $(BUILD)/bin/ (installed)
#   TEST_PROGRAMS  test helpers -> $(BUILD)/tests/NAME (NAME_DIR := bin puts one in bin/)
#   UNIT_TESTS     Criterion binaries -> $(BUILD)/tests/NAME (run by tests/run-tests.sh)
#   BENCH_PROGRAMS benchmark programs -> $(BUILD)/bench/NAME
#   STATIC_LIBS    libNAME -> $(BUILD)/lib/libNAME.a (installed only for a public library,
#                  one in SHARED_LIBS, that links no other archive: an SDK never needs ours)
#   PRIVATE_LIBS   libNAME -> $(BUILD)/lib/libNAME.a (built for their users, not installed)
#   SHARED_LIBS    libNAME -> $(BUILD)/lib/libNAME.so.V (soname libNAME.so.V, symlink
#                  libNAME.so; without libNAME_SOVERSION: libNAME.so). Installed, the symlink
#                  too when libNAME is in INSTALL_DEVLINKS
#   PRELOAD_LIBS   NAME -> $(BUILD)/lib/NAME.so, an LD_PRELOAD object (never sanitized)
#   GUEST_IMAGES   NAME -> $(BUILD)/guests/NAME.elf on the guest runtime (installed)
#   TEST_GUESTS    NAME -> $(BUILD)/tests/NAME.elf on the guest runtime
#   FUZZERS        NAME -> $(BUILD)/fuzz/NAME (clang libFuzzer; `make NAME` with - for _)
#   guest_runtime_SRCS  the guest runtime every guest image links first
#   INCLUDES       host include folders; INSTALL_HDRS dir:header for $(PREFIX)/include;
#   PKGCONFIG      NAME.pc.in templates -> $(PREFIX)/lib/pkgconfig/NAME.pc
#   MAN_PAGES      roff sources NAME.SECTION -> $(PREFIX)/share/man/manSECTION/
#   SYSTEMD_UNITS  NAME.in templates -> $(SYSTEMD_UNITDIR)/NAME; EXAMPLES -> $(DOCDIR)/examples/
#                  (templates: @PREFIX@ @BINDIR@ @LIBDIR@ @INCLUDEDIR@ @RUNDIR@ @SYSCONFDIR@ @DOCDIR@
#                  @GUESTDIR@ become their install paths)
#   FREESTANDING_HDRS  dir:header that must compile on its own without libc (checked by `all`)
# and, per NAME of any of the above:
#   NAME_SRCS      .c and .S sources (sorted: order in the list never matters)
#   NAME_LIBS      static libraries (libX) linked in (one link group: order never matters)
#   NAME_SOLIBS    shared libraries (libX) linked with -L$(BUILD)/lib and an $ORIGIN rpath
#   NAME_LDLIBS    system libraries (-lX); NAME_LDFLAGS extra link flags
#   NAME_CPPFLAGS  extra preprocessor flags for the objects of NAME's sources
#   SOURCE_CPPFLAGS  (e.g. ring/tests/x.c_CPPFLAGS) extra flags for that one object
#   NAME_DEPS      extra prerequisites (not linked); NAME_NEEDS order-only ones (what a test runs)
#   NAME_FLAVOUR   xen: a client of Xen's own API built against /usr/include and Debian's
#                  libraries in one step (build flags); xen-release: same, never sanitized
#   NAME_RUNTIME := none   a guest without the runtime (raw assembly, GUEST_RAW_LDFLAGS)
#   NAME_ALIASES   symlinks next to a program, installed with it
BUILD   ?= build
SAN     ?= 0
ifeq ($(origin CC),default)
CC      := gcc
endif
AR      ?= ar
PREFIX  ?= /usr/local
# Install paths (DESTDIR prefixes them all; RUNDIR and SYSCONFDIR are only written into files).
BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/kxen
SYSTEMD_UNITDIR ?= $(LIBDIR)/systemd/system
SYSCONFDIR  ?= /etc
RUNDIR      ?= /run/kxen
MODULE_ORDER ?= forward

# ---- Host code: programs, libraries, unit tests.
CPPFLAGS  = $(addprefix -I,$(sort $(INCLUDES))) -D_GNU_SOURCE -MMD -MP
CFLAGS    = -std=gnu11 -g -O2 -Wall -Wextra -Werror -fPIC -pthread
LDFLAGS   = -pthread
ifeq ($(SAN),1)
CFLAGS   += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif
# Programs in $(BUILD)/bin or $(BUILD)/tests find NAME_SOLIBS next door without installing them.
SOLIB_RPATH = -Wl,-rpath,'$$ORIGIN/../lib'

# ---- Clients of Xen's own API (benchmarks, compatibility tests, the xenstored shim): built like
# a real Xen toolstack client, Xen's headers from /usr/include and Debian's libraries, no project
# include path. xen-release is never sanitized (the shim is preloaded into non-ASan binaries).
XEN_CFLAGS         = $(CFLAGS) $(LDFLAGS)
XEN_RELEASE_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE

# ---- Guest code is never built with the host flags: no sanitizers, no PIC, no red zone (the
# callback vector's frame lands on the interrupted stack), no SSE (the PVH entry does not
# enable it), no libc headers (-nostdinc: only gcc's freestanding ones and ours).
GUEST_SYSINC   := $(shell $(CC) -print-file-name=include)
GUEST_LD_SCRIPT := guests/runtime/link.ld
GUEST_CPPFLAGS := -nostdinc -isystem $(GUEST_SYSINC) -Iring/include -Iguests/runtime/include \
                  -MMD -MP
GUEST_CFLAGS   := -std=gnu11 -g -O2 -Wall -Wextra -Werror -ffreestanding -fno-builtin \
                  -fno-pic -fno-pie -mcmodel=small -mno-red-zone -mgeneral-regs-only \
                  -fno-stack-protector -fno-asynchronous-unwind-tables \
                  -fno-tree-loop-distribute-patterns -fcf-protection=none
GUEST_LDFLAGS  := -nostdlib -static -no-pie -Wl,-T,$(GUEST_LD_SCRIPT) \
                  -Wl,--build-id=none -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack \
                  -Wl,--no-warn-rwx-segments
# A guest without the runtime: the image is its own code at the address NAME_LDFLAGS gives.
GUEST_RAW_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,max-page-size=4096

# ---- libFuzzer targets (clang; not part of `all`).
FUZZ_CC     := clang
FUZZ_CFLAGS  = -std=gnu11 -g -O1 -D_GNU_SOURCE $(addprefix -I,$(sort $(INCLUDES))) \
               -fsanitize=fuzzer,address,undefined

# ---- The lists the modules fill (see the top of this file).
PROGRAMS := 
SCRIPTS := 
TEST_PROGRAMS := 
UNIT_TESTS := 
BENCH_PROGRAMS := 
STATIC_LIBS := 
PRIVATE_LIBS := 
SHARED_LIBS := 
INSTALL_DEVLINKS := 
PRELOAD_LIBS := 
GUEST_IMAGES := 
TEST_GUESTS := 
FUZZERS := 
INCLUDES := 
INSTALL_HDRS := 
FREESTANDING_HDRS := 
PKGCONFIG := 
MAN_PAGES := 
SYSTEMD_UNITS := 
EXAMPLES := 

.PHONY: all deps check check-order tests benches bench run install uninstall clean format format-check
all:

# ---- Pattern rules. An object's extra flags: OBJ_CPPFLAGS (set per target below, from
# NAME_CPPFLAGS) and SOURCE_CPPFLAGS ($<_CPPFLAGS).
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(OBJ_CPPFLAGS) $($<_CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.S
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(OBJ_CPPFLAGS) $($<_CPPFLAGS) -c $< -o $@

$(BUILD)/guestobj/%.c.o: %.c
	@mkdir -p $(@D)
	$(CC) $(GUEST_CPPFLAGS) $(OBJ_CPPFLAGS) $($<_CPPFLAGS) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guestobj/%.S.o: %.S
	@mkdir -p $(@D)
	$(CC) $(GUEST_CPPFLAGS) $(OBJ_CPPFLAGS) $($<_CPPFLAGS) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/lib/%.a:
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

# ---- Every module.mk, in path order or (MODULE_ORDER=reverse) backwards.
MODULES := $(sort $(wildcard */module.mk */*/module.mk */*/*/module.mk))
reverse = $(if $(1),$(call reverse,$(wordlist 2,$(words $(1)),$(1))) $(firstword $(1)))
include $(if $(filter reverse,$(MODULE_ORDER)),$(call reverse,$(MODULES)),$(MODULES))

# ---- From here on every list is complete: derive the outputs, then expand the templates.
srcs      = $(sort $($(1)_SRCS))
hostobjs  = $(patsubst %.S,$(BUILD)/obj/%.o,$(patsubst %.c,$(BUILD)/obj/%.o,$(1)))
guestobjs = $(patsubst %,$(BUILD)/guestobj/%.o,$(1))
solib     = $(BUILD)/lib/$(1).so$(if $($(1)_SOVERSION),.$($(1)_SOVERSION))
libfiles  = $(patsubst %,$(BUILD)/lib/%.a,$(sort $($(1)_LIBS)))
solibfiles = $(foreach l,$(sort $($(1)_SOLIBS)),$(call solib,$(l)) $(BUILD)/lib/$(l).so)
# Static libraries in one group: a folder appending to NAME_LIBS need not know the link order.
LINK_GROUP_START := -Wl,--start-group
LINK_GROUP_END   := -Wl,--end-group
linklibs  = $(if $(call libfiles,$(1)),$(LINK_GROUP_START) $(call libfiles,$(1)) $(LINK_GROUP_END)) \
            $(if $($(1)_SOLIBS),-L$(BUILD)/lib $(patsubst lib%,-l%,$(sort $($(1)_SOLIBS))) \
              $$(SOLIB_RPATH)) $(sort $($(1)_LDLIBS))
needs     = $(if $($(1)_NEEDS),| $($(1)_NEEDS))
test_out  = $(BUILD)/$(or $($(1)_DIR),tests)/$(1)
fuzz_goal = $(subst _,-,$(1))

BINS      := $(addprefix $(BUILD)/bin/,$(sort $(PROGRAMS) $(notdir $(SCRIPTS)) \
               $(foreach p,$(PROGRAMS),$($(p)_ALIASES))))
STATIC_LIB_FILES := $(patsubst %,$(BUILD)/lib/%.a,$(sort $(STATIC_LIBS)))
SHARED_LIB_FILES := $(foreach l,$(sort $(SHARED_LIBS)),$(call solib,$(l)))
DEVLINK_FILES := $(foreach l,$(sort $(SHARED_LIBS)),$(if $($(l)_SOVERSION),$(BUILD)/lib/$(l).so))
LIBS      := $(STATIC_LIB_FILES) $(SHARED_LIB_FILES) $(DEVLINK_FILES)
GUESTS    := $(patsubst %,$(BUILD)/guests/%.elf,$(sort $(GUEST_IMAGES)))
UNIT_TEST_FILES := $(addprefix $(BUILD)/tests/,$(sort $(UNIT_TESTS)))
PRELOAD_LIB_FILES := $(patsubst %,$(BUILD)/lib/%.so,$(sort $(PRELOAD_LIBS)))
TEST_PROGS := $(foreach t,$(sort $(TEST_PROGRAMS)),$(call test_out,$(t))) \
              $(patsubst %,$(BUILD)/tests/%.elf,$(sort $(TEST_GUESTS))) $(PRELOAD_LIB_FILES)
BENCHES   := $(addprefix $(BUILD)/bench/,$(sort $(BENCH_PROGRAMS))) $(PRELOAD_LIB_FILES)
GUEST_RT_OBJS := $(call guestobjs,$(call srcs,guest_runtime))

# A host program or unit test: $(1) name, $(2) output, $(3) extra libraries.
define HOST_LINK
$(2): $(call hostobjs,$(call srcs,$(1))) $(call libfiles,$(1)) $(call solibfiles,$(1)) \
      $($(1)_DEPS) $(call needs,$(1))
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) $($(1)_LDFLAGS) -o $$@ $(call hostobjs,$(call srcs,$(1))) \
	  $(call linklibs,$(1)) $(3)
endef

# A client of Xen's API, compiled and linked in one step: $(1) name, $(2) output, $(3) flags.
define XEN_LINK
$(2): $(call srcs,$(1)) $($(1)_DEPS)
	@mkdir -p $$(@D)
	$$(CC) $(3) $($(1)_LDFLAGS) -o $$@ $(call srcs,$(1)) $(sort $($(1)_LDLIBS))
endef

# TEST_PROGRAMS and BENCH_PROGRAMS: host link or, by NAME_FLAVOUR, a Xen client.
define ANY_LINK
$(if $(filter xen,$($(1)_FLAVOUR)),$(call XEN_LINK,$(1),$(2),$$(XEN_CFLAGS)),
$(if $(filter xen-release,$($(1)_FLAVOUR)),$(call XEN_LINK,$(1),$(2),$$(XEN_RELEASE_CFLAGS)),
$(call HOST_LINK,$(1),$(2))))
endef

define STATIC_LIB
$(BUILD)/lib/$(1).a: $(call hostobjs,$(call srcs,$(1)))
endef

define SHARED_LIB
$(call solib,$(1)): $(call hostobjs,$(call srcs,$(1))) $(call libfiles,$(1)) $($(1)_DEPS)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -shared -Wl,-soname,$(notdir $(call solib,$(1))) $($(1)_LDFLAGS) \
	  -o $$@ $(call hostobjs,$(call srcs,$(1))) $(call linklibs,$(1))
$(if $($(1)_SOVERSION),$(BUILD)/lib/$(1).so: $(call solib,$(1))
	ln -sf $(notdir $(call solib,$(1))) $$@)
endef

define PRELOAD_LIB
$(BUILD)/lib/$(1).so: $(call srcs,$(1)) $($(1)_DEPS)
	@mkdir -p $$(@D)
	$$(CC) $$(XEN_RELEASE_CFLAGS) -shared -fPIC -o $$@ $(call srcs,$(1)) $(sort $($(1)_LDLIBS))
endef

# A guest image: the runtime first, then the guest's objects.
define GUEST_LINK
$(if $(filter none,$($(1)_RUNTIME)),
$(2): $(call guestobjs,$(call srcs,$(1))) $($(1)_DEPS)
	@mkdir -p $$(@D)
	$$(CC) $$(GUEST_RAW_LDFLAGS) $($(1)_LDFLAGS) -o $$@ $(call guestobjs,$(call srcs,$(1))),
$(2): $(GUEST_RT_OBJS) $(call guestobjs,$(call srcs,$(1))) $(GUEST_LD_SCRIPT) $($(1)_DEPS)
	@mkdir -p $$(@D)
	$$(CC) $$(GUEST_LDFLAGS) $($(1)_LDFLAGS) -o $$@ $(GUEST_RT_OBJS) \
	  $(call guestobjs,$(call srcs,$(1))))
endef

define FUZZER
.PHONY: $(call fuzz_goal,$(1))
$(call fuzz_goal,$(1)): $(BUILD)/fuzz/$(1)
$(BUILD)/fuzz/$(1): $(call srcs,$(1)) $($(1)_DEPS)
	@mkdir -p $$(@D)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -o $$@ $(call srcs,$(1)) $(sort $($(1)_LDLIBS))
endef

define SCRIPT
$(BUILD)/bin/$(notdir $(1)): $(1)
	@mkdir -p $$(@D)
	install -m 755 $$< $$@
endef

define ALIAS
$(BUILD)/bin/$(2): $(BUILD)/bin/$(1)
	ln -sf $(1) $$@
endef

# NAME_CPPFLAGS onto NAME's objects (once per name, whatever lists it is in).
GUEST_NAMES := $(sort $(GUEST_IMAGES) $(TEST_GUESTS) guest_runtime)
HOST_NAMES  := $(sort $(PROGRAMS) $(TEST_PROGRAMS) $(UNIT_TESTS) $(BENCH_PROGRAMS) \
                 $(STATIC_LIBS) $(PRIVATE_LIBS) $(SHARED_LIBS))
define OBJ_FLAGS
$(if $(1),$(1): OBJ_CPPFLAGS += $(2))
endef

$(foreach n,$(HOST_NAMES),$(if $($(n)_CPPFLAGS),$(eval $(call OBJ_FLAGS,$(call hostobjs,$(call srcs,$(n))),$($(n)_CPPFLAGS)))))
$(foreach n,$(GUEST_NAMES),$(if $($(n)_CPPFLAGS),$(eval $(call OBJ_FLAGS,$(call guestobjs,$(call srcs,$(n))),$($(n)_CPPFLAGS)))))
$(foreach p,$(sort $(PROGRAMS)),$(eval $(call HOST_LINK,$(p),$(BUILD)/bin/$(p))))
$(foreach p,$(sort $(PROGRAMS)),$(foreach a,$(sort $($(p)_ALIASES)),$(eval $(call ALIAS,$(p),$(a)))))
$(foreach s,$(sort $(SCRIPTS)),$(eval $(call SCRIPT,$(s))))
$(foreach t,$(sort $(UNIT_TESTS)),$(eval $(call HOST_LINK,$(t),$(BUILD)/tests/$(t),-lcriterion)))
$(foreach t,$(sort $(TEST_PROGRAMS)),$(eval $(call ANY_LINK,$(t),$(call test_out,$(t)))))
$(foreach b,$(sort $(BENCH_PROGRAMS)),$(eval $(call ANY_LINK,$(b),$(BUILD)/bench/$(b))))
$(foreach l,$(sort $(STATIC_LIBS) $(PRIVATE_LIBS)),$(eval $(call STATIC_LIB,$(l))))
$(foreach l,$(sort $(SHARED_LIBS)),$(eval $(call SHARED_LIB,$(l))))
$(foreach l,$(sort $(PRELOAD_LIBS)),$(eval $(call PRELOAD_LIB,$(l))))
$(foreach g,$(sort $(GUEST_IMAGES)),$(eval $(call GUEST_LINK,$(g),$(BUILD)/guests/$(g).elf)))
$(foreach g,$(sort $(TEST_GUESTS)),$(eval $(call GUEST_LINK,$(g),$(BUILD)/tests/$(g).elf)))
$(foreach f,$(sort $(FUZZERS)),$(eval $(call FUZZER,$(f))))

# ---- Headers: installed into $(BUILD)/include, and checked to compile freestanding.
HDR_SRCS = $(foreach h,$(sort $(INSTALL_HDRS)),$(subst :,/,$(h)))
$(BUILD)/include/.stamp: $(HDR_SRCS)
	@for h in $(sort $(INSTALL_HDRS)); do dir=$${h%%:*}; f=$${h#*:}; \
	  install -D -m 644 $$dir/$$f $(BUILD)/include/$$f || exit 1; done
	@mkdir -p $(@D) && touch $@

# Every such header compiles on its own and without libc (guests include them), twice over
# (include guards).
HDRCHECK := $(BUILD)/obj/headers-freestanding.stamp
$(HDRCHECK): $(foreach h,$(FREESTANDING_HDRS),$(subst :,/,$(h)))
	@mkdir -p $(@D)
	@for h in $(sort $(FREESTANDING_HDRS)); do dir=$${h%%:*}; f=$${h#*:}; \
	  printf '#include <%s>\n#include <%s>\n' $$f $$f | $(CC) -std=gnu11 -Wall -Wextra -Werror \
	    -ffreestanding -nostdinc -isystem $(GUEST_SYSINC) -I$$dir \
	    -x c -c - -o /dev/null || { echo "$$dir/$$f does not compile freestanding" >&2; exit 1; }; \
	done
	@touch $@

all: $(BINS) $(LIBS) $(GUESTS) $(BUILD)/include/.stamp $(HDRCHECK)
tests: all $(UNIT_TEST_FILES) $(TEST_PROGS)
benches: $(BENCHES)

deps:
	@scripts/deps.sh

check: deps format-check check-order
	$(MAKE) --no-print-directory SAN=1 BUILD=build/san tests
	$(MAKE) --no-print-directory all
	tests/run-tests.sh build/san build

# The module.mk files read backwards give the same targets and the same commands.
ORDER_GOALS := all tests benches $(foreach f,$(FUZZERS),$(call fuzz_goal,$(f)))
check-order:
	@d=$$(mktemp -d) && for o in forward reverse; do \
	  $(MAKE) --no-print-directory -n -B MODULE_ORDER=$$o $(ORDER_GOALS) >$$d/cmds.raw || \
	    { echo "check-order: make -n failed with MODULE_ORDER=$$o" >&2; rm -rf $$d; exit 1; }; \
	  sort $$d/cmds.raw >$$d/cmds.$$o; \
	  $(MAKE) --no-print-directory -pq MODULE_ORDER=$$o >$$d/db.raw 2>/dev/null; \
	  sed -n '/^# Files/,/^# files hash-table stats/p' $$d/db.raw | grep -v '^#' | \
	    grep -E '^[^[:space:]=]+( [^[:space:]=]+)*:' | sort >$$d/targets.$$o; \
	done; \
	rc=0; for f in cmds targets; do \
	  diff -u $$d/$$f.forward $$d/$$f.reverse >$$d/$$f.diff || { rc=1; \
	    echo "check-order: $$f differ when module.mk files are read backwards:" >&2; \
	    head -40 $$d/$$f.diff >&2; }; \
	done; \
	[ $$rc = 0 ] && echo "check-order: $$(wc -l <$$d/cmds.forward) commands and" \
	  "$$(wc -l <$$d/targets.forward) targets, the same in both module orders"; \
	rm -rf $$d; exit $$rc

bench: deps
	$(MAKE) --no-print-directory all benches
	bench/run-benches.sh $(BUILD)

run: deps
	$(MAKE) --no-print-directory all
	scripts/demo.sh $(BUILD)

# ---- Install: public libraries (soname, dev symlink, a standalone archive), their headers and
# pkg-config files, programs (aliases as hard links), guests, man pages, units, examples.
# Everything is listed from the same variables by both targets, so uninstall removes exactly
# what install put there and then the folders it leaves empty.
INST_ARCHIVES  := $(foreach l,$(sort $(filter $(SHARED_LIBS),$(STATIC_LIBS))),$(if $($(l)_LIBS),,$(l).a))
INST_LIBS      := $(notdir $(SHARED_LIB_FILES)) $(patsubst %,%.so,$(sort $(INSTALL_DEVLINKS))) \
                  $(INST_ARCHIVES)
INST_ALIASES   := $(sort $(foreach p,$(PROGRAMS),$($(p)_ALIASES)))
INST_BINS      := $(filter-out $(INST_ALIASES),$(notdir $(BINS)))
INST_HDRS      := $(sort $(foreach h,$(INSTALL_HDRS),$(lastword $(subst :, ,$(h)))))
INST_PCS       := $(patsubst %.pc.in,%.pc,$(notdir $(PKGCONFIG)))
INST_MANS      := $(foreach m,$(sort $(MAN_PAGES)),man$(subst .,,$(suffix $(m)))/$(notdir $(m)))
INST_UNITS     := $(patsubst %.in,%,$(notdir $(SYSTEMD_UNITS)))
INST_EXAMPLES  := $(notdir $(EXAMPLES))
INST_GUESTS    := $(notdir $(GUESTS))
SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
  -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@RUNDIR@|$(RUNDIR)|g' \
  -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
  -e 's|@GUESTDIR@|$(LIBDIR)/kxen/guests|g'
D := $(DESTDIR)

install: all
	install -d $(D)$(BINDIR) $(D)$(LIBDIR)/pkgconfig $(D)$(INCLUDEDIR) $(D)$(SYSTEMD_UNITDIR) \
	  $(D)$(DOCDIR)/examples $(addprefix $(D)$(MANDIR)/,$(sort $(dir $(INST_MANS))))
	install -m 755 $(addprefix $(BUILD)/bin/,$(INST_BINS)) $(D)$(BINDIR)/
	$(foreach p,$(sort $(PROGRAMS)),$(foreach a,$(sort $($(p)_ALIASES)),\
	  ln -f $(D)$(BINDIR)/$(p) $(D)$(BINDIR)/$(a) &&)) true
	cp -P $(addprefix $(BUILD)/lib/,$(INST_LIBS)) $(D)$(LIBDIR)/
	for h in $(INST_HDRS); do install -D -m 644 $(BUILD)/include/$$h $(D)$(INCLUDEDIR)/$$h || exit 1; done
	for t in $(PKGCONFIG); do n=$$(basename $$t .in); \
	  $(SUBST) $$t >$(D)$(LIBDIR)/pkgconfig/$$n && chmod 644 $(D)$(LIBDIR)/pkgconfig/$$n || exit 1; done
	for m in $(sort $(MAN_PAGES)); do s=$${m##*.}; install -m 644 $$m $(D)$(MANDIR)/man$$s/ || exit 1; done
	for t in $(SYSTEMD_UNITS); do n=$$(basename $$t .in); \
	  $(SUBST) $$t >$(D)$(SYSTEMD_UNITDIR)/$$n && chmod 644 $(D)$(SYSTEMD_UNITDIR)/$$n || exit 1; done
	for e in $(EXAMPLES); do $(SUBST) $$e >$(D)$(DOCDIR)/examples/$$(basename $$e) || exit 1; done
	$(if $(GUESTS),install -d $(D)$(LIBDIR)/kxen/guests && install -m 644 $(GUESTS) $(D)$(LIBDIR)/kxen/guests/)

uninstall:
	rm -f $(addprefix $(D)$(BINDIR)/,$(INST_BINS) $(INST_ALIASES)) \
	  $(addprefix $(D)$(LIBDIR)/,$(INST_LIBS)) $(addprefix $(D)$(INCLUDEDIR)/,$(INST_HDRS)) \
	  $(addprefix $(D)$(LIBDIR)/pkgconfig/,$(INST_PCS)) $(addprefix $(D)$(MANDIR)/,$(INST_MANS)) \
	  $(addprefix $(D)$(SYSTEMD_UNITDIR)/,$(INST_UNITS)) \
	  $(addprefix $(D)$(DOCDIR)/examples/,$(INST_EXAMPLES)) \
	  $(addprefix $(D)$(LIBDIR)/kxen/guests/,$(INST_GUESTS))
	for d in $(sort $(dir $(INST_HDRS))) ; do \
	  rmdir -p --ignore-fail-on-non-empty $(D)$(INCLUDEDIR)/$$d 2>/dev/null || true; done
	for d in $(BINDIR) $(LIBDIR)/pkgconfig $(LIBDIR)/kxen/guests $(SYSTEMD_UNITDIR) \
	  $(DOCDIR)/examples $(addprefix $(MANDIR)/,$(sort $(dir $(INST_MANS)))); do \
	  rmdir -p --ignore-fail-on-non-empty $(D)$$d 2>/dev/null || true; done

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

-include $(shell find $(BUILD)/obj $(BUILD)/guestobj -name '*.d' 2>/dev/null)
