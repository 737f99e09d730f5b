/*
 * The driver's operations: each one predicts its outcome from the byte
 * model, runs through the simulated CPUs or the lwp/mm API, compares, and
 * brings the model up to date. A failure is acceptable only when an injected
 * allocation failure fired during the operation; it must then have changed
 * nothing the model would not know about.
 */
#include <string.h>
#include <lwp.h>
#include <mm_aspace.h>
#include <mm_fault.h>
#include <mm_page.h>
#include <mmsim/alloc.h>
#include <mmsim/phys.h>
#include "driver_int.h"

/* ---- helpers ------------------------------------------------------------------- */

uint64_t drv_injected(struct drv_lane *L)
{
    const struct drv_op *op = L->op;
    if (!op || !op->fail_kind)
        return 0;
    struct mmsim_alloc_counters c;
    mmsim_alloc_counters_get(op->fail_kind == 1 ? MMSIM_ALLOC_PAGE : MMSIM_ALLOC_HEAP, &c);
    return c.injected - L->injected_before[op->fail_kind - 1];
}

static uint8_t pattern_byte(uint64_t seed, size_t i)
{
    uint64_t x = seed + (i / 8) * 0x9e3779b97f4a7c15ull;
    return (uint8_t)(mmsim_sim_rand(&x) >> (8 * (i % 8)));
}

static void *locked_v2p(rt_aspace_t as, uint64_t va)
{
    rt_spin_lock(&as->pgtbl_lock);
    void *pa = rt_hw_mmu_v2p(as, (void *)(uintptr_t)va);
    rt_spin_unlock(&as->pgtbl_lock);
    return pa;
}

/* The kernel address of the frame mapped at `page` of P, or NULL. */
static uint8_t *frame_of(struct drv *d, struct drv_proc *P, unsigned page)
{
    void *pa = locked_v2p(mmsim_proc_aspace(P->p), drv_va_of(d, page));
    return pa == ARCH_MAP_FAILED ? NULL : rt_kmem_p2v(pa);
}

bool drv_has_pte(struct drv *d, struct drv_proc *P, unsigned page)
{
    return frame_of(d, P, page) != NULL;
}

static bool is_modelled(const struct drv *d, unsigned page)
{
    return page < d->npages;
}

/* A live process in one of the lane's slots, or NULL after a malformed-op
 * message. */
static struct drv_proc *own_proc(struct drv_lane *L, int slot)
{
    struct drv *d = L->d;
    if (slot < (int)L->slot0 || slot >= (int)(L->slot0 + L->nslot) || !d->procs[slot].p) {
        drv_problem(L, "p%d is not a live process of this CPU's lane at this step", slot);
        return NULL;
    }
    return &d->procs[slot];
}

static bool free_slot(struct drv_lane *L, int slot)
{
    if (slot < (int)L->slot0 || slot >= (int)(L->slot0 + L->nslot) || L->d->procs[slot].p) {
        drv_problem(L, "p%d is not a free slot of this CPU's lane at this step", slot);
        return false;
    }
    return true;
}

struct counts
{
    size_t frames, heap;
};

static void counts_get(struct counts *c)
{
    struct mmsim_phys_stats st;
    mmsim_phys_stats_get(&st);
    c->frames = st.allocated_frames;
    c->heap = mmsim_heap_used();
    /* the lwp layer frees a zero page no PTE maps at its next close, so an
     * unused one coming or going is not the operation's doing */
    void *zero = mmsim_lwp_zero_page();
    if (zero && rt_page_ref_get(zero, 0) == 1)
        c->frames--;
}

/* An mm operation failed: only acceptable when an injected failure fired,
 * and then all-or-nothing (frames and heap as before: deterministic schedule). */
static int failed_cleanly(struct drv_lane *L, const struct counts *before, const char *what, long rc)
{
    if (!drv_injected(L)) {
        drv_problem(L, "%s failed (%ld) without an injected allocation failure", what, rc);
        return -1;
    }
    if (L->d->cfg.threads)
        return 0;
    struct counts after;
    counts_get(&after);
    if (after.frames != before->frames || after.heap != before->heap) {
        drv_problem(L, "%s failed on an injected allocation failure but left %+ld frame(s) and %+ld heap byte(s) behind",
                    what, (long)after.frames - (long)before->frames, (long)after.heap - (long)before->heap);
        return -1;
    }
    return 0;
}

