/* Address-space life cycle, lookups and traversal, control, load/offload,
 * page I/O, mremap, the rt_varea_* page calls, and several host threads in
 * one aspace. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <mmsim/mm_check.h>
#include "mm_util.h"

#define g_as mmt_as

static int teardown(void **state)
{
    /* every test ends in a state the invariant checker accepts */
    if (mmsim_mm_check_machine(NULL, 0, stderr, NULL))
        return -1;
    mmt_aspace_free(g_as);
    return fx_teardown(state);
}

static bool mapped(void *va) { return rt_hw_mmu_v2p(g_as, va) != ARCH_MAP_FAILED; }

/* The attribute bits of the leaf mapping va (what the MMU applies). */
static uint64_t leaf_attr(rt_aspace_t as, void *va)
{
    struct mmsim_vmsa_access rd = { .op = MMSIM_OP_READ, .el = 1, .at = true };
    struct mmsim_vmsa_result res;
    if (!mmsim_mmu_translate(as, (uintptr_t)va, &rd, &res))
        fail_msg("%p is not mapped", va);
    return res.desc & MMU_ATTRIB_MASK;
}

static bool user_can_write(rt_aspace_t as, void *va)
{
    struct mmsim_vmsa_access wr = { .op = MMSIM_OP_WRITE, .el = 0, .at = true };
    struct mmsim_vmsa_result res;
    return mmsim_mmu_translate(as, (uintptr_t)va, &wr, &res);
}

/* ---- life cycle --------------------------------------------------------------- */

/* RT-Thread's aspace_create_tc: a NULL page table gives NULL, heap unchanged. */
static void test_aspace_create_without_table_is_null_and_heap_unchanged(void **state)
{
    (void)state;
    size_t heap = mmsim_heap_used();
    assert_null(rt_aspace_create((void *)USER_START, USER_TOP - USER_START, NULL));
    assert_int_equal(mmsim_heap_used(), heap);
    /* no heap for the struct */
    mmsim_inject_arm(MMSIM_ALLOC_HEAP, 1, MMSIM_INJECT_ONCE);
    assert_null(rt_aspace_create((void *)USER_START, USER_TOP - USER_START, g_as->page_table));
    assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_HEAP), 1);
    assert_int_equal(mmsim_heap_used(), heap);
    /* a window past 2^64, and RT-Thread's rule that start 0 never fits */
    FX_EXPECT_ASSERTS(1, assert_null(rt_aspace_create((void *)KERNEL_VADDR_START, 0 - KERNEL_VADDR_START + 1,
                                                      g_as->page_table)));
    FX_EXPECT_ASSERTS(1, assert_null(rt_aspace_create(NULL, PAGE, g_as->page_table)));
    assert_int_equal(mmsim_heap_used(), heap);
    /* the kernel half's exact size is fine */
    rt_aspace_t k = rt_aspace_create((void *)KERNEL_VADDR_START, 0 - KERNEL_VADDR_START, g_as->page_table);
    assert_non_null(k);
    assert_ptr_equal(k->start, (void *)KERNEL_VADDR_START);
    assert_null(k->private_object);
    assert_null(k->tree.root);
    rt_aspace_delete(k);
    assert_int_equal(mmsim_heap_used(), heap);
}

static void test_aspace_init_detach_pair_and_bad_input(void **state)
{
    (void)state;
    struct rt_aspace as;
    memset(&as, 0xa5, sizeof as);
    assert_int_equal(rt_aspace_init(&as, UTEST_VA, 64 * PAGE, NULL), -RT_EINVAL);
    void *pgtbl = rt_hw_mmu_pgtbl_create();
    size_t frames = mmt_frames();
    assert_int_equal(rt_aspace_init(&as, UTEST_VA, 64 * PAGE, pgtbl), RT_EOK);
    assert_ptr_equal(as.page_table, pgtbl);
    assert_int_equal(as.size, 64 * PAGE);
    assert_null(as.private_object);
    assert_null(as.tree.root);
    mmt_map(&as, NULL, 3 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    mmt_map(&as, NULL, PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 99);
    assert_int_equal(mmt_frames() - frames, 3 + 4);
    rt_aspace_detach(&as); /* every varea, every frame; the table stays */
    assert_int_equal(mmt_frames(), frames);
    rt_hw_mmu_pgtbl_delete(pgtbl);
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_init(NULL, UTEST_VA, PAGE, pgtbl), -RT_EINVAL));
    FX_EXPECT_ASSERTS(1, rt_aspace_detach(NULL));
    FX_EXPECT_ASSERTS(1, rt_aspace_delete(NULL));
}

