/* The varea tree: AVL shape under random and adversarial edits, and RT-Thread's
 * search primitives (_aspace_bst_search/_exceed/_overlap, ASPACE_VAREA_*)
 * against a linear reference and against RT-Thread's own bst_adpt cases. */
#include <stdio.h>
#include <string.h>
#include "mm_util.h"

#define SLOTS 1024
static struct rt_varea g_v[SLOTS];
static struct rt_aspace g_tree; /* tree only: no table, no lock */

static void tree_reset(void)
{
    memset(&g_tree, 0, sizeof g_tree);
    g_tree.start = (void *)USER_START;
    g_tree.size = USER_TOP - USER_START;
    _aspace_bst_init(&g_tree);
    memset(g_v, 0, sizeof g_v);
}

/* Varea i covers pages [base + 4i, base + 4i + len) with len 1..3: gaps of
 * at least one page between neighbours, so boundaries are exercised. */
static void slot_init(int i, int len)
{
    g_v[i].start = (void *)(0x10000000ul + (uintptr_t)i * 4 * PAGE);
    g_v[i].size = (rt_size_t)len * PAGE;
    g_v[i].aspace = &g_tree;
}

static bool in_tree[SLOTS];

/* The slot whose varea contains va, by linear scan. */
static struct rt_varea *ref_search(uintptr_t va)
{
    for (int i = 0; i < SLOTS; i++)
        if (in_tree[i] && va >= (uintptr_t)g_v[i].start && va < (uintptr_t)g_v[i].start + g_v[i].size)
            return &g_v[i];
    return NULL;
}

static struct rt_varea *ref_exceed(uintptr_t va)
{
    struct rt_varea *best = NULL;
    for (int i = 0; i < SLOTS; i++)
        if (in_tree[i] && (uintptr_t)g_v[i].start >= va && (!best || g_v[i].start < best->start))
            best = &g_v[i];
    return best;
}

static bool ref_overlaps(uintptr_t lo, uintptr_t hi)
{
    for (int i = 0; i < SLOTS; i++)
        if (in_tree[i] && (uintptr_t)g_v[i].start <= hi && (uintptr_t)g_v[i].start + g_v[i].size - 1 >= lo)
            return true;
    return false;
}

static void test_avl_random_edits_stay_balanced_and_match_linear_search(void **state)
{
    (void)state;
    uint64_t seed = fx_seed(__func__), s = seed;
    tree_reset();
    memset(in_tree, 0, sizeof in_tree);
    for (int i = 0; i < SLOTS; i++)
        slot_init(i, 1 + (int)(fx_rand(&s) % 3));
    int n = 0;
    for (int step = 0; step < 4000; step++) {
        int i = (int)(fx_rand(&s) % SLOTS);
        if (in_tree[i]) {
            _aspace_bst_remove(&g_tree, &g_v[i]);
            n--;
        } else {
            _aspace_bst_insert(&g_tree, &g_v[i]);
            n++;
        }
        in_tree[i] = !in_tree[i];
        if (step % 16 == 0 || step > 3900) {
            mmt_check_tree(&g_tree);
            int walked = 0;
            for (rt_varea_t v = ASPACE_VAREA_FIRST(&g_tree); v; v = ASPACE_VAREA_NEXT(v))
                walked++;
            if (walked != n)
                fail_msg("seed %llu step %d: %d vareas walked, %d inserted", (unsigned long long)seed, step,
                         walked, n);
        }
        uintptr_t probe = 0x10000000ul - 2 * PAGE + fx_rand(&s) % ((SLOTS * 4 + 4) * PAGE);
        uintptr_t probe_hi = probe + fx_rand(&s) % (6 * PAGE);
        struct _mm_range r = { (void *)probe, (void *)probe_hi };
        struct rt_varea *ov = _aspace_bst_search_overlap(&g_tree, r);
        if (_aspace_bst_search(&g_tree, (void *)probe) != ref_search(probe) ||
            _aspace_bst_search_exceed(&g_tree, (void *)probe) != ref_exceed(probe) ||
            !!ov != ref_overlaps(probe, probe_hi) ||
            (ov && ((uintptr_t)ov->start > probe_hi || (uintptr_t)ov->start + ov->size - 1 < probe)))
            fail_msg("seed %llu step %d: search mismatch at 0x%lx", (unsigned long long)seed, step,
                     (unsigned long)probe);
    }
}

static void test_avl_ascending_inserts_keep_logarithmic_height(void **state)
{
    (void)state;
    static struct rt_varea many[100000];
    tree_reset();
    for (int i = 0; i < 100000; i++) {
        many[i].start = (void *)(0x10000000ul + (uintptr_t)i * PAGE);
        many[i].size = PAGE;
        many[i].aspace = &g_tree;
        _aspace_bst_insert(&g_tree, &many[i]);
    }
    mmt_check_tree(&g_tree); /* includes the AVL height bound */
    assert_true(g_tree.tree.root->height <= 24); /* 1.44 log2(100002) < 24 */
    /* remove from the low end (the other adversarial order) */
    for (int i = 0; i < 99990; i++)
        _aspace_bst_remove(&g_tree, &many[i]);
    mmt_check_tree(&g_tree);
    assert_ptr_equal(ASPACE_VAREA_FIRST(&g_tree), &many[99990]);
    assert_ptr_equal(ASPACE_VAREA_LAST(&g_tree), &many[99999]);
}

