/*
 * Duplicating an aspace's layout, fork with anonymous copy-on-write, and the
 * debugging comparison of two aspaces (RT-Thread's rt_aspace_duplicate_locked
 * in mm_aspace.c and rt_aspace_fork in mm_anon.c).
 *
 * Fork: the child and a fresh aspace for the parent get the same layout,
 * every varea referring to the same objects (no pages: they fault in later);
 * the old aspace keeps only its own anonymous vareas and their pages and
 * becomes the read-only store both sides read from until they copy (anon.c).
 *
 * mmsim (P4): errors are returned and undone (RT-Thread ignores them), and an
 * aspace without anonymous memory forks too (RT-Thread dereferences NULL).
 */
#include "mm/mm.h"

#define DBG_TAG "mm.fork"
#include <rtdbg.h>

/* ---- duplicate ------------------------------------------------------------- */

/* The same physical frames at the same VA: the hint carries the source's own
 * flags (§0.1 item 7), and a VA other than the source's is an error. */
static int copy_physical(rt_varea_t varea, rt_aspace_t dst)
{
    void *pa = rt_hw_mmu_v2p(varea->aspace, varea->start);
    MMSIM_PRECOND(pa != ARCH_MAP_FAILED, -RT_ERROR,
                  "rt_aspace_duplicate_locked: a physical varea must be mapped at its start");
    struct rt_mm_va_hint hint = {
        .limit_start = dst->start,
        .limit_range_size = dst->size,
        .prefer = varea->start,
        .map_size = varea->size,
        .flags = varea->flag,
    };
    void *va = RT_NULL;
    int rc = rt_aspace_map_phy(dst, &hint, varea->attr, MM_PA_TO_OFF(pa), &va);
    if (rc == RT_EOK && va != varea->start) {
        rt_aspace_unmap(dst, va);
        rc = -RT_ERROR;
    }
    return rc;
}

/* The same object pages at the same VA, nothing populated. Compatible
 * neighbours coalesce in dst (§0.1 item 7). */
static int copy_varea(rt_varea_t varea, rt_aspace_t dst)
{
    if (!varea->mem_obj)
        return copy_physical(varea, dst);
    void *va = varea->start;
    mm_flag_t flags = (varea->flag | MMF_MAP_FIXED) & ~(MMF_STATIC_ALLOC | MMF_PREFETCH);
    return rt_aspace_map(dst, &va, varea->size, varea->attr, flags, varea->mem_obj, varea->offset);
}

/* Remove from dst every varea overlapping the vareas of src before `end`
 * (NULL: all of them): what copying them added. */
static void remove_copies(rt_aspace_t src, rt_varea_t end, rt_aspace_t dst)
{
    WR_LOCK(dst);
    for (rt_varea_t v = ASPACE_VAREA_FIRST(src); v && v != end; v = ASPACE_VAREA_NEXT(v)) {
        /* in integers: a varea may end at 2^64 */
        struct _mm_range range = { v->start, (void *)((uintptr_t)v->start + v->size - 1) };
        rt_varea_t copy;
        while ((copy = _aspace_bst_search_overlap(dst, range)))
            mm_remove_varea_locked(copy);
    }
    WR_UNLOCK(dst);
}

rt_err_t rt_aspace_duplicate_locked(rt_aspace_t src, rt_aspace_t dst)
{
    MMSIM_PRECOND(src != RT_NULL && dst != RT_NULL, -RT_EINVAL,
                  "rt_aspace_duplicate_locked: src and dst must not be NULL");
    for (rt_varea_t v = ASPACE_VAREA_FIRST(src); v; v = ASPACE_VAREA_NEXT(v)) {
        int rc = copy_varea(v, dst);
        if (rc != RT_EOK) {
            LOG_I("%s: varea [%p, +0x%zx) not copied (%d)", __func__, v->start, (size_t)v->size, rc);
            remove_copies(src, ASPACE_VAREA_NEXT(v), dst);
            return rc;
        }
    }
    return RT_EOK;
}

/* ---- fork ------------------------------------------------------------------ */

/* The parent's next aspace, over the same range with a table of its own. */
static rt_aspace_t fresh_like(rt_aspace_t src)
{
    void *pgtbl = rt_hw_mmu_pgtbl_create();
    if (!pgtbl)
        return RT_NULL;
    rt_aspace_t fresh = rt_aspace_create(src->start, src->size, pgtbl);
    if (!fresh)
        rt_hw_mmu_pgtbl_delete(pgtbl); /* RT-Thread leaks it */
    return fresh;
}

