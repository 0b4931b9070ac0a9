/*
 * Host side of PCI passthrough: `xl pci-assignable-add/-remove/-list`.
 * A device is made assignable by taking it away from its host driver and
 * parking it on a stub driver (vfio-pci on a KVM host, pciback on Xen);
 * the original driver is recorded so `remove -r` can give the device back.
 * All paths are relative to a sysfs root parameter so tests use a fake tree.
 */
#include "toolstack/ts_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_SUBDIR "pci-assignable"
#define DRIVER_MAX 128

__attribute__((format(printf, 4, 5)))
static int path_fmt(char *buf, size_t len, int *rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		*rc = -ENAMETOOLONG;
	return *rc;
}

static bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* sysfs attributes are written in one write(); no O_CREAT: a missing
 * attribute means the kernel (or fake tree) does not offer it. */
static int sysfs_write(const char *path, const char *value)
{
	size_t len = strlen(value);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;
	int rc = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0)
		rc = -errno;
	else if ((size_t)n != len)
		rc = -EIO;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* The device's bound driver name, "" if unbound. */
static int read_driver(const char *devpath, char *name, size_t len)
{
	char link[4096], target[4096];
	const char *base;
	ssize_t n;
	int rc = 0;

	name[0] = '\0';
	if (path_fmt(link, sizeof(link), &rc, "%s/driver", devpath) < 0)
		return rc;
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return errno == ENOENT ? 0 : -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	memcpy(name, base, strlen(base) + 1);
	return 0;
}

static const char *pick_stub_driver(const char *sysfs)
{
	static const char *const stubs[] = { "vfio-pci", "pciback" };
	char path[4096];
	int rc = 0;

	for (size_t i = 0; i < sizeof(stubs) / sizeof(stubs[0]); i++) {
		rc = 0;
		if (path_fmt(path, sizeof(path), &rc, "%s/bus/pci/drivers/%s", sysfs,
			     stubs[i]) == 0 && path_exists(path))
			return stubs[i];
	}
	return NULL;
}

static bool is_stub_driver(const char *driver)
{
	return !strcmp(driver, "vfio-pci") || !strcmp(driver, "pciback");
}

/* ---- state files: statedir/pci-assignable/<bdf> ---------------------------- */

static int state_path(const char *statedir, const char *bdf, char *buf, size_t len)
{
	int rc = 0;

	return path_fmt(buf, len, &rc, "%s/" STATE_SUBDIR "/%s", statedir, bdf);
}

/* State directories are root's alone; our own subdirectory must be a
 * real directory, not a symlink to somewhere else. */
static int ensure_dir(const char *path, bool own)
{
	struct stat st;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	if ((own ? lstat(path, &st) : stat(path, &st)) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int state_write(const char *statedir, const char *bdf, const char *driver,
		       const char *stub)
{
	char dir[4096], path[4096], tmp[4200];
	int rc = 0;
	FILE *f;

	if (path_fmt(dir, sizeof(dir), &rc, "%s/" STATE_SUBDIR, statedir) < 0)
		return rc;
	rc = ensure_dir(statedir, false);
	if (rc == 0)
		rc = ensure_dir(dir, true);
	if (rc == 0)
		rc = state_path(statedir, bdf, path, sizeof(path));
	if (rc < 0)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* Never through a symlink someone planted (O_TRUNC would truncate
	 * whatever it points at). */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		return rc;
	}
	fprintf(f, "driver=%s\nstub=%s\n", driver, stub ? stub : "");
	if (fclose(f) != 0) {
		rc = -errno;
		unlink(tmp);
		return rc;
	}
	/* rename so a crash never leaves a half-written record */
	if (rename(tmp, path) < 0) {
		rc = -errno;
		unlink(tmp);
	}
	return rc;
}

static int state_read_field(const char *path, const char *field, char *out, size_t len)
{
	char line[512];
	size_t flen = strlen(field);
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	out[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, flen) && line[flen] == '=') {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, len, "%s", line + flen + 1);
			break;
		}
	}
	fclose(f);
	return 0;
}

int pci_assignable_lookup(const char *statedir, const struct pci_bdf *bdf,
			  char *driver, size_t len)
{
	char name[PCI_BDF_STRLEN], path[4096];
	int rc;

	pci_bdf_format(bdf, name, sizeof(name));
	rc = state_path(statedir, name, path, sizeof(path));
	if (rc == 0)
		rc = state_read_field(path, "driver", driver, len);
	return rc;
}

