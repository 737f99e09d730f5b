/*
 * mmsim/testing.h — CMocka support for testing your own kernel mm code on
 * mmsim (see docs/testing-your-code.md and examples/devobj/).
 *
 * Header-only (static inline), so the installed library does not depend on
 * CMocka: link your test with mmsim::mmsim and cmocka. CMocka needs
 * <setjmp.h>, <stdarg.h> and <stddef.h> before <cmocka.h>; this header
 * includes all four itself, in that order, so it may come first.
 *
 *   static const struct CMUnitTest tests[] = {
 *       cmocka_unit_test_setup_teardown(test_x, mmsim_test_setup, mmsim_test_teardown),
 *   };
 *
 * mmsim_test_setup boots a fresh machine and records RT_ASSERTs instead of
 * aborting; mmsim_test_teardown runs the machine-wide invariant checker
 * (mmsim/mm_check.h), shuts the machine down and fails the test on any
 * checker problem, leaked frame or heap byte, allocator inconsistency, or
 * RT_ASSERT the test did not expect with MMSIM_EXPECT_ASSERT(S).
 *
 * The state lives in one static object per translation unit: use the setup,
 * teardown and expectation macros from the same source file.
 */
#ifndef MMSIM_TESTING_H
#define MMSIM_TESTING_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <mmsim/alloc.h>
#include <mmsim/diag.h>
#include <mmsim/machine.h>
#include <mmsim/mm_check.h>
#include <mmsim/pgtable.h>
#include <mmsim/phys.h>
#include <mm_aspace.h>
#include <mm_fault.h>
#include <mmu.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mmsim_test_state
{
    struct mmsim_assert_record asserts; /* every RT_ASSERT since setup */
    unsigned expected;                  /* of which MMSIM_EXPECT_ASSERT(S) expected */
    const struct mmsim_mm_owner_ref *owners; /* references the checker must allow */
    size_t nowners;
};

/* The state of this translation unit's tests (a function-local static, so an
 * unused header costs nothing and raises no warning). */
static inline struct mmsim_test_state *mmsim_test_state(void)
{
    static struct mmsim_test_state state;
    return &state;
}

/* The assertions recorded since setup: count, last expression and message. */
static inline const struct mmsim_assert_record *mmsim_test_asserts(void)
{
    return &mmsim_test_state()->asserts;
}

/* Setup without booting: reset the state, record RT_ASSERTs, disarm any
 * allocation-failure injection. Boot later with mmsim_test_boot. */
static inline int mmsim_test_setup_bare(void **state)
{
    (void)state;
    struct mmsim_test_state *st = mmsim_test_state();
    memset(st, 0, sizeof *st);
    mmsim_assert_hook_set(mmsim_assert_record, &st->asserts);
    mmsim_inject_disarm_all();
    return 0;
}

/* Boot with a custom configuration (after mmsim_test_setup_bare); fails the
 * test if the machine does not boot. */
static inline void mmsim_test_boot(const struct mmsim_machine_config *cfg)
{
    int rc = mmsim_machine_boot(cfg);
    if (rc != 0)
        fail_msg("mmsim: machine boot failed: %d", rc);
}

/* CMocka setup: a fresh default machine per test. */
static inline int mmsim_test_setup(void **state)
{
    mmsim_test_setup_bare(state);
    return mmsim_machine_boot_default() == 0 ? 0 : -1;
}

/* Frame references no PTE holds that the teardown checker must accept (a
 * zero page, a page cache): one entry per frame. `owners` must outlive the
 * test; setup clears it. */
static inline void mmsim_test_owners(const struct mmsim_mm_owner_ref *owners, size_t n)
{
    mmsim_test_state()->owners = owners;
    mmsim_test_state()->nowners = n;
}

/* The checker's verdict on the live machine (0 = sound); problems go to stderr. */
static inline int mmsim_test_check(void)
{
    struct mmsim_test_state *st = mmsim_test_state();
    return mmsim_mm_check_machine(st->owners, st->nowners, stderr, NULL);
}

/* Assertions recorded beyond those expected, printed; 0 when none. */
static inline int mmsim_test_unexpected_asserts(void)
{
    const struct mmsim_test_state *st = mmsim_test_state();
    if (st->asserts.count == st->expected)
        return 0;
    fprintf(stderr, "mmsim: %u RT_ASSERT(s) not expected; last: %s%s%s in %s:%d\n",
            st->asserts.count - st->expected, st->asserts.expr, st->asserts.msg[0] ? ": " : "",
            st->asserts.msg, st->asserts.func, st->asserts.line);
    return 1;
}

/* CMocka teardown: invariant check, shutdown with leak report, the assert
 * hook restored. Nonzero (CMocka then fails the test) on any finding. */
static inline int mmsim_test_teardown(void **state)
{
    (void)state;
    int bad = 0;
    if (mmsim_machine_booted())
        bad |= mmsim_test_check() != 0; /* before shutdown: it reads the tables */
    mmsim_inject_disarm_all();
    bad |= mmsim_mm_check_boot_counts(stderr, NULL) != 0; /* names live aspaces */
    struct mmsim_leak_report rep;
    if (mmsim_machine_booted() && mmsim_machine_shutdown(&rep) != 0) {
        mmsim_leak_report_print(&rep, stderr);
        bad = 1;
    }
    mmsim_assert_hook_set(NULL, NULL);
    bad |= mmsim_test_unexpected_asserts();
    return bad ? -1 : 0;
}

