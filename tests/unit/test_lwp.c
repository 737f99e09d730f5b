/* The lwp layer (lib/lwp): processes, the user space, anonymous mmap over the
 * shared zero page, private user mappings, user copies — and RT-Thread's lwp
 * based mm utests (mm_lwp_tc, lwp_mmap_expand, lwp_mmap_map_fixed,
 * lwp_mmap_fix_private) in our words. Counts are derived in comments from
 * docs/lwp.md and docs/mm.md: one reference per PTE (P5); the zero page holds
 * the layer's reference plus one per PTE; MAP_FIXED allocates its varea
 * first and reserves a split's; a new varea merges with a neighbour only if
 * attr, flag and object match and object pages are contiguous (P1). */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <lwp.h>
#include <mmsim/mm_check.h>
#include <mmsim/thread.h>
#include "mm_util.h"

static struct rt_lwp *g_lwp; /* with a user space and its stack */
static size_t g_frames0;     /* frames before the lwp existed */

static int setup(void **state)
{
    if (fx_setup(state))
        return -1;
    g_frames0 = mmt_frames();
    g_lwp = lwp_create(LWP_CREATE_FLAG_NONE);
    if (!g_lwp || lwp_user_space_init(g_lwp, RT_FALSE) != RT_EOK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    if (g_lwp)
        assert_int_equal(lwp_ref_dec(g_lwp), 1);
    assert_null(mmsim_lwp_zero_page()); /* the last PTE took the zero page with it */
    return fx_teardown(state);
}

static rt_aspace_t as(void) { return g_lwp->aspace; }

/* The machine-wide checker's counters (it must find nothing wrong). */
static struct mmsim_mm_info mm_info(void)
{
    struct mmsim_mm_info info;
    assert_int_equal(mmsim_mm_check_machine(NULL, 0, stderr, &info), 0);
    return info;
}
static intptr_t err_of(void *ret) { return (intptr_t)ret; }

/* A private user mapping exactly at va: its start. */
static char *map_user(void *va, size_t bytes)
{
    rt_varea_t varea = lwp_map_user_varea_ext(g_lwp, va, bytes, LWP_MAP_FLAG_MAP_FIXED);
    assert_non_null(varea);
    assert_ptr_equal(varea->start, va);
    return varea->start;
}

static void *mmap_ok(void *addr, size_t len, int flags)
{
    void *ret = lwp_mmap2(g_lwp, addr, len, PROT_READ | PROT_WRITE, flags, -1, 0);
    assert_true((uintptr_t)ret < USER_VADDR_TOP && ret != NULL);
    return ret;
}

/* The invariant checker over the lwp's aspace (and `other`, which must be
 * every other live aspace), with the layer's one reference on the zero page
 * as its documented owner. */
static void check_mm(rt_aspace_t other)
{
    rt_aspace_t live[2] = { as(), other };
    mmt_mm_check(live, 2, NULL, 0);
    /* the machine-wide form sees the same aspaces through mm's registry */
    struct mmsim_mm_info info;
    assert_int_equal(mmsim_mm_check_machine(NULL, 0, stderr, &info), 0);
    assert_true(info.zero_frames <= 1);
    if (!mmsim_lwp_zero_page())
        assert_int_equal(info.zero_leaves, 0);
}

/* ---- processes and the user space ------------------------------------------------ */

static void test_lwp_create_and_reference_counting(void **state)
{
    (void)state;
    struct rt_lwp *lwp = lwp_create(LWP_CREATE_FLAG_NONE);
    assert_non_null(lwp);
    assert_null(lwp->aspace);
    assert_int_equal(lwp->ref, 1);
    assert_int_equal(lwp_ref_inc(lwp), 1);
    assert_int_equal(lwp_ref_dec(lwp), 2); /* the count before */
    assert_int_equal(lwp_ref_dec(lwp), 1); /* freed: the fixture sees no heap left */
    FX_EXPECT_ASSERTS(1, assert_int_equal(lwp_ref_dec(NULL), 0));
    FX_EXPECT_ASSERTS(1, assert_int_equal(lwp_ref_inc(NULL), 0));
}

static void test_lwp_create_without_heap(void **state)
{
    (void)state;
    mmsim_inject_arm(MMSIM_ALLOC_HEAP, 1, MMSIM_INJECT_ONCE);
    assert_null(lwp_create(LWP_CREATE_FLAG_NONE));
    assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_HEAP), 1);
}

/* lwp_user_space_init(lwp, 0): the aspace [USER_VADDR_START, USER_VADDR_TOP),
 * a fresh root table (one frame, no table below it: nothing is populated),
 * and one varea, the stack, over the zero object. */
static void test_lwp_user_space_init_maps_the_stack(void **state)
{
    (void)state;
    assert_ptr_equal(as()->start, (void *)USER_VADDR_START);
    assert_int_equal(as()->size, USER_VADDR_TOP - USER_VADDR_START);
    assert_int_equal(mmt_checked_vareas(as()), 1);
    assert_int_equal(mmt_tables(as()), 1);
    assert_int_equal(mmt_frames() - g_frames0, 1);
    rt_varea_t stack = rt_aspace_query(as(), (void *)USER_STACK_VSTART);
    assert_non_null(stack);
    assert_ptr_equal(stack->start, (void *)USER_STACK_VSTART);
    assert_int_equal(stack->size, USER_STACK_VEND - USER_STACK_VSTART);
    assert_int_equal(stack->attr, MMU_MAP_U_RWCB);
    assert_int_equal(stack->flag, MMF_MAP_PRIVATE);
    assert_ptr_equal(stack->mem_obj, &mmsim_lwp_null_object);
    assert_int_equal(stack->offset, 0);
    assert_string_equal(VAREA_NAME(stack), "null");
    /* a second init, or none at all, is a caller error */
    FX_EXPECT_ASSERTS(1, assert_int_equal(lwp_user_space_init(g_lwp, RT_FALSE), -RT_EINVAL));
    FX_EXPECT_ASSERTS(1, assert_int_equal(lwp_user_space_init(NULL, RT_FALSE), -RT_EINVAL));
}

static void test_lwp_user_space_init_for_fork_has_no_stack(void **state)
{
    (void)state;
    struct rt_lwp *lwp = lwp_create(LWP_CREATE_FLAG_NONE);
    assert_int_equal(lwp_user_space_init(lwp, RT_TRUE), RT_EOK);
    assert_int_equal(mmt_checked_vareas(lwp->aspace), 0);
    assert_int_equal(lwp_ref_dec(lwp), 1);
}

/* Allocation points of lwp_user_space_init(lwp, 0): the root table (page 1),
 * the aspace (heap 1) and the stack's varea (heap 2). Failing any of them is
 * -RT_ENOMEM with no aspace and every frame and heap byte given back (D44). */
static void user_space_init_fails_cleanly(enum mmsim_alloc_kind kind, int points)
{
    int failures = 0;
    for (uint64_t nth = 1;; nth++)
    {
        struct rt_lwp *lwp = lwp_create(LWP_CREATE_FLAG_NONE);
        size_t frames = mmt_frames(), heap = mmsim_heap_used();
        mmsim_inject_arm(kind, nth, MMSIM_INJECT_ONCE);
        int rc = lwp_user_space_init(lwp, RT_FALSE);
        uint64_t injected = mmsim_inject_disarm(kind);
        if (rc == RT_EOK)
        {
            assert_int_equal(injected, 0);
            assert_int_equal(lwp_ref_dec(lwp), 1);
            break;
        }
        failures++;
        assert_int_equal(rc, -RT_ENOMEM);
        assert_null(lwp->aspace);
        assert_int_equal(mmt_frames(), frames);
        assert_int_equal(mmsim_heap_used(), heap);
        assert_int_equal(lwp_ref_dec(lwp), 1);
    }
    assert_int_equal(failures, points);
}

static void test_lwp_user_space_init_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    user_space_init_fails_cleanly(MMSIM_ALLOC_PAGE, 1);
    user_space_init_fails_cleanly(MMSIM_ALLOC_HEAP, 2);
}

/* ---- mm_lwp_tc ------------------------------------------------------------------- */

