/*
 * Mapping: choosing a VA (first fit, or MAP_FIXED replacing what is there),
 * absorbing the new range into a compatible neighbour or installing a new
 * varea, prefetching, and physical mappings.
 *
 * Check -> reserve -> commit: everything that can fail for lack of memory (the
 * new varea, the varea a MAP_FIXED split needs, table pages for a physical
 * MAP_FIXED map) is obtained before the first change, so a failed map leaves
 * the aspace as it was. What cannot be reserved is a mem_obj's own work:
 * PREFETCH frames come from on_page_fault, so a failed prefetch is undone by
 * removing the new range again (docs/mm.md lists what that cannot restore).
 */
#include <mmsim/pgtable.h>
#include "arch/aarch64/pt.h"
#include "mm/mm.h"

#define DBG_TAG "mm.map"
#include <rtdbg.h>

/* RT-Thread's _not_support mask: every control flag up to REQUEST_ALIGN and
 * any alignment. */
#define MM_SUPPORTED_FLAGS MMF_CREATE(((__MMF_INVALID - 1) << 1) - 1, 1)

/* What a new mapping is: compared with neighbours to decide expansion. */
struct map_prop
{
    rt_size_t attr;
    mm_flag_t flags;
    rt_size_t offset;
    rt_mem_obj_t mem_obj;
};

/* Where a mapping landed: its varea, its VA, and whether that varea is a new
 * one (from `storage` or the heap) rather than an expanded neighbour. */
struct landing
{
    rt_varea_t varea;
    void *va;
    bool fresh;
};

/* ---- VA search -------------------------------------------------------------- */

static bool align_up(uintptr_t x, uintptr_t align, uintptr_t *out)
{
    uintptr_t r = (x + align - 1) & ~(align - 1);
    if (r < x)
        return false;
    *out = r;
    return true;
}

/* The alignment a search honours: the requested one (never below a page), or
 * 0 when none is representable. */
static uintptr_t search_align(mm_flag_t flags)
{
    if (!(flags & MMF_REQUEST_ALIGN))
        return ARCH_PAGE_SIZE;
    unsigned bits = (unsigned)MMF_GET_ALIGN(flags);
    if (bits >= 64)
        return 0;
    uintptr_t align = 1ul << bits;
    return align < ARCH_PAGE_SIZE ? ARCH_PAGE_SIZE : align;
}

/* Lowest aligned VA >= lo with [va, va + size) free and ending by hi
 * (inclusive); 0 if none. VA 0 is never chosen: to callers it means "no
 * address". */
static uintptr_t first_fit(rt_aspace_t aspace, uintptr_t lo, uintptr_t hi, rt_size_t size,
                           uintptr_t align)
{
    uintptr_t cand;
    if (!align || !align_up(lo, align, &cand) || (cand == 0 && !align_up(1, align, &cand)))
        return 0;
    rt_varea_t v = _aspace_bst_search(aspace, (void *)cand);
    if (!v)
        v = _aspace_bst_search_exceed(aspace, (void *)cand);
    for (;;) {
        if (cand > hi || hi - cand < size - 1)
            return 0;
        if (!v || (uintptr_t)v->start > cand + size - 1)
            return cand;
        uintptr_t v_end = (uintptr_t)v->start + v->size;
        if (v_end == 0)
            return 0; /* v reaches 2^64: nothing above it */
        if (v_end > cand && !align_up(v_end, align, &cand))
            return 0;
        v = ASPACE_VAREA_NEXT(v);
    }
}

static bool range_free(rt_aspace_t aspace, uintptr_t va, rt_size_t size)
{
    struct _mm_range r = { (void *)va, (void *)(va + size - 1) };
    return !_aspace_bst_search_overlap(aspace, r);
}

/* RT-Thread's _find_free, as its net effect: a free (aligned-up) prefer wins;
 * otherwise the lowest fit at or above prefer, otherwise the lowest fit in
 * the limit range (intersected with the aspace). */
