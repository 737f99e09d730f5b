/* The kernel heap shim. Blocks come from the host's malloc (so ASan still
 * sees heap misuse) behind a header that records their size, which is what
 * lets rt_memory_info report exact usage and rt_free catch foreign pointers. */
#include <stdlib.h>
#include "base/base.h"

#define HEAP_MAGIC 0x6d6d73696d686561ULL /* "mmsimhea" */
#define HEAP_DEFAULT_TOTAL ((size_t)64 << 20)

struct heap_hdr
{
    uint64_t magic;
    uint64_t size;
};
_Static_assert(sizeof(struct heap_hdr) == 16, "header keeps 16-byte alignment");

static pthread_mutex_t g_heap_lock;
static pthread_once_t g_heap_once = PTHREAD_ONCE_INIT;
static size_t g_total = HEAP_DEFAULT_TOTAL;
static size_t g_used;
static size_t g_max_used;

static void heap_lock_init(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    /* Recursive: RT-Thread tests hold rt_heap_lock around code that allocates. */
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&g_heap_lock, &attr);
    pthread_mutexattr_destroy(&attr);
}

static void heap_enter(void)
{
    pthread_once(&g_heap_once, heap_lock_init);
    pthread_mutex_lock(&g_heap_lock);
}

static void heap_leave(void) { pthread_mutex_unlock(&g_heap_lock); }

/* Reserve `size` bytes of the simulated heap's budget; false when full. */
static bool budget_take(size_t size)
{
    heap_enter();
    bool ok = g_used <= g_total && size <= g_total - g_used;
    if (ok) {
        g_used += size;
        if (g_used > g_max_used)
            g_max_used = g_used;
    }
    heap_leave();
    return ok;
}

static void budget_give(size_t size)
{
    heap_enter();
    g_used -= size;
    heap_leave();
}

static struct heap_hdr *hdr_of(void *ptr)
{
    struct heap_hdr *h = (struct heap_hdr *)ptr - 1;
    return h;
}

void *rt_malloc(rt_size_t size)
{
    if (size == 0 || size > SIZE_MAX - sizeof(struct heap_hdr))
        return RT_NULL;
    if (mmsim_inject_should_fail(MMSIM_ALLOC_HEAP)) {
        mmsim_alloc_count(MMSIM_ALLOC_HEAP, false, false);
        return RT_NULL;
    }
    if (!budget_take(size)) {
        mmsim_alloc_count(MMSIM_ALLOC_HEAP, false, true);
        return RT_NULL;
    }
    struct heap_hdr *h = malloc(sizeof *h + size);
    if (!h) {
        budget_give(size);
        mmsim_alloc_count(MMSIM_ALLOC_HEAP, false, true);
        return RT_NULL;
    }
    h->magic = HEAP_MAGIC;
    h->size = size;
    mmsim_alloc_count(MMSIM_ALLOC_HEAP, true, false);
    return h + 1;
}

void *rt_calloc(rt_size_t count, rt_size_t size)
{
    if (size != 0 && count > (rt_size_t)-1 / size)
        return RT_NULL;
    void *p = rt_malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void rt_free(void *ptr)
{
    if (!ptr)
        return;
    struct heap_hdr *h = hdr_of(ptr);
    MMSIM_PRECOND_VOID(h->magic == HEAP_MAGIC, "rt_free: pointer was not returned by rt_malloc "
                                              "(or was already freed)");
    size_t size = h->size;
    h->magic = 0;
    free(h);
    budget_give(size);
    mmsim_alloc_count_free(MMSIM_ALLOC_HEAP);
}

void *rt_realloc(void *ptr, rt_size_t newsize)
{
    if (!ptr)
        return rt_malloc(newsize);
    if (newsize == 0) {
        rt_free(ptr);
        return RT_NULL;
    }
    struct heap_hdr *h = hdr_of(ptr);
    MMSIM_PRECOND(h->magic == HEAP_MAGIC, RT_NULL, "rt_realloc: pointer was not returned by rt_malloc");
    void *fresh = rt_malloc(newsize);
    if (!fresh)
        return RT_NULL; /* the old block stays valid, as realloc promises */
    memcpy(fresh, ptr, h->size < newsize ? h->size : newsize);
    rt_free(ptr);
    return fresh;
}

void rt_memory_info(rt_size_t *total, rt_size_t *used, rt_size_t *max_used)
{
    heap_enter();
    if (total)
        *total = g_total;
    if (used)
        *used = g_used;
    if (max_used)
        *max_used = g_max_used;
    heap_leave();
}

rt_base_t rt_heap_lock(void)
{
    heap_enter();
    return 0;
}

void rt_heap_unlock(rt_base_t level)
{
    (void)level;
    heap_leave();
}

size_t mmsim_heap_used(void)
{
    heap_enter();
    size_t used = g_used;
    heap_leave();
    return used;
}

void mmsim_heap_set_total(size_t total_bytes)
{
    heap_enter();
    g_total = total_bytes ? total_bytes : HEAP_DEFAULT_TOTAL;
    heap_leave();
}
