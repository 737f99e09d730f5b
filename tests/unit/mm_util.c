#include <stdio.h>
#include <string.h>
#include <mmsim/mm_check.h>
#include "mm_util.h"

rt_aspace_t mmt_user_aspace(void)
{
    void *pgtbl = rt_hw_mmu_pgtbl_create();
    assert_non_null(pgtbl);
    rt_aspace_t aspace = rt_aspace_create((void *)USER_START, USER_TOP - USER_START, pgtbl);
    assert_non_null(aspace);
    return aspace;
}

void mmt_aspace_free(rt_aspace_t aspace)
{
    void *pgtbl = aspace->page_table;
    struct rt_aspace view = *aspace;
    rt_aspace_delete(aspace);
    /* every varea gone means every table below the root went with it */
    struct mmsim_mmu_info info;
    assert_int_equal(mmsim_mmu_check(&view, stderr, &info), 0);
    assert_int_equal(info.table_pages, 1);
    rt_hw_mmu_pgtbl_delete(pgtbl);
}

size_t mmt_frames(void)
{
    struct mmsim_phys_stats st;
    mmsim_phys_stats_get(&st);
    return st.allocated_frames;
}

size_t mmt_tables(rt_aspace_t aspace)
{
    struct mmsim_mmu_info info;
    assert_int_equal(mmsim_mmu_check(aspace, stderr, &info), 0);
    return info.table_pages;
}

size_t mmt_pages(rt_aspace_t aspace)
{
    struct mmsim_mmu_info info;
    assert_int_equal(mmsim_mmu_check(aspace, stderr, &info), 0);
    return info.pages;
}

static int count_one(rt_varea_t varea, void *arg)
{
    (void)varea;
    (*(int *)arg)++;
    return 0;
}

int mmt_vareas(rt_aspace_t aspace)
{
    int n = 0;
    rt_aspace_traversal(aspace, count_one, &n);
    return n;
}

/* Height of the subtree; fails on a broken link, height or balance. */
static long check_node(struct util_avl_struct *n, struct util_avl_struct *parent, int *count)
{
    if (!n)
        return 0;
    if (n->parent != parent)
        fail_msg("avl: node %p has parent %p, expected %p", (void *)n, (void *)n->parent, (void *)parent);
    long l = check_node(n->avl_left, n, count), r = check_node(n->avl_right, n, count);
    long h = 1 + (l > r ? l : r);
    if (n->height != h)
        fail_msg("avl: node %p height %ld, expected %ld", (void *)n, n->height, h);
    if (l - r > 1 || r - l > 1)
        fail_msg("avl: node %p unbalanced (%ld, %ld)", (void *)n, l, r);
    (*count)++;
    return h;
}

void mmt_check_tree(rt_aspace_t aspace)
{
    int n = 0;
    long h = check_node(aspace->tree.root, NULL, &n);
    /* An AVL tree of height h holds at least N(h) = N(h-1) + N(h-2) + 1 nodes. */
    long fewest = 0, prev = 0;
    for (long i = 1; i <= h; i++) {
        long next = fewest + prev + 1;
        prev = fewest;
        fewest = next;
    }
    if (n < fewest)
        fail_msg("avl: height %ld for %d nodes", h, n);
    int seen = 0;
    uintptr_t prev_end = 0;
    uintptr_t lo = (uintptr_t)aspace->start, last = lo + aspace->size - 1;
    for (rt_varea_t v = ASPACE_VAREA_FIRST(aspace); v; v = ASPACE_VAREA_NEXT(v), seen++) {
        uintptr_t s = (uintptr_t)v->start;
        if (seen && s < prev_end)
            fail_msg("vareas overlap or are out of order at %p", v->start);
        if (!v->size || s < lo || s + v->size - 1 > last || s + v->size - 1 < s)
            fail_msg("varea [%p, +0x%zx) outside the aspace", v->start, (size_t)v->size);
        if (v->aspace != aspace)
            fail_msg("varea %p names another aspace", v->start);
        prev_end = s + v->size;
    }
    if (seen != n)
        fail_msg("in-order walk saw %d vareas, the tree holds %d", seen, n);
}

