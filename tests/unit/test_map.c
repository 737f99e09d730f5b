/* rt_aspace_map and friends: argument checks, first-fit placement, MAP_FIXED
 * replacement, neighbour expansion and RT-Thread's merge rule (P1),
 * prefetch (P2), static vareas, physical maps (P12), the callback contract,
 * and allocation failure at every allocation point.
 *
 * Counts: a user page at 0x100000000 (L0[0] L1[4] L2[0]) needs three table
 * pages below the root; data frames are one per prefetched page (P5). */
#include <stdio.h>
#include <string.h>
#include "mm_util.h"

#define g_as mmt_as

/* ---- arguments ------------------------------------------------------------- */

static void test_map_bad_arguments_return_rtthread_codes(void **state)
{
    (void)state;
    void *addr = UTEST_VA;
    size_t heap = mmsim_heap_used();
    assert_int_equal(rt_aspace_map(NULL, &addr, PAGE, MMU_MAP_U_RWCB, 0, &rt_mm_dummy_mapper, 0), -RT_EINVAL);
    assert_null(addr);
    assert_int_equal(rt_aspace_map(g_as, NULL, PAGE, MMU_MAP_U_RWCB, 0, &rt_mm_dummy_mapper, 0), -RT_EINVAL);
    addr = UTEST_VA;
    assert_int_equal(rt_aspace_map(g_as, &addr, PAGE, MMU_MAP_U_RWCB, 0, NULL, 0), -RT_EINVAL);
    addr = UTEST_VA;
    assert_int_equal(rt_aspace_map(g_as, &addr, 0, MMU_MAP_U_RWCB, 0, &rt_mm_dummy_mapper, 0), -RT_EINVAL);
    /* a kernel VA in a user aspace, and a range running past its top */
    addr = (void *)(KERNEL_VADDR_START + 0x1000);
    assert_int_equal(rt_aspace_map(g_as, &addr, PAGE, MMU_MAP_U_RWCB, 0, &rt_mm_dummy_mapper, 0), -RT_EINVAL);
    addr = (void *)(USER_TOP - PAGE);
    assert_int_equal(rt_aspace_map(g_as, &addr, 2 * PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED, &rt_mm_dummy_mapper, 0),
                     -RT_EINVAL);
    addr = NULL; /* anywhere, but bigger than the aspace */
    assert_int_equal(rt_aspace_map(g_as, &addr, USER_TOP, MMU_MAP_U_RWCB, 0, &rt_mm_dummy_mapper, 0), -RT_EINVAL);
    /* the utest's flags = -1 */
    addr = UTEST_VA;
    assert_int_equal(rt_aspace_map(g_as, &addr, PAGE, MMU_MAP_U_RWCB, (mm_flag_t)-1, &rt_mm_dummy_mapper, 0),
                     -RT_ENOSYS);
    assert_null(addr);
    addr = UTEST_VA;
    assert_int_equal(rt_aspace_map(g_as, &addr, PAGE, MMU_MAP_U_RWCB, MMF_STATIC_ALLOC, &rt_mm_dummy_mapper, 0),
                     -RT_EINVAL);
    /* MAP_FIXED at VA 0: rejected (P3), never "OK with nothing installed" */
    addr = NULL;
    assert_int_equal(rt_aspace_map(g_as, &addr, PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED, &rt_mm_dummy_mapper, 0),
                     -RT_EINVAL);
    /* caller errors RT-Thread asserts on */
    addr = va_at(0) + 8;
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_map(g_as, &addr, PAGE, MMU_MAP_U_RWCB, 0,
                                                        &rt_mm_dummy_mapper, 0), -RT_EINVAL));
    assert_null(addr);
    addr = UTEST_VA;
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_map(g_as, &addr, 100, MMU_MAP_U_RWCB, 0,
                                                        &rt_mm_dummy_mapper, 0), -RT_EINVAL));
    struct rt_mem_obj no_fault = rt_mm_dummy_mapper;
    no_fault.on_page_fault = NULL;
    addr = UTEST_VA;
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_map(g_as, &addr, PAGE, MMU_MAP_U_RWCB, MMF_PREFETCH,
                                                        &no_fault, 0), -RT_EINVAL));
    assert_int_equal(mmt_checked_vareas(g_as), 0);
    assert_int_equal(mmsim_heap_used(), heap);
    assert_int_equal(mmt_tables(g_as), 1);
}

/* ---- placement ------------------------------------------------------------- */

static void test_map_anywhere_is_first_fit_from_the_bottom(void **state)
{
    (void)state;
    void *a = mmt_map(g_as, NULL, 2 * PAGE, 0, &rt_mm_dummy_mapper, 0);
    assert_ptr_equal(a, (void *)USER_START);
    /* offset 100 is not contiguous with a's 0..1: no expansion, next fit */
    void *b = mmt_map(g_as, NULL, PAGE, 0, &rt_mm_dummy_mapper, 100);
    assert_ptr_equal(b, (void *)(USER_START + 2 * PAGE));
    assert_int_equal(rt_aspace_unmap(g_as, a), RT_EOK);
    /* the hole at the bottom is found again; too big for it goes above b */
    void *c = mmt_map(g_as, NULL, 3 * PAGE, 0, &rt_mm_dummy_mapper, 200);
    assert_ptr_equal(c, (void *)(USER_START + 3 * PAGE));
    void *d = mmt_map(g_as, NULL, 2 * PAGE, 0, &rt_mm_dummy_mapper, 300);
    assert_ptr_equal(d, (void *)USER_START);
    assert_int_equal(mmt_checked_vareas(g_as), 3);
}

