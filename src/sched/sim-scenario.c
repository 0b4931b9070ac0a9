/*
 * sim-scenario.c — the simulator's text scenario format and the built-in
 * scenarios.  The format is documented in tools/sched-sim/README.md: one
 * directive per line, `#` starts a comment, `key value` for global settings
 * and `pool k=v ...` / `domain k=v ...` for pools and domains.
 *
 * Parsing never aborts: every problem becomes "line N: why" and -EINVAL.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sim.h"

#define MAX_DOMS 4096

struct parser {
    struct sim_scenario *sc;
    int line;
    char *err;
    size_t errlen;
};

static int fail(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    int n = 0;

    if (p->err && p->errlen) {
        n = snprintf(p->err, p->errlen, "line %d: ", p->line);
        if (n < 0 || (size_t)n >= p->errlen)
            n = 0;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* "10ms", "200us", "5s", "1500ns", or a bare number of microseconds. */
static int parse_time(const char *s, s_time_t *out)
{
    char *end;
    double v = strtod(s, &end);
    double mul = 1e3;

    if (end == s || v < 0)
        return -EINVAL;
    if (strcmp(end, "ns") == 0)
        mul = 1;
    else if (strcmp(end, "us") == 0 || *end == '\0')
        mul = 1e3;
    else if (strcmp(end, "ms") == 0)
        mul = 1e6;
    else if (strcmp(end, "s") == 0)
        mul = 1e9;
    else
        return -EINVAL;
    if (v * mul > 1e18)
        return -EINVAL;
    *out = (s_time_t)(v * mul + 0.5);
    return 0;
}

/* "a-b" or "a" (then b = a); the dash must follow a unit or digit. */
static int parse_time_range(const char *s, s_time_t *lo, s_time_t *hi)
{
    char buf[64];
    char *dash;

    snprintf(buf, sizeof(buf), "%s", s);
    dash = strchr(buf + 1, '-');
    if (!dash)
        return parse_time(buf, lo) ? -EINVAL : parse_time(buf, hi);
    *dash = '\0';
    if (parse_time(buf, lo) || parse_time(dash + 1, hi) || *hi < *lo)
        return -EINVAL;
    return 0;
}

static int parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (end == s || *end || v < lo || v > hi)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

static void default_pool_params(struct sched_pool_params *p)
{
    p->tslice_ms = SCHED_PARAM_KEEP;
    p->ratelimit_us = SCHED_PARAM_KEEP;
    p->runqueue = SCHED_PARAM_KEEP;
    p->migr_delay_us = SCHED_PARAM_KEEP;
}

/* Pool parameters shared by global lines and `pool` lines. */
static int parse_pool_param(struct parser *p, struct sched_pool_params *pp,
                            const char *key, const char *val, bool *matched)
{
    *matched = true;
    if (strcmp(key, "tslice_ms") == 0)
        return parse_int(val, 0, 1000000, &pp->tslice_ms)
                   ? fail(p, "bad tslice_ms '%s'", val) : 0;
    if (strcmp(key, "ratelimit_us") == 0)
        return parse_int(val, 0, 100000000, &pp->ratelimit_us)
                   ? fail(p, "bad ratelimit_us '%s'", val) : 0;
    if (strcmp(key, "migr_delay_us") == 0)
        return parse_int(val, 0, 100000000, &pp->migr_delay_us)
                   ? fail(p, "bad migr_delay_us '%s'", val) : 0;
    if (strcmp(key, "runqueue") == 0) {
        pp->runqueue = sched_runq_parse(val);
        return pp->runqueue < 0 ? fail(p, "bad runqueue '%s'", val) : 0;
    }
    *matched = false;
    return 0;
}

static int parse_workload(const char *s, enum sim_workload *w)
{
    static const char *const names[] = { "spin", "phases", "periodic",
                                         "dodge", "yielder" };
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *w = (enum sim_workload)i;
            return 0;
        }
    return -EINVAL;
}

