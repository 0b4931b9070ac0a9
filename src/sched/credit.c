/*
 * credit.c — Xen's credit scheduler (xen/common/sched/credit.c semantics),
 * written for kxen as pure logic.
 *
 * Model:
 *  - Credits are 10 per millisecond of CPU.  A running vCPU is debited for
 *    the time it actually ran (burn_credits), measured from `now`, so a vCPU
 *    that blocks just before each tick is still charged for what it used.
 *  - Each pCPU has a tick every tslice/3 (10 ms by default).  The tick marks
 *    the running vCPU "active" (so it earns credit) and strips BOOST from it.
 *  - Every tslice (30 ms) the accounting pass hands out tslice worth of
 *    credit per pCPU, split by weight among active domains and evenly among
 *    each domain's active vCPUs; it sets UNDER (credit >= 0) or OVER, parks
 *    vCPUs of capped domains that overspent, and retires vCPUs with more
 *    than one tslice of credit from the active set (halving their credit).
 *  - Priorities: BOOST > UNDER > OVER > IDLE.  A vCPU waking from sleep with
 *    UNDER priority is BOOSTed so it can preempt CPU hogs.
 *  - Each pCPU has a runqueue; within a priority it is FIFO.  A pCPU whose
 *    best local choice is OVER (or nothing) steals better work from peers.
 *  - Ratelimit: a running vCPU is not preempted before ratelimit_us.
 *  - Migration delay (off by default): a vCPU is cache-hot on the pCPU it
 *    last ran on for migr_delay_us after it was last scheduled there; work
 *    stealing leaves hot vCPUs where they are queued.
 *
 * Invariants:
 *  - a vCPU is on at most one runqueue, and never while it is some pCPU's
 *    `curr`; only runnable (awake, not parked) vCPUs are queued.
 *  - weight_total == sum over active domains of weight * active vCPUs.
 *  - the runqueue list a vCPU sits on is q[queue_idx] of pcpu[processor].
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched-priv.h"

#define CREDITS_PER_MSEC 10
#define TICKS_PER_TSLICE 3
#define NEVER_SCHEDULED INT64_MIN /* last_sched_time of a new vCPU: cold */

enum csched_pri {
    PRI_BOOST = 0,
    PRI_UNDER = -1,
    PRI_OVER = -2,
    PRI_IDLE = -64,
};

/* Runqueue classes, best first. */
enum { Q_BOOST, Q_UNDER, Q_OVER, NR_QUEUES };

struct csched_dom;

struct csched_vcpu {
    struct sched_vcpu *v;
    struct csched_dom *sdom;
    struct sched_list runq_elem;
    struct sched_list active_elem;
    int64_t credit;
    int64_t residual; /* sub-credit remainder of burnt time, ns*credits */
    int pri;
    int queue_idx;
    bool awake;  /* the caller considers it runnable */
    bool parked; /* capped out: not runnable until credit recovers */
    bool yield_flag;
    bool running;
    s_time_t start_time; /* credits burnt up to here */
    s_time_t run_start;  /* when it last started running (ratelimit) */
    /* When a do_schedule last took it off (or kept it on) its pCPU: it
     * ran there until then, so its cache there is warm (migration delay). */
    s_time_t last_sched_time;
};

struct csched_dom {
    struct sched_dom *d;
    struct sched_list active_vcpus;
    struct sched_list active_elem;
    int active_count;
    int weight;
    int cap;
};

struct csched_pcpu {
    struct sched_list q[NR_QUEUES];
    int nr_queued;
    struct csched_vcpu *curr;
    s_time_t next_tick;
    s_time_t steal_retry; /* idle: look for work again then; -1 none */
};

struct csched_private {
    int tslice_ms;
    int ratelimit_us;
    int migr_delay_us;
    s_time_t tick_period;
    int64_t credits_per_tslice;
    s_time_t next_acct;
    bool acct_armed;
    int64_t weight_total;
    struct sched_list active_doms;
    struct sched_cpumask idlers;
    struct csched_pcpu pcpu[SCHED_MAX_CPUS];
};

static inline struct csched_private *PRV(struct sched_instance *s)
{
    return s->priv;
}
static inline struct csched_vcpu *SVC(struct sched_vcpu *v)
{
    return v->priv;
}
static inline struct csched_dom *SDOM(struct sched_dom *d)
{
    return d->priv;
}

static bool vcpu_runnable(const struct csched_vcpu *svc)
{
    return svc->awake && !svc->parked;
}

static int queue_of_pri(int pri)
{
    if (pri >= PRI_BOOST)
        return Q_BOOST;
    return pri == PRI_UNDER ? Q_UNDER : Q_OVER;
}

static s_time_t align_up(s_time_t now, s_time_t period)
{
    return (now / period + 1) * period;
}

/* ---- parameters ----------------------------------------------------------- */

