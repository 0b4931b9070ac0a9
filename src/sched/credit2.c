/*
 * credit2.c — Xen's credit2 scheduler (xen/common/sched/credit2.c
 * semantics), written for kxen as pure logic.
 *
 * Model:
 *  - pCPUs are grouped into runqueues by the pool's arrangement (cpu, core,
 *    socket — the default —, node or all), read from the caller's topology.
 *    Every vCPU is assigned to one runqueue; the runqueue list is kept sorted
 *    by credit, highest first.
 *  - Credit is nanoseconds.  A running vCPU burns it at max_weight/weight
 *    times wall-clock rate (max_weight: the biggest weight on the runqueue),
 *    so a heavier domain's credit lasts proportionally longer.
 *  - When the vCPU chosen to run has credit <= 0, every vCPU of the runqueue
 *    gets CREDIT_INIT more (clipped to CREDIT_INIT + CARRYOVER_MAX): the
 *    "credit reset" that starts a new epoch.
 *  - The timeslice runs until the chosen vCPU would fall below the next one
 *    in line, clamped to [MIN_TIMER, MAX_TIMER] and at least ratelimit.
 *  - Load: each runqueue keeps an exponentially decaying average of how many
 *    runnable vCPUs it has (fixed point, window 2^30 ns).  Waking vCPUs go
 *    to the least loaded runqueue; every BALANCE_PERIOD a pCPU compares its
 *    runqueue with the most different one and moves one queued vCPU across.
 *  - Wake tickles an idle pCPU of the runqueue (soft affinity first), or
 *    preempts the pCPU running the lowest-credit vCPU if the woken vCPU has
 *    more credit (minus MIGRATE_RESIST when it would change pCPU).
 *  - Cap: a domain gets cap% of one pCPU per 10 ms budget period; its vCPUs
 *    are parked when the budget is gone and unparked at replenishment.
 *
 * Invariants:
 *  - a vCPU is on its runqueue list only when runnable and not running;
 *  - rq->load == number of runnable (awake, unparked) vCPUs assigned to it;
 *  - svc->rq is set iff the vCPU is on rq->svcs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched-priv.h"

#define CREDIT_INIT SCHED_MS(10)
#define CREDIT_RESET 0
#define CARRYOVER_MAX SCHED_US(500)
#define MIN_TIMER SCHED_US(500)
#define MAX_TIMER CREDIT_INIT
#define MIGRATE_RESIST SCHED_US(500)
#define LOAD_PRECISION_SHIFT 18
#define LOAD_WINDOW_SHIFT 30
#define BALANCE_PERIOD SCHED_MS(10)
#define BUDGET_PERIOD SCHED_MS(10)

struct c2_dom;
struct c2_runq;

struct c2_vcpu {
    struct sched_vcpu *v;
    struct c2_dom *sdom;
    struct c2_runq *rq;
    struct sched_list runq_elem; /* on rq->runq when queued */
    struct sched_list rq_elem;   /* on rq->svcs while assigned */
    s_time_t credit;
    s_time_t start_time;
    s_time_t run_start;
    bool awake, parked, running, yield_flag;
};

struct c2_dom {
    struct sched_dom *d;
    int weight;
    int cap;
    s_time_t budget;      /* ns left this period (capped domains) */
    struct sched_list capped_elem;
};

struct c2_runq {
    bool in_use;
    int key; /* topology id the pCPUs share */
    struct sched_cpumask cpus, idle, tickled;
    struct sched_list runq;
    struct sched_list svcs;
    int nr_svcs;
    int load;
    int64_t avgload;
    s_time_t load_last_update;
    s_time_t next_balance;
    int max_weight;
};

struct c2_pcpu {
    struct c2_runq *rq;
    struct c2_vcpu *curr;
};

struct c2_private {
    int ratelimit_us;
    int arrangement;
    struct sched_list capped_doms;
    s_time_t next_repl;
    struct c2_pcpu pcpu[SCHED_MAX_CPUS];
    struct c2_runq rqs[SCHED_MAX_CPUS];
};

static inline struct c2_private *PRV(struct sched_instance *s)
{
    return s->priv;
}
static inline struct c2_vcpu *SVC(struct sched_vcpu *v)
{
    return v->priv;
}
static inline struct c2_dom *SDOM(struct sched_dom *d)
{
    return d->priv;
}

static bool vcpu_runnable(const struct c2_vcpu *svc)
{
    return svc->awake && !svc->parked;
}

static bool cpu_allowed(struct sched_instance *s, const struct c2_vcpu *svc,
                        int cpu)
{
    struct sched_cpumask hard;

    sched_effective_hard(s, svc->v, &hard);
    return sched_cpumask_test(&hard, cpu);
}

/* ---- load tracking ------------------------------------------------------- */

