/* Fork, duplicate and compare, and the core COW scenarios of
 * shared/spec/cow-scenarios.md under RT-Thread's policy (rtthread-mm.md
 * §3.6-§3.8), driven as the CPU would: a faulting user access calls
 * rt_aspace_fault_try_fix (GENERIC_MMU) and data goes through the PTEs.
 *
 * The policy, which every count below is derived from:
 * - fork moves the parent to a fresh aspace; the old one becomes the object's
 *   read-only store and keeps the original frames and PTEs; parent and child
 *   get "reference" vareas with no PTEs;
 * - a read in a reference varea maps the store's frame read-only (the store
 *   populates the page first if it never had it); a write copies the page
 *   into the writer's own anonymous object (one new frame) and carves the
 *   page out of the reference varea; nobody reuses a frame (no sole-owner
 *   reuse);
 * - the store and its frames go when the last reference varea over it does;
 * - frames are not zeroed (P6), so untouched pages are checked for isolation
 *   only.
 * "Data frames" = allocated frames minus the table pages of the live aspaces
 * (root included) minus what was allocated before the test. A fresh user
 * page at 0x100000000 costs three table pages below the root. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <mmsim/mm_check.h>
#include "mm_util.h"

static rt_aspace_t g_p, g_c; /* parent, child */
static size_t g_base;        /* frames that are neither data nor these tables */
/* Every aspace a test keeps alive beyond g_p and g_c (by address, since a
 * fork replaces the parent's), and frames it owns: checked after every step. */
static rt_aspace_t *g_more[6];
static void *g_owned[2];

static int setup(void **state)
{
    if (fx_setup(state))
        return -1;
    g_p = mmt_user_aspace();
    g_c = mmt_user_aspace();
    g_base = mmt_frames() - 2;
    memset(g_more, 0, sizeof g_more);
    memset(g_owned, 0, sizeof g_owned);
    return 0;
}

static int teardown(void **state)
{
    if (g_p)
        mmt_aspace_free(g_p);
    if (g_c)
        mmt_aspace_free(g_c);
    return fx_teardown(state);
}

static void anon_area(rt_aspace_t aspace, long page, long npages)
{
    void *va = va_at(page);
    assert_int_equal(rt_aspace_map_private(aspace, &va, (rt_size_t)npages * PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED),
                     RT_EOK);
}


static void check_all(void)
{
    rt_aspace_t live[8] = { g_p, g_c };
    for (int i = 0; i < 6; i++)
        live[2 + i] = g_more[i] ? *g_more[i] : NULL;
    mmt_mm_check(live, 8, g_owned, 2);
    /* the machine-wide form sees the same aspaces through the registry */
    struct mmsim_mm_owner_ref owners[2];
    size_t n = 0;
    for (int i = 0; i < 2; i++)
        if (g_owned[i])
            owners[n++] = (struct mmsim_mm_owner_ref){ g_owned[i], 1 };
    assert_int_equal(mmsim_mm_check_machine(owners, n, stderr, NULL), 0);
}

static void put(rt_aspace_t aspace, long page, uint8_t v)
{
    assert_true(mmt_user_write(aspace, va_at(page), v));
    check_all();
}

static uint8_t get(rt_aspace_t aspace, long page)
{
    uint8_t v = mmt_peek(aspace, va_at(page));
    check_all();
    return v;
}

/* Data frames with `n` live aspaces' tables discounted. */
static size_t data_frames(int n, rt_aspace_t *live)
{
    size_t tables = 0;
    for (int i = 0; i < n; i++)
        tables += mmt_tables(live[i]);
    return mmt_frames() - g_base - tables;
}
#define DATA(...) data_frames((int)(sizeof((rt_aspace_t[]){ __VA_ARGS__ }) / sizeof(rt_aspace_t)), \
                              (rt_aspace_t[]){ __VA_ARGS__ })

/* The object of the reference varea at `page`, and its store. */
static rt_mem_obj_t obj_at(rt_aspace_t aspace, long page) { return rt_aspace_query(aspace, va_at(page))->mem_obj; }

static void fork_ok(void)
{
    assert_int_equal(rt_aspace_fork(&g_p, &g_c), RT_EOK);
    check_all();
}

/* ---- basic COW ------------------------------------------------------------------- */

/* S01: P writes V1, forks, writes V2: P reads V2, C reads V1. One-page area.
 * Data: V1 (store) + P's copy = 2; C's read maps V1 (its count 2: store and
 * C's PTEs). References on P's old object: own + store varea + C's = 3. */
static void test_fork_s01_parent_writes_after_fork(void **state)
{
    (void)state;
    anon_area(g_p, 0, 1);
    put(g_p, 0, 0x11);
    rt_aspace_t old = g_p;
    fork_ok();
    assert_ptr_not_equal(g_p, old);
    rt_mem_obj_t obj = obj_at(g_c, 0);
    rt_aspace_t store = mmsim_anon_backup(obj);
    assert_ptr_equal(store, old);
    assert_string_equal(VAREA_NAME(rt_aspace_query(g_c, va_at(0))), "reference");
    assert_int_equal(mmsim_anon_reference(obj), 4); /* own, store's, C's, P's */
    assert_int_equal(mmsim_anon_readonly(obj), 2);
    assert_int_equal(mmt_tables(store), 4);
    assert_int_equal(mmt_tables(g_p), 1);
    assert_int_equal(mmt_tables(g_c), 1);
    assert_int_equal(DATA(store, g_p, g_c), 1);
    put(g_p, 0, 0x22);
    assert_int_equal(DATA(store, g_p, g_c), 2);
    assert_int_equal(mmsim_anon_reference(obj), 3); /* P's reference varea went */
    assert_int_equal(get(g_p, 0), 0x22);
    assert_int_equal(get(g_c, 0), 0x11);
    assert_int_equal(DATA(store, g_p, g_c), 2);
    assert_int_equal(rt_page_ref_get(mmt_frame(g_c, va_at(0)), 0), 2);
    assert_true(mmt_write_faults(g_c, va_at(0))); /* shared: never writable */
    assert_int_equal(mmt_tables(g_c), 4);
}

