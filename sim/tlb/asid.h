/*
 * asid.h — the machine-wide ASID allocator (docs/simtlb.md).
 *
 * An address space gets an ASID the first time it is scheduled on a CPU. The
 * caller keeps a `struct mmsim_asid_ctx` per address space (generation and
 * ASID, touched only by the allocator under its lock). ASID 0 is reserved for
 * the kernel. When the ASIDs run out the generation rolls over: every ASID is
 * forgotten except those running on some CPU, which keep theirs, and each CPU
 * is told to flush its whole TLB before it next switches address space.
 */
#ifndef MMSIM_ASID_H
#define MMSIM_ASID_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMSIM_ASID_MAX_CPUS 64u

/* Per address space; zero-initialise before first use, pass to
 * mmsim_asid_release before freeing it. Fields are the allocator's. */
struct mmsim_asid_ctx
{
    uint64_t generation; /* 0: never had an ASID */
    uint16_t asid;
};

struct mmsim_asid_config
{
    unsigned asid_bits;  /* 8 or 16 (TCR_EL1.AS) */
    unsigned ncpus;      /* 1..MMSIM_ASID_MAX_CPUS */
    /* Remove every non-global entry tagged `asid` from every CPU's TLB,
     * complete on return (an ASIDE1IS broadcast). Called with the allocator's
     * lock held: it must not call back into the allocator. May be NULL: then a
     * released ASID is reused only after the next rollover. */
    void (*invalidate_asid)(void *ctx, uint16_t asid);
    void *ctx;
};

struct mmsim_asid_stats
{
    uint64_t allocations;        /* fresh ASIDs handed out */
    uint64_t kept;               /* contexts carried into a new generation (running at rollover) */
    uint64_t rollovers;
    uint64_t flushes_requested;  /* per CPU per rollover, unless one is still pending */
    uint64_t flushes_delivered;  /* schedules that returned flush_tlb = true */
    uint64_t releases;           /* mmsim_asid_release calls on a context holding an ASID */
    uint64_t asid_invalidations; /* invalidate_asid callbacks made by releases */
};

struct mmsim_asid_alloc;

/* An allocator for one machine, generation 1, no ASID in use. NULL on a bad
 * configuration (asserts) or when host memory runs out. */
struct mmsim_asid_alloc *mmsim_asid_create(const struct mmsim_asid_config *cfg);
/* Free `a` (NULL is ignored). No other thread may be using it. */
void mmsim_asid_destroy(struct mmsim_asid_alloc *a);
/* Number of ASIDs address spaces can get: 2^asid_bits − 1. */
unsigned mmsim_asid_usable(const struct mmsim_asid_alloc *a);

/* Switch `cpu` to the address space owning `ctx` (NULL: kernel only), giving
 * it an ASID if it has none valid in this generation (rolling over if none is
 * free). Returns the ASID for TTBR0 (0 for NULL). Sets `*flush_tlb` when the
 * CPU must invalidate its whole TLB before its next access. */
uint16_t mmsim_asid_schedule(struct mmsim_asid_alloc *a, unsigned cpu, struct mmsim_asid_ctx *ctx,
                             bool *flush_tlb);
/* The address space owning `ctx` is going away; it must not be current on any
 * CPU (asserts). Its ASID becomes reusable in this generation once the
 * invalidate_asid callback returned (without one: at the next rollover).
 * Leaves `ctx` zeroed. */
void mmsim_asid_release(struct mmsim_asid_alloc *a, struct mmsim_asid_ctx *ctx);

/* The ASID `ctx` holds in the current generation, or 0 if none: then no CPU
 * can use a TLB entry of it before a flush or a new ASID, so TLB maintenance
 * for its address space may be skipped. */
uint16_t mmsim_asid_of(struct mmsim_asid_alloc *a, const struct mmsim_asid_ctx *ctx);
/* The current generation (starts at 1). */
uint64_t mmsim_asid_generation(struct mmsim_asid_alloc *a);
/* ASIDs in use in the current generation (excluding the reserved ASID 0). */
unsigned mmsim_asid_in_use(struct mmsim_asid_alloc *a);
/* Copy the counters. */
void mmsim_asid_stats_get(struct mmsim_asid_alloc *a, struct mmsim_asid_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_ASID_H */
