/*
 * The dispatcher: kxen's own scheduler on real vCPUs.
 *
 * The daemon owns a set of host CPUs ("pCPUs": the process's affinity mask,
 * or $KXEN_PCPUS).  A vCPU thread may be in KVM_RUN only while it holds a
 * pCPU the scheduler gave it, with the thread pinned to that host CPU.  The
 * policy is the pure scheduler library (src/sched, credit by default), one
 * Pool-0 instance for every domain; this file turns its decisions into
 * host effects.  Scheduler CPU numbers are host CPU numbers.
 *
 * Per pCPU we keep the scheduler's last decision (`curr`) and whether curr's
 * thread has taken the pCPU (`active`, between dispatch_run_begin and
 * dispatch_run_end).  The scheduler's tickle(cpu) only marks the pCPU; after
 * every call into the library, settle() acts on the marks: a pCPU nobody
 * holds is rescheduled at once, in whatever thread runs settle(); the holder
 * of a busy one is asked to leave (v->preempt and a signal that ends its
 * KVM_RUN), and its own dispatch_run_end reschedules that pCPU.  So a
 * pCPU's do_schedule always runs while no thread is in guest mode on it.
 *
 * Only a vCPU's own thread calls sched_wake/sched_sleep/sched_yield for it:
 * a thread that found work (an event, a timer, VCPUOP_up) wakes itself in
 * dispatch_run_begin; one that blocks, goes down, is paused or dies sleeps
 * itself in dispatch_run_end.  Slice ends are the holder's own business
 * (its host timer, see vcpu.c); the scheduler's per-pCPU timers (credit's
 * tick and accounting) and slice ends of idle pCPUs are served by one timer
 * thread.
 *
 * Locking: dp->lock serialises the scheduler library and every field here.
 * It is a leaf: nothing else is locked while it is held (signals are sent,
 * condition variables signalled), and it may be taken with d->lock or
 * v->wake_lock held.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "core/core-internal.h"

/* sched/sched.h has an inline sched_yield(s, v, now) that clashes with
 * libc's; the library's yield is called through its ops table below. */
#define sched_yield sched_lib_yield
#include "sched/sched.h"
#undef sched_yield

_Static_assert(DISPATCH_MAX_CPUS == SCHED_MAX_CPUS, "core.h and sched.h disagree");

#define NO_DEADLINE INT64_MAX
#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

struct dispatch_pcpu {
	struct vcpu *curr;      /* the scheduler's choice (NULL: idle) */
	bool active;            /* curr's thread holds the pCPU */
	bool resched;           /* tickled: do_schedule due */
	int64_t slice_end;      /* of the last decision; NO_DEADLINE = none */
	int64_t timer;          /* sched_timer deadline, 0 = none */
};

struct dispatcher {
	pthread_mutex_t lock;
	pthread_cond_t timer_cond;
	pthread_t timer_thread;
	bool timer_started, stop;
	int64_t timer_wait;     /* what the timer thread sleeps until */
	struct sched_topology topo;
	struct cpupool_set pools;
	struct sched_cpumask owned;
	int nr_host_cpus;       /* CPU lists: "all" and the largest number */
	atomic_bool no_rt;      /* KXEN_RT=0, or the host refused SCHED_FIFO */
	struct dispatch_pcpu pcpu[SCHED_MAX_CPUS];
};

struct dispatch_vcpu {
	struct sched_vcpu sv;
	struct vcpu *v;
	int cpu;                /* pCPU the scheduler gave us, -1 none */
	bool rewake;            /* asleep for a move; wake in run_end */
	pthread_cond_t cond;    /* with dp->lock: cpu became >= 0, or a poke */
};

struct dispatch_dom {
	struct sched_dom sd;
	struct sched_vcpu *vptrs[MAX_VCPUS];
	struct dispatch_vcpu dv[MAX_VCPUS];
	bool attached;
};

/* The scheduler instance of a vCPU's domain (its cpupool). */
static struct sched_instance *vsched(struct dispatcher *dp, struct dispatch_vcpu *dv)
{
	return &cpupool_get(&dp->pools, dv->sv.dom->poolid)->sched;
}

static struct sched_instance *dsched(struct dispatcher *dp, struct dispatch_dom *dd)
{
	return &cpupool_get(&dp->pools, dd->sd.poolid)->sched;
}

/* The instance owning a pCPU, NULL for a pCPU in no pool. */
static struct sched_instance *csched_of(struct dispatcher *dp, int cpu)
{
	struct cpupool *p = cpupool_of_cpu(&dp->pools, cpu);
	return p ? &p->sched : NULL;
}

/* ---- callbacks from the scheduler (dp->lock held) ------------------------- */

static void env_tickle(void *opaque, int cpu)
{
	struct dispatcher *dp = opaque;
	if (sched_cpumask_valid_cpu(cpu))
		dp->pcpu[cpu].resched = true;
}

static void timer_poke(struct dispatcher *dp, int64_t deadline)
{
	if (deadline < dp->timer_wait)
		pthread_cond_signal(&dp->timer_cond);
}

static void env_set_timer(void *opaque, int cpu, s_time_t deadline)
{
	struct dispatcher *dp = opaque;
	if (!sched_cpumask_valid_cpu(cpu))
		return;
	dp->pcpu[cpu].timer = deadline > 0 ? deadline : 1;
	timer_poke(dp, dp->pcpu[cpu].timer);
}

