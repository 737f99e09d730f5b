/*
 * fuzz_pgtable: the aarch64 page-table layer (rt_hw_mmu_map/unmap/control,
 * mmsim_mmu_unmap, reservations) against a dumb reference model.
 *
 * Each input boots a machine, decodes a stream of 6-byte operations on a
 * user aspace and rt_kernel_space, confined to four 4 MiB VA windows placed
 * where tables meet (so operations collide and cross table boundaries), and
 * keeps a per-4-KiB-page model: unmapped / page / part of a 2 MiB block,
 * PA and attributes. After every operation it checks that
 *   - rt_hw_mmu_v2p agrees with the model for every page of every window,
 *   - the walk finds the modelled leaf (level, attributes) for the pages the
 *     operation touched,
 *   - mmsim_mmu_check and mmsim_phys_check find nothing, and the table
 *     pages, leaves and allocated frames are exactly what the model implies,
 *   - a failed operation (injected allocation failure, or a caller error
 *     reported through the assert hook) changed nothing, and failed exactly
 *     when the model says it must.
 * At the end everything is unmapped and the teardown must report no leak.
 * Any discrepancy aborts, so libFuzzer reports it. FUZZ_PGTABLE_TRACE=1
 * prints each operation (useful when replaying a reproducer).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mm_aspace.h>
#include <mm_page.h>
#include <mmsim/alloc.h>
#include <mmsim/diag.h>
#include <mmsim/machine.h>
#include <mmsim/pgtable.h>
#include <mmsim/phys.h>
#include <mmsim/vmsa.h>

#include "fuzz_target.h"

#define PAGE 4096ULL
#define SECTION (2ULL << 20)
#define WIN_PAGES 1024u /* 4 MiB: two 2 MiB slots, one on each side of a boundary */
#define SECTION_PAGES 512u
#define NWIN 4
#define MAX_OPS 48
#define OP_BYTES 6
#define SRC_BYTES (4ULL << 20) /* PA sources span 4 MiB, except the frames */
#define SRC_PAGES (SRC_BYTES / PAGE)
#define FRAME_ORDER 3u          /* the allocated source: 8 frames */
#define RAM_BYTES (64ULL << 20)

/* The harness's own whole-window loops are not what the fuzzer should be
 * steering by, and their comparison tracing costs most of the run time. */
#if defined(__clang__)
#define HARNESS_LOOP __attribute__((no_sanitize("coverage")))
#else
#define HARNESS_LOOP
#endif

enum aspace_id { AS_USER, AS_KERNEL, NAS };

struct window
{
    enum aspace_id as;
    uint64_t va;
};

/* Sorted by VA within each aspace (table counting relies on it). */
static const struct window k_win[NWIN] = {
    { AS_USER, 0x000000003fe00000ULL },   /* crosses 1 GiB: a new L2 table */
    { AS_USER, 0x0000007fffe00000ULL },   /* crosses 512 GiB: a new L0 entry and L1 table */
    { AS_USER, 0x0000ffffffc00000ULL },   /* the last 4 MiB of the user half */
    { AS_KERNEL, 0xffff007fffe00000ULL }, /* kernel half, crossing 512 GiB */
};

/* The MMU_MAP_* set, plus attributes with bits rt_hw_mmu_map must mask off,
 * AF clear, DBM, XN and a memory type CACHE/NONCACHE must refuse. */
static const uint64_t k_attrs[16] = {
    MMU_MAP_K_ROCB, MMU_MAP_K_RO, MMU_MAP_K_RWCB, MMU_MAP_K_RW, MMU_MAP_K_DEVICE,
    MMU_MAP_U_ROCB, MMU_MAP_U_RO, MMU_MAP_U_RWCB, MMU_MAP_U_RW, MMU_MAP_U_DEVICE,
    MMU_MAP_U_RWCB | MMU_ATTR_UXN | MMU_ATTR_PXN,
    MMU_MAP_U_RWCB | MMU_ATTR_DBM,
    MMU_MAP_TRACE(MMU_MAP_U_RWCB),
    MMU_MAP_U_RW | 0x3,                      /* stray type bits */
    MMU_MAP_K_RWCB | 0x1000 | (1ULL << 47),  /* stray address bits */
    MMU_MAP_CUSTOM(MMU_AP_KAUN, 3, 0),       /* AttrIndx 3: not normal memory */
};

