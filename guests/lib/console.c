/*
 * Console output: a small printf over HYPERVISOR_console_io(CONSOLEIO_write).
 *
 * If console_io fails (a hypervisor may refuse it for a domU, as release
 * Xen does) the text goes to the PV console ring named in start_info.
 */
#include "guest.h"

struct cons_ring {                 /* struct xencons_interface */
	char in[1024];
	char out[2048];
	uint32_t in_cons, in_prod, out_cons, out_prod;
};

static void ring_write(const char *buf, size_t len)
{
	int64_t pfn = mfn_to_pfn(start_info->console.domU.mfn);
	struct cons_ring *r;
	struct evtchn_port_op send = { .port = start_info->console.domU.evtchn };

	if (pfn < 0)
		return;
	r = pfn_to_va((uint64_t)pfn);
	for (size_t i = 0; i < len; i++) {
		/* Bounded wait for the backend to drain a full ring. */
		for (int spins = 0;
		     READ_ONCE(r->out_prod) - READ_ONCE(r->out_cons) >= sizeof(r->out);
		     spins++) {
			if (spins > 1000)
				return;
			HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
		}
		r->out[r->out_prod % sizeof(r->out)] = buf[i];
		barrier();
		r->out_prod++;
	}
	HYPERVISOR_event_channel_op(EVTCHNOP_send, &send);
}

void console_write(const char *buf, size_t len)
{
	static bool use_ring;

	if (!use_ring && HYPERVISOR_console_io(CONSOLEIO_write, len, buf) < 0)
		use_ring = true;
	if (use_ring)
		ring_write(buf, len);
}

/* ---- formatting --------------------------------------------------------- */

struct out {
	char buf[256];
	size_t len;
};

static void out_flush(struct out *o)
{
	if (o->len)
		console_write(o->buf, o->len);
	o->len = 0;
}

static void out_char(struct out *o, char c)
{
	o->buf[o->len++] = c;
	if (c == '\n' || o->len == sizeof(o->buf))
		out_flush(o);
}

static void out_num(struct out *o, uint64_t v, unsigned base, bool neg,
                    int width, char pad)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	for (; width > n; width--)
		out_char(o, pad);
	while (n)
		out_char(o, tmp[--n]);
}

void vprintk(const char *fmt, va_list ap)
{
	struct out o = { .len = 0 };

	for (; *fmt; fmt++) {
		int width = 0, prec = -1, lng = 0;
		bool alt = false;
		char pad = ' ';

		if (*fmt != '%') {
			out_char(&o, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '0')
				pad = '0';
			else if (*fmt == '#')
				alt = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == '.') {
			prec = 0;
			while (*++fmt >= '0' && *fmt <= '9')
				prec = prec * 10 + (*fmt - '0');
		}
		while (*fmt == 'l' || *fmt == 'z')
			lng++, fmt++;

		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, long) : va_arg(ap, int);
			out_num(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, width, pad);
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			if (alt && *fmt == 'x') {
				out_char(&o, '0');
				out_char(&o, 'x');
			}
			out_num(&o, v, *fmt == 'u' ? 10 : 16, false, width, pad);
			break;
		}
		case 'p':
			out_char(&o, '0');
			out_char(&o, 'x');
			out_num(&o, (uintptr_t)va_arg(ap, void *), 16, false, 16, '0');
			break;
		case 'c':
			out_char(&o, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			size_t n;
			if (!s)
				s = "(null)";
			n = strnlen(s, prec < 0 ? SIZE_MAX : (size_t)prec);
			for (int w = (int)n; w < width; w++)
				out_char(&o, ' ');
			for (size_t i = 0; i < n; i++)
				out_char(&o, s[i]);
			break;
		}
		case '%':
			out_char(&o, '%');
			break;
		default:        /* unknown conversion: show it */
			out_char(&o, '%');
			if (*fmt)
				out_char(&o, *fmt);
			else
				fmt--;
			break;
		}
	}
	out_flush(&o);
}

void printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
}
