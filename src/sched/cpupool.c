/*
 * cpupool.c — Xen cpupools: disjoint sets of pCPUs, each with its own
 * scheduler instance and its own domains.
 *
 * Invariants:
 *  - every pCPU of the topology is in exactly one pool or in free_cpus;
 *  - a domain is in at most one pool; all its vCPUs are inserted in that
 *    pool's scheduler instance and in no other;
 *  - Pool-0 (id 0) always exists; a pool holding domains keeps >= 1 pCPU.
 * Every refused operation returns -EINVAL, -EBUSY, -ENOENT or -EEXIST and
 * changes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sched/sched-priv.h"

static bool pool_in_use(const struct cpupool *c)
{
    return c->id >= 0;
}

struct cpupool *cpupool_get(struct cpupool_set *ps, int id)
{
    for (int i = 0; i < CPUPOOL_MAX; i++)
        if (pool_in_use(&ps->pools[i]) && ps->pools[i].id == id)
            return &ps->pools[i];
    return NULL;
}

struct cpupool *cpupool_find(struct cpupool_set *ps, const char *name)
{
    for (int i = 0; name && i < CPUPOOL_MAX; i++)
        if (pool_in_use(&ps->pools[i]) &&
            strcmp(ps->pools[i].name, name) == 0)
            return &ps->pools[i];
    return NULL;
}

struct cpupool *cpupool_of_cpu(struct cpupool_set *ps, int cpu)
{
    for (int i = 0; i < CPUPOOL_MAX; i++)
        if (pool_in_use(&ps->pools[i]) &&
            sched_cpumask_test(&ps->pools[i].sched.cpus, cpu))
            return &ps->pools[i];
    return NULL;
}

static bool name_ok(const char *name)
{
    return name && name[0] && strlen(name) <= CPUPOOL_NAME_MAX;
}

static struct cpupool *free_slot(struct cpupool_set *ps)
{
    for (int i = 0; i < CPUPOOL_MAX; i++)
        if (!pool_in_use(&ps->pools[i]))
            return &ps->pools[i];
    return NULL;
}

static int pool_make(struct cpupool_set *ps, int id, const char *name,
                     const char *sched_name, const struct sched_pool_params *p)
{
    struct cpupool *c;
    int rc;

    if (!name_ok(name))
        return -EINVAL;
    if (cpupool_find(ps, name))
        return -EEXIST;
    c = free_slot(ps);
    if (!c)
        return -ENOSPC;
    rc = sched_instance_init(&c->sched, sched_name, ps->topo, &ps->env, p);
    if (rc)
        return rc;
    c->id = id;
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->n_dom = 0;
    c->doms = NULL;
    return 0;
}

int cpupool_set_init(struct cpupool_set *ps, const struct sched_topology *topo,
                     const struct sched_env *env, const char *sched_name,
                     const struct sched_pool_params *params, s_time_t now)
{
    int rc;

    if (!topo || topo->nr_cpus < 1 || topo->nr_cpus > SCHED_MAX_CPUS || !env)
        return -EINVAL;
    memset(ps, 0, sizeof(*ps));
    for (int i = 0; i < CPUPOOL_MAX; i++)
        ps->pools[i].id = -1;
    ps->topo = topo;
    ps->env = *env;
    sched_cpumask_fill(&ps->free_cpus, topo->nr_cpus);
    rc = pool_make(ps, 0, "Pool-0", sched_name, params);
    if (rc)
        return rc;
    ps->next_id = 1;
    for (int cpu = 0; cpu < topo->nr_cpus; cpu++) {
        rc = cpupool_cpu_add(ps, 0, cpu, now);
        if (rc)
            return rc;
    }
    return 0;
}

void cpupool_set_deinit(struct cpupool_set *ps, s_time_t now)
{
    for (int i = 0; i < CPUPOOL_MAX; i++) {
        struct cpupool *c = &ps->pools[i];
        if (!pool_in_use(c))
            continue;
        while (c->doms)
            cpupool_domain_remove(ps, c->doms, now);
        sched_instance_deinit(&c->sched);
        c->id = -1;
    }
}

int cpupool_create(struct cpupool_set *ps, const char *name,
                   const char *sched_name, const struct sched_pool_params *p,
                   int *id_out)
{
    int id = ps->next_id;
    int rc = pool_make(ps, id, name, sched_name, p);

    if (rc)
        return rc;
    ps->next_id++;
    if (id_out)
        *id_out = id;
    return 0;
}

int cpupool_destroy(struct cpupool_set *ps, int id, s_time_t now)
{
    struct cpupool *c = cpupool_get(ps, id);

    if (!c)
        return -ENOENT;
    if (id == 0 || c->n_dom)
        return -EBUSY;
    sched_for_each_cpu(cpu, &c->sched.cpus) {
        c->sched.ops->remove_cpu(&c->sched, cpu, now);
        sched_cpumask_set(&ps->free_cpus, cpu);
    }
    sched_instance_deinit(&c->sched);
    c->id = -1;
    return 0;
}

int cpupool_rename(struct cpupool_set *ps, int id, const char *name)
{
    struct cpupool *c = cpupool_get(ps, id), *other;

    if (!c)
        return -ENOENT;
    if (!name_ok(name))
        return -EINVAL;
    other = cpupool_find(ps, name);
    if (other && other != c)
        return -EEXIST;
    snprintf(c->name, sizeof(c->name), "%s", name);
    return 0;
}

int cpupool_cpu_add(struct cpupool_set *ps, int id, int cpu, s_time_t now)
{
    struct cpupool *c = cpupool_get(ps, id);
    int rc;

    if (!c)
        return -ENOENT;
    if (cpu < 0 || cpu >= ps->topo->nr_cpus)
        return -EINVAL;
    if (sched_cpumask_test(&c->sched.cpus, cpu))
        return -EEXIST;
    if (!sched_cpumask_test(&ps->free_cpus, cpu))
        return -EBUSY;
    rc = c->sched.ops->add_cpu(&c->sched, cpu, now);
    if (rc)
        return rc;
    sched_cpumask_clear(&ps->free_cpus, cpu);
    return 0;
}

int cpupool_cpu_remove(struct cpupool_set *ps, int id, int cpu, s_time_t now)
{
    struct cpupool *c = cpupool_get(ps, id);
    int rc;

    if (!c)
        return -ENOENT;
    if (!sched_cpumask_test(&c->sched.cpus, cpu))
        return -EINVAL;
    if (c->n_dom && sched_cpumask_weight(&c->sched.cpus) == 1)
        return -EBUSY;
    rc = c->sched.ops->remove_cpu(&c->sched, cpu, now);
    if (rc)
        return rc;
    sched_cpumask_set(&ps->free_cpus, cpu);
    return 0;
}

static void pool_unlink_domain(struct cpupool *c, struct sched_dom *d)
{
    for (struct sched_dom **pp = &c->doms; *pp; pp = &(*pp)->pool_next) {
        if (*pp == d) {
            *pp = d->pool_next;
            d->pool_next = NULL;
            c->n_dom--;
            return;
        }
    }
}

static void pool_link_domain(struct cpupool *c, struct sched_dom *d)
{
    d->pool_next = c->doms;
    c->doms = d;
    d->poolid = c->id;
    c->n_dom++;
}

static bool domain_in_some_pool(struct cpupool_set *ps, struct sched_dom *d)
{
    for (int i = 0; i < CPUPOOL_MAX; i++)
        for (struct sched_dom *x = ps->pools[i].doms;
             pool_in_use(&ps->pools[i]) && x; x = x->pool_next)
            if (x == d)
                return true;
    return false;
}

int cpupool_domain_add(struct cpupool_set *ps, int id, struct sched_dom *d,
                       s_time_t now)
{
    struct cpupool *c = cpupool_get(ps, id);
    int rc;

    if (!c)
        return -ENOENT;
    if (domain_in_some_pool(ps, d))
        return -EEXIST;
    if (sched_cpumask_empty(&c->sched.cpus))
        return -EINVAL;
    rc = sched_dom_attach(&c->sched, d, now);
    if (rc)
        return rc;
    pool_link_domain(c, d);
    return 0;
}

int cpupool_domain_remove(struct cpupool_set *ps, struct sched_dom *d,
                          s_time_t now)
{
    struct cpupool *c = cpupool_get(ps, d->poolid);

    if (!c || !domain_in_some_pool(ps, d))
        return -ENOENT;
    sched_dom_detach(&c->sched, d, now);
    pool_unlink_domain(c, d);
    d->poolid = -1;
    return 0;
}

int cpupool_domain_move(struct cpupool_set *ps, struct sched_dom *d, int id,
                        s_time_t now)
{
    struct cpupool *from = cpupool_get(ps, d->poolid);
    struct cpupool *to = cpupool_get(ps, id);
    struct sched_dom_params params;
    int rc;

    if (!from || !to || !domain_in_some_pool(ps, d))
        return -ENOENT;
    if (from == to)
        return 0;
    if (sched_cpumask_empty(&to->sched.cpus))
        return -EINVAL;
    /* Weight and cap travel with the domain when both sides know them. */
    rc = from->sched.ops->dom_get(&from->sched, d, &params);
    if (rc)
        return rc;
    sched_dom_detach(&from->sched, d, now);
    pool_unlink_domain(from, d);
    rc = sched_dom_attach(&to->sched, d, now);
    if (rc) {
        /* Put it back where it was; attach to the old instance needs the
         * same memory it just released, so this is not expected to fail. */
        if (sched_dom_attach(&from->sched, d, now) == 0)
            pool_link_domain(from, d);
        return rc;
    }
    pool_link_domain(to, d);
    to->sched.ops->dom_set(&to->sched, d, &params, now);
    return 0;
}