/* ---- decisions ------------------------------------------------------------- */

/* Ask the thread holding a pCPU to give it back at its next safe point. */
static void request_preempt(struct vcpu *v)
{
	if (!atomic_exchange(&v->preempt, true))
		vcpu_interrupt(v);
}

/* do_schedule on a pCPU no thread holds, and publish the answer. */
static void schedule_cpu(struct dispatcher *dp, int cpu, int64_t now)
{
	struct dispatch_pcpu *pc = &dp->pcpu[cpu];
	struct sched_instance *s = csched_of(dp, cpu);
	struct sched_decision dec = { .next = NULL, .slice = -1 };
	struct vcpu *next = NULL;

	if (s)
		dec = sched_do_schedule(s, cpu, now);

	pc->resched = false;
	if (dec.next)
		next = container_of(dec.next, struct dispatch_vcpu, sv)->v;
	if (next && next->dv->cpu >= 0 && next->dv->cpu != cpu) {
		/* The library's contract says this cannot happen; never let one
		 * vCPU hold two pCPUs. */
		log_warn("dispatch: d%uv%u picked on cpu %d while on cpu %d", next->d->domid,
			 next->id, cpu, next->dv->cpu);
		next = NULL;
	}
	if (pc->curr != next) {
		if (pc->curr)
			pc->curr->dv->cpu = -1;
		pc->curr = next;
		if (next) {
			next->dv->cpu = cpu;
			pthread_cond_signal(&next->dv->cond);
		}
	}
	pc->slice_end = dec.slice >= 0 ? now + (dec.slice > 0 ? dec.slice : 1) : NO_DEADLINE;
	if (!next && pc->slice_end != NO_DEADLINE)
		timer_poke(dp, pc->slice_end);
}

/* Act on every tickle: reschedule free pCPUs now, ask holders to leave. */
static void settle(struct dispatcher *dp, int64_t now)
{
	for (int pass = 0; pass < 4 * SCHED_MAX_CPUS; pass++) {
		bool again = false;
		sched_for_each_cpu(cpu, &dp->owned) {
			struct dispatch_pcpu *pc = &dp->pcpu[cpu];
			if (!pc->resched)
				continue;
			if (pc->curr && pc->active) {
				request_preempt(pc->curr);
				continue;   /* its dispatch_run_end reschedules */
			}
			schedule_cpu(dp, cpu, now);
			again = true;
		}
		if (!again)
			return;
	}
	log_warn("dispatch: scheduler keeps tickling; deferring to the timer");
	timer_poke(dp, 0);
}

/* ---- host priority ------------------------------------------------------------ */

/*
 * Hypervisor work must preempt guest execution, as Xen's timer interrupt
 * and softirqs preempt whatever vCPU runs.  Here both are host threads
 * pinned to the same host CPU, and the host's fair scheduler lets a running
 * vCPU thread keep its CPU for up to a few milliseconds before a waking
 * thread gets it.  So the threads that act for the hypervisor — the timer
 * thread, and a vCPU thread while it is blocked (its wake-up is a timer or
 * an event that the scheduler must see at once) — run at the lowest
 * real-time priority, and a vCPU thread drops back to normal priority
 * before it enters guest mode.  Without the privilege, or with KXEN_RT=0,
 * wake-ups simply wait for the host scheduler (logged).
 */
static void host_priority(struct dispatcher *dp, bool *urgent, bool want)
{
	struct sched_param sp = { .sched_priority = want ? 1 : 0 };
	int rc;

	if (*urgent == want || atomic_load(&dp->no_rt))
		return;
	rc = pthread_setschedparam(pthread_self(), want ? SCHED_FIFO : SCHED_OTHER, &sp);
	if (rc) {
		if (!atomic_exchange(&dp->no_rt, true))
			log_info("dispatch: no real-time host priority (%s); wake-ups wait for "
				 "the host scheduler", strerror(rc));
		return;
	}
	*urgent = want;
}

/* ---- the timer thread -------------------------------------------------------- */

static void *timer_main(void *arg)
{
	struct dispatcher *dp = arg;
	bool urgent = false;

	host_priority(dp, &urgent, true);
	pthread_mutex_lock(&dp->lock);
	while (!dp->stop) {
		int64_t now = now_ns(), next = NO_DEADLINE;
		sched_for_each_cpu(cpu, &dp->owned) {
			struct dispatch_pcpu *pc = &dp->pcpu[cpu];
			if (pc->timer && pc->timer <= now) {
				struct sched_instance *s = csched_of(dp, cpu);
				pc->timer = 0;
				if (s)
					sched_timer(s, cpu, now);
			}
			if (!pc->curr && pc->slice_end <= now) {
				pc->slice_end = NO_DEADLINE;
				pc->resched = true;
			}
		}
		settle(dp, now);
		sched_for_each_cpu(cpu, &dp->owned) {
			struct dispatch_pcpu *pc = &dp->pcpu[cpu];
			if (pc->timer && pc->timer < next)
				next = pc->timer;
			if (!pc->curr && pc->slice_end < next)
				next = pc->slice_end;
		}
		dp->timer_wait = next;
		if (next == NO_DEADLINE) {
			pthread_cond_wait(&dp->timer_cond, &dp->lock);
		} else {
			struct timespec ts = { .tv_sec = next / 1000000000,
					       .tv_nsec = next % 1000000000 };
			pthread_cond_timedwait(&dp->timer_cond, &dp->lock, &ts);
		}
		dp->timer_wait = 0;
	}
	pthread_mutex_unlock(&dp->lock);
	return NULL;
}