/* test_user_map_varea: one more varea (beside the stack), a private
 * anonymous one (PREFETCH dropped), in the user range. */
static void test_mm_lwp_tc_user_map_varea(void **state)
{
    (void)state;
    const size_t buf_bytes = 4 * PAGE;
    int before = mmt_vareas(as());
    rt_varea_t varea = lwp_map_user_varea(g_lwp, NULL, buf_bytes);
    assert_non_null(varea);
    assert_int_equal(mmt_checked_vareas(as()), before + 1);
    assert_ptr_equal(rt_aspace_query(as(), varea->start), varea);
    assert_int_equal(varea->attr, MMU_MAP_U_RWCB);
    assert_int_equal(varea->size, buf_bytes);
    assert_ptr_equal(varea->aspace, as());
    assert_int_equal(varea->flag, MMF_MAP_PRIVATE);
    assert_ptr_equal(varea->mem_obj, as()->private_object);
    assert_true((uintptr_t)varea->start >= USER_VADDR_START);
    assert_true((uintptr_t)varea->start + varea->size <= USER_VADDR_TOP);
    assert_int_equal(lwp_ref_dec(g_lwp), 1);
    g_lwp = NULL;
}

static void test_mm_lwp_tc_user_map_varea_ext_nocache(void **state)
{
    (void)state;
    int before = mmt_vareas(as());
    rt_varea_t varea = lwp_map_user_varea_ext(g_lwp, NULL, 4 * PAGE, LWP_MAP_FLAG_NOCACHE);
    assert_non_null(varea);
    assert_int_equal(mmt_checked_vareas(as()), before + 1);
    assert_int_equal(varea->attr, MMU_MAP_U_RW);
    assert_int_equal(varea->flag, MMF_MAP_PRIVATE);
    assert_int_equal(lwp_ref_dec(g_lwp), 1);
    g_lwp = NULL;
}

/* test_user_accessible: the stack ends at USER_STACK_VEND (exclusive). */
static void test_mm_lwp_tc_user_accessible(void **state)
{
    (void)state;
    assert_false(lwp_user_accessible_ext(g_lwp, (void *)(USER_STACK_VEND + 1), 1));
    assert_true(lwp_user_accessible_ext(g_lwp, (void *)(USER_STACK_VEND - 0x10), 0x10));
    /* ours: a range running off the stack's end, size 0, NULL, past the top */
    assert_false(lwp_user_accessible_ext(g_lwp, (void *)(USER_STACK_VEND - 0x10), 0x11));
    assert_false(lwp_user_accessible_ext(g_lwp, (void *)USER_STACK_VSTART, 0));
    assert_false(lwp_user_accessible_ext(g_lwp, NULL, 1));
    assert_false(lwp_user_accessible_ext(NULL, (void *)USER_STACK_VSTART, 1));
    assert_false(lwp_user_accessible_ext(g_lwp, (void *)(USER_VADDR_TOP - 1), 2));
    assert_false(lwp_user_accessible_ext(g_lwp, (void *)UINTPTR_MAX, 1));
    /* a page with a PTE but no varea cannot exist; one with a varea and no
     * PTE is accessible (it faults in) — all of the 256 MiB stack */
    assert_true(lwp_user_accessible_ext(g_lwp, (void *)USER_STACK_VSTART, USER_STACK_VEND - USER_STACK_VSTART));
}

/* map_va is a preference (rounded down, the size grown by the in-page
 * offset and rounded up); LWP_MAP_FLAG_MAP_FIXED makes it exact. */
static void test_lwp_map_user_varea_arguments(void **state)
{
    (void)state;
    assert_null(lwp_map_user_varea(g_lwp, NULL, 0));
    assert_null(lwp_map_user_varea(g_lwp, NULL, SIZE_MAX));
    assert_null(lwp_map_user_varea(g_lwp, (void *)0x1000, PAGE)); /* below the user space */
    FX_EXPECT_ASSERTS(1, assert_null(lwp_map_user_varea(NULL, NULL, PAGE)));
    rt_varea_t varea = lwp_map_user_varea(g_lwp, (void *)((uintptr_t)UTEST_VA + 1), PAGE);
    assert_ptr_equal(varea->start, UTEST_VA);
    assert_int_equal(varea->size, 2 * PAGE);
    assert_int_equal(varea->flag, MMF_MAP_PRIVATE);
    varea = lwp_map_user_varea_ext(g_lwp, va_at(16), PAGE,
                                   LWP_MAP_FLAG_MAP_FIXED | LWP_MAP_FLAG_PREFETCH);
    assert_ptr_equal(varea->start, va_at(16));
    assert_int_equal(varea->flag, MMF_MAP_PRIVATE | MMF_MAP_FIXED);
    assert_int_equal(mmt_pages(as()), 0); /* PREFETCH dropped: nothing populated */
    /* a preference that is taken is placed anywhere else */
    varea = lwp_map_user_varea(g_lwp, UTEST_VA, PAGE);
    assert_ptr_not_equal(varea->start, UTEST_VA);
    assert_int_equal(mmt_checked_vareas(as()), 4);
    /* lwp_unmap_user removes the whole varea containing the VA */
    assert_int_equal(lwp_unmap_user(g_lwp, va_at(16) + 5), RT_EOK);
    assert_int_equal(lwp_unmap_user(g_lwp, va_at(16)), -RT_ENOENT);
    assert_int_equal(lwp_unmap_user(g_lwp, (void *)0x1000), -RT_EINVAL);
    FX_EXPECT_ASSERTS(1, assert_int_equal(lwp_unmap_user(NULL, UTEST_VA), -RT_EINVAL));
    assert_int_equal(mmt_checked_vareas(as()), 3);
}

/* ---- lwp_mmap_expand -------------------------------------------------------------- */

/* Object page = VA page, so ranges right and left of the first are
 * contiguous in the zero object and are absorbed (right: by the neighbour
 * below; left: by the one above). */
static void test_lwp_mmap_expand(void **state)
{
    (void)state;
    const size_t len = 0x3000;
    const int flags = MAP_FIXED | MAP_ANONYMOUS;
    int count = mmt_vareas(as());
    rt_base_t vsz = rt_aspace_count_vsz(as());
    assert_ptr_equal(mmap_ok(UTEST_VA, len, flags), UTEST_VA);
    assert_int_equal(mmt_checked_vareas(as()), count + 1);
    assert_ptr_equal(mmap_ok(va_at(3), len, flags), va_at(3));
    assert_int_equal(mmt_checked_vareas(as()), count + 1);
    assert_ptr_equal(mmap_ok(va_at(-3), len, flags), va_at(-3));
    assert_int_equal(mmt_checked_vareas(as()), count + 1);
    rt_varea_t varea = rt_aspace_query(as(), va_at(0));
    assert_ptr_equal(varea->start, va_at(-3));
    assert_int_equal(varea->size, 9 * PAGE);
    assert_int_equal(varea->offset, MM_PA_TO_OFF(va_at(-3)));
    assert_int_equal(rt_aspace_count_vsz(as()), vsz + 9 * (rt_base_t)PAGE);
    assert_int_equal(lwp_munmap(g_lwp, va_at(-3), 9 * PAGE), 0);
    assert_int_equal(mmt_checked_vareas(as()), count);
    assert_int_equal(rt_aspace_count_vsz(as()), vsz);
}

/* ---- lwp_mmap_map_fixed ------------------------------------------------------------ */

/* A 5-page private mapping, then MAP_FIXED over pages 1-2: the old varea is
 * split around the hole ([p0], [p3-p4]) and the new one is not absorbed by
 * [p0] (flags differ: it has MMF_MAP_FIXED) -> +2. lwp_data_put of 12 bytes
 * to p1 COWs p1 out of the new varea (dont_copy): [p0][p1 anon][p2][p3-p4]. */
