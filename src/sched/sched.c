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

static int parse_cpu_number(const char **p, int nr_cpus)
{
    char *end;
    long v = strtol(*p, &end, 10);

    if (end == *p || v < 0 || v >= nr_cpus || v >= SCHED_MAX_CPUS)
        return -EINVAL;
    *p = end;
    return (int)v;
}

int sched_cpumask_parse(struct sched_cpumask *m, const char *s, int nr_cpus)
{
    const char *p = s;

    sched_cpumask_zero(m);
    if (!s || !*s)
        return -EINVAL;
    if (strcmp(s, "all") == 0) {
        sched_cpumask_fill(m, nr_cpus);
        return 0;
    }
    for (;;) {
        int lo = parse_cpu_number(&p, nr_cpus), hi;

        if (lo < 0)
            return lo;
        hi = lo;
        if (*p == '-') {
            p++;
            hi = parse_cpu_number(&p, nr_cpus);
            if (hi < lo)
                return -EINVAL;
        }
        for (int c = lo; c <= hi; c++)
            sched_cpumask_set(m, c);
        if (*p == '\0')
            return 0;
        if (*p != ',')
            return -EINVAL;
        p++;
    }
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