static int check_pool_params(int tslice_ms, int ratelimit_us,
                             int migr_delay_us)
{
    if (tslice_ms < SCHED_TSLICE_MS_MIN || tslice_ms > SCHED_TSLICE_MS_MAX)
        return -EINVAL;
    if (ratelimit_us != 0 && (ratelimit_us < SCHED_RATELIMIT_US_MIN ||
                              ratelimit_us > SCHED_RATELIMIT_US_MAX))
        return -EINVAL;
    /* Xen refuses a ratelimit longer than the timeslice. */
    if ((int64_t)ratelimit_us > (int64_t)tslice_ms * 1000)
        return -EINVAL;
    if (migr_delay_us < 0 || migr_delay_us > SCHED_MIGR_DELAY_US_MAX)
        return -EINVAL;
    return 0;
}

/* Derived values, as csched_init/csched_sys_cntl compute them. */
static void apply_tslice(struct csched_private *prv, int tslice_ms)
{
    prv->tslice_ms = tslice_ms;
    if (tslice_ms < TICKS_PER_TSLICE)
        prv->tick_period = SCHED_MS(tslice_ms);
    else
        prv->tick_period = SCHED_MS(tslice_ms) / TICKS_PER_TSLICE;
    prv->credits_per_tslice = (int64_t)CREDITS_PER_MSEC * tslice_ms;
}

static int csched_pool_get(struct sched_instance *s,
                           struct sched_pool_params *p)
{
    p->tslice_ms = PRV(s)->tslice_ms;
    p->ratelimit_us = PRV(s)->ratelimit_us;
    p->runqueue = SCHED_PARAM_KEEP;
    p->migr_delay_us = PRV(s)->migr_delay_us;
    return 0;
}

static int csched_pool_set(struct sched_instance *s,
                           const struct sched_pool_params *p)
{
    struct csched_private *prv = PRV(s);
    int tslice = p->tslice_ms == SCHED_PARAM_KEEP ? prv->tslice_ms
                                                  : p->tslice_ms;
    int rl = p->ratelimit_us == SCHED_PARAM_KEEP ? prv->ratelimit_us
                                                 : p->ratelimit_us;
    int md = p->migr_delay_us == SCHED_PARAM_KEEP ? prv->migr_delay_us
                                                  : p->migr_delay_us;
    int rc = check_pool_params(tslice, rl, md);

    if (rc)
        return rc;
    if (p->runqueue != SCHED_PARAM_KEEP &&
        (p->runqueue < 0 || p->runqueue > SCHED_RUNQ_ALL))
        return -EINVAL;
    apply_tslice(prv, tslice);
    prv->ratelimit_us = rl;
    prv->migr_delay_us = md;
    return 0;
}

/* __csched_vcpu_is_cache_hot: scheduled on its pCPU less than the migration
 * delay ago. */
static bool vcpu_cache_hot(const struct csched_private *prv,
                           const struct csched_vcpu *svc, s_time_t now)
{
    return prv->migr_delay_us && svc->last_sched_time != NEVER_SCHEDULED &&
           now - svc->last_sched_time < SCHED_US(prv->migr_delay_us);
}

/* ---- runqueues ------------------------------------------------------------ */

static void runq_remove(struct csched_private *prv, struct csched_vcpu *svc)
{
    if (!SCHED_CHECK(sched_list_linked(&svc->runq_elem)))
        return;
    sched_list_del(&svc->runq_elem);
    prv->pcpu[svc->v->processor].nr_queued--;
}

/*
 * Queue at the tail of its priority class.  A vCPU that yielded goes behind
 * one vCPU of the next lower non-empty class, as Xen's __runq_insert does,
 * so that yielding actually lets someone else run.
 */
static void runq_insert(struct csched_private *prv, int cpu,
                        struct csched_vcpu *svc)
{
    struct csched_pcpu *pc = &prv->pcpu[cpu];
    int qi = queue_of_pri(svc->pri);

    if (!SCHED_CHECK(!svc->running && !sched_list_linked(&svc->runq_elem)))
        return;
    svc->v->processor = cpu;
    svc->queue_idx = qi;
    if (svc->yield_flag) {
        for (int lower = qi + 1; lower < NR_QUEUES; lower++) {
            if (!sched_list_empty(&pc->q[lower])) {
                svc->queue_idx = lower;
                sched_list_add_before(&svc->runq_elem,
                                      pc->q[lower].next->next);
                pc->nr_queued++;
                return;
            }
        }
    }
    sched_list_add_tail(&svc->runq_elem, &pc->q[qi]);
    pc->nr_queued++;
}

static struct csched_vcpu *runq_head(struct csched_pcpu *pc)
{
    for (int qi = 0; qi < NR_QUEUES; qi++)
        if (!sched_list_empty(&pc->q[qi]))
            return sched_container_of(pc->q[qi].next, struct csched_vcpu,
                                      runq_elem);
    return NULL;
}

/* After a priority change, move a queued vCPU to its new class. */
static void runq_requeue_if_moved(struct csched_private *prv,
                                  struct csched_vcpu *svc)
{
    if (!sched_list_linked(&svc->runq_elem) ||
        svc->queue_idx == queue_of_pri(svc->pri))
        return;
    runq_remove(prv, svc);
    runq_insert(prv, svc->v->processor, svc);
}

/* ---- choosing pCPUs and tickling ------------------------------------------- */

