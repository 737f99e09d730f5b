/*
 * Loads, stores and instruction fetches: the TLB, the walk on a miss, and on
 * a fault the trap into the kernel as RT-Thread's aarch64 vector does it
 * (trap.c after PR #9047): the fault goes to rt_aspace_fault_try_fix as
 * MM_FAULT_TYPE_GENERIC_MMU, a fix retries the access, anything else is a
 * SIGSEGV-like result. The simulator's own checks (use-after-free, stale
 * TLB entries, the two walkers) run on the same path.
 */
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <mmsim/alloc.h>
#include <mmsim/phys.h>
#include <mmsim/pgtable.h>
#include <mm_fault.h>
#include "cpu_internal.h"

#define VA_UPPER(va) (((va) >> 55) & 1)

/* ---- descriptor memory for the walker --------------------------------------- */

static bool ram_read64(void *ctx, uint64_t pa, uint64_t *val)
{
    (void)ctx;
    uint64_t *p = mmsim_phys_pa2host(pa & ~7ull);
    if (!p)
        return false;
    *val = __atomic_load_n(p, __ATOMIC_ACQUIRE);
    return true;
}

static enum mmsim_simwalk_cas ram_cas64(void *ctx, uint64_t pa, uint64_t expected, uint64_t desired)
{
    (void)ctx;
    uint64_t *p = mmsim_phys_pa2host(pa & ~7ull);
    if (!p)
        return MMSIM_SIMWALK_CAS_ABORT;
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
               ? MMSIM_SIMWALK_CAS_DONE : MMSIM_SIMWALK_CAS_CHANGED;
}

/* Set up by sim_access_init with simulated RAM as the walker's direct window. */
static struct mmsim_simwalk_mem k_mem = { ram_read64, ram_cas64, NULL, NULL, 0, 0 };
static struct mmsim_simwalk_mem k_mem_readonly = { ram_read64, NULL, NULL, NULL, 0, 0 };

void sim_access_init(void)
{
    k_mem.window_host = k_mem_readonly.window_host = mmsim_sim_ram_.host;
    k_mem.window_pa = k_mem_readonly.window_pa = mmsim_sim_ram_.base_pa;
    k_mem.window_bytes = k_mem_readonly.window_bytes = mmsim_sim_ram_.size;
}

/* ---- syndrome --------------------------------------------------------------- */

#define ESR_EC_SHIFT 26
#define ESR_IL (1ull << 25)
#define ESR_WNR (1ull << 6)
#define EC_IABT_LOW 0x20u
#define EC_IABT_CUR 0x21u
#define EC_DABT_LOW 0x24u
#define EC_DABT_CUR 0x25u

uint64_t mmsim_cpu_esr(enum mmsim_access_op op, unsigned el, uint8_t fsc)
{
    uint64_t ec = op == MMSIM_ACCESS_FETCH ? (el ? EC_IABT_CUR : EC_IABT_LOW) : (el ? EC_DABT_CUR : EC_DABT_LOW);
    uint64_t esr = ec << ESR_EC_SHIFT | ESR_IL | (fsc & 0x3fu);
    return op == MMSIM_ACCESS_STORE ? esr | ESR_WNR : esr;
}

/* The walker's fault kind an FSC encodes (level -1 codes included). */
static enum mmsim_simwalk_fault fsc_kind(uint8_t fsc)
{
    if (fsc == 0x2b)
        return MMSIM_SIMWALK_FAULT_TRANSLATION;
    if (fsc == 0x29)
        return MMSIM_SIMWALK_FAULT_ADDR_SIZE;
    switch (fsc >> 2) {
    case 0: return MMSIM_SIMWALK_FAULT_ADDR_SIZE;
    case 1: return MMSIM_SIMWALK_FAULT_TRANSLATION;
    case 2: return MMSIM_SIMWALK_FAULT_ACCESS_FLAG;
    case 3: return MMSIM_SIMWALK_FAULT_PERMISSION;
    default: return fsc == 0x31 ? MMSIM_SIMWALK_FAULT_ATOMIC_HW : MMSIM_SIMWALK_FAULT_EXT_ABORT;
    }
}

/* Translation (levels -1..3) and permission faults reach mm; the rest
 * (address size, external aborts, access flag without a policy) are bus
 * errors to RT-Thread. */
static bool fsc_is_mmu_fault(uint8_t fsc)
{
    enum mmsim_simwalk_fault kind = fsc_kind(fsc);
    return kind == MMSIM_SIMWALK_FAULT_TRANSLATION || kind == MMSIM_SIMWALK_FAULT_PERMISSION;
}