/* S02: only C writes: P still reads V1. Data: V1 + C's copy = 2. */
static void test_fork_s02_child_writes_after_fork(void **state)
{
    (void)state;
    anon_area(g_p, 0, 1);
    put(g_p, 0, 0x11);
    fork_ok();
    rt_aspace_t store = mmsim_anon_backup(obj_at(g_c, 0));
    put(g_c, 0, 0x33);
    assert_int_equal(get(g_p, 0), 0x11);
    assert_int_equal(get(g_c, 0), 0x33);
    assert_int_equal(DATA(store, g_p, g_c), 2);
    assert_true(mmt_write_faults(g_p, va_at(0)));
}

/* S04: after fork P drops write permission and restores it (mmsim's
 * READONLY/READWRITE), then writes: the shared frame is never made writable,
 * the write still copies, C still reads V1. Read-only, the write is refused. */
static void test_fork_s04_readonly_then_readwrite_keeps_cow(void **state)
{
    (void)state;
    anon_area(g_p, 0, 1);
    put(g_p, 0, 0x11);
    fork_ok();
    assert_int_equal(get(g_p, 0), 0x11); /* P maps the shared frame read-only */
    void *shared = mmt_frame(g_p, va_at(0));
    assert_int_equal(rt_aspace_control(g_p, va_at(0), MMU_CNTL_READONLY), RT_EOK);
    assert_false(mmt_user_write(g_p, va_at(0), 0x22));
    assert_int_equal(rt_aspace_control(g_p, va_at(0), MMU_CNTL_READWRITE), RT_EOK);
    assert_true(mmt_write_faults(g_p, va_at(0)));
    assert_ptr_equal(mmt_frame(g_p, va_at(0)), shared);
    put(g_p, 0, 0x22);
    assert_ptr_not_equal(mmt_frame(g_p, va_at(0)), shared);
    assert_int_equal(get(g_c, 0), 0x11);
    assert_int_equal(*(uint8_t *)shared, 0x11);
}

/* S03 under RT-Thread's policy (no reuse). One-page area: both COWs remove
 * both reference vareas, so the store (V1 and its four table pages) is
 * deleted: two frames remain, P's and C's copies. Two-page area with both
 * pages written before fork, then page 0 written on both sides: page 1 keeps
 * the reference vareas alive, so V1 stays: V1, V1', two copies = 4. */
static void test_fork_s03_both_write_without_reuse(void **state)
{
    (void)state;
    anon_area(g_p, 0, 1);
    put(g_p, 0, 0x11);
    fork_ok();
    put(g_p, 0, 0x22);
    put(g_c, 0, 0x33);
    /* only P's and C's tables are left: the store went */
    assert_int_equal(DATA(g_p, g_c), 2);
    assert_int_equal(get(g_p, 0), 0x22);
    assert_int_equal(get(g_c, 0), 0x33);
    /* the larger area, forked into a second child c2 (P's page 0 copy now
     * lives in the new store; C keeps its own) */
    anon_area(g_p, 4, 2);
    put(g_p, 4, 0x44);
    put(g_p, 5, 0x55);
    rt_aspace_t c2 = mmt_user_aspace();
    g_more[0] = &c2;
    assert_int_equal(rt_aspace_fork(&g_p, &c2), RT_EOK);
    rt_aspace_t store = mmsim_anon_backup(obj_at(c2, 4));
    put(g_p, 4, 0x66);
    put(c2, 4, 0x77);
    assert_int_equal(DATA(store, g_p, g_c, c2), 2 /* pages 0 */ + 4);
    assert_int_equal(get(g_p, 5), 0x55);
    assert_int_equal(get(c2, 5), 0x55);
    assert_int_equal(get(g_p, 4), 0x66);
    assert_int_equal(get(c2, 4), 0x77);
    assert_int_equal(get(c2, 0), 0x22);
    assert_int_equal(get(g_c, 0), 0x33);
    mmt_aspace_free(c2);
    g_more[0] = NULL;
}

/* S05 (isolation only, P6): a two-page area nobody touched. C's write copies
 * from the store, which first populates the page (one frame, three tables in
 * the store); P then reads that store frame, not C's data; P's own write
 * makes a third frame; C keeps its value. */
static void test_fork_s05_untouched_area_is_isolated(void **state)
{
    (void)state;
    anon_area(g_p, 0, 2);
    fork_ok();
    rt_aspace_t store = mmsim_anon_backup(obj_at(g_c, 0));
    assert_int_equal(DATA(store, g_p, g_c), 0);
    put(g_c, 0, 0xcc);
    assert_int_equal(DATA(store, g_p, g_c), 2);
    assert_int_equal(mmt_tables(store), 4);
    void *store_frame = mmt_frame(store, va_at(0));
    assert_non_null(store_frame);
    assert_ptr_not_equal(store_frame, mmt_frame(g_c, va_at(0)));
    uint8_t seen = get(g_p, 0);
    assert_ptr_equal(mmt_frame(g_p, va_at(0)), store_frame);
    assert_int_equal(seen, *(uint8_t *)store_frame);
    put(g_p, 0, (uint8_t)(seen + 1));
    assert_int_equal(DATA(store, g_p, g_c), 3);
    assert_int_equal(get(g_c, 0), 0xcc);
    assert_int_equal(get(g_p, 0), (uint8_t)(seen + 1));
}

static int holding(rt_aspace_t aspace, rt_mem_obj_t obj)
{
    int n = 0;
    for (rt_varea_t v = ASPACE_VAREA_FIRST(aspace); v; v = ASPACE_VAREA_NEXT(v))
        n += v->mem_obj == obj;
    return n;
}

/* S06: four pages, 0 and 2 written before fork; P writes 1 and 3, C writes
 * 0 and 2. Frames: originals 0 and 2; 1 and 3 populated in the store by P's
 * copies (they had no frame); P's two copies; C's two copies = 8. P's
 * reference varea [0-3] becomes [0][1'][2][3'], C's [0'][1][2'][3]; the old
 * object is held by its owner, the store's varea and the two reference
 * vareas left on each side = 6. */
