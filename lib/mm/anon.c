/*
 * The anonymous (private) object of an aspace — memory whose only backing is
 * the aspace's page table (RT-Thread's mm_anon.c) — rt_aspace_map_private,
 * and copy-on-write (rt_varea_fix_private_locked).
 *
 * References: the owning ("backup") aspace holds one, and every varea of the
 * object, in any aspace, one more (on_varea_open; a split's subset opens too,
 * a merge gives merge_from's back — P7). The last one frees the object. After
 * a fork the old aspace is the object's read-only page store: it lives while
 * references beyond `readonly` (its own plus its vareas') remain, and the one
 * that brings the count down to it deletes the old aspace and its table.
 *
 * Pages: one reference per PTE (P5). A page of a varea in the owning aspace
 * is a fresh frame (not zeroed, P6) mapped user-writable; a page of a varea
 * elsewhere (a "reference" varea after fork) is the owner's frame, mapped
 * read-only there because the varea is private to a foreign object, so a
 * write faults into copy-on-write.
 */
#include "mm/mm.h"

#define DBG_TAG "mm.anon"
#include <rtdbg.h>

struct rt_private_ctx
{
    struct rt_mem_obj mem_obj; /* first: rt_free(aspace->private_object) frees the context */
    rt_aspace_t backup_aspace;
    rt_atomic_t reference;
    long readonly;             /* 0, or the base count of fork's page store */
};

struct rt_private_ctx *mm_anon_ctx(rt_mem_obj_t aobj)
{
    return rt_container_of(aobj, struct rt_private_ctx, mem_obj);
}

static rt_aspace_t backup_of(rt_mem_obj_t aobj) { return mm_anon_ctx(aobj)->backup_aspace; }

long mmsim_anon_reference(rt_mem_obj_t aobj)
{
    return aobj ? (long)rt_atomic_load(&mm_anon_ctx(aobj)->reference) : 0;
}

rt_aspace_t mmsim_anon_backup(rt_mem_obj_t aobj) { return aobj ? backup_of(aobj) : RT_NULL; }

long mmsim_anon_readonly(rt_mem_obj_t aobj) { return aobj ? mm_anon_ctx(aobj)->readonly : 0; }

/* ---- reference counting ---------------------------------------------------- */

static void anon_ref_inc(rt_mem_obj_t aobj) { rt_atomic_add(&mm_anon_ctx(aobj)->reference, 1); }

/* Nobody refers to the page store any more: delete it. Clearing readonly
 * first makes the store's own vareas and reference end the object normally. */
static void delete_page_store(struct rt_private_ctx *ctx)
{
    rt_aspace_t store = ctx->backup_aspace;
    void *pgtbl = store->page_table;
    ctx->readonly = 0;
    rt_aspace_delete(store);
    rt_hw_mmu_pgtbl_delete(pgtbl);
}

rt_err_t rt_aspace_anon_ref_dec(rt_mem_obj_t aobj)
{
    if (!aobj)
        return -RT_EINVAL;
    struct rt_private_ctx *ctx = mm_anon_ctx(aobj);
    long former = (long)rt_atomic_add(&ctx->reference, -1);
    if (ctx->readonly) {
        RT_ASSERT(former - 1 >= ctx->readonly);
        if (former - 1 == ctx->readonly)
            delete_page_store(ctx);
    } else if (former < 2) {
        ctx->backup_aspace->private_object = RT_NULL;
        rt_free(ctx);
    }
    return RT_EOK;
}

/* ---- pages ----------------------------------------------------------------- */

/* Map `frame` at va of varea; the PTE takes its own reference (P5). */
static bool map_frame(rt_varea_t varea, void *va, void *frame)
{
    if (rt_varea_map_page(varea, va, frame) != RT_EOK)
        return false;
    rt_varea_pgmgr_insert(varea, frame);
    return true;
}

/* A fresh frame mapped at va of a varea in the owning aspace, held by its PTE
 * alone; NULL when no frame or table page can be had. */
