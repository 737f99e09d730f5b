/*
 * bench_mm: cost of mmsim's mm layer (issue 3 §6), each figure beside a
 * baseline measured in the same run:
 *
 *   1. first-touch anonymous write faults (rt_aspace_map_private area) vs a
 *      4 KiB memset per page and host Linux first-touch faults;
 *   2. COW-break write faults after rt_aspace_fork vs a 4 KiB memcpy per page
 *      and host Linux COW faults after fork();
 *   3. fork of 64 Ki resident pages, child reads then writes every page and
 *      exits, total ms vs host Linux fork() doing the same;
 *   4. rt_aspace_map (1 page, dummy mapper) + rt_aspace_unmap pairs vs host
 *      mmap/munmap of 4 KiB;
 *   5. a first-touch fault with 10, 1 Ki and 100 Ki vareas in the aspace vs
 *      the 10-varea cost.
 *
 * A simulated access is what the CPU would do: rt_aspace_fault_try_fix with
 * fault_type GENERIC_MMU, then the data through rt_hw_mmu_v2p + rt_kmem_p2v.
 *
 * Usage: bench_mm [--quick] [--json FILE|-] [--only first|cow|fork|map|vareas]
 * Timings are reported, never asserted: the exit status only says whether
 * the program ran correctly (machine booted, faults fixed, data right, no leak).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mm_aspace.h>
#include <mm_fault.h>
#include <mm_page.h>
#include <mmsim/diag.h>
#include <mmsim/machine.h>

#include "bench_util.h"

#define PAGE_SIZE 4096u
#define GIB (1ULL << 30)
#define USER_START 0x00200000ULL
#define USER_TOP 0x0001000000000000ULL
#define AREA_VA 0x100000000ULL  /* where the measured areas start */
#define WARMUP_RUNS 1u

static bool g_quick;
static unsigned g_runs;      /* measured runs of each one-shot figure; median reported */
static size_t g_npages;      /* pages touched by figures 1-3 */
static struct bench_timing g_timing;

static void die(const char *what)
{
    fprintf(stderr, "bench_mm: %s\n", what);
    exit(2);
}