int mmt_checked_vareas(rt_aspace_t aspace)
{
    mmt_check_tree(aspace);
    return mmt_vareas(aspace);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

void mmt_snapshot(rt_aspace_t aspace, void *lo, void *hi, struct mmt_snapshot *out)
{
    memset(out, 0, sizeof *out);
    mmt_check_tree(aspace);
    for (rt_varea_t v = ASPACE_VAREA_FIRST(aspace); v; v = ASPACE_VAREA_NEXT(v)) {
        assert_true(out->nvareas < MMT_MAX_VAREAS);
        struct rt_varea *copy = &out->vareas[out->nvareas++];
        *copy = *v;
        memset(&copy->node, 0, sizeof copy->node);
    }
    out->vsz = rt_aspace_count_vsz(aspace);
    out->frames = mmt_frames();
    out->tables = mmt_tables(aspace);
    out->pages = mmt_pages(aspace);
    out->heap = mmsim_heap_used();
    for (uintptr_t va = (uintptr_t)lo; va < (uintptr_t)hi; va += PAGE)
        out->pte_hash = mix(out->pte_hash, (uint64_t)(uintptr_t)rt_hw_mmu_v2p(aspace, (void *)va));
}

void mmt_expect_unchanged(rt_aspace_t aspace, void *lo, void *hi, const struct mmt_snapshot *before,
                          const char *what)
{
    struct mmt_snapshot now;
    mmt_snapshot(aspace, lo, hi, &now);
    if (now.nvareas != before->nvareas)
        fail_msg("%s: %d vareas, was %d", what, now.nvareas, before->nvareas);
    for (int i = 0; i < now.nvareas; i++) {
        const struct rt_varea *a = &now.vareas[i], *b = &before->vareas[i];
        if (a->start != b->start || a->size != b->size || a->offset != b->offset || a->attr != b->attr ||
            a->flag != b->flag || a->mem_obj != b->mem_obj)
            fail_msg("%s: varea %d is [%p, +0x%zx) off %zu, was [%p, +0x%zx) off %zu", what, i, a->start,
                     (size_t)a->size, (size_t)a->offset, b->start, (size_t)b->size, (size_t)b->offset);
    }
    if (now.vsz != before->vsz || now.frames != before->frames || now.tables != before->tables ||
        now.pages != before->pages || now.heap != before->heap || now.pte_hash != before->pte_hash)
        fail_msg("%s: vsz %ld/%ld frames %zu/%zu tables %zu/%zu pages %zu/%zu heap %zu/%zu ptes %s", what,
                 now.vsz, before->vsz, now.frames, before->frames, now.tables, before->tables, now.pages,
                 before->pages, now.heap, before->heap, now.pte_hash == before->pte_hash ? "same" : "differ");
}

/* ---- the recording object ------------------------------------------------- */

static struct mmt_rec *rec_of(rt_varea_t varea) { return (struct mmt_rec *)(void *)varea->mem_obj; }

static void logf_(struct mmt_rec *rec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct mmt_rec *rec, const char *fmt, ...)
{
    size_t len = strlen(rec->log);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rec->log + len, sizeof rec->log - len, fmt, ap);
    va_end(ap);
}

/* Addresses are logged as page numbers relative to UTEST_VA. */
static long pg(const void *va) { return (long)(((intptr_t)va - (intptr_t)UTEST_VA) / (intptr_t)PAGE); }

static void rec_fault(struct rt_varea *v, struct rt_aspace_fault_msg *msg)
{
    logf_(rec_of(v), "fault(%ld,off=%zu) ", pg(msg->fault_vaddr), (size_t)msg->off);
    rt_mm_dummy_mapper.on_page_fault(v, msg);
}

static void rec_open(struct rt_varea *v)
{
    logf_(rec_of(v), "open(%ld,%zu) ", pg(v->start), (size_t)(v->size / PAGE));
    rt_mm_dummy_mapper.on_varea_open(v);
}

static void rec_close(struct rt_varea *v)
{
    logf_(rec_of(v), "close(%ld,%zu) ", pg(v->start), (size_t)(v->size / PAGE));
    rt_mm_dummy_mapper.on_varea_close(v);
}

static rt_err_t rec_expand(struct rt_varea *v, void *va, rt_size_t size)
{
    struct mmt_rec *rec = rec_of(v);
    logf_(rec, "expand(%ld,%zu->%ld,%zu) ", pg(v->start), (size_t)(v->size / PAGE), pg(va), (size_t)(size / PAGE));
    return rec->expand_rc;
}

static rt_err_t rec_shrink(struct rt_varea *v, void *va, rt_size_t size)
{
    struct mmt_rec *rec = rec_of(v);
    logf_(rec, "shrink(%ld,%zu->%ld,%zu) ", pg(v->start), (size_t)(v->size / PAGE), pg(va), (size_t)(size / PAGE));
    rec->seen_start = v->start;
    rec->seen_size = v->size;
    return rec->shrink_rc ? rec->shrink_rc : rt_mm_dummy_mapper.on_varea_shrink(v, va, size);
}