static void test_fork_s06_partly_faulted_area(void **state)
{
    (void)state;
    anon_area(g_p, 0, 4);
    put(g_p, 0, 0xa0);
    put(g_p, 2, 0xa2);
    fork_ok();
    rt_mem_obj_t obj = obj_at(g_c, 0);
    rt_aspace_t store = mmsim_anon_backup(obj);
    put(g_p, 1, 0xb1);
    put(g_p, 3, 0xb3);
    put(g_c, 0, 0xc0);
    put(g_c, 2, 0xc2);
    assert_int_equal(get(g_p, 0), 0xa0);
    assert_int_equal(get(g_p, 2), 0xa2);
    assert_int_equal(get(g_c, 0), 0xc0);
    assert_int_equal(get(g_c, 2), 0xc2);
    assert_int_equal(get(g_p, 1), 0xb1);
    assert_int_equal(get(g_c, 1), *(uint8_t *)mmt_frame(store, va_at(1)));
    assert_int_equal(get(g_c, 3), *(uint8_t *)mmt_frame(store, va_at(3)));
    assert_int_equal(DATA(store, g_p, g_c), 8);
    assert_int_equal(mmt_checked_vareas(g_p), 4);
    assert_int_equal(mmt_checked_vareas(g_c), 4);
    assert_int_equal(holding(g_p, obj), 2);
    assert_int_equal(holding(g_c, obj), 2);
    assert_int_equal(mmsim_anon_reference(obj), 1 + 1 + 2 + 2);
}

/* S12: unmapping in the parent changes only the counts of frames the parent
 * mapped: P maps page 0 by reading it (3 references: store, P, C after C
 * reads both), not page 1 (2). P unmaps: page 0 drops to 2, page 1 stays 2,
 * C reads the same. C unmaps too: no reference varea is left, the store and
 * both frames go. */
static void test_fork_s12_unmap_in_the_parent(void **state)
{
    (void)state;
    anon_area(g_p, 0, 2);
    put(g_p, 0, 0x10);
    put(g_p, 1, 0x11);
    fork_ok();
    assert_int_equal(get(g_c, 0), 0x10);
    assert_int_equal(get(g_c, 1), 0x11);
    assert_int_equal(get(g_p, 0), 0x10);
    void *f0 = mmt_frame(g_c, va_at(0)), *f1 = mmt_frame(g_c, va_at(1));
    assert_int_equal(rt_page_ref_get(f0, 0), 3);
    assert_int_equal(rt_page_ref_get(f1, 0), 2);
    assert_int_equal(rt_aspace_unmap_range(g_p, va_at(0), 2 * PAGE), RT_EOK);
    check_all();
    assert_int_equal(rt_page_ref_get(f0, 0), 2);
    assert_int_equal(rt_page_ref_get(f1, 0), 2);
    assert_int_equal(get(g_c, 0), 0x10);
    assert_int_equal(get(g_c, 1), 0x11);
    assert_int_equal(rt_aspace_unmap_range(g_c, va_at(0), 2 * PAGE), RT_EOK);
    check_all();
    assert_int_equal(DATA(g_p, g_c), 0);
}

/* S14: P reads all three pages of a shared area, then unmaps the middle
 * one: two vareas and a hole in P (the split's subset holds one more
 * reference on the object), the hole's frame loses P's reference, the outer
 * pages stay copy-on-write, C reads all three originals. */
static void test_fork_s14_partial_unmap_splits_a_shared_area(void **state)
{
    (void)state;
    anon_area(g_p, 0, 3);
    for (long i = 0; i < 3; i++)
        put(g_p, i, (uint8_t)(0x20 + i));
    fork_ok();
    rt_mem_obj_t obj = obj_at(g_c, 0);
    for (long i = 0; i < 3; i++)
        assert_int_equal(get(g_p, i), 0x20 + i);
    void *hole = mmt_frame(g_p, va_at(1));
    assert_int_equal(rt_page_ref_get(hole, 0), 2);
    long refs = mmsim_anon_reference(obj);
    assert_int_equal(rt_aspace_unmap_range(g_p, va_at(1), PAGE), RT_EOK);
    check_all();
    assert_int_equal(mmt_checked_vareas(g_p), 2);
    assert_int_equal(mmsim_anon_reference(obj), refs + 1);
    assert_int_equal(rt_page_ref_get(hole, 0), 1);
    assert_true(mmt_write_faults(g_p, va_at(0)));
    assert_true(mmt_write_faults(g_p, va_at(2)));
    for (long i = 0; i < 3; i++)
        assert_int_equal(get(g_c, i), 0x20 + i);
}

/* Page I/O after fork: page_get in the child reads the store without mapping
 * anything; page_put copies privately; the object refuses page_write outside
 * its owner. */
static void test_fork_page_io_through_reference_vareas(void **state)
{
    (void)state;
    static char buf[PAGE];
    anon_area(g_p, 0, 2);
    put(g_p, 0, 0x42);
    fork_ok();
    size_t frames = mmt_frames();
    assert_int_equal(rt_aspace_page_get(g_c, va_at(0), buf), RT_EOK);
    assert_int_equal(buf[0], 0x42);
    assert_null(mmt_frame(g_c, va_at(0)));
    assert_int_equal(mmt_frames(), frames);
    rt_varea_t ref = rt_aspace_query(g_c, va_at(1));
    struct rt_aspace_io_msg io;
    rt_mm_io_msg_init(&io, ref->offset + 1, va_at(1), buf);
    ref->mem_obj->page_write(ref, &io);
    assert_int_equal(io.response.status, MM_FAULT_STATUS_UNRECOVERABLE);
    memset(buf, 0x43, sizeof buf);
    assert_int_equal(rt_aspace_page_put(g_c, va_at(1), buf), RT_EOK);
    check_all();
    assert_int_equal(get(g_c, 1), 0x43);
    assert_int_equal(get(g_c, 0), 0x42);
    assert_ptr_equal(rt_aspace_query(g_c, va_at(1))->mem_obj, g_c->private_object);
}