static void boot_fast(uint64_t ram_size)
{
    struct mmsim_machine_config cfg;
    mmsim_machine_config_default(&cfg);
    cfg.debug_aids = false; /* poison memsets and quarantine are debugging, not mm */
    cfg.quarantine_frames = 0;
    cfg.ram_size = ram_size;
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define MAX_RUNS 15u

/* A one-shot measurement: `fn` sets up, times what it measures and cleans
 * up, returning the timed ns. Warm-up runs first, then the median. */
typedef double (*oneshot_fn)(void *ctx);

static double measure_oneshot(oneshot_fn fn, void *ctx)
{
    double v[MAX_RUNS];
    for (unsigned i = 0; i < WARMUP_RUNS; i++)
        (void)fn(ctx);
    unsigned runs = g_runs > MAX_RUNS ? MAX_RUNS : g_runs;
    for (unsigned i = 0; i < runs; i++)
        v[i] = fn(ctx);
    qsort(v, runs, sizeof v[0], cmp_double);
    return v[runs / 2];
}

/* ---- simulated user accesses ---------------------------------------------- */

static rt_aspace_t user_aspace(void)
{
    void *pgtbl = rt_hw_mmu_pgtbl_create();
    if (!pgtbl)
        die("no root table");
    rt_aspace_t as = rt_aspace_create((void *)(uintptr_t)USER_START, USER_TOP - USER_START, pgtbl);
    if (!as)
        die("rt_aspace_create failed");
    return as;
}

static void aspace_free(rt_aspace_t as)
{
    void *pgtbl = as->page_table;
    rt_aspace_delete(as);
    rt_hw_mmu_pgtbl_delete(pgtbl);
}

static void *va_at(uint64_t base, size_t page)
{
    return (void *)(uintptr_t)(base + (uint64_t)page * PAGE_SIZE);
}

static void fault_fix(rt_aspace_t as, void *va, enum rt_mm_fault_op op)
{
    struct rt_aspace_fault_msg msg = {
        .fault_op = op,
        .fault_type = MM_FAULT_TYPE_GENERIC_MMU,
        .fault_vaddr = va,
    };
    if (rt_aspace_fault_try_fix(as, &msg) != MM_FAULT_FIXABLE_TRUE)
        die("a fault was not fixed");
}

/* The frame's kernel linear address for `va`. */
static uint8_t *frame_of(rt_aspace_t as, void *va)
{
    void *pa = rt_hw_mmu_v2p(as, va);
    if (pa == ARCH_MAP_FAILED)
        die("a fixed page is not mapped");
    return rt_kmem_p2v(pa);
}

static void user_write(rt_aspace_t as, void *va, uint8_t v)
{
    fault_fix(as, va, MM_FAULT_OP_WRITE);
    *frame_of(as, va) = v;
}

static uint8_t user_read(rt_aspace_t as, void *va)
{
    fault_fix(as, va, MM_FAULT_OP_READ);
    return *frame_of(as, va);
}

static void map_private(rt_aspace_t as, uint64_t base, size_t npages)
{
    void *va = (void *)(uintptr_t)base;
    if (rt_aspace_map_private(as, &va, npages * PAGE_SIZE, MMU_MAP_U_RWCB, MMF_MAP_FIXED) != RT_EOK)
        die("rt_aspace_map_private failed");
}

/* ---- host helpers ---------------------------------------------------------- */

/* Anonymous host pages with transparent huge pages off, so a first touch is
 * one 4 KiB fault as in mmsim. */
static uint8_t *host_pages(size_t npages)
{
    size_t len = npages * PAGE_SIZE;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("host mmap failed");
    (void)madvise(p, len, MADV_NOHUGEPAGE); /* best effort: THP may be compiled out */
    return p;
}

static void host_populate(uint8_t *p, size_t npages)
{
    for (size_t i = 0; i < npages; i++)
        p[i * PAGE_SIZE] = (uint8_t)(i + 1);
}

static uint8_t *g_hsrc, *g_hdst; /* populated host buffers of g_npages pages */

static void host_buffers_init(void)
{
    g_hsrc = host_pages(g_npages);
    g_hdst = host_pages(g_npages);
    memset(g_hsrc, 0x5a, g_npages * PAGE_SIZE);
    memset(g_hdst, 0xa5, g_npages * PAGE_SIZE);
}

static void host_buffers_fini(void)
{
    munmap(g_hsrc, g_npages * PAGE_SIZE);
    munmap(g_hdst, g_npages * PAGE_SIZE);
}

static void host_child_wait(pid_t pid)
{
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("host child failed");
}

/* ---- 1. first-touch anonymous write faults --------------------------------- */

static double run_first_touch(void *ctx)
{
    (void)ctx;
    rt_aspace_t as = user_aspace();
    map_private(as, AREA_VA, g_npages);
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < g_npages; i++)
        user_write(as, va_at(AREA_VA, i), (uint8_t)i);
    uint64_t t1 = bench_now_ns();
    for (size_t i = 0; i < g_npages; i += 997)
        if (*frame_of(as, va_at(AREA_VA, i)) != (uint8_t)i)
            die("first touch: wrong data");
    aspace_free(as);
    return (double)(t1 - t0);
}

static double run_host_first_touch(void *ctx)
{
    (void)ctx;
    uint8_t *p = host_pages(g_npages);
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < g_npages; i++)
        p[i * PAGE_SIZE] = (uint8_t)i;
    uint64_t t1 = bench_now_ns();
    bench_keep_ptr(p);
    munmap(p, g_npages * PAGE_SIZE);
    return (double)(t1 - t0);
}

static double run_memset(void *ctx)
{
    (void)ctx;
    static unsigned round;
    int v = (int)(++round & 0xff);
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < g_npages; i++) {
        memset(g_hdst + i * PAGE_SIZE, v, PAGE_SIZE);
        bench_keep_ptr(g_hdst + i * PAGE_SIZE);
    }
    return (double)(bench_now_ns() - t0);
}

