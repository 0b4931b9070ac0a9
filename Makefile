# kxen build.  `make` builds everything into $(BUILD); `make test` runs the
# test suite; `make demo` fetches the Debian guest and boots it (`make
# demo-debian`: a Debian VM booting from its own disk).
#
# Layout: every folder under src/ that holds .c files becomes one static
# library (build/lib<folder>.a, nested folders joined by '-'), except the two
# programs src/daemon (kxend) and src/xl (xl).  Unit tests are folders under
# tests/unit/<name>/ and become build/tests/<name>.  Test guests under
# guests/ are built freestanding by guests/guests.mk.
#
# Variables: BUILD (output dir), SAN=1 (ASan+UBSan), CC, V=1 (verbose).

BUILD   ?= build
CC      ?= gcc
SAN     ?= 0
OPT     ?= -O2

.DEFAULT_GOAL := all
CFLAGS_BASE := -std=c17 -Wall -Wextra -Wshadow -Wno-unused-parameter \
               -D_GNU_SOURCE -g -Iinclude -Isrc -MMD -MP
ifeq ($(SAN),1)
  CFLAGS_BASE += -fsanitize=address,undefined -fno-omit-frame-pointer \
                 -fno-sanitize-recover=undefined
  LDFLAGS_SAN := -fsanitize=address,undefined
  OPT := -O1
endif
CFLAGS  ?= $(OPT)
ALL_CFLAGS := $(CFLAGS_BASE) $(CFLAGS)
LDLIBS  := -lpthread -lz -llzma -lzstd -llz4 -luring -lm -lext2fs -lcom_err
TESTLIBS := -lcmocka

ifeq ($(V),1)
  Q :=
else
  Q := @
endif

# ---- libraries: one per folder under src/ (programs excluded) -------------
PROGRAM_DIRS := src/daemon src/xl
LIB_DIRS := $(filter-out $(PROGRAM_DIRS),$(sort $(patsubst %/,%,$(dir $(shell find src -name '*.c' -o -name '*.S')))))
lib_name = $(subst /,-,$(patsubst src/%,%,$(1)))
LIB_FILES := $(foreach d,$(LIB_DIRS),$(BUILD)/lib$(call lib_name,$(d)).a)

objs_of = $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(1)/*.c)) $(patsubst %.S,$(BUILD)/obj/%.o,$(wildcard $(1)/*.S))

define lib_rule
$(BUILD)/lib$(call lib_name,$(1)).a: $(call objs_of,$(1))
	@mkdir -p $$(dir $$@)
	$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach d,$(LIB_DIRS),$(eval $(call lib_rule,$(d))))

# Static libraries may reference each other in any order: link them as a group.
LINK_LIBS = -Wl,--start-group $(LIB_FILES) -Wl,--end-group

# A test or tool folder may hold a file LIBS naming the libraries it needs
# (e.g. "sched common"); without it, it links every library.
libs_for = $(if $(wildcard $(1)/LIBS),$(foreach l,$(shell cat $(1)/LIBS),$(BUILD)/lib$(l).a),$(LIB_FILES))
link_for = -Wl,--start-group $(call libs_for,$(1)) -Wl,--end-group

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  AS      $<"
	$(Q)$(CC) -Iinclude -Isrc -c -o $@ $<

# ---- programs --------------------------------------------------------------
$(BUILD)/kxend: $(call objs_of,src/daemon) $(LIB_FILES)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_SAN) -o $@ $(call objs_of,src/daemon) $(LINK_LIBS) $(LDLIBS)

$(BUILD)/xl: $(call objs_of,src/xl) $(LIB_FILES)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_SAN) -o $@ $(call objs_of,src/xl) $(LINK_LIBS) $(LDLIBS)

# ---- extra tools: every tools/<name>/ folder becomes build/<name> -----------
TOOL_DIRS := $(sort $(patsubst %/,%,$(dir $(wildcard tools/*/*.c))))
TOOLS := $(foreach d,$(TOOL_DIRS),$(BUILD)/$(notdir $(d)))
define tool_rule
$(BUILD)/$(notdir $(1)): $(call objs_of,$(1)) $(call libs_for,$(1))
	@[ "$(V)" = 1 ] || echo "  LD      $$@"
	$(Q)$(CC) $(LDFLAGS_SAN) -o $$@ $(call objs_of,$(1)) $(call link_for,$(1)) $(LDLIBS)
endef
$(foreach d,$(TOOL_DIRS),$(eval $(call tool_rule,$(d))))

# ---- unit tests: tests/unit/<name>/*.c -> build/tests/<name> ---------------
UNIT_DIRS := $(sort $(patsubst %/,%,$(dir $(wildcard tests/unit/*/*.c))))
UNIT_TESTS := $(foreach d,$(UNIT_DIRS),$(BUILD)/tests/$(notdir $(d)))
define unit_rule
$(BUILD)/tests/$(notdir $(1)): $(call objs_of,$(1)) $(call libs_for,$(1))
	@mkdir -p $$(dir $$@)
	@[ "$(V)" = 1 ] || echo "  LD      $$@"
	$(Q)$(CC) $(LDFLAGS_SAN) -o $$@ $(call objs_of,$(1)) $(call link_for,$(1)) $(LDLIBS) $(TESTLIBS)
endef
$(foreach d,$(UNIT_DIRS),$(eval $(call unit_rule,$(d))))

# ---- test guests (freestanding PV kernels) ---------------------------------
-include guests/guests.mk

# ---- static user programs for the Debian guest -----------------------------
include tests/linux-user/linux-user.mk

PROGRAMS := $(BUILD)/kxend $(BUILD)/xl $(TOOLS)

.PHONY: all test unit demo demo-debian clean sanitize valgrind deps
all: $(PROGRAMS) $(UNIT_TESTS) $(GUESTS) $(LINUX_USER)

# Debian packages needed to build and test (a no-op once installed).
deps:
	@scripts/install-deps.sh

# The README's test command.
test: deps
	$(MAKE) all
	BUILD=$(BUILD) tests/run.sh

unit: $(UNIT_TESTS)
	BUILD=$(BUILD) tests/run.sh --unit-only

# The same suite under ASan+UBSan, in its own build folder.
sanitize:
	$(MAKE) SAN=1 BUILD=build-san all
	BUILD=build-san tests/run.sh

# Unit tests under valgrind: any error or leak fails.
valgrind: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do \
		echo "  VALGRIND $$t"; \
		valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect \
			$$t > $(BUILD)/valgrind-$$(basename $$t).log 2>&1 || { tail -n 40 $(BUILD)/valgrind-$$(basename $$t).log; exit 1; }; \
	done

# The quick look: the Debian kernel with a busybox shell in an initramfs.
demo: deps
	$(MAKE) all
	scripts/demo.sh $(BUILD)

# A real Debian 12 VM booting from its own disk (builds the cached root-fs
# image first, as root).
demo-debian: deps
	$(MAKE) all
	scripts/demo.sh $(BUILD) debian

clean:
	rm -rf build build-san

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
