/*
 * Address spaces: life cycle, removal of vareas (whole, or munmap-like by
 * range), lookups and traversal, per-varea control, and page-sized I/O.
 * Mapping lives in map.c.
 *
 * Every entry point takes the aspace's recursive bst_lock for as long as it
 * looks at or changes the tree — including rt_aspace_query, load_page and
 * control, which RT-Thread runs partly unlocked (P11) — so several host
 * threads may use one aspace.
 */
#include <pthread.h>
#include <stdlib.h>
#include <mmsim/pgtable.h>
#include <mmsim/machine.h>
#include "mm/mm.h"

#define DBG_TAG "mm.aspace"
#include <rtdbg.h>

/* AP[2]: set = read-only at every EL (what MMU_CNTL_READONLY sets in PTEs). */
#define ATTR_AP_RO (2ul << MMU_AP_SHIFT)

static uintptr_t last_of(rt_varea_t v) { return (uintptr_t)v->start + v->size - 1; }

/* ---- the registry of live aspaces (for mmsim_mm_check_machine) ---------- */

/* On the host heap, so it never shows in the rt_malloc accounting; best
 * effort: an aspace the host cannot record is only missing from checks.
 * Entries belong to one machine boot: aspaces a test leaked before the
 * machine went down were freed with its RAM and must not be visited. */
static struct
{
    pthread_mutex_t lock;
    rt_aspace_t *items;
    size_t n, cap;
    uint64_t generation;
} g_registry = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Forget entries from an earlier boot. Caller holds the lock. */
static void registry_sync_locked(void)
{
    uint64_t now = mmsim_machine_generation();
    if (g_registry.generation != now) {
        g_registry.n = 0;
        g_registry.generation = now;
    }
}

static void registry_add(rt_aspace_t aspace)
{
    pthread_mutex_lock(&g_registry.lock);
    registry_sync_locked();
    if (g_registry.n == g_registry.cap) {
        size_t cap = g_registry.cap ? 2 * g_registry.cap : 16;
        rt_aspace_t *items = realloc(g_registry.items, cap * sizeof *items);
        if (items) {
            g_registry.items = items;
            g_registry.cap = cap;
        }
    }
    if (g_registry.n < g_registry.cap)
        g_registry.items[g_registry.n++] = aspace;
    else
        LOG_W("%s: aspace %p not recorded for checks", __func__, (void *)aspace);
    pthread_mutex_unlock(&g_registry.lock);
}

static void registry_remove(rt_aspace_t aspace)
{
    pthread_mutex_lock(&g_registry.lock);
    registry_sync_locked();
    for (size_t i = 0; i < g_registry.n; i++)
        if (g_registry.items[i] == aspace) {
            g_registry.items[i] = g_registry.items[--g_registry.n];
            break;
        }
    if (!g_registry.n) {
        free(g_registry.items);
        g_registry.items = NULL;
        g_registry.cap = 0;
    }
    pthread_mutex_unlock(&g_registry.lock);
}

size_t mm_registry_snapshot(rt_aspace_t *out, size_t max)
{
    pthread_mutex_lock(&g_registry.lock);
    registry_sync_locked();
    size_t n = g_registry.n;
    for (size_t i = 0; i < n && i < max; i++)
        out[i] = g_registry.items[i];
    pthread_mutex_unlock(&g_registry.lock);
    return n;
}

/* ---- life cycle --------------------------------------------------------- */

rt_err_t rt_aspace_init(rt_aspace_t aspace, void *start, rt_size_t length, void *pgtbl)
{
    MMSIM_PRECOND(aspace != NULL, -RT_EINVAL, "rt_aspace_init: aspace must not be NULL");
    if (!pgtbl)
        return -RT_EINVAL;
    aspace->page_table = pgtbl;
    aspace->start = start;
    aspace->size = length;
    aspace->private_object = RT_NULL;
    _aspace_bst_init(aspace);
    MM_PGTBL_LOCK_INIT(aspace);
    rt_err_t rc = rt_mutex_init(&aspace->bst_lock, "aspace", RT_IPC_FLAG_FIFO);
    if (rc == RT_EOK)
        registry_add(aspace);
    return rc;
}

