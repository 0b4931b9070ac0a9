/*
 * toolstack.h — the configuration side of kxen's toolstack.
 *
 * Parses xl.cfg(5) domain configuration files into a typed model
 * (struct domain_config, shaped after libxl_domain_config), renders that
 * model as JSON for `xl create -n`, parses PCI addresses as
 * xl-pci-configuration(5) documents them, and manages the host's
 * "assignable" PCI devices (`xl pci-assignable-add/-remove/-list`) through
 * a sysfs tree whose root is a parameter, so tests can use a fake one.
 *
 * Calling it from the `xl` CLI:
 *
 *   xl create vm.cfg k=v ...      domain_config_init(&dc);
 *                                 rc = domain_config_parse_file(&dc, "vm.cfg",
 *                                         overrides, nr_overrides, &err);
 *                                 print dc.warnings[]; on rc < 0 print
 *                                 ts_error_format(&err); domain_config_dispose.
 *   xl create -n vm.cfg           same, then domain_config_to_json(&dc, &s).
 *   xl pci-assignable-add BDF     pci_bdf_parse + pci_assignable_add("/sys",
 *                                 statedir, &bdf, note, len, &err).
 *   xl pci-assignable-remove [-r] pci_assignable_remove(..., rebind, &err).
 *   xl pci-assignable-list        pci_assignable_print(statedir, stdout, &err).
 *   xl pci-attach / create        pci_check_passthrough_support("/sys", &bdf,
 *                                 msg, len) before handing a device over.
 *
 * Every function returns 0 or a negative errno; on failure the ts_error (if
 * one is taken) holds a precise, printable message.  Nothing here exits.
 */
#ifndef KXEN_TOOLSTACK_H
#define KXEN_TOOLSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- errors ------------------------------------------------------------- */

struct ts_error {
	char file[256]; /* "" when the error is not about a file */
	int line;       /* 1-based; 0 when not tied to a line */
	int column;     /* 1-based; 0 when unknown */
	char msg[512];  /* e.g. `memory: expected a number, got "lots"` */
};

void ts_error_clear(struct ts_error *err);
/* "file:line:column: msg", "file:line: msg" or "msg"; snprintf semantics. */
int ts_error_format(const struct ts_error *err, char *buf, size_t len);

/* ---- CPU maps (cpus=, cpus_soft=) ---------------------------------------- */

#define TS_MAX_CPUS 1024 /* host CPUs a map can name */
#define TS_MAX_VCPUS 512

#define TS_CPULIST_MAX 128 /* longest list kept as text (with node: items) */

struct ts_cpumap {
	uint64_t bits[TS_MAX_CPUS / 64];
	/* With "node:N" items the CPUs depend on the host, which only the
	 * daemon knows: the checked text is kept and bits are not used. */
	bool has_nodes;
	char text[TS_CPULIST_MAX];
};

/* Parses "all", "3", "0-3", "0,2-3", "^1", "all,^7", "node:0", "nodes:0-1"
 * (xl's CPULIST).  A list that starts with an exclusion starts from all
 * CPUs. */
int ts_cpumap_parse(struct ts_cpumap *map, const char *text, char *why, size_t whylen);
bool ts_cpumap_test(const struct ts_cpumap *map, unsigned cpu);
/* Canonical text: "all", "all,^1", or ranges "0-3,5"; a list with node:
 * items as it was written. */
int ts_cpumap_format(const struct ts_cpumap *map, char *buf, size_t len);

/* ---- PCI addresses ------------------------------------------------------ */

struct pci_bdf {
	uint16_t domain; /* PCI segment, 0000 when not written */
	uint8_t bus;
	uint8_t dev;     /* 0x00-0x1f */
	uint8_t func;    /* 0-7 */
};

#define PCI_BDF_STRLEN 13 /* "dddd:bb:dd.f" + NUL */

enum ts_rdm_policy { TS_RDM_UNSET, TS_RDM_STRICT, TS_RDM_RELAXED };

/* One pci=[...] entry: [DDDD:]BB:DD.F[@VSLOT][,KEY=VALUE...]. */
struct ts_pcidev {
	struct pci_bdf bdf;
	int vslot;        /* -1 when not given */
	/* -1 = not written (the global pci_* default applies), else 0/1 */
	int permissive;
	int msitranslate;
	int seize;
	int power_mgmt;
	enum ts_rdm_policy rdm_policy;
};