static void *find_free(rt_aspace_t aspace, const struct rt_mm_va_hint *hint)
{
    uintptr_t align = search_align(hint->flags);
    rt_size_t size = hint->map_size;
    if (!hint->limit_range_size || !aspace->size)
        return RT_NULL;
    uintptr_t lo = (uintptr_t)hint->limit_start, as_lo = (uintptr_t)aspace->start;
    uintptr_t hi = lo + hint->limit_range_size - 1, as_hi = as_lo + aspace->size - 1;
    if (hi < lo)
        hi = UINTPTR_MAX;
    lo = lo > as_lo ? lo : as_lo;
    hi = hi < as_hi ? hi : as_hi;
    uintptr_t p = 0;
    if (hint->prefer && align && align_up((uintptr_t)hint->prefer, align, &p) && p &&
        !mm_not_in_range(MMF_MAP_FIXED, (void *)p, size, aspace->start, aspace->size)) {
        if (range_free(aspace, p, size))
            return (void *)p;
        uintptr_t above = first_fit(aspace, p > lo ? p : lo, hi, size, align);
        if (above)
            return (void *)above;
    }
    return (void *)first_fit(aspace, lo, hi, size, align);
}

/* ---- expansion and merge (RT-Thread's rule, P1) ----------------------------- */

/* _contiguous_offset: does `n` continue (or precede) the object pages of a
 * map_size mapping at prop->offset? */
static bool contiguous(rt_varea_t n, rt_size_t map_size, const struct map_prop *prop)
{
    return n->offset < prop->offset ? n->offset + MM_PA_TO_OFF(n->size) == prop->offset
                                    : prop->offset + MM_PA_TO_OFF(map_size) == n->offset;
}

static bool compatible(rt_varea_t n, rt_size_t map_size, const struct map_prop *prop)
{
    return prop->attr == n->attr && prop->flags == n->flag && prop->mem_obj == n->mem_obj &&
           contiguous(n, map_size, prop);
}

static rt_err_t expand_varea(rt_varea_t varea, void *new_start, rt_size_t new_size)
{
    if (!varea->mem_obj || !varea->mem_obj->on_varea_expand)
        return -RT_EPERM;
    rt_err_t rc = varea->mem_obj->on_varea_expand(varea, new_start, new_size);
    if (rc == RT_EOK)
        mm_varea_move(varea, new_start, new_size);
    return rc;
}

/* `from` joins `to` (its neighbour) if the object agrees. */
static rt_err_t migrate(rt_aspace_t aspace, rt_varea_t to, rt_varea_t from)
{
    rt_err_t rc = to->mem_obj->on_varea_merge(to, from);
    if (rc != RT_EOK)
        return rc;
    _aspace_bst_remove(aspace, from);
    to->size += from->size;
    if (VAREA_NOT_STATIC(from))
        _varea_destroy(from);
    return RT_EOK;
}

/* The neighbour just below / above varea, if any. */
static rt_varea_t below(rt_aspace_t aspace, rt_varea_t v)
{
    return (uintptr_t)v->start ? _aspace_bst_search(aspace, (char *)v->start - 1) : RT_NULL;
}

static rt_varea_t above(rt_aspace_t aspace, void *start, rt_size_t size)
{
    uintptr_t end = (uintptr_t)start + size;
    return end ? _aspace_bst_search(aspace, (void *)end) : RT_NULL;
}

/* RT-Thread's _merge_surrounding: compatibility is judged against the *new
 * mapping's* properties with the operand's current size (P1), so after a
 * forward expansion nothing merges. A refused merge ends the loop with both
 * vareas as they were (RT-Thread can spin there: §0.1 item 9). */
static rt_varea_t merge_surrounding(rt_aspace_t aspace, rt_varea_t operand,
                                    const struct map_prop *prop)
{
    if (!operand->mem_obj || !operand->mem_obj->on_varea_merge)
        return operand;
    for (;;) {
        rt_varea_t n = below(aspace, operand);
        if (n && compatible(n, operand->size, prop)) {
            if (migrate(aspace, n, operand) != RT_EOK)
                return operand;
            operand = n;
            continue;
        }
        n = above(aspace, operand->start, operand->size);
        if (!n || !compatible(n, operand->size, prop) || migrate(aspace, operand, n) != RT_EOK)
            return operand;
    }
}

/* Grow the compatible neighbour below [va, +size), else the one above, over
 * the range, then merge; NULL if neither exists or its object refuses. */
static rt_varea_t try_expand(rt_aspace_t aspace, void *va, rt_size_t size, const struct map_prop *prop)
{
    rt_varea_t n = (uintptr_t)va ? _aspace_bst_search(aspace, (char *)va - 1) : RT_NULL;
    void *new_start;
    if (n && compatible(n, size, prop)) {
        new_start = n->start;
    } else {
        n = above(aspace, va, size);
        if (!n || !compatible(n, size, prop))
            return RT_NULL;
        new_start = va;
    }
    if (expand_varea(n, new_start, n->size + size) != RT_EOK)
        return RT_NULL;
    return merge_surrounding(aspace, n, prop);
}

