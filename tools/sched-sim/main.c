/*
 * sched-sim — run scheduler scenarios in simulated time, or benchmark the
 * cost of scheduling decisions.  See tools/sched-sim/README.md.
 *
 *   sched-sim [options] FILE | --builtin NAME
 *   sched-sim --list
 *   sched-sim --bench [--sched S] [--vcpus N] [--cpus N] [--iters N]
 *
 * Options override the scenario: --sched, --tslice-ms, --ratelimit-us,
 * --runqueue, --duration, --seed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/sim.h"

struct options {
    const char *file, *builtin, *sched, *runqueue, *duration;
    int tslice_ms, ratelimit_us, migr_delay_us, seed;
    bool list, bench;
    int vcpus, cpus;
    long iters;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sched-sim [--sched S] [--tslice-ms N] [--ratelimit-us N]\n"
            "                 [--migr-delay-us N] [--runqueue R] [--duration T]\n"
            "                 [--seed N]\n"
            "                 (FILE | --builtin NAME)\n"
            "       sched-sim --list\n"
            "       sched-sim --bench [--sched S] [--vcpus N] [--cpus N] "
            "[--iters N]\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
    o->tslice_ms = o->ratelimit_us = o->migr_delay_us = o->seed = -1;
    o->vcpus = 1000;
    o->cpus = 2;
    o->iters = 2000000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;

        if (strcmp(a, "--list") == 0) {
            o->list = true;
            takes = false;
        } else if (strcmp(a, "--bench") == 0) {
            o->bench = true;
            takes = false;
        } else if (!v && a[0] == '-') {
            return -EINVAL;
        } else if (strcmp(a, "--builtin") == 0) {
            o->builtin = v;
        } else if (strcmp(a, "--sched") == 0) {
            o->sched = v;
        } else if (strcmp(a, "--runqueue") == 0) {
            o->runqueue = v;
        } else if (strcmp(a, "--duration") == 0) {
            o->duration = v;
        } else if (strcmp(a, "--tslice-ms") == 0) {
            o->tslice_ms = atoi(v);
        } else if (strcmp(a, "--ratelimit-us") == 0) {
            o->ratelimit_us = atoi(v);
        } else if (strcmp(a, "--migr-delay-us") == 0) {
            o->migr_delay_us = atoi(v);
        } else if (strcmp(a, "--seed") == 0) {
            o->seed = atoi(v);
        } else if (strcmp(a, "--vcpus") == 0) {
            o->vcpus = atoi(v);
        } else if (strcmp(a, "--cpus") == 0) {
            o->cpus = atoi(v);
        } else if (strcmp(a, "--iters") == 0) {
            o->iters = atol(v);
        } else if (a[0] != '-' && !o->file) {
            o->file = a;
            takes = false;
        } else {
            return -EINVAL;
        }
        if (takes)
            i++;
    }
    return 0;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f)
        return NULL;
    do {
        if (cap - len < 4096) {
            char *nb = realloc(buf, cap + 65536);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap += 65536;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* Command-line overrides, written as scenario lines so they are checked by
 * the same parser. */
static int build_scenario(const struct options *o, struct sim_scenario *sc)
{
    char *text = NULL, err[256];
    const char *base;
    size_t len;
    int rc;

    if (o->builtin) {
        base = sim_builtin_text(o->builtin);
        if (!base) {
            fprintf(stderr, "sched-sim: no built-in scenario '%s'\n",
                    o->builtin);
            return -ENOENT;
        }
        text = strdup(base);
    } else {
        text = read_file(o->file);
        if (!text) {
            fprintf(stderr, "sched-sim: cannot read %s\n", o->file);
            return -EIO;
        }
    }
    len = strlen(text) + 512;
    char *full = malloc(len);
    if (!full) {
        free(text);
        return -ENOMEM;
    }
    /* Global settings may appear anywhere; later lines win. */
    snprintf(full, len, "%s\n", text);
#define ADD(...) snprintf(full + strlen(full), len - strlen(full), __VA_ARGS__)
    if (o->sched)
        ADD("sched %s\n", o->sched);
    if (o->tslice_ms >= 0)
        ADD("tslice_ms %d\n", o->tslice_ms);
    if (o->ratelimit_us >= 0)
        ADD("ratelimit_us %d\n", o->ratelimit_us);
    if (o->migr_delay_us >= 0)
        ADD("migr_delay_us %d\n", o->migr_delay_us);
    if (o->runqueue)
        ADD("runqueue %s\n", o->runqueue);
    if (o->duration)
        ADD("duration %s\n", o->duration);
    if (o->seed >= 0)
        ADD("seed %d\n", o->seed);
#undef ADD
    rc = sim_scenario_parse(full, sc, err, sizeof(err));
    if (rc)
        fprintf(stderr, "sched-sim: %s\n", err);
    free(full);
    free(text);
    return rc;
}

int sched_sim_bench(const char *sched, int nr_vcpus, int nr_cpus, long iters);

int main(int argc, char **argv)
{
    struct options o = { 0 };
    struct sim_scenario sc;
    struct sim_result res;
    int rc;

    if (parse_args(argc, argv, &o)) {
        usage(stderr);
        return 2;
    }
    if (o.list) {
        for (const char *const *n = sim_builtin_names(); *n; n++)
            printf("%s\n", *n);
        return 0;
    }
    if (o.bench)
        return sched_sim_bench(o.sched ? o.sched : "credit", o.vcpus, o.cpus,
                               o.iters) ? 1 : 0;
    if (!o.file == !o.builtin) {
        usage(stderr);
        return 2;
    }
    if (build_scenario(&o, &sc))
        return 1;
    rc = sim_run(&sc, &res);
    if (rc) {
        fprintf(stderr, "sched-sim: simulation failed: %s\n", strerror(-rc));
        sim_scenario_free(&sc);
        return 1;
    }
    sim_report(&sc, &res, stdout);
    sim_result_free(&res);
    sim_scenario_free(&sc);
    return 0;
}