bool mmsim_cpu_esr_to_fault(uint64_t esr, enum rt_mm_fault_op *op, enum rt_mm_fault_type *type)
{
    unsigned ec = (unsigned)(esr >> ESR_EC_SHIFT) & 0x3fu;
    if (ec == EC_IABT_LOW || ec == EC_IABT_CUR)
        *op = MM_FAULT_OP_EXECUTE;
    else if (ec == EC_DABT_LOW || ec == EC_DABT_CUR)
        *op = (esr & ESR_WNR) ? MM_FAULT_OP_WRITE : MM_FAULT_OP_READ;
    else
        return false;
    *type = MM_FAULT_TYPE_GENERIC_MMU;
    return fsc_is_mmu_fault((uint8_t)(esr & 0x3fu));
}

static int fault_level(uint8_t fsc)
{
    return fsc == 0x2b || fsc == 0x29 || fsc == 0x13 ? -1 : (int)(fsc & 3u);
}

/* ---- reports ---------------------------------------------------------------- */

static enum mmsim_access_status fail(struct mmsim_access_report *rep, enum mmsim_access_status st,
                                     uint64_t va, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum mmsim_access_status fail(struct mmsim_access_report *rep, enum mmsim_access_status st,
                                     uint64_t va, const char *fmt, ...)
{
    rep->status = st;
    rep->va = va;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->cause, sizeof rep->cause, fmt, ap);
    va_end(ap);
    return st;
}

static void remember_fault(struct mmsim_access_report *rep, const struct mmsim_fault_record *f)
{
    rep->faults++;
    rep->last = *f;
    if (rep->nhistory == MMSIM_SIM_HISTORY) {
        memmove(rep->history, rep->history + 1, (MMSIM_SIM_HISTORY - 1) * sizeof rep->history[0]);
        rep->nhistory--;
    }
    rep->history[rep->nhistory++] = *f;
}

/* Only the CPU's own counters: the running process gets its share when the
 * CPU switches away (sim_account), which keeps the hit path to one add. */
#define COUNT(cpu, field, n) ((cpu)->stats.field += (n))

/* ---- translation -------------------------------------------------------------- */

/* The aspace whose tables translate `va` on `cpu`, or NULL. */
static rt_aspace_t tables_of(const struct mmsim_cpu *cpu, uint64_t va)
{
    if (VA_UPPER(va))
        return &rt_kernel_space;
    return cpu->current ? cpu->current->lwp->aspace : NULL;
}

/* Walks read the tables while mm may be editing them on another host thread:
 * with several CPUs a walk holds the table lock, as a data-race-free
 * stand-in for the hardware's single-copy-atomic descriptor reads. Returns
 * what to hand to tables_unlock. */
static rt_aspace_t tables_lock(const struct mmsim_cpu *cpu, uint64_t va)
{
    rt_aspace_t locked = g_sim.cfg.ncpus > 1 ? tables_of(cpu, va) : NULL;
    if (locked)
        rt_spin_lock(&locked->pgtbl_lock);
    return locked;
}

static void tables_unlock(rt_aspace_t locked)
{
    if (locked)
        rt_spin_unlock(&locked->pgtbl_lock);
}

/* A walk that changes nothing (no AF or dirty update): what the tables say now. */
static void walk_quietly(const struct mmsim_cpu *cpu, uint64_t va, struct mmsim_simwalk_access acc,
                         struct mmsim_simwalk_result *res)
{
    rt_aspace_t locked = tables_lock(cpu, va);
    mmsim_simwalk_translate(&cpu->walk, &k_mem_readonly, va, acc, res);
    tables_unlock(locked);
}

static bool walk(struct mmsim_cpu *cpu, uint64_t va, struct mmsim_simwalk_access acc,
                 struct mmsim_simwalk_result *res, struct mmsim_access_report *rep)
{
    rt_aspace_t locked = tables_lock(cpu, va);
    COUNT(cpu, walks, 1);
    bool agree = true;
    char msg[160];
    if (g_sim.cfg.walk_crosscheck)
        agree = mmsim_simwalk_crosscheck(&cpu->walk, &k_mem, va, acc, res, msg, sizeof msg);
    else
        mmsim_simwalk_translate(&cpu->walk, &k_mem, va, acc, res);
    tables_unlock(locked);
    if (!agree)
        fail(rep, MMSIM_ACCESS_WALK_MISMATCH, va, "the two walkers disagree: %s", msg);
    return agree;
}

