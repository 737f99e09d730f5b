/* The anonymous object and copy-on-write: rt_aspace_map_private, reference
 * counting (open, split, close, merge — P7, detach), the object's page I/O,
 * rt_varea_fix_private_locked with RT-Thread's fix_private and map_fixed
 * utests re-expressed on rt_aspace_* (lwp's anonymous mmap is the test's zero
 * object, mm_util.h), and allocation failure at every point of a COW (P8).
 *
 * Counts: a user page at 0x100000000 needs three table pages below the root
 * (L1, L2, L3); one frame per page actually written (P5, P6); the zero
 * object's shared frame is allocated before any snapshot. */
#include <stdio.h>
#include <string.h>
#include <mmsim/mm_check.h>
#include "mm_util.h"

static rt_aspace_t g_as;
static struct mmt_zero g_zero;

static int setup(void **state)
{
    if (fx_setup(state))
        return -1;
    g_as = mmt_user_aspace();
    mmt_zero_init(&g_zero);
    return 0;
}

static int teardown(void **state)
{
    /* every test ends in a state the invariant checker accepts */
    struct mmsim_mm_owner_ref zero = { g_zero.page, 1 };
    if (mmsim_mm_check_machine(&zero, 1, stderr, NULL))
        return -1;
    mmt_aspace_free(g_as);
    mmt_zero_fini(&g_zero);
    return fx_teardown(state);
}

static long refs(rt_aspace_t aspace) { return mmsim_anon_reference(aspace->private_object); }

/* A COW write fault as the utest raises it: op WRITE, type RWX_PERM. */
static int write_fault(rt_aspace_t aspace, void *va)
{
    struct rt_aspace_fault_msg msg = {
        .fault_op = MM_FAULT_OP_WRITE,
        .fault_type = MM_FAULT_TYPE_RWX_PERM,
        .fault_vaddr = va,
    };
    return rt_aspace_fault_try_fix(aspace, &msg);
}

/* ---- map_private and reference counting ------------------------------------ */

static void test_anon_map_private_binds_object_and_faults_lazily(void **state)
{
    (void)state;
    size_t frames = mmt_frames();
    void *va = NULL;
    assert_int_equal(rt_aspace_map_private(g_as, &va, 4 * PAGE, MMU_MAP_U_RWCB, MMF_PREFETCH), RT_EOK);
    assert_ptr_equal(va, (void *)USER_START);
    rt_varea_t v = rt_aspace_query(g_as, va);
    assert_non_null(g_as->private_object);
    assert_ptr_equal(v->mem_obj, g_as->private_object);
    assert_int_equal(v->flag, MMF_MAP_PRIVATE); /* PREFETCH stripped (P6) */
    assert_int_equal(v->attr, MMU_MAP_U_RWCB);
    assert_int_equal(v->offset, USER_START >> 12); /* owner: offset = VA page number */
    assert_string_equal(VAREA_NAME(v), "anonymous");
    assert_ptr_equal(mmsim_anon_backup(g_as->private_object), g_as);
    assert_int_equal(refs(g_as), 2);            /* the aspace's own + the varea's */
    assert_false(rt_varea_is_private_locked(v)); /* own object: mapped writable */
    assert_int_equal(mmt_frames(), frames);      /* nothing populated */
    /* a first write: one frame, three tables, writable at once */
    assert_true(mmt_user_write(g_as, (char *)va + PAGE, 0x42));
    assert_int_equal(mmt_frames() - frames, 1 + 3);
    assert_false(mmt_write_faults(g_as, (char *)va + PAGE));
    assert_int_equal(rt_page_ref_get(mmt_frame(g_as, (char *)va + PAGE), 0), 1); /* the PTE's */
    assert_int_equal(mmt_peek(g_as, (char *)va + PAGE), 0x42);
    /* a second mapping shares the object */
    void *vb = (void *)0x40000000ul;
    assert_int_equal(rt_aspace_map_private(g_as, &vb, PAGE, MMU_MAP_U_RWCB, 0), RT_EOK);
    assert_int_equal(refs(g_as), 3);
    assert_int_equal(rt_aspace_unmap(g_as, va), RT_EOK);
    assert_int_equal(refs(g_as), 2);
    assert_int_equal(mmt_frames(), frames);
    /* mmt_aspace_free: detach drops the last two references, freeing the object */
}

