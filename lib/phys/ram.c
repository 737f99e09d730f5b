/* Simulated RAM: one lazily backed host mapping for the frames and one for
 * their records, so untouched RAM costs no host memory and a 64 GiB machine
 * boots as fast as a small one. */
#include <sys/mman.h>
#include "phys/phys.h"

struct phys_state g_phys = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* RT-Thread reserves records for the whole 48-bit PA space in kernel VA. */
const rt_size_t rt_mpr_size = ((rt_size_t)1 << (48 - 12)) * sizeof(struct rt_page);
void *rt_mpr_start;

static void *map_lazy(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static bool config_valid(const struct phys_config *cfg)
{
    const uint64_t max_block = (uint64_t)MMSIM_FRAME_SIZE << (PHYS_ORDERS - 1);
    if (cfg->ram_size < MMSIM_FRAME_SIZE || (cfg->ram_size & (MMSIM_FRAME_SIZE - 1)))
        return false;
    /* Max-order alignment of the base keeps buddy arithmetic on PFNs exact. */
    if (cfg->ram_base & (max_block - 1))
        return false;
    if (cfg->ram_base + cfg->ram_size < cfg->ram_base || cfg->ram_base + cfg->ram_size > (1ULL << 52))
        return false;
    if (cfg->install_size > cfg->ram_size || (cfg->install_size & (MMSIM_FRAME_SIZE - 1)))
        return false;
    return true;
}

int mmsim_phys_init(const struct phys_config *cfg)
{
    if (g_phys.up)
        return -RT_EBUSY;
    if (!config_valid(cfg))
        return -RT_EINVAL;

    struct phys_state *s = &g_phys;
    memset(s->zones, 0, sizeof s->zones);
    s->nranges = 0;
    s->base_pa = cfg->ram_base;
    s->size = cfg->ram_size;
    s->base_pfn = cfg->ram_base >> MMSIM_FRAME_SHIFT;
    s->nframes = cfg->ram_size >> MMSIM_FRAME_SHIFT;
    s->rec_bytes = s->nframes * sizeof(struct rt_page);
    s->ram = map_lazy(cfg->ram_size);
    s->rec = map_lazy(s->rec_bytes);
    s->debug = cfg->debug_aids;
    s->q_cap_frames = cfg->debug_aids ? cfg->quarantine_frames : 0;
    s->q_slots = s->q_cap_frames + 1;
    s->q = s->q_cap_frames ? calloc(s->q_slots, sizeof *s->q) : NULL;
    if (!s->ram || !s->rec || (s->q_cap_frames && !s->q)) {
        if (s->ram)
            munmap(s->ram, cfg->ram_size);
        if (s->rec)
            munmap(s->rec, s->rec_bytes);
        free(s->q);
        s->ram = NULL;
        s->rec = NULL;
        s->q = NULL;
        return -RT_ENOMEM;
    }
    s->q_head = s->q_len = 0;
    s->q_frames = 0;
    s->allocated = s->peak = 0;
    s->free_seq = 0;
    s->pvoff = (rt_ubase_t)cfg->ram_base - (rt_ubase_t)(uintptr_t)s->ram;
    rt_mpr_start = s->rec;
    uint64_t install = cfg->install_size ? cfg->install_size : cfg->ram_size;
    phys_add_range(s->base_pfn, s->base_pfn + (install >> MMSIM_FRAME_SHIFT));
    mmsim_alloc_counters_reset(MMSIM_ALLOC_PAGE);
    s->up = true;
    return RT_EOK;
}

void mmsim_phys_fini(void)
{
    struct phys_state *s = &g_phys;
    if (!s->up)
        return;
    s->up = false;
    mmsim_phys_unpoison_all();
    munmap(s->ram, s->size);
    munmap(s->rec, s->rec_bytes);
    free(s->q);
    s->ram = NULL;
    s->rec = NULL;
    s->q = NULL;
    rt_mpr_start = NULL;
}

rt_ubase_t mmsim_phys_pvoff(void) { return g_phys.pvoff; }

bool mmsim_phys_is_ram(uint64_t pa)
{
    return g_phys.up && pa >= g_phys.base_pa && pa - g_phys.base_pa < g_phys.size;
}

void *mmsim_phys_pa2host(uint64_t pa)
{
    if (!mmsim_phys_is_ram(pa))
        return NULL;
    return g_phys.ram + (pa - g_phys.base_pa);
}

uint64_t mmsim_phys_host2pa(const void *host)
{
    uintptr_t h = (uintptr_t)host;
    uintptr_t lo = (uintptr_t)g_phys.ram;
    if (!g_phys.up || h < lo || h - lo >= g_phys.size)
        return UINT64_MAX;
    return g_phys.base_pa + (h - lo);
}

struct phys_range *phys_range_of(uint64_t pfn)
{
    for (unsigned i = 0; i < g_phys.nranges; i++) {
        struct phys_range *r = &g_phys.ranges[i];
        if (pfn >= r->start_pfn && pfn < r->end_pfn)
            return r;
    }
    return NULL;
}

/* Append [start, end) as installed RAM, split at 4 GiB so no block straddles
 * the low/high zone boundary. Caller holds the lock or is booting. */
int phys_add_range(uint64_t start_pfn, uint64_t end_pfn)
{
    const uint64_t split_pfn = PHYS_LOW_LIMIT_PA >> MMSIM_FRAME_SHIFT;
    if (start_pfn < split_pfn && end_pfn > split_pfn) {
        int rc = phys_add_range(start_pfn, split_pfn);
        return rc ? rc : phys_add_range(split_pfn, end_pfn);
    }
    if (start_pfn >= end_pfn)
        return RT_EOK;
    if (g_phys.nranges == PHYS_MAX_RANGES)
        return -RT_ENOSPC;
    struct phys_range *r = &g_phys.ranges[g_phys.nranges++];
    r->start_pfn = start_pfn;
    r->end_pfn = end_pfn;
    r->frontier_pfn = start_pfn;
    r->zone = start_pfn >= split_pfn ? ZONE_HIGH : ZONE_LOW;
    g_phys.zones[r->zone].total_frames += end_pfn - start_pfn;
    g_phys.zones[r->zone].free_frames += end_pfn - start_pfn;
    return RT_EOK;
}