enum page_state { PG_NONE = 0, PG_PAGE, PG_BLOCK };

struct model_page
{
    uint8_t state;
    uint64_t pa;
    uint64_t attr; /* as stored: attr & MMU_ATTRIB_MASK */
};

enum op_kind
{
    OP_MAP, OP_MAP_BLOCK, OP_UNMAP, OP_UNMAP_RT, OP_CONTROL, OP_MAP_RESERVED, OP_UNMAP_WINDOW,
};

struct op
{
    enum op_kind kind;
    unsigned win;
    unsigned first;   /* page index in the window */
    unsigned npages;  /* 0 = size 0 */
    uint64_t va, pa, size, attr;
    int cmd;          /* control */
    unsigned inject;  /* 0 = none, else fail that page allocation */
    bool caller_error;
};

static struct
{
    struct rt_aspace user;
    struct rt_aspace *as[NAS];
    struct model_page model[NWIN][WIN_PAGES];
    uint64_t src_pa[4];
    uint64_t src_pages[4];
    void *frames;
    size_t base_frames; /* allocated after set-up: boot, the frame source, both roots */
    struct mmsim_assert_record rec;
    unsigned opno;
    bool trace;
} g;

/* ---- reporting ------------------------------------------------------------ */

static const char *const k_kind_names[] = {
    "map", "map-block", "unmap", "rt-unmap", "control", "map-reserved", "unmap-window",
};

static void op_print(FILE *out, const struct op *o)
{
    fprintf(out, "op %u: %s win %u va 0x%016" PRIx64 " size 0x%" PRIx64 " pa 0x%" PRIx64
            " attr 0x%" PRIx64 " cmd %d inject %u%s\n", g.opno, k_kind_names[o->kind], o->win, o->va,
            o->size, o->pa, o->attr, o->cmd, o->inject, o->caller_error ? " (caller error)" : "");
}

static const struct op *g_cur_op;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz_pgtable: DISCREPANCY: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (g_cur_op)
        op_print(stderr, g_cur_op);
    if (g.rec.count)
        fprintf(stderr, "last assert: %s (%s) in %s\n", g.rec.expr, g.rec.msg, g.rec.func);
    abort();
}

static void quiet_log(void *ctx, enum mmsim_log_level level, const char *tag, const char *line)
{
    (void)ctx, (void)level, (void)tag, (void)line;
}

/* ---- model queries -------------------------------------------------------- */

HARNESS_LOOP static uint64_t win_va(unsigned w, unsigned page)
{
    return k_win[w].va + (uint64_t)page * PAGE;
}

/* Whether any page of `as` whose VA >> shift equals key is mapped (with
 * pages_only: mapped as a 4 KiB page, i.e. an L3 table holds it). */
HARNESS_LOOP static bool model_any(enum aspace_id as, unsigned shift, uint64_t key, bool pages_only)
{
    for (unsigned w = 0; w < NWIN; w++) {
        if (k_win[w].as != as)
            continue;
        for (unsigned i = 0; i < WIN_PAGES; i++) {
            const struct model_page *p = &g.model[w][i];
            if ((win_va(w, i) >> shift) == key &&
                (pages_only ? p->state == PG_PAGE : p->state != PG_NONE))
                return true;
        }
    }
    return false;
}

struct model_counts
{
    size_t table_pages, pages, blocks;
};

/* Tables RT-Thread's layout needs for the modelled mappings: the root, one
 * L1 per used L0 entry, one L2 per used L1 entry, one L3 per 2 MiB slot
 * holding pages. Windows are sorted, so distinct keys are key changes. */
