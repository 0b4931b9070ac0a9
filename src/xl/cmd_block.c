/*
 * xl block-attach / block-detach / block-list, and the disk specs xl create
 * sends: served by kxend's block backend.
 *
 *   xl block-attach <Domain> <disk-spec-component(s)>...
 *   xl block-detach [-f] <Domain> <DevId>       (vdev name or device number)
 *   xl block-list [-s] <Domain(s)>    (-s, a kxen extension: I/O statistics)
 *
 * block-detach asks the frontend to close and waits for the disk to go,
 * as libxl does (10 s, then the backend removes it anyway); -f does not
 * wait for the guest.
 */
#include "xl/xl.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/devices.h"
#include "toolstack/toolstack.h"

int xl_disk_spec(const struct ts_disk *d, char *buf, size_t len)
{
	char why[256], target[PATH_MAX], cwd[PATH_MAX];
	const char *format = ts_disk_format_name(d->format);

	if (!vbd_format_supported(format, why, sizeof why)) {
		xl_err("disk %s: %s", d->vdev, why);
		return -ENOTSUP;
	}
	if (!d->target || !*d->target) {
		xl_err("disk %s: an empty drive (no target) is not supported", d->vdev);
		return -ENOTSUP;
	}
	if (d->target[0] == '/')
		snprintf(target, sizeof target, "%s", d->target);
	else if (!getcwd(cwd, sizeof cwd) ||
		 snprintf(target, sizeof target, "%s/%s", cwd, d->target) >= (int)sizeof target) {
		xl_err("disk %s: cannot make the target path absolute", d->vdev);
		return -ENAMETOOLONG;
	}
	int n = snprintf(buf, len, "format=%s,vdev=%s,access=%s,devtype=%s%s,target=%s", format,
			 d->vdev, d->readwrite ? "rw" : "ro", d->is_cdrom ? "cdrom" : "disk",
			 d->discard == 0 ? ",no-discard" : d->discard == 1 ? ",discard" : "", target);
	if (n < 0 || (size_t)n >= len) {
		xl_err("disk %s: the spec is too long", d->vdev);
		return -E2BIG;
	}
	return 0;
}

int main_block_attach(int argc, char **argv)
{
	struct ctl_msg req, rep;
	struct ts_disk disk;
	char joined[CTL_MAX_LINE], spec[CTL_MAX_LINE], why[256];
	size_t used = 0;
	int rc = xl_plain_args(argc, argv, -2);

	if (rc)
		return rc < 0 ? 0 : rc;
	/* The components after the domain make one disk spec, joined with
	 * commas as xl does. */
	joined[0] = 0;
	for (int i = optind + 1; i < argc; i++) {
		int n = snprintf(joined + used, sizeof joined - used, "%s%s", used ? "," : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof joined - used) {
			xl_err("disk spec too long");
			return 1;
		}
		used += (size_t)n;
	}
	if (ts_disk_parse(&disk, joined, why, sizeof why)) {
		xl_err("bad disk spec \"%s\": %s", joined, why);
		return 1;
	}
	rc = xl_disk_spec(&disk, spec, sizeof spec) ? 1 : 0;
	ts_disk_dispose(&disk);
	if (rc)
		return rc;
	ctl_msg_init(&req);
	ctl_msg_init(&rep);
	ctl_msg_set_head(&req, "block-attach");
	if (ctl_msg_add(&req, "dom", argv[optind]) || ctl_msg_add(&req, "disk", spec)) {
		xl_err("bad domain name or disk spec");
		rc = 1;
	} else {
		rc = xl_call(&req, &rep, NULL);
	}
	ctl_msg_dispose(&rep);
	ctl_msg_dispose(&req);
	return rc;
}

/* Whether domain dom still has device devid (block-list). */
static int still_there(const char *dom, int devid)
{
	struct ctl_msg req, rep;
	char want[16];
	int found = 0;

	ctl_msg_init(&req);
	ctl_msg_init(&rep);
	ctl_msg_set_head(&req, "block-list");
	ctl_msg_add(&req, "dom", dom);
	snprintf(want, sizeof want, "%d", devid);
	if (xl_call_ex(&req, &rep, NULL, true))
		found = -1;     /* the domain itself is gone */
	for (size_t i = 0; found == 0 && i < rep.nr_fields; i++)
		found = !strcmp(rep.fields[i].key, "devid") && !strcmp(rep.fields[i].val, want);
	ctl_msg_dispose(&rep);
	ctl_msg_dispose(&req);
	return found;
}

