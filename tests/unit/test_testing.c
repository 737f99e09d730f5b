/* mmsim/testing.h, the installed CMocka support: its teardown must fail on
 * each kind of finding and pass a clean machine, and its user-access helpers
 * must reach memory as user code would. These tests drive the fixture by
 * hand (no CMocka setup/teardown) to see what the teardown returns. */
#include <mmsim/testing.h>
#include "mm_util.h"

static void test_testing_teardown_clean_machine_passes(void **state)
{
    assert_int_equal(mmsim_test_setup(state), 0);
    assert_int_equal(mmsim_test_teardown(state), 0);
    assert_false(mmsim_machine_booted());
}

static void test_testing_teardown_leaked_frame_fails(void **state)
{
    assert_int_equal(mmsim_test_setup(state), 0);
    assert_non_null(rt_pages_alloc(0)); /* gone with the machine */
    assert_int_equal(mmsim_test_teardown(state), -1);
}

static void test_testing_teardown_leaked_heap_byte_fails(void **state)
{
    assert_int_equal(mmsim_test_setup(state), 0);
    void *p = rt_malloc(1);
    assert_non_null(p);
    assert_int_equal(mmsim_test_teardown(state), -1);
    rt_free(p); /* the host heap outlives the machine */
}

static void test_testing_teardown_unexpected_assert_fails(void **state)
{
    assert_int_equal(mmsim_test_setup(state), 0);
    RT_ASSERT(PAGE == 0);
    assert_int_equal(mmsim_test_asserts()->count, 1);
    assert_int_equal(mmsim_test_teardown(state), -1);
}

static void test_testing_expected_asserts_pass_teardown(void **state)
{
    assert_int_equal(mmsim_test_setup(state), 0);
    MMSIM_EXPECT_ASSERT(RT_ASSERT(PAGE == 0));
    MMSIM_EXPECT_ASSERTS(2, { RT_ASSERT(PAGE == 1); RT_ASSERT(PAGE == 2); });
    assert_int_equal(mmsim_test_asserts()->count, 3);
    assert_int_equal(mmsim_test_teardown(state), 0);
}

/* A leaf outside every varea is a checker problem the teardown would report. */
static void test_testing_check_finds_a_leaf_outside_vareas(void **state)
{
    assert_int_equal(mmsim_test_setup(state), 0);
    rt_aspace_t as = mmt_user_aspace();
    void *frame = rt_pages_alloc(0);
    void *pa = (void *)((uintptr_t)frame + PV_OFFSET);
    assert_non_null(rt_hw_mmu_map(as, UTEST_VA, pa, PAGE, MMU_MAP_U_RWCB));
    assert_int_not_equal(mmsim_test_check(), 0);
    rt_hw_mmu_unmap(as, UTEST_VA, PAGE);
    rt_pages_free(frame, 0);
    assert_int_equal(mmsim_test_check(), 0);
    mmt_aspace_free(as);
    assert_int_equal(mmsim_test_teardown(state), 0);
}

/* Anonymous memory: the first write faults a frame in (one fault), a read
 * outside every varea is not fixable. */
static void test_testing_user_access_faults_in_and_refuses_holes(void **state)
{
    assert_int_equal(mmsim_test_setup(state), 0);
    rt_aspace_t as = mmt_user_aspace();
    void *va = UTEST_VA;
    assert_int_equal(rt_aspace_map_private(as, &va, 2 * PAGE, MMU_MAP_U_RWCB, 0), RT_EOK);
    assert_null(mmsim_test_host(as, va));
    const char msg[] = "crosses a page";
    char *at = (char *)va + PAGE - 4;
    assert_int_equal(mmsim_test_user_write(as, at, msg, sizeof msg), RT_EOK);
    char back[sizeof msg];
    assert_int_equal(mmsim_test_user_read(as, at, back, sizeof back), RT_EOK);
    assert_string_equal(back, msg);
    assert_int_equal(mmt_pages(as), 2);
    assert_ptr_equal(mmsim_test_host(as, at), (char *)mmsim_test_host(as, va) + PAGE - 4);
    assert_int_equal(mmsim_test_user_read(as, (char *)va + 2 * PAGE, back, 1), -RT_EFAULT);
    assert_int_equal(mmsim_test_fault(as, (char *)va + 2 * PAGE, MM_FAULT_OP_READ),
                     MM_FAULT_FIXABLE_FALSE);
    assert_int_equal(mmsim_test_check(), 0);
    mmt_aspace_free(as);
    assert_int_equal(mmsim_test_teardown(state), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_testing_teardown_clean_machine_passes),
        cmocka_unit_test(test_testing_teardown_leaked_frame_fails),
        cmocka_unit_test(test_testing_teardown_leaked_heap_byte_fails),
        cmocka_unit_test(test_testing_teardown_unexpected_assert_fails),
        cmocka_unit_test(test_testing_expected_asserts_pass_teardown),
        cmocka_unit_test(test_testing_check_finds_a_leaf_outside_vareas),
        cmocka_unit_test(test_testing_user_access_faults_in_and_refuses_holes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
