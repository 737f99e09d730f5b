/* Removing mappings: rt_aspace_unmap (whole varea) and rt_aspace_unmap_range
 * (remove, shrink, split) — RT-Thread's utests, mmsim's all-or-nothing rule,
 * callback errors passed through, allocation failure at every allocation
 * point, and TLB invalidation of every page that stops being mapped, before
 * its frame is freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mm_util.h"

#define g_as mmt_as

static bool mapped(void *va) { return rt_hw_mmu_v2p(g_as, va) != ARCH_MAP_FAILED; }

/* ---- rt_aspace_unmap ---------------------------------------------------------- */

static void test_unmap_removes_the_whole_varea_and_its_frames(void **state)
{
    (void)state;
    size_t frames = mmt_frames(), heap = mmsim_heap_used();
    mmt_map(g_as, va_at(0), 4 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    mmt_map(g_as, va_at(4), PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 100);
    assert_int_equal(rt_aspace_unmap(g_as, va_at(2) + 5), RT_EOK); /* any address inside */
    assert_int_equal(mmt_checked_vareas(g_as), 1);
    for (long i = 0; i < 4; i++)
        assert_false(mapped(va_at(i)));
    assert_true(mapped(va_at(4)));
    assert_int_equal(mmt_frames() - frames, 3 + 1); /* dummy close gave the 4 frames back */
    assert_int_equal(rt_aspace_unmap(g_as, va_at(0)), -RT_ENOENT);
    assert_int_equal(rt_aspace_unmap(NULL, va_at(4)), -RT_EINVAL);
    assert_int_equal(rt_aspace_unmap(g_as, (void *)(USER_START - PAGE)), -RT_EINVAL);
    assert_int_equal(rt_aspace_unmap(g_as, NULL), -RT_EINVAL);
    assert_int_equal(rt_aspace_unmap(g_as, va_at(4)), RT_EOK);
    assert_int_equal(mmt_frames(), frames);
    assert_int_equal(mmsim_heap_used(), heap);
}

static void test_unmap_of_a_physical_varea_is_done_by_the_core(void **state)
{
    (void)state;
    struct rt_mm_va_hint hint = {
        .limit_start = (void *)USER_START, .limit_range_size = USER_TOP - USER_START,
        .prefer = UTEST_VA, .map_size = 2 * PAGE,
    };
    void *va;
    assert_int_equal(rt_aspace_map_phy(g_as, &hint, MMU_MAP_U_DEVICE, 0x9000, &va), RT_EOK);
    assert_true(mapped(va_at(1)));
    assert_int_equal(rt_aspace_unmap(g_as, va), RT_EOK);
    assert_false(mapped(va_at(1)));
    assert_int_equal(mmt_tables(g_as), 1);
}

/* ---- RT-Thread's unmap_range utests -------------------------------------------- */

static void test_unmap_range_invalid_param_follows_rtthread_utest(void **state)
{
    (void)state;
    size_t heap = mmsim_heap_used();
    rt_base_t vsz = rt_aspace_count_vsz(g_as);
    void *va = UTEST_VA;
    assert_int_equal(rt_aspace_map(g_as, &va, 0x5000, MMU_MAP_K_RWCB, MMF_PREFETCH | MMF_MAP_FIXED,
                                   &rt_mm_dummy_mapper, 0), RT_EOK);
    assert_int_equal(rt_aspace_count_vsz(g_as), vsz + 0x5000);
    /* unaligned start */
    assert_int_equal(rt_aspace_unmap_range(g_as, (char *)va - 0x1234, 0x5000), -RT_EINVAL);
    assert_int_equal(rt_aspace_count_vsz(g_as), vsz + 0x5000);
    /* an unaligned length is rounded up */
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(3), 0x2000 - 0x123), RT_EOK);
    assert_int_equal(rt_aspace_count_vsz(g_as), vsz + 0x3000);
    /* an object without on_varea_shrink in the freed tail */
    rt_mem_obj_t no_shrink = rt_mem_obj_create(&rt_mm_dummy_mapper);
    assert_non_null(no_shrink);
    no_shrink->on_varea_shrink = NULL;
    void *tail = va_at(3);
    assert_int_equal(rt_aspace_map(g_as, &tail, 0x2000, MMU_MAP_K_RWCB, MMF_PREFETCH | MMF_MAP_FIXED,
                                   no_shrink, 0), RT_EOK);
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(3), 0x1000), -RT_EPERM);
    assert_int_equal(rt_aspace_count_vsz(g_as), vsz + 0x5000);
    /* two whole vareas go */
    assert_int_equal(rt_aspace_unmap_range(g_as, va, 0x5000), RT_EOK);
    assert_int_equal(rt_aspace_count_vsz(g_as), vsz);
    rt_free(no_shrink);
    assert_int_equal(mmsim_heap_used(), heap);
    /* the rest of the table: NULL aspace, outside the aspace, length 0 */
    assert_int_equal(rt_aspace_unmap_range(NULL, va, PAGE), -RT_EINVAL);
    assert_int_equal(rt_aspace_unmap_range(g_as, (void *)(USER_TOP - PAGE), 2 * PAGE), -RT_EINVAL);
    assert_int_equal(rt_aspace_unmap_range(g_as, va, 0), -RT_EINVAL);
    /* nothing there: fine */
    assert_int_equal(rt_aspace_unmap_range(g_as, va, PAGE), RT_EOK);
}

