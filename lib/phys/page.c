/*
 * The buddy page allocator with RT-Thread's semantics (mm_page.c): group-head
 * reference counts, rt_pages_free returning 1 only when the block goes back,
 * low/high lists split at 4 GiB. On top, KFENCE-style aids for debug
 * builds: handed-out frames carry an "uninitialised" pattern, freed frames a
 * poison pattern that is verified when they leave the FIFO quarantine, and
 * under ASan freed frames are poisoned for AddressSanitizer.
 */
#include "phys/phys.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MMSIM_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MMSIM_ASAN 1
#endif
#ifdef MMSIM_ASAN
#include <sanitizer/asan_interface.h>
#define HOST_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define HOST_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define HOST_POISON(p, n) ((void)(p), (void)(n))
#define HOST_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define BLOCK_BYTES(order) ((size_t)MMSIM_FRAME_SIZE << (order))

static void list_push(struct phys_zone *z, struct rt_page *p, unsigned order)
{
    p->pre = NULL;
    p->next = z->lists[order];
    if (p->next)
        p->next->pre = p;
    z->lists[order] = p;
    p->size_bits = order;
    p->mmsim_state = PF_MAKE(PF_FREE | (p->mmsim_state & PF_POISON), order);
}

static void list_remove(struct phys_zone *z, struct rt_page *p, unsigned order)
{
    if (p->pre)
        p->pre->next = p->next;
    else
        z->lists[order] = p->next;
    if (p->next)
        p->next->pre = p->pre;
    p->next = p->pre = NULL;
    p->mmsim_state &= ~PF_FREE;
}

/* Put a free block back, merging with free buddies as far as they go. */
static void buddy_insert(uint64_t pfn, unsigned order)
{
    struct phys_range *r = phys_range_of(pfn);
    struct phys_zone *z = &g_phys.zones[r->zone];
    uint32_t poison = phys_rec(pfn)->mmsim_state & PF_POISON;
    while (order < PHYS_ORDERS - 1) {
        uint64_t buddy = pfn ^ (1ULL << order);
        if (buddy < r->start_pfn || buddy + (1ULL << order) > r->frontier_pfn)
            break;
        struct rt_page *b = phys_rec(buddy);
        if (!(b->mmsim_state & PF_FREE) || PF_ORDER(b->mmsim_state) != order)
            break;
        list_remove(z, b, order);
        poison &= b->mmsim_state;
        b->mmsim_state = 0;
        phys_rec(pfn)->mmsim_state = 0;
        pfn &= ~(1ULL << order);
        order++;
    }
    struct rt_page *head = phys_rec(pfn);
    head->mmsim_state = poison & PF_POISON;
    list_push(z, head, order);
}

/* Hand the next untouched block of a range to the free lists. */
static bool frontier_refill(struct phys_range *r)
{
    uint64_t f = r->frontier_pfn;
    if (f >= r->end_pfn)
        return false;
    unsigned order = PHYS_ORDERS - 1;
    while (order > 0 && ((f & ((1ULL << order) - 1)) || f + (1ULL << order) > r->end_pfn))
        order--;
    r->frontier_pfn = f + (1ULL << order);
    struct rt_page *head = phys_rec(f);
    head->mmsim_state = 0;
    list_push(&g_phys.zones[r->zone], head, order);
    return true;
}

static int smallest_fit(const struct phys_zone *z, unsigned order)
{
    for (unsigned o = order; o < PHYS_ORDERS; o++)
        if (z->lists[o])
            return (int)o;
    return -1;
}

static struct rt_page *zone_alloc(int zone, unsigned order)
{
    struct phys_zone *z = &g_phys.zones[zone];
    int o = smallest_fit(z, order);
    for (unsigned i = 0; o < 0 && i < g_phys.nranges; i++) {
        struct phys_range *r = &g_phys.ranges[i];
        while (r->zone == zone && o < 0 && frontier_refill(r))
            o = smallest_fit(z, order);
    }
    if (o < 0)
        return NULL;
    struct rt_page *p = z->lists[o];
    list_remove(z, p, (unsigned)o);
    uint64_t pfn = phys_pfn(p);
    /* Give back the upper halves until the block is the size asked for. */
    while ((unsigned)o > order) {
        o--;
        struct rt_page *half = phys_rec(pfn + (1ULL << o));
        half->mmsim_state = p->mmsim_state & PF_POISON;
        list_push(z, half, (unsigned)o);
    }
    uint32_t poison = p->mmsim_state & PF_POISON;
    p->size_bits = PHYS_ALLOC_MARK;
    p->ref_cnt = 1;
    p->mmsim_state = PF_MAKE(PF_ALLOC | poison, order);
    z->free_frames -= (size_t)1 << order;
    g_phys.allocated += (size_t)1 << order;
    if (g_phys.allocated > g_phys.peak)
        g_phys.peak = g_phys.allocated;
    return p;
}