static void tlb_fill(struct mmsim_cpu *cpu, uint64_t va, const struct mmsim_simwalk_result *res,
                     uint64_t token)
{
    unsigned shift = (unsigned)__builtin_ctzll(res->leaf_size_bytes);
    struct mmsim_simtlb_entry e = {
        .va = va,
        .pa = res->pa,
        .leaf_shift = shift,
        .asid = res->asid,
        .global = res->global,
        .perms = res->perms,
        .el0_data = res->el0_data,
        .attr = res->mair_attr,
        .ttbr = (uint8_t)VA_UPPER(va),
    };
    mmsim_simtlb_insert(cpu->hot.tlb, &e, token); /* refused after a racing TLBI: the next access walks */
}

/* A TLB hit must agree with the tables as they are now: mm operations
 * invalidate before they return, so a disagreement is a missing TLBI. */
static bool tlb_hit_current(struct mmsim_cpu *cpu, uint64_t va, struct mmsim_simwalk_access acc, uint64_t pa,
                            struct mmsim_access_report *rep)
{
    struct mmsim_simwalk_result fresh;
    walk_quietly(cpu, va, acc, &fresh);
    bool hw_settles = fresh.fault == MMSIM_SIMWALK_FAULT_ACCESS_FLAG && g_sim.cfg.hw_af;
    if ((fresh.fault == MMSIM_SIMWALK_OK && fresh.pa == pa) || hw_settles)
        return true;
    const char *op = __atomic_load_n(&g_sim.op_note, __ATOMIC_ACQUIRE);
    rep->pa = pa;
    fail(rep, MMSIM_ACCESS_STALE_TLB, va,
         "stale TLB entry: VA %#llx (ASID %u) still maps PA %#llx but the tables now give %s%s; "
         "no TLB invalidation covered it (last mm operation: %s)",
         (unsigned long long)va, cpu->hot.asid, (unsigned long long)pa,
         fresh.fault == MMSIM_SIMWALK_OK ? "another PA" : mmsim_simwalk_fault_name(fresh.fault),
         fresh.fault == MMSIM_SIMWALK_OK ? "" : " fault", op ? op : "unknown");
    return false;
}

static bool frame_alive(uint64_t va, uint64_t pa, struct mmsim_access_report *rep)
{
    enum mmsim_frame_state st = mmsim_phys_frame_state(pa);
    if (st == MMSIM_FRAME_ALLOCATED || st == MMSIM_FRAME_NOT_RAM)
        return true;
    uint32_t seq = mmsim_phys_frame_free_seq(pa);
    char who[64];
    bool known = sim_op_of_free(seq, who, sizeof who);
    rep->pa = pa;
    fail(rep, MMSIM_ACCESS_USE_AFTER_FREE, va,
         "use after free: VA %#llx reaches PA %#llx, which the allocator holds %s (free #%u, during %s)",
         (unsigned long long)va, (unsigned long long)pa, st == MMSIM_FRAME_QUARANTINED ? "in quarantine" : "free",
         seq, known ? who : "an operation not noted");
    return false;
}

/* The inline path's TLB result for the access now in the slow path, used
 * by its first translation instead of a second lookup. Per host thread, and
 * a host thread drives one CPU at a time. */
static _Thread_local struct
{
    bool valid;
    uint64_t va;
    enum mmsim_access_op op;
    enum mmsim_simtlb_result r;
} t_looked;

/* ---- accesses in flight ------------------------------------------------------
 * An access is in flight from its TLB lookup to its last byte. A TLB
 * invalidation issued by another host thread waits for it, as the DSB after
 * a broadcast TLBI waits for accesses still using the old translation, so mm
 * never frees a frame a simulated access is still touching. Odd = in flight.
 * Only the slow path does this; with several CPUs every access takes it.
 * Both sides use read-modify-writes of `inflight` (no fences, which TSan
 * cannot see): either the invalidator's RMW comes first, and this one
 * acquires the TLB writes before it, or it comes second and sees odd. */
static void inflight_begin(struct mmsim_cpu *cpu)
{
    uint64_t s = __atomic_load_n(&cpu->inflight, __ATOMIC_RELAXED);
    __atomic_exchange_n(&cpu->inflight, s + 1, __ATOMIC_SEQ_CST);
}

static void inflight_end(struct mmsim_cpu *cpu)
{
    uint64_t s = __atomic_load_n(&cpu->inflight, __ATOMIC_RELAXED);
    if (s & 1)
        __atomic_store_n(&cpu->inflight, s + 1, __ATOMIC_RELEASE);
}

void sim_wait_quiet(struct mmsim_cpu *cpu)
{
    if (cpu == mmsim_cpu_here_)
        return; /* our own access is not in flight while we run mm code */
    uint64_t s = __atomic_fetch_or(&cpu->inflight, 0, __ATOMIC_SEQ_CST);
    for (unsigned spins = 1; (s & 1) && __atomic_load_n(&cpu->inflight, __ATOMIC_ACQUIRE) == s; spins++)
        if (spins % 64 == 0)
            sched_yield();
}