/* S10: five children of one parent, closed forwards and then (a second
 * round) backwards. One written page; nobody else touches it, so each fork
 * adds one reference varea per child (the parent's next aspace takes over
 * the parent's); the parent that never wrote is deleted by each fork (it has
 * no anonymous object of its own). References on the object: its owner's,
 * the store's varea, the parent's and one per living child; after the last
 * child the parent's reference still keeps the store; P writes: copy. */
static void many_children(bool backwards)
{
    rt_aspace_t kids[5];
    rt_mem_obj_t obj = RT_NULL;
    for (int i = 0; i < 5; i++) {
        kids[i] = mmt_user_aspace();
        g_more[i] = &kids[i];
        assert_int_equal(rt_aspace_fork(&g_p, &kids[i]), RT_EOK);
        obj = obj_at(kids[i], 0);
        assert_int_equal(mmsim_anon_reference(obj), 3 + (i + 1) + 1 /* g_c's */);
        check_all();
    }
    for (int k = 0; k < 5; k++) {
        int i = backwards ? 4 - k : k;
        assert_int_equal(mmt_peek(kids[i], va_at(0)), 0x5a);
        mmt_aspace_free(kids[i]);
        kids[i] = NULL;
        assert_int_equal(mmsim_anon_reference(obj), 3 + (4 - k) + 1);
        check_all();
    }
    memset(g_more, 0, sizeof g_more);
}

static void test_fork_s10_many_children_closed_both_ways(void **state)
{
    (void)state;
    anon_area(g_p, 0, 1);
    put(g_p, 0, 0x5a);
    fork_ok(); /* g_c: a child kept to the end */
    many_children(false);
    many_children(true);
    put(g_p, 0, 0x77);
    assert_int_equal(get(g_c, 0), 0x5a);
}

/* S11: P, its children C1 and C2, and G (C1's child) share one written
 * page; they write it in each of the 24 orders; after every write each one
 * that has not written reads the original. Every write copies (no reuse), so
 * at the end there are four copies and no store: the old aspaces of C1 and of
 * P's second fork had no object and went at their forks, P's store went with
 * the last reference varea. */
static void write_order(const int order[4])
{
    rt_aspace_t as[4] = { g_p, mmt_user_aspace(), mmt_user_aspace(), mmt_user_aspace() };
    g_p = NULL;
    for (int i = 0; i < 4; i++)
        g_more[i] = &as[i];
    anon_area(as[0], 0, 1);
    put(as[0], 0, 0xee);
    assert_int_equal(rt_aspace_fork(&as[0], &as[1]), RT_EOK);
    assert_int_equal(rt_aspace_fork(&as[0], &as[2]), RT_EOK);
    assert_int_equal(rt_aspace_fork(&as[1], &as[3]), RT_EOK);
    bool written[4] = { false };
    for (int step = 0; step < 4; step++) {
        put(as[order[step]], 0, (uint8_t)(0x10 + order[step]));
        written[order[step]] = true;
        for (int i = 0; i < 4; i++)
            assert_int_equal(get(as[i], 0), written[i] ? 0x10 + i : 0xee);
    }
    assert_int_equal(DATA(as[0], as[1], as[2], as[3], g_c), 4);
    for (int i = 1; i < 4; i++)
        mmt_aspace_free(as[i]);
    g_p = as[0];
    memset(g_more, 0, sizeof g_more);
    assert_int_equal(rt_aspace_unmap(g_p, va_at(0)), RT_EOK);
}

static void test_fork_s11_every_write_order_across_a_clone_tree(void **state)
{
    (void)state;
    int order[4] = { 0, 1, 2, 3 };
    for (int n = 0; n < 24; n++) {
        write_order(order);
        /* next permutation in lexicographic order */
        int i = 2;
        while (i >= 0 && order[i] > order[i + 1])
            i--;
        if (i < 0)
            break;
        int j = 3;
        while (order[j] < order[i])
            j--;
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
        for (int a = i + 1, b = 3; a < b; a++, b--) {
            t = order[a];
            order[a] = order[b];
            order[b] = t;
        }
    }
}

/* S19: C unmaps the first half, then forks G: G has no varea there, so a
 * fault there is unfixable and it can never reach those pages; it reads the
 * second half. Under RT-Thread's policy the store keeps every page of its own
 * varea until it is deleted, so the first half's frames are not freed when
 * P unmaps them too (the store goes only when the last reference does). */
static void test_fork_s19_sub_range_lineage(void **state)
{
    (void)state;
    anon_area(g_p, 0, 4);
    for (long i = 0; i < 4; i++)
        put(g_p, i, (uint8_t)(0x40 + i));
    fork_ok();
    rt_aspace_t store = mmsim_anon_backup(obj_at(g_c, 2));
    assert_int_equal(rt_aspace_unmap_range(g_c, va_at(0), 2 * PAGE), RT_EOK);
    rt_aspace_t g = mmt_user_aspace();
    g_more[0] = &g;
    assert_int_equal(rt_aspace_fork(&g_c, &g), RT_EOK);
    check_all();
    uint8_t v;
    assert_false(mmt_user_read(g, va_at(0), &v));
    assert_false(mmt_user_read(g, va_at(1), &v));
    assert_int_equal(get(g, 2), 0x42);
    assert_int_equal(get(g, 3), 0x43);
    assert_int_equal(rt_aspace_unmap_range(g_p, va_at(0), 2 * PAGE), RT_EOK);
    check_all();
    assert_int_equal(DATA(store, g_p, g_c, g), 4);
    mmt_aspace_free(g);
    g_more[0] = NULL;
}

/* S08: P writes both pages of a two-page area and forks; P and C each write
 * page 1. Data: originals 0, 1 + two copies = 4. P exits: its copy goes at
 * once (3); page 0 is still referenced by C, so the store stays; C reads the
 * originals and its copy; when C exits everything goes (fixture). */