static void test_unmap_range_shrink_follows_rtthread_utest(void **state)
{
    (void)state;
    size_t frames = mmt_frames();
    void *va = mmt_map(g_as, UTEST_VA, 0x5000, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    rt_base_t vsz = rt_aspace_count_vsz(g_as);
    /* the head: [va - 1 page, +2 pages) */
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(-1), 0x2000), RT_EOK);
    assert_true(mapped(va_at(1)));
    assert_false(mapped(va_at(0)));
    assert_int_equal(rt_aspace_count_vsz(g_as), vsz - 0x1000);
    rt_varea_t v = rt_aspace_query(g_as, va_at(1));
    assert_ptr_equal(v->start, va_at(1));
    assert_int_equal(v->offset, 1);
    /* the tail: [va + 4 pages, +2 pages) */
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(4), 0x2000), RT_EOK);
    assert_true(mapped(va_at(3)));
    assert_false(mapped(va_at(4)));
    assert_int_equal(rt_aspace_count_vsz(g_as), vsz - 0x2000);
    assert_int_equal(mmt_frames() - frames, 3 + 3);
    assert_int_equal(rt_aspace_unmap_range(g_as, va, 0x5000), RT_EOK);
    assert_int_equal(mmt_frames(), frames);
}

static void test_unmap_range_split_follows_rtthread_utest(void **state)
{
    (void)state;
    size_t frames = mmt_frames(), heap = mmsim_heap_used();
    void *va = mmt_map(g_as, UTEST_VA, 0x5000, MMF_PREFETCH, &rt_mm_dummy_mapper, 7);
    rt_base_t vsz = rt_aspace_count_vsz(g_as);
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(3), 0x1000), RT_EOK);
    assert_true(mapped(va_at(3) - 1));
    assert_true(mapped(va_at(4)));
    assert_false(mapped(va_at(3)));
    assert_int_equal(rt_aspace_count_vsz(g_as), vsz - 0x1000);
    assert_int_equal(mmt_checked_vareas(g_as), 2);
    rt_varea_t lo = rt_aspace_query(g_as, va_at(0)), hi = rt_aspace_query(g_as, va_at(4));
    assert_int_equal(lo->size, 3 * PAGE);
    assert_int_equal(lo->offset, 7);
    assert_int_equal(hi->size, PAGE);
    assert_int_equal(hi->offset, 7 + 4);
    assert_int_equal(hi->flag, lo->flag);
    assert_int_equal(mmt_frames() - frames, 3 + 4);
    assert_int_equal(rt_aspace_unmap_range(g_as, va, 0x5000), RT_EOK);
    assert_int_equal(mmt_frames(), frames);
    assert_int_equal(mmsim_heap_used(), heap);
}