rt_aspace_t rt_aspace_create(void *start, rt_size_t length, void *pgtbl)
{
    MMSIM_PRECOND(length <= 0 - (rt_size_t)start, RT_NULL,
                  "rt_aspace_create: [start, start + length) must end by 2^64 (start 0 never does)");
    rt_aspace_t aspace = rt_malloc(sizeof *aspace);
    if (!aspace)
        return RT_NULL;
    memset(aspace, 0, sizeof *aspace);
    if (rt_aspace_init(aspace, start, length, pgtbl) != RT_EOK) {
        rt_free(aspace);
        return RT_NULL;
    }
    return aspace;
}

void rt_aspace_detach(rt_aspace_t aspace)
{
    MMSIM_PRECOND_VOID(aspace != NULL, "rt_aspace_detach: aspace must not be NULL");
    WR_LOCK(aspace);
    rt_varea_t varea = ASPACE_VAREA_FIRST(aspace);
    while (varea) {
        rt_varea_t next = ASPACE_VAREA_NEXT(varea);
        _varea_uninstall_locked(varea);
        if (VAREA_NOT_STATIC(varea))
            _varea_destroy(varea);
        varea = next;
    }
    WR_UNLOCK(aspace);
    /* the aspace's own reference on its anonymous object (none: -RT_EINVAL, ignored) */
    rt_aspace_anon_ref_dec(aspace->private_object);
    registry_remove(aspace);
    rt_mutex_detach(&aspace->bst_lock);
}

void rt_aspace_delete(rt_aspace_t aspace)
{
    MMSIM_PRECOND_VOID(aspace != NULL, "rt_aspace_delete: aspace must not be NULL");
    rt_aspace_detach(aspace);
    rt_free(aspace);
}

/* ---- removing vareas ---------------------------------------------------- */

void mm_remove_varea_locked(rt_varea_t varea)
{
    _varea_uninstall_locked(varea);
    if (VAREA_NOT_STATIC(varea))
        _varea_destroy(varea);
}

int rt_aspace_unmap(rt_aspace_t aspace, void *addr)
{
    if (!aspace || mm_not_in_range(MMF_MAP_FIXED, addr, 1, aspace->start, aspace->size))
        return -RT_EINVAL;
    WR_LOCK(aspace);
    rt_varea_t varea = _aspace_bst_search(aspace, addr);
    if (varea)
        mm_remove_varea_locked(varea);
    WR_UNLOCK(aspace);
    return varea ? RT_EOK : -RT_ENOENT;
}

static bool can_shrink(rt_varea_t v) { return v->mem_obj && v->mem_obj->on_varea_shrink; }
static bool can_split(rt_varea_t v) { return v->mem_obj && v->mem_obj->on_varea_split; }

int mm_unmap_plan(rt_aspace_t aspace, void *start, rt_size_t size, struct mm_unmap_plan *plan)
{
    uintptr_t lo = (uintptr_t)start, hi = lo + size - 1;
    memset(plan, 0, sizeof *plan);
    plan->start = start;
    plan->size = size;
    rt_varea_t first = _aspace_bst_search(aspace, start);
    rt_varea_t last = _aspace_bst_search(aspace, (void *)hi);
    if (first && (uintptr_t)first->start < lo) {
        if (last_of(first) > hi)
            plan->split = first;
        else
            plan->head = first;
    }
    if (last && last_of(last) > hi && last != plan->split)
        plan->tail = last;
    /* Every varea that would be cut must be cuttable before any is cut. */
    if ((plan->split && !can_split(plan->split)) || (plan->head && !can_shrink(plan->head)) ||
        (plan->tail && !can_shrink(plan->tail)))
        return -RT_EPERM;
    return RT_EOK;
}

int mm_unmap_reserve(struct mm_unmap_plan *plan)
{
    if (plan->split && !plan->subset) {
        plan->subset = mm_varea_alloc();
        if (!plan->subset)
            return -RT_ENOMEM;
    }
    return RT_EOK;
}

