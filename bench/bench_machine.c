/*
 * bench_machine: throughput and latency of mmsim's machine layer, each
 * figure beside a host baseline measured in the same run:
 *
 *   1. page allocator: rt_pages_alloc(0)+rt_pages_free pairs/s vs malloc/free,
 *      plus a mixed-order variant with many blocks outstanding;
 *   2. page tables: rt_hw_mmu_map+rt_hw_mmu_unmap of one 4 KiB page per second
 *      (warm: tables stay; cold: three tables allocated and freed each time)
 *      vs Linux mmap/munmap of 4 KiB;
 *   3. software walks: mmsim_vmsa_translate ns/walk over a large 4 KiB-page
 *      region vs four dependent host loads over arrays as large as the tables;
 *   4. machine boot and teardown in microseconds vs the host mmap/munmap of
 *      the two lazily backed regions a boot creates.
 *
 * Usage: bench_machine [--quick] [--json FILE|-] [--only boot|pages|map|walk]
 * Timings are reported, never asserted: the exit status only says whether
 * the program ran correctly (machine booted, operations succeeded, no leak).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <mm_aspace.h>
#include <mm_page.h>
#include <mmsim/diag.h>
#include <mmsim/machine.h>
#include <mmsim/pgtable.h>
#include <mmsim/phys.h>
#include <mmsim/vmsa.h>

#include "bench_util.h"

#define PAGE_SIZE 4096u
#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static struct bench_timing g_timing;
static bool g_quick;

static void die(const char *what)
{
    fprintf(stderr, "bench_machine: %s\n", what);
    exit(2);
}

static void fast_config(struct mmsim_machine_config *cfg, uint64_t ram_size)
{
    mmsim_machine_config_default(cfg);
    cfg->debug_aids = false; /* poison memsets and quarantine are debugging, not the allocator */
    cfg->quarantine_frames = 0;
    cfg->ram_size = ram_size;
}

static void boot_fast(uint64_t ram_size)
{
    struct mmsim_machine_config cfg;
    fast_config(&cfg, ram_size);
    if (mmsim_machine_boot(&cfg) != RT_EOK)
        die("machine boot failed");
}

static void shutdown_clean(void)
{
    struct mmsim_leak_report rep;
    if (mmsim_machine_shutdown(&rep) != 0) {
        mmsim_leak_report_print(&rep, stderr);
        die("teardown reported leaks");
    }
}

/* A user address space the way sim/cli sets one up. */
static void user_aspace_init(struct rt_aspace *as, uint64_t asid)
{
    memset(as, 0, sizeof *as);
    as->page_table = rt_hw_mmu_pgtbl_create();
    if (!as->page_table)
        die("no root table");
    as->start = (void *)0x200000;
    as->size = 0x0001000000000000UL - 0x200000;
    as->asid = asid;
    rt_spin_lock_init(&as->pgtbl_lock);
}

static void user_aspace_fini(struct rt_aspace *as)
{
    rt_hw_mmu_pgtbl_delete(as->page_table);
    as->page_table = NULL;
}

static size_t aspace_table_pages(struct rt_aspace *as)
{
    struct mmsim_mmu_info info;
    if (mmsim_mmu_check(as, stderr, &info) != 0)
        die("page-table check failed");
    return info.table_pages;
}

/* Throughput figure from two ns-per-pair measurements. */
static void add_rate(struct bench_report *rep, const char *id, const char *what, double ns,
                     const char *base_what, double base_ns, double target_mps, const char *target_text)
{
    struct bench_figure f = {
        .id = id, .what = what, .unit = "M pairs/s", .value = 1e3 / ns,
        .baseline_what = base_what, .baseline = 1e3 / base_ns,
        .goal = target_text ? BENCH_GOAL_VALUE_AT_LEAST : BENCH_GOAL_NONE,
        .target = target_mps, .target_text = target_text,
    };
    bench_report_add(rep, &f);
}

