/*
 * mmsim_mm_check: the mm layer's invariants over a set of aspaces and the
 * read-only stores they reach (mmsim/mm_check.h). The checker's own lists
 * live on the host heap, so checking never changes the rt_malloc accounting
 * it may be asked about.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <mmsim/mm_check.h>
#include <mmsim/phys.h>
#include "arch/aarch64/pt.h"
#include "mm/mm.h"

#define WHO "mm-check"
#define MAX_REGISTERED 16
/* DBM: with hardware dirty management a read-only-looking page is writable. */
#define DESC_DBM (1ull << 51)

/* ---- frames whose owners registered their standing references -------------- */

struct registered
{
    void *frame;
    long refs;
    bool zero_page;
};

/* Host-side and per boot, like the aspace registry: a check must never see a
 * frame an earlier machine registered. */
static struct
{
    pthread_mutex_t lock;
    struct registered items[MAX_REGISTERED];
    size_t n;
    uint64_t generation;
} g_owners = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void owners_sync_locked(void)
{
    if (g_owners.generation != mmsim_machine_generation()) {
        g_owners.n = 0;
        g_owners.generation = mmsim_machine_generation();
    }
}

static struct registered *owners_find_locked(void *frame)
{
    for (size_t i = 0; i < g_owners.n; i++)
        if (g_owners.items[i].frame == frame)
            return &g_owners.items[i];
    return NULL;
}

int mmsim_mm_owner_register(void *frame, long refs, bool zero_page)
{
    MMSIM_PRECOND(frame && refs >= 0, -RT_EINVAL, "mmsim_mm_owner_register: frame non-NULL, refs >= 0");
    int rc = RT_EOK;
    pthread_mutex_lock(&g_owners.lock);
    owners_sync_locked();
    struct registered *r = owners_find_locked(frame);
    if (!refs && r)
        *r = g_owners.items[--g_owners.n];
    else if (refs && r)
        *r = (struct registered){ frame, refs, zero_page };
    else if (refs && g_owners.n < MAX_REGISTERED)
        g_owners.items[g_owners.n++] = (struct registered){ frame, refs, zero_page };
    else if (refs)
        rc = -RT_ENOMEM;
    pthread_mutex_unlock(&g_owners.lock);
    return rc;
}

/* A copy, so a check holds no lock of ours while it takes the aspaces'. */
static size_t owners_snapshot(struct registered out[MAX_REGISTERED])
{
    pthread_mutex_lock(&g_owners.lock);
    owners_sync_locked();
    size_t n = g_owners.n;
    memcpy(out, g_owners.items, n * sizeof *out);
    pthread_mutex_unlock(&g_owners.lock);
    return n;
}

/* One 4 KiB frame as one leaf maps it. */
struct mapping
{
    uint64_t pa;
    uintptr_t va;
    bool object;        /* under a varea with a mem_obj: the PTE holds a reference (P5) */
    bool anon;          /* under an anonymous object's varea */
    bool user_writable;
    bool writable_any;  /* at some EL, now or once hardware marks it dirty */
    bool in_store;      /* in a read-only store: nothing runs there */
};

struct check
{
    FILE *out;
    int problems;
    rt_aspace_t *spaces;
    size_t nspaces, cap_spaces;
    rt_mem_obj_t *objs;
    size_t nobjs, cap_objs;
    struct mapping *maps;
    size_t nmaps, cap_maps;
    struct registered reg[MAX_REGISTERED];
    size_t nreg;
    struct mmsim_mm_info info;
};

static bool grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

static void add_space(struct check *c, rt_aspace_t a)
{
    for (size_t i = 0; i < c->nspaces; i++)
        if (c->spaces[i] == a)
            return;
    if (!grow((void **)&c->spaces, &c->cap_spaces, c->nspaces, sizeof *c->spaces))
        mmsim_problem(c->out, &c->problems, WHO, "out of host memory");
    else
        c->spaces[c->nspaces++] = a;
}

static void add_obj(struct check *c, rt_mem_obj_t obj)
{
    for (size_t i = 0; i < c->nobjs; i++)
        if (c->objs[i] == obj)
            return;
    if (!grow((void **)&c->objs, &c->cap_objs, c->nobjs, sizeof *c->objs))
        mmsim_problem(c->out, &c->problems, WHO, "out of host memory");
    else
        c->objs[c->nobjs++] = obj;
}

