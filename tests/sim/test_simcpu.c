/* The simulated CPU: syndromes, the trap into mm, TLB, ASIDs, processes,
 * fork/COW through loads and stores, and the simulator's own checks. */
#include <string.h>
#include <lwp.h>
#include <mm_page.h>
#include <mmsim/mm_check.h>
#include <mmsim/pgtable.h>
#include "simcpu.h"
#include "fixture.h"

static int setup(void **state)
{
    if (fx_setup(state))
        return -1;
    struct mmsim_sim_config cfg;
    mmsim_sim_config_default(&cfg);
    return mmsim_sim_start(&cfg) == RT_EOK ? 0 : -1;
}

static int teardown(void **state)
{
    mmsim_sim_stop();
    return fx_teardown(state);
}

static void test_simcpu_esr_encodes_ec_wnr_and_fsc(void **state)
{
    (void)state;
    assert_int_equal(mmsim_cpu_esr(MMSIM_ACCESS_LOAD, 0, 0x07), 0x92000007ull);
    assert_int_equal(mmsim_cpu_esr(MMSIM_ACCESS_STORE, 0, 0x0f), 0x9200004full);
    assert_int_equal(mmsim_cpu_esr(MMSIM_ACCESS_STORE, 1, 0x06), 0x96000046ull);
    assert_int_equal(mmsim_cpu_esr(MMSIM_ACCESS_FETCH, 0, 0x07), 0x82000007ull);
    assert_int_equal(mmsim_cpu_esr(MMSIM_ACCESS_FETCH, 1, 0x0d), 0x8600000dull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_simcpu_esr_encodes_ec_wnr_and_fsc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
