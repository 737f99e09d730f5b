/*
 * simcpu.h — simulated aarch64 CPUs in front of the mm layer: each CPU has
 * its own registers and software TLB, walks the tables with the simulator's
 * own walker on a miss, and on a fault builds the real syndrome and enters
 * the kernel the way RT-Thread's aarch64 trap path does (since PR #9047):
 * rt_aspace_fault_try_fix with MM_FAULT_TYPE_GENERIC_MMU, then a retry or a
 * SIGSEGV-like result. Processes are lwps with a simulated thread each.
 *
 * One simulator per machine: mmsim_sim_start after mmsim_machine_boot,
 * mmsim_sim_stop before mmsim_machine_shutdown.
 */
#ifndef MMSIM_SIMCPU_H
#define MMSIM_SIMCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <lwp.h>
#include <mm_aspace.h>
#include "simtlb.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MMSIM_SIM_MAX_CPUS 8u
#define MMSIM_SIM_HISTORY 8u /* faults remembered for a livelock report */

struct mmsim_sim_config
{
    unsigned ncpus;            /* 1..MMSIM_SIM_MAX_CPUS; default 1 */
    unsigned tlb_entries;      /* per CPU, a power of two in 16..65536; default 1024 */
    unsigned asid_bits;        /* 8 or 16; default 16 */
    bool hw_af;                /* FEAT_HAFDBS: TCR.HA, hardware sets AF */
    bool hw_dirty;             /* FEAT_HAFDBS: TCR.HD with DBM (needs hw_af) */
    bool sw_af;                /* mmsim policy: leaves made with AF=0; an access-flag
                                  fault is fixed by setting AF (RT-Thread always sets AF) */
    bool walk_crosscheck;      /* every walk done by both walkers; disagreement = result */
    bool stale_check;          /* every TLB hit compared with a fresh walk */
    bool uaf_check;            /* every access checks its frame is allocated */
    unsigned livelock_faults;  /* faults at one VA without progress before a livelock; default 16 */
    bool switch_flush;         /* rt_hw_aspace_switch also empties the calling CPU's TLB, as
                                  RT-Thread's aarch64 port does (default); off: ASIDs alone
                                  keep address spaces apart (a policy to compare) */
};

/* The defaults above (all checks on in debug builds, off with NDEBUG). */
void mmsim_sim_config_default(struct mmsim_sim_config *cfg);

/* Start the simulator on the booted machine: CPUs, TLBs, ASIDs, and the TLB
 * maintenance hooks of the mm layer. RT_EOK, -RT_EINVAL (bad config; nothing
 * changed), -RT_EBUSY (already started or no machine) or -RT_ENOMEM. */
int mmsim_sim_start(const struct mmsim_sim_config *cfg);
/* Exit every process still alive, remove the hooks, free the CPUs. */
void mmsim_sim_stop(void);
bool mmsim_sim_started(void);
/* The configuration the simulator runs with. */
const struct mmsim_sim_config *mmsim_sim_config(void);

/* ---- processes -------------------------------------------------------------- */

struct mmsim_proc;

/* A process: an lwp with its user space and stack (lwp_user_space_init), one
 * simulated thread, and an ASID assigned on first schedule. NULL without
 * memory (nothing is left behind). `name` is copied (truncated to 15). */
struct mmsim_proc *mmsim_proc_create(const char *name);
/* fork: a new process whose user space is rt_aspace_fork'ed from `parent`'s
 * (lwp_fork_aspace); the parent continues on its fresh aspace (new ASID),
 * and any CPU running the parent switches to it the way lwp does. NULL on
 * failure with the parent unchanged. */
struct mmsim_proc *mmsim_proc_fork(struct mmsim_proc *parent, const char *name);
/* Exit: taken off every CPU, its ASID released (after invalidating it), its
 * lwp's last reference dropped. `p` is freed. */
void mmsim_proc_exit(struct mmsim_proc *p);
struct rt_lwp *mmsim_proc_lwp(const struct mmsim_proc *p);
rt_aspace_t mmsim_proc_aspace(const struct mmsim_proc *p);
const char *mmsim_proc_name(const struct mmsim_proc *p);
/* The ASID the process's current aspace has now (0: never scheduled). */
unsigned mmsim_proc_asid(const struct mmsim_proc *p);

/* ---- CPUs ------------------------------------------------------------------- */

struct mmsim_cpu;

/* CPU `id` (0..ncpus-1), or NULL. */
struct mmsim_cpu *mmsim_sim_cpu(unsigned id);
unsigned mmsim_cpu_id(const struct mmsim_cpu *cpu);