/* ---- add ---------------------------------------------------------------------------- */

static int bind_to_stub(const char *sysfs, const char *devpath, const char *bdf,
			const char *stub)
{
	char path[4096];
	int rc = 0;

	if (!strcmp(stub, "vfio-pci")) {
		/* driver_override makes the probe pick vfio-pci and only it */
		if (path_fmt(path, sizeof(path), &rc, "%s/driver_override", devpath) < 0)
			return rc;
		rc = sysfs_write(path, "vfio-pci");
		if (rc == 0 && path_fmt(path, sizeof(path), &rc, "%s/bus/pci/drivers_probe",
					sysfs) == 0)
			rc = sysfs_write(path, bdf);
		return rc;
	}
	if (path_fmt(path, sizeof(path), &rc, "%s/bus/pci/drivers/pciback/new_slot", sysfs) < 0)
		return rc;
	rc = sysfs_write(path, bdf);
	if (rc == 0 && path_fmt(path, sizeof(path), &rc, "%s/bus/pci/drivers/pciback/bind",
				sysfs) == 0)
		rc = sysfs_write(path, bdf);
	return rc;
}

static int unbind_device(const char *devpath, const char *bdf)
{
	char path[4096];
	int rc = 0;

	if (path_fmt(path, sizeof(path), &rc, "%s/driver/unbind", devpath) < 0)
		return rc;
	return sysfs_write(path, bdf);
}

int pci_assignable_add(const char *sysfs, const char *statedir,
		       const struct pci_bdf *bdf, char *note, size_t notelen,
		       struct ts_error *err)
{
	char name[PCI_BDF_STRLEN], devpath[4096], spath[4096], driver[DRIVER_MAX];
	const char *stub;
	int rc = 0;

	sysfs = sysfs ? sysfs : "/sys";
	if (note && notelen)
		note[0] = '\0';
	ts_error_clear(err);
	pci_bdf_format(bdf, name, sizeof(name));
	if (path_fmt(devpath, sizeof(devpath), &rc, "%s/bus/pci/devices/%s", sysfs, name) < 0 ||
	    state_path(statedir, name, spath, sizeof(spath)) < 0) {
		ts_error_set(err, "", 0, 0, "%s: path too long", name);
		return -ENAMETOOLONG;
	}
	if (!path_exists(devpath)) {
		ts_error_set(err, "", 0, 0, "no such PCI device %s (%s does not exist)", name,
			     devpath);
		return -ENODEV;
	}
	if (path_exists(spath)) {
		ts_error_set(err, "", 0, 0, "%s is already assignable", name);
		return -EEXIST;
	}
	rc = read_driver(devpath, driver, sizeof(driver));
	if (rc < 0) {
		ts_error_set(err, "", 0, 0, "%s: cannot read its driver: %s", name, strerror(-rc));
		return rc;
	}
	stub = pick_stub_driver(sysfs);
	if (stub && !strcmp(driver, stub)) {
		/* already parked: nothing to give back later */
		snprintf(note, notelen, "%s was already bound to %s", name, stub);
		rc = state_write(statedir, name, "", stub);
		goto out_state;
	}
	/* record first: if anything below fails, remove -r can still undo it */
	rc = state_write(statedir, name, is_stub_driver(driver) ? "" : driver, stub);
	if (rc < 0)
		goto out_state;
	if (driver[0]) {
		rc = unbind_device(devpath, name);
		if (rc < 0) {
			unlink(spath);
			ts_error_set(err, "", 0, 0, "cannot unbind %s from %s: %s", name, driver,
				     strerror(-rc));
			return rc;
		}
	}
	if (!stub) {
		snprintf(note, notelen, "no stub driver (vfio-pci or pciback) is loaded: %s is "
			 "left unbound; load vfio-pci to pass it through", name);
		return 0;
	}
	rc = bind_to_stub(sysfs, devpath, name, stub);
	if (rc < 0) {
		ts_error_set(err, "", 0, 0, "%s was unbound%s%s but binding it to %s failed: %s "
			     "(xl pci-assignable-remove -r gives it back)", name,
			     driver[0] ? " from " : "", driver, stub, strerror(-rc));
		return rc;
	}
	return 0;
out_state:
	if (rc < 0)
		ts_error_set(err, "", 0, 0, "cannot record %s in %s: %s", name, statedir,
			     strerror(-rc));
	return rc;
}

