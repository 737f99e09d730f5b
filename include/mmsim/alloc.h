/*
 * Allocation accounting and failure injection for the two allocators every
 * mm path uses: the kernel heap (rt_malloc and friends) and the page
 * allocator (rt_pages_alloc*). Tests read the counters to assert exact
 * balance and arm failures to walk every error path.
 */
#ifndef MMSIM_ALLOC_H
#define MMSIM_ALLOC_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum mmsim_alloc_kind
{
    MMSIM_ALLOC_HEAP = 0,
    MMSIM_ALLOC_PAGE = 1,
    MMSIM_ALLOC_KINDS
};

enum mmsim_inject_mode
{
    MMSIM_INJECT_ONCE,       /* only the Nth attempt fails */
    MMSIM_INJECT_PERSISTENT, /* the Nth attempt and every later one fail */
};

struct mmsim_alloc_counters
{
    uint64_t attempts;  /* calls, including failed ones */
    uint64_t successes;
    uint64_t injected;  /* failures caused by injection */
    uint64_t exhausted; /* failures because the allocator ran out */
    uint64_t frees;     /* blocks returned (pages: only when the block really went back) */
};

/* Make the `nth` allocation attempt of `kind` from now on fail (nth >= 1).
 * Replaces any armed injection of that kind. */
void mmsim_inject_arm(enum mmsim_alloc_kind kind, uint64_t nth, enum mmsim_inject_mode mode);
/* Disarm injection of `kind`; returns how many failures it injected. */
uint64_t mmsim_inject_disarm(enum mmsim_alloc_kind kind);
/* Disarm both kinds. */
void mmsim_inject_disarm_all(void);

/* Snapshot of the counters since boot (or since the process started for the heap). */
void mmsim_alloc_counters_get(enum mmsim_alloc_kind kind, struct mmsim_alloc_counters *out);

/* Heap bytes currently allocated through rt_malloc/rt_calloc/rt_realloc. */
size_t mmsim_heap_used(void);
/* Cap the simulated heap at `total_bytes` (rt_memory_info's total); 0 = default 64 MiB. */
void mmsim_heap_set_total(size_t total_bytes);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_ALLOC_H */