static void test_map_alignment_request_is_honoured(void **state)
{
    (void)state;
    mmt_map(g_as, NULL, PAGE, 0, &rt_mm_dummy_mapper, 0);
    /* mm_api_tc: MMF_CREATE(0, 64 MiB) gives a 64 MiB-aligned VA */
    void *a = mmt_map(g_as, NULL, PAGE, MMF_CREATE(0, 0x04000000), &rt_mm_dummy_mapper, 50);
    assert_ptr_equal(a, (void *)0x04000000);
    /* an alignment below a page means a page */
    void *b = mmt_map(g_as, NULL, PAGE, MMF_CREATE(0, 16), &rt_mm_dummy_mapper, 70);
    assert_ptr_equal(b, (void *)(USER_START + PAGE));
    /* a prefer is aligned up before it is tried */
    void *c = mmt_map(g_as, (void *)0x08001000, PAGE, MMF_CREATE(0, 0x200000), &rt_mm_dummy_mapper, 90);
    assert_ptr_equal(c, (void *)0x08200000);
    /* an alignment no VA in the space can meet */
    void *d = NULL;
    assert_int_equal(rt_aspace_map(g_as, &d, PAGE, MMU_MAP_U_RWCB, MMF_REQUEST_ALIGN | 63, &rt_mm_dummy_mapper, 0),
                     -RT_ENOSPC);
    assert_null(d);
}

static void test_map_prefer_is_taken_when_free_else_first_fit_above(void **state)
{
    (void)state;
    assert_ptr_equal(mmt_map(g_as, va_at(0), 2 * PAGE, 0, &rt_mm_dummy_mapper, 0), va_at(0));
    assert_ptr_equal(mmt_map(g_as, va_at(3), PAGE, 0, &rt_mm_dummy_mapper, 10), va_at(3));
    /* overlaps the first varea: the lowest fit at or above the prefer */
    assert_ptr_equal(mmt_map(g_as, va_at(1), PAGE, 0, &rt_mm_dummy_mapper, 20), va_at(2));
    assert_ptr_equal(mmt_map(g_as, va_at(1), 2 * PAGE, 0, &rt_mm_dummy_mapper, 30), va_at(4));
    /* nothing fits above the prefer: back to the bottom of the space */
    void *top = (void *)(USER_TOP - PAGE);
    assert_ptr_equal(mmt_map(g_as, top, PAGE, 0, &rt_mm_dummy_mapper, 40), top);
    assert_ptr_equal(mmt_map(g_as, top, PAGE, 0, &rt_mm_dummy_mapper, 50), (void *)USER_START);
    assert_int_equal(mmt_checked_vareas(g_as), 6);
}

static void test_map_full_space_is_enospc(void **state)
{
    (void)state;
    /* a small aspace: four pages */
    void *pgtbl = rt_hw_mmu_pgtbl_create();
    rt_aspace_t small = rt_aspace_create(UTEST_VA, 4 * PAGE, pgtbl);
    mmt_map(small, NULL, 3 * PAGE, 0, &rt_mm_dummy_mapper, 0);
    void *va = NULL;
    assert_int_equal(rt_aspace_map(small, &va, 2 * PAGE, MMU_MAP_U_RWCB, 0, &rt_mm_dummy_mapper, 9), -RT_ENOSPC);
    assert_null(va);
    assert_ptr_equal(mmt_map(small, NULL, PAGE, 0, &rt_mm_dummy_mapper, 9), va_at(3));
    va = NULL;
    assert_int_equal(rt_aspace_map(small, &va, PAGE, MMU_MAP_U_RWCB, 0, &rt_mm_dummy_mapper, 20), -RT_ENOSPC);
    mmt_aspace_free(small);
}

/* ---- prefetch and expansion -------------------------------------------------- */

static void test_map_prefetch_maps_every_page_with_exact_frames(void **state)
{
    (void)state;
    size_t frames = mmt_frames();
    void *va = mmt_map(g_as, UTEST_VA, 5 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    assert_ptr_equal(va, UTEST_VA);
    assert_int_equal(mmt_tables(g_as), 4);     /* root + L1 + L2 + L3 */
    assert_int_equal(mmt_pages(g_as), 5);
    assert_int_equal(mmt_frames() - frames, 3 + 5);
    for (long i = 0; i < 5; i++) {
        void *pa = rt_hw_mmu_v2p(g_as, va_at(i));
        assert_ptr_not_equal(pa, ARCH_MAP_FAILED);
        assert_int_equal(rt_page_ref_get(rt_kmem_p2v(pa), 0), 1); /* the PTE's reference (P5) */
#ifdef MMSIM_DEBUG_AIDS
        /* P6: fresh frames are not zeroed (debug builds fill them with 0x5a) */
        assert_int_equal(*(unsigned char *)rt_kmem_p2v(pa), MMSIM_UNINIT_BYTE);
#endif
    }
    /* no prefetch: nothing mapped, no frame taken */
    frames = mmt_frames();
    mmt_map(g_as, va_at(10), 2 * PAGE, 0, &rt_mm_dummy_mapper, 0);
    assert_int_equal(mmt_frames(), frames);
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, va_at(10)), ARCH_MAP_FAILED);
}

/* RT-Thread's aspace_map_expand utest, with mmsim's exact frame counts: the
 * re-prefetch of an expanded varea takes no frame for pages it had (P2). */