static void test_anon_map_private_bad_input_and_no_heap(void **state)
{
    (void)state;
    size_t heap = mmsim_heap_used();
    void *va = UTEST_VA;
    assert_int_equal(rt_aspace_map_private(g_as, &va, PAGE, MMU_MAP_U_RWCB, MMF_STATIC_ALLOC), -RT_EINVAL);
    assert_int_equal(rt_aspace_map_private(NULL, &va, PAGE, MMU_MAP_U_RWCB, 0), -RT_EINVAL);
    assert_null(va);
    assert_int_equal(rt_aspace_map_private(g_as, NULL, PAGE, MMU_MAP_U_RWCB, 0), -RT_EINVAL);
    /* no heap for the object, then for the varea: no object stays behind */
    for (uint64_t nth = 1; nth <= 2; nth++) {
        va = UTEST_VA;
        mmsim_inject_arm(MMSIM_ALLOC_HEAP, nth, MMSIM_INJECT_ONCE);
        assert_int_equal(rt_aspace_map_private(g_as, &va, PAGE, MMU_MAP_U_RWCB, 0), -RT_ENOMEM);
        assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_HEAP), 1);
        assert_null(va);
        assert_null(g_as->private_object);
        assert_int_equal(mmsim_heap_used(), heap);
    }
    /* rt_aspace_map's own errors pass through */
    va = (void *)(KERNEL_VADDR_START + PAGE);
    assert_int_equal(rt_aspace_map_private(g_as, &va, PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED), -RT_EINVAL);
    assert_int_equal(rt_aspace_anon_ref_dec(NULL), -RT_EINVAL);
    assert_int_equal(mmt_checked_vareas(g_as), 0);
}

static void test_anon_split_shrink_and_close_keep_one_reference_per_varea(void **state)
{
    (void)state;
    size_t frames = mmt_frames();
    void *va = UTEST_VA;
    assert_int_equal(rt_aspace_map_private(g_as, &va, 5 * PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED), RT_EOK);
    for (long i = 0; i < 5; i++)
        assert_true(mmt_user_write(g_as, va_at(i), (uint8_t)(i + 1)));
    assert_int_equal(mmt_frames() - frames, 5 + 3);
    /* a hole in the middle: the subset opens (+1), the hole's frame goes */
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(2), PAGE), RT_EOK);
    assert_int_equal(mmt_checked_vareas(g_as), 2);
    assert_int_equal(refs(g_as), 3);
    assert_int_equal(mmt_frames() - frames, 4 + 3);
    assert_int_equal(rt_aspace_query(g_as, va_at(3))->offset, (uintptr_t)va_at(3) >> 12);
    /* shrinking keeps the count, closing drops one */
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(4), PAGE), RT_EOK);
    assert_int_equal(refs(g_as), 3);
    assert_int_equal(rt_aspace_unmap(g_as, va_at(0)), RT_EOK);
    assert_int_equal(refs(g_as), 2);
    assert_int_equal(mmt_peek(g_as, va_at(3)), 4);
    assert_int_equal(mmt_frames() - frames, 1 + 3);
}

/* P7: a merge gives merge_from's reference back. Merges of anonymous vareas
 * need offsets RT-Thread's own paths never produce (P1), so this maps the
 * object into a second aspace at chosen offsets: [p0 off 12] [p2 off 13], then
 * p1 at offset 11 expands p0 (11 + 1 = 12) and merges p2 (11 + 2 = 13). */