static int collect(rt_varea_t varea, void *arg)
{
    rt_varea_t *list = arg;
    while (*list)
        list++;
    *list = varea;
    return -1; /* ignored */
}

/* RT-Thread's aspace_delete_tc: the four kinds of map, ascending traversal,
 * delete, and the page table is then the caller's to free. */
static void test_aspace_delete_after_four_kinds_of_map(void **state)
{
    (void)state;
    void *pgtbl = rt_hw_mmu_pgtbl_create();
    rt_aspace_t as = rt_aspace_create((void *)USER_START, USER_TOP - USER_START, pgtbl);
    struct rt_varea static_phy, static_obj;
    struct rt_mm_va_hint h1 = { .limit_start = (void *)USER_START, .limit_range_size = USER_TOP - USER_START,
                                .prefer = va_at(30), .map_size = PAGE, .flags = MMF_MAP_FIXED };
    struct rt_mm_va_hint h2 = h1;
    h2.prefer = va_at(20);
    assert_int_equal(rt_aspace_map_phy(as, &h1, MMU_MAP_U_RW, 0x9000, NULL), RT_EOK);
    assert_int_equal(rt_aspace_map_phy_static(as, &static_phy, &h2, MMU_MAP_U_RW, 0x9001, NULL), RT_EOK);
    void *va = va_at(10);
    assert_int_equal(rt_aspace_map(as, &va, PAGE, MMU_MAP_U_RWCB, MMF_PREFETCH, &rt_mm_dummy_mapper, 0), RT_EOK);
    va = va_at(0);
    assert_int_equal(rt_aspace_map_static(as, &static_obj, &va, PAGE, MMU_MAP_U_RWCB, MMF_PREFETCH,
                                          &rt_mm_dummy_mapper, 5), RT_EOK);
    rt_varea_t list[5] = { 0 };
    assert_int_equal(rt_aspace_traversal(as, collect, list), 0);
    assert_ptr_equal(list[0], &static_obj);
    assert_ptr_equal(list[1]->start, va_at(10));
    assert_ptr_equal(list[2], &static_phy);
    assert_ptr_equal(list[3]->start, va_at(30));
    assert_null(list[4]);
    rt_aspace_delete(as);
    assert_int_equal(rt_pages_free(pgtbl, 0), 1); /* tables emptied down to the root */
}

/* ---- lookups, traversal, printing --------------------------------------------- */

static int remove_each(rt_varea_t varea, void *arg)
{
    (void)arg;
    return rt_aspace_unmap(varea->aspace, varea->start);
}

static void test_aspace_query_traversal_and_vsz(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), 2 * PAGE, 0, &rt_mm_dummy_mapper, 0);
    mmt_map(g_as, va_at(5), 3 * PAGE, 0, &rt_mm_dummy_mapper, 100);
    assert_ptr_equal(rt_aspace_query(g_as, va_at(1) + 0xfff)->start, va_at(0));
    assert_null(rt_aspace_query(g_as, va_at(2)));
    assert_ptr_equal(rt_aspace_query(g_as, va_at(7))->start, va_at(5));
    assert_null(rt_aspace_query(g_as, va_at(8)));
    FX_EXPECT_ASSERTS(1, assert_null(rt_aspace_query(NULL, va_at(0))));
    assert_int_equal(rt_aspace_count_vsz(g_as), 5 * PAGE);
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_traversal(g_as, NULL, NULL), -RT_EINVAL));
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_traversal(NULL, remove_each, NULL), -RT_EINVAL));
    /* the callback may remove the varea it is given */
    assert_int_equal(rt_aspace_traversal(g_as, remove_each, NULL), 0);
    assert_int_equal(mmt_checked_vareas(g_as), 0);
    assert_int_equal(rt_aspace_count_vsz(g_as), 0);
}

