/*
 * bench_cpu: cost of the simulated CPU (issue 4 §5), each figure beside a
 * baseline measured in the same run:
 *
 *   1. 8-byte mmsim_cpu_load that hit the TLB, over 64 already-written
 *      pages, vs 8-byte host loads at the same offsets of a 64-page host
 *      buffer holding the same data;
 *   2. 8-byte loads that miss the TLB and walk (every page of a 64 Ki-page
 *      zero-page-backed area once per pass, in a random order, so no page
 *      comes back within the TLB's reach), vs four dependent host loads over
 *      arrays as large as the walked tables (bench_machine's walk baseline);
 *   3. first-touch write faults through the CPU (an 8-byte store to each
 *      page of a fresh lwp_mmap2 area) vs a 4 KiB memset per page and host
 *      Linux first-touch faults;
 *   4. the wall time of the built-in default walkthrough.
 *
 * The simulator runs with walk_crosscheck, stale_check and uaf_check off,
 * the machine with debug aids off and no quarantine.
 *
 * Usage: bench_cpu [--quick] [--json FILE|-] [--only hit|walk|fault|scenario]
 * Timings are reported, never asserted: the exit status only says whether
 * the program ran correctly (accesses succeeded, walks counted as expected,
 * data right, no leak at shutdown).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lwp.h>
#include <mm_aspace.h>
#include <mmsim/diag.h>
#include <mmsim/machine.h>
#include <mmsim/pgtable.h>
#include "simcpu.h"
#ifdef MMSIM_BENCH_HAVE_SCENARIO
#include "scenario.h"
#endif

#include "bench_util.h"

#define PAGE_SIZE 4096u
#define MIB (1ULL << 20)
#define HIT_PAGES 64u        /* figure 1's working set: 64 consecutive pages, 64 TLB sets */
#define HIT_PROBES (1u << 16) /* random offsets, streamed in order */
#define WARMUP_RUNS 1u
#define MAX_RUNS 15u

static bool g_quick;
static unsigned g_runs;       /* measured runs of each one-shot figure; median reported */
static unsigned g_fault_runs; /* figure 3's runs (about 50 ms each, so more of them) */
static size_t g_walk_pages;   /* figure 2's area, a power of two above the TLB's entries */
static size_t g_fault_pages;  /* figure 3's area */
static struct bench_timing g_timing;

static struct mmsim_cpu *g_cpu;
static struct mmsim_proc *g_proc;

static void die(const char *what)
{
    fprintf(stderr, "bench_cpu: %s\n", what);
    exit(2);
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes);
    if (!p)
        die("out of host memory");
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A one-shot measurement: `fn` sets up, times what it measures and cleans
 * up, returning the timed ns. Warm-up runs first, then the median. */
typedef double (*oneshot_fn)(void *ctx);

static double measure_oneshot(oneshot_fn fn, void *ctx, unsigned runs)
{
    double v[MAX_RUNS];
    for (unsigned i = 0; i < WARMUP_RUNS; i++)
        (void)fn(ctx);
    runs = runs > MAX_RUNS ? MAX_RUNS : runs < 1 ? 1 : runs;
    for (unsigned i = 0; i < runs; i++)
        v[i] = fn(ctx);
    qsort(v, runs, sizeof v[0], cmp_double);
    return v[runs / 2];
}

/* Two one-shot measurements taken in turns (a, b, a, b, ...) after a
 * warm-up of each, so a change in the host's load hits both alike; the
 * median of each into *a and *b. */
static void measure_oneshot_pair(oneshot_fn fa, void *ca, oneshot_fn fb, void *cb, unsigned runs, double *a,
                                 double *b)
{
    double va[MAX_RUNS], vb[MAX_RUNS];
    for (unsigned i = 0; i < WARMUP_RUNS; i++) {
        (void)fa(ca);
        (void)fb(cb);
    }
    runs = runs > MAX_RUNS ? MAX_RUNS : runs < 1 ? 1 : runs;
    for (unsigned i = 0; i < runs; i++) {
        va[i] = fa(ca);
        vb[i] = fb(cb);
    }
    qsort(va, runs, sizeof va[0], cmp_double);
    qsort(vb, runs, sizeof vb[0], cmp_double);
    *a = va[runs / 2];
    *b = vb[runs / 2];
}