/* ---- set-up ------------------------------------------------------------------ */

static int parse_pcpus(const char *spec, struct sched_cpumask *m, char *err, size_t errlen)
{
	cpu_set_t set;
	struct sched_cpumask affinity;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set)) {
		snprintf(err, errlen, "sched_getaffinity: %s", strerror(errno));
		return -errno;
	}
	sched_cpumask_zero(&affinity);
	for (int c = 0; c < SCHED_MAX_CPUS && c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			sched_cpumask_set(&affinity, c);
	if (!spec || !*spec) {
		*m = affinity;
	} else {
		if (sched_cpumask_parse(m, spec, SCHED_MAX_CPUS)) {
			snprintf(err, errlen, "bad pCPU list \"%.64s\" (want e.g. 0-1,3)", spec);
			return -EINVAL;
		}
		sched_cpumask_and(m, m, &affinity);
	}
	if (sched_cpumask_empty(m)) {
		snprintf(err, errlen, "no usable pCPU in \"%.64s\"", spec ? spec : "affinity");
		return -EINVAL;
	}
	return 0;
}

/* ---- host topology ----------------------------------------------------------- */

/* A small non-negative number from a sysfs file, -1 if unreadable. */
static long sysfs_number(const char *fmt, int cpu)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, fmt, cpu);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1 || v < 0 || v > 65535)
		v = -1;
	fclose(f);
	return v;
}

/* The NUMA node holding `cpu`: sysfs links cpuN/nodeK. */
static int cpu_node(int cpu)
{
	char path[128];
	long k;

	for (k = 0; k < 1024; k++) {
		snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/node%ld", cpu, k);
		if (access(path, F_OK) == 0)
			return (int)k;
	}
	return 0;
}

/*
 * The host's CPU topology, as Xen's scheduler sees the machine's: credit2
 * shares runqueues by it, cpupool-numa-split and node: CPU lists use its
 * nodes.  Core numbers are made unique across sockets.  A CPU sysfs does
 * not describe counts as its own core in socket 0, node 0.
 */
static void host_topology(struct sched_topology *t, int nr_cpus)
{
	long core_key[SCHED_MAX_CPUS];
	int nr_cores = 0;

	sched_topology_init(t, nr_cpus, 1, nr_cpus, 1);
	for (int c = 0; c < nr_cpus; c++) {
		long pkg = sysfs_number("/sys/devices/system/cpu/cpu%d/topology/physical_package_id", c);
		long core = sysfs_number("/sys/devices/system/cpu/cpu%d/topology/core_id", c);
		long key = pkg < 0 || core < 0 ? -1 - c : pkg * 65536 + core;
		int idx = 0;

		while (idx < nr_cores && core_key[idx] != key)
			idx++;
		if (idx == nr_cores)
			core_key[nr_cores++] = key;
		t->core[c] = (uint16_t)idx;
		t->socket[c] = (uint16_t)(pkg < 0 ? 0 : pkg);
		t->node[c] = (uint16_t)cpu_node(c);
	}
}

/* A CPU list from a user (xl's syntax, node: items by the host's nodes). */
static int parse_cpulist(struct dispatcher *dp, const char *spec, struct sched_cpumask *m)
{
	int rc = sched_cpulist_parse(m, spec, dp->nr_host_cpus, &dp->topo);
	return rc == -ENOENT ? -ENODEV : rc;
}

int dispatch_cpulist_expand(struct dispatcher *dp, const char *spec, int *cpus, int max)
{
	struct sched_cpumask m;
	int n = 0, rc;

	if (!dp)
		return -ENOSYS;
	rc = parse_cpulist(dp, spec, &m);
	if (rc)
		return rc;
	sched_for_each_cpu(c, &m) {
		if (n == max)
			return -E2BIG;
		cpus[n++] = c;
	}
	return n;
}

const char *dispatch_cpulist_strerror(int rc)
{
	switch (rc) {
	case -EINVAL: return "not a CPU list (want e.g. 0-3,^2, all, node:0)";
	case -ERANGE: return "CPU number out of range";
	case -ENODEV: return "no such NUMA node on this host";
	case -E2BIG: return "too many CPUs";
	case -EDOM: return "selects no CPU kxend owns";
	default: return strerror(-rc);
	}
}

bool dispatch_sched_known(const char *sched_name)
{
	return sched_ops_find(sched_name) != NULL;
}

