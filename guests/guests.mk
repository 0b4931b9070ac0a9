# Test guests: tiny freestanding 64-bit PV kernels, one per guests/<name>.c,
# each linked with the library in guests/lib into $(BUILD)/guests/<name>.elf.
# Included by the top Makefile; `make guests` builds only these.
#
# The library comes in two hypercall flavours chosen at link time:
# hcall-direct.S (`syscall`) for every guest except hypercall-page, which
# links hcall-page.S (HYPERCALL_PAGE note, calls through the filled page).

# Keep the top Makefile's default goal: rules below must not become it.
guests_saved_goal := $(.DEFAULT_GOAL)

GUEST_NAMES := hello hypercall-page cpuid traps mmu events time multicall \
               smp hostile user idle bench-trap
GUEST_NAMES += spin latency hvframes stalepte longbatch ldt
GUEST_NAMES += xs-quota xs-perms flood
GUEST_NAMES += user-emul canonical softint step-events rflags
GUEST_NAMES += callback m2p noncanon-data farcall mc-iret debugreg iopl fsgsbase xsave
GUESTS := $(foreach g,$(GUEST_NAMES),$(BUILD)/guests/$(g).elf)

GUEST_CC ?= $(CC)
GUEST_CFLAGS := -std=c17 -Wall -Wextra -Wshadow -Wno-unused-parameter -O2 -g \
                -ffreestanding -fno-builtin -fno-stack-protector -fno-pic \
                -fno-pie -mno-red-zone -mcmodel=kernel -mgeneral-regs-only \
                -fno-asynchronous-unwind-tables -fno-unwind-tables \
                -fno-omit-frame-pointer \
                -Iinclude -Iguests/lib -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -Wl,--build-id=none \
                 -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack \
                 -Wl,-T,guests/lib/link.ld

GUEST_OBJ := $(BUILD)/guests/obj
GUEST_LIB_SRCS := $(wildcard guests/lib/*.c) guests/lib/head.S guests/lib/entry.S
GUEST_LIB_OBJS := $(patsubst guests/lib/%,$(GUEST_OBJ)/lib/%.o,$(GUEST_LIB_SRCS))

# hypercall flavour per guest
guest_hcall = $(GUEST_OBJ)/lib/$(if $(filter hypercall-page,$(1)),hcall-page,hcall-direct).S.o

$(GUEST_OBJ)/%.c.o: guests/%.c
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OBJ)/%.S.o: guests/%.S
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  AS      $<"
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -D__ASSEMBLY__ -c -o $@ $<

define guest_rule
$(BUILD)/guests/$(1).elf: $(GUEST_OBJ)/$(1).c.o $(GUEST_LIB_OBJS) $(call guest_hcall,$(1)) guests/lib/link.ld
	@[ "$(V)" = 1 ] || echo "  LD      $$@"
	$(Q)$(GUEST_CC) $(GUEST_LDFLAGS) -o $$@ $(GUEST_OBJ)/$(1).c.o $(GUEST_LIB_OBJS) $(call guest_hcall,$(1))
endef
$(foreach g,$(GUEST_NAMES),$(eval $(call guest_rule,$(g))))

.PHONY: guests
guests: $(GUESTS)

.DEFAULT_GOAL := $(guests_saved_goal)

-include $(shell find $(GUEST_OBJ) -name '*.d' 2>/dev/null)