static void test_unmap_range_over_several_vareas_cuts_and_removes(void **state)
{
    (void)state;
    struct rt_mem_obj *objs = calloc(4, sizeof *objs); /* distinct objects: no expansion */
    for (int i = 0; i < 4; i++)
        objs[i] = rt_mm_dummy_mapper;
    mmt_map(g_as, va_at(0), 3 * PAGE, MMF_PREFETCH, &objs[0], 0);
    mmt_map(g_as, va_at(3), 2 * PAGE, MMF_PREFETCH, &objs[1], 0);
    mmt_map(g_as, va_at(6), PAGE, MMF_PREFETCH, &objs[2], 0); /* a gap at page 5 */
    mmt_map(g_as, va_at(7), 3 * PAGE, MMF_PREFETCH, &objs[3], 0);
    size_t frames = mmt_frames();
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(1), 7 * PAGE), RT_EOK);
    assert_int_equal(mmt_checked_vareas(g_as), 2);
    assert_int_equal(rt_aspace_query(g_as, va_at(0))->size, PAGE);
    rt_varea_t tail = rt_aspace_query(g_as, va_at(8));
    assert_ptr_equal(tail->start, va_at(8));
    assert_int_equal(tail->offset, 1);
    assert_int_equal(frames - mmt_frames(), 6); /* pages 1-4, 6, 7 */
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(0), 10 * PAGE), RT_EOK);
    assert_int_equal(mmt_checked_vareas(g_as), 0);
    free(objs);
}

/* mmsim: every affected varea is checked before any is cut, so a refusal
 * anywhere changes nothing (RT-Thread stops half-way, in tree order). */
static void test_unmap_range_is_all_or_nothing(void **state)
{
    (void)state;
    static struct rt_mem_obj no_shrink, no_split;
    no_shrink = rt_mm_dummy_mapper;
    no_shrink.on_varea_shrink = NULL;
    no_split = rt_mm_dummy_mapper;
    no_split.on_varea_split = NULL;
    mmt_map(g_as, va_at(0), 3 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    mmt_map(g_as, va_at(3), PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 50);
    mmt_map(g_as, va_at(4), 3 * PAGE, MMF_PREFETCH, &no_shrink, 0);
    mmt_map(g_as, va_at(10), 3 * PAGE, MMF_PREFETCH, &no_split, 0);
    struct mmt_snapshot before;
    mmt_snapshot(g_as, va_at(-2), va_at(16), &before);
    /* first varea's tail (fine), page 3 (fine), last varea's head (refused) */
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(1), 4 * PAGE), -RT_EPERM);
    mmt_expect_unchanged(g_as, va_at(-2), va_at(16), &before, "refused head cut");
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(11), PAGE), -RT_EPERM);
    mmt_expect_unchanged(g_as, va_at(-2), va_at(16), &before, "refused split");
    /* what each can do still works */
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(5), PAGE), RT_EOK);  /* no_shrink splits */
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(12), PAGE), RT_EOK); /* no_split shrinks */
    assert_int_equal(mmt_checked_vareas(g_as), 5);
    /* whole removals need neither callback */
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(0), 16 * PAGE), RT_EOK);
    assert_int_equal(mmt_checked_vareas(g_as), 0);
}

/* §0.1 item 4: a callback's own error comes back unchanged and its varea is
 * left as it was. */