static void test_anon_merge_drops_merge_froms_reference(void **state)
{
    (void)state;
    void *va = UTEST_VA;
    assert_int_equal(rt_aspace_map_private(g_as, &va, PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED), RT_EOK);
    rt_mem_obj_t own = g_as->private_object;
    rt_aspace_t other = mmt_user_aspace();
    mmt_map(other, va_at(0), PAGE, MMF_MAP_PRIVATE, own, 12);
    mmt_map(other, va_at(2), PAGE, MMF_MAP_PRIVATE, own, 13);
    assert_int_equal(mmsim_anon_reference(own), 4);
    assert_string_equal(VAREA_NAME(rt_aspace_query(other, va_at(0))), "reference");
    mmt_map(other, va_at(1), PAGE, MMF_MAP_PRIVATE, own, 11);
    assert_int_equal(mmt_checked_vareas(other), 1);
    /* own + g_as's varea + the one merged varea (RT-Thread's newest: 4) */
    assert_int_equal(mmsim_anon_reference(own), 3);
    mmt_aspace_free(other);
    assert_int_equal(mmsim_anon_reference(own), 2);
}

/* §0.1 item 5: reading an untouched page of the owner allocates and maps it;
 * writing goes to the owner's frame. */
static void test_anon_page_io_in_the_owner(void **state)
{
    (void)state;
    static char in[PAGE], out[PAGE];
    memset(in, 'q', sizeof in);
    size_t frames = mmt_frames();
    void *va = UTEST_VA;
    assert_int_equal(rt_aspace_map_private(g_as, &va, 2 * PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED), RT_EOK);
    assert_int_equal(rt_aspace_page_get(g_as, va_at(0), out), RT_EOK);
    assert_non_null(mmt_frame(g_as, va_at(0)));
    assert_int_equal(mmt_frames() - frames, 1 + 3);
    assert_int_equal(rt_aspace_page_put(g_as, va_at(1), in), RT_EOK);
    assert_int_equal(mmt_frames() - frames, 2 + 3);
    assert_int_equal(mmt_peek(g_as, va_at(1)), 'q');
    assert_int_equal(rt_aspace_page_get(g_as, va_at(1), out), RT_EOK);
    assert_memory_equal(in, out, PAGE);
}

/* A first touch whose table page cannot be had gives its frame back
 * (RT-Thread leaks it), and the fault is unfixable until memory returns. */
static void test_anon_first_touch_without_a_table_page_leaks_nothing(void **state)
{
    (void)state;
    void *va = UTEST_VA;
    assert_int_equal(rt_aspace_map_private(g_as, &va, PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED), RT_EOK);
    size_t frames = mmt_frames();
    for (uint64_t nth = 1; nth <= 4; nth++) {
        mmsim_inject_arm(MMSIM_ALLOC_PAGE, nth, MMSIM_INJECT_ONCE);
        assert_false(mmt_user_write(g_as, va, 1));
        assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_PAGE), 1);
        assert_int_equal(mmt_frames(), frames);
        assert_null(mmt_frame(g_as, va));
    }
    assert_true(mmt_user_write(g_as, va, 1));
    assert_int_equal(mmt_frames(), frames + 1 + 3);
}

/* A static private varea (caller storage) copied on write: the copy's varea
 * comes from the heap and must not inherit MMF_STATIC_ALLOC, or it would
 * never be freed (the fixture would see the leak). */
static void test_anon_cow_of_a_static_varea_gets_a_heap_varea(void **state)
{
    (void)state;
    static struct rt_varea storage;
    void *va = UTEST_VA;
    assert_int_equal(rt_aspace_map_static(g_as, &storage, &va, 2 * PAGE, MMU_MAP_U_RWCB, MMF_MAP_PRIVATE,
                                          &g_zero.obj, 0), RT_EOK);
    assert_true(mmt_user_write(g_as, va_at(1), 7));
    rt_varea_t copy = rt_aspace_query(g_as, va_at(1));
    assert_ptr_not_equal(copy, &storage);
    assert_int_equal(copy->flag & MMF_STATIC_ALLOC, 0);
    assert_int_equal(storage.flag & MMF_STATIC_ALLOC, MMF_STATIC_ALLOC);
}

/* ---- COW: RT-Thread's fix_private utest -------------------------------------- */

static void expect_layout(const long (*ranges)[2], int n)
{
    assert_int_equal(mmt_checked_vareas(g_as), n);
    rt_varea_t v = ASPACE_VAREA_FIRST(g_as);
    for (int i = 0; i < n; i++, v = ASPACE_VAREA_NEXT(v)) {
        assert_ptr_equal(v->start, va_at(ranges[i][0]));
        assert_int_equal(v->size, (size_t)(ranges[i][1] - ranges[i][0] + 1) * PAGE);
    }
}