static int dom_kv(struct parser *p, struct sim_dom_spec *d, int *count,
                  const char *k, const char *v)
{
    struct sim_scenario *sc = p->sc;

    if (strcmp(k, "name") == 0)
        snprintf(d->name, sizeof(d->name), "%s", v);
    else if (strcmp(k, "pool") == 0)
        snprintf(d->pool, sizeof(d->pool), "%s", v);
    else if (strcmp(k, "vcpus") == 0)
        return parse_int(v, 1, 256, &d->nr_vcpus) ? fail(p, "bad vcpus") : 0;
    else if (strcmp(k, "count") == 0)
        return parse_int(v, 1, MAX_DOMS, count) ? fail(p, "bad count") : 0;
    else if (strcmp(k, "weight") == 0)
        return parse_int(v, 0, 1000000, &d->weight) ? fail(p, "bad weight") : 0;
    else if (strcmp(k, "cap") == 0)
        return parse_int(v, 0, 100000, &d->cap) ? fail(p, "bad cap") : 0;
    else if (strcmp(k, "workload") == 0)
        return parse_workload(v, &d->workload) ? fail(p, "bad workload '%s'", v)
                                                : 0;
    else if (strcmp(k, "run") == 0)
        return parse_time_range(v, &d->run_min, &d->run_max)
                   ? fail(p, "bad run '%s'", v) : 0;
    else if (strcmp(k, "block") == 0)
        return parse_time_range(v, &d->block_min, &d->block_max)
                   ? fail(p, "bad block '%s'", v) : 0;
    else if (strcmp(k, "period") == 0)
        return parse_time(v, &d->period) ? fail(p, "bad period '%s'", v) : 0;
    else if (strcmp(k, "tick") == 0)
        return parse_time(v, &d->tick) ? fail(p, "bad tick '%s'", v) : 0;
    else if (strcmp(k, "margin") == 0)
        return parse_time(v, &d->margin) ? fail(p, "bad margin '%s'", v) : 0;
    else if (strcmp(k, "affinity") == 0) {
        d->has_affinity = true;
        return sched_cpumask_parse(&d->affinity, v, sc->nr_cpus)
                   ? fail(p, "bad affinity '%s'", v) : 0;
    } else if (strcmp(k, "soft_affinity") == 0) {
        d->has_soft_affinity = true;
        return sched_cpumask_parse(&d->soft_affinity, v, sc->nr_cpus)
                   ? fail(p, "bad soft_affinity '%s'", v) : 0;
    } else
        return fail(p, "unknown domain key '%s'", k);
    return 0;
}

static int check_dom(struct parser *p, struct sim_dom_spec *d)
{
    if (!d->name[0])
        return fail(p, "domain needs name=");
    switch (d->workload) {
    case SIM_WL_PHASES:
        if (d->run_max <= 0 || d->block_max <= 0)
            return fail(p, "phases needs run= and block= > 0");
        if (d->block_min < SCHED_US(1))
            d->block_min = SCHED_US(1);
        if (d->block_max < d->block_min)
            d->block_max = d->block_min;
        break;
    case SIM_WL_PERIODIC:
        if (d->period <= 0 || d->run_min <= 0)
            return fail(p, "periodic needs period= and run=");
        break;
    case SIM_WL_DODGE:
        if (d->tick <= 0)
            d->tick = SCHED_MS(10);
        if (d->margin <= 0 || d->margin * 2 >= d->tick)
            return fail(p, "dodge needs 0 < margin < tick/2");
        break;
    case SIM_WL_YIELDER:
        if (d->run_max <= 0)
            return fail(p, "yielder needs run=");
        break;
    default:
        break;
    }
    return 0;
}