static void *populate(rt_varea_t varea, void *va, rt_size_t off)
{
    struct rt_aspace_fault_msg msg = {
        .fault_op = MM_FAULT_OP_WRITE,
        .fault_type = MM_FAULT_TYPE_PAGE_FAULT,
        .off = off,
        .fault_vaddr = va,
    };
    rt_mm_fault_res_init(&msg.response);
    rt_mm_dummy_mapper.on_page_fault(varea, &msg);
    if (msg.response.status == MM_FAULT_STATUS_UNRECOVERABLE)
        return RT_NULL;
    void *frame = msg.response.vaddr;
    bool mapped = map_frame(varea, va, frame);
    /* the allocation's reference goes either way (RT-Thread leaks the frame
     * when the map fails) */
    rt_pages_free(frame, 0);
    return mapped ? frame : RT_NULL;
}

/* The owner's frame for object page `off`, populated there if needed. The
 * lookup and the fill happen under one hold of the owner's lock (RT-Thread
 * looks up unlocked, P11). */
static void *page_from_store(rt_aspace_t store, rt_size_t off)
{
    void *va = (void *)(off << MM_PAGE_SHIFT);
    void *frame = RT_NULL;
    WR_LOCK(store);
    rt_varea_t varea = _aspace_bst_search(store, va);
    if (varea) {
        void *pa = rt_hw_mmu_v2p(store, va);
        frame = pa == ARCH_MAP_FAILED ? populate(varea, va, off) : rt_kmem_p2v(pa);
    } else {
        LOG_E("%s: object page %zu is outside the owning aspace", __func__, (size_t)off);
    }
    WR_UNLOCK(store);
    return frame;
}

/* RT-Thread's _fetch_page_for_varea. need_map is honoured only for a varea
 * outside the owner: in the owner a fetched page is always mapped (§0.1 item 5). */
static void fetch(rt_varea_t varea, struct rt_aspace_fault_msg *msg, bool need_map)
{
    struct rt_mm_fault_res *res = &msg->response;
    rt_aspace_t here = varea->aspace, store = backup_of(varea->mem_obj);
    if (rt_hw_mmu_v2p(here, msg->fault_vaddr) != ARCH_MAP_FAILED) {
        res->status = MM_FAULT_STATUS_OK_MAPPED; /* another thread was first */
        return;
    }
    void *frame = here == store ? populate(varea, msg->fault_vaddr, msg->off)
                                : page_from_store(store, msg->off);
    if (!frame)
        return;
    res->vaddr = frame;
    res->size = ARCH_PAGE_SIZE;
    if (here == store || (need_map && map_frame(varea, msg->fault_vaddr, frame)))
        res->status = MM_FAULT_STATUS_OK_MAPPED;
    else if (!need_map)
        res->status = MM_FAULT_STATUS_OK;
}

static void anon_page_fault(struct rt_varea *varea, struct rt_aspace_fault_msg *msg)
{
    fetch(varea, msg, true);
}

static void io_msg_to_fault(const struct rt_aspace_io_msg *io, enum rt_mm_fault_op op,
                            struct rt_aspace_fault_msg *msg)
{
    msg->fault_op = op;
    msg->fault_type = MM_FAULT_TYPE_PAGE_FAULT;
    msg->fault_vaddr = io->fault_vaddr;
    msg->off = io->off;
    rt_mm_fault_res_init(&msg->response);
}

/* Copy the frame `pa` (ARCH_MAP_FAILED: none) into the buffer. */
static void copy_frame(void *pa, struct rt_aspace_io_msg *io)
{
    void *frame = pa == ARCH_MAP_FAILED ? RT_NULL : rt_kmem_p2v(pa);
    if (!frame)
        return;
    memcpy(io->buffer_vaddr, frame, ARCH_PAGE_SIZE);
    io->response.status = MM_FAULT_STATUS_OK;
}

static void read_through(rt_aspace_t aspace, void *va, struct rt_aspace_io_msg *io)
{
    copy_frame(rt_hw_mmu_v2p(aspace, va), io);
}

static void anon_page_read(struct rt_varea *varea, struct rt_aspace_io_msg *io)
{
    void *pa = rt_hw_mmu_v2p(varea->aspace, io->fault_vaddr);
    if (pa != ARCH_MAP_FAILED) { /* one walk: a COW copies on every fault */
        copy_frame(pa, io);
        return;
    }
    struct rt_aspace_fault_msg msg;
    io_msg_to_fault(io, MM_FAULT_OP_READ, &msg);
    fetch(varea, &msg, false);
    if (msg.response.status != MM_FAULT_STATUS_UNRECOVERABLE)
        read_through(backup_of(varea->mem_obj), (void *)(io->off << MM_PAGE_SHIFT), io);
}