/* ---- install --------------------------------------------------------------- */

static void post_install(rt_varea_t varea, rt_aspace_t aspace, const struct map_prop *prop)
{
    varea->aspace = aspace;
    varea->attr = prop->attr;
    varea->mem_obj = prop->mem_obj;
    varea->flag = prop->flags;
    varea->offset = prop->offset;
    if (prop->mem_obj && prop->mem_obj->on_varea_open)
        prop->mem_obj->on_varea_open(varea);
}

/* Put [va, +size) (free) into a neighbour or a new varea: `storage`, or one
 * allocated only once no neighbour took it, so a failure changes nothing. */
static int place(rt_aspace_t aspace, rt_varea_t storage, void *va, rt_size_t size,
                 const struct map_prop *prop, struct landing *at)
{
    at->va = va;
    at->fresh = false;
    at->varea = try_expand(aspace, va, size, prop);
    if (at->varea)
        return RT_EOK;
    rt_varea_t varea = storage ? storage : mm_varea_alloc();
    if (!varea)
        return -RT_ENOMEM;
    varea->start = va;
    varea->size = size;
    _aspace_bst_insert(aspace, varea);
    post_install(varea, aspace, prop);
    at->varea = varea;
    at->fresh = true;
    return RT_EOK;
}

/* MAP_FIXED: the range is emptied first (POSIX replacement), all-or-nothing
 * (P3: RT-Thread logs the unmap's error and maps anyway). The varea is
 * allocated up front, as the range is already emptied by the time we know
 * whether a neighbour absorbs it. */
static int install_fixed(rt_aspace_t aspace, rt_varea_t storage, const struct rt_mm_va_hint *hint,
                         const struct map_prop *prop, struct landing *at)
{
    void *va = hint->prefer;
    if (!MM_ALIGNED(va) || mm_not_in_range(MMF_MAP_FIXED, va, hint->map_size, aspace->start, aspace->size))
        return -RT_EINVAL;
    struct mm_unmap_plan plan;
    rt_varea_t spare = RT_NULL;
    int rc = mm_unmap_plan(aspace, va, hint->map_size, &plan);
    if (rc == RT_EOK)
        rc = mm_unmap_reserve(&plan);
    if (rc == RT_EOK && !storage && !(spare = mm_varea_alloc()))
        rc = -RT_ENOMEM;
    if (rc == RT_EOK)
        rc = mm_unmap_commit(aspace, &plan);
    if (rc == RT_EOK)
        rc = place(aspace, storage ? storage : spare, va, hint->map_size, prop, at);
    if (spare && !(rc == RT_EOK && at->fresh))
        _varea_destroy(spare);
    mm_unmap_cancel(&plan);
    return rc;
}

static int install_locked(rt_aspace_t aspace, rt_varea_t storage, const struct rt_mm_va_hint *hint,
                          const struct map_prop *prop, struct landing *at)
{
    if (hint->flags & MMF_MAP_FIXED)
        return install_fixed(aspace, storage, hint, prop, at);
    void *va = find_free(aspace, hint);
    if (!va)
        return -RT_ENOSPC;
    return place(aspace, storage, va, hint->map_size, prop, at);
}

static void remove_landing(rt_aspace_t aspace, const struct landing *at, rt_size_t size)
{
    if (at->fresh) {
        _varea_uninstall_locked(at->varea);
        if (VAREA_NOT_STATIC(at->varea))
            _varea_destroy(at->varea);
    } else if (mm_unmap_range_locked(aspace, at->va, size) != RT_EOK) {
        /* only if the neighbour's object refuses to give the range back */
        LOG_E("%s: cannot take [%p, +0x%zx) back out of varea %p", __func__, at->va,
              (size_t)size, (void *)at->varea);
    }
}

/* Populate the new range only: pages the absorbing neighbour already had are
 * its own (P2). On failure the new range is removed again. */
static int prefetch_or_remove(rt_aspace_t aspace, const struct landing *at, rt_size_t size)
{
    int rc = mm_prefetch_locked(aspace, at->varea, at->va, size);
    if (rc != RT_EOK)
        remove_landing(aspace, at, size);
    return rc;
}

