/*
 * sched.h — kxen's scheduler subsystem: the interface.
 *
 * Pure policy code modelled on Xen's scheduler framework: an ops table per
 * scheduler ("credit", "credit2"), one instance per cpupool, and the cpupool
 * logic that owns the instances.  Nothing here makes syscalls, keeps globals
 * or takes locks: the caller serialises every call on one pool, passes the
 * current time (`now`, nanoseconds, Xen's s_time_t) into every call, and
 * receives host effects through the callbacks in struct sched_env.
 *
 * How a caller drives one pool (the daemon from its pCPU threads, the
 * simulator in simulated time):
 *   - a vCPU becomes runnable          -> sched_wake()
 *   - a vCPU blocks / is paused        -> sched_sleep(), then do_schedule on
 *                                         its pCPU (the scheduler tickles it)
 *   - a vCPU yields                    -> sched_yield(), then do_schedule
 *   - env.tickle(cpu) was called       -> sched_do_schedule(cpu) soon
 *   - the slice returned by the last   -> sched_do_schedule(cpu)
 *     do_schedule on cpu ran out
 *   - env.set_timer(cpu, t) deadline   -> sched_timer(cpu) at or after t
 *     (one timer per pCPU; a new set_timer replaces the old deadline)
 * do_schedule's answer is binding: the caller must run decision.next (NULL =
 * idle) on that pCPU until the next do_schedule call for it.
 *
 * Caller-owned objects: struct sched_dom and struct sched_vcpu are embedded
 * in the caller's domain / vCPU structures; the scheduler hangs its private
 * data off their `priv` fields and never frees the objects themselves.
 */
#ifndef KXEN_SCHED_H
#define KXEN_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef int64_t s_time_t;

#define SCHED_US(us) ((s_time_t)(us) * 1000)
#define SCHED_MS(ms) ((s_time_t)(ms) * 1000000)
#define SCHED_SEC(s) ((s_time_t)(s) * 1000000000)

/* ---- pCPU bitmaps ------------------------------------------------------- */

#define SCHED_MAX_CPUS 256
#define SCHED_MASK_WORDS (SCHED_MAX_CPUS / 64)

struct sched_cpumask {
    uint64_t w[SCHED_MASK_WORDS];
};

static inline void sched_cpumask_zero(struct sched_cpumask *m)
{
    for (int i = 0; i < SCHED_MASK_WORDS; i++)
        m->w[i] = 0;
}

static inline bool sched_cpumask_valid_cpu(int cpu)
{
    return cpu >= 0 && cpu < SCHED_MAX_CPUS;
}

static inline void sched_cpumask_set(struct sched_cpumask *m, int cpu)
{
    if (sched_cpumask_valid_cpu(cpu))
        m->w[cpu / 64] |= UINT64_C(1) << (cpu % 64);
}

static inline void sched_cpumask_clear(struct sched_cpumask *m, int cpu)
{
    if (sched_cpumask_valid_cpu(cpu))
        m->w[cpu / 64] &= ~(UINT64_C(1) << (cpu % 64));
}

static inline bool sched_cpumask_test(const struct sched_cpumask *m, int cpu)
{
    return sched_cpumask_valid_cpu(cpu) &&
           (m->w[cpu / 64] >> (cpu % 64)) & 1;
}

/* All CPUs [0, n). */
static inline void sched_cpumask_fill(struct sched_cpumask *m, int n)
{
    sched_cpumask_zero(m);
    for (int c = 0; c < n && c < SCHED_MAX_CPUS; c++)
        sched_cpumask_set(m, c);
}

static inline void sched_cpumask_and(struct sched_cpumask *d,
                                     const struct sched_cpumask *a,
                                     const struct sched_cpumask *b)
{
    for (int i = 0; i < SCHED_MASK_WORDS; i++)
        d->w[i] = a->w[i] & b->w[i];
}

