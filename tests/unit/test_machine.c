/* Machine boot, configuration checks and the teardown leak report. */
#include <string.h>
#include <mm_aspace.h>
#include <mm_page.h>
#include <mmsim/phys.h>
#include "fixture.h"

static void test_machine_boot_sets_up_kernel_space(void **state)
{
    (void)state;
    assert_true(mmsim_machine_booted());
    assert_ptr_equal(rt_kernel_space.start, (void *)KERNEL_VADDR_START);
    assert_int_equal(rt_kernel_space.size, 0x0001000000000000ul);
    assert_non_null(rt_kernel_space.page_table);
    assert_int_equal(mmsim_phys_frame_state(mmsim_phys_host2pa(rt_kernel_space.page_table)),
                     MMSIM_FRAME_ALLOCATED);
    assert_int_equal(mmsim_machine_boot_default(), -RT_EBUSY);
}

static void test_machine_bad_config_is_rejected_and_nothing_boots(void **state)
{
    (void)state;
    assert_int_equal(mmsim_machine_shutdown(NULL), 0);
    struct mmsim_machine_config cfg;
    mmsim_machine_config_default(&cfg);
    cfg.ram_base = 0x40001000; /* not 4 MiB aligned */
    assert_int_equal(mmsim_machine_boot(&cfg), -RT_EINVAL);
    mmsim_machine_config_default(&cfg);
    cfg.ram_size = 0;
    assert_int_equal(mmsim_machine_boot(&cfg), -RT_EINVAL);
    cfg.ram_size = 0x1800; /* not whole frames */
    assert_int_equal(mmsim_machine_boot(&cfg), -RT_EINVAL);
    mmsim_machine_config_default(&cfg);
    cfg.install_size = cfg.ram_size * 2;
    assert_int_equal(mmsim_machine_boot(&cfg), -RT_EINVAL);
    cfg.install_size = 0;
    cfg.ram_base = 0xfffffffffc000000ULL; /* beyond 52-bit PA */
    assert_int_equal(mmsim_machine_boot(&cfg), -RT_EINVAL);
    assert_int_equal(mmsim_machine_boot(NULL), -RT_EINVAL);
    assert_false(mmsim_machine_booted());
    assert_int_equal(mmsim_machine_boot_default(), RT_EOK);
}

static void test_machine_shutdown_reports_leaked_frames_and_heap(void **state)
{
    (void)state;
    void *page = rt_pages_alloc(1);
    void *heap = rt_malloc(100);
    assert_non_null(page);
    uint64_t kva = KERNEL_VADDR_START + 0x100000;
    assert_non_null(rt_hw_mmu_map(&rt_kernel_space, (void *)kva, (void *)0x09000000, 0x1000, MMU_MAP_K_DEVICE));
    struct mmsim_leak_report rep;
    assert_int_equal(mmsim_machine_shutdown(&rep), 1);
    assert_int_equal(rep.frames, 2 + 3);      /* the order-1 block and three kernel tables */
    assert_int_equal(rep.kernel_tables, 3);
    assert_int_equal(rep.heap_bytes, 100);
    assert_int_equal(rep.allocator_problems, 0);
    rt_free(heap);
    assert_false(mmsim_machine_booted());
    assert_int_equal(mmsim_machine_boot_default(), RT_EOK); /* for the fixture's teardown */
}

static void test_machine_clean_cycle_reports_no_leak(void **state)
{
    (void)state;
    for (int i = 0; i < 50; i++) {
        struct mmsim_leak_report rep;
        void *p = rt_pages_alloc(3);
        rt_pages_free(p, 3);
        assert_int_equal(mmsim_machine_shutdown(&rep), 0);
        assert_int_equal(rep.frames, 0);
        assert_int_equal(rep.heap_bytes, 0);
        assert_int_equal(mmsim_machine_boot_default(), RT_EOK);
    }
}

static void test_machine_ram_outside_is_not_ram(void **state)
{
    (void)state;
    assert_true(mmsim_phys_is_ram(0x40000000));
    assert_true(mmsim_phys_is_ram(0x4fffffff));
    assert_false(mmsim_phys_is_ram(0x50000000));
    assert_false(mmsim_phys_is_ram(0x3fffffff));
    assert_null(mmsim_phys_pa2host(0x50000000));
    assert_int_equal(mmsim_phys_frame_state(0x09000000), MMSIM_FRAME_NOT_RAM);
    assert_int_equal(mmsim_phys_frame_state(0x4ff00000), MMSIM_FRAME_FREE);
    char local;
    assert_int_equal(mmsim_phys_host2pa(&local), UINT64_MAX);
}

static void test_machine_badinput_without_machine(void **state)
{
    (void)state;
    assert_int_equal(mmsim_machine_shutdown(NULL), 0);
    void *p = (void *)1;
    FX_EXPECT_ASSERTS(1, p = rt_pages_alloc(0));
    assert_null(p);
    char host[8];
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_page_ref_get(host, 0), 0));
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_pages_free(host, 0), 0));
    assert_false(mmsim_phys_is_ram(0x40000000));
    assert_int_equal(mmsim_phys_check(NULL), 1); /* "no machine is booted" */
    assert_int_equal(mmsim_machine_boot_default(), RT_EOK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_machine_boot_sets_up_kernel_space),
        T(test_machine_bad_config_is_rejected_and_nothing_boots),
        T(test_machine_shutdown_reports_leaked_frames_and_heap),
        T(test_machine_clean_cycle_reports_no_leak),
        T(test_machine_ram_outside_is_not_ram),
        T(test_machine_badinput_without_machine),
#undef T
    };
    return cmocka_run_group_tests_name("machine", tests, NULL, NULL);
}