static void add_fig(struct bench_report *rep, const char *id, const char *what, const char *unit,
                    double value, const char *base_what, double base, enum bench_goal goal,
                    double target, const char *target_text)
{
    struct bench_figure f = {
        .id = id, .what = what, .unit = unit, .value = value,
        .baseline_what = base_what, .baseline = base,
        .goal = goal, .target = target, .target_text = target_text,
    };
    bench_report_add(rep, &f);
}

/* In the chained variants each iteration's address depends on the previous
 * iteration's loaded value, through a bit that is always zero (every value
 * loaded is far below 2^63): iterations cannot overlap and the figure is a
 * latency. Unchained, the core overlaps independent iterations and the
 * figure is a throughput. */
static inline uint64_t chain_bit(uint64_t prev, bool chained)
{
    return chained ? prev >> 63 : 0;
}

/* ---- the machine, the simulator and the process ------------------------------ */

static void machine_up(uint64_t ram_size)
{
    struct mmsim_machine_config cfg;
    mmsim_machine_config_default(&cfg);
    cfg.debug_aids = false; /* poison memsets and quarantine are debugging, not the CPU */
    cfg.quarantine_frames = 0;
    cfg.ram_size = ram_size;
    if (mmsim_machine_boot(&cfg) != RT_EOK)
        die("machine boot failed");
    struct mmsim_sim_config sc;
    mmsim_sim_config_default(&sc);
    sc.ncpus = 1;
    sc.walk_crosscheck = false; /* the simulator's checks are debugging aids too */
    sc.stale_check = false;
    sc.uaf_check = false;
    if (mmsim_sim_start(&sc) != RT_EOK)
        die("mmsim_sim_start failed");
    g_cpu = mmsim_sim_cpu(0);
    g_proc = mmsim_proc_create("bench");
    if (!g_cpu || !g_proc)
        die("no CPU or no process");
    mmsim_cpu_run(g_cpu, g_proc);
}

static void machine_down(void)
{
    mmsim_proc_exit(g_proc);
    g_proc = NULL;
    mmsim_sim_stop();
    struct mmsim_leak_report rep;
    if (mmsim_machine_shutdown(&rep) != 0) {
        mmsim_leak_report_print(&rep, stderr);
        die("teardown reported leaks");
    }
}