static void test_avl_equal_key_is_silently_not_inserted(void **state)
{
    (void)state;
    tree_reset();
    slot_init(0, 1);
    slot_init(1, 1);
    g_v[1].start = g_v[0].start;
    g_v[1].size = 2 * PAGE;
    _aspace_bst_insert(&g_tree, &g_v[0]);
    _aspace_bst_insert(&g_tree, &g_v[1]); /* RT-Thread: dropped without a word */
    assert_ptr_equal(ASPACE_VAREA_FIRST(&g_tree), &g_v[0]);
    assert_null(ASPACE_VAREA_NEXT(&g_v[0]));
    assert_null(g_v[1].node.node.parent);
    assert_int_equal(g_v[1].node.node.height, 0);
    assert_ptr_equal(_aspace_bst_search(&g_tree, (char *)g_v[0].start + PAGE), NULL);
}

static void test_avl_walk_and_prev_next_are_in_order(void **state)
{
    (void)state;
    tree_reset();
    assert_null(ASPACE_VAREA_FIRST(&g_tree));
    assert_null(ASPACE_VAREA_LAST(&g_tree));
    int order[] = { 5, 1, 9, 3, 7, 0, 2, 8, 4, 6 };
    for (int k = 0; k < 10; k++) {
        slot_init(order[k], 1);
        _aspace_bst_insert(&g_tree, &g_v[order[k]]);
    }
    int i = 0;
    for (rt_varea_t v = ASPACE_VAREA_FIRST(&g_tree); v; v = ASPACE_VAREA_NEXT(v))
        assert_ptr_equal(v, &g_v[i++]);
    assert_int_equal(i, 10);
    for (rt_varea_t v = ASPACE_VAREA_LAST(&g_tree); v; v = ASPACE_VAREA_PREV(v))
        assert_ptr_equal(v, &g_v[--i]);
    assert_int_equal(i, 0);
    struct util_avl_struct *none = NULL;
    assert_null(VAREA_ENTRY(none));
    assert_ptr_equal(VAREA_ENTRY(&g_v[3].node.node), &g_v[3]);
}

/* RT-Thread's test_bst_adpt, in a user aspace: three one-page FIXED maps at
 * target - 1 page, target and target + 2 pages (RT-Thread's "+1 byte" and
 * "size - 1" variants are unaligned, which rt_aspace_map now asserts on). */
static void test_avl_rtthread_bst_adpt_cases(void **state)
{
    (void)state;
    rt_aspace_t as = mmt_user_aspace();
    char *target = (char *)USER_START + 0x3000, *prev = target - PAGE, *next = target + 2 * PAGE;
    assert_null(_aspace_bst_search(as, target));
    mmt_map(as, target, PAGE, MMF_MAP_FIXED, &rt_mm_dummy_mapper, 0);
    mmt_map(as, prev, PAGE, MMF_MAP_FIXED, &rt_mm_dummy_mapper, 0);
    mmt_map(as, next, PAGE, MMF_MAP_FIXED, &rt_mm_dummy_mapper, 0);
    assert_int_equal(mmt_checked_vareas(as), 3); /* equal offsets: no expansion */

    assert_non_null(_aspace_bst_search(as, target));
    assert_null(_aspace_bst_search(as, target + PAGE));
    assert_ptr_equal(_aspace_bst_search(as, target - 1)->start, prev);

    rt_varea_t find = _aspace_bst_search_exceed(as, target);
    assert_ptr_equal(find->start, target);
    assert_ptr_equal(_aspace_bst_search_exceed(as, target + 1)->start, next);
    rt_varea_t last = ASPACE_VAREA_LAST(as);
    assert_ptr_equal(last->start, next);
    assert_null(_aspace_bst_search_exceed(as, (char *)last->start + 1));

    struct _mm_range below = { prev - 2, prev - 1 };
    assert_null(_aspace_bst_search_overlap(as, below));
    struct _mm_range start_below = { prev - 2, prev };
    assert_ptr_equal(_aspace_bst_search_overlap(as, start_below)->start, prev);
    struct _mm_range wrapped = { prev, prev + 1 };
    assert_ptr_equal(_aspace_bst_search_overlap(as, wrapped)->start, prev);
    struct _mm_range end_exceeds = { next, next + PAGE + 1 };
    assert_ptr_equal(_aspace_bst_search_overlap(as, end_exceeds)->start, next);
    struct _mm_range all_above = { next + PAGE, next + PAGE + 1 };
    assert_null(_aspace_bst_search_overlap(as, all_above));
    mmt_aspace_free(as);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_avl_random_edits_stay_balanced_and_match_linear_search),
        T(test_avl_ascending_inserts_keep_logarithmic_height),
        T(test_avl_equal_key_is_silently_not_inserted),
        T(test_avl_walk_and_prev_next_are_in_order),
        T(test_avl_rtthread_bst_adpt_cases),
#undef T
    };
    return cmocka_run_group_tests_name("avl", tests, NULL, NULL);
}