/* Called by MMSIM_EXPECT_ASSERTS: `got` assertions came from `what`. */
static inline void mmsim_test_expected_(unsigned got, unsigned want, const char *what,
                                        const char *file, int line)
{
    mmsim_test_state()->expected += got;
    if (got != want) {
        print_error("%s raised %u RT_ASSERT(s), expected %u\n", what, got, want);
        _fail(file, line);
    }
}

/* Run `stmt` expecting exactly `n` RT_ASSERTs from it (the hook returns, so
 * the code under test goes on past each one). */
#define MMSIM_EXPECT_ASSERTS(n, stmt)                                                        \
    do {                                                                                     \
        unsigned mmsim_before_ = mmsim_test_asserts()->count;                               \
        stmt;                                                                                \
        mmsim_test_expected_(mmsim_test_asserts()->count - mmsim_before_, (unsigned)(n),   \
                             #stmt, __FILE__, __LINE__);                                     \
    } while (0)
#define MMSIM_EXPECT_ASSERT(stmt) MMSIM_EXPECT_ASSERTS(1, stmt)

/* A fault as RT-Thread's aarch64 exception path reports it (the arch cannot
 * tell the kind, the core refines GENERIC_MMU): MM_FAULT_FIXABLE_TRUE/FALSE. */
static inline int mmsim_test_fault(rt_aspace_t aspace, void *va, enum rt_mm_fault_op op)
{
    struct rt_aspace_fault_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.fault_op = op;
    msg.fault_type = MM_FAULT_TYPE_GENERIC_MMU;
    msg.fault_vaddr = va;
    return rt_aspace_fault_try_fix(aspace, &msg);
}

/* Host pointer to the byte `va` maps to (through the page tables, ignoring
 * permissions), or NULL if nothing RAM is mapped there. */
static inline void *mmsim_test_host(rt_aspace_t aspace, void *va)
{
    void *pa = rt_hw_mmu_v2p(aspace, va);
    return pa == ARCH_MAP_FAILED ? NULL : rt_kmem_p2v(pa);
}

/* Where an EL0 access of kind `op` at `va` lands, as the CPU would get there:
 * walk with the user's permissions, on a fault call rt_aspace_fault_try_fix
 * and retry (a fixed fault may need a second one: read-in, then COW). Host
 * pointer, or NULL when the fault is not fixable (the process would get
 * SIGSEGV). */
static inline void *mmsim_test_user_touch(rt_aspace_t aspace, void *va, enum rt_mm_fault_op op)
{
    struct mmsim_vmsa_access acc = { .el = 0, .at = true }; /* a probe: PTEs stay as they are */
    acc.op = op == MM_FAULT_OP_WRITE ? MMSIM_OP_WRITE
             : op == MM_FAULT_OP_EXECUTE ? MMSIM_OP_EXEC : MMSIM_OP_READ;
    for (int tries = 0; tries < 4; tries++) {
        struct mmsim_vmsa_result res;
        if (mmsim_mmu_translate(aspace, (uint64_t)(uintptr_t)va, &acc, &res))
            return rt_kmem_p2v((void *)(uintptr_t)res.pa);
        if (mmsim_test_fault(aspace, va, op) != MM_FAULT_FIXABLE_TRUE)
            return NULL;
    }
    return NULL;
}

/* Copy between `buf` and user memory at `va` as user code would (faults
 * fixed on the way). RT_EOK, or -RT_EFAULT at the first unfixable page. */
static inline int mmsim_test_user_copy(rt_aspace_t aspace, void *va, void *buf, size_t len,
                                       enum rt_mm_fault_op op)
{
    uintptr_t at = (uintptr_t)va;
    uintptr_t b = (uintptr_t)buf;
    while (len) {
        size_t chunk = ARCH_PAGE_SIZE - (at & (ARCH_PAGE_SIZE - 1));
        chunk = chunk < len ? chunk : len;
        void *host = mmsim_test_user_touch(aspace, (void *)at, op);
        if (!host)
            return -RT_EFAULT;
        if (op == MM_FAULT_OP_WRITE)
            memcpy(host, (void *)b, chunk);
        else
            memcpy((void *)b, host, chunk);
        at += chunk;
        b += chunk;
        len -= chunk;
    }
    return RT_EOK;
}

static inline int mmsim_test_user_read(rt_aspace_t aspace, void *va, void *buf, size_t len)
{
    return mmsim_test_user_copy(aspace, va, buf, len, MM_FAULT_OP_READ);
}

static inline int mmsim_test_user_write(rt_aspace_t aspace, void *va, const void *buf, size_t len)
{
    return mmsim_test_user_copy(aspace, va, (void *)(uintptr_t)buf, len, MM_FAULT_OP_WRITE);
}

/* Frames the page allocator has handed out (data and table pages). */
static inline size_t mmsim_test_frames(void)
{
    struct mmsim_phys_stats st;
    mmsim_phys_stats_get(&st);
    return st.allocated_frames;
}

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_TESTING_H */
