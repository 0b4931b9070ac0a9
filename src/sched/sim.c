/*
 * sim.c — deterministic discrete-event simulator for the schedulers.
 *
 * Events live in a binary heap ordered by (time, sequence number), so two
 * events at the same instant are handled in the order they were posted and
 * the run is reproducible.  Stale events (a slice timer superseded by a newer
 * decision, a block event of a vCPU that was preempted) carry a generation
 * number and are dropped when it no longer matches.  Random run/block
 * lengths come from one splitmix64 stream per vCPU seeded from the scenario
 * seed, so adding a domain does not perturb the others' draws.
 *
 * The engine checks the scheduler contract as it goes: a decision must pick
 * a runnable vCPU of that pool that is not running elsewhere; violations are
 * counted in res->errors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched-priv.h"
#include "sched/sim.h"

enum ev_type {
    EV_RESCHED, EV_SLICE, EV_TIMER, EV_ACTION, /* id: cpu or action */
    EV_WAKE, EV_BLOCK, EV_PERIOD,             /* id: vcpu index */
};
enum vstate { VS_BLOCKED, VS_RUNNABLE, VS_RUNNING };

struct event {
    s_time_t t;
    uint64_t seq;
    int type;
    int id;       /* cpu or vcpu index */
    uint32_t gen;
};

struct sim_vcpu {
    struct sched_vcpu sv;
    struct sim_dom *dom;
    const struct sim_dom_spec *spec;
    int index;
    enum vstate state;
    s_time_t state_since;
    s_time_t work_left;  /* CPU still needed in this run phase */
    s_time_t work_since; /* work_left is exact as of this time (running) */
    s_time_t run_since;
    s_time_t wake_time;
    bool lat_pending;
    int cpu; /* where running, -1 */
    int last_cpu; /* where it ran last (valid once st.ctxsw > 0) */
    uint32_t block_gen;
    s_time_t next_period;
    uint64_t rng;
    struct sim_vcpu_stats st;
    long lat_cap;
};

struct sim_dom {
    struct sched_dom sd;
    struct sched_vcpu **vptrs;
    char name[SIM_NAME_MAX];
};

struct sim_pcpu {
    struct sim_vcpu *curr;
    uint32_t slice_gen, timer_gen;
    bool resched_pending;
    s_time_t busy_since;
};

struct sim {
    const struct sim_scenario *sc;
    struct sched_topology topo;
    struct cpupool_set pools;
    s_time_t now;
    uint64_t seq;
    struct event *heap;
    size_t nheap, heap_cap;
    int nr_doms, nr_vcpus;
    struct sim_dom *doms;
    struct sim_vcpu *vcpus;
    struct sim_pcpu cpus[SCHED_MAX_CPUS];
    struct sim_result *res;
    int oom;
};

/* ---- randomness ------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static s_time_t draw(struct sim_vcpu *v, s_time_t lo, s_time_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + (s_time_t)(splitmix64(&v->rng) % (uint64_t)(hi - lo + 1));
}

/* ---- event heap ------------------------------------------------------------ */

static bool ev_before(const struct event *a, const struct event *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void post(struct sim *sim, s_time_t t, int type, int id, uint32_t gen)
{
    struct event e = { t, sim->seq++, type, id, gen };
    size_t i;

    if (sim->nheap == sim->heap_cap) {
        size_t cap = sim->heap_cap ? sim->heap_cap * 2 : 256;
        struct event *h = realloc(sim->heap, cap * sizeof(*h));
        if (!h) {
            sim->oom = 1;
            return;
        }
        sim->heap = h;
        sim->heap_cap = cap;
    }
    i = sim->nheap++;
    while (i > 0 && ev_before(&e, &sim->heap[(i - 1) / 2])) {
        sim->heap[i] = sim->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    sim->heap[i] = e;
}

static struct event pop(struct sim *sim)
{
    struct event top = sim->heap[0], last = sim->heap[--sim->nheap];
    size_t i = 0, n = sim->nheap;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ev_before(&sim->heap[c + 1], &sim->heap[c]))
            c++;
        if (!ev_before(&sim->heap[c], &last))
            break;
        sim->heap[i] = sim->heap[c];
        i = c;
    }
    if (n)
        sim->heap[i] = last;
    return top;
}