static void test_aspace_print_all_names_each_varea(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), 2 * PAGE, 0, &rt_mm_dummy_mapper, 0);
    struct rt_mm_va_hint hint = { .limit_start = (void *)USER_START, .limit_range_size = USER_TOP - USER_START,
                                  .prefer = va_at(4), .map_size = PAGE };
    assert_int_equal(rt_aspace_map_phy(g_as, &hint, MMU_MAP_U_RW, 0x9000, NULL), RT_EOK);
    char buf[512] = { 0 };
    FILE *out = fmemopen(buf, sizeof buf - 1, "w");
    mmsim_console_set(out);
    rt_aspace_print_all(g_as);
    mmsim_console_set(stdout);
    fclose(out);
    assert_string_equal(buf, "[0x100000000 - 0x100002000] dummy-mapper\n"
                             "[0x100004000 - 0x100005000] phy-map\n"
                             "\t\\_ paddr = 0x9000000\n");
}

/* ---- control -------------------------------------------------------------------- */

static void test_aspace_control_cache_and_write_permission(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), 2 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    rt_varea_t v = rt_aspace_query(g_as, va_at(0));
    struct mmsim_tlb_counters c0, c1;
    mmsim_tlb_counters_get(&c0);
    assert_int_equal(rt_aspace_control(g_as, va_at(1), MMU_CNTL_NONCACHE), RT_EOK);
    assert_int_equal(leaf_attr(g_as, va_at(0)), MMU_MAP_U_RW);
    assert_int_equal(leaf_attr(g_as, va_at(1)), MMU_MAP_U_RW);
    assert_int_equal(v->attr, MMU_MAP_U_RWCB); /* as RT-Thread: PTEs only */
    assert_int_equal(rt_aspace_control(g_as, va_at(0), MMU_CNTL_CACHE), RT_EOK);
    assert_int_equal(leaf_attr(g_as, va_at(1)), MMU_MAP_U_RWCB);
    /* mmsim's READONLY/READWRITE: PTEs and the varea's attribute */
    assert_int_equal(rt_aspace_control(g_as, va_at(0), MMU_CNTL_READONLY), RT_EOK);
    assert_int_equal(leaf_attr(g_as, va_at(1)), MMU_MAP_U_ROCB);
    assert_int_equal(v->attr, MMU_MAP_U_ROCB);
    assert_false(user_can_write(g_as, va_at(0)));
    assert_int_equal(rt_aspace_control(g_as, va_at(0), MMU_CNTL_READWRITE), RT_EOK);
    assert_int_equal(v->attr, MMU_MAP_U_RWCB);
    assert_true(user_can_write(g_as, va_at(1)));
    mmsim_tlb_counters_get(&c1);
    assert_int_equal(c1.range - c0.range, 4);
    /* errors */
    assert_int_equal(rt_aspace_control(g_as, va_at(2), MMU_CNTL_CACHE), -RT_ENOENT);
    assert_int_equal(rt_aspace_control(g_as, va_at(0), MMU_CNTL_OFFLOAD), -RT_ENOSYS);
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_control(NULL, va_at(0), MMU_CNTL_CACHE), -RT_EINVAL));
    /* device memory cannot be made cacheable: nothing changes */
    struct rt_mm_va_hint hint = { .limit_start = (void *)USER_START, .limit_range_size = USER_TOP - USER_START,
                                  .prefer = va_at(8), .map_size = PAGE };
    assert_int_equal(rt_aspace_map_phy(g_as, &hint, MMU_MAP_U_DEVICE, 0x9000, NULL), RT_EOK);
    assert_int_equal(rt_aspace_control(g_as, va_at(8), MMU_CNTL_CACHE), -RT_ENOSYS);
    assert_int_equal(leaf_attr(g_as, va_at(8)), MMU_MAP_U_DEVICE);
}

/* A private mapping of a foreign object is mapped user read-only (§3.2);
 * READWRITE restores the varea's write permission but never its PTEs, which
 * must keep faulting into copy-on-write. */
static void test_aspace_control_readwrite_keeps_private_pages_read_only(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), 2 * PAGE, MMF_PREFETCH | MMF_MAP_PRIVATE, &rt_mm_dummy_mapper, 0);
    rt_varea_t v = rt_aspace_query(g_as, va_at(0));
    assert_true(rt_varea_is_private_locked(v));
    assert_int_equal(v->attr, MMU_MAP_U_RWCB);
    assert_int_equal(leaf_attr(g_as, va_at(0)), MMU_MAP_U_ROCB);
    assert_true(VAREA_IS_WRITABLE(v));
    assert_int_equal(rt_aspace_control(g_as, va_at(0), MMU_CNTL_READONLY), RT_EOK);
    assert_false(VAREA_IS_WRITABLE(v));
    assert_int_equal(rt_aspace_control(g_as, va_at(0), MMU_CNTL_READWRITE), RT_EOK);
    assert_true(VAREA_IS_WRITABLE(v));
    assert_int_equal(leaf_attr(g_as, va_at(0)), MMU_MAP_U_ROCB);
    assert_false(user_can_write(g_as, va_at(1)));
}