static bool cpu_is_idle(struct csched_private *prv, int cpu)
{
    return sched_cpumask_test(&prv->idlers, cpu) &&
           prv->pcpu[cpu].nr_queued == 0;
}

/* An idle pCPU in `mask`, preferring `pref`, else scanning after it. */
static int find_idle_cpu(struct csched_private *prv,
                         const struct sched_cpumask *mask, int pref)
{
    int c;

    if (sched_cpumask_test(mask, pref) && cpu_is_idle(prv, pref))
        return pref;
    c = sched_cpumask_cycle(mask, pref);
    for (int n = sched_cpumask_weight(mask); n > 0 && c >= 0; n--) {
        if (cpu_is_idle(prv, c))
            return c;
        c = sched_cpumask_cycle(mask, c);
    }
    return -1;
}

/*
 * Where a waking vCPU should queue: an idle pCPU in its soft affinity, else
 * an idle one in its hard affinity, else where it last ran (cache), else the
 * least-queued allowed pCPU.  Xen queues on the old pCPU and tickles an
 * idler to steal it; going straight to the idler gives the same placement.
 * A cache-hot vCPU cannot be stolen, so it stays on its old pCPU.
 */
static int csched_pick_cpu(struct sched_instance *s, struct sched_vcpu *v,
                           s_time_t now)
{
    struct csched_private *prv = PRV(s);
    struct sched_cpumask hard, soft;
    int c, best = -1;

    sched_effective_hard(s, v, &hard);
    if (sched_cpumask_empty(&hard))
        return v->processor;
    if (sched_cpumask_test(&hard, v->processor) &&
        vcpu_cache_hot(prv, SVC(v), now))
        return v->processor;
    sched_cpumask_and(&soft, &hard, &v->soft_affinity);
    if (!sched_cpumask_empty(&soft)) {
        c = find_idle_cpu(prv, &soft, v->processor);
        if (c >= 0)
            return c;
    }
    c = find_idle_cpu(prv, &hard, v->processor);
    if (c >= 0)
        return c;
    if (sched_cpumask_test(&hard, v->processor))
        return v->processor;
    sched_for_each_cpu(cpu, &hard)
        if (best < 0 || prv->pcpu[cpu].nr_queued < prv->pcpu[best].nr_queued)
            best = cpu;
    return best;
}

static void tickle_cpu(struct sched_instance *s, int cpu)
{
    sched_cpumask_clear(&PRV(s)->idlers, cpu);
    s->env.tickle(s->env.opaque, cpu);
}

/* An idle pCPU of `svc`'s soft affinity (within its hard one) if `cpu` is
 * outside it, else -1.  Xen's _csched_cpu_pick sends a vCPU there when it
 * is descheduled, and csched_vcpu_acct checks on every tick whether the
 * running one should go (migrate_running). */
static int idle_soft_cpu(struct sched_instance *s, struct csched_vcpu *svc,
                         int cpu)
{
    struct sched_cpumask soft;

    sched_effective_hard(s, svc->v, &soft);
    sched_cpumask_and(&soft, &soft, &svc->v->soft_affinity);
    if (sched_cpumask_empty(&soft) || sched_cpumask_test(&soft, cpu))
        return -1;
    return find_idle_cpu(PRV(s), &soft, cpu);
}

/* __runq_tickle: preempt if `svc` beats what runs there, else wake an idler
 * that may steal it. */
static void runq_tickle(struct sched_instance *s, int cpu,
                        struct csched_vcpu *svc)
{
    struct csched_private *prv = PRV(s);
    struct csched_vcpu *cur = prv->pcpu[cpu].curr;
    struct sched_cpumask hard;
    int idle;

    if (!cur || svc->pri > cur->pri) {
        tickle_cpu(s, cpu);
        return;
    }
    sched_effective_hard(s, svc->v, &hard);
    sched_cpumask_and(&hard, &hard, &prv->idlers);
    idle = sched_cpumask_first(&hard);
    if (idle >= 0)
        tickle_cpu(s, idle);
}

/* Queue a runnable, not-running vCPU somewhere sensible and tickle. */
static void enqueue_and_tickle(struct sched_instance *s,
                               struct csched_vcpu *svc, s_time_t now)
{
    int cpu = csched_pick_cpu(s, svc->v, now);

    if (!sched_cpumask_test(&s->cpus, cpu))
        return; /* the pool has no CPUs: wait for one to be added */
    runq_insert(PRV(s), cpu, svc);
    runq_tickle(s, cpu, svc);
}

/* ---- credit accounting ------------------------------------------------------ */

static void burn_credits(struct csched_vcpu *svc, s_time_t now)
{
    s_time_t delta = now - svc->start_time;
    int64_t val, credits;

    if (delta <= 0)
        return;
    val = delta * CREDITS_PER_MSEC + svc->residual;
    credits = val / SCHED_MS(1);
    svc->residual = val % SCHED_MS(1);
    svc->credit -= credits;
    svc->start_time = now;
}

