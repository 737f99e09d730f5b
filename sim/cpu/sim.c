/*
 * The simulator's life cycle, the registers of each CPU, and the TLB
 * maintenance the mm layer asks for: every rt_hw_tlb_invalidate_* acts on
 * every CPU (RT-Thread issues inner-shareable TLBIs), rt_hw_aspace_switch on
 * the calling one.
 */
#include <stdlib.h>
#include <string.h>
#include <mmsim/machine.h>
#include <mmsim/pgtable.h>
#include <mmsim/phys.h>
#include <mmsim/thread.h>
#include <mmsim/vmsa.h>
#include "cpu_internal.h"

#define DBG_TAG "sim.cpu"
#include <rtdbg.h>

struct sim_state g_sim = { .lock = PTHREAD_MUTEX_INITIALIZER };

_Thread_local struct mmsim_cpu *mmsim_cpu_here_; /* the CPU this host thread acts as */
struct mmsim_sim_ram_ mmsim_sim_ram_;

#define TCR_EPD0 (1ull << 7)
#define TCR_AS (1ull << 36)
#define TCR_HA (1ull << 39)
#define TCR_HD (1ull << 40)
#define TTBR_ASID_SHIFT 48

void mmsim_sim_config_default(struct mmsim_sim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->ncpus = 1;
    cfg->tlb_entries = MMSIM_SIMTLB_DEFAULT_ENTRIES;
    cfg->asid_bits = 16;
    cfg->livelock_faults = 16;
    cfg->switch_flush = true;
#ifndef NDEBUG
    cfg->walk_crosscheck = true;
    cfg->stale_check = true;
    cfg->uaf_check = true;
#endif
}

static bool config_ok(const struct mmsim_sim_config *cfg)
{
    unsigned n = cfg->tlb_entries;
    return cfg->ncpus >= 1 && cfg->ncpus <= MMSIM_SIM_MAX_CPUS && cfg->ncpus <= RT_CPUS_NR &&
           n >= MMSIM_SIMTLB_MIN_ENTRIES && n <= MMSIM_SIMTLB_MAX_ENTRIES && !(n & (n - 1)) &&
           (cfg->asid_bits == 8 || cfg->asid_bits == 16) && (!cfg->hw_dirty || cfg->hw_af) &&
           !(cfg->sw_af && cfg->hw_af) && cfg->livelock_faults >= 2;
}

/* ---- registers -------------------------------------------------------------- */

struct mmsim_cpu *sim_current_cpu(void)
{
    return mmsim_cpu_here_;
}

void sim_enter(struct mmsim_cpu *cpu)
{
    mmsim_cpu_here_ = cpu;
    mmsim_cpu_set_current_id((int)cpu->id);
    mmsim_thread_set_current(cpu->current ? &cpu->current->thread : &cpu->idle);
}

/* RT-Thread's register values, with this machine's ASID size and hardware
 * flag management; a kernel thread has no TTBR0 walks. */
static void build_regs(struct mmsim_cpu *cpu, rt_aspace_t aspace)
{
    struct mmsim_vmsa_regs r;
    bool user = aspace && aspace != &rt_kernel_space && aspace->page_table;
    mmsim_mmu_regs(user ? aspace : &rt_kernel_space, &r);
    uint64_t tcr = r.tcr & ~(TCR_AS | TCR_HA | TCR_HD);
    tcr |= g_sim.cfg.asid_bits == 16 ? TCR_AS : 0;
    tcr |= g_sim.cfg.hw_af ? TCR_HA : 0;
    tcr |= g_sim.cfg.hw_dirty ? TCR_HD : 0;
    uint64_t asid_mask = g_sim.cfg.asid_bits == 16 ? 0xffffu : 0xffu;
    cpu->regs = (struct mmsim_simwalk_regs){
        .ttbr0_el1 = user ? (r.ttbr0 & ((1ull << TTBR_ASID_SHIFT) - 1)) |
                            ((uint64_t)(cpu->hot.asid & asid_mask) << TTBR_ASID_SHIFT) : 0,
        .ttbr1_el1 = r.ttbr1,
        .tcr_el1 = user ? tcr & ~TCR_EPD0 : tcr | TCR_EPD0,
        .sctlr_el1 = r.sctlr,
        .mair_el1 = r.mair,
        .parange_bits = r.parange_bits,
    };
    mmsim_simwalk_ctx_init(&cpu->walk, &cpu->regs);
}