/* ---- load and offload --------------------------------------------------------- */

static void test_aspace_load_page_fills_holes_only(void **state)
{
    (void)state;
    size_t frames = mmt_frames();
    mmt_map(g_as, va_at(0), 4 * PAGE, 0, &rt_mm_dummy_mapper, 0);
    assert_int_equal(rt_aspace_load_page(g_as, va_at(1), 2), RT_EOK);
    assert_false(mapped(va_at(0)));
    assert_true(mapped(va_at(2)));
    assert_int_equal(mmt_frames() - frames, 3 + 2);
    void *pa1 = rt_hw_mmu_v2p(g_as, va_at(1));
    /* P2: already populated pages keep their frames */
    assert_int_equal(rt_aspace_load_page(g_as, va_at(0), 4), RT_EOK);
    assert_int_equal(mmt_frames() - frames, 3 + 4);
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, va_at(1)), pa1);
    /* errors */
    assert_int_equal(rt_aspace_load_page(g_as, va_at(4), 1), -RT_ENOENT);
    assert_int_equal(rt_aspace_load_page(g_as, va_at(0), 0), -RT_EINVAL);
    assert_int_equal(rt_aspace_load_page(g_as, va_at(0) + 8, 1), -RT_EINVAL);
    assert_int_equal(rt_aspace_load_page(g_as, va_at(2), 3), -RT_EINVAL);
    assert_int_equal(rt_aspace_load_page(g_as, va_at(2), (rt_size_t)-1), -RT_EINVAL);
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_load_page(NULL, va_at(0), 1), -RT_EINVAL));
    struct rt_mm_va_hint hint = { .limit_start = (void *)USER_START, .limit_range_size = USER_TOP - USER_START,
                                  .prefer = va_at(8), .map_size = PAGE };
    assert_int_equal(rt_aspace_map_phy(g_as, &hint, MMU_MAP_U_DEVICE, 0x9000, NULL), RT_EOK);
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_load_page(g_as, va_at(8), 1), -RT_EINVAL));
    /* out of frames: -RT_ENOMEM, nothing mapped, nothing leaked */
    char *far = (char *)0x7f0000000000ul; /* a fresh L0 slot: the map needs tables */
    mmt_map(g_as, far, PAGE, 0, &rt_mm_dummy_mapper, 20);
    size_t before = mmt_frames();
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 1, MMSIM_INJECT_PERSISTENT);
    assert_int_equal(rt_aspace_load_page(g_as, far, 1), -RT_ENOMEM);
    mmsim_inject_disarm(MMSIM_ALLOC_PAGE);
    assert_int_equal(mmt_frames(), before);
    assert_false(mapped(far));
    /* a frame whose tables cannot be had goes back (RT-Thread leaks it) */
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 2, MMSIM_INJECT_ONCE);
    assert_int_equal(rt_aspace_load_page(g_as, far, 1), -RT_ENOMEM);
    assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_PAGE), 1);
    assert_int_equal(mmt_frames(), before);
    assert_false(mapped(far));
}

static void test_aspace_offload_page_is_enosys(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    assert_int_equal(rt_aspace_offload_page(g_as, va_at(0), 1), -RT_ENOSYS);
    assert_true(mapped(va_at(0)));
}

/* ---- page I/O ------------------------------------------------------------------- */