/* ---- 1. page allocator ---------------------------------------------------- */

static void body_page_pair(void *ctx, uint64_t iters)
{
    (void)ctx;
    for (uint64_t i = 0; i < iters; i++) {
        void *p = rt_pages_alloc(0);
        if (!p)
            die("rt_pages_alloc(0) failed");
        bench_keep_ptr(p);
        rt_pages_free(p, 0);
    }
}

static void body_malloc_pair(void *ctx, uint64_t iters)
{
    (void)ctx;
    for (uint64_t i = 0; i < iters; i++) {
        void *p = malloc(PAGE_SIZE);
        if (!p)
            die("malloc failed");
        bench_keep_ptr(p);
        free(p);
    }
}

/* Mixed orders with many blocks outstanding: a ring of live blocks; each
 * step frees the oldest and allocates a new one of a pseudo-random order
 * (half order 0, a quarter order 1, the rest orders 2 and 3). */
#define RING_SLOTS 1024u
#define ORDER_SEQ 4096u

struct ring
{
    bool use_pages;
    void *blocks[RING_SLOTS];
    uint8_t block_order[RING_SLOTS];
    uint8_t order_seq[ORDER_SEQ];
    uint64_t step;
};

static void *ring_alloc(const struct ring *r, unsigned order)
{
    void *p = r->use_pages ? rt_pages_alloc(order) : malloc((size_t)PAGE_SIZE << order);
    if (!p)
        die("mixed-order allocation failed");
    return p;
}

static void ring_free(const struct ring *r, void *p, unsigned order)
{
    if (r->use_pages)
        rt_pages_free(p, order);
    else
        free(p);
}

static void ring_init(struct ring *r, bool use_pages)
{
    memset(r, 0, sizeof *r);
    r->use_pages = use_pages;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (unsigned i = 0; i < ORDER_SEQ; i++) {
        unsigned x = (unsigned)(bench_rand(&seed) >> 60); /* 0..15 */
        r->order_seq[i] = (uint8_t)(x < 8 ? 0 : x < 12 ? 1 : x < 14 ? 2 : 3);
    }
    for (unsigned i = 0; i < RING_SLOTS; i++) {
        r->block_order[i] = r->order_seq[i];
        r->blocks[i] = ring_alloc(r, r->block_order[i]);
    }
}

static void ring_fini(struct ring *r)
{
    for (unsigned i = 0; i < RING_SLOTS; i++)
        ring_free(r, r->blocks[i], r->block_order[i]);
}

static void body_ring(void *ctx, uint64_t iters)
{
    struct ring *r = ctx;
    for (uint64_t i = 0; i < iters; i++, r->step++) {
        unsigned slot = (unsigned)(r->step % RING_SLOTS);
        unsigned order = r->order_seq[r->step % ORDER_SEQ];
        ring_free(r, r->blocks[slot], r->block_order[slot]);
        r->blocks[slot] = ring_alloc(r, order);
        r->block_order[slot] = (uint8_t)order;
    }
}

static void bench_pages(struct bench_report *rep)
{
    double page_ns = bench_measure(&g_timing, body_page_pair, NULL);
    double malloc_ns = bench_measure(&g_timing, body_malloc_pair, NULL);
    add_rate(rep, "page_alloc_free_order0", "rt_pages_alloc(0)+free", page_ns,
             "host malloc(4096)+free pairs/s", malloc_ns, 20.0, ">= 20 M pairs/s");

    static struct ring pages_ring, host_ring;
    ring_init(&pages_ring, true);
    double ring_ns = bench_measure(&g_timing, body_ring, &pages_ring);
    ring_fini(&pages_ring);
    ring_init(&host_ring, false);
    double host_ring_ns = bench_measure(&g_timing, body_ring, &host_ring);
    ring_fini(&host_ring);
    add_rate(rep, "page_alloc_free_mixed", "pages mixed order 0-3, 1024 live", ring_ns,
             "host malloc(4K<<order)+free, same sequence", host_ring_ns, 0, NULL);
}