int dispatch_init(const char *pcpus, const char *sched_name, struct dispatcher **out,
		  char *err, size_t errlen)
{
	struct sched_env env = { .tickle = env_tickle, .set_timer = env_set_timer };
	struct dispatcher *dp;
	pthread_condattr_t ca;
	int rc, max_cpu = -1;

	if (sched_name && !dispatch_sched_known(sched_name)) {
		snprintf(err, errlen, "unknown scheduler \"%.64s\" (want credit or credit2)",
			 sched_name);
		return -EINVAL;
	}
	dp = calloc(1, sizeof *dp);
	if (!dp) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!pcpus)
		pcpus = getenv("KXEN_PCPUS");
	const char *rt = getenv("KXEN_RT");
	if (rt && strcmp(rt, "0") == 0) {
		atomic_store(&dp->no_rt, true);
		log_info("dispatch: KXEN_RT=0: no real-time host priority for wake-ups");
	}
	rc = parse_pcpus(pcpus, &dp->owned, err, errlen);
	if (rc) {
		free(dp);
		return rc;
	}
	sched_for_each_cpu(c, &dp->owned)
		max_cpu = c;
	/* Priority inheritance: a real-time waker (see host_priority) must not
	 * wait behind a holder that the host preempted. */
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(&dp->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&dp->timer_cond, &ca);
	pthread_condattr_destroy(&ca);
	for (int c = 0; c < SCHED_MAX_CPUS; c++)
		dp->pcpu[c].slice_end = NO_DEADLINE;
	env.opaque = dp;
	int64_t now = now_ns();
	host_topology(&dp->topo, max_cpu + 1);
	long conf = sysconf(_SC_NPROCESSORS_CONF);
	dp->nr_host_cpus = conf > max_cpu ? (conf < SCHED_MAX_CPUS ? (int)conf : SCHED_MAX_CPUS)
					  : max_cpu + 1;
	rc = cpupool_set_init(&dp->pools, &dp->topo, &env, sched_name ? sched_name : "credit",
			      NULL, now);
	if (rc) {
		snprintf(err, errlen, "cannot set up scheduler %s: %s",
			 sched_name ? sched_name : "credit", strerror(-rc));
		goto fail_sched;
	}
	for (int c = 0; c <= max_cpu && !rc; c++)
		if (!sched_cpumask_test(&dp->owned, c))
			rc = cpupool_cpu_remove(&dp->pools, 0, c, now);
	if (rc) {
		snprintf(err, errlen, "cannot set up Pool-0: %s", strerror(-rc));
		goto fail_pools;
	}
	for (int c = 0; c < SCHED_MAX_CPUS; c++)
		if (!sched_cpumask_test(&dp->owned, c))
			dp->pcpu[c] = (struct dispatch_pcpu){ .slice_end = NO_DEADLINE };
	rc = -pthread_create(&dp->timer_thread, NULL, timer_main, dp);
	if (rc) {
		snprintf(err, errlen, "cannot start the scheduler timer thread");
		goto fail_pools;
	}
	dp->timer_started = true;
	char cpus[128];
	sched_cpumask_format(&dp->owned, cpus, sizeof cpus);
	log_info("dispatch: scheduler %s on pCPUs %s", sched_name ? sched_name : "credit", cpus);
	*out = dp;
	return 0;
fail_pools:
	cpupool_set_deinit(&dp->pools, now);
fail_sched:
	pthread_cond_destroy(&dp->timer_cond);
	pthread_mutex_destroy(&dp->lock);
	free(dp);
	return rc;
}

void dispatch_fini(struct dispatcher *dp)
{
	if (!dp)
		return;
	if (dp->timer_started) {
		pthread_mutex_lock(&dp->lock);
		dp->stop = true;
		pthread_cond_signal(&dp->timer_cond);
		pthread_mutex_unlock(&dp->lock);
		pthread_join(dp->timer_thread, NULL);
	}
	cpupool_set_deinit(&dp->pools, now_ns());
	pthread_cond_destroy(&dp->timer_cond);
	pthread_mutex_destroy(&dp->lock);
	free(dp);
}

/* ---- domains ------------------------------------------------------------------ */

int dispatch_add_domain(struct dispatcher *dp, struct domain *d, const char *pool)
{
	struct dispatch_dom *dd;
	pthread_condattr_t ca;
	int rc;

	if (!dp)
		return 0;
	dd = calloc(1, sizeof *dd);
	if (!dd)
		return -ENOMEM;
	dd->sd.domid = d->domid;
	dd->sd.nr_vcpus = (int)d->max_vcpus;
	dd->sd.vcpus = dd->vptrs;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (unsigned i = 0; i < d->max_vcpus; i++) {
		struct dispatch_vcpu *dv = &dd->dv[i];
		sched_vcpu_init(&dv->sv, &dd->sd, (int)i);
		dv->v = d->vcpus[i];
		dv->cpu = -1;
		pthread_cond_init(&dv->cond, &ca);
		dd->vptrs[i] = &dv->sv;
		d->vcpus[i]->dv = dv;
	}
	pthread_condattr_destroy(&ca);
	d->dp = dp;
	d->dd = dd;
	pthread_mutex_lock(&dp->lock);
	struct cpupool *cp = pool ? cpupool_find(&dp->pools, pool) : cpupool_get(&dp->pools, 0);
	rc = cp ? cpupool_domain_add(&dp->pools, cp->id, &dd->sd, now_ns()) : -ENOENT;
	if (!rc)
		dd->attached = true;
	pthread_mutex_unlock(&dp->lock);
	return rc;
}

/* After every vCPU thread has stopped. */
void dispatch_remove_domain(struct domain *d)
{
	struct dispatcher *dp = d->dp;
	struct dispatch_dom *dd = d->dd;

	if (!dp || !dd)
		return;
	pthread_mutex_lock(&dp->lock);
	int64_t now = now_ns();
	sched_for_each_cpu(cpu, &dp->owned) {
		struct dispatch_pcpu *pc = &dp->pcpu[cpu];
		if (pc->curr && pc->curr->d == d) {
			/* Cannot happen (the threads slept themselves); be safe. */
			pc->curr->dv->cpu = -1;
			pc->curr = NULL;
			pc->active = false;
			pc->resched = true;
		}
	}
	if (dd->attached)
		cpupool_domain_remove(&dp->pools, &dd->sd, now);
	settle(dp, now);
	pthread_mutex_unlock(&dp->lock);
	for (unsigned i = 0; i < d->max_vcpus; i++) {
		pthread_cond_destroy(&dd->dv[i].cond);
		if (d->vcpus[i])
			d->vcpus[i]->dv = NULL;
	}
	free(dd);
	d->dd = NULL;
	d->dp = NULL;
}

