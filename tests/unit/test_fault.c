/* rt_aspace_fault_try_fix: the precise type refinement of a GENERIC_MMU
 * fault, the dispatch per operation (§3.5), permission faults fixed only when
 * the table now grants the access (§0.1 item 10), and fetch failures giving
 * their frames back. Counts: a page at 0x100000000 needs three tables. */
#include <string.h>
#include <mmsim/mm_check.h>
#include "mm_util.h"

static rt_aspace_t g_as;
static struct mmt_rec g_rec;

static int setup(void **state)
{
    if (fx_setup(state))
        return -1;
    g_as = mmt_user_aspace();
    mmt_rec_init(&g_rec);
    return 0;
}

static int teardown(void **state)
{
    /* every test ends in a state the invariant checker accepts */
    if (mmsim_mm_check_machine(NULL, 0, stderr, NULL))
        return -1;
    mmt_aspace_free(g_as);
    return fx_teardown(state);
}

static int fault(void *va, enum rt_mm_fault_op op, enum rt_mm_fault_type type)
{
    struct rt_aspace_fault_msg msg = { .fault_op = op, .fault_type = type, .fault_vaddr = va };
    return rt_aspace_fault_try_fix(g_as, &msg);
}

static void map_attr(void *va, rt_size_t attr, mm_flag_t flags, rt_mem_obj_t obj)
{
    void *addr = va;
    assert_int_equal(rt_aspace_map(g_as, &addr, PAGE, attr, flags, obj, 0), RT_EOK);
}

static void test_fault_generic_mmu_on_an_empty_page_fetches_it(void **state)
{
    (void)state;
    size_t frames = mmt_frames();
    mmt_map(g_as, va_at(0), 2 * PAGE, 0, &g_rec.obj, 7);
    mmt_rec_clear(&g_rec);
    /* unaligned: rounded down to the page; object page = offset + 1 */
    struct rt_aspace_fault_msg msg = { .fault_op = MM_FAULT_OP_READ, .fault_type = MM_FAULT_TYPE_GENERIC_MMU,
                                       .fault_vaddr = va_at(1) + 123 };
    assert_int_equal(rt_aspace_fault_try_fix(g_as, &msg), MM_FAULT_FIXABLE_TRUE);
    assert_ptr_equal(msg.fault_vaddr, va_at(1));
    assert_int_equal(msg.fault_type, MM_FAULT_TYPE_PAGE_FAULT);
    assert_int_equal(msg.off, 8);
    assert_string_equal(g_rec.log, "fault(1,off=8) ");
    assert_int_equal(mmt_frames() - frames, 1 + 3);
    /* a write fault on the other page, and an execute fault, fetch too */
    assert_int_equal(fault(va_at(0), MM_FAULT_OP_WRITE, MM_FAULT_TYPE_GENERIC_MMU), MM_FAULT_FIXABLE_TRUE);
    assert_false(mmt_write_faults(g_as, va_at(0)));
    assert_int_equal(mmt_frames() - frames, 2 + 3);
    /* now mapped: a PAGE_FAULT is someone else's fix, the object is not asked */
    mmt_rec_clear(&g_rec);
    assert_int_equal(fault(va_at(0), MM_FAULT_OP_READ, MM_FAULT_TYPE_PAGE_FAULT), MM_FAULT_FIXABLE_TRUE);
    assert_int_equal(fault(va_at(0), MM_FAULT_OP_WRITE, MM_FAULT_TYPE_GENERIC_MMU), MM_FAULT_FIXABLE_TRUE);
    assert_string_equal(g_rec.log, "");
    assert_int_equal(mmt_frames() - frames, 2 + 3);
}