static rt_err_t rec_split(struct rt_varea *v, void *hole, rt_size_t len, struct rt_varea *sub)
{
    struct mmt_rec *rec = rec_of(v);
    logf_(rec, "split(%ld,%zu hole=%ld,%zu sub=%ld,%zu,off=%zu) ", pg(v->start), (size_t)(v->size / PAGE),
          pg(hole), (size_t)(len / PAGE), pg(sub->start), (size_t)(sub->size / PAGE), (size_t)sub->offset);
    rec->seen_start = v->start;
    rec->seen_size = v->size;
    return rec->split_rc ? rec->split_rc : rt_mm_dummy_mapper.on_varea_split(v, hole, len, sub);
}

static rt_err_t rec_merge(struct rt_varea *to, struct rt_varea *from)
{
    struct mmt_rec *rec = rec_of(to);
    logf_(rec, "merge(%ld<-%ld) ", pg(to->start), pg(from->start));
    return rec->merge_rc;
}

static void rec_read(struct rt_varea *v, struct rt_aspace_io_msg *msg)
{
    logf_(rec_of(v), "read(%ld,off=%zu) ", pg(msg->fault_vaddr), (size_t)msg->off);
    rt_mm_dummy_mapper.page_read(v, msg);
}

static void rec_write(struct rt_varea *v, struct rt_aspace_io_msg *msg)
{
    logf_(rec_of(v), "write(%ld,off=%zu) ", pg(msg->fault_vaddr), (size_t)msg->off);
    rt_mm_dummy_mapper.page_write(v, msg);
}

static const char *rec_name(rt_varea_t v)
{
    (void)v;
    return "recorder";
}

static void *rec_mremap(struct rt_varea *v, rt_size_t new_size, int flags, void *new_address)
{
    struct mmt_rec *rec = rec_of(v);
    logf_(rec, "mremap(%ld,%zu,%d,%ld) ", pg(v->start), (size_t)(new_size / PAGE), flags, pg(new_address));
    return rec->mremap_ret;
}

void mmt_rec_init(struct mmt_rec *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->obj.get_name = rec_name;
    rec->obj.on_page_fault = rec_fault;
    rec->obj.on_varea_open = rec_open;
    rec->obj.on_varea_close = rec_close;
    rec->obj.on_varea_expand = rec_expand;
    rec->obj.on_varea_shrink = rec_shrink;
    rec->obj.on_varea_split = rec_split;
    rec->obj.on_varea_merge = rec_merge;
    rec->obj.page_read = rec_read;
    rec->obj.page_write = rec_write;
    rec->obj.on_varea_mremap = rec_mremap;
}

void mmt_rec_clear(struct mmt_rec *rec)
{
    rec->log[0] = 0;
}

void *mmt_map(rt_aspace_t aspace, void *va, rt_size_t size, mm_flag_t flags, rt_mem_obj_t obj,
              rt_size_t offset)
{
    void *addr = va;
    int rc = rt_aspace_map(aspace, &addr, size, MMU_MAP_U_RWCB, flags, obj, offset);
    if (rc != RT_EOK)
        fail_msg("rt_aspace_map(%p, 0x%zx, flags 0x%lx) = %d", va, (size_t)size, (unsigned long)flags, rc);
    assert_non_null(addr);
    return addr;
}

/* ---- the zero object and user accesses --------------------------------------- */

static struct mmt_zero *zero_of(rt_varea_t v) { return (struct mmt_zero *)(void *)v->mem_obj; }

static void zero_fault(struct rt_varea *v, struct rt_aspace_fault_msg *msg)
{
    void *page = zero_of(v)->page;
    rt_page_ref_inc(page, 0); /* the PTE's reference (P5) */
    msg->response.status = MM_FAULT_STATUS_OK;
    msg->response.size = PAGE;
    msg->response.vaddr = page;
}

static void zero_read(struct rt_varea *v, struct rt_aspace_io_msg *msg)
{
    void *pa = rt_hw_mmu_v2p(v->aspace, msg->fault_vaddr);
    if (pa == ARCH_MAP_FAILED)
        memset(msg->buffer_vaddr, 0, PAGE);
    else
        memcpy(msg->buffer_vaddr, rt_kmem_p2v(pa), PAGE);
    msg->response.status = MM_FAULT_STATUS_OK;
}

static void zero_write(struct rt_varea *v, struct rt_aspace_io_msg *msg)
{
    (void)v;
    (void)msg; /* refused: stays UNRECOVERABLE */
}

static const char *zero_name(rt_varea_t v)
{
    (void)v;
    return "zero";
}

