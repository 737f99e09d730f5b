/* devobj: the callbacks of a file-backed rt_mem_obj (see devobj.h). Every
 * callback runs with the aspace's bst lock held, so the page tables of
 * varea->aspace are ours to read and edit. */
#include <mm_page.h>
#include <mm_private.h>
#include <tlb.h>
#include "devobj.h"

static struct devobj *dev_of(rt_varea_t varea)
{
    return rt_container_of(varea->mem_obj, struct devobj, obj);
}

/* Unmap [va, va + size) of varea and drop the reference of every page that
 * was mapped. Order matters: PTE gone, TLB invalidated, only then the frame
 * may be freed (RT-Thread #9902: freeing first leaves a stale translation). */
static void release(rt_varea_t varea, uintptr_t va, rt_size_t size)
{
    rt_aspace_t aspace = varea->aspace;
    for (uintptr_t at = va; at < va + size; at += ARCH_PAGE_SIZE) {
        void *pa = rt_hw_mmu_v2p(aspace, (void *)at);
        if (pa == ARCH_MAP_FAILED)
            continue; /* never faulted in */
        rt_hw_mmu_unmap(aspace, (void *)at, ARCH_PAGE_SIZE);
        rt_hw_tlb_invalidate_page(aspace, (void *)at);
        rt_pages_free(rt_kmem_p2v(pa), 0);
    }
}

static const char *dev_name(rt_varea_t varea)
{
    RT_UNUSED(varea);
    return "devobj";
}

static void dev_open(rt_varea_t varea)
{
    dev_of(varea)->vareas++;
}

/* Hand the file's frame for msg->off to the core: status OK gives the core
 * one reference, which the new PTE keeps. Past the end: unrecoverable (the
 * process would get SIGBUS). */
static void dev_fault(rt_varea_t varea, struct rt_aspace_fault_msg *msg)
{
    struct devobj *dev = dev_of(varea);
    dev->faults++;
    if (msg->off >= dev->npages)
        return; /* response stays MM_FAULT_STATUS_UNRECOVERABLE */
    void *page = dev->pages[msg->off];
    rt_page_ref_inc(page, 0);
    msg->response.vaddr = page;
    msg->response.size = ARCH_PAGE_SIZE;
    msg->response.status = MM_FAULT_STATUS_OK;
}

/* The varea keeps [new_start, new_start + size): give back both ends. */
static rt_err_t dev_shrink(rt_varea_t varea, void *new_start, rt_size_t size)
{
    uintptr_t lo = (uintptr_t)varea->start, keep = (uintptr_t)new_start;
    uintptr_t end = lo + varea->size, keep_end = keep + size;
    release(varea, lo, keep - lo);
    release(varea, keep_end, end - keep_end);
    dev_of(varea)->shrinks++;
    return RT_EOK;
}

/* The hole goes; the part above it becomes `subset` (filled in by the core),
 * a varea of ours from now on although on_varea_open is not called for it. */
static rt_err_t dev_split(rt_varea_t existed, void *unmap_start, rt_size_t unmap_len,
                          rt_varea_t subset)
{
    RT_UNUSED(subset);
    release(existed, (uintptr_t)unmap_start, unmap_len);
    struct devobj *dev = dev_of(existed);
    dev->splits++;
    dev->vareas++;
    return RT_EOK;
}

/* An object with on_varea_close must unmap the varea itself. */
static void dev_close(rt_varea_t varea)
{
    release(varea, (uintptr_t)varea->start, varea->size);
    struct devobj *dev = dev_of(varea);
    dev->closes++;
    dev->vareas--;
}

/* page_get, and the copy of a copy-on-write. */
static void dev_page_read(rt_varea_t varea, struct rt_aspace_io_msg *msg)
{
    struct devobj *dev = dev_of(varea);
    if (msg->off >= dev->npages)
        return;
    rt_memcpy(msg->buffer_vaddr, dev->pages[msg->off], ARCH_PAGE_SIZE);
    msg->response.status = MM_FAULT_STATUS_OK;
}

static void dev_page_write(rt_varea_t varea, struct rt_aspace_io_msg *msg)
{
    struct devobj *dev = dev_of(varea);
    if (msg->off >= dev->npages)
        return;
    rt_memcpy(dev->pages[msg->off], msg->buffer_vaddr, ARCH_PAGE_SIZE);
    msg->response.status = MM_FAULT_STATUS_OK;
}

static const struct rt_mem_obj devobj_ops = {
    .get_name = dev_name,
    .on_varea_open = dev_open,
    .on_page_fault = dev_fault,
    .on_varea_shrink = dev_shrink,
    .on_varea_split = dev_split,
    .on_varea_close = dev_close,
    .page_read = dev_page_read,
    .page_write = dev_page_write,
};

static void free_pages(struct devobj *dev)
{
    for (rt_size_t i = 0; i < dev->npages; i++)
        if (dev->pages[i])
            rt_pages_free(dev->pages[i], 0);
    rt_free(dev->pages);
    rt_free(dev);
}

struct devobj *devobj_create(rt_size_t npages)
{
    RT_ASSERT(npages > 0);
    if (npages == 0)
        return RT_NULL;
    struct devobj *dev = rt_malloc(sizeof *dev);
    if (!dev)
        return RT_NULL;
    rt_memset(dev, 0, sizeof *dev);
    dev->obj = devobj_ops;
    dev->pages = rt_malloc(npages * sizeof *dev->pages);
    if (!dev->pages) {
        rt_free(dev);
        return RT_NULL;
    }
    rt_memset(dev->pages, 0, npages * sizeof *dev->pages);
    dev->npages = npages;
    for (rt_size_t i = 0; i < npages; i++) {
        dev->pages[i] = rt_pages_alloc(0);
        if (!dev->pages[i]) {
            free_pages(dev);
            return RT_NULL;
        }
        rt_memset(dev->pages[i], 'A' + (int)(i % 26), ARCH_PAGE_SIZE);
    }
    return dev;
}

void devobj_destroy(struct devobj *dev)
{
    RT_ASSERT(dev->vareas == 0);
    if (dev->vareas == 0)
        free_pages(dev);
}

void devobj_owner_refs(const struct devobj *dev, struct mmsim_mm_owner_ref *out)
{
    for (rt_size_t i = 0; i < dev->npages; i++) {
        out[i].frame = dev->pages[i];
        out[i].refs = 1;
    }
}
