/*
 * User memory (RT-Thread's lwp_user_mm.c, reduced): anonymous mmap/munmap,
 * private user mappings, copies to and from user memory, and access checks.
 */
#include <errno.h>
#include <string.h>
#include "lwp/lwp_internal.h"
#include "base/base.h"
#include <mm_private.h>
#include <mm_page.h>

#define USER_SPACE_BYTES (USER_VADDR_TOP - USER_VADDR_START)
/* RT-Thread's _memory_threshold_ok: refuse mmap below 1 MiB of free pages. */
#define MMAP_FREE_THRESHOLD_BYTES 0x100000ul

static void *errno_ptr(int neg_errno) { return (void *)(intptr_t)neg_errno; }

/* An mm error as the negated POSIX errno a system call returns. No room for
 * a mapping is ENOMEM, as Linux's mmap says. */
static int posix_errno_of(int rt_rc)
{
    switch (rt_rc)
    {
    case RT_EOK: return 0;
    case -RT_ENOMEM: return -ENOMEM;
    case -RT_ENOSPC: return -ENOMEM;
    case -RT_EINVAL: return -EINVAL;
    case -RT_EPERM: return -EPERM;
    case -RT_ENOENT: return -ENOENT;
    case -RT_ENOSYS: return -ENOSYS;
    case -RT_EBUSY: return -EBUSY;
    default: return -EIO;
    }
}

static rt_bool_t memory_threshold_ok(void)
{
    rt_size_t total_pages = 0, free_pages = 0;
    rt_page_get_info(&total_pages, &free_pages);
    return free_pages * ARCH_PAGE_SIZE >= MMAP_FREE_THRESHOLD_BYTES;
}

/* Anonymous memory is always private to the process (as RT-Thread's newest
 * lwp_mmap2): its pages are the zero page until written, then copies. */
static mm_flag_t kernel_map_flags(int flags)
{
    mm_flag_t k_flags = MMF_MAP_PRIVATE;
    if (flags & MAP_FIXED)
        k_flags |= MMF_MAP_FIXED;
    if (flags & MAP_SHARED)
        k_flags |= MMF_MAP_SHARED;
    return k_flags;
}

void *lwp_mmap2(struct rt_lwp *lwp, void *addr, size_t length, int prot, int flags, int fd,
                off_t pgoffset)
{
    (void)prot;     /* U_RWCB whatever prot says: no mprotect (as !IMPL_MPROTECT) */
    (void)pgoffset; /* only files have one */
    MMSIM_PRECOND(lwp && lwp->aspace, errno_ptr(-EINVAL), "lwp_mmap2 without a user space");
    if (fd != -1)
        return errno_ptr(-EBADF);
    uintptr_t addr_va = (uintptr_t)addr;
    if (length == 0 || (addr_va & ARCH_PAGE_MASK))
        return errno_ptr(-EINVAL);
    if (length > USER_SPACE_BYTES)
        return errno_ptr(-ENOMEM);
    if (!memory_threshold_ok())
        return errno_ptr(-ENOMEM);
    rt_size_t map_bytes = RT_ALIGN(length, ARCH_PAGE_SIZE);
    void *va = addr;
    int rc = rt_aspace_map(lwp->aspace, &va, map_bytes, MMU_MAP_U_RWCB, kernel_map_flags(flags),
                           &mmsim_lwp_null_object, MM_PA_TO_OFF(addr_va));
    return rc == RT_EOK ? va : errno_ptr(posix_errno_of(rc));
}

int lwp_munmap(struct rt_lwp *lwp, void *addr, size_t length)
{
    MMSIM_PRECOND(lwp && lwp->aspace, -EINVAL, "lwp_munmap without a user space");
    return posix_errno_of(rt_aspace_unmap_range(lwp->aspace, addr, length));
}

static mm_flag_t aspace_flags_of(size_t flags)
{
    mm_flag_t k_flags = 0;
    if (flags & LWP_MAP_FLAG_MAP_FIXED)
        k_flags |= MMF_MAP_FIXED;
    if (flags & LWP_MAP_FLAG_PREFETCH)
        k_flags |= MMF_PREFETCH; /* rt_aspace_map_private drops it, as in RT-Thread */
    return k_flags;
}