/* ---- 2. map + unmap ------------------------------------------------------- */

struct map_ctx
{
    struct rt_aspace *as;
    uint64_t va;
    uint64_t pa;
};

static void body_map_unmap(void *ctx, uint64_t iters)
{
    const struct map_ctx *m = ctx;
    void *va = (void *)(uintptr_t)m->va;
    void *pa = (void *)(uintptr_t)m->pa;
    for (uint64_t i = 0; i < iters; i++) {
        if (!rt_hw_mmu_map(m->as, va, pa, PAGE_SIZE, MMU_MAP_U_RWCB))
            die("rt_hw_mmu_map failed");
        rt_hw_mmu_unmap(m->as, va, PAGE_SIZE);
    }
}

static void body_host_mmap(void *ctx, uint64_t iters)
{
    (void)ctx;
    for (uint64_t i = 0; i < iters; i++) {
        void *p = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            die("host mmap failed");
        bench_keep_ptr(p);
        munmap(p, PAGE_SIZE);
    }
}

/* How many table pages one map of `va` adds (3 in the cold case, 0 warm). */
static size_t tables_added_by_map(const struct map_ctx *m)
{
    size_t before = aspace_table_pages(m->as);
    if (!rt_hw_mmu_map(m->as, (void *)(uintptr_t)m->va, (void *)(uintptr_t)m->pa, PAGE_SIZE,
                       MMU_MAP_U_RWCB))
        die("rt_hw_mmu_map failed");
    size_t during = aspace_table_pages(m->as);
    rt_hw_mmu_unmap(m->as, (void *)(uintptr_t)m->va, PAGE_SIZE);
    if (aspace_table_pages(m->as) != before)
        die("unmap did not return the table pages");
    return during - before;
}

static void bench_map(struct bench_report *rep)
{
    static struct rt_aspace as;
    user_aspace_init(&as, 1);
    void *frames = rt_pages_alloc(1);
    if (!frames)
        die("no frames for the map benchmark");
    uint64_t pa = (uint64_t)(uintptr_t)rt_kmem_v2p(frames);

    /* Warm: a neighbour in the same L3 table keeps the whole chain alive. */
    uint64_t neighbour_va = 0x10000000;
    if (!rt_hw_mmu_map(&as, (void *)(uintptr_t)neighbour_va, (void *)(uintptr_t)pa, PAGE_SIZE,
                       MMU_MAP_U_RWCB))
        die("rt_hw_mmu_map failed");
    struct map_ctx warm = { &as, neighbour_va + PAGE_SIZE, pa + PAGE_SIZE };
    /* Cold: alone under its own L0 entry, so L1, L2 and L3 come and go. */
    struct map_ctx cold = { &as, 0x0000400000000000ULL, pa + PAGE_SIZE };
    if (tables_added_by_map(&warm) != 0 || tables_added_by_map(&cold) != 3)
        die("map benchmark set-up is not warm/cold as intended");

    double warm_ns = bench_measure(&g_timing, body_map_unmap, &warm);
    double cold_ns = bench_measure(&g_timing, body_map_unmap, &cold);
    double host_ns = bench_measure(&g_timing, body_host_mmap, NULL);
    add_rate(rep, "map_unmap_4k_warm", "map+unmap 4K, tables exist", warm_ns,
             "host mmap+munmap 4 KiB anonymous pairs/s", host_ns, 5.0, ">= 5 M pairs/s");
    add_rate(rep, "map_unmap_4k_cold", "map+unmap 4K, 3 tables alloc+free", cold_ns,
             "host mmap+munmap 4 KiB anonymous pairs/s", host_ns, 0, NULL);

    rt_hw_mmu_unmap(&as, (void *)(uintptr_t)neighbour_va, PAGE_SIZE);
    rt_pages_free(frames, 1);
    user_aspace_fini(&as);
}