/* A quarantined block must still hold the poison written when it was freed;
 * anything else means someone wrote through a stale pointer. */
static void verify_poison(uint64_t pfn, unsigned order)
{
    const uint8_t *mem = phys_host(pfn);
    size_t bytes = BLOCK_BYTES(order);
    HOST_UNPOISON(mem, bytes);
    for (size_t i = 0; i < bytes; i++) {
        if (mem[i] != MMSIM_POISON_BYTE) {
            char msg[160];
            snprintf(msg, sizeof msg, "write after free: frame PA 0x%llx byte +0x%zx changed "
                     "while the frame was free", (unsigned long long)(pfn << MMSIM_FRAME_SHIFT), i);
            mmsim_assert_fail("freed frame keeps its poison", __func__, __FILE__, __LINE__, msg);
            break;
        }
    }
    HOST_POISON(mem, bytes);
}

static void quarantine_evict_one(void)
{
    struct phys_qentry e = g_phys.q[g_phys.q_head];
    g_phys.q_head = (g_phys.q_head + 1) % g_phys.q_slots;
    g_phys.q_len--;
    g_phys.q_frames -= (size_t)1 << e.order;
    verify_poison(e.pfn, e.order);
    struct rt_page *p = phys_rec(e.pfn);
    p->mmsim_state = PF_POISON;
    buddy_insert(e.pfn, e.order);
}

static void quarantine_push(uint64_t pfn, unsigned order)
{
    /* A block larger than the whole quarantine skips it: it would only evict itself. */
    if (((size_t)1 << order) > g_phys.q_cap_frames) {
        buddy_insert(pfn, order);
        return;
    }
    while (g_phys.q_len + 1 >= g_phys.q_slots || g_phys.q_frames + ((size_t)1 << order) > g_phys.q_cap_frames)
        quarantine_evict_one();
    unsigned tail = (g_phys.q_head + g_phys.q_len) % g_phys.q_slots;
    g_phys.q[tail].pfn = pfn;
    g_phys.q[tail].order = (uint8_t)order;
    g_phys.q_len++;
    g_phys.q_frames += (size_t)1 << order;
    phys_rec(pfn)->mmsim_state = PF_MAKE(PF_QUAR | PF_POISON, order);
}

static void quarantine_drain_locked(void)
{
    while (g_phys.q_len)
        quarantine_evict_one();
}

void mmsim_phys_quarantine_drain(void)
{
    pthread_mutex_lock(&g_phys.lock);
    if (g_phys.up)
        quarantine_drain_locked();
    pthread_mutex_unlock(&g_phys.lock);
}

static struct rt_page *alloc_locked(unsigned order, size_t flags)
{
    struct rt_page *p = NULL;
    if ((flags & PAGE_ANY_AVAILABLE) && g_phys.zones[ZONE_HIGH].total_frames)
        p = zone_alloc(ZONE_HIGH, order);
    if (!p)
        p = zone_alloc(ZONE_LOW, order);
    if (!p && g_phys.q_len) {
        quarantine_drain_locked();
        return alloc_locked(order, flags);
    }
    return p;
}

void *rt_pages_alloc_ext(rt_uint32_t size_bits, size_t flags)
{
    MMSIM_PRECOND(g_phys.up, RT_NULL, "rt_pages_alloc: no machine is booted");
    MMSIM_PRECOND(size_bits < PHYS_ORDERS, RT_NULL,
                  "rt_pages_alloc: size_bits must be below RT_PAGE_MAX_ORDER");
    if (mmsim_inject_should_fail(MMSIM_ALLOC_PAGE)) {
        mmsim_alloc_count(MMSIM_ALLOC_PAGE, false, false);
        return RT_NULL;
    }
    pthread_mutex_lock(&g_phys.lock);
    struct rt_page *p = alloc_locked(size_bits, flags);
    /* under the lock: a neighbour's free merges read this record's state */
    if (p && g_phys.debug)
        p->mmsim_state &= ~PF_POISON;
    pthread_mutex_unlock(&g_phys.lock);
    mmsim_alloc_count(MMSIM_ALLOC_PAGE, p != NULL, p == NULL);
    if (!p)
        return RT_NULL;
    uint64_t pfn = phys_pfn(p);
    void *host = phys_host(pfn);
    if (g_phys.debug) {
        HOST_UNPOISON(host, BLOCK_BYTES(size_bits));
        memset(host, MMSIM_UNINIT_BYTE, BLOCK_BYTES(size_bits));
    }
    return host;
}