static uint64_t anon_map(size_t npages)
{
    void *va = lwp_mmap2(mmsim_proc_lwp(g_proc), NULL, npages * PAGE_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if ((uintptr_t)va >= USER_VADDR_TOP)
        die("lwp_mmap2 failed");
    return (uint64_t)(uintptr_t)va;
}

static void anon_unmap(uint64_t va, size_t npages)
{
    if (lwp_munmap(mmsim_proc_lwp(g_proc), (void *)(uintptr_t)va, npages * PAGE_SIZE) != 0)
        die("lwp_munmap failed");
}

static uint64_t sim_load(uint64_t va)
{
    struct mmsim_access_report rep;
    uint64_t v = 0;
    if (mmsim_cpu_load(g_cpu, va, 8, &v, &rep) != MMSIM_ACCESS_OK) {
        mmsim_access_report_print(&rep, stderr);
        die("a load failed");
    }
    return v;
}

static struct mmsim_cpu_stats stats_now(void)
{
    struct mmsim_cpu_stats st;
    mmsim_cpu_stats_get(g_cpu, &st);
    return st;
}

/* ---- the measured load loops ---------------------------------------------------- */

/* `n` (a power of two) VAs or host offsets, used in order, round and round:
 * each run continues where the last one stopped, so an address comes back
 * only after n - 1 others, whatever the run lengths. */
struct probes
{
    const uint64_t *va;    /* simulated VAs */
    const uint8_t *host;   /* host base the offsets apply to */
    const uint64_t *off;   /* host offsets, 8-byte aligned */
    uint64_t n;
    uint64_t next;         /* where the next run starts */
};

/* The hot loop measures the public call exactly as a user of the API makes it.
 * A failed load is a broken benchmark, not a timing: it stops the program. */
static inline void sim_load_loop(struct probes *p, uint64_t iters, bool chained)
{
    uint64_t sum = 0, prev = 0, start = p->next;
    for (uint64_t i = 0; i < iters; i++) {
        uint64_t va = p->va[(start + i) & (p->n - 1)] ^ chain_bit(prev, chained);
        uint64_t v;
        if (__builtin_expect(mmsim_cpu_load(g_cpu, va, 8, &v, NULL) != MMSIM_ACCESS_OK, 0))
            die("a measured load failed");
        prev = v;
        sum += v;
    }
    p->next = start + iters;
    bench_keep(sum);
}

static inline void host_load_loop(struct probes *p, uint64_t iters, bool chained)
{
    uint64_t sum = 0, prev = 0, start = p->next;
    for (uint64_t i = 0; i < iters; i++) {
        uint64_t off = p->off[(start + i) & (p->n - 1)] ^ chain_bit(prev, chained);
        uint64_t v;
        memcpy(&v, p->host + off, sizeof v);
        prev = v;
        sum += v;
    }
    p->next = start + iters;
    bench_keep(sum);
}

static void body_sim_chained(void *ctx, uint64_t iters) { sim_load_loop(ctx, iters, true); }
static void body_sim_free(void *ctx, uint64_t iters) { sim_load_loop(ctx, iters, false); }
static void body_host_chained(void *ctx, uint64_t iters) { host_load_loop(ctx, iters, true); }
static void body_host_free(void *ctx, uint64_t iters) { host_load_loop(ctx, iters, false); }

/* bench_measure over simulated loads, checking from the CPU's counters that
 * the loads walked exactly as expected: every load (walks_per_load 1) or
 * none (0). */
static double measure_sim(const struct bench_timing *t, bench_body_fn body, struct probes *p,
                          unsigned walks_per_load)
{
    struct mmsim_cpu_stats a = stats_now();
    double ns = bench_measure(t, body, p);
    struct mmsim_cpu_stats b = stats_now();
    uint64_t loads = b.loads - a.loads, walks = b.walks - a.walks;
    if (b.faults != a.faults)
        die("a measured load faulted");
    if (walks != loads * walks_per_load || b.tlb_misses - a.tlb_misses != walks ||
        b.tlb_hits - a.tlb_hits != loads - walks) {
        fprintf(stderr, "bench_cpu: %llu loads, %llu walks, %llu TLB hits, %llu misses; wanted %u walk(s) per load\n",
                (unsigned long long)loads, (unsigned long long)walks,
                (unsigned long long)(b.tlb_hits - a.tlb_hits),
                (unsigned long long)(b.tlb_misses - a.tlb_misses), walks_per_load);
        die("the loads did not walk as designed");
    }
    return ns;
}

/* A figure's simulated loop and its host baseline, measured in turns: each
 * round is one bench_measure of each (its own warm-up and calibration, one
 * timed run), so a change in the host's load hits both alike; the medians
 * over g_timing.runs rounds into *sim and *host. */
static void measure_pair(bench_body_fn sim_body, struct probes *p, unsigned walks_per_load,
                         bench_body_fn host_body, void *host_ctx, double *sim, double *host)
{
    struct bench_timing one = g_timing;
    one.runs = 1;
    unsigned rounds = g_timing.runs > MAX_RUNS ? MAX_RUNS : g_timing.runs < 1 ? 1 : g_timing.runs;
    double vs[MAX_RUNS], vh[MAX_RUNS];
    for (unsigned r = 0; r < rounds; r++) {
        vs[r] = measure_sim(&one, sim_body, p, walks_per_load);
        vh[r] = bench_measure(&one, host_body, host_ctx);
    }
    qsort(vs, rounds, sizeof vs[0], cmp_double);
    qsort(vh, rounds, sizeof vh[0], cmp_double);
    *sim = vs[rounds / 2];
    *host = vh[rounds / 2];
}

/* ---- 1. loads that hit the TLB -------------------------------------------------- */

static void bench_hit(struct bench_report *rep)
{
    size_t bytes = (size_t)HIT_PAGES * PAGE_SIZE;
    uint64_t base = anon_map(HIT_PAGES);
    uint64_t *host = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (host == MAP_FAILED)
        die("host mmap failed");
    (void)madvise(host, bytes, MADV_NOHUGEPAGE); /* 4 KiB host pages, as the simulated ones */
    /* The same data on both sides: word k holds k (small, so chain_bit is 0). */
    uint64_t *page = xmalloc(PAGE_SIZE);
    for (size_t pg = 0; pg < HIT_PAGES; pg++) {
        for (size_t w = 0; w < PAGE_SIZE / 8; w++)
            page[w] = pg * (PAGE_SIZE / 8) + w;
        struct mmsim_access_report r;
        if (mmsim_cpu_write(g_cpu, base + pg * PAGE_SIZE, page, PAGE_SIZE, &r) != MMSIM_ACCESS_OK)
            die("filling the TLB-hit pages failed");
        memcpy((uint8_t *)host + pg * PAGE_SIZE, page, PAGE_SIZE);
    }
    free(page);

    uint64_t seed = 0x243f6a8885a308d3ULL;
    uint64_t *va = xmalloc(HIT_PROBES * sizeof *va), *off = xmalloc(HIT_PROBES * sizeof *off);
    for (unsigned i = 0; i < HIT_PROBES; i++) {
        off[i] = (bench_rand(&seed) % bytes) & ~7ULL;
        va[i] = base + off[i];
    }
    for (unsigned i = 0; i < HIT_PROBES; i += 509)
        if (sim_load(va[i]) != off[i] / 8)
            die("TLB-hit loads: wrong data");
    struct probes p = { va, (const uint8_t *)host, off, HIT_PROBES, 0 };
    /* Every page is in the TLB now; the counters prove no load walks. */
    double sim_chained, host_chained, sim_free, host_free;
    measure_pair(body_sim_chained, &p, 0, body_host_chained, &p, &sim_chained, &host_chained);
    measure_pair(body_sim_free, &p, 0, body_host_free, &p, &sim_free, &host_free);

    add_fig(rep, "load_tlb_hit_latency", "8B load, TLB hit, latency (chained)", "ns/load", sim_chained,
            "8B host load, same offsets in 64 pages (256 KiB), chained", host_chained,
            BENCH_GOAL_RATIO_AT_MOST, 10.0, "ratio <= 10x");
    add_fig(rep, "load_tlb_hit_throughput", "8B load, TLB hit, independent", "ns/load", sim_free,
            "8B host load, same offsets in 64 pages (256 KiB), independent", host_free, BENCH_GOAL_NONE, 0,
            NULL);
    free(va);
    free(off);
    munmap(host, bytes);
    anon_unmap(base, HIT_PAGES);
}

/* ---- 2. loads that miss the TLB and walk ----------------------------------------- */

/* Four dependent loads, each indexed by the value the previous one returned,
 * through four arrays totalling the walked tables' size (bench_machine's
 * walk baseline). */
struct chase
{
    uint64_t *a[4];
    uint64_t len;      /* entries per array */
    uint64_t *start;   /* n random first indices */
    uint64_t n;
};

static inline void chase_loop(const struct chase *c, uint64_t iters, bool chained)
{
    const uint64_t *a0 = c->a[0], *a1 = c->a[1], *a2 = c->a[2], *a3 = c->a[3];
    uint64_t sum = 0, prev = 0;
    for (uint64_t i = 0; i < iters; i++) {
        uint64_t x = a0[c->start[i & (c->n - 1)] ^ chain_bit(prev, chained)];
        x = a1[x];
        x = a2[x];
        prev = a3[x];
        sum += prev;
    }
    bench_keep(sum);
}

static void body_chase_chained(void *ctx, uint64_t iters) { chase_loop(ctx, iters, true); }
static void body_chase_free(void *ctx, uint64_t iters) { chase_loop(ctx, iters, false); }

static void chase_init(struct chase *c, size_t table_bytes, uint64_t n, uint64_t *seed)
{
    c->len = table_bytes / 4 / sizeof(uint64_t);
    for (int k = 0; k < 4; k++) {
        c->a[k] = xmalloc(c->len * sizeof(uint64_t));
        for (uint64_t i = 0; i < c->len; i++)
            c->a[k][i] = bench_rand(seed) % c->len;
    }
    c->n = n;
    c->start = xmalloc(n * sizeof(uint64_t));
    for (uint64_t i = 0; i < n; i++)
        c->start[i] = bench_rand(seed) % c->len;
}

static void chase_fini(struct chase *c)
{
    for (int k = 0; k < 4; k++)
        free(c->a[k]);
    free(c->start);
}

static void bench_walk(struct bench_report *rep)
{
    size_t npages = g_walk_pages;
    if (npages <= mmsim_sim_config()->tlb_entries || (npages & (npages - 1)))
        die("the walk area must be a power of two larger than the TLB");
    uint64_t base = anon_map(npages);
    /* A read maps each page to the shared zero page: the tables are as large
     * as for private frames, but the data every load reaches is one hot frame. */
    for (size_t i = 0; i < npages; i++)
        if (sim_load(base + i * PAGE_SIZE) != 0)
            die("a fresh anonymous page did not read as zero");
    struct mmsim_mmu_info info;
    if (mmsim_mmu_check(mmsim_proc_aspace(g_proc), stderr, &info) != 0)
        die("page-table check failed");
    size_t table_bytes = info.table_pages * PAGE_SIZE;

    /* Each pass visits every page once, in a random order (and at a random
     * offset): a page comes back only after npages other loads, far beyond
     * the TLB's reach, so every load misses and walks. */
    uint64_t seed = 0x13198a2e03707344ULL;
    uint64_t *perm = xmalloc(npages * sizeof *perm);
    for (size_t i = 0; i < npages; i++)
        perm[i] = i;
    for (size_t i = npages - 1; i > 0; i--) {
        size_t j = (size_t)(bench_rand(&seed) % (i + 1));
        uint64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    uint64_t *miss_va = xmalloc(npages * sizeof *miss_va), *hit_va = xmalloc(npages * sizeof *hit_va);
    for (size_t i = 0; i < npages; i++) {
        uint64_t off = (bench_rand(&seed) % PAGE_SIZE) & ~7ULL;
        miss_va[i] = base + perm[i] * PAGE_SIZE + off;
        /* the same loads over the area's first HIT_PAGES pages: TLB hits */
        hit_va[i] = base + (perm[i] % HIT_PAGES) * PAGE_SIZE + off;
    }
    free(perm);
    struct chase c;
    chase_init(&c, table_bytes, npages, &seed);

    struct probes miss = { miss_va, NULL, NULL, npages, 0 }, hit = { hit_va, NULL, NULL, npages, 0 };
    /* The TLB-hit cost on these pages first, for the per-walk figure: the
     * area's first HIT_PAGES pages back in the TLB, then the same loads. */
    for (size_t i = 0; i < HIT_PAGES; i++)
        (void)sim_load(base + i * PAGE_SIZE);
    double hit_chained = measure_sim(&g_timing, body_sim_chained, &hit, 0);
    /* One untimed pass: the TLB then holds only pages of the pass's end,
     * which come back npages loads later, long after their eviction. */
    body_sim_free(&miss, npages);
    double miss_chained, chase_chained, miss_free, chase_free;
    measure_pair(body_sim_chained, &miss, 1, body_chase_chained, &c, &miss_chained, &chase_chained);
    measure_pair(body_sim_free, &miss, 1, body_chase_free, &c, &miss_free, &chase_free);

    static char miss_what[2][80], base_what[2][160], walk_what[112];
    for (int chained = 0; chained < 2; chained++) {
        snprintf(miss_what[chained], sizeof miss_what[chained], "8B load, TLB miss+walk (%zu pages), %s",
                 npages, chained ? "chained" : "independent");
        snprintf(base_what[chained], sizeof base_what[chained],
                 "4 dependent host loads, 4 arrays totalling %zu KiB (= tables), %s", table_bytes >> 10,
                 chained ? "chained iterations" : "independent iterations");
    }
    /* What a walk adds to a load: the same chained loads hitting the TLB on
     * this area's first pages cost hit_chained. */
    snprintf(walk_what, sizeof walk_what, "per walk: miss load - hit load (%.1f ns), chained", hit_chained);
    add_fig(rep, "load_tlb_miss_latency", miss_what[1], "ns/load", miss_chained, base_what[1], chase_chained,
            BENCH_GOAL_RATIO_AT_MOST, 3.0, "ratio <= 3x");
    add_fig(rep, "load_tlb_miss_throughput", miss_what[0], "ns/load", miss_free, base_what[0], chase_free,
            BENCH_GOAL_NONE, 0, NULL);
    add_fig(rep, "walk_cost_latency", walk_what, "ns/walk", miss_chained - hit_chained, base_what[1],
            chase_chained, BENCH_GOAL_NONE, 0, NULL);

    chase_fini(&c);
    free(miss_va);
    free(hit_va);
    anon_unmap(base, npages);
}

/* ---- 3. first-touch faults through the CPU ---------------------------------------- */

static uint8_t *host_pages(size_t npages)
{
    size_t len = npages * PAGE_SIZE;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("host mmap failed");
    (void)madvise(p, len, MADV_NOHUGEPAGE); /* best effort: one 4 KiB fault per first touch */
    return p;
}

/* Counted over the measured runs (the warm-up is run 0): simulated faults,
 * stores, and host page faults taken inside the timed loop. */
static uint64_t g_fault_faults, g_fault_stores, g_fault_host_faults;
static unsigned g_fault_run;

static uint64_t host_minor_faults(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        die("getrusage failed");
    return (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
}

static double run_first_touch(void *ctx)
{
    (void)ctx;
    size_t n = g_fault_pages;
    uint64_t base = anon_map(n);
    struct mmsim_cpu_stats a = stats_now();
    uint64_t host0 = host_minor_faults();
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < n; i++)
        if (__builtin_expect(mmsim_cpu_store(g_cpu, base + i * PAGE_SIZE, 8, i + 1, NULL) != MMSIM_ACCESS_OK, 0))
            die("a first-touch store failed");
    uint64_t t1 = bench_now_ns();
    uint64_t host1 = host_minor_faults();
    struct mmsim_cpu_stats b = stats_now();
    if (b.fixed - a.fixed != b.faults - a.faults || b.data_frames_alloc - a.data_frames_alloc != n)
        die("first touch: the stores did not fault in one frame each");
    if (g_fault_run++ >= WARMUP_RUNS) {
        g_fault_faults += b.faults - a.faults;
        g_fault_stores += n;
        g_fault_host_faults += host1 - host0;
    }
    for (size_t i = 0; i < n; i += 997)
        if (sim_load(base + i * PAGE_SIZE) != i + 1)
            die("first touch: wrong data");
    anon_unmap(base, n);
    return (double)(t1 - t0);
}

static double run_host_first_touch(void *ctx)
{
    (void)ctx;
    size_t n = g_fault_pages;
    uint8_t *p = host_pages(n);
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < n; i++) {
        uint64_t v = i + 1;
        memcpy(p + i * PAGE_SIZE, &v, sizeof v);
    }
    uint64_t t1 = bench_now_ns();
    bench_keep_ptr(p);
    munmap(p, n * PAGE_SIZE);
    return (double)(t1 - t0);
}

static double run_memset(void *ctx)
{
    uint8_t *dst = ctx;
    static unsigned round;
    int v = (int)(++round & 0xff);
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < g_fault_pages; i++) {
        memset(dst + i * PAGE_SIZE, v, PAGE_SIZE);
        bench_keep_ptr(dst + i * PAGE_SIZE);
    }
    return (double)(bench_now_ns() - t0);
}

