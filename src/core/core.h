/*
 * The hypervisor core: domains, vCPUs, hypercalls, event channels, the PV
 * MMU, time and timers.  This header is the interface the daemon and the
 * one-shot runner use; core-internal.h holds the structures.
 */
#ifndef KXEN_CORE_H
#define KXEN_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct domain;
struct dispatcher;

/* The dispatcher runs the vCPUs of every domain given to it on the host CPUs
 * it owns ("pCPUs"), under the scheduler instance of the domain's cpupool
 * (Pool-0 at start: every pCPU).  pcpus: a CPU
 * list like "0-1,3"; NULL means $KXEN_PCPUS, or when that is unset every
 * CPU of the process's affinity mask.  sched_name: "credit" (NULL) or
 * "credit2".  Create it before the first domain, destroy it after the
 * last; it starts one timer thread. */
int dispatch_init(const char *pcpus, const char *sched_name, struct dispatcher **out,
		  char *err, size_t errlen);
void dispatch_fini(struct dispatcher *dp);
/* Whether sched_name names a scheduler dispatch_init accepts. */
bool dispatch_sched_known(const char *sched_name);

/* What the core tells its owner; every hook is optional.  Hooks run on vCPU
 * threads and must not block for long. */
struct domain_hooks {
	/* Text the guest wrote with HYPERVISOR_console_io. */
	void (*console_io)(void *opaque, struct domain *d, const char *buf, size_t len);
	/* The guest sent an event on a port bound to the toolstack domain
	 * (xenstore ring, console ring, device backends). */
	void (*backend_event)(void *opaque, struct domain *d, uint32_t port);
	/* The domain stopped: SHUTDOWN_* reason, or SHUTDOWN_crash when the
	 * hypervisor killed it for misbehaving. */
	void (*shutdown)(void *opaque, struct domain *d, unsigned reason);
};

struct domain_params {
	uint16_t domid;
	const char *name;
	uint64_t memory_mib;
	unsigned vcpus;          /* online at boot */
	unsigned max_vcpus;      /* 0: same as vcpus */
	const char *kernel;
	const char *ramdisk;     /* may be NULL */
	const char *cmdline;     /* may be NULL */
	/* Or the images themselves, already in memory (a bootloader read them
	 * from the guest's disk); used instead of the paths when set. */
	const uint8_t *kernel_image;
	size_t kernel_image_len;
	const uint8_t *ramdisk_image;   /* may be NULL */
	size_t ramdisk_image_len;
	const struct domain_hooks *hooks;
	void *opaque;
	/* Runs the domain's vCPUs; NULL leaves them to the host scheduler. */
	struct dispatcher *dispatcher;
	const char *pool;        /* cpupool name; NULL = Pool-0 */
	unsigned max_grant_frames;  /* xl.cfg max_grant_frames; 0 = 64 */
};

/* The most grant frames a domain may have (max_grant_frames above). */
#define DOMAIN_MAX_GRANT_FRAMES 128
#define DOMAIN_DEFAULT_GRANT_FRAMES 64

/* Build a domain (VM, memory, kernel, start-of-day state) without running
 * it.  On failure returns a negative errno and a message in err. */
int domain_create(const struct domain_params *p, struct domain **out, char *err, size_t errlen);
/* Start the vCPU threads of a created domain. */
int domain_start(struct domain *d);
/* Stop every vCPU and free the domain.  Safe from any thread except the
 * domain's own vCPU threads. */
void domain_destroy(struct domain *d);
/* Pause/unpause all vCPUs (they finish the current exit first). */
void domain_pause(struct domain *d);
void domain_unpause(struct domain *d);
/* Wait until the domain has shut down or timeout_ms passed (-1 forever);
 * returns the shutdown reason or -ETIMEDOUT. */
int domain_wait_shutdown(struct domain *d, int timeout_ms);

uint16_t domain_id(const struct domain *d);
const char *domain_name(const struct domain *d);
/* Host pointers to the pages the toolstack serves (NULL if none). */
void *domain_store_ring(struct domain *d);
void *domain_console_ring(struct domain *d);
uint32_t domain_store_port(const struct domain *d);
uint32_t domain_console_port(const struct domain *d);
/* Raise an event on one of the domain's ports from the toolstack side. */
int domain_notify(struct domain *d, uint32_t port);

