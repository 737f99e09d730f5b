/*
 * mm_aspace.h — RT-Thread's address space. This machine-level part defines
 * struct rt_aspace, rt_kernel_space and the kernel linear-address helpers;
 * the varea/mem_obj API arrives with mmsim's mm layer.
 *
 * Two kinds of address: a kernel linear address of a RAM frame is a host
 * pointer to its backing (dereferenceable; PA = address + PV_OFFSET); a
 * simulated virtual address (user spaces, rt_kernel_space from
 * KERNEL_VADDR_START) exists only in page tables and is reached by a walk.
 */
#ifndef MMSIM_MM_ASPACE_H
#define MMSIM_MM_ASPACE_H

#include "rtthread.h"
#include "rtconfig.h"
#include "mmu.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MM_PAGE_SHIFT 12
#define MM_PA_TO_OFF(pa) ((uintptr_t)(pa) >> MM_PAGE_SHIFT)
#define PV_OFFSET (rt_kmem_pvoff())

typedef struct rt_spinlock mm_spinlock_t;
#define MM_PGTBL_LOCK_INIT(aspace) (rt_spin_lock_init(&((aspace)->pgtbl_lock)))
#define MM_PGTBL_LOCK(aspace) (rt_spin_lock(&((aspace)->pgtbl_lock)))
#define MM_PGTBL_UNLOCK(aspace) (rt_spin_unlock(&((aspace)->pgtbl_lock)))

struct rt_mem_obj;

/* The ordered varea set; filled in by the mm layer. */
struct _aspace_tree
{
    void *root;
};

typedef struct rt_aspace
{
    void *start;                /* VA window [start, start + size) */
    rt_size_t size;
    void *page_table;           /* root table, kernel linear address */
    mm_spinlock_t pgtbl_lock;   /* held around every page-table edit */
    struct _aspace_tree tree;
    struct rt_mutex bst_lock;
    struct rt_mem_obj *private_object;
    rt_uint64_t asid;
} *rt_aspace_t;

/* Kernel space: [KERNEL_VADDR_START, 2^64), set up when the machine boots. */
extern struct rt_aspace rt_kernel_space;

/* PV_OFFSET: PA = kernel linear address + offset. Fixed by the machine. */
rt_ubase_t rt_kmem_pvoff(void); /* RT-Thread declares a const return; -Wextra rejects it */
/* Accepts only the machine's own offset (the host mapping fixes it). */
void rt_kmem_pvoff_set(rt_ubase_t pvoff);
/* PA of a kernel address (linear or mapped in rt_kernel_space) or ARCH_MAP_FAILED. */
void *rt_kmem_v2p(void *vaddr);
/* Kernel linear address of a RAM PA, or NULL (not RAM, or ARCH_MAP_FAILED). */
void *rt_kmem_p2v(void *paddr);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_MM_ASPACE_H */