/* ---- callbacks the schedulers see ----------------------------------------- */

static void env_tickle(void *opaque, int cpu)
{
    struct sim *sim = opaque;

    if (sim->cpus[cpu].resched_pending)
        return;
    sim->cpus[cpu].resched_pending = true;
    post(sim, sim->now, EV_RESCHED, cpu, 0);
}

static void env_set_timer(void *opaque, int cpu, s_time_t deadline)
{
    struct sim *sim = opaque;

    post(sim, deadline < sim->now ? sim->now : deadline, EV_TIMER, cpu,
         ++sim->cpus[cpu].timer_gen);
}

static struct sched_instance *vcpu_sched(struct sim *sim, struct sim_vcpu *v)
{
    return &cpupool_get(&sim->pools, v->dom->sd.poolid)->sched;
}

/* ---- vCPU state bookkeeping ------------------------------------------------ */

static void set_state(struct sim *sim, struct sim_vcpu *v, enum vstate s)
{
    s_time_t dt = sim->now - v->state_since;

    switch (v->state) {
    case VS_BLOCKED: v->st.blocked_ns += dt; break;
    case VS_RUNNABLE: v->st.runnable_ns += dt; break;
    case VS_RUNNING:
        v->st.run_ns += dt;
        if (v->cpu >= 0)
            v->st.run_on_ns[v->cpu] += dt;
        break;
    }
    v->state = s;
    v->state_since = sim->now;
}

static void record_latency(struct sim *sim, struct sim_vcpu *v, s_time_t lat)
{
    if (v->st.nr_lat == v->lat_cap) {
        long cap = v->lat_cap ? v->lat_cap * 2 : 64;
        s_time_t *a = realloc(v->st.lat, (size_t)cap * sizeof(*a));
        if (!a) {
            sim->oom = 1;
            return;
        }
        v->st.lat = a;
        v->lat_cap = cap;
    }
    v->st.lat[v->st.nr_lat++] = lat;
}

static bool finite_work(const struct sim_vcpu *v)
{
    return v->spec->workload != SIM_WL_SPIN && v->spec->workload != SIM_WL_DODGE;
}

/* Absolute time a running vCPU ends its run phase, or -1 for never. */
static s_time_t phase_end(struct sim *sim, struct sim_vcpu *v)
{
    const struct sim_dom_spec *sp = v->spec;

    if (sp->workload == SIM_WL_DODGE) {
        s_time_t b = (sim->now / sp->tick + 1) * sp->tick - sp->margin;
        return b > sim->now ? b : b + sp->tick;
    }
    if (!finite_work(v))
        return -1;
    return sim->now + v->work_left;
}

static void arm_block(struct sim *sim, struct sim_vcpu *v)
{
    s_time_t end = phase_end(sim, v);

    v->block_gen++;
    v->work_since = sim->now;
    if (end >= 0)
        post(sim, end, EV_BLOCK, v->index, v->block_gen);
}

static void stop_running(struct sim *sim, struct sim_vcpu *v)
{
    v->block_gen++; /* its pending block event is void */
    if (v->state != VS_RUNNING) {
        v->cpu = -1;
        return; /* it blocked; the switch just makes that visible */
    }
    if (finite_work(v))
        v->work_left -= sim->now - v->work_since;
    v->st.preemptions++;
    if (v->st.min_preempted_run < 0 ||
        sim->now - v->run_since < v->st.min_preempted_run)
        v->st.min_preempted_run = sim->now - v->run_since;
    set_state(sim, v, VS_RUNNABLE); /* charges the run to v->cpu */
    v->cpu = -1;
}

