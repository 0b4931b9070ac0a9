/*
 * PIT channel 2 and the port 0x61 speaker/gate bits, for PV guests.
 *
 * Xen routes exactly these three ports (0x42, 0x43, 0x61) of a PV guest to
 * a virtual PIT when the domain has one (XEN_X86_EMU_PIT: always for a PV
 * dom0, allowed but off by default for a PV domU, whose reads then see
 * all-ones).  With all-ones, Linux's quick_pit_calibrate() polls port 0x42
 * until its 50,000-iteration limit: 100,000 port reads, each a trap.  On
 * Xen a trap costs about a microsecond; here it costs 45-105 us, which made
 * that loop half of a Debian boot.  So kxen gives every PV domain the PIT
 * Xen offers as an option, and the calibration loops see a counter that
 * moves with the host clock and end as they do on hardware.
 *
 * The model is deliberately small: channel 2 only (channels 0 and 1 have no
 * ports here and no interrupt a PV guest could see), modes 0-5 as counters
 * driven by the host's monotonic clock at 1.193182 MHz, the access modes
 * (LSB, MSB, LSB then MSB), the counter latch and the read-back command,
 * OUT2 in port 0x61 bit 5 and the refresh toggle in bit 4.  BCD counting is
 * not modelled (binary counts are used whatever the guest asks).
 */
#include <string.h>

#include "core/core-internal.h"

#define PIT_HZ 1193182ull

/* rw state of the counter's byte-wise access */
enum { RW_LSB = 1, RW_MSB = 2, RW_WORD = 3 };

void pit_init(struct pit2 *p)
{
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->lock, NULL);
	p->reload = 0x10000;
	p->rw = RW_WORD;
}

void pit_destroy(struct pit2 *p)
{
	pthread_mutex_destroy(&p->lock);
}

/* PIT ticks since counting (re)started, frozen while the gate is low. */
static uint64_t ticks(const struct pit2 *p, int64_t now)
{
	int64_t until = p->gate ? now : p->stopped_at;
	int64_t ns = until - p->load_ns - p->paused_ns;
	if (ns < 0)
		ns = 0;
	return (uint64_t)ns * PIT_HZ / 1000000000ull;
}

static uint32_t current_count(const struct pit2 *p, int64_t now)
{
	uint64_t t = ticks(p, now);
	switch (p->mode) {
	case 2:
		return p->reload - (uint32_t)(t % p->reload);
	case 3:
		/* a square wave counts down by two per tick, twice per period */
		return (p->reload - (uint32_t)((2 * t) % p->reload)) & 0xfffe;
	default:
		/* modes 0, 1, 4, 5 count down once and wrap */
		return (uint32_t)((p->reload - t) & 0xffff);
	}
}

static bool out_high(const struct pit2 *p, int64_t now)
{
	uint64_t t = ticks(p, now);
	switch (p->mode) {
	case 0:
		return t >= p->reload;          /* terminal count reached */
	case 1:
		return t >= p->reload;
	case 2:
		return t % p->reload != p->reload - 1;
	case 3:
		return t % p->reload < (p->reload + 1) / 2;
	default:
		return t != p->reload;          /* modes 4, 5: one low tick */
	}
}

static void restart(struct pit2 *p, int64_t now)
{
	p->load_ns = now;
	p->stopped_at = now;
	p->paused_ns = 0;
}

static void set_gate(struct pit2 *p, bool gate, int64_t now)
{
	if (gate == p->gate)
		return;
	if (gate) {
		/* modes 1, 2, 3 and 5 restart on a rising edge; 0 and 4 resume */
		if (p->mode == 0 || p->mode == 4)
			p->paused_ns += now - p->stopped_at;
		else
			restart(p, now);
	} else {
		p->stopped_at = now;
	}
	p->gate = gate;
}

static void latch_count(struct pit2 *p, int64_t now)
{
	if (p->latched)
		return;            /* a second latch before the read is ignored */
	p->latch = current_count(p, now);
	p->latched = p->rw;
	if (p->latched == RW_WORD)
		p->latch_msb_next = false;
}

