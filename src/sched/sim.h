/*
 * sim.h — the deterministic scheduler simulator's engine (used by
 * tools/sched-sim and by the scheduler unit tests).  Private to the sched
 * subsystem and its tools; the daemon never uses it.
 *
 * A scenario (text, see tools/sched-sim/README.md) describes pCPUs, pools
 * and domains whose vCPUs follow run/block patterns.  sim_run() plays it in
 * simulated time through the real cpupool + scheduler code, driving them
 * exactly as the daemon must (wake, sleep, do_schedule on tickle and slice
 * expiry, timer on set_timer deadlines).  Same scenario + seed => the same
 * result, bit for bit.
 */
#ifndef KXEN_SCHED_SIM_H
#define KXEN_SCHED_SIM_H

#include "sched/sched.h"

enum sim_workload {
    SIM_WL_SPIN,     /* always runnable */
    SIM_WL_PHASES,   /* run R, block B, R and B uniform in [min, max] */
    SIM_WL_PERIODIC, /* every `period` wake needing `run` of CPU (audio) */
    SIM_WL_DODGE,    /* spin, but block across every `tick` boundary */
    SIM_WL_YIELDER,  /* run R then yield (stays runnable), forever */
};

#define SIM_NAME_MAX 40
#define SIM_MAX_POOLS 8

struct sim_dom_spec {
    char name[SIM_NAME_MAX];
    char pool[SIM_NAME_MAX]; /* "" = Pool-0 */
    int nr_vcpus;
    int weight, cap;          /* SCHED_PARAM_KEEP = scheduler default */
    enum sim_workload workload;
    s_time_t run_min, run_max, block_min, block_max;
    s_time_t period, tick, margin;
    bool has_affinity;
    struct sched_cpumask affinity;      /* hard affinity of every vCPU */
    bool has_soft_affinity;
    struct sched_cpumask soft_affinity; /* soft affinity of every vCPU */
};

struct sim_pool_spec {
    char name[SIM_NAME_MAX];
    char sched[16];
    struct sched_pool_params params;
    struct sched_cpumask cpus;
};

/* A cpupool operation at simulated time t: `at T cpupool-cpu-add POOL CPUS`
 * or `at T cpupool-cpu-remove POOL CPUS`, CPUs taken in order. */
enum sim_action_type { SIM_ACT_CPU_ADD, SIM_ACT_CPU_REMOVE };

#define SIM_MAX_ACTIONS 16

struct sim_action {
    s_time_t t;
    enum sim_action_type type;
    char pool[SIM_NAME_MAX];
    struct sched_cpumask cpus;
};

struct sim_scenario {
    char name[SIM_NAME_MAX];
    int nr_cpus, threads_per_core, cores_per_socket, sockets_per_node;
    char sched[16];                 /* Pool-0's scheduler */
    struct sched_pool_params params; /* Pool-0's parameters */
    s_time_t duration;
    uint64_t seed;
    int nr_pools;
    struct sim_pool_spec pools[SIM_MAX_POOLS];
    int nr_doms;
    struct sim_dom_spec *doms;
    int nr_actions;
    struct sim_action actions[SIM_MAX_ACTIONS];
};

struct sim_vcpu_stats {
    char dom[SIM_NAME_MAX];
    int domid, vcpu_id, poolid;
    s_time_t run_ns, runnable_ns, blocked_ns;
    long wakes, ctxsw, preemptions, misses;
    long migrations; /* runs started on another pCPU than the previous run */
    s_time_t lat_p5, lat_p50, lat_p95, lat_max;
    s_time_t min_preempted_run; /* shortest run ended by preemption; -1 none */
    struct sched_cpumask ran_on;
    s_time_t *run_on_ns; /* run time on each pCPU (result's nr_cpus) */
    long nr_lat;
    s_time_t *lat; /* every wake-up latency, in wake order */
};

struct sim_result {
    int nr_vcpus;
    struct sim_vcpu_stats *vcpus;
    int nr_cpus;
    s_time_t duration;
    s_time_t cpu_busy[SCHED_MAX_CPUS];
    long decisions;
    long errors; /* decisions that broke the scheduler contract */
    /* Per scenario action: 0, the cpupool call's -errno (the first failing
     * CPU ends the action), or SIM_ACTION_NOT_RUN (after the end). */
    int action_rc[SIM_MAX_ACTIONS];
};

#define SIM_ACTION_NOT_RUN 1

/* Parses `text` into *sc (defaults first).  On error fills `err` with
 * "line N: why" and returns -EINVAL. */
int sim_scenario_parse(const char *text, struct sim_scenario *sc, char *err,
                       size_t errlen);
void sim_scenario_free(struct sim_scenario *sc);

/* Built-in scenarios by name; NULL-terminated name list. */
const char *sim_builtin_text(const char *name);
const char *const *sim_builtin_names(void);

int sim_run(const struct sim_scenario *sc, struct sim_result *res);
void sim_result_free(struct sim_result *res);
int sim_report(const struct sim_scenario *sc, const struct sim_result *res,
               FILE *f);

/* Domain names match exactly, or as a group: "net" matches net.0, net.1..
 * (domains made with count=N).  Sum of run time, or -1 if none matched. */
s_time_t sim_dom_run_ns(const struct sim_result *res, const char *dom);
/* Latency percentile (0..100) over all wakes of domain `dom`'s vCPUs. */
s_time_t sim_dom_latency(const struct sim_result *res, const char *dom,
                         int pct);

#endif /* KXEN_SCHED_SIM_H */