static void bench_fault(struct bench_report *rep)
{
    double n = (double)g_fault_pages;
    g_fault_faults = g_fault_stores = g_fault_host_faults = 0;
    g_fault_run = 0;
    uint8_t *dst = host_pages(g_fault_pages);
    memset(dst, 0xa5, g_fault_pages * PAGE_SIZE); /* populated: the baseline takes no fault */
    double sim, ms;
    measure_oneshot_pair(run_first_touch, NULL, run_memset, dst, g_fault_runs, &sim, &ms);
    sim /= n;
    ms /= n;
    munmap(dst, g_fault_pages * PAGE_SIZE);
    double host = measure_oneshot(run_host_first_touch, NULL, g_runs) / n;

    static char what[128];
    snprintf(what, sizeof what, "first-touch store fault via CPU (%.2f faults, %.3f host faults/store)",
             (double)g_fault_faults / (double)g_fault_stores,
             (double)g_fault_host_faults / (double)g_fault_stores);
    add_fig(rep, "cpu_first_touch_fault", what, "ns/fault", sim, "4 KiB memset per page, same page count", ms,
            BENCH_GOAL_RATIO_AT_MOST, 4.0, "ratio <= 4x");
    add_fig(rep, "cpu_first_touch_fault_vs_host", what, "ns/fault", sim,
            "host Linux first-touch write fault (THP off)", host, BENCH_GOAL_NONE, 0, NULL);
}