static void acct_start(struct csched_private *prv, struct csched_vcpu *svc)
{
    struct csched_dom *sdom = svc->sdom;

    if (sched_list_linked(&svc->active_elem))
        return;
    sched_list_add_tail(&svc->active_elem, &sdom->active_vcpus);
    if (sdom->active_count++ == 0)
        sched_list_add_tail(&sdom->active_elem, &prv->active_doms);
    prv->weight_total += sdom->weight;
}

static void acct_stop(struct csched_private *prv, struct csched_vcpu *svc)
{
    struct csched_dom *sdom = svc->sdom;

    if (!sched_list_linked(&svc->active_elem))
        return;
    sched_list_del(&svc->active_elem);
    prv->weight_total -= sdom->weight;
    if (--sdom->active_count == 0)
        sched_list_del(&sdom->active_elem);
}

static void park_vcpu(struct sched_instance *s, struct csched_vcpu *svc)
{
    svc->parked = true;
    if (sched_list_linked(&svc->runq_elem))
        runq_remove(PRV(s), svc);
    if (svc->running)
        tickle_cpu(s, svc->v->processor);
}

static void unpark_vcpu(struct sched_instance *s, struct csched_vcpu *svc,
                        s_time_t now)
{
    svc->parked = false;
    if (svc->awake && !svc->running)
        enqueue_and_tickle(s, svc, now);
}

/* Per-vCPU update of csched_acct, after its share was added. */
static void acct_update_vcpu(struct sched_instance *s,
                             struct csched_vcpu *svc, int64_t credit_cap,
                             s_time_t now)
{
    struct csched_private *prv = PRV(s);

    if (svc->credit < 0) {
        svc->pri = PRI_OVER;
        if (svc->sdom->cap && svc->credit < -credit_cap && !svc->parked)
            park_vcpu(s, svc);
        if (svc->credit < -prv->credits_per_tslice)
            svc->credit = -prv->credits_per_tslice;
    } else {
        svc->pri = PRI_UNDER;
        if (svc->parked)
            unpark_vcpu(s, svc, now);
        /* Plenty of credit: stop earning until a tick catches it running;
         * halve so it restarts a little ahead. */
        if (svc->credit > prv->credits_per_tslice) {
            acct_stop(prv, svc);
            svc->credit /= 2;
        }
    }
    runq_requeue_if_moved(prv, svc);
}

/*
 * csched_acct: distribute one accounting period of credit.  Domains that
 * cannot use their fair share (cap, or too few active vCPUs to burn it)
 * hand the surplus to the domains after them; those that got a surplus are
 * moved to the list head so next time the order favours them, as in Xen.
 */
static void csched_acct(struct sched_instance *s, s_time_t now)
{
    struct csched_private *prv = PRV(s);
    int ncpus = sched_cpumask_weight(&s->cpus);
    int64_t weight_total = prv->weight_total, weight_left = weight_total;
    int64_t credit_total = prv->credits_per_tslice * ncpus;
    bool credit_xtra = false;

    if (weight_total <= 0 || ncpus == 0)
        return;
    sched_list_for_each_safe(de, dtmp, &prv->active_doms) {
        struct csched_dom *sdom =
            sched_container_of(de, struct csched_dom, active_elem);
        int64_t active = sdom->active_count;
        int64_t credit_peak = active * prv->credits_per_tslice;
        int64_t credit_cap = 0, credit_fair;

        weight_left -= sdom->weight * active;
        if (sdom->cap) {
            credit_cap = (sdom->cap * prv->credits_per_tslice + 99) / 100;
            if (credit_cap < credit_peak)
                credit_peak = credit_cap;
            credit_cap = (credit_cap + active - 1) / active;
        }
        credit_fair = (credit_total * sdom->weight * active + weight_total -
                       1) / weight_total;
        if (credit_fair < credit_peak) {
            credit_xtra = true;
        } else {
            if (weight_left > 0)
                credit_total += ((credit_fair - credit_peak) * weight_total +
                                 weight_left - 1) / weight_left;
            if (credit_xtra) {
                sched_list_del(&sdom->active_elem);
                sched_list_add_head(&sdom->active_elem, &prv->active_doms);
            }
            credit_fair = credit_peak;
        }
        credit_fair = (credit_fair + active - 1) / active;
        sched_list_for_each_safe(ve, vtmp, &sdom->active_vcpus) {
            struct csched_vcpu *svc =
                sched_container_of(ve, struct csched_vcpu, active_elem);
            svc->credit += credit_fair;
            acct_update_vcpu(s, svc, credit_cap, now);
        }
    }
}

/* csched_tick's per-vCPU part: the running vCPU used real CPU, so it is
 * no longer boosted and it takes part in the next accounting. */
static void vcpu_tick_acct(struct csched_private *prv,
                           struct csched_vcpu *svc, s_time_t now)
{
    if (svc->pri == PRI_BOOST)
        svc->pri = PRI_UNDER;
    burn_credits(svc, now);
    acct_start(prv, svc);
}

/* The pCPU's next timer: its tick, the accounting pass, or a steal retry. */
static void arm_timer(struct sched_instance *s, int cpu)
{
    struct csched_private *prv = PRV(s);
    struct csched_pcpu *pc = &prv->pcpu[cpu];
    s_time_t next = pc->next_tick < prv->next_acct ? pc->next_tick
                                                   : prv->next_acct;

    if (pc->steal_retry >= 0 && pc->steal_retry < next)
        next = pc->steal_retry;
    s->env.set_timer(s->env.opaque, cpu, next);
}