static void test_map_expand_follows_rtthread_utest(void **state)
{
    (void)state;
    size_t heap = mmsim_heap_used(), frames = mmt_frames();
    rt_base_t vsz = rt_aspace_count_vsz(g_as);
    const mm_flag_t flags = MMF_PREFETCH | MMF_MAP_FIXED;
    void *va = UTEST_VA;
    assert_int_equal(rt_aspace_map(g_as, &va, 0x3000, MMU_MAP_K_RWCB, flags, &rt_mm_dummy_mapper, 1024), RT_EOK);
    assert_ptr_equal(va, UTEST_VA);
    assert_int_equal(rt_aspace_count_vsz(g_as), vsz + 0x3000);
    assert_int_equal(mmt_checked_vareas(g_as), 1);
    void *first_pa = rt_hw_mmu_v2p(g_as, va_at(0));

    va = va_at(3); /* right expansion */
    assert_int_equal(rt_aspace_map(g_as, &va, 0x3000, MMU_MAP_K_RWCB, flags, &rt_mm_dummy_mapper, 1027), RT_EOK);
    assert_ptr_equal(va, va_at(3));
    assert_int_equal(rt_aspace_count_vsz(g_as), vsz + 0x6000);
    assert_int_equal(mmt_checked_vareas(g_as), 1);
    assert_int_equal(mmt_frames() - frames, 3 + 6); /* RT-Thread: 3 + 9, three leaked */
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, va_at(0)), first_pa);

    va = va_at(-3); /* left expansion: 0xffffd000 needs a new L2 and L3 */
    assert_int_equal(rt_aspace_map(g_as, &va, 0x3000, MMU_MAP_K_RWCB, flags, &rt_mm_dummy_mapper, 1021), RT_EOK);
    assert_ptr_equal(va, va_at(-3));
    assert_int_equal(mmt_checked_vareas(g_as), 1);
    rt_varea_t v = ASPACE_VAREA_FIRST(g_as);
    assert_ptr_equal(v->start, va_at(-3));
    assert_int_equal(v->size, 0x9000);
    assert_int_equal(v->offset, 1021); /* rebased */
    assert_int_equal(mmt_pages(g_as), 9);
    assert_int_equal(mmt_frames() - frames, 5 + 9);

    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(-3), 0x9000), RT_EOK);
    assert_int_equal(rt_aspace_count_vsz(g_as), vsz);
    assert_int_equal(mmt_frames(), frames);
    assert_int_equal(mmsim_heap_used(), heap); /* CONSIST_HEAP */
}

/* P1: compatibility is judged with the new mapping's offset and the operand's
 * size, so after a forward expansion nothing merges, while a backward
 * expansion can merge with the varea above. */
static void test_map_merge_rule_is_rtthreads(void **state)
{
    (void)state;
    static struct mmt_rec rec; /* outlives the test: teardown closes its vareas */
    mmt_rec_init(&rec);
    /* forward: A = p0 (off 0), B = p2 (off 2); p1 (off 1) joins A, not B */
    mmt_map(g_as, va_at(0), PAGE, MMF_MAP_FIXED, &rec.obj, 0);
    mmt_map(g_as, va_at(2), PAGE, MMF_MAP_FIXED, &rec.obj, 2);
    mmt_rec_clear(&rec);
    mmt_map(g_as, va_at(1), PAGE, MMF_MAP_FIXED, &rec.obj, 1);
    assert_string_equal(rec.log, "expand(0,1->0,2) ");
    assert_int_equal(mmt_checked_vareas(g_as), 2); /* a "correct" merge would give 1 */

    /* backward: D = p11 and E = p12 side by side (D's expansion refused), then
     * p10 joins D from below and D absorbs E */
    rec.expand_rc = -RT_EPERM;
    mmt_map(g_as, va_at(12), PAGE, MMF_MAP_FIXED, &rec.obj, 12);
    mmt_map(g_as, va_at(11), PAGE, MMF_MAP_FIXED, &rec.obj, 11);
    assert_int_equal(mmt_checked_vareas(g_as), 4);
    rec.expand_rc = RT_EOK;
    mmt_rec_clear(&rec);
    mmt_map(g_as, va_at(10), PAGE, MMF_MAP_FIXED, &rec.obj, 10);
    assert_string_equal(rec.log, "expand(11,1->10,2) merge(10<-12) ");
    assert_int_equal(mmt_checked_vareas(g_as), 3);
    rt_varea_t v = rt_aspace_query(g_as, va_at(12));
    assert_ptr_equal(v->start, va_at(10));
    assert_int_equal(v->size, 3 * PAGE);
    assert_int_equal(v->offset, 10);
}

/* §0.1 item 9: a refused merge leaves both vareas as they were, and the
 * loop ends (RT-Thread's does not). */
static void test_map_refused_merge_leaves_both_vareas(void **state)
{
    (void)state;
    static struct mmt_rec rec; /* outlives the test: teardown closes its vareas */
    mmt_rec_init(&rec);
    rec.expand_rc = -RT_EPERM;
    mmt_map(g_as, va_at(2), PAGE, MMF_MAP_FIXED, &rec.obj, 2);
    mmt_map(g_as, va_at(1), PAGE, MMF_MAP_FIXED, &rec.obj, 1);
    rec.expand_rc = RT_EOK;
    rec.merge_rc = -RT_ERROR;
    mmt_rec_clear(&rec);
    mmt_map(g_as, va_at(0), PAGE, MMF_MAP_FIXED, &rec.obj, 0);
    assert_string_equal(rec.log, "expand(1,1->0,2) merge(0<-2) ");
    assert_int_equal(mmt_checked_vareas(g_as), 2);
    rt_varea_t lo = rt_aspace_query(g_as, va_at(0)), hi = rt_aspace_query(g_as, va_at(2));
    assert_ptr_equal(lo->start, va_at(0));
    assert_int_equal(lo->size, 2 * PAGE);
    assert_ptr_equal(hi->start, va_at(2));
    assert_int_equal(hi->size, PAGE);
}

