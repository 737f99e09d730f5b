/* rt_mm_dummy_mapper: fresh unzeroed frames (P6), one reference per PTE (P5),
 * and mmsim's divergence (spec §0.1 item 1): close, shrink and split unmap
 * what they drop, invalidate the TLB and give the frames back. */
#include <stdio.h>
#include <string.h>
#include "mm_util.h"

#define g_as mmt_as

static void *frame_at(void *va)
{
    void *pa = rt_hw_mmu_v2p(g_as, va);
    return pa == ARCH_MAP_FAILED ? NULL : rt_kmem_p2v(pa);
}

static bool allocated(void *frame)
{
    return mmsim_phys_frame_state(mmsim_phys_host2pa(frame)) == MMSIM_FRAME_ALLOCATED;
}

static void test_dummy_fault_hands_out_a_fresh_unzeroed_frame(void **state)
{
    (void)state;
    struct rt_varea v = { .aspace = g_as, .start = UTEST_VA, .size = PAGE };
    struct rt_aspace_fault_msg msg = { .fault_vaddr = UTEST_VA, .fault_op = MM_FAULT_OP_READ };
    rt_mm_fault_res_init(&msg.response);
    rt_mm_dummy_mapper.on_page_fault(&v, &msg);
    assert_int_equal(msg.response.status, MM_FAULT_STATUS_OK);
    assert_int_equal(msg.response.size, PAGE);
    assert_true(allocated(msg.response.vaddr));
    assert_int_equal(rt_page_ref_get(msg.response.vaddr, 0), 1); /* for the PTE to own */
#ifdef MMSIM_DEBUG_AIDS
    assert_int_equal(((unsigned char *)msg.response.vaddr)[100], MMSIM_UNINIT_BYTE); /* P6 */
#endif
    assert_int_equal(rt_pages_free(msg.response.vaddr, 0), 1);
    rt_mm_fault_res_init(&msg.response);
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 1, MMSIM_INJECT_ONCE);
    rt_mm_dummy_mapper.on_page_fault(&v, &msg);
    mmsim_inject_disarm(MMSIM_ALLOC_PAGE);
    assert_int_equal(msg.response.status, MM_FAULT_STATUS_UNRECOVERABLE);
    assert_string_equal(rt_mm_dummy_mapper.get_name(&v), "dummy-mapper");
    assert_null(rt_mm_dummy_mapper.hint_free);
    v.data = &v;
    rt_mm_dummy_mapper.on_varea_open(&v);
    assert_null(v.data);
    assert_int_equal(rt_mm_dummy_mapper.on_varea_expand(&v, UTEST_VA, 2 * PAGE), RT_EOK);
    assert_int_equal(rt_mm_dummy_mapper.on_varea_merge(&v, &v), RT_EOK);
}

static void test_dummy_close_unmaps_and_frees_every_frame(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), 3 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    void *f[3];
    for (int i = 0; i < 3; i++)
        f[i] = frame_at(va_at(i));
    struct mmsim_tlb_counters c0, c1;
    mmsim_tlb_counters_get(&c0);
    assert_int_equal(rt_aspace_unmap(g_as, va_at(0)), RT_EOK);
    mmsim_tlb_counters_get(&c1);
    assert_true(c1.range > c0.range); /* RT-Thread #9902 */
    for (int i = 0; i < 3; i++) {
        assert_null(frame_at(va_at(i)));
        assert_false(allocated(f[i]));
    }
    assert_int_equal(mmt_tables(g_as), 1);
}

static void test_dummy_shrink_and_split_release_only_what_goes(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), 6 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    void *f[6];
    for (int i = 0; i < 6; i++)
        f[i] = frame_at(va_at(i));
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(5), PAGE), RT_EOK); /* tail */
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(0), PAGE), RT_EOK); /* head */
    assert_int_equal(rt_aspace_unmap_range(g_as, va_at(2), 2 * PAGE), RT_EOK); /* split */
    bool gone[6] = { true, false, true, true, false, true };
    for (int i = 0; i < 6; i++) {
        assert_int_equal(allocated(f[i]), !gone[i]);
        assert_ptr_equal(frame_at(va_at(i)), gone[i] ? NULL : f[i]);
    }
    assert_int_equal(rt_page_ref_get(f[1], 0), 1);
    /* the subset's PTEs became its own: closing it frees page 4 */
    assert_int_equal(rt_aspace_unmap(g_as, va_at(4)), RT_EOK);
    assert_false(allocated(f[4]));
    assert_true(allocated(f[1]));
}

/* P5: a frame the caller maps holds one reference for the mapping
 * (rt_varea_pgmgr_insert); the dummy's close drops exactly that one. */