/* lwp_mmap_fix_private: COW of pages 2, 0, 4, 1, 3 of a 5-page anonymous
 * mapping changes the varea count by +2 (split), +1 (shrink, new varea), +1,
 * -1 (p1's copy is absorbed by [p0], the zero varea p1 goes), -1; the merge
 * rule P1 keeps [p0-p1] and [p2-p3] apart. Frames: one copy per page, three
 * tables for the first; the zero frame is never mapped (no read happened). */
static void test_anon_fix_private_follows_rtthread_utest(void **state)
{
    (void)state;
    size_t frames = mmt_frames(), heap = mmsim_heap_used();
    rt_base_t vsz = rt_aspace_count_vsz(g_as);
    mmt_mmap_anon(g_as, &g_zero, UTEST_VA, 5 * PAGE, true);
    assert_int_equal(mmt_checked_vareas(g_as), 1);
    const long order[5] = { 2, 0, 4, 1, 3 };
    const int delta[5] = { +2, +1, +1, -1, -1 };
    int count = 1;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(write_fault(g_as, va_at(order[i])), MM_FAULT_FIXABLE_TRUE);
        count += delta[i];
        assert_int_equal(mmt_checked_vareas(g_as), count);
        assert_int_equal(rt_aspace_count_vsz(g_as), vsz + 5 * (rt_base_t)PAGE);
        assert_int_equal(mmt_frames() - frames, (size_t)(i + 1) + 3);
        /* the copy of a zero page, mapped writable */
        assert_false(mmt_write_faults(g_as, va_at(order[i])));
        assert_int_equal(mmt_peek(g_as, va_at(order[i])), 0);
        mmt_mm_check(&g_as, 1, &g_zero.page, 1);
    }
    const long final[3][2] = { { 0, 1 }, { 2, 3 }, { 4, 4 } };
    expect_layout(final, 3);
    for (rt_varea_t v = ASPACE_VAREA_FIRST(g_as); v; v = ASPACE_VAREA_NEXT(v))
        assert_ptr_equal(v->mem_obj, g_as->private_object);
    assert_int_equal(refs(g_as), 1 + 3);
    assert_int_equal(rt_page_ref_get(g_zero.page, 0), 1);
    assert_int_equal(rt_aspace_unmap_range(g_as, UTEST_VA, 5 * PAGE), RT_EOK);
    assert_int_equal(refs(g_as), 1); /* §0.1 item 11 */
    /* as the utest: free the object by hand to balance the heap */
    rt_free(g_as->private_object);
    g_as->private_object = NULL;
    assert_int_equal(mmsim_heap_used(), heap);
    assert_int_equal(mmt_frames(), frames);
}

/* lwp_mmap_map_fixed: a FIXED anonymous mapping inside another splits it
 * (+2, vsz unchanged); lwp_data_put of 12 bytes (page_get, patch, page_put)
 * copies the page privately without copying (dont_copy) and reads back. */
static void test_anon_map_fixed_follows_rtthread_utest(void **state)
{
    (void)state;
    static char page[PAGE];
    mmt_mmap_anon(g_as, &g_zero, UTEST_VA, 5 * PAGE, false);
    rt_base_t vsz = rt_aspace_count_vsz(g_as);
    assert_ptr_equal(mmt_mmap_anon(g_as, &g_zero, va_at(1), 2 * PAGE, true), va_at(1));
    assert_int_equal(mmt_checked_vareas(g_as), 3);
    assert_int_equal(rt_aspace_count_vsz(g_as), vsz);
    assert_int_equal(rt_aspace_page_get(g_as, va_at(1), page), RT_EOK);
    memcpy(page + 100, "hello, world", 12);
    assert_int_equal(rt_aspace_page_put(g_as, va_at(1), page), RT_EOK);
    assert_int_equal(mmt_checked_vareas(g_as), 4);
    memset(page, 0x77, sizeof page);
    assert_int_equal(rt_aspace_page_get(g_as, va_at(1), page), RT_EOK);
    assert_memory_equal(page + 100, "hello, world", 12);
    assert_int_equal(page[0], 0);
    assert_int_equal(page[PAGE - 1], 0);
    assert_int_equal(rt_aspace_unmap_range(g_as, UTEST_VA, 5 * PAGE), RT_EOK);
    assert_int_equal(mmt_checked_vareas(g_as), 0);
}

