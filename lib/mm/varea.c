/*
 * Page-level operations on one varea: mapping frames and physical ranges into
 * it, removing them, mapping a fault handler's answer, prefetching, and the
 * uninstall every removal path shares. The caller holds the aspace's bst
 * lock (or, for the public rt_varea_* calls, synchronises as RT-Thread asks).
 *
 * Page ownership is RT-Thread's (P5): each PTE mapping a RAM frame holds one
 * reference on it. rt_varea_map_page takes none; rt_varea_pgmgr_insert does.
 */
#include <mmsim/pgtable.h>
#include "mm/mm.h"

#define DBG_TAG "mm.varea"
#include <rtdbg.h>

bool mm_not_in_range(mm_flag_t flags, void *start, rt_size_t length, void *limit_start,
                     rt_size_t limit_size)
{
    uintptr_t s = (uintptr_t)start, ls = (uintptr_t)limit_start;
    if (!(flags & MMF_MAP_FIXED) && !start)
        return length > limit_size;
    /* 0 - s is the room left below 2^64, and 0 for start 0 */
    return length > 0 - s || s < ls || s - ls > limit_size || length > limit_size - (s - ls);
}

rt_size_t mm_effect_attr(rt_varea_t varea)
{
    if (rt_varea_is_private_locked(varea))
        return rt_hw_mmu_attr_rm_perm(varea->attr, RT_HW_MMU_PROT_USER | RT_HW_MMU_PROT_WRITE);
    return varea->attr;
}

rt_varea_t mm_varea_alloc(void)
{
    rt_varea_t varea = rt_malloc(sizeof *varea);
    if (varea)
        memset(varea, 0, sizeof *varea);
    return varea;
}

void _varea_destroy(struct rt_varea *varea)
{
    rt_free(varea);
}

void _varea_uninstall_locked(rt_varea_t varea)
{
    rt_aspace_t aspace = varea->aspace;
    if (varea->mem_obj && varea->mem_obj->on_varea_close) {
        varea->mem_obj->on_varea_close(varea);
    } else {
        /* Blocks lie wholly inside a varea, so no split can fail here. */
        rt_hw_mmu_unmap(aspace, varea->start, varea->size);
        rt_hw_tlb_invalidate_range(aspace, varea->start, varea->size, ARCH_PAGE_SIZE);
    }
    _aspace_bst_remove(aspace, varea);
}

/* Map [vaddr, +length) to PA page pa_off onward with the effective attribute. */
static int named_map(rt_varea_t varea, void *vaddr, rt_size_t pa_off, rt_size_t length)
{
    void *pa = (void *)(pa_off << MM_PAGE_SHIFT);
    if (!rt_hw_mmu_map(varea->aspace, vaddr, pa, length, mm_effect_attr(varea)))
        return -RT_ERROR;
    rt_hw_tlb_invalidate_range(varea->aspace, vaddr, length, ARCH_PAGE_SIZE);
    return RT_EOK;
}

/* Whether [va, +length) lies inside varea. */
static bool inside_varea(rt_varea_t varea, void *va, rt_size_t length)
{
    return !mm_not_in_range(MMF_MAP_FIXED, va, length, varea->start, varea->size);
}

int rt_varea_map_page(rt_varea_t varea, void *vaddr, void *page)
{
    if (!varea || !vaddr || !page)
        return -RT_EINVAL;
    void *page_pa = rt_kmem_v2p(page);
    if (page_pa == ARCH_MAP_FAILED)
        return -RT_ERROR;
    if (!inside_varea(varea, vaddr, ARCH_PAGE_SIZE))
        return -RT_EINVAL;
    MMSIM_PRECOND(MM_ALIGNED(vaddr), -RT_EINVAL, "rt_varea_map_page: vaddr must be page aligned");
    return named_map(varea, vaddr, MM_PA_TO_OFF(page_pa), ARCH_PAGE_SIZE);
}

int rt_varea_map_range(rt_varea_t varea, void *vaddr, void *paddr, rt_size_t length)
{
    if (!varea || !vaddr || !paddr || !length || !MM_ALIGNED(vaddr) || !MM_ALIGNED(paddr) ||
        !MM_ALIGNED(length))
        return -RT_EINVAL;
    if (!inside_varea(varea, vaddr, length))
        return -RT_EINVAL;
    return named_map(varea, vaddr, MM_PA_TO_OFF(paddr), length);
}