static void test_dummy_close_drops_one_reference_per_mapping(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), 2 * PAGE, 0, &rt_mm_dummy_mapper, 0);
    rt_varea_t v = rt_aspace_query(g_as, va_at(0));
    void *frame = rt_pages_alloc(0);
    for (int i = 0; i < 2; i++) { /* the same frame mapped twice */
        assert_int_equal(rt_varea_map_page(v, va_at(i), frame), RT_EOK);
        rt_varea_pgmgr_insert(v, frame);
    }
    assert_int_equal(rt_page_ref_get(frame, 0), 3);
    assert_int_equal(rt_aspace_unmap(g_as, va_at(0)), RT_EOK);
    assert_int_equal(rt_page_ref_get(frame, 0), 1); /* the allocation's own */
    assert_int_equal(rt_pages_free(frame, 0), 1);
}

/* Device pages in a dummy varea are unmapped but not "freed". */
static void test_dummy_device_pages_are_unmapped_not_freed(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), 2 * PAGE, 0, &rt_mm_dummy_mapper, 0);
    rt_varea_t v = rt_aspace_query(g_as, va_at(0));
    assert_int_equal(rt_varea_map_range(v, va_at(0), (void *)0x09000000, 2 * PAGE), RT_EOK);
    size_t frames = mmt_frames();
    assert_int_equal(rt_aspace_unmap(g_as, va_at(1)), RT_EOK);
    assert_null(frame_at(va_at(0)));
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, va_at(0)), ARCH_MAP_FAILED);
    assert_int_equal(frames - mmt_frames(), 3); /* only the three table pages */
}

/* A 2 MiB block the dummy varea holds, removed whole by close, and cut by a
 * shrink (which splits it). */
static void test_dummy_blocks_are_released_whole_or_split(void **state)
{
    (void)state;
    char *blk = (char *)0x40000000;
    mmt_map(g_as, blk, 0x400000, 0, &rt_mm_dummy_mapper, 0);
    rt_varea_t v = rt_aspace_query(g_as, blk);
    assert_int_equal(rt_varea_map_range(v, blk, (void *)0x08000000, 0x400000), RT_EOK);
    struct mmsim_mmu_info info;
    assert_int_equal(mmsim_mmu_check(g_as, stderr, &info), 0);
    assert_int_equal(info.blocks, 2);
    assert_int_equal(rt_aspace_unmap_range(g_as, blk + 0x300000, 0x100000), RT_EOK); /* tail half of block 2 */
    assert_int_equal(mmsim_mmu_check(g_as, stderr, &info), 0);
    assert_int_equal(info.blocks, 1);
    assert_int_equal(info.pages, 256);
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, blk + 0x2ff000), (void *)0x082ff000);
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, blk + 0x300000), ARCH_MAP_FAILED);
    assert_int_equal(rt_aspace_unmap(g_as, blk), RT_EOK);
    assert_int_equal(mmt_tables(g_as), 1);
}

static void test_dummy_page_read_write_copy_through_the_frame(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    mmt_map(g_as, va_at(1), PAGE, 0, &rt_mm_dummy_mapper, 1);
    rt_varea_t v = rt_aspace_query(g_as, va_at(0));
    static char in[PAGE], out[PAGE];
    memset(in, 0x3c, sizeof in);
    struct rt_aspace_io_msg io;
    rt_mm_io_msg_init(&io, 0, va_at(0), in);
    rt_mm_dummy_mapper.page_write(v, &io);
    assert_int_equal(io.response.status, MM_FAULT_STATUS_OK);
    assert_memory_equal(frame_at(va_at(0)), in, PAGE);
    rt_mm_io_msg_init(&io, 0, va_at(0), out);
    rt_mm_dummy_mapper.page_read(v, &io);
    assert_int_equal(io.response.status, MM_FAULT_STATUS_OK);
    assert_memory_equal(out, in, PAGE);
    rt_varea_t hole = rt_aspace_query(g_as, va_at(1));
    rt_mm_io_msg_init(&io, 1, va_at(1), out);
    rt_mm_dummy_mapper.page_read(hole, &io);
    assert_int_equal(io.response.status, MM_FAULT_STATUS_UNRECOVERABLE);
    rt_mm_io_msg_init(&io, 1, va_at(1), in);
    rt_mm_dummy_mapper.page_write(hole, &io);
    assert_int_equal(io.response.status, MM_FAULT_STATUS_UNRECOVERABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, mmt_setup, mmt_teardown)
        T(test_dummy_fault_hands_out_a_fresh_unzeroed_frame),
        T(test_dummy_close_unmaps_and_frees_every_frame),
        T(test_dummy_shrink_and_split_release_only_what_goes),
        T(test_dummy_close_drops_one_reference_per_mapping),
        T(test_dummy_device_pages_are_unmapped_not_freed),
        T(test_dummy_blocks_are_released_whole_or_split),
        T(test_dummy_page_read_write_copy_through_the_frame),
#undef T
    };
    return cmocka_run_group_tests_name("dummy", tests, NULL, NULL);
}
