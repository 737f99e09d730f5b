/* The dumps: a process's vareas, its page-table tree, and which frames the
 * live processes share with whom. Leaves are found by probing the tables
 * the way AT does, skipping a whole empty table range at a time, so a
 * 256 MiB stack with two pages touched costs a handful of walks. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <lwp.h>
#include <mm_aspace.h>
#include <mm_page.h>
#include <mmsim/pgtable.h>
#include <mmsim/phys.h>
#include <mmsim/vmsa.h>
#include "scenario_int.h"

/* Bytes one entry at `level` maps with the 4 KiB granule. */
static uint64_t level_span(int level)
{
    return (uint64_t)1 << (39 - 9 * (level < 0 ? 0 : level));
}

bool sc_leaf(rt_aspace_t as, uint64_t va, struct mmsim_desc *d, uint64_t *span)
{
    struct mmsim_vmsa_access acc = { .op = MMSIM_OP_READ, .el = 1, .at = true };
    struct mmsim_vmsa_result res;
    mmsim_mmu_translate(as, va, &acc, &res);
    uint64_t size = level_span(res.level);
    *span = size - (va & (size - 1));
    if (res.fault != MMSIM_FAULT_NONE && res.fault != MMSIM_FAULT_ACCESS_FLAG && res.fault != MMSIM_FAULT_PERMISSION)
        return false;
    const uint64_t *raw = mmsim_phys_pa2host(res.desc_pa);
    if (!raw)
        return false;
    struct mmsim_vmsa_regime reg;
    mmsim_vmsa_regime_rt(&reg, false);
    mmsim_desc_decode(&reg, res.level, *raw, d);
    return d->kind == MMSIM_DESC_PAGE || d->kind == MMSIM_DESC_BLOCK;
}

/* ---- vareas ---- */

static const char *attr_words(rt_size_t attr)
{
    switch ((attr & MMU_AP_MASK) >> MMU_AP_SHIFT) {
    case MMU_AP_KAUN: return "kernel rw";
    case MMU_AP_KAUA: return "user rw";
    case MMU_AP_KRUN: return "kernel ro";
    default: return "user ro";
    }
}

static size_t pages_mapped(rt_aspace_t as, uint64_t start, uint64_t end)
{
    size_t n = 0;
    for (uint64_t va = start, span; va < end && va >= start; va += span) {
        struct mmsim_desc d;
        if (sc_leaf(as, va, &d, &span))
            n += (size_t)((span < end - va ? span : end - va) >> 12);
    }
    return n;
}

struct varea_print
{
    FILE *out;
    rt_aspace_t as;
};

static int print_varea(rt_varea_t v, void *arg)
{
    struct varea_print *vp = arg;
    uint64_t start = (uint64_t)(uintptr_t)v->start, end = start + v->size;
    const char *obj = v->mem_obj ? (v->mem_obj->get_name ? v->mem_obj->get_name(v) : "object") : "physical";
    fprintf(vp->out, "    0x%012" PRIx64 "-0x%012" PRIx64 " %8zu KiB  %-9s %-8s %-9s %zu page%s mapped\n", start,
            end - 1, (size_t)(v->size >> 10), attr_words(v->attr), v->flag & MMF_MAP_PRIVATE ? "private" : "shared",
            obj, pages_mapped(vp->as, start, end), pages_mapped(vp->as, start, end) == 1 ? "" : "s");
    return 0;
}

void sc_dump_vareas(struct sc_run *r, int slot)
{
    struct mmsim_proc *p = r->procs[slot];
    struct varea_print vp = { r->out, mmsim_proc_aspace(p) };
    fprintf(r->out, "  vareas of %s:\n", mmsim_proc_name(p));
    rt_aspace_traversal(vp.as, print_varea, &vp);
    fprintf(r->out, "    (null: anonymous mmap over the zero page; anonymous: the process's own pages; "
                    "reference: shared since a fork)\n");
}