static void test_fork_s08_parent_dies_first(void **state)
{
    (void)state;
    anon_area(g_p, 0, 2);
    put(g_p, 0, 0x10);
    put(g_p, 1, 0x11);
    fork_ok();
    rt_aspace_t store = mmsim_anon_backup(obj_at(g_c, 0));
    put(g_p, 1, 0x21);
    put(g_c, 1, 0x31);
    assert_int_equal(get(g_p, 0), 0x10);
    assert_int_equal(DATA(store, g_p, g_c), 4);
    mmt_aspace_free(g_p);
    g_p = NULL;
    assert_int_equal(DATA(store, g_c), 3);
    assert_int_equal(get(g_c, 0), 0x10);
    assert_int_equal(get(g_c, 1), 0x31);
    mmt_aspace_free(g_c);
    g_c = NULL;
    assert_int_equal(mmt_frames(), g_base);
}

/* S07: P writes V1 and forks C; C writes V2 and forks G; G writes V3; each
 * reads its own. One-page area, so each write removes its reference varea:
 * data = V1 (P's store), V2 (C's store), V3 (G's copy) = 3. Then every one
 * of the 6 teardown orders: the survivors keep reading their values, and at
 * the end the frames and the heap are back where they started. */
static void nested_teardown(const int order[3])
{
    size_t heap = mmsim_heap_used(), frames = mmt_frames();
    rt_aspace_t as[3] = { g_p, g_c, mmt_user_aspace() };
    g_p = g_c = NULL; /* as[0] and as[1] from here */
    for (int i = 0; i < 3; i++)
        g_more[i] = &as[i];
    const uint8_t val[3] = { 0x01, 0x02, 0x03 };
    anon_area(as[0], 0, 1);
    put(as[0], 0, val[0]);
    assert_int_equal(rt_aspace_fork(&as[0], &as[1]), RT_EOK);
    put(as[1], 0, val[1]);
    assert_int_equal(rt_aspace_fork(&as[1], &as[2]), RT_EOK);
    put(as[2], 0, val[2]);
    rt_aspace_t s1 = mmsim_anon_backup(obj_at(as[0], 0)), s2 = mmsim_anon_backup(obj_at(as[1], 0));
    for (int i = 0; i < 3; i++)
        assert_int_equal(get(as[i], 0), val[i]);
    assert_int_equal(mmt_frames() - frames - (mmt_tables(s1) + mmt_tables(s2) + mmt_tables(as[0]) +
                                              mmt_tables(as[1]) + mmt_tables(as[2]) - 2),
                     3);
    for (int step = 0; step < 3; step++) {
        mmt_aspace_free(as[order[step]]);
        as[order[step]] = NULL;
        for (int i = 0; i < 3; i++)
            if (as[i])
                assert_int_equal(get(as[i], 0), val[i]);
    }
    assert_int_equal(mmt_frames(), frames - 2); /* P's and C's roots went too */
    assert_int_equal(mmsim_heap_used(), heap - 2 * sizeof(struct rt_aspace));
    memset(g_more, 0, sizeof g_more);
    g_p = mmt_user_aspace();
    g_c = mmt_user_aspace();
}