/* ---- 3. software walks ---------------------------------------------------- */

#define WALK_VA_BASE 0x0000008000001000ULL /* off 2 MiB alignment: 4 KiB leaves only */
#define WALK_PA_BASE 0x0000000100001000ULL /* PA beyond RAM: the walk never reads leaf data */
#define NPROBES (1u << 16)                 /* random inputs, streamed in order */

struct walk_ctx
{
    struct rt_aspace *as;
    struct mmsim_vmsa_ctx vctx;
    const struct mmsim_vmsa_mem *mem;
    uint64_t *va;        /* NPROBES random VAs in the region */
    /* baseline: 4 arrays of chase_len entries; each holds indices into the next */
    uint64_t *chase[4];
    uint64_t chase_len;
    uint64_t *start_idx; /* NPROBES random first indices */
};

/* In the chained variants each iteration's input depends on the previous
 * iteration's result (through a bit that is always zero: PAs and chase
 * values are far below 2^63), so iterations cannot overlap and the figure
 * is a latency; unchained, the core overlaps independent iterations and the
 * figure is a throughput. */
static inline uint64_t chain_bit(uint64_t prev, bool chained)
{
    return chained ? prev >> 63 : 0;
}

static void walk_loop(const struct walk_ctx *w, uint64_t iters, bool chained)
{
    const struct mmsim_vmsa_access acc = { .op = MMSIM_OP_READ, .el = 0, .at = true };
    uint64_t sum = 0, prev = 0;
    for (uint64_t i = 0; i < iters; i++) {
        struct mmsim_vmsa_result res;
        uint64_t va = w->va[i & (NPROBES - 1)] ^ chain_bit(prev, chained);
        mmsim_vmsa_translate(&w->vctx, va, &acc, w->mem, &res);
        prev = res.pa;
        sum += prev;
    }
    bench_keep(sum);
}

static void v2p_loop(const struct walk_ctx *w, uint64_t iters, bool chained)
{
    uint64_t sum = 0, prev = 0;
    for (uint64_t i = 0; i < iters; i++) {
        uint64_t va = w->va[i & (NPROBES - 1)] ^ chain_bit(prev, chained);
        prev = (uint64_t)(uintptr_t)rt_hw_mmu_v2p(w->as, (void *)(uintptr_t)va);
        sum += prev;
    }
    bench_keep(sum);
}

/* Four loads, each indexed by the value the previous one returned. */
static void chase_loop(const struct walk_ctx *w, uint64_t iters, bool chained)
{
    const uint64_t *a0 = w->chase[0], *a1 = w->chase[1], *a2 = w->chase[2], *a3 = w->chase[3];
    uint64_t sum = 0, prev = 0;
    for (uint64_t i = 0; i < iters; i++) {
        uint64_t x = a0[w->start_idx[i & (NPROBES - 1)] ^ chain_bit(prev, chained)];
        x = a1[x];
        x = a2[x];
        prev = a3[x];
        sum += prev;
    }
    bench_keep(sum);
}

static void body_walk_chained(void *ctx, uint64_t iters) { walk_loop(ctx, iters, true); }
static void body_walk_free(void *ctx, uint64_t iters) { walk_loop(ctx, iters, false); }
static void body_v2p_chained(void *ctx, uint64_t iters) { v2p_loop(ctx, iters, true); }
static void body_chase_chained(void *ctx, uint64_t iters) { chase_loop(ctx, iters, true); }
static void body_chase_free(void *ctx, uint64_t iters) { chase_loop(ctx, iters, false); }

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes);
    if (!p)
        die("out of host memory");
    return p;
}