static double run_memcpy(void *ctx)
{
    (void)ctx;
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < g_npages; i++) {
        memcpy(g_hdst + i * PAGE_SIZE, g_hsrc + i * PAGE_SIZE, PAGE_SIZE);
        bench_keep_ptr(g_hdst + i * PAGE_SIZE);
    }
    return (double)(bench_now_ns() - t0);
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

static void bench_first(struct bench_report *rep)
{
    double n = (double)g_npages;
    double mm = measure_oneshot(run_first_touch, NULL) / n;
    double ms = measure_oneshot(run_memset, NULL) / n;
    double host = measure_oneshot(run_host_first_touch, NULL) / n;
    add_fig(rep, "first_touch_fault", "first-touch anon write fault", "ns/fault", mm,
            "4 KiB memset per page, same page count", ms, BENCH_GOAL_RATIO_AT_MOST, 3.0,
            "ratio <= 3x");
    add_fig(rep, "first_touch_fault_vs_host", "first-touch anon write fault", "ns/fault", mm,
            "host Linux first-touch write fault (THP off)", host, BENCH_GOAL_NONE, 0, NULL);
}

/* ---- 2. COW-break faults after fork --------------------------------------- */

static rt_aspace_t populated_parent(size_t npages)
{
    rt_aspace_t p = user_aspace();
    map_private(p, AREA_VA, npages);
    for (size_t i = 0; i < npages; i++)
        user_write(p, va_at(AREA_VA, i), (uint8_t)(i + 1));
    return p;
}

static void fork_ok(rt_aspace_t *parent, rt_aspace_t *child)
{
    *child = user_aspace();
    if (rt_aspace_fork(parent, child) != RT_EOK)
        die("rt_aspace_fork failed");
}

static double run_cow(void *ctx)
{
    (void)ctx;
    rt_aspace_t p = populated_parent(g_npages), c;
    fork_ok(&p, &c);
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < g_npages; i++)
        user_write(c, va_at(AREA_VA, i), (uint8_t)(i + 2));
    uint64_t t1 = bench_now_ns();
    /* both sides (the parent's reads once leaked frames: docs/bench.md) */
    for (size_t i = 0; i < g_npages; i += 997)
        if (*frame_of(c, va_at(AREA_VA, i)) != (uint8_t)(i + 2) ||
            user_read(p, va_at(AREA_VA, i)) != (uint8_t)(i + 1))
            die("COW: wrong data");
    aspace_free(c);
    aspace_free(p);
    return (double)(t1 - t0);
}

/* The child writes every page of a populated mapping and sends its own
 * timing through a pipe. */
static double run_host_cow(void *ctx)
{
    (void)ctx;
    uint8_t *p = host_pages(g_npages);
    host_populate(p, g_npages);
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe failed");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork failed");
    if (pid == 0) {
        close(fds[0]);
        uint64_t t0 = bench_now_ns();
        for (size_t i = 0; i < g_npages; i++)
            p[i * PAGE_SIZE] = (uint8_t)(i + 2);
        uint64_t ns = bench_now_ns() - t0;
        bench_keep_ptr(p);
        ssize_t w = write(fds[1], &ns, sizeof ns);
        _exit(w == (ssize_t)sizeof ns ? 0 : 1);
    }
    close(fds[1]);
    uint64_t ns = 0;
    ssize_t r = read(fds[0], &ns, sizeof ns);
    close(fds[0]);
    host_child_wait(pid);
    if (r != (ssize_t)sizeof ns)
        die("host child sent no timing");
    munmap(p, g_npages * PAGE_SIZE);
    return (double)ns;
}

static void bench_cow(struct bench_report *rep)
{
    double n = (double)g_npages;
    double mm = measure_oneshot(run_cow, NULL) / n;
    double mc = measure_oneshot(run_memcpy, NULL) / n;
    double host = measure_oneshot(run_host_cow, NULL) / n;
    add_fig(rep, "cow_fault", "COW-break write fault after fork", "ns/fault", mm,
            "4 KiB memcpy per page, same page count", mc, BENCH_GOAL_RATIO_AT_MOST, 3.0,
            "ratio <= 3x");
    add_fig(rep, "cow_fault_vs_host", "COW-break write fault after fork", "ns/fault", mm,
            "host Linux COW write fault after fork() (THP off)", host, BENCH_GOAL_NONE, 0, NULL);
}