static void write_control(struct pit2 *p, uint8_t val, int64_t now)
{
	unsigned channel = val >> 6, access = (val >> 4) & 3;

	if (channel == 3) {
		/* read-back: bit 3 selects channel 2; bit 5 clear latches its
		 * count, bit 4 clear its status */
		if (val & 0x08) {
			if (!(val & 0x20))
				latch_count(p, now);
			if (!(val & 0x10) && !p->status_latched) {
				p->status = (uint8_t)((out_high(p, now) ? 0x80 : 0) | (p->rw << 4) |
						      (p->mode << 1));
				p->status_latched = true;
			}
		}
		return;
	}
	if (channel != 2)
		return;            /* channels 0 and 1 are not ours */
	if (access == 0) {
		latch_count(p, now);
		return;
	}
	p->rw = (uint8_t)access;
	p->mode = (val >> 1) & 7;
	if (p->mode > 5)
		p->mode -= 4;      /* 6 and 7 are aliases of 2 and 3 */
	p->write_msb_next = false;
	p->read_msb_next = false;
}

static void write_counter(struct pit2 *p, uint8_t val, int64_t now)
{
	uint32_t reload;
	switch (p->rw) {
	case RW_LSB:
		reload = val;
		break;
	case RW_MSB:
		reload = (uint32_t)val << 8;
		break;
	default:
		if (!p->write_msb_next) {
			p->write_lsb = val;
			p->write_msb_next = true;
			return;
		}
		p->write_msb_next = false;
		reload = p->write_lsb | ((uint32_t)val << 8);
		break;
	}
	p->reload = reload ? reload : 0x10000;
	restart(p, now);
}

static uint8_t read_counter(struct pit2 *p, int64_t now)
{
	if (p->status_latched) {
		p->status_latched = false;
		return p->status;
	}
	if (p->latched) {
		uint8_t b;
		if (p->latched == RW_MSB || (p->latched == RW_WORD && p->latch_msb_next))
			b = (uint8_t)(p->latch >> 8);
		else
			b = (uint8_t)p->latch;
		if (p->latched == RW_WORD && !p->latch_msb_next)
			p->latch_msb_next = true;
		else
			p->latched = 0;
		return b;
	}
	uint32_t count = current_count(p, now);
	switch (p->rw) {
	case RW_LSB:
		return (uint8_t)count;
	case RW_MSB:
		return (uint8_t)(count >> 8);
	default:
		p->read_msb_next = !p->read_msb_next;
		return p->read_msb_next ? (uint8_t)count : (uint8_t)(count >> 8);
	}
}

bool pit_port(uint16_t port)
{
	return port == 0x42 || port == 0x43 || port == 0x61;
}

uint8_t pit_read(struct pit2 *p, uint16_t port, int64_t now)
{
	uint8_t v = 0xff;
	pthread_mutex_lock(&p->lock);
	if (port == 0x42) {
		v = read_counter(p, now);
	} else if (port == 0x61) {
		/* bit 4 toggles with every DRAM refresh (every ~15 us) */
		bool refresh = (now / 15085) & 1;
		v = (uint8_t)((p->gate ? 1 : 0) | (p->speaker ? 2 : 0) | (refresh ? 0x10 : 0) |
			      (out_high(p, now) ? 0x20 : 0));
	}
	pthread_mutex_unlock(&p->lock);
	return v;   /* 0x43 is write-only */
}

void pit_write(struct pit2 *p, uint16_t port, uint8_t val, int64_t now)
{
	pthread_mutex_lock(&p->lock);
	if (port == 0x42) {
		write_counter(p, val, now);
	} else if (port == 0x43) {
		write_control(p, val, now);
	} else if (port == 0x61) {
		p->speaker = val & 2;
		set_gate(p, val & 1, now);
	}
	pthread_mutex_unlock(&p->lock);
}