static void test_aspace_page_get_put_through_the_object(void **state)
{
    (void)state;
    static struct mmt_rec rec;
    mmt_rec_init(&rec);
    static char in[PAGE], out[PAGE];
    memset(in, 'A', sizeof in);
    mmt_map(g_as, va_at(0), 2 * PAGE, MMF_PREFETCH, &rec.obj, 40);
    mmt_rec_clear(&rec);
    assert_int_equal(rt_aspace_page_put(g_as, va_at(1), in), RT_EOK);
    assert_int_equal(rt_aspace_page_get(g_as, va_at(1), out), RT_EOK);
    assert_string_equal(rec.log, "write(1,off=41) read(1,off=41) ");
    assert_memory_equal(in, out, PAGE);
    assert_memory_equal(rt_kmem_p2v(rt_hw_mmu_v2p(g_as, va_at(1))), in, PAGE);
    /* the dummy object refuses pages it has not got */
    mmt_map(g_as, va_at(4), PAGE, 0, &rt_mm_dummy_mapper, 0);
    assert_int_equal(rt_aspace_page_get(g_as, va_at(4), out), -RT_ERROR);
    assert_int_equal(rt_aspace_page_put(g_as, va_at(4), in), -RT_ERROR);
    /* addresses */
    assert_int_equal(rt_aspace_page_get(g_as, va_at(1) + 8, out), -RT_EINVAL);
    assert_int_equal(rt_aspace_page_put(g_as, va_at(2), in), -RT_EINVAL);
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_page_get(NULL, va_at(1), out), -RT_EINVAL));
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_page_put(g_as, va_at(1), NULL), -RT_EINVAL));
    /* objects without the callbacks */
    static struct rt_mem_obj mute;
    mute = rt_mm_dummy_mapper;
    mute.page_read = NULL;
    mute.page_write = NULL;
    mmt_map(g_as, va_at(6), PAGE, MMF_PREFETCH, &mute, 0);
    assert_int_equal(rt_aspace_page_get(g_as, va_at(6), out), -RT_ERROR);
    assert_int_equal(rt_aspace_page_put(g_as, va_at(6), in), -RT_EINVAL);
    /* a private mapping is written in a private copy (dont_copy): the page
     * moves to the aspace's anonymous object, the old frame goes */
    mmt_map(g_as, va_at(8), PAGE, MMF_PREFETCH | MMF_MAP_PRIVATE, &rt_mm_dummy_mapper, 0);
    void *old_pa = rt_hw_mmu_v2p(g_as, va_at(8));
    size_t frames = mmt_frames();
    assert_int_equal(rt_aspace_page_put(g_as, va_at(8), in), RT_EOK);
    assert_int_equal(mmt_frames(), frames); /* one copy in, the old frame out */
    assert_ptr_not_equal(rt_hw_mmu_v2p(g_as, va_at(8)), old_pa);
    assert_ptr_equal(rt_aspace_query(g_as, va_at(8))->mem_obj, g_as->private_object);
    assert_int_equal(rt_aspace_page_get(g_as, va_at(8), out), RT_EOK);
    assert_memory_equal(in, out, PAGE);
}

static void test_aspace_page_get_put_of_physical_vareas(void **state)
{
    (void)state;
    static char in[PAGE], out[PAGE];
    memset(in, 'Z', sizeof in);
    void *frame = rt_pages_alloc(0);
    struct rt_mm_va_hint hint = { .limit_start = (void *)USER_START, .limit_range_size = USER_TOP - USER_START,
                                  .prefer = va_at(0), .map_size = 2 * PAGE };
    assert_int_equal(rt_aspace_map_phy(g_as, &hint, MMU_MAP_U_RWCB, MM_PA_TO_OFF(rt_kmem_v2p(frame)), NULL),
                     RT_EOK);
    assert_int_equal(rt_aspace_page_put(g_as, va_at(0), in), RT_EOK);
    assert_memory_equal(frame, in, PAGE); /* through the frame's linear address */
    memset(frame, 'Y', PAGE);
    assert_int_equal(rt_aspace_page_get(g_as, va_at(0), out), RT_EOK);
    assert_memory_equal(out, frame, PAGE);
    rt_varea_t v = rt_aspace_query(g_as, va_at(1));
    assert_int_equal(rt_varea_unmap_page(v, va_at(1)), RT_EOK);
    assert_int_equal(rt_aspace_page_get(g_as, va_at(1), out), -RT_ENOENT);
    assert_int_equal(rt_aspace_page_put_phy(g_as, va_at(1), in), -RT_ENOENT);
    /* device memory has nothing behind it in mmsim */
    struct rt_mm_va_hint dev = hint;
    dev.prefer = va_at(4);
    assert_int_equal(rt_aspace_map_phy(g_as, &dev, MMU_MAP_U_DEVICE, 0x9000, NULL), RT_EOK);
    assert_int_equal(rt_aspace_page_get(g_as, va_at(4), out), -RT_ENOSYS);
    assert_int_equal(rt_aspace_page_put(g_as, va_at(5), in), -RT_ENOSYS);
    assert_int_equal(rt_aspace_unmap(g_as, va_at(0)), RT_EOK);
    rt_pages_free(frame, 0);
}