enum xlat
{
    XLAT_OK,
    XLAT_FAULT,
    XLAT_STOP, /* a check failed: rep says why */
};

/* XLAT_OK leaves the access in flight: the caller ends it after the data. */
static enum xlat translate_in_flight(struct mmsim_cpu *cpu, uint64_t va, enum mmsim_access_op op, uint64_t *pa,
                                     struct mmsim_simwalk_result *res, struct mmsim_access_report *rep);

static enum xlat translate(struct mmsim_cpu *cpu, uint64_t va, enum mmsim_access_op op, uint64_t *pa,
                           struct mmsim_simwalk_result *res, struct mmsim_access_report *rep)
{
    inflight_begin(cpu);
    enum xlat x = translate_in_flight(cpu, va, op, pa, res, rep);
    if (x != XLAT_OK)
        inflight_end(cpu); /* the trap runs mm code, which may wait for the other CPUs */
    return x;
}

static enum xlat translate_in_flight(struct mmsim_cpu *cpu, uint64_t va, enum mmsim_access_op op, uint64_t *pa,
                                     struct mmsim_simwalk_result *res, struct mmsim_access_report *rep)
{
    struct mmsim_simwalk_access acc = { .op = (enum mmsim_simwalk_op)op, .el = (uint8_t)cpu->hot.el, .pan = cpu->hot.pan };
    struct mmsim_simtlb_hit hit;
    enum mmsim_simtlb_result r;
    if (t_looked.valid && t_looked.va == va && t_looked.op == op) /* a miss or a refusal: no hit data needed */
        r = t_looked.r;
    else
        r = mmsim_simtlb_lookup(cpu->hot.tlb, va, cpu->hot.asid, cpu->hot.el, (enum mmsim_simtlb_op)op,
                                cpu->hot.pan, &hit);
    t_looked.valid = false;
    if (r == MMSIM_SIMTLB_HIT) {
        cpu->hot.tlb_hits++;
        if (g_sim.cfg.stale_check && !tlb_hit_current(cpu, va, acc, hit.pa, rep))
            return XLAT_STOP;
        *pa = hit.pa;
    } else {
        if (r == MMSIM_SIMTLB_MISS)
            COUNT(cpu, tlb_misses, 1);
        else
            COUNT(cpu, tlb_perm_misses, 1);
        uint64_t token = mmsim_simtlb_fill_begin(cpu->hot.tlb);
        if (!walk(cpu, va, acc, res, rep))
            return XLAT_STOP;
        if (res->fault != MMSIM_SIMWALK_OK)
            return XLAT_FAULT;
        tlb_fill(cpu, va, res, token);
        *pa = res->pa;
    }
    if (g_sim.cfg.uaf_check && !frame_alive(va, *pa, rep))
        return XLAT_STOP;
    return XLAT_OK;
}

/* ---- the trap ------------------------------------------------------------------ */

/* What the machine looked like around one fix, for statistics and causes:
 * lock-free counters only, since every fault takes two snapshots. */
struct fix_counts
{
    struct mmsim_alloc_counters page, heap;
    struct mmsim_mmu_counters mmu;
};

static void snapshot(struct fix_counts *s)
{
    mmsim_alloc_counters_get(MMSIM_ALLOC_PAGE, &s->page);
    mmsim_alloc_counters_get(MMSIM_ALLOC_HEAP, &s->heap);
    mmsim_mmu_counters_get(&s->mmu);
}

static void count_fix(struct mmsim_cpu *cpu, const struct fix_counts *a, const struct fix_counts *b)
{
    uint64_t tables_in = b->mmu.tables_installed - a->mmu.tables_installed;
    uint64_t tables_out = b->mmu.tables_freed - a->mmu.tables_freed;
    COUNT(cpu, table_pages_alloc, tables_in);
    COUNT(cpu, table_pages_freed, tables_out);
    /* page blocks, which the fault path only ever takes one frame at a time */
    int64_t frames = (int64_t)(b->page.successes - a->page.successes) - (int64_t)(b->page.frees - a->page.frees);
    int64_t data = frames - (int64_t)(tables_in - tables_out);
    COUNT(cpu, data_frames_alloc, data > 0 ? (uint64_t)data : 0);
    COUNT(cpu, data_frames_freed, data < 0 ? (uint64_t)-data : 0);
}

