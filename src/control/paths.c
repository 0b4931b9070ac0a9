/*
 * Host paths shared by kxend and xl that are not the control socket: where
 * PCI passthrough state lives and which sysfs tree to act on.
 */
#include "control/control.h"

#include <stdlib.h>

const char *ctl_sysfs_root(void)
{
	/* KXEN_SYSFS_ROOT is for tests (a fake sysfs tree); not documented
	 * for users on purpose. */
	const char *s = getenv("KXEN_SYSFS_ROOT");
	return s && s[0] == '/' ? s : "/sys";
}

const char *ctl_pci_statedir(void)
{
	/* A private daemon (tests, several daemons on one host) keeps its
	 * assignable devices with its other state. */
	const char *r = getenv("KXEN_RUNDIR");
	return r && r[0] ? r : "/var/lib/kxen";
}