void sc_dump_tables(struct sc_run *r, int slot)
{
    struct mmsim_proc *p = r->procs[slot];
    fprintf(r->out, "  page tables of %s:\n", mmsim_proc_name(p));
    mmsim_mmu_dump(mmsim_proc_aspace(p), r->out);
}

/* ---- sharing ---- */

struct mapping
{
    uint64_t pa, va;
    int slot;
};

struct mapping_list
{
    struct mapping *m;
    size_t n, cap;
    int slot;
    rt_aspace_t as;
};

static void add_mapping(struct mapping_list *l, uint64_t pa, uint64_t va)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct mapping *m = realloc(l->m, cap * sizeof *m);
        if (!m)
            return; /* a dump on an exhausted host heap is shorter, nothing else */
        l->m = m;
        l->cap = cap;
    }
    l->m[l->n++] = (struct mapping){ pa, va, l->slot };
}

static int collect_varea(rt_varea_t v, void *arg)
{
    struct mapping_list *l = arg;
    uint64_t start = (uint64_t)(uintptr_t)v->start, end = start + v->size;
    for (uint64_t va = start, span; va < end && va >= start; va += span) {
        struct mmsim_desc d;
        if (!sc_leaf(l->as, va, &d, &span))
            continue;
        uint64_t base = d.addr + (va & (d.kind == MMSIM_DESC_BLOCK ? level_span(2) - 1 : 0));
        for (uint64_t off = 0; off < span && va + off < end; off += 4096)
            add_mapping(l, base + off, va + off);
    }
    return 0;
}

static int by_frame(const void *a, const void *b)
{
    const struct mapping *x = a, *y = b;
    if (x->pa != y->pa)
        return x->pa < y->pa ? -1 : 1;
    return x->slot != y->slot ? x->slot - y->slot : (x->va > y->va) - (x->va < y->va);
}

static void print_frame(struct sc_run *r, const struct mapping *m, size_t n, uint64_t zero_pa)
{
    int refs = rt_page_ref_get(rt_kmem_p2v((void *)(uintptr_t)m->pa), 0);
    bool zero = m->pa == zero_pa;
    fprintf(r->out, "    PA 0x%010" PRIx64 "  %d ref%s  %s", m->pa, refs, refs == 1 ? " " : "s",
            zero ? "(the zero page) " : "");
    for (size_t k = 0; k < n; k++)
        fprintf(r->out, "%s %s@0x%" PRIx64, k ? "," : "", mmsim_scenario_proc_name(r->sc, m[k].slot), m[k].va);
    long others = (long)refs - (long)n - (zero ? 1 : 0);
    if (others > 0)
        fprintf(r->out, ", +%ld mapping%s in a read-only fork store", others, others == 1 ? "" : "s");
    fputc('\n', r->out);
}

void sc_dump_sharing(struct sc_run *r)
{
    struct mapping_list l = { 0 };
    for (int s = 0; s < r->sc->nprocs; s++) {
        if (!r->procs[s])
            continue;
        l.slot = s;
        l.as = mmsim_proc_aspace(r->procs[s]);
        rt_aspace_traversal(l.as, collect_varea, &l);
    }
    void *zp = mmsim_lwp_zero_page();
    uint64_t zero_pa = zp ? mmsim_phys_host2pa(zp) : UINT64_MAX;
    fprintf(r->out, "  frames mapped by the live processes (each mapping holds one reference):\n");
    if (l.n == 0)
        fprintf(r->out, "    none\n");
    if (l.n)
        qsort(l.m, l.n, sizeof *l.m, by_frame);
    for (size_t k = 0, run; k < l.n; k += run) {
        for (run = 1; k + run < l.n && l.m[k + run].pa == l.m[k].pa; run++)
            ;
        print_frame(r, &l.m[k], run, zero_pa);
    }
    free(l.m);
}
