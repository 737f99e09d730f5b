/* Helpers for the mm-layer tests: user aspaces, exact counts, tree checks,
 * whole-state snapshots (for "a failed operation changed nothing"), and a
 * memory object that records every callback the core makes. */
#ifndef MMSIM_TEST_MM_UTIL_H
#define MMSIM_TEST_MM_UTIL_H

#include <mm_private.h>
#include <mm_page.h>
#include <tlb.h>
#include <mmsim/pgtable.h>
#include <mmsim/phys.h>
#include "fixture.h"

#define PAGE 0x1000ul
/* RT-Thread Smart's aarch64 user layout (lwp_arch.h). */
#define USER_START 0x00200000ul
#define USER_TOP 0x0001000000000000ul
/* Where RT-Thread's mm utests map: 0x100000000. */
#define UTEST_VA ((void *)0x100000000ul)

/* A user aspace [USER_START, USER_TOP) with a fresh root table. */
rt_aspace_t mmt_user_aspace(void);
/* Delete it, then check its tables are down to the root and free that. */
void mmt_aspace_free(rt_aspace_t aspace);

/* Frames the allocator has handed out (data and table pages). */
size_t mmt_frames(void);
/* Table pages of the aspace, root included; the tables must check clean. */
size_t mmt_tables(rt_aspace_t aspace);
/* 4 KiB leaves mapped in the aspace. */
size_t mmt_pages(rt_aspace_t aspace);
int mmt_vareas(rt_aspace_t aspace);
/* Check the varea tree: AVL shape (parents, heights, balance), ascending,
 * non-overlapping, inside the aspace. Fails the test otherwise. */
void mmt_check_tree(rt_aspace_t aspace);
/* The number of vareas the tree holds, after checking it. */
int mmt_checked_vareas(rt_aspace_t aspace);

/* Everything an operation might change. */
#define MMT_MAX_VAREAS 64
struct mmt_snapshot
{
    int nvareas;
    struct rt_varea vareas[MMT_MAX_VAREAS]; /* copies; tree links zeroed */
    rt_base_t vsz;
    size_t frames, tables, pages;
    size_t heap;
    uint64_t pte_hash; /* v2p of every page in [lo, hi) */
};
void mmt_snapshot(rt_aspace_t aspace, void *lo, void *hi, struct mmt_snapshot *out);
/* Fail the test (with `what`) if the aspace differs from `before`. */
void mmt_expect_unchanged(rt_aspace_t aspace, void *lo, void *hi, const struct mmt_snapshot *before,
                          const char *what);

/* A memory object logging each callback into `log` as "name(args) ", that
 * delegates page handling to rt_mm_dummy_mapper; return codes for the
 * fallible callbacks are settable, and a callback can be removed. */
struct mmt_rec
{
    struct rt_mem_obj obj;
    char log[2048];
    rt_err_t expand_rc, shrink_rc, split_rc, merge_rc;
    void *mremap_ret;
    /* what the varea looked like inside the last shrink/split callback */
    void *seen_start;
    rt_size_t seen_size;
};
void mmt_rec_init(struct mmt_rec *rec);
/* Clear the log. */
void mmt_rec_clear(struct mmt_rec *rec);

/* Map with the checks every test wants on success. */
void *mmt_map(rt_aspace_t aspace, void *va, rt_size_t size, mm_flag_t flags, rt_mem_obj_t obj,
              rt_size_t offset);

/* lwp's `_null_object` (anonymous mmap, spec §5), for tests: every page
 * faults in as one shared zeroed frame (a reference per PTE, on top of the
 * object's own), page_read zero-fills a page not mapped, page_write refuses,
 * no open or merge; expand/shrink/split/close unmap as the dummy mapper. */
struct mmt_zero
{
    struct rt_mem_obj obj;
    void *page;
};
void mmt_zero_init(struct mmt_zero *z);
/* Free the zero frame; every mapping of it must be gone. */
void mmt_zero_fini(struct mmt_zero *z);
/* lwp_mmap2 of anonymous memory: MMF_MAP_PRIVATE (| MAP_FIXED), U_RWCB,
 * offset = VA page number. */
void *mmt_mmap_anon(rt_aspace_t aspace, struct mmt_zero *z, void *va, rt_size_t size, bool fixed);

/* A user (EL0) access as the CPU makes it: walk the tables; on a fault call
 * rt_aspace_fault_try_fix (GENERIC_MMU) as the exception path does and retry
 * once; then access the frame through rt_hw_mmu_v2p + rt_kmem_p2v. False if
 * the fault was not fixed. */
bool mmt_user_write(rt_aspace_t aspace, void *va, uint8_t value);
bool mmt_user_read(rt_aspace_t aspace, void *va, uint8_t *value);
/* Read that must succeed: the byte. */
uint8_t mmt_peek(rt_aspace_t aspace, void *va);
/* Whether a user write would fault now (without fixing anything). */
bool mmt_write_faults(rt_aspace_t aspace, void *va);
/* The frame a page maps (kernel address), or NULL. */
void *mmt_frame(rt_aspace_t aspace, void *va);

/* mmsim_mm_check over the non-NULL aspaces, with one owner reference on
 * each frame of `owned` (NULL entries skipped); fails the test on a problem. */
void mmt_mm_check(rt_aspace_t const *aspaces, size_t n, void *const *owned, size_t nowned);

/* The aspace of the common fixture: a fresh user aspace per test on a fresh
 * machine (mmt_setup), deleted and checked down to its root (mmt_teardown). */
extern rt_aspace_t mmt_as;
int mmt_setup(void **state);
int mmt_teardown(void **state);

/* The VA of page `page` from where RT-Thread's utests map. */
static inline char *va_at(long page) { return (char *)UTEST_VA + page * (long)PAGE; }

#endif