static inline void sched_cpumask_or(struct sched_cpumask *d,
                                    const struct sched_cpumask *a,
                                    const struct sched_cpumask *b)
{
    for (int i = 0; i < SCHED_MASK_WORDS; i++)
        d->w[i] = a->w[i] | b->w[i];
}

static inline void sched_cpumask_andnot(struct sched_cpumask *d,
                                        const struct sched_cpumask *a,
                                        const struct sched_cpumask *b)
{
    for (int i = 0; i < SCHED_MASK_WORDS; i++)
        d->w[i] = a->w[i] & ~b->w[i];
}

static inline bool sched_cpumask_empty(const struct sched_cpumask *m)
{
    for (int i = 0; i < SCHED_MASK_WORDS; i++)
        if (m->w[i])
            return false;
    return true;
}

static inline bool sched_cpumask_intersects(const struct sched_cpumask *a,
                                            const struct sched_cpumask *b)
{
    for (int i = 0; i < SCHED_MASK_WORDS; i++)
        if (a->w[i] & b->w[i])
            return true;
    return false;
}

static inline int sched_cpumask_weight(const struct sched_cpumask *m)
{
    int n = 0;
    for (int i = 0; i < SCHED_MASK_WORDS; i++)
        n += __builtin_popcountll(m->w[i]);
    return n;
}

/* First set CPU at or after `from`, or -1. */
static inline int sched_cpumask_next(const struct sched_cpumask *m, int from)
{
    if (from < 0)
        from = 0;
    for (int i = from / 64; i < SCHED_MASK_WORDS; i++) {
        uint64_t w = m->w[i];
        if (i == from / 64)
            w &= ~UINT64_C(0) << (from % 64);
        if (w)
            return i * 64 + __builtin_ctzll(w);
    }
    return -1;
}

static inline int sched_cpumask_first(const struct sched_cpumask *m)
{
    return sched_cpumask_next(m, 0);
}

/* Next set CPU after `cpu`, wrapping around; -1 if the mask is empty. */
static inline int sched_cpumask_cycle(const struct sched_cpumask *m, int cpu)
{
    int c = sched_cpumask_next(m, cpu + 1);
    return c >= 0 ? c : sched_cpumask_first(m);
}

#define sched_for_each_cpu(c, m)                                          \
    for (int c = sched_cpumask_first(m); c >= 0;                          \
         c = sched_cpumask_next(m, c + 1))

/* Parses "0-3,6,8-9" (or "all" meaning [0, nr_cpus)); sched_cpulist_parse
 * without NUMA nodes. */
int sched_cpumask_parse(struct sched_cpumask *m, const char *s, int nr_cpus);
/* Formats as "0-3,6"; returns snprintf-style length. */
int sched_cpumask_format(const struct sched_cpumask *m, char *buf, size_t len);

/* ---- host description and effects --------------------------------------- */

/* Where each pCPU sits; credit2 groups its runqueues by these ids. */
struct sched_topology {
    int nr_cpus;
    uint16_t core[SCHED_MAX_CPUS];
    uint16_t socket[SCHED_MAX_CPUS];
    uint16_t node[SCHED_MAX_CPUS];
};

/* A regular machine: threads_per_core SMT siblings per core, and so on. */
int sched_topology_init(struct sched_topology *t, int nr_cpus,
                        int threads_per_core, int cores_per_socket,
                        int sockets_per_node);

/*
 * A CPU list in xl's syntax: comma-separated items "all", "N", "N-M",
 * "node:N" / "nodes:N-M" (every CPU of those NUMA nodes of `topo`; NULL
 * allows none), each optionally prefixed by '^' to remove instead of add,
 * applied left to right; a list starting with '^' starts from "all", which
 * means [0, nr_cpus), and removing a CPU >= nr_cpus is a no-op.  Returns 0, -EINVAL (syntax, "^all"), -EDOM (no CPU
 * left), -ERANGE (a CPU >= nr_cpus) or -ENOENT (a node with no CPU).
 */
int sched_cpulist_parse(struct sched_cpumask *m, const char *s, int nr_cpus,
                        const struct sched_topology *topo);