static void start_running(struct sim *sim, struct sim_vcpu *v, int cpu)
{
    v->cpu = cpu;
    v->run_since = sim->now;
    if (v->st.ctxsw > 0 && v->last_cpu != cpu)
        v->st.migrations++;
    v->last_cpu = cpu;
    v->st.ctxsw++;
    sched_cpumask_set(&v->st.ran_on, cpu);
    if (v->lat_pending) {
        record_latency(sim, v, sim->now - v->wake_time);
        v->lat_pending = false;
    }
    set_state(sim, v, VS_RUNNING);
    arm_block(sim, v);
}

/* Does the decision respect the contract?  Counted, never fatal. */
static bool decision_valid(struct sim *sim, int cpu, struct sim_vcpu *next)
{
    struct cpupool *pool = cpupool_of_cpu(&sim->pools, cpu);

    if (!next)
        return true;
    if (!pool || next->dom->sd.poolid != pool->id ||
        next->state == VS_BLOCKED || (next->cpu >= 0 && next->cpu != cpu) ||
        !sched_cpumask_test(&next->sv.hard_affinity, cpu)) {
        sim->res->errors++;
        return false;
    }
    return true;
}

static void run_do_schedule(struct sim *sim, int cpu)
{
    struct sim_pcpu *pc = &sim->cpus[cpu];
    struct cpupool *pool = cpupool_of_cpu(&sim->pools, cpu);
    struct sched_decision d = { NULL, -1, false };
    struct sim_vcpu *next = NULL, *prev = pc->curr;

    if (pool) {
        d = sched_do_schedule(&pool->sched, cpu, sim->now);
        sim->res->decisions++;
    }
    if (d.next)
        next = sched_container_of(d.next, struct sim_vcpu, sv);
    if (!decision_valid(sim, cpu, next))
        next = NULL;
    if (prev != next) {
        if (prev)
            stop_running(sim, prev);
        else
            pc->busy_since = sim->now;
        if (next)
            start_running(sim, next, cpu);
        else
            sim->res->cpu_busy[cpu] += sim->now - pc->busy_since;
        pc->curr = next;
    }
    pc->slice_gen++;
    if (d.slice >= 0)
        post(sim, sim->now + (d.slice > 0 ? d.slice : 1), EV_SLICE, cpu,
             pc->slice_gen);
}

/* ---- workload transitions ---------------------------------------------------- */

static void vcpu_wake(struct sim *sim, struct sim_vcpu *v)
{
    const struct sim_dom_spec *sp = v->spec;

    if (sp->workload == SIM_WL_PHASES || sp->workload == SIM_WL_YIELDER)
        v->work_left = draw(v, sp->run_min, sp->run_max);
    else if (sp->workload == SIM_WL_PERIODIC)
        v->work_left = sp->run_min;
    v->wake_time = sim->now;
    v->lat_pending = true;
    v->st.wakes++;
    set_state(sim, v, VS_RUNNABLE);
    sched_wake(vcpu_sched(sim, v), &v->sv, sim->now);
}

static void vcpu_block(struct sim *sim, struct sim_vcpu *v)
{
    const struct sim_dom_spec *sp = v->spec;
    s_time_t until;

    if (sp->workload == SIM_WL_YIELDER) {
        /* Not a block: finish this burst, yield, and start the next. */
        v->work_left = draw(v, sp->run_min, sp->run_max);
        arm_block(sim, v);
        sched_yield(vcpu_sched(sim, v), &v->sv, sim->now);
        return;
    }
    set_state(sim, v, VS_BLOCKED);
    sched_sleep(vcpu_sched(sim, v), &v->sv, sim->now);
    switch (sp->workload) {
    case SIM_WL_PHASES:
        until = sim->now + draw(v, sp->block_min, sp->block_max);
        post(sim, until, EV_WAKE, v->index, 0);
        break;
    case SIM_WL_DODGE:
        until = (sim->now / sp->tick + 1) * sp->tick + sp->margin;
        post(sim, until, EV_WAKE, v->index, 0);
        break;
    default: /* periodic: the next EV_PERIOD wakes it */
        break;
    }
}

