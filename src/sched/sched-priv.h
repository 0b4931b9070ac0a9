/*
 * sched-priv.h — helpers shared by the scheduler implementations (private to
 * src/sched).  Intrusive doubly linked lists in the style of Xen's list.h:
 * a list head is a node linked to itself; an unlinked node points to itself
 * so "is it queued?" is a constant-time check.
 */
#ifndef KXEN_SCHED_PRIV_H
#define KXEN_SCHED_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "sched/sched.h"

/* True if cond holds; otherwise records the failure (see
 * sched_invariant_failures) and is false, for the caller to back out. */
bool sched_invariant_failed(const char *where);
#define SCHED_STR_(x) #x
#define SCHED_STR(x) SCHED_STR_(x)
#define SCHED_CHECK(cond)                                                   \
    (__builtin_expect(!!(cond), 1) ||                                       \
     sched_invariant_failed(__FILE__ ":" SCHED_STR(__LINE__) ": " #cond))

#define sched_container_of(ptr, type, member)                              \
    ((type *)((char *)(ptr) - offsetof(type, member)))

struct sched_list {
    struct sched_list *prev, *next;
};

static inline void sched_list_init(struct sched_list *l)
{
    l->prev = l->next = l;
}

static inline int sched_list_empty(const struct sched_list *l)
{
    return l->next == l;
}

/* Node is on some list (nodes are re-initialised when removed). */
static inline int sched_list_linked(const struct sched_list *n)
{
    return n->next != n;
}

static inline void sched_list_insert_between(struct sched_list *n,
                                             struct sched_list *prev,
                                             struct sched_list *next)
{
    n->prev = prev;
    n->next = next;
    prev->next = n;
    next->prev = n;
}

static inline void sched_list_add_tail(struct sched_list *n,
                                       struct sched_list *head)
{
    sched_list_insert_between(n, head->prev, head);
}

static inline void sched_list_add_head(struct sched_list *n,
                                       struct sched_list *head)
{
    sched_list_insert_between(n, head, head->next);
}

/* Insert n just before `pos` (pos may be the head: then at the tail). */
static inline void sched_list_add_before(struct sched_list *n,
                                         struct sched_list *pos)
{
    sched_list_insert_between(n, pos->prev, pos);
}

static inline void sched_list_del(struct sched_list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    sched_list_init(n);
}

#define sched_list_for_each(pos, head)                                      \
    for (struct sched_list *pos = (head)->next; pos != (head);              \
         pos = pos->next)

#define sched_list_for_each_safe(pos, tmp, head)                            \
    for (struct sched_list *pos = (head)->next, *tmp = pos->next;          \
         pos != (head); pos = tmp, tmp = pos->next)

/* Effective hard affinity inside the instance: the vCPU's hard affinity
 * restricted to the pool's CPUs, or all of the pool's CPUs if that is empty
 * (Xen "breaks" affinity rather than strand a vCPU). */
static inline void sched_effective_hard(const struct sched_instance *s,
                                        const struct sched_vcpu *v,
                                        struct sched_cpumask *out)
{
    sched_cpumask_and(out, &v->hard_affinity, &s->cpus);
    if (sched_cpumask_empty(out))
        *out = s->cpus;
}

/* Appends to a dump buffer, tracking the would-be length like snprintf. */
int sched_dump_append(char *buf, size_t len, int off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* KXEN_SCHED_PRIV_H */