void *rt_pages_alloc(rt_uint32_t size_bits)
{
    return rt_pages_alloc_ext(size_bits, 0);
}

/* Record of a kernel linear address inside installed RAM, else NULL. */
static struct rt_page *record_of(const void *addr)
{
    uint64_t pa = mmsim_phys_host2pa(addr);
    if (pa == UINT64_MAX || !phys_range_of(pa >> MMSIM_FRAME_SHIFT))
        return NULL;
    return phys_rec(pa >> MMSIM_FRAME_SHIFT);
}

static struct rt_page *group_head(void *addr, rt_uint32_t size_bits)
{
    uint64_t pa = mmsim_phys_host2pa(addr);
    if (pa == UINT64_MAX || size_bits >= PHYS_ORDERS)
        return NULL;
    uint64_t pfn = (pa >> MMSIM_FRAME_SHIFT) & ~((1ULL << size_bits) - 1);
    if (!phys_range_of(pfn))
        return NULL;
    return phys_rec(pfn);
}

/* Release a block whose count has reached zero. Caller holds the lock. */
static void release_block_locked(struct rt_page *p, unsigned order)
{
    uint64_t pfn = phys_pfn(p);
    struct phys_zone *z = &g_phys.zones[phys_range_of(pfn)->zone];
    uint32_t seq = ++g_phys.free_seq;
    p->mmsim_state = 0;
    z->free_frames += (size_t)1 << order;
    g_phys.allocated -= (size_t)1 << order;
    if (!g_phys.debug) {
        p->mmsim_free_seq = seq;
        buddy_insert(pfn, order);
        return;
    }
    for (uint64_t i = 0; i < (1ULL << order); i++)
        phys_rec(pfn + i)->mmsim_free_seq = seq;
    void *host = phys_host(pfn);
    memset(host, MMSIM_POISON_BYTE, BLOCK_BYTES(order));
    HOST_POISON(host, BLOCK_BYTES(order));
    p->mmsim_state = PF_POISON;
    if (g_phys.q_cap_frames)
        quarantine_push(pfn, order);
    else
        buddy_insert(pfn, order);
}

int rt_pages_free(void *addr, rt_uint32_t size_bits)
{
    MMSIM_PRECOND(g_phys.up, 0, "rt_pages_free: no machine is booted");
    struct rt_page *p = record_of(addr);
    MMSIM_PRECOND(p != NULL, 0, "rt_pages_free: address is not in installed RAM");
    pthread_mutex_lock(&g_phys.lock);
    uint32_t state = p->mmsim_state;
    bool is_head = (state & PF_ALLOC) && p->ref_cnt > 0;
    bool order_ok = PF_ORDER(state) == size_bits;
    if (!is_head || !order_ok) {
        pthread_mutex_unlock(&g_phys.lock);
        MMSIM_PRECOND(is_head, 0, "rt_pages_free: frame is not the head of an allocated block "
                                  "(double free, or never allocated)");
        MMSIM_PRECOND(order_ok, 0, "rt_pages_free: size_bits differs from the order the block "
                                   "was allocated with");
    }
    int released = 0;
    if (--p->ref_cnt == 0) {
        release_block_locked(p, size_bits);
        released = 1;
    }
    pthread_mutex_unlock(&g_phys.lock);
    if (released)
        mmsim_alloc_count_free(MMSIM_ALLOC_PAGE);
    return released;
}

int mmsim_page_ref_adjust(void *addr, int delta)
{
    struct rt_page *p = record_of(addr);
    MMSIM_PRECOND(p != NULL, 0, "page reference adjust: address is not in installed RAM");
    pthread_mutex_lock(&g_phys.lock);
    bool ok = (p->mmsim_state & PF_ALLOC) && PF_ORDER(p->mmsim_state) == 0 &&
              (int64_t)p->ref_cnt + delta >= 0;
    if (!ok) {
        pthread_mutex_unlock(&g_phys.lock);
        MMSIM_PRECOND(ok, 0, "page reference adjust: not an allocated frame, or the count "
                             "would go negative");
    }
    p->ref_cnt = (rt_uint32_t)((int64_t)p->ref_cnt + delta);
    int left = (int)p->ref_cnt;
    if (left == 0)
        release_block_locked(p, 0);
    pthread_mutex_unlock(&g_phys.lock);
    if (left == 0)
        mmsim_alloc_count_free(MMSIM_ALLOC_PAGE);
    return left;
}