HARNESS_LOOP static void model_count(enum aspace_id as, struct model_counts *c)
{
    uint64_t last[3] = { UINT64_MAX, UINT64_MAX, UINT64_MAX };
    static const unsigned k_shift[3] = { 39, 30, 21 };
    memset(c, 0, sizeof *c);
    c->table_pages = 1;
    for (unsigned w = 0; w < NWIN; w++) {
        for (unsigned i = 0; k_win[w].as == as && i < WIN_PAGES; i++) {
            const struct model_page *p = &g.model[w][i];
            if (p->state == PG_NONE)
                continue;
            c->pages += p->state == PG_PAGE;
            c->blocks += p->state == PG_BLOCK && (i % SECTION_PAGES) == 0;
            for (unsigned l = 0; l < 3; l++) {
                uint64_t key = win_va(w, i) >> k_shift[l];
                if (key != last[l] && (l < 2 || p->state == PG_PAGE)) {
                    last[l] = key;
                    c->table_pages++;
                }
            }
        }
    }
}

/* New table pages a map of the op's range with leaves at `leaf_level` needs. */
HARNESS_LOOP static size_t model_tables_needed(const struct op *o, int leaf_level)
{
    static const unsigned k_shift[3] = { 39, 30, 21 };
    enum aspace_id as = k_win[o->win].as;
    size_t need = 0;
    for (unsigned l = 0; l < (leaf_level == 3 ? 3u : 2u); l++) {
        uint64_t last = UINT64_MAX;
        for (unsigned i = 0; i < o->npages; i++) {
            uint64_t key = (o->va + i * PAGE) >> k_shift[l];
            if (key == last)
                continue;
            last = key;
            need += !model_any(as, k_shift[l], key, l == 2);
        }
    }
    return need;
}

static int leaf_level_of(const struct op *o)
{
    return ((o->va | o->pa | o->size) & (SECTION - 1)) ? 3 : 2;
}

/* Whether the map would go through a block (pages) or replace a table
 * holding pages (a block): caller errors RT-Thread asserts on. */
HARNESS_LOOP static bool model_map_conflicts(const struct op *o, int leaf_level)
{
    for (unsigned i = 0; i < o->npages; i++) {
        const struct model_page *p = &g.model[o->win][o->first + i];
        if (leaf_level == 3 && p->state == PG_BLOCK)
            return true;
        if (leaf_level == 2 && p->state == PG_PAGE)
            return true;
    }
    return false;
}

/* Blocks the unmap cuts (each needs a table page to split). */
static size_t model_splits_needed(const struct op *o)
{
    size_t need = 0;
    unsigned end = o->first + o->npages;
    for (unsigned s = o->first / SECTION_PAGES; o->npages && s <= (end - 1) / SECTION_PAGES; s++) {
        unsigned lo = s * SECTION_PAGES, hi = lo + SECTION_PAGES;
        bool cut = o->first > lo || end < hi;
        need += cut && g.model[o->win][lo].state == PG_BLOCK;
    }
    return need;
}

/* ---- model updates -------------------------------------------------------- */

HARNESS_LOOP static void model_map(const struct op *o, int leaf_level)
{
    for (unsigned i = 0; i < o->npages; i++) {
        struct model_page *p = &g.model[o->win][o->first + i];
        p->state = leaf_level == 2 ? PG_BLOCK : PG_PAGE;
        p->pa = o->pa + i * PAGE;
        p->attr = o->attr & MMU_ATTRIB_MASK;
    }
}

/* Every 2 MiB slot the range touches that holds a block becomes an L3 table
 * of pages first (a fully covered one then loses all of them). */
HARNESS_LOOP static void model_unmap(unsigned win, unsigned first, unsigned npages)
{
    unsigned end = first + npages;
    for (unsigned s = first / SECTION_PAGES; npages && s <= (end - 1) / SECTION_PAGES; s++) {
        unsigned lo = s * SECTION_PAGES;
        if (g.model[win][lo].state != PG_BLOCK)
            continue;
        for (unsigned i = lo; i < lo + SECTION_PAGES; i++)
            g.model[win][i].state = PG_PAGE;
    }
    for (unsigned i = first; i < end; i++)
        g.model[win][i].state = PG_NONE;
}

static uint64_t control_apply(uint64_t attr, int cmd)
{
    const uint64_t memtype = 7ULL << MMU_MA_SHIFT, ap2 = 2ULL << MMU_AP_SHIFT;
    switch (cmd) {
    case MMU_CNTL_CACHE:
        return (attr & ~memtype) | ((uint64_t)NORMAL_MEM << MMU_MA_SHIFT);
    case MMU_CNTL_NONCACHE:
        return (attr & ~memtype) | ((uint64_t)NORMAL_NOCACHE_MEM << MMU_MA_SHIFT);
    case MMU_CNTL_READONLY:
        return attr | ap2;
    default:
        return attr & ~ap2;
    }
}

