/*
 * Scheduler tests for affinity, cpupool CPU removal and caps: each case asserts one behaviour Xen documents (xl.cfg(5)
 * cpus= / cpus_soft=, xl(1) cpupool-cpu-remove, xl sched-credit2 -c),
 * measured in simulated time through the real cpupool + scheduler code
 * (src/sched/sim.c), for credit and credit2 wherever it applies.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sched/sim.h"

/* ---- helpers ---------------------------------------------------------------- */

/* Parses and runs a scenario; the test fails on any error, including a
 * decision that broke the contract (e.g. a vCPU outside its hard affinity
 * or its pool). */
static void run_text(const char *text, struct sim_scenario *sc,
                     struct sim_result *res)
{
    char err[256];
    int rc = sim_scenario_parse(text, sc, err, sizeof(err));

    if (rc)
        fail_msg("scenario: %s", err);
    assert_int_equal(sim_run(sc, res), 0);
    assert_int_equal(res->errors, 0);
}

static void done(struct sim_scenario *sc, struct sim_result *res)
{
    sim_result_free(res);
    sim_scenario_free(sc);
}

/* The stats of vCPU `vcpu` of domain `dom` (exact name). */
static const struct sim_vcpu_stats *vcpu_of(const struct sim_result *res,
                                            const char *dom, int vcpu)
{
    for (int i = 0; i < res->nr_vcpus; i++)
        if (strcmp(res->vcpus[i].dom, dom) == 0 &&
            res->vcpus[i].vcpu_id == vcpu)
            return &res->vcpus[i];
    fail_msg("no vCPU %s.%d", dom, vcpu);
    return NULL;
}

/* Run time of all of domain `dom`'s vCPUs on pCPU `cpu`. */
static s_time_t dom_run_on(const struct sim_result *res, const char *dom,
                           int cpu)
{
    s_time_t sum = 0;
    bool found = false;

    assert_true(cpu >= 0 && cpu < res->nr_cpus);
    for (int i = 0; i < res->nr_vcpus; i++)
        if (strcmp(res->vcpus[i].dom, dom) == 0) {
            sum += res->vcpus[i].run_on_ns[cpu];
            found = true;
        }
    assert_true(found);
    return sum;
}

static double ms(s_time_t ns)
{
    return (double)ns / 1e6;
}

/* Scheduler lines for a scenario: "credit", "credit2" (default runqueue
 * arrangement: one per socket, here one for both pCPUs) or "credit2-rqcpu"
 * (one runqueue per pCPU, so that moves between runqueues are exercised). */
static const char *sched_lines(const char *variant)
{
    if (strcmp(variant, "credit") == 0)
        return "sched credit\n";
    if (strcmp(variant, "credit2") == 0)
        return "sched credit2\n";
    if (strcmp(variant, "credit2-rqcpu") == 0)
        return "sched credit2\nrunqueue cpu\n";
    fail_msg("unknown variant %s", variant);
    return NULL;
}

/* ---- 1. hard affinity ------------------------------------------------------------- */

/*
 * xl.cfg cpus=: a vCPU may only run on its hard affinity.  Two vCPUs pinned
 * to pCPU 1 of a 2-pCPU pool: pCPU 1 is overcommitted, pCPU 0 stays idle
 * for the whole run, and neither vCPU ever runs there — not even the one
 * that keeps waking up (new placement each time) and whose soft affinity
 * points at pCPU 0 (soft affinity outside the hard one is ignored).
 */
static void hard_affinity(const char *variant)
{
    char text[1024];
    struct sim_scenario sc;
    struct sim_result res;
    const struct sim_vcpu_stats *waker, *hog;

    snprintf(text, sizeof(text),
             "cpus 2\n%sduration 10s\n"
             "domain name=waker affinity=1 soft_affinity=0 workload=phases "
             "run=1ms-3ms block=100us-1ms\n"
             "domain name=hog affinity=1 workload=spin\n",
             sched_lines(variant));
    run_text(text, &sc, &res);
    waker = vcpu_of(&res, "waker", 0);
    hog = vcpu_of(&res, "hog", 0);
    print_message("%s: waker run %.1f ms (on cpu0 %.1f), waited %.1f ms, "
                  "%ld wakes; hog run %.1f ms (on cpu0 %.1f); cpu0 busy "
                  "%.1f ms, cpu1 busy %.1f ms\n",
                  variant, ms(waker->run_ns), ms(waker->run_on_ns[0]),
                  ms(waker->runnable_ns), waker->wakes, ms(hog->run_ns),
                  ms(hog->run_on_ns[0]), ms(res.cpu_busy[0]),
                  ms(res.cpu_busy[1]));
    assert_int_equal(waker->run_on_ns[0], 0);
    assert_int_equal(hog->run_on_ns[0], 0);
    assert_false(sched_cpumask_test(&waker->ran_on, 0));
    assert_false(sched_cpumask_test(&hog->ran_on, 0));
    assert_int_equal(res.cpu_busy[0], 0);
    /* ... although both wanted more CPU than pCPU 1 could give them. */
    assert_true(waker->wakes > 1000);
    assert_true(waker->runnable_ns > SCHED_SEC(1));
    assert_true(hog->runnable_ns > SCHED_SEC(2));
    assert_true(waker->run_ns > SCHED_SEC(2) && hog->run_ns > SCHED_SEC(2));
    assert_true(res.cpu_busy[1] > SCHED_MS(9990));
    done(&sc, &res);
}

