/*
 * simtlb.h — the software TLB one simulated CPU owns (docs/simtlb.md).
 *
 * A set-associative cache of stage-1 EL1&0 leaf translations tagged with an
 * ASID (or global), looked up by the owning CPU's host thread on every access
 * and invalidated from any host thread with the semantics of the aarch64
 * inner-shareable TLBIs. Invalidations are complete when the call returns.
 */
#ifndef MMSIM_SIMTLB_H
#define MMSIM_SIMTLB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMSIM_SIMTLB_WAYS 4u
#define MMSIM_SIMTLB_DEFAULT_ENTRIES 1024u
#define MMSIM_SIMTLB_MIN_ENTRIES 16u
#define MMSIM_SIMTLB_MAX_ENTRIES 65536u
/* Leaf sizes are 2^shift bytes: 4 KiB pages up to 4 TiB (64K-granule L1) blocks. */
#define MMSIM_SIMTLB_MIN_LEAF_SHIFT 12u
#define MMSIM_SIMTLB_MAX_LEAF_SHIFT 42u

/* Permission bits of an entry: one per exception level and access kind. */
enum
{
    MMSIM_SIMTLB_PERM_EL0_R = 1u << 0,
    MMSIM_SIMTLB_PERM_EL0_W = 1u << 1,
    MMSIM_SIMTLB_PERM_EL0_X = 1u << 2,
    MMSIM_SIMTLB_PERM_EL1_R = 1u << 3,
    MMSIM_SIMTLB_PERM_EL1_W = 1u << 4,
    MMSIM_SIMTLB_PERM_EL1_X = 1u << 5,
};

/* The access being translated. */
enum mmsim_simtlb_op
{
    MMSIM_SIMTLB_READ = 0,
    MMSIM_SIMTLB_WRITE = 1,
    MMSIM_SIMTLB_EXEC = 2,
};

enum mmsim_simtlb_result
{
    MMSIM_SIMTLB_MISS = 0,       /* no entry translates this VA for this ASID: walk */
    MMSIM_SIMTLB_HIT = 1,        /* translated and the access is permitted */
    MMSIM_SIMTLB_HIT_DENIED = 2, /* translated but not permitted for this access: re-walk */
};

/* One cached leaf translation: what the CPU inserts and a lookup reports. */
struct mmsim_simtlb_entry
{
    uint64_t va;          /* leaf base VA (insert: any VA inside the leaf) */
    uint64_t pa;          /* leaf base PA (insert: bits below leaf_shift are ignored) */
    unsigned leaf_shift;  /* log2 of the leaf size in bytes, 12..42 */
    uint16_t asid;        /* ignored for matching when global */
    bool global;          /* nG = 0: matches every ASID */
    uint8_t perms;        /* MMSIM_SIMTLB_PERM_* */
    bool el0_data;        /* EL0 has data access (AP[1] = 1): what PAN refuses to EL1 */
    uint8_t attr;         /* the MAIR_EL1 attribute byte of the leaf */
    uint8_t ttbr;         /* 0 or 1: the table half the walk used */
};

struct mmsim_simtlb_config
{
    unsigned entries;     /* a power of two in [16, 65536]; 0 = MMSIM_SIMTLB_DEFAULT_ENTRIES */
};

/* The invalidation kinds, named after the TLBI each one models. */
enum mmsim_simtlb_inval_kind
{
    MMSIM_SIMTLB_INV_ALL = 0,         /* VMALLE1IS */
    MMSIM_SIMTLB_INV_ASID,            /* ASIDE1IS */
    MMSIM_SIMTLB_INV_VA,              /* VAE1IS */
    MMSIM_SIMTLB_INV_VA_ALL_ASIDS,    /* VAAE1IS */
    MMSIM_SIMTLB_INV_RANGE,           /* RVAE1IS */
    MMSIM_SIMTLB_INV_RANGE_ALL_ASIDS, /* RVAAE1IS */
    MMSIM_SIMTLB_INV_KINDS
};

struct mmsim_simtlb_stats
{
    uint64_t lookups;          /* hits + misses + perm_misses */
    uint64_t hits;
    uint64_t misses;
    uint64_t perm_misses;      /* MMSIM_SIMTLB_HIT_DENIED */
    uint64_t lookup_retries;   /* probes repeated because a writer overlapped them */
    uint64_t inserts;          /* entries written, including in-place replacements */
    uint64_t inserts_stale;    /* inserts refused: an invalidation ran since the fill token */
    uint64_t evictions;        /* valid entries displaced by an insert into a full set */
    uint64_t invalidations[MMSIM_SIMTLB_INV_KINDS];
    uint64_t removed;          /* entries removed by invalidations */
};

struct mmsim_simtlb;

/* A TLB with `cfg` (NULL: defaults), empty. NULL on a bad configuration
 * (asserts) or when host memory runs out. Free with mmsim_simtlb_destroy. */
