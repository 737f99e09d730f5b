/*
 * The zero object (RT-Thread's `_null_object` in lwp_user_mm.c): backing of
 * anonymous mmap and the user stack. Every page faults in as one shared,
 * zeroed frame. Its vareas are MMF_MAP_PRIVATE mappings of a foreign object,
 * so mm maps that frame user read-only and a write copies it into the
 * aspace's own anonymous object (COW); the zero frame is never writable.
 *
 * The zero frame is an ordinary frame of the page allocator (RT-Thread uses a
 * static page in the kernel image): the layer holds one reference while it
 * exists, each PTE one more (P5), and it is freed as soon as no PTE maps it
 * — so a machine tears down leak-free.
 */
#include <string.h>
#include "lwp/lwp_internal.h"
#include <mm_private.h>
#include <mm_page.h>
#include <mmsim/machine.h>
#include <mmsim/mm_check.h>

static RT_DEFINE_SPINLOCK(g_zero_lock); /* guards both below; innermost lock */
static void *g_zero_page;               /* kernel address, or NULL */
static uint64_t g_zero_generation;      /* the machine boot it belongs to */

/* A zero page left by an earlier machine (a test that failed before freeing
 * its processes) is not this machine's frame: forget it. */
static void zero_forget_stale_locked(void)
{
    if (g_zero_page && g_zero_generation != mmsim_machine_generation())
        g_zero_page = NULL;
}

void *mmsim_lwp_zero_page(void)
{
    rt_spin_lock(&g_zero_lock);
    zero_forget_stale_locked();
    void *page = g_zero_page;
    rt_spin_unlock(&g_zero_lock);
    return page;
}

/* The layer's reference, declared to the invariant checker; all or nothing. */
static void zero_page_create_locked(void)
{
    void *page = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    if (!page)
        return;
    if (mmsim_mm_owner_register(page, 1, true) != RT_EOK)
    {
        rt_pages_free(page, 0);
        return;
    }
    memset(page, 0, ARCH_PAGE_SIZE);
    g_zero_page = page;
    g_zero_generation = mmsim_machine_generation();
}

/* The zero page with one more reference (for a PTE), allocated on first use;
 * NULL without a free frame. */
static void *zero_page_for_pte(void)
{
    rt_spin_lock(&g_zero_lock);
    zero_forget_stale_locked();
    if (!g_zero_page)
        zero_page_create_locked();
    void *page = g_zero_page;
    if (page)
        rt_page_ref_inc(page, 0);
    rt_spin_unlock(&g_zero_lock);
    return page;
}

void lwp_zero_release_unused(void)
{
    rt_spin_lock(&g_zero_lock);
    zero_forget_stale_locked();
    if (g_zero_page && rt_page_ref_get(g_zero_page, 0) == 1)
    {
        mmsim_mm_owner_register(g_zero_page, 0, true);
        rt_pages_free(g_zero_page, 0);
        g_zero_page = NULL;
    }
    rt_spin_unlock(&g_zero_lock);
}

static void null_page_fault(struct rt_varea *varea, struct rt_aspace_fault_msg *msg)
{
    msg->response.status = MM_FAULT_STATUS_UNRECOVERABLE;
    /* Only a private varea maps the page read-only; serving a shared one
     * would make the zero page writable (RT-Thread does: D45). */
    if (!rt_varea_is_private_locked(varea))
        return;
    void *page = zero_page_for_pte();
    if (!page)
        return;
    msg->response.status = MM_FAULT_STATUS_OK; /* the reference goes to the PTE */
    msg->response.vaddr = page;
    msg->response.size = ARCH_PAGE_SIZE;
}

/* A page of this object is zero whether mapped or not (a written page has
 * already moved to the anonymous object). */
static void null_page_read(struct rt_varea *varea, struct rt_aspace_io_msg *msg)
{
    (void)varea;
    memset(msg->buffer_vaddr, 0, ARCH_PAGE_SIZE);
    msg->response.status = MM_FAULT_STATUS_OK;
}

static void null_page_write(struct rt_varea *varea, struct rt_aspace_io_msg *msg)
{
    (void)varea;
    msg->response.status = MM_FAULT_STATUS_UNRECOVERABLE; /* the zero page stays zero */
}

static const char *null_get_name(rt_varea_t varea)
{
    (void)varea;
    return "null";
}

/* Closing, shrinking and splitting unmap pages as the dummy mapper does
 * (dropping each PTE's reference); then the zero page may be unused. */
static void null_close(struct rt_varea *varea)
{
    rt_mm_dummy_mapper.on_varea_close(varea);
    lwp_zero_release_unused();
}

static rt_err_t null_shrink(struct rt_varea *varea, void *new_vaddr, rt_size_t size)
{
    rt_err_t rc = rt_mm_dummy_mapper.on_varea_shrink(varea, new_vaddr, size);
    lwp_zero_release_unused();
    return rc;
}

static rt_err_t null_split(struct rt_varea *existed, void *unmap_start, rt_size_t unmap_len,
                           struct rt_varea *subset)
{
    rt_err_t rc = rt_mm_dummy_mapper.on_varea_split(existed, unmap_start, unmap_len, subset);
    lwp_zero_release_unused();
    return rc;
}

static rt_err_t null_expand(struct rt_varea *varea, void *new_vaddr, rt_size_t size)
{
    (void)varea;
    (void)new_vaddr;
    (void)size;
    return RT_EOK;
}

struct rt_mem_obj mmsim_lwp_null_object = {
    .get_name = null_get_name,
    .on_page_fault = null_page_fault,
    .on_varea_close = null_close,
    .on_varea_expand = null_expand,
    .on_varea_shrink = null_shrink,
    .on_varea_split = null_split,
    .page_read = null_page_read,
    .page_write = null_page_write,
};