/* "[DDDD:]BB:DD.F" only.  why gets e.g. `device "1g" is not 2 hex digits`. */
int pci_bdf_parse(struct pci_bdf *bdf, const char *text, char *why, size_t whylen);
/* The whole pci= spec; why gets `bad PCI device "<text>": <reason>`. */
int pci_spec_parse(struct ts_pcidev *dev, const char *text, char *why, size_t whylen);
/* Canonical "dddd:bb:dd.f" (lower-case hex, as sysfs names devices). */
int pci_bdf_format(const struct pci_bdf *bdf, char *buf, size_t len);
bool pci_bdf_equal(const struct pci_bdf *a, const struct pci_bdf *b);

/* ---- the domain configuration model ------------------------------------ */

enum ts_domain_type { TS_DOMAIN_PV };

enum ts_action {
	TS_ACTION_DESTROY,
	TS_ACTION_RESTART,
	TS_ACTION_RENAME_RESTART,
	TS_ACTION_PRESERVE,
	TS_ACTION_COREDUMP_DESTROY,
	TS_ACTION_COREDUMP_RESTART,
	TS_ACTION_SOFT_RESET,
};
/* libxl's JSON spelling ("destroy", "restart_rename", ...). */
const char *ts_action_name(enum ts_action action);
/* xl.cfg's spelling ("destroy", "rename-restart", ...) and back; the
 * control protocol uses the same words. */
const char *ts_action_xl_name(enum ts_action action);
int ts_action_from_xl_name(const char *name, enum ts_action *action);

enum ts_disk_format {
	TS_DISK_FORMAT_RAW,
	TS_DISK_FORMAT_QCOW,
	TS_DISK_FORMAT_QCOW2,
	TS_DISK_FORMAT_VHD,
	TS_DISK_FORMAT_QED,
	TS_DISK_FORMAT_EMPTY, /* removable drive with no medium */
};
const char *ts_disk_format_name(enum ts_disk_format format);

enum ts_disk_backend {
	TS_DISK_BACKEND_UNKNOWN, /* not written: the toolstack picks */
	TS_DISK_BACKEND_PHY,
	TS_DISK_BACKEND_QDISK,
	TS_DISK_BACKEND_TAP,
	TS_DISK_BACKEND_STANDALONE,
};
const char *ts_disk_backend_name(enum ts_disk_backend backend);

struct ts_disk {
	char *target;         /* pdev_path; "" for an empty removable drive */
	char *vdev;           /* "xvda", "hdc", "sda1", ... */
	unsigned vdev_disk;   /* decoded: disk index (xvda = 0, xvdaa = 26) */
	unsigned vdev_partition; /* 0 = whole disk */
	enum ts_disk_format format;
	enum ts_disk_backend backend;
	char *script;         /* NULL when not written */
	char *backend_domain; /* backend=DOMAIN, NULL = dom0 */
	bool readwrite;
	bool is_cdrom;
	bool removable;
	bool direct_io_safe;
	int discard;          /* -1 not written, 0 no-discard, 1 discard */
};

enum ts_nic_type { TS_NIC_TYPE_VIF, TS_NIC_TYPE_IOEMU };

struct ts_nic {
	int devid;
	bool has_mac;
	uint8_t mac[6];
	char *bridge, *ip, *model, *vifname, *script, *backend, *gatewaydev;
	bool type_set;
	enum ts_nic_type type;
	uint64_t rate_bytes_per_interval; /* 0 = no rate limit */
	uint32_t rate_interval_usecs;
	unsigned mtu;                     /* 0 = not written */
};

/* One disk spec in xl-disk-configuration(5) syntax ("format=raw,
 * vdev=xvda,access=rw,target=/img", or the positional 'phy:/dev/x,xvda,w');
 * why says what is wrong.  ts_disk_dispose frees what parse allocated. */
int ts_disk_parse(struct ts_disk *disk, const char *spec, char *why, size_t len);
void ts_disk_dispose(struct ts_disk *disk);