/* ---- the vCPU side ------------------------------------------------------------ */

static void pin(struct vcpu *v, int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	if (rc)
		log_warn("d%uv%u: cannot pin to CPU %d: %s", v->d->domid, v->id, cpu, strerror(rc));
	v->pinned_cpu = cpu;
}

static bool must_stop(struct vcpu *v)
{
	return atomic_load(&v->d->dying) || atomic_load(&v->d->paused);
}

int dispatch_run_begin(struct vcpu *v)
{
	struct dispatcher *dp = v->d->dp;
	struct dispatch_vcpu *dv = v->dv;
	int rc;

	if (!dp) {
		v->slice_end = NO_DEADLINE;
		return 0;
	}
	if (v->pcpu >= 0)
		return 0;
	pthread_mutex_lock(&dp->lock);
	atomic_store(&v->dispatch_waiting, true);
	for (;;) {
		if (must_stop(v)) {
			if (v->sched_awake) {
				if (!dv->rewake)
					sched_sleep(vsched(dp, dv), &dv->sv, now_ns());
				dv->rewake = false;
				v->sched_awake = false;
				settle(dp, now_ns());
			}
			rc = -EINTR;
			break;
		}
		if (!v->sched_awake) {
			int64_t now = now_ns();
			v->sched_awake = true;
			sched_wake(vsched(dp, dv), &dv->sv, now);
			settle(dp, now);
			continue;
		}
		if (dv->cpu >= 0) {
			struct dispatch_pcpu *pc = &dp->pcpu[dv->cpu];
			pc->active = true;
			atomic_store(&v->preempt, false);
			v->pcpu = dv->cpu;
			v->slice_end = pc->slice_end;
			rc = 0;
			break;
		}
		pthread_cond_wait(&dv->cond, &dp->lock);
	}
	atomic_store(&v->dispatch_waiting, false);
	pthread_mutex_unlock(&dp->lock);
	if (rc == 0 && v->pinned_cpu != v->pcpu)
		pin(v, v->pcpu);
	if (rc == 0)
		host_priority(dp, &v->host_urgent, false);
	return rc;
}

void dispatch_run_end(struct vcpu *v, enum dispatch_reason why)
{
	struct dispatcher *dp = v->d->dp;
	struct dispatch_vcpu *dv = v->dv;

	if (!dp) {
		if (why == DISPATCH_YIELD)
			sched_yield();
		return;
	}
	if (why == DISPATCH_BLOCKED || why == DISPATCH_OFFLINE)
		host_priority(dp, &v->host_urgent, true);
	if (v->pcpu < 0 && (why == DISPATCH_PREEMPTED || why == DISPATCH_YIELD || !v->sched_awake))
		return;
	pthread_mutex_lock(&dp->lock);
	int64_t now = now_ns();
	if (v->pcpu >= 0) {
		struct dispatch_pcpu *pc = &dp->pcpu[v->pcpu];
		pc->active = false;
		pc->resched = true;   /* a safe point: decide this pCPU now */
		v->pcpu = -1;
	}
	atomic_store(&v->preempt, false);
	struct sched_instance *s = vsched(dp, dv);
	switch (why) {
	case DISPATCH_BLOCKED:
	case DISPATCH_OFFLINE:
		if (v->sched_awake) {
			v->sched_awake = false;
			if (!dv->rewake)
				sched_sleep(s, &dv->sv, now);
		}
		dv->rewake = false;
		break;
	case DISPATCH_YIELD:
		if (!dv->rewake)
			s->ops->yield(s, &dv->sv, now);
		break;
	case DISPATCH_PREEMPTED:
		break;
	}
	if (dv->rewake) {
		/* Put to sleep by a pool move while it ran: settle first so the
		 * old pCPU lets it go, then wake it where it now belongs. */
		settle(dp, now);
		dv->rewake = false;
		sched_wake(s, &dv->sv, now);
	}
	settle(dp, now);
	pthread_mutex_unlock(&dp->lock);
}

void dispatch_poke(struct vcpu *v)
{
	struct dispatcher *dp = v->d->dp;
	if (!dp || !v->dv || !atomic_load(&v->dispatch_waiting))
		return;
	pthread_mutex_lock(&dp->lock);
	pthread_cond_broadcast(&v->dv->cond);
	pthread_mutex_unlock(&dp->lock);
}

/* ---- parameters ------------------------------------------------------------------ */

int domain_sched_set(struct domain *d, int weight, int cap)
{
	struct dispatcher *dp = d->dp;
	struct sched_dom_params p = { weight, cap };
	int rc;

	if (!dp || !d->dd)
		return -ENOSYS;
	pthread_mutex_lock(&dp->lock);
	int64_t now = now_ns();
	rc = dsched(dp, d->dd)->ops->dom_set(dsched(dp, d->dd), &d->dd->sd, &p, now);
	settle(dp, now);
	pthread_mutex_unlock(&dp->lock);
	return rc;
}