/* Why rt_aspace_fault_try_fix refused, as far as the outside can tell. */
static void explain(rt_aspace_t as, uint64_t va, enum mmsim_access_op op, const struct fix_counts *a,
                    const struct fix_counts *b, char *out, size_t size)
{
    if (b->page.injected > a->page.injected || b->heap.injected > a->heap.injected) {
        snprintf(out, size, "a %s allocation failed (injected)", b->page.injected > a->page.injected ? "page" : "heap");
        return;
    }
    if (b->page.exhausted > a->page.exhausted || b->heap.exhausted > a->heap.exhausted) {
        snprintf(out, size, "out of %s", b->page.exhausted > a->page.exhausted ? "frames" : "heap");
        return;
    }
    rt_varea_t v = rt_aspace_query(as, (void *)(uintptr_t)va);
    if (!v)
        snprintf(out, size, "no varea at %#llx", (unsigned long long)va);
    else
        snprintf(out, size, "varea [%p, +%#zx) (%s) refused the %s", v->start, (size_t)v->size,
                 v->mem_obj && v->mem_obj->get_name ? v->mem_obj->get_name(v) : "physical",
                 op == MMSIM_ACCESS_FETCH ? "fetch" : op == MMSIM_ACCESS_STORE ? "write" : "read");
}

/* The PA `va` maps now, read under the table lock: another CPU's host
 * thread may be changing the tables. */
static void *locked_v2p(rt_aspace_t as, uint64_t va)
{
    rt_spin_lock(&as->pgtbl_lock);
    void *pa = rt_hw_mmu_v2p(as, (void *)(uintptr_t)va);
    rt_spin_unlock(&as->pgtbl_lock);
    return pa;
}

/* The fix a software-managed access flag gets (mmsim's policy). */
static bool fix_access_flag(struct mmsim_cpu *cpu, uint64_t va, uint8_t fsc)
{
    rt_aspace_t as = tables_of(cpu, va);
    return g_sim.cfg.sw_af && fsc_kind(fsc) == MMSIM_SIMWALK_FAULT_ACCESS_FLAG && as &&
           mmsim_mmu_set_access_flag(as, (void *)(uintptr_t)va) == RT_EOK;
}

/* A permission fault at EL1 that the same access at EL0 would not take:
 * PAN refusing the kernel a user page, or the implicit PXN of user-writable
 * memory refusing a kernel fetch. No table change fixes it, and mm only
 * knows user permissions (its #9854 rule would call it fixed and the CPU
 * would retry forever), so the trap treats it as the kernel bug it is, as
 * RT-Thread's vector does for a kernel-mode fault it cannot attribute. */
static bool el1_only_refusal(struct mmsim_cpu *cpu, uint64_t va, enum mmsim_access_op op, uint8_t fsc)
{
    if (cpu->hot.el != 1 || fsc_kind(fsc) != MMSIM_SIMWALK_FAULT_PERMISSION || VA_UPPER(va))
        return false;
    struct mmsim_simwalk_access as_user = { .op = (enum mmsim_simwalk_op)op, .el = 0, .pan = false };
    struct mmsim_simwalk_result res;
    walk_quietly(cpu, va, as_user, &res);
    return res.fault == MMSIM_SIMWALK_OK;
}