void mm_unmap_cancel(struct mm_unmap_plan *plan)
{
    if (plan->subset)
        _varea_destroy(plan->subset);
    plan->subset = NULL;
}

void mm_varea_move(rt_varea_t varea, void *new_start, rt_size_t new_size)
{
    uintptr_t old_va = (uintptr_t)varea->start, new_va = (uintptr_t)new_start;
    varea->size = new_size;
    if (new_va == old_va)
        return;
    /* the object page at the new start keeps its place in the object */
    if (new_va > old_va)
        varea->offset += MM_PA_TO_OFF(new_va - old_va);
    else
        varea->offset -= MM_PA_TO_OFF(old_va - new_va);
    varea->start = new_start;
    _aspace_bst_remove(varea->aspace, varea);
    _aspace_bst_insert(varea->aspace, varea);
}

/* Cut varea down to [new_start, +new_size), a part of it. The object is told
 * first, with the varea still as it was; a refusal changes nothing. */
static rt_err_t shrink_varea(rt_varea_t varea, void *new_start, rt_size_t new_size)
{
    rt_err_t rc = varea->mem_obj->on_varea_shrink(varea, new_start, new_size);
    if (rc == RT_EOK)
        mm_varea_move(varea, new_start, new_size);
    return rc;
}

/* Punch the plan's range out of plan->split: the part above becomes the
 * reserved subset, handed to the object not yet in the tree. */
static rt_err_t split_varea(struct mm_unmap_plan *plan)
{
    rt_varea_t ex = plan->split, sub = plan->subset;
    uintptr_t hole = (uintptr_t)plan->start, above = hole + plan->size;
    sub->start = (void *)above;
    sub->size = last_of(ex) - above + 1;
    sub->aspace = ex->aspace;
    sub->attr = ex->attr;
    sub->mem_obj = ex->mem_obj;
    sub->flag = ex->flag & ~MMF_STATIC_ALLOC;
    sub->offset = ex->offset + MM_PA_TO_OFF(above - (uintptr_t)ex->start);
    rt_err_t rc = ex->mem_obj->on_varea_split(ex, plan->start, plan->size, sub);
    if (rc != RT_EOK)
        return rc;
    ex->size = hole - (uintptr_t)ex->start;
    _aspace_bst_insert(ex->aspace, sub);
    plan->subset = NULL; /* the tree owns it now */
    return RT_EOK;
}

int mm_unmap_commit(rt_aspace_t aspace, struct mm_unmap_plan *plan)
{
    uintptr_t lo = (uintptr_t)plan->start, hi = lo + plan->size - 1;
    if (plan->split)
        return split_varea(plan);
    rt_err_t rc;
    if (plan->head && (rc = shrink_varea(plan->head, plan->head->start, lo - (uintptr_t)plan->head->start)))
        return (int)rc;
    if (plan->tail && (rc = shrink_varea(plan->tail, (void *)(hi + 1), last_of(plan->tail) - hi)))
        return (int)rc;
    /* Whatever still overlaps lies wholly inside the range. */
    struct _mm_range range = { plan->start, (void *)hi };
    rt_varea_t varea;
    while ((varea = _aspace_bst_search_overlap(aspace, range)))
        mm_remove_varea_locked(varea);
    return RT_EOK;
}

int mm_unmap_range_locked(rt_aspace_t aspace, void *start, rt_size_t size)
{
    struct mm_unmap_plan plan;
    int rc = mm_unmap_plan(aspace, start, size, &plan);
    if (rc == RT_EOK)
        rc = mm_unmap_reserve(&plan);
    if (rc == RT_EOK)
        rc = mm_unmap_commit(aspace, &plan);
    mm_unmap_cancel(&plan);
    return rc;
}

