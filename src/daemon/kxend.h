/*
 * kxend's private structures.  One event-loop thread owns everything in
 * struct kxend: the XenStore, the domain list, the clients.  vCPU threads
 * only touch a domain's `pending` bits, its console_io buffer (under
 * io_lock) and the wake eventfd.
 */
#ifndef KXEND_H
#define KXEND_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "control/control.h"
#include "toolstack/toolstack.h"

struct domain;
struct xs_store;
struct devrt;

#define KXEND_MAX_DOMAINS  256
#define KXEND_MAX_CLIENTS  128
#define KXEND_MAX_DOMID    0x7fef   /* DOMID_FIRST_RESERVED - 1 */
#define KXEND_NAME_MAX     63
/* A console client that does not read loses output beyond this. */
#define KXEND_CLIENT_OUT_MAX (1u << 20)
/* console text buffered between vCPU/console threads and the loop. */
#define KXEND_IO_BUF_MAX   (256u << 10)
/* disk= entries of one domain (create fields disk0..disk15). */
#define KXEND_MAX_DISKS    16

/* The on_* actions: the toolstack's enum, so names and values have one
 * source (xl.cfg, the control protocol and the daemon spell them alike). */
enum kd_action {
	KD_ACTION_DESTROY = TS_ACTION_DESTROY,
	KD_ACTION_RESTART = TS_ACTION_RESTART,
	KD_ACTION_RENAME_RESTART = TS_ACTION_RENAME_RESTART,
	KD_ACTION_PRESERVE = TS_ACTION_PRESERVE,
	KD_ACTION_COREDUMP_DESTROY = TS_ACTION_COREDUMP_DESTROY,
	KD_ACTION_COREDUMP_RESTART = TS_ACTION_COREDUMP_RESTART,
	KD_ACTION_SOFT_RESET = TS_ACTION_SOFT_RESET,
};

/* Bits in kdom.pending, set by hooks on vCPU threads. */
enum {
	KD_EV_STORE = 1,
	KD_EV_CONSOLE = 2,
	KD_EV_SHUTDOWN = 4,
};

struct kxend;

/* A rate limit on log lines (logs.c), like Xen's printk_ratelimit: a
 * burst, then one line per interval; the rest are counted and reported. */
struct log_bucket {
	int64_t stamp_ns;            /* last refill, 0: never used */
	int64_t credit_ns;
	unsigned suppressed;
};
/* A domain's limits; a restarted domain inherits them. */
struct kd_logstate {
	struct log_bucket events;    /* messages about what the domain did */
	struct log_bucket output;    /* its console_io lines */
};
#define KD_LINE_MAX 256

struct kdom {
	struct kxend *k;
	struct domain *d;
	uint16_t domid;
	char name[KXEND_NAME_MAX + 1];
	uint64_t memory_mib, maxmem_mib;
	enum kd_action on_poweroff, on_reboot, on_crash;
	int log_fd;                  /* console log, -1 if it could not open */
	uint64_t log_size;           /* bytes in it (rotated past the cap) */
	struct kd_logstate logrl;
	char line[KD_LINE_MAX];      /* console_io text up to its newline */
	size_t line_len;
	bool shutdown_handled;       /* preserved after shutting down */
	bool by_guest;               /* going away because of its own shutdown */
	/* Destroyed to be restarted: where its log limits go on (logs.c). */
	struct kd_logstate *restart_logrl;
	atomic_uint pending;         /* KD_EV_* */
	unsigned ev_taken;           /* loop thread: bits being handled */
	atomic_uint shutdown_reason;
	/* What it was created with (restart, xl list -l) and what xl changed
	 * since (domconfig.c). */
	char *kernel, *ramdisk, *cmdline;
	char *bootloader, *bootdisk, *bootentry;  /* pygrub: run again on restart */
	int weight, cap;               /* -1: not given */
	char *cpus, *cpus_soft;        /* per-vCPU affinity lists, see create */
	unsigned vcpus_boot, max_vcpus;
	uint8_t uuid[16];
	uint64_t target_kib, max_kib;  /* memory/target, memory/static-max */
	int64_t start_time;            /* Unix seconds, for xl uptime */
	unsigned restarts;             /* by on_* = restart before this one */
	struct pci_bdf *pcidevs;       /* recorded by pci-attach / create pci= */
	size_t nr_pcidevs;
	char *disks[KXEND_MAX_DISKS];  /* disk specs attached (create, block-attach) */
	size_t nr_disks;
	unsigned max_grant_frames;     /* 0: the default */
	pthread_mutex_t io_lock;     /* guards io_buf/io_len, ring_buf/ring_len */
	char *io_buf;                /* console_io text (also to kxend.log) */
	size_t io_len;
	char *ring_buf;              /* PV console ring text */
	size_t ring_len;
	struct kdom *next;
};