/* The aspaces given, their anonymous objects, and the stores those live in
 * (found by following objects until nothing new appears). */
static void collect(struct check *c, rt_aspace_t const *aspaces, size_t n)
{
    for (size_t i = 0; i < n; i++)
        add_space(c, aspaces[i]);
    for (size_t i = 0; i < c->nspaces; i++) {
        rt_aspace_t a = c->spaces[i];
        WR_LOCK(a);
        if (a->private_object)
            add_obj(c, a->private_object);
        for (rt_varea_t v = ASPACE_VAREA_FIRST(a); v; v = ASPACE_VAREA_NEXT(v))
            if (mm_is_anon(v->mem_obj)) {
                add_obj(c, v->mem_obj);
                add_space(c, mmsim_anon_backup(v->mem_obj));
            }
        WR_UNLOCK(a);
    }
}

/* ---- one aspace ------------------------------------------------------------- */

static void check_tree(struct check *c, rt_aspace_t a)
{
    uintptr_t lo = (uintptr_t)a->start, last = lo + a->size - 1, prev_end = 0;
    bool first = true;
    for (rt_varea_t v = ASPACE_VAREA_FIRST(a); v; v = ASPACE_VAREA_NEXT(v), first = false) {
        uintptr_t s = (uintptr_t)v->start, e = s + v->size - 1;
        if (!first && s < prev_end)
            mmsim_problem(c->out, &c->problems, WHO, "aspace %p: varea at %p overlaps or is out of order",
                          (void *)a, v->start);
        if (!v->size || s < lo || e > last || e < s)
            mmsim_problem(c->out, &c->problems, WHO, "aspace %p: varea [%p, +0x%zx) outside it", (void *)a,
                          v->start, (size_t)v->size);
        if (v->aspace != a)
            mmsim_problem(c->out, &c->problems, WHO, "aspace %p: varea at %p names aspace %p", (void *)a,
                          v->start, (void *)v->aspace);
        prev_end = e + 1;
    }
}

static bool is_store(rt_aspace_t a)
{
    return a->private_object && mmsim_anon_readonly(a->private_object) != 0;
}

static void add_mapping(struct check *c, const struct mapping *m)
{
    if (!grow((void **)&c->maps, &c->cap_maps, c->nmaps, sizeof *c->maps)) {
        mmsim_problem(c->out, &c->problems, WHO, "out of host memory");
        return;
    }
    c->maps[c->nmaps++] = *m;
}

/* A leaf of `level` at va: inside a varea, onto allocated frames. */
static void leaf(struct check *c, rt_aspace_t a, uint64_t d, int level, uintptr_t va)
{
    uint64_t span = 1ull << pt_shift(level);
    rt_varea_t v = _aspace_bst_search(a, (void *)va);
    if (!v || (uintptr_t)v->start + v->size - 1 < va + span - 1)
        mmsim_problem(c->out, &c->problems, WHO, "aspace %p: a leaf maps %#lx (+0x%llx) outside every varea",
                      (void *)a, (unsigned long)va, (unsigned long long)span);
    struct mapping m = {
        .object = v && v->mem_obj,
        .anon = v && mm_is_anon(v->mem_obj),
        /* AP[1] user access, AP[2] read-only unless hardware may dirty it */
        .user_writable = ((d >> MMU_AP_SHIFT) & 1) && (!((d >> MMU_AP_SHIFT) & 2) || (d & DESC_DBM)),
        .writable_any = !((d >> MMU_AP_SHIFT) & 2) || (d & DESC_DBM),
        .in_store = is_store(a),
    };
    uint64_t pa0 = d & pt_leaf_mask(level);
    for (uint64_t off = 0; off < span; off += ARCH_PAGE_SIZE) {
        m.pa = pa0 + off;
        m.va = va + off;
        if (!mmsim_phys_is_ram(m.pa))
            continue; /* device memory: nothing to own */
        c->info.leaves++;
        if (mmsim_phys_frame_state(m.pa) != MMSIM_FRAME_ALLOCATED)
            mmsim_problem(c->out, &c->problems, WHO, "aspace %p: %#lx maps PA %#llx, which is not allocated",
                          (void *)a, (unsigned long)m.va, (unsigned long long)m.pa);
        else
            add_mapping(c, &m);
    }
}