void rt_page_ref_inc(void *addr, rt_uint32_t size_bits)
{
    struct rt_page *p = group_head(addr, size_bits);
    MMSIM_PRECOND_VOID(p != NULL, "rt_page_ref_inc: address is not in installed RAM");
    pthread_mutex_lock(&g_phys.lock);
    bool ok = (p->mmsim_state & PF_ALLOC) != 0;
    if (ok)
        p->ref_cnt++;
    pthread_mutex_unlock(&g_phys.lock);
    MMSIM_PRECOND_VOID(ok, "rt_page_ref_inc: group head is not an allocated block");
}

int rt_page_ref_get(void *addr, rt_uint32_t size_bits)
{
    struct rt_page *p = group_head(addr, size_bits);
    MMSIM_PRECOND(p != NULL, 0, "rt_page_ref_get: address is not in installed RAM");
    pthread_mutex_lock(&g_phys.lock);
    int ref = (int)p->ref_cnt;
    pthread_mutex_unlock(&g_phys.lock);
    return ref;
}

rt_size_t rt_page_bits(rt_size_t size)
{
    if (size <= MMSIM_FRAME_SIZE)
        return 0;
    int bit = (int)(sizeof(rt_size_t) * 8) - __builtin_clzl(size) - 1;
    if (size & (size - 1))
        bit++;
    return (rt_size_t)(bit - (int)MMSIM_FRAME_SHIFT);
}

static void zone_info(int first, int last, rt_size_t *total_nr, rt_size_t *free_nr)
{
    rt_size_t total = 0, avail = 0;
    pthread_mutex_lock(&g_phys.lock);
    for (int zi = first; zi <= last; zi++) {
        total += g_phys.zones[zi].total_frames;
        avail += g_phys.zones[zi].free_frames;
    }
    pthread_mutex_unlock(&g_phys.lock);
    if (total_nr)
        *total_nr = total;
    if (free_nr)
        *free_nr = avail;
}

void rt_page_get_info(rt_size_t *total_nr, rt_size_t *free_nr)
{
    zone_info(ZONE_LOW, ZONE_HIGH, total_nr, free_nr);
}

void rt_page_high_get_info(rt_size_t *total_nr, rt_size_t *free_nr)
{
    zone_info(ZONE_HIGH, ZONE_HIGH, total_nr, free_nr);
}

void *rt_page_page2addr(struct rt_page *p)
{
    if (!g_phys.up || p < g_phys.rec || p >= g_phys.rec + g_phys.nframes)
        return RT_NULL;
    return phys_host(phys_pfn(p));
}

struct rt_page *rt_page_addr2page(void *addr)
{
    uint64_t pa = mmsim_phys_host2pa(addr);
    if (pa == UINT64_MAX)
        return RT_NULL;
    return phys_rec(pa >> MMSIM_FRAME_SHIFT);
}

rt_bool_t rt_page_is_member(rt_base_t page_pa)
{
    uint64_t pa = (uint64_t)page_pa;
    if (!mmsim_phys_is_ram(pa))
        return RT_FALSE;
    pthread_mutex_lock(&g_phys.lock);
    bool member = phys_range_of(pa >> MMSIM_FRAME_SHIFT) != NULL;
    pthread_mutex_unlock(&g_phys.lock);
    return member ? RT_TRUE : RT_FALSE;
}

int rt_page_install(rt_region_t region)
{
    uint64_t start = mmsim_phys_host2pa((void *)region.start);
    uint64_t last = region.end > region.start ? mmsim_phys_host2pa((void *)(region.end - 1)) : UINT64_MAX;
    if (start == UINT64_MAX || last == UINT64_MAX)
        return -RT_EINVAL;
    uint64_t start_pfn = (start + MMSIM_FRAME_SIZE - 1) >> MMSIM_FRAME_SHIFT;
    uint64_t end_pfn = (last + 1) >> MMSIM_FRAME_SHIFT;
    if (start_pfn >= end_pfn)
        return -RT_EINVAL;
    int rc = -RT_EINVAL;
    pthread_mutex_lock(&g_phys.lock);
    bool overlaps = false;
    for (unsigned i = 0; i < g_phys.nranges; i++)
        if (start_pfn < g_phys.ranges[i].end_pfn && g_phys.ranges[i].start_pfn < end_pfn)
            overlaps = true;
    if (!overlaps)
        rc = phys_add_range(start_pfn, end_pfn) ? -RT_EINVAL : RT_EOK;
    pthread_mutex_unlock(&g_phys.lock);
    return rc;
}

