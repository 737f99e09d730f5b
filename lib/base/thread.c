/*
 * The calling host thread's identity as the simulated kernel sees it. Until
 * a scheduler installs one, every host thread is its own simulated thread,
 * so locks held "by a thread" and lwp_self() behave per host thread.
 */
#include <mmsim/thread.h>
#include "base/base.h"

static _Thread_local struct rt_thread g_host_thread = { .name = "host" };
static _Thread_local struct rt_thread *g_current;
static _Thread_local int g_cpu_id;

rt_thread_t rt_thread_self(void)
{
    return g_current ? g_current : &g_host_thread;
}

struct rt_thread *mmsim_thread_set_current(struct rt_thread *thread)
{
    struct rt_thread *prev = g_current;
    g_current = thread;
    return prev;
}

int rt_hw_cpu_id(void)
{
    return g_cpu_id;
}

int mmsim_cpu_set_current_id(int cpu)
{
    MMSIM_PRECOND(cpu >= 0 && cpu < RT_CPUS_NR, g_cpu_id,
                  "mmsim_cpu_set_current_id: cpu must be in [0, RT_CPUS_NR)");
    int prev = g_cpu_id;
    g_cpu_id = cpu;
    return prev;
}