/* ---- 4. the default walkthrough's wall time ---------------------------------------- */

#ifndef MMSIM_BENCH_MMSIM_PATH
#error "MMSIM_BENCH_MMSIM_PATH must name the mmsim program"
#endif

/* fork + exec `path` with no arguments, stdout and stderr to /dev/null;
 * the wall time until waitpid returns. The program must exit with 0. */
static double run_program(const char *path)
{
    fflush(NULL);
    uint64_t t0 = bench_now_ns();
    pid_t pid = fork();
    if (pid < 0)
        die("fork failed");
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(126);
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid failed");
    uint64_t t1 = bench_now_ns();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_cpu: %s exited with status %d\n", path, status);
        die("the program failed");
    }
    return (double)(t1 - t0);
}

static double run_mmsim(void *ctx) { (void)ctx; return run_program(MMSIM_BENCH_MMSIM_PATH); }
static double run_true(void *ctx) { (void)ctx; return run_program("/bin/true"); }

#ifdef MMSIM_BENCH_HAVE_SCENARIO
static FILE *g_devnull;

/* What `mmsim` with no arguments does, in this process: parse the built-in
 * text and run it (boot, every step, teardown with the leak check), the
 * narration (ctx: verbose or not) going to /dev/null. */
static double run_walkthrough(void *ctx)
{
    bool verbose = *(const bool *)ctx;
    uint64_t t0 = bench_now_ns();
    struct mmsim_scenario_error err;
    struct mmsim_scenario *sc = mmsim_scenario_parse("walkthrough", mmsim_scenario_walkthrough, &err);
    if (!sc) {
        mmsim_scenario_error_print("walkthrough", &err, stderr);
        die("the built-in walkthrough does not parse");
    }
    struct mmsim_scenario_options opt = { .verbose = verbose, .out = g_devnull, .err = stderr };
    struct mmsim_scenario_outcome o;
    int rc = mmsim_scenario_run(sc, &opt, &o);
    mmsim_scenario_free(sc);
    uint64_t t1 = bench_now_ns();
    if (rc != MMSIM_SCENARIO_PASS)
        die("the built-in walkthrough failed");
    return (double)(t1 - t0);
}