/* Only the owner writes its pages; a reference varea must copy first. */
static void anon_page_write(struct rt_varea *varea, struct rt_aspace_io_msg *io)
{
    rt_aspace_t store = backup_of(varea->mem_obj);
    if (varea->aspace != store)
        return;
    if (rt_hw_mmu_v2p(store, io->fault_vaddr) == ARCH_MAP_FAILED) {
        struct rt_aspace_fault_msg msg;
        io_msg_to_fault(io, MM_FAULT_OP_WRITE, &msg);
        fetch(varea, &msg, true);
        if (msg.response.status != MM_FAULT_STATUS_OK_MAPPED)
            return;
    }
    if (rt_aspace_page_put_phy(store, io->fault_vaddr, io->buffer_vaddr) == RT_EOK)
        io->response.status = MM_FAULT_STATUS_OK;
}

/* ---- varea life cycle -------------------------------------------------------- */

static const char *anon_get_name(rt_varea_t varea)
{
    return varea->aspace == backup_of(varea->mem_obj) ? "anonymous" : "reference";
}

static void anon_open(struct rt_varea *varea)
{
    anon_ref_inc(varea->mem_obj);
    /* in the owner, an object page number is the VA's page number */
    if (varea->aspace == backup_of(varea->mem_obj))
        varea->offset = MM_PA_TO_OFF(varea->start);
    varea->data = RT_NULL;
}

static void anon_close(struct rt_varea *varea)
{
    /* pages first: the reference may be the last and free the object */
    rt_mm_dummy_mapper.on_varea_close(varea);
    rt_aspace_anon_ref_dec(varea->mem_obj);
}

static rt_err_t anon_expand(struct rt_varea *varea, void *new_vaddr, rt_size_t size)
{
    RT_UNUSED(varea);
    RT_UNUSED(new_vaddr);
    RT_UNUSED(size);
    return RT_EOK;
}

static rt_err_t anon_shrink(struct rt_varea *varea, void *new_start, rt_size_t size)
{
    return rt_mm_dummy_mapper.on_varea_shrink(varea, new_start, size);
}

static rt_err_t anon_split(struct rt_varea *existed, void *unmap_start, rt_size_t unmap_len,
                           struct rt_varea *subset)
{
    /* The subset takes its reference only once the split happened (RT-Thread
     * opens it first and leaks the reference when the split fails). */
    rt_err_t rc = rt_mm_dummy_mapper.on_varea_split(existed, unmap_start, unmap_len, subset);
    if (rc == RT_EOK)
        anon_open(subset);
    return rc;
}

/* merge_from's PTEs become merge_to's; its reference goes (P7: RT-Thread's
 * newest merge keeps it, so the object can never be freed; the one before
 * closed merge_from, unmapping its pages). */
static rt_err_t anon_merge(struct rt_varea *merge_to, struct rt_varea *merge_from)
{
    RT_UNUSED(merge_to);
    rt_aspace_anon_ref_dec(merge_from->mem_obj);
    return RT_EOK;
}

static const struct rt_mem_obj anon_ops = {
    .get_name = anon_get_name,
    .hint_free = RT_NULL,
    .on_page_fault = anon_page_fault,
    .on_varea_open = anon_open,
    .on_varea_close = anon_close,
    .on_varea_shrink = anon_shrink,
    .on_varea_split = anon_split,
    .on_varea_expand = anon_expand,
    .on_varea_merge = anon_merge,
    .page_read = anon_page_read,
    .page_write = anon_page_write,
};

/* ---- the aspace's own object ------------------------------------------------- */

rt_mem_obj_t mm_anon_get(rt_aspace_t aspace, bool *created)
{
    *created = false;
    if (aspace->private_object)
        return aspace->private_object;
    struct rt_private_ctx *ctx = rt_malloc(sizeof *ctx);
    if (!ctx)
        return RT_NULL;
    ctx->mem_obj = anon_ops;
    rt_atomic_store(&ctx->reference, 1); /* the owning aspace's own */
    ctx->readonly = 0;
    ctx->backup_aspace = aspace;
    aspace->private_object = &ctx->mem_obj;
    *created = true;
    return &ctx->mem_obj;
}