static void test_unmap_range_callback_errors_pass_through(void **state)
{
    (void)state;
    static struct mmt_rec rec;
    mmt_rec_init(&rec);
    mmt_map(g_as, va_at(0), 4 * PAGE, MMF_PREFETCH, &rec.obj, 0);
    struct mmt_snapshot before;
    mmt_snapshot(g_as, va_at(-2), va_at(6), &before);
    rec.shrink_rc = -RT_EBUSY;
    mmt_rec_clear(&rec);
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(3), PAGE), -RT_EBUSY);
    assert_string_equal(rec.log, "shrink(0,4->0,3) ");
    mmt_expect_unchanged(g_as, va_at(-2), va_at(6), &before, "refused shrink");
    rec.split_rc = -RT_EIO;
    mmt_rec_clear(&rec);
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(1), PAGE), -RT_EIO);
    assert_string_equal(rec.log, "split(0,4 hole=1,1 sub=2,2,off=2) ");
    mmt_expect_unchanged(g_as, va_at(-2), va_at(6), &before, "refused split");
    /* accepted: the object saw the varea before it changed */
    rec.shrink_rc = rec.split_rc = RT_EOK;
    mmt_rec_clear(&rec);
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(0), PAGE), RT_EOK);
    assert_string_equal(rec.log, "shrink(0,4->1,3) ");
    assert_ptr_equal(rec.seen_start, va_at(0));
    assert_int_equal(rec.seen_size, 4 * PAGE);
    mmt_rec_clear(&rec);
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(2), PAGE), RT_EOK);
    assert_string_equal(rec.log, "split(1,3 hole=2,1 sub=3,1,off=3) ");
    assert_int_equal(rec.seen_size, 3 * PAGE);
    mmt_rec_clear(&rec);
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(0), 8 * PAGE), RT_EOK);
    assert_string_equal(rec.log, "close(1,1) close(3,1) ");
}

/* ---- allocation failure ------------------------------------------------------- */

static void expect_clean_failures(enum mmsim_alloc_kind kind, void *addr, size_t len, int expected_failures,
                                  void *lo, void *hi)
{
    struct mmt_snapshot before;
    for (uint64_t nth = 1;; nth++) {
        mmt_snapshot(g_as, lo, hi, &before);
        mmsim_inject_arm(kind, nth, MMSIM_INJECT_ONCE);
        int rc = rt_aspace_unmap_range(g_as, addr, len);
        uint64_t injected = mmsim_inject_disarm(kind);
        if (rc == RT_EOK) {
            assert_int_equal(injected, 0);
            assert_int_equal((int)nth - 1, expected_failures);
            return;
        }
        assert_int_equal(injected, 1);
        assert_int_equal(rc, -RT_ENOMEM);
        mmt_expect_unchanged(g_as, lo, hi, &before, "unmap_range with an allocation failing");
    }
}

static void test_unmap_range_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), 5 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    /* a split needs its subset varea: one heap allocation, no pages */
    expect_clean_failures(MMSIM_ALLOC_HEAP, va_at(2), PAGE, 1, va_at(-2), va_at(8));
    expect_clean_failures(MMSIM_ALLOC_PAGE, va_at(3), PAGE, 0, va_at(-2), va_at(8));
    /* a shrink and a removal allocate nothing */
    expect_clean_failures(MMSIM_ALLOC_HEAP, va_at(0), PAGE, 0, va_at(-2), va_at(8));
    expect_clean_failures(MMSIM_ALLOC_HEAP, va_at(4), PAGE, 0, va_at(-2), va_at(8));
    assert_int_equal(mmt_checked_vareas(g_as), 1);
    /* a device block in a dummy varea: cutting it needs a table page */
    void *blk = (void *)0x40000000;
    rt_varea_t v = rt_aspace_query(g_as, mmt_map(g_as, blk, 0x400000, 0, &rt_mm_dummy_mapper, 0));
    assert_int_equal(rt_varea_map_range(v, blk, (void *)0x08000000, 0x200000), RT_EOK);
    expect_clean_failures(MMSIM_ALLOC_PAGE, (char *)blk + PAGE, PAGE, 1, blk, (char *)blk + 0x400000);
    assert_false(mapped((char *)blk + PAGE));
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, (char *)blk + 2 * PAGE), (void *)(0x08000000 + 2 * PAGE));
    expect_clean_failures(MMSIM_ALLOC_PAGE, blk, 0x400000, 0, blk, (char *)blk + 0x400000);
}

/* The one case that is not all-or-nothing: both ends of a cut fall in blocks
 * and only the second split finds no table page. The first end is mapped
 * back (same translation), but stays split: one more table page. */