/* rt_hw_mmu_control's result: leaves in VA order, the first that is a cut
 * block (-EINVAL) or, for CACHE/NONCACHE, not normal memory (-ENOSYS). */
HARNESS_LOOP static int model_control_rc(const struct op *o)
{
    if (o->cmd != MMU_CNTL_CACHE && o->cmd != MMU_CNTL_NONCACHE && o->cmd != MMU_CNTL_READONLY &&
        o->cmd != MMU_CNTL_READWRITE)
        return -RT_ENOSYS;
    if (((o->va | o->size) & (PAGE - 1)) != 0)
        return -RT_EINVAL;
    unsigned end = o->first + o->npages;
    for (unsigned i = o->first; i < end; i++) {
        const struct model_page *p = &g.model[o->win][i];
        if (p->state == PG_NONE)
            continue;
        unsigned lo = i - i % SECTION_PAGES;
        if (p->state == PG_BLOCK && (o->first > lo || end < lo + SECTION_PAGES))
            return -RT_EINVAL;
        unsigned memtype = (unsigned)(p->attr >> MMU_MA_SHIFT) & 7u;
        bool cache_cmd = o->cmd == MMU_CNTL_CACHE || o->cmd == MMU_CNTL_NONCACHE;
        if (cache_cmd && memtype != NORMAL_MEM && memtype != NORMAL_NOCACHE_MEM)
            return -RT_ENOSYS;
    }
    return RT_EOK;
}

/* ---- checks against the library ------------------------------------------ */

HARNESS_LOOP static void check_v2p_all(void)
{
    for (unsigned w = 0; w < NWIN; w++) {
        struct rt_aspace *as = g.as[k_win[w].as];
        for (unsigned i = 0; i < WIN_PAGES; i++) {
            const struct model_page *p = &g.model[w][i];
            void *want = p->state == PG_NONE ? ARCH_MAP_FAILED : (void *)(uintptr_t)p->pa;
            void *got = rt_hw_mmu_v2p(as, (void *)(uintptr_t)win_va(w, i));
            if (got != want)
                fail("v2p(0x%016" PRIx64 ") = %p, model says %p", win_va(w, i), got, want);
        }
    }
}

/* The leaf an AT S1E1R walk finds: its level says page or block, its
 * descriptor carries the modelled PA and attributes. */
HARNESS_LOOP static void check_leaf(const struct mmsim_vmsa_ctx *ctx, unsigned w, unsigned i)
{
    const struct mmsim_vmsa_access acc = { .op = MMSIM_OP_READ, .el = 1, .at = true };
    const struct model_page *p = &g.model[w][i];
    struct mmsim_vmsa_result res;
    uint64_t va = win_va(w, i);
    mmsim_vmsa_translate(ctx, va, &acc, mmsim_mmu_ram_mem(), &res);
    if (p->state == PG_NONE) {
        if (res.fault != MMSIM_FAULT_TRANSLATION)
            fail("walk of unmapped 0x%016" PRIx64 ": fault %d, want translation", va, res.fault);
        return;
    }
    int want_level = p->state == PG_BLOCK ? 2 : 3;
    bool leaf_found = res.fault == MMSIM_FAULT_NONE || res.fault == MMSIM_FAULT_ACCESS_FLAG;
    if (!leaf_found || res.level != want_level || res.pa != p->pa ||
        (res.desc & MMU_ATTRIB_MASK) != p->attr)
        fail("walk of 0x%016" PRIx64 ": fault %d level %d pa 0x%" PRIx64 " desc 0x%016" PRIx64
             "; model: level %d pa 0x%" PRIx64 " attr 0x%" PRIx64, va, res.fault, res.level, res.pa,
             res.desc, want_level, p->pa, p->attr);
}