struct sched_env {
    void *opaque;
    /* Ask that `cpu` run do_schedule soon (Xen's SCHEDULE_SOFTIRQ). */
    void (*tickle)(void *opaque, int cpu);
    /* Ask for sched_timer(cpu) at `deadline`; replaces the previous one. */
    void (*set_timer)(void *opaque, int cpu, s_time_t deadline);
};

/* ---- caller-owned domain and vCPU --------------------------------------- */

struct sched_vcpu;

struct sched_dom {
    int domid;
    int nr_vcpus;
    struct sched_vcpu **vcpus;     /* nr_vcpus entries, set by the caller */
    /* Maintained by the cpupool code. */
    int poolid;
    struct sched_dom *pool_next;
    void *priv;                    /* the scheduler's per-domain data */
};

struct sched_vcpu {
    struct sched_dom *dom;
    int vcpu_id;
    struct sched_cpumask hard_affinity; /* may only run here */
    struct sched_cpumask soft_affinity; /* prefers to run here */
    int processor;     /* pCPU it runs / is queued / last ran on (read-only) */
    void *priv;        /* the scheduler's per-vCPU data */
};

/* Both affinities "all CPUs"; processor 0. */
void sched_vcpu_init(struct sched_vcpu *v, struct sched_dom *d, int vcpu_id);

/* ---- parameters ----------------------------------------------------------- */

#define SCHED_PARAM_KEEP (-1) /* in a set call: leave this field unchanged */

#define SCHED_WEIGHT_DEFAULT 256
#define SCHED_WEIGHT_MIN 1
#define SCHED_WEIGHT_MAX 65535
#define SCHED_TSLICE_MS_DEFAULT 30
#define SCHED_TSLICE_MS_MIN 1
#define SCHED_TSLICE_MS_MAX 1000
#define SCHED_RATELIMIT_US_DEFAULT 1000
#define SCHED_RATELIMIT_US_MIN 100
#define SCHED_RATELIMIT_US_MAX 500000
#define SCHED_MIGR_DELAY_US_DEFAULT 0 /* off, as Xen's default */
#define SCHED_MIGR_DELAY_US_MAX 100000 /* Xen's XEN_SYSCTL_CSCHED_MGR_DLY_MAX_US */

struct sched_dom_params {
    int weight; /* 1..65535 */
    int cap;    /* percent of one pCPU; 0 = uncapped; <= 100 * nr_vcpus */
};

enum sched_runq_arrangement {
    SCHED_RUNQ_CPU,
    SCHED_RUNQ_CORE,
    SCHED_RUNQ_SOCKET, /* credit2's default, as in Xen */
    SCHED_RUNQ_NODE,
    SCHED_RUNQ_ALL,
};

struct sched_pool_params {
    int tslice_ms;    /* credit: 1..1000 */
    int ratelimit_us; /* 0 = off, else 100..500000 and <= tslice (credit) */
    int runqueue;     /* credit2: enum sched_runq_arrangement */
    /* credit: how long a vCPU stays cache-hot on the pCPU it last ran on
     * (Xen's vcpu_migr_delay_us); idle peers do not steal it meanwhile.
     * 0 = off, else <= SCHED_MIGR_DELAY_US_MAX.  credit2 ignores it and
     * reports 0.  Initialise it to SCHED_PARAM_KEEP when not setting it:
     * 0 in a set call means "turn it off". */
    int migr_delay_us;
};

/* Parses "cpu", "core", "socket", "node", "all"; -EINVAL otherwise. */
int sched_runq_parse(const char *s);
const char *sched_runq_name(int arrangement);

/* ---- the ops table ---------------------------------------------------------- */

struct sched_decision {
    struct sched_vcpu *next; /* NULL: run the idle loop */
    s_time_t slice;          /* call do_schedule again after this; <0: never */
    bool migrated;           /* next was taken from another pCPU */
};

struct sched_instance;

