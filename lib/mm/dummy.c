/*
 * rt_mm_dummy_mapper: a memory object whose pages are fresh frames straight
 * from the page allocator (not zeroed, P6), owned by the PTEs that map them
 * (one reference per PTE, P5).
 *
 * mmsim divergence (spec §0.1 item 1): RT-Thread's current dummy mapper has
 * an empty close and OK-only shrink/split, so its PTEs and frames outlive the
 * varea. Here close, shrink and split unmap the range they drop, invalidate
 * the TLB for it, and only then give back the reference of every RAM frame
 * it mapped (RT-Thread #9902 / PR #10100: unmapping without invalidation).
 */
#include <mmsim/pgtable.h>
#include "arch/aarch64/pt.h"
#include "mm/mm.h"

#define DBG_TAG "mm.dummy"
#include <rtdbg.h>

/* The part of one leaf (or of one empty table slot) that lies in a range. */
struct piece
{
    uintptr_t va;
    uintptr_t pa;
    rt_size_t size;
    uint64_t attr;
    bool mapped;
    bool cut; /* a block only partly in the range: unmapping it splits it */
};

/* The piece of [lo, lo + size) around va. Reads the tables: the bst lock,
 * held by every caller, serialises this against mm's own edits. */
static void piece_at(rt_aspace_t aspace, uintptr_t va, uintptr_t lo, rt_size_t size, struct piece *p)
{
    uint64_t *path[4];
    int level = pt_path(aspace->page_table, va, path);
    uint64_t d = level < 0 ? 0 : path[level][pt_index(va, level)];
    level = level < 0 ? 3 : level; /* a table outside RAM: treat the page as unmapped */
    uint64_t span = 1ull << pt_shift(level);
    uintptr_t leaf = va & ~(uintptr_t)(span - 1);
    /* offsets from lo, so a range ending at 2^64 does not wrap */
    rt_size_t from = leaf > lo ? leaf - lo : 0;
    rt_size_t to = leaf + span - lo;
    to = to < size ? to : size;
    p->va = lo + from;
    p->size = to - from;
    p->mapped = pt_is_leaf(d, level);
    p->pa = (d & pt_leaf_mask(level)) + (p->va - leaf);
    p->attr = d & MMU_ATTRIB_MASK;
    p->cut = p->mapped && (p->va != leaf || p->size != span);
}

/* After a piece is unmapped: invalidate, then return its RAM frames. */
static void drop_piece(rt_aspace_t aspace, const struct piece *p)
{
    rt_hw_tlb_invalidate_range(aspace, (void *)p->va, p->size, ARCH_PAGE_SIZE);
    for (rt_size_t off = 0; off < p->size; off += ARCH_PAGE_SIZE) {
        void *frame = rt_kmem_p2v((void *)(p->pa + off));
        if (frame) /* device pages have no frame to give back */
            rt_pages_free(frame, 0);
    }
}

static int unmap_piece(rt_aspace_t aspace, const struct piece *p)
{
    return mmsim_mmu_unmap(aspace, (void *)p->va, p->size);
}

/* Unmap and release [lo, lo + size) of varea, all-or-nothing. Only a block cut
 * by the range can fail (no page for the table a split needs), and only at
 * the range's two ends, so those go first; if the second fails the first is
 * mapped back into the table its split left behind (no allocation). */
static rt_err_t release_range(rt_varea_t varea, uintptr_t lo, rt_size_t size)
{
    rt_aspace_t aspace = varea->aspace;
    struct piece first, last, p;
    piece_at(aspace, lo, lo, size, &first);
    piece_at(aspace, lo + size - 1, lo, size, &last);
    bool two = last.va != first.va;
    int rc;
    if (first.cut && (rc = unmap_piece(aspace, &first)) != RT_EOK)
        return rc;
    if (two && last.cut && (rc = unmap_piece(aspace, &last)) != RT_EOK) {
        if (first.cut)
            rt_hw_mmu_map(aspace, (void *)first.va, (void *)first.pa, first.size, first.attr);
        return rc;
    }
    if (first.cut)
        drop_piece(aspace, &first);
    if (two && last.cut)
        drop_piece(aspace, &last);
    /* Advance from the piece's own start: once an unmap has freed a table,
     * the piece around lo + off begins below it, at the emptied slot. */
    for (rt_size_t off = 0; off < size; off = (p.va - lo) + p.size) {
        piece_at(aspace, lo + off, lo, size, &p);
        if (p.mapped && !p.cut && unmap_piece(aspace, &p) == RT_EOK)
            drop_piece(aspace, &p);
    }
    return RT_EOK;
}