/* Walks as the MMU would, with the registers RT-Thread programs for the aspace. */
HARNESS_LOOP static void check_leaves(unsigned w, unsigned first, unsigned npages)
{
    struct mmsim_vmsa_regs regs;
    struct mmsim_vmsa_ctx ctx;
    mmsim_mmu_regs(g.as[k_win[w].as], &regs);
    if (mmsim_vmsa_ctx_init(&ctx, &regs) != 0)
        fail("mmsim_vmsa_ctx_init rejected the registers of an aspace");
    for (unsigned i = first; i < first + npages; i++)
        check_leaf(&ctx, w, i);
}

static void check_tables(enum aspace_id id, struct mmsim_mmu_info *info)
{
    if (mmsim_mmu_check(g.as[id], stderr, info) != 0)
        fail("mmsim_mmu_check found problems in the %s aspace", id == AS_USER ? "user" : "kernel");
    struct model_counts c;
    model_count(id, &c);
    if (info->table_pages != c.table_pages || info->pages != c.pages || info->blocks != c.blocks ||
        info->mapped_bytes != (c.pages + c.blocks * SECTION_PAGES) * PAGE)
        fail("%s tables: %zu table pages, %zu pages, %zu blocks; model: %zu, %zu, %zu",
             id == AS_USER ? "user" : "kernel", info->table_pages, info->pages, info->blocks,
             c.table_pages, c.pages, c.blocks);
}

static void check_state(void)
{
    check_v2p_all();
    struct mmsim_mmu_info ui, ki;
    check_tables(AS_USER, &ui);
    check_tables(AS_KERNEL, &ki);
    if (mmsim_phys_check(stderr) != 0)
        fail("mmsim_phys_check found problems");
    struct mmsim_phys_stats st;
    mmsim_phys_stats_get(&st);
    size_t want = g.base_frames + (ui.table_pages - 1) + (ki.table_pages - 1);
    if (st.allocated_frames != want)
        fail("%zu frames allocated, tables and sources account for %zu", st.allocated_frames, want);
}

/* ---- running one operation ------------------------------------------------ */

static void inject_arm(const struct op *o)
{
    if (o->inject)
        mmsim_inject_arm(MMSIM_ALLOC_PAGE, o->inject, MMSIM_INJECT_ONCE);
}

/* Allocations the op made fail: the armed one fires iff it was reached. */
static bool inject_fired(void)
{
    return mmsim_inject_disarm(MMSIM_ALLOC_PAGE) != 0;
}

/* Whether the op should fail with an injected failure, given it needs `need` pages. */
static bool expect_oom(const struct op *o, size_t need)
{
    return o->inject != 0 && o->inject <= need;
}

static void expect_assert(unsigned before, bool expected, const char *what)
{
    unsigned raised = g.rec.count - before;
    if (raised != (expected ? 1u : 0u))
        fail("%s: %u assert(s) raised, expected %u", what, raised, expected ? 1u : 0u);
}

static void run_map(const struct op *o)
{
    int leaf = leaf_level_of(o);
    bool conflict = !o->caller_error && o->npages && model_map_conflicts(o, leaf);
    size_t need = o->caller_error || conflict || !o->npages ? 0 : model_tables_needed(o, leaf);
    unsigned asserts = g.rec.count;
    inject_arm(o);
    void *ret = rt_hw_mmu_map(g.as[k_win[o->win].as], (void *)(uintptr_t)o->va,
                              (void *)(uintptr_t)o->pa, o->size, o->attr);
    bool fired = inject_fired();
    expect_assert(asserts, o->caller_error || conflict, "rt_hw_mmu_map");
    bool oom = expect_oom(o, need);
    if (fired != oom)
        fail("map: injected failure %s, model expected it %s (needs %zu tables)",
             fired ? "fired" : "did not fire", oom ? "to" : "not to", need);
    bool should_work = !o->caller_error && !conflict && !oom;
    if ((ret != NULL) != should_work || (ret && ret != (void *)(uintptr_t)o->va))
        fail("map returned %p, model expected %s", ret, should_work ? "v_addr" : "NULL");
    if (should_work)
        model_map(o, leaf);
}

