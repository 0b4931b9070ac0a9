/*
 * sched.c — the scheduler framework glue: looking schedulers up by name,
 * instance life cycle, attaching whole domains, cpumask and topology helpers.
 *
 * Invariant kept here: a domain is attached to at most one instance, and all
 * of its vCPUs are inserted in that instance exactly when the domain is.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched-priv.h"

static unsigned long invariant_failures;
static const char *invariant_last;

bool sched_invariant_failed(const char *where)
{
    __atomic_add_fetch(&invariant_failures, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&invariant_last, where, __ATOMIC_RELEASE);
    return false;
}

unsigned long sched_invariant_failures(const char **last)
{
    if (last)
        *last = __atomic_load_n(&invariant_last, __ATOMIC_ACQUIRE);
    return __atomic_load_n(&invariant_failures, __ATOMIC_RELAXED);
}

static const struct sched_ops *const all_schedulers[] = {
    &sched_credit_ops,
    &sched_credit2_ops,
};

const struct sched_ops *sched_ops_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(all_schedulers) / sizeof(all_schedulers[0]);
         i++)
        if (strcmp(all_schedulers[i]->name, name) == 0)
            return all_schedulers[i];
    return NULL;
}

int sched_instance_init(struct sched_instance *s, const char *sched_name,
                        const struct sched_topology *topo,
                        const struct sched_env *env,
                        const struct sched_pool_params *params)
{
    const struct sched_ops *ops = sched_ops_find(sched_name);

    if (!ops || !topo || !env || !env->tickle || !env->set_timer)
        return -EINVAL;
    memset(s, 0, sizeof(*s));
    s->ops = ops;
    s->env = *env;
    s->topo = topo;
    sched_cpumask_zero(&s->cpus);
    return ops->init(s, params);
}

void sched_instance_deinit(struct sched_instance *s)
{
    if (s->ops)
        s->ops->deinit(s);
    s->ops = NULL;
    s->priv = NULL;
}

void sched_vcpu_init(struct sched_vcpu *v, struct sched_dom *d, int vcpu_id)
{
    memset(v, 0, sizeof(*v));
    v->dom = d;
    v->vcpu_id = vcpu_id;
    sched_cpumask_fill(&v->hard_affinity, SCHED_MAX_CPUS);
    sched_cpumask_fill(&v->soft_affinity, SCHED_MAX_CPUS);
}

int sched_dom_attach(struct sched_instance *s, struct sched_dom *d,
                     s_time_t now)
{
    int rc, i;

    if (d->nr_vcpus < 0 || (d->nr_vcpus > 0 && !d->vcpus))
        return -EINVAL;
    rc = s->ops->alloc_domdata(s, d);
    if (rc)
        return rc;
    for (i = 0; i < d->nr_vcpus; i++) {
        d->vcpus[i]->dom = d;
        rc = s->ops->alloc_vdata(s, d->vcpus[i]);
        if (rc)
            goto out;
    }
    for (i = 0; i < d->nr_vcpus; i++)
        s->ops->insert_vcpu(s, d->vcpus[i], now);
    return 0;
out:
    while (--i >= 0)
        s->ops->free_vdata(s, d->vcpus[i]);
    s->ops->free_domdata(s, d);
    return rc;
}

void sched_dom_detach(struct sched_instance *s, struct sched_dom *d,
                      s_time_t now)
{
    for (int i = 0; i < d->nr_vcpus; i++)
        s->ops->remove_vcpu(s, d->vcpus[i], now);
    for (int i = 0; i < d->nr_vcpus; i++)
        s->ops->free_vdata(s, d->vcpus[i]);
    s->ops->free_domdata(s, d);
}

int sched_dump_append(char *buf, size_t len, int off, const char *fmt, ...)
{
    va_list ap;
    int n;
    size_t used = off < 0 ? 0 : (size_t)off;

    va_start(ap, fmt);
    if (buf && used < len)
        n = vsnprintf(buf + used, len - used, fmt, ap);
    else
        n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    return n < 0 ? off : off + n;
}

int sched_dump_file(struct sched_instance *s, FILE *f)
{
    int need = s->ops->dump(s, NULL, 0);
    char *buf;

    if (need < 0)
        return need;
    buf = malloc((size_t)need + 1);
    if (!buf)
        return -ENOMEM;
    s->ops->dump(s, buf, (size_t)need + 1);
    fputs(buf, f);
    free(buf);
    return 0;
}

/* ---- cpumask text -------------------------------------------------------- */

#define CPULIST_NUMBER_MAX 65536 /* node numbers, and CPUs being removed */

/* Digits only (no sign, no spaces), below `limit`; advances *p. */
static int parse_index(const char **p, int limit)
{
    const char *s = *p;
    long v = 0;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s++ - '0');
        if (v >= limit)
            return -ERANGE;
    }
    *p = s;
    return (int)v;
}

static void cpumask_put(struct sched_cpumask *m, int cpu, bool on)
{
    if (on)
        sched_cpumask_set(m, cpu);
    else
        sched_cpumask_clear(m, cpu);
}

