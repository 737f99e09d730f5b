/* The allocator's invariant checker. Installed RAM below each frontier must
 * be tiled exactly by blocks (free, quarantined or allocated), every free
 * block must be on the list of its order and zone and nothing else may be,
 * and the counters must add up. */
#include "phys/phys.h"

struct check_ctx
{
    FILE *out;
    int problems;
};

#define problem(c, ...) mmsim_problem((c)->out, &(c)->problems, "phys check", __VA_ARGS__)

struct tally
{
    size_t free_frames[ZONES];
    size_t free_blocks[ZONES][PHYS_ORDERS];
    size_t quar_frames;
    size_t alloc_frames;
};

static unsigned long long pa_of(uint64_t pfn) { return (unsigned long long)(pfn << MMSIM_FRAME_SHIFT); }

static void tile_range(struct check_ctx *c, const struct phys_range *r, struct tally *t)
{
    uint64_t pfn = r->start_pfn;
    while (pfn < r->frontier_pfn) {
        const struct rt_page *p = phys_rec(pfn);
        uint32_t s = p->mmsim_state;
        unsigned order = PF_ORDER(s);
        unsigned kinds = !!(s & PF_FREE) + !!(s & PF_QUAR) + !!(s & PF_ALLOC);
        if (kinds != 1) {
            problem(c, "PA 0x%llx: expected the head of exactly one block, state 0x%x", pa_of(pfn), s);
            return; /* the tiling is lost; later positions would only echo this */
        }
        if (order >= PHYS_ORDERS || (pfn & ((1ULL << order) - 1)) ||
            pfn + (1ULL << order) > r->frontier_pfn) {
            problem(c, "PA 0x%llx: block of order %u is misaligned or leaves its range", pa_of(pfn), order);
            return;
        }
        size_t n = (size_t)1 << order;
        if (s & PF_FREE) {
            t->free_frames[r->zone] += n;
            t->free_blocks[r->zone][order]++;
            if (p->size_bits != order)
                problem(c, "PA 0x%llx: free block's size_bits %u != order %u", pa_of(pfn), p->size_bits, order);
        } else if (s & PF_QUAR) {
            t->quar_frames += n;
        } else {
            t->alloc_frames += n;
            if (p->ref_cnt == 0 || p->size_bits != PHYS_ALLOC_MARK)
                problem(c, "PA 0x%llx: allocated block has ref_cnt %u size_bits %u", pa_of(pfn),
                        p->ref_cnt, p->size_bits);
        }
        pfn += n;
    }
}

static void check_lists(struct check_ctx *c, int zone, const struct tally *t)
{
    const struct phys_zone *z = &g_phys.zones[zone];
    for (unsigned o = 0; o < PHYS_ORDERS; o++) {
        size_t n = 0;
        const struct rt_page *prev = NULL;
        for (const struct rt_page *p = z->lists[o]; p; prev = p, p = p->next) {
            if (++n > t->free_blocks[zone][o]) {
                problem(c, "zone %d order %u: list is longer than the free blocks found (cycle or stray entry)",
                        zone, o);
                break;
            }
            uint64_t pfn = phys_pfn(p);
            const struct phys_range *r = phys_range_of(pfn);
            if (p->pre != prev)
                problem(c, "PA 0x%llx: broken back link on order-%u list", pa_of(pfn), o);
            if (!r || r->zone != zone || !(p->mmsim_state & PF_FREE) || PF_ORDER(p->mmsim_state) != o)
                problem(c, "PA 0x%llx: on the zone %d order-%u list but not a free block of that order",
                        pa_of(pfn), zone, o);
        }
        if (n < t->free_blocks[zone][o])
            problem(c, "zone %d order %u: %zu free blocks are missing from the list", zone, o,
                    t->free_blocks[zone][o] - n);
    }
}

int mmsim_phys_check(FILE *report)
{
    struct check_ctx c = { report, 0 };
    struct tally t;
    memset(&t, 0, sizeof t);
    pthread_mutex_lock(&g_phys.lock);
    if (!g_phys.up) {
        pthread_mutex_unlock(&g_phys.lock);
        problem(&c, "no machine is booted");
        return c.problems;
    }
    size_t untouched[ZONES] = { 0, 0 };
    for (unsigned i = 0; i < g_phys.nranges; i++) {
        const struct phys_range *r = &g_phys.ranges[i];
        tile_range(&c, r, &t);
        untouched[r->zone] += r->end_pfn - r->frontier_pfn;
    }
    if (c.problems == 0)
        for (int zone = 0; zone < ZONES; zone++)
            check_lists(&c, zone, &t);
    size_t total = 0;
    size_t free_sum = 0;
    for (int zone = 0; zone < ZONES; zone++) {
        total += g_phys.zones[zone].total_frames;
        free_sum += g_phys.zones[zone].free_frames;
        if (c.problems)
            continue;
        size_t zone_free = t.free_frames[zone] + untouched[zone];
        /* quarantined frames count as free in their zone's counter */
        for (unsigned i = 0; i < g_phys.q_len; i++) {
            struct phys_qentry e = g_phys.q[(g_phys.q_head + i) % g_phys.q_slots];
            if (phys_range_of(e.pfn)->zone == zone)
                zone_free += (size_t)1 << e.order;
        }
        if (zone_free != g_phys.zones[zone].free_frames)
            problem(&c, "zone %d: free counter %zu but %zu frames are free", zone,
                    g_phys.zones[zone].free_frames, zone_free);
    }
    if (t.quar_frames != g_phys.q_frames)
        problem(&c, "quarantine holds %zu frames but its counter says %zu", t.quar_frames, g_phys.q_frames);
    if (c.problems == 0 && t.alloc_frames != g_phys.allocated)
        problem(&c, "allocated counter %zu but %zu frames are allocated", g_phys.allocated, t.alloc_frames);
    if (free_sum + g_phys.allocated != total)
        problem(&c, "free %zu + allocated %zu != total %zu frames", free_sum, g_phys.allocated, total);
    pthread_mutex_unlock(&g_phys.lock);
    return c.problems;
}