/* ---- remove ---------------------------------------------------------------------------- */

static int release_from_stub(const char *sysfs, const char *devpath, const char *name,
			     const char *current)
{
	char path[4096];
	int rc = 0;

	if (is_stub_driver(current)) {
		rc = unbind_device(devpath, name);
		if (rc < 0)
			return rc;
	}
	if (!strcmp(current, "pciback") &&
	    path_fmt(path, sizeof(path), &rc, "%s/bus/pci/drivers/pciback/remove_slot",
		     sysfs) == 0 && path_exists(path))
		rc = sysfs_write(path, name);
	if (rc == 0 && path_fmt(path, sizeof(path), &rc, "%s/driver_override", devpath) == 0 &&
	    path_exists(path))
		rc = sysfs_write(path, "\n"); /* an empty override clears it */
	return rc;
}

static int rebind_original(const char *sysfs, const char *name, const char *orig,
			   struct ts_error *err)
{
	char dir[4096], path[4200];
	int rc = 0;

	if (path_fmt(dir, sizeof(dir), &rc, "%s/bus/pci/drivers/%s", sysfs, orig) < 0)
		return rc;
	if (!path_exists(dir)) {
		ts_error_set(err, "", 0, 0, "cannot give %s back to %s: that driver is not "
			     "loaded (%s does not exist)", name, orig, dir);
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/bind", dir);
	rc = sysfs_write(path, name);
	if (rc < 0)
		ts_error_set(err, "", 0, 0, "cannot bind %s to %s: %s", name, orig, strerror(-rc));
	return rc;
}

int pci_assignable_remove(const char *sysfs, const char *statedir,
			  const struct pci_bdf *bdf, bool rebind, struct ts_error *err)
{
	char name[PCI_BDF_STRLEN], devpath[4096], spath[4096];
	char orig[DRIVER_MAX], current[DRIVER_MAX];
	int rc = 0;

	sysfs = sysfs ? sysfs : "/sys";
	ts_error_clear(err);
	pci_bdf_format(bdf, name, sizeof(name));
	if (path_fmt(devpath, sizeof(devpath), &rc, "%s/bus/pci/devices/%s", sysfs, name) < 0 ||
	    state_path(statedir, name, spath, sizeof(spath)) < 0) {
		ts_error_set(err, "", 0, 0, "%s: path too long", name);
		return -ENAMETOOLONG;
	}
	if (state_read_field(spath, "driver", orig, sizeof(orig)) < 0) {
		ts_error_set(err, "", 0, 0, "%s is not an assignable device "
			     "(see xl pci-assignable-list)", name);
		return -ENOENT;
	}
	if (!path_exists(devpath)) {
		ts_error_set(err, "", 0, 0, "no such PCI device %s (%s does not exist)", name,
			     devpath);
		return -ENODEV;
	}
	rc = read_driver(devpath, current, sizeof(current));
	if (rc == 0)
		rc = release_from_stub(sysfs, devpath, name, current);
	if (rc < 0) {
		ts_error_set(err, "", 0, 0, "cannot release %s from %s: %s", name,
			     current[0] ? current : "its stub driver", strerror(-rc));
		return rc;
	}
	if (rebind && orig[0] && strcmp(orig, current)) {
		rc = rebind_original(sysfs, name, orig, err);
		if (rc < 0)
			return rc; /* keep the record: the driver is still owed */
	}
	if (unlink(spath) < 0) {
		rc = -errno;
		ts_error_set(err, "", 0, 0, "cannot remove %s: %s", spath, strerror(-rc));
	}
	return rc;
}

/* ---- list ---------------------------------------------------------------------------- */

static int bdf_compare(const void *a, const void *b)
{
	const struct pci_bdf *x = a, *y = b;
	uint32_t kx = (uint32_t)x->domain << 16 | x->bus << 8 | x->dev << 3 | x->func;
	uint32_t ky = (uint32_t)y->domain << 16 | y->bus << 8 | y->dev << 3 | y->func;

	return (kx > ky) - (kx < ky);
}

int pci_assignable_list(const char *statedir, struct pci_bdf **out, size_t *nr,
			struct ts_error *err)
{
	char dir[4096], why[128];
	struct pci_bdf *list = NULL, *grown;
	struct dirent *de;
	size_t n = 0;
	int rc = 0;
	DIR *d;