/* ---- 3. fork + child touches everything ------------------------------------ */

static double run_fork_touch(void *ctx)
{
    (void)ctx;
    rt_aspace_t p = populated_parent(g_npages), c;
    uint64_t t0 = bench_now_ns();
    fork_ok(&p, &c);
    uint64_t sum = 0;
    for (size_t i = 0; i < g_npages; i++)
        sum += user_read(c, va_at(AREA_VA, i));
    for (size_t i = 0; i < g_npages; i++)
        user_write(c, va_at(AREA_VA, i), (uint8_t)i);
    aspace_free(c); /* the child exits */
    uint64_t t1 = bench_now_ns();
    uint64_t want = 0;
    for (size_t i = 0; i < g_npages; i++)
        want += (uint8_t)(i + 1);
    if (sum != want)
        die("fork: the child read wrong data");
    aspace_free(p);
    return (double)(t1 - t0);
}

static double run_host_fork_touch(void *ctx)
{
    (void)ctx;
    uint8_t *p = host_pages(g_npages);
    host_populate(p, g_npages);
    fflush(NULL);
    uint64_t t0 = bench_now_ns();
    pid_t pid = fork();
    if (pid < 0)
        die("fork failed");
    if (pid == 0) {
        uint64_t sum = 0;
        for (size_t i = 0; i < g_npages; i++)
            sum += p[i * PAGE_SIZE];
        bench_keep(sum);
        for (size_t i = 0; i < g_npages; i++)
            p[i * PAGE_SIZE] = (uint8_t)i;
        bench_keep_ptr(p);
        _exit(0);
    }
    host_child_wait(pid);
    uint64_t t1 = bench_now_ns();
    munmap(p, g_npages * PAGE_SIZE);
    return (double)(t1 - t0);
}

static void bench_fork(struct bench_report *rep)
{
    static char what[96];
    snprintf(what, sizeof what, "fork %zu pages + child read,write all", g_npages);
    double mm = measure_oneshot(run_fork_touch, NULL) / 1e6;
    double host = measure_oneshot(run_host_fork_touch, NULL) / 1e6;
    add_fig(rep, "fork_touch_all", what, "ms", mm,
            "host Linux fork(), child reads then writes all pages, parent waits", host,
            BENCH_GOAL_RATIO_AT_MOST, 1.0, "ratio <= 1x");
}

/* ---- 4. map + unmap pairs -------------------------------------------------- */

static void body_map_unmap(void *ctx, uint64_t iters)
{
    rt_aspace_t as = ctx;
    for (uint64_t i = 0; i < iters; i++) {
        void *va = NULL;
        if (rt_aspace_map(as, &va, PAGE_SIZE, MMU_MAP_U_RWCB, 0, &rt_mm_dummy_mapper, 0) != RT_EOK)
            die("rt_aspace_map failed");
        if (rt_aspace_unmap(as, va) != RT_EOK)
            die("rt_aspace_unmap failed");
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

static void bench_map(struct bench_report *rep)
{
    rt_aspace_t as = user_aspace();
    double mm = bench_measure(&g_timing, body_map_unmap, as);
    double host = bench_measure(&g_timing, body_host_mmap, NULL);
    aspace_free(as);
    add_fig(rep, "aspace_map_unmap", "rt_aspace_map(1 page, dummy)+unmap", "M pairs/s", 1e3 / mm,
            "host mmap+munmap 4 KiB anonymous pairs/s", 1e3 / host, BENCH_GOAL_NONE, 0, NULL);
}

/* ---- 5. fault cost against the number of vareas ---------------------------- */

#define FILL_LOW 0x100000000ULL  /* fillers below the measured area ... */
#define TARGET_VA 0x4000000000ULL /* ... the measured area ... */
#define FILL_HIGH 0x8000000000ULL /* ... and fillers above it */

struct varea_ctx
{
    rt_aspace_t as;
    size_t target_pages;
};

/* One-page private vareas two pages apart, so none merges with another. */
static void fill_vareas(rt_aspace_t as, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t base = i < n / 2 ? FILL_LOW : FILL_HIGH;
        size_t k = i < n / 2 ? i : i - n / 2;
        map_private(as, base + (uint64_t)k * 2 * PAGE_SIZE, 1);
    }
}

static double run_varea_fault(void *ctx)
{
    struct varea_ctx *v = ctx;
    map_private(v->as, TARGET_VA, v->target_pages);
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < v->target_pages; i++)
        user_write(v->as, va_at(TARGET_VA, i), (uint8_t)i);
    uint64_t t1 = bench_now_ns();
    if (rt_aspace_unmap(v->as, (void *)(uintptr_t)TARGET_VA) != RT_EOK)
        die("unmapping the measured area failed");
    return (double)(t1 - t0);
}