static void test_map_expansion_needs_identical_attr_flags_object(void **state)
{
    (void)state;
    static struct rt_mem_obj other;
    other = rt_mm_dummy_mapper;
    mmt_map(g_as, va_at(0), PAGE, MMF_MAP_FIXED, &rt_mm_dummy_mapper, 0);
    void *va = va_at(1);
    assert_int_equal(rt_aspace_map(g_as, &va, PAGE, MMU_MAP_U_ROCB, MMF_MAP_FIXED, &rt_mm_dummy_mapper, 1), RT_EOK);
    mmt_map(g_as, va_at(2), PAGE, MMF_MAP_FIXED | MMF_MAP_SHARED, &rt_mm_dummy_mapper, 2);
    mmt_map(g_as, va_at(3), PAGE, MMF_MAP_FIXED, &other, 3);
    mmt_map(g_as, va_at(4), PAGE, MMF_MAP_FIXED, &rt_mm_dummy_mapper, 5); /* offset gap */
    assert_int_equal(mmt_checked_vareas(g_as), 5);
    mmt_map(g_as, va_at(5), PAGE, MMF_MAP_FIXED, &rt_mm_dummy_mapper, 6);
    assert_int_equal(mmt_checked_vareas(g_as), 5);
}

/* ---- MAP_FIXED ------------------------------------------------------------- */