struct mmsim_simtlb *mmsim_simtlb_create(const struct mmsim_simtlb_config *cfg);
/* Free `tlb` (NULL is ignored). No other thread may be using it. */
void mmsim_simtlb_destroy(struct mmsim_simtlb *tlb);
/* Number of entries (sets × ways). */
unsigned mmsim_simtlb_entries(const struct mmsim_simtlb *tlb);

/* What a lookup that found an entry reports. */
struct mmsim_simtlb_hit
{
    uint64_t pa;          /* the PA of the looked-up VA */
    uint8_t attr;         /* the leaf's MAIR_EL1 attribute byte */
};

/* Translate `va` for `asid` at EL`el` (0 or 1) for access `op`, with PAN
 * (PSTATE.PAN, EL1 only) as given; counted in the statistics. HIT and
 * HIT_DENIED fill `*hit` (may be NULL); MISS leaves it. Only the owning
 * thread may call it (one lookup at a time per TLB). Inline: see below. */
static inline enum mmsim_simtlb_result mmsim_simtlb_lookup(struct mmsim_simtlb *tlb, uint64_t va,
                                                           uint16_t asid, unsigned el,
                                                           enum mmsim_simtlb_op op, bool pan,
                                                           struct mmsim_simtlb_hit *hit);
/* The cached leaf translating `va` for `asid` into `*out` (may be NULL),
 * without permission check or counting; false if none. Any thread. */
bool mmsim_simtlb_find(struct mmsim_simtlb *tlb, uint64_t va, uint16_t asid,
                       struct mmsim_simtlb_entry *out);

/* Take before walking for an insert: the token lets insert refuse a
 * translation walked before an invalidation that it would otherwise outlive. */
uint64_t mmsim_simtlb_fill_begin(struct mmsim_simtlb *tlb);
/* Cache `e` (an entry with the same leaf base, size and ASID-or-global is
 * replaced). Returns false, changing nothing, if any invalidation ran since
 * `fill_token` was taken (re-walk, or use the walk for this access only). */
bool mmsim_simtlb_insert(struct mmsim_simtlb *tlb, const struct mmsim_simtlb_entry *e,
                         uint64_t fill_token);

/* VMALLE1IS: remove every entry. */
void mmsim_simtlb_invalidate_all(struct mmsim_simtlb *tlb);
/* ASIDE1IS: remove the non-global entries tagged `asid`. */
void mmsim_simtlb_invalidate_asid(struct mmsim_simtlb *tlb, uint16_t asid);
/* VAE1IS: remove the entries covering `va` that are tagged `asid` or global. */
void mmsim_simtlb_invalidate_va(struct mmsim_simtlb *tlb, uint64_t va, uint16_t asid);
/* VAAE1IS: remove the entries covering `va` for every ASID. */
void mmsim_simtlb_invalidate_va_all_asids(struct mmsim_simtlb *tlb, uint64_t va);
/* RVAE1IS: remove the entries overlapping [va, va + size_bytes) that are
 * tagged `asid` or global (a range running past 2^64 stops there). */
void mmsim_simtlb_invalidate_range(struct mmsim_simtlb *tlb, uint64_t va, uint64_t size_bytes,
                                   uint16_t asid);
/* RVAAE1IS: remove the entries overlapping [va, va + size_bytes) for every ASID. */
void mmsim_simtlb_invalidate_range_all_asids(struct mmsim_simtlb *tlb, uint64_t va,
                                             uint64_t size_bytes);

/* Copy the counters (a consistent snapshot of the invalidation side; the
 * lookup counters are read as of some moment during the call). */
void mmsim_simtlb_stats_get(struct mmsim_simtlb *tlb, struct mmsim_simtlb_stats *out);
/* Number of valid entries now. */
unsigned mmsim_simtlb_valid_entries(struct mmsim_simtlb *tlb);
/* Print each valid entry, one line each, set by set. */
void mmsim_simtlb_dump(struct mmsim_simtlb *tlb, FILE *out);

/* ---- The lookup's inline fast path ----
 * mmsim_simtlb_lookup is inline so that a hit costs a couple of nanoseconds
 * in the CPU's access path. The layout below is shared with simtlb.c for that
 * purpose only (simtlb.c explains the encoding and the seqlock's ordering
 * argument); names ending in '_' are not API. */

#define MMSIM_SIMTLB_META_GLOBAL_ (UINT64_C(1) << 16)
#define MMSIM_SIMTLB_META_PERM_POS_ 17
#define MMSIM_SIMTLB_META_EL0_DATA_ (UINT64_C(1) << 23)
#define MMSIM_SIMTLB_META_ATTR_POS_ 24

struct mmsim_simtlb_set_
{
    uint64_t tag[MMSIM_SIMTLB_WAYS] __attribute__((aligned(64)));
    uint64_t meta[MMSIM_SIMTLB_WAYS];
    uint64_t addend[MMSIM_SIMTLB_WAYS];
    uint32_t next_victim;
};