static int add_doms(struct parser *p, const struct sim_dom_spec *d, int count)
{
    struct sim_scenario *sc = p->sc;
    struct sim_dom_spec *n;

    if (sc->nr_doms + count > MAX_DOMS)
        return fail(p, "too many domains");
    n = realloc(sc->doms, (size_t)(sc->nr_doms + count) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    sc->doms = n;
    for (int i = 0; i < count; i++) {
        struct sim_dom_spec *x = &sc->doms[sc->nr_doms++];
        *x = *d;
        if (count > 1) {
            /* count <= MAX_DOMS (4096): the suffix has at most 4 digits. */
            snprintf(x->name, sizeof(x->name), "%.31s.%u", d->name,
                     (unsigned)i % 10000u);
        }
    }
    return 0;
}

/* Splits "k=v" tokens of a line (modified in place) and feeds them. */
static int parse_domain_line(struct parser *p, char *rest)
{
    struct sim_dom_spec d = { .nr_vcpus = 1,
                              .weight = SCHED_PARAM_KEEP,
                              .cap = SCHED_PARAM_KEEP,
                              .workload = SIM_WL_SPIN };
    int count = 1, rc;

    for (char *tok = strtok(rest, " \t"); tok; tok = strtok(NULL, " \t")) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return fail(p, "expected key=value, got '%s'", tok);
        *eq = '\0';
        rc = dom_kv(p, &d, &count, tok, eq + 1);
        if (rc)
            return rc;
    }
    rc = check_dom(p, &d);
    return rc ? rc : add_doms(p, &d, count);
}

static int parse_pool_line(struct parser *p, char *rest)
{
    struct sim_scenario *sc = p->sc;
    struct sim_pool_spec *ps;
    bool matched;
    int rc;

    if (sc->nr_pools == SIM_MAX_POOLS)
        return fail(p, "too many pools");
    ps = &sc->pools[sc->nr_pools];
    memset(ps, 0, sizeof(*ps));
    snprintf(ps->sched, sizeof(ps->sched), "%s", sc->sched);
    default_pool_params(&ps->params);
    for (char *tok = strtok(rest, " \t"); tok; tok = strtok(NULL, " \t")) {
        char *eq = strchr(tok, '='), *v;
        if (!eq)
            return fail(p, "expected key=value, got '%s'", tok);
        *eq = '\0';
        v = eq + 1;
        rc = parse_pool_param(p, &ps->params, tok, v, &matched);
        if (rc || matched)
            goto next;
        if (strcmp(tok, "name") == 0)
            snprintf(ps->name, sizeof(ps->name), "%s", v);
        else if (strcmp(tok, "sched") == 0)
            snprintf(ps->sched, sizeof(ps->sched), "%s", v);
        else if (strcmp(tok, "cpus") == 0)
            rc = sched_cpumask_parse(&ps->cpus, v, sc->nr_cpus)
                     ? fail(p, "bad cpus '%s'", v) : 0;
        else
            rc = fail(p, "unknown pool key '%s'", tok);
next:
        if (rc)
            return rc;
    }
    if (!ps->name[0] || sched_cpumask_empty(&ps->cpus))
        return fail(p, "pool needs name= and cpus=");
    sc->nr_pools++;
    return 0;
}

/* "at T cpupool-cpu-add|cpupool-cpu-remove POOL CPUS" (xl's command names). */
static int parse_at_line(struct parser *p, char *rest)
{
    struct sim_scenario *sc = p->sc;
    struct sim_action *a;
    char *tok[4];
    int n = 0;

    if (sc->nr_actions == SIM_MAX_ACTIONS)
        return fail(p, "too many actions");
    a = &sc->actions[sc->nr_actions];
    memset(a, 0, sizeof(*a));
    for (char *t = strtok(rest, " \t"); t; t = strtok(NULL, " \t")) {
        if (n == 4)
            return fail(p, "at: expected TIME COMMAND POOL CPUS");
        tok[n++] = t;
    }
    if (n != 4)
        return fail(p, "at: expected TIME COMMAND POOL CPUS");
    if (parse_time(tok[0], &a->t))
        return fail(p, "bad time '%s'", tok[0]);
    if (strcmp(tok[1], "cpupool-cpu-add") == 0)
        a->type = SIM_ACT_CPU_ADD;
    else if (strcmp(tok[1], "cpupool-cpu-remove") == 0)
        a->type = SIM_ACT_CPU_REMOVE;
    else
        return fail(p, "unknown action '%s'", tok[1]);
    snprintf(a->pool, sizeof(a->pool), "%s", tok[2]);
    if (sched_cpumask_parse(&a->cpus, tok[3], sc->nr_cpus))
        return fail(p, "bad cpus '%s'", tok[3]);
    sc->nr_actions++;
    return 0;
}