/* Decay avgload to `now`, then apply `change` to the instantaneous load. */
static void update_runq_load(struct c2_runq *rq, int change, s_time_t now)
{
    s_time_t delta = now - rq->load_last_update;
    int64_t inst = (int64_t)rq->load << LOAD_PRECISION_SHIFT;

    if (delta < 0)
        delta = 0;
    if (delta >= (s_time_t)1 << LOAD_WINDOW_SHIFT)
        rq->avgload = inst;
    else
        rq->avgload = (delta * inst +
                       (((s_time_t)1 << LOAD_WINDOW_SHIFT) - delta) *
                           rq->avgload) >> LOAD_WINDOW_SHIFT;
    rq->load_last_update = now;
    rq->load += change;
    if (!SCHED_CHECK(rq->load >= 0))
        rq->load = 0;
}

/* What placement decisions compare: the average blended with the present,
 * so a burst of wakes spreads out before the long average catches up. */
static int64_t runq_load_metric(const struct c2_runq *rq)
{
    return (rq->avgload + ((int64_t)rq->load << LOAD_PRECISION_SHIFT)) / 2;
}

static void recompute_max_weight(struct c2_runq *rq)
{
    int maxw = 1;

    sched_list_for_each(e, &rq->svcs) {
        struct c2_vcpu *svc = sched_container_of(e, struct c2_vcpu, rq_elem);
        if (svc->sdom->weight > maxw)
            maxw = svc->sdom->weight;
    }
    rq->max_weight = maxw;
}

/* ---- runqueue membership and ordering -------------------------------------- */

static void runq_insert(struct c2_runq *rq, struct c2_vcpu *svc)
{
    struct sched_list *pos = &rq->runq;

    if (!SCHED_CHECK(!svc->running && !sched_list_linked(&svc->runq_elem)))
        return;
    sched_list_for_each(e, &rq->runq) {
        struct c2_vcpu *o = sched_container_of(e, struct c2_vcpu, runq_elem);
        if (svc->credit > o->credit) {
            pos = e;
            break;
        }
    }
    sched_list_add_before(&svc->runq_elem, pos);
}

static void runq_remove(struct c2_vcpu *svc)
{
    if (sched_list_linked(&svc->runq_elem))
        sched_list_del(&svc->runq_elem);
}

static void runq_assign(struct c2_runq *rq, struct c2_vcpu *svc, s_time_t now)
{
    if (!SCHED_CHECK(!svc->rq))
        return;
    svc->rq = rq;
    sched_list_add_tail(&svc->rq_elem, &rq->svcs);
    rq->nr_svcs++;
    if (svc->sdom->weight > rq->max_weight)
        rq->max_weight = svc->sdom->weight;
    if (vcpu_runnable(svc))
        update_runq_load(rq, +1, now);
}

static void runq_deassign(struct c2_vcpu *svc, s_time_t now)
{
    struct c2_runq *rq = svc->rq;

    if (!rq)
        return;
    runq_remove(svc);
    if (vcpu_runnable(svc))
        update_runq_load(rq, -1, now);
    sched_list_del(&svc->rq_elem);
    rq->nr_svcs--;
    svc->rq = NULL;
    recompute_max_weight(rq);
}

/* ---- credit ------------------------------------------------------------------ */

static void burn_credits(struct c2_runq *rq, struct c2_vcpu *svc, s_time_t now)
{
    s_time_t delta = now - svc->start_time;

    if (delta <= 0)
        return;
    svc->credit -= delta * rq->max_weight / svc->sdom->weight;
    if (svc->sdom->cap)
        svc->sdom->budget -= delta;
    svc->start_time = now;
}

/* Credit left, converted back to the time `svc` can run for it. */
static s_time_t credit_to_time(struct c2_runq *rq, s_time_t credit,
                               const struct c2_vcpu *svc)
{
    return credit * svc->sdom->weight / rq->max_weight;
}

static void reset_credit(struct sched_instance *s, struct c2_runq *rq,
                         struct c2_vcpu *snext, s_time_t now)
{
    struct c2_private *prv = PRV(s);
    int64_t m = 1;

    /* A vCPU deep in debt would otherwise need several resets in a row. */
    if (snext->credit < -CREDIT_INIT)
        m += -snext->credit / CREDIT_INIT;
    sched_for_each_cpu(cpu, &rq->cpus)
        if (prv->pcpu[cpu].curr)
            burn_credits(rq, prv->pcpu[cpu].curr, now);
    sched_list_for_each(e, &rq->svcs) {
        struct c2_vcpu *svc = sched_container_of(e, struct c2_vcpu, rq_elem);
        svc->credit += m * CREDIT_INIT;
        if (svc->credit > CREDIT_INIT + CARRYOVER_MAX)
            svc->credit = CREDIT_INIT + CARRYOVER_MAX;
        svc->start_time = now;
    }
    /* The order is unchanged except for clipping; re-sort to be exact. */
    struct sched_list tmp;
    sched_list_init(&tmp);
    while (!sched_list_empty(&rq->runq)) {
        struct sched_list *e = rq->runq.next;
        sched_list_del(e);
        sched_list_add_tail(e, &tmp);
    }
    while (!sched_list_empty(&tmp)) {
        struct sched_list *e = tmp.next;
        sched_list_del(e);
        runq_insert(rq, sched_container_of(e, struct c2_vcpu, runq_elem));
    }
}

/* ---- choosing pCPUs and tickling ------------------------------------------------ */

