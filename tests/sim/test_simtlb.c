/* The simulated CPU's software TLB and the ASID allocator (sim/tlb/). No
 * machine needed: the TLB is host memory. */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fixture.h"
#include "simtlb.h"
#include "asid.h"

#define PAGE UINT64_C(0x1000)
#define SZ_2M (UINT64_C(1) << 21)
#define SZ_1G (UINT64_C(1) << 30)
#define R MMSIM_SIMTLB_READ
#define W MMSIM_SIMTLB_WRITE
#define X MMSIM_SIMTLB_EXEC
#define HIT MMSIM_SIMTLB_HIT
#define DENIED MMSIM_SIMTLB_HIT_DENIED
#define MISS MMSIM_SIMTLB_MISS
#define PERM_ALL 0x3f
#define PERM_RO (MMSIM_SIMTLB_PERM_EL0_R | MMSIM_SIMTLB_PERM_EL1_R)
#define GLOBAL true
#define NG false

static int tlb_setup(void **state) { return fx_setup_bare(state); }
static int tlb_teardown(void **state)
{
    (void)state;
    mmsim_assert_hook_set(NULL, NULL);
    return 0;
}

/* ---- helpers ---- */

static struct mmsim_simtlb *new_tlb(unsigned entries)
{
    struct mmsim_simtlb_config cfg = { entries };
    struct mmsim_simtlb *t = mmsim_simtlb_create(&cfg);
    assert_non_null(t);
    return t;
}

static struct mmsim_simtlb_entry leaf(uint64_t va, uint64_t pa, unsigned shift, uint16_t asid,
                                      bool global, uint8_t perms)
{
    struct mmsim_simtlb_entry e = { .va = va, .pa = pa, .leaf_shift = shift, .asid = asid,
                                    .global = global, .perms = perms, .attr = 0xff };
    return e;
}

static void put(struct mmsim_simtlb *t, struct mmsim_simtlb_entry e)
{
    assert_true(mmsim_simtlb_insert(t, &e, mmsim_simtlb_fill_begin(t)));
}

/* Page of `shift` at `va` for `asid`, PA = VA + 0x1_0000_0000. */
static void put_at(struct mmsim_simtlb *t, uint64_t va, unsigned shift, uint16_t asid, bool global)
{
    put(t, leaf(va, va + (UINT64_C(1) << 32), shift, asid, global, PERM_ALL));
}

static enum mmsim_simtlb_result look(struct mmsim_simtlb *t, uint64_t va, uint16_t asid,
                                     unsigned el, enum mmsim_simtlb_op op, bool pan)
{
    return mmsim_simtlb_lookup(t, va, asid, el, op, pan, NULL);
}

static bool hits(struct mmsim_simtlb *t, uint64_t va, uint16_t asid)
{
    return look(t, va, asid, 1, R, false) == HIT;
}

static uint64_t pa_of(struct mmsim_simtlb *t, uint64_t va, uint16_t asid)
{
    struct mmsim_simtlb_hit hit = { 0, 0 };
    assert_int_equal(mmsim_simtlb_lookup(t, va, asid, 0, R, false, &hit), HIT);
    return hit.pa;
}

static struct mmsim_simtlb_stats stats(struct mmsim_simtlb *t)
{
    struct mmsim_simtlb_stats s;
    mmsim_simtlb_stats_get(t, &s);
    return s;
}

/* ---- lookup ---- */