/* ---- mremap -------------------------------------------------------------------- */

static void test_aspace_mremap_asks_the_object_and_unmaps_the_old_range(void **state)
{
    (void)state;
    static struct mmt_rec rec;
    mmt_rec_init(&rec);
    mmt_map(g_as, va_at(0), 3 * PAGE, MMF_PREFETCH, &rec.obj, 0);
    mmt_rec_clear(&rec);
    assert_null(rt_aspace_mremap_range(g_as, va_at(0), 3 * PAGE, 5 * PAGE, 1, va_at(20)));
    assert_string_equal(rec.log, "mremap(0,5,1,20) ");
    assert_int_equal(mmt_checked_vareas(g_as), 1);
    rec.mremap_ret = va_at(20);
    mmt_rec_clear(&rec);
    assert_ptr_equal(rt_aspace_mremap_range(g_as, va_at(1), 2 * PAGE - 5, 5 * PAGE, 1, NULL), va_at(20));
    assert_string_equal(rec.log, "mremap(0,5,1,-1048576) shrink(0,3->0,1) ");
    assert_int_equal(rt_aspace_count_vsz(g_as), PAGE);
    mmt_rec_clear(&rec);
    assert_null(rt_aspace_mremap_range(NULL, va_at(0), PAGE, PAGE, 0, NULL));
    assert_null(rt_aspace_mremap_range(g_as, va_at(0) + 1, PAGE, PAGE, 0, NULL));
    assert_null(rt_aspace_mremap_range(g_as, va_at(0), 0, PAGE, 0, NULL));
    assert_null(rt_aspace_mremap_range(g_as, (void *)(USER_TOP - PAGE), 2 * PAGE, PAGE, 0, NULL));
    assert_null(rt_aspace_mremap_range(g_as, va_at(5), PAGE, PAGE, 0, NULL)); /* nothing there */
    assert_string_equal(rec.log, "");
}

/* ---- rt_varea_* ---------------------------------------------------------------- */

/* RT-Thread's varea_map_tc, under the reference-per-mapping rule (P5). */
static void test_aspace_varea_map_page_and_range(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), 4 * PAGE, 0, &rt_mm_dummy_mapper, 0);
    rt_varea_t v = rt_aspace_query(g_as, va_at(0));
    void *frame = rt_pages_alloc(0);
    void *pa = rt_kmem_v2p(frame);
    assert_int_equal(rt_varea_map_page(v, va_at(1), frame), RT_EOK);
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, va_at(1)), pa);
    assert_int_equal(rt_page_ref_get(frame, 0), 1); /* no reference taken */
    rt_varea_pgmgr_insert(v, frame);
    assert_int_equal(rt_page_ref_get(frame, 0), 2);
    assert_int_equal(rt_varea_unmap_page(v, va_at(1) + 0x123), RT_EOK);
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, va_at(1)), ARCH_MAP_FAILED);
    assert_int_equal(rt_page_ref_get(frame, 0), 2); /* nor dropped */
    assert_int_equal(rt_pages_free(frame, 0), 0);     /* the mapping's reference */

    assert_int_equal(rt_varea_map_range(v, va_at(2), (void *)0x09000000, 2 * PAGE), RT_EOK);
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, va_at(3) + 4), (void *)0x09001004);
    assert_int_equal(rt_varea_unmap_range(v, va_at(2), 2 * PAGE), RT_EOK);
    assert_false(mapped(va_at(2)));

    /* bad input */
    assert_int_equal(rt_varea_map_page(NULL, va_at(1), frame), -RT_EINVAL);
    assert_int_equal(rt_varea_map_page(v, NULL, frame), -RT_EINVAL);
    assert_int_equal(rt_varea_map_page(v, va_at(1), NULL), -RT_EINVAL);
    static char not_ram[16];
    assert_int_equal(rt_varea_map_page(v, va_at(1), not_ram), -RT_ERROR);
    assert_int_equal(rt_varea_map_page(v, va_at(4), frame), -RT_EINVAL);
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_varea_map_page(v, va_at(1) + 4, frame), -RT_EINVAL));
    assert_int_equal(rt_varea_map_range(v, va_at(0), NULL, PAGE), -RT_EINVAL); /* PA 0 refused */
    assert_int_equal(rt_varea_map_range(v, va_at(0), (void *)0x9000, 0), -RT_EINVAL);
    assert_int_equal(rt_varea_map_range(v, va_at(0), (void *)0x9000, 100), -RT_EINVAL);
    assert_int_equal(rt_varea_map_range(v, va_at(0), (void *)0x9004, PAGE), -RT_EINVAL);
    assert_int_equal(rt_varea_map_range(v, va_at(3), (void *)0x9000, 2 * PAGE), -RT_EINVAL);
    assert_int_equal(rt_varea_unmap_range(v, va_at(0), 0), -RT_EINVAL);
    assert_int_equal(rt_varea_unmap_range(NULL, va_at(0), PAGE), -RT_EINVAL);
    assert_int_equal(rt_varea_unmap_range(v, va_at(3), 2 * PAGE), -RT_EINVAL);
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_varea_unmap_range(v, va_at(0), 100), -RT_EINVAL));
    assert_int_equal(mmt_pages(g_as), 0);
    assert_int_equal(rt_pages_free(frame, 0), 1); /* the allocation's */
}