static void tickle_cpu(struct sched_instance *s, int cpu)
{
    struct c2_runq *rq = PRV(s)->pcpu[cpu].rq;

    sched_cpumask_set(&rq->tickled, cpu);
    s->env.tickle(s->env.opaque, cpu);
}

static int pick_idle_in(struct c2_runq *rq, const struct sched_cpumask *mask,
                        int pref)
{
    struct sched_cpumask m;

    sched_cpumask_andnot(&m, &rq->idle, &rq->tickled);
    sched_cpumask_and(&m, &m, mask);
    if (sched_cpumask_test(&m, pref))
        return pref;
    return sched_cpumask_empty(&m) ? -1 : sched_cpumask_cycle(&m, pref);
}

/* runq_tickle: find the pCPU that should notice `svc` is now queued. */
static void runq_tickle(struct sched_instance *s, struct c2_vcpu *svc)
{
    struct c2_private *prv = PRV(s);
    struct c2_runq *rq = svc->rq;
    struct sched_cpumask hard, soft;
    int cpu, best = -1;
    s_time_t best_score = 0;

    sched_effective_hard(s, svc->v, &hard);
    sched_cpumask_and(&hard, &hard, &rq->cpus);
    sched_cpumask_and(&soft, &hard, &svc->v->soft_affinity);
    cpu = pick_idle_in(rq, &soft, svc->v->processor);
    if (cpu < 0)
        cpu = pick_idle_in(rq, &hard, svc->v->processor);
    if (cpu >= 0) {
        tickle_cpu(s, cpu);
        return;
    }
    sched_for_each_cpu(c, &hard) {
        struct c2_vcpu *cur = prv->pcpu[c].curr;
        s_time_t score;

        if (sched_cpumask_test(&rq->tickled, c) || !cur)
            continue;
        score = svc->credit - cur->credit;
        if (c != svc->v->processor)
            score -= MIGRATE_RESIST;
        if (score > best_score) {
            best_score = score;
            best = c;
        }
    }
    if (best >= 0)
        tickle_cpu(s, best);
}

/* A pCPU of `rq` for `v`: where it was if allowed and idle, an idle one
 * (soft affinity first), where it was, any allowed one. */
static int cpu_in_runq(struct sched_instance *s, struct c2_runq *rq,
                       struct sched_vcpu *v)
{
    struct sched_cpumask hard, soft;
    int c;

    sched_effective_hard(s, v, &hard);
    sched_cpumask_and(&hard, &hard, &rq->cpus);
    sched_cpumask_and(&soft, &hard, &v->soft_affinity);
    c = pick_idle_in(rq, &soft, v->processor);
    if (c < 0)
        c = pick_idle_in(rq, &hard, v->processor);
    if (c < 0 && sched_cpumask_test(&hard, v->processor))
        c = v->processor;
    if (c < 0)
        c = sched_cpumask_first(&hard);
    return c;
}

/* csched2_res_pick: the least loaded runqueue the vCPU may use (its own
 * load discounted where it already counts), then a pCPU inside it. */
static struct c2_runq *pick_runq(struct sched_instance *s, struct c2_vcpu *svc)
{
    struct c2_private *prv = PRV(s);
    struct sched_cpumask hard;
    struct c2_runq *best = NULL;
    int64_t best_load = INT64_MAX;

    sched_effective_hard(s, svc->v, &hard);
    for (int i = 0; i < SCHED_MAX_CPUS; i++) {
        struct c2_runq *rq = &prv->rqs[i];
        int64_t load;

        if (!rq->in_use || !sched_cpumask_intersects(&hard, &rq->cpus))
            continue;
        load = runq_load_metric(rq);
        if (rq == svc->rq && vcpu_runnable(svc))
            load -= (int64_t)1 << LOAD_PRECISION_SHIFT;
        if (load < best_load || (load == best_load && rq == svc->rq)) {
            best_load = load;
            best = rq;
        }
    }
    return best;
}

static int c2_pick_cpu(struct sched_instance *s, struct sched_vcpu *v,
                       s_time_t now)
{
    struct c2_runq *rq = pick_runq(s, SVC(v));

    return rq ? cpu_in_runq(s, rq, v) : v->processor;
}

static void move_to_runq(struct c2_vcpu *svc, struct c2_runq *rq, s_time_t now)
{
    if (svc->rq == rq)
        return;
    runq_deassign(svc, now);
    runq_assign(rq, svc, now);
}

/* Queue a runnable vCPU (not running) on the best runqueue and tickle. */
static void enqueue_and_tickle(struct sched_instance *s, struct c2_vcpu *svc,
                               s_time_t now)
{
    struct c2_runq *rq = pick_runq(s, svc);

    if (!rq)
        return; /* the pool has no CPUs: stays assigned, waits */
    move_to_runq(svc, rq, now);
    svc->v->processor = cpu_in_runq(s, rq, svc->v);
    runq_insert(rq, svc);
    runq_tickle(s, svc);
}

/* ---- cap budget ------------------------------------------------------------------- */

static s_time_t dom_budget_per_period(const struct c2_dom *sdom)
{
    return BUDGET_PERIOD * sdom->cap / 100;
}