static void test_lwp_mmap_map_fixed(void **state)
{
    (void)state;
    int count = mmt_vareas(as());
    void *va = lwp_mmap2(g_lwp, UTEST_VA, 5 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_ptr_equal(va, UTEST_VA);
    assert_int_equal(mmt_checked_vareas(as()), count + 1);
    rt_varea_t first = rt_aspace_query(as(), va);
    assert_int_equal(first->attr, MMU_MAP_U_RWCB); /* prot is not applied (no mprotect) */
    assert_int_equal(first->flag, MMF_MAP_PRIVATE);
    assert_ptr_equal(first->mem_obj, &mmsim_lwp_null_object);
    assert_int_equal(first->offset, MM_PA_TO_OFF(UTEST_VA));
    rt_base_t vsz = rt_aspace_count_vsz(as());
    assert_ptr_equal(mmap_ok(va_at(1), 2 * PAGE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), va_at(1));
    assert_int_equal(rt_aspace_count_vsz(as()), vsz);
    assert_int_equal(mmt_checked_vareas(as()), count + 3);
    char msg[12] = "hello, mmsim";
    assert_int_equal(lwp_data_put(g_lwp, va_at(1), msg, sizeof msg), sizeof msg);
    assert_int_equal(mmt_checked_vareas(as()), count + 4);
    assert_ptr_equal(rt_aspace_query(as(), va_at(1))->mem_obj, as()->private_object);
    char back[12] = { 0 };
    assert_int_equal(lwp_data_get(g_lwp, back, va_at(1), sizeof back), sizeof back);
    assert_memory_equal(back, msg, sizeof msg);
    check_mm(NULL);
    assert_int_equal(lwp_munmap(g_lwp, va_at(0), 5 * PAGE), 0);
    assert_int_equal(mmt_checked_vareas(as()), count);
}

/* ---- lwp_mmap_fix_private ------------------------------------------------------------ */

/* Write faults (RWX_PERM, as the utest) on pages of a 5-page anonymous
 * mapping: each copies the page into the aspace's anonymous object.
 * p2: split into [p0-p1][p2 anon][p3-p4] (+2); p0: [p0 anon][p1] (+1);
 * p4: [p3][p4 anon] (+1); p1: absorbed by [p0] -> [p0-p1], [p1] gone (-1);
 * p3: absorbed by [p2] -> [p2-p3], and after a forward expansion nothing
 * merges (P1), so [p4] stays (-1). Final [p0-p1][p2-p3][p4]; the object's
 * count is the owner's 1 + 3 vareas. */
static void test_lwp_mmap_fix_private(void **state)
{
    (void)state;
    int count = mmt_vareas(as());
    assert_ptr_equal(mmap_ok(UTEST_VA, 5 * PAGE, MAP_FIXED | MAP_ANONYMOUS), UTEST_VA);
    assert_int_equal(mmt_checked_vareas(as()), count + 1);
    rt_base_t vsz = rt_aspace_count_vsz(as());
    static const struct { long page; int delta; } steps[] = {
        { 2, +2 }, { 0, +1 }, { 4, +1 }, { 1, -1 }, { 3, -1 },
    };
    int expected = count + 1;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
    {
        struct rt_aspace_fault_msg msg = {
            .fault_op = MM_FAULT_OP_WRITE,
            .fault_type = MM_FAULT_TYPE_RWX_PERM,
            .fault_vaddr = va_at(steps[i].page),
        };
        assert_int_equal(rt_aspace_fault_try_fix(as(), &msg), MM_FAULT_FIXABLE_TRUE);
        expected += steps[i].delta;
        assert_int_equal(rt_aspace_count_vsz(as()), vsz);
        assert_int_equal(mmt_checked_vareas(as()), expected);
        check_mm(NULL);
    }
    static const long starts[] = { 0, 2, 4 }, sizes[] = { 2, 2, 1 };
    for (int i = 0; i < 3; i++)
    {
        rt_varea_t v = rt_aspace_query(as(), va_at(starts[i]));
        assert_ptr_equal(v->start, va_at(starts[i]));
        assert_int_equal(v->size, (rt_size_t)sizes[i] * PAGE);
        assert_ptr_equal(v->mem_obj, as()->private_object);
    }
    assert_int_equal(mmsim_anon_reference(as()->private_object), 4);
    assert_int_equal(lwp_munmap(g_lwp, UTEST_VA, 5 * PAGE), 0);
    assert_int_equal(mmsim_anon_reference(as()->private_object), 1);
    assert_int_equal(mmt_checked_vareas(as()), count);
}

/* ---- aspace_map_expand and aspace_unmap_range_invalid_param, in an lwp's space --- */

/* RT-Thread runs these in a process's aspace: dummy-mapper pages, prefetched.
 * Object pages 1024.. at 0x100000000: the range right of it continues the
 * object (1027) and is absorbed by the varea below; the one left of it
 * (1021) by the varea above. */
static void test_aspace_map_expand_in_an_lwp(void **state)
{
    (void)state;
    const rt_size_t len = 0x3000;
    const mm_flag_t flags = MMF_PREFETCH | MMF_MAP_FIXED;
    int count = mmt_vareas(as());
    rt_base_t vsz = rt_aspace_count_vsz(as());
    void *va = UTEST_VA;
    assert_int_equal(rt_aspace_map(as(), &va, len, MMU_MAP_K_RWCB, flags, &rt_mm_dummy_mapper, 1024), RT_EOK);
    assert_ptr_equal(va, UTEST_VA);
    assert_int_equal(rt_aspace_count_vsz(as()), vsz + (rt_base_t)len);
    assert_int_equal(mmt_checked_vareas(as()), count + 1);
    va = va_at(3);
    assert_int_equal(rt_aspace_map(as(), &va, len, MMU_MAP_K_RWCB, flags, &rt_mm_dummy_mapper, 1027), RT_EOK);
    assert_ptr_equal(va, va_at(3));
    assert_int_equal(rt_aspace_count_vsz(as()), vsz + 2 * (rt_base_t)len);
    assert_int_equal(mmt_checked_vareas(as()), count + 1);
    va = va_at(-3);
    assert_int_equal(rt_aspace_map(as(), &va, len, MMU_MAP_K_RWCB, flags, &rt_mm_dummy_mapper, 1021), RT_EOK);
    assert_ptr_equal(va, va_at(-3));
    assert_int_equal(mmt_checked_vareas(as()), count + 1);
    assert_int_equal(mmt_pages(as()), 9); /* every page prefetched */
    assert_int_equal(rt_aspace_unmap_range(as(), va_at(-3), 9 * PAGE), RT_EOK);
    assert_int_equal(mmt_checked_vareas(as()), count);
    assert_int_equal(mmt_pages(as()), 0);
}

static void test_aspace_unmap_range_invalid_param_in_an_lwp(void **state)
{
    (void)state;
    const mm_flag_t flags = MMF_PREFETCH | MMF_MAP_FIXED;
    rt_base_t vsz = rt_aspace_count_vsz(as());
    void *va = UTEST_VA;
    assert_int_equal(rt_aspace_map(as(), &va, 0x5000, MMU_MAP_K_RWCB, flags, &rt_mm_dummy_mapper, 0), RT_EOK);
    assert_int_equal(rt_aspace_count_vsz(as()), vsz + 0x5000);
    assert_int_equal(rt_aspace_unmap_range(as(), (void *)((uintptr_t)UTEST_VA - 0x1234), 0x2000), -RT_EINVAL);
    assert_int_equal(rt_aspace_count_vsz(as()), vsz + 0x5000);
    /* an unaligned length is rounded up: the last two pages go */
    assert_int_equal(rt_aspace_unmap_range(as(), va_at(3), 0x2000 - 0x123), RT_EOK);
    assert_int_equal(rt_aspace_count_vsz(as()), vsz + 0x3000);
    rt_mem_obj_t no_shrink = rt_mem_obj_create(&rt_mm_dummy_mapper);
    no_shrink->on_varea_shrink = NULL;
    va = va_at(3);
    assert_int_equal(rt_aspace_map(as(), &va, 0x2000, MMU_MAP_K_RWCB, flags, no_shrink, 0), RT_EOK);
    assert_int_equal(rt_aspace_unmap_range(as(), va_at(3), 0x1000), -RT_EPERM);
    assert_int_equal(rt_aspace_unmap_range(as(), UTEST_VA, 0x5000), RT_EOK);
    assert_int_equal(rt_aspace_count_vsz(as()), vsz);
    rt_free(no_shrink);
}

/* ---- the zero page and COW (cow-scenarios S05 at lwp level) ---------------------------- */

/* Two anonymous pages read as zeros through one shared zero frame mapped
 * read-only (refs: the layer's 1 + one per PTE); a write copies the page into
 * a private frame (one data frame more) and the zero page loses that PTE. A
 * second process reading shares the same frame. Unmapping every zero PTE
 * frees it. */
static void test_lwp_anonymous_reads_zero_page_and_write_copies(void **state)
{
    (void)state;
    void *va = mmap_ok(NULL, 2 * PAGE, MAP_PRIVATE | MAP_ANONYMOUS);
    char *p0 = va, *p1 = (char *)va + PAGE;
    assert_null(mmsim_lwp_zero_page());
    assert_int_equal(mmt_peek(as(), p0), 0);
    void *zero = mmsim_lwp_zero_page();
    assert_non_null(zero);
    assert_ptr_equal(mmt_frame(as(), p0), zero);
    assert_int_equal(rt_page_ref_get(zero, 0), 2);
    assert_int_equal(mmt_peek(as(), p1 + 7), 0);
    assert_ptr_equal(mmt_frame(as(), p1), zero);
    assert_int_equal(rt_page_ref_get(zero, 0), 3);
    assert_true(mmt_write_faults(as(), p0)); /* never writable */
    check_mm(NULL);
    /* two leaves onto one zero page; the fresh stack maps nothing */
    struct mmsim_mm_info info = mm_info();
    assert_int_equal(info.zero_frames, 1);
    assert_int_equal(info.zero_leaves, 2);
    assert_int_equal(info.data_frames, 0);
    assert_int_equal(info.leaves, 2);

    size_t frames = mmt_frames() - mmt_tables(as());
    struct rt_aspace_fault_msg msg = {
        .fault_op = MM_FAULT_OP_WRITE,
        .fault_type = MM_FAULT_TYPE_GENERIC_MMU,
        .fault_vaddr = p0 + 5,
    };
    assert_int_equal(rt_aspace_fault_try_fix(as(), &msg), MM_FAULT_FIXABLE_TRUE);
    assert_true(mmt_user_write(as(), p0 + 5, 0x5a));
    assert_ptr_not_equal(mmt_frame(as(), p0), zero);
    assert_int_equal(mmt_frames() - mmt_tables(as()), frames + 1); /* the private copy */
    assert_int_equal(rt_page_ref_get(zero, 0), 2);
    assert_int_equal(mmt_peek(as(), p0 + 5), 0x5a);
    assert_int_equal(mmt_peek(as(), p0), 0); /* copied from zeros */
    assert_int_equal(mmt_peek(as(), p1), 0);
    assert_true(mmt_write_faults(as(), p1));
    check_mm(NULL);
    info = mm_info(); /* p0 now on its private copy */
    assert_int_equal(info.zero_frames, 1);
    assert_int_equal(info.zero_leaves, 1);
    assert_int_equal(info.data_frames, 1);

    struct rt_lwp *other = lwp_create(LWP_CREATE_FLAG_NONE);
    assert_int_equal(lwp_user_space_init(other, RT_FALSE), RT_EOK);
    void *ova = lwp_mmap2(other, NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_int_equal(mmt_peek(other->aspace, ova), 0);
    assert_ptr_equal(mmt_frame(other->aspace, ova), zero);
    assert_int_equal(rt_page_ref_get(zero, 0), 3);
    check_mm(other->aspace);
    assert_int_equal(mm_info().zero_leaves, 2);
    assert_int_equal(lwp_ref_dec(other), 1);
    assert_int_equal(rt_page_ref_get(zero, 0), 2);

    /* the last zero PTE goes with p1: the zero page is freed */
    assert_int_equal(lwp_munmap(g_lwp, p1, PAGE), 0);
    assert_null(mmsim_lwp_zero_page());
    assert_int_equal(mmt_peek(as(), p0 + 5), 0x5a);
    check_mm(NULL);
    info = mm_info();
    assert_int_equal(info.zero_frames, 0);
    assert_int_equal(info.zero_leaves, 0);
    assert_int_equal(info.data_frames, 1);
}

/* A zero page made writable by a stray PTE edit is reported even though
 * only one PTE maps it (no sharing is needed to corrupt every reader). */
static void test_lwp_check_reports_a_writable_zero_page(void **state)
{
    (void)state;
    char *va = mmap_ok(NULL, PAGE, MAP_PRIVATE | MAP_ANONYMOUS);
    assert_int_equal(mmt_peek(as(), va), 0);
    assert_int_equal(mm_info().zero_leaves, 1);
    void *pa = rt_hw_mmu_v2p(as(), va);
    assert_ptr_equal(rt_hw_mmu_map(as(), va, pa, PAGE, MMU_MAP_U_RWCB), va);
    assert_int_not_equal(mmsim_mm_check_machine(NULL, 0, NULL, NULL), 0);
    assert_ptr_equal(rt_hw_mmu_map(as(), va, pa, PAGE, MMU_MAP_U_ROCB), va);
    assert_int_equal(mmsim_mm_check_machine(NULL, 0, stderr, NULL), 0);
}

/* The zero page is registered with the checker when it is made; when the
 * registry is full the fault fails and nothing is left behind. */
static void test_lwp_zero_fault_fails_cleanly_when_the_checker_registry_is_full(void **state)
{
    (void)state;
    char *va = mmap_ok(NULL, PAGE, MAP_PRIVATE | MAP_ANONYMOUS);
    static char fake[16][8];
    for (int i = 0; i < 16; i++)
        assert_int_equal(mmsim_mm_owner_register(fake[i], 1, false), RT_EOK);
    assert_int_equal(mmsim_mm_owner_register(&fake[0][1], 1, false), -RT_ENOMEM);
    size_t frames = mmt_frames();
    struct rt_aspace_fault_msg msg = {
        .fault_op = MM_FAULT_OP_READ, .fault_type = MM_FAULT_TYPE_GENERIC_MMU, .fault_vaddr = va,
    };
    assert_int_equal(rt_aspace_fault_try_fix(as(), &msg), MM_FAULT_FIXABLE_FALSE);
    assert_null(mmsim_lwp_zero_page());
    assert_int_equal(mmt_frames(), frames);
    for (int i = 0; i < 16; i++)
        assert_int_equal(mmsim_mm_owner_register(fake[i], 0, false), RT_EOK);
    assert_int_equal(mmt_peek(as(), va), 0);
    assert_non_null(mmsim_lwp_zero_page());
}

/* lwp_self is the calling simulated thread's process; switching installs
 * its user space (or the kernel's for a kernel thread). */
static void test_lwp_self_follows_the_current_thread(void **state)
{
    (void)state;
    assert_null(lwp_self());
    struct rt_thread t = { .name = "user" };
    t.lwp = g_lwp;
    struct rt_thread *prev = mmsim_thread_set_current(&t);
    assert_ptr_equal(rt_thread_self(), &t);
    assert_ptr_equal(lwp_self(), g_lwp);
    lwp_aspace_switch(rt_thread_self());
    assert_ptr_equal(rt_hw_mmu_tbl_get(), as()->page_table);
    assert_ptr_equal(mmsim_thread_set_current(prev), &t);
    assert_null(lwp_self());
    lwp_aspace_switch(rt_thread_self());
    assert_ptr_equal(rt_hw_mmu_tbl_get(), rt_kernel_space.page_table);
    FX_EXPECT_ASSERTS(1, lwp_aspace_switch(NULL));
}

/* Every process gone: the allocator and the heap are back at boot. */
static void test_lwp_boot_counts_once_every_process_is_gone(void **state)
{
    (void)state;
    char *va = mmap_ok(NULL, 4 * PAGE, MAP_PRIVATE | MAP_ANONYMOUS);
    assert_int_equal(mmt_peek(as(), va), 0);
    assert_true(mmt_user_write(as(), va + PAGE, 1));
    struct rt_lwp *child = lwp_create(LWP_CREATE_FLAG_NONE);
    assert_int_equal(lwp_user_space_init(child, RT_TRUE), RT_EOK);
    assert_int_equal(lwp_fork_aspace(child, g_lwp), RT_EOK);
    struct mmsim_leak_report rep;
    assert_int_not_equal(mmsim_mm_check_boot_counts(NULL, &rep), 0); /* two live aspaces */
    assert_true(rep.frames > 0);
    assert_int_equal(lwp_ref_dec(child), 1);
    assert_int_equal(lwp_ref_dec(g_lwp), 1);
    g_lwp = NULL;
    assert_int_equal(mmsim_mm_check_boot_counts(stderr, &rep), 0);
    assert_int_equal(rep.frames, 0);
    assert_int_equal(rep.heap_bytes, 0);
    /* one stray frame or heap byte is enough to fail it */
    void *frame = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    assert_int_equal(mmsim_mm_check_boot_counts(NULL, &rep), 1);
    assert_int_equal(rep.frames, 1);
    rt_pages_free(frame, 0);
    void *heap = rt_malloc(24);
    assert_int_equal(mmsim_mm_check_boot_counts(NULL, &rep), 1);
    assert_int_equal(rep.heap_bytes, 24);
    rt_free(heap);
    assert_int_equal(mmsim_mm_check_boot_counts(NULL, NULL), 0);
}

/* The stack is zero-page backed too; a write to it copies. */
static void test_lwp_stack_faults_in_over_the_zero_page(void **state)
{
    (void)state;
    char *top = (char *)(USER_STACK_VEND - PAGE);
    assert_int_equal(mmt_peek(as(), top), 0);
    assert_ptr_equal(mmt_frame(as(), top), mmsim_lwp_zero_page());
    assert_true(mmt_user_write(as(), top + 8, 1));
    assert_null(mmsim_lwp_zero_page()); /* its only PTE was replaced */
    assert_int_equal(mmt_checked_vareas(as()), 2); /* [stack-1 pages][top anon] */
    check_mm(NULL);
}

/* MAP_SHARED anonymous memory is still private (as RT-Thread's newest
 * lwp_mmap2): reads see the zero page read-only, a write copies. A zero-object
 * varea mapped without MMF_MAP_PRIVATE by hand would map the zero page
 * writable: the zero object refuses its faults instead (D45). */
static void test_lwp_zero_object_refuses_a_shared_mapping(void **state)
{
    (void)state;
    void *va = mmap_ok(NULL, PAGE, MAP_SHARED | MAP_ANONYMOUS);
    assert_int_equal(rt_aspace_query(as(), va)->flag, MMF_MAP_PRIVATE | MMF_MAP_SHARED);
    assert_int_equal(mmt_peek(as(), va), 0);
    assert_true(mmt_write_faults(as(), va));
    assert_true(mmt_user_write(as(), va, 9));
    assert_null(mmsim_lwp_zero_page());
    void *shared_va = va_at(0);
    assert_int_equal(rt_aspace_map(as(), &shared_va, PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED,
                                   &mmsim_lwp_null_object, MM_PA_TO_OFF(shared_va)), RT_EOK);
    uint8_t byte;
    assert_false(mmt_user_read(as(), shared_va, &byte));
    assert_false(mmt_user_read(as(), va_at(0), &byte));
    assert_null(mmsim_lwp_zero_page());
    assert_ptr_equal(mmt_frame(as(), shared_va), NULL);
    check_mm(NULL);
}

/* Fork of a process with zero-page and anonymous pages (lwp_fork_aspace:
 * rt_aspace_fork on lwp->aspace; the child's user space is made with is_fork, so no stack of
 * its own). The old aspace becomes the page store and keeps only its
 * anonymous varea [p1], so the zero PTE at p0 goes and, being the last, the
 * zero page with it. Parent and child get the stack, [p0] (zero object) and
 * [p1] (a reference to the store). A read of p0 in the child allocates a
 * zero page again; a read of p1 shares the store's frame; a write in the
 * parent copies it and the child keeps the old byte. */
static void test_lwp_fork_shares_zero_and_anonymous_pages(void **state)
{
    (void)state;
    mmap_ok(UTEST_VA, 2 * PAGE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    assert_int_equal(mmt_peek(as(), va_at(0)), 0);
    assert_true(mmt_user_write(as(), va_at(1), 0x11));
    assert_non_null(mmsim_lwp_zero_page());
    assert_int_equal(mmt_checked_vareas(as()), 3); /* stack, [p0] zero, [p1] anon */
    struct rt_lwp *child = lwp_create(LWP_CREATE_FLAG_NONE);
    assert_int_equal(lwp_user_space_init(child, RT_TRUE), RT_EOK);
    rt_aspace_t old = as();
    FX_EXPECT_ASSERTS(1, assert_int_equal(lwp_fork_aspace(child, NULL), -RT_EINVAL));
    assert_int_equal(lwp_fork_aspace(child, g_lwp), RT_EOK);
    assert_ptr_not_equal(as(), old);
    assert_null(mmsim_lwp_zero_page());
    assert_int_equal(mmt_checked_vareas(as()), 3);
    assert_int_equal(mmt_checked_vareas(child->aspace), 3);
    assert_ptr_equal(rt_aspace_query(child->aspace, va_at(0))->mem_obj, &mmsim_lwp_null_object);
    assert_int_equal(mmt_peek(child->aspace, va_at(0)), 0);
    assert_ptr_equal(mmt_frame(child->aspace, va_at(0)), mmsim_lwp_zero_page());
    assert_int_equal(mmt_peek(child->aspace, va_at(1)), 0x11);
    assert_true(mmt_write_faults(child->aspace, va_at(1)));
    check_mm(child->aspace);
    assert_true(mmt_user_write(as(), va_at(1), 0x22));
    assert_int_equal(mmt_peek(as(), va_at(1)), 0x22);
    assert_int_equal(mmt_peek(child->aspace, va_at(1)), 0x11);
    check_mm(child->aspace);
    assert_int_equal(lwp_ref_dec(child), 1);
    assert_null(mmsim_lwp_zero_page()); /* the child's PTE was its only mapping */
    check_mm(NULL);
}

/* A first read fault on anonymous memory allocates, in order, the zero page
 * and the three table pages below the root for a fresh VA. A failure leaves
 * the fault unfixed with no PTE and the frames of the failed map given back,
 * but a zero page just made survives with the layer's reference (it goes at
 * the next close of a zero-object varea or when an lwp is freed). So failing
 * the nth allocation in turn: n=1 the zero page; n=2 the first table (the
 * zero page was #1 and now exists); n=3 the third table (tables are now #1-#3);
 * n=4 is past the last allocation: success. Three failures. */
static void test_lwp_zero_fault_fails_cleanly_at_every_page_allocation(void **state)
{
    (void)state;
    void *va = mmap_ok(UTEST_VA, PAGE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    size_t frames = mmt_frames();
    int failures = 0;
    for (uint64_t nth = 1;; nth++)
    {
        mmsim_inject_arm(MMSIM_ALLOC_PAGE, nth, MMSIM_INJECT_ONCE);
        uint8_t byte = 0xff;
        bool ok = mmt_user_read(as(), va, &byte);
        uint64_t injected = mmsim_inject_disarm(MMSIM_ALLOC_PAGE);
        if (ok)
        {
            assert_int_equal(injected, 0);
            assert_int_equal(byte, 0);
            break;
        }
        failures++;
        assert_int_equal(mmt_pages(as()), 0);
        void *zero = mmsim_lwp_zero_page();
        size_t zero_frames = zero ? 1 : 0;
        if (zero)
            assert_int_equal(rt_page_ref_get(zero, 0), 1);
        assert_int_equal(mmt_frames() - mmt_tables(as()) + 1, frames + zero_frames);
    }
    assert_int_equal(failures, 3);
    assert_int_equal(rt_page_ref_get(mmsim_lwp_zero_page(), 0), 2);
    check_mm(NULL);
}

/* lwp_data_put of a whole page into zero-page memory copies it (page_put on a
 * private varea COWs without copying); lwp_data_get of an untouched page
 * reads zeros through page_read without mapping anything. */
static void test_lwp_data_on_anonymous_memory(void **state)
{
    (void)state;
    mmap_ok(UTEST_VA, 2 * PAGE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    static char page[PAGE], back[PAGE];
    memset(page, 0x3c, sizeof page);
    memset(back, 0x77, sizeof back);
    assert_int_equal(lwp_data_put(g_lwp, va_at(0), page, PAGE), PAGE);
    assert_ptr_equal(rt_aspace_query(as(), va_at(0))->mem_obj, as()->private_object);
    assert_int_equal(mmt_peek(as(), va_at(0) + 100), 0x3c);
    assert_int_equal(lwp_data_get(g_lwp, back, va_at(1), PAGE), PAGE);
    for (size_t i = 0; i < PAGE; i++)
        assert_int_equal(back[i], 0);
    assert_ptr_equal(lwp_v2p(g_lwp, va_at(1)), ARCH_MAP_FAILED);
    assert_null(mmsim_lwp_zero_page());
    check_mm(NULL);
}

/* Two processes on two host threads map, read (zero page), write (COW) and
 * unmap anonymous memory in rounds, so the shared zero page is made, shared
 * and freed again under both: the tsan preset checks the zero page's lock;
 * every build checks nothing is left (no zero page, no frame, no heap). */
#define RACE_ROUNDS 200
#define RACE_PAGES 8
struct racer
{
    struct rt_lwp *lwp;
    int errors;
};

static bool race_fault(rt_aspace_t aspace, void *va, enum rt_mm_fault_op op)
{
    struct rt_aspace_fault_msg msg = { .fault_op = op, .fault_type = MM_FAULT_TYPE_GENERIC_MMU,
                                       .fault_vaddr = va };
    return rt_aspace_fault_try_fix(aspace, &msg) == MM_FAULT_FIXABLE_TRUE;
}

static void *race_rounds(void *arg)
{
    struct racer *r = arg;
    rt_aspace_t aspace = r->lwp->aspace;
    for (int round = 0; round < RACE_ROUNDS; round++)
    {
        void *va = lwp_mmap2(r->lwp, UTEST_VA, RACE_PAGES * PAGE, PROT_READ,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        r->errors += va != UTEST_VA;
        for (long i = 0; i < RACE_PAGES; i++)
            r->errors += !race_fault(aspace, va_at(i), MM_FAULT_OP_READ);
        r->errors += !race_fault(aspace, va_at(round % RACE_PAGES), MM_FAULT_OP_WRITE);
        r->errors += lwp_munmap(r->lwp, UTEST_VA, RACE_PAGES * PAGE) != 0;
    }
    return NULL;
}

static void test_lwp_two_processes_share_the_zero_page_concurrently(void **state)
{
    (void)state;
    struct rt_lwp *other = lwp_create(LWP_CREATE_FLAG_NONE);
    assert_int_equal(lwp_user_space_init(other, RT_FALSE), RT_EOK);
    struct racer r[2] = { { g_lwp, 0 }, { other, 0 } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, race_rounds, &r[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(r[0].errors + r[1].errors, 0);
    assert_null(mmsim_lwp_zero_page());
    check_mm(other->aspace);
    assert_int_equal(lwp_ref_dec(other), 1);
}

/* A zero page still alive when its machine goes (here: an extra reference
 * the test took and never gave back, as a failed test would leave one) is
 * forgotten by the next boot, which makes its own. */
static void test_lwp_zero_page_of_an_earlier_machine_is_forgotten(void **state)
{
    (void)state;
    struct mmsim_machine_config cfg;
    mmsim_machine_config_default(&cfg);
    fx_boot(&cfg);
    g_lwp = lwp_create(LWP_CREATE_FLAG_NONE);
    assert_int_equal(lwp_user_space_init(g_lwp, RT_FALSE), RT_EOK);
    assert_int_equal(mmt_peek(as(), (void *)USER_STACK_VSTART), 0);
    void *stale = mmsim_lwp_zero_page();
    rt_page_ref_inc(stale, 0);
    assert_int_equal(lwp_ref_dec(g_lwp), 1);
    assert_ptr_equal(mmsim_lwp_zero_page(), stale); /* our reference keeps it */
    struct mmsim_leak_report rep;
    assert_int_not_equal(mmsim_machine_shutdown(&rep), 0); /* that one frame */
    assert_int_equal(rep.frames, 1);
    fx_boot(&cfg);
    assert_null(mmsim_lwp_zero_page());
    g_lwp = lwp_create(LWP_CREATE_FLAG_NONE);
    assert_int_equal(lwp_user_space_init(g_lwp, RT_FALSE), RT_EOK);
    assert_int_equal(mmt_peek(as(), (void *)USER_STACK_VSTART), 0);
    assert_int_equal(rt_page_ref_get(mmsim_lwp_zero_page(), 0), 2);
}

/* Random anonymous mmap / munmap / user reads and writes / lwp_data_put and
 * get over a 32-page window, against a byte model: memory from lwp_mmap2
 * reads as zeros until written (the zero page, then private copies), every
 * access outside a mapping fails, a user copy stops at the first unmapped
 * page. The checker and the varea tree are checked after every step. */
#define MODEL_PAGES 32
static uint8_t g_model[MODEL_PAGES * PAGE];
static bool g_model_mapped[MODEL_PAGES];

static size_t model_copyable(size_t at, size_t len)
{
    size_t ok_bytes = 0;
    while (ok_bytes < len && g_model_mapped[(at + ok_bytes) / PAGE])
        ok_bytes += PAGE - (at + ok_bytes) % PAGE;
    return ok_bytes < len ? ok_bytes : len;
}

static void model_step(uint64_t *seed)
{
    size_t page = fx_rand(seed) % MODEL_PAGES;
    size_t npages = 1 + fx_rand(seed) % (MODEL_PAGES - page);
    size_t at = page * PAGE + fx_rand(seed) % PAGE;
    size_t len = 1 + fx_rand(seed) % (MODEL_PAGES * PAGE - at);
    if (len > 3 * PAGE)
        len = 3 * PAGE;
    static uint8_t buf[3 * PAGE];
    uint8_t value = (uint8_t)fx_rand(seed);
    switch (fx_rand(seed) % 6)
    {
    case 0:
        mmap_ok(va_at((long)page), npages * PAGE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
        memset(&g_model[page * PAGE], 0, npages * PAGE);
        for (size_t i = 0; i < npages; i++)
            g_model_mapped[page + i] = true;
        break;
    case 1:
        assert_int_equal(lwp_munmap(g_lwp, va_at((long)page), npages * PAGE), 0);
        for (size_t i = 0; i < npages; i++)
            g_model_mapped[page + i] = false;
        break;
    case 2:
        assert_int_equal(mmt_user_write(as(), (char *)UTEST_VA + at, value), g_model_mapped[at / PAGE]);
        if (g_model_mapped[at / PAGE])
            g_model[at] = value;
        break;
    case 3: {
        uint8_t got = 0;
        assert_int_equal(mmt_user_read(as(), (char *)UTEST_VA + at, &got), g_model_mapped[at / PAGE]);
        if (g_model_mapped[at / PAGE])
            assert_int_equal(got, g_model[at]);
        break;
    }
    case 4: {
        memset(buf, value, len);
        size_t expect = model_copyable(at, len);
        assert_int_equal(lwp_data_put(g_lwp, (char *)UTEST_VA + at, buf, len), expect);
        memcpy(&g_model[at], buf, expect);
        break;
    }
    default: {
        size_t expect = model_copyable(at, len);
        assert_int_equal(lwp_data_get(g_lwp, buf, (char *)UTEST_VA + at, len), expect);
        if (expect)
            assert_memory_equal(buf, &g_model[at], expect);
        break;
    }
    }
    mmt_check_tree(as());
    check_mm(NULL);
}

static void test_lwp_random_operations_match_a_byte_model(void **state)
{
    (void)state;
    uint64_t seed = fx_seed(__func__);
    memset(g_model_mapped, 0, sizeof g_model_mapped);
    for (int step = 0; step < 400; step++)
        model_step(&seed);
    assert_int_equal(lwp_munmap(g_lwp, UTEST_VA, MODEL_PAGES * PAGE), 0);
    assert_null(mmsim_lwp_zero_page()); /* the stack was never touched */
}

/* ---- lwp_mmap2 / lwp_munmap arguments -------------------------------------------------- */

static void test_lwp_mmap2_errors(void **state)
{
    (void)state;
    const int anon = MAP_PRIVATE | MAP_ANONYMOUS;
    int count = mmt_vareas(as());
    assert_int_equal(err_of(lwp_mmap2(g_lwp, NULL, PAGE, PROT_READ, anon, 3, 0)), -EBADF);
    assert_int_equal(err_of(lwp_mmap2(g_lwp, NULL, 0, PROT_READ, anon, -1, 0)), -EINVAL);
    assert_int_equal(err_of(lwp_mmap2(g_lwp, (void *)((uintptr_t)UTEST_VA + 1), PAGE, PROT_READ, anon, -1, 0)), -EINVAL);
    assert_int_equal(err_of(lwp_mmap2(g_lwp, NULL, SIZE_MAX, PROT_READ, anon, -1, 0)), -ENOMEM);
    /* fixed at NULL, below the user space or running past its top: rt_aspace_map's -RT_EINVAL */
    assert_int_equal(err_of(lwp_mmap2(g_lwp, NULL, PAGE, PROT_READ, anon | MAP_FIXED, -1, 0)), -EINVAL);
    assert_int_equal(err_of(lwp_mmap2(g_lwp, (void *)0x1000, PAGE, PROT_READ, anon | MAP_FIXED, -1, 0)), -EINVAL);
    assert_int_equal(err_of(lwp_mmap2(g_lwp, (void *)(USER_VADDR_TOP - PAGE), 2 * PAGE, PROT_READ,
                                      anon | MAP_FIXED, -1, 0)), -EINVAL);
    /* no room: the user space is full after one mapping of all of it but the stack's */
    assert_int_equal(err_of(lwp_mmap2(g_lwp, NULL, USER_VADDR_TOP - USER_VADDR_START, PROT_READ, anon, -1, 0)),
                     -ENOMEM);
    FX_EXPECT_ASSERTS(1, assert_int_equal(err_of(lwp_mmap2(NULL, NULL, PAGE, PROT_READ, anon, -1, 0)), -EINVAL));
    assert_int_equal(mmt_checked_vareas(as()), count);
    /* an unaligned length is rounded up */
    void *va = mmap_ok(NULL, PAGE + 1, anon);
    assert_int_equal(rt_aspace_query(as(), va)->size, 2 * PAGE);
}

static void test_lwp_munmap_errors(void **state)
{
    (void)state;
    void *va = mmap_ok(UTEST_VA, 2 * PAGE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    assert_int_equal(lwp_munmap(g_lwp, (char *)va + 1, PAGE), -EINVAL);
    assert_int_equal(lwp_munmap(g_lwp, (void *)0x1000, PAGE), -EINVAL);
    FX_EXPECT_ASSERTS(1, assert_int_equal(lwp_munmap(NULL, va, PAGE), -EINVAL));
    /* an unaligned length is rounded up: both pages go */
    assert_int_equal(lwp_munmap(g_lwp, va, PAGE + 1), 0);
    assert_null(rt_aspace_query(as(), va));
}

/* Below 1 MiB of free pages lwp_mmap2 refuses: exactly 256 free pages is
 * still enough, 255 is not. A small machine makes that cheap to reach. */
static void test_lwp_mmap2_refuses_below_one_mib_free(void **state)
{
    (void)state;
    struct mmsim_machine_config cfg;
    mmsim_machine_config_default(&cfg);
    cfg.ram_size = 8ul << 20;
    fx_boot(&cfg);
    g_lwp = lwp_create(LWP_CREATE_FLAG_NONE);
    assert_int_equal(lwp_user_space_init(g_lwp, RT_FALSE), RT_EOK);
    static void *held[2048];
    size_t nheld = 0;
    rt_size_t total = 0, free_pages = 0;
    for (rt_page_get_info(&total, &free_pages); free_pages > 256; rt_page_get_info(&total, &free_pages))
    {
        assert_true(nheld < 2048);
        held[nheld++] = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    }
    assert_int_equal(free_pages, 256);
    void *va = mmap_ok(NULL, PAGE, MAP_PRIVATE | MAP_ANONYMOUS);
    assert_int_equal(lwp_munmap(g_lwp, va, PAGE), 0);
    held[nheld++] = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    int count = mmt_vareas(as());
    assert_int_equal(err_of(lwp_mmap2(g_lwp, NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)),
                     -ENOMEM);
    assert_int_equal(mmt_vareas(as()), count);
    while (nheld)
        rt_pages_free(held[--nheld], 0);
}

/* Allocation points of lwp_mmap2 (no page is allocated: nothing is
 * populated): a new mapping's varea (heap 1); MAP_FIXED into the middle of a
 * mapping, its varea and the split's reserved one (heap 2). Each failure is
 * -ENOMEM with the aspace, frames, tables and heap unchanged. */
static int mmap2_failures(enum mmsim_alloc_kind kind, void *addr, int flags)
{
    int failures = 0;
    for (uint64_t nth = 1;; nth++)
    {
        struct mmt_snapshot before;
        mmt_snapshot(as(), va_at(0), va_at(8), &before);
        mmsim_inject_arm(kind, nth, MMSIM_INJECT_ONCE);
        void *ret = lwp_mmap2(g_lwp, addr, PAGE, PROT_READ, flags, -1, 0);
        uint64_t injected = mmsim_inject_disarm(kind);
        if ((uintptr_t)ret < USER_VADDR_TOP)
        {
            assert_int_equal(injected, 0);
            assert_int_equal(lwp_munmap(g_lwp, ret, PAGE), 0);
            return failures;
        }
        failures++;
        assert_int_equal(err_of(ret), -ENOMEM);
        mmt_expect_unchanged(as(), va_at(0), va_at(8), &before, "failed lwp_mmap2");
    }
}

static void test_lwp_mmap2_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    const int anon = MAP_PRIVATE | MAP_ANONYMOUS;
    assert_int_equal(mmap2_failures(MMSIM_ALLOC_HEAP, NULL, anon), 1);
    assert_int_equal(mmap2_failures(MMSIM_ALLOC_PAGE, NULL, anon), 0);
    /* the object page of a non-fixed mapping is addr >> 12 = 0, so it is not
     * contiguous with the fixed one below and cannot be absorbed */
    mmap_ok(va_at(0), 3 * PAGE, anon | MAP_FIXED);
    assert_int_equal(mmap2_failures(MMSIM_ALLOC_HEAP, va_at(1), anon | MAP_FIXED), 2);
    assert_int_equal(mmap2_failures(MMSIM_ALLOC_PAGE, va_at(1), anon | MAP_FIXED), 0);
}

/* ---- user copies -------------------------------------------------------------------- */

/* 0x2064 bytes from offset 0x800 of a 3-page private mapping: a partial
 * first page, one whole page, a partial last page — through a temporary
 * page, freed again (the fixture checks). */
static void test_lwp_data_put_and_get_across_pages(void **state)
{
    (void)state;
    char *va = map_user(UTEST_VA, 3 * PAGE);
    static char out[0x2064], in[0x2064];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (char)(i * 7 + 1);
    assert_int_equal(lwp_data_put(g_lwp, va + 0x800, out, sizeof out), sizeof out);
    assert_int_equal(lwp_data_get(g_lwp, in, va + 0x800, sizeof in), sizeof in);
    assert_memory_equal(in, out, sizeof out);
    assert_int_equal(mmt_peek(as(), va + 0x800), (uint8_t)out[0]);
    assert_int_equal(mmt_peek(as(), va + 0x2863), (uint8_t)out[sizeof out - 1]);
    /* a copy running off the mapping stops at its end */
    assert_int_equal(lwp_data_put(g_lwp, va + 3 * PAGE - 16, out, 64), 16);
    assert_int_equal(lwp_data_get(g_lwp, in, va + 3 * PAGE - 16, 64), 16);
    assert_int_equal(lwp_data_get(g_lwp, in, va + 3 * PAGE, 1), 0);
    /* nothing to copy */
    assert_int_equal(lwp_data_get(g_lwp, NULL, va, 1), 0);
    assert_int_equal(lwp_data_put(g_lwp, va, NULL, 1), 0);
    assert_int_equal(lwp_data_get(g_lwp, in, va, 0), 0);
    FX_EXPECT_ASSERTS(1, assert_int_equal(lwp_data_get(NULL, in, va, 1), 0));
    FX_EXPECT_ASSERTS(1, assert_int_equal(lwp_data_put(NULL, va, out, 1), 0));
}

/* lwp_data_set over a partial, a whole and a partial page keeps the bytes
 * around the range; it needs its temporary page even for whole pages. */
static void test_lwp_data_set(void **state)
{
    (void)state;
    char *va = map_user(UTEST_VA, 3 * PAGE);
    static char pattern[3 * PAGE], back[3 * PAGE];
    memset(pattern, 0x11, sizeof pattern);
    assert_int_equal(lwp_data_put(g_lwp, va, pattern, sizeof pattern), sizeof pattern);
    assert_int_equal(lwp_data_set(g_lwp, va + 0x800, 0xab, 0x2000), 0x2000);
    assert_int_equal(lwp_data_get(g_lwp, back, va, sizeof back), sizeof back);
    for (size_t i = 0; i < sizeof back; i++)
        assert_int_equal((uint8_t)back[i], i >= 0x800 && i < 0x2800 ? 0xab : 0x11);
    assert_int_equal(lwp_data_set(g_lwp, va + 3 * PAGE - 4, 0, 8), 4); /* stops at the end */
    assert_int_equal(lwp_data_set(g_lwp, NULL, 0, 8), 0);
    assert_int_equal(lwp_data_set(g_lwp, va, 0, 0), 0);
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 1, MMSIM_INJECT_ONCE);
    assert_int_equal(lwp_data_set(g_lwp, va, 0, PAGE), 0);
    assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_PAGE), 1);
    FX_EXPECT_ASSERTS(1, assert_int_equal(lwp_data_set(NULL, va, 0, 1), 0));
}

/* A partial page needs the temporary page: without one nothing is copied. */
static void test_lwp_data_copy_without_a_temporary_page(void **state)
{
    (void)state;
    char *va = map_user(UTEST_VA, PAGE);
    char buf[8] = { 0 };
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 1, MMSIM_INJECT_ONCE);
    assert_int_equal(lwp_data_get(g_lwp, buf, va, sizeof buf), 0);
    assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_PAGE), 1);
}

/* A physical user mapping of a frame the test owns: the VA keeps the PA's
 * in-page offset, the PTE maps the frame (no reference taken: the frame's one
 * reference is the test's, its documented owner), and unmapping leaves the
 * frame allocated. */
static void test_lwp_map_user_phy(void **state)
{
    (void)state;
    void *frame = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    uintptr_t pa = (uintptr_t)frame + PV_OFFSET;
    assert_null(lwp_map_user_phy(g_lwp, NULL, (void *)pa, 0, RT_TRUE));
    assert_null(lwp_map_user_phy(g_lwp, (void *)((uintptr_t)UTEST_VA + 0x20), (void *)(pa + 0x10), 8, RT_TRUE));
    assert_null(lwp_map_user_phy(g_lwp, (void *)((uintptr_t)UTEST_VA + 0x10), (void *)(pa + 0x10), 8, RT_TRUE));
    FX_EXPECT_ASSERTS(1, assert_null(lwp_map_user_phy(NULL, NULL, (void *)pa, 8, RT_TRUE)));
    char *va = lwp_map_user_phy(g_lwp, NULL, (void *)(pa + 0x10), 0x20, RT_TRUE);
    assert_non_null(va);
    assert_int_equal((uintptr_t)va & ARCH_PAGE_MASK, 0x10);
    rt_varea_t varea = rt_aspace_query(as(), va);
    assert_null(varea->mem_obj);
    assert_int_equal(varea->attr, MMU_MAP_U_RWCB);
    assert_int_equal(varea->size, PAGE);
    assert_ptr_equal(lwp_v2p(g_lwp, va), (void *)(pa + 0x10));
    assert_true(mmt_user_write(as(), va, 0x42));
    assert_int_equal(((uint8_t *)frame)[0x10], 0x42);
    assert_int_equal(rt_page_ref_get(frame, 0), 1);
    rt_aspace_t live[1] = { as() };
    void *owned[1] = { frame };
    mmt_mm_check(live, 1, owned, 1);
    assert_int_equal(lwp_unmap_user_phy(g_lwp, va), RT_EOK);
    char *fixed = lwp_map_user_phy(g_lwp, va_at(4), (void *)pa, PAGE, RT_FALSE);
    assert_ptr_equal(fixed, va_at(4));
    assert_int_equal(rt_aspace_query(as(), fixed)->attr, MMU_MAP_U_RW);
    assert_int_equal(lwp_unmap_user_phy(g_lwp, fixed), RT_EOK);
    assert_int_equal(rt_pages_free(frame, 0), 1);
}

static void test_lwp_v2p(void **state)
{
    (void)state;
    char *va = map_user(UTEST_VA, PAGE);
    assert_ptr_equal(lwp_v2p(g_lwp, va), ARCH_MAP_FAILED);
    assert_true(mmt_user_write(as(), va, 3));
    void *pa = lwp_v2p(g_lwp, va + 0x123);
    assert_ptr_equal(pa, (void *)((uintptr_t)mmt_frame(as(), va) + PV_OFFSET + 0x123));
    FX_EXPECT_ASSERTS(1, assert_ptr_equal(lwp_v2p(NULL, va), ARCH_MAP_FAILED));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TB(f) cmocka_unit_test_setup_teardown(f, fx_setup_bare, teardown)
    const struct CMUnitTest tests[] = {
        T(test_lwp_create_and_reference_counting),
        T(test_lwp_create_without_heap),
        T(test_lwp_user_space_init_maps_the_stack),
        T(test_lwp_user_space_init_for_fork_has_no_stack),
        T(test_lwp_user_space_init_fails_cleanly_at_every_allocation),
        T(test_mm_lwp_tc_user_map_varea),
        T(test_mm_lwp_tc_user_map_varea_ext_nocache),
        T(test_mm_lwp_tc_user_accessible),
        T(test_lwp_map_user_varea_arguments),
        T(test_lwp_mmap_expand),
        T(test_lwp_mmap_map_fixed),
        T(test_lwp_mmap_fix_private),
        T(test_aspace_map_expand_in_an_lwp),
        T(test_aspace_unmap_range_invalid_param_in_an_lwp),
        T(test_lwp_check_reports_a_writable_zero_page),
        T(test_lwp_zero_fault_fails_cleanly_when_the_checker_registry_is_full),
        T(test_lwp_self_follows_the_current_thread),
        T(test_lwp_boot_counts_once_every_process_is_gone),
        T(test_lwp_anonymous_reads_zero_page_and_write_copies),
        T(test_lwp_stack_faults_in_over_the_zero_page),
        T(test_lwp_zero_object_refuses_a_shared_mapping),
        T(test_lwp_fork_shares_zero_and_anonymous_pages),
        T(test_lwp_zero_fault_fails_cleanly_at_every_page_allocation),
        T(test_lwp_data_on_anonymous_memory),
        T(test_lwp_two_processes_share_the_zero_page_concurrently),
        T(test_lwp_random_operations_match_a_byte_model),
        T(test_lwp_mmap2_errors),
        T(test_lwp_munmap_errors),
        TB(test_lwp_mmap2_refuses_below_one_mib_free),
        TB(test_lwp_zero_page_of_an_earlier_machine_is_forgotten),
        T(test_lwp_mmap2_fails_cleanly_at_every_allocation),
        T(test_lwp_data_put_and_get_across_pages),
        T(test_lwp_data_copy_without_a_temporary_page),
        T(test_lwp_data_set),
        T(test_lwp_map_user_phy),
        T(test_lwp_v2p),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