bool mm_is_anon(rt_mem_obj_t aobj) { return aobj && aobj->on_varea_open == anon_open; }

void mm_anon_unbind(rt_aspace_t aspace)
{
    rt_free(mm_anon_ctx(aspace->private_object));
    aspace->private_object = RT_NULL;
}

int rt_aspace_map_private(rt_aspace_t aspace, void **addr, rt_size_t length, rt_size_t attr,
                          mm_flag_t flags)
{
    if (flags & MMF_STATIC_ALLOC)
        return -RT_EINVAL;
    if (!aspace || !addr) {
        if (addr)
            *addr = RT_NULL;
        return -RT_EINVAL; /* RT-Thread dereferences both */
    }
    bool created;
    WR_LOCK(aspace);
    rt_mem_obj_t own = mm_anon_get(aspace, &created);
    int rc = -RT_ENOMEM;
    if (own)
        rc = rt_aspace_map(aspace, addr, length, attr, (flags | MMF_MAP_PRIVATE) & ~MMF_PREFETCH, own, 0);
    else
        *addr = RT_NULL;
    /* a failed map leaves no object behind (RT-Thread keeps it) */
    if (rc != RT_EOK && created)
        mm_anon_unbind(aspace);
    WR_UNLOCK(aspace);
    return rc;
}

/* ---- fork's page store ---------------------------------------------------------- */

void mm_anon_convert_readonly(rt_aspace_t old, long base_reference)
{
    WR_LOCK(old);
    rt_varea_t varea = ASPACE_VAREA_FIRST(old);
    while (varea) {
        rt_varea_t next = ASPACE_VAREA_NEXT(varea);
        if (varea->mem_obj != old->private_object || !old->private_object)
            mm_remove_varea_locked(varea);
        varea = next;
    }
    WR_UNLOCK(old);
    rt_mem_obj_t own = old->private_object;
    if (!own) {
        /* nothing in it can be referred to (P4: RT-Thread crashes earlier) */
        void *pgtbl = old->page_table;
        rt_aspace_delete(old);
        rt_hw_mmu_pgtbl_delete(pgtbl);
        return;
    }
    struct rt_private_ctx *ctx = mm_anon_ctx(own);
    ctx->readonly = base_reference;
    /* no varea anywhere refers to it: RT-Thread would keep it forever (§0.1 item 8) */
    if (mmsim_anon_reference(own) == base_reference)
        delete_page_store(ctx);
}

/* ---- copy-on-write ------------------------------------------------------------- */

/* Everything a copy-on-write needs, obtained before anything changes. */
struct cow
{
    rt_aspace_t aspace;
    void *va;
    void *frame;                      /* the private copy; ours until mapped */
    rt_mem_obj_t own;                 /* the aspace's anonymous object */
    bool own_created;
    struct mmsim_mmu_reserve tables;
};

static int cow_reserve(struct cow *c, void *old_pa)
{
    c->frame = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    if (!c->frame)
        return -RT_ENOMEM;
    c->own = mm_anon_get(c->aspace, &c->own_created);
    if (!c->own)
        return -RT_ENOMEM;
    /* Replacing a mapped page can free the tables above it before the copy is
     * mapped: reserve for an empty part of the tables. */
    if (old_pa != ARCH_MAP_FAILED)
        return mm_reserve_table_pages(&c->tables, mmsim_mmu_unmap_frees(c->aspace, c->va));
    return mmsim_mmu_reserve(c->aspace, c->va, (void *)((uintptr_t)c->frame + PV_OFFSET), ARCH_PAGE_SIZE, &c->tables);
}

/* Give back what a copy-on-write did not use; a failed one also drops the
 * object it created, which no varea holds yet. */
static void cow_release(struct cow *c, bool done)
{
    mmsim_mmu_reserve_release(&c->tables);
    if (c->frame)
        rt_pages_free(c->frame, 0);
    if (!done && c->own_created)
        mm_anon_unbind(c->aspace);
}

static bool cow_copy(rt_varea_t ex_varea, const struct rt_aspace_fault_msg *msg, void *frame)
{
    struct rt_aspace_io_msg io;
    rt_mm_io_msg_init(&io, msg->off, msg->fault_vaddr, frame);
    ex_varea->mem_obj->page_read(ex_varea, &io);
    return io.response.status != MM_FAULT_STATUS_UNRECOVERABLE;
}