int cpupool_numa_split(struct cpupool_set *ps, s_time_t now)
{
    struct cpupool *p0 = cpupool_get(ps, 0);
    int max_node = 0, rc;
    char name[CPUPOOL_NAME_MAX + 1];

    for (int i = 0; i < CPUPOOL_MAX; i++)
        if (pool_in_use(&ps->pools[i]) && ps->pools[i].id != 0)
            return -EBUSY;
    for (int c = 0; c < ps->topo->nr_cpus; c++)
        if (ps->topo->node[c] > max_node)
            max_node = ps->topo->node[c];
    /* Node 0's CPUs must stay to keep Pool-0's domains somewhere to run. */
    for (int c = 0; c < ps->topo->nr_cpus; c++)
        if (ps->topo->node[c] == 0 && !sched_cpumask_test(&p0->sched.cpus, c) &&
            !sched_cpumask_test(&ps->free_cpus, c))
            return -EBUSY;
    for (int node = 1; node <= max_node; node++) {
        struct sched_pool_params params;
        int id;

        p0->sched.ops->pool_get(&p0->sched, &params);
        snprintf(name, sizeof(name), "Pool-node%d", node);
        rc = cpupool_create(ps, name, p0->sched.ops->name, &params, &id);
        if (rc)
            return rc;
        for (int c = 0; c < ps->topo->nr_cpus; c++) {
            if (ps->topo->node[c] != node)
                continue;
            if (sched_cpumask_test(&p0->sched.cpus, c)) {
                rc = cpupool_cpu_remove(ps, 0, c, now);
                if (rc)
                    return rc;
            }
            rc = cpupool_cpu_add(ps, id, c, now);
            if (rc)
                return rc;
        }
    }
    return cpupool_rename(ps, 0, "Pool-node0");
}