static void csched_timer(struct sched_instance *s, int cpu, s_time_t now)
{
    struct csched_private *prv = PRV(s);
    struct csched_pcpu *pc = &prv->pcpu[cpu];
    s_time_t acct_period = SCHED_MS(prv->tslice_ms);

    if (!sched_cpumask_test(&s->cpus, cpu))
        return;
    if (now >= prv->next_acct) {
        csched_acct(s, now);
        prv->next_acct += acct_period;
        if (prv->next_acct <= now) /* long gap: don't replay missed periods */
            prv->next_acct = align_up(now, acct_period);
    }
    if (now >= pc->next_tick) {
        if (pc->curr)
            vcpu_tick_acct(prv, pc->curr, now);
        /* migrate_running: outside its soft affinity while a pCPU in it is
         * idle: reschedule, deschedule_current sends it there. */
        if (pc->curr && idle_soft_cpu(s, pc->curr, cpu) >= 0)
            tickle_cpu(s, cpu);
        pc->next_tick = align_up(now, prv->tick_period);
    }
    if (pc->steal_retry >= 0 && now >= pc->steal_retry) {
        pc->steal_retry = -1;
        if (!pc->curr)
            tickle_cpu(s, cpu);
    }
    arm_timer(s, cpu);
}

/* ---- work stealing ------------------------------------------------------------- */

/* A queued vCPU on `peer` better than `pri` that may run on `cpu` and is
 * not cache-hot on `peer`.  *cool gets the earliest time a hot vCPU that
 * was passed over cools down (unchanged if none was). */
static struct csched_vcpu *runq_steal(struct sched_instance *s, int peer,
                                      int cpu, int pri, bool soft_pass,
                                      s_time_t now, s_time_t *cool)
{
    struct csched_private *prv = PRV(s);
    struct csched_pcpu *pc = &prv->pcpu[peer];

    for (int qi = 0; qi < NR_QUEUES; qi++) {
        sched_list_for_each(e, &pc->q[qi]) {
            struct csched_vcpu *svc =
                sched_container_of(e, struct csched_vcpu, runq_elem);
            struct sched_cpumask hard;

            if (svc->pri <= pri)
                continue;
            sched_effective_hard(s, svc->v, &hard);
            if (!sched_cpumask_test(&hard, cpu))
                continue;
            if (soft_pass && !sched_cpumask_test(&svc->v->soft_affinity, cpu))
                continue;
            if (vcpu_cache_hot(prv, svc, now)) {
                s_time_t t = svc->last_sched_time +
                             SCHED_US(prv->migr_delay_us);
                if (*cool < 0 || t < *cool)
                    *cool = t;
                continue;
            }
            return svc;
        }
    }
    return NULL;
}

/* csched_load_balance: first steal work that prefers us (soft affinity),
 * then anything allowed to run here.  *cool: as for runq_steal. */
static struct csched_vcpu *load_balance(struct sched_instance *s, int cpu,
                                        int pri, s_time_t now, s_time_t *cool)
{
    struct csched_private *prv = PRV(s);
    int npeers = sched_cpumask_weight(&s->cpus) - 1;

    for (int pass = 0; pass < 2; pass++) {
        int peer = cpu;
        for (int n = 0; n < npeers; n++) {
            struct csched_vcpu *svc;

            peer = sched_cpumask_cycle(&s->cpus, peer);
            /* As Xen (nr_runnable <= 1): a peer with nothing running and
             * one vCPU queued was tickled to run that one itself. */
            if (peer == cpu || prv->pcpu[peer].nr_queued == 0 ||
                (!prv->pcpu[peer].curr && prv->pcpu[peer].nr_queued == 1))
                continue;
            svc = runq_steal(s, peer, cpu, pri, pass == 0, now, cool);
            if (svc) {
                runq_remove(prv, svc);
                return svc;
            }
        }
    }
    return NULL;
}

/* ---- the decision ---------------------------------------------------------------- */

static bool ratelimit_keeps(struct sched_instance *s, struct csched_vcpu *cur,
                            int cpu, s_time_t now, s_time_t *left)
{
    struct csched_private *prv = PRV(s);
    s_time_t runtime, limit = SCHED_US(prv->ratelimit_us);
    struct sched_cpumask hard;

    if (!limit || !vcpu_runnable(cur) || cur->yield_flag)
        return false;
    sched_effective_hard(s, cur->v, &hard);
    if (!sched_cpumask_test(&hard, cpu))
        return false;
    runtime = now - cur->run_start;
    if (runtime >= limit)
        return false;
    *left = limit - runtime;
    return true;
}

/* Take the current vCPU off the pCPU; requeue it if it can still run. */
static void deschedule_current(struct sched_instance *s, int cpu,
                               struct csched_vcpu *cur, s_time_t now)
{
    struct csched_private *prv = PRV(s);
    struct sched_cpumask hard;
    int soft_cpu;