static void chase_init(struct walk_ctx *w, size_t table_bytes, uint64_t *seed)
{
    w->chase_len = table_bytes / 4 / sizeof(uint64_t);
    for (int a = 0; a < 4; a++) {
        w->chase[a] = xmalloc(w->chase_len * sizeof(uint64_t));
        for (uint64_t i = 0; i < w->chase_len; i++)
            w->chase[a][i] = bench_rand(seed) % w->chase_len;
    }
    w->start_idx = xmalloc(NPROBES * sizeof(uint64_t));
    for (unsigned i = 0; i < NPROBES; i++)
        w->start_idx[i] = bench_rand(seed) % w->chase_len;
}

/* Every probe must translate, to the PA the linear mapping implies. */
static void walk_verify(const struct walk_ctx *w)
{
    const struct mmsim_vmsa_access acc = { .op = MMSIM_OP_READ, .el = 0, .at = true };
    for (unsigned i = 0; i < NPROBES; i++) {
        struct mmsim_vmsa_result res;
        uint64_t want = WALK_PA_BASE + (w->va[i] - WALK_VA_BASE);
        if (!mmsim_vmsa_translate(&w->vctx, w->va[i], &acc, w->mem, &res) || res.pa != want ||
            (uint64_t)(uintptr_t)rt_hw_mmu_v2p(w->as, (void *)(uintptr_t)w->va[i]) != want)
            die("walk benchmark: a probe did not translate as mapped");
    }
}

static size_t walk_setup(struct walk_ctx *w, struct rt_aspace *as, uint64_t region_size)
{
    memset(w, 0, sizeof *w);
    w->as = as;
    if (!rt_hw_mmu_map(as, (void *)(uintptr_t)WALK_VA_BASE, (void *)(uintptr_t)WALK_PA_BASE,
                       region_size, MMU_MAP_U_RWCB))
        die("mapping the walk region failed");
    struct mmsim_vmsa_regs regs;
    mmsim_mmu_regs(as, &regs);
    if (mmsim_vmsa_ctx_init(&w->vctx, &regs) != 0)
        die("mmsim_vmsa_ctx_init rejected RT-Thread's registers");
    w->mem = mmsim_mmu_ram_mem();
    uint64_t seed = 0x243f6a8885a308d3ULL;
    w->va = xmalloc(NPROBES * sizeof(uint64_t));
    for (unsigned i = 0; i < NPROBES; i++)
        w->va[i] = WALK_VA_BASE + bench_rand(&seed) % region_size;
    size_t table_bytes = aspace_table_pages(as) * PAGE_SIZE;
    chase_init(w, table_bytes, &seed);
    walk_verify(w);
    return table_bytes;
}

static void walk_teardown(struct walk_ctx *w, uint64_t region_size)
{
    rt_hw_mmu_unmap(w->as, (void *)(uintptr_t)WALK_VA_BASE, region_size);
    for (int a = 0; a < 4; a++)
        free(w->chase[a]);
    free(w->start_idx);
    free(w->va);
}

