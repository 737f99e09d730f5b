/*
 * rtthread.h — the kernel services RT-Thread's mm code and its tests call,
 * with RT-Thread's names and contracts, implemented by mmsim on the host.
 */
#ifndef MMSIM_RTTHREAD_H
#define MMSIM_RTTHREAD_H

#include <string.h>
#include "rtdef.h"
#include <mmsim/diag.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- assertions -------------------------------------------------------- */

/* Reports through mmsim_assert_hook_set's hook; aborts by default. */
#define RT_ASSERT(EX)                                                        \
    do {                                                                     \
        if (!(EX))                                                           \
            mmsim_assert_fail(#EX, __func__, __FILE__, __LINE__, RT_NULL);   \
    } while (0)

/* RT-Thread's own hook shape (no file, no message); chained before mmsim's. */
void rt_assert_set_hook(void (*hook)(const char *ex, const char *func, rt_size_t line));
void rt_assert_handler(const char *ex, const char *func, rt_size_t line);

/* Callers of mm functions must be allowed to block; always true on a host thread. */
#define RT_DEBUG_SCHEDULER_AVAILABLE(need_check) ((void)(need_check))

/* ---- heap (accounted; see mmsim/alloc.h) ------------------------------- */

/* NULL for size 0, when the simulated heap is full, or when a failure is injected. */
void *rt_malloc(rt_size_t size);
void *rt_calloc(rt_size_t count, rt_size_t size);
void *rt_realloc(void *ptr, rt_size_t newsize);
/* NULL is ignored. Freeing a pointer rt_malloc did not return raises RT_ASSERT. */
void rt_free(void *ptr);
/* Heap totals in bytes, as RT-Thread's CONSIST_HEAP tests read them. */
void rt_memory_info(rt_size_t *total, rt_size_t *used, rt_size_t *max_used);
rt_base_t rt_heap_lock(void);
void rt_heap_unlock(rt_base_t level);

rt_inline void *rt_memset(void *s, int c, rt_ubase_t count) { return memset(s, c, count); }
rt_inline void *rt_memcpy(void *dst, const void *src, rt_ubase_t count) { return memcpy(dst, src, count); }
rt_inline rt_int32_t rt_memcmp(const void *a, const void *b, rt_size_t n) { return memcmp(a, b, n); }

/* ---- console ----------------------------------------------------------- */

int rt_kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- mutexes (recursive) and spinlocks --------------------------------- */

rt_err_t rt_mutex_init(rt_mutex_t mutex, const char *name, rt_uint8_t flag);
rt_err_t rt_mutex_detach(rt_mutex_t mutex);
/* Only RT_WAITING_FOREVER and RT_WAITING_NO are meaningful on the host. */
rt_err_t rt_mutex_take(rt_mutex_t mutex, rt_int32_t timeout);
rt_err_t rt_mutex_release(rt_mutex_t mutex);

void rt_spin_lock_init(struct rt_spinlock *lock);
void rt_spin_lock(struct rt_spinlock *lock);
void rt_spin_unlock(struct rt_spinlock *lock);
rt_base_t rt_spin_lock_irqsave(struct rt_spinlock *lock);
void rt_spin_unlock_irqrestore(struct rt_spinlock *lock, rt_base_t level);

/* ---- atomics (sequentially consistent; add/sub return the previous value) */

rt_inline rt_atomic_t rt_atomic_load(volatile rt_atomic_t *ptr)
{ return __atomic_load_n(ptr, __ATOMIC_SEQ_CST); }
rt_inline void rt_atomic_store(volatile rt_atomic_t *ptr, rt_atomic_t val)
{ __atomic_store_n(ptr, val, __ATOMIC_SEQ_CST); }
rt_inline rt_atomic_t rt_atomic_add(volatile rt_atomic_t *ptr, rt_atomic_t val)
{ return __atomic_fetch_add(ptr, val, __ATOMIC_SEQ_CST); }
rt_inline rt_atomic_t rt_atomic_sub(volatile rt_atomic_t *ptr, rt_atomic_t val)
{ return __atomic_fetch_sub(ptr, val, __ATOMIC_SEQ_CST); }
rt_inline rt_atomic_t rt_atomic_exchange(volatile rt_atomic_t *ptr, rt_atomic_t val)
{ return __atomic_exchange_n(ptr, val, __ATOMIC_SEQ_CST); }
rt_inline rt_atomic_t rt_atomic_compare_exchange_strong(volatile rt_atomic_t *ptr,
                                                        rt_atomic_t *expected,
                                                        rt_atomic_t desired)
{
    return __atomic_compare_exchange_n(ptr, expected, desired, 0, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}

/* ---- threads ------------------------------------------------------------ */

/* The simulated thread the calling host thread acts as; never NULL on a
 * host (every host thread counts as running under the scheduler): the one
 * mmsim_thread_set_current installed, else the host thread's own. */
rt_thread_t rt_thread_self(void);
/* The simulated CPU the calling host thread acts as (0 unless a simulated
 * CPU said otherwise through mmsim_cpu_set_current_id). */
int rt_hw_cpu_id(void);

/* ---- cache maintenance: nothing to do on a coherent host --------------- */

#define RT_HW_CACHE_FLUSH 0x0
#define RT_HW_CACHE_INVALIDATE 0x1
rt_inline void rt_hw_cpu_dcache_ops(int ops, void *addr, int size)
{ (void)ops; (void)addr; (void)size; }
rt_inline void rt_hw_cpu_dcache_clean(void *addr, unsigned long size) { (void)addr; (void)size; }
rt_inline void rt_hw_cpu_dcache_invalidate(void *addr, unsigned long size) { (void)addr; (void)size; }
rt_inline void rt_hw_cpu_icache_invalidate(void *addr, rt_size_t size) { (void)addr; (void)size; }
rt_inline void rt_hw_dmb(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_RTTHREAD_H */