static int parse_global(struct parser *p, const char *key, const char *val)
{
    struct sim_scenario *sc = p->sc;
    bool matched;
    int rc = parse_pool_param(p, &sc->params, key, val, &matched);
    int seed;

    if (rc || matched)
        return rc;
    if (strcmp(key, "name") == 0)
        snprintf(sc->name, sizeof(sc->name), "%s", val);
    else if (strcmp(key, "cpus") == 0)
        return parse_int(val, 1, SCHED_MAX_CPUS, &sc->nr_cpus)
                   ? fail(p, "bad cpus") : 0;
    else if (strcmp(key, "threads_per_core") == 0)
        return parse_int(val, 1, 8, &sc->threads_per_core) ? fail(p, "bad") : 0;
    else if (strcmp(key, "cores_per_socket") == 0)
        return parse_int(val, 1, 256, &sc->cores_per_socket) ? fail(p, "bad")
                                                              : 0;
    else if (strcmp(key, "sockets_per_node") == 0)
        return parse_int(val, 1, 256, &sc->sockets_per_node) ? fail(p, "bad")
                                                              : 0;
    else if (strcmp(key, "sched") == 0)
        snprintf(sc->sched, sizeof(sc->sched), "%s", val);
    else if (strcmp(key, "duration") == 0)
        return parse_time(val, &sc->duration) || sc->duration <= 0
                   ? fail(p, "bad duration") : 0;
    else if (strcmp(key, "seed") == 0) {
        if (parse_int(val, 0, 2147483647, &seed))
            return fail(p, "bad seed");
        sc->seed = (uint64_t)seed;
    } else
        return fail(p, "unknown setting '%s'", key);
    return 0;
}

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int parse_line(struct parser *p, char *line)
{
    char *hash = strchr(line, '#'), *key, *rest;

    if (hash)
        *hash = '\0';
    line = trim(line);
    if (!*line)
        return 0;
    key = line;
    rest = key + strcspn(key, " \t");
    if (*rest)
        *rest++ = '\0';
    rest = trim(rest);
    if (strcmp(key, "domain") == 0)
        return parse_domain_line(p, rest);
    if (strcmp(key, "pool") == 0)
        return parse_pool_line(p, rest);
    if (strcmp(key, "at") == 0)
        return parse_at_line(p, rest);
    if (!*rest)
        return fail(p, "'%s' needs a value", key);
    return parse_global(p, key, rest);
}

int sim_scenario_parse(const char *text, struct sim_scenario *sc, char *err,
                       size_t errlen)
{
    struct parser p = { sc, 0, err, errlen };
    char *copy, *save = NULL;
    int rc = 0;

    memset(sc, 0, sizeof(*sc));
    snprintf(sc->name, sizeof(sc->name), "custom");
    sc->nr_cpus = 2;
    sc->threads_per_core = sc->cores_per_socket = sc->sockets_per_node = 1;
    sc->cores_per_socket = 256;
    snprintf(sc->sched, sizeof(sc->sched), "credit");
    default_pool_params(&sc->params);
    sc->duration = SCHED_SEC(10);
    sc->seed = 1;
    if (err && errlen)
        err[0] = '\0';
    copy = strdup(text ? text : "");
    if (!copy)
        return -ENOMEM;
    for (char *line = strtok_r(copy, "\n", &save); line && !rc;
         line = strtok_r(NULL, "\n", &save)) {
        p.line++;
        rc = parse_line(&p, line);
    }
    free(copy);
    if (!rc && !sched_ops_find(sc->sched))
        rc = fail(&p, "unknown scheduler '%s'", sc->sched);
    if (rc)
        sim_scenario_free(sc);
    return rc;
}