/* ---- COW: error paths and allocation failure ---------------------------------- */

static struct rt_mem_obj g_refusing;

static void refuse_read(struct rt_varea *v, struct rt_aspace_io_msg *msg)
{
    (void)v;
    (void)msg;
}

static rt_err_t refuse_split(struct rt_varea *v, void *s, rt_size_t n, struct rt_varea *sub)
{
    (void)v, (void)s, (void)n, (void)sub;
    return -RT_EBUSY;
}

static void test_anon_fix_private_refusals_change_nothing(void **state)
{
    (void)state;
    struct mmt_snapshot before;
    struct rt_aspace_fault_msg msg = { .fault_op = MM_FAULT_OP_WRITE, .fault_vaddr = va_at(1) };
    /* a physical varea has no object to copy from */
    struct rt_mm_va_hint hint = { .limit_start = g_as->start, .limit_range_size = g_as->size,
                                  .prefer = va_at(20), .map_size = PAGE, .flags = MMF_MAP_FIXED };
    void *phys_va;
    void *frame = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    assert_int_equal(rt_aspace_map_phy(g_as, &hint, MMU_MAP_U_RWCB, MM_PA_TO_OFF(rt_kmem_v2p(frame)), &phys_va),
                     RT_EOK);
    msg.fault_vaddr = phys_va;
    assert_int_equal(rt_varea_fix_private_locked(rt_aspace_query(g_as, phys_va), ARCH_MAP_FAILED, &msg, RT_FALSE),
                     MM_FAULT_FIXABLE_FALSE);
    /* an object whose page_read refuses, or that has none, or refuses the split */
    g_refusing = g_zero.obj;
    g_refusing.page_read = refuse_read;
    mmt_map(g_as, va_at(0), 3 * PAGE, MMF_MAP_PRIVATE, &g_refusing, 0);
    msg.fault_vaddr = va_at(1);
    mmt_snapshot(g_as, va_at(0), va_at(24), &before);
    assert_int_equal(write_fault(g_as, va_at(1)), MM_FAULT_FIXABLE_FALSE);
    mmt_expect_unchanged(g_as, va_at(0), va_at(24), &before, "page_read refused");
    assert_null(g_as->private_object);
    g_refusing.page_read = NULL;
    assert_int_equal(write_fault(g_as, va_at(1)), MM_FAULT_FIXABLE_FALSE);
    g_refusing.page_read = g_zero.obj.page_read;
    g_refusing.on_varea_split = refuse_split;
    assert_int_equal(write_fault(g_as, va_at(1)), MM_FAULT_FIXABLE_FALSE);
    mmt_expect_unchanged(g_as, va_at(0), va_at(24), &before, "split refused");
    assert_null(g_as->private_object);
    /* caller errors: the aspace's own memory (recursion), unaligned, NULL */
    void *va = va_at(10);
    assert_int_equal(rt_aspace_map_private(g_as, &va, PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED), RT_EOK);
    msg.fault_vaddr = va_at(10);
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_varea_fix_private_locked(rt_aspace_query(g_as, va), ARCH_MAP_FAILED,
                                                                      &msg, RT_FALSE), MM_FAULT_FIXABLE_FALSE));
    msg.fault_vaddr = va_at(1) + 8;
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_varea_fix_private_locked(rt_aspace_query(g_as, va_at(1)),
                                                                      ARCH_MAP_FAILED, &msg, RT_FALSE),
                                          MM_FAULT_FIXABLE_FALSE));
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_varea_fix_private_locked(NULL, ARCH_MAP_FAILED, &msg, RT_FALSE),
                                          MM_FAULT_FIXABLE_FALSE));
    assert_int_equal(rt_aspace_unmap(g_as, phys_va), RT_EOK);
    rt_pages_free(frame, 0);
}