/* Schedule `p`'s thread on `cpu` (NULL: the CPU runs a kernel thread, TTBR0
 * walks disabled): TTBR0 with the process's ASID, as the context switch
 * does. The calling host thread acts as `cpu` from now on (rt_thread_self,
 * rt_hw_cpu_id, lwp_self). EL0 after the switch. */
void mmsim_cpu_run(struct mmsim_cpu *cpu, struct mmsim_proc *p);
/* Make the calling host thread act as `cpu` with its current thread, without
 * rescheduling (host threads driving different CPUs call this first). */
void mmsim_cpu_enter(struct mmsim_cpu *cpu);
struct mmsim_proc *mmsim_cpu_current(const struct mmsim_cpu *cpu);
/* Exception level of the accesses that follow (0 or 1). */
void mmsim_cpu_set_el(struct mmsim_cpu *cpu, unsigned el);
unsigned mmsim_cpu_el(const struct mmsim_cpu *cpu);
/* PSTATE.PAN for EL1 accesses (off by default, as RT-Thread leaves it). */
void mmsim_cpu_set_pan(struct mmsim_cpu *cpu, bool pan);

/* ---- accesses -------------------------------------------------------------- */

enum mmsim_access_status
{
    MMSIM_ACCESS_OK = 0,
    MMSIM_ACCESS_SEGV,          /* the kernel could not fix the fault */
    MMSIM_ACCESS_LIVELOCK,      /* the same fault recurred without progress */
    MMSIM_ACCESS_USE_AFTER_FREE,/* the access reached a frame the allocator holds free */
    MMSIM_ACCESS_STALE_TLB,     /* a TLB hit disagreed with the tables (missing TLBI) */
    MMSIM_ACCESS_WALK_MISMATCH, /* the two walkers disagreed (walk_crosscheck) */
    MMSIM_ACCESS_BAD_ARGUMENT,  /* size not 1/2/4/8, no CPU: nothing was accessed */
};

enum mmsim_access_op
{
    MMSIM_ACCESS_LOAD = 0,
    MMSIM_ACCESS_STORE = 1,
    MMSIM_ACCESS_FETCH = 2,
};

/* One fault as the CPU raised it. */
struct mmsim_fault_record
{
    uint64_t esr;     /* ESR_EL1: EC, IL, ISS (WnR, DFSC/IFSC) */
    uint64_t far;     /* FAR_EL1: the faulting VA */
    uint8_t fsc;      /* ESR[5:0] */
    int8_t level;     /* of the fault, -1..3 */
    bool fixed;       /* rt_aspace_fault_try_fix returned FIXABLE_TRUE */
};

/* What an access did, beyond its data. */
struct mmsim_access_report
{
    enum mmsim_access_status status;
    enum mmsim_access_op op;
    uint64_t va;                /* the access's VA (the first byte that failed, for bulk) */
    uint64_t pa;                /* the frame reached (use-after-free, stale TLB) */
    unsigned el;
    unsigned faults;            /* faults taken, fixed ones included */
    struct mmsim_fault_record last;     /* the last fault (valid when faults > 0) */
    struct mmsim_fault_record history[MMSIM_SIM_HISTORY]; /* the last faults, oldest first */
    unsigned nhistory;
    char cause[192];            /* why it failed, in words (allocation that failed, no varea, ...) */
};

/* Load/store `size` bytes (1, 2, 4 or 8; little-endian, any alignment
 * inside one page or across two) at `va` on `cpu` at its EL. Faults are
 * taken and fixed as the hardware and kernel would; returns the status
 * (also in `rep`, which may be NULL). Inline: a TLB hit costs a few ns. */
static inline enum mmsim_access_status mmsim_cpu_load(struct mmsim_cpu *cpu, uint64_t va, unsigned size,
                                                      uint64_t *val, struct mmsim_access_report *rep);
static inline enum mmsim_access_status mmsim_cpu_store(struct mmsim_cpu *cpu, uint64_t va, unsigned size,
                                                       uint64_t val, struct mmsim_access_report *rep);
/* An instruction fetch of 4 bytes. */
enum mmsim_access_status mmsim_cpu_fetch(struct mmsim_cpu *cpu, uint64_t va, uint32_t *insn,
                                         struct mmsim_access_report *rep);
/* Bulk copies that cross pages, stopping at the first byte that cannot be
 * accessed (rep->va says which; bytes before it were done). */
enum mmsim_access_status mmsim_cpu_read(struct mmsim_cpu *cpu, uint64_t va, void *buf, size_t len,
                                        struct mmsim_access_report *rep);
enum mmsim_access_status mmsim_cpu_write(struct mmsim_cpu *cpu, uint64_t va, const void *buf, size_t len,
                                         struct mmsim_access_report *rep);