static void test_fault_without_the_permission_or_varea_is_unfixable(void **state)
{
    (void)state;
    size_t frames = mmt_frames();
    /* kernel-only attribute: the user access is not granted, type stays GENERIC_MMU */
    map_attr(va_at(0), MMU_MAP_K_RWCB, 0, &g_rec.obj);
    struct rt_aspace_fault_msg msg = { .fault_op = MM_FAULT_OP_READ, .fault_type = MM_FAULT_TYPE_GENERIC_MMU,
                                       .fault_vaddr = va_at(0) };
    assert_int_equal(rt_aspace_fault_try_fix(g_as, &msg), MM_FAULT_FIXABLE_FALSE);
    assert_int_equal(msg.fault_type, MM_FAULT_TYPE_GENERIC_MMU);
    /* read-only user attribute: a write is refused, a read is fetched */
    map_attr(va_at(2), MMU_MAP_U_ROCB, 0, &g_rec.obj);
    assert_int_equal(fault(va_at(2), MM_FAULT_OP_WRITE, MM_FAULT_TYPE_GENERIC_MMU), MM_FAULT_FIXABLE_FALSE);
    assert_int_equal(fault(va_at(2), MM_FAULT_OP_READ, MM_FAULT_TYPE_GENERIC_MMU), MM_FAULT_FIXABLE_TRUE);
    /* a private read-only mapping is no COW candidate */
    map_attr(va_at(4), MMU_MAP_U_ROCB, MMF_MAP_PRIVATE, &g_rec.obj);
    assert_int_equal(fault(va_at(4), MM_FAULT_OP_WRITE, MM_FAULT_TYPE_PAGE_FAULT), MM_FAULT_FIXABLE_FALSE);
    /* no varea, no aspace, other types, an unknown op, a physical varea */
    assert_int_equal(fault(va_at(9), MM_FAULT_OP_READ, MM_FAULT_TYPE_GENERIC_MMU), MM_FAULT_FIXABLE_FALSE);
    assert_int_equal(rt_aspace_fault_try_fix(NULL, &msg), MM_FAULT_FIXABLE_FALSE);
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_fault_try_fix(g_as, NULL), MM_FAULT_FIXABLE_FALSE));
    assert_int_equal(fault(va_at(2), MM_FAULT_OP_READ, MM_FAULT_TYPE_BUS_ERROR), MM_FAULT_FIXABLE_FALSE);
    assert_int_equal(fault(va_at(2), MM_FAULT_OP_READ, MM_FAULT_TYPE_NO_PRIVILEGES), MM_FAULT_FIXABLE_FALSE);
    assert_int_equal(fault(va_at(2), (enum rt_mm_fault_op)9, MM_FAULT_TYPE_GENERIC_MMU), MM_FAULT_FIXABLE_FALSE);
    struct rt_mm_va_hint hint = { .limit_start = g_as->start, .limit_range_size = g_as->size,
                                  .prefer = va_at(20), .map_size = PAGE, .flags = MMF_MAP_FIXED };
    void *frame = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE), *phys_va;
    assert_int_equal(rt_aspace_map_phy(g_as, &hint, MMU_MAP_U_ROCB, MM_PA_TO_OFF(rt_kmem_v2p(frame)), &phys_va),
                     RT_EOK);
    assert_int_equal(fault(phys_va, MM_FAULT_OP_WRITE, MM_FAULT_TYPE_GENERIC_MMU), MM_FAULT_FIXABLE_FALSE);
    assert_int_equal(rt_aspace_unmap(g_as, phys_va), RT_EOK);
    rt_pages_free(frame, 0);
    assert_int_equal(mmt_frames() - frames, 1 + 3); /* the one read fetch */
}

/* §0.1 item 10: a permission fault on a present page is fixed exactly when
 * the table now grants the access. */
static void test_fault_permission_faults_follow_the_page_table(void **state)
{
    (void)state;
    rt_size_t nx = rt_hw_mmu_attr_rm_perm(MMU_MAP_U_RWCB, RT_HW_MMU_PROT_USER | RT_HW_MMU_PROT_EXECUTE);
    void *addr = va_at(0);
    assert_int_equal(rt_aspace_map(g_as, &addr, PAGE, nx, MMF_PREFETCH, &rt_mm_dummy_mapper, 0), RT_EOK);
    /* readable now: the race of #9854, fixed */
    assert_int_equal(fault(va_at(0), MM_FAULT_OP_READ, MM_FAULT_TYPE_RWX_PERM), MM_FAULT_FIXABLE_TRUE);
    /* user execute-never: never fixed, so never retried forever */
    assert_int_equal(fault(va_at(0), MM_FAULT_OP_EXECUTE, MM_FAULT_TYPE_RWX_PERM), MM_FAULT_FIXABLE_FALSE);
    /* writable now (another thread's copy came first), then not after READONLY */
    assert_int_equal(fault(va_at(0), MM_FAULT_OP_WRITE, MM_FAULT_TYPE_RWX_PERM), MM_FAULT_FIXABLE_TRUE);
    assert_int_equal(rt_aspace_control(g_as, va_at(0), MMU_CNTL_READONLY), RT_EOK);
    assert_int_equal(fault(va_at(0), MM_FAULT_OP_WRITE, MM_FAULT_TYPE_RWX_PERM), MM_FAULT_FIXABLE_FALSE);
    /* an executable user mapping: an execute fault on it is fixed */
    rt_size_t ux = rt_hw_mmu_attr_add_perm(MMU_MAP_U_RWCB, RT_HW_MMU_PROT_USER | RT_HW_MMU_PROT_EXECUTE);
    addr = va_at(2);
    assert_int_equal(rt_aspace_map(g_as, &addr, PAGE, ux, MMF_PREFETCH, &rt_mm_dummy_mapper, 0), RT_EOK);
    assert_int_equal(fault(va_at(2), MM_FAULT_OP_EXECUTE, MM_FAULT_TYPE_RWX_PERM), MM_FAULT_FIXABLE_TRUE);
    assert_int_equal(fault(va_at(2), MM_FAULT_OP_EXECUTE, MM_FAULT_TYPE_GENERIC_MMU), MM_FAULT_FIXABLE_TRUE);
    /* an executable page not yet there is fetched */
    addr = va_at(4);
    assert_int_equal(rt_aspace_map(g_as, &addr, PAGE, ux, 0, &rt_mm_dummy_mapper, 0), RT_EOK);
    assert_int_equal(fault(va_at(4), MM_FAULT_OP_EXECUTE, MM_FAULT_TYPE_GENERIC_MMU), MM_FAULT_FIXABLE_TRUE);
    assert_non_null(mmt_frame(g_as, va_at(4)));
}

