/*
 * CMocka tests of devobj (devobj.h), written as a kernel developer tests their
 * own rt_mem_obj on mmsim: a fresh machine per test, faults as the exception
 * path raises them, user accesses through the page tables, and the teardown
 * of mmsim/testing.h failing the test on any leak, checker problem or
 * unexpected RT_ASSERT.
 *
 * Counts follow docs/mm.md: a frame's count is 1 (the file) plus one per PTE
 * mapping it; a page at 0x100000000 in a fresh user aspace needs three table
 * pages (levels 1-3) below the root, freed again when its last leaf goes.
 */
#include <mmsim/testing.h>
#include <mm_page.h>
#include <mm_private.h>
#include "devobj.h"

#define PAGE ((uintptr_t)ARCH_PAGE_SIZE)
#define NPAGES 4
#define USER_START 0x00200000ul         /* RT-Thread Smart's aarch64 user layout */
#define USER_TOP 0x0001000000000000ul
#define VA 0x100000000ul                 /* where RT-Thread's mm utests map */

static rt_aspace_t g_as;
static rt_aspace_t g_child; /* of a fork; freed by teardown too if a test fails first */
static struct devobj *g_dev;
static struct mmsim_mm_owner_ref g_owners[NPAGES];

static rt_aspace_t user_aspace(void)
{
    void *pgtbl = rt_hw_mmu_pgtbl_create();
    assert_non_null(pgtbl);
    rt_aspace_t aspace = rt_aspace_create((void *)USER_START, USER_TOP - USER_START, pgtbl);
    assert_non_null(aspace);
    return aspace;
}

static void user_aspace_free(rt_aspace_t aspace)
{
    void *pgtbl = aspace->page_table;
    rt_aspace_delete(aspace);
    rt_hw_mmu_pgtbl_delete(pgtbl);
}

static int setup(void **state)
{
    if (mmsim_test_setup(state))
        return -1;
    g_dev = devobj_create(NPAGES);
    if (!g_dev)
        return -1;
    devobj_owner_refs(g_dev, g_owners); /* the file's own reference on each page */
    mmsim_test_owners(g_owners, NPAGES);
    g_as = user_aspace();
    return 0;
}

/* Check while everything is alive, then free it all: what is left is a leak. */
static int teardown(void **state)
{
    int bad = mmsim_test_check();
    if (g_child)
        user_aspace_free(g_child);
    if (g_as)
        user_aspace_free(g_as);
    g_as = g_child = NULL;
    devobj_destroy(g_dev);
    mmsim_test_owners(NULL, 0);
    return mmsim_test_teardown(state) || bad ? -1 : 0;
}

static void *va(long page) { return (void *)(VA + (uintptr_t)page * PAGE); }
static int refs(long page) { return rt_page_ref_get(g_dev->pages[page], 0); }

static void map(rt_aspace_t aspace, long pages, mm_flag_t flags, rt_size_t offset)
{
    void *addr = va(0);
    assert_int_equal(rt_aspace_map(aspace, &addr, (rt_size_t)pages * PAGE, MMU_MAP_U_RWCB,
                                   flags | MMF_MAP_FIXED, &g_dev->obj, offset), RT_EOK);
    assert_ptr_equal(addr, va(0));
}

static char user_byte(rt_aspace_t aspace, long page)
{
    char c = 0;
    assert_int_equal(mmsim_test_user_read(aspace, va(page), &c, 1), RT_EOK);
    return c;
}

static void user_poke(rt_aspace_t aspace, long page, char c)
{
    assert_int_equal(mmsim_test_user_write(aspace, va(page), &c, 1), RT_EOK);
}

