/*
 * rtdef.h — the subset of RT-Thread's basic definitions that its mm code and
 * its users rely on: integer types, error codes, helper macros, locks and
 * atomics. Names and values follow RT-Thread; the implementation is mmsim's
 * own and runs on a POSIX host (locks are pthread mutexes).
 */
#ifndef MMSIM_RTDEF_H
#define MMSIM_RTDEF_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include "rtconfig.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int8_t rt_int8_t;
typedef int16_t rt_int16_t;
typedef int32_t rt_int32_t;
typedef int64_t rt_int64_t;
typedef uint8_t rt_uint8_t;
typedef uint16_t rt_uint16_t;
typedef uint32_t rt_uint32_t;
typedef uint64_t rt_uint64_t;

typedef long rt_base_t;
typedef unsigned long rt_ubase_t;
typedef int rt_bool_t;
typedef rt_base_t rt_err_t;
typedef rt_uint32_t rt_time_t;
typedef rt_uint32_t rt_tick_t;
typedef rt_base_t rt_flag_t;
typedef rt_ubase_t rt_size_t;
typedef rt_base_t rt_ssize_t;
typedef rt_base_t rt_off_t;
typedef rt_base_t rt_atomic_t;

#define RT_TRUE 1
#define RT_FALSE 0
#define RT_NULL ((void *)0)

/* RT-Thread's compact error set (kerrno.h without RT_USING_LIBC). Functions
 * return RT_EOK or the negated code, e.g. -RT_EINVAL. */
#define RT_EOK 0
#define RT_ERROR 1
#define RT_ETIMEOUT 2
#define RT_EFULL 3
#define RT_EEMPTY 4
#define RT_ENOMEM 5
#define RT_ENOSYS 6
#define RT_EBUSY 7
#define RT_EIO 8
#define RT_EINTR 9
#define RT_EINVAL 10
#define RT_ENOENT 11
#define RT_ENOSPC 12
#define RT_EPERM 13
#define RT_ETRAP 14
#define RT_EFAULT 15
#define RT_ENOBUFS 16
#define RT_ESCHEDISR 17
#define RT_ESCHEDLOCKED 18

#define RT_WAITING_FOREVER -1
#define RT_WAITING_NO 0
#define RT_IPC_FLAG_FIFO 0x00
#define RT_IPC_FLAG_PRIO 0x01

#define rt_inline static inline
#define rt_weak __attribute__((weak))
#define rt_used __attribute__((used))
#define RT_UNUSED(x) ((void)(x))
#define RT_ALIGN(size, align) (((size) + (align) - 1) & ~((align) - 1))
#define RT_ALIGN_DOWN(size, align) ((size) & ~((align) - 1))
#define RT_STATIC_ASSERT(name, expn) _Static_assert((expn), #name)
#define rt_container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))

/* Recursive, as RT-Thread mutexes are: the owner may take it again and must
 * release it as many times. */
struct rt_mutex
{
    pthread_mutex_t lock;
    const char *name;
};
typedef struct rt_mutex *rt_mutex_t;

struct rt_spinlock
{
    pthread_mutex_t lock;
};
#define RT_SPINLOCK_INIT { PTHREAD_MUTEX_INITIALIZER }
#define RT_DEFINE_SPINLOCK(x) struct rt_spinlock x = RT_SPINLOCK_INIT

/* The subset of RT-Thread's thread control block mm and lwp read. */
struct rt_thread
{
    char name[RT_NAME_MAX];
    void *lwp;       /* the process this thread belongs to (RT_USING_SMART), or NULL */
    rt_uint8_t oncpu; /* the simulated CPU it last ran on */
};
typedef struct rt_thread *rt_thread_t;

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_RTDEF_H */