/* ---- processes ---------------------------------------------------------------- */

static int op_create(struct drv_lane *L, const struct drv_op *op, struct drv_buf *out)
{
    struct drv *d = L->d;
    if (!free_slot(L, op->slot))
        return -2;
    struct drv_proc *P = &d->procs[op->slot];
    snprintf(P->name, sizeof P->name, "p%d", op->slot);
    struct counts before;
    counts_get(&before);
    if (drv_model_init(d, &P->m) != 0) {
        drv_problem(L, "the driver ran out of host memory");
        return -1;
    }
    drv_sched_lock(d);
    P->p = mmsim_proc_create(P->name);
    drv_sched_unlock(d);
    if (!P->p) {
        drv_model_free(&P->m);
        drv_buf_printf(out, "null");
        return failed_cleanly(L, &before, "mmsim_proc_create", 0);
    }
    drv_buf_printf(out, "ok");
    return 0;
}

static int op_fork(struct drv_lane *L, const struct drv_op *op, struct drv_buf *out)
{
    struct drv *d = L->d;
    struct drv_proc *parent = own_proc(L, op->slot);
    if (!parent || !free_slot(L, op->slot2))
        return -2;
    struct drv_proc *child = &d->procs[op->slot2];
    snprintf(child->name, sizeof child->name, "p%d", op->slot2);
    if (drv_model_copy(d, &child->m, &parent->m) != 0) {
        drv_problem(L, "the driver ran out of host memory");
        return -1;
    }
    struct counts before;
    counts_get(&before);
    drv_sched_lock(d);
    child->p = mmsim_proc_fork(parent->p, child->name);
    drv_sched_unlock(d);
    if (!child->p) {
        drv_model_free(&child->m);
        drv_buf_printf(out, "null");
        return failed_cleanly(L, &before, "mmsim_proc_fork", 0);
    }
    drv_buf_printf(out, "ok");
    return 0;
}

static int op_exit(struct drv_lane *L, const struct drv_op *op, struct drv_buf *out)
{
    struct drv *d = L->d;
    struct drv_proc *P = own_proc(L, op->slot);
    if (!P)
        return -2;
    drv_sched_lock(d);
    mmsim_proc_exit(P->p);
    drv_sched_unlock(d);
    P->p = NULL;
    drv_model_free(&P->m);
    drv_buf_printf(out, "ok");
    return 0;
}

static int op_run(struct drv_lane *L, const struct drv_op *op, struct drv_buf *out)
{
    struct drv *d = L->d;
    struct mmsim_proc *p = NULL;
    if (op->slot == DRV_SLOT_SHARED) {
        if (!d->shared.p) {
            drv_problem(L, "there is no shared process (only with threads)");
            return -2;
        }
        p = d->shared.p;
    } else if (op->slot != DRV_SLOT_IDLE) {
        struct drv_proc *P = own_proc(L, op->slot);
        if (!P)
            return -2;
        p = P->p;
    }
    drv_sched_lock(d);
    mmsim_cpu_run(mmsim_sim_cpu(op->cpu), p);
    drv_sched_unlock(d);
    drv_buf_printf(out, "ok");
    return 0;
}

/* ---- mappings ------------------------------------------------------------------- */

static bool range_ok(struct drv_lane *L, const struct drv_op *op)
{
    struct drv *d = L->d;
    if (!is_modelled(d, op->page) || op->npages == 0 || op->page + op->npages > drv_region_end(d, op->page)) {
        drv_problem(L, "pages %u+%u are not inside the window or the stack", op->page, op->npages);
        return false;
    }
    return true;
}