/* Audio-like: each period brings new work; unfinished work is a miss. */
static void vcpu_period(struct sim *sim, struct sim_vcpu *v)
{
    v->next_period += v->spec->period;
    post(sim, v->next_period, EV_PERIOD, v->index, 0);
    if (v->state == VS_BLOCKED) {
        vcpu_wake(sim, v);
        return;
    }
    v->st.misses++;
    if (v->state == VS_RUNNING) {
        v->work_left -= sim->now - v->work_since;
        v->work_left += v->spec->run_min;
        arm_block(sim, v);
    } else {
        v->work_left += v->spec->run_min;
    }
}

/* A scenario's cpupool operation, applied as the daemon does: the removed
 * pCPU reschedules at once (it has no pool: it goes idle, and whoever ran
 * there stops, requeued by remove_cpu on the pool's other pCPUs); an added
 * one is tickled. */
static void run_action(struct sim *sim, int i)
{
    const struct sim_action *a = &sim->sc->actions[i];
    struct cpupool *pool = cpupool_find(&sim->pools, a->pool);
    int rc = pool ? 0 : -ENOENT;

    sched_for_each_cpu(cpu, &a->cpus) {
        if (rc)
            break;
        if (a->type == SIM_ACT_CPU_REMOVE) {
            rc = cpupool_cpu_remove(&sim->pools, pool->id, cpu, sim->now);
            if (!rc)
                run_do_schedule(sim, cpu);
        } else {
            rc = cpupool_cpu_add(&sim->pools, pool->id, cpu, sim->now);
            if (!rc)
                env_tickle(sim, cpu);
        }
    }
    sim->res->action_rc[i] = rc;
}

static void handle(struct sim *sim, const struct event *e)
{
    struct sim_vcpu *v = NULL;

    if (e->type >= EV_WAKE)
        v = &sim->vcpus[e->id];
    switch (e->type) {
    case EV_RESCHED:
        sim->cpus[e->id].resched_pending = false;
        run_do_schedule(sim, e->id);
        break;
    case EV_SLICE:
        if (e->gen == sim->cpus[e->id].slice_gen)
            run_do_schedule(sim, e->id);
        break;
    case EV_TIMER: {
        struct cpupool *pool = cpupool_of_cpu(&sim->pools, e->id);
        if (e->gen == sim->cpus[e->id].timer_gen && pool)
            sched_timer(&pool->sched, e->id, sim->now);
        break;
    }
    case EV_ACTION:
        run_action(sim, e->id);
        break;
    case EV_WAKE:
        if (v->state == VS_BLOCKED)
            vcpu_wake(sim, v);
        break;
    case EV_BLOCK:
        if (e->gen == v->block_gen && v->state == VS_RUNNING)
            vcpu_block(sim, v);
        break;
    case EV_PERIOD:
        vcpu_period(sim, v);
        break;
    }
}

/* ---- setup ------------------------------------------------------------------- */