	*out = NULL;
	*nr = 0;
	ts_error_clear(err);
	if (path_fmt(dir, sizeof(dir), &rc, "%s/" STATE_SUBDIR, statedir) < 0)
		return rc;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno; /* nothing recorded yet */
	while ((de = readdir(d))) {
		struct pci_bdf bdf;

		/* skip ".", "..", and "*.tmp" leftovers: only canonical names */
		if (strlen(de->d_name) != PCI_BDF_STRLEN - 1 ||
		    pci_bdf_parse(&bdf, de->d_name, why, sizeof(why)) < 0)
			continue;
		grown = realloc(list, (n + 1) * sizeof(*list));
		if (!grown) {
			rc = -ENOMEM;
			break;
		}
		list = grown;
		list[n++] = bdf;
	}
	closedir(d);
	if (rc < 0) {
		free(list);
		ts_error_set(err, "", 0, 0, "out of memory");
		return rc;
	}
	if (n)
		qsort(list, n, sizeof(*list), bdf_compare);
	*out = list;
	*nr = n;
	return 0;
}

int pci_assignable_print(const char *statedir, FILE *out, struct ts_error *err)
{
	struct pci_bdf *list;
	char name[PCI_BDF_STRLEN];
	size_t n;
	int rc = pci_assignable_list(statedir, &list, &n, err);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		pci_bdf_format(&list[i], name, sizeof(name));
		fprintf(out, "%s\n", name);
	}
	free(list);
	return 0;
}

/* ---- can this host really pass it through? ------------------------------------------- */

static bool dir_has_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	bool any = false;

	if (!d)
		return false;
	while (!any && (de = readdir(d)))
		any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return any;
}

/* Appends one problem after the "cannot pass ... through: " prefix. */
static void add_problem(char *msg, size_t len, size_t prefix, size_t *used, const char *text)
{
	int n;

	if (*used >= len)
		return;
	n = snprintf(msg + *used, len - *used, "%s%s", *used > prefix ? "; " : "", text);
	if (n > 0)
		*used += (size_t)n;
}

int pci_check_passthrough_support(const char *sysfs, const struct pci_bdf *bdf,
				  char *msg, size_t len)
{
	char name[PCI_BDF_STRLEN], path[4096], text[4400];
	size_t used = 0;
	int rc = 0;

	sysfs = sysfs ? sysfs : "/sys";
	pci_bdf_format(bdf, name, sizeof(name));
	if (len)
		msg[0] = '\0';
	if (path_fmt(path, sizeof(path), &rc, "%s/bus/pci/devices/%s", sysfs, name) < 0)
		return rc;
	if (!path_exists(path)) {
		snprintf(msg, len, "no such PCI device %s (%s does not exist)", name, path);
		return -ENODEV;
	}
	used = (size_t)snprintf(msg, len, "cannot pass %s through: ", name);
	size_t prefix = used;

	if (used >= len)
		used = len;
	if (path_fmt(path, sizeof(path), &rc, "%s/kernel/iommu_groups", sysfs) == 0 &&
	    !dir_has_entries(path)) {
		snprintf(text, sizeof(text), "no IOMMU (%s is empty: enable VT-d/AMD-Vi in the "
			 "firmware and boot with intel_iommu=on or amd_iommu=on)", path);
		add_problem(msg, len, prefix, &used, text);
	}
	if (path_fmt(path, sizeof(path), &rc, "%s/bus/pci/devices/%s/iommu_group", sysfs,
		     name) == 0 && !path_exists(path)) {
		snprintf(text, sizeof(text), "%s has no iommu_group", name);
		add_problem(msg, len, prefix, &used, text);
	}
	if (path_fmt(path, sizeof(path), &rc, "%s/bus/pci/drivers/vfio-pci", sysfs) == 0 &&
	    !path_exists(path)) {
		add_problem(msg, len, prefix, &used, "the vfio-pci module is not loaded (modprobe vfio-pci)");
	}
	if (rc < 0)
		return rc;
	if (used == prefix) {
		if (len)
			msg[0] = '\0';
		return 0;
	}
	return -ENOTSUP;
}