int domain_sched_get(struct domain *d, int *weight, int *cap)
{
	struct dispatcher *dp = d->dp;
	struct sched_dom_params p;
	int rc;

	if (!dp || !d->dd)
		return -ENOSYS;
	pthread_mutex_lock(&dp->lock);
	rc = dsched(dp, d->dd)->ops->dom_get(dsched(dp, d->dd), &d->dd->sd, &p);
	pthread_mutex_unlock(&dp->lock);
	if (!rc) {
		*weight = p.weight;
		*cap = p.cap;
	}
	return rc;
}

int domain_vcpu_set_affinity(struct domain *d, unsigned vcpu, const char *cpus)
{
	return domain_vcpu_pin(d, vcpu, cpus, NULL);
}

/* ---- cpupools ---------------------------------------------------------------------- */

/*
 * Take an awake vCPU off whatever pCPU it holds or was given and put it to
 * sleep in its scheduler, before its pool or its pCPU changes.  Returns
 * true if the caller must wake it (in its pool after the change); false if
 * it was asleep, or if its thread is in guest mode: then it is asked to
 * leave and wakes itself in dispatch_run_end (dv->rewake).
 */
static bool unplace(struct dispatcher *dp, struct dispatch_vcpu *dv, int64_t now)
{
	struct vcpu *v = dv->v;

	if (!v || !v->sched_awake || dv->rewake)
		return false;
	sched_sleep(vsched(dp, dv), &dv->sv, now);
	if (dv->cpu >= 0) {
		struct dispatch_pcpu *pc = &dp->pcpu[dv->cpu];
		if (pc->active && pc->curr == v) {
			dv->rewake = true;
			pc->resched = true;
			request_preempt(v);
			return false;
		}
		pc->curr = NULL;
		pc->resched = true;
		dv->cpu = -1;
	}
	return true;
}

static struct cpupool *pool_by_id(struct dispatcher *dp, int id)
{
	return id >= 0 ? cpupool_get(&dp->pools, id) : NULL;
}

int dispatch_cpupool_lookup(struct dispatcher *dp, const char *spec)
{
	struct cpupool *p;
	char *end;
	int rc = -ENOENT;

	if (!dp)
		return -ENOSYS;
	pthread_mutex_lock(&dp->lock);
	p = cpupool_find(&dp->pools, spec);
	if (!p && *spec >= '0' && *spec <= '9') {
		long id = strtol(spec, &end, 10);
		if (!*end && id < INT_MAX)
			p = pool_by_id(dp, (int)id);
	}
	if (p)
		rc = p->id;
	pthread_mutex_unlock(&dp->lock);
	return rc;
}

static void fill_info(struct dispatcher *dp, struct cpupool *p, struct cpupool_info *out)
{
	struct sched_pool_params pp = { 0 };
	memset(out, 0, sizeof *out);
	out->id = p->id;
	snprintf(out->name, sizeof out->name, "%s", p->name);
	snprintf(out->sched, sizeof out->sched, "%s", p->sched.ops->name);
	sched_cpumask_format(&p->sched.cpus, out->cpus, sizeof out->cpus);
	out->n_cpus = (unsigned)sched_cpumask_weight(&p->sched.cpus);
	out->n_dom = (unsigned)p->n_dom;
	if (p->sched.ops->pool_get && !p->sched.ops->pool_get(&p->sched, &pp)) {
		out->tslice_ms = pp.tslice_ms;
		out->ratelimit_us = pp.ratelimit_us;
		out->migr_delay_us = pp.migr_delay_us;
	}
	(void)dp;
}

int dispatch_cpupool_list(struct dispatcher *dp, struct cpupool_info *out, int max)
{
	int n = 0;

	if (!dp)
		return -ENOSYS;
	pthread_mutex_lock(&dp->lock);
	for (int id = 0; id < dp->pools.next_id && n < max; id++) {
		struct cpupool *p = cpupool_get(&dp->pools, id);
		if (p)
			fill_info(dp, p, &out[n++]);
	}
	pthread_mutex_unlock(&dp->lock);
	return n;
}

int dispatch_cpupool_get(struct dispatcher *dp, int id, struct cpupool_info *out)
{
	struct cpupool *p;
	int rc = 0;

	if (!dp)
		return -ENOSYS;
	pthread_mutex_lock(&dp->lock);
	p = pool_by_id(dp, id);
	if (p)
		fill_info(dp, p, out);
	else
		rc = -ENOENT;
	pthread_mutex_unlock(&dp->lock);
	return rc;
}

int dispatch_free_cpus(struct dispatcher *dp, char *buf, size_t len)
{
	struct sched_cpumask m;

	if (!dp)
		return -ENOSYS;
	pthread_mutex_lock(&dp->lock);
	sched_cpumask_and(&m, &dp->pools.free_cpus, &dp->owned);
	sched_cpumask_format(&m, buf, len);
	pthread_mutex_unlock(&dp->lock);
	return 0;
}

/* Under dp->lock: a free pCPU of ours joins pool id. */
static int cpu_add_locked(struct dispatcher *dp, int id, int cpu, int64_t now)
{
	int rc;

	if (!sched_cpumask_test(&dp->owned, cpu))
		return -EINVAL;
	rc = cpupool_cpu_add(&dp->pools, id, cpu, now);
	if (!rc)
		dp->pcpu[cpu].resched = true;
	return rc;
}