static void drop_fresh(rt_aspace_t fresh)
{
    void *pgtbl = fresh->page_table;
    rt_aspace_delete(fresh);
    rt_hw_mmu_pgtbl_delete(pgtbl);
}

/* Both copies, all-or-nothing: the child's, then the parent's next.
 * Lock order: an aspace made later before one made earlier (child, then
 * parent; fresh, then child) — the order a fault in a reference varea takes
 * (its aspace, then the store), so no cycle can form. RT-Thread locks src
 * alone, then maps into dst (taking dst's lock inside). */
static rt_err_t copy_layouts(rt_aspace_t src, rt_aspace_t dst, rt_aspace_t fresh, long *base_reference)
{
    WR_LOCK(dst);
    WR_LOCK(src);
    *base_reference = mmsim_anon_reference(src->private_object);
    rt_err_t rc = rt_aspace_duplicate_locked(src, dst);
    WR_UNLOCK(src);
    WR_UNLOCK(dst);
    if (rc != RT_EOK)
        return rc;
    WR_LOCK(fresh);
    WR_LOCK(dst);
    rc = rt_aspace_duplicate_locked(dst, fresh);
    WR_UNLOCK(dst);
    WR_UNLOCK(fresh);
    if (rc != RT_EOK) {
        WR_LOCK(dst);
        WR_LOCK(src);
        remove_copies(src, RT_NULL, dst);
        WR_UNLOCK(src);
        WR_UNLOCK(dst);
    }
    return rc;
}

rt_err_t rt_aspace_fork(rt_aspace_t *psrc, rt_aspace_t *pdst)
{
    MMSIM_PRECOND(psrc && *psrc && pdst && *pdst, -RT_EINVAL,
                  "rt_aspace_fork: psrc, pdst and the aspaces they point to must not be NULL");
    rt_aspace_t src = *psrc;
    rt_aspace_t fresh = fresh_like(src);
    if (!fresh)
        return -RT_ENOMEM;
    long base_reference;
    rt_err_t rc = copy_layouts(src, *pdst, fresh, &base_reference);
    if (rc != RT_EOK) {
        drop_fresh(fresh);
        return rc;
    }
    *psrc = fresh; /* the parent runs on the fresh aspace from now on */
    mm_anon_convert_readonly(src, base_reference);
    return RT_EOK;
}

/* ---- compare ----------------------------------------------------------------- */

/* One page read through both aspaces must give the same answer. */
static rt_err_t compare_page(rt_aspace_t src, rt_aspace_t dst, void *va, char *a, char *b)
{
    rt_err_t ra = rt_aspace_page_get(src, va, a), rb = rt_aspace_page_get(dst, va, b);
    if (ra == rb && (ra != RT_EOK || !memcmp(a, b, ARCH_PAGE_SIZE)))
        return RT_EOK;
    mmsim_assert_fail("page contents equal", __func__, __FILE__, __LINE__,
                      "rt_aspace_compare: the two aspaces differ at a page");
    LOG_E("%s: page %p differs (%d, %d)", __func__, va, (int)ra, (int)rb);
    return -RT_ERROR;
}

static rt_err_t compare_varea(rt_varea_t v, rt_aspace_t dst, char *a, char *b)
{
    rt_varea_t d = rt_aspace_query(dst, v->start);
    if (!d || d->start != v->start)
        return -RT_ENOENT;
    rt_err_t rc = RT_EOK;
    for (rt_size_t off = 0; rc == RT_EOK && off < v->size; off += ARCH_PAGE_SIZE)
        rc = compare_page(v->aspace, dst, (void *)((uintptr_t)v->start + off), a, b);
    return rc;
}

rt_err_t rt_aspace_compare(rt_aspace_t src, rt_aspace_t dst)
{
    MMSIM_PRECOND(src != RT_NULL && dst != RT_NULL, -RT_EINVAL, "rt_aspace_compare: src and dst must not be NULL");
    char *buf = rt_malloc(2 * ARCH_PAGE_SIZE);
    if (!buf)
        return -RT_ENOMEM;
    rt_err_t rc = RT_EOK;
    WR_LOCK(src);
    for (rt_varea_t v = ASPACE_VAREA_FIRST(src); v && rc == RT_EOK; v = ASPACE_VAREA_NEXT(v))
        rc = compare_varea(v, dst, buf, buf + ARCH_PAGE_SIZE);
    WR_UNLOCK(src);
    rt_free(buf);
    return rc;
}