static void test_credit_hard_affinity(void **state)
{
    (void)state;
    hard_affinity("credit");
}

static void test_credit2_hard_affinity(void **state)
{
    (void)state;
    hard_affinity("credit2");
}

static void test_credit2_rqcpu_hard_affinity(void **state)
{
    (void)state;
    hard_affinity("credit2-rqcpu");
}

/* ---- 2. soft affinity ---------------------------------------------------------------- */

/*
 * xl.cfg cpus_soft=: the scheduler prefers to run the vCPU there, but a
 * preference never leaves a pCPU idle while the vCPU waits.  A spinner with
 * soft affinity to pCPU 1 (hard: all) shares the pool with a vCPU pinned to
 * pCPU 1 that alternates 500 ms of work with 500 ms of sleep.  While the
 * pinned one sleeps, pCPU 1 is free and the spinner should be there; while
 * it works, the spinner should move to idle pCPU 0 instead of waiting.
 * Moving back is not instant: Xen notices at the next 10 ms tick (credit)
 * or at the end of the slice, at most 10 ms (credit2).
 */
static void soft_affinity(const char *variant)
{
    char text[1024];
    struct sim_scenario sc;
    struct sim_result res;
    const struct sim_vcpu_stats *soft, *pinned;
    s_time_t free1, lag;
    double on1_of_free;

    snprintf(text, sizeof(text),
             "cpus 2\n%sduration 20s\n"
             "domain name=soft soft_affinity=1 workload=spin\n"
             "domain name=pinned affinity=1 workload=phases run=500ms "
             "block=500ms\n",
             sched_lines(variant));
    run_text(text, &sc, &res);
    soft = vcpu_of(&res, "soft", 0);
    pinned = vcpu_of(&res, "pinned", 0);
    /* pCPU 1 was free for the spinner whenever the pinned vCPU did not
     * run there. */
    free1 = res.duration - pinned->run_ns;
    lag = free1 - soft->run_on_ns[1];
    on1_of_free = (double)soft->run_on_ns[1] / (double)free1;
    print_message("%s: soft run %.1f ms (cpu0 %.1f, cpu1 %.1f), waited "
                  "%.1f ms; pinned run %.1f ms, %ld wakes; on cpu1 %.4f of "
                  "its free time (%.1f ms late in all)\n",
                  variant, ms(soft->run_ns), ms(soft->run_on_ns[0]),
                  ms(soft->run_on_ns[1]), ms(soft->runnable_ns),
                  ms(pinned->run_ns), pinned->wakes, on1_of_free, ms(lag));
    /* The pinned vCPU got all it asked for: half of the time. */
    assert_true(pinned->run_ns > SCHED_MS(9900));
    assert_true(pinned->wakes >= 19);
    /* Preference: almost only on pCPU 1 while that one is free for it,
     * back there within 10 ms each time it frees up. */
    assert_true(on1_of_free > 0.97);
    assert_true(lag >= 0 && lag <= pinned->wakes * SCHED_MS(10));
    /* Not at the cost of an idle pCPU: while pCPU 1 was busy it ran on
     * pCPU 0, so it (almost) never waited. */
    assert_true(soft->run_on_ns[0] >= pinned->run_ns * 99 / 100);
    assert_true(soft->runnable_ns < res.duration / 100);
    assert_true(soft->run_ns > res.duration * 99 / 100);
    done(&sc, &res);
}

static void test_credit_soft_affinity(void **state)
{
    (void)state;
    soft_affinity("credit");
}