static void park_vcpu(struct sched_instance *s, struct c2_vcpu *svc,
                      s_time_t now)
{
    if (svc->parked)
        return;
    if (svc->rq && vcpu_runnable(svc))
        update_runq_load(svc->rq, -1, now);
    svc->parked = true;
    runq_remove(svc);
    if (svc->running)
        tickle_cpu(s, svc->v->processor);
}

static void unpark_vcpu(struct sched_instance *s, struct c2_vcpu *svc,
                        s_time_t now)
{
    if (!svc->parked)
        return;
    svc->parked = false;
    if (svc->rq && svc->awake)
        update_runq_load(svc->rq, +1, now);
    if (svc->awake && !svc->running)
        enqueue_and_tickle(s, svc, now);
}

static void park_domain(struct sched_instance *s, struct c2_dom *sdom,
                        s_time_t now)
{
    for (int i = 0; i < sdom->d->nr_vcpus; i++)
        park_vcpu(s, SVC(sdom->d->vcpus[i]), now);
}

/* Refill every capped domain; debt from overruns carries over. */
static void replenish_budgets(struct sched_instance *s, s_time_t now)
{
    struct c2_private *prv = PRV(s);

    sched_list_for_each(e, &prv->capped_doms) {
        struct c2_dom *sdom = sched_container_of(e, struct c2_dom, capped_elem);
        s_time_t full = dom_budget_per_period(sdom);

        sdom->budget += full;
        if (sdom->budget > full)
            sdom->budget = full;
        if (sdom->budget > 0)
            for (int i = 0; i < sdom->d->nr_vcpus; i++)
                unpark_vcpu(s, SVC(sdom->d->vcpus[i]), now);
    }
}

static void arm_budget_timer(struct sched_instance *s)
{
    struct c2_private *prv = PRV(s);
    int master = sched_cpumask_first(&s->cpus);

    if (master >= 0 && !sched_list_empty(&prv->capped_doms))
        s->env.set_timer(s->env.opaque, master, prv->next_repl);
}

static void c2_timer(struct sched_instance *s, int cpu, s_time_t now)
{
    struct c2_private *prv = PRV(s);

    if (!sched_cpumask_test(&s->cpus, cpu) || now < prv->next_repl)
        return;
    /* Running vCPUs' budget use must be counted before refilling. */
    sched_for_each_cpu(c, &s->cpus)
        if (prv->pcpu[c].curr)
            burn_credits(prv->pcpu[c].rq, prv->pcpu[c].curr, now);
    replenish_budgets(s, now);
    prv->next_repl = (now / BUDGET_PERIOD + 1) * BUDGET_PERIOD;
    arm_budget_timer(s);
}

/* ---- load balancing ----------------------------------------------------------------- */

/* A queued vCPU of `from` that may run somewhere in `to` (lowest credit
 * first: the one least harmed by waiting for a cold cache). */
static struct c2_vcpu *balance_candidate(struct sched_instance *s,
                                         struct c2_runq *from,
                                         struct c2_runq *to)
{
    for (struct sched_list *e = from->runq.prev; e != &from->runq;
         e = e->prev) {
        struct c2_vcpu *svc = sched_container_of(e, struct c2_vcpu, runq_elem);
        struct sched_cpumask hard;

        sched_effective_hard(s, svc->v, &hard);
        if (sched_cpumask_intersects(&hard, &to->cpus))
            return svc;
    }
    return NULL;
}

static void balance_load(struct sched_instance *s, int cpu, s_time_t now)
{
    struct c2_private *prv = PRV(s);
    struct c2_runq *lrq = prv->pcpu[cpu].rq, *orq = NULL, *from, *to;
    int64_t max_delta = 0;
    struct c2_vcpu *svc;

    for (int i = 0; i < SCHED_MAX_CPUS; i++) {
        struct c2_runq *rq = &prv->rqs[i];
        int64_t delta;

        if (!rq->in_use || rq == lrq)
            continue;
        update_runq_load(rq, 0, now);
        update_runq_load(lrq, 0, now);
        delta = runq_load_metric(rq) - runq_load_metric(lrq);
        if (delta < 0)
            delta = -delta;
        if (delta > max_delta) {
            max_delta = delta;
            orq = rq;
        }
    }
    /* Less than half a vCPU of difference is not worth a cold cache. */
    if (!orq || max_delta < ((int64_t)1 << (LOAD_PRECISION_SHIFT - 1)))
        return;
    if (runq_load_metric(orq) > runq_load_metric(lrq)) {
        from = orq;
        to = lrq;
    } else {
        from = lrq;
        to = orq;
    }
    if (from->load <= to->load)
        return; /* moving would only turn the imbalance around */
    svc = balance_candidate(s, from, to);
    if (!svc)
        return;
    runq_remove(svc);
    move_to_runq(svc, to, now);
    svc->v->processor = cpu_in_runq(s, to, svc->v);
    runq_insert(to, svc);
    runq_tickle(s, svc);
}

/* ---- the decision -------------------------------------------------------------------- */