enum client_mode { CLIENT_CONTROL, CLIENT_CONSOLE };

struct client {
	int fd;
	enum client_mode mode;
	uint16_t console_domid;      /* CLIENT_CONSOLE */
	struct ctl_parser parser;
	char *out;                   /* bytes not yet written */
	size_t out_len, out_cap;
	bool read_closed;            /* the peer shut down its write side */
	bool close_after_flush;
	bool dead;                   /* to be freed by the loop */
	struct client *next;
};

struct kxend {
	char rundir[PATH_MAX];
	/* The run dir and its console/ subdirectory, opened once and checked
	 * (ours, no other user may write): files are opened relative to these
	 * and never through a symlink. */
	int run_fd, console_fd;
	int listen_fd, wake_fd, sig_fd, pid_fd;
	struct xs_store *xs;
	struct kdom *doms;
	unsigned nr_doms;
	uint16_t next_domid;
	struct client *clients;
	unsigned nr_clients;
	bool stopping;
	uint64_t dmesg_from;         /* kxend.log offset after `xl dmesg -c` */
	int log_fd;                  /* kxend.log */
	struct log_bucket output_all;   /* every guest's console_io lines */
	uint64_t console_log_max;    /* bytes per console log file */
	unsigned console_log_keep;   /* rotated files kept */
	struct dispatcher *dp;       /* runs every domain's vCPUs */
	/* Device backends (console, disks).  The loop holds its store lock
	 * while it runs (everything but poll), device threads take it for
	 * their XenStore work. */
	struct devrt *rt;
	unsigned long sched_failures_seen;   /* sched_invariant_failures() logged */
	char *notice;                /* for the first client: the previous daemon
	                                died with domains (record.c) */
};

/* loop.c */
int kxend_loop(struct kxend *k);
void kxend_wake(struct kxend *k);
/* Queue bytes for a client (dropped past KXEND_CLIENT_OUT_MAX). */
void client_queue(struct client *c, const void *buf, size_t len);
void client_reply(struct client *c, const struct ctl_msg *m);

/* domains.c */
struct kdom *kd_find(struct kxend *k, const char *spec);
struct kdom *kd_by_domid(struct kxend *k, uint16_t domid);
struct domain_create_req {
	const char *name, *kernel, *ramdisk, *cmdline;
	/* bootloader "pygrub": kernel, ramdisk and the start of the command
	 * line come from bootdisk (cmdline is appended), entry bootentry or
	 * the default; kernel and ramdisk are then NULL. */
	const char *bootloader, *bootdisk, *bootentry;
	const char *pool;        /* cpupool name; NULL = Pool-0 */
	int weight, cap;         /* scheduler parameters; -1 = the pool's default */
	const char *cpus, *cpus_soft;  /* "L0;L1;...": vCPU i's CPU lists, or NULL */
	uint64_t memory_mib, maxmem_mib;
	unsigned vcpus, max_vcpus;
	enum kd_action on_poweroff, on_reboot, on_crash;
	bool paused;
	bool has_uuid;
	uint8_t uuid[16];
	const struct pci_bdf *pcidevs;
	size_t nr_pcidevs;
	const char *const *disks;  /* xl disk specs */
	size_t nr_disks;
	unsigned max_grant_frames; /* 0: the default */
	unsigned restarts;       /* >0: a restart, the console log is kept */
	const struct kd_logstate *logrl;   /* a restart's log limits, or NULL */
};
/* Build and (unless paused) start a domain; attach first, if non-NULL,
 * runs before the first instruction so no console output is missed. */
int kd_create(struct kxend *k, const struct domain_create_req *req,
	      struct client *attach, struct kdom **out, char *err, size_t errlen);