/* Enter the kernel for a fault: RT_EOK when fixed (retry the access). */
static enum mmsim_access_status trap(struct mmsim_cpu *cpu, uint64_t va, enum mmsim_access_op op, uint8_t fsc,
                                     struct mmsim_access_report *rep)
{
    struct mmsim_fault_record f = { .esr = mmsim_cpu_esr(op, cpu->hot.el, fsc), .far = va, .fsc = fsc,
                                    .level = (int8_t)fault_level(fsc) };
    COUNT(cpu, faults, 1);
    enum mmsim_simwalk_fault kind = fsc_kind(fsc);
    COUNT(cpu, faults_by_kind[kind == MMSIM_SIMWALK_FAULT_TRANSLATION ? 0
                              : kind == MMSIM_SIMWALK_FAULT_ACCESS_FLAG ? 1
                              : kind == MMSIM_SIMWALK_FAULT_PERMISSION ? 2 : 3], 1);
    COUNT(cpu, faults_by_level[f.level + 1], 1);
    enum rt_mm_fault_op fop;
    enum rt_mm_fault_type ftype;
    rt_aspace_t as = tables_of(cpu, va);
    if (fix_access_flag(cpu, va, fsc)) {
        f.fixed = true;
        remember_fault(rep, &f);
        COUNT(cpu, fixed, 1);
        return MMSIM_ACCESS_OK;
    }
    if (el1_only_refusal(cpu, va, op, fsc)) {
        remember_fault(rep, &f);
        COUNT(cpu, segv, 1);
        return fail(rep, MMSIM_ACCESS_SEGV, va,
                    "EL1 %s refused where EL0 is allowed (%s): a kernel bug, not a fault mm fixes",
                    op == MMSIM_ACCESS_FETCH ? "fetch" : "data access",
                    op == MMSIM_ACCESS_FETCH ? "PXN" : "PAN");
    }
    if (!mmsim_cpu_esr_to_fault(f.esr, &fop, &ftype) || !as) {
        remember_fault(rep, &f);
        COUNT(cpu, segv, 1);
        return fail(rep, MMSIM_ACCESS_SEGV, va, "%s fault at level %d is not one the kernel fixes%s",
                    mmsim_simwalk_fault_name(kind), f.level, as ? "" : " (no process runs on this CPU)");
    }
    struct fix_counts before, after;
    snapshot(&before);
    void *old_pa = locked_v2p(as, va);
    struct rt_aspace_fault_msg msg = { .fault_op = fop, .fault_type = ftype, .fault_vaddr = (void *)(uintptr_t)va };
    int rc = rt_aspace_fault_try_fix(as, &msg);
    snapshot(&after);
    count_fix(cpu, &before, &after);
    f.fixed = rc == MM_FAULT_FIXABLE_TRUE;
    remember_fault(rep, &f);
    if (f.fixed) {
        void *new_pa = locked_v2p(as, va);
        if (op == MMSIM_ACCESS_STORE && old_pa != ARCH_MAP_FAILED && new_pa != ARCH_MAP_FAILED && new_pa != old_pa)
            COUNT(cpu, cow_copies, 1);
        COUNT(cpu, fixed, 1);
        return MMSIM_ACCESS_OK;
    }
    COUNT(cpu, segv, 1);
    char why[128];
    explain(as, va, op, &before, &after, why, sizeof why);
    return fail(rep, MMSIM_ACCESS_SEGV, va, "SIGSEGV: rt_aspace_fault_try_fix could not fix the %s: %s",
                op == MMSIM_ACCESS_FETCH ? "fetch" : op == MMSIM_ACCESS_STORE ? "write" : "read", why);
}

/* ---- one page -------------------------------------------------------------------- */

static enum mmsim_access_status livelock(struct mmsim_cpu *cpu, uint64_t va, struct mmsim_access_report *rep)
{
    COUNT(cpu, livelocks, 1);
    return fail(rep, MMSIM_ACCESS_LIVELOCK, va,
                "livelock: %u faults at %#llx without the access completing (last FSC %#x, %s)", rep->faults,
                (unsigned long long)va, rep->last.fsc, rep->last.fixed ? "reported fixed" : "not fixed");
}

/* Translate `va` for `op`, taking and fixing faults: the PA, or a status. */
static enum mmsim_access_status access_page(struct mmsim_cpu *cpu, uint64_t va, enum mmsim_access_op op,
                                            uint64_t *pa, struct mmsim_access_report *rep)
{
    unsigned first_faults = rep->faults;
    for (;;) {
        struct mmsim_simwalk_result res;
        enum xlat x = translate(cpu, va, op, pa, &res, rep);
        if (x == XLAT_OK)
            return MMSIM_ACCESS_OK;
        if (x == XLAT_STOP)
            return rep->status;
        if (rep->faults - first_faults >= g_sim.cfg.livelock_faults)
            return livelock(cpu, va, rep);
        enum mmsim_access_status st = trap(cpu, va, op, res.fsc, rep);
        if (st != MMSIM_ACCESS_OK)
            return st;
    }
}

/* The report's history and cause are written only when a fault happens:
 * clearing all of it would cost more than a TLB hit. */
static void begin(struct mmsim_cpu *cpu, enum mmsim_access_op op, uint64_t va, struct mmsim_access_report *rep)
{
    rep->status = MMSIM_ACCESS_OK;
    rep->op = op;
    rep->va = va;
    rep->pa = 0;
    rep->el = cpu->hot.el;
    rep->faults = 0;
    rep->nhistory = 0;
    rep->cause[0] = '\0';
    if (sim_current_cpu() != cpu)
        sim_enter(cpu);
    if (op == MMSIM_ACCESS_LOAD)
        cpu->hot.loads++;
    else if (op == MMSIM_ACCESS_STORE)
        cpu->hot.stores++;
    else
        COUNT(cpu, fetches, 1);
}

/* ---- bulk copies ------------------------------------------------------------------- */