static void run_map_reserved(const struct op *o)
{
    struct rt_aspace *as = g.as[k_win[o->win].as];
    int leaf = leaf_level_of(o);
    bool conflict = !o->caller_error && o->npages && model_map_conflicts(o, leaf);
    size_t need = o->caller_error || conflict || !o->npages ? 0 : model_tables_needed(o, leaf);
    struct mmsim_mmu_reserve r = { NULL, 0 };
    unsigned asserts = g.rec.count;
    inject_arm(o);
    int rc = mmsim_mmu_reserve(as, (void *)(uintptr_t)o->va, (void *)(uintptr_t)o->pa, o->size, &r);
    bool fired = inject_fired();
    expect_assert(asserts, o->caller_error || conflict, "mmsim_mmu_reserve");
    bool oom = expect_oom(o, need);
    int want_rc = o->caller_error || conflict ? -RT_EINVAL : oom ? -RT_ENOMEM : RT_EOK;
    if (rc != want_rc || fired != oom || r.npages != (rc == RT_EOK ? need : 0))
        fail("reserve: rc %d with %zu pages (fired %d); model: rc %d with %zu", rc, r.npages, fired,
             want_rc, need);
    if (rc != RT_EOK)
        return;
    struct mmsim_alloc_counters before, after;
    mmsim_alloc_counters_get(MMSIM_ALLOC_PAGE, &before);
    void *ret = mmsim_mmu_map_reserved(as, (void *)(uintptr_t)o->va, (void *)(uintptr_t)o->pa,
                                       o->size, o->attr, &r);
    mmsim_alloc_counters_get(MMSIM_ALLOC_PAGE, &after);
    if (ret != (void *)(uintptr_t)o->va || after.attempts != before.attempts || r.npages != 0)
        fail("map_reserved returned %p after %" PRIu64 " allocation(s), %zu page(s) left over", ret,
             after.attempts - before.attempts, r.npages);
    mmsim_mmu_reserve_release(&r);
    model_map(o, leaf);
}

static void run_unmap(const struct op *o)
{
    size_t need = o->caller_error ? 0 : model_splits_needed(o);
    unsigned asserts = g.rec.count;
    inject_arm(o);
    int rc = RT_EOK;
    if (o->kind == OP_UNMAP_RT)
        rt_hw_mmu_unmap(g.as[k_win[o->win].as], (void *)(uintptr_t)o->va, o->size);
    else
        rc = mmsim_mmu_unmap(g.as[k_win[o->win].as], (void *)(uintptr_t)o->va, o->size);
    bool fired = inject_fired();
    expect_assert(asserts, o->caller_error, "unmap");
    bool oom = expect_oom(o, need);
    int want_rc = o->caller_error ? -RT_EINVAL : oom ? -RT_ENOMEM : RT_EOK;
    if (fired != oom || (o->kind != OP_UNMAP_RT && rc != want_rc))
        fail("unmap: rc %d, injected failure fired %d; model: rc %d (%zu split(s))", rc, fired,
             want_rc, need);
    if (!o->caller_error && !oom)
        model_unmap(o->win, o->first, o->npages);
}

static void run_control(const struct op *o)
{
    int want = model_control_rc(o);
    unsigned asserts = g.rec.count;
    inject_arm(o);
    int rc = rt_hw_mmu_control(g.as[k_win[o->win].as], (void *)(uintptr_t)o->va, o->size,
                               (enum rt_mmu_cntl)o->cmd);
    if (inject_fired())
        fail("control allocated a page");
    expect_assert(asserts, false, "rt_hw_mmu_control");
    if (rc != want)
        fail("control returned %d, model expected %d", rc, want);
    for (unsigned i = o->first; rc == RT_EOK && i < o->first + o->npages; i++)
        if (g.model[o->win][i].state != PG_NONE)
            g.model[o->win][i].attr = control_apply(g.model[o->win][i].attr, o->cmd);
}

static void run_op(const struct op *o)
{
    g_cur_op = o;
    if (g.trace)
        op_print(stdout, o);
    switch (o->kind) {
    case OP_MAP:
    case OP_MAP_BLOCK:
        run_map(o);
        break;
    case OP_MAP_RESERVED:
        run_map_reserved(o);
        break;
    case OP_CONTROL:
        run_control(o);
        break;
    default:
        run_unmap(o);
        break;
    }
    check_state();
    if (!o->caller_error && o->npages)
        check_leaves(o->win, o->first, o->npages);
    g_cur_op = NULL;
}