static void test_fork_s07_nested_fork_in_every_teardown_order(void **state)
{
    (void)state;
    static const int orders[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
    for (int i = 0; i < 6; i++)
        nested_teardown(orders[i]);
}

/* Parent and child fault the same untouched pages at once from two host
 * threads: each page is populated in the store exactly once (lookup and fill
 * under one hold of the store's lock, P11), and both map that frame. 64
 * pages: 64 data frames, each mapped three times (store, P, C). Run by the
 * tsan preset. */
#define RACE_PAGES 64

struct reader
{
    rt_aspace_t aspace;
    int unfixed;
};

static void *read_all(void *arg)
{
    struct reader *r = arg;
    for (long i = 0; i < RACE_PAGES; i++) {
        struct rt_aspace_fault_msg msg = { .fault_op = MM_FAULT_OP_READ, .fault_type = MM_FAULT_TYPE_GENERIC_MMU,
                                           .fault_vaddr = va_at(i) };
        r->unfixed += rt_aspace_fault_try_fix(r->aspace, &msg) != MM_FAULT_FIXABLE_TRUE;
    }
    return NULL;
}

static void test_fork_parent_and_child_fault_the_store_concurrently(void **state)
{
    (void)state;
    anon_area(g_p, 0, RACE_PAGES);
    fork_ok();
    rt_aspace_t store = mmsim_anon_backup(obj_at(g_c, 0));
    struct reader r[2] = { { g_p, 0 }, { g_c, 0 } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, read_all, &r[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(r[0].unfixed + r[1].unfixed, 0);
    check_all();
    assert_int_equal(DATA(store, g_p, g_c), RACE_PAGES);
    for (long i = 0; i < RACE_PAGES; i++) {
        void *frame = mmt_frame(store, va_at(i));
        assert_ptr_equal(mmt_frame(g_p, va_at(i)), frame);
        assert_ptr_equal(mmt_frame(g_c, va_at(i)), frame);
        assert_int_equal(rt_page_ref_get(frame, 0), 3);
    }
}

/* Two threads of the child write the same shared pages at once: one copies,
 * the other then meets a present writable page (a WRITE RWX_PERM on the
 * child's own varea) and must be told to retry, not be refused (D36). One
 * copy per page, none leaked. Run by the tsan preset. */
static void *write_all(void *arg)
{
    struct reader *r = arg;
    for (long i = 0; i < RACE_PAGES; i++) {
        struct rt_aspace_fault_msg msg = { .fault_op = MM_FAULT_OP_WRITE, .fault_type = MM_FAULT_TYPE_GENERIC_MMU,
                                           .fault_vaddr = va_at(i) };
        r->unfixed += rt_aspace_fault_try_fix(r->aspace, &msg) != MM_FAULT_FIXABLE_TRUE;
    }
    return NULL;
}

static void test_fork_two_threads_copy_the_same_pages(void **state)
{
    (void)state;
    anon_area(g_p, 0, RACE_PAGES);
    for (long i = 0; i < RACE_PAGES; i++)
        put(g_p, i, (uint8_t)i);
    fork_ok();
    rt_aspace_t store = mmsim_anon_backup(obj_at(g_c, 0));
    struct reader r[2] = { { g_c, 0 }, { g_c, 0 } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, write_all, &r[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(r[0].unfixed + r[1].unfixed, 0);
    check_all();
    /* the originals in the store and one copy each in the child */
    assert_int_equal(DATA(store, g_p, g_c), 2 * RACE_PAGES);
    for (long i = 0; i < RACE_PAGES; i++)
        assert_int_equal(get(g_c, i), (uint8_t)i);
}

/* The invariant checker finds each kind of broken invariant exactly once. */
static int problems(void)
{
    rt_aspace_t live[2] = { g_p, g_c };
    struct mmsim_mm_info info;
    return mmsim_mm_check(live, 2, NULL, 0, NULL, &info);
}

static void test_fork_checker_finds_broken_invariants(void **state)
{
    (void)state;
    anon_area(g_p, 0, 2);
    put(g_p, 0, 1);
    fork_ok();
    assert_int_equal(get(g_c, 0), 1);
    rt_aspace_t live[2] = { g_p, g_c };
    struct mmsim_mm_info info;
    assert_int_equal(mmsim_mm_check(live, 2, NULL, 0, stderr, &info), 0);
    assert_int_equal(info.aspaces, 3);      /* the store is reached */
    assert_int_equal(info.objects, 1);
    assert_int_equal(info.data_frames, 1);  /* mapped by the store and C */
    assert_int_equal(info.leaves, 2);
    struct mmsim_mm_info whole;
    assert_int_equal(mmsim_mm_check_machine(NULL, 0, stderr, &whole), 0);
    assert_memory_equal(&whole, &info, sizeof info);
    void *pa = rt_hw_mmu_v2p(g_c, va_at(0));
    void *frame = rt_kmem_p2v(pa);
    /* a COW-shared frame made writable in C */
    rt_hw_mmu_map(g_c, va_at(0), pa, PAGE, MMU_MAP_U_RWCB);
    assert_int_equal(problems(), 1);
    rt_hw_mmu_map(g_c, va_at(0), pa, PAGE, rt_hw_mmu_attr_rm_perm(MMU_MAP_U_RWCB, RT_HW_MMU_PROT_USER | RT_HW_MMU_PROT_WRITE));
    assert_int_equal(problems(), 0);
    /* a reference nobody documents */
    rt_page_ref_inc(frame, 0);
    assert_int_equal(problems(), 1);
    struct mmsim_mm_owner_ref owner = { frame, 1 };
    assert_int_equal(mmsim_mm_check(live, 2, &owner, 1, NULL, NULL), 0);
    rt_pages_free(frame, 0);
    /* a PTE outside every varea, onto a freed frame */
    void *lost = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    void *lost_pa = rt_kmem_v2p(lost);
    rt_pages_free(lost, 0);
    rt_hw_mmu_map(g_c, va_at(100), lost_pa, PAGE, MMU_MAP_U_RWCB);
    assert_int_equal(problems(), 2);
    rt_hw_mmu_unmap(g_c, va_at(100), PAGE);
    /* a varea holding the object in an aspace the checker was not given */
    rt_aspace_t hidden = mmt_user_aspace();
    mmt_map(hidden, va_at(0), PAGE, MMF_MAP_PRIVATE, obj_at(g_c, 0), 0);
    assert_int_equal(problems(), 1);
    mmt_aspace_free(hidden);
    assert_int_equal(problems(), 0);
}

/* ---- fork without anonymous memory, errors, failure injection ---------------------- */

/* P4 / §0.1 item 8: no private object at all (a dummy area and a physical
 * one), and an object with no varea: fork works, and the old aspace, its
 * table and the object go at once since nothing refers to them. The dummy
 * area is copied empty (its frames went with the old aspace); the physical
 * one maps the same frame at the same VA. */
static void test_fork_without_anonymous_memory(void **state)
{
    (void)state;
    mmt_map(g_p, va_at(0), 2 * PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    void *frame = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE), *pva;
    g_owned[0] = frame;
    struct rt_mm_va_hint hint = { .limit_start = g_p->start, .limit_range_size = g_p->size,
                                  .prefer = va_at(8), .map_size = PAGE, .flags = MMF_MAP_FIXED };
    assert_int_equal(rt_aspace_map_phy(g_p, &hint, MMU_MAP_U_RWCB, MM_PA_TO_OFF(rt_kmem_v2p(frame)), &pva), RT_EOK);
    fork_ok();
    assert_int_equal(mmt_checked_vareas(g_p), 2);
    assert_int_equal(mmt_checked_vareas(g_c), 2);
    assert_ptr_equal(mmt_frame(g_c, va_at(8)), frame);
    assert_ptr_equal(mmt_frame(g_p, va_at(8)), frame);
    assert_null(mmt_frame(g_c, va_at(0)));
    assert_int_equal(rt_aspace_query(g_c, va_at(8))->flag & MMF_MAP_FIXED, MMF_MAP_FIXED);
    assert_int_equal(DATA(g_p, g_c), 1); /* the physical frame only */
    /* an object without vareas */
    void *va = va_at(20);
    assert_int_equal(rt_aspace_map_private(g_p, &va, PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED), RT_EOK);
    assert_int_equal(rt_aspace_unmap(g_p, va), RT_EOK);
    rt_aspace_t c2 = mmt_user_aspace();
    g_more[0] = &c2;
    assert_int_equal(rt_aspace_fork(&g_p, &c2), RT_EOK);
    check_all();
    assert_null(g_p->private_object);
    assert_int_equal(DATA(g_p, g_c, c2), 1);
    mmt_aspace_free(c2);
    g_more[0] = NULL;
    assert_int_equal(rt_aspace_unmap(g_p, va_at(8)), RT_EOK);
    assert_int_equal(rt_aspace_unmap(g_c, va_at(8)), RT_EOK);
    g_owned[0] = NULL;
    rt_pages_free(frame, 0);
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_fork(NULL, &g_c), -RT_EINVAL));
}

/* P4: a duplicate error is returned, and what it added is removed. */
static void test_fork_duplicate_propagates_errors_and_undoes(void **state)
{
    (void)state;
    anon_area(g_p, 0, 1);
    anon_area(g_p, 4, 1);
    mmt_map(g_p, (void *)0x7f0000000000ul, PAGE, 0, &rt_mm_dummy_mapper, 0);
    /* a destination that cannot hold the last varea */
    void *pgtbl = rt_hw_mmu_pgtbl_create();
    rt_aspace_t small = rt_aspace_create(UTEST_VA, 16 * PAGE, pgtbl);
    long refs = mmsim_anon_reference(g_p->private_object);
    size_t heap = mmsim_heap_used();
    assert_int_equal(rt_aspace_duplicate_locked(g_p, small), -RT_EINVAL);
    assert_int_equal(mmt_checked_vareas(small), 0);
    assert_int_equal(mmsim_anon_reference(g_p->private_object), refs);
    assert_int_equal(mmsim_heap_used(), heap);
    assert_int_equal(rt_aspace_unmap(g_p, (void *)0x7f0000000000ul), RT_EOK);
    /* now it fits: the two areas are compatible but not adjacent: two vareas */
    assert_int_equal(rt_aspace_duplicate_locked(g_p, small), RT_EOK);
    assert_int_equal(mmt_checked_vareas(small), 2);
    assert_int_equal(mmsim_anon_reference(g_p->private_object), refs + 2);
    mmt_aspace_free(small);
    assert_int_equal(mmsim_anon_reference(g_p->private_object), refs);
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_duplicate_locked(NULL, g_c), -RT_EINVAL));
}

/* §0.1 item 7: adjacent compatible vareas coalesce in the copy: RT-Thread's
 * fix_private layout [p0-p1][p2-p3][p4] becomes one varea with one reference
 * in the child and one in the parent's fresh aspace. */
static void test_fork_duplicate_coalesces(void **state)
{
    (void)state;
    struct mmt_zero zero;
    mmt_zero_init(&zero);
    g_owned[1] = zero.page;
    mmt_mmap_anon(g_p, &zero, UTEST_VA, 5 * PAGE, true);
    static const long order[5] = { 2, 0, 4, 1, 3 };
    for (int i = 0; i < 5; i++)
        put(g_p, order[i], (uint8_t)order[i]);
    assert_int_equal(mmt_checked_vareas(g_p), 3);
    rt_mem_obj_t obj = g_p->private_object;
    assert_int_equal(mmsim_anon_reference(obj), 4);
    fork_ok();
    assert_int_equal(mmt_checked_vareas(g_c), 1);
    assert_int_equal(mmt_checked_vareas(g_p), 1);
    assert_int_equal(mmsim_anon_reference(obj), 4 + 2);
    for (long i = 0; i < 5; i++) {
        assert_int_equal(get(g_c, i), i);
        assert_int_equal(get(g_p, i), i);
    }
    assert_int_equal(rt_aspace_compare(g_p, g_c), RT_EOK);
    mmt_aspace_free(g_p);
    mmt_aspace_free(g_c);
    g_p = g_c = NULL;
    g_owned[1] = NULL;
    mmt_zero_fini(&zero);
}

static void test_fork_compare(void **state)
{
    (void)state;
    anon_area(g_p, 0, 2);
    put(g_p, 0, 1);
    put(g_p, 1, 2);
    fork_ok();
    assert_int_equal(rt_aspace_compare(g_p, g_c), RT_EOK);
    put(g_c, 1, 9);
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_compare(g_p, g_c), -RT_ERROR));
    assert_int_equal(rt_aspace_unmap(g_c, va_at(0)), RT_EOK);
    assert_int_equal(rt_aspace_compare(g_p, g_c), -RT_ENOENT);
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_aspace_compare(NULL, g_c), -RT_EINVAL));
    mmsim_inject_arm(MMSIM_ALLOC_HEAP, 1, MMSIM_INJECT_ONCE);
    assert_int_equal(rt_aspace_compare(g_p, g_p), -RT_ENOMEM);
    mmsim_inject_disarm(MMSIM_ALLOC_HEAP);
}