static void test_map_fixed_replaces_what_is_there(void **state)
{
    (void)state;
    static struct rt_mem_obj other;
    other = rt_mm_dummy_mapper;
    size_t frames = mmt_frames();
    mmt_map(g_as, va_at(0), 5 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    void *old_pa = rt_hw_mmu_v2p(g_as, va_at(2));
    /* a page in the middle, another object: split, +2 vareas */
    mmt_map(g_as, va_at(2), PAGE, MMF_MAP_FIXED | MMF_PREFETCH, &other, 0);
    assert_int_equal(mmt_checked_vareas(g_as), 3);
    assert_int_equal(rt_aspace_count_vsz(g_as), 5 * PAGE);
    assert_ptr_equal(rt_aspace_query(g_as, va_at(2))->mem_obj, &other);
    assert_ptr_equal(rt_aspace_query(g_as, va_at(3))->mem_obj, &rt_mm_dummy_mapper);
    assert_int_equal(rt_aspace_query(g_as, va_at(3))->offset, 3);
    assert_int_equal(mmt_pages(g_as), 5);
    assert_int_equal(mmt_frames() - frames, 3 + 5); /* the replaced frame went back */
    (void)old_pa;
    /* over the whole range: everything goes, one varea remains */
    mmt_map(g_as, va_at(0), 5 * PAGE, MMF_MAP_FIXED, &other, 40);
    assert_int_equal(mmt_checked_vareas(g_as), 1);
    assert_int_equal(mmt_pages(g_as), 0);
    assert_int_equal(mmt_frames() - frames, 0); /* tables went with the last page */
}

/* P3: the implicit unmap's error is returned and nothing changes (RT-Thread
 * logs it, maps anyway, and may return OK with the varea not in the tree). */
static void test_map_fixed_unmap_error_is_returned_and_changes_nothing(void **state)
{
    (void)state;
    static struct rt_mem_obj no_shrink;
    no_shrink = rt_mm_dummy_mapper;
    no_shrink.on_varea_shrink = NULL;
    no_shrink.on_varea_split = NULL;
    mmt_map(g_as, va_at(0), 2 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    mmt_map(g_as, va_at(2), 3 * PAGE, MMF_PREFETCH, &no_shrink, 0);
    struct mmt_snapshot before;
    mmt_snapshot(g_as, va_at(-4), va_at(8), &before);
    /* cuts the first varea's tail (fine) and the second's head (refused) */
    void *va = va_at(1);
    assert_int_equal(rt_aspace_map(g_as, &va, 2 * PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED | MMF_PREFETCH,
                                   &rt_mm_dummy_mapper, 7), -RT_EPERM);
    assert_null(va);
    mmt_expect_unchanged(g_as, va_at(-4), va_at(8), &before, "fixed over a varea without shrink");
    va = va_at(3); /* a hole in the middle: split refused */
    assert_int_equal(rt_aspace_map(g_as, &va, PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED, &rt_mm_dummy_mapper, 7),
                     -RT_EPERM);
    mmt_expect_unchanged(g_as, va_at(-4), va_at(8), &before, "fixed inside a varea without split");
}

/* _mm_aspace_map (used by the COW path) rejects MAP_FIXED at VA 0 as well,
 * and a search in a space starting at 0 never hands out VA 0. */
static void test_map_va_zero_is_never_an_answer(void **state)
{
    (void)state;
    struct rt_aspace zero;
    memset(&zero, 0, sizeof zero);
    void *pgtbl = rt_hw_mmu_pgtbl_create();
    assert_int_equal(rt_aspace_init(&zero, NULL, 16 * PAGE, pgtbl), RT_EOK);
    rt_varea_t varea = NULL;
    void *va = NULL;
    assert_int_equal(_mm_aspace_map(&zero, &varea, &va, PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED,
                                    &rt_mm_dummy_mapper, 0), -RT_EINVAL);
    assert_null(varea);
    assert_ptr_equal(mmt_map(&zero, NULL, PAGE, 0, &rt_mm_dummy_mapper, 0), (void *)PAGE);
    rt_aspace_detach(&zero);
    rt_hw_mmu_pgtbl_delete(pgtbl);
}

/* ---- static vareas --------------------------------------------------------- */

static void test_map_static_uses_the_callers_varea(void **state)
{
    (void)state;
    struct rt_varea mine;
    memset(&mine, 0, sizeof mine);
    size_t heap = mmsim_heap_used();
    void *va = UTEST_VA;
    assert_int_equal(rt_aspace_map_static(g_as, &mine, &va, 2 * PAGE, MMU_MAP_U_RWCB, MMF_PREFETCH,
                                          &rt_mm_dummy_mapper, 0), RT_EOK);
    assert_ptr_equal(va, UTEST_VA);
    assert_int_equal(mmsim_heap_used(), heap); /* no malloc */
    assert_ptr_equal(rt_aspace_query(g_as, va), &mine);
    assert_int_equal(mine.flag, MMF_PREFETCH | MMF_STATIC_ALLOC);
    assert_int_equal(mine.size, 2 * PAGE);
    assert_int_equal(mmt_pages(g_as), 2);
    assert_int_equal(rt_aspace_unmap(g_as, va), RT_EOK); /* not freed: the test would crash */
    assert_int_equal(mmt_pages(g_as), 0);
    assert_int_equal(mmsim_heap_used(), heap);

    va = UTEST_VA;
    assert_int_equal(rt_aspace_map_static(g_as, NULL, &va, PAGE, MMU_MAP_U_RWCB, 0, &rt_mm_dummy_mapper, 0),
                     -RT_EINVAL);
    assert_null(va);
    assert_int_equal(rt_aspace_map_static(g_as, &mine, NULL, PAGE, MMU_MAP_U_RWCB, 0, &rt_mm_dummy_mapper, 0),
                     -RT_EINVAL);
    va = UTEST_VA;
    assert_int_equal(rt_aspace_map_static(g_as, &mine, &va, PAGE, MMU_MAP_U_RWCB, (mm_flag_t)-1,
                                          &rt_mm_dummy_mapper, 0), -RT_ENOSYS);
    /* absorbed by a static neighbour: `mine` stays unused, *addr is the range */
    struct rt_varea other;
    memset(&other, 0, sizeof other);
    va = va_at(0);
    assert_int_equal(rt_aspace_map_static(g_as, &other, &va, PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED,
                                          &rt_mm_dummy_mapper, 0), RT_EOK);
    memset(&mine, 0, sizeof mine);
    va = va_at(1);
    assert_int_equal(rt_aspace_map_static(g_as, &mine, &va, PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED,
                                          &rt_mm_dummy_mapper, 1), RT_EOK);
    assert_ptr_equal(va, va_at(1));
    assert_ptr_equal(rt_aspace_query(g_as, va_at(1)), &other);
    assert_int_equal(other.size, 2 * PAGE);
    assert_int_equal(mmt_checked_vareas(g_as), 1);
    assert_int_equal(rt_aspace_unmap(g_as, va_at(0)), RT_EOK);
}

/* ---- the callback contract ------------------------------------------------- */

static void *g_steer_to;
static void steer(rt_mm_va_hint_t hint)
{
    hint->prefer = g_steer_to;
    hint->flags |= MMF_MAP_FIXED;
}

static void test_map_callbacks_come_at_the_documented_points(void **state)
{
    (void)state;
    static struct mmt_rec rec; /* outlives the test: teardown closes its vareas */
    mmt_rec_init(&rec);
    /* a new varea: open, then one fault per prefetched page */
    mmt_map(g_as, va_at(0), 2 * PAGE, MMF_PREFETCH, &rec.obj, 5);
    assert_string_equal(rec.log, "open(0,2) fault(0,off=5) fault(1,off=6) ");
    /* absorbed: expand (before the varea changes), no open; only new pages fault */
    mmt_rec_clear(&rec);
    mmt_map(g_as, va_at(2), PAGE, MMF_PREFETCH, &rec.obj, 7);
    assert_string_equal(rec.log, "expand(0,2->0,3) fault(2,off=7) ");
    /* expansion refused: a new varea is opened instead */
    rec.expand_rc = -RT_EBUSY;
    mmt_rec_clear(&rec);
    mmt_map(g_as, va_at(3), PAGE, MMF_PREFETCH, &rec.obj, 8);
    assert_string_equal(rec.log, "expand(0,3->0,4) open(3,1) fault(3,off=8) ");
    assert_int_equal(mmt_checked_vareas(g_as), 2);
    /* hint_free runs first and may steer the mapping */
    rec.obj.hint_free = steer;
    g_steer_to = va_at(20);
    mmt_rec_clear(&rec);
    assert_ptr_equal(mmt_map(g_as, NULL, PAGE, 0, &rec.obj, 100), va_at(20));
    assert_string_equal(rec.log, "open(20,1) ");
    assert_int_equal(rt_aspace_query(g_as, va_at(20))->flag, 0); /* the varea keeps the caller's flags */
    /* unmap: close only */
    mmt_rec_clear(&rec);
    assert_int_equal(rt_aspace_unmap(g_as, va_at(3)), RT_EOK);
    assert_string_equal(rec.log, "close(3,1) ");
    mmt_rec_clear(&rec);
    rt_aspace_detach(g_as); /* every varea closed, ascending */
    assert_string_equal(rec.log, "close(0,3) close(20,1) ");
    assert_int_equal(rt_aspace_init(g_as, (void *)USER_START, USER_TOP - USER_START, g_as->page_table), RT_EOK);
}

/* A failed prefetch removes what the map added, and only that (a neighbour
 * that absorbed the range gives it back through on_varea_shrink). */
static void test_map_failed_prefetch_takes_back_only_the_new_range(void **state)
{
    (void)state;
    static struct mmt_rec rec; /* outlives the test: teardown closes its vareas */
    mmt_rec_init(&rec);
    mmt_map(g_as, va_at(0), 2 * PAGE, MMF_PREFETCH, &rec.obj, 0);
    struct mmt_snapshot before;
    mmt_snapshot(g_as, va_at(-2), va_at(8), &before);
    mmt_rec_clear(&rec);
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 2, MMSIM_INJECT_ONCE); /* the second new page */
    void *va = va_at(2);
    assert_int_equal(rt_aspace_map(g_as, &va, 3 * PAGE, MMU_MAP_U_RWCB, MMF_PREFETCH, &rec.obj, 2), -RT_ENOMEM);
    assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_PAGE), 1);
    assert_string_equal(rec.log, "expand(0,2->0,5) fault(2,off=2) fault(3,off=3) shrink(0,5->0,2) ");
    mmt_expect_unchanged(g_as, va_at(-2), va_at(8), &before, "failed prefetch in an expanded varea");
}