/* A private mapping's write fault is a COW; a read maps the object's page
 * read-only. */
static void test_fault_write_to_a_private_mapping_copies(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), 2 * PAGE, MMF_MAP_PRIVATE | MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    void *old = mmt_frame(g_as, va_at(0));
    memset(old, 0x3c, PAGE);
    assert_true(mmt_write_faults(g_as, va_at(0)));
    size_t frames = mmt_frames();
    assert_true(mmt_user_write(g_as, va_at(0) + 5, 0x99));
    void *copy = mmt_frame(g_as, va_at(0));
    assert_ptr_not_equal(copy, old);
    assert_int_equal(((uint8_t *)copy)[0], 0x3c); /* copied */
    assert_int_equal(((uint8_t *)copy)[5], 0x99);
    /* the old frame went with the dummy varea's page: one frame in, one out */
    assert_int_equal(mmt_frames(), frames);
    assert_int_equal(mmt_checked_vareas(g_as), 2);
}

/* A frame the object answers with that cannot be mapped goes back. */
static void test_fault_fetch_failure_gives_the_frame_back(void **state)
{
    (void)state;
    mmt_map(g_as, va_at(0), PAGE, 0, &rt_mm_dummy_mapper, 0);
    size_t frames = mmt_frames();
    /* the frame is had, the first table page is not */
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 2, MMSIM_INJECT_ONCE);
    assert_int_equal(fault(va_at(0), MM_FAULT_OP_READ, MM_FAULT_TYPE_GENERIC_MMU), MM_FAULT_FIXABLE_FALSE);
    assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_PAGE), 1);
    assert_int_equal(mmt_frames(), frames);
    /* no frame at all */
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 1, MMSIM_INJECT_ONCE);
    assert_int_equal(fault(va_at(0), MM_FAULT_OP_READ, MM_FAULT_TYPE_GENERIC_MMU), MM_FAULT_FIXABLE_FALSE);
    mmsim_inject_disarm(MMSIM_ALLOC_PAGE);
    assert_int_equal(mmt_frames(), frames);
    /* an object without on_page_fault */
    static struct rt_mem_obj mute;
    mute = rt_mm_dummy_mapper;
    mute.on_page_fault = NULL;
    mmt_map(g_as, va_at(2), PAGE, 0, &mute, 0);
    assert_int_equal(fault(va_at(2), MM_FAULT_OP_READ, MM_FAULT_TYPE_GENERIC_MMU), MM_FAULT_FIXABLE_FALSE);
    assert_int_equal(fault(va_at(0), MM_FAULT_OP_READ, MM_FAULT_TYPE_GENERIC_MMU), MM_FAULT_FIXABLE_TRUE);
    assert_int_equal(mmt_frames(), frames + 1 + 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fault_generic_mmu_on_an_empty_page_fetches_it),
        T(test_fault_without_the_permission_or_varea_is_unfixable),
        T(test_fault_permission_faults_follow_the_page_table),
        T(test_fault_write_to_a_private_mapping_copies),
        T(test_fault_fetch_failure_gives_the_frame_back),
#undef T
    };
    return cmocka_run_group_tests_name("fault", tests, NULL, NULL);
}
