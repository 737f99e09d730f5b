/*
 * mmsim/thread.h — which simulated thread and CPU a host thread acts as.
 * Each host thread starts as its own simulated thread on CPU 0; the
 * simulated scheduler (sim/) moves threads onto CPUs with these calls.
 */
#ifndef MMSIM_THREAD_H
#define MMSIM_THREAD_H

#include <rtthread.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Make `thread` the calling host thread's rt_thread_self() (NULL: back to the
 * host thread's own); returns the previous one. The caller keeps `thread`
 * alive while it is current. */
struct rt_thread *mmsim_thread_set_current(struct rt_thread *thread);

/* Make the calling host thread act as simulated CPU `cpu` (0..RT_CPUS_NR-1);
 * returns the previous id. Out of range raises RT_ASSERT and changes nothing. */
int mmsim_cpu_set_current_id(int cpu);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_THREAD_H */
