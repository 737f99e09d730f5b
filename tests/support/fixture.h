/* Test fixture: boots a machine per test and fails the test if any frame or
 * heap byte leaked, or the allocator is inconsistent, at teardown. Also a
 * recording assert hook so a test can expect RT_ASSERT. */
#ifndef MMSIM_TEST_FIXTURE_H
#define MMSIM_TEST_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <mmsim/machine.h>
#include <mmsim/diag.h>
#include <mmsim/alloc.h>

/* The assertions recorded since the test started. */
extern struct mmsim_assert_record fx_asserts;

/* CMocka setup/teardown: default machine, recording assert hook. */
int fx_setup(void **state);
int fx_teardown(void **state);
/* Boot with a custom configuration instead (call from a test that used
 * fx_setup_bare). */
int fx_setup_bare(void **state);
void fx_boot(const struct mmsim_machine_config *cfg);

/* Expect exactly `n` more assertions than were recorded before `stmt`. */
#define FX_EXPECT_ASSERTS(n, stmt)                                    \
    do {                                                              \
        unsigned fx_before_ = fx_asserts.count;                       \
        stmt;                                                         \
        assert_int_equal(fx_asserts.count - fx_before_, (n));         \
    } while (0)

/* Seeded PRNG for randomised tests (xorshift64*); tests print the seed on failure. */
uint64_t fx_rand(uint64_t *state);
/* The seed: MMSIM_SEED from the environment, else from the clock. Printed. */
uint64_t fx_seed(const char *test_name);

#endif