int rt_aspace_unmap_range(rt_aspace_t aspace, void *addr, size_t length)
{
    if (!aspace || mm_not_in_range(MMF_MAP_FIXED, addr, length, aspace->start, aspace->size) ||
        !MM_ALIGNED(addr) || length == 0)
        return -RT_EINVAL;
    length = RT_ALIGN(length, ARCH_PAGE_SIZE);
    WR_LOCK(aspace);
    int rc = mm_unmap_range_locked(aspace, addr, length);
    WR_UNLOCK(aspace);
    return rc;
}

void *rt_aspace_mremap_range(rt_aspace_t aspace, void *old_address, size_t old_size,
                             size_t new_size, int flags, void *new_address)
{
    if (!aspace || !old_size || !MM_ALIGNED(old_address) ||
        mm_not_in_range(MMF_MAP_FIXED, old_address, old_size, aspace->start, aspace->size))
        return RT_NULL;
    old_size = RT_ALIGN(old_size, ARCH_PAGE_SIZE);
    void *ret = RT_NULL;
    WR_LOCK(aspace);
    struct _mm_range range = { old_address, (char *)old_address + old_size - 1 };
    rt_varea_t varea = _aspace_bst_search_overlap(aspace, range);
    if (varea && varea->mem_obj && varea->mem_obj->on_varea_mremap)
        ret = varea->mem_obj->on_varea_mremap(varea, new_size, flags, new_address);
    WR_UNLOCK(aspace);
    if (ret && rt_aspace_unmap_range(aspace, old_address, old_size) != RT_EOK)
        LOG_I("%s: the old range %p (0x%zx) stays mapped", __func__, old_address, old_size);
    return ret;
}

/* ---- lookups and traversal ------------------------------------------------ */

rt_varea_t rt_aspace_query(rt_aspace_t aspace, void *vaddr)
{
    MMSIM_PRECOND(aspace != NULL, RT_NULL, "rt_aspace_query: aspace must not be NULL");
    RD_LOCK(aspace);
    rt_varea_t varea = _aspace_bst_search(aspace, vaddr);
    RD_UNLOCK(aspace);
    return varea;
}

int rt_aspace_traversal(rt_aspace_t aspace, int (*fn)(rt_varea_t varea, void *arg), void *arg)
{
    MMSIM_PRECOND(aspace != NULL && fn != NULL, -RT_EINVAL,
                  "rt_aspace_traversal: aspace and fn must not be NULL");
    WR_LOCK(aspace);
    rt_varea_t varea = ASPACE_VAREA_FIRST(aspace);
    while (varea) {
        /* fetched first: fn may remove the varea it is given */
        rt_varea_t next = ASPACE_VAREA_NEXT(varea);
        fn(varea, arg);
        varea = next;
    }
    WR_UNLOCK(aspace);
    return 0;
}

static int dump_varea(rt_varea_t varea, void *arg)
{
    RT_UNUSED(arg);
    void *end = (char *)varea->start + varea->size;
    if (varea->mem_obj && varea->mem_obj->get_name) {
        rt_kprintf("[%p - %p] %s\n", varea->start, end, varea->mem_obj->get_name(varea));
    } else {
        rt_kprintf("[%p - %p] phy-map\n", varea->start, end);
        rt_kprintf("\t\\_ paddr = %p\n", (void *)(varea->offset << MM_PAGE_SHIFT));
    }
    return 0;
}

void rt_aspace_print_all(rt_aspace_t aspace)
{
    rt_aspace_traversal(aspace, dump_varea, RT_NULL);
}

static int add_size(rt_varea_t varea, void *arg)
{
    *(rt_base_t *)arg += (rt_base_t)varea->size;
    return 0;
}

rt_base_t rt_aspace_count_vsz(rt_aspace_t aspace)
{
    rt_base_t vsz = 0;
    rt_aspace_traversal(aspace, add_size, &vsz);
    return vsz;
}

/* ---- control, load, offload ------------------------------------------------- */

/* CACHE/NONCACHE change the PTEs only (as RT-Thread: later faults use the
 * varea's attribute). READONLY/READWRITE (mmsim's handlers) change the
 * varea's attribute too, and READWRITE leaves a private mapping's PTEs alone:
 * its pages are shared copy-on-write and must keep faulting on write. */
