/*
 * The simulator's private state, shared by its files: the CPUs, the
 * processes, and the ASID of each address space a process runs on.
 */
#ifndef MMSIM_CPU_INTERNAL_H
#define MMSIM_CPU_INTERNAL_H

#include <pthread.h>
#include <rtthread.h>
#include "simcpu.h"
#include "simtlb.h"
#include "asid.h"
#include "simwalk.h"

/* An aspace and its ASID context; on the heap because the allocator keeps
 * a pointer to the context while a CPU runs it, and fork moves a process to
 * a fresh aspace while a CPU may still run the old one. */
struct sim_binding
{
    rt_aspace_t aspace;
    struct mmsim_asid_ctx ctx;
};

struct mmsim_proc
{
    char name[RT_NAME_MAX];
    struct rt_lwp *lwp;
    struct rt_thread thread;      /* its one simulated thread */
    struct sim_binding *bind;     /* changed only under g_sim.lock */
    /* one block per CPU, each written only by the host thread driving that
     * CPU, so two CPUs running the process never race on a counter */
    struct mmsim_cpu_stats stats[MMSIM_SIM_MAX_CPUS];
    struct mmsim_proc *next;      /* on the simulator's list */
};

struct mmsim_cpu
{
    struct mmsim_cpu_hot_ hot;    /* first: simcpu.h's inline hit path reads it */
    unsigned id;
    struct mmsim_proc *current;   /* NULL: a kernel thread runs */
    struct rt_thread idle;        /* the kernel thread when no process runs */
    struct mmsim_simwalk_regs regs;
    struct mmsim_simwalk_ctx walk; /* decoded from regs */
    struct mmsim_cpu_stats stats;
    struct mmsim_cpu_stats mark;  /* stats when the running process was last credited */
    uint64_t inflight;            /* odd while an access is between its lookup and its data */
};

struct sim_state
{
    bool up;
    struct mmsim_sim_config cfg;
    struct mmsim_cpu cpus[MMSIM_SIM_MAX_CPUS];
    struct mmsim_asid_alloc *asids;
    pthread_mutex_t lock;         /* the process list and ASID contexts; a leaf lock */
    struct mmsim_proc *procs;
    const char *op_note;          /* the mm operation running now (stale reports) */
    struct
    {
        uint32_t first_free;      /* the free sequence number when it was noted */
        char what[64];
    } notes[64];                  /* the latest notes, a ring; under `lock` */
    unsigned nnotes;
};

extern struct sim_state g_sim;

/* The CPU the calling host thread acts as, or NULL. */
struct mmsim_cpu *sim_current_cpu(void);
/* Make the calling host thread act as `cpu` (its thread, id). */
void sim_enter(struct mmsim_cpu *cpu);
/* Point `cpu`'s TTBR0 at `aspace` (NULL or rt_kernel_space: TTBR0 walks
 * disabled), with the ASID of the process running it. */
void sim_switch_ttbr0(struct mmsim_cpu *cpu, rt_aspace_t aspace);
/* The process whose ASID context belongs to `aspace`, or NULL. Caller holds g_sim.lock. */
struct mmsim_proc *sim_proc_of_locked(rt_aspace_t aspace);
/* Copy into `out` the operation noted (mmsim_sim_note_op) when the free
 * numbered `seq` happened; false if it is too old or none was noted. */
bool sim_op_of_free(uint32_t seq, char *out, size_t size);
/* Credit the process running on `cpu` with the CPU's counters since the
 * last credit (the CPU's own thread, or a quiet CPU). */
void sim_account(struct mmsim_cpu *cpu);
/* Return once `cpu` has no access in flight that began before the call (a
 * TLB invalidation's completion); at once for the caller's own CPU. */
void sim_wait_quiet(struct mmsim_cpu *cpu);
/* Give the walker simulated RAM as its direct window (after mmsim_sim_ram_ is set). */
void sim_access_init(void);
/* `cpu`'s counters, the inline path's included. */
void sim_cpu_stats_now(const struct mmsim_cpu *cpu, struct mmsim_cpu_stats *out);
/* Add `src` into `dst`. */
void sim_stats_add(struct mmsim_cpu_stats *dst, const struct mmsim_cpu_stats *src);

#endif /* MMSIM_CPU_INTERNAL_H */