/* RT-Thread's _override_map: a one-page MAP_FIXED of the own object over the
 * page (ex_varea's object shrinks, splits or closes it; a neighbouring
 * private varea may absorb it), then the copy mapped there from the reserved
 * tables, so nothing after the map can fail. */
static int cow_commit(struct cow *c, rt_varea_t ex_varea, struct rt_aspace_fault_msg *msg)
{
    /* MMF_STATIC_ALLOC too: the new varea comes from the heap (RT-Thread keeps
     * the flag, and the varea is then never freed) */
    mm_flag_t flags = (ex_varea->flag | MMF_MAP_FIXED) & ~(MMF_PREFETCH | MMF_STATIC_ALLOC);
    rt_size_t attr = rt_hw_mmu_attr_add_perm(ex_varea->attr, RT_HW_MMU_PROT_USER | RT_HW_MMU_PROT_WRITE);
    rt_varea_t map_varea = RT_NULL;
    void *va = c->va;
    int rc = _mm_aspace_map(c->aspace, &map_varea, &va, ARCH_PAGE_SIZE, attr, flags, c->own,
                            MM_PA_TO_OFF(c->va));
    if (rc != RT_EOK)
        return rc; /* ex_varea's object refused: nothing changed */
    void *pa = (void *)((uintptr_t)c->frame + PV_OFFSET);
    void *mapped = mmsim_mmu_map_reserved(c->aspace, va, pa, ARCH_PAGE_SIZE, mm_effect_attr(map_varea),
                                          &c->tables);
    RT_ASSERT(mapped != RT_NULL);
    rt_hw_tlb_invalidate_range(c->aspace, va, ARCH_PAGE_SIZE, ARCH_PAGE_SIZE);
    rt_varea_pgmgr_insert(map_varea, c->frame);
    msg->response.status = MM_FAULT_STATUS_OK;
    msg->response.vaddr = c->frame;
    msg->response.size = ARCH_PAGE_SIZE;
    return RT_EOK; /* the allocation's reference goes in cow_release */
}

int rt_varea_fix_private_locked(rt_varea_t ex_varea, void *pa, struct rt_aspace_fault_msg *msg,
                                rt_bool_t dont_copy)
{
    MMSIM_PRECOND(ex_varea != RT_NULL && msg != RT_NULL, MM_FAULT_FIXABLE_FALSE,
                  "rt_varea_fix_private_locked: ex_varea and msg must not be NULL");
    rt_mem_obj_t ex_obj = ex_varea->mem_obj;
    if (!ex_obj || !ex_obj->page_read) {
        LOG_I("%s: %s has no object to copy from", __func__, VAREA_NAME(ex_varea));
        return MM_FAULT_FIXABLE_FALSE;
    }
    rt_aspace_t aspace = ex_varea->aspace;
    MMSIM_PRECOND(aspace->private_object != ex_obj, MM_FAULT_FIXABLE_FALSE,
                  "rt_varea_fix_private_locked: ex_varea must not be the aspace's own anonymous memory");
    MMSIM_PRECOND(MM_ALIGNED(msg->fault_vaddr), MM_FAULT_FIXABLE_FALSE,
                  "rt_varea_fix_private_locked: msg->fault_vaddr must be page aligned");
    /* `pa` is only the caller's view (RT-Thread ignores it); the reservation
     * must follow the table as it is */
    RT_UNUSED(pa);
    struct cow c = { .aspace = aspace, .va = msg->fault_vaddr };
    int rc = cow_reserve(&c, rt_hw_mmu_v2p(aspace, c.va));
    if (rc == RT_EOK && !dont_copy && !cow_copy(ex_varea, msg, c.frame))
        rc = -RT_ERROR;
    if (rc == RT_EOK)
        rc = cow_commit(&c, ex_varea, msg);
    cow_release(&c, rc == RT_EOK);
    if (rc != RT_EOK)
        LOG_I("%s: no private copy of %p (%d)", __func__, msg->fault_vaddr, rc);
    return rc == RT_EOK ? MM_FAULT_FIXABLE_TRUE : MM_FAULT_FIXABLE_FALSE;
}