static void test_credit2_soft_affinity(void **state)
{
    (void)state;
    soft_affinity("credit2");
}

/* ---- 3. removing a busy pCPU from a pool ---------------------------------------------- */

/*
 * xl cpupool-cpu-remove: the pCPU leaves the pool even while one of the
 * pool's vCPUs runs on it; that vCPU goes on running on the pool's other
 * pCPUs; the pCPU becomes free and can join another pool (here one with the
 * other scheduler).  Removing the last pCPU of a pool that has domains is
 * refused with EBUSY, and the pool keeps running there.
 *
 * 3 pCPUs: Pool-0 = {0, 1} runs a 2-vCPU spinner `a` (one vCPU on each);
 * pool B = {2} runs a 2-vCPU spinner `b`.
 *   1.0 s  remove pCPU 0 from Pool-0 (a vCPU of `a` runs there)
 *   1.5 s  remove pCPU 1 from Pool-0: its last one -> EBUSY
 *   2.0 s  add pCPU 0 to B
 */
static void cpu_remove_busy(const char *sched, const char *other)
{
    char text[1024];
    struct sim_scenario sc;
    struct sim_result res;
    s_time_t a_on0, b_on0;

    snprintf(text, sizeof(text),
             "cpus 3\nsched %s\nduration 3s\n"
             "pool name=B sched=%s cpus=2\n"
             "domain name=a vcpus=2 workload=spin\n"
             "domain name=b vcpus=2 pool=B workload=spin\n"
             "at 1s cpupool-cpu-remove Pool-0 0\n"
             "at 1500ms cpupool-cpu-remove Pool-0 1\n"
             "at 2s cpupool-cpu-add B 0\n",
             sched, other);
    run_text(text, &sc, &res);
    a_on0 = dom_run_on(&res, "a", 0);
    b_on0 = dom_run_on(&res, "b", 0);
    print_message("%s: actions %d %d %d; a: %.1f + %.1f ms, on cpu0 %.1f, "
                  "cpu1 %.1f, cpu2 %.1f; b on cpu0 %.1f, cpu1 %.1f; cpu0 "
                  "busy %.1f ms\n",
                  sched, res.action_rc[0], res.action_rc[1],
                  res.action_rc[2], ms(vcpu_of(&res, "a", 0)->run_ns),
                  ms(vcpu_of(&res, "a", 1)->run_ns), ms(a_on0),
                  ms(dom_run_on(&res, "a", 1)), ms(dom_run_on(&res, "a", 2)),
                  ms(b_on0), ms(dom_run_on(&res, "b", 1)),
                  ms(res.cpu_busy[0]));
    assert_int_equal(res.action_rc[0], 0);
    assert_int_equal(res.action_rc[1], -EBUSY);
    assert_int_equal(res.action_rc[2], 0);
    /* Pool-0 used pCPU 0 until it was removed, and never after: its run
     * time there is the first second exactly. */
    assert_true(a_on0 > SCHED_MS(999) && a_on0 <= SCHED_SEC(1));
    /* The refused removal left pCPU 1 in Pool-0, busy all along. */
    assert_true(dom_run_on(&res, "a", 1) > SCHED_MS(2990));
    /* Both vCPUs of `a` kept running: the displaced one shares pCPU 1. */
    for (int v = 0; v < 2; v++) {
        s_time_t run = vcpu_of(&res, "a", v)->run_ns;
        assert_true(run > SCHED_MS(1800) && run < SCHED_MS(2200));
    }
    /* pCPU 0 was free from 1 s to 2 s (nothing ran), then B's. */
    assert_true(b_on0 > SCHED_MS(990) && b_on0 <= SCHED_SEC(1));
    assert_true(res.cpu_busy[0] == a_on0 + b_on0);
    assert_int_equal(dom_run_on(&res, "a", 2), 0);
    assert_int_equal(dom_run_on(&res, "b", 1), 0);
    assert_true(dom_run_on(&res, "b", 2) > SCHED_MS(2990));
    done(&sc, &res);
}

static void test_credit_cpu_remove_busy(void **state)
{
    (void)state;
    cpu_remove_busy("credit", "credit2");
}

static void test_credit2_cpu_remove_busy(void **state)
{
    (void)state;
    cpu_remove_busy("credit2", "credit");
}

/*
 * The cap still holds after the pool loses a pCPU: a domain capped at 50
 * on a 2-pCPU pool, pCPU 0 removed after 1 s of 4.  (credit2 refills
 * budgets from a timer on the pool's first pCPU, the one removed.)
 */