    prv->pcpu[cpu].curr = NULL;
    cur->running = false;
    if (vcpu_runnable(cur)) {
        sched_effective_hard(s, cur->v, &hard);
        soft_cpu = idle_soft_cpu(s, cur, cpu);
        if (soft_cpu >= 0) {
            runq_insert(prv, soft_cpu, cur);
            tickle_cpu(s, soft_cpu);
        } else if (sched_cpumask_test(&hard, cpu)) {
            runq_insert(prv, cpu, cur);
        } else {
            enqueue_and_tickle(s, cur, now);
        }
    }
    cur->yield_flag = false;
}

/* `svc` was preempted and waits on `cpu`'s runqueue: wake an idle pCPU it
 * may run on (soft affinity first) to steal it.  Xen's __runq_tickle kicks
 * the preempted vCPU away to an idler the same way, rather than leave a
 * pCPU idle while work waits. */
static void tickle_idler_for(struct sched_instance *s, struct csched_vcpu *svc,
                             int cpu)
{
    struct sched_cpumask hard, soft;
    int c;

    sched_effective_hard(s, svc->v, &hard);
    sched_cpumask_and(&soft, &hard, &svc->v->soft_affinity);
    c = find_idle_cpu(PRV(s), &soft, cpu);
    if (c < 0)
        c = find_idle_cpu(PRV(s), &hard, cpu);
    if (c >= 0 && c != cpu)
        tickle_cpu(s, c);
}

static struct sched_decision csched_do_schedule(struct sched_instance *s,
                                                int cpu, s_time_t now)
{
    struct csched_private *prv = PRV(s);
    struct csched_pcpu *pc = &prv->pcpu[cpu];
    struct csched_vcpu *cur = pc->curr, *snext;
    struct sched_decision d = { .next = NULL, .slice = -1 };
    s_time_t left, cool = -1;

    if (!sched_cpumask_test(&s->cpus, cpu))
        return d;
    pc->steal_retry = -1;
    if (cur) {
        burn_credits(cur, now);
        cur->last_sched_time = now;
        if (ratelimit_keeps(s, cur, cpu, now, &left)) {
            d.next = cur->v;
            d.slice = left;
            return d;
        }
        deschedule_current(s, cpu, cur, now);
    }
    snext = runq_head(pc);
    if (!snext || snext->pri <= PRI_OVER) {
        struct csched_vcpu *stolen =
            load_balance(s, cpu, snext ? snext->pri : PRI_IDLE, now, &cool);
        if (stolen) {
            snext = stolen;
            d.migrated = true;
        }
    }
    if (!snext) {
        sched_cpumask_set(&prv->idlers, cpu);
        /* Work is queued elsewhere but cache-hot there.  Xen's tick would
         * eventually move a running vCPU to this idler; here the idler
         * looks again when the first hot one cools down, so it does not
         * idle next to queued work for good. */
        if (cool >= 0) {
            pc->steal_retry = cool;
            arm_timer(s, cpu);
        }
        return d;
    }
    if (cur && cur != snext && sched_list_linked(&cur->runq_elem) &&
        cur->v->processor == cpu)
        tickle_idler_for(s, cur, cpu);
    if (!d.migrated)
        runq_remove(prv, snext);
    sched_cpumask_clear(&prv->idlers, cpu);
    pc->curr = snext;
    snext->running = true;
    snext->v->processor = cpu;
    snext->start_time = now;
    if (snext != cur)
        snext->run_start = now;
    d.next = snext->v;
    d.slice = SCHED_MS(prv->tslice_ms);
    return d;
}

/* ---- vCPU state changes ---------------------------------------------------------- */

static void csched_sleep(struct sched_instance *s, struct sched_vcpu *v,
                         s_time_t now)
{
    struct csched_vcpu *svc = SVC(v);

    svc->awake = false;
    if (svc->running)
        tickle_cpu(s, v->processor);
    else if (sched_list_linked(&svc->runq_elem))
        runq_remove(PRV(s), svc);
}

static void csched_wake(struct sched_instance *s, struct sched_vcpu *v,
                        s_time_t now)
{
    struct csched_vcpu *svc = SVC(v);

    if (svc->awake)
        return;
    svc->awake = true;
    if (svc->running || svc->parked)
        return;
    /* Boost only vCPUs that have not overspent: waking I/O-bound guests
     * get to run at once, CPU hogs that sleep briefly do not. */
    if (svc->pri == PRI_UNDER)
        svc->pri = PRI_BOOST;
    enqueue_and_tickle(s, svc, now);
}

static void csched_yield(struct sched_instance *s, struct sched_vcpu *v,
                         s_time_t now)
{
    struct csched_vcpu *svc = SVC(v);

    svc->yield_flag = true;
    if (svc->running)
        tickle_cpu(s, v->processor);
}

static void csched_insert_vcpu(struct sched_instance *s, struct sched_vcpu *v,
                               s_time_t now)
{
    struct sched_cpumask hard;

    sched_effective_hard(s, v, &hard);
    if (!sched_cpumask_test(&hard, v->processor) && !sched_cpumask_empty(&hard))
        v->processor = sched_cpumask_first(&hard);
    SVC(v)->start_time = now;
}

