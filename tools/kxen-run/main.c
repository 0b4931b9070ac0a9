/*
 * kxen-run: boot one PV domain in this process, without the daemon.
 *
 *   kxen-run [--memory MIB] [--vcpus N] [--timeout S] [--cmdline STR]
 *            [--ramdisk FILE] KERNEL
 *
 * The guest's console (console_io and the PV console ring) goes to stdout;
 * a XenStore serves the domain.  Exit status: 0 poweroff, 1 crash (by the
 * guest or by the hypervisor), 2 reboot, 3 timeout, 4 setup error.
 * Used by the test-guest suite and for debugging the core.  The vCPUs run
 * under kxen's scheduler on the process's CPUs, or on $KXEN_PCPUS ("0-1").
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "core/core.h"
#include "devices/devices.h"
#include "xenstore/xenstore.h"
#include "xen/xen.h"

struct runner {
	struct domain *d;
	struct xs_store *xs;
	pthread_mutex_t lock;    /* the store is single-threaded */
};

static void out_write(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(1, buf, len);
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void on_console_io(void *opaque, struct domain *d, const char *buf, size_t len)
{
	(void)opaque;
	(void)d;
	out_write(buf, len);
}

static void store_notify(void *opaque, uint32_t domid, uint32_t port)
{
	struct runner *r = opaque;
	(void)domid;
	domain_notify(r->d, port);
}

static void on_backend_event(void *opaque, struct domain *d, uint32_t port)
{
	struct runner *r = opaque;
	if (port == domain_console_port(d)) {
		char buf[2048];
		int n;
		void *ring = domain_console_ring(d);
		while (ring && (n = console_ring_read(ring, buf, sizeof buf)) > 0)
			out_write(buf, (size_t)n);
		domain_notify(d, port);
	} else if (port == domain_store_port(d)) {
		pthread_mutex_lock(&r->lock);
		while (xs_poll(r->xs, store_notify, r) & XS_PROCESS_AGAIN)
			;
		pthread_mutex_unlock(&r->lock);
	}
}

static const struct domain_hooks hooks = {
	.console_io = on_console_io,
	.backend_event = on_backend_event,
};

static void usage(void)
{
	fprintf(stderr, "usage: kxen-run [--memory MIB] [--vcpus N] [--timeout S] "
			"[--cmdline STR] [--ramdisk FILE] KERNEL\n");
}

/* The same home kxend gives a guest (xs_home_create). */
static int setup_store(struct runner *r, unsigned domid, const char *name,
		       uint64_t mem_mib, unsigned vcpus)
{
	const struct xs_home home = {
		.domid = domid, .name = name,
		.target_kib = mem_mib * 1024, .static_max_kib = mem_mib * 1024,
		.vcpus = vcpus, .max_vcpus = vcpus,
		.store_port = domain_store_port(r->d),
		.console_port = domain_console_port(r->d),
	};
	struct xs_conn *conn;

	r->xs = xs_create(NULL);
	if (!r->xs)
		return -ENOMEM;
	int rc = xs_home_create(r->xs, &home);
	return rc ? rc : xs_introduce(r->xs, domid, domain_store_ring(r->d),
				      domain_store_port(r->d), &conn);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "memory", required_argument, NULL, 'm' },
		{ "vcpus", required_argument, NULL, 'v' },
		{ "timeout", required_argument, NULL, 't' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "ramdisk", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct domain_params p = { .domid = 1, .name = "kxen-run", .memory_mib = 64, .vcpus = 1 };
	struct runner r = { .lock = PTHREAD_MUTEX_INITIALIZER };
	int timeout_s = 60, c;
	char err[512];

	while ((c = getopt_long(argc, argv, "m:v:t:c:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': p.memory_mib = strtoull(optarg, NULL, 0); break;
		case 'v': p.vcpus = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': timeout_s = atoi(optarg); break;
		case 'c': p.cmdline = optarg; break;
		case 'r': p.ramdisk = optarg; break;
		case 'h': usage(); return 0;
		default: usage(); return 4;
		}
	}
	if (optind != argc - 1) {
		usage();
		return 4;
	}
	p.kernel = argv[optind];
	p.hooks = &hooks;
	p.opaque = &r;
	if (dispatch_init(NULL, NULL, &p.dispatcher, err, sizeof err)) {
		fprintf(stderr, "kxen-run: %s\n", err);
		return 4;
	}
	if (domain_create(&p, &r.d, err, sizeof err)) {
		fprintf(stderr, "kxen-run: %s\n", err);
		dispatch_fini(p.dispatcher);
		return 4;
	}
	if (setup_store(&r, p.domid, p.name, p.memory_mib, p.vcpus) || domain_start(r.d)) {
		fprintf(stderr, "kxen-run: cannot start the domain\n");
		domain_destroy(r.d);
		xs_destroy(r.xs);
		dispatch_fini(p.dispatcher);
		return 4;
	}
	int reason = domain_wait_shutdown(r.d, timeout_s * 1000);
	/* Drain what the console ring still holds. */
	on_backend_event(&r, r.d, domain_console_port(r.d));
	domain_destroy(r.d);
	xs_destroy(r.xs);
	dispatch_fini(p.dispatcher);
	switch (reason) {
	case SHUTDOWN_poweroff:
		return 0;
	case SHUTDOWN_reboot:
		return 2;
	case -ETIMEDOUT:
		fprintf(stderr, "kxen-run: timeout after %d s\n", timeout_s);
		return 3;
	default:
		return 1;
	}
}
