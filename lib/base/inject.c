/* Failure injection and allocation counters. Atomics, not a lock: every
 * allocation on every host thread passes through here. */
#include <stdbool.h>
#include "base/base.h"

struct kind_state
{
    uint64_t countdown;  /* attempts left before the armed failure; 0 = disarmed */
    int persistent;      /* once fired, keep failing */
    int failing;         /* a persistent injection has fired */
    uint64_t fired;
    struct mmsim_alloc_counters counters;
};

static struct kind_state g_kinds[MMSIM_ALLOC_KINDS];

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define INC(p) __atomic_fetch_add((p), 1, __ATOMIC_RELAXED)

void mmsim_inject_arm(enum mmsim_alloc_kind kind, uint64_t nth, enum mmsim_inject_mode mode)
{
    RT_ASSERT(kind < MMSIM_ALLOC_KINDS);
    struct kind_state *k = &g_kinds[kind];
    STORE(&k->failing, 0);
    STORE(&k->fired, 0);
    STORE(&k->persistent, mode == MMSIM_INJECT_PERSISTENT);
    STORE(&k->countdown, nth);
}

uint64_t mmsim_inject_disarm(enum mmsim_alloc_kind kind)
{
    RT_ASSERT(kind < MMSIM_ALLOC_KINDS);
    struct kind_state *k = &g_kinds[kind];
    STORE(&k->countdown, 0);
    STORE(&k->failing, 0);
    return __atomic_exchange_n(&k->fired, 0, __ATOMIC_ACQ_REL);
}

void mmsim_inject_disarm_all(void)
{
    for (int kind = 0; kind < MMSIM_ALLOC_KINDS; kind++)
        mmsim_inject_disarm((enum mmsim_alloc_kind)kind);
}

bool mmsim_inject_should_fail(enum mmsim_alloc_kind kind)
{
    struct kind_state *k = &g_kinds[kind];
    if (MMSIM_LIKELY(LOAD(&k->countdown) == 0 && !LOAD(&k->failing)))
        return false;
    if (LOAD(&k->failing)) {
        INC(&k->fired);
        return true;
    }
    uint64_t left = LOAD(&k->countdown);
    /* Claim one step of the countdown; exactly one thread sees it reach zero. */
    while (left != 0 &&
           !__atomic_compare_exchange_n(&k->countdown, &left, left - 1, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        ;
    if (left != 1)
        return false;
    INC(&k->fired);
    if (LOAD(&k->persistent))
        STORE(&k->failing, 1);
    return true;
}

void mmsim_alloc_count(enum mmsim_alloc_kind kind, bool success, bool exhausted)
{
    struct mmsim_alloc_counters *c = &g_kinds[kind].counters;
    INC(&c->attempts);
    if (success)
        INC(&c->successes);
    else if (exhausted)
        INC(&c->exhausted);
    else
        INC(&c->injected);
}

void mmsim_alloc_count_free(enum mmsim_alloc_kind kind)
{
    INC(&g_kinds[kind].counters.frees);
}

void mmsim_alloc_counters_reset(enum mmsim_alloc_kind kind)
{
    struct mmsim_alloc_counters *c = &g_kinds[kind].counters;
    STORE(&c->attempts, 0);
    STORE(&c->successes, 0);
    STORE(&c->injected, 0);
    STORE(&c->exhausted, 0);
    STORE(&c->frees, 0);
}

void mmsim_alloc_counters_get(enum mmsim_alloc_kind kind, struct mmsim_alloc_counters *out)
{
    RT_ASSERT(kind < MMSIM_ALLOC_KINDS && out);
    const struct mmsim_alloc_counters *c = &g_kinds[kind].counters;
    out->attempts = LOAD(&c->attempts);
    out->successes = LOAD(&c->successes);
    out->injected = LOAD(&c->injected);
    out->exhausted = LOAD(&c->exhausted);
    out->frees = LOAD(&c->frees);
}