static void cap_after_cpu_remove(const char *sched)
{
    char text[512];
    struct sim_scenario sc;
    struct sim_result res;
    double share;

    snprintf(text, sizeof(text),
             "cpus 2\nsched %s\nduration 4s\n"
             "domain name=capped cap=50 workload=spin\n"
             "at 1s cpupool-cpu-remove Pool-0 0\n", sched);
    run_text(text, &sc, &res);
    share = (double)sim_dom_run_ns(&res, "capped") / (double)res.duration;
    print_message("%s: cap 50, pCPU 0 removed at 1 s: %.4f pCPUs overall "
                  "(cpu0 %.1f ms, cpu1 %.1f ms)\n", sched, share,
                  ms(dom_run_on(&res, "capped", 0)),
                  ms(dom_run_on(&res, "capped", 1)));
    assert_int_equal(res.action_rc[0], 0);
    assert_true(share > 0.49 && share < 0.51);
    /* About its cap in the first second, wherever it ran (credit settles
     * caps per 30 ms accounting period); then pCPU 1 is all it has, and it
     * gets its cap of the remaining 3 s there. */
    assert_true(dom_run_on(&res, "capped", 0) <= SCHED_MS(500 + 30));
    assert_true(dom_run_on(&res, "capped", 1) >= SCHED_MS(1490));
    done(&sc, &res);
}

static void test_credit_cap_after_cpu_remove(void **state)
{
    (void)state;
    cap_after_cpu_remove("credit");
}

static void test_credit2_cap_after_cpu_remove(void **state)
{
    (void)state;
    cap_after_cpu_remove("credit2");
}

/* ---- 4. caps ------------------------------------------------------------------------ */

/*
 * xl sched-credit / sched-credit2 -c: the cap is a percentage of one pCPU
 * for the whole domain (100 = one pCPU, 150 = one and a half), an upper
 * bound even when pCPUs sit idle.  A spinning domain on a 2-pCPU pool that
 * nothing else uses gets its cap within one point.
 */
struct cap_case {
    const char *variant;
    int vcpus, cap;
};

static void test_caps_with_idle_cpus(void **state)
{
    static const struct cap_case cases[] = {
        { "credit", 1, 25 },          { "credit", 2, 50 },
        { "credit", 2, 150 },         { "credit2", 1, 25 },
        { "credit2", 2, 50 },         { "credit2", 2, 150 },
        { "credit2-rqcpu", 1, 25 },   { "credit2-rqcpu", 2, 50 },
        { "credit2-rqcpu", 2, 150 },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct cap_case *c = &cases[i];
        char text[512];
        struct sim_scenario sc;
        struct sim_result res;
        double share;

        snprintf(text, sizeof(text),
                 "cpus 2\n%sduration 10s\n"
                 "domain name=capped vcpus=%d cap=%d workload=spin\n",
                 sched_lines(c->variant), c->vcpus, c->cap);
        run_text(text, &sc, &res);
        share = (double)sim_dom_run_ns(&res, "capped") / (double)res.duration;
        print_message("%s vcpus=%d cap=%d: %.4f pCPUs\n", c->variant,
                      c->vcpus, c->cap, share);
        assert_true(share > c->cap / 100.0 - 0.01);
        assert_true(share < c->cap / 100.0 + 0.01);
        done(&sc, &res);
    }
}


/* Runs last: nothing above broke a scheduler invariant (they are counted,
 * not asserted, so the daemon survives one; the tests must not). */
static void test_no_invariant_failed(void **state)
{
    const char *last = NULL;
    unsigned long n = sched_invariant_failures(&last);

    (void)state;
    if (n)
        fail_msg("%lu scheduler invariant checks failed, the last: %s", n, last);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credit_hard_affinity),
        cmocka_unit_test(test_credit2_hard_affinity),
        cmocka_unit_test(test_credit2_rqcpu_hard_affinity),
        cmocka_unit_test(test_credit_soft_affinity),
        cmocka_unit_test(test_credit2_soft_affinity),
        cmocka_unit_test(test_credit_cpu_remove_busy),
        cmocka_unit_test(test_credit2_cpu_remove_busy),
        cmocka_unit_test(test_credit_cap_after_cpu_remove),
        cmocka_unit_test(test_credit2_cap_after_cpu_remove),
        cmocka_unit_test(test_caps_with_idle_cpus),
        cmocka_unit_test(test_no_invariant_failed),   /* keep last */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