/* Enter the kernel's fault path for (va, op) on `cpu` as if the access had
 * faulted with `fsc` (spurious and repeated faults, #9854-style races):
 * builds the syndrome, calls rt_aspace_fault_try_fix; MM_FAULT_FIXABLE_*. */
int mmsim_cpu_inject_fault(struct mmsim_cpu *cpu, uint64_t va, enum mmsim_access_op op, uint8_t fsc);

/* The next value of a seeded stream (SplitMix64): the interleavings of the
 * scenario engine and the driver draw from it, so a seed means the same
 * schedule in both. */
static inline uint64_t mmsim_sim_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Human-readable status ("segv", "livelock", ...) and a one-line report. */
const char *mmsim_access_status_name(enum mmsim_access_status status);
void mmsim_access_report_print(const struct mmsim_access_report *rep, FILE *out);

/* ---- syndrome (exposed for tests and the scenario language) ----------------- */

/* ESR_EL1 for an abort: EC 0x20/0x21 (instruction, lower/same EL) or
 * 0x24/0x25 (data), IL=1, WnR for data stores, the 6-bit FSC. */
uint64_t mmsim_cpu_esr(enum mmsim_access_op op, unsigned el, uint8_t fsc);
/* The RT-Thread fault message the trap path builds from an ESR: op from EC
 * and WnR, type GENERIC_MMU for translation/access-flag/permission FSCs;
 * false when the ESR is not an MMU abort the kernel tries to fix. */
bool mmsim_cpu_esr_to_fault(uint64_t esr, enum rt_mm_fault_op *op, enum rt_mm_fault_type *type);

/* ---- statistics ---------------------------------------------------------------- */

struct mmsim_cpu_stats
{
    uint64_t accesses, loads, stores, fetches;
    uint64_t tlb_hits, tlb_misses, tlb_perm_misses;
    uint64_t walks;
    uint64_t faults;               /* every fault raised */
    uint64_t faults_by_kind[4];    /* translation, access flag, permission, other */
    uint64_t faults_by_level[5];   /* level -1..3 */
    uint64_t fixed, segv, livelocks;
    uint64_t cow_copies;           /* write faults fixed with a new frame */
    uint64_t data_frames_alloc, data_frames_freed;
    uint64_t table_pages_alloc, table_pages_freed;
};
void mmsim_cpu_stats_get(const struct mmsim_cpu *cpu, struct mmsim_cpu_stats *out);
/* The same counters for everything done in a process's name. */
void mmsim_proc_stats_get(const struct mmsim_proc *p, struct mmsim_cpu_stats *out);
/* Print a table (one row per CPU and per live process) or JSON. */
void mmsim_sim_stats_print(FILE *out, bool json);

/* ---- the TLB and the stale-translation check ------------------------------------ */

/* Name the mm operation about to run (the stale check reports it when an
 * entry it left stale is hit). Scenario steps and the driver call this;
 * NULL clears. The string must outlive the next call (a copy is kept for
 * use-after-free reports: which operation freed a frame). */
void mmsim_sim_note_op(const char *what);
/* Valid entries of a CPU's TLB. */
unsigned mmsim_cpu_tlb_entries(struct mmsim_cpu *cpu);
/* The entry `cpu`'s TLB holds for `va` under its current ASID (or global),
 * without counting a lookup; false if none. Lets a test or scenario check
 * that no stale entry survived an operation. */
bool mmsim_cpu_tlb_find(struct mmsim_cpu *cpu, uint64_t va, struct mmsim_simtlb_entry *out);
/* The lowest-numbered CPU running `p`, or NULL. */
struct mmsim_cpu *mmsim_proc_cpu(const struct mmsim_proc *p);

/* ---- the inline TLB-hit path (layout private to sim/cpu; names ending in _
 * are not API) ------------------------------------------------------------- */

/* The first member of every CPU: what a hit needs, and its counters. */
struct mmsim_cpu_hot_
{
    struct mmsim_simtlb *tlb;
    uint16_t asid;
    uint8_t el;
    bool pan;
    bool slow;         /* a per-hit check is on: every access takes the full path */
    uint64_t tlb_hits, loads, stores;
};

/* Simulated RAM as the host sees it, fixed while the simulator runs. */
struct mmsim_sim_ram_
{
    uint64_t base_pa, size;
    unsigned char *host;
};
extern struct mmsim_sim_ram_ mmsim_sim_ram_;
extern _Thread_local struct mmsim_cpu *mmsim_cpu_here_;

/* `looked` is the inline path's TLB result for (va, op), or -1 if it made
 * no lookup: the slow path starts from it instead of looking up again. */