/* The fixed part of any run with the walkthrough's configuration (default
 * machine, default simulator with its `set cpus 2`): boot, start, stop,
 * shutdown. */
static double run_boot_floor(void *ctx)
{
    (void)ctx;
    uint64_t t0 = bench_now_ns();
    if (mmsim_machine_boot_default() != RT_EOK)
        die("machine boot failed");
    struct mmsim_sim_config sc;
    mmsim_sim_config_default(&sc);
    sc.ncpus = 2;
    if (mmsim_sim_start(&sc) != RT_EOK)
        die("mmsim_sim_start failed");
    mmsim_sim_stop();
    if (mmsim_machine_shutdown(NULL) != 0)
        die("teardown reported leaks");
    return (double)(bench_now_ns() - t0);
}

static void bench_scenario(struct bench_report *rep)
{
    unsigned runs = g_quick ? 1 : 15;
    g_devnull = fopen("/dev/null", "w");
    if (!g_devnull)
        die("cannot open /dev/null");
    bool narrate = true, quiet = false;
    double narrated = measure_oneshot(run_walkthrough, &narrate, runs) / 1e3;
    double silent = measure_oneshot(run_walkthrough, &quiet, runs) / 1e3;
    double floor = measure_oneshot(run_boot_floor, NULL, runs) / 1e3;
    fclose(g_devnull);
    double exec_ms = measure_oneshot(run_mmsim, NULL, runs) / 1e6;
    double true_ms = measure_oneshot(run_true, NULL, runs) / 1e6;
    const char *floor_what = "boot + sim start (2 CPUs) + stop + shutdown, default config";
    add_fig(rep, "walkthrough_wall", "walkthrough, in process, narrated", "us", narrated, floor_what, floor,
            BENCH_GOAL_NONE, 0, NULL);
    add_fig(rep, "walkthrough_wall_quiet", "walkthrough, in process, not narrated", "us", silent, floor_what,
            floor, BENCH_GOAL_NONE, 0, NULL);
    add_fig(rep, "walkthrough_exec_wall", "`mmsim` (no args) via fork/exec, wall", "ms", exec_ms,
            "fork/exec of /bin/true, same redirection", true_ms, BENCH_GOAL_NONE, 0, NULL);
}
#else
/* No scenario library in this build: time the mmsim program's default run. */
static void bench_scenario(struct bench_report *rep)
{
    unsigned runs = g_quick ? 1 : 15;
    double exec_ms = measure_oneshot(run_mmsim, NULL, runs) / 1e6;
    double true_ms = measure_oneshot(run_true, NULL, runs) / 1e6;
    add_fig(rep, "walkthrough_exec_wall", "`mmsim` (no args) via fork/exec, wall", "ms", exec_ms,
            "fork/exec of /bin/true, same redirection", true_ms, BENCH_GOAL_NONE, 0, NULL);
}
#endif

