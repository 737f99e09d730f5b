/*
 * The simulated CPU's software TLB.
 *
 * Layout: `nsets` sets of MMSIM_SIMTLB_WAYS ways. An entry of leaf size 2^s
 * lives in set (leaf_base >> s) & (nsets - 1), so each translation is stored
 * once whatever its size. `shift_mask` has bit s set while some valid entry
 * has leaf shift s; a lookup probes one set per size present (one probe when
 * only pages are cached). Each entry is three words:
 *   tag  = leaf base VA | leaf_shift << 1 | 1 (valid); 0 when empty
 *   meta = ASID[15:0] | global[16] | perms[22:17] | el0_data[23] | attr[31:24] | ttbr[32]
 *   addend = leaf base PA - leaf base VA (mod 2^64), so PA = VA + addend
 *
 * Concurrency (a seqlock per TLB). Writers — insert, every invalidation,
 * from any thread — are serialised by `lock` and bracket their changes with
 * `seq`: odd while writing, even when done. The owner's lookup reads `seq`,
 * the entry words and `seq` again, and retries if `seq` was odd or changed
 * (its fast path, inline in simtlb.h, hands anything but a clean single-probe
 * hit to mmsim_simtlb_lookup_slow_, which retries).
 * Every word a lookup reads is accessed with __atomic builtins, so nothing
 * races in the C11 sense (and ThreadSanitizer agrees).
 *
 * Memory-ordering argument. Writer: store seq = odd (relaxed), then the entry
 * words with release stores, then seq = even (release). Reader: s1 = seq
 * (acquire), entry words with acquire loads, s2 = seq (relaxed, but it cannot
 * move above the acquire loads before it).
 *  - If s1 is the even value that writer W_k stored, the acquire pairs with
 *    W_k's release, so the reader sees every write of W_1..W_k.
 *  - If any entry load returns a value stored by a later writer W_m, that
 *    release store synchronises with the acquire load, so W_m's odd store
 *    happens before the s2 load and s2 >= W_m's odd value != s1: retry.
 * So an accepted snapshot is exactly the state after some writer W_k. An
 * invalidation that returned before a lookup started (in happens-before
 * order) is therefore seen by it: invalidations are complete on return.
 * No standalone fences are used (ThreadSanitizer does not model them).
 *
 * The fill token closes the walk/invalidate race: an invalidation bumps
 * `inval_gen` (release) under the lock after the caller changed the tables;
 * the owner takes the token (acquire) before walking. If the walk could have
 * read a table entry older than the invalidation, either the token predates
 * the bump and insert (under the lock) refuses, or the insert's critical
 * section came first and the invalidation removes the entry.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <mmsim/diag.h>
#include "simtlb.h"

#define WAYS MMSIM_SIMTLB_WAYS
#define CACHE_LINE 64

#define TAG_SHIFT_POS 1
#define META_GLOBAL MMSIM_SIMTLB_META_GLOBAL_
#define META_PERM_POS MMSIM_SIMTLB_META_PERM_POS_
#define META_EL0_DATA MMSIM_SIMTLB_META_EL0_DATA_
#define META_ATTR_POS MMSIM_SIMTLB_META_ATTR_POS_
#define META_TTBR_POS 32

/* The set layout (in simtlb.h for the inline lookup); next_victim is the
 * round-robin replacement pointer, used by writers only. */
typedef struct mmsim_simtlb_set_ simtlb_set;
typedef struct mmsim_simtlb_raw_ raw_entry;

struct mmsim_simtlb
{
    /* First: the sets, seq and shift_mask (read by every lookup, written by
     * writers) and the owner's counters (single writer, read by stats_get). */
    struct mmsim_simtlb_head_ h;
    uint64_t inval_gen;
    unsigned nsets;
    /* Writers' state, under `lock`. */
    _Alignas(CACHE_LINE) pthread_mutex_t lock;
    uint32_t shift_count[64];
    struct mmsim_simtlb_stats st; /* lookup counters unused here */
};