rt_varea_t lwp_map_user_varea_ext(struct rt_lwp *lwp, void *map_va, size_t map_size, size_t flags)
{
    MMSIM_PRECOND(lwp && lwp->aspace, RT_NULL, "lwp_map_user_varea without a user space");
    uintptr_t in_page_off = (uintptr_t)map_va & ARCH_PAGE_MASK;
    if (map_size == 0 || map_size > USER_SPACE_BYTES)
        return RT_NULL;
    void *va = (void *)((uintptr_t)map_va - in_page_off);
    rt_size_t map_bytes = RT_ALIGN(map_size + in_page_off, ARCH_PAGE_SIZE);
    rt_size_t attr = (flags & LWP_MAP_FLAG_NOCACHE) ? MMU_MAP_U_RW : MMU_MAP_U_RWCB;
    int rc = rt_aspace_map_private(lwp->aspace, &va, map_bytes, attr, aspace_flags_of(flags));
    return rc == RT_EOK ? rt_aspace_query(lwp->aspace, va) : RT_NULL;
}

rt_varea_t lwp_map_user_varea(struct rt_lwp *lwp, void *map_va, size_t map_size)
{
    return lwp_map_user_varea_ext(lwp, map_va, map_size, LWP_MAP_FLAG_NONE);
}

void *lwp_map_user_phy(struct rt_lwp *lwp, void *map_va, void *map_pa, size_t map_size,
                       rt_bool_t cached)
{
    MMSIM_PRECOND(lwp && lwp->aspace, RT_NULL, "lwp_map_user_phy without a user space");
    uintptr_t pa_in_page_off = (uintptr_t)map_pa & ARCH_PAGE_MASK;
    if (map_size == 0 || map_size > USER_SPACE_BYTES)
        return RT_NULL;
    if (map_va && ((uintptr_t)map_va & ARCH_PAGE_MASK) != pa_in_page_off)
        return RT_NULL;
    /* as RT-Thread, the preferred VA is passed on as given: unaligned is refused */
    struct rt_mm_va_hint hint = {
        .limit_start = lwp->aspace->start,
        .limit_range_size = lwp->aspace->size,
        .prefer = map_va,
        .map_size = RT_ALIGN(map_size + pa_in_page_off, ARCH_PAGE_SIZE),
        .flags = map_va ? MMF_MAP_FIXED : 0,
    };
    rt_size_t attr = cached ? MMU_MAP_U_RWCB : MMU_MAP_U_RW;
    void *va = RT_NULL;
    if (rt_aspace_map_phy(lwp->aspace, &hint, attr, MM_PA_TO_OFF(map_pa), &va) != RT_EOK)
        return RT_NULL;
    return (void *)((uintptr_t)va + pa_in_page_off);
}

int lwp_unmap_user_phy(struct rt_lwp *lwp, void *va)
{
    return lwp_unmap_user(lwp, va);
}

int lwp_unmap_user(struct rt_lwp *lwp, void *va)
{
    MMSIM_PRECOND(lwp && lwp->aspace, -RT_EINVAL, "lwp_unmap_user without a user space");
    return rt_aspace_unmap(lwp->aspace, va);
}

int lwp_fork_aspace(struct rt_lwp *dest_lwp, struct rt_lwp *src_lwp)
{
    MMSIM_PRECOND(dest_lwp && src_lwp && dest_lwp->aspace && src_lwp->aspace, -RT_EINVAL,
                  "lwp_fork_aspace without user spaces");
    return rt_aspace_fork(&src_lwp->aspace, &dest_lwp->aspace);
}

/* One step of a copy: the part of the page at user_va. */
struct user_chunk
{
    uintptr_t page_va;
    size_t in_page_off;
    size_t bytes;
};

static struct user_chunk chunk_at(uintptr_t user_va, size_t left_bytes)
{
    struct user_chunk c = { .page_va = user_va & ~(uintptr_t)ARCH_PAGE_MASK };
    c.in_page_off = user_va - c.page_va;
    c.bytes = ARCH_PAGE_SIZE - c.in_page_off;
    if (c.bytes > left_bytes)
        c.bytes = left_bytes;
    return c;
}

/* Copy one chunk; a partial page goes through *tmp (allocated on first use). */
static rt_err_t copy_chunk(rt_aspace_t aspace, const struct user_chunk *c, char *kbuf,
                           rt_bool_t to_user, void **tmp)
{
    void *page_va = (void *)c->page_va;
    if (c->bytes == ARCH_PAGE_SIZE)
        return to_user ? rt_aspace_page_put(aspace, page_va, kbuf)
                       : rt_aspace_page_get(aspace, page_va, kbuf);
    if (!*tmp)
        *tmp = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    if (!*tmp)
        return -RT_ENOMEM;
    rt_err_t rc = rt_aspace_page_get(aspace, page_va, *tmp);
    if (rc != RT_EOK)
        return rc;
    char *tmp_at = (char *)*tmp + c->in_page_off;
    if (!to_user)
    {
        memcpy(kbuf, tmp_at, c->bytes);
        return RT_EOK;
    }
    memcpy(tmp_at, kbuf, c->bytes);
    return rt_aspace_page_put(aspace, page_va, *tmp);
}