/* Adds (or with `off` removes) every CPU of NUMA node `node`. */
static int cpumask_put_node(struct sched_cpumask *m, const struct sched_topology *topo,
                            int nr_cpus, int node, bool off)
{
    bool found = false;

    if (!topo)
        return -ENOENT;
    for (int c = 0; c < topo->nr_cpus && c < nr_cpus; c++) {
        if (topo->node[c] != node)
            continue;
        cpumask_put(m, c, !off);
        found = true;
    }
    return found ? 0 : -ENOENT;
}

/* One item of a CPU list, without its '^': "all", "N", "N-M", or with
 * `nodes` the node numbers.  Advances *p past it. */
static int cpulist_item(struct sched_cpumask *m, const char **p, int nr_cpus,
                        const struct sched_topology *topo, bool nodes, bool off)
{
    int lo, hi;

    if (strncmp(*p, "all", 3) == 0 && ((*p)[3] == ',' || (*p)[3] == '\0')) {
        if (off)
            return -EINVAL; /* like xl: "^all" means nothing */
        sched_cpumask_fill(m, nr_cpus);
        *p += 3;
        return 0;
    }
    /* Removing a CPU the machine does not have changes nothing (as in
     * libxl); adding one is an error. */
    int limit = nodes || off ? CPULIST_NUMBER_MAX : nr_cpus;
    lo = parse_index(p, limit);
    if (lo < 0)
        return lo;
    hi = lo;
    if (**p == '-') {
        (*p)++;
        hi = parse_index(p, limit);
        if (hi < 0)
            return hi;
        if (hi < lo)
            return -EINVAL;
    }
    if (!nodes && hi >= nr_cpus)
        hi = nr_cpus - 1;
    for (int i = lo; i <= hi; i++) {
        if (!nodes) {
            cpumask_put(m, i, !off);
            continue;
        }
        int rc = cpumask_put_node(m, topo, nr_cpus, i, off);
        if (rc)
            return rc;
    }
    return 0;
}

int sched_cpulist_parse(struct sched_cpumask *m, const char *s, int nr_cpus,
                        const struct sched_topology *topo)
{
    const char *p = s;

    sched_cpumask_zero(m);
    if (!s || !*s)
        return -EINVAL;
    if (nr_cpus > SCHED_MAX_CPUS)
        nr_cpus = SCHED_MAX_CPUS;
    /* A list that starts by removing starts from every CPU. */
    if (*p == '^')
        sched_cpumask_fill(m, nr_cpus);
    for (;;) {
        bool off = *p == '^', nodes = false;
        int rc;

        if (off)
            p++;
        if (strncmp(p, "nodes:", 6) == 0) {
            p += 6;
            nodes = true;
        } else if (strncmp(p, "node:", 5) == 0) {
            p += 5;
            nodes = true;
        }
        rc = cpulist_item(m, &p, nr_cpus, topo, nodes, off);
        if (rc)
            return rc;
        if (*p == '\0')
            break;
        if (*p != ',')
            return -EINVAL;
        p++;
    }
    return sched_cpumask_empty(m) ? -EDOM : 0;
}

int sched_cpumask_parse(struct sched_cpumask *m, const char *s, int nr_cpus)
{
    return sched_cpulist_parse(m, s, nr_cpus, NULL);
}

int sched_cpumask_format(const struct sched_cpumask *m, char *buf, size_t len)
{
    int off = 0;
    bool first = true;

    if (buf && len)
        buf[0] = '\0';
    for (int c = sched_cpumask_first(m); c >= 0;) {
        int e = c;
        while (sched_cpumask_test(m, e + 1))
            e++;
        off = sched_dump_append(buf, len, off, first ? "%d" : ",%d", c);
        if (e > c)
            off = sched_dump_append(buf, len, off, "-%d", e);
        first = false;
        c = sched_cpumask_next(m, e + 1);
    }
    return off;
}

/* ---- topology and runqueue names ------------------------------------------ */

int sched_topology_init(struct sched_topology *t, int nr_cpus,
                        int threads_per_core, int cores_per_socket,
                        int sockets_per_node)
{
    if (nr_cpus < 1 || nr_cpus > SCHED_MAX_CPUS || threads_per_core < 1 ||
        cores_per_socket < 1 || sockets_per_node < 1)
        return -EINVAL;
    memset(t, 0, sizeof(*t));
    t->nr_cpus = nr_cpus;
    for (int c = 0; c < nr_cpus; c++) {
        int core = c / threads_per_core;
        int socket = core / cores_per_socket;
        t->core[c] = (uint16_t)core;
        t->socket[c] = (uint16_t)socket;
        t->node[c] = (uint16_t)(socket / sockets_per_node);
    }
    return 0;
}

static const char *const runq_names[] = {
    [SCHED_RUNQ_CPU] = "cpu",       [SCHED_RUNQ_CORE] = "core",
    [SCHED_RUNQ_SOCKET] = "socket", [SCHED_RUNQ_NODE] = "node",
    [SCHED_RUNQ_ALL] = "all",
};

int sched_runq_parse(const char *s)
{
    for (int i = 0; i <= SCHED_RUNQ_ALL; i++)
        if (s && strcmp(s, runq_names[i]) == 0)
            return i;
    return -EINVAL;
}

const char *sched_runq_name(int arrangement)
{
    if (arrangement < 0 || arrangement > SCHED_RUNQ_ALL)
        return "?";
    return runq_names[arrangement];
}
