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
	char *dst;             /* snprintk: the caller's buffer instead */
	size_t dst_len, dst_pos;
};

static void out_flush(struct out *o)
{
	if (o->len && !o->dst)
		console_write(o->buf, o->len);
	o->len = 0;
}

static void out_char(struct out *o, char c)
{
	if (o->dst) {
		if (o->dst_pos + 1 < o->dst_len)
			o->dst[o->dst_pos++] = c;
		return;
	}
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

static void vformat(struct out *o, const char *fmt, va_list ap);

void vprintk(const char *fmt, va_list ap)
{
	struct out o = { .len = 0 };
	vformat(&o, fmt, ap);
}

void snprintk(char *buf, size_t len, const char *fmt, ...)
{
	struct out o = { .dst = buf, .dst_len = len };
	va_list ap;

	va_start(ap, fmt);
	vformat(&o, fmt, ap);
	va_end(ap);
	if (len)
		buf[o.dst_pos] = 0;
}

static void vformat(struct out *op, const char *fmt, va_list ap)
{

	for (; *fmt; fmt++) {
		int width = 0, prec = -1, lng = 0;
		bool alt = false;
		char pad = ' ';

		if (*fmt != '%') {
			out_char(op, *fmt);
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
			out_num(op, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, width, pad);
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			if (alt && *fmt == 'x') {
				out_char(op, '0');
				out_char(op, 'x');
			}
			out_num(op, v, *fmt == 'u' ? 10 : 16, false, width, pad);
			break;
		}
		case 'p':
			out_char(op, '0');
			out_char(op, 'x');
			out_num(op, (uintptr_t)va_arg(ap, void *), 16, false, 16, '0');
			break;
		case 'c':
			out_char(op, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			size_t n;
			if (!s)
				s = "(null)";
			n = strnlen(s, prec < 0 ? SIZE_MAX : (size_t)prec);
			for (int w = (int)n; w < width; w++)
				out_char(op, ' ');
			for (size_t i = 0; i < n; i++)
				out_char(op, s[i]);
			break;
		}
		case '%':
			out_char(op, '%');
			break;
		default:        /* unknown conversion: show it */
			out_char(op, '%');
			if (*fmt)
				out_char(op, *fmt);
			else
				fmt--;
			break;
		}
	}
	out_flush(op);
}

void printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
}