static size_t user_copy(struct rt_lwp *lwp, uintptr_t user_va, char *kbuf, size_t size,
                        rt_bool_t to_user)
{
    size_t copied_bytes = 0;
    void *tmp = RT_NULL;
    while (copied_bytes < size)
    {
        struct user_chunk c = chunk_at(user_va + copied_bytes, size - copied_bytes);
        if (copy_chunk(lwp->aspace, &c, kbuf + copied_bytes, to_user, &tmp) != RT_EOK)
            break;
        copied_bytes += c.bytes;
    }
    if (tmp)
        rt_pages_free(tmp, 0);
    return copied_bytes;
}

size_t lwp_data_get(struct rt_lwp *lwp, void *dst, void *src, size_t size)
{
    MMSIM_PRECOND(lwp && lwp->aspace, 0, "lwp_data_get without a user space");
    if (!dst || !size)
        return 0;
    return user_copy(lwp, (uintptr_t)src, dst, size, RT_FALSE);
}

size_t lwp_data_put(struct rt_lwp *lwp, void *dst, void *src, size_t size)
{
    MMSIM_PRECOND(lwp && lwp->aspace, 0, "lwp_data_put without a user space");
    if (!src || !size)
        return 0;
    return user_copy(lwp, (uintptr_t)dst, src, size, RT_TRUE);
}

/* Set one chunk through the temporary page (read first unless it is a whole
 * page, since the rest of the page must survive). */
static rt_err_t set_chunk(rt_aspace_t aspace, const struct user_chunk *c, int byte, void *tmp)
{
    void *page_va = (void *)c->page_va;
    if (c->bytes != ARCH_PAGE_SIZE)
    {
        rt_err_t rc = rt_aspace_page_get(aspace, page_va, tmp);
        if (rc != RT_EOK)
            return rc;
    }
    memset((char *)tmp + c->in_page_off, byte, c->bytes);
    return rt_aspace_page_put(aspace, page_va, tmp);
}

size_t lwp_data_set(struct rt_lwp *lwp, void *dst, int byte, size_t size)
{
    MMSIM_PRECOND(lwp && lwp->aspace, 0, "lwp_data_set without a user space");
    if (!dst || !size)
        return 0;
    void *tmp = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    if (!tmp)
        return 0;
    size_t set_bytes = 0;
    while (set_bytes < size)
    {
        struct user_chunk c = chunk_at((uintptr_t)dst + set_bytes, size - set_bytes);
        if (set_chunk(lwp->aspace, &c, byte, tmp) != RT_EOK)
            break;
        set_bytes += c.bytes;
    }
    rt_pages_free(tmp, 0);
    return set_bytes;
}

void *lwp_v2p(struct rt_lwp *lwp, void *vaddr)
{
    MMSIM_PRECOND(lwp && lwp->aspace, ARCH_MAP_FAILED, "lwp_v2p without a user space");
    RD_LOCK(lwp->aspace);
    void *pa = rt_hw_mmu_v2p(lwp->aspace, vaddr);
    RD_UNLOCK(lwp->aspace);
    return pa;
}

int lwp_user_accessible_ext(struct rt_lwp *lwp, void *addr, size_t size)
{
    if (!lwp || !lwp->aspace || !addr || !size)
        return RT_FALSE;
    uintptr_t start_va = (uintptr_t)addr;
    if (start_va >= USER_VADDR_TOP || size > USER_VADDR_TOP - start_va)
        return RT_FALSE;
    uintptr_t end_va = start_va + size;
    /* a page is accessible if mapped, or if a varea covers it (it faults in) */
    for (uintptr_t va = start_va; va < end_va; va = (va & ~(uintptr_t)ARCH_PAGE_MASK) + ARCH_PAGE_SIZE)
        if (lwp_v2p(lwp, (void *)va) == ARCH_MAP_FAILED && !rt_aspace_query(lwp->aspace, (void *)va))
            return RT_FALSE;
    return RT_TRUE;
}