void sim_switch_ttbr0(struct mmsim_cpu *cpu, rt_aspace_t aspace)
{
    bool flush = false;
    pthread_mutex_lock(&g_sim.lock);
    struct mmsim_proc *p = aspace ? sim_proc_of_locked(aspace) : NULL;
    if (aspace && aspace != &rt_kernel_space && !p)
        LOG_W("aspace %p runs no process: the CPU runs with TTBR0 walks disabled", (void *)aspace);
    cpu->hot.asid = mmsim_asid_schedule(g_sim.asids, cpu->id, p ? &p->bind->ctx : NULL, &flush);
    pthread_mutex_unlock(&g_sim.lock);
    if (flush)
        mmsim_simtlb_invalidate_all(cpu->hot.tlb);
    build_regs(cpu, p ? aspace : NULL);
}

struct mmsim_proc *sim_proc_of_locked(rt_aspace_t aspace)
{
    for (struct mmsim_proc *p = g_sim.procs; p; p = p->next)
        if (p->bind->aspace == aspace)
            return p;
    return NULL;
}

/* ---- TLB maintenance from the mm layer ------------------------------------------ */

/* The ASID whose entries an operation on `aspace` touches: 0 when no CPU can
 * hold any (never scheduled in this generation), -1 for the kernel's global
 * entries. */
static int asid_for(rt_aspace_t aspace)
{
    if (!aspace || aspace == &rt_kernel_space)
        return -1;
    pthread_mutex_lock(&g_sim.lock);
    struct mmsim_proc *p = sim_proc_of_locked(aspace);
    int asid = p ? (int)mmsim_asid_of(g_sim.asids, &p->bind->ctx) : 0;
    pthread_mutex_unlock(&g_sim.lock);
    return asid;
}

static void each_tlb_all(void *ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < g_sim.cfg.ncpus; i++) {
        mmsim_simtlb_invalidate_all(g_sim.cpus[i].hot.tlb);
        sim_wait_quiet(&g_sim.cpus[i]);
    }
}

static void local_tlb_all(void *ctx)
{
    struct mmsim_cpu *cpu = mmsim_cpu_here_;
    (void)ctx;
    if (cpu)
        mmsim_simtlb_invalidate_all(cpu->hot.tlb);
    else
        each_tlb_all(NULL); /* a host thread that is no CPU: be safe */
}

static void each_tlb_aspace(void *ctx, struct rt_aspace *aspace)
{
    int asid = asid_for(aspace);
    if (asid < 0)
        each_tlb_all(ctx);
    for (unsigned i = 0; asid > 0 && i < g_sim.cfg.ncpus; i++) {
        mmsim_simtlb_invalidate_asid(g_sim.cpus[i].hot.tlb, (uint16_t)asid);
        sim_wait_quiet(&g_sim.cpus[i]);
    }
}

static void each_tlb_range(void *ctx, struct rt_aspace *aspace, void *va, size_t size, size_t stride)
{
    (void)ctx;
    (void)stride;
    int asid = asid_for(aspace);
    for (unsigned i = 0; asid != 0 && i < g_sim.cfg.ncpus; i++) {
        if (asid < 0)
            mmsim_simtlb_invalidate_range_all_asids(g_sim.cpus[i].hot.tlb, (uintptr_t)va, size);
        else
            mmsim_simtlb_invalidate_range(g_sim.cpus[i].hot.tlb, (uintptr_t)va, size, (uint16_t)asid);
        sim_wait_quiet(&g_sim.cpus[i]);
    }
}

static void each_tlb_page(void *ctx, struct rt_aspace *aspace, void *va)
{
    each_tlb_range(ctx, aspace, va, ARCH_PAGE_SIZE, ARCH_PAGE_SIZE);
}