void sim_scenario_free(struct sim_scenario *sc)
{
    free(sc->doms);
    sc->doms = NULL;
    sc->nr_doms = 0;
}

/* ---- built-in scenarios --------------------------------------------------------- */

struct builtin {
    const char *name;
    const char *text;
};

static const struct builtin builtins[] = {
    { "spinners", "name spinners\ncpus 2\nduration 10s\n"
                  "domain name=heavy weight=512 vcpus=2 workload=spin\n"
                  "domain name=light weight=256 vcpus=2 workload=spin\n" },
    { "net", "name net\ncpus 2\nduration 10s\n"
             "domain name=hog vcpus=2 workload=spin\n"
             "domain name=net count=4 workload=phases run=50us-200us "
             "block=500us-2ms\n" },
    { "audio", "name audio\ncpus 2\nduration 10s\n"
               "domain name=hog vcpus=3 workload=spin\n"
               "domain name=audio workload=periodic period=5ms run=500us\n" },
    { "mixed", "name mixed\ncpus 2\nduration 10s\n"
               "domain name=hog weight=256 vcpus=2 workload=spin\n"
               "domain name=batch weight=128 cap=50 workload=spin\n"
               "domain name=net count=2 workload=phases run=100us-300us "
               "block=1ms-3ms\n"
               "domain name=audio workload=periodic period=10ms run=1ms\n"
               "domain name=bursty workload=phases run=5ms-20ms "
               "block=10ms-50ms\n" },
    { "many", "name many\ncpus 2\nduration 5s\n"
              "domain name=web count=100 workload=phases run=100us-1ms "
              "block=5ms-50ms\n"
              "domain name=hog count=4 workload=spin\n" },
    { "pressure-low", "name pressure-low\ncpus 2\nduration 10s\n"
                      "domain name=net count=4 workload=phases run=200us-1ms "
                      "block=2ms-8ms\n"
                      "domain name=hog count=1 workload=spin\n" },
    { "pressure-medium", "name pressure-medium\ncpus 2\nduration 10s\n"
                         "domain name=net count=4 workload=phases "
                         "run=200us-1ms block=2ms-8ms\n"
                         "domain name=hog count=3 workload=spin\n" },
    { "pressure-high", "name pressure-high\ncpus 2\nduration 10s\n"
                       "domain name=net count=4 workload=phases "
                       "run=200us-1ms block=2ms-8ms\n"
                       "domain name=hog count=8 workload=spin\n" },
    { "attack", "name attack\ncpus 1\nduration 10s\n"
                "domain name=victim workload=spin\n"
                "domain name=attacker workload=dodge tick=10ms margin=200us\n" },
    { "pools", "name pools\ncpus 4\nduration 5s\n"
               "pool name=Pool-B sched=credit2 cpus=2-3\n"
               "domain name=a count=3 workload=spin\n"
               "domain name=b count=3 pool=Pool-B workload=phases run=1ms-4ms "
               "block=1ms-2ms\n" },
    { NULL, NULL },
};

const char *sim_builtin_text(const char *name)
{
    for (const struct builtin *b = builtins; name && b->name; b++)
        if (strcmp(b->name, name) == 0)
            return b->text;
    return NULL;
}

const char *const *sim_builtin_names(void)
{
    static const char *names[sizeof(builtins) / sizeof(builtins[0])];

    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
        names[i] = builtins[i].name;
    return names;
}