/* ---- device backends: the domain-0 end of event channels and grants ----
 * A backend is domain 0.  The guest allocates a port with
 * EVTCHNOP_alloc_unbound(remote_dom=0) and publishes it in XenStore; the
 * backend binds it to an eventfd (EFD_NONBLOCK) that a vCPU thread writes
 * when the guest sends on the port, so the backend's own thread wakes
 * without the control loop.  The toolstack's store and console ports
 * (already bound to domain 0) may be given an eventfd the same way.
 * -EINVAL: not a port the guest left for domain 0; -EBUSY: already bound. */
int domain_evtchn_bind_backend(struct domain *d, uint32_t port, int fd);
/* Notify the guest on a port bound with that fd; -ENOTCONN if the guest
 * closed it meanwhile (the event is dropped, as for a closed port). */
int domain_evtchn_notify_backend(struct domain *d, uint32_t port, int fd);
/* Undo the binding: no vCPU writes fd once this returns.  A port the
 * guest allocated becomes unbound again (the remote end closed). */
void domain_evtchn_unbind_backend(struct domain *d, uint32_t port, int fd);

/* Grant access for backends.  Every entry is read once, checked (in range,
 * GTF_permit_access, granted to domain 0, not read-only for a write, a
 * full page of the guest's RAM) and marked in use the way Xen does --
 * GTF_reading/GTF_writing set with cmpxchg (v1) or in the status array
 * (v2) -- so the guest cannot end access while a request uses it.  A frame
 * held writable cannot become a page table or descriptor table meanwhile.
 * Results are 0 or a GNTST_* code (< 0); grant_status_str() names it. */
struct grant_map {
	uint8_t *addr;           /* the granted frame, 4096 bytes */
	uint32_t ref;
	bool writable;
};
int domain_grant_map(struct domain *d, uint32_t ref, bool writable, struct grant_map *m);
void domain_grant_unmap(struct domain *d, struct grant_map *m);
/* Copy within one granted frame: off + len <= 4096 (and inside a v2
 * sub-page grant). */
int domain_grant_copy_from(struct domain *d, uint32_t ref, unsigned off, void *dst,
			   unsigned len);
int domain_grant_copy_to(struct domain *d, uint32_t ref, unsigned off, const void *src,
			 unsigned len);
const char *grant_status_str(int status);
/* Grant-table version the guest chose (1 or 2). */
unsigned domain_grant_version(struct domain *d);
/* Ask the guest to shut down via xenstore is the toolstack's job; this
 * only marks the domain as shut down with a reason and stops it. */
void domain_kill(struct domain *d, unsigned reason);

struct domain_info {
	uint64_t memory_kib;
	unsigned vcpus_online;
	unsigned max_vcpus;
	uint64_t cpu_time_ns;
	bool shutdown;
	unsigned shutdown_reason;
	bool paused;
	bool blocked;            /* every online vCPU is blocked */
};
void domain_get_info(struct domain *d, struct domain_info *info);

/* Scheduling parameters (credit: weight 1-65535, default 256; cap in % of
 * one pCPU, 0 = none).  In a set call -1 keeps a value.  0, -EINVAL, or
 * -ENOSYS for a domain without a dispatcher. */
int domain_sched_set(struct domain *d, int weight, int cap);
int domain_sched_get(struct domain *d, int *weight, int *cap);
/* Hard affinity of one vCPU: a pCPU list like "0-1,3" (only pCPUs the
 * dispatcher owns count; none of them is -EINVAL). */
int domain_vcpu_set_affinity(struct domain *d, unsigned vcpu, const char *cpus);
/* Hard and soft affinity as CPU lists (NULL keeps one): errors as
 * dispatch_cpulist_expand, and -EDOM for a hard set with no owned pCPU.
 * The effective set is the affinity within the pool's pCPUs. */
int domain_vcpu_pin(struct domain *d, unsigned vcpu, const char *hard, const char *soft);

/* What `xl vcpu-list` shows of one vCPU. */
struct vcpu_sched_info {
	bool online, running, blocked;
	int cpu;                 /* holding, else last ran on; -1 unknown */
	uint64_t time_ns;
	char hard[256], soft[256];  /* CPU lists like "0-3" */
};
int domain_vcpu_info(struct domain *d, unsigned vcpu, struct vcpu_sched_info *out);

/* ---- cpupools (Xen's): disjoint sets of the dispatcher's pCPUs, each with
 * its own scheduler instance.  Every call takes only the dispatcher lock;
 * -ENOSYS without a dispatcher. */