/* RT-Thread's rt_hw_aspace_switch: TTBR0, then a local TLB flush. */
static void switch_here(void *ctx, struct rt_aspace *aspace)
{
    (void)ctx;
    if (!mmsim_cpu_here_)
        return;
    sim_switch_ttbr0(mmsim_cpu_here_, aspace);
    if (g_sim.cfg.switch_flush)
        mmsim_simtlb_invalidate_all(mmsim_cpu_here_->hot.tlb);
}

/* Called with the allocator's lock held, to recycle an ASID. */
static void invalidate_asid_everywhere(void *ctx, uint16_t asid)
{
    (void)ctx;
    for (unsigned i = 0; i < g_sim.cfg.ncpus; i++) {
        mmsim_simtlb_invalidate_asid(g_sim.cpus[i].hot.tlb, asid);
        sim_wait_quiet(&g_sim.cpus[i]);
    }
}

static const struct mmsim_tlb_ops k_tlb_ops = {
    .invalidate_all = each_tlb_all,
    .invalidate_all_local = local_tlb_all,
    .invalidate_aspace = each_tlb_aspace,
    .invalidate_page = each_tlb_page,
    .invalidate_range = each_tlb_range,
    .aspace_switch = switch_here,
};

/* ---- life cycle ------------------------------------------------------------------ */

static void free_cpus(void)
{
    for (unsigned i = 0; i < MMSIM_SIM_MAX_CPUS; i++) {
        mmsim_simtlb_destroy(g_sim.cpus[i].hot.tlb);
        g_sim.cpus[i].hot.tlb = NULL;
    }
    mmsim_asid_destroy(g_sim.asids);
    g_sim.asids = NULL;
}

static int make_cpus(void)
{
    struct mmsim_simtlb_config tc = { .entries = g_sim.cfg.tlb_entries };
    struct mmsim_asid_config ac = {
        .asid_bits = g_sim.cfg.asid_bits,
        .ncpus = g_sim.cfg.ncpus,
        .invalidate_asid = invalidate_asid_everywhere,
    };
    g_sim.asids = mmsim_asid_create(&ac);
    for (unsigned i = 0; i < g_sim.cfg.ncpus; i++) {
        struct mmsim_cpu *cpu = &g_sim.cpus[i];
        memset(cpu, 0, sizeof *cpu);
        cpu->id = i;
        snprintf(cpu->idle.name, sizeof cpu->idle.name, "idle%u", i);
        cpu->idle.oncpu = (rt_uint8_t)i;
        cpu->hot.tlb = mmsim_simtlb_create(&tc);
        /* with several CPUs every access keeps the in-flight protocol */
        cpu->hot.slow = g_sim.cfg.stale_check || g_sim.cfg.uaf_check || g_sim.cfg.ncpus > 1;
        if (!cpu->hot.tlb)
            return -RT_ENOMEM;
        build_regs(cpu, NULL);
    }
    return g_sim.asids ? RT_EOK : -RT_ENOMEM;
}

int mmsim_sim_start(const struct mmsim_sim_config *cfg)
{
    struct mmsim_sim_config def;
    if (!cfg) {
        mmsim_sim_config_default(&def);
        cfg = &def;
    }
    if (g_sim.up || !mmsim_machine_booted())
        return -RT_EBUSY;
    if (!config_ok(cfg))
        return -RT_EINVAL;
    g_sim.cfg = *cfg;
    struct mmsim_phys_stats ps;
    mmsim_phys_stats_get(&ps);
    mmsim_sim_ram_ = (struct mmsim_sim_ram_){ ps.ram_base_pa, ps.ram_size, mmsim_phys_pa2host(ps.ram_base_pa) };
    sim_access_init();
    if (make_cpus() != RT_EOK) {
        free_cpus();
        return -RT_ENOMEM;
    }
    mmsim_mmu_leaf_policy_set(cfg->sw_af, cfg->hw_dirty);
    mmsim_tlb_ops_set(&k_tlb_ops, NULL);
    g_sim.up = true;
    g_sim.op_note = NULL;
    g_sim.nnotes = 0;
    return RT_EOK;
}

void mmsim_sim_stop(void)
{
    if (!g_sim.up)
        return;
    while (g_sim.procs)
        mmsim_proc_exit(g_sim.procs);
    mmsim_tlb_ops_set(NULL, NULL);
    mmsim_mmu_leaf_policy_set(false, false);
    free_cpus();
    g_sim.up = false;
    mmsim_cpu_here_ = NULL;
    mmsim_thread_set_current(NULL);
    mmsim_cpu_set_current_id(0);
}