void kd_destroy(struct kxend *k, struct kdom *kd, const char *why);
void kd_destroy_all(struct kxend *k);
/* Handle KD_EV_* bits of every domain (called after a wake). */
void kd_process_events(struct kxend *k);
/* Serve the store rings and deliver watch events (after the daemon's own
 * writes to a domain's home). */
void kd_serve_store(struct kxend *k);
int kd_request_shutdown(struct kxend *k, struct kdom *kd, const char *what);
const char *kd_action_name(enum kd_action a);
int kd_action_parse(const char *s, enum kd_action *out);
bool kd_name_valid(const char *name);
/* "r-----" style state of a domain; buf has room for 7 bytes. */
void kd_state(struct kdom *kd, char buf[7], uint64_t *cpu_ns, uint64_t *mem_kib,
	      unsigned *vcpus);

/* logs.c: console log files and rate-limited logging for domains */
int console_logs_setup(struct kxend *k, char *err, size_t errlen);
int console_open_log(struct kxend *k, struct kdom *kd, char *err, size_t errlen);
/* Appends to the domain's console log, rotating it at the size cap. */
void console_log_write(struct kdom *kd, const char *buf, size_t len);
/* Renames the domain's console logs for its new name. */
void console_log_rename(struct kxend *k, struct kdom *kd, const char *name);
/* Logs a message caused by what the domain did, within its rate limit. */
void kd_log(struct kdom *kd, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same when guest_caused; what the administrator asked for is always
 * logged. */
void kd_log_if_guest(struct kdom *kd, bool guest_caused, enum log_level level,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Mirrors console_io text into kxend.log as "(d<id>) line", rate limited. */
void kd_log_output(struct kdom *kd, const char *buf, size_t len);
/* The domain is gone for good: says how many of its lines were held back. */
void kd_log_final(struct kdom *kd);
/* SIGHUP: opens kxend.log and the console logs again by name. */
void kxend_reopen_logs(struct kxend *k);

/* record.c: the running domains on disk, so a daemon's death is not silent */
void kd_record_domains(struct kxend *k);
void kd_record_remove(struct kxend *k);
/* At start-up (holding the pid file's lock): did the previous daemon die? */
void kd_check_previous_run(struct kxend *k);
void kd_fatal_signals_setup(struct kxend *k);

/* console.c */
void console_attach(struct kdom *kd, struct client *c);
/* Console text from a vCPU thread (console_io) or the console backend's
 * thread (the ring): buffered, the loop is woken. */
void console_io_output(struct kdom *kd, const char *buf, size_t len);
void console_output(void *opaque, const char *buf, size_t len);
/* Move everything the guest printed to the log and console clients. */
void console_flush(struct kdom *kd);
void console_input(struct kxend *k, struct client *c, const char *buf, size_t len);
/* Close the console clients of a domain that is going away. */
void console_detach_all(struct kxend *k, uint16_t domid);

/* domconfig.c: the kept configuration, rename, actions, PCI records */
int kd_config_init(struct kdom *kd, const struct domain_create_req *req);
void kd_config_free(struct kdom *kd);
int kd_rename(struct kxend *k, struct kdom *kd, const char *name, char *err, size_t errlen);
/* restart / rename-restart / coredump-restart; true if kd was destroyed. */
bool kd_restart(struct kxend *k, struct kdom *kd, enum kd_action a, const char *why);
/* Can these devices be handed to a domain (host support, assignable, not
 * in use)?  err says exactly what is missing. */
int kd_pci_check(struct kxend *k, const struct pci_bdf *bdfs, size_t n,
		 char *err, size_t errlen);
const char *kd_sysfs_root(void);
const char *kd_pci_statedir(struct kxend *k);

/* disks.c: disk= and xl block-* */
/* Attach a disk spec to a running domain and record it. */
int kd_disk_attach(struct kxend *k, struct kdom *kd, const char *spec, char *err, size_t errlen);
int kd_disks_record(struct kdom *kd, const char *const *specs, size_t n);
void kd_disks_free(struct kdom *kd);

/* commands.c */
void command_dispatch(struct kxend *k, struct client *c, struct ctl_msg *req);

#endif