/* ---- allocation failure everywhere -------------------------------------------- */

typedef int (*map_op_t)(void);

/* Run `op` with the nth allocation of `kind` failing, n = 1, 2, ... until it
 * succeeds; every failure must leave the window as it was. Returns how many
 * failures were injected. */
static int fail_each_allocation(enum mmsim_alloc_kind kind, map_op_t op, void *lo, void *hi)
{
    struct mmt_snapshot before;
    for (uint64_t nth = 1;; nth++) {
        mmt_snapshot(g_as, lo, hi, &before);
        mmsim_inject_arm(kind, nth, MMSIM_INJECT_ONCE);
        int rc = op();
        uint64_t injected = mmsim_inject_disarm(kind);
        if (rc == RT_EOK) {
            assert_int_equal(injected, 0);
            return (int)nth - 1;
        }
        assert_int_equal(injected, 1);
        if (rc != -RT_ENOMEM && rc != -RT_ERROR)
            fail_msg("allocation %llu: unexpected %d", (unsigned long long)nth, rc);
        char what[64];
        snprintf(what, sizeof what, "%s allocation %llu failed", kind == MMSIM_ALLOC_HEAP ? "heap" : "page",
                 (unsigned long long)nth);
        mmt_expect_unchanged(g_as, lo, hi, &before, what);
    }
}

static int op_map_new_prefetch(void)
{
    void *va = va_at(8);
    return rt_aspace_map(g_as, &va, 3 * PAGE, MMU_MAP_U_RWCB, MMF_PREFETCH, &rt_mm_dummy_mapper, 8);
}

static int op_map_expand_prefetch(void)
{
    void *va = va_at(2);
    return rt_aspace_map(g_as, &va, 2 * PAGE, MMU_MAP_U_RWCB, MMF_PREFETCH, &rt_mm_dummy_mapper, 2);
}

static struct rt_mem_obj g_other;

static int op_map_fixed_split(void)
{
    void *va = va_at(1);
    return rt_aspace_map(g_as, &va, PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED, &g_other, 0);
}

static int op_map_fixed_prefetch_far(void)
{
    void *va = (void *)0x7f0000000000ul; /* a fresh L0 slot: four tables */
    return rt_aspace_map(g_as, &va, PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED | MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
}

static void test_map_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    g_other = rt_mm_dummy_mapper;
    void *lo = va_at(-8), *hi = va_at(16);
    /* new varea (heap 1), then per page: frame, and tables for the first */
    assert_int_equal(fail_each_allocation(MMSIM_ALLOC_HEAP, op_map_new_prefetch, lo, hi), 1);
    assert_int_equal(rt_aspace_unmap(g_as, va_at(8)), RT_EOK);
    assert_int_equal(fail_each_allocation(MMSIM_ALLOC_PAGE, op_map_new_prefetch, lo, hi), 3 + 3);
    /* absorbed by a neighbour: no heap at all, a frame per page */
    assert_int_equal(rt_aspace_unmap(g_as, va_at(8)), RT_EOK);
    mmt_map(g_as, va_at(0), 2 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    assert_int_equal(fail_each_allocation(MMSIM_ALLOC_HEAP, op_map_expand_prefetch, lo, hi), 0);
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(2), 2 * PAGE), RT_EOK);
    assert_int_equal(fail_each_allocation(MMSIM_ALLOC_PAGE, op_map_expand_prefetch, lo, hi), 2);
    assert_int_equal(mmt_checked_vareas(g_as), 1);
    /* MAP_FIXED punching a hole: the split's varea and the new one */
    assert_int_equal(fail_each_allocation(MMSIM_ALLOC_HEAP, op_map_fixed_split, lo, hi), 2);
    assert_int_equal(mmt_checked_vareas(g_as), 3);
    assert_int_equal(fail_each_allocation(MMSIM_ALLOC_PAGE, op_map_fixed_split, lo, hi), 0);
    /* MAP_FIXED|PREFETCH where nothing was: a varea, four tables, a frame */
    void *far = (void *)0x7f0000000000ul;
    assert_int_equal(fail_each_allocation(MMSIM_ALLOC_HEAP, op_map_fixed_prefetch_far, far, (char *)far + PAGE), 1);
    assert_int_equal(rt_aspace_unmap(g_as, far), RT_EOK);
    assert_int_equal(fail_each_allocation(MMSIM_ALLOC_PAGE, op_map_fixed_prefetch_far, far, (char *)far + PAGE),
                     1 + 3);
}

/* What cannot be reserved: MAP_FIXED|PREFETCH over live pages whose prefetch
 * fails has already emptied the range. The error is returned, the new varea
 * is gone and nothing leaks; the replaced pages are not restored. */
