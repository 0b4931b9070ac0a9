/*
 * xl pci-assignable-add / -remove / -list (on the host, with the toolstack
 * library against sysfs) and pci-attach / pci-detach / pci-list (recorded
 * by kxend, which checks the host can really pass the device through).
 *
 * The sysfs root is /sys; tests point $KXEN_SYSFS_ROOT at a fake tree.
 * Assignable devices are recorded under $KXEN_RUNDIR, else /var/lib/kxen.
 */
#include "xl/xl.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "toolstack/toolstack.h"

/* The BDF argument, or 1 with a message naming the bad part. */
static int parse_bdf_arg(const char *text, struct pci_bdf *bdf)
{
	char why[160];

	if (pci_bdf_parse(bdf, text, why, sizeof why)) {
		xl_err("bad PCI address \"%s\": %s", text, why);
		return 1;
	}
	return 0;
}

static int print_ts_error(const struct ts_error *err, int rc)
{
	char msg[1024];

	if (err->msg[0])
		ts_error_format(err, msg, sizeof msg);
	else
		snprintf(msg, sizeof msg, "%s", strerror(-rc));
	xl_err("%s", msg);
	return 1;
}

/* Options: -h, and -r when allow_r; returns -1 for -h (exit 0). */
static int pci_opts(int argc, char **argv, bool allow_r, bool *r, int nargs)
{
	return xl_flag_args(argc, argv, nargs, allow_r ? 'r' : 0, r);
}

static int ensure_statedir(const char *dir)
{
	if (mkdir(dir, 0755) && errno != EEXIST) {
		xl_err("cannot create %s: %s", dir, strerror(errno));
		return 1;
	}
	return 0;
}

int main_pci_assignable_add(int argc, char **argv)
{
	struct pci_bdf bdf;
	struct ts_error err;
	char note[512];
	bool r;
	int rc = pci_opts(argc, argv, true, &r, 1);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (parse_bdf_arg(argv[optind], &bdf) || ensure_statedir(ctl_pci_statedir()))
		return 1;
	rc = pci_assignable_add(ctl_sysfs_root(), ctl_pci_statedir(), &bdf, note, sizeof note, &err);
	if (rc)
		return print_ts_error(&err, rc);
	if (note[0])
		fprintf(stderr, "xl: note: %s\n", note);
	return 0;
}

int main_pci_assignable_remove(int argc, char **argv)
{
	struct pci_bdf bdf;
	struct ts_error err;
	bool rebind;
	int rc = pci_opts(argc, argv, true, &rebind, 1);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (parse_bdf_arg(argv[optind], &bdf))
		return 1;
	rc = pci_assignable_remove(ctl_sysfs_root(), ctl_pci_statedir(), &bdf, rebind, &err);
	return rc ? print_ts_error(&err, rc) : 0;
}

int main_pci_assignable_list(int argc, char **argv)
{
	struct ts_error err;
	bool r;
	int rc = pci_opts(argc, argv, false, &r, 0);

	if (rc)
		return rc < 0 ? 0 : rc;
	rc = pci_assignable_print(ctl_pci_statedir(), stdout, &err);
	return rc ? print_ts_error(&err, rc) : 0;
}

static int attach_detach(const char *command, int argc, char **argv)
{
	struct ctl_msg req, rep;
	struct ts_pcidev dev;
	char why[256], bdf[PCI_BDF_STRLEN];
	bool r;
	int rc = pci_opts(argc, argv, false, &r, 2);

	if (rc)
		return rc < 0 ? 0 : rc;
	/* The full pci= spec is accepted (BDF[@VSLOT][,options]), as xl does. */
	if (pci_spec_parse(&dev, argv[optind + 1], why, sizeof why)) {
		xl_err("%s", why);
		return 1;
	}
	pci_bdf_format(&dev.bdf, bdf, sizeof bdf);
	ctl_msg_init(&req);
	ctl_msg_init(&rep);
	ctl_msg_set_head(&req, command);
	if (ctl_msg_add(&req, "dom", argv[optind]) || ctl_msg_add(&req, "bdf", bdf)) {
		xl_err("bad domain name \"%s\"", argv[optind]);
		rc = 1;
	} else {
		rc = xl_call(&req, &rep, NULL);
	}
	if (!rc && ctl_msg_get(&rep, "note"))
		fprintf(stderr, "xl: warning: %s\n", ctl_msg_get(&rep, "note"));
	ctl_msg_dispose(&rep);
	ctl_msg_dispose(&req);
	return rc;
}

int main_pci_attach(int argc, char **argv) { return attach_detach("pci-attach", argc, argv); }
int main_pci_detach(int argc, char **argv) { return attach_detach("pci-detach", argc, argv); }

int main_pci_list(int argc, char **argv)
{
	struct ctl_msg rep;
	struct xl_dom *recs;
	size_t n;
	bool r;
	int rc = pci_opts(argc, argv, false, &r, 1);

	if (rc)
		return rc < 0 ? 0 : rc;
	ctl_msg_init(&rep);
	rc = xl_list(argv[optind], false, &rep, &recs, &n);
	if (!rc && n == 1 && recs[0].pci) {
		char buf[CTL_MAX_LINE + 1], *save = NULL;
		unsigned slot = 0;
		snprintf(buf, sizeof buf, "%s", recs[0].pci);
		printf("Vdev Device\n");
		/* No virtual PCI bus yet: slots are given in attach order. */
		for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
			printf("%02x.%01x %s\n", slot++, 0, t);
	}
	if (!rc)
		free(recs);
	ctl_msg_dispose(&rep);
	return rc;
}
