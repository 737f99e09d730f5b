/*
 * The machine-wide ASID allocator.
 *
 * One mutex guards everything, including the fields of every context passed
 * in, so CPUs on different host threads need no other synchronisation.
 * Scheduling is not a hot path (a switch costs a lock, not every access).
 *
 * Generations. A context is valid while its generation equals the current
 * one. When no ASID is free, the generation advances, the bitmap is emptied,
 * and each context current on some CPU is moved into the new generation with
 * its ASID (so the translations of running address spaces stay valid, and no
 * CPU ever runs with a stale context). Every other context becomes stale and
 * gets a fresh ASID at its next schedule. Every CPU is marked flush-pending:
 * its TLB may hold entries of stale ASIDs that the new generation hands to
 * other address spaces. A CPU only starts using a different ASID through
 * mmsim_asid_schedule, which reports the pending flush there, so the flush
 * comes before any access tagged with a reassigned ASID.
 *
 * Release. An ASID valid in this generation is released only after the
 * invalidate_asid callback removed its entries from every TLB; as the
 * address space is current nowhere, nothing can refill them, so the next
 * owner starts clean. Without the callback, the ASID stays taken until the
 * rollover flush.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <mmsim/diag.h>
#include "asid.h"

struct mmsim_asid_alloc
{
    pthread_mutex_t lock;
    struct mmsim_asid_config cfg;
    unsigned nasids;     /* 2^asid_bits, ASID 0 included */
    uint64_t generation;
    unsigned in_use;     /* bits set in `taken`, ASID 0 excluded */
    unsigned cursor;     /* next ASID to try: allocation is next-fit */
    uint64_t *taken;     /* bitmap of ASIDs held in this generation; bit 0 always set */
    struct mmsim_asid_ctx *current[MMSIM_ASID_MAX_CPUS];
    bool flush_pending[MMSIM_ASID_MAX_CPUS];
    struct mmsim_asid_stats st;
};

static bool bit_get(const uint64_t *map, unsigned i) { return (map[i / 64] >> (i % 64)) & 1; }
static void bit_set(uint64_t *map, unsigned i) { map[i / 64] |= UINT64_C(1) << (i % 64); }
static void bit_clear(uint64_t *map, unsigned i) { map[i / 64] &= ~(UINT64_C(1) << (i % 64)); }

static size_t map_bytes(unsigned nasids) { return (nasids + 63) / 64 * sizeof(uint64_t); }

struct mmsim_asid_alloc *mmsim_asid_create(const struct mmsim_asid_config *cfg)
{
    MMSIM_PRECOND(cfg && (cfg->asid_bits == 8 || cfg->asid_bits == 16), NULL, "asid_bits is 8 or 16");
    MMSIM_PRECOND(cfg->ncpus >= 1 && cfg->ncpus <= MMSIM_ASID_MAX_CPUS, NULL, "ncpus in [1, 64]");
    struct mmsim_asid_alloc *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->cfg = *cfg;
    a->nasids = 1u << cfg->asid_bits;
    a->taken = calloc(1, map_bytes(a->nasids));
    if (!a->taken) {
        free(a);
        return NULL;
    }
    bit_set(a->taken, 0);
    a->generation = 1;
    a->cursor = 1;
    pthread_mutex_init(&a->lock, NULL);
    return a;
}

void mmsim_asid_destroy(struct mmsim_asid_alloc *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->lock);
    free(a->taken);
    free(a);
}

unsigned mmsim_asid_usable(const struct mmsim_asid_alloc *a)
{
    return a->nasids - 1;
}

/* A free ASID, searching from the cursor and wrapping; 0 if none. */
static unsigned find_free(struct mmsim_asid_alloc *a)
{
    for (unsigned n = 0; n < a->nasids; n++) {
        unsigned i = (a->cursor + n) % a->nasids;
        if (!bit_get(a->taken, i))
            return i;
    }
    return 0;
}

static void take(struct mmsim_asid_alloc *a, unsigned asid)
{
    bit_set(a->taken, asid);
    a->in_use++;
}