/* ---- decoding ------------------------------------------------------------- */

/* Page-granular range inside the window: b4 picks 1..128 pages, or with its
 * top bit set up to the whole window in steps of 8. */
static void decode_pages(struct op *o, uint16_t offset, uint8_t b4)
{
    unsigned n = (b4 & 0x80) ? (b4 & 0x7fu) * 8u + 1u : (b4 & 0x7fu) + 1u;
    o->first = offset % WIN_PAGES;
    if (n > WIN_PAGES - o->first)
        n = WIN_PAGES - o->first;
    o->npages = n;
}

/* One or two whole 2 MiB slots. */
static void decode_sections(struct op *o, uint16_t offset, uint8_t b4)
{
    unsigned slot = offset & 1u;
    unsigned nslots = (b4 & 1u) && slot == 0 ? 2u : 1u;
    o->first = slot * SECTION_PAGES;
    o->npages = nslots * SECTION_PAGES;
}

/* PA inside the source when the range fits in it (a longer range runs past
 * the small frame source: harmless, tables never touch the data). Block maps
 * take a 2 MiB-aligned offset unless b5 asks for a 4 KiB one (which turns
 * the same range into pages). */
static void decode_pa(struct op *o, unsigned src, uint8_t b5)
{
    uint64_t span = g.src_pages[src], n = o->npages ? o->npages : 1;
    uint64_t max_first = n <= span ? span - n : 0;
    uint64_t first;
    if (o->kind == OP_MAP_BLOCK)
        first = (b5 & 1u) && o->npages == SECTION_PAGES && span >= 2 * SECTION_PAGES ? SECTION_PAGES : 0;
    else
        first = ((uint64_t)b5 * 4u) % (max_first + 1);
    if (o->kind == OP_MAP_BLOCK && (b5 & 2u) && first + n < span)
        first++;
    o->pa = g.src_pa[src] + first * PAGE;
}

/* Caller errors RT-Thread asserts on: misaligned VA, size or PA, or (in the
 * top user window) a range running past the end of the 48-bit space. */
static void make_caller_error(struct op *o, uint8_t b5)
{
    switch ((b5 >> 4) & 3u) {
    case 0:
        o->va += 0x800;
        break;
    case 1:
        o->size += 0x10;
        break;
    case 2:
        if (o->kind == OP_UNMAP || o->kind == OP_UNMAP_RT)
            o->va += 0x8;
        else
            o->pa += 0x200;
        break;
    default:
        if (o->win == 2) /* one page past 2^48: not canonical */
            o->size = (uint64_t)(WIN_PAGES - o->first + 1) * PAGE;
        else
            o->size += 0x1;
        break;
    }
}

static const enum op_kind k_kind_of[8] = {
    OP_MAP, OP_MAP, OP_MAP_BLOCK, OP_UNMAP, OP_UNMAP_RT, OP_CONTROL, OP_MAP_RESERVED, OP_UNMAP_WINDOW,
};

/* b0: kind(3) inject(1) nth-1(2) caller-error(1) size-zero(1)
 * b1: window(2) attr(4) pa-source(2); b2-b3: page offset; b4: size; b5: pa / cmd. */
static void decode_op(struct fuzz_reader *rd, struct op *o)
{
    uint8_t b0 = fuzz_u8(rd), b1 = fuzz_u8(rd);
    uint16_t offset = fuzz_u16(rd);
    uint8_t b4 = fuzz_u8(rd), b5 = fuzz_u8(rd);
    memset(o, 0, sizeof *o);
    o->kind = k_kind_of[b0 & 7u];
    o->inject = (b0 & 8u) ? ((b0 >> 4) & 3u) + 1u : 0;
    o->win = b1 & 3u;
    o->attr = k_attrs[(b1 >> 2) & 15u];
    if (o->kind == OP_MAP_BLOCK)
        decode_sections(o, offset, b4);
    else if (o->kind == OP_UNMAP_WINDOW)
        o->npages = WIN_PAGES;
    else
        decode_pages(o, offset, b4);
    if ((b0 & 0x80u) && o->kind != OP_UNMAP_WINDOW)
        o->npages = 0; /* size 0: a no-op, for every call */
    o->va = win_va(o->win, o->first);
    o->size = (uint64_t)o->npages * PAGE;
    decode_pa(o, b1 >> 6, b5);
    o->cmd = b5 % (MMU_CNTL_INSTALL + 1); /* includes OFFLOAD/INSTALL: -ENOSYS */
    o->caller_error = (b0 & 0x40u) && o->kind != OP_CONTROL && o->kind != OP_UNMAP_WINDOW;
    if (o->caller_error)
        make_caller_error(o, b5);
    else if ((b0 & 0x40u) && o->kind == OP_CONTROL)
        o->va += 0x800; /* control reports misalignment as -EINVAL, no assert */
    if (o->kind == OP_UNMAP_WINDOW)
        o->kind = OP_UNMAP;
}