/* Fail the nth allocation of `kind` in a COW of `page`, n = 1.. until it
 * succeeds: each failure is FALSE with the aspace, frames, tables, heap and
 * PTEs unchanged and no object left behind. Returns the failures injected. */
static int fail_each_cow_allocation(enum mmsim_alloc_kind kind, long page)
{
    struct mmt_snapshot before;
    bool had_object = g_as->private_object != NULL;
    for (uint64_t nth = 1;; nth++) {
        mmt_snapshot(g_as, va_at(-4), va_at(12), &before);
        mmsim_inject_arm(kind, nth, MMSIM_INJECT_ONCE);
        int rc = write_fault(g_as, va_at(page));
        uint64_t injected = mmsim_inject_disarm(kind);
        if (rc == MM_FAULT_FIXABLE_TRUE) {
            assert_int_equal(injected, 0);
            return (int)nth - 1;
        }
        assert_int_equal(injected, 1);
        char what[64];
        snprintf(what, sizeof what, "%s allocation %llu failed", kind == MMSIM_ALLOC_HEAP ? "heap" : "page",
                 (unsigned long long)nth);
        mmt_expect_unchanged(g_as, va_at(-4), va_at(12), &before, what);
        assert_int_equal(g_as->private_object != NULL, had_object);
    }
}

static void test_anon_fix_private_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    mmt_mmap_anon(g_as, &g_zero, UTEST_VA, 5 * PAGE, true);
    mmt_mm_check(&g_as, 1, &g_zero.page, 1);
    /* page 2, nothing mapped yet: heap = the object, the split's subset, the
     * new varea; pages = the copy, then the three tables (reserved exactly) */
    assert_int_equal(fail_each_cow_allocation(MMSIM_ALLOC_HEAP, 2), 3);
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(2), PAGE), RT_EOK);
    mmt_mmap_anon(g_as, &g_zero, va_at(2), PAGE, true); /* absorbed by [p0-p1] */
    assert_int_equal(mmt_checked_vareas(g_as), 2);
    assert_int_equal(fail_each_cow_allocation(MMSIM_ALLOC_PAGE, 2), 1 + 3);
    /* page 0 after a read mapped the zero frame there: replacing a mapped
     * page reserves the tables its unmap would free — none, as page 2's
     * copy keeps the L3 (and so the L2 and L1) alive */
    assert_int_equal(mmt_peek(g_as, va_at(0)), 0);
    assert_int_equal(rt_page_ref_get(g_zero.page, 0), 2);
    assert_non_null(mmt_frame(g_as, va_at(2)));
    size_t frames = mmt_frames();
    assert_int_equal(fail_each_cow_allocation(MMSIM_ALLOC_PAGE, 0), 1);
    assert_int_equal(mmt_frames(), frames + 1); /* the copy */
    assert_int_equal(rt_page_ref_get(g_zero.page, 0), 1);
    /* page 4 with the object there: the shrink needs no heap, the varea does */
    assert_int_equal(fail_each_cow_allocation(MMSIM_ALLOC_HEAP, 4), 1);
    mmt_mm_check(&g_as, 1, &g_zero.page, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_anon_map_private_binds_object_and_faults_lazily),
        T(test_anon_map_private_bad_input_and_no_heap),
        T(test_anon_split_shrink_and_close_keep_one_reference_per_varea),
        T(test_anon_merge_drops_merge_froms_reference),
        T(test_anon_page_io_in_the_owner),
        T(test_anon_first_touch_without_a_table_page_leaks_nothing),
        T(test_anon_cow_of_a_static_varea_gets_a_heap_varea),
        T(test_anon_fix_private_follows_rtthread_utest),
        T(test_anon_map_fixed_follows_rtthread_utest),
        T(test_anon_fix_private_refusals_change_nothing),
        T(test_anon_fix_private_fails_cleanly_at_every_allocation),
#undef T
    };
    return cmocka_run_group_tests_name("anon", tests, NULL, NULL);
}