/* Start a new generation keeping the contexts current on some CPU. */
static void rollover(struct mmsim_asid_alloc *a)
{
    a->generation++;
    memset(a->taken, 0, map_bytes(a->nasids));
    bit_set(a->taken, 0);
    a->in_use = 0;
    a->cursor = 1;
    for (unsigned cpu = 0; cpu < a->cfg.ncpus; cpu++) {
        struct mmsim_asid_ctx *ctx = a->current[cpu];
        if (ctx && ctx->generation != a->generation) {
            ctx->generation = a->generation;
            take(a, ctx->asid);
            a->st.kept++;
        }
        a->st.flushes_requested += !a->flush_pending[cpu]; /* pending ones coalesce */
        a->flush_pending[cpu] = true;
    }
    a->st.rollovers++;
}

/* Give `ctx` (stale, hence current on no CPU) an ASID of this generation. */
static void assign(struct mmsim_asid_alloc *a, struct mmsim_asid_ctx *ctx)
{
    unsigned asid = find_free(a);
    if (!asid) {
        rollover(a);
        asid = find_free(a); /* at most ncpus < 255 are kept */
    }
    take(a, asid);
    a->cursor = (asid + 1) % a->nasids;
    ctx->generation = a->generation;
    ctx->asid = (uint16_t)asid;
    a->st.allocations++;
}

uint16_t mmsim_asid_schedule(struct mmsim_asid_alloc *a, unsigned cpu, struct mmsim_asid_ctx *ctx,
                             bool *flush_tlb)
{
    MMSIM_PRECOND(cpu < a->cfg.ncpus && flush_tlb, 0, "cpu < ncpus, flush_tlb not NULL");
    pthread_mutex_lock(&a->lock);
    a->current[cpu] = NULL; /* switching away: a rollover now need not keep it */
    if (ctx && ctx->generation != a->generation)
        assign(a, ctx);
    a->current[cpu] = ctx;
    *flush_tlb = a->flush_pending[cpu];
    a->flush_pending[cpu] = false;
    a->st.flushes_delivered += *flush_tlb;
    uint16_t asid = ctx ? ctx->asid : 0;
    pthread_mutex_unlock(&a->lock);
    return asid;
}

static bool is_current_anywhere(const struct mmsim_asid_alloc *a, const struct mmsim_asid_ctx *ctx)
{
    for (unsigned cpu = 0; cpu < a->cfg.ncpus; cpu++)
        if (a->current[cpu] == ctx)
            return true;
    return false;
}

/* Release `ctx`'s ASID of this generation, invalidating it first. */
static void release_current(struct mmsim_asid_alloc *a, const struct mmsim_asid_ctx *ctx)
{
    if (!a->cfg.invalidate_asid)
        return; /* stays taken until the rollover flush */
    a->cfg.invalidate_asid(a->cfg.ctx, ctx->asid);
    a->st.asid_invalidations++;
    bit_clear(a->taken, ctx->asid);
    a->in_use--;
}

void mmsim_asid_release(struct mmsim_asid_alloc *a, struct mmsim_asid_ctx *ctx)
{
    MMSIM_PRECOND_VOID(ctx, "ctx not NULL");
    pthread_mutex_lock(&a->lock);
    bool busy = is_current_anywhere(a, ctx);
    if (!busy) {
        if (ctx->generation == a->generation)
            release_current(a, ctx);
        a->st.releases += ctx->generation != 0;
        memset(ctx, 0, sizeof *ctx);
    }
    pthread_mutex_unlock(&a->lock);
    MMSIM_PRECOND_VOID(!busy, "the address space is current on no CPU");
}

uint16_t mmsim_asid_of(struct mmsim_asid_alloc *a, const struct mmsim_asid_ctx *ctx)
{
    MMSIM_PRECOND(ctx, 0, "ctx not NULL");
    pthread_mutex_lock(&a->lock);
    uint16_t asid = ctx->generation == a->generation ? ctx->asid : 0;
    pthread_mutex_unlock(&a->lock);
    return asid;
}

uint64_t mmsim_asid_generation(struct mmsim_asid_alloc *a)
{
    pthread_mutex_lock(&a->lock);
    uint64_t g = a->generation;
    pthread_mutex_unlock(&a->lock);
    return g;
}

unsigned mmsim_asid_in_use(struct mmsim_asid_alloc *a)
{
    pthread_mutex_lock(&a->lock);
    unsigned n = a->in_use;
    pthread_mutex_unlock(&a->lock);
    return n;
}

void mmsim_asid_stats_get(struct mmsim_asid_alloc *a, struct mmsim_asid_stats *out)
{
    pthread_mutex_lock(&a->lock);
    *out = a->st;
    pthread_mutex_unlock(&a->lock);
}