struct domain_config {
	/* c_info */
	enum ts_domain_type type;
	char *name;
	bool has_uuid;
	uint8_t uuid[16];
	char *pool_name;
	/* b_info */
	unsigned max_vcpus;      /* maxvcpus, else vcpus */
	unsigned vcpus;          /* vCPUs online at boot (avail_vcpus) */
	uint64_t max_memkb;      /* maxmem, else memory */
	uint64_t target_memkb;   /* memory */
	struct ts_cpumap *vcpu_hard_affinity; /* entry i is vCPU i; vCPUs past */
	size_t nr_vcpu_hard_affinity;         /* the end run anywhere */
	struct ts_cpumap *vcpu_soft_affinity;
	size_t nr_vcpu_soft_affinity;
	int sched_weight;        /* -1 = not written */
	int sched_cap;           /* -1 = not written */
	unsigned max_grant_frames; /* 0 = not written */
	char *kernel, *ramdisk, *cmdline;
	/* bootloader= ("pygrub" or a path ending in /pygrub: kxen's own reads
	 * the first disk) and bootloader_args=; kernel is then not needed. */
	char *bootloader;
	char **bootloader_args;
	size_t nr_bootloader_args;
	bool e820_host;
	bool disable_migrate;
	/* devices */
	struct ts_disk *disks;
	size_t nr_disks;
	struct ts_nic *nics;
	size_t nr_nics;
	struct ts_pcidev *pcidevs;  /* global pci_* defaults already applied */
	size_t nr_pcidevs;
	/* actions */
	enum ts_action on_poweroff, on_reboot, on_watchdog, on_crash, on_soft_reset;
	/* non-fatal findings, formatted like errors ("vm.cfg:9: ...") */
	char **warnings;
	size_t nr_warnings;
};

void domain_config_init(struct domain_config *dc);
void domain_config_dispose(struct domain_config *dc);

/*
 * Parse an xl.cfg file or text, then the command-line overrides
 * ("memory=1024", "vif=['bridge=br1']", "name=web2"), which behave as lines
 * appended to the file, as xl does: the last assignment of a key wins.  An
 * override's value may be written bare (name=web2) for convenience.
 * On error dc is left disposed-but-reusable and err says what and where.
 */
int domain_config_parse_file(struct domain_config *dc, const char *path,
			     const char *const *overrides, size_t nr_overrides,
			     struct ts_error *err);
int domain_config_parse_string(struct domain_config *dc, const char *text,
			       const char *filename,
			       const char *const *overrides, size_t nr_overrides,
			       struct ts_error *err);

/* JSON for `xl create -n`, key names after libxl_domain_config.  *out is
 * malloc'ed, ends with a newline; free() it. */
int domain_config_to_json(const struct domain_config *dc, char **out);

/* ---- PCI passthrough on the host (sysfs) --------------------------------- */

/*
 * sysfs is the sysfs mount point ("/sys"); statedir is a directory the
 * caller owns (e.g. /var/lib/kxen) where assignable devices are recorded in
 * statedir/pci-assignable/<bdf>.
 *
 * add: the device must exist; its current driver is remembered and
 * unbound; it is bound to vfio-pci (driver_override + drivers_probe) or to
 * pciback if one of them is loaded, else left unbound (note says so).
 * remove: unbinds it from the stub and, with rebind, binds it back to the
 * remembered driver.  list: the recorded devices, sorted.
 */
int pci_assignable_add(const char *sysfs, const char *statedir,
		       const struct pci_bdf *bdf, char *note, size_t notelen,
		       struct ts_error *err);
int pci_assignable_remove(const char *sysfs, const char *statedir,
			  const struct pci_bdf *bdf, bool rebind,
			  struct ts_error *err);
int pci_assignable_list(const char *statedir, struct pci_bdf **out, size_t *nr,
			struct ts_error *err);
/* One "dddd:bb:dd.f" per line, as `xl pci-assignable-list` prints. */
int pci_assignable_print(const char *statedir, FILE *out, struct ts_error *err);
/* 0 if recorded as assignable (driver gets the remembered driver, "" if
 * none), -ENOENT if not. */
int pci_assignable_lookup(const char *statedir, const struct pci_bdf *bdf,
			  char *driver, size_t len);

/*
 * 0 if the host can really pass the device through; otherwise -ENOTSUP
 * (-ENODEV if the device does not exist) and msg lists everything missing:
 * no IOMMU (sysfs/kernel/iommu_groups empty), no iommu_group link for the
 * device, vfio-pci not loaded.  Attaching must not silently succeed.
 */
int pci_check_passthrough_support(const char *sysfs, const struct pci_bdf *bdf,
				  char *msg, size_t len);

#endif /* KXEN_TOOLSTACK_H */
