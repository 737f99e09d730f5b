/*
 * RT-Thread's aarch64 page tables (4 KiB granule, 48-bit VA, levels 0-3) kept
 * in simulated RAM. Every edit is check -> reserve -> commit: the walk first
 * counts the table pages the edit needs, they are allocated up front, and
 * only then are descriptors written, so a failed allocation changes nothing.
 *
 * Table pages are reference-counted the way RT-Thread does it: a non-root
 * table's count equals the leaves (pages or blocks) mapped below it, and the
 * table is freed when the last one goes. Counts move by whole subtrees here
 * rather than one leaf at a time, with the same end state.
 */
#include <mm_aspace.h>
#include <mm_page.h>
#include <mmsim/pgtable.h>
#include "arch/aarch64/pt.h"
#include "phys/phys.h"

#define DBG_TAG "mmu"
#include <rtdbg.h>

/* ---- machine-wide policy and counters ------------------------------------ */

static struct
{
    bool af_clear; /* leaves made with AF=0 (software-managed access flag) */
    bool dbm;      /* writable leaves made writable-clean (DBM=1, AP[2]=1) */
} g_policy;

static uint64_t g_tables_installed, g_tables_freed;

void mmsim_mmu_leaf_policy_set(bool af_clear, bool dbm)
{
    __atomic_store_n(&g_policy.af_clear, af_clear, __ATOMIC_RELAXED);
    __atomic_store_n(&g_policy.dbm, dbm, __ATOMIC_RELAXED);
}

void mmsim_mmu_counters_get(struct mmsim_mmu_counters *out)
{
    out->tables_installed = __atomic_load_n(&g_tables_installed, __ATOMIC_RELAXED);
    out->tables_freed = __atomic_load_n(&g_tables_freed, __ATOMIC_RELAXED);
}