static void test_unmap_range_two_block_cuts_restore_translation(void **state)
{
    (void)state;
    void *blk = (void *)0x40000000;
    rt_varea_t v = rt_aspace_query(g_as, mmt_map(g_as, blk, 0x400000, 0, &rt_mm_dummy_mapper, 0));
    assert_int_equal(rt_varea_map_range(v, blk, (void *)0x08000000, 0x400000), RT_EOK);
    struct mmt_snapshot before, after;
    char *hi = (char *)blk + 0x400000;
    mmt_snapshot(g_as, blk, hi, &before);
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 2, MMSIM_INJECT_ONCE); /* page 1: first split, page 2: second */
    assert_int_equal(rt_aspace_unmap_range(g_as, (char *)blk + 0x1ff000, 2 * PAGE), -RT_ENOMEM);
    assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_PAGE), 1);
    mmt_snapshot(g_as, blk, hi, &after);
    assert_int_equal(after.pte_hash, before.pte_hash);
    assert_int_equal(after.nvareas, before.nvareas);
    assert_int_equal(after.tables, before.tables + 1);
    assert_int_equal(after.heap, before.heap);
    assert_int_equal(rt_aspace_unmap_range(g_as, (char *)blk + 0x1ff000, 2 * PAGE), RT_EOK);
    assert_false(mapped((char *)blk + 0x1ff000));
    assert_false(mapped((char *)blk + 0x200000));
    assert_true(mapped((char *)blk + 0x201000));
    assert_int_equal(mmt_checked_vareas(g_as), 2);
}

/* ---- TLB maintenance ------------------------------------------------------------ */

#define WIN_PAGES 64
struct tlb_watch
{
    rt_aspace_t aspace;
    char *lo;
    void *before[WIN_PAGES]; /* PA of each window page before the operation */
    bool covered[WIN_PAGES];
    int freed_too_early;     /* a frame already free when its TLB entry went */
    int calls;
};

static void watch_range(void *ctx, struct rt_aspace *as, void *va, size_t size, size_t stride)
{
    (void)stride;
    struct tlb_watch *w = ctx;
    if (as != w->aspace)
        return;
    w->calls++;
    for (int i = 0; i < WIN_PAGES; i++) {
        char *page = w->lo + (long)i * (long)PAGE;
        if (page < (char *)va || page >= (char *)va + size)
            continue;
        w->covered[i] = true;
        /* the invalidation of an unmap (not of a later map of a new frame) */
        if (w->before[i] != ARCH_MAP_FAILED && rt_hw_mmu_v2p(as, page) == ARCH_MAP_FAILED &&
            mmsim_phys_is_ram((uintptr_t)w->before[i]) &&
            mmsim_phys_frame_state((uintptr_t)w->before[i]) != MMSIM_FRAME_ALLOCATED)
            w->freed_too_early++;
    }
}

static void watch_page(void *ctx, struct rt_aspace *as, void *va)
{
    watch_range(ctx, as, va, PAGE, PAGE);
}

static void watch_start(struct tlb_watch *w, rt_aspace_t as, char *lo)
{
    memset(w, 0, sizeof *w);
    w->aspace = as;
    w->lo = lo;
    for (int i = 0; i < WIN_PAGES; i++)
        w->before[i] = rt_hw_mmu_v2p(as, lo + (long)i * (long)PAGE);
    struct mmsim_tlb_ops ops = { .invalidate_range = watch_range, .invalidate_page = watch_page };
    mmsim_tlb_ops_set(&ops, w);
}

/* Every page whose translation went away or changed was invalidated. */
static void watch_check(struct tlb_watch *w, const char *what)
{
    mmsim_tlb_ops_set(NULL, NULL);
    for (int i = 0; i < WIN_PAGES; i++) {
        void *now = rt_hw_mmu_v2p(w->aspace, w->lo + (long)i * (long)PAGE);
        if (w->before[i] != ARCH_MAP_FAILED && now != w->before[i] && !w->covered[i])
            fail_msg("%s: page %d unmapped without TLB invalidation", what, i);
    }
    if (w->freed_too_early)
        fail_msg("%s: %d frame(s) freed before their TLB entry was invalidated", what, w->freed_too_early);
}