/* Cutting a block needs a table page: without one rt_varea_unmap_range says
 * -RT_ENOMEM and nothing is unmapped (RT-Thread's void unmap cannot tell). */
static void test_aspace_varea_unmap_range_without_a_table_page_is_enomem(void **state)
{
    (void)state;
    char *blk = (char *)0x40000000;
    mmt_map(g_as, blk, 0x200000, 0, &rt_mm_dummy_mapper, 0);
    rt_varea_t v = rt_aspace_query(g_as, blk);
    assert_int_equal(rt_varea_map_range(v, blk, (void *)0x08000000, 0x200000), RT_EOK);
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 1, MMSIM_INJECT_ONCE);
    assert_int_equal(rt_varea_unmap_range(v, blk + PAGE, PAGE), -RT_ENOMEM);
    assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_PAGE), 1);
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, blk + PAGE), (void *)(0x08000000 + PAGE));
    assert_int_equal(rt_varea_unmap_range(v, blk + PAGE, PAGE), RT_EOK);
    assert_false(mapped(blk + PAGE));
    assert_true(mapped(blk + 2 * PAGE));
}

static void test_aspace_varea_maps_use_the_effective_attribute(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), 2 * PAGE, MMF_MAP_PRIVATE, &rt_mm_dummy_mapper, 0);
    rt_varea_t v = rt_aspace_query(g_as, va_at(0));
    assert_int_equal(rt_varea_map_range(v, va_at(0), (void *)0x09000000, 2 * PAGE), RT_EOK);
    assert_int_equal(leaf_attr(g_as, va_at(1)), MMU_MAP_U_ROCB);
    assert_int_equal(rt_varea_unmap_range(v, va_at(0), 2 * PAGE), RT_EOK);
}

static void test_aspace_varea_map_with_msg_statuses(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), 2 * PAGE, 0, &rt_mm_dummy_mapper, 0);
    rt_varea_t v = rt_aspace_query(g_as, va_at(0));
    void *frame = rt_pages_alloc(0);
    struct rt_aspace_fault_msg msg = { .fault_vaddr = va_at(1) };
    rt_mm_fault_res_init(&msg.response);
    assert_int_equal(rt_varea_map_with_msg(v, &msg), -RT_ERROR); /* UNRECOVERABLE */
    msg.response.status = MM_FAULT_STATUS_OK_MAPPED;
    assert_int_equal(rt_varea_map_with_msg(v, &msg), RT_EOK);
    assert_false(mapped(va_at(1)));
    msg.response.status = MM_FAULT_STATUS_OK;
    msg.response.vaddr = frame;
    msg.response.size = 2 * PAGE; /* runs past the varea */
    assert_int_equal(rt_varea_map_with_msg(v, &msg), -RT_ERROR);
    msg.response.size = PAGE;
    assert_int_equal(rt_varea_map_with_msg(v, &msg), RT_EOK);
    assert_ptr_equal(rt_hw_mmu_v2p(g_as, va_at(1)), rt_kmem_v2p(frame));
    /* the mapping owns the frame's reference now: unmap hands it back */
    assert_int_equal(rt_aspace_unmap(g_as, va_at(0)), RT_EOK);
    assert_int_equal(mmsim_phys_frame_state((uintptr_t)rt_kmem_v2p(frame)) == MMSIM_FRAME_ALLOCATED, 0);
}