/* ---- per-input machine ---------------------------------------------------- */

static void setup(void)
{
    memset(&g.model, 0, sizeof g.model);
    memset(&g.rec, 0, sizeof g.rec);
    g.opno = 0;
    mmsim_log_set_sink(quiet_log, NULL);
    struct mmsim_machine_config cfg;
    mmsim_machine_config_default(&cfg);
    cfg.ram_size = RAM_BYTES;
    cfg.install_size = RAM_BYTES - SRC_BYTES;
    cfg.debug_aids = true; /* poison and quarantine catch use-after-free of table pages */
    if (mmsim_machine_boot(&cfg) != RT_EOK)
        fail("machine boot failed");
    mmsim_assert_hook_set(mmsim_assert_record, &g.rec);
    /* Sources: allocated frames (small: debug aids would fill a big block
     * with patterns on every input), the last 4 MiB of RAM, left out of the
     * allocator so it is RAM no one owns (like a kernel image), a device
     * window and the top of the 48-bit PA space. */
    g.frames = rt_pages_alloc(FRAME_ORDER);
    if (!g.frames)
        fail("no frames for the PA source");
    g.src_pa[0] = (uint64_t)(uintptr_t)rt_kmem_v2p(g.frames);
    g.src_pages[0] = 1u << FRAME_ORDER;
    g.src_pa[1] = cfg.ram_base + cfg.install_size;
    g.src_pa[2] = 0x08000000ULL;
    g.src_pa[3] = (1ULL << 48) - SRC_BYTES;
    g.src_pages[1] = g.src_pages[2] = g.src_pages[3] = SRC_PAGES;
    memset(&g.user, 0, sizeof g.user);
    g.user.page_table = rt_hw_mmu_pgtbl_create();
    if (!g.user.page_table)
        fail("no user root table");
    g.user.start = (void *)0x200000;
    g.user.size = 0x0001000000000000UL - 0x200000;
    g.user.asid = 1;
    rt_spin_lock_init(&g.user.pgtbl_lock);
    g.as[AS_USER] = &g.user;
    g.as[AS_KERNEL] = &rt_kernel_space;
    struct mmsim_phys_stats st;
    mmsim_phys_stats_get(&st);
    g.base_frames = st.allocated_frames;
    check_state();
}

static void teardown(void)
{
    for (unsigned w = 0; w < NWIN; w++) {
        if (mmsim_mmu_unmap(g.as[k_win[w].as], (void *)(uintptr_t)k_win[w].va, WIN_PAGES * PAGE) != RT_EOK)
            fail("final unmap of window %u failed", w);
        model_unmap(w, 0, WIN_PAGES);
    }
    check_state();
    rt_pages_free(g.frames, FRAME_ORDER);
    rt_hw_mmu_pgtbl_delete(g.user.page_table);
    mmsim_assert_hook_set(NULL, NULL);
    struct mmsim_leak_report rep;
    if (mmsim_machine_shutdown(&rep) != 0) {
        mmsim_leak_report_print(&rep, stderr);
        fail("teardown reported leaks");
    }
    mmsim_log_set_sink(NULL, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_reader rd = { data, size, 0 };
    g.trace = getenv("FUZZ_PGTABLE_TRACE") != NULL;
    setup();
    struct op o;
    for (; g.opno < MAX_OPS && fuzz_left(&rd) >= OP_BYTES; g.opno++) {
        decode_op(&rd, &o);
        run_op(&o);
    }
    teardown();
    return 0;
}
