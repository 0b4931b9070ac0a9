# Static user programs run inside the Debian guest by tests/e2e/linux-user.sh
# (and on the host for comparison): every tests/linux-user/<name>.c becomes
# $(BUILD)/linux-user/<name>.  Adding a program is adding one .c file; it
# reports with verdict.h (headers here are shared, never programs).  Built with the host's static libc (libc6-dev),
# without the sanitizers: they run under the guest kernel, not kxen.

LINUX_USER_SRCS := $(wildcard tests/linux-user/*.c)
LINUX_USER := $(patsubst tests/linux-user/%.c,$(BUILD)/linux-user/%,$(LINUX_USER_SRCS))
LINUX_USER_CFLAGS := -std=gnu17 -O2 -g -Wall -Wextra -static -D_GNU_SOURCE

$(BUILD)/linux-user/%: tests/linux-user/%.c $(wildcard tests/linux-user/*.h)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $@"
	$(Q)$(CC) $(LINUX_USER_CFLAGS) $(filter -Werror,$(CFLAGS)) -o $@ $< -lpthread

.PHONY: linux-user
linux-user: $(LINUX_USER)