static enum mmsim_access_status copy(struct mmsim_cpu *cpu, uint64_t va, void *buf, size_t len,
                                     enum mmsim_access_op op, struct mmsim_access_report *rep)
{
    char *p = buf;
    while (len) {
        size_t chunk = ARCH_PAGE_SIZE - (va & ARCH_PAGE_MASK);
        chunk = chunk < len ? chunk : len;
        uint64_t pa = 0; /* set by access_page on success; gcc -O3 cannot tell */
        enum mmsim_access_status st = access_page(cpu, va, op, &pa, rep);
        if (st != MMSIM_ACCESS_OK)
            return st;
        char *host = mmsim_phys_pa2host(pa);
        if (host && op == MMSIM_ACCESS_STORE)
            memcpy(host, p, chunk);
        else if (host)
            memcpy(p, host, chunk);
        inflight_end(cpu);
        if (!host)
            return fail(rep, MMSIM_ACCESS_SEGV, va, "PA %#llx is not RAM (device memory is not simulated)",
                        (unsigned long long)pa);
        p += chunk;
        va += chunk;
        len -= chunk;
    }
    rep->status = MMSIM_ACCESS_OK;
    return MMSIM_ACCESS_OK;
}

enum mmsim_access_status mmsim_cpu_read(struct mmsim_cpu *cpu, uint64_t va, void *buf, size_t len,
                                        struct mmsim_access_report *rep)
{
    struct mmsim_access_report local;
    rep = rep ? rep : &local;
    MMSIM_PRECOND(cpu && (buf || !len), MMSIM_ACCESS_BAD_ARGUMENT, "mmsim_cpu_read: cpu and buf");
    begin(cpu, MMSIM_ACCESS_LOAD, va, rep);
    return copy(cpu, va, buf, len, MMSIM_ACCESS_LOAD, rep);
}

enum mmsim_access_status mmsim_cpu_write(struct mmsim_cpu *cpu, uint64_t va, const void *buf, size_t len,
                                         struct mmsim_access_report *rep)
{
    struct mmsim_access_report local;
    rep = rep ? rep : &local;
    MMSIM_PRECOND(cpu && (buf || !len), MMSIM_ACCESS_BAD_ARGUMENT, "mmsim_cpu_write: cpu and buf");
    begin(cpu, MMSIM_ACCESS_STORE, va, rep);
    return copy(cpu, va, (void *)(uintptr_t)buf, len, MMSIM_ACCESS_STORE, rep);
}

/* ---- single accesses ------------------------------------------------------------------ */