static void model_map(struct drv *d, struct drv_model *m, unsigned page, unsigned n, bool zero)
{
    for (unsigned p = page; p < page + n; p++) {
        m->mapped[p] = 1;
        m->ro[p] = 0;
        m->allknown[p] = zero;
        memset(m->data + (size_t)p * DRV_PAGE, 0, DRV_PAGE);
        memset(m->known + (size_t)p * DRV_PAGE, zero, DRV_PAGE);
    }
    (void)d;
}

static int op_mmap(struct drv_lane *L, const struct drv_op *op, struct drv_buf *out)
{
    struct drv *d = L->d;
    struct drv_proc *P = own_proc(L, op->slot);
    if (!P || !range_ok(L, op))
        return -2;
    uint64_t va = drv_va_of(d, op->page);
    struct counts before;
    counts_get(&before);
    void *r = lwp_mmap2(mmsim_proc_lwp(P->p), (void *)(uintptr_t)va, (size_t)op->npages * DRV_PAGE,
                        PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if ((uintptr_t)r == va) {
        model_map(d, &P->m, op->page, op->npages, true);
        drv_buf_printf(out, "ok");
        return 0;
    }
    intptr_t rc = (intptr_t)r;
    if (rc < 0 && rc > -4096) {
        drv_buf_printf(out, "err=%ld", (long)rc);
        return failed_cleanly(L, &before, "lwp_mmap2", (long)rc);
    }
    drv_problem(L, "lwp_mmap2 MAP_FIXED at %#llx returned %p", (unsigned long long)va, r);
    return -1;
}

static int op_munmap(struct drv_lane *L, const struct drv_op *op, struct drv_buf *out)
{
    struct drv *d = L->d;
    struct drv_proc *P = own_proc(L, op->slot);
    if (!P || !range_ok(L, op))
        return -2;
    struct counts before;
    counts_get(&before);
    int rc = lwp_munmap(mmsim_proc_lwp(P->p), (void *)(uintptr_t)drv_va_of(d, op->page),
                        (size_t)op->npages * DRV_PAGE);
    if (rc == 0) {
        for (unsigned p = op->page; p < op->page + op->npages; p++)
            P->m.mapped[p] = P->m.ro[p] = 0;
        drv_buf_printf(out, "ok");
        return 0;
    }
    drv_buf_printf(out, "err=%d", rc);
    return failed_cleanly(L, &before, "lwp_munmap", rc);
}

static int op_mapp(struct drv_lane *L, const struct drv_op *op, struct drv_buf *out)
{
    struct drv *d = L->d;
    struct drv_proc *P = own_proc(L, op->slot);
    if (!P || !range_ok(L, op))
        return -2;
    uint64_t va = drv_va_of(d, op->page);
    struct counts before;
    counts_get(&before);
    size_t flags = LWP_MAP_FLAG_MAP_FIXED | (op->flag ? LWP_MAP_FLAG_NOCACHE : 0);
    rt_varea_t v = lwp_map_user_varea_ext(mmsim_proc_lwp(P->p), (void *)(uintptr_t)va,
                                          (size_t)op->npages * DRV_PAGE, flags);
    if (!v) {
        drv_buf_printf(out, "null");
        return failed_cleanly(L, &before, "lwp_map_user_varea_ext", 0);
    }
    uint64_t start = (uintptr_t)v->start, end = start + v->size;
    if (va < start || va + (uint64_t)op->npages * DRV_PAGE > end) {
        drv_problem(L, "lwp_map_user_varea_ext at %#llx+%u pages returned the varea [%#llx, %#llx)",
                    (unsigned long long)va, op->npages, (unsigned long long)start, (unsigned long long)end);
        return -1;
    }
    model_map(d, &P->m, op->page, op->npages, false);
    drv_buf_printf(out, "ok");
    return 0;
}

static int op_protect(struct drv_lane *L, const struct drv_op *op, struct drv_buf *out)
{
    struct drv *d = L->d;
    struct drv_proc *P = own_proc(L, op->slot);
    if (!P)
        return -2;
    if (!is_modelled(d, op->page)) {
        drv_problem(L, "page %u is not inside the window or the stack", op->page);
        return -2;
    }
    rt_aspace_t as = mmsim_proc_aspace(P->p);
    uint64_t va = drv_va_of(d, op->page);
    rt_varea_t v = rt_aspace_query(as, (void *)(uintptr_t)va);
    uint64_t start = v ? (uintptr_t)v->start : 0, end = v ? start + v->size : 0;
    int expect = v ? RT_EOK : -RT_ENOENT;
    struct counts before;
    counts_get(&before);
    int rc = rt_aspace_control(as, (void *)(uintptr_t)va, op->flag ? MMU_CNTL_READONLY : MMU_CNTL_READWRITE);
    if (rc != expect) {
        drv_buf_printf(out, "err=%d", rc);
        if (rc == RT_EOK) {
            drv_problem(L, "rt_aspace_control at %#llx succeeded where no varea is", (unsigned long long)va);
            return -1;
        }
        return failed_cleanly(L, &before, "rt_aspace_control", rc);
    }
    if (rc != RT_EOK) {
        drv_buf_printf(out, "err=%d", rc);
        return 0;
    }
    for (unsigned p = 0; p < d->npages; p++) {
        uint64_t pva = drv_va_of(d, p);
        if (pva < start || pva >= end)
            continue;
        if (!P->m.mapped[p]) {
            drv_problem(L, "the varea [%#llx, %#llx) at %#llx covers page %u (%#llx), which the model has unmapped",
                        (unsigned long long)start, (unsigned long long)end, (unsigned long long)va, p,
                        (unsigned long long)pva);
            return -1;
        }
        P->m.ro[p] = op->flag;
    }
    drv_buf_printf(out, "ok");
    return 0;
}

/* ---- accesses ------------------------------------------------------------------- */

enum acc_kind
{
    ACC_LOAD,
    ACC_STORE,
    ACC_FETCH,
    ACC_READ,
    ACC_WRITE,
};

struct chunk
{
    long page;   /* model page, or -1 outside the model (never mapped) */
    uint64_t va;
    unsigned off, n;
};

/* Split an access into the pages it touches. */
static unsigned split(const struct drv *d, unsigned page, unsigned off, unsigned len, struct chunk *ch)
{
    unsigned n = 0;
    long p = is_modelled(d, page) ? (long)page : -1;
    uint64_t va = drv_va_of(d, page) + off;
    unsigned end = p >= 0 ? drv_region_end(d, page) : 0;
    while (len && n < 5) {
        unsigned in_page = DRV_PAGE - off;
        unsigned k = len < in_page ? len : in_page;
        ch[n++] = (struct chunk){ .page = p, .va = va, .off = off, .n = k };
        len -= k;
        va += k;
        off = 0;
        p = p >= 0 && (unsigned)p + 1 < end ? p + 1 : -1;
    }
    return n;
}

static bool page_ok(const struct drv_model *m, long page, bool store)
{
    return m && page >= 0 && m->mapped[page] && !(store && m->ro[page]);
}

/* Compare bytes read with the model, learning the ones it does not know. */
static int model_compare(struct drv_lane *L, struct drv_proc *P, const struct chunk *c, const uint8_t *got,
                         const char *how)
{
    size_t base = (size_t)c->page * DRV_PAGE + c->off;
    uint8_t *data = P->m.data + base, *known = P->m.known + base;
    for (unsigned j = 0; j < c->n; j++) {
        if (!known[j]) {
            data[j] = got[j];
            known[j] = 1;
        } else if (data[j] != got[j]) {
            drv_problem(L, "data: %s of %s at %#llx read %#04x where the model has %#04x", how, P->name,
                        (unsigned long long)(c->va + j), got[j], data[j]);
            return -1;
        }
    }
    return 0;
}

static void model_store(struct drv_proc *P, const struct chunk *c, const uint8_t *src)
{
    size_t base = (size_t)c->page * DRV_PAGE + c->off;
    memcpy(P->m.data + base, src, c->n);
    memset(P->m.known + base, 1, c->n);
}

static const char *const acc_names[] = { "load", "store", "fetch", "read", "write" };

static int do_access(struct drv_lane *L, unsigned cpu_id, enum acc_kind k, unsigned page, unsigned off,
                     unsigned len, uint64_t value, struct mmsim_access_report *rep, struct drv_buf *out)
{
    struct drv *d = L->d;
    struct mmsim_cpu *cpu = mmsim_sim_cpu(cpu_id);
    struct drv_proc *P = drv_current(L, cpu_id, NULL);
    const struct drv_model *m = P ? &P->m : NULL;
    bool store = k == ACC_STORE || k == ACC_WRITE;
    struct chunk ch[5];
    unsigned nch = split(d, page, off, len, ch);
    int bad = -1;
    if (k == ACC_STORE && nch == 2) { /* both pages translated before either is written */
        bad = !page_ok(m, ch[1].page, true) ? 1 : !page_ok(m, ch[0].page, true) ? 0 : -1;
    } else {
        for (unsigned i = 0; i < nch && bad < 0; i++)
            if (!page_ok(m, ch[i].page, store))
                bad = (int)i;
    }
    static _Thread_local uint8_t buf[DRV_MAX_BULK];
    uint64_t va = ch[0].va;
    enum mmsim_access_status st = MMSIM_ACCESS_OK;
    L->accesses++;
    switch (k) {
    case ACC_LOAD: {
        uint64_t v = 0;
        st = mmsim_cpu_load(cpu, va, len, &v, rep);
        memcpy(buf, &v, len);
        break;
    }
    case ACC_STORE:
        memcpy(buf, &value, len);
        st = mmsim_cpu_store(cpu, va, len, value, rep);
        break;
    case ACC_FETCH: {
        uint32_t insn = 0;
        st = mmsim_cpu_fetch(cpu, va, &insn, rep);
        memcpy(buf, &insn, 4);
        break;
    }
    case ACC_READ:
        st = mmsim_cpu_read(cpu, va, buf, len, rep);
        break;
    case ACC_WRITE:
        for (unsigned i = 0; i < len; i++)
            buf[i] = pattern_byte(value, i);
        st = mmsim_cpu_write(cpu, va, buf, len, rep);
        break;
    }
    int got = -1;
    if (st != MMSIM_ACCESS_OK) {
        for (unsigned i = 0; i < nch && got < 0; i++)
            if (ch[i].va == rep->va)
                got = (int)i;
        if (st != MMSIM_ACCESS_SEGV || got < 0) {
            drv_problem(L, "%s of %u byte(s) at %#llx on cpu%u: %s at %#llx: %s", acc_names[k], len,
                        (unsigned long long)va, cpu_id, mmsim_access_status_name(st),
                        (unsigned long long)rep->va, rep->cause);
            return -1;
        }
    }
    if (got != bad) {
        bool injected = got >= 0 && drv_injected(L) && strstr(rep->cause, "injected") &&
                        (bad < 0 || got <= bad || (k == ACC_STORE && nch == 2));
        if (!injected) {
            char want[64], have[64];
            if (bad < 0)
                snprintf(want, sizeof want, "ok");
            else
                snprintf(want, sizeof want, "segv at %#llx", (unsigned long long)ch[bad].va);
            if (got < 0)
                snprintf(have, sizeof have, "ok");
            else
                snprintf(have, sizeof have, "segv at %#llx", (unsigned long long)ch[got].va);
            drv_problem(L, "%s of %u byte(s) at %#llx on cpu%u (%s): expected %s, got %s%s%s", acc_names[k], len,
                        (unsigned long long)va, cpu_id, P ? P->name : "idle", want, have,
                        got >= 0 ? ": " : "", got >= 0 ? rep->cause : "");
            return -1;
        }
    }
    /* bytes done: everything, the chunks before a failed one (bulk), or none
     * (a single access is all or nothing) */
    unsigned ndone = got < 0 ? nch : (k == ACC_READ || k == ACC_WRITE) ? (unsigned)got : 0;
    const uint8_t *b = buf;
    for (unsigned i = 0; i < ndone; i++) {
        if (ch[i].page >= 0 && P) {
            if (store)
                model_store(P, &ch[i], b);
            else if (model_compare(L, P, &ch[i], b, acc_names[k]) != 0)
                return -1;
        }
        b += ch[i].n;
    }
    if (got < 0)
        drv_buf_printf(out, "ok");
    else
        drv_buf_printf(out, "segv@%#llx", (unsigned long long)ch[got].va);
    return 0;
}

static bool fsc_is_mmu(unsigned fsc)
{
    unsigned kind = fsc >> 2;
    return fsc == 0x2b || (fsc < 0x10 && (kind == 1 || kind == 3));
}

static int do_fault(struct drv_lane *L, unsigned cpu_id, unsigned page, unsigned off, unsigned aop, unsigned fsc,
                    unsigned repeat, struct drv_buf *out)
{
    struct drv *d = L->d;
    struct mmsim_cpu *cpu = mmsim_sim_cpu(cpu_id);
    struct drv_proc *P = drv_current(L, cpu_id, NULL);
    uint64_t va = drv_va_of(d, page) + off;
    bool upper = (va >> 55) & 1;
    bool expect;
    if ((fsc >> 2) == 2 && fsc < 0x10) { /* access flag: fixed only by the sw_af policy, on a leaf */
        rt_aspace_t as = upper ? &rt_kernel_space : P ? mmsim_proc_aspace(P->p) : NULL;
        expect = d->cfg.policy == MMSIM_DRIVER_POLICY_SW_AF && as && locked_v2p(as, va) != ARCH_MAP_FAILED;
    } else {
        long mp = is_modelled(d, page) ? (long)page : -1;
        expect = fsc_is_mmu(fsc) && page_ok(P ? &P->m : NULL, mp, aop == MMSIM_ACCESS_STORE);
    }
    for (unsigned r = 0; r < repeat; r++) {
        uint64_t inj = drv_injected(L);
        int rc = mmsim_cpu_inject_fault(cpu, va, (enum mmsim_access_op)aop, (uint8_t)fsc);
        bool fixed = rc == MM_FAULT_FIXABLE_TRUE;
        L->faults++;
        drv_buf_printf(out, "%s%s", r ? "," : "", fixed ? "fixed" : "unfixed");
        if (fixed != expect && !(expect && drv_injected(L) > inj)) {
            static const char *const ops[] = { "load", "store", "fetch" };
            drv_problem(L, "injected %s fault (FSC %#04x) at %#llx on cpu%u (%s), %s %u: expected %s, got %s",
                        ops[aop], fsc, (unsigned long long)va, cpu_id, P ? P->name : "idle",
                        r ? "repeat" : "attempt", r + 1, expect ? "fixed" : "unfixed", fixed ? "fixed" : "unfixed");
            return -1;
        }
    }
    return 0;
}

/* RT-Thread #9854: two CPUs run one process and take the same page's fault.
 * B caches the page, A writes it (a first touch or COW), B then enters the
 * fault path with A's syndrome — a fault that is now spurious and must be
 * fixed without disturbing the data — and both see each other's data. */
static int op_race(struct drv_lane *L, const struct drv_op *op, struct drv_buf *out)
{
    struct drv *d = L->d;
    struct drv_proc *P = own_proc(L, op->slot);
    if (!P)
        return -2;
    if (op->cpu2 == op->cpu || op->cpu2 >= d->cfg.ncpus) {
        drv_problem(L, "race needs a second CPU other than cpu%u", op->cpu);
        return -2;
    }
    L->races++;
    drv_sched_lock(d);
    mmsim_cpu_run(mmsim_sim_cpu(op->cpu2), P->p);
    mmsim_cpu_run(mmsim_sim_cpu(op->cpu), P->p);
    drv_sched_unlock(d);
    struct mmsim_access_report rep;
    int rc = do_access(L, op->cpu2, ACC_LOAD, op->page, op->off, 8, 0, &rep, out);
    drv_buf_printf(out, ",");
    if (rc == 0)
        rc = do_access(L, op->cpu, ACC_STORE, op->page, op->off, 8, op->value, &rep, out);
    uint8_t fsc = rep.faults ? rep.last.fsc : 0x0f;
    drv_buf_printf(out, ",");
    if (rc == 0)
        rc = do_fault(L, op->cpu2, op->page, op->off, MMSIM_ACCESS_STORE, fsc, 1, out);
    drv_buf_printf(out, ",");
    if (rc == 0)
        rc = do_access(L, op->cpu2, ACC_LOAD, op->page, op->off, 8, 0, &rep, out);
    drv_buf_printf(out, ",");
    if (rc == 0)
        rc = do_access(L, op->cpu2, ACC_STORE, op->page, op->off, 8, ~op->value, &rep, out);
    drv_buf_printf(out, ",");
    if (rc == 0)
        rc = do_access(L, op->cpu, ACC_LOAD, op->page, op->off, 8, 0, &rep, out);
    return rc;
}

/* ---- sabotage ------------------------------------------------------------------- */

static int op_sabotage(struct drv_lane *L, const struct drv_op *op, struct drv_buf *out)
{
    struct drv *d = L->d;
    if (op->kind == DRV_LEAK) {
        void *frame = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
        drv_buf_printf(out, "%s", frame ? "ok" : "null");
        return 0;
    }
    struct drv_proc *P = own_proc(L, op->slot);
    if (!P)
        return -2;
    if (!is_modelled(d, op->page)) {
        drv_problem(L, "page %u is not inside the window or the stack", op->page);
        return -2;
    }
    uint8_t *frame = frame_of(d, P, op->page);
    if (!frame) {
        drv_buf_printf(out, "nopte");
        return 0;
    }
    if (op->kind == DRV_POKE)
        frame[op->off % DRV_PAGE] ^= (uint8_t)(op->value | 1);
    else
        rt_page_ref_inc(frame, 0);
    drv_buf_printf(out, "ok");
    return 0;
}

/* ---- dispatch --------------------------------------------------------------------- */

int drv_exec(struct drv_lane *L, const struct drv_op *op, struct drv_buf *out)
{
    struct drv *d = L->d;
    if (op->cpu >= d->cfg.ncpus || op->cpu < L->cpu0 || op->cpu >= L->cpu0 + L->ncpu) {
        drv_problem(L, "cpu%u is not a CPU of this lane", op->cpu);
        return -2;
    }
    if ((op->kind >= DRV_LOAD && op->kind <= DRV_RACE) || op->kind == DRV_POKE || op->kind == DRV_REF) {
        unsigned last = op->kind == DRV_RACE || op->kind == DRV_POKE || op->kind == DRV_REF ? d->npages
                                                                                            : drv_npages_all(d);
        if (op->page >= last || op->off >= DRV_PAGE) {
            drv_problem(L, "page %u offset %u is outside what this operation may touch", op->page, op->off);
            return -2;
        }
    }
    struct mmsim_access_report rep;
    switch (op->kind) {
    case DRV_CREATE: L->mm_ops++; return op_create(L, op, out);
    case DRV_FORK: L->mm_ops++; return op_fork(L, op, out);
    case DRV_EXIT: L->mm_ops++; return op_exit(L, op, out);
    case DRV_RUN: return op_run(L, op, out);
    case DRV_MMAP: L->mm_ops++; return op_mmap(L, op, out);
    case DRV_MUNMAP: L->mm_ops++; return op_munmap(L, op, out);
    case DRV_MAPP: L->mm_ops++; return op_mapp(L, op, out);
    case DRV_PROTECT: L->mm_ops++; return op_protect(L, op, out);
    case DRV_LOAD:
    case DRV_STORE:
        if (op->len != 1 && op->len != 2 && op->len != 4 && op->len != 8) {
            drv_problem(L, "an access size is 1, 2, 4 or 8, not %u", op->len);
            return -2;
        }
        return do_access(L, op->cpu, op->kind == DRV_LOAD ? ACC_LOAD : ACC_STORE, op->page, op->off, op->len,
                         op->value, &rep, out);
    case DRV_FETCH:
        if (op->off & 3) {
            drv_problem(L, "a fetch is 4-byte aligned");
            return -2;
        }
        return do_access(L, op->cpu, ACC_FETCH, op->page, op->off, 4, 0, &rep, out);
    case DRV_READ:
    case DRV_WRITE:
        if (op->len == 0 || op->len > DRV_MAX_BULK) {
            drv_problem(L, "a bulk copy is 1..%u bytes", DRV_MAX_BULK);
            return -2;
        }
        return do_access(L, op->cpu, op->kind == DRV_READ ? ACC_READ : ACC_WRITE, op->page, op->off, op->len,
                         op->value, &rep, out);
    case DRV_FAULT:
        if (op->aop > MMSIM_ACCESS_FETCH || op->fsc > 0x3f || op->repeat == 0 || op->repeat > DRV_MAX_REPEAT) {
            drv_problem(L, "a fault is load|store|fetch, an FSC below 0x40 and 1..%u repeats", DRV_MAX_REPEAT);
            return -2;
        }
        return do_fault(L, op->cpu, op->page, op->off, op->aop, op->fsc, op->repeat, out);
    case DRV_RACE:
        if (d->cfg.threads) {
            drv_problem(L, "race belongs to the deterministic schedule");
            return -2;
        }
        return op_race(L, op, out);
    case DRV_POKE:
    case DRV_REF:
    case DRV_LEAK:
        return op_sabotage(L, op, out);
    case DRV_KINDS:
        break;
    }
    drv_problem(L, "unknown operation");
    return -2;
}

/* ---- checks ------------------------------------------------------------------------ */

int drv_verify_proc(struct drv_lane *L, struct drv_proc *P)
{
    struct drv *d = L->d;
    rt_aspace_t as = mmsim_proc_aspace(P->p);
    for (unsigned p = 0; p < d->npages; p++) {
        uint64_t va = drv_va_of(d, p);
        rt_varea_t v = rt_aspace_query(as, (void *)(uintptr_t)va);
        if (!!v != !!P->m.mapped[p]) {
            drv_problem(L, "layout: %s page %u (%#llx) %s a varea, but the model has it %s", P->name, p,
                        (unsigned long long)va, v ? "lies in" : "has no", P->m.mapped[p] ? "mapped" : "unmapped");
            return -1;
        }
        if (v) {
            bool ro = !rt_hw_mmu_attr_test_perm(v->attr, RT_HW_MMU_PROT_USER | RT_HW_MMU_PROT_WRITE);
            if (ro != !!P->m.ro[p]) {
                drv_problem(L, "layout: %s page %u (%#llx) lies in a %s varea [%p, +%#zx), the model says %s", P->name,
                            p, (unsigned long long)va, ro ? "read-only" : "writable", v->start, (size_t)v->size,
                            P->m.ro[p] ? "read-only" : "writable");
                return -1;
            }
        }
        uint8_t *frame = frame_of(d, P, p);
        if (!frame)
            continue;
        if (!v) {
            drv_problem(L, "layout: %s page %u (%#llx) has a PTE but no varea", P->name, p, (unsigned long long)va);
            return -1;
        }
        uint8_t *data = P->m.data + (size_t)p * DRV_PAGE;
        if (P->m.allknown[p] && memcmp(frame, data, DRV_PAGE) == 0)
            continue;
        struct chunk c = { .page = p, .va = va, .off = 0, .n = DRV_PAGE };
        if (model_compare(L, P, &c, frame, "the frame") != 0)
            return -1;
        P->m.allknown[p] = 1;
    }
    return 0;
}

int drv_sweep_proc(struct drv_lane *L, struct drv_proc *P, unsigned cpu_id)
{
    struct drv *d = L->d;
    drv_sched_lock(d);
    mmsim_cpu_run(mmsim_sim_cpu(cpu_id), P->p);
    drv_sched_unlock(d);
    struct drv_buf scratch = { 0 };
    int rc = 0;
    for (unsigned p = 0; p < d->npages && rc == 0; p++) {
        if (!P->m.mapped[p])
            continue;
        struct mmsim_access_report rep;
        scratch.len = 0;
        rc = do_access(L, cpu_id, ACC_READ, p, 0, DRV_PAGE, 0, &rep, &scratch);
    }
    drv_buf_free(&scratch);
    return rc;
}