/* S32: fail the nth heap or page allocation of a fork, n = 1.. until it
 * succeeds: each failure returns the error with P identical (vareas, frames,
 * tables, PTEs, heap, its object's references) and C still empty. P has an
 * anonymous area with pages, a prefetched dummy area and a physical page. */
static int fail_each_fork_allocation(enum mmsim_alloc_kind kind, enum mmsim_inject_mode mode)
{
    anon_area(g_p, 0, 2);
    put(g_p, 0, 5);
    put(g_p, 1, 6);
    mmt_map(g_p, va_at(4), PAGE, MMF_PREFETCH, &rt_mm_dummy_mapper, 0);
    void *frame = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE), *pva;
    g_owned[0] = frame;
    struct rt_mm_va_hint hint = { .limit_start = g_p->start, .limit_range_size = g_p->size,
                                  .prefer = (void *)0x7f0000000000ul, .map_size = PAGE, .flags = MMF_MAP_FIXED };
    assert_int_equal(rt_aspace_map_phy(g_p, &hint, MMU_MAP_U_RWCB, MM_PA_TO_OFF(rt_kmem_v2p(frame)), &pva), RT_EOK);
    struct mmt_snapshot before;
    long refs = mmsim_anon_reference(g_p->private_object);
    rt_aspace_t p = g_p;
    for (uint64_t nth = 1;; nth++) {
        mmt_snapshot(g_p, va_at(-2), va_at(8), &before);
        mmsim_inject_arm(kind, nth, mode);
        rt_err_t rc = rt_aspace_fork(&g_p, &g_c);
        uint64_t injected = mmsim_inject_disarm(kind);
        if (rc == RT_EOK) {
            assert_int_equal(injected, 0);
            assert_int_equal(get(g_c, 1), 6);
            assert_int_equal(get(g_p, 0), 5);
            assert_int_equal(rt_aspace_unmap(g_p, pva), RT_EOK);
            assert_int_equal(rt_aspace_unmap(g_c, pva), RT_EOK);
            g_owned[0] = NULL;
            rt_pages_free(frame, 0);
            return (int)nth - 1;
        }
        assert_true(mode == MMSIM_INJECT_PERSISTENT ? injected >= 1 : injected == 1);
        if (rc != -RT_ENOMEM && rc != -RT_ERROR)
            fail_msg("allocation %llu: unexpected %d", (unsigned long long)nth, (int)rc);
        assert_ptr_equal(g_p, p);
        char what[64];
        snprintf(what, sizeof what, "fork: allocation %llu failed", (unsigned long long)nth);
        mmt_expect_unchanged(g_p, va_at(-2), va_at(8), &before, what);
        check_all();
        assert_int_equal(mmsim_anon_reference(g_p->private_object), refs);
        assert_int_equal(mmt_checked_vareas(g_c), 0);
        assert_int_equal(mmt_tables(g_c), 1);
    }
}