static void csched_remove_vcpu(struct sched_instance *s, struct sched_vcpu *v,
                               s_time_t now)
{
    struct csched_private *prv = PRV(s);
    struct csched_vcpu *svc = SVC(v);

    if (svc->running) {
        prv->pcpu[v->processor].curr = NULL;
        svc->running = false;
        tickle_cpu(s, v->processor);
    }
    if (sched_list_linked(&svc->runq_elem))
        runq_remove(prv, svc);
    acct_stop(prv, svc);
    svc->awake = false;
}

/* ---- allocation ----------------------------------------------------------------- */

static int csched_alloc_domdata(struct sched_instance *s, struct sched_dom *d)
{
    struct csched_dom *sdom = calloc(1, sizeof(*sdom));

    if (!sdom)
        return -ENOMEM;
    sdom->d = d;
    sdom->weight = SCHED_WEIGHT_DEFAULT;
    sched_list_init(&sdom->active_vcpus);
    sched_list_init(&sdom->active_elem);
    d->priv = sdom;
    return 0;
}

static void csched_free_domdata(struct sched_instance *s, struct sched_dom *d)
{
    free(d->priv);
    d->priv = NULL;
}

static int csched_alloc_vdata(struct sched_instance *s, struct sched_vcpu *v)
{
    struct csched_vcpu *svc = calloc(1, sizeof(*svc));

    if (!svc)
        return -ENOMEM;
    svc->v = v;
    svc->sdom = SDOM(v->dom);
    svc->pri = PRI_UNDER;
    svc->last_sched_time = NEVER_SCHEDULED;
    sched_list_init(&svc->runq_elem);
    sched_list_init(&svc->active_elem);
    v->priv = svc;
    return 0;
}

static void csched_free_vdata(struct sched_instance *s, struct sched_vcpu *v)
{
    free(v->priv);
    v->priv = NULL;
}

/* ---- domain parameters ------------------------------------------------------------ */

static int csched_dom_get(struct sched_instance *s, struct sched_dom *d,
                          struct sched_dom_params *p)
{
    p->weight = SDOM(d)->weight;
    p->cap = SDOM(d)->cap;
    return 0;
}

static int csched_dom_set(struct sched_instance *s, struct sched_dom *d,
                          const struct sched_dom_params *p, s_time_t now)
{
    struct csched_private *prv = PRV(s);
    struct csched_dom *sdom = SDOM(d);

    if (p->weight != SCHED_PARAM_KEEP &&
        (p->weight < SCHED_WEIGHT_MIN || p->weight > SCHED_WEIGHT_MAX))
        return -EINVAL;
    if (p->cap != SCHED_PARAM_KEEP &&
        (p->cap < 0 || p->cap > 100 * (d->nr_vcpus > 0 ? d->nr_vcpus : 1)))
        return -EINVAL;
    if (p->weight != SCHED_PARAM_KEEP) {
        prv->weight_total += (int64_t)(p->weight - sdom->weight) *
                             sdom->active_count;
        sdom->weight = p->weight;
    }
    if (p->cap != SCHED_PARAM_KEEP) {
        sdom->cap = p->cap;
        /* Uncapped: nothing may stay parked. */
        for (int i = 0; !sdom->cap && i < d->nr_vcpus; i++)
            if (SVC(d->vcpus[i])->parked)
                unpark_vcpu(s, SVC(d->vcpus[i]), now);
    }
    return 0;
}

/* ---- pCPUs and instance --------------------------------------------------------------- */

static int csched_add_cpu(struct sched_instance *s, int cpu, s_time_t now)
{
    struct csched_private *prv = PRV(s);
    struct csched_pcpu *pc = &prv->pcpu[cpu];

    if (!sched_cpumask_valid_cpu(cpu) || sched_cpumask_test(&s->cpus, cpu))
        return -EINVAL;
    for (int qi = 0; qi < NR_QUEUES; qi++)
        sched_list_init(&pc->q[qi]);
    pc->nr_queued = 0;
    pc->curr = NULL;
    pc->steal_retry = -1;
    sched_cpumask_set(&s->cpus, cpu);
    sched_cpumask_set(&prv->idlers, cpu);
    if (!prv->acct_armed) {
        prv->next_acct = align_up(now, SCHED_MS(prv->tslice_ms));
        prv->acct_armed = true;
    }
    pc->next_tick = align_up(now, prv->tick_period);
    s->env.set_timer(s->env.opaque, cpu, pc->next_tick);
    /* Work may have waited for a CPU (pool had none): let it come. */
    tickle_cpu(s, cpu);
    return 0;
}