static int setup_pools(struct sim *sim)
{
    const struct sim_scenario *sc = sim->sc;
    struct sched_env env = { sim, env_tickle, env_set_timer };
    int rc;

    rc = sched_topology_init(&sim->topo, sc->nr_cpus, sc->threads_per_core,
                             sc->cores_per_socket, sc->sockets_per_node);
    if (rc)
        return rc;
    rc = cpupool_set_init(&sim->pools, &sim->topo, &env, sc->sched,
                          &sc->params, 0);
    if (rc)
        return rc;
    for (int i = 0; i < sc->nr_pools; i++) {
        const struct sim_pool_spec *ps = &sc->pools[i];
        int id;

        rc = cpupool_create(&sim->pools, ps->name, ps->sched, &ps->params, &id);
        if (rc)
            return rc;
        sched_for_each_cpu(cpu, &ps->cpus) {
            rc = cpupool_cpu_remove(&sim->pools, 0, cpu, 0);
            if (!rc)
                rc = cpupool_cpu_add(&sim->pools, id, cpu, 0);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int count_vcpus(const struct sim_scenario *sc)
{
    int n = 0;

    for (int i = 0; i < sc->nr_doms; i++)
        n += sc->doms[i].nr_vcpus;
    return n;
}

static int setup_domain(struct sim *sim, int di, int *vi)
{
    const struct sim_dom_spec *sp = &sim->sc->doms[di];
    struct sim_dom *d = &sim->doms[di];
    struct cpupool *pool = sp->pool[0] ? cpupool_find(&sim->pools, sp->pool)
                                       : cpupool_get(&sim->pools, 0);
    struct sched_dom_params params = { sp->weight, sp->cap };
    int rc;

    if (!pool)
        return -ENOENT;
    snprintf(d->name, sizeof(d->name), "%s", sp->name);
    d->sd.domid = di + 1;
    d->sd.nr_vcpus = sp->nr_vcpus;
    d->vptrs = calloc((size_t)sp->nr_vcpus, sizeof(*d->vptrs));
    if (!d->vptrs)
        return -ENOMEM;
    d->sd.vcpus = d->vptrs;
    for (int j = 0; j < sp->nr_vcpus; j++) {
        struct sim_vcpu *v = &sim->vcpus[*vi];
        sched_vcpu_init(&v->sv, &d->sd, j);
        if (sp->has_affinity)
            v->sv.hard_affinity = sp->affinity;
        if (sp->has_soft_affinity)
            v->sv.soft_affinity = sp->soft_affinity;
        v->st.run_on_ns = calloc((size_t)sim->sc->nr_cpus,
                                 sizeof(*v->st.run_on_ns));
        if (!v->st.run_on_ns)
            return -ENOMEM;
        v->dom = d;
        v->spec = sp;
        v->index = (*vi)++;
        v->cpu = -1;
        v->rng = sim->sc->seed * UINT64_C(0x2545F4914F6CDD1D) + (uint64_t)v->index;
        v->st.min_preempted_run = -1;
        snprintf(v->st.dom, sizeof(v->st.dom), "%s", sp->name);
        v->st.domid = d->sd.domid;
        v->st.vcpu_id = j;
        d->vptrs[j] = &v->sv;
    }
    rc = cpupool_domain_add(&sim->pools, pool->id, &d->sd, 0);
    if (rc)
        return rc;
    return pool->sched.ops->dom_set(&pool->sched, &d->sd, &params, 0);
}

/* Every vCPU starts at time 0: runnable ones wake, periodic ones get their
 * first period, others wake after a random fraction of a block phase so
 * that identical domains do not move in lockstep. */
static void start_workloads(struct sim *sim)
{
    for (int i = 0; i < sim->nr_vcpus; i++) {
        struct sim_vcpu *v = &sim->vcpus[i];
        const struct sim_dom_spec *sp = v->spec;

        v->state = VS_BLOCKED;
        v->state_since = 0;
        v->st.poolid = v->dom->sd.poolid;
        if (sp->workload == SIM_WL_PERIODIC) {
            v->next_period = draw(v, 0, sp->period - 1);
            post(sim, v->next_period, EV_PERIOD, i, 0);
        } else if (sp->workload == SIM_WL_PHASES) {
            post(sim, draw(v, 0, sp->block_max), EV_WAKE, i, 0);
        } else {
            post(sim, 0, EV_WAKE, i, 0);
        }
    }
}

static void finish_stats(struct sim *sim)
{
    struct sim_result *res = sim->res;

    for (int c = 0; c < sim->sc->nr_cpus; c++)
        if (sim->cpus[c].curr)
            res->cpu_busy[c] += sim->now - sim->cpus[c].busy_since;
    for (int i = 0; i < sim->nr_vcpus; i++) {
        struct sim_vcpu *v = &sim->vcpus[i];
        set_state(sim, v, v->state);
        res->vcpus[i] = v->st;
        v->st.lat = NULL;
        v->st.run_on_ns = NULL;
    }
}

static int cmp_time(const void *a, const void *b)
{
    s_time_t x = *(const s_time_t *)a, y = *(const s_time_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static s_time_t percentile(const s_time_t *sorted, long n, int pct)
{
    long rank;

    if (n == 0)
        return 0;
    rank = (pct * n + 99) / 100;
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1];
}

static void compute_percentiles(struct sim_result *res)
{
    for (int i = 0; i < res->nr_vcpus; i++) {
        struct sim_vcpu_stats *st = &res->vcpus[i];
        s_time_t *tmp;

        if (!st->nr_lat)
            continue;
        tmp = malloc((size_t)st->nr_lat * sizeof(*tmp));
        if (!tmp)
            continue;
        memcpy(tmp, st->lat, (size_t)st->nr_lat * sizeof(*tmp));
        qsort(tmp, (size_t)st->nr_lat, sizeof(*tmp), cmp_time);
        st->lat_p5 = percentile(tmp, st->nr_lat, 5);
        st->lat_p50 = percentile(tmp, st->nr_lat, 50);
        st->lat_p95 = percentile(tmp, st->nr_lat, 95);
        st->lat_max = tmp[st->nr_lat - 1];
        free(tmp);
    }
}

static void sim_teardown(struct sim *sim)
{
    cpupool_set_deinit(&sim->pools, sim->now);
    for (int i = 0; sim->doms && i < sim->nr_doms; i++)
        free(sim->doms[i].vptrs);
    for (int i = 0; sim->vcpus && i < sim->nr_vcpus; i++) {
        free(sim->vcpus[i].st.lat);
        free(sim->vcpus[i].st.run_on_ns);
    }
    free(sim->doms);
    free(sim->vcpus);
    free(sim->heap);
}

int sim_run(const struct sim_scenario *sc, struct sim_result *res)
{
    struct sim *sim = calloc(1, sizeof(*sim));
    int rc = -ENOMEM, vi = 0;

    memset(res, 0, sizeof(*res));
    if (!sim)
        return -ENOMEM;
    for (int i = 0; i < CPUPOOL_MAX; i++)
        sim->pools.pools[i].id = -1;
    sim->sc = sc;
    sim->res = res;
    sim->nr_doms = sc->nr_doms;
    sim->nr_vcpus = count_vcpus(sc);
    sim->doms = calloc((size_t)sc->nr_doms + 1, sizeof(*sim->doms));
    sim->vcpus = calloc((size_t)sim->nr_vcpus + 1, sizeof(*sim->vcpus));
    res->vcpus = calloc((size_t)sim->nr_vcpus + 1, sizeof(*res->vcpus));
    if (!sim->doms || !sim->vcpus || !res->vcpus)
        goto out;
    res->nr_vcpus = sim->nr_vcpus;
    res->nr_cpus = sc->nr_cpus;
    res->duration = sc->duration;
    rc = setup_pools(sim);
    for (int i = 0; !rc && i < sc->nr_doms; i++)
        rc = setup_domain(sim, i, &vi);
    if (rc)
        goto out;
    start_workloads(sim);
    for (int i = 0; i < sc->nr_actions; i++) {
        res->action_rc[i] = SIM_ACTION_NOT_RUN;
        post(sim, sc->actions[i].t, EV_ACTION, i, 0);
    }
    while (sim->nheap && !sim->oom) {
        struct event e;
        if (sim->heap[0].t > sc->duration)
            break;
        e = pop(sim);
        sim->now = e.t;
        handle(sim, &e);
    }
    sim->now = sc->duration;
    rc = sim->oom ? -ENOMEM : 0;
    finish_stats(sim);
    compute_percentiles(res);
out:
    sim_teardown(sim);
    free(sim);
    if (rc)
        sim_result_free(res);
    return rc;
}

void sim_result_free(struct sim_result *res)
{
    for (int i = 0; res->vcpus && i < res->nr_vcpus; i++) {
        free(res->vcpus[i].lat);
        free(res->vcpus[i].run_on_ns);
    }
    free(res->vcpus);
    res->vcpus = NULL;
    res->nr_vcpus = 0;
}

/* ---- queries and report ------------------------------------------------------- */

static bool dom_matches(const char *have, const char *want)
{
    size_t n = strlen(want);

    return strcmp(have, want) == 0 ||
           (strncmp(have, want, n) == 0 && have[n] == '.');
}

s_time_t sim_dom_run_ns(const struct sim_result *res, const char *dom)
{
    s_time_t sum = -1;

    for (int i = 0; i < res->nr_vcpus; i++)
        if (dom_matches(res->vcpus[i].dom, dom))
            sum = (sum < 0 ? 0 : sum) + res->vcpus[i].run_ns;
    return sum;
}

s_time_t sim_dom_latency(const struct sim_result *res, const char *dom,
                         int pct)
{
    long n = 0, k = 0;
    s_time_t *all, p;

    for (int i = 0; i < res->nr_vcpus; i++)
        if (dom_matches(res->vcpus[i].dom, dom))
            n += res->vcpus[i].nr_lat;
    if (n == 0)
        return -1;
    all = malloc((size_t)n * sizeof(*all));
    if (!all)
        return -1;
    for (int i = 0; i < res->nr_vcpus; i++)
        if (dom_matches(res->vcpus[i].dom, dom)) {
            memcpy(all + k, res->vcpus[i].lat,
                   (size_t)res->vcpus[i].nr_lat * sizeof(*all));
            k += res->vcpus[i].nr_lat;
        }
    qsort(all, (size_t)n, sizeof(*all), cmp_time);
    p = percentile(all, n, pct);
    free(all);
    return p;
}

static double ms(s_time_t ns)
{
    return (double)ns / 1e6;
}

static double us(s_time_t ns)
{
    return (double)ns / 1e3;
}

int sim_report(const struct sim_scenario *sc, const struct sim_result *res,
               FILE *f)
{
    fprintf(f, "# scenario=%s sched=%s cpus=%d duration=%.0fms seed=%llu "
               "decisions=%ld errors=%ld\n",
            sc->name, sc->sched, sc->nr_cpus, ms(sc->duration),
            (unsigned long long)sc->seed, res->decisions, res->errors);
    fprintf(f, "%-14s %4s %4s %10s %10s %10s %6s %7s %9s %9s %9s %7s %6s\n",
            "domain", "vcpu", "pool", "run_ms", "wait_ms", "block_ms", "run%",
            "wakes", "lat_p5us", "lat_p50us", "lat_p95us", "ctxsw", "miss");
    for (int i = 0; i < res->nr_vcpus; i++) {
        const struct sim_vcpu_stats *st = &res->vcpus[i];
        fprintf(f,
                "%-14s %4d %4d %10.3f %10.3f %10.3f %6.2f %7ld %9.1f %9.1f "
                "%9.1f %7ld %6ld\n",
                st->dom, st->vcpu_id, st->poolid, ms(st->run_ns),
                ms(st->runnable_ns), ms(st->blocked_ns),
                100.0 * (double)st->run_ns / (double)res->duration, st->wakes,
                us(st->lat_p5), us(st->lat_p50), us(st->lat_p95), st->ctxsw,
                st->misses);
    }
    for (int c = 0; c < res->nr_cpus; c++)
        fprintf(f, "cpu%-3d busy %6.2f%%\n", c,
                100.0 * (double)res->cpu_busy[c] / (double)res->duration);
    return ferror(f) ? -EIO : 0;
}