static void test_map_fixed_prefetch_failure_over_pages_loses_them_without_leaking(void **state)
{
    (void)state;
    size_t frames = mmt_frames(), heap = mmsim_heap_used();
    mmt_map(g_as, va_at(0), 4 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 1, MMSIM_INJECT_ONCE);
    void *va = va_at(1);
    assert_int_equal(rt_aspace_map(g_as, &va, 2 * PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED | MMF_PREFETCH,
                                   &g_other, 0), -RT_ENOMEM);
    mmsim_inject_disarm(MMSIM_ALLOC_PAGE);
    assert_int_equal(mmt_checked_vareas(g_as), 2);
    assert_int_equal(rt_aspace_count_vsz(g_as), 2 * PAGE);
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, va_at(1)), ARCH_MAP_FAILED);
    assert_int_equal(mmt_frames() - frames, 3 + 2);
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(0), 4 * PAGE), RT_EOK);
    assert_int_equal(mmt_frames(), frames);
    assert_int_equal(mmsim_heap_used(), heap);
}

/* ---- physical maps ------------------------------------------------------------- */

static void test_map_phy_maps_the_whole_range_and_edits_the_hint(void **state)
{
    (void)state;
    struct rt_mm_va_hint hint = {
        .limit_start = (void *)USER_START,
        .limit_range_size = USER_TOP - USER_START,
        .prefer = UTEST_VA,
        .map_size = 3 * PAGE,
        .flags = MMF_STATIC_ALLOC,
    };
    void *va = (void *)1;
    size_t heap = mmsim_heap_used();
    assert_int_equal(rt_aspace_map_phy(g_as, &hint, MMU_MAP_U_DEVICE, 0x09000, &va), RT_EOK);
    assert_ptr_equal(va, UTEST_VA);
    assert_int_equal(hint.flags, 0); /* P12: the caller's hint is edited */
    rt_varea_t v = rt_aspace_query(g_as, va_at(2));
    assert_null(v->mem_obj);
    assert_int_equal(v->offset, 0x09000);
    assert_int_equal(v->attr, MMU_MAP_U_DEVICE);
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, va_at(2) + 0x10), (void *)0x09002010);
    assert_int_equal(mmsim_heap_used() - heap, sizeof(struct rt_varea));
    /* static: the hint gains the flag; a 2 MiB-aligned one gets a block */
    struct rt_varea mine;
    struct rt_mm_va_hint h2 = {
        .limit_start = (void *)USER_START,
        .limit_range_size = USER_TOP - USER_START,
        .prefer = (void *)0x40000000,
        .map_size = 0x200000,
        .flags = MMF_MAP_FIXED,
    };
    assert_int_equal(rt_aspace_map_phy_static(g_as, &mine, &h2, MMU_MAP_U_RWCB, 0x48000000 >> 12, &va), RT_EOK);
    assert_int_equal(h2.flags, MMF_MAP_FIXED | MMF_STATIC_ALLOC);
    assert_ptr_equal(rt_aspace_query(g_as, (void *)0x40001000), &mine);
    struct mmsim_mmu_info info;
    assert_int_equal(mmsim_mmu_check(g_as, stderr, &info), 0);
    assert_int_equal(info.blocks, 1);
    assert_int_equal(info.pages, 3);
    /* a physical varea never expands */
    struct rt_mm_va_hint h3 = {
        .limit_start = (void *)USER_START,
        .limit_range_size = USER_TOP - USER_START,
        .prefer = va_at(3),
        .map_size = PAGE,
    };
    assert_int_equal(rt_aspace_map_phy(g_as, &h3, MMU_MAP_U_DEVICE, 0x09003, &va), RT_EOK);
    assert_int_equal(mmt_checked_vareas(g_as), 3);
    assert_int_equal(rt_aspace_unmap(g_as, (void *)0x40000000), RT_EOK);
}

static void test_map_phy_bad_hints_are_einval(void **state)
{
    (void)state;
    struct rt_mm_va_hint ok = {
        .limit_start = (void *)USER_START, .limit_range_size = USER_TOP - USER_START,
        .prefer = UTEST_VA, .map_size = PAGE,
    };
    void *va = (void *)1;
    assert_int_equal(rt_aspace_map_phy(g_as, NULL, MMU_MAP_U_RW, 0x9000, &va), -RT_EINVAL);
    assert_null(va);
    assert_int_equal(rt_aspace_map_phy(NULL, &ok, MMU_MAP_U_RW, 0x9000, &va), -RT_EINVAL);
    struct rt_mm_va_hint no_limit = { .limit_start = (void *)USER_START, .prefer = UTEST_VA, .map_size = PAGE };
    assert_int_equal(rt_aspace_map_phy(g_as, &no_limit, MMU_MAP_U_RW, 0x9000, &va), -RT_EINVAL);
    struct rt_mm_va_hint no_size = { .limit_start = (void *)USER_START, .limit_range_size = PAGE, .prefer = UTEST_VA };
    assert_int_equal(rt_aspace_map_phy(g_as, &no_size, MMU_MAP_U_RW, 0x9000, &va), -RT_EINVAL);
    struct rt_mm_va_hint odd_prefer = ok, odd_size = { .limit_start = (void *)USER_START,
        .limit_range_size = USER_TOP - USER_START, .prefer = NULL, .map_size = 100 };
    odd_prefer.prefer = va_at(0) + 4;
    assert_int_equal(rt_aspace_map_phy(g_as, &odd_prefer, MMU_MAP_U_RW, 0x9000, &va), -RT_EINVAL);
    assert_int_equal(rt_aspace_map_phy(g_as, &odd_size, MMU_MAP_U_RW, 0x9000, &va), -RT_EINVAL);
    struct rt_mm_va_hint outside = ok;
    outside.prefer = (void *)(USER_TOP - PAGE);
    *(rt_size_t *)&outside.map_size = 2 * PAGE; /* const member: test-only poke */
    assert_int_equal(rt_aspace_map_phy(g_as, &outside, MMU_MAP_U_RW, 0x9000, &va), -RT_EINVAL);
    struct rt_mm_va_hint fixed_zero = { .limit_start = (void *)USER_START,
        .limit_range_size = USER_TOP - USER_START, .map_size = PAGE, .flags = MMF_MAP_FIXED };
    assert_int_equal(rt_aspace_map_phy(g_as, &fixed_zero, MMU_MAP_U_RW, 0x9000, &va), -RT_EINVAL);
    struct rt_varea mine;
    assert_int_equal(rt_aspace_map_phy_static(g_as, NULL, &ok, MMU_MAP_U_RW, 0x9000, &va), -RT_EINVAL);
    assert_int_equal(rt_aspace_map_phy_static(g_as, &mine, NULL, MMU_MAP_U_RW, 0x9000, &va), -RT_EINVAL);
    assert_int_equal(mmt_checked_vareas(g_as), 0);
    /* a limit too full is ENOSPC */
    struct rt_mm_va_hint tiny = { .limit_start = UTEST_VA, .limit_range_size = PAGE, .map_size = 2 * PAGE };
    assert_int_equal(rt_aspace_map_phy(g_as, &tiny, MMU_MAP_U_RW, 0x9000, &va), -RT_ENOSPC);
}