static void test_devobj_read_fault_maps_the_file_frame_shared(void **state)
{
    (void)state;
    map(g_as, NPAGES, 0, 0);
    assert_int_equal(g_dev->vareas, 1);
    size_t frames = mmsim_test_frames();

    /* the exception path's view: a GENERIC_MMU read fault mid-page */
    assert_int_equal(mmsim_test_fault(g_as, (char *)va(1) + 123, MM_FAULT_OP_READ),
                     MM_FAULT_FIXABLE_TRUE);
    assert_int_equal(g_dev->faults, 1);
    assert_ptr_equal(mmsim_test_host(g_as, va(1)), g_dev->pages[1]);
    assert_int_equal(refs(1), 2);                       /* file + PTE */
    assert_int_equal(mmsim_test_frames() - frames, 3);  /* tables only: the frame is the file's */

    /* shared and writable: a user store lands in the file without a fault */
    user_poke(g_as, 1, 'z');
    assert_int_equal(((char *)g_dev->pages[1])[0], 'z');
    assert_int_equal(g_dev->faults, 1);
    assert_int_equal(user_byte(g_as, 3), 'D');
    assert_int_equal(g_dev->faults, 2);
    assert_int_equal(mmsim_test_check(), 0);

    assert_int_equal(rt_aspace_unmap(g_as, va(0)), RT_EOK);
    assert_int_equal(g_dev->closes, 1);
    assert_int_equal(g_dev->vareas, 0);
    assert_int_equal(refs(1), 1);
    assert_int_equal(refs(3), 1);
    assert_int_equal(mmsim_test_frames(), frames); /* the empty tables went too */
}

static void test_devobj_unmap_range_splits_then_shrinks_dropping_only_the_cut_pages(void **state)
{
    (void)state;
    map(g_as, NPAGES, 0, 0);
    for (long p = 0; p < NPAGES; p++)
        assert_int_equal(user_byte(g_as, p), 'A' + p);

    /* a hole in the middle: split; page 1 alone loses its PTE */
    assert_int_equal(rt_aspace_unmap_range(g_as, va(1), PAGE), RT_EOK);
    assert_int_equal(g_dev->splits, 1);
    assert_int_equal(g_dev->vareas, 2);
    assert_null(mmsim_test_host(g_as, va(1)));
    assert_int_equal(refs(1), 1);
    assert_int_equal(refs(0), 2);
    rt_varea_t upper = rt_aspace_query(g_as, va(2));
    assert_ptr_equal(upper->start, va(2));
    assert_int_equal(upper->offset, 2);
    assert_int_equal(mmsim_test_check(), 0);

    /* the top page of the upper part: shrink */
    assert_int_equal(rt_aspace_unmap_range(g_as, va(3), PAGE), RT_EOK);
    assert_int_equal(g_dev->shrinks, 1);
    assert_int_equal(refs(3), 1);
    assert_int_equal(refs(2), 2);
    assert_int_equal(user_byte(g_as, 2), 'C'); /* still mapped, no new fault */
    assert_int_equal(g_dev->faults, NPAGES);

    /* everything: both remaining vareas close */
    assert_int_equal(rt_aspace_unmap_range(g_as, va(0), NPAGES * PAGE), RT_EOK);
    assert_int_equal(g_dev->closes, 2);
    assert_int_equal(g_dev->vareas, 0);
    for (long p = 0; p < NPAGES; p++)
        assert_int_equal(refs(p), 1);
}

static void test_devobj_private_write_copies_and_leaves_the_file_unchanged(void **state)
{
    (void)state;
    map(g_as, 2, MMF_MAP_PRIVATE, 0);
    assert_int_equal(user_byte(g_as, 0), 'A');
    assert_ptr_equal(mmsim_test_host(g_as, va(0)), g_dev->pages[0]); /* read-only, shared */
    assert_int_equal(refs(0), 2);
    size_t frames = mmsim_test_frames();

    /* the store faults (user read-only PTE), the core copies through page_read */
    user_poke(g_as, 0, 'x');
    char *copy = mmsim_test_host(g_as, va(0));
    assert_ptr_not_equal(copy, g_dev->pages[0]);
    assert_int_equal(copy[0], 'x');
    assert_int_equal(copy[1], 'A');
    assert_int_equal(((char *)g_dev->pages[0])[0], 'A');
    assert_int_equal(refs(0), 1);                      /* our varea gave page 0 up: shrink */
    assert_int_equal(g_dev->shrinks, 1);
    assert_int_equal(g_dev->vareas, 1);
    assert_int_equal(mmsim_test_frames() - frames, 1); /* the copy; tables already there */
}