/* ---- threads ------------------------------------------------------------------- */

struct churn
{
    int id;
    int failures;
};

static void *churn(void *arg)
{
    struct churn *c = arg;
    static const char fill[2] = { 'a', 'b' };
    char *base = va_at(c->id * 1024);
    char buf[PAGE], back[PAGE];
    memset(buf, fill[c->id], sizeof buf);
    for (int i = 0; i < 300; i++) {
        void *va = base + (i % 7) * 16 * PAGE;
        rt_size_t n = 1 + (rt_size_t)(i % 4);
        if (rt_aspace_map(g_as, &va, n * PAGE, MMU_MAP_U_RWCB, MMF_PREFETCH, &rt_mm_dummy_mapper, 0) != RT_EOK) {
            c->failures++;
            continue;
        }
        if (rt_aspace_page_put(g_as, va, buf) != RT_EOK || rt_aspace_page_get(g_as, va, back) != RT_EOK ||
            memcmp(buf, back, PAGE) != 0 || !rt_aspace_query(g_as, va))
            c->failures++;
        if (n > 1 && rt_aspace_unmap_range(g_as, (char *)va + PAGE, PAGE) != RT_EOK)
            c->failures++;
        if (rt_aspace_unmap_range(g_as, va, n * PAGE) != RT_EOK)
            c->failures++;
        if (i % 50 == 0)
            rt_aspace_count_vsz(g_as);
    }
    return NULL;
}

static void test_aspace_two_threads_map_and_unmap_in_one_aspace(void **state)
{
    (void)state;
    size_t frames = mmt_frames();
    pthread_t t[2];
    struct churn c[2] = { { 0, 0 }, { 1, 0 } };
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, churn, &c[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(c[0].failures, 0);
    assert_int_equal(c[1].failures, 0);
    assert_int_equal(mmt_checked_vareas(g_as), 0);
    assert_int_equal(mmt_tables(g_as), 1);
    assert_int_equal(mmt_frames(), frames);
}

/* An aspace a test leaked dies with the machine's RAM; the next boot's
 * machine-wide check must not visit it (it would read freed memory). */
static void test_aspace_checker_forgets_aspaces_of_an_earlier_boot(void **state)
{
    (void)state;
    rt_aspace_t stale = mmt_user_aspace();
    struct mmsim_leak_report rep;
    assert_int_equal(mmsim_machine_shutdown(&rep), 1); /* the root table leaked */
    assert_int_equal(rep.frames, 1);
    rt_free(stale); /* host memory, independent of the machine; still recorded */
    assert_int_equal(mmsim_machine_boot_default(), RT_EOK);
    assert_int_equal(mmsim_mm_check_machine(NULL, 0, stderr, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, mmt_setup, teardown)
        T(test_aspace_create_without_table_is_null_and_heap_unchanged),
        T(test_aspace_init_detach_pair_and_bad_input),
        T(test_aspace_delete_after_four_kinds_of_map),
        T(test_aspace_query_traversal_and_vsz),
        T(test_aspace_print_all_names_each_varea),
        T(test_aspace_control_cache_and_write_permission),
        T(test_aspace_control_readwrite_keeps_private_pages_read_only),
        T(test_aspace_load_page_fills_holes_only),
        T(test_aspace_offload_page_is_enosys),
        T(test_aspace_page_get_put_through_the_object),
        T(test_aspace_page_get_put_of_physical_vareas),
        T(test_aspace_mremap_asks_the_object_and_unmaps_the_old_range),
        T(test_aspace_varea_map_page_and_range),
        T(test_aspace_varea_unmap_range_without_a_table_page_is_enomem),
        T(test_aspace_varea_maps_use_the_effective_attribute),
        T(test_aspace_varea_map_with_msg_statuses),
        T(test_aspace_two_threads_map_and_unmap_in_one_aspace),
#undef T
        cmocka_unit_test_setup_teardown(test_aspace_checker_forgets_aspaces_of_an_earlier_boot, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests_name("aspace", tests, NULL, NULL);
}
