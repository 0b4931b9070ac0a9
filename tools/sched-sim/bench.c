/*
 * bench.c — wall-clock cost of scheduling decisions with many vCPUs.
 *
 * One scheduler instance on `nr_cpus` pCPUs holds `nr_vcpus` vCPUs (in
 * domains of 10).  Each iteration advances a fake clock by 37 µs, wakes one
 * pseudo-randomly chosen sleeping vCPU and runs do_schedule on one pCPU;
 * half of the chosen vCPUs then go back to sleep, so queues keep churning
 * while about half the vCPUs stay runnable.  The scheduler's timer hook runs
 * every simulated 10 ms as a real host would run it.  Reported: ns per
 * (wake + do_schedule) pair, i.e. per decision.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sched/sched.h"

static void noop_tickle(void *o, int cpu)
{
    (void)o;
    (void)cpu;
}

static void noop_timer(void *o, int cpu, s_time_t t)
{
    (void)o;
    (void)cpu;
    (void)t;
}

static double wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

int sched_sim_bench(const char *sched, int nr_vcpus, int nr_cpus, long iters)
{
    struct sched_topology topo;
    struct sched_env env = { NULL, noop_tickle, noop_timer };
    struct sched_instance s;
    int nr_doms = (nr_vcpus + 9) / 10, rc;
    struct sched_dom *doms = calloc((size_t)nr_doms, sizeof(*doms));
    struct sched_vcpu *vcpus = calloc((size_t)nr_vcpus, sizeof(*vcpus));
    struct sched_vcpu **ptrs = calloc((size_t)nr_vcpus, sizeof(*ptrs));
    char *awake = calloc((size_t)nr_vcpus, 1);
    uint64_t rng = 88172645463325252ULL;
    s_time_t now = 0, next_timer = SCHED_MS(10);
    double t0, t1;

    rc = -ENOMEM;
    if (!doms || !vcpus || !ptrs || !awake)
        goto out;
    rc = sched_topology_init(&topo, nr_cpus, 1, nr_cpus, 1);
    if (!rc)
        rc = sched_instance_init(&s, sched, &topo, &env, NULL);
    if (rc)
        goto out;
    for (int c = 0; c < nr_cpus; c++)
        s.ops->add_cpu(&s, c, 0);
    for (int i = 0; i < nr_vcpus; i++) {
        struct sched_dom *d = &doms[i / 10];
        sched_vcpu_init(&vcpus[i], d, i % 10);
        ptrs[i] = &vcpus[i];
    }
    for (int di = 0; di < nr_doms; di++) {
        doms[di].domid = di + 1;
        doms[di].vcpus = &ptrs[di * 10];
        doms[di].nr_vcpus = nr_vcpus - di * 10 < 10 ? nr_vcpus - di * 10 : 10;
        rc = sched_dom_attach(&s, &doms[di], 0);
        if (rc)
            goto out_inst;
    }
    for (int i = 0; i < nr_vcpus; i += 2) {
        sched_wake(&s, &vcpus[i], 0);
        awake[i] = 1;
    }
    t0 = wall_ns();
    for (long it = 0; it < iters; it++) {
        int v = (int)(xorshift(&rng) % (uint64_t)nr_vcpus);
        int cpu = (int)(it % nr_cpus);
        struct sched_decision d;

        now += SCHED_US(37);
        if (now >= next_timer) {
            for (int c = 0; c < nr_cpus; c++)
                sched_timer(&s, c, now);
            next_timer += SCHED_MS(10);
        }
        if (!awake[v]) {
            sched_wake(&s, &vcpus[v], now);
            awake[v] = 1;
        }
        d = sched_do_schedule(&s, cpu, now);
        if (d.next && (xorshift(&rng) & 1)) {
            int idx = (int)(d.next - vcpus);
            sched_sleep(&s, d.next, now);
            awake[idx] = 0;
        }
    }
    t1 = wall_ns();
    printf("bench sched=%s vcpus=%d cpus=%d iters=%ld: %.1f ns per "
           "wake+do_schedule\n",
           sched, nr_vcpus, nr_cpus, iters, (t1 - t0) / (double)iters);
    for (int di = 0; di < nr_doms; di++)
        sched_dom_detach(&s, &doms[di], now);
    rc = 0;
out_inst:
    sched_instance_deinit(&s);
out:
    if (rc)
        fprintf(stderr, "bench: setup failed (%d)\n", rc);
    free(doms);
    free(vcpus);
    free(ptrs);
    free(awake);
    return rc;
}