int dispatch_cpupool_create(struct dispatcher *dp, const char *name, const char *sched_name,
			    const char *cpus, int *id_out)
{
	struct sched_cpumask m;
	int rc, id;

	if (!dp)
		return -ENOSYS;
	if (cpus && (rc = parse_cpulist(dp, cpus, &m)))
		return rc;
	pthread_mutex_lock(&dp->lock);
	int64_t now = now_ns();
	if (cpupool_find(&dp->pools, name)) {
		rc = -EEXIST;
		goto out;
	}
	if (!cpus) {
		/* Like xl without cpus= or nodes=: one free CPU. */
		sched_cpumask_and(&m, &dp->pools.free_cpus, &dp->owned);
		int c = sched_cpumask_first(&m);
		sched_cpumask_zero(&m);
		if (c < 0) {
			rc = -EBUSY;
			goto out;
		}
		sched_cpumask_set(&m, c);
	}
	sched_for_each_cpu(c, &m) {
		if (!sched_cpumask_test(&dp->owned, c)) {
			rc = -EDOM;
			goto out;
		}
		if (!sched_cpumask_test(&dp->pools.free_cpus, c)) {
			rc = -EBUSY;
			goto out;
		}
	}
	rc = cpupool_create(&dp->pools, name, sched_name ? sched_name : "credit", NULL, &id);
	if (rc)
		goto out;
	sched_for_each_cpu(c, &m) {
		rc = cpu_add_locked(dp, id, c, now);
		if (rc) {
			cpupool_destroy(&dp->pools, id, now);
			goto out;
		}
	}
	*id_out = id;
	settle(dp, now);
out:
	pthread_mutex_unlock(&dp->lock);
	return rc;
}

int dispatch_cpupool_destroy(struct dispatcher *dp, int id)
{
	struct sched_cpumask m;
	int rc;

	if (!dp)
		return -ENOSYS;
	pthread_mutex_lock(&dp->lock);
	int64_t now = now_ns();
	struct cpupool *p = pool_by_id(dp, id);
	if (!p) {
		rc = -ENOENT;
		goto out;
	}
	m = p->sched.cpus;
	rc = cpupool_destroy(&dp->pools, id, now);
	if (!rc) {
		sched_for_each_cpu(c, &m)
			dp->pcpu[c].resched = true;
		settle(dp, now);
	}
out:
	pthread_mutex_unlock(&dp->lock);
	return rc;
}

int dispatch_cpupool_rename(struct dispatcher *dp, int id, const char *name)
{
	int rc;

	if (!dp)
		return -ENOSYS;
	pthread_mutex_lock(&dp->lock);
	rc = cpupool_rename(&dp->pools, id, name);
	pthread_mutex_unlock(&dp->lock);
	return rc;
}

int dispatch_cpupool_cpu_add(struct dispatcher *dp, int id, int cpu)
{
	int rc;

	if (!dp)
		return -ENOSYS;
	pthread_mutex_lock(&dp->lock);
	int64_t now = now_ns();
	rc = pool_by_id(dp, id) ? cpu_add_locked(dp, id, cpu, now) : -ENOENT;
	settle(dp, now);
	pthread_mutex_unlock(&dp->lock);
	return rc;
}

int dispatch_cpupool_cpu_remove(struct dispatcher *dp, int id, int cpu)
{
	struct cpupool *p;
	struct dispatch_vcpu *wake = NULL;
	int rc;

	if (!dp)
		return -ENOSYS;
	pthread_mutex_lock(&dp->lock);
	int64_t now = now_ns();
	p = pool_by_id(dp, id);
	if (!p) {
		rc = -ENOENT;
		goto out;
	}
	if (!sched_cpumask_test(&p->sched.cpus, cpu)) {
		rc = -EINVAL;
		goto out;
	}
	if (p->n_dom && sched_cpumask_weight(&p->sched.cpus) == 1) {
		rc = -EBUSY;
		goto out;
	}
	/* Whoever runs there leaves first, so that the pool does not pick
	 * it elsewhere while its thread is still on this pCPU. */
	struct vcpu *cur = dp->pcpu[cpu].curr;
	if (cur && unplace(dp, cur->dv, now))
		wake = cur->dv;
	rc = cpupool_cpu_remove(&dp->pools, id, cpu, now);
	if (wake)
		sched_wake(vsched(dp, wake), &wake->sv, now);
	dp->pcpu[cpu].resched = true;
	settle(dp, now);
out:
	pthread_mutex_unlock(&dp->lock);
	return rc;
}

int dispatch_cpupool_numa_split(struct dispatcher *dp)
{
	int rc;

	if (!dp)
		return -ENOSYS;
	pthread_mutex_lock(&dp->lock);
	int64_t now = now_ns();
	rc = cpupool_numa_split(&dp->pools, now);
	sched_for_each_cpu(c, &dp->owned)
		dp->pcpu[c].resched = true;
	settle(dp, now);
	pthread_mutex_unlock(&dp->lock);
	return rc;
}