static int control_varea_locked(rt_varea_t varea, enum rt_mmu_cntl cmd)
{
    bool keep_ptes = cmd == MMU_CNTL_READWRITE && rt_varea_is_private_locked(varea);
    if (!keep_ptes) {
        int rc = rt_hw_mmu_control(varea->aspace, varea->start, varea->size, cmd);
        if (rc != RT_EOK)
            return rc;
        rt_hw_tlb_invalidate_range(varea->aspace, varea->start, varea->size, ARCH_PAGE_SIZE);
    }
    if (cmd == MMU_CNTL_READONLY)
        varea->attr |= ATTR_AP_RO;
    else if (cmd == MMU_CNTL_READWRITE)
        varea->attr &= ~ATTR_AP_RO;
    return RT_EOK;
}

int rt_aspace_control(rt_aspace_t aspace, void *addr, enum rt_mmu_cntl cmd)
{
    MMSIM_PRECOND(aspace != NULL, -RT_EINVAL, "rt_aspace_control: aspace must not be NULL");
    WR_LOCK(aspace);
    rt_varea_t varea = _aspace_bst_search(aspace, addr);
    int rc = varea ? control_varea_locked(varea, cmd) : -RT_ENOENT;
    WR_UNLOCK(aspace);
    return rc;
}

static int prefetchable(rt_varea_t varea)
{
    MMSIM_PRECOND(varea->mem_obj && varea->mem_obj->on_page_fault, -RT_EINVAL,
                  "rt_aspace_load_page: the varea's mem_obj must have on_page_fault");
    return RT_EOK;
}

static int load_locked(rt_aspace_t aspace, rt_varea_t varea, void *addr, rt_size_t npage)
{
    rt_size_t size = npage << ARCH_PAGE_SHIFT;
    if (!npage || npage > (SIZE_MAX >> ARCH_PAGE_SHIFT) || !MM_ALIGNED(addr) ||
        mm_not_in_range(MMF_MAP_FIXED, addr, size, varea->start, varea->size))
        return -RT_EINVAL;
    int rc = prefetchable(varea);
    return rc == RT_EOK ? mm_prefetch_locked(aspace, varea, addr, size) : rc;
}

int rt_aspace_load_page(rt_aspace_t aspace, void *addr, rt_size_t npage)
{
    MMSIM_PRECOND(aspace != NULL, -RT_EINVAL, "rt_aspace_load_page: aspace must not be NULL");
    /* RT-Thread prefetches after dropping the lock; a concurrent unmap could
     * then free the varea under it, so mmsim holds it. */
    WR_LOCK(aspace);
    rt_varea_t varea = _aspace_bst_search(aspace, addr);
    int rc = varea ? load_locked(aspace, varea, addr, npage) : -RT_ENOENT;
    WR_UNLOCK(aspace);
    return rc;
}

int rt_aspace_offload_page(rt_aspace_t aspace, void *addr, rt_size_t npage)
{
    RT_UNUSED(aspace);
    RT_UNUSED(addr);
    RT_UNUSED(npage);
    return -RT_ENOSYS;
}

/* ---- page I/O -------------------------------------------------------------- */

/* The kernel linear address of the frame page_va maps: RT_EOK, -RT_ENOENT
 * (unmapped) or -RT_ENOSYS (not RAM: simulated VAs are not host addresses). */
static rt_err_t phy_frame(rt_aspace_t aspace, void *page_va, void **frame)
{
    void *pa = rt_hw_mmu_v2p(aspace, page_va);
    if (pa == ARCH_MAP_FAILED)
        return -RT_ENOENT;
    *frame = rt_kmem_p2v(pa);
    return *frame ? RT_EOK : -RT_ENOSYS;
}

rt_err_t rt_aspace_page_get_phy(rt_aspace_t aspace, void *page_va, void *buffer)
{
    void *frame;
    rt_err_t rc = phy_frame(aspace, page_va, &frame);
    if (rc == RT_EOK)
        memcpy(buffer, frame, ARCH_PAGE_SIZE);
    return rc;
}