static void test_fork_fails_cleanly_at_every_heap_allocation(void **state)
{
    (void)state;
    /* the fresh aspace, then one varea per copied varea in the child and the
     * fresh aspace (3 each) */
    assert_int_equal(fail_each_fork_allocation(MMSIM_ALLOC_HEAP, MMSIM_INJECT_ONCE), 1 + 3 + 3);
}

static void test_fork_fails_cleanly_at_every_page_allocation(void **state)
{
    (void)state;
    /* the fresh root, then three tables for the physical page in the child
     * and three in the fresh aspace */
    assert_int_equal(fail_each_fork_allocation(MMSIM_ALLOC_PAGE, MMSIM_INJECT_ONCE), 1 + 3 + 3);
}

/* S32 with failures that keep happening from the nth allocation on. */
static void test_fork_fails_cleanly_when_allocations_keep_failing(void **state)
{
    (void)state;
    assert_int_equal(fail_each_fork_allocation(MMSIM_ALLOC_HEAP, MMSIM_INJECT_PERSISTENT), 1 + 3 + 3);
    mmt_aspace_free(g_p);
    mmt_aspace_free(g_c);
    g_base = mmt_frames();
    g_p = mmt_user_aspace();
    g_c = mmt_user_aspace();
    assert_int_equal(fail_each_fork_allocation(MMSIM_ALLOC_PAGE, MMSIM_INJECT_PERSISTENT), 1 + 3 + 3);
}

/* S33: no frame for the copy: the write is unfixable, the page stays shared
 * and read-only, no count drifts; with memory back the same write works. */
static void test_fork_s33_no_frame_for_the_copy(void **state)
{
    (void)state;
    anon_area(g_p, 0, 1);
    put(g_p, 0, 0x11);
    fork_ok();
    assert_int_equal(get(g_p, 0), 0x11);
    void *shared = mmt_frame(g_p, va_at(0));
    size_t frames = mmt_frames(), heap = mmsim_heap_used();
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 1, MMSIM_INJECT_PERSISTENT);
    assert_false(mmt_user_write(g_p, va_at(0), 0x22));
    mmsim_inject_disarm(MMSIM_ALLOC_PAGE);
    check_all();
    assert_int_equal(mmt_frames(), frames);
    assert_int_equal(mmsim_heap_used(), heap);
    assert_ptr_equal(mmt_frame(g_p, va_at(0)), shared);
    assert_true(mmt_write_faults(g_p, va_at(0)));
    put(g_p, 0, 0x22);
    assert_int_equal(get(g_c, 0), 0x11);
    assert_int_equal(get(g_p, 0), 0x22);
}

/* Reduced from the mm benchmark: parent reads that fault in two different
 * L3 tables after a fork must leave nothing behind once both aspaces go. */
static void test_fork_parent_reads_in_two_l3_tables_leak_nothing(void **state)
{
    (void)state;
    anon_area(g_p, 0, 2048);
    for (long page = 0; page < 2048; page++)
        assert_true(mmt_user_write(g_p, va_at(page), (uint8_t)page));
    fork_ok();
    uint8_t v;
    assert_true(mmt_user_read(g_p, va_at(600), &v));
    assert_int_equal(v, (uint8_t)600);
    assert_true(mmt_user_read(g_p, va_at(1600), &v));
    assert_int_equal(v, (uint8_t)1600);
    check_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fork_s01_parent_writes_after_fork),
        T(test_fork_s02_child_writes_after_fork),
        T(test_fork_s03_both_write_without_reuse),
        T(test_fork_s04_readonly_then_readwrite_keeps_cow),
        T(test_fork_s05_untouched_area_is_isolated),
        T(test_fork_s06_partly_faulted_area),
        T(test_fork_s07_nested_fork_in_every_teardown_order),
        T(test_fork_s08_parent_dies_first),
        T(test_fork_s10_many_children_closed_both_ways),
        T(test_fork_s11_every_write_order_across_a_clone_tree),
        T(test_fork_s19_sub_range_lineage),
        T(test_fork_s12_unmap_in_the_parent),
        T(test_fork_s14_partial_unmap_splits_a_shared_area),
        T(test_fork_page_io_through_reference_vareas),
        T(test_fork_parent_and_child_fault_the_store_concurrently),
        T(test_fork_two_threads_copy_the_same_pages),
        T(test_fork_checker_finds_broken_invariants),
        T(test_fork_without_anonymous_memory),
        T(test_fork_duplicate_propagates_errors_and_undoes),
        T(test_fork_duplicate_coalesces),
        T(test_fork_compare),
        T(test_fork_fails_cleanly_at_every_heap_allocation),
        T(test_fork_fails_cleanly_at_every_page_allocation),
        T(test_fork_fails_cleanly_when_allocations_keep_failing),
        T(test_fork_s33_no_frame_for_the_copy),
        T(test_fork_parent_reads_in_two_l3_tables_leak_nothing),
#undef T
    };
    return cmocka_run_group_tests_name("fork", tests, NULL, NULL);
}