/* First queued vCPU allowed on `cpu`. */
static struct c2_vcpu *runq_first_for(struct sched_instance *s,
                                      struct c2_runq *rq, int cpu)
{
    sched_list_for_each(e, &rq->runq) {
        struct c2_vcpu *svc = sched_container_of(e, struct c2_vcpu, runq_elem);
        if (cpu_allowed(s, svc, cpu))
            return svc;
    }
    return NULL;
}

/* csched2_runtime: run until snext would drop below the next in line. */
static s_time_t runtime_for(struct c2_private *prv, struct c2_runq *rq,
                            struct c2_vcpu *snext)
{
    s_time_t rt_credit = snext->credit, time;

    if (!sched_list_empty(&rq->runq)) {
        struct c2_vcpu *swait =
            sched_container_of(rq->runq.next, struct c2_vcpu, runq_elem);
        if (swait->credit > 0)
            rt_credit -= swait->credit;
    }
    time = rt_credit <= 0 ? MIN_TIMER : credit_to_time(rq, rt_credit, snext);
    if (time < MIN_TIMER)
        time = MIN_TIMER;
    if (time > MAX_TIMER)
        time = MAX_TIMER;
    if (time < SCHED_US(prv->ratelimit_us))
        time = SCHED_US(prv->ratelimit_us);
    if (snext->sdom->cap && snext->sdom->budget < time)
        time = snext->sdom->budget > 0 ? snext->sdom->budget : 1;
    return time;
}

static bool ratelimit_keeps(struct sched_instance *s, struct c2_vcpu *cur,
                            int cpu, s_time_t now, s_time_t *left)
{
    s_time_t limit = SCHED_US(PRV(s)->ratelimit_us);
    s_time_t runtime = now - cur->run_start;

    if (!limit || !vcpu_runnable(cur) || cur->yield_flag ||
        !cpu_allowed(s, cur, cpu) || runtime >= limit)
        return false;
    *left = limit - runtime;
    return true;
}

/* runq_candidate's soft_aff_preempt: `svc` runs on `cpu`, outside its soft
 * affinity, while a pCPU of the runqueue inside it is idle and not tickled.
 * Then it should not keep `cpu`: requeued, it is tickled over there. */
static bool soft_aff_preempt(struct sched_instance *s, struct c2_runq *rq,
                             const struct c2_vcpu *svc, int cpu)
{
    struct sched_cpumask soft;

    sched_effective_hard(s, svc->v, &soft);
    sched_cpumask_and(&soft, &soft, &svc->v->soft_affinity);
    if (sched_cpumask_empty(&soft) || sched_cpumask_test(&soft, cpu))
        return false;
    sched_cpumask_and(&soft, &soft, &rq->idle);
    sched_cpumask_andnot(&soft, &soft, &rq->tickled);
    return !sched_cpumask_empty(&soft);
}

static struct sched_decision c2_do_schedule(struct sched_instance *s, int cpu,
                                            s_time_t now)
{
    struct c2_private *prv = PRV(s);
    struct c2_pcpu *pc = &prv->pcpu[cpu];
    struct c2_runq *rq = pc->rq;
    struct c2_vcpu *cur = pc->curr, *snext, *head;
    struct sched_decision d = { .next = NULL, .slice = -1 };
    s_time_t left;

    if (!sched_cpumask_test(&s->cpus, cpu))
        return d;
    sched_cpumask_clear(&rq->tickled, cpu);
    if (cur) {
        burn_credits(rq, cur, now);
        if (cur->sdom->cap && cur->sdom->budget <= 0)
            park_domain(s, cur->sdom, now);
        if (ratelimit_keeps(s, cur, cpu, now, &left)) {
            d.next = cur->v;
            d.slice = left;
            return d;
        }
    }
    if (now >= rq->next_balance) {
        rq->next_balance = now + BALANCE_PERIOD;
        balance_load(s, cpu, now);
    }
    head = runq_first_for(s, rq, cpu);
    snext = head;
    if (cur && vcpu_runnable(cur) && cpu_allowed(s, cur, cpu) &&
        cur->rq == rq && !soft_aff_preempt(s, rq, cur, cpu) &&
        (!head || (!cur->yield_flag && cur->credit >= head->credit)))
        snext = cur;
    if (cur && snext != cur) {
        pc->curr = NULL;
        cur->running = false;
        if (vcpu_runnable(cur)) {
            if (cur->rq == rq && cpu_allowed(s, cur, cpu)) {
                /* Xen's csched2_context_saved requeues *and tickles*: an
                 * idle pCPU of the runqueue (soft affinity first) takes
                 * it rather than idle while it waits. */
                runq_insert(rq, cur);
                runq_tickle(s, cur);
            } else {
                enqueue_and_tickle(s, cur, now);
            }
        }
    }
    if (cur)
        cur->yield_flag = false;
    if (!snext) {
        sched_cpumask_set(&rq->idle, cpu);
        return d;
    }
    if (snext != cur)
        runq_remove(snext);
    if (snext->credit <= CREDIT_RESET)
        reset_credit(s, rq, snext, now);
    sched_cpumask_clear(&rq->idle, cpu);
    pc->curr = snext;
    snext->running = true;
    d.migrated = snext->v->processor != cpu;
    snext->v->processor = cpu;
    snext->start_time = now;
    if (snext != cur)
        snext->run_start = now;
    d.next = snext->v;
    d.slice = runtime_for(prv, rq, snext);
    return d;
}