static void walk(struct check *c, rt_aspace_t a, const uint64_t *tbl, int level, uint64_t va_base, uint64_t high)
{
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t d = tbl[i], va = va_base + ((uint64_t)i << pt_shift(level));
        if (pt_is_table(d, level))
            walk(c, a, pt_table_host(d), level + 1, va, high);
        else if (pt_is_leaf(d, level))
            leaf(c, a, d, level, (uintptr_t)(va | high));
    }
}

static void check_space(struct check *c, rt_aspace_t a)
{
    struct mmsim_mmu_info mi;
    WR_LOCK(a);
    c->problems += mmsim_mmu_check(a, c->out, &mi);
    c->info.table_pages += mi.table_pages;
    check_tree(c, a);
    /* the kernel half's VAs are the low 48 bits sign-extended */
    uint64_t high = ((uintptr_t)a->start >> 63) ? ~PT_VA_MASK : 0;
    walk(c, a, a->page_table, 0, 0, high);
    WR_UNLOCK(a);
}

/* ---- frames ------------------------------------------------------------------ */

static int by_pa(const void *x, const void *y)
{
    const struct mapping *a = x, *b = y;
    return a->pa < b->pa ? -1 : a->pa > b->pa;
}

static long owner_refs(const struct check *c, const struct mmsim_mm_owner_ref *owners, size_t n, void *frame)
{
    long refs = 0;
    for (size_t i = 0; i < n; i++)
        if (owners[i].frame == frame)
            refs += owners[i].refs;
    for (size_t i = 0; i < c->nreg; i++)
        if (c->reg[i].frame == frame)
            refs += c->reg[i].refs;
    return refs;
}

static bool is_zero_page(const struct check *c, void *frame)
{
    for (size_t i = 0; i < c->nreg; i++)
        if (c->reg[i].frame == frame)
            return c->reg[i].zero_page;
    return false;
}


/* The mappings [m, m + n) of one frame. */
static void check_frame(struct check *c, const struct mapping *m, size_t n,
                        const struct mmsim_mm_owner_ref *owners, size_t nowners)
{
    size_t objects = 0;
    bool anon = false, writable = false;
    for (size_t i = 0; i < n; i++) {
        objects += m[i].object;
        anon |= m[i].anon;
        writable |= !m[i].in_store && m[i].user_writable;
    }
    void *frame = mmsim_phys_pa2host(m->pa);
    long expected = (long)objects + owner_refs(c, owners, nowners, frame);
    int refs = rt_page_ref_get(frame, 0);
    if (objects && refs != expected)
        mmsim_problem(c->out, &c->problems, WHO, "frame PA %#llx: %d references, expected %zu mappings + %ld",
                      (unsigned long long)m->pa, refs, objects, expected - (long)objects);
    if (anon && writable && n > 1)
        mmsim_problem(c->out, &c->problems, WHO,
                      "frame PA %#llx is mapped %zu times and user-writable at %#lx (COW bypassed)",
                      (unsigned long long)m->pa, n, (unsigned long)m->va);
}

/* The zero page is read-only in every mapping, not only while shared. */
static void count_zero_page(struct check *c, const struct mapping *m, size_t n)
{
    c->info.zero_frames++;
    c->info.zero_leaves += n;
    for (size_t i = 0; i < n; i++)
        if (m[i].writable_any)
            mmsim_problem(c->out, &c->problems, WHO, "zero page PA %#llx is writable at %#lx",
                          (unsigned long long)m[i].pa, (unsigned long)m[i].va);
}

static void check_frames(struct check *c, const struct mmsim_mm_owner_ref *owners, size_t nowners)
{
    if (c->nmaps)
        qsort(c->maps, c->nmaps, sizeof *c->maps, by_pa);
    for (size_t i = 0, j; i < c->nmaps; i = j) {
        for (j = i + 1; j < c->nmaps && c->maps[j].pa == c->maps[i].pa; j++)
            ;
        check_frame(c, &c->maps[i], j - i, owners, nowners);
        if (is_zero_page(c, mmsim_phys_pa2host(c->maps[i].pa)))
            count_zero_page(c, &c->maps[i], j - i);
        else
            c->info.data_frames++;
    }
}

/* ---- anonymous objects ------------------------------------------------------------ */