struct sched_ops {
    const char *name;
    int (*init)(struct sched_instance *s, const struct sched_pool_params *p);
    void (*deinit)(struct sched_instance *s);
    int (*add_cpu)(struct sched_instance *s, int cpu, s_time_t now);
    /* The vCPU running there (if any) is requeued elsewhere in the pool. */
    int (*remove_cpu)(struct sched_instance *s, int cpu, s_time_t now);
    int (*alloc_domdata)(struct sched_instance *s, struct sched_dom *d);
    void (*free_domdata)(struct sched_instance *s, struct sched_dom *d);
    int (*alloc_vdata)(struct sched_instance *s, struct sched_vcpu *v);
    void (*free_vdata)(struct sched_instance *s, struct sched_vcpu *v);
    /* An inserted vCPU is asleep until the first wake. */
    void (*insert_vcpu)(struct sched_instance *s, struct sched_vcpu *v,
                        s_time_t now);
    void (*remove_vcpu)(struct sched_instance *s, struct sched_vcpu *v,
                        s_time_t now);
    void (*sleep)(struct sched_instance *s, struct sched_vcpu *v, s_time_t now);
    void (*wake)(struct sched_instance *s, struct sched_vcpu *v, s_time_t now);
    void (*yield)(struct sched_instance *s, struct sched_vcpu *v, s_time_t now);
    struct sched_decision (*do_schedule)(struct sched_instance *s, int cpu,
                                         s_time_t now);
    int (*pick_cpu)(struct sched_instance *s, struct sched_vcpu *v,
                    s_time_t now);
    void (*timer)(struct sched_instance *s, int cpu, s_time_t now);
    int (*dom_get)(struct sched_instance *s, struct sched_dom *d,
                   struct sched_dom_params *p);
    int (*dom_set)(struct sched_instance *s, struct sched_dom *d,
                   const struct sched_dom_params *p, s_time_t now);
    int (*pool_get)(struct sched_instance *s, struct sched_pool_params *p);
    int (*pool_set)(struct sched_instance *s, const struct sched_pool_params *p);
    /* Writes a human-readable state dump; returns snprintf-style length. */
    int (*dump)(struct sched_instance *s, char *buf, size_t len);
};

struct sched_instance {
    const struct sched_ops *ops;
    struct sched_env env;
    const struct sched_topology *topo; /* caller-owned, outlives instance */
    struct sched_cpumask cpus;         /* pCPUs this instance schedules */
    void *priv;
};

extern const struct sched_ops sched_credit_ops;
extern const struct sched_ops sched_credit2_ops;

#include "sched/invariants.h"

/* "credit" or "credit2"; NULL if unknown. */
const struct sched_ops *sched_ops_find(const char *name);

/* Instance life cycle.  `params` may be NULL for the defaults. */
int sched_instance_init(struct sched_instance *s, const char *sched_name,
                        const struct sched_topology *topo,
                        const struct sched_env *env,
                        const struct sched_pool_params *params);
void sched_instance_deinit(struct sched_instance *s);

/* Allocates the domain's and its vCPUs' data and inserts the vCPUs asleep. */
int sched_dom_attach(struct sched_instance *s, struct sched_dom *d,
                     s_time_t now);
/* Removes the vCPUs and frees all scheduler data of the domain. */
void sched_dom_detach(struct sched_instance *s, struct sched_dom *d,
                      s_time_t now);

/* Thin wrappers over the ops table (so callers read naturally). */
static inline void sched_wake(struct sched_instance *s, struct sched_vcpu *v,
                              s_time_t now)
{
    s->ops->wake(s, v, now);
}
static inline void sched_sleep(struct sched_instance *s, struct sched_vcpu *v,
                               s_time_t now)
{
    s->ops->sleep(s, v, now);
}
static inline void sched_yield(struct sched_instance *s, struct sched_vcpu *v,
                               s_time_t now)
{
    s->ops->yield(s, v, now);
}
static inline struct sched_decision
sched_do_schedule(struct sched_instance *s, int cpu, s_time_t now)
{
    return s->ops->do_schedule(s, cpu, now);
}
static inline void sched_timer(struct sched_instance *s, int cpu, s_time_t now)
{
    s->ops->timer(s, cpu, now);
}