/* ---- vCPU state changes ----------------------------------------------------------------- */

static void c2_sleep(struct sched_instance *s, struct sched_vcpu *v,
                     s_time_t now)
{
    struct c2_vcpu *svc = SVC(v);

    if (!svc->awake)
        return;
    if (svc->rq && vcpu_runnable(svc))
        update_runq_load(svc->rq, -1, now);
    svc->awake = false;
    if (svc->running)
        tickle_cpu(s, v->processor);
    else
        runq_remove(svc);
}

static void c2_wake(struct sched_instance *s, struct sched_vcpu *v,
                    s_time_t now)
{
    struct c2_vcpu *svc = SVC(v);

    if (svc->awake)
        return;
    svc->awake = true;
    if (svc->parked)
        return;
    if (svc->rq)
        update_runq_load(svc->rq, +1, now);
    if (!svc->running)
        enqueue_and_tickle(s, svc, now);
}

static void c2_yield(struct sched_instance *s, struct sched_vcpu *v,
                     s_time_t now)
{
    struct c2_vcpu *svc = SVC(v);

    svc->yield_flag = true;
    if (svc->running)
        tickle_cpu(s, v->processor);
}

static void c2_insert_vcpu(struct sched_instance *s, struct sched_vcpu *v,
                           s_time_t now)
{
    struct c2_vcpu *svc = SVC(v);
    struct c2_runq *rq = pick_runq(s, svc);

    if (rq) {
        runq_assign(rq, svc, now);
        v->processor = cpu_in_runq(s, rq, v);
    }
    svc->start_time = now;
}

static void c2_remove_vcpu(struct sched_instance *s, struct sched_vcpu *v,
                           s_time_t now)
{
    struct c2_private *prv = PRV(s);
    struct c2_vcpu *svc = SVC(v);

    if (svc->running) {
        prv->pcpu[v->processor].curr = NULL;
        svc->running = false;
        tickle_cpu(s, v->processor);
    }
    runq_deassign(svc, now);
    svc->awake = false;
}

/* ---- allocation and parameters --------------------------------------------------------------- */

static int c2_alloc_domdata(struct sched_instance *s, struct sched_dom *d)
{
    struct c2_dom *sdom = calloc(1, sizeof(*sdom));

    if (!sdom)
        return -ENOMEM;
    sdom->d = d;
    sdom->weight = SCHED_WEIGHT_DEFAULT;
    sched_list_init(&sdom->capped_elem);
    d->priv = sdom;
    return 0;
}

static void c2_free_domdata(struct sched_instance *s, struct sched_dom *d)
{
    struct c2_dom *sdom = SDOM(d);

    if (sdom && sched_list_linked(&sdom->capped_elem))
        sched_list_del(&sdom->capped_elem);
    free(sdom);
    d->priv = NULL;
}

static int c2_alloc_vdata(struct sched_instance *s, struct sched_vcpu *v)
{
    struct c2_vcpu *svc = calloc(1, sizeof(*svc));

    if (!svc)
        return -ENOMEM;
    svc->v = v;
    svc->sdom = SDOM(v->dom);
    svc->credit = CREDIT_INIT;
    sched_list_init(&svc->runq_elem);
    sched_list_init(&svc->rq_elem);
    v->priv = svc;
    return 0;
}

static void c2_free_vdata(struct sched_instance *s, struct sched_vcpu *v)
{
    free(v->priv);
    v->priv = NULL;
}

static int c2_dom_get(struct sched_instance *s, struct sched_dom *d,
                      struct sched_dom_params *p)
{
    p->weight = SDOM(d)->weight;
    p->cap = SDOM(d)->cap;
    return 0;
}

static int c2_dom_set(struct sched_instance *s, struct sched_dom *d,
                      const struct sched_dom_params *p, s_time_t now)
{
    struct c2_private *prv = PRV(s);
    struct c2_dom *sdom = SDOM(d);

    if (p->weight != SCHED_PARAM_KEEP &&
        (p->weight < SCHED_WEIGHT_MIN || p->weight > SCHED_WEIGHT_MAX))
        return -EINVAL;
    if (p->cap != SCHED_PARAM_KEEP &&
        (p->cap < 0 || p->cap > 100 * (d->nr_vcpus > 0 ? d->nr_vcpus : 1)))
        return -EINVAL;
    if (p->weight != SCHED_PARAM_KEEP) {
        sdom->weight = p->weight;
        for (int i = 0; i < SCHED_MAX_CPUS; i++)
            if (prv->rqs[i].in_use)
                recompute_max_weight(&prv->rqs[i]);
    }
    if (p->cap != SCHED_PARAM_KEEP) {
        sdom->cap = p->cap;
        if (sched_list_linked(&sdom->capped_elem))
            sched_list_del(&sdom->capped_elem);
        if (sdom->cap) {
            sdom->budget = dom_budget_per_period(sdom);
            sched_list_add_tail(&sdom->capped_elem, &prv->capped_doms);
            if (prv->next_repl <= now)
                prv->next_repl = (now / BUDGET_PERIOD + 1) * BUDGET_PERIOD;
            arm_budget_timer(s);
        } else {
            for (int i = 0; i < d->nr_vcpus; i++)
                unpark_vcpu(s, SVC(d->vcpus[i]), now);
        }
    }
    return 0;
}