int dispatch_cpupool_set_params(struct dispatcher *dp, int id, int tslice_ms, int ratelimit_us,
				int migr_delay_us)
{
	struct sched_pool_params pp;
	struct cpupool *p;
	int rc;

	if (!dp)
		return -ENOSYS;
	pthread_mutex_lock(&dp->lock);
	p = pool_by_id(dp, id);
	if (!p) {
		rc = -ENOENT;
		goto out;
	}
	pp.tslice_ms = tslice_ms >= 0 ? tslice_ms : SCHED_PARAM_KEEP;
	pp.ratelimit_us = ratelimit_us >= 0 ? ratelimit_us : SCHED_PARAM_KEEP;
	pp.runqueue = SCHED_PARAM_KEEP;
	pp.migr_delay_us = migr_delay_us >= 0 ? migr_delay_us : SCHED_PARAM_KEEP;
	rc = p->sched.ops->pool_set(&p->sched, &pp);
out:
	pthread_mutex_unlock(&dp->lock);
	return rc;
}

int domain_cpupool(struct domain *d)
{
	struct dispatcher *dp = d->dp;
	int id;

	if (!dp || !d->dd)
		return -ENOSYS;
	pthread_mutex_lock(&dp->lock);
	id = d->dd->sd.poolid;
	pthread_mutex_unlock(&dp->lock);
	return id;
}

int domain_cpupool_move(struct domain *d, int id)
{
	struct dispatcher *dp = d->dp;
	struct dispatch_dom *dd = d->dd;
	bool wake[MAX_VCPUS] = { false };
	int rc;

	if (!dp || !dd)
		return -ENOSYS;
	pthread_mutex_lock(&dp->lock);
	int64_t now = now_ns();
	struct cpupool *to = pool_by_id(dp, id);
	if (!to) {
		rc = -ENOENT;
		goto out;
	}
	if (dd->sd.poolid == id) {
		rc = 0;
		goto out;
	}
	if (sched_cpumask_empty(&to->sched.cpus)) {
		rc = -EINVAL;
		goto out;
	}
	for (unsigned i = 0; i < d->max_vcpus; i++)
		wake[i] = unplace(dp, &dd->dv[i], now);
	rc = cpupool_domain_move(&dp->pools, &dd->sd, id, now);
	/* On failure it is back in the old pool: wake it there. */
	for (unsigned i = 0; i < d->max_vcpus; i++)
		if (wake[i])
			sched_wake(dsched(dp, dd), &dd->dv[i].sv, now);
	settle(dp, now);
out:
	pthread_mutex_unlock(&dp->lock);
	return rc;
}

/* ---- per-vCPU information and affinity ------------------------------------------------ */

int domain_vcpu_info(struct domain *d, unsigned vcpu, struct vcpu_sched_info *out)
{
	struct dispatcher *dp = d->dp;
	struct vcpu *v;

	if (vcpu >= d->max_vcpus || !(v = d->vcpus[vcpu]))
		return -ENOENT;
	memset(out, 0, sizeof *out);
	out->online = v->online;
	out->time_ns = v->cpu_time_ns;
	out->cpu = -1;
	if (!dp || !d->dd) {
		snprintf(out->hard, sizeof out->hard, "all");
		snprintf(out->soft, sizeof out->soft, "all");
		out->running = atomic_load(&v->running);
		out->blocked = v->blocked;
		return 0;
	}
	pthread_mutex_lock(&dp->lock);
	struct dispatch_vcpu *dv = &d->dd->dv[vcpu];
	out->running = dv->cpu >= 0 && dp->pcpu[dv->cpu].active && dp->pcpu[dv->cpu].curr == v;
	out->cpu = dv->cpu >= 0 ? dv->cpu : dv->sv.processor;
	out->blocked = !v->sched_awake;
	sched_cpumask_format(&dv->sv.hard_affinity, out->hard, sizeof out->hard);
	sched_cpumask_format(&dv->sv.soft_affinity, out->soft, sizeof out->soft);
	pthread_mutex_unlock(&dp->lock);
	return 0;
}

int domain_vcpu_pin(struct domain *d, unsigned vcpu, const char *hard, const char *soft)
{
	struct dispatcher *dp = d->dp;
	struct sched_cpumask h, s;
	int rc = 0;

	if (!dp || !d->dd)
		return -ENOSYS;
	if (vcpu >= d->max_vcpus)
		return -ENOENT;
	if (hard && (rc = parse_cpulist(dp, hard, &h)))
		return rc;
	if (soft && (rc = parse_cpulist(dp, soft, &s)))
		return rc;
	pthread_mutex_lock(&dp->lock);
	if (hard && !sched_cpumask_intersects(&h, &dp->owned)) {
		rc = -EDOM;
		goto out;
	}
	struct dispatch_vcpu *dv = &d->dd->dv[vcpu];
	struct vcpu *v = dv->v;
	int64_t now = now_ns();
	if (soft)
		dv->sv.soft_affinity = s;
	if (hard) {
		dv->sv.hard_affinity = h;
		if (dv->cpu >= 0 && !sched_cpumask_test(&h, dv->cpu)) {
			/* Running (or about to) where it may no longer: reschedule
			 * there; the scheduler requeues it on an allowed pCPU. */
			dp->pcpu[dv->cpu].resched = true;
		} else if (dv->cpu < 0 && v->sched_awake && !dv->rewake) {
			/* Queued, maybe on a pCPU it may no longer use: requeue. */
			sched_sleep(vsched(dp, dv), &dv->sv, now);
			sched_wake(vsched(dp, dv), &dv->sv, now);
		}
	}
	settle(dp, now);
out:
	pthread_mutex_unlock(&dp->lock);
	return rc;
}