static bool size_ok(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

/* An aligned access is single-copy atomic, as on the hardware. */
static uint64_t host_load(const void *host, unsigned size)
{
    switch (size) {
    case 1: return __atomic_load_n((const uint8_t *)host, __ATOMIC_RELAXED);
    case 2: return __atomic_load_n((const uint16_t *)host, __ATOMIC_RELAXED);
    case 4: return __atomic_load_n((const uint32_t *)host, __ATOMIC_RELAXED);
    default: return __atomic_load_n((const uint64_t *)host, __ATOMIC_RELAXED);
    }
}

static void host_store(void *host, unsigned size, uint64_t val)
{
    switch (size) {
    case 1: __atomic_store_n((uint8_t *)host, (uint8_t)val, __ATOMIC_RELAXED); break;
    case 2: __atomic_store_n((uint16_t *)host, (uint16_t)val, __ATOMIC_RELAXED); break;
    case 4: __atomic_store_n((uint32_t *)host, (uint32_t)val, __ATOMIC_RELAXED); break;
    default: __atomic_store_n((uint64_t *)host, val, __ATOMIC_RELAXED); break;
    }
}

/* One access inside one page: the fast path. */
static enum mmsim_access_status single(struct mmsim_cpu *cpu, uint64_t va, unsigned size, uint64_t *val,
                                       enum mmsim_access_op op, struct mmsim_access_report *rep)
{
    uint64_t pa = 0;
    enum mmsim_access_status st = access_page(cpu, va, op, &pa, rep);
    if (st != MMSIM_ACCESS_OK)
        return st;
    void *host = mmsim_phys_pa2host(pa);
    if (!host) {
        inflight_end(cpu);
        return fail(rep, MMSIM_ACCESS_SEGV, va, "PA %#llx is not RAM (device memory is not simulated)",
                    (unsigned long long)pa);
    }
    bool aligned = !(va & (size - 1));
    if (op == MMSIM_ACCESS_STORE) {
        if (aligned)
            host_store(host, size, *val);
        else
            memcpy(host, val, size); /* little-endian host, as the simulated core */
    } else {
        uint64_t v = 0;
        if (aligned)
            v = host_load(host, size);
        else
            memcpy(&v, host, size);
        *val = v;
    }
    inflight_end(cpu);
    rep->status = MMSIM_ACCESS_OK;
    return MMSIM_ACCESS_OK;
}

static bool crosses_page(uint64_t va, unsigned size)
{
    return (va & ARCH_PAGE_MASK) + size > ARCH_PAGE_SIZE;
}

/* Everything the inline hit path does not take: misses, faults, checks,
 * unaligned and page-crossing accesses, bad arguments. */
static enum mmsim_access_status slow_access(struct mmsim_cpu *cpu, uint64_t va, unsigned size, uint64_t *val,
                                           enum mmsim_access_op op, struct mmsim_access_report *rep)
{
    bool store = op == MMSIM_ACCESS_STORE;
    MMSIM_PRECOND(cpu && val && size_ok(size), MMSIM_ACCESS_BAD_ARGUMENT,
                  "mmsim_cpu_load/store: cpu, a value and a size of 1, 2, 4 or 8");
    begin(cpu, op, va, rep);
    if (!crosses_page(va, size))
        return single(cpu, va, size, val, op, rep);
    if (store) {
        /* both pages translated before either is written, so a fault on the
         * second leaves the first unchanged */
        uint64_t pa = 0;
        enum mmsim_access_status st = access_page(cpu, (va | ARCH_PAGE_MASK) + 1, op, &pa, rep);
        if (st != MMSIM_ACCESS_OK)
            return st;
        inflight_end(cpu);
        return copy(cpu, va, val, size, op, rep);
    }
    uint64_t v = 0;
    enum mmsim_access_status st = copy(cpu, va, &v, size, op, rep);
    if (st == MMSIM_ACCESS_OK)
        *val = v;
    return st;
}

enum mmsim_access_status mmsim_cpu_access_slow_(struct mmsim_cpu *cpu, uint64_t va, unsigned size,
                                                uint64_t *val, bool store, struct mmsim_access_report *rep,
                                                int looked)
{
    struct mmsim_access_report local;
    enum mmsim_access_op op = store ? MMSIM_ACCESS_STORE : MMSIM_ACCESS_LOAD;
    t_looked.valid = looked == MMSIM_SIMTLB_MISS || looked == MMSIM_SIMTLB_HIT_DENIED;
    t_looked.va = va;
    t_looked.op = op;
    t_looked.r = (enum mmsim_simtlb_result)(t_looked.valid ? looked : 0);
    enum mmsim_access_status st = slow_access(cpu, va, size, val, op, rep ? rep : &local);
    t_looked.valid = false; /* unused when the access crossed pages or was refused */
    return st;
}

enum mmsim_access_status mmsim_cpu_fetch(struct mmsim_cpu *cpu, uint64_t va, uint32_t *insn,
                                         struct mmsim_access_report *rep)
{
    struct mmsim_access_report local;
    rep = rep ? rep : &local;
    MMSIM_PRECOND(cpu && insn && !(va & 3), MMSIM_ACCESS_BAD_ARGUMENT,
                "mmsim_cpu_fetch: cpu, insn and a 4-byte aligned PC");
    begin(cpu, MMSIM_ACCESS_FETCH, va, rep);
    uint64_t v = 0;
    enum mmsim_access_status st = single(cpu, va, 4, &v, MMSIM_ACCESS_FETCH, rep);
    *insn = (uint32_t)v;
    return st;
}

int mmsim_cpu_inject_fault(struct mmsim_cpu *cpu, uint64_t va, enum mmsim_access_op op, uint8_t fsc)
{
    MMSIM_PRECOND(cpu != NULL, MM_FAULT_FIXABLE_FALSE, "mmsim_cpu_inject_fault: cpu");
    struct mmsim_access_report rep;
    begin(cpu, op, va, &rep);
    return trap(cpu, va, op, fsc, &rep) == MMSIM_ACCESS_OK ? MM_FAULT_FIXABLE_TRUE : MM_FAULT_FIXABLE_FALSE;
}

/* ---- names ------------------------------------------------------------------------- */

const char *mmsim_access_status_name(enum mmsim_access_status status)
{
    static const char *const names[] = { "ok", "segv", "livelock", "use-after-free", "stale-tlb",
                                         "walk-mismatch", "bad-argument" };
    return (unsigned)status < sizeof names / sizeof names[0] ? names[status] : "?";
}

void mmsim_access_report_print(const struct mmsim_access_report *rep, FILE *out)
{
    static const char *const ops[] = { "load", "store", "fetch" };
    fprintf(out, "%s at %#llx (EL%u): %s", ops[rep->op], (unsigned long long)rep->va, rep->el,
            mmsim_access_status_name(rep->status));
    if (rep->faults)
        fprintf(out, ", %u fault(s), last ESR %#llx FSC %#x level %d", rep->faults,
                (unsigned long long)rep->last.esr, rep->last.fsc, rep->last.level);
    if (rep->cause[0])
        fprintf(out, ": %s", rep->cause);
    fputc('\n', out);
}