static int check_ratelimit(int rl)
{
    if (rl != 0 && (rl < SCHED_RATELIMIT_US_MIN || rl > SCHED_RATELIMIT_US_MAX))
        return -EINVAL;
    return 0;
}

static int c2_pool_get(struct sched_instance *s, struct sched_pool_params *p)
{
    p->tslice_ms = SCHED_PARAM_KEEP; /* credit2 has no timeslice knob */
    p->ratelimit_us = PRV(s)->ratelimit_us;
    p->runqueue = PRV(s)->arrangement;
    p->migr_delay_us = 0; /* no migration delay: ignored when set */
    return 0;
}

static int c2_pool_set(struct sched_instance *s,
                       const struct sched_pool_params *p)
{
    struct c2_private *prv = PRV(s);

    if (p->tslice_ms != SCHED_PARAM_KEEP)
        return -EINVAL;
    if (p->ratelimit_us != SCHED_PARAM_KEEP && check_ratelimit(p->ratelimit_us))
        return -EINVAL;
    if (p->runqueue != SCHED_PARAM_KEEP) {
        if (p->runqueue < 0 || p->runqueue > SCHED_RUNQ_ALL)
            return -EINVAL;
        /* Runqueues are built as pCPUs arrive; regrouping live ones is not
         * supported (Xen fixes the arrangement at boot too). */
        if (p->runqueue != prv->arrangement && !sched_cpumask_empty(&s->cpus))
            return -EBUSY;
        prv->arrangement = p->runqueue;
    }
    if (p->ratelimit_us != SCHED_PARAM_KEEP)
        prv->ratelimit_us = p->ratelimit_us;
    return 0;
}

/* ---- pCPUs ------------------------------------------------------------------------------ */

static int runq_key(struct sched_instance *s, int cpu)
{
    const struct sched_topology *t = s->topo;

    switch (PRV(s)->arrangement) {
    case SCHED_RUNQ_CPU: return cpu;
    case SCHED_RUNQ_CORE: return t->core[cpu];
    case SCHED_RUNQ_SOCKET: return t->socket[cpu];
    case SCHED_RUNQ_NODE: return t->node[cpu];
    default: return 0;
    }
}

static struct c2_runq *runq_for_new_cpu(struct sched_instance *s, int cpu,
                                        s_time_t now)
{
    struct c2_private *prv = PRV(s);
    int key = runq_key(s, cpu);
    struct c2_runq *free_rq = NULL;

    for (int i = 0; i < SCHED_MAX_CPUS; i++) {
        struct c2_runq *rq = &prv->rqs[i];
        if (rq->in_use && rq->key == key)
            return rq;
        if (!rq->in_use && !free_rq)
            free_rq = rq;
    }
    if (!SCHED_CHECK(free_rq)) /* at most one runqueue per pCPU */
        return NULL;
    memset(free_rq, 0, sizeof(*free_rq));
    free_rq->in_use = true;
    free_rq->key = key;
    free_rq->max_weight = 1;
    free_rq->load_last_update = now;
    sched_list_init(&free_rq->runq);
    sched_list_init(&free_rq->svcs);
    return free_rq;
}

static int c2_add_cpu(struct sched_instance *s, int cpu, s_time_t now)
{
    struct c2_private *prv = PRV(s);
    struct c2_runq *rq;

    if (!sched_cpumask_valid_cpu(cpu) || sched_cpumask_test(&s->cpus, cpu) ||
        cpu >= s->topo->nr_cpus)
        return -EINVAL;
    rq = runq_for_new_cpu(s, cpu, now);
    if (!rq)
        return -ENOSPC;
    sched_cpumask_set(&rq->cpus, cpu);
    sched_cpumask_set(&rq->idle, cpu);
    prv->pcpu[cpu].rq = rq;
    prv->pcpu[cpu].curr = NULL;
    sched_cpumask_set(&s->cpus, cpu);
    arm_budget_timer(s);
    tickle_cpu(s, cpu);
    return 0;
}

/* Runqueue `rq` lost its last pCPU: re-home all its vCPUs. */
static void runq_evacuate(struct sched_instance *s, struct c2_runq *rq,
                          s_time_t now)
{
    while (!sched_list_empty(&rq->svcs)) {
        struct c2_vcpu *svc =
            sched_container_of(rq->svcs.next, struct c2_vcpu, rq_elem);
        bool queued = sched_list_linked(&svc->runq_elem);

        runq_deassign(svc, now);
        if (queued || (vcpu_runnable(svc) && !svc->running)) {
            enqueue_and_tickle(s, svc, now);
        } else {
            struct c2_runq *to = pick_runq(s, svc);
            if (to)
                runq_assign(to, svc, now);
        }
    }
    rq->in_use = false;
}