rt_err_t rt_aspace_page_put_phy(rt_aspace_t aspace, void *page_va, void *buffer)
{
    void *frame;
    rt_err_t rc = phy_frame(aspace, page_va, &frame);
    if (rc == RT_EOK)
        memcpy(frame, buffer, ARCH_PAGE_SIZE);
    return rc;
}

/* One page through the object's page_read or page_write. */
static rt_err_t object_io(rt_varea_t varea, void *page_va, void *buffer,
                          void (*op)(struct rt_varea *, struct rt_aspace_io_msg *))
{
    struct rt_aspace_io_msg io;
    rt_mm_io_msg_init(&io, VAREA_VA_TO_OFFSET(varea, page_va), page_va, buffer);
    op(varea, &io);
    return io.response.status == MM_FAULT_STATUS_UNRECOVERABLE ? -RT_ERROR : RT_EOK;
}

static rt_err_t page_get_locked(rt_varea_t varea, void *page_va, void *buffer)
{
    if (!varea->mem_obj)
        return rt_aspace_page_get_phy(varea->aspace, page_va, buffer);
    if (!varea->mem_obj->page_read)
        return -RT_ERROR;
    return object_io(varea, page_va, buffer, varea->mem_obj->page_read);
}

/* The varea now holding page_va after it was given a private copy (the whole
 * page is about to be overwritten, so nothing is copied), or NULL. */
static rt_varea_t private_copy_for_put(rt_varea_t varea, void *page_va)
{
    struct rt_aspace_fault_msg msg = {
        .fault_op = MM_FAULT_OP_WRITE,
        .fault_type = MM_FAULT_TYPE_PAGE_FAULT,
        .off = VAREA_VA_TO_OFFSET(varea, page_va),
        .fault_vaddr = page_va,
    };
    rt_mm_fault_res_init(&msg.response);
    rt_aspace_t aspace = varea->aspace;
    void *pa = rt_hw_mmu_v2p(aspace, page_va);
    if (rt_varea_fix_private_locked(varea, pa, &msg, RT_TRUE) != MM_FAULT_FIXABLE_TRUE)
        return RT_NULL;
    return _aspace_bst_search(aspace, page_va); /* the old varea may be gone */
}

static rt_err_t page_put_locked(rt_varea_t varea, void *page_va, void *buffer)
{
    if (!varea->mem_obj)
        return rt_aspace_page_put_phy(varea->aspace, page_va, buffer);
    if (!varea->mem_obj->page_write)
        return -RT_EINVAL;
    /* a private mapping is written in a private copy of the page */
    if (rt_varea_is_private_locked(varea) && !(varea = private_copy_for_put(varea, page_va)))
        return -RT_ERROR;
    return object_io(varea, page_va, buffer, varea->mem_obj->page_write);
}

rt_err_t rt_aspace_page_get(rt_aspace_t aspace, void *page_va, void *buffer)
{
    MMSIM_PRECOND(aspace != NULL && buffer != NULL, -RT_EINVAL,
                  "rt_aspace_page_get: aspace and buffer must not be NULL");
    RD_LOCK(aspace);
    rt_varea_t varea = _aspace_bst_search(aspace, page_va);
    rt_err_t rc = varea && MM_ALIGNED(page_va) ? page_get_locked(varea, page_va, buffer) : -RT_EINVAL;
    RD_UNLOCK(aspace);
    return rc;
}

rt_err_t rt_aspace_page_put(rt_aspace_t aspace, void *page_va, void *buffer)
{
    MMSIM_PRECOND(aspace != NULL && buffer != NULL, -RT_EINVAL,
                  "rt_aspace_page_put: aspace and buffer must not be NULL");
    RD_LOCK(aspace);
    rt_varea_t varea = _aspace_bst_search(aspace, page_va);
    rt_err_t rc = varea && MM_ALIGNED(page_va) ? page_put_locked(varea, page_va, buffer) : -RT_EINVAL;
    RD_UNLOCK(aspace);
    return rc;
}