static inline uint64_t ld_acq(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint64_t ld_rlx(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void st_rel(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void st_rlx(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

/* Single-writer counter: a plain load and store, no locked instruction. */
static inline void count_owner(uint64_t *c) { st_rlx(c, ld_rlx(c) + 1); }

static inline uint64_t low_mask(unsigned shift) { return (UINT64_C(1) << shift) - 1; }
static inline unsigned tag_shift(uint64_t tag) { return (unsigned)(tag >> TAG_SHIFT_POS) & 63u; }
static inline uint64_t tag_base(uint64_t tag) { return tag & ~low_mask(tag_shift(tag)); }
static inline uint64_t make_tag(uint64_t va, unsigned shift) { return mmsim_simtlb_tag_(va, shift); }

static simtlb_set *set_of(const struct mmsim_simtlb *tlb, uint64_t va, unsigned shift)
{
    return &tlb->h.sets[(va >> shift) & tlb->h.set_mask];
}

/* ---- configuration ---- */

static bool entries_valid(unsigned n)
{
    return n >= MMSIM_SIMTLB_MIN_ENTRIES && n <= MMSIM_SIMTLB_MAX_ENTRIES && (n & (n - 1)) == 0;
}

struct mmsim_simtlb *mmsim_simtlb_create(const struct mmsim_simtlb_config *cfg)
{
    unsigned n = cfg && cfg->entries ? cfg->entries : MMSIM_SIMTLB_DEFAULT_ENTRIES;
    MMSIM_PRECOND(entries_valid(n), NULL, "entries must be a power of two in [16, 65536]");
    struct mmsim_simtlb *tlb = aligned_alloc(CACHE_LINE, sizeof *tlb);
    if (!tlb)
        return NULL;
    memset(tlb, 0, sizeof *tlb);
    tlb->nsets = n / WAYS;
    tlb->h.set_mask = tlb->nsets - 1;
    tlb->h.sets = aligned_alloc(CACHE_LINE, sizeof(simtlb_set) * tlb->nsets);
    if (!tlb->h.sets) {
        free(tlb);
        return NULL;
    }
    memset(tlb->h.sets, 0, sizeof(simtlb_set) * tlb->nsets);
    pthread_mutex_init(&tlb->lock, NULL);
    return tlb;
}

void mmsim_simtlb_destroy(struct mmsim_simtlb *tlb)
{
    if (!tlb)
        return;
    pthread_mutex_destroy(&tlb->lock);
    free(tlb->h.sets);
    free(tlb);
}

unsigned mmsim_simtlb_entries(const struct mmsim_simtlb *tlb)
{
    return tlb->nsets * WAYS;
}

/* ---- lookup (owner thread) ---- */

/* A writer holds the seqlock: let it finish (it may be descheduled). */
static void wait_for_writer(const struct mmsim_simtlb *tlb)
{
    for (unsigned spins = 0; ld_rlx(&tlb->h.seq) & 1; spins++)
        if (spins >= 64)
            sched_yield();
}

/* Find the entry translating `va` for `asid` among the sizes in `shifts`. */
static bool probe(const struct mmsim_simtlb *tlb, uint64_t shifts, uint64_t va, uint16_t asid,
                  raw_entry *r)
{
    for (; shifts; shifts &= shifts - 1)
        if (mmsim_simtlb_probe_(&tlb->h, (unsigned)__builtin_ctzll(shifts), va, asid, r))
            return true;
    return false;
}

/* A consistent probe: retried until no writer overlapped it. Retries are
 * counted for the owner's lookups only (the counter has a single writer). */
static bool snapshot_probe(struct mmsim_simtlb *tlb, uint64_t va, uint16_t asid, raw_entry *r,
                           bool owner)
{
    for (;;) {
        uint64_t s1 = ld_acq(&tlb->h.seq);
        if (!(s1 & 1)) {
            bool found = probe(tlb, ld_acq(&tlb->h.shift_mask), va, asid, r);
            if (ld_rlx(&tlb->h.seq) == s1)
                return found;
        } else {
            wait_for_writer(tlb);
        }
        if (owner)
            count_owner(&tlb->h.lookup_retries);
    }
}

static void unpack(uint64_t tag, uint64_t meta, uint64_t addend, struct mmsim_simtlb_entry *e)
{
    e->va = tag_base(tag);
    e->pa = e->va + addend;
    e->leaf_shift = tag_shift(tag);
    e->asid = (uint16_t)meta;
    e->global = (meta & META_GLOBAL) != 0;
    e->perms = (uint8_t)((meta >> META_PERM_POS) & 0x3f);
    e->el0_data = (meta & META_EL0_DATA) != 0;
    e->attr = (uint8_t)(meta >> META_ATTR_POS);
    e->ttbr = (uint8_t)((meta >> META_TTBR_POS) & 1);
}

/* The inline fast path (simtlb.h) probes the smallest size present once. */
enum mmsim_simtlb_result mmsim_simtlb_lookup_slow_(struct mmsim_simtlb *tlb, uint64_t va,
                                                   uint16_t asid, unsigned el,
                                                   enum mmsim_simtlb_op op, bool pan,
                                                   struct mmsim_simtlb_hit *hit)
{
    MMSIM_PRECOND((unsigned)op <= MMSIM_SIMTLB_EXEC, MMSIM_SIMTLB_MISS, "op is READ, WRITE or EXEC");
    raw_entry r;
    if (!snapshot_probe(tlb, va, asid, &r, true)) {
        count_owner(&tlb->h.misses);
        return MMSIM_SIMTLB_MISS;
    }
    return mmsim_simtlb_report_(&tlb->h, &r, va, el, op, pan, hit);
}

bool mmsim_simtlb_find(struct mmsim_simtlb *tlb, uint64_t va, uint16_t asid,
                       struct mmsim_simtlb_entry *out)
{
    raw_entry r;
    if (!snapshot_probe(tlb, va, asid, &r, false))
        return false;
    if (out)
        unpack(r.tag, r.meta, r.addend, out);
    return true;
}

/* ---- writers (any thread, under the lock) ---- */

/* Entries change only between seq_open and seq_close, with the lock held. */
static void seq_open(struct mmsim_simtlb *tlb)
{
    st_rlx(&tlb->h.seq, ld_rlx(&tlb->h.seq) + 1);
}

static void seq_close(struct mmsim_simtlb *tlb)
{
    st_rel(&tlb->h.seq, ld_rlx(&tlb->h.seq) + 1);
}

static void shift_count_add(struct mmsim_simtlb *tlb, unsigned shift, int delta)
{
    tlb->shift_count[shift] += (uint32_t)delta;
    uint64_t mask = ld_rlx(&tlb->h.shift_mask);
    uint64_t bit = UINT64_C(1) << shift;
    uint64_t next = tlb->shift_count[shift] ? mask | bit : mask & ~bit;
    if (next != mask)
        st_rel(&tlb->h.shift_mask, next);
}

static void remove_way(struct mmsim_simtlb *tlb, simtlb_set *set, unsigned w)
{
    shift_count_add(tlb, tag_shift(ld_rlx(&set->tag[w])), -1);
    st_rel(&set->tag[w], 0);
}

static void write_way(struct mmsim_simtlb *tlb, simtlb_set *set, unsigned w,
                      const raw_entry *r)
{
    st_rel(&set->meta[w], r->meta);
    st_rel(&set->addend[w], r->addend);
    st_rel(&set->tag[w], r->tag);
    shift_count_add(tlb, tag_shift(r->tag), +1);
}

/* Two entries with the same tag would answer the same lookup. */
static bool same_key(uint64_t meta_a, uint64_t meta_b)
{
    return ((meta_a | meta_b) & META_GLOBAL) || (uint16_t)meta_a == (uint16_t)meta_b;
}

/* The way for `r`: the entry it replaces, else the first empty way, else the
 * round-robin victim. Other entries with the same key are removed. */
static unsigned choose_way(struct mmsim_simtlb *tlb, simtlb_set *set,
                           const raw_entry *r, bool *evicts)
{
    int same = -1, empty = -1;
    for (unsigned w = 0; w < WAYS; w++) {
        uint64_t t = ld_rlx(&set->tag[w]);
        if (!t) {
            if (empty < 0)
                empty = (int)w;
        } else if (t == r->tag && same_key(ld_rlx(&set->meta[w]), r->meta)) {
            if (same < 0)
                same = (int)w;
            else
                remove_way(tlb, set, w);
        }
    }
    *evicts = same < 0 && empty < 0;
    if (same >= 0)
        return (unsigned)same;
    if (empty >= 0)
        return (unsigned)empty;
    unsigned victim = set->next_victim;
    set->next_victim = (victim + 1) % WAYS;
    return victim;
}

static uint64_t make_meta(const struct mmsim_simtlb_entry *e)
{
    return (uint64_t)e->asid | (e->global ? META_GLOBAL : 0) |
           ((uint64_t)(e->perms & 0x3f) << META_PERM_POS) | (e->el0_data ? META_EL0_DATA : 0) |
           ((uint64_t)e->attr << META_ATTR_POS) | ((uint64_t)(e->ttbr & 1) << META_TTBR_POS);
}

static void place(struct mmsim_simtlb *tlb, simtlb_set *set, const raw_entry *r)
{
    seq_open(tlb);
    bool evicts;
    unsigned w = choose_way(tlb, set, r, &evicts);
    if (ld_rlx(&set->tag[w]))
        remove_way(tlb, set, w);
    write_way(tlb, set, w, r);
    seq_close(tlb);
    tlb->st.inserts++;
    tlb->st.evictions += evicts;
}

uint64_t mmsim_simtlb_fill_begin(struct mmsim_simtlb *tlb)
{
    return ld_acq(&tlb->inval_gen);
}

bool mmsim_simtlb_insert(struct mmsim_simtlb *tlb, const struct mmsim_simtlb_entry *e,
                         uint64_t fill_token)
{
    MMSIM_PRECOND(e && e->leaf_shift >= MMSIM_SIMTLB_MIN_LEAF_SHIFT &&
                e->leaf_shift <= MMSIM_SIMTLB_MAX_LEAF_SHIFT && e->ttbr <= 1,
            false, "leaf_shift in [12, 42], ttbr 0 or 1");
    uint64_t base_mask = ~low_mask(e->leaf_shift);
    raw_entry r = { make_tag(e->va, e->leaf_shift), make_meta(e),
                           (e->pa & base_mask) - (e->va & base_mask) };
    simtlb_set *set = set_of(tlb, e->va, e->leaf_shift);
    pthread_mutex_lock(&tlb->lock);
    bool fresh = ld_rlx(&tlb->inval_gen) == fill_token;
    if (fresh)
        place(tlb, set, &r);
    else
        tlb->st.inserts_stale++;
    pthread_mutex_unlock(&tlb->lock);
    return fresh;
}

/* ---- invalidation ---- */

enum match_mode
{
    MATCH_ANY,             /* every ASID, global or not */
    MATCH_ASID_OR_GLOBAL,  /* tagged `asid`, or global */
    MATCH_ASID_NON_GLOBAL, /* tagged `asid`, not global */
};

/* What an invalidation removes: entries overlapping [lo, hi] of the mode. */
struct match
{
    uint64_t lo, hi; /* inclusive */
    enum match_mode mode;
    uint16_t asid;
};

static bool entry_matches(uint64_t tag, uint64_t meta, const struct match *m)
{
    uint64_t base = tag_base(tag);
    if (base > m->hi || base + low_mask(tag_shift(tag)) < m->lo)
        return false;
    bool global = (meta & META_GLOBAL) != 0;
    switch (m->mode) {
    case MATCH_ANY:
        return true;
    case MATCH_ASID_OR_GLOBAL:
        return global || (uint16_t)meta == m->asid;
    default:
        return !global && (uint16_t)meta == m->asid;
    }
}

static unsigned sweep_set(struct mmsim_simtlb *tlb, simtlb_set *set, const struct match *m)
{
    unsigned removed = 0;
    for (unsigned w = 0; w < WAYS; w++) {
        uint64_t tag = ld_rlx(&set->tag[w]);
        if (tag && entry_matches(tag, ld_rlx(&set->meta[w]), m)) {
            remove_way(tlb, set, w);
            removed++;
        }
    }
    return removed;
}

static unsigned sweep_all(struct mmsim_simtlb *tlb, const struct match *m)
{
    unsigned removed = 0;
    for (unsigned i = 0; i < tlb->nsets; i++)
        removed += sweep_set(tlb, &tlb->h.sets[i], m);
    return removed;
}

/* True if, for some size present, [lo, hi] spans at least as many leaves as
 * there are sets: then one pass over every set is cheaper than probing. */
static bool range_needs_full_sweep(const struct mmsim_simtlb *tlb, uint64_t shifts,
                                   const struct match *m)
{
    for (; shifts; shifts &= shifts - 1) {
        unsigned s = (unsigned)__builtin_ctzll(shifts);
        if ((m->hi >> s) - (m->lo >> s) >= tlb->nsets - 1)
            return true;
    }
    return false;
}

/* Probe the set of every leaf of every present size that overlaps the range. */
static unsigned sweep_range(struct mmsim_simtlb *tlb, const struct match *m)
{
    uint64_t shifts = ld_rlx(&tlb->h.shift_mask);
    if (range_needs_full_sweep(tlb, shifts, m))
        return sweep_all(tlb, m);
    unsigned removed = 0;
    for (; shifts; shifts &= shifts - 1) {
        unsigned s = (unsigned)__builtin_ctzll(shifts);
        for (uint64_t leaf = m->lo >> s; leaf <= m->hi >> s; leaf++)
            removed += sweep_set(tlb, &tlb->h.sets[leaf & tlb->h.set_mask], m);
    }
    return removed;
}

static void invalidate(struct mmsim_simtlb *tlb, enum mmsim_simtlb_inval_kind kind,
                       const struct match *m, bool whole)
{
    pthread_mutex_lock(&tlb->lock);
    st_rel(&tlb->inval_gen, ld_rlx(&tlb->inval_gen) + 1);
    seq_open(tlb);
    unsigned removed = m->lo > m->hi ? 0 : whole ? sweep_all(tlb, m) : sweep_range(tlb, m);
    seq_close(tlb);
    tlb->st.invalidations[kind]++;
    tlb->st.removed += removed;
    pthread_mutex_unlock(&tlb->lock);
}

void mmsim_simtlb_invalidate_all(struct mmsim_simtlb *tlb)
{
    struct match m = { 0, UINT64_MAX, MATCH_ANY, 0 };
    invalidate(tlb, MMSIM_SIMTLB_INV_ALL, &m, true);
}

void mmsim_simtlb_invalidate_asid(struct mmsim_simtlb *tlb, uint16_t asid)
{
    struct match m = { 0, UINT64_MAX, MATCH_ASID_NON_GLOBAL, asid };
    invalidate(tlb, MMSIM_SIMTLB_INV_ASID, &m, true);
}

void mmsim_simtlb_invalidate_va(struct mmsim_simtlb *tlb, uint64_t va, uint16_t asid)
{
    struct match m = { va, va, MATCH_ASID_OR_GLOBAL, asid };
    invalidate(tlb, MMSIM_SIMTLB_INV_VA, &m, false);
}

void mmsim_simtlb_invalidate_va_all_asids(struct mmsim_simtlb *tlb, uint64_t va)
{
    struct match m = { va, va, MATCH_ANY, 0 };
    invalidate(tlb, MMSIM_SIMTLB_INV_VA_ALL_ASIDS, &m, false);
}

/* The inclusive end of [va, va + size_bytes), stopping at 2^64. */
static uint64_t range_last(uint64_t va, uint64_t size_bytes)
{
    return size_bytes > UINT64_MAX - va ? UINT64_MAX : va + size_bytes - 1;
}

void mmsim_simtlb_invalidate_range(struct mmsim_simtlb *tlb, uint64_t va, uint64_t size_bytes,
                                   uint16_t asid)
{
    struct match m = { va, range_last(va, size_bytes), MATCH_ASID_OR_GLOBAL, asid };
    if (size_bytes == 0)
        m.lo = 1, m.hi = 0; /* empty: removes nothing, still counted */
    invalidate(tlb, MMSIM_SIMTLB_INV_RANGE, &m, false);
}

void mmsim_simtlb_invalidate_range_all_asids(struct mmsim_simtlb *tlb, uint64_t va,
                                             uint64_t size_bytes)
{
    struct match m = { va, range_last(va, size_bytes), MATCH_ANY, 0 };
    if (size_bytes == 0)
        m.lo = 1, m.hi = 0;
    invalidate(tlb, MMSIM_SIMTLB_INV_RANGE_ALL_ASIDS, &m, false);
}

/* ---- statistics and dump ---- */

void mmsim_simtlb_stats_get(struct mmsim_simtlb *tlb, struct mmsim_simtlb_stats *out)
{
    pthread_mutex_lock(&tlb->lock);
    *out = tlb->st;
    pthread_mutex_unlock(&tlb->lock);
    out->hits = ld_rlx(&tlb->h.hits);
    out->misses = ld_rlx(&tlb->h.misses);
    out->perm_misses = ld_rlx(&tlb->h.perm_misses);
    out->lookup_retries = ld_rlx(&tlb->h.lookup_retries);
    out->lookups = out->hits + out->misses + out->perm_misses;
}

unsigned mmsim_simtlb_valid_entries(struct mmsim_simtlb *tlb)
{
    unsigned n = 0;
    pthread_mutex_lock(&tlb->lock);
    for (unsigned s = 0; s < 64; s++)
        n += tlb->shift_count[s];
    pthread_mutex_unlock(&tlb->lock);
    return n;
}

static void dump_entry(FILE *out, unsigned set, unsigned way, const struct mmsim_simtlb_entry *e)
{
    static const char letters[] = "rwxrwx";
    char perms[8];
    for (unsigned b = 0; b < 6; b++)
        perms[b] = (e->perms >> b) & 1 ? letters[b] : '-';
    perms[6] = '\0';
    fprintf(out, "set %4u way %u  va %#018llx size 2^%-2u %s%-5u pa %#014llx el0:%.3s el1:%.3s%s"
                 " attr %#04x ttbr%u\n",
            set, way, (unsigned long long)e->va, e->leaf_shift, e->global ? "global" : "asid ",
            e->global ? 0u : e->asid, (unsigned long long)e->pa, perms, perms + 3,
            e->el0_data ? " el0-data" : "", e->attr, e->ttbr);
}

void mmsim_simtlb_dump(struct mmsim_simtlb *tlb, FILE *out)
{
    pthread_mutex_lock(&tlb->lock);
    for (unsigned i = 0; i < tlb->nsets; i++) {
        simtlb_set *set = &tlb->h.sets[i];
        for (unsigned w = 0; w < WAYS; w++) {
            raw_entry r = { ld_rlx(&set->tag[w]), ld_rlx(&set->meta[w]),
                                   ld_rlx(&set->addend[w]) };
            if (!r.tag)
                continue;
            struct mmsim_simtlb_entry e;
            unpack(r.tag, r.meta, r.addend, &e);
            dump_entry(out, i, w, &e);
        }
    }
    pthread_mutex_unlock(&tlb->lock);
}