static void test_unmap_every_removed_page_is_invalidated_before_its_frame_is_freed(void **state)
{
    (void)state;
    struct tlb_watch w;
    char *lo = va_at(0);
    static struct rt_mem_obj other;
    other = rt_mm_dummy_mapper;
    mmt_map(g_as, va_at(0), 16 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    watch_start(&w, g_as, lo);
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(0), 2 * PAGE), RT_EOK); /* shrink head */
    watch_check(&w, "shrink");
    watch_start(&w, g_as, lo);
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(5), 3 * PAGE), RT_EOK); /* split */
    watch_check(&w, "split");
    watch_start(&w, g_as, lo);
    mmt_map(g_as, va_at(9), 2 * PAGE, MMF_MAP_FIXED | MMF_PREFETCH, &other, 0); /* MAP_FIXED replace */
    watch_check(&w, "map fixed");
    watch_start(&w, g_as, lo);
    assert_int_equal(rt_aspace_unmap(g_as, va_at(2)), RT_EOK); /* close */
    watch_check(&w, "unmap");
    rt_varea_t v = rt_aspace_query(g_as, va_at(12));
    void *frames[3];
    for (int i = 0; i < 3; i++)
        frames[i] = rt_kmem_p2v(rt_hw_mmu_v2p(g_as, va_at(12 + i)));
    watch_start(&w, g_as, lo);
    assert_int_equal(rt_varea_unmap_page(v, va_at(12)), RT_EOK);
    assert_int_equal(rt_varea_unmap_range(v, va_at(13), 2 * PAGE), RT_EOK);
    watch_check(&w, "rt_varea_unmap_*");
    for (int i = 0; i < 3; i++) /* these drop no reference (P5): the caller does */
        assert_int_equal(rt_pages_free(frames[i], 0), 1);
    /* physical varea: the core's own unmap */
    struct rt_mm_va_hint hint = { .limit_start = (void *)USER_START, .limit_range_size = USER_TOP - USER_START,
                                  .prefer = va_at(40), .map_size = 4 * PAGE };
    assert_int_equal(rt_aspace_map_phy(g_as, &hint, MMU_MAP_U_DEVICE, 0x9000, NULL), RT_EOK);
    watch_start(&w, g_as, lo);
    assert_int_equal(rt_aspace_unmap(g_as, va_at(40)), RT_EOK);
    watch_check(&w, "phy unmap");
    /* a failed prefetch's undo */
    mmt_map(g_as, va_at(50), PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 50);
    watch_start(&w, g_as, lo);
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 2, MMSIM_INJECT_ONCE);
    void *va = va_at(51);
    assert_int_equal(rt_aspace_map(g_as, &va, 3 * PAGE, MMU_MAP_U_RWCB, MMF_PREFETCH, &rt_mm_dummy_mapper, 51),
                     -RT_ENOMEM);
    mmsim_inject_disarm(MMSIM_ALLOC_PAGE);
    watch_check(&w, "prefetch undo");
    /* detach of everything */
    watch_start(&w, g_as, lo);
    rt_aspace_detach(g_as);
    watch_check(&w, "detach");
    assert_int_equal(rt_aspace_init(g_as, (void *)USER_START, USER_TOP - USER_START, g_as->page_table), RT_EOK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, mmt_setup, mmt_teardown)
        T(test_unmap_removes_the_whole_varea_and_its_frames),
        T(test_unmap_of_a_physical_varea_is_done_by_the_core),
        T(test_unmap_range_invalid_param_follows_rtthread_utest),
        T(test_unmap_range_shrink_follows_rtthread_utest),
        T(test_unmap_range_split_follows_rtthread_utest),
        T(test_unmap_range_over_several_vareas_cuts_and_removes),
        T(test_unmap_range_is_all_or_nothing),
        T(test_unmap_range_callback_errors_pass_through),
        T(test_unmap_range_fails_cleanly_at_every_allocation),
        T(test_unmap_range_two_block_cuts_restore_translation),
        T(test_unmap_every_removed_page_is_invalidated_before_its_frame_is_freed),
#undef T
    };
    return cmocka_run_group_tests_name("unmap", tests, NULL, NULL);
}