bool mmsim_sim_started(void)
{
    return g_sim.up;
}

const struct mmsim_sim_config *mmsim_sim_config(void)
{
    return &g_sim.cfg;
}

#define NOTES (sizeof g_sim.notes / sizeof g_sim.notes[0])

void mmsim_sim_note_op(const char *what)
{
    __atomic_store_n(&g_sim.op_note, what, __ATOMIC_RELEASE);
    if (!what || !g_sim.up)
        return;
    pthread_mutex_lock(&g_sim.lock);
    unsigned i = g_sim.nnotes++ % NOTES;
    g_sim.notes[i].first_free = mmsim_phys_free_seq() + 1;
    snprintf(g_sim.notes[i].what, sizeof g_sim.notes[i].what, "%s", what);
    pthread_mutex_unlock(&g_sim.lock);
}

bool sim_op_of_free(uint32_t seq, char *out, size_t size)
{
    bool found = false;
    pthread_mutex_lock(&g_sim.lock);
    unsigned n = g_sim.nnotes < NOTES ? g_sim.nnotes : (unsigned)NOTES;
    for (unsigned k = 0; k < n && !found; k++) { /* newest first */
        unsigned i = (g_sim.nnotes - 1 - k) % NOTES;
        if (seq && seq >= g_sim.notes[i].first_free) {
            snprintf(out, size, "%s", g_sim.notes[i].what);
            found = true;
        }
    }
    pthread_mutex_unlock(&g_sim.lock);
    return found;
}

/* ---- CPUs ------------------------------------------------------------------------ */

struct mmsim_cpu *mmsim_sim_cpu(unsigned id)
{
    return g_sim.up && id < g_sim.cfg.ncpus ? &g_sim.cpus[id] : NULL;
}

unsigned mmsim_cpu_id(const struct mmsim_cpu *cpu)
{
    return cpu->id;
}

void mmsim_cpu_run(struct mmsim_cpu *cpu, struct mmsim_proc *p)
{
    RT_ASSERT(cpu != NULL);
    sim_account(cpu);
    cpu->current = p;
    if (p)
        p->thread.oncpu = (rt_uint8_t)cpu->id;
    sim_enter(cpu);
    cpu->hot.el = p ? 0 : 1;
    lwp_aspace_switch(rt_thread_self()); /* TTBR0 through the mm layer's switch hook */
}

void mmsim_cpu_enter(struct mmsim_cpu *cpu)
{
    RT_ASSERT(cpu != NULL);
    sim_enter(cpu);
}

struct mmsim_proc *mmsim_cpu_current(const struct mmsim_cpu *cpu)
{
    return cpu->current;
}

void mmsim_cpu_set_el(struct mmsim_cpu *cpu, unsigned el)
{
    MMSIM_PRECOND_VOID(el <= 1, "mmsim_cpu_set_el: el must be 0 or 1");
    cpu->hot.el = el;
}

unsigned mmsim_cpu_el(const struct mmsim_cpu *cpu)
{
    return cpu->hot.el;
}

void mmsim_cpu_set_pan(struct mmsim_cpu *cpu, bool pan)
{
    cpu->hot.pan = pan;
}

unsigned mmsim_cpu_tlb_entries(struct mmsim_cpu *cpu)
{
    return mmsim_simtlb_valid_entries(cpu->hot.tlb);
}

bool mmsim_cpu_tlb_find(struct mmsim_cpu *cpu, uint64_t va, struct mmsim_simtlb_entry *out)
{
    MMSIM_PRECOND(cpu != NULL, false, "mmsim_cpu_tlb_find: cpu");
    return mmsim_simtlb_find(cpu->hot.tlb, va, cpu->hot.asid, out);
}

struct mmsim_cpu *mmsim_proc_cpu(const struct mmsim_proc *p)
{
    for (unsigned i = 0; g_sim.up && p && i < g_sim.cfg.ncpus; i++)
        if (g_sim.cpus[i].current == p)
            return &g_sim.cpus[i];
    return NULL;
}