int rt_varea_unmap_range(rt_varea_t varea, void *vaddr, rt_size_t length)
{
    if (!varea || !vaddr || !length)
        return -RT_EINVAL;
    if (!inside_varea(varea, vaddr, length))
        return -RT_EINVAL;
    MMSIM_PRECOND(MM_ALIGNED(length), -RT_EINVAL, "rt_varea_unmap_range: length must be page aligned");
    void *va = (void *)RT_ALIGN_DOWN((uintptr_t)vaddr, ARCH_PAGE_SIZE);
    /* A block cut needs a table page; without one nothing is unmapped and
     * mmsim says so (RT-Thread's void unmap cannot). */
    int rc = mmsim_mmu_unmap(varea->aspace, va, length);
    if (rc != RT_EOK)
        return rc;
    rt_hw_tlb_invalidate_range(varea->aspace, va, length, ARCH_PAGE_SIZE);
    return RT_EOK;
}

int rt_varea_unmap_page(rt_varea_t varea, void *vaddr)
{
    void *va = (void *)RT_ALIGN_DOWN((uintptr_t)vaddr, ARCH_PAGE_SIZE);
    return rt_varea_unmap_range(varea, va, ARCH_PAGE_SIZE);
}

void rt_varea_pgmgr_insert(rt_varea_t varea, void *page_addr)
{
    RT_UNUSED(varea);
    rt_page_ref_inc(page_addr, 0);
}

/* ---- fault responses and prefetch -------------------------------------- */

int rt_varea_map_with_msg(rt_varea_t varea, struct rt_aspace_fault_msg *msg)
{
    struct rt_mm_fault_res *res = &msg->response;
    if (res->status == MM_FAULT_STATUS_OK_MAPPED) {
        if (rt_hw_mmu_v2p(varea->aspace, msg->fault_vaddr) == ARCH_MAP_FAILED)
            LOG_D("%s: handler reported %p mapped but it is not", __func__, msg->fault_vaddr);
        return RT_EOK;
    }
    if (res->status != MM_FAULT_STATUS_OK) {
        LOG_W("%s: no page for %p in varea %p (%s)", __func__, msg->fault_vaddr, (void *)varea,
              VAREA_NAME(varea));
        return -RT_ERROR;
    }
    if (!inside_varea(varea, msg->fault_vaddr, res->size)) {
        LOG_W("%s: 0x%zx bytes at %p run past the varea", __func__, (size_t)res->size, msg->fault_vaddr);
        return -RT_ERROR;
    }
    void *pa = (void *)((uintptr_t)res->vaddr + PV_OFFSET);
    if (!rt_hw_mmu_map(varea->aspace, msg->fault_vaddr, pa, res->size, mm_effect_attr(varea))) {
        LOG_W("%s: MMU map of %p to %p failed", __func__, msg->fault_vaddr, pa);
        return -RT_ERROR;
    }
    rt_hw_tlb_invalidate_range(varea->aspace, msg->fault_vaddr, res->size, ARCH_PAGE_SIZE);
    return RT_EOK;
}

static void prefetch_msg_init(struct rt_aspace_fault_msg *msg, rt_size_t off, void *vaddr)
{
    msg->off = off;
    msg->fault_vaddr = vaddr;
    msg->fault_op = MM_FAULT_OP_READ;
    msg->fault_type = MM_FAULT_TYPE_PAGE_FAULT;
    rt_mm_fault_res_init(&msg->response);
}

/* The frames of an OK response nobody mapped: the reference they came with
 * was meant for the PTEs (P5), so it goes back (RT-Thread leaks them). */
void mm_release_response(const struct rt_mm_fault_res *res)
{
    for (rt_size_t done = 0; done < res->size; done += ARCH_PAGE_SIZE)
        rt_pages_free((char *)res->vaddr + done, 0);
}

bool mm_response_size_ok(const struct rt_mm_fault_res *res)
{
    return res->status != MM_FAULT_STATUS_OK || (res->size && MM_ALIGNED(res->size));
}

int mm_prefetch_locked(rt_aspace_t aspace, rt_varea_t varea, void *start, rt_size_t size)
{
    rt_size_t done = 0;
    while (done < size) {
        char *va = (char *)start + done;
        if (rt_hw_mmu_v2p(aspace, va) != ARCH_MAP_FAILED) {
            done += ARCH_PAGE_SIZE; /* populated already: keep its frame (P2) */
            continue;
        }
        struct rt_aspace_fault_msg msg;
        prefetch_msg_init(&msg, VAREA_VA_TO_OFFSET(varea, va), va);
        varea->mem_obj->on_page_fault(varea, &msg);
        if (!mm_response_size_ok(&msg.response)) {
            LOG_W("%s: handler answered 0x%zx bytes", __func__, (size_t)msg.response.size);
            return -RT_ENOMEM;
        }
        if (rt_varea_map_with_msg(varea, &msg) != RT_EOK) {
            if (msg.response.status == MM_FAULT_STATUS_OK)
                mm_release_response(&msg.response);
            return -RT_ENOMEM;
        }
        /* A handler that maps for itself follows its own pattern: stop. */
        if (msg.response.status == MM_FAULT_STATUS_OK_MAPPED)
            break;
        done += msg.response.size;
    }
    return RT_EOK;
}