enum mmsim_access_status mmsim_cpu_access_slow_(struct mmsim_cpu *cpu, uint64_t va, unsigned size,
                                                uint64_t *val, bool store, struct mmsim_access_report *rep,
                                                int looked);

/* The host byte a permitted TLB hit reaches, or NULL with *looked set to
 * the lookup's result (-1: none made: a check is on, another CPU's thread,
 * or an access that is unaligned or not 1/2/4/8 bytes). */
static inline unsigned char *mmsim_cpu_hit_(struct mmsim_cpu *cpu, uint64_t va, unsigned size, bool store,
                                            int *looked)
{
    struct mmsim_cpu_hot_ *h = (struct mmsim_cpu_hot_ *)(void *)cpu;
    *looked = -1;
    if (!cpu || h->slow || mmsim_cpu_here_ != cpu || (va & (size - 1u)) || (size & (size - 1u)) || size > 8u)
        return NULL;
    struct mmsim_simtlb_hit hit;
    enum mmsim_simtlb_result r = mmsim_simtlb_lookup(h->tlb, va, h->asid, h->el,
                                                     store ? MMSIM_SIMTLB_WRITE : MMSIM_SIMTLB_READ, h->pan, &hit);
    if (r != MMSIM_SIMTLB_HIT) {
        *looked = (int)r;
        return NULL;
    }
    uint64_t off = hit.pa - mmsim_sim_ram_.base_pa;
    if (off >= mmsim_sim_ram_.size)
        return NULL; /* not RAM: the slow path looks up again and explains */
    h->tlb_hits++;
    return mmsim_sim_ram_.host + off;
}

static inline void mmsim_cpu_report_ok_(struct mmsim_access_report *rep, int op, uint64_t va, unsigned el)
{
    if (rep) {
        rep->status = MMSIM_ACCESS_OK;
        rep->op = (enum mmsim_access_op)op;
        rep->va = va;
        rep->pa = 0;
        rep->el = el;
        rep->faults = 0;
        rep->nhistory = 0;
        rep->cause[0] = '\0';
    }
}

static inline enum mmsim_access_status mmsim_cpu_load(struct mmsim_cpu *cpu, uint64_t va, unsigned size,
                                                      uint64_t *val, struct mmsim_access_report *rep)
{
    int looked = -1;
    unsigned char *p = val ? mmsim_cpu_hit_(cpu, va, size, false, &looked) : NULL;
    if (!p)
        return mmsim_cpu_access_slow_(cpu, va, size, val, false, rep, looked);
    switch (size) { /* aligned: single-copy atomic, as on the hardware */
    case 1: *val = __atomic_load_n(p, __ATOMIC_RELAXED); break;
    case 2: *val = __atomic_load_n((uint16_t *)(void *)p, __ATOMIC_RELAXED); break;
    case 4: *val = __atomic_load_n((uint32_t *)(void *)p, __ATOMIC_RELAXED); break;
    default: *val = __atomic_load_n((uint64_t *)(void *)p, __ATOMIC_RELAXED); break;
    }
    ((struct mmsim_cpu_hot_ *)(void *)cpu)->loads++;
    mmsim_cpu_report_ok_(rep, MMSIM_ACCESS_LOAD, va, ((struct mmsim_cpu_hot_ *)(void *)cpu)->el);
    return MMSIM_ACCESS_OK;
}

static inline enum mmsim_access_status mmsim_cpu_store(struct mmsim_cpu *cpu, uint64_t va, unsigned size,
                                                       uint64_t val, struct mmsim_access_report *rep)
{
    int looked;
    unsigned char *p = mmsim_cpu_hit_(cpu, va, size, true, &looked);
    if (!p)
        return mmsim_cpu_access_slow_(cpu, va, size, &val, true, rep, looked);
    switch (size) {
    case 1: __atomic_store_n(p, (uint8_t)val, __ATOMIC_RELAXED); break;
    case 2: __atomic_store_n((uint16_t *)(void *)p, (uint16_t)val, __ATOMIC_RELAXED); break;
    case 4: __atomic_store_n((uint32_t *)(void *)p, (uint32_t)val, __ATOMIC_RELAXED); break;
    default: __atomic_store_n((uint64_t *)(void *)p, val, __ATOMIC_RELAXED); break;
    }
    ((struct mmsim_cpu_hot_ *)(void *)cpu)->stores++;
    mmsim_cpu_report_ok_(rep, MMSIM_ACCESS_STORE, va, ((struct mmsim_cpu_hot_ *)(void *)cpu)->el);
    return MMSIM_ACCESS_OK;
}

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_SIMCPU_H */