int _mm_aspace_map(rt_aspace_t aspace, rt_varea_t *pvarea, void **addr, rt_size_t length,
                   rt_size_t attr, mm_flag_t flags, rt_mem_obj_t mem_obj, rt_size_t offset)
{
    struct map_prop prop = { attr, flags, offset, mem_obj };
    struct rt_mm_va_hint hint = {
        .limit_start = aspace->start,
        .limit_range_size = aspace->size,
        .prefer = *addr,
        .map_size = length,
        .flags = flags,
    };
    struct landing at;
    WR_LOCK(aspace);
    if (mem_obj->hint_free)
        mem_obj->hint_free(&hint); /* the object may steer prefer, limits and flags */
    int rc = install_locked(aspace, *pvarea, &hint, &prop, &at);
    if (rc == RT_EOK && (flags & MMF_PREFETCH))
        rc = prefetch_or_remove(aspace, &at, length);
    if (rc == RT_EOK) {
        *pvarea = at.varea;
        *addr = at.va;
    }
    WR_UNLOCK(aspace);
    return rc;
}

/* ---- rt_aspace_map and rt_aspace_map_static ---------------------------------- */

static int map_args(rt_aspace_t aspace, void *va, rt_size_t length, mm_flag_t flags, rt_mem_obj_t mem_obj)
{
    if (!aspace || !mem_obj || !length || mm_not_in_range(flags, va, length, aspace->start, aspace->size))
        return -RT_EINVAL;
    if (flags & ~MM_SUPPORTED_FLAGS)
        return -RT_ENOSYS;
    MMSIM_PRECOND(MM_ALIGNED(length) && MM_ALIGNED(va), -RT_EINVAL,
                  "rt_aspace_map: length and *addr must be page aligned");
    MMSIM_PRECOND(!(flags & MMF_PREFETCH) || mem_obj->on_page_fault, -RT_EINVAL,
                  "rt_aspace_map: MMF_PREFETCH needs the mem_obj's on_page_fault");
    return RT_EOK;
}

int rt_aspace_map(rt_aspace_t aspace, void **addr, rt_size_t length, rt_size_t attr,
                  mm_flag_t flags, rt_mem_obj_t mem_obj, rt_size_t offset)
{
    if (!addr)
        return -RT_EINVAL; /* RT-Thread writes through it and crashes (§0.1 item 2) */
    int rc = map_args(aspace, *addr, length, flags, mem_obj);
    /* A heap varea flagged static would never be freed: refuse the flag. */
    if (rc == RT_EOK && (flags & MMF_STATIC_ALLOC))
        rc = -RT_EINVAL;
    rt_varea_t varea = RT_NULL;
    if (rc == RT_EOK)
        rc = _mm_aspace_map(aspace, &varea, addr, length, attr, flags, mem_obj, offset);
    if (rc != RT_EOK)
        *addr = RT_NULL;
    return rc;
}

int rt_aspace_map_static(rt_aspace_t aspace, rt_varea_t varea, void **addr, rt_size_t length,
                         rt_size_t attr, mm_flag_t flags, rt_mem_obj_t mem_obj, rt_size_t offset)
{
    if (!addr)
        return -RT_EINVAL;
    int rc = varea ? map_args(aspace, *addr, length, flags, mem_obj) : -RT_EINVAL;
    if (rc == RT_EOK) {
        varea->start = *addr;
        varea->size = length;
        /* If a neighbour absorbs the range, `varea` stays unused (as RT-Thread);
         * *addr is then the range's VA, not the neighbour's start. */
        rc = _mm_aspace_map(aspace, &varea, addr, length, attr, flags | MMF_STATIC_ALLOC, mem_obj,
                            offset);
    }
    if (rc != RT_EOK)
        *addr = RT_NULL;
    return rc;
}

/* ---- physical mappings --------------------------------------------------------- */

/* The most table pages a map of [va, +size) at pa could need in an empty
 * part of the tables: one per level-0, -1 and (for 4 KiB leaves) -2 slot the
 * range touches. */
size_t mm_tables_upper_bound(uintptr_t va, uintptr_t pa, rt_size_t size)
{
    uint64_t lo = va & PT_VA_MASK, hi = lo + size - 1;
    int leaf_level = ((va | pa | size) & ARCH_SECTION_MASK) ? 3 : 2;
    size_t n = 0;
    for (int level = 0; level < leaf_level; level++)
        n += (size_t)((hi >> pt_shift(level)) - (lo >> pt_shift(level)) + 1);
    return n;
}