int sched_dump_file(struct sched_instance *s, FILE *f);

/* ---- cpupools --------------------------------------------------------------- */

#define CPUPOOL_MAX 32
#define CPUPOOL_NAME_MAX 63

struct cpupool {
    int id;                       /* -1: slot unused */
    char name[CPUPOOL_NAME_MAX + 1];
    struct sched_instance sched;
    int n_dom;
    struct sched_dom *doms;       /* singly linked via pool_next */
};

struct cpupool_set {
    const struct sched_topology *topo;
    struct sched_env env;
    struct sched_cpumask free_cpus; /* in no pool */
    int next_id;
    struct cpupool pools[CPUPOOL_MAX];
};

/* Pool-0 (id 0) with every CPU of `topo`, running scheduler `sched_name`. */
int cpupool_set_init(struct cpupool_set *ps, const struct sched_topology *topo,
                     const struct sched_env *env, const char *sched_name,
                     const struct sched_pool_params *params, s_time_t now);
/* Detaches every domain and destroys every pool. */
void cpupool_set_deinit(struct cpupool_set *ps, s_time_t now);

/* New empty pool (no CPUs).  -EEXIST name taken, -EINVAL bad name, scheduler
 * or params, -ENOSPC no slot.  *id_out gets the new id. */
int cpupool_create(struct cpupool_set *ps, const char *name,
                   const char *sched_name, const struct sched_pool_params *p,
                   int *id_out);
/* -ENOENT no pool, -EBUSY domains in it or it is Pool-0.  CPUs go free. */
int cpupool_destroy(struct cpupool_set *ps, int id, s_time_t now);
/* -ENOENT, -EEXIST (another pool has the name), -EINVAL (bad name). */
int cpupool_rename(struct cpupool_set *ps, int id, const char *name);
/* -ENOENT pool, -EINVAL cpu out of range, -EBUSY cpu in another pool,
 * -EEXIST cpu already in this pool. */
int cpupool_cpu_add(struct cpupool_set *ps, int id, int cpu, s_time_t now);
/* -ENOENT pool, -EINVAL cpu not in pool, -EBUSY last CPU of a pool with
 * domains.  vCPUs running on it are requeued on the pool's other CPUs. */
int cpupool_cpu_remove(struct cpupool_set *ps, int id, int cpu, s_time_t now);
/* Puts a new domain (all vCPUs asleep) in pool `id`.  -ENOENT, -EEXIST
 * (already in a pool), -EINVAL (pool has no CPUs), or the allocation error. */
int cpupool_domain_add(struct cpupool_set *ps, int id, struct sched_dom *d,
                       s_time_t now);
/* -ENOENT if d is in no pool. */
int cpupool_domain_remove(struct cpupool_set *ps, struct sched_dom *d,
                          s_time_t now);
/* Moves d to pool `id`: its vCPUs leave the old scheduler instance and are
 * inserted (asleep) into the new one; the caller re-wakes runnable ones,
 * as Xen does after a pool move.  -ENOENT, -EINVAL (target has no CPUs). */
int cpupool_domain_move(struct cpupool_set *ps, struct sched_dom *d, int id,
                        s_time_t now);
/* One pool per NUMA node, like `xl cpupool-numa-split`: Pool-0 keeps node
 * 0's CPUs (renamed Pool-node0), Pool-node<N> is made for every other node.
 * -EBUSY if a pool other than Pool-0 exists. */
int cpupool_numa_split(struct cpupool_set *ps, s_time_t now);

struct cpupool *cpupool_get(struct cpupool_set *ps, int id);
struct cpupool *cpupool_find(struct cpupool_set *ps, const char *name);
/* Pool owning `cpu`, or NULL if it is free. */
struct cpupool *cpupool_of_cpu(struct cpupool_set *ps, int cpu);

#endif /* KXEN_SCHED_H */