struct cpupool_info {
	int id;
	char name[64];
	char sched[16];          /* "credit" / "credit2" */
	char cpus[256];          /* "0-1,3"; "" for none */
	unsigned n_cpus, n_dom;
	int tslice_ms, ratelimit_us;
	int migr_delay_us;       /* credit's migration delay; 0 for credit2 */
};
/* Fills up to max entries in id order; returns how many. */
int dispatch_cpupool_list(struct dispatcher *dp, struct cpupool_info *out, int max);
int dispatch_cpupool_get(struct dispatcher *dp, int id, struct cpupool_info *out);
/* A pool name, or a numeric id: the id, or -ENOENT. */
int dispatch_cpupool_lookup(struct dispatcher *dp, const char *spec);
/* pCPUs of the dispatcher in no pool, as a CPU list. */
int dispatch_free_cpus(struct dispatcher *dp, char *buf, size_t len);
/* Host CPU numbers are below this. */
#define DISPATCH_MAX_CPUS 256
/* CPU lists are xl's: "0-3,^2", "all", "node:0", "nodes:0-1" (the host's
 * NUMA nodes).  Expands one into at most max CPU numbers, ascending;
 * returns how many, or -EINVAL (syntax), -ERANGE (CPU number too large),
 * -ENODEV (no such node), -EDOM (selects no CPU), -E2BIG (more than max). */
int dispatch_cpulist_expand(struct dispatcher *dp, const char *spec, int *cpus, int max);
/* What a CPU-list error code above means, for a user. */
const char *dispatch_cpulist_strerror(int rc);
/* cpus NULL: one free pCPU.  -EEXIST name, -EINVAL bad name/scheduler,
 * CPU-list errors, -EDOM a pCPU not ours, -EBUSY a pCPU in another pool
 * (or none free). */
int dispatch_cpupool_create(struct dispatcher *dp, const char *name, const char *sched_name,
			    const char *cpus, int *id_out);
/* -EBUSY with domains in it or for Pool-0; its pCPUs go free. */
int dispatch_cpupool_destroy(struct dispatcher *dp, int id);
int dispatch_cpupool_rename(struct dispatcher *dp, int id, const char *name);
/* -EINVAL not our pCPU, -EBUSY in another pool, -EEXIST already here. */
int dispatch_cpupool_cpu_add(struct dispatcher *dp, int id, int cpu);
/* -EINVAL not in the pool, -EBUSY last pCPU of a pool with domains.
 * A vCPU running there moves to the pool's other pCPUs. */
int dispatch_cpupool_cpu_remove(struct dispatcher *dp, int id, int cpu);
int dispatch_cpupool_numa_split(struct dispatcher *dp);
/* tslice_ms (credit), ratelimit_us and migr_delay_us (credit: 0 = off, at
 * most 100000); -1 keeps one.  -EINVAL out of range. */
int dispatch_cpupool_set_params(struct dispatcher *dp, int id, int tslice_ms, int ratelimit_us,
				int migr_delay_us);
/* The pool id of a domain. */
int domain_cpupool(struct domain *d);
/* Move a (running) domain: afterwards its vCPUs run only on the new pool's
 * pCPUs.  Weight and cap go with it.  -ENOENT, -EINVAL (pool has no pCPU). */
int domain_cpupool_move(struct domain *d, int id);

/* ---- trap accounting (trapstat.c) ----------------------------------------
 * Every exit of a vCPU to the daemon is counted by kind with the time the
 * daemon spent on it; detail rows (is_exit false) break hypercalls down by
 * sub-op or batch size and count events that are not exits of their own. */
struct trapstat_row {
	unsigned kind;
	bool is_exit;            /* one row per exit: these sum to the total */
	uint64_t count;
	uint64_t ns;             /* time spent in the daemon */
};
/* Rows with a non-zero count, in kind order; vcpu -1 sums every vCPU.
 * Returns how many, or -ENOENT for a vCPU the domain does not have. */
int domain_trapstat(struct domain *d, int vcpu, struct trapstat_row *out, int max);
/* The hottest (kind, guest RIP) pairs, most frequent first. */
struct trapstat_hot {
	unsigned kind;
	uint64_t rip;            /* for hypercalls: the return address */
	uint64_t count;
};
int domain_trapstat_hot(struct domain *d, int vcpu, struct trapstat_hot *out, int max);
/* Exits of all vCPUs since the domain was created. */
uint64_t domain_trap_count(struct domain *d);
/* A kind's name: "exc #PF", "hc mmu_update", "  mmuext_op/3", "emul cpuid" ... */
void trapstat_kind_name(unsigned kind, char *buf, size_t len);
#define TRAPSTAT_MAX_ROWS 640

#endif