static int csched_remove_cpu(struct sched_instance *s, int cpu, s_time_t now)
{
    struct csched_private *prv = PRV(s);
    struct csched_pcpu *pc = &prv->pcpu[cpu];
    struct csched_vcpu *cur = pc->curr;

    if (!sched_cpumask_test(&s->cpus, cpu))
        return -EINVAL;
    sched_cpumask_clear(&s->cpus, cpu);
    sched_cpumask_clear(&prv->idlers, cpu);
    if (cur) {
        burn_credits(cur, now);
        cur->last_sched_time = now;
        pc->curr = NULL;
        cur->running = false;
        cur->yield_flag = false;
        if (vcpu_runnable(cur))
            enqueue_and_tickle(s, cur, now);
    }
    for (int qi = 0; qi < NR_QUEUES; qi++) {
        sched_list_for_each_safe(e, tmp, &pc->q[qi]) {
            struct csched_vcpu *svc =
                sched_container_of(e, struct csched_vcpu, runq_elem);
            runq_remove(prv, svc);
            enqueue_and_tickle(s, svc, now);
        }
    }
    return 0;
}

static int csched_init(struct sched_instance *s,
                       const struct sched_pool_params *p)
{
    struct csched_private *prv;
    int tslice = SCHED_TSLICE_MS_DEFAULT, rl = SCHED_RATELIMIT_US_DEFAULT;
    int md = SCHED_MIGR_DELAY_US_DEFAULT;
    int rc;

    if (p && p->tslice_ms != SCHED_PARAM_KEEP)
        tslice = p->tslice_ms;
    if (p && p->ratelimit_us != SCHED_PARAM_KEEP)
        rl = p->ratelimit_us;
    if (p && p->migr_delay_us != SCHED_PARAM_KEEP)
        md = p->migr_delay_us;
    rc = check_pool_params(tslice, rl, md);
    if (rc)
        return rc;
    prv = calloc(1, sizeof(*prv));
    if (!prv)
        return -ENOMEM;
    apply_tslice(prv, tslice);
    prv->ratelimit_us = rl;
    prv->migr_delay_us = md;
    sched_list_init(&prv->active_doms);
    s->priv = prv;
    return 0;
}

static void csched_deinit(struct sched_instance *s)
{
    free(s->priv);
    s->priv = NULL;
}

static const char *pri_name(int pri)
{
    switch (pri) {
    case PRI_BOOST: return "BOOST";
    case PRI_UNDER: return "UNDER";
    case PRI_OVER: return "OVER";
    default: return "IDLE";
    }
}

static int dump_vcpu(char *buf, size_t len, int off, struct csched_vcpu *svc)
{
    return sched_dump_append(buf, len, off,
                             " d%dv%d(cr=%lld %s%s%s)", svc->v->dom->domid,
                             svc->v->vcpu_id, (long long)svc->credit,
                             pri_name(svc->pri), svc->parked ? ",parked" : "",
                             sched_list_linked(&svc->active_elem) ? ",active"
                                                                  : "");
}

static int csched_dump(struct sched_instance *s, char *buf, size_t len)
{
    struct csched_private *prv = PRV(s);
    int off = 0;

    off = sched_dump_append(buf, len, off,
                            "credit: tslice=%dms ratelimit=%dus "
                            "migration-delay=%dus tick=%lldus "
                            "weight_total=%lld\n",
                            prv->tslice_ms, prv->ratelimit_us,
                            prv->migr_delay_us,
                            (long long)(prv->tick_period / 1000),
                            (long long)prv->weight_total);
    sched_for_each_cpu(cpu, &s->cpus) {
        struct csched_pcpu *pc = &prv->pcpu[cpu];
        off = sched_dump_append(buf, len, off, "cpu%d: curr=", cpu);
        off = pc->curr ? dump_vcpu(buf, len, off, pc->curr)
                       : sched_dump_append(buf, len, off, " idle");
        off = sched_dump_append(buf, len, off, " runq:");
        for (int qi = 0; qi < NR_QUEUES; qi++)
            sched_list_for_each(e, &pc->q[qi])
                off = dump_vcpu(buf, len, off,
                                sched_container_of(e, struct csched_vcpu,
                                                   runq_elem));
        off = sched_dump_append(buf, len, off, "\n");
    }
    sched_list_for_each(e, &prv->active_doms) {
        struct csched_dom *sdom =
            sched_container_of(e, struct csched_dom, active_elem);
        off = sched_dump_append(buf, len, off,
                                "active d%d: weight=%d cap=%d vcpus=%d\n",
                                sdom->d->domid, sdom->weight, sdom->cap,
                                sdom->active_count);
    }
    return off;
}

const struct sched_ops sched_credit_ops = {
    .name = "credit",
    .init = csched_init,
    .deinit = csched_deinit,
    .add_cpu = csched_add_cpu,
    .remove_cpu = csched_remove_cpu,
    .alloc_domdata = csched_alloc_domdata,
    .free_domdata = csched_free_domdata,
    .alloc_vdata = csched_alloc_vdata,
    .free_vdata = csched_free_vdata,
    .insert_vcpu = csched_insert_vcpu,
    .remove_vcpu = csched_remove_vcpu,
    .sleep = csched_sleep,
    .wake = csched_wake,
    .yield = csched_yield,
    .do_schedule = csched_do_schedule,
    .pick_cpu = csched_pick_cpu,
    .timer = csched_timer,
    .dom_get = csched_dom_get,
    .dom_set = csched_dom_set,
    .pool_get = csched_pool_get,
    .pool_set = csched_pool_set,
    .dump = csched_dump,
};