void mmt_zero_init(struct mmt_zero *z)
{
    memset(z, 0, sizeof *z);
    z->page = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    assert_non_null(z->page);
    memset(z->page, 0, PAGE);
    z->obj.get_name = zero_name;
    z->obj.on_page_fault = zero_fault;
    z->obj.on_varea_close = rt_mm_dummy_mapper.on_varea_close;
    z->obj.on_varea_expand = rt_mm_dummy_mapper.on_varea_expand;
    z->obj.on_varea_shrink = rt_mm_dummy_mapper.on_varea_shrink;
    z->obj.on_varea_split = rt_mm_dummy_mapper.on_varea_split;
    z->obj.page_read = zero_read;
    z->obj.page_write = zero_write;
}

void mmt_zero_fini(struct mmt_zero *z)
{
    assert_int_equal(rt_page_ref_get(z->page, 0), 1);
    rt_pages_free(z->page, 0);
}

void *mmt_mmap_anon(rt_aspace_t aspace, struct mmt_zero *z, void *va, rt_size_t size, bool fixed)
{
    void *addr = va;
    mm_flag_t flags = MMF_MAP_PRIVATE | (fixed ? MMF_MAP_FIXED : 0);
    int rc = rt_aspace_map(aspace, &addr, size, MMU_MAP_U_RWCB, flags, &z->obj, (uintptr_t)va >> 12);
    if (rc != RT_EOK)
        fail_msg("anonymous mmap at %p: %d", va, rc);
    return addr;
}

static bool walk_ok(rt_aspace_t aspace, void *va, enum mmsim_vmsa_op op)
{
    struct mmsim_vmsa_access acc = { .op = op, .el = 0, .at = true };
    struct mmsim_vmsa_result res;
    return mmsim_mmu_translate(aspace, (uint64_t)(uintptr_t)va, &acc, &res);
}

static bool user_access(rt_aspace_t aspace, void *va, enum mmsim_vmsa_op op)
{
    if (walk_ok(aspace, va, op))
        return true;
    struct rt_aspace_fault_msg msg = {
        .fault_op = op == MMSIM_OP_WRITE ? MM_FAULT_OP_WRITE : MM_FAULT_OP_READ,
        .fault_type = MM_FAULT_TYPE_GENERIC_MMU,
        .fault_vaddr = va,
    };
    if (rt_aspace_fault_try_fix(aspace, &msg) != MM_FAULT_FIXABLE_TRUE)
        return false;
    if (!walk_ok(aspace, va, op))
        fail_msg("fault at %p reported fixed but the access still faults", va);
    return true;
}

void *mmt_frame(rt_aspace_t aspace, void *va)
{
    void *pa = rt_hw_mmu_v2p(aspace, va);
    return pa == ARCH_MAP_FAILED ? NULL : rt_kmem_p2v(pa);
}

bool mmt_user_write(rt_aspace_t aspace, void *va, uint8_t value)
{
    if (!user_access(aspace, va, MMSIM_OP_WRITE))
        return false;
    *(uint8_t *)mmt_frame(aspace, va) = value;
    return true;
}

bool mmt_user_read(rt_aspace_t aspace, void *va, uint8_t *value)
{
    if (!user_access(aspace, va, MMSIM_OP_READ))
        return false;
    *value = *(uint8_t *)mmt_frame(aspace, va);
    return true;
}

uint8_t mmt_peek(rt_aspace_t aspace, void *va)
{
    uint8_t v = 0;
    if (!mmt_user_read(aspace, va, &v))
        fail_msg("user read at %p not fixed", va);
    return v;
}

bool mmt_write_faults(rt_aspace_t aspace, void *va)
{
    return !walk_ok(aspace, va, MMSIM_OP_WRITE);
}

void mmt_mm_check(rt_aspace_t const *aspaces, size_t n, void *const *owned, size_t nowned)
{
    rt_aspace_t live[16];
    struct mmsim_mm_owner_ref owners[16];
    size_t nlive = 0, nowners = 0;
    for (size_t i = 0; i < n && nlive < 16; i++)
        if (aspaces[i])
            live[nlive++] = aspaces[i];
    for (size_t i = 0; i < nowned && nowners < 16; i++)
        if (owned[i])
            owners[nowners++] = (struct mmsim_mm_owner_ref){ owned[i], 1 };
    int problems = mmsim_mm_check(live, nlive, owners, nowners, stderr, NULL);
    if (problems)
        fail_msg("mmsim_mm_check: %d problem(s)", problems);
}

rt_aspace_t mmt_as;

int mmt_setup(void **state)
{
    if (fx_setup(state))
        return -1;
    mmt_as = mmt_user_aspace();
    return 0;
}

int mmt_teardown(void **state)
{
    mmt_aspace_free(mmt_as);
    return fx_teardown(state);
}