static size_t holders(struct check *c, rt_mem_obj_t obj)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nspaces; i++) {
        WR_LOCK(c->spaces[i]);
        for (rt_varea_t v = ASPACE_VAREA_FIRST(c->spaces[i]); v; v = ASPACE_VAREA_NEXT(v))
            n += v->mem_obj == obj;
        WR_UNLOCK(c->spaces[i]);
    }
    return n;
}

static void check_objects(struct check *c)
{
    for (size_t i = 0; i < c->nobjs; i++) {
        rt_mem_obj_t obj = c->objs[i];
        long own = mmsim_anon_backup(obj)->private_object == obj;
        long expected = own + (long)holders(c, obj), refs = mmsim_anon_reference(obj);
        long base = mmsim_anon_readonly(obj);
        if (refs != expected)
            mmsim_problem(c->out, &c->problems, WHO, "anonymous object %p: %ld references, expected %ld",
                          (void *)obj, refs, expected);
        if (base && refs <= base)
            mmsim_problem(c->out, &c->problems, WHO,
                          "anonymous object %p: read-only store alive at %ld references (base %ld)", (void *)obj,
                          refs, base);
    }
}

int mmsim_mm_check(rt_aspace_t const *aspaces, size_t n, const struct mmsim_mm_owner_ref *owners,
                   size_t nowners, FILE *report, struct mmsim_mm_info *info)
{
    struct check c = { .out = report };
    MMSIM_PRECOND(aspaces || !n, -1, "mmsim_mm_check: aspaces must not be NULL");
    c.nreg = owners_snapshot(c.reg);
    collect(&c, aspaces, n);
    for (size_t i = 0; i < c.nspaces; i++)
        check_space(&c, c.spaces[i]);
    check_frames(&c, owners, nowners);
    check_objects(&c);
    c.info.aspaces = c.nspaces;
    c.info.objects = c.nobjs;
    if (info)
        *info = c.info;
    free(c.spaces);
    free(c.objs);
    free(c.maps);
    return c.problems;
}

int mmsim_mm_check_machine(const struct mmsim_mm_owner_ref *owners, size_t nowners, FILE *report,
                           struct mmsim_mm_info *info)
{
    size_t n = mm_registry_snapshot(NULL, 0);
    rt_aspace_t *all = n ? malloc(n * sizeof *all) : NULL;
    if (n && !all) {
        int problems = 0;
        mmsim_problem(report, &problems, WHO, "out of host memory");
        return problems;
    }
    /* aspaces made between the two calls are left out: a check sees a moment */
    size_t got = mm_registry_snapshot(all, n);
    int problems = mmsim_mm_check(all, got < n ? got : n, owners, nowners, report, info);
    free(all);
    return problems;
}

/* ---- back to boot ------------------------------------------------------------ */

int mmsim_mm_check_boot_counts(FILE *report, struct mmsim_leak_report *leaks)
{
    int problems = 0;
    if (!mmsim_machine_booted()) {
        if (leaks)
            memset(leaks, 0, sizeof *leaks);
        return 0;
    }
    struct registered reg[MAX_REGISTERED];
    size_t live = mm_registry_snapshot(NULL, 0), nreg = owners_snapshot(reg);
    if (live)
        mmsim_problem(report, &problems, WHO, "%zu aspace(s) still live", live);
    RD_LOCK(&rt_kernel_space);
    bool kernel_vareas = ASPACE_VAREA_FIRST(&rt_kernel_space) != NULL;
    RD_UNLOCK(&rt_kernel_space);
    if (kernel_vareas)
        mmsim_problem(report, &problems, WHO, "rt_kernel_space still has vareas");
    for (size_t i = 0; i < nreg; i++)
        mmsim_problem(report, &problems, WHO, "frame %p still registered with %ld owner reference(s)",
                      reg[i].frame, reg[i].refs);
    struct mmsim_leak_report rep;
    if (mmsim_machine_leaks(&rep))
        mmsim_problem(report, &problems, WHO,
                      "not at boot counts: %zu frame(s) (%zu kernel table page(s)), %ld heap byte(s), "
                      "%d allocator problem(s)",
                      rep.frames, rep.kernel_tables, rep.heap_bytes, rep.allocator_problems);
    if (leaks)
        *leaks = rep;
    return problems;
}