int main_block_detach(int argc, char **argv)
{
	struct ctl_msg req, rep;
	bool force = false;
	int rc = xl_flag_args(argc, argv, 2, 'f', &force);

	if (rc)
		return rc < 0 ? 0 : rc;
	const char *dom = argv[optind], *vdev = argv[optind + 1];
	ctl_msg_init(&req);
	ctl_msg_init(&rep);
	ctl_msg_set_head(&req, "block-detach");
	if (ctl_msg_add(&req, "dom", dom) || ctl_msg_add(&req, "vdev", vdev) ||
	    ctl_msg_add(&req, "force", force ? "1" : "0")) {
		xl_err("bad arguments");
		rc = 1;
	} else {
		rc = xl_call(&req, &rep, NULL);
	}
	int devid = !rc && ctl_msg_get(&rep, "devid") ? atoi(ctl_msg_get(&rep, "devid")) : -1;
	ctl_msg_dispose(&rep);
	ctl_msg_dispose(&req);
	if (rc)
		return rc;
	/* The backend waits up to 10 s for the frontend, then removes it. */
	for (int i = 0; i < 150; i++) {
		int there = still_there(dom, devid);
		if (there <= 0)
			return 0;
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	xl_err("disk %s of %s did not go away", vdev, dom);
	return 1;
}

static int list_one(const char *dom, bool stats)
{
	struct ctl_msg req, rep;
	int rc;

	ctl_msg_init(&req);
	ctl_msg_init(&rep);
	ctl_msg_set_head(&req, "block-list");
	ctl_msg_add(&req, "dom", dom);
	rc = xl_call(&req, &rep, NULL);
	/* One record per disk, starting at each devid. */
	const char *devid = NULL, *domid = "", *state = "", *evtchn = "", *ring = "", *bepath = "";
	const char *reqs = "", *bytes = "0", *ev_in = "", *ev_out = "", *traps = "";
	for (size_t i = 0; !rc && i <= rep.nr_fields; i++) {
		const char *k = i < rep.nr_fields ? rep.fields[i].key : "devid";
		const char *v = i < rep.nr_fields ? rep.fields[i].val : NULL;
		if (!strcmp(k, "devid")) {
			if (devid && stats)
				printf("%-5s %10s %12llu %10s %10s %12s\n", devid, reqs,
				       strtoull(bytes, NULL, 10) >> 10, ev_in, ev_out, traps);
			else if (devid)
				printf("%-5s %-3d %-6s %-5s %-6s %-8s %-30s\n", devid, 0, domid, state,
				       evtchn, ring, bepath);
			devid = v;
		} else if (!strcmp(k, "requests")) {
			reqs = v;
		} else if (!strcmp(k, "bytes")) {
			bytes = v;
		} else if (!strcmp(k, "events_in")) {
			ev_in = v;
		} else if (!strcmp(k, "events_out")) {
			ev_out = v;
		} else if (!strcmp(k, "domain_traps")) {
			traps = v;
		} else if (!strcmp(k, "domid")) {
			domid = v;
		} else if (!strcmp(k, "fe_state")) {
			state = v;
		} else if (!strcmp(k, "evtchn")) {
			evtchn = v;
		} else if (!strcmp(k, "ring_ref")) {
			ring = v;
		} else if (!strcmp(k, "be_path")) {
			bepath = v;
		}
	}
	ctl_msg_dispose(&rep);
	ctl_msg_dispose(&req);
	return rc;
}

int main_block_list(int argc, char **argv)
{
	bool stats;
	int rc = xl_flag_args(argc, argv, -1, 's', &stats);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (stats)
		printf("%-5s %10s %12s %10s %10s %12s\n", "Vdev", "requests", "KiB", "events-in",
		       "events-out", "domain-traps");
	else
		printf("%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE", "handle", "state",
		       "evt-ch", "ring-ref", "BE-path");
	for (int i = optind; i < argc; i++)
		rc |= list_one(argv[i], stats);
	return rc;
}
