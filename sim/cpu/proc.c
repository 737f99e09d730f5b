/*
 * Processes: an lwp with its user space and one simulated thread, created,
 * forked and exited the way RT-Thread Smart's lwp does it, with an ASID per
 * address space the process runs on.
 */
#include <stdlib.h>
#include <string.h>
#include "cpu_internal.h"

static struct sim_binding *binding_new(rt_aspace_t aspace)
{
    struct sim_binding *b = calloc(1, sizeof *b);
    if (b)
        b->aspace = aspace;
    return b;
}

/* No CPU may run the binding's aspace any more: recycle its ASID (the
 * allocator invalidates it on every CPU first). */
static void binding_free(struct sim_binding *b)
{
    mmsim_asid_release(g_sim.asids, &b->ctx);
    free(b);
}

/* A process record with its binding, not yet on the list: everything that
 * can fail is obtained before the lwp work starts. */
static struct mmsim_proc *proc_alloc(const char *name)
{
    struct mmsim_proc *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->bind = binding_new(NULL);
    if (!p->bind) {
        free(p);
        return NULL;
    }
    snprintf(p->name, sizeof p->name, "%s", name ? name : "proc");
    snprintf(p->thread.name, sizeof p->thread.name, "%s", p->name);
    return p;
}

static void proc_discard(struct mmsim_proc *p)
{
    free(p->bind);
    free(p);
}

static struct mmsim_proc *proc_link(struct mmsim_proc *p, struct rt_lwp *lwp)
{
    p->lwp = lwp;
    p->thread.lwp = lwp;
    p->bind->aspace = lwp->aspace;
    pthread_mutex_lock(&g_sim.lock);
    p->next = g_sim.procs;
    g_sim.procs = p;
    pthread_mutex_unlock(&g_sim.lock);
    return p;
}

struct mmsim_proc *mmsim_proc_create(const char *name)
{
    MMSIM_PRECOND(g_sim.up, NULL, "mmsim_proc_create: the simulator must be started");
    struct mmsim_proc *p = proc_alloc(name);
    struct rt_lwp *lwp = p ? lwp_create(LWP_CREATE_FLAG_NONE) : NULL;
    if (lwp && lwp_user_space_init(lwp, RT_FALSE) == RT_EOK)
        return proc_link(p, lwp);
    if (lwp)
        lwp_ref_dec(lwp);
    if (p)
        proc_discard(p);
    return NULL;
}

/* Every CPU running `p` switches to its (new) aspace, as lwp_aspace_switch
 * does for the forking thread. */
static void reschedule_everywhere(struct mmsim_proc *p)
{
    struct mmsim_cpu *here = sim_current_cpu();
    for (unsigned i = 0; i < g_sim.cfg.ncpus; i++)
        if (g_sim.cpus[i].current == p)
            sim_switch_ttbr0(&g_sim.cpus[i], p->lwp->aspace);
    if (here)
        sim_enter(here);
}

/* After rt_aspace_fork the parent runs on a fresh aspace: a fresh ASID
 * context for it, and the old one (now the read-only page store, never run
 * again) is released once no CPU uses it. */
static void parent_moved(struct mmsim_proc *parent, struct sim_binding *fresh)
{
    fresh->aspace = parent->lwp->aspace;
    pthread_mutex_lock(&g_sim.lock);
    struct sim_binding *old = parent->bind;
    parent->bind = fresh;
    pthread_mutex_unlock(&g_sim.lock);
    reschedule_everywhere(parent);
    binding_free(old);
}

struct mmsim_proc *mmsim_proc_fork(struct mmsim_proc *parent, const char *name)
{
    MMSIM_PRECOND(g_sim.up && parent, NULL, "mmsim_proc_fork: a started simulator and a parent");
    struct mmsim_proc *child = proc_alloc(name);
    struct sim_binding *fresh = child ? binding_new(NULL) : NULL;
    struct rt_lwp *lwp = fresh ? lwp_create(LWP_CREATE_FLAG_NONE) : NULL;
    bool forked = lwp && lwp_user_space_init(lwp, RT_TRUE) == RT_EOK &&
                  lwp_fork_aspace(lwp, parent->lwp) == RT_EOK;
    if (!forked) { /* rt_aspace_fork is all-or-nothing: the parent is as it was */
        if (lwp)
            lwp_ref_dec(lwp);
        free(fresh);
        if (child)
            proc_discard(child);
        return NULL;
    }
    if (parent->lwp->aspace != parent->bind->aspace)
        parent_moved(parent, fresh);
    else
        free(fresh);
    return proc_link(child, lwp);
}

static void unlink_proc(struct mmsim_proc *p)
{
    pthread_mutex_lock(&g_sim.lock);
    for (struct mmsim_proc **pp = &g_sim.procs; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    pthread_mutex_unlock(&g_sim.lock);
}

void mmsim_proc_exit(struct mmsim_proc *p)
{
    MMSIM_PRECOND_VOID(g_sim.up && p, "mmsim_proc_exit: a started simulator and a process");
    struct mmsim_cpu *here = sim_current_cpu();
    for (unsigned i = 0; i < g_sim.cfg.ncpus; i++)
        if (g_sim.cpus[i].current == p) {
            sim_account(&g_sim.cpus[i]);
            g_sim.cpus[i].current = NULL;
            sim_switch_ttbr0(&g_sim.cpus[i], NULL);
        }
    if (here)
        sim_enter(here);
    unlink_proc(p);
    binding_free(p->bind);
    lwp_ref_dec(p->lwp);
    free(p);
}

struct rt_lwp *mmsim_proc_lwp(const struct mmsim_proc *p)
{
    return p->lwp;
}

rt_aspace_t mmsim_proc_aspace(const struct mmsim_proc *p)
{
    return p->lwp->aspace;
}

const char *mmsim_proc_name(const struct mmsim_proc *p)
{
    return p->name;
}

unsigned mmsim_proc_asid(const struct mmsim_proc *p)
{
    pthread_mutex_lock(&g_sim.lock);
    unsigned asid = mmsim_asid_of(g_sim.asids, &p->bind->ctx);
    pthread_mutex_unlock(&g_sim.lock);
    return asid;
}