static void bench_walk(struct bench_report *rep)
{
    uint64_t region_size = g_quick ? 8 * MIB : 256 * MIB;
    static struct rt_aspace as;
    static struct walk_ctx w;
    user_aspace_init(&as, 2);
    size_t table_bytes = walk_setup(&w, &as, region_size);

    double walk_ns = bench_measure(&g_timing, body_walk_chained, &w);
    double chase_ns = bench_measure(&g_timing, body_chase_chained, &w);
    double v2p_ns = bench_measure(&g_timing, body_v2p_chained, &w);
    double walk_free_ns = bench_measure(&g_timing, body_walk_free, &w);
    double chase_free_ns = bench_measure(&g_timing, body_chase_free, &w);
    static char base_what[2][160], what[2][64];
    for (int chained = 0; chained < 2; chained++) {
        snprintf(base_what[chained], sizeof base_what[chained],
                 "4 dependent host loads, 4 arrays totalling %zu KiB (= tables), %s",
                 table_bytes >> 10, chained ? "chained iterations" : "independent iterations");
        snprintf(what[chained], sizeof what[chained], "vmsa_translate %lluM 4K, %s",
                 (unsigned long long)(region_size / MIB), chained ? "latency" : "throughput");
    }
    struct bench_figure f = {
        .id = "vmsa_translate_latency", .what = what[1], .unit = "ns/walk", .value = walk_ns,
        .baseline_what = base_what[1], .baseline = chase_ns,
        .goal = BENCH_GOAL_RATIO_AT_MOST, .target = 3.0, .target_text = "ratio <= 3x",
    };
    bench_report_add(rep, &f);
    struct bench_figure t = f;
    t.id = "vmsa_translate_throughput";
    t.what = what[0];
    t.value = walk_free_ns;
    t.baseline_what = base_what[0];
    t.baseline = chase_free_ns;
    t.goal = BENCH_GOAL_NONE; /* context: the target is on the latency figure above */
    t.target_text = NULL;
    bench_report_add(rep, &t);
    struct bench_figure v = f;
    v.id = "mmu_v2p_latency";
    v.what = "rt_hw_mmu_v2p, same VAs, latency";
    v.value = v2p_ns;
    v.goal = BENCH_GOAL_NONE;
    v.target_text = NULL;
    bench_report_add(rep, &v);

    walk_teardown(&w, region_size);
    user_aspace_fini(&as);
}

/* ---- 4. boot and teardown ------------------------------------------------- */

#define BOOT_MAX_CYCLES 4096u

struct cycle_samples
{
    double first_ns[BOOT_MAX_CYCLES];  /* boot, or host mmap */
    double second_ns[BOOT_MAX_CYCLES]; /* teardown, or host munmap */
    unsigned n;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof v[0], cmp_double);
    return v[n / 2];
}

/* Whether to run cycle i: at least 5, then until the time budget is used. */
static bool cycle_budget(unsigned i, uint64_t start_ns)
{
    uint64_t budget_ns = g_timing.run_ns * g_timing.runs;
    if (i < 5)
        return true;
    return i < BOOT_MAX_CYCLES && bench_now_ns() - start_ns < budget_ns;
}

static void sample_boot(struct cycle_samples *s, uint64_t ram_size)
{
    struct mmsim_machine_config cfg;
    fast_config(&cfg, ram_size);
    for (unsigned i = 0; i < 2; i++) { /* warm-up */
        if (mmsim_machine_boot(&cfg) != RT_EOK)
            die("machine boot failed");
        shutdown_clean();
    }
    uint64_t start = bench_now_ns();
    for (s->n = 0; cycle_budget(s->n, start); s->n++) {
        uint64_t t0 = bench_now_ns();
        if (mmsim_machine_boot(&cfg) != RT_EOK)
            die("machine boot failed");
        uint64_t t1 = bench_now_ns();
        struct mmsim_leak_report leaks;
        int leaked = mmsim_machine_shutdown(&leaks);
        uint64_t t2 = bench_now_ns();
        if (leaked)
            die("teardown of an idle machine reported leaks");
        s->first_ns[s->n] = (double)(t1 - t0);
        s->second_ns[s->n] = (double)(t2 - t1);
    }
}

/* The host floor of a boot: the two lazily backed mappings (frames and
 * their records) that mmsim's RAM is made of. */
static void sample_host_regions(struct cycle_samples *s, uint64_t ram_size)
{
    size_t rec_bytes = (size_t)(ram_size / PAGE_SIZE) * sizeof(struct rt_page);
    const int prot = PROT_READ | PROT_WRITE;
    const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    uint64_t start = bench_now_ns();
    for (s->n = 0; cycle_budget(s->n, start); s->n++) {
        uint64_t t0 = bench_now_ns();
        void *ram = mmap(NULL, (size_t)ram_size, prot, flags, -1, 0);
        void *rec = mmap(NULL, rec_bytes, prot, flags, -1, 0);
        uint64_t t1 = bench_now_ns();
        if (ram == MAP_FAILED || rec == MAP_FAILED)
            die("host mmap of the RAM-sized regions failed");
        munmap(ram, (size_t)ram_size);
        munmap(rec, rec_bytes);
        uint64_t t2 = bench_now_ns();
        s->first_ns[s->n] = (double)(t1 - t0);
        s->second_ns[s->n] = (double)(t2 - t1);
    }
}

