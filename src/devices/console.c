/*
 * The PV console ring (xencons_interface): in[1024] @0, out[2048] @1024,
 * u32 in_cons @3072, in_prod @3076, out_cons @3080, out_prod @3084.
 * The guest writes out[] and bumps out_prod; we consume and bump out_cons.
 * Indices are free-running; the guest controls the producer, so a
 * producer more than a ring ahead of the consumer is refused.
 */
#include "devices/devices.h"

#include <errno.h>

#define CONS_IN_SIZE  1024u
#define CONS_OUT_SIZE 2048u
#define OFF_IN        0
#define OFF_OUT       1024
#define OFF_IN_CONS   3072
#define OFF_IN_PROD   3076
#define OFF_OUT_CONS  3080
#define OFF_OUT_PROD  3084

static uint32_t *idx(void *page, unsigned off)
{
	return (uint32_t *)((uint8_t *)page + off);
}

int console_ring_read(void *page, char *buf, size_t max)
{
	uint32_t cons = __atomic_load_n(idx(page, OFF_OUT_CONS), __ATOMIC_RELAXED);
	uint32_t prod = __atomic_load_n(idx(page, OFF_OUT_PROD), __ATOMIC_ACQUIRE);
	uint32_t avail = prod - cons;
	const volatile uint8_t *out = (uint8_t *)page + OFF_OUT;
	size_t n = 0;

	if (avail > CONS_OUT_SIZE)
		return -EINVAL;
	while (n < max && n < avail)
		buf[n] = (char)out[(cons + (uint32_t)n) % CONS_OUT_SIZE], n++;
	__atomic_store_n(idx(page, OFF_OUT_CONS), cons + (uint32_t)n, __ATOMIC_RELEASE);
	return (int)n;
}

size_t console_ring_write(void *page, const char *buf, size_t len)
{
	uint32_t cons = __atomic_load_n(idx(page, OFF_IN_CONS), __ATOMIC_ACQUIRE);
	uint32_t prod = __atomic_load_n(idx(page, OFF_IN_PROD), __ATOMIC_RELAXED);
	volatile uint8_t *in = (uint8_t *)page + OFF_IN;
	size_t n = 0;

	if (prod - cons > CONS_IN_SIZE)
		return 0;
	while (n < len && prod - cons < CONS_IN_SIZE) {
		in[prod % CONS_IN_SIZE] = (uint8_t)buf[n++];
		prod++;
	}
	__atomic_store_n(idx(page, OFF_IN_PROD), prod, __ATOMIC_RELEASE);
	return n;
}