static int c2_remove_cpu(struct sched_instance *s, int cpu, s_time_t now)
{
    struct c2_private *prv = PRV(s);
    struct c2_pcpu *pc = &prv->pcpu[cpu];
    struct c2_runq *rq = pc->rq;
    struct c2_vcpu *cur = pc->curr;

    if (!sched_cpumask_test(&s->cpus, cpu))
        return -EINVAL;
    sched_cpumask_clear(&s->cpus, cpu);
    sched_cpumask_clear(&rq->cpus, cpu);
    sched_cpumask_clear(&rq->idle, cpu);
    sched_cpumask_clear(&rq->tickled, cpu);
    pc->curr = NULL;
    if (cur) {
        burn_credits(rq, cur, now);
        cur->running = false;
        cur->yield_flag = false;
    }
    if (sched_cpumask_empty(&rq->cpus)) {
        runq_evacuate(s, rq, now);
    } else if (cur && vcpu_runnable(cur)) {
        cur->v->processor = cpu_in_runq(s, rq, cur->v);
        runq_insert(rq, cur);
        runq_tickle(s, cur);
    }
    pc->rq = NULL;
    /* The budget timer runs on the pool's first pCPU: if that was `cpu`,
     * its timer no longer reaches us; re-arm it on the new first one, or
     * capped domains would never be refilled. */
    arm_budget_timer(s);
    return 0;
}

static int c2_init(struct sched_instance *s, const struct sched_pool_params *p)
{
    struct c2_private *prv;
    int rl = SCHED_RATELIMIT_US_DEFAULT, arr = SCHED_RUNQ_SOCKET;

    if (p && p->tslice_ms != SCHED_PARAM_KEEP)
        return -EINVAL;
    if (p && p->ratelimit_us != SCHED_PARAM_KEEP)
        rl = p->ratelimit_us;
    if (p && p->runqueue != SCHED_PARAM_KEEP)
        arr = p->runqueue;
    if (check_ratelimit(rl) || arr < 0 || arr > SCHED_RUNQ_ALL)
        return -EINVAL;
    prv = calloc(1, sizeof(*prv));
    if (!prv)
        return -ENOMEM;
    prv->ratelimit_us = rl;
    prv->arrangement = arr;
    sched_list_init(&prv->capped_doms);
    s->priv = prv;
    return 0;
}

static void c2_deinit(struct sched_instance *s)
{
    free(s->priv);
    s->priv = NULL;
}

static int c2_dump(struct sched_instance *s, char *buf, size_t len)
{
    struct c2_private *prv = PRV(s);
    int off = sched_dump_append(buf, len, 0,
                                "credit2: ratelimit=%dus runqueue=%s\n",
                                prv->ratelimit_us,
                                sched_runq_name(prv->arrangement));

    for (int i = 0; i < SCHED_MAX_CPUS; i++) {
        struct c2_runq *rq = &prv->rqs[i];
        char cpus[64];

        if (!rq->in_use)
            continue;
        sched_cpumask_format(&rq->cpus, cpus, sizeof(cpus));
        off = sched_dump_append(buf, len, off,
                                "runq%d cpus=%s load=%d avgload=%lld "
                                "max_weight=%d vcpus=%d queue:",
                                i, cpus, rq->load, (long long)rq->avgload,
                                rq->max_weight, rq->nr_svcs);
        sched_list_for_each(e, &rq->runq) {
            struct c2_vcpu *svc =
                sched_container_of(e, struct c2_vcpu, runq_elem);
            off = sched_dump_append(buf, len, off, " d%dv%d(%lldus)",
                                    svc->v->dom->domid, svc->v->vcpu_id,
                                    (long long)(svc->credit / 1000));
        }
        off = sched_dump_append(buf, len, off, "\n");
    }
    sched_for_each_cpu(cpu, &s->cpus) {
        struct c2_vcpu *cur = prv->pcpu[cpu].curr;
        if (cur)
            off = sched_dump_append(buf, len, off, "cpu%d: d%dv%d credit=%lldus\n",
                                    cpu, cur->v->dom->domid, cur->v->vcpu_id,
                                    (long long)(cur->credit / 1000));
        else
            off = sched_dump_append(buf, len, off, "cpu%d: idle\n", cpu);
    }
    return off;
}

const struct sched_ops sched_credit2_ops = {
    .name = "credit2",
    .init = c2_init,
    .deinit = c2_deinit,
    .add_cpu = c2_add_cpu,
    .remove_cpu = c2_remove_cpu,
    .alloc_domdata = c2_alloc_domdata,
    .free_domdata = c2_free_domdata,
    .alloc_vdata = c2_alloc_vdata,
    .free_vdata = c2_free_vdata,
    .insert_vcpu = c2_insert_vcpu,
    .remove_vcpu = c2_remove_vcpu,
    .sleep = c2_sleep,
    .wake = c2_wake,
    .yield = c2_yield,
    .do_schedule = c2_do_schedule,
    .pick_cpu = c2_pick_cpu,
    .timer = c2_timer,
    .dom_get = c2_dom_get,
    .dom_set = c2_dom_set,
    .pool_get = c2_pool_get,
    .pool_set = c2_pool_set,
    .dump = c2_dump,
};