int mm_reserve_table_pages(struct mmsim_mmu_reserve *r, size_t npages)
{
    /* mmsim/pgtable.h: the pool is linked through each page's first word */
    while (r->npages < npages) {
        void *page = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
        if (!page) {
            mmsim_mmu_reserve_release(r);
            return -RT_ENOMEM;
        }
        *(void **)page = r->pool;
        r->pool = page;
        r->npages++;
    }
    return RT_EOK;
}

static int phy_args(rt_aspace_t aspace, const struct rt_mm_va_hint *hint)
{
    if (!aspace || !hint->limit_range_size || !hint->map_size || !MM_ALIGNED(hint->map_size) ||
        !MM_ALIGNED(hint->prefer))
        return -RT_EINVAL;
    if (mm_not_in_range(hint->flags, hint->limit_start, hint->limit_range_size, aspace->start, aspace->size) ||
        mm_not_in_range(hint->flags, hint->prefer, hint->map_size, aspace->start, aspace->size))
        return -RT_EINVAL;
    return RT_EOK;
}

/* Install `varea` (caller storage, filled in here) and map all of it. */
static int map_phy_locked(rt_aspace_t aspace, rt_varea_t varea, rt_mm_va_hint_t hint, rt_size_t attr,
                          rt_size_t pa_off, struct landing *at)
{
    struct map_prop prop = { attr, hint->flags, pa_off, RT_NULL };
    struct mmsim_mmu_reserve r = { RT_NULL, 0 };
    uintptr_t pa = pa_off << MM_PAGE_SHIFT;
    /* MAP_FIXED empties the range before mapping: secure the tables first. */
    int rc = RT_EOK;
    if (hint->flags & MMF_MAP_FIXED)
        rc = mm_reserve_table_pages(&r, mm_tables_upper_bound((uintptr_t)hint->prefer, pa, hint->map_size));
    if (rc == RT_EOK)
        rc = install_locked(aspace, varea, hint, &prop, at);
    if (rc == RT_EOK &&
        !mmsim_mmu_map_reserved(aspace, varea->start, (void *)pa, varea->size, mm_effect_attr(varea), &r)) {
        _varea_uninstall_locked(varea);
        rc = -RT_ERROR;
    }
    if (rc == RT_EOK)
        rt_hw_tlb_invalidate_range(aspace, varea->start, varea->size, ARCH_PAGE_SIZE);
    mmsim_mmu_reserve_release(&r);
    return rc;
}

static int map_phy(rt_aspace_t aspace, rt_varea_t varea, rt_mm_va_hint_t hint, rt_size_t attr,
                   rt_size_t pa_off, void **ret_va)
{
    struct landing at;
    int rc = phy_args(aspace, hint);
    if (rc == RT_EOK) {
        WR_LOCK(aspace);
        rc = map_phy_locked(aspace, varea, hint, attr, pa_off, &at);
        WR_UNLOCK(aspace);
    }
    if (ret_va)
        *ret_va = rc == RT_EOK ? at.va : RT_NULL;
    return rc;
}

int rt_aspace_map_phy(rt_aspace_t aspace, rt_mm_va_hint_t hint, rt_size_t attr, rt_size_t pa_off,
                      void **ret_va)
{
    int rc = hint ? phy_args(aspace, hint) : -RT_EINVAL;
    rt_varea_t varea = RT_NULL;
    if (rc == RT_EOK && !(varea = mm_varea_alloc()))
        rc = -RT_ENOMEM;
    if (rc == RT_EOK) {
        hint->flags &= ~MMF_STATIC_ALLOC; /* the caller's hint is edited, as RT-Thread does (P12) */
        rc = map_phy(aspace, varea, hint, attr, pa_off, ret_va);
        if (rc != RT_EOK)
            _varea_destroy(varea);
    } else if (ret_va) {
        *ret_va = RT_NULL;
    }
    return rc;
}

int rt_aspace_map_phy_static(rt_aspace_t aspace, rt_varea_t varea, rt_mm_va_hint_t hint,
                             rt_size_t attr, rt_size_t pa_off, void **ret_va)
{
    if (!varea || !hint) {
        if (ret_va)
            *ret_va = RT_NULL;
        return -RT_EINVAL;
    }
    varea->start = hint->prefer;
    varea->size = hint->map_size;
    hint->flags |= MMF_STATIC_ALLOC; /* P12, as above */
    return map_phy(aspace, varea, hint, attr, pa_off, ret_va);
}