/* ---- the object ------------------------------------------------------------ */

static const char *dummy_get_name(rt_varea_t varea)
{
    RT_UNUSED(varea);
    return "dummy-mapper";
}

static void dummy_page_fault(struct rt_varea *varea, struct rt_aspace_fault_msg *msg)
{
    RT_UNUSED(varea);
    void *page = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    if (!page) {
        LOG_W("%s: no frame for %p", __func__, msg->fault_vaddr);
        return; /* response stays UNRECOVERABLE */
    }
    msg->response.status = MM_FAULT_STATUS_OK;
    msg->response.size = ARCH_PAGE_SIZE;
    msg->response.vaddr = page;
}

static void dummy_open(struct rt_varea *varea)
{
    varea->data = RT_NULL;
}

static void dummy_close(struct rt_varea *varea)
{
    /* A whole varea cuts no block, so this cannot fail. */
    if (release_range(varea, (uintptr_t)varea->start, varea->size) != RT_EOK)
        LOG_E("%s: varea %p kept its pages", __func__, (void *)varea);
}

static rt_err_t dummy_expand(struct rt_varea *varea, void *new_vaddr, rt_size_t size)
{
    RT_UNUSED(varea);
    RT_UNUSED(new_vaddr);
    RT_UNUSED(size);
    return RT_EOK;
}

static rt_err_t dummy_shrink(struct rt_varea *varea, void *new_start, rt_size_t size)
{
    uintptr_t start = (uintptr_t)varea->start, keep = (uintptr_t)new_start;
    if (keep == start) /* the tail goes */
        return release_range(varea, start + size, varea->size - size);
    return release_range(varea, start, keep - start);
}

static rt_err_t dummy_split(struct rt_varea *existed, void *unmap_start, rt_size_t unmap_len,
                            struct rt_varea *subset)
{
    /* The subset's PTEs simply become its own. */
    subset->data = RT_NULL;
    return release_range(existed, (uintptr_t)unmap_start, unmap_len);
}

static rt_err_t dummy_merge(struct rt_varea *merge_to, struct rt_varea *merge_from)
{
    RT_UNUSED(merge_to);
    RT_UNUSED(merge_from);
    return RT_EOK;
}

/* The frame behind a page of the varea, or NULL (unmapped, or not RAM). */
static void *frame_of(struct rt_varea *varea, void *va)
{
    void *pa = rt_hw_mmu_v2p(varea->aspace, va);
    return pa == ARCH_MAP_FAILED ? RT_NULL : rt_kmem_p2v(pa);
}

static void dummy_page_read(struct rt_varea *varea, struct rt_aspace_io_msg *msg)
{
    void *frame = frame_of(varea, msg->fault_vaddr);
    if (!frame)
        return;
    memcpy(msg->buffer_vaddr, frame, ARCH_PAGE_SIZE);
    msg->response.status = MM_FAULT_STATUS_OK;
}

static void dummy_page_write(struct rt_varea *varea, struct rt_aspace_io_msg *msg)
{
    void *frame = frame_of(varea, msg->fault_vaddr);
    if (!frame)
        return;
    memcpy(frame, msg->buffer_vaddr, ARCH_PAGE_SIZE);
    msg->response.status = MM_FAULT_STATUS_OK;
}

struct rt_mem_obj rt_mm_dummy_mapper = {
    .get_name = dummy_get_name,
    .hint_free = RT_NULL,
    .on_page_fault = dummy_page_fault,
    .on_varea_open = dummy_open,
    .on_varea_close = dummy_close,
    .on_varea_shrink = dummy_shrink,
    .on_varea_split = dummy_split,
    .on_varea_expand = dummy_expand,
    .on_varea_merge = dummy_merge,
    .page_read = dummy_page_read,
    .page_write = dummy_page_write,
};