static void test_devobj_fork_shared_mapping_parent_and_child_share_the_file(void **state)
{
    (void)state;
    map(g_as, 2, 0, 0);
    user_poke(g_as, 0, 'p');
    assert_int_equal(refs(0), 2);

    g_child = user_aspace();
    assert_int_equal(rt_aspace_fork(&g_as, &g_child), RT_EOK);
    rt_aspace_t child = g_child;
    /* no anonymous memory: the old parent aspace is deleted at once (its
     * varea closes, page 0's PTE goes); fresh parent and child open one each */
    assert_int_equal(g_dev->closes, 1);
    assert_int_equal(g_dev->vareas, 2);
    assert_int_equal(refs(0), 1);
    assert_int_equal(mmsim_test_check(), 0);

    assert_int_equal(user_byte(child, 0), 'p');
    assert_int_equal(user_byte(g_as, 0), 'p');
    assert_int_equal(refs(0), 3); /* file + two PTEs */
    user_poke(child, 0, 'c');     /* shared: the parent sees it */
    assert_int_equal(user_byte(g_as, 0), 'c');
    assert_int_equal(mmsim_test_check(), 0);

    user_aspace_free(child);
    g_child = NULL;
    assert_int_equal(refs(0), 2);
    assert_int_equal(g_dev->vareas, 1);
}

static void test_devobj_fork_private_mapping_child_write_copies_parent_reads_file(void **state)
{
    (void)state;
    map(g_as, 1, MMF_MAP_PRIVATE, 0);
    assert_int_equal(user_byte(g_as, 0), 'A');

    g_child = user_aspace();
    assert_int_equal(rt_aspace_fork(&g_as, &g_child), RT_EOK);
    rt_aspace_t child = g_child;
    assert_int_equal(refs(0), 1); /* the old parent went with its PTE */
    assert_int_equal(g_dev->vareas, 2);

    /* the child's one-page varea is replaced whole by its anonymous copy */
    user_poke(child, 0, 'c');
    assert_int_equal(g_dev->closes, 2);
    assert_int_equal(g_dev->vareas, 1);
    assert_int_equal(user_byte(g_as, 0), 'A');
    assert_int_equal(((char *)g_dev->pages[0])[0], 'A');
    assert_int_equal(user_byte(child, 0), 'c');
    assert_int_equal(refs(0), 2); /* file + the parent's PTE; the child has a copy */
    assert_int_equal(mmsim_test_check(), 0);
    user_aspace_free(child);
    g_child = NULL;
}

static void test_devobj_fault_past_the_file_end_is_not_fixable(void **state)
{
    (void)state;
    map(g_as, NPAGES, 0, 2); /* file pages 2, 3, then nothing */
    assert_int_equal(user_byte(g_as, 1), 'D');
    size_t frames = mmsim_test_frames();
    char c;
    assert_int_equal(mmsim_test_user_read(g_as, va(2), &c, 1), -RT_EFAULT);
    assert_int_equal(mmsim_test_fault(g_as, va(3), MM_FAULT_OP_WRITE), MM_FAULT_FIXABLE_FALSE);
    assert_int_equal(mmsim_test_frames(), frames);
    assert_null(mmsim_test_host(g_as, va(2)));
}

static void test_devobj_misuse_raises_rt_assert(void **state)
{
    (void)state;
    struct devobj *none = (struct devobj *)1;
    MMSIM_EXPECT_ASSERT(none = devobj_create(0));
    assert_null(none);

    map(g_as, 1, 0, 0);
    MMSIM_EXPECT_ASSERT(devobj_destroy(g_dev)); /* still mapped: refused */
    assert_int_equal(user_byte(g_as, 0), 'A');
    assert_int_equal(rt_aspace_unmap(g_as, va(0)), RT_EOK);
    assert_int_equal(mmsim_test_asserts()->count, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_devobj_read_fault_maps_the_file_frame_shared),
        T(test_devobj_unmap_range_splits_then_shrinks_dropping_only_the_cut_pages),
        T(test_devobj_private_write_copies_and_leaves_the_file_unchanged),
        T(test_devobj_fork_shared_mapping_parent_and_child_share_the_file),
        T(test_devobj_fork_private_mapping_child_write_copies_parent_reads_file),
        T(test_devobj_fault_past_the_file_end_is_not_fixable),
        T(test_devobj_misuse_raises_rt_assert),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
