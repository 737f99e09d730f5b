/* RT-Thread mutexes and spinlocks on pthreads, and the host's notion of the
 * current simulated thread. */
#include "base/base.h"

rt_err_t rt_mutex_init(rt_mutex_t mutex, const char *name, rt_uint8_t flag)
{
    (void)flag;
    MMSIM_PRECOND(mutex != RT_NULL, -RT_EINVAL, "rt_mutex_init: mutex must not be NULL");
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    /* RT-Thread mutexes let their owner take them again; mm relies on it. */
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    int rc = pthread_mutex_init(&mutex->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    mutex->name = name;
    return rc == 0 ? RT_EOK : -RT_ERROR;
}

rt_err_t rt_mutex_detach(rt_mutex_t mutex)
{
    MMSIM_PRECOND(mutex != RT_NULL, -RT_EINVAL, "rt_mutex_detach: mutex must not be NULL");
    return pthread_mutex_destroy(&mutex->lock) == 0 ? RT_EOK : -RT_EBUSY;
}

rt_err_t rt_mutex_take(rt_mutex_t mutex, rt_int32_t timeout)
{
    MMSIM_PRECOND(mutex != RT_NULL, -RT_EINVAL, "rt_mutex_take: mutex must not be NULL");
    if (timeout == RT_WAITING_NO)
        return pthread_mutex_trylock(&mutex->lock) == 0 ? RT_EOK : -RT_ETIMEOUT;
    return pthread_mutex_lock(&mutex->lock) == 0 ? RT_EOK : -RT_ERROR;
}

rt_err_t rt_mutex_release(rt_mutex_t mutex)
{
    MMSIM_PRECOND(mutex != RT_NULL, -RT_EINVAL, "rt_mutex_release: mutex must not be NULL");
    return pthread_mutex_unlock(&mutex->lock) == 0 ? RT_EOK : -RT_EPERM;
}

void rt_spin_lock_init(struct rt_spinlock *lock)
{
    pthread_mutex_init(&lock->lock, NULL);
}

void rt_spin_lock(struct rt_spinlock *lock) { pthread_mutex_lock(&lock->lock); }
void rt_spin_unlock(struct rt_spinlock *lock) { pthread_mutex_unlock(&lock->lock); }

rt_base_t rt_spin_lock_irqsave(struct rt_spinlock *lock)
{
    pthread_mutex_lock(&lock->lock);
    return 0;
}

void rt_spin_unlock_irqrestore(struct rt_spinlock *lock, rt_base_t level)
{
    (void)level;
    pthread_mutex_unlock(&lock->lock);
}

