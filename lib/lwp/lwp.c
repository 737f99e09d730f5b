/*
 * Processes (RT-Thread's lwp.c / lwp_pid.c / lwp_user_mm.c, reduced to what
 * mm needs): creation, reference counting, and the user address space.
 */
#include "lwp/lwp_internal.h"
#include "base/base.h"
#include <mm_private.h>

struct rt_lwp *lwp_create(rt_base_t flags)
{
    (void)flags;
    struct rt_lwp *lwp = rt_malloc(sizeof(*lwp));
    if (!lwp)
        return RT_NULL;
    rt_memset(lwp, 0, sizeof(*lwp));
    lwp->ref = 1;
    return lwp;
}

rt_atomic_t lwp_ref_inc(struct rt_lwp *lwp)
{
    MMSIM_PRECOND(lwp, 0, "lwp_ref_inc(NULL)");
    return rt_atomic_add(&lwp->ref, 1);
}

struct rt_lwp *lwp_self(void)
{
    return (struct rt_lwp *)rt_thread_self()->lwp;
}

void lwp_aspace_switch(struct rt_thread *thread)
{
    MMSIM_PRECOND_VOID(thread, "lwp_aspace_switch(NULL)");
    struct rt_lwp *lwp = thread->lwp;
    rt_hw_aspace_switch(lwp && lwp->aspace ? lwp->aspace : &rt_kernel_space);
}

/* Delete the aspace (every varea goes), then its table. */
static void user_space_free(struct rt_lwp *lwp)
{
    void *pgtbl = lwp->aspace->page_table;
    rt_aspace_delete(lwp->aspace);
    rt_hw_mmu_pgtbl_delete(pgtbl);
    lwp->aspace = RT_NULL;
}

static void lwp_free(struct rt_lwp *lwp)
{
    if (lwp->aspace)
        user_space_free(lwp);
    /* a fault whose frame could not be mapped gave back only the PTE's reference */
    lwp_zero_release_unused();
    rt_free(lwp);
}

rt_atomic_t lwp_ref_dec(struct rt_lwp *lwp)
{
    MMSIM_PRECOND(lwp, 0, "lwp_ref_dec(NULL)");
    rt_atomic_t before = rt_atomic_add(&lwp->ref, -1);
    MMSIM_PRECOND(before > 0, before, "lwp_ref_dec of a freed lwp");
    if (before == 1)
        lwp_free(lwp);
    return before;
}

/* RT-Thread's arch_user_space_init: a fresh root table and the aspace. */
static int arch_user_space_init(struct rt_lwp *lwp)
{
    void *pgtbl = rt_hw_mmu_pgtbl_create();
    if (!pgtbl)
        return -RT_ENOMEM;
    rt_aspace_t aspace = rt_aspace_create((void *)USER_VADDR_START,
                                          USER_VADDR_TOP - USER_VADDR_START, pgtbl);
    if (!aspace)
    {
        rt_hw_mmu_pgtbl_delete(pgtbl);
        return -RT_ENOMEM;
    }
    lwp->aspace = aspace;
    return RT_EOK;
}

/* The stack: lazily backed by the zero page, object offset 0 as RT-Thread. */
static int map_user_stack(struct rt_lwp *lwp)
{
    void *stack_va = (void *)USER_STACK_VSTART;
    return rt_aspace_map(lwp->aspace, &stack_va, USER_STACK_VEND - USER_STACK_VSTART,
                         MMU_MAP_U_RWCB, MMF_MAP_PRIVATE, &mmsim_lwp_null_object, 0);
}

int lwp_user_space_init(struct rt_lwp *lwp, rt_bool_t is_fork)
{
    MMSIM_PRECOND(lwp, -RT_EINVAL, "lwp_user_space_init(NULL)");
    MMSIM_PRECOND(!lwp->aspace, -RT_EINVAL, "lwp already has a user space");
    int rc = arch_user_space_init(lwp);
    if (rc != RT_EOK || is_fork)
        return rc;
    rc = map_user_stack(lwp);
    if (rc != RT_EOK)
        user_space_free(lwp); /* all or nothing (D44) */
    return rc;
}