static int count_one(rt_varea_t varea, void *arg)
{
    (void)varea;
    (*(size_t *)arg)++;
    return 0;
}

static double varea_fault_ns(size_t nvareas, size_t target_pages)
{
    struct varea_ctx v = { user_aspace(), target_pages };
    fill_vareas(v.as, nvareas);
    size_t counted = 0;
    rt_aspace_traversal(v.as, count_one, &counted);
    if (counted != nvareas)
        die("filler vareas merged or went missing");
    double ns = measure_oneshot(run_varea_fault, &v) / (double)target_pages;
    aspace_free(v.as);
    return ns;
}

static void bench_vareas(struct bench_report *rep)
{
    size_t target_pages = g_quick ? 64 : 4096;
    size_t big = g_quick ? 2048 : 100 * 1024;
    double ns10 = varea_fault_ns(10, target_pages);
    double ns1k = varea_fault_ns(1024, target_pages);
    double nsbig = varea_fault_ns(big, target_pages);
    static char what[64];
    snprintf(what, sizeof what, "first-touch fault, %zu vareas", big);
    add_fig(rep, "fault_vareas_1k", "first-touch fault, 1024 vareas", "ns/fault", ns1k,
            "the same fault with 10 vareas", ns10, BENCH_GOAL_NONE, 0, NULL);
    add_fig(rep, "fault_vareas_100k", what, "ns/fault", nsbig, "the same fault with 10 vareas",
            ns10, BENCH_GOAL_RATIO_AT_MOST, 2.0, "ratio <= 2x");
}

/* ---- main ----------------------------------------------------------------- */

static const char *const k_groups[] = { "first", "cow", "fork", "map", "vareas" };

static struct bench_args g_args;

static bool group_selected(const char *group)
{
    return bench_args_selected(&g_args, group);
}

int main(int argc, char **argv)
{
    if (!bench_args_parse(argc, argv, "bench_mm", k_groups, sizeof k_groups / sizeof k_groups[0], &g_args))
        return 2;
    g_quick = g_args.quick;
    const char *json_path = g_args.json_path;
    g_runs = g_quick ? 1 : 3;
    g_npages = g_quick ? 256 : 64 * 1024;
    g_timing = g_quick ? (struct bench_timing){ .run_ns = 200000, .runs = 1, .min_iters = 1 }
                       : (struct bench_timing){ .run_ns = 100000000, .runs = 3, .min_iters = 1 };
    static struct bench_report rep;

    /* 64 Ki parent pages + 64 Ki copies + the store's tables: 2 GiB is ample. */
    boot_fast(g_quick ? 256ULL << 20 : 2 * GIB);
    host_buffers_init();
    if (group_selected("first"))
        bench_first(&rep);
    if (group_selected("cow"))
        bench_cow(&rep);
    if (group_selected("fork"))
        bench_fork(&rep);
    if (group_selected("map"))
        bench_map(&rep);
    if (group_selected("vareas"))
        bench_vareas(&rep);
    host_buffers_fini();
    shutdown_clean();

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