static void test_simtlb_empty_tlb_lookup_misses(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(0);
    assert_int_equal(mmsim_simtlb_entries(t), MMSIM_SIMTLB_DEFAULT_ENTRIES);
    assert_int_equal(look(t, 0x400000, 1, 0, R, false), MISS);
    assert_int_equal(look(t, 0, 0, 1, X, false), MISS);
    assert_int_equal(mmsim_simtlb_valid_entries(t), 0);
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_inserted_page_hits_with_pa_and_leaf(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(0);
    struct mmsim_simtlb_entry e = leaf(0x400123, 0x80000fff, 12, 5, NG, PERM_ALL);
    e.attr = 0x44;
    e.el0_data = true;
    put(t, e);
    struct mmsim_simtlb_hit hit;
    assert_int_equal(mmsim_simtlb_lookup(t, 0x400abc, 5, 0, R, false, &hit), HIT);
    assert_int_equal(hit.pa, 0x80000abc);
    assert_int_equal(hit.attr, 0x44);
    struct mmsim_simtlb_entry got;
    assert_true(mmsim_simtlb_find(t, 0x400fff, 5, &got));
    assert_int_equal(got.va, 0x400000);
    assert_int_equal(got.pa, 0x80000000);
    assert_int_equal(got.leaf_shift, 12);
    assert_int_equal(got.asid, 5);
    assert_false(got.global);
    assert_int_equal(got.perms, PERM_ALL);
    assert_true(got.el0_data);
    assert_int_equal(got.attr, 0x44);
    assert_int_equal(got.ttbr, 0);
    assert_int_equal(look(t, 0x401000, 5, 0, R, false), MISS);
    assert_int_equal(look(t, 0x3ff000, 5, 0, R, false), MISS);
    assert_false(mmsim_simtlb_find(t, 0x400000, 6, NULL));
    struct mmsim_simtlb_stats s = stats(t);
    assert_int_equal(s.lookups, 3); /* find is not counted */
    assert_int_equal(s.hits, 1);
    assert_int_equal(s.misses, 2);
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_store_to_readonly_page_is_permission_miss_until_rewalk(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(0);
    put(t, leaf(0x10000, 0x90000, 12, 1, NG, PERM_RO));
    assert_int_equal(look(t, 0x10008, 1, 0, R, false), HIT);
    assert_int_equal(look(t, 0x10008, 1, 0, W, false), DENIED);
    assert_int_equal(look(t, 0x10008, 1, 1, W, false), DENIED);
    assert_int_equal(look(t, 0x10008, 1, 0, X, false), DENIED);
    struct mmsim_simtlb_hit hit = { 0, 0 };
    assert_int_equal(mmsim_simtlb_lookup(t, 0x10010, 1, 0, W, false, &hit), DENIED);
    assert_int_equal(hit.pa, 0x90010); /* the CPU may still want the leaf */
    /* The CPU re-walks and finds the page writable now (after a COW fault). */
    put(t, leaf(0x10000, 0xa0000, 12, 1, NG, PERM_ALL));
    assert_int_equal(mmsim_simtlb_lookup(t, 0x10010, 1, 0, W, false, &hit), HIT);
    assert_int_equal(hit.pa, 0xa0010);
    assert_int_equal(mmsim_simtlb_valid_entries(t), 1);
    struct mmsim_simtlb_stats s = stats(t);
    assert_int_equal(s.hits, 2);
    assert_int_equal(s.perm_misses, 4);
    assert_int_equal(s.misses, 0);
    assert_int_equal(s.inserts, 2);
    assert_int_equal(s.evictions, 0);
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_permissions_are_per_el_and_access(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(0);
    put(t, leaf(0x1000, 0x1000, 12, 0, GLOBAL, MMSIM_SIMTLB_PERM_EL1_R | MMSIM_SIMTLB_PERM_EL1_W));
    put(t, leaf(0x2000, 0x2000, 12, 0, GLOBAL, MMSIM_SIMTLB_PERM_EL0_X | MMSIM_SIMTLB_PERM_EL0_R));
    assert_int_equal(look(t, 0x1000, 3, 0, R, false), DENIED);
    assert_int_equal(look(t, 0x1000, 3, 1, R, false), HIT);
    assert_int_equal(look(t, 0x1000, 3, 1, W, false), HIT);
    assert_int_equal(look(t, 0x1000, 3, 1, X, false), DENIED);
    assert_int_equal(look(t, 0x2000, 3, 0, X, false), HIT);
    assert_int_equal(look(t, 0x2000, 3, 0, W, false), DENIED);
    assert_int_equal(look(t, 0x2000, 3, 1, X, false), DENIED);
    assert_int_equal(look(t, 0x2000, 3, 1, R, false), DENIED);
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_pan_denies_el1_data_access_to_el0_pages_only(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(0);
    struct mmsim_simtlb_entry user = leaf(0x1000, 0x1000, 12, 2, NG, PERM_ALL);
    user.el0_data = true;
    put(t, user);
    put(t, leaf(0x2000, 0x2000, 12, 2, NG, PERM_ALL)); /* kernel-only data */
    assert_int_equal(look(t, 0x1000, 2, 1, R, true), DENIED);
    assert_int_equal(look(t, 0x1000, 2, 1, W, true), DENIED);
    assert_int_equal(look(t, 0x1000, 2, 1, X, true), HIT); /* PAN is about data */
    assert_int_equal(look(t, 0x1000, 2, 1, R, false), HIT);
    assert_int_equal(look(t, 0x1000, 2, 0, R, true), HIT);  /* EL0 is not affected */
    assert_int_equal(look(t, 0x2000, 2, 1, W, true), HIT);
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_nonglobal_entry_matches_only_its_asid(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(0);
    put(t, leaf(0x400000, 0x10000, 12, 5, NG, PERM_ALL));
    put(t, leaf(0x400000, 0x20000, 12, 6, NG, PERM_ALL));
    assert_int_equal(pa_of(t, 0x400010, 5), 0x10010);
    assert_int_equal(pa_of(t, 0x400010, 6), 0x20010);
    assert_false(hits(t, 0x400010, 7));
    assert_false(hits(t, 0x400010, 0));
    assert_int_equal(mmsim_simtlb_valid_entries(t), 2);
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_global_entry_matches_every_asid(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(0);
    put(t, leaf(0xffff000000200000, 0x40200000, 12, 9, GLOBAL, PERM_ALL));
    assert_int_equal(pa_of(t, 0xffff000000200008, 0), 0x40200008);
    assert_int_equal(pa_of(t, 0xffff000000200008, 9), 0x40200008);
    assert_int_equal(pa_of(t, 0xffff000000200008, 0xffff), 0x40200008);
    /* A global insert replaces the non-global entries with its tag, and back. */
    put(t, leaf(0x1000, 0x5000, 12, 1, NG, PERM_ALL));
    put(t, leaf(0x1000, 0x6000, 12, 2, NG, PERM_ALL));
    put(t, leaf(0x1000, 0x7000, 12, 0, GLOBAL, PERM_ALL));
    assert_int_equal(mmsim_simtlb_valid_entries(t), 2);
    assert_int_equal(pa_of(t, 0x1000, 1), 0x7000);
    put(t, leaf(0x1000, 0x8000, 12, 3, NG, PERM_ALL));
    assert_int_equal(mmsim_simtlb_valid_entries(t), 2);
    assert_false(hits(t, 0x1000, 1));
    assert_int_equal(pa_of(t, 0x1000, 3), 0x8000);
    assert_int_equal(stats(t).evictions, 0);
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_block_entries_hit_anywhere_inside(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(0);
    put(t, leaf(0x40000000, 0x80000000, 21, 1, NG, PERM_ALL));         /* 2 MiB, 4K L2 */
    put(t, leaf(0xffff000040000000, 0x100000000, 30, 0, GLOBAL, PERM_ALL)); /* 1 GiB, 4K L1 */
    put(t, leaf(0x14000, 0x24000, 14, 1, NG, PERM_ALL));               /* 16K page */
    put(t, leaf(0x70000, 0x90000, 16, 1, NG, PERM_ALL));               /* 64K page */
    put(t, leaf(0x60000000, 0x40000000, 29, 1, NG, PERM_ALL));         /* 512 MiB, 64K L2 */
    assert_int_equal(pa_of(t, 0x40000000, 1), 0x80000000);
    assert_int_equal(pa_of(t, 0x40123456, 1), 0x80123456);
    assert_int_equal(pa_of(t, 0x401fffff, 1), 0x801fffff);
    assert_false(hits(t, 0x40200000, 1));
    assert_false(hits(t, 0x3fffffff, 1));
    assert_false(hits(t, 0x40123456, 2));
    assert_int_equal(pa_of(t, 0xffff00007fffffff, 4), 0x13fffffff);
    assert_false(hits(t, 0xffff000080000000, 4));
    assert_int_equal(pa_of(t, 0x17fff, 1), 0x27fff);
    assert_false(hits(t, 0x18000, 1));
    assert_false(hits(t, 0x13fff, 1));
    assert_int_equal(pa_of(t, 0x7fff8, 1), 0x9fff8);
    assert_int_equal(pa_of(t, 0x7ffffff0, 1), 0x5ffffff0);
    struct mmsim_simtlb_entry got;
    assert_true(mmsim_simtlb_find(t, 0x6abcdef0, 1, &got));
    assert_int_equal(got.va, 0x60000000);
    assert_int_equal(got.leaf_shift, 29);
    assert_int_equal(mmsim_simtlb_valid_entries(t), 5);
    mmsim_simtlb_destroy(t);
}

/* ---- invalidation ---- */

static void test_simtlb_invalidate_all_removes_every_entry(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(0);
    for (unsigned i = 0; i < 8; i++)
        put_at(t, 0x400000 + i * PAGE, 12, (uint16_t)i, i & 1);
    put_at(t, 0x40000000, 21, 3, NG);
    put_at(t, 0xffff000040000000, 30, 0, GLOBAL);
    mmsim_simtlb_invalidate_all(t);
    assert_int_equal(mmsim_simtlb_valid_entries(t), 0);
    for (unsigned i = 0; i < 8; i++)
        assert_false(hits(t, 0x400000 + i * PAGE, (uint16_t)i));
    assert_false(hits(t, 0x40000000, 3));
    assert_false(hits(t, 0xffff000040001000, 0));
    struct mmsim_simtlb_stats s = stats(t);
    assert_int_equal(s.invalidations[MMSIM_SIMTLB_INV_ALL], 1);
    assert_int_equal(s.removed, 10);
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_invalidate_asid_spares_globals_and_other_asids(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(0);
    put_at(t, 0x1000, 12, 1, NG);
    put_at(t, 0x2000, 12, 1, NG);
    put_at(t, 0x40000000, 21, 1, NG);
    put_at(t, 0x1000, 12, 2, NG);
    put_at(t, 0x3000, 12, 1, GLOBAL); /* global: its asid field means nothing */
    mmsim_simtlb_invalidate_asid(t, 1);
    assert_false(hits(t, 0x1000, 1));
    assert_false(hits(t, 0x2000, 1));
    assert_false(hits(t, 0x40000000, 1));
    assert_true(hits(t, 0x1000, 2));
    assert_true(hits(t, 0x3000, 1));
    struct mmsim_simtlb_stats s = stats(t);
    assert_int_equal(s.invalidations[MMSIM_SIMTLB_INV_ASID], 1);
    assert_int_equal(s.removed, 3);
    assert_int_equal(mmsim_simtlb_valid_entries(t), 2);
    mmsim_simtlb_destroy(t);
}

/* Page V for ASIDs 1 and 2, a global 2 MiB block over V, page W for ASID 1. */
#define V UINT64_C(0x40001000)
#define W_VA UINT64_C(0x50000000)
static struct mmsim_simtlb *va_fixture(void)
{
    struct mmsim_simtlb *t = new_tlb(0);
    put_at(t, V, 12, 1, NG);
    put_at(t, V, 12, 2, NG);
    put_at(t, 0x40000000, 21, 7, GLOBAL);
    put_at(t, W_VA, 12, 1, NG);
    return t;
}

static void test_simtlb_invalidate_va_removes_that_asid_and_covering_globals(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = va_fixture();
    mmsim_simtlb_invalidate_va(t, V + 0x123, 1);
    assert_true(hits(t, V, 2));
    assert_true(hits(t, W_VA, 1));
    assert_false(hits(t, 0x40100000, 1)); /* the global block went too */
    assert_int_equal(mmsim_simtlb_valid_entries(t), 2);
    struct mmsim_simtlb_stats s = stats(t);
    assert_int_equal(s.removed, 2);
    assert_int_equal(s.invalidations[MMSIM_SIMTLB_INV_VA], 1);
    assert_false(hits(t, V, 1));
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_invalidate_va_removes_block_covering_it(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(0);
    put_at(t, 0x40000000, 21, 1, NG);
    put_at(t, 0x40200000, 21, 1, NG);
    put_at(t, 0x80000000, 30, 1, NG);
    mmsim_simtlb_invalidate_va(t, 0x40000000, 2); /* other ASID: stays */
    assert_int_equal(stats(t).removed, 0);
    mmsim_simtlb_invalidate_va(t, 0x401ff000, 1); /* last page of the first block */
    mmsim_simtlb_invalidate_va(t, 0xbffff000, 1); /* last page of the 1 GiB block */
    assert_false(hits(t, 0x40000000, 1));
    assert_false(hits(t, 0x80000000, 1));
    assert_true(hits(t, 0x40200000, 1));
    assert_int_equal(stats(t).removed, 2);
    assert_int_equal(stats(t).invalidations[MMSIM_SIMTLB_INV_VA], 3);
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_invalidate_va_all_asids_removes_every_asid(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = va_fixture();
    mmsim_simtlb_invalidate_va_all_asids(t, V);
    assert_false(hits(t, V, 1));
    assert_false(hits(t, V, 2));
    assert_false(hits(t, 0x40100000, 3));
    assert_true(hits(t, W_VA, 1));
    struct mmsim_simtlb_stats s = stats(t);
    assert_int_equal(s.removed, 3);
    assert_int_equal(s.invalidations[MMSIM_SIMTLB_INV_VA_ALL_ASIDS], 1);
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_invalidate_range_removes_overlapping_entries_only(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(0);
    uint64_t base = 0x10000000;
    for (unsigned k = 0; k < 10; k++)
        put_at(t, base + k * PAGE, 12, 1, NG);
    put_at(t, base + 3 * PAGE, 12, 2, NG);
    put_at(t, base + 0x100000, 12, 2, GLOBAL);
    mmsim_simtlb_invalidate_range(t, base + 2 * PAGE, 4 * PAGE, 1);
    for (unsigned k = 0; k < 10; k++)
        assert_int_equal(hits(t, base + k * PAGE, 1), k < 2 || k >= 6);
    assert_true(hits(t, base + 3 * PAGE, 2));
    /* A range that overlaps a block only by its first byte removes it; one
     * that ends just below it does not. Globals go for any ASID. */
    put_at(t, 0x40200000, 21, 1, NG);
    mmsim_simtlb_invalidate_range(t, 0x401fe000, 0x2000, 1);
    assert_true(hits(t, 0x40200000, 1));
    mmsim_simtlb_invalidate_range(t, 0x401ff000, 0x1001, 1);
    assert_false(hits(t, 0x40300000, 1));
    mmsim_simtlb_invalidate_range(t, base + 0xff800, 0x1000, 9);
    assert_false(hits(t, base + 0x100000, 9));
    struct mmsim_simtlb_stats s = stats(t);
    assert_int_equal(s.removed, 6);
    assert_int_equal(s.invalidations[MMSIM_SIMTLB_INV_RANGE], 4);
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_invalidate_range_all_asids_removes_every_asid_in_range(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(0);
    for (uint16_t asid = 1; asid <= 3; asid++) {
        put_at(t, 0x5000, 12, asid, NG);
        put_at(t, 0x9000, 12, asid, NG);
    }
    put_at(t, 0x14000, 14, 4, NG); /* 16K page [0x14000, 0x18000) */
    mmsim_simtlb_invalidate_range_all_asids(t, 0x5000, 0xf001);
    for (uint16_t asid = 1; asid <= 3; asid++) {
        assert_false(hits(t, 0x5000, asid));
        assert_false(hits(t, 0x9000, asid));
    }
    assert_false(hits(t, 0x17000, 4));
    assert_int_equal(mmsim_simtlb_valid_entries(t), 0);
    assert_int_equal(stats(t).removed, 7);
    assert_int_equal(stats(t).invalidations[MMSIM_SIMTLB_INV_RANGE_ALL_ASIDS], 1);
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_invalidate_range_wider_than_tlb_sweeps_every_set(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(64); /* 16 sets */
    for (unsigned k = 0; k < 12; k++)
        put_at(t, 0x100000 + k * 0x11000, 12, (uint16_t)(1 + k % 2), NG);
    put_at(t, 0x200000, 21, 1, NG);
    mmsim_simtlb_invalidate_range(t, 0, SZ_1G, 1);
    for (unsigned k = 0; k < 12; k++)
        assert_int_equal(hits(t, 0x100000 + k * 0x11000, (uint16_t)(1 + k % 2)), k % 2 == 1);
    assert_false(hits(t, 0x200000, 1));
    assert_int_equal(stats(t).removed, 7);
    mmsim_simtlb_invalidate_range_all_asids(t, 0x100000, 16 * PAGE * 17);
    assert_int_equal(mmsim_simtlb_valid_entries(t), 0);
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_invalidate_range_empty_or_at_top_of_space(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(0);
    put_at(t, 0, 12, 1, NG);
    put_at(t, 0xfffffffffffff000, 12, 0, GLOBAL);
    mmsim_simtlb_invalidate_range(t, 0, 0, 1);
    mmsim_simtlb_invalidate_range_all_asids(t, 0xfffffffffffff000, 0);
    assert_int_equal(mmsim_simtlb_valid_entries(t), 2);
    /* Running past 2^64 stops at the top: it does not wrap to VA 0. */
    mmsim_simtlb_invalidate_range_all_asids(t, 0xfffffffffffff800, 0x10000);
    assert_false(hits(t, 0xfffffffffffffff8, 1));
    assert_true(hits(t, 0, 1));
    struct mmsim_simtlb_stats s = stats(t);
    assert_int_equal(s.invalidations[MMSIM_SIMTLB_INV_RANGE], 1);
    assert_int_equal(s.invalidations[MMSIM_SIMTLB_INV_RANGE_ALL_ASIDS], 2);
    assert_int_equal(s.removed, 1);
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_insert_with_token_older_than_an_invalidation_is_refused(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(0);
    uint64_t token = mmsim_simtlb_fill_begin(t);
    mmsim_simtlb_invalidate_va(t, 0x999000, 4); /* unrelated VA: still refuses */
    struct mmsim_simtlb_entry e = leaf(0x1000, 0x2000, 12, 1, NG, PERM_ALL);
    assert_false(mmsim_simtlb_insert(t, &e, token));
    assert_false(hits(t, 0x1000, 1));
    assert_true(mmsim_simtlb_insert(t, &e, mmsim_simtlb_fill_begin(t)));
    assert_true(hits(t, 0x1000, 1));
    struct mmsim_simtlb_stats s = stats(t);
    assert_int_equal(s.inserts_stale, 1);
    assert_int_equal(s.inserts, 1);
    mmsim_simtlb_destroy(t);
}

/* ---- replacement ---- */

static void test_simtlb_full_set_evicts_round_robin(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(16); /* 4 sets: pages 4k apart share set 0 */
    uint64_t va[8];
    for (unsigned k = 0; k < 8; k++)
        va[k] = k * 4 * PAGE;
    for (unsigned k = 0; k < 4; k++)
        put_at(t, va[k], 12, 1, NG);
    assert_int_equal(stats(t).evictions, 0);
    put_at(t, va[4], 12, 1, NG); /* evicts way 0 (va0) */
    put_at(t, va[5], 12, 1, NG); /* evicts way 1 (va1) */
    mmsim_simtlb_invalidate_va(t, va[2], 1);
    put_at(t, va[6], 12, 1, NG); /* the empty way 2, no eviction */
    put_at(t, va[7], 12, 1, NG); /* the round-robin pointer is at way 2: va6 goes */
    static const bool present[8] = { false, false, false, true, true, true, false, true };
    for (unsigned k = 0; k < 8; k++)
        assert_int_equal(hits(t, va[k], 1), present[k]);
    struct mmsim_simtlb_stats s = stats(t);
    assert_int_equal(s.evictions, 3);
    assert_int_equal(s.inserts, 8);
    assert_int_equal(mmsim_simtlb_valid_entries(t), 4);
    /* Other sets were untouched. */
    put_at(t, PAGE, 12, 1, NG);
    assert_int_equal(stats(t).evictions, 3);
    mmsim_simtlb_destroy(t);
}

/* Apply the same seeded sequence of inserts and invalidations. */
static void random_fill(struct mmsim_simtlb *t, uint64_t seed, unsigned steps)
{
    uint64_t rng = seed;
    for (unsigned i = 0; i < steps; i++) {
        uint64_t r = fx_rand(&rng);
        uint64_t va = (r >> 8) % 256 * PAGE;
        uint16_t asid = (uint16_t)(r % 4);
        if (r % 16 == 0)
            mmsim_simtlb_invalidate_va(t, va, asid);
        else if (r % 61 == 1)
            mmsim_simtlb_invalidate_asid(t, asid);
        else
            put_at(t, va, r % 7 == 0 ? 21 : 12, asid, r % 5 == 0);
    }
}

static char *dump_to_string(struct mmsim_simtlb *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    mmsim_simtlb_dump(t, f);
    fclose(f);
    return buf;
}

static void test_simtlb_replacement_is_deterministic_for_a_sequence(void **state)
{
    (void)state;
    uint64_t seed = fx_seed(__func__);
    struct mmsim_simtlb *a = new_tlb(64), *b = new_tlb(64);
    random_fill(a, seed, 3000);
    random_fill(b, seed, 3000);
    char *da = dump_to_string(a), *db = dump_to_string(b);
    assert_string_equal(da, db);
    assert_true(strlen(da) > 0);
    struct mmsim_simtlb_stats sa = stats(a), sb = stats(b);
    assert_memory_equal(&sa, &sb, sizeof sa);
    assert_true(sa.evictions > 0);
    free(da);
    free(db);
    mmsim_simtlb_destroy(a);
    mmsim_simtlb_destroy(b);
}

/* ---- statistics and bad input ---- */

static void test_simtlb_stats_count_every_event(void **state)
{
    (void)state;
    struct mmsim_simtlb *t = new_tlb(16);
    for (unsigned k = 0; k < 6; k++)
        put_at(t, k * 4 * PAGE, 12, 1, NG); /* set 0: 2 evictions */
    assert_false(hits(t, 0, 1));           /* miss */
    assert_true(hits(t, 20 * PAGE, 1));    /* hit */
    assert_int_equal(look(t, 20 * PAGE, 1, 0, X, true), HIT);
    put(t, leaf(PAGE, 0, 12, 1, NG, PERM_RO));
    assert_int_equal(look(t, PAGE, 1, 0, W, false), DENIED);
    mmsim_simtlb_invalidate_all(t);
    mmsim_simtlb_invalidate_asid(t, 1);
    mmsim_simtlb_invalidate_va(t, 0, 1);
    mmsim_simtlb_invalidate_va_all_asids(t, 0);
    mmsim_simtlb_invalidate_range(t, 0, PAGE, 1);
    mmsim_simtlb_invalidate_range_all_asids(t, 0, PAGE);
    struct mmsim_simtlb_entry e = leaf(0, 0, 12, 1, NG, PERM_ALL);
    assert_false(mmsim_simtlb_insert(t, &e, 0));
    struct mmsim_simtlb_stats s = stats(t);
    assert_int_equal(s.lookups, 4);
    assert_int_equal(s.hits, 2);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.perm_misses, 1);
    assert_int_equal(s.inserts, 7);
    assert_int_equal(s.inserts_stale, 1);
    assert_int_equal(s.evictions, 2);
    for (unsigned k = 0; k < MMSIM_SIMTLB_INV_KINDS; k++)
        assert_int_equal(s.invalidations[k], 1);
    assert_int_equal(s.removed, 5);
    mmsim_simtlb_destroy(t);
}

static void test_simtlb_badinput_config_and_entries_assert(void **state)
{
    (void)state;
    static const unsigned bad[] = { 8, 100, 131072, 48 };
    for (unsigned i = 0; i < 4; i++) {
        struct mmsim_simtlb_config cfg = { bad[i] };
        struct mmsim_simtlb *t = (void *)1;
        FX_EXPECT_ASSERTS(1, t = mmsim_simtlb_create(&cfg));
        assert_null(t);
    }
    struct mmsim_simtlb_config big = { MMSIM_SIMTLB_MAX_ENTRIES };
    struct mmsim_simtlb *t = mmsim_simtlb_create(&big);
    assert_int_equal(mmsim_simtlb_entries(t), 65536);
    struct mmsim_simtlb_entry e = leaf(0, 0, 11, 1, NG, PERM_ALL);
    bool ok = true;
    FX_EXPECT_ASSERTS(1, ok = mmsim_simtlb_insert(t, &e, mmsim_simtlb_fill_begin(t)));
    assert_false(ok);
    e.leaf_shift = 43;
    FX_EXPECT_ASSERTS(1, ok = mmsim_simtlb_insert(t, &e, mmsim_simtlb_fill_begin(t)));
    e.leaf_shift = 12;
    e.ttbr = 2;
    FX_EXPECT_ASSERTS(1, ok = mmsim_simtlb_insert(t, &e, mmsim_simtlb_fill_begin(t)));
    assert_int_equal(mmsim_simtlb_valid_entries(t), 0);
    FX_EXPECT_ASSERTS(1, assert_int_equal(look(t, 0, 1, 0, (enum mmsim_simtlb_op)3, false), MISS));
    assert_int_equal(stats(t).lookups, 0);
    mmsim_simtlb_destroy(t);
    mmsim_simtlb_destroy(NULL);
}

/* ---- randomised: the TLB against a reference model ---- */

/* Leaves of the model: 32 pages, then 4 blocks of 2 MiB; four keys each:
 * ASIDs 1..3 and global (key 3). The TLB is large enough never to evict. */
#define MODEL_PAGES 32
#define MODEL_LEAVES 36
#define KEY_GLOBAL 3

struct model_entry
{
    bool present;
    uint64_t pa;
    uint8_t perms;
    bool el0_data;
};

struct model
{
    struct model_entry e[MODEL_LEAVES][4];
};

static uint64_t model_base(unsigned u)
{
    return u < MODEL_PAGES ? 0x10000000 + u * PAGE : 0x80000000 + (u - MODEL_PAGES) * SZ_2M;
}
static unsigned model_shift(unsigned u) { return u < MODEL_PAGES ? 12 : 21; }
static uint64_t model_size(unsigned u) { return UINT64_C(1) << model_shift(u); }

static enum mmsim_simtlb_result model_permit(const struct model_entry *e, unsigned el,
                                             enum mmsim_simtlb_op op, bool pan)
{
    static const uint8_t need[2][3] = {
        { MMSIM_SIMTLB_PERM_EL0_R, MMSIM_SIMTLB_PERM_EL0_W, MMSIM_SIMTLB_PERM_EL0_X },
        { MMSIM_SIMTLB_PERM_EL1_R, MMSIM_SIMTLB_PERM_EL1_W, MMSIM_SIMTLB_PERM_EL1_X },
    };
    if (!(e->perms & need[el][op]))
        return DENIED;
    return el == 1 && pan && op != X && e->el0_data ? DENIED : HIT;
}

/* The entry a lookup of leaf `u` with `asid` must find, or NULL. */
static const struct model_entry *model_find(const struct model *m, unsigned u, uint16_t asid)
{
    if (m->e[u][KEY_GLOBAL].present)
        return &m->e[u][KEY_GLOBAL];
    if (asid >= 1 && asid <= 3 && m->e[u][asid - 1].present)
        return &m->e[u][asid - 1];
    return NULL;
}

static void model_insert(struct model *m, struct mmsim_simtlb *t, unsigned u, unsigned key,
                         uint64_t r)
{
    struct model_entry me = { true, (r >> 20) % 4096 << model_shift(u), (uint8_t)(r & 0x3f),
                              (r >> 6) & 1 };
    if (key == KEY_GLOBAL)
        memset(m->e[u], 0, sizeof m->e[u]);
    else
        m->e[u][KEY_GLOBAL].present = false;
    m->e[u][key] = me;
    struct mmsim_simtlb_entry e = leaf(model_base(u) + (r >> 40) % model_size(u), me.pa,
                                       model_shift(u), (uint16_t)(key + 1), key == KEY_GLOBAL,
                                       me.perms);
    e.el0_data = me.el0_data;
    put(t, e);
}

static void model_check_lookup(const struct model *m, struct mmsim_simtlb *t, unsigned u, uint64_t r)
{
    uint64_t va = model_base(u) + (r >> 24) % model_size(u);
    uint16_t asid = (uint16_t)(r % 4);
    unsigned el = (r >> 2) & 1;
    enum mmsim_simtlb_op op = (enum mmsim_simtlb_op)((r >> 3) % 3);
    bool pan = (r >> 5) & 1;
    const struct model_entry *me = model_find(m, u, asid);
    struct mmsim_simtlb_hit hit = { 0, 0 };
    enum mmsim_simtlb_result got = mmsim_simtlb_lookup(t, va, asid, el, op, pan, &hit);
    assert_int_equal(got, me ? model_permit(me, el, op, pan) : MISS);
    if (me)
        assert_int_equal(hit.pa, me->pa + (va - model_base(u)));
}

/* Remove from the model what an invalidation of [lo, hi] for key `key`
 * (KEY_GLOBAL+1 = every ASID) removes. */
static void model_invalidate(struct model *m, uint64_t lo, uint64_t hi, unsigned key, bool asid_only)
{
    for (unsigned u = 0; u < MODEL_LEAVES; u++) {
        if (model_base(u) > hi || model_base(u) + model_size(u) - 1 < lo)
            continue;
        for (unsigned k = 0; k < 4; k++) {
            bool hit = key > KEY_GLOBAL || k == key || (k == KEY_GLOBAL && !asid_only);
            if (hit)
                m->e[u][k].present = false;
        }
    }
}

static void model_random_invalidation(struct model *m, struct mmsim_simtlb *t, uint64_t r)
{
    unsigned u = (unsigned)((r >> 8) % MODEL_LEAVES);
    unsigned key = (unsigned)((r >> 16) % 3);
    uint16_t asid = (uint16_t)(key + 1);
    uint64_t va = model_base(u) + (r >> 24) % model_size(u);
    uint64_t size = 1 + (r >> 40) % (u < MODEL_PAGES ? 8 * PAGE : 3 * SZ_2M);
    switch ((r >> 4) % 6) {
    case 0:
        mmsim_simtlb_invalidate_all(t);
        model_invalidate(m, 0, UINT64_MAX, 4, false);
        break;
    case 1:
        mmsim_simtlb_invalidate_asid(t, asid);
        model_invalidate(m, 0, UINT64_MAX, key, true);
        break;
    case 2:
        mmsim_simtlb_invalidate_va(t, va, asid);
        model_invalidate(m, va, va, key, false);
        break;
    case 3:
        mmsim_simtlb_invalidate_va_all_asids(t, va);
        model_invalidate(m, va, va, 4, false);
        break;
    case 4:
        mmsim_simtlb_invalidate_range(t, va, size, asid);
        model_invalidate(m, va, va + size - 1, key, false);
        break;
    default:
        mmsim_simtlb_invalidate_range_all_asids(t, va, size);
        model_invalidate(m, va, va + size - 1, 4, false);
        break;
    }
}

static void test_simtlb_random_operations_match_reference_model(void **state)
{
    (void)state;
    uint64_t rng = fx_seed(__func__);
    struct mmsim_simtlb *t = new_tlb(MMSIM_SIMTLB_MAX_ENTRIES);
    static struct model m;
    memset(&m, 0, sizeof m);
    for (unsigned step = 0; step < 40000; step++) {
        uint64_t r = fx_rand(&rng);
        unsigned u = (unsigned)((r >> 8) % MODEL_LEAVES);
        unsigned pick = (unsigned)(r % 100);
        if (pick < 40)
            model_insert(&m, t, u, (unsigned)((r >> 16) % 4), fx_rand(&rng));
        else if (pick < 90)
            model_check_lookup(&m, t, u, fx_rand(&rng));
        else
            model_random_invalidation(&m, t, fx_rand(&rng));
    }
    for (unsigned u = 0; u < MODEL_LEAVES; u++)
        for (unsigned a = 0; a < 4; a++)
            assert_int_equal(hits(t, model_base(u), (uint16_t)a) ||
                                 look(t, model_base(u), (uint16_t)a, 1, R, false) == DENIED,
                             model_find(&m, u, (uint16_t)a) != NULL);
    assert_int_equal(stats(t).evictions, 0);
    mmsim_simtlb_destroy(t);
}

/* ---- concurrency: owner lookups against invalidations from other threads ----
 *
 * Leaf i (a 2 MiB block when i % 4 == 0, else a page) stands for one page
 * table entry whose contents have a version, pt_ver[i]. An invalidator
 * "changes the table" by bumping the version of every leaf its TLBI covers
 * (by an independent model of the TLBI semantics), invalidates, and then
 * publishes the bumped versions in done_ver. The owner reads done_ver[i]
 * before a lookup; a hit on a version older than that is a stale translation
 * the invalidation should have removed. The owner fills misses the way a CPU
 * does: fill token, read the "table", insert. */
#define ST_N 64
#define ST_INVALIDATORS 2
#define ST_LOOKUPS_PER_OP 4 /* the pace: one invalidation per this many lookups */
#define ST_SLACK 16

struct stress
{
    struct mmsim_simtlb *tlb;
    uint64_t pt_ver[ST_N];
    uint64_t done_ver[ST_N];
    uint64_t ops[MMSIM_SIMTLB_INV_KINDS]; /* by the invalidators, atomically */
    uint64_t total_ops;
    int started, stop;
    bool broken; /* negative control: invalidators skip the TLBI */
    uint64_t seed;
    unsigned min_lookups;
    /* owner's results */
    uint64_t lookups, stale_hits, wrong_hits;
};

static bool st_global(unsigned i) { return i % 5 == 0; }
static uint16_t st_asid(unsigned i) { return (uint16_t)(1 + i % 3); }
static unsigned st_shift(unsigned i) { return i % 4 == 0 ? 21 : 12; }
static uint64_t st_base(unsigned i)
{
    uint64_t region = 0x40000000 + i * SZ_2M;
    return i % 4 == 0 ? region : region + (i & 7) * PAGE;
}
static uint64_t st_last(unsigned i) { return st_base(i) + (UINT64_C(1) << st_shift(i)) - 1; }

static void st_fill(struct stress *s, unsigned i)
{
    uint64_t token = mmsim_simtlb_fill_begin(s->tlb);
    uint64_t ver = __atomic_load_n(&s->pt_ver[i], __ATOMIC_ACQUIRE);
    struct mmsim_simtlb_entry e = leaf(st_base(i), ver << 32 | (uint64_t)i << 21, st_shift(i),
                                       st_asid(i), st_global(i), PERM_ALL);
    mmsim_simtlb_insert(s->tlb, &e, token);
}

static void st_lookup_once(struct stress *s, uint64_t *rng)
{
    uint64_t r = fx_rand(rng);
    unsigned i = (unsigned)(r % ST_N);
    uint64_t va = st_base(i) + (r >> 16) % (UINT64_C(1) << st_shift(i));
    uint16_t asid = st_global(i) ? (uint16_t)(1 + (r >> 8) % 3) : st_asid(i);
    uint64_t done = __atomic_load_n(&s->done_ver[i], __ATOMIC_ACQUIRE);
    struct mmsim_simtlb_hit hit;
    __atomic_store_n(&s->lookups, s->lookups + 1, __ATOMIC_RELAXED);
    if (mmsim_simtlb_lookup(s->tlb, va, asid, 0, R, false, &hit) != HIT) {
        st_fill(s, i);
        return;
    }
    /* PA = version << 32 | leaf << 21 | offset in the leaf */
    if ((hit.pa >> 32) < done)
        s->stale_hits++;
    if (((hit.pa >> 21) & 0x7ff) != i || (hit.pa & (SZ_2M - 1)) != va - st_base(i))
        s->wrong_hits++;
}

/* Let the invalidators keep up: the two sides wait for each other (with
 * slack, so they still overlap), else time slices on a small machine make
 * them take turns in long bursts. */
static void st_wait_for_invalidators(struct stress *s, uint64_t ops)
{
    while (__atomic_load_n(&s->total_ops, __ATOMIC_RELAXED) + ST_SLACK < ops)
        sched_yield();
}

static void st_wait_for_owner(struct stress *s, uint64_t lookups)
{
    while (__atomic_load_n(&s->lookups, __ATOMIC_RELAXED) + ST_SLACK * ST_LOOKUPS_PER_OP < lookups &&
           !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
        sched_yield();
}

static void *st_owner(void *arg)
{
    struct stress *s = arg;
    uint64_t rng = s->seed;
    __atomic_store_n(&s->started, 1, __ATOMIC_RELEASE);
    while (s->lookups < s->min_lookups ||
           (s->broken && s->stale_hits == 0 && s->lookups < 100u * s->min_lookups)) {
        st_lookup_once(s, &rng);
        st_wait_for_invalidators(s, s->lookups / ST_LOOKUPS_PER_OP);
    }
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Does TLBI `kind` over [lo, hi] for `asid` cover leaf j? (Independent of the TLB.) */
static bool st_covers(unsigned kind, uint64_t lo, uint64_t hi, uint16_t asid, unsigned j)
{
    bool overlap = st_base(j) <= hi && st_last(j) >= lo;
    bool mine = st_global(j) || st_asid(j) == asid;
    switch (kind) {
    case MMSIM_SIMTLB_INV_ALL:
        return true;
    case MMSIM_SIMTLB_INV_ASID:
        return !st_global(j) && st_asid(j) == asid;
    case MMSIM_SIMTLB_INV_VA:
    case MMSIM_SIMTLB_INV_RANGE:
        return overlap && mine;
    default:
        return overlap;
    }
}

static void st_tlbi(struct mmsim_simtlb *t, unsigned kind, uint64_t lo, uint64_t hi, uint16_t asid)
{
    switch (kind) {
    case MMSIM_SIMTLB_INV_ALL: mmsim_simtlb_invalidate_all(t); break;
    case MMSIM_SIMTLB_INV_ASID: mmsim_simtlb_invalidate_asid(t, asid); break;
    case MMSIM_SIMTLB_INV_VA: mmsim_simtlb_invalidate_va(t, lo, asid); break;
    case MMSIM_SIMTLB_INV_VA_ALL_ASIDS: mmsim_simtlb_invalidate_va_all_asids(t, lo); break;
    case MMSIM_SIMTLB_INV_RANGE: mmsim_simtlb_invalidate_range(t, lo, hi - lo + 1, asid); break;
    default: mmsim_simtlb_invalidate_range_all_asids(t, lo, hi - lo + 1); break;
    }
}

static void st_publish_max(uint64_t *slot, uint64_t v)
{
    uint64_t cur = __atomic_load_n(slot, __ATOMIC_RELAXED);
    while (cur < v &&
           !__atomic_compare_exchange_n(slot, &cur, v, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
}

static void st_invalidate_once(struct stress *s, uint64_t *rng)
{
    uint64_t r = fx_rand(rng);
    unsigned pick = (unsigned)(r % 64), j = (unsigned)((r >> 8) % ST_N);
    unsigned kind = pick == 0 ? MMSIM_SIMTLB_INV_ALL : 1 + pick % 5;
    uint16_t asid = (uint16_t)(1 + (r >> 16) % 3);
    uint64_t lo = st_base(j) + (r >> 20) % (st_last(j) - st_base(j) + 1), hi = lo;
    if (kind == MMSIM_SIMTLB_INV_RANGE || kind == MMSIM_SIMTLB_INV_RANGE_ALL_ASIDS)
        hi = lo + (r >> 40) % (3 * SZ_2M);
    uint64_t bumped[ST_N] = { 0 };
    for (unsigned i = 0; i < ST_N; i++)
        if (st_covers(kind, lo, hi, asid, i))
            bumped[i] = __atomic_add_fetch(&s->pt_ver[i], 1, __ATOMIC_RELEASE);
    if (!s->broken)
        st_tlbi(s->tlb, kind, lo, hi, asid);
    __atomic_add_fetch(&s->ops[kind], 1, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < ST_N; i++)
        if (bumped[i])
            st_publish_max(&s->done_ver[i], bumped[i]);
}

struct st_inv_arg
{
    struct stress *s;
    uint64_t seed;
};

static void *st_invalidator(void *arg)
{
    struct st_inv_arg *a = arg;
    uint64_t rng = a->seed;
    while (!__atomic_load_n(&a->s->started, __ATOMIC_ACQUIRE))
        sched_yield();
    while (!__atomic_load_n(&a->s->stop, __ATOMIC_ACQUIRE)) {
        st_invalidate_once(a->s, &rng);
        uint64_t done = __atomic_add_fetch(&a->s->total_ops, 1, __ATOMIC_RELAXED);
        st_wait_for_owner(a->s, done * ST_LOOKUPS_PER_OP);
    }
    return NULL;
}

static void stress_run(struct stress *s)
{
    pthread_t owner, inv[ST_INVALIDATORS];
    struct st_inv_arg args[ST_INVALIDATORS];
    for (unsigned i = 0; i < ST_N; i++)
        s->pt_ver[i] = 1;
    for (unsigned k = 0; k < ST_INVALIDATORS; k++) {
        args[k] = (struct st_inv_arg){ s, s->seed * 31 + k + 1 };
        assert_int_equal(pthread_create(&inv[k], NULL, st_invalidator, &args[k]), 0);
    }
    assert_int_equal(pthread_create(&owner, NULL, st_owner, s), 0);
    pthread_join(owner, NULL);
    for (unsigned k = 0; k < ST_INVALIDATORS; k++)
        pthread_join(inv[k], NULL);
}

static void test_simtlb_concurrent_invalidations_leave_no_stale_hit(void **state)
{
    (void)state;
    static struct stress s;
    memset(&s, 0, sizeof s);
    s.seed = fx_seed(__func__);
    s.min_lookups = 300000;
    s.tlb = new_tlb(64); /* small: evictions race with invalidations too */
    stress_run(&s);
    assert_int_equal(fx_asserts.count, 0);
    assert_int_equal(s.stale_hits, 0);
    assert_int_equal(s.wrong_hits, 0);
    struct mmsim_simtlb_stats st = stats(s.tlb);
    assert_int_equal(st.lookups, s.lookups);
    assert_int_equal(st.hits + st.misses, s.lookups);
    assert_true(st.hits > 0 && st.misses > 0 && st.evictions > 0);
    for (unsigned k = 0; k < MMSIM_SIMTLB_INV_KINDS; k++)
        assert_int_equal(st.invalidations[k], s.ops[k]);
    printf("# %" PRIu64 " lookups (%" PRIu64 " retried), %" PRIu64 " hits, %" PRIu64
           " invalidations, %" PRIu64 " removed, %" PRIu64 " stale inserts refused\n",
           st.lookups, st.lookup_retries, st.hits, s.total_ops, st.removed, st.inserts_stale);
    mmsim_simtlb_destroy(s.tlb);
}

/* The same check with the TLBIs left out must find stale hits, or the check
 * above would prove nothing. */
static void test_simtlb_stress_check_catches_missing_invalidation(void **state)
{
    (void)state;
    static struct stress s;
    memset(&s, 0, sizeof s);
    s.seed = fx_seed(__func__);
    s.min_lookups = 20000;
    s.broken = true;
    s.tlb = new_tlb(0);
    stress_run(&s);
    assert_true(s.stale_hits > 0);
    assert_int_equal(s.wrong_hits, 0);
    mmsim_simtlb_destroy(s.tlb);
}

/* ---- ASID allocator ---- */

static struct mmsim_asid_alloc *new_alloc(unsigned bits, unsigned ncpus,
                                          void (*inv)(void *, uint16_t), void *ctx)
{
    struct mmsim_asid_config cfg = { bits, ncpus, inv, ctx };
    struct mmsim_asid_alloc *a = mmsim_asid_create(&cfg);
    assert_non_null(a);
    return a;
}

static uint16_t sched(struct mmsim_asid_alloc *a, unsigned cpu, struct mmsim_asid_ctx *c,
                      bool expect_flush)
{
    bool flush = !expect_flush;
    uint16_t asid = mmsim_asid_schedule(a, cpu, c, &flush);
    assert_int_equal(flush, expect_flush);
    return asid;
}

static struct mmsim_asid_stats astats(struct mmsim_asid_alloc *a)
{
    struct mmsim_asid_stats s;
    mmsim_asid_stats_get(a, &s);
    return s;
}

static void test_asid_first_schedule_allocates_from_one(void **state)
{
    (void)state;
    struct mmsim_asid_alloc *a = new_alloc(8, 2, NULL, NULL);
    struct mmsim_asid_ctx c1 = { 0 }, c2 = { 0 };
    assert_int_equal(mmsim_asid_usable(a), 255);
    assert_int_equal(mmsim_asid_of(a, &c1), 0);
    assert_int_equal(sched(a, 0, &c1, false), 1);
    assert_int_equal(sched(a, 1, &c2, false), 2);
    assert_int_equal(mmsim_asid_of(a, &c1), 1);
    assert_int_equal(mmsim_asid_in_use(a), 2);
    assert_int_equal(mmsim_asid_generation(a), 1);
    assert_int_equal(astats(a).allocations, 2);
    mmsim_asid_destroy(a);
}

static void test_asid_reschedule_and_kernel_keep_asid_without_allocation(void **state)
{
    (void)state;
    struct mmsim_asid_alloc *a = new_alloc(8, 2, NULL, NULL);
    struct mmsim_asid_ctx c = { 0 };
    assert_int_equal(sched(a, 0, &c, false), 1);
    assert_int_equal(sched(a, 0, NULL, false), 0); /* kernel only: ASID 0 */
    assert_int_equal(sched(a, 1, &c, false), 1);
    assert_int_equal(sched(a, 0, &c, false), 1); /* on two CPUs at once */
    assert_int_equal(astats(a).allocations, 1);
    assert_int_equal(mmsim_asid_in_use(a), 1);
    mmsim_asid_destroy(a);
}

static void test_asid_8bit_exhaustion_gives_255_then_rolls_over(void **state)
{
    (void)state;
    struct mmsim_asid_alloc *a = new_alloc(8, 2, NULL, NULL);
    struct mmsim_asid_ctx c[256];
    memset(c, 0, sizeof c);
    for (unsigned i = 0; i < 255; i++)
        assert_int_equal(sched(a, 0, &c[i], false), i + 1); /* distinct, never 0 */
    assert_int_equal(mmsim_asid_in_use(a), 255);
    assert_int_equal(astats(a).rollovers, 0);
    /* CPU 0 switches away from c[254], so nothing is running: nothing kept. */
    assert_int_equal(sched(a, 0, &c[255], true), 1);
    assert_int_equal(mmsim_asid_generation(a), 2);
    assert_int_equal(mmsim_asid_in_use(a), 1);
    assert_int_equal(mmsim_asid_of(a, &c[0]), 0); /* stale */
    assert_int_equal(sched(a, 1, NULL, true), 0);
    assert_int_equal(sched(a, 1, NULL, false), 0);
    assert_int_equal(sched(a, 1, &c[0], false), 2);
    struct mmsim_asid_stats s = astats(a);
    assert_int_equal(s.allocations, 257);
    assert_int_equal(s.rollovers, 1);
    assert_int_equal(s.kept, 0);
    assert_int_equal(s.flushes_requested, 2);
    assert_int_equal(s.flushes_delivered, 2);
    mmsim_asid_destroy(a);
}

static void test_asid_rollover_keeps_running_asids_and_requests_flushes(void **state)
{
    (void)state;
    struct mmsim_asid_alloc *a = new_alloc(8, 4, NULL, NULL);
    struct mmsim_asid_ctx run1 = { 0 }, run2 = { 0 }, fresh = { 0 }, c[253];
    memset(c, 0, sizeof c);
    assert_int_equal(sched(a, 1, &run1, false), 1);
    assert_int_equal(sched(a, 2, &run2, false), 2);
    sched(a, 3, NULL, false);
    for (unsigned i = 0; i < 253; i++)
        assert_int_equal(sched(a, 0, &c[i], false), i + 3);
    assert_int_equal(sched(a, 0, &fresh, true), 3);
    assert_int_equal(mmsim_asid_generation(a), 2);
    assert_int_equal(mmsim_asid_of(a, &run1), 1); /* kept: still valid */
    assert_int_equal(mmsim_asid_of(a, &run2), 2);
    assert_int_equal(mmsim_asid_of(a, &c[0]), 0);
    assert_int_equal(mmsim_asid_in_use(a), 3);
    /* Each other CPU gets the flush once, at its next switch. */
    assert_int_equal(sched(a, 1, &run1, true), 1);
    assert_int_equal(sched(a, 1, &run1, false), 1);
    assert_int_equal(sched(a, 2, &c[0], true), 4);
    assert_int_equal(sched(a, 3, NULL, true), 0);
    assert_int_equal(sched(a, 3, &run2, false), 2);
    struct mmsim_asid_stats s = astats(a);
    assert_int_equal(s.rollovers, 1);
    assert_int_equal(s.kept, 2);
    assert_int_equal(s.allocations, 2 + 253 + 2);
    assert_int_equal(s.flushes_requested, 4);
    assert_int_equal(s.flushes_delivered, 4);
    mmsim_asid_destroy(a);
}

static void test_asid_16bit_width_gives_65535_before_rollover(void **state)
{
    (void)state;
    struct mmsim_asid_alloc *a = new_alloc(16, 1, NULL, NULL);
    assert_int_equal(mmsim_asid_usable(a), 65535);
    struct mmsim_asid_ctx *c = calloc(65536, sizeof *c);
    assert_non_null(c);
    for (unsigned i = 0; i < 65535; i++)
        if (sched(a, 0, &c[i], false) != i + 1)
            fail_msg("context %u got a wrong ASID", i);
    assert_int_equal(astats(a).rollovers, 0);
    assert_int_equal(sched(a, 0, &c[65535], true), 1);
    assert_int_equal(astats(a).rollovers, 1);
    free(c);
    mmsim_asid_destroy(a);
}

/* An invalidate_asid callback over one real TLB, recording its calls. */
struct inv_rec
{
    struct mmsim_simtlb *tlb;
    unsigned calls;
    uint16_t last;
};

static void inv_cb(void *ctx, uint16_t asid)
{
    struct inv_rec *r = ctx;
    r->calls++;
    r->last = asid;
    mmsim_simtlb_invalidate_asid(r->tlb, asid);
}

static void test_asid_release_invalidates_tlb_before_reuse(void **state)
{
    (void)state;
    struct inv_rec rec = { new_tlb(0), 0, 0 };
    struct mmsim_asid_alloc *a = new_alloc(8, 1, inv_cb, &rec);
    static struct mmsim_asid_ctx c[256];
    memset(c, 0, sizeof c);
    for (unsigned i = 0; i < 255; i++)
        sched(a, 0, &c[i], false);
    put_at(rec.tlb, 0x1000, 12, 101, NG); /* c[100] ran and cached a page */
    sched(a, 0, NULL, false);
    mmsim_asid_release(a, &c[100]);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec.last, 101);
    assert_int_equal(mmsim_asid_of(a, &c[100]), 0);
    assert_int_equal(mmsim_asid_in_use(a), 254);
    assert_false(hits(rec.tlb, 0x1000, 101));
    /* The new owner gets 101 in the same generation and finds no entry. */
    assert_int_equal(sched(a, 0, &c[255], false), 101);
    assert_int_equal(mmsim_asid_generation(a), 1);
    struct mmsim_asid_stats s = astats(a);
    assert_int_equal(s.releases, 1);
    assert_int_equal(s.asid_invalidations, 1);
    assert_int_equal(s.rollovers, 0);
    mmsim_asid_destroy(a);
    mmsim_simtlb_destroy(rec.tlb);
}

static void test_asid_release_without_callback_reuses_only_after_rollover(void **state)
{
    (void)state;
    struct mmsim_asid_alloc *a = new_alloc(8, 1, NULL, NULL);
    static struct mmsim_asid_ctx c[256];
    memset(c, 0, sizeof c);
    for (unsigned i = 0; i < 255; i++)
        sched(a, 0, &c[i], false);
    sched(a, 0, NULL, false);
    mmsim_asid_release(a, &c[7]);
    assert_int_equal(mmsim_asid_in_use(a), 255);
    assert_int_equal(sched(a, 0, &c[255], true), 1);
    assert_int_equal(mmsim_asid_generation(a), 2);
    /* A stale context releases nothing now. */
    mmsim_asid_release(a, &c[8]);
    assert_int_equal(mmsim_asid_in_use(a), 1);
    assert_int_equal(astats(a).releases, 2);
    assert_int_equal(astats(a).asid_invalidations, 0);
    mmsim_asid_destroy(a);
}

static void test_asid_badinput_release_of_running_context_and_config_assert(void **state)
{
    (void)state;
    struct mmsim_asid_alloc *a = new_alloc(8, 2, NULL, NULL);
    struct mmsim_asid_ctx c = { 0 };
    sched(a, 1, &c, false);
    FX_EXPECT_ASSERTS(1, mmsim_asid_release(a, &c));
    assert_int_equal(mmsim_asid_of(a, &c), 1); /* unchanged */
    bool flush;
    FX_EXPECT_ASSERTS(1, assert_int_equal(mmsim_asid_schedule(a, 2, &c, &flush), 0));
    FX_EXPECT_ASSERTS(1, mmsim_asid_release(a, NULL));
    mmsim_asid_destroy(a);
    static const unsigned bad[][2] = { { 12, 1 }, { 8, 0 }, { 16, 65 } };
    for (unsigned i = 0; i < 3; i++) {
        struct mmsim_asid_config cfg = { bad[i][0], bad[i][1], NULL, NULL };
        struct mmsim_asid_alloc *b = (void *)1;
        FX_EXPECT_ASSERTS(1, b = mmsim_asid_create(&cfg));
        assert_null(b);
    }
    mmsim_asid_destroy(NULL);
}

/* ---- concurrency: CPUs on host threads share the allocator ----
 *
 * Each CPU thread owns a TLB; every address space maps the page of its ASID
 * to a PA naming that address space (its incarnation id). A CPU switches to
 * random address spaces (8-bit ASIDs, many more spaces: frequent rollovers),
 * looks up its page and fills it on a miss; it sometimes releases an idle
 * address space, which becomes a new one. A hit naming another address space
 * means an ASID was reused without its old entries being flushed. */
#define AS_CPUS 3
#define AS_SPACES 600

struct as_world
{
    struct mmsim_asid_alloc *alloc;
    struct mmsim_simtlb *tlb[AS_CPUS];
    pthread_mutex_t lock; /* guards users, id, next_id */
    struct mmsim_asid_ctx ctx[AS_SPACES];
    unsigned users[AS_SPACES];
    uint64_t id[AS_SPACES];
    uint64_t next_id;
    bool ignore_flush; /* negative control */
    unsigned iters;
    uint64_t seed;
    uint64_t aliased; /* atomically */
};

struct as_cpu
{
    struct as_world *w;
    unsigned cpu;
};

static void as_invalidate(void *ctx, uint16_t asid)
{
    struct as_world *w = ctx;
    for (unsigned i = 0; i < AS_CPUS; i++)
        mmsim_simtlb_invalidate_asid(w->tlb[i], asid);
}

/* Run address space k on `cpu` (the caller holds a use of k): check or fill its page. */
static void as_run(struct as_world *w, unsigned cpu, unsigned k, uint64_t id)
{
    bool flush;
    uint16_t asid = mmsim_asid_schedule(w->alloc, cpu, &w->ctx[k], &flush);
    if (flush && !w->ignore_flush)
        mmsim_simtlb_invalidate_all(w->tlb[cpu]);
    uint64_t va = 0x400000 + asid * PAGE;
    struct mmsim_simtlb_hit hit;
    if (mmsim_simtlb_lookup(w->tlb[cpu], va, asid, 0, R, false, &hit) == HIT) {
        if (hit.pa >> 12 != id)
            __atomic_add_fetch(&w->aliased, 1, __ATOMIC_RELAXED);
        return;
    }
    uint64_t token = mmsim_simtlb_fill_begin(w->tlb[cpu]);
    struct mmsim_simtlb_entry e = leaf(va, id << 12, 12, asid, NG, PERM_ALL);
    mmsim_simtlb_insert(w->tlb[cpu], &e, token);
}

static unsigned as_take(struct as_world *w, uint64_t r, uint64_t *id)
{
    unsigned k = (unsigned)(r % AS_SPACES);
    pthread_mutex_lock(&w->lock);
    w->users[k]++;
    *id = w->id[k];
    pthread_mutex_unlock(&w->lock);
    return k;
}

static void as_drop(struct as_world *w, unsigned k)
{
    pthread_mutex_lock(&w->lock);
    w->users[k]--;
    pthread_mutex_unlock(&w->lock);
}

/* Release an address space no CPU runs: it comes back as a new one. */
static void as_recycle(struct as_world *w, uint64_t r)
{
    unsigned k = (unsigned)(r % AS_SPACES);
    pthread_mutex_lock(&w->lock);
    if (w->users[k] == 0) {
        mmsim_asid_release(w->alloc, &w->ctx[k]);
        w->id[k] = ++w->next_id;
    }
    pthread_mutex_unlock(&w->lock);
}

/* Switch `cpu` to the kernel and stop using address space `prev` (if any). */
static void as_idle(struct as_world *w, unsigned cpu, int prev)
{
    bool flush;
    mmsim_asid_schedule(w->alloc, cpu, NULL, &flush);
    if (flush && !w->ignore_flush)
        mmsim_simtlb_invalidate_all(w->tlb[cpu]);
    if (prev >= 0)
        as_drop(w, (unsigned)prev);
}

static void *as_cpu_thread(void *arg)
{
    struct as_cpu *c = arg;
    struct as_world *w = c->w;
    uint64_t rng = w->seed + c->cpu * 7919;
    int prev = -1;
    for (unsigned n = 0; n < w->iters; n++) {
        uint64_t r = fx_rand(&rng), id;
        unsigned k = as_take(w, r, &id);
        as_run(w, c->cpu, k, id);
        if (prev >= 0)
            as_drop(w, (unsigned)prev);
        prev = (int)k;
        if ((r >> 32) % 8 == 0) {
            as_idle(w, c->cpu, prev);
            prev = -1;
            as_recycle(w, r >> 40);
        }
    }
    as_idle(w, c->cpu, prev);
    return NULL;
}

static void as_world_run(struct as_world *w)
{
    struct mmsim_asid_config cfg = { 8, AS_CPUS, as_invalidate, w };
    w->alloc = mmsim_asid_create(&cfg);
    pthread_mutex_init(&w->lock, NULL);
    for (unsigned i = 0; i < AS_SPACES; i++)
        w->id[i] = ++w->next_id;
    for (unsigned i = 0; i < AS_CPUS; i++)
        w->tlb[i] = new_tlb(1024);
    pthread_t t[AS_CPUS];
    struct as_cpu c[AS_CPUS];
    for (unsigned i = 0; i < AS_CPUS; i++) {
        c[i] = (struct as_cpu){ w, i };
        assert_int_equal(pthread_create(&t[i], NULL, as_cpu_thread, &c[i]), 0);
    }
    for (unsigned i = 0; i < AS_CPUS; i++)
        pthread_join(t[i], NULL);
}

static void as_world_free(struct as_world *w)
{
    for (unsigned i = 0; i < AS_CPUS; i++)
        mmsim_simtlb_destroy(w->tlb[i]);
    mmsim_asid_destroy(w->alloc);
    pthread_mutex_destroy(&w->lock);
}

static void test_asid_threads_rollovers_and_releases_never_alias_translations(void **state)
{
    (void)state;
    static struct as_world w;
    memset(&w, 0, sizeof w);
    w.seed = fx_seed(__func__);
    w.iters = 20000;
    as_world_run(&w);
    assert_int_equal(fx_asserts.count, 0);
    assert_int_equal(w.aliased, 0);
    struct mmsim_asid_stats s = astats(w.alloc);
    assert_true(s.rollovers >= 10);
    assert_true(s.asid_invalidations > 0);
    assert_true(s.flushes_requested <= s.rollovers * AS_CPUS);
    assert_true(s.flushes_delivered <= s.flushes_requested);
    assert_true(s.flushes_delivered + AS_CPUS >= s.flushes_requested);
    printf("# %" PRIu64 " allocations, %" PRIu64 " rollovers, %" PRIu64 " kept, %" PRIu64
           " releases\n",
           s.allocations, s.rollovers, s.kept, s.releases);
    as_world_free(&w);
}

/* Ignoring the rollover flush must be caught by the same check. */
static void test_asid_threads_check_catches_ignored_flush(void **state)
{
    (void)state;
    static struct as_world w;
    memset(&w, 0, sizeof w);
    w.seed = fx_seed(__func__);
    w.iters = 5000;
    w.ignore_flush = true;
    as_world_run(&w);
    assert_true(w.aliased > 0);
    as_world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tlb_setup, tlb_teardown)
        T(test_simtlb_empty_tlb_lookup_misses),
        T(test_simtlb_inserted_page_hits_with_pa_and_leaf),
        T(test_simtlb_store_to_readonly_page_is_permission_miss_until_rewalk),
        T(test_simtlb_permissions_are_per_el_and_access),
        T(test_simtlb_pan_denies_el1_data_access_to_el0_pages_only),
        T(test_simtlb_nonglobal_entry_matches_only_its_asid),
        T(test_simtlb_global_entry_matches_every_asid),
        T(test_simtlb_block_entries_hit_anywhere_inside),
        T(test_simtlb_invalidate_all_removes_every_entry),
        T(test_simtlb_invalidate_asid_spares_globals_and_other_asids),
        T(test_simtlb_invalidate_va_removes_that_asid_and_covering_globals),
        T(test_simtlb_invalidate_va_removes_block_covering_it),
        T(test_simtlb_invalidate_va_all_asids_removes_every_asid),
        T(test_simtlb_invalidate_range_removes_overlapping_entries_only),
        T(test_simtlb_invalidate_range_all_asids_removes_every_asid_in_range),
        T(test_simtlb_invalidate_range_wider_than_tlb_sweeps_every_set),
        T(test_simtlb_invalidate_range_empty_or_at_top_of_space),
        T(test_simtlb_insert_with_token_older_than_an_invalidation_is_refused),
        T(test_simtlb_full_set_evicts_round_robin),
        T(test_simtlb_replacement_is_deterministic_for_a_sequence),
        T(test_simtlb_stats_count_every_event),
        T(test_simtlb_badinput_config_and_entries_assert),
        T(test_simtlb_random_operations_match_reference_model),
        T(test_simtlb_concurrent_invalidations_leave_no_stale_hit),
        T(test_simtlb_stress_check_catches_missing_invalidation),
        T(test_asid_first_schedule_allocates_from_one),
        T(test_asid_reschedule_and_kernel_keep_asid_without_allocation),
        T(test_asid_8bit_exhaustion_gives_255_then_rolls_over),
        T(test_asid_rollover_keeps_running_asids_and_requests_flushes),
        T(test_asid_16bit_width_gives_65535_before_rollover),
        T(test_asid_release_invalidates_tlb_before_reuse),
        T(test_asid_release_without_callback_reuses_only_after_rollover),
        T(test_asid_badinput_release_of_running_context_and_config_assert),
        T(test_asid_threads_rollovers_and_releases_never_alias_translations),
        T(test_asid_threads_check_catches_ignored_flush),
#undef T
    };
    return cmocka_run_group_tests_name("simtlb", tests, NULL, NULL);
}