/* The start of every struct mmsim_simtlb: what a lookup reads, then the
 * counters only the owner writes (on their own cache line). */
struct mmsim_simtlb_head_
{
    uint64_t seq __attribute__((aligned(64)));
    uint64_t shift_mask;
    struct mmsim_simtlb_set_ *sets;
    uint64_t set_mask;
    uint64_t hits __attribute__((aligned(64)));
    uint64_t misses, perm_misses, lookup_retries;
};

/* An entry as a lookup read it. */
struct mmsim_simtlb_raw_
{
    uint64_t tag, meta, addend;
};

/* The tag of the leaf of size 2^s holding `va`: base | s << 1 | valid. */
static inline uint64_t mmsim_simtlb_tag_(uint64_t va, unsigned s)
{
    return (va & ~((UINT64_C(1) << s) - 1)) | (uint64_t)s << 1 | 1;
}

/* Probe the set for leaf size 2^s for `va`'s entry of `asid` (or a global one). */
static inline bool mmsim_simtlb_probe_(const struct mmsim_simtlb_head_ *h, unsigned s, uint64_t va,
                                       uint16_t asid, struct mmsim_simtlb_raw_ *r)
{
    const struct mmsim_simtlb_set_ *set = &h->sets[(va >> s) & h->set_mask];
    uint64_t want = mmsim_simtlb_tag_(va, s);
#pragma GCC unroll 4
    for (unsigned w = 0; w < MMSIM_SIMTLB_WAYS; w++) {
        if (__atomic_load_n(&set->tag[w], __ATOMIC_ACQUIRE) != want)
            continue;
        uint64_t meta = __atomic_load_n(&set->meta[w], __ATOMIC_ACQUIRE);
        if (!(meta & MMSIM_SIMTLB_META_GLOBAL_) && (uint16_t)meta != asid)
            continue;
        r->tag = want;
        r->meta = meta;
        r->addend = __atomic_load_n(&set->addend[w], __ATOMIC_ACQUIRE);
        return true;
    }
    return false;
}

/* Judge a found entry for the access (PAN refuses EL1 data accesses to
 * EL0-accessible leaves), count it, fill `hit`. */
static inline enum mmsim_simtlb_result mmsim_simtlb_report_(struct mmsim_simtlb_head_ *h,
                                                            const struct mmsim_simtlb_raw_ *r,
                                                            uint64_t va, unsigned el,
                                                            enum mmsim_simtlb_op op, bool pan,
                                                            struct mmsim_simtlb_hit *hit)
{
    uint64_t need = UINT64_C(1) << (MMSIM_SIMTLB_META_PERM_POS_ + (el ? 3u : 0u) + (unsigned)op);
    bool refused = el && pan && op != MMSIM_SIMTLB_EXEC && (r->meta & MMSIM_SIMTLB_META_EL0_DATA_);
    bool ok = (r->meta & need) && !refused;
    uint64_t *counter = ok ? &h->hits : &h->perm_misses; /* single writer: no locked add */
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
    if (hit) {
        hit->pa = va + r->addend;
        hit->attr = (uint8_t)(r->meta >> MMSIM_SIMTLB_META_ATTR_POS_);
    }
    return ok ? MMSIM_SIMTLB_HIT : MMSIM_SIMTLB_HIT_DENIED;
}

/* Every case the fast path leaves: other leaf sizes, misses, overlapping writers. */
enum mmsim_simtlb_result mmsim_simtlb_lookup_slow_(struct mmsim_simtlb *tlb, uint64_t va,
                                                   uint16_t asid, unsigned el,
                                                   enum mmsim_simtlb_op op, bool pan,
                                                   struct mmsim_simtlb_hit *hit);

/* One probe of the smallest leaf size present, accepted if no writer overlapped it. */
static inline enum mmsim_simtlb_result mmsim_simtlb_lookup(struct mmsim_simtlb *tlb, uint64_t va,
                                                           uint16_t asid, unsigned el,
                                                           enum mmsim_simtlb_op op, bool pan,
                                                           struct mmsim_simtlb_hit *hit)
{
    struct mmsim_simtlb_head_ *h = (struct mmsim_simtlb_head_ *)(void *)tlb;
    uint64_t s1 = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
    uint64_t sizes = __atomic_load_n(&h->shift_mask, __ATOMIC_ACQUIRE) | UINT64_C(1) << 63;
    struct mmsim_simtlb_raw_ r;
    if (__builtin_expect(mmsim_simtlb_probe_(h, (unsigned)__builtin_ctzll(sizes), va, asid, &r) &&
                             __atomic_load_n(&h->seq, __ATOMIC_RELAXED) == s1 && !(s1 & 1) &&
                             (unsigned)op <= MMSIM_SIMTLB_EXEC,
                         1))
        return mmsim_simtlb_report_(h, &r, va, el, op, pan, hit);
    return mmsim_simtlb_lookup_slow_(tlb, va, asid, el, op, pan, hit);
}

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_SIMTLB_H */