static void add_us(struct bench_report *rep, const char *id, const char *what, double ns,
                   const char *base_what, double base_ns, double target_us, const char *target_text)
{
    struct bench_figure f = {
        .id = id, .what = what, .unit = "us", .value = ns / 1e3,
        .baseline_what = base_what, .baseline = base_ns / 1e3,
        .goal = target_text ? BENCH_GOAL_VALUE_AT_MOST : BENCH_GOAL_NONE,
        .target = target_us, .target_text = target_text,
    };
    bench_report_add(rep, &f);
}

static void bench_boot_size(struct bench_report *rep, uint64_t ram_size, bool with_target)
{
    static struct cycle_samples mm, host;
    sample_boot(&mm, ram_size);
    sample_host_regions(&host, ram_size);
    double boot_ns = median(mm.first_ns, mm.n), down_ns = median(mm.second_ns, mm.n);
    double map_ns = median(host.first_ns, host.n), unmap_ns = median(host.second_ns, host.n);
    bool big = ram_size >= GIB;
    add_us(rep, big ? "boot_64g" : "boot_default", big ? "boot, 64 GiB RAM" : "boot, default 256 MiB",
           boot_ns, "host mmap of RAM + record regions", map_ns, 0, NULL);
    add_us(rep, big ? "teardown_64g" : "teardown_default",
           big ? "teardown, 64 GiB RAM" : "teardown, default 256 MiB", down_ns,
           "host munmap of RAM + record regions", unmap_ns, 0, NULL);
    if (with_target)
        add_us(rep, "boot_teardown_default", "boot+teardown, default", boot_ns + down_ns,
               "host mmap+munmap of the same regions", map_ns + unmap_ns, 2000.0, "<= 2000 us");
}

/* ---- main ----------------------------------------------------------------- */

static const char *const k_groups[] = { "boot", "pages", "map", "walk" };

static struct bench_args g_args;

static bool group_selected(const char *group)
{
    return bench_args_selected(&g_args, group);
}

int main(int argc, char **argv)
{
    if (!bench_args_parse(argc, argv, "bench_machine", k_groups, sizeof k_groups / sizeof k_groups[0], &g_args))
        return 2;
    g_quick = g_args.quick;
    const char *json_path = g_args.json_path;
    g_timing = g_quick ? (struct bench_timing){ .run_ns = 200000, .runs = 1, .min_iters = 1 }
                       : (struct bench_timing){ .run_ns = 100000000, .runs = 3, .min_iters = 1 };
    static struct bench_report rep;

    /* Boot figures first: they need the machine down. */
    if (group_selected("boot")) {
        bench_boot_size(&rep, 256 * MIB, true);
        bench_boot_size(&rep, 64 * GIB, false);
    }
    boot_fast(256 * MIB);
    if (group_selected("pages"))
        bench_pages(&rep);
    if (group_selected("map"))
        bench_map(&rep);
    if (group_selected("walk"))
        bench_walk(&rep);
    shutdown_clean();

#ifndef __OPTIMIZE__
    printf("note: built without optimisation; figures are not representative\n");
#endif
    if (g_quick)
        printf("note: --quick: tiny iteration counts, figures are not representative\n");
    bench_report_print(&rep, stdout);
    if (json_path)
        if (!bench_report_json_to(&rep, json_path, g_quick))
            die("cannot write the JSON output file");
    return 0;
}
