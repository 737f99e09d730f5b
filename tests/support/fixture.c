#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mmsim/mm_check.h>
#include "fixture.h"

struct mmsim_assert_record fx_asserts;

int fx_setup_bare(void **state)
{
    (void)state;
    memset(&fx_asserts, 0, sizeof fx_asserts);
    mmsim_assert_hook_set(mmsim_assert_record, &fx_asserts);
    mmsim_inject_disarm_all();
    return 0;
}

void fx_boot(const struct mmsim_machine_config *cfg)
{
    int rc = mmsim_machine_boot(cfg);
    if (rc != 0)
        fail_msg("machine boot failed: %d", rc);
}

int fx_setup(void **state)
{
    fx_setup_bare(state);
    return mmsim_machine_boot_default() == 0 ? 0 : -1;
}

int fx_teardown(void **state)
{
    (void)state;
    mmsim_inject_disarm_all();
    /* names what is still live (aspaces, registered frames) before the counts */
    int problems = mmsim_mm_check_boot_counts(stderr, NULL);
    struct mmsim_leak_report rep;
    int leaked = mmsim_machine_shutdown(&rep);
    mmsim_assert_hook_set(NULL, NULL);
    if (leaked)
        mmsim_leak_report_print(&rep, stderr);
    return problems || leaked ? -1 : 0; /* CMocka fails the test when teardown fails */
}

uint64_t fx_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

uint64_t fx_seed(const char *test_name)
{
    const char *env = getenv("MMSIM_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)clock();
    if (seed == 0)
        seed = 1;
    printf("# %s: seed %llu (rerun with MMSIM_SEED=%llu)\n", test_name, (unsigned long long)seed,
           (unsigned long long)seed);
    return seed;
}