void rt_page_list(void)
{
    static const char *const names[ZONES] = { "low", "high" };
    pthread_mutex_lock(&g_phys.lock);
    for (int zi = 0; zi < ZONES; zi++) {
        rt_kprintf("[%s] total %zu free %zu\n", names[zi], g_phys.zones[zi].total_frames,
                   g_phys.zones[zi].free_frames);
        for (unsigned o = 0; o < PHYS_ORDERS; o++) {
            size_t n = 0;
            for (struct rt_page *p = g_phys.zones[zi].lists[o]; p; p = p->next)
                n++;
            if (n)
                rt_kprintf("  order %2u: %zu block(s)\n", o, n);
        }
    }
    pthread_mutex_unlock(&g_phys.lock);
}

size_t mmsim_phys_allocated_frames(void)
{
    pthread_mutex_lock(&g_phys.lock);
    size_t n = g_phys.allocated;
    pthread_mutex_unlock(&g_phys.lock);
    return n;
}

void mmsim_phys_stats_get(struct mmsim_phys_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&g_phys.lock);
    out->ram_base_pa = g_phys.base_pa;
    out->ram_size = g_phys.size;
    for (int zi = 0; zi < ZONES; zi++) {
        out->total_frames += g_phys.zones[zi].total_frames;
        out->free_frames += g_phys.zones[zi].free_frames;
    }
    out->high_total_frames = g_phys.zones[ZONE_HIGH].total_frames;
    out->high_free_frames = g_phys.zones[ZONE_HIGH].free_frames;
    out->quarantined_frames = g_phys.q_frames;
    out->allocated_frames = g_phys.allocated;
    out->peak_allocated_frames = g_phys.peak;
    pthread_mutex_unlock(&g_phys.lock);
}

/* The block (head pfn, order, flags) covering `pfn`, searching heads upward. */
static bool covering_block(uint64_t pfn, uint32_t *state_out)
{
    for (unsigned o = 0; o < PHYS_ORDERS; o++) {
        uint64_t head = pfn & ~((1ULL << o) - 1);
        struct phys_range *r = phys_range_of(head);
        if (!r || head < r->start_pfn)
            return false;
        uint32_t s = phys_rec(head)->mmsim_state;
        if ((s & (PF_FREE | PF_QUAR | PF_ALLOC)) && PF_ORDER(s) >= o &&
            pfn < head + (1ULL << PF_ORDER(s))) {
            *state_out = s;
            return true;
        }
    }
    return false;
}

enum mmsim_frame_state mmsim_phys_frame_state(uint64_t pa)
{
    if (!mmsim_phys_is_ram(pa))
        return MMSIM_FRAME_NOT_RAM;
    uint64_t pfn = pa >> MMSIM_FRAME_SHIFT;
    enum mmsim_frame_state st = MMSIM_FRAME_FREE;
    pthread_mutex_lock(&g_phys.lock);
    struct phys_range *r = phys_range_of(pfn);
    uint32_t s = 0;
    if (!r)
        st = MMSIM_FRAME_UNINSTALLED;
    else if (pfn >= r->frontier_pfn)
        st = MMSIM_FRAME_FREE;
    else if (covering_block(pfn, &s))
        st = (s & PF_ALLOC) ? MMSIM_FRAME_ALLOCATED
           : (s & PF_QUAR) ? MMSIM_FRAME_QUARANTINED : MMSIM_FRAME_FREE;
    pthread_mutex_unlock(&g_phys.lock);
    return st;
}

uint32_t mmsim_phys_frame_free_seq(uint64_t pa)
{
    if (!mmsim_phys_is_ram(pa))
        return 0;
    pthread_mutex_lock(&g_phys.lock);
    uint32_t seq = phys_rec(pa >> MMSIM_FRAME_SHIFT)->mmsim_free_seq;
    pthread_mutex_unlock(&g_phys.lock);
    return seq;
}

/* Under ASan, freed frames are poisoned in the host mapping's shadow. Clear
 * the shadow of every frame ever handed out (those below each range's
 * frontier) before the mapping goes away, so a later mapping at the same host
 * address does not inherit the poison; untouched RAM has clean shadow. */
void mmsim_phys_unpoison_all(void)
{
#ifdef MMSIM_ASAN
    for (unsigned i = 0; i < g_phys.nranges; i++) {
        const struct phys_range *r = &g_phys.ranges[i];
        HOST_UNPOISON(phys_host(r->start_pfn),
                      (size_t)(r->frontier_pfn - r->start_pfn) << MMSIM_FRAME_SHIFT);
    }
#endif
}

uint32_t mmsim_phys_free_seq(void)
{
    pthread_mutex_lock(&g_phys.lock);
    uint32_t seq = g_phys.free_seq;
    pthread_mutex_unlock(&g_phys.lock);
    return seq;
}