/* ---- main ------------------------------------------------------------------------- */

static const char *const k_groups[] = { "hit", "walk", "fault", "scenario" };

static struct bench_args g_args;

static bool group_selected(const char *group)
{
    return bench_args_selected(&g_args, group);
}

int main(int argc, char **argv)
{
    if (!bench_args_parse(argc, argv, "bench_cpu", k_groups, sizeof k_groups / sizeof k_groups[0], &g_args))
        return 2;
    g_quick = g_args.quick;
    const char *json_path = g_args.json_path;
    g_runs = g_quick ? 1 : 3;
    g_fault_runs = g_quick ? 1 : 7;
    g_walk_pages = g_quick ? 4096 : 64 * 1024;
    g_fault_pages = g_quick ? 256 : 64 * 1024;
    g_timing = g_quick ? (struct bench_timing){ .run_ns = 200000, .runs = 1, .min_iters = 1 }
                       : (struct bench_timing){ .run_ns = 100000000, .runs = 3, .min_iters = 1 };
    static struct bench_report rep;

    if (group_selected("hit") || group_selected("walk") || group_selected("fault")) {
        /* 64 Ki data frames for figure 3 plus tables: 1 GiB is ample */
        machine_up(g_quick ? 256 * MIB : 1024 * MIB);
        if (group_selected("hit"))
            bench_hit(&rep);
        if (group_selected("walk"))
            bench_walk(&rep);
        if (group_selected("fault"))
            bench_fault(&rep);
        machine_down();
    }
    /* The walkthrough boots its own machine: ours is down by now. */
    if (group_selected("scenario"))
        bench_scenario(&rep);

#ifndef __OPTIMIZE__
    printf("note: built without optimisation; figures are not representative\n");
#endif
    if (g_quick)
        printf("note: --quick: tiny counts, figures are not representative\n");
    bench_report_print(&rep, stdout);
    if (json_path)
        if (!bench_report_json_to(&rep, json_path, g_quick))
            die("cannot write the JSON output file");
    return 0;
}