static void count_table(uint64_t *counter)
{
    __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* The leaf attributes a map writes under the machine's policy. */
static uint64_t leaf_attr(uint64_t attr)
{
    if (__atomic_load_n(&g_policy.af_clear, __ATOMIC_RELAXED))
        attr &= ~MMU_ATTR_AF;
    bool writable = !((attr >> MMU_AP_SHIFT) & 2);
    if (writable && __atomic_load_n(&g_policy.dbm, __ATOMIC_RELAXED))
        attr |= MMU_ATTR_DBM | (2ul << MMU_AP_SHIFT);
    return attr;
}

/* ---- reservation pool --------------------------------------------------- */

static void *pool_take(struct mmsim_mmu_reserve *r)
{
    void *page = r->pool;
    RT_ASSERT(page != NULL); /* counting guarantees enough pages */
    r->pool = *(void **)page;
    r->npages--;
    memset(page, 0, ARCH_PAGE_SIZE);
    count_table(&g_tables_installed);
    return page;
}

static int pool_fill(struct mmsim_mmu_reserve *r, size_t npages)
{
    struct mmsim_mmu_reserve fresh = { NULL, 0 };
    while (fresh.npages < npages) {
        void *page = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
        if (!page) {
            mmsim_mmu_reserve_release(&fresh);
            return -RT_ENOMEM;
        }
        *(void **)page = fresh.pool;
        fresh.pool = page;
        fresh.npages++;
    }
    /* splice only once everything was obtained */
    while (fresh.pool) {
        void *page = fresh.pool;
        fresh.pool = *(void **)page;
        *(void **)page = r->pool;
        r->pool = page;
        r->npages++;
    }
    return RT_EOK;
}

void mmsim_mmu_reserve_release(struct mmsim_mmu_reserve *r)
{
    if (!r)
        return;
    while (r->pool) {
        void *page = r->pool;
        r->pool = *(void **)page;
        rt_pages_free(page, 0);
    }
    r->npages = 0;
}

/* ---- argument checks ---------------------------------------------------- */

/* Both ends in the same canonical half of a 48-bit VA space, no wrap. */
static bool range_canonical(uint64_t va, uint64_t size)
{
    uint64_t last = va + size - 1;
    if (last < va)
        return false;
    uint64_t top = va >> PT_VA_BITS;
    return (top == 0 || top == 0xffff) && (last >> PT_VA_BITS) == top;
}

static bool map_args_ok(struct rt_aspace *aspace, uint64_t va, uint64_t pa, uint64_t size)
{
    MMSIM_PRECOND(aspace && aspace->page_table, false, "aspace and its page table must exist");
    MMSIM_PRECOND(!(va & ARCH_PAGE_MASK), false, "v_addr must be 4 KiB aligned");
    MMSIM_PRECOND(!(pa & ARCH_PAGE_MASK), false, "p_addr must be 4 KiB aligned");
    MMSIM_PRECOND(!(size & ARCH_PAGE_MASK), false, "size must be a multiple of 4 KiB");
    MMSIM_PRECOND(size == 0 || range_canonical(va, size), false,
                  "VA range must lie in one canonical half of the 48-bit space");
    MMSIM_PRECOND(size == 0 || (pa + size - 1 >= pa && pa + size - 1 < (1ULL << PT_VA_BITS)), false,
                  "PA range must fit in 48 bits");
    return true;
}

static int leaf_level_for(uint64_t va, uint64_t pa, uint64_t size)
{
    return ((va | pa | size) & ARCH_SECTION_MASK) ? 3 : 2;
}

/* ---- map ---------------------------------------------------------------- */

/* Table pages a map of [va, end) with leaves at `leaf_level` would allocate,
 * or -1 if it would have to go through or replace an existing table/block. */
static long map_count(const uint64_t *tbl, int level, uint64_t va, uint64_t end, int leaf_level)
{
    long need = 0;
    if (level == leaf_level) {
        for (uint64_t cur = va; tbl && cur < end; cur = pt_slot_end(cur, end, level))
            if (pt_is_table(tbl[pt_index(cur, level)], level))
                return -1; /* a block would orphan a table holding mappings */
        return 0;
    }
    for (uint64_t cur = va; cur < end; cur = pt_slot_end(cur, end, level)) {
        uint64_t d = tbl ? tbl[pt_index(cur, level)] : 0;
        if (pt_is_leaf(d, level))
            return -1; /* mapping through a block */
        const uint64_t *child = pt_is_table(d, level) ? pt_table_host(d) : NULL;
        long sub = map_count(child, level + 1, cur, pt_slot_end(cur, end, level), leaf_level);
        if (sub < 0)
            return sub;
        need += sub + (child == NULL);
    }
    return need;
}

/* Write leaves; returns how many slots went from invalid to mapped. */
static long map_commit(uint64_t *tbl, int level, uint64_t va, uint64_t end, uint64_t pa,
                       uint64_t attr, int leaf_level, struct mmsim_mmu_reserve *r)
{
    long added = 0;
    for (uint64_t cur = va; cur < end; cur = pt_slot_end(cur, end, level)) {
        uint64_t *slot = &tbl[pt_index(cur, level)];
        uint64_t out = pa + (cur - va);
        if (level == leaf_level) {
            added += !(*slot & MMU_TYPE_USED);
            *slot = out | attr | (level == 3 ? MMU_TYPE_PAGE : MMU_TYPE_BLOCK);
            continue;
        }
        bool fresh = !pt_is_table(*slot, level);
        uint64_t *child = fresh ? pool_take(r) : pt_table_host(*slot);
        long sub = map_commit(child, level + 1, cur, pt_slot_end(cur, end, level), out, attr,
                              leaf_level, r);
        /* a fresh table starts with the count of 1 its allocation gave it */
        mmsim_page_ref_adjust(child, (int)(sub - fresh));
        if (fresh)
            *slot = mmsim_phys_host2pa(child) | MMU_TYPE_TABLE;
        added += sub;
    }
    return added;
}

static void *map_locked(struct rt_aspace *aspace, uint64_t va, uint64_t pa, uint64_t size,
                        size_t attr, struct mmsim_mmu_reserve *r)
{
    int leaf_level = leaf_level_for(va, pa, size);
    uint64_t vlo = va & PT_VA_MASK;
    long need = map_count(aspace->page_table, 0, vlo, vlo + size, leaf_level);
    MMSIM_PRECOND(need >= 0, NULL, leaf_level == 3
                  ? "mapping must not overlap an existing block mapping"
                  : "a 2 MiB block must not replace a page table that holds mappings");
    if ((size_t)need > r->npages && pool_fill(r, (size_t)need - r->npages) != RT_EOK)
        return NULL;
    map_commit(aspace->page_table, 0, vlo, vlo + size, pa, leaf_attr(attr & MMU_ATTRIB_MASK), leaf_level, r);
    return (void *)(uintptr_t)va;
}

void *mmsim_mmu_map_reserved(struct rt_aspace *aspace, void *v_addr, void *p_addr, size_t size,
                             size_t attr, struct mmsim_mmu_reserve *r)
{
    uint64_t va = (uintptr_t)v_addr, pa = (uintptr_t)p_addr;
    if (!map_args_ok(aspace, va, pa, size))
        return NULL;
    if (size == 0)
        return v_addr;
    MM_PGTBL_LOCK(aspace);
    void *ret = map_locked(aspace, va, pa, size, attr, r);
    MM_PGTBL_UNLOCK(aspace);
    return ret;
}

void *rt_hw_mmu_map(struct rt_aspace *aspace, void *v_addr, void *p_addr, size_t size, size_t attr)
{
    struct mmsim_mmu_reserve r = { NULL, 0 };
    void *ret = mmsim_mmu_map_reserved(aspace, v_addr, p_addr, size, attr, &r);
    mmsim_mmu_reserve_release(&r);
    return ret;
}

int mmsim_mmu_reserve(struct rt_aspace *aspace, void *v_addr, void *p_addr, size_t size,
                      struct mmsim_mmu_reserve *r)
{
    uint64_t va = (uintptr_t)v_addr, pa = (uintptr_t)p_addr;
    MMSIM_PRECOND(r != NULL, -RT_EINVAL, "reservation must not be NULL");
    if (!map_args_ok(aspace, va, pa, size))
        return -RT_EINVAL;
    if (size == 0)
        return RT_EOK;
    uint64_t vlo = va & PT_VA_MASK;
    MM_PGTBL_LOCK(aspace);
    long need = map_count(aspace->page_table, 0, vlo, vlo + size, leaf_level_for(va, pa, size));
    MM_PGTBL_UNLOCK(aspace);
    MMSIM_PRECOND(need >= 0, -RT_EINVAL, "mapping must not overlap an existing block mapping");
    return (size_t)need > r->npages ? pool_fill(r, (size_t)need - r->npages) : RT_EOK;
}

/* ---- unmap -------------------------------------------------------------- */

/* Tables needed to split the blocks that [va, end) cuts. A NULL table stands
 * for a table that a split would create: every slot of it is a block. */
static size_t split_count(const uint64_t *tbl, int level, uint64_t va, uint64_t end)
{
    size_t need = 0;
    for (uint64_t cur = va; cur < end; cur = pt_slot_end(cur, end, level)) {
        uint64_t next = pt_slot_end(cur, end, level);
        uint64_t d = tbl ? tbl[pt_index(cur, level)] : MMU_TYPE_BLOCK;
        if (level < 3 && pt_is_leaf(d, level) && !pt_slot_covered(cur, next, level))
            need += 1 + split_count(NULL, level + 1, cur, next);
        else if (pt_is_table(d, level))
            need += split_count(pt_table_host(d), level + 1, cur, next);
    }
    return need;
}

/* Replace the block in *slot by a table of the next level holding the same
 * translation, and return that table. Its count is the 512 leaves it holds. */
static uint64_t *split_block(uint64_t *slot, int level, struct mmsim_mmu_reserve *r)
{
    uint64_t *child = pool_take(r);
    uint64_t attr = *slot & MMU_ATTRIB_MASK;
    uint64_t base = *slot & pt_leaf_mask(level);
    uint64_t step = 1ULL << pt_shift(level + 1);
    uint64_t type = level + 1 == 3 ? MMU_TYPE_PAGE : MMU_TYPE_BLOCK;
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        child[i] = (base + i * step) | attr | type;
    mmsim_page_ref_adjust(child, PT_ENTRIES - 1);
    *slot = mmsim_phys_host2pa(child) | MMU_TYPE_TABLE;
    return child;
}

/* Remove leaves in [va, end); returns the change in leaf count (<= 0 unless a
 * split added more leaves than were removed). */
static long unmap_commit(uint64_t *tbl, int level, uint64_t va, uint64_t end, struct mmsim_mmu_reserve *r)
{
    long delta = 0;
    for (uint64_t cur = va; cur < end; cur = pt_slot_end(cur, end, level)) {
        uint64_t next = pt_slot_end(cur, end, level);
        uint64_t *slot = &tbl[pt_index(cur, level)];
        if (!(*slot & MMU_TYPE_USED))
            continue; /* unmapping what is not mapped changes nothing */
        if (pt_is_leaf(*slot, level) && pt_slot_covered(cur, next, level)) {
            *slot = 0;
            delta--;
            continue;
        }
        if (pt_is_leaf(*slot, level)) {
            split_block(slot, level, r);
            delta += PT_ENTRIES - 1;
        }
        if (!pt_is_table(*slot, level))
            continue; /* not valid at this level: treat as unmapped */
        uint64_t *child = pt_table_host(*slot);
        long sub = unmap_commit(child, level + 1, cur, next, r);
        if (sub != 0 && mmsim_page_ref_adjust(child, (int)sub) == 0) {
            *slot = 0;
            count_table(&g_tables_freed);
        }
        delta += sub;
    }
    return delta;
}

int mmsim_mmu_unmap(struct rt_aspace *aspace, void *v_addr, size_t size)
{
    uint64_t va = (uintptr_t)v_addr;
    MMSIM_PRECOND(aspace && aspace->page_table, -RT_EINVAL, "aspace and its page table must exist");
    MMSIM_PRECOND(!(va & ARCH_PAGE_MASK) && !(size & ARCH_PAGE_MASK), -RT_EINVAL,
                  "v_addr and size must be 4 KiB aligned");
    if (size == 0)
        return RT_EOK;
    MMSIM_PRECOND(range_canonical(va, size), -RT_EINVAL,
                  "VA range must lie in one canonical half of the 48-bit space");
    uint64_t vlo = va & PT_VA_MASK;
    struct mmsim_mmu_reserve r = { NULL, 0 };
    MM_PGTBL_LOCK(aspace);
    int rc = pool_fill(&r, split_count(aspace->page_table, 0, vlo, vlo + size));
    if (rc == RT_EOK)
        unmap_commit(aspace->page_table, 0, vlo, vlo + size, &r);
    MM_PGTBL_UNLOCK(aspace);
    mmsim_mmu_reserve_release(&r);
    return rc;
}

void rt_hw_mmu_unmap(struct rt_aspace *aspace, void *v_addr, size_t size)
{
    int rc = mmsim_mmu_unmap(aspace, v_addr, size);
    if (rc == -RT_ENOMEM)
        LOG_E("unmap [%p, +0x%zx): no page to split a block; nothing was unmapped", v_addr, size);
}

size_t mmsim_mmu_unmap_frees(struct rt_aspace *aspace, void *v_addr)
{
    MMSIM_PRECOND(aspace && aspace->page_table, 0, "aspace and its page table must exist");
    uint64_t va = (uintptr_t)v_addr;
    uint64_t *path[4];
    MM_PGTBL_LOCK(aspace);
    int level = pt_path(aspace->page_table, va & PT_VA_MASK, path);
    size_t frees = 0;
    if (level != 3 || !pt_is_leaf(path[3][pt_index(va, 3)], 3))
        frees = 3; /* a block to split or nothing to unmap: assume the worst */
    else /* a table goes when its last entry does (the root never) */
        while (level > 0 && rt_page_ref_get(path[level], 0) == 1) {
            frees++;
            level--;
        }
    MM_PGTBL_UNLOCK(aspace);
    return frees;
}

/* ---- v2p, tables ---------------------------------------------------------- */

void *rt_hw_mmu_v2p(struct rt_aspace *aspace, void *vaddr)
{
    MMSIM_PRECOND(aspace != NULL, ARCH_MAP_FAILED, "aspace must not be NULL");
    uint64_t va = (uintptr_t)vaddr;
    if (aspace == &rt_kernel_space) {
        uint64_t linear = mmsim_phys_host2pa(vaddr);
        if (linear != UINT64_MAX)
            return (void *)(uintptr_t)linear;
    }
    uint64_t top = va >> PT_VA_BITS;
    if (!aspace->page_table || (top != 0 && top != 0xffff))
        return ARCH_MAP_FAILED;
    uint64_t leaf;
    int level = pt_lookup(aspace->page_table, va, &leaf);
    if (level < 0)
        return ARCH_MAP_FAILED;
    return (void *)(uintptr_t)((leaf & pt_leaf_mask(level)) | (va & ((1ULL << pt_shift(level)) - 1)));
}

void *rt_hw_mmu_pgtbl_create(void)
{
    void *tbl = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    if (tbl) {
        memset(tbl, 0, ARCH_PAGE_SIZE);
        count_table(&g_tables_installed);
    }
    return tbl;
}

void rt_hw_mmu_pgtbl_delete(void *pgtbl)
{
    MMSIM_PRECOND_VOID(pgtbl != NULL, "page table must not be NULL");
    rt_pages_free(pgtbl, 0);
    count_table(&g_tables_freed);
}

int mmsim_mmu_set_access_flag(struct rt_aspace *aspace, void *v_addr)
{
    MMSIM_PRECOND(aspace && aspace->page_table, -RT_EINVAL, "aspace and its page table must exist");
    uint64_t va = (uintptr_t)v_addr & PT_VA_MASK;
    uint64_t *path[4];
    int rc = -RT_ENOENT;
    MM_PGTBL_LOCK(aspace);
    int level = pt_path(aspace->page_table, va, path);
    if (level >= 0 && pt_is_leaf(path[level][pt_index(va, level)], level)) {
        __atomic_fetch_or(&path[level][pt_index(va, level)], (uint64_t)MMU_ATTR_AF, __ATOMIC_RELEASE);
        rc = RT_EOK;
    }
    MM_PGTBL_UNLOCK(aspace);
    return rc;
}

/* ---- control ------------------------------------------------------------ */

struct control_op
{
    enum rt_mmu_cntl cmd;
    int err;
};

static int control_check_leaf(uint64_t d, const struct control_op *op)
{
    unsigned indx = (unsigned)((d >> MMU_MA_SHIFT) & 7);
    if ((op->cmd == MMU_CNTL_CACHE || op->cmd == MMU_CNTL_NONCACHE) &&
        indx != NORMAL_MEM && indx != NORMAL_NOCACHE_MEM)
        return -RT_ENOSYS;
    return RT_EOK;
}

static uint64_t control_apply(uint64_t d, enum rt_mmu_cntl cmd)
{
    switch (cmd) {
    case MMU_CNTL_CACHE:
        return (d & ~(7ULL << MMU_MA_SHIFT)) | ((uint64_t)NORMAL_MEM << MMU_MA_SHIFT);
    case MMU_CNTL_NONCACHE:
        return (d & ~(7ULL << MMU_MA_SHIFT)) | ((uint64_t)NORMAL_NOCACHE_MEM << MMU_MA_SHIFT);
    case MMU_CNTL_READONLY: /* without DBM, or hardware would make it writable again */
        return (d | (2ULL << MMU_AP_SHIFT)) & ~MMU_ATTR_DBM;
    default: /* MMU_CNTL_READWRITE, writable-clean under the DBM policy */
        if (__atomic_load_n(&g_policy.dbm, __ATOMIC_RELAXED))
            return d | MMU_ATTR_DBM | (2ULL << MMU_AP_SHIFT);
        return d & ~(2ULL << MMU_AP_SHIFT);
    }
}

/* One pass validates (apply = false), the second rewrites leaves. */
static int control_walk(uint64_t *tbl, int level, uint64_t va, uint64_t end, struct control_op *op, bool apply)
{
    for (uint64_t cur = va; cur < end; cur = pt_slot_end(cur, end, level)) {
        uint64_t next = pt_slot_end(cur, end, level);
        uint64_t *slot = &tbl[pt_index(cur, level)];
        if (pt_is_table(*slot, level)) {
            int rc = control_walk(pt_table_host(*slot), level + 1, cur, next, op, apply);
            if (rc)
                return rc;
        } else if (pt_is_leaf(*slot, level)) {
            if (!pt_slot_covered(cur, next, level))
                return -RT_EINVAL;
            int rc = control_check_leaf(*slot, op);
            if (rc)
                return rc;
            if (apply)
                *slot = control_apply(*slot, op->cmd);
        }
    }
    return RT_EOK;
}

int rt_hw_mmu_control(struct rt_aspace *aspace, void *vaddr, size_t size, enum rt_mmu_cntl cmd)
{
    uint64_t va = (uintptr_t)vaddr;
    MMSIM_PRECOND(aspace && aspace->page_table, -RT_EINVAL, "aspace and its page table must exist");
    if (cmd != MMU_CNTL_CACHE && cmd != MMU_CNTL_NONCACHE && cmd != MMU_CNTL_READONLY &&
        cmd != MMU_CNTL_READWRITE)
        return -RT_ENOSYS;
    if ((va & ARCH_PAGE_MASK) || (size & ARCH_PAGE_MASK) || (size && !range_canonical(va, size)))
        return -RT_EINVAL;
    uint64_t vlo = va & PT_VA_MASK;
    struct control_op op = { cmd, 0 };
    MM_PGTBL_LOCK(aspace);
    int rc = control_walk(aspace->page_table, 0, vlo, vlo + size, &op, false);
    if (rc == RT_EOK)
        control_walk(aspace->page_table, 0, vlo, vlo + size, &op, true);
    MM_PGTBL_UNLOCK(aspace);
    return rc;
}