static int op_map_phy_fixed(void)
{
    struct rt_mm_va_hint hint = {
        .limit_start = (void *)USER_START,
        .limit_range_size = USER_TOP - USER_START,
        .prefer = va_at(1),
        .map_size = 2 * PAGE,
        .flags = MMF_MAP_FIXED,
    };
    return rt_aspace_map_phy(g_as, &hint, MMU_MAP_U_DEVICE, 0x09000, NULL);
}

/* MAP_FIXED over the only pages of their table: the unmap frees the table,
 * so the map must have secured its tables before. */
static void test_map_phy_fixed_is_all_or_nothing(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(1), 2 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    void *lo = va_at(-4), *hi = va_at(8);
    int heap_failures = fail_each_allocation(MMSIM_ALLOC_HEAP, op_map_phy_fixed, lo, hi);
    assert_int_equal(heap_failures, 1);
    assert_int_equal(rt_aspace_unmap(g_as, va_at(1)), RT_EOK);
    mmt_map(g_as, va_at(1), 2 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    /* three tables reserved up front (the bound for an empty L0 slot) */
    assert_int_equal(fail_each_allocation(MMSIM_ALLOC_PAGE, op_map_phy_fixed, lo, hi), 3);
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, va_at(2)), (void *)0x09001000);
    assert_int_equal(mmt_tables(g_as), 4);
}

static int op_map_phy_far(void)
{
    struct rt_mm_va_hint hint = {
        .limit_start = (void *)USER_START,
        .limit_range_size = USER_TOP - USER_START,
        .prefer = (void *)0x7f0000000000ul,
        .map_size = PAGE,
    };
    return rt_aspace_map_phy(g_as, &hint, MMU_MAP_U_DEVICE, 0x09000, NULL);
}

/* Without MAP_FIXED the tables are not reserved: the MMU map itself fails
 * (-RT_ERROR, as RT-Thread) and the new varea is taken out again. */
static void test_map_phy_mmu_failure_is_rt_error_and_changes_nothing(void **state)
{
    (void)state;
    void *far = (void *)0x7f0000000000ul;
    struct mmt_snapshot before;
    for (uint64_t nth = 1; nth <= 3; nth++) {
        mmt_snapshot(g_as, far, (char *)far + PAGE, &before);
        mmsim_inject_arm(MMSIM_ALLOC_PAGE, nth, MMSIM_INJECT_ONCE);
        struct rt_mm_va_hint hint = {
            .limit_start = (void *)USER_START,
            .limit_range_size = USER_TOP - USER_START,
            .prefer = far,
            .map_size = PAGE,
        };
        void *va = (void *)1;
        assert_int_equal(rt_aspace_map_phy(g_as, &hint, MMU_MAP_U_DEVICE, 0x09000, &va), -RT_ERROR);
        assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_PAGE), 1);
        assert_null(va);
        mmt_expect_unchanged(g_as, far, (char *)far + PAGE, &before, "map_phy without tables");
    }
    assert_int_equal(fail_each_allocation(MMSIM_ALLOC_HEAP, op_map_phy_far, far, (char *)far + PAGE), 1);
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, far), (void *)0x09000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, mmt_setup, mmt_teardown)
        T(test_map_bad_arguments_return_rtthread_codes),
        T(test_map_anywhere_is_first_fit_from_the_bottom),
        T(test_map_alignment_request_is_honoured),
        T(test_map_prefer_is_taken_when_free_else_first_fit_above),
        T(test_map_full_space_is_enospc),
        T(test_map_prefetch_maps_every_page_with_exact_frames),
        T(test_map_expand_follows_rtthread_utest),
        T(test_map_merge_rule_is_rtthreads),
        T(test_map_refused_merge_leaves_both_vareas),
        T(test_map_expansion_needs_identical_attr_flags_object),
        T(test_map_fixed_replaces_what_is_there),
        T(test_map_fixed_unmap_error_is_returned_and_changes_nothing),
        T(test_map_va_zero_is_never_an_answer),
        T(test_map_static_uses_the_callers_varea),
        T(test_map_callbacks_come_at_the_documented_points),
        T(test_map_failed_prefetch_takes_back_only_the_new_range),
        T(test_map_fails_cleanly_at_every_allocation),
        T(test_map_fixed_prefetch_failure_over_pages_loses_them_without_leaking),
        T(test_map_phy_maps_the_whole_range_and_edits_the_hint),
        T(test_map_phy_bad_hints_are_einval),
        T(test_map_phy_fixed_is_all_or_nothing),
        T(test_map_phy_mmu_failure_is_rt_error_and_changes_nothing),
#undef T
    };
    return cmocka_run_group_tests_name("map", tests, NULL, NULL);
}
