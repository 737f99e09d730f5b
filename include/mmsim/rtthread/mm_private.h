/*
 * mm_private.h — RT-Thread's internal mm interface (components/mm/mm_private.h
 * and avl_adpt.h): the varea tree primitives, the range convention and the
 * helpers mem_obj implementations and RT-Thread's own tests use.
 *
 * Ranges: the public API takes (start, length); the tree primitives take a
 * struct _mm_range whose `end` is inclusive, so a range may end at 2^64 - 1.
 *
 * Locking: every function named *_locked, and every mem_obj callback, runs
 * with the aspace's bst_lock held. mmsim always takes it (RT-Thread skips it
 * before the scheduler runs); it is recursive.
 */
#ifndef MMSIM_MM_PRIVATE_H
#define MMSIM_MM_PRIVATE_H

#include "mm_aspace.h"
#include "mm_fault.h"
#include "mm_flag.h"
#include "mm_page.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- locks -------------------------------------------------------------- */

#define WR_LOCK(aspace) rt_mutex_take(&(aspace)->bst_lock, RT_WAITING_FOREVER)
#define WR_UNLOCK(aspace) rt_mutex_release(&(aspace)->bst_lock)
/* RT-Thread has no reader lock either: readers take the same mutex. */
#define RD_LOCK(aspace) WR_LOCK(aspace)
#define RD_UNLOCK(aspace) WR_UNLOCK(aspace)
#define RDWR_LOCK(aspace) ((void)(aspace))
#define RDWR_UNLOCK(aspace) ((void)(aspace))

/* ---- varea helpers -------------------------------------------------------- */

#define VAREA_NOT_STATIC(varea) (!((varea)->flag & MMF_STATIC_ALLOC))
#define VAREA_NAME(varea)                                                    \
    ((!(varea)->mem_obj || !(varea)->mem_obj->get_name)                      \
         ? "unknow"                                                          \
         : (varea)->mem_obj->get_name(varea))
/* Only user mappings are copy-on-write, so the user write bit decides. */
#define VAREA_IS_WRITABLE(varea) \
    (rt_hw_mmu_attr_test_perm((varea)->attr, RT_HW_MMU_PROT_USER | RT_HW_MMU_PROT_WRITE))
/* Object page index of `va` inside `varea`. */
#define VAREA_VA_TO_OFFSET(varea, va) \
    ((varea)->offset + MM_PA_TO_OFF((rt_ubase_t)(va) - (rt_ubase_t)(varea)->start))

/* A private mapping of an object other than the aspace's own anonymous one:
 * its pages are mapped user read-only so that writes fault into COW. */
rt_inline rt_bool_t rt_varea_is_private_locked(rt_varea_t varea)
{
    rt_base_t flags = (rt_base_t)varea->flag;
    return !!((flags & (MMF_MAP_PRIVATE | MMF_MAP_PRIVATE_DONT_SYNC)) &&
              varea->aspace->private_object != varea->mem_obj);
}

/* ---- the varea tree (O(log n) each) -------------------------------------- */

struct _mm_range
{
    void *start;
    void *end; /* inclusive */
};

#define VAREA_ENTRY(pnode)                                                          \
    ((pnode) ? rt_container_of(rt_container_of((pnode), struct _aspace_node, node), \
                               struct rt_varea, node)                               \
             : (struct rt_varea *)0)
#define ASPACE_VAREA_FIRST(aspace) (_aspace_bst_first(aspace))
#define ASPACE_VAREA_LAST(aspace) (_aspace_bst_last(aspace))
#define ASPACE_VAREA_NEXT(varea) (_aspace_bst_next(varea))
#define ASPACE_VAREA_PREV(varea) (_aspace_bst_prev(varea))

/* An empty tree. Always RT_EOK. */
rt_err_t _aspace_bst_init(struct rt_aspace *aspace);
/* The varea with start <= key <= start + size - 1, or NULL. */
struct rt_varea *_aspace_bst_search(struct rt_aspace *aspace, void *key);
/* The varea starting at key, else the one with the lowest start above key. */
struct rt_varea *_aspace_bst_search_exceed(struct rt_aspace *aspace, void *start);
/* Some varea overlapping [range.start, range.end] (the first met going down
 * the tree, not necessarily the lowest), or NULL. */
struct rt_varea *_aspace_bst_search_overlap(struct rt_aspace *aspace, struct _mm_range range);
/* Insert keyed by varea->start; a varea with an equal start already in the
 * tree means the new one is silently not inserted (as RT-Thread). */
void _aspace_bst_insert(struct rt_aspace *aspace, struct rt_varea *varea);
void _aspace_bst_remove(struct rt_aspace *aspace, struct rt_varea *varea);
/* In-order traversal; NULL past either end. */
struct rt_varea *_aspace_bst_first(struct rt_aspace *aspace);
struct rt_varea *_aspace_bst_last(struct rt_aspace *aspace);
struct rt_varea *_aspace_bst_next(struct rt_varea *varea);
struct rt_varea *_aspace_bst_prev(struct rt_varea *varea);

/* ---- the core, for mem_obj implementations --------------------------------- */

/* Map a fault response into varea: status OK maps response.vaddr (a kernel
 * linear address) at fault_vaddr for response.size bytes with the effective
 * attribute and invalidates the TLB; OK_MAPPED is RT_EOK as is; anything else,
 * a response running past the varea, or a failed map is -RT_ERROR (the
 * response's frames are then still the caller's). Caller holds the lock. */
int rt_varea_map_with_msg(rt_varea_t varea, struct rt_aspace_fault_msg *msg);
/* Undo an install: on_varea_close if the object has one (it must unmap),
 * otherwise unmap the whole varea with TLB invalidation; then take it out of
 * the tree. Freeing it is the caller's job (_varea_destroy unless static). */
void _varea_uninstall_locked(rt_varea_t varea);
void _varea_destroy(struct rt_varea *varea);
/* The core of rt_aspace_map without argument checks: *pvarea NULL means
 * allocate the varea. On success *pvarea is the varea now holding the range
 * (a new one, or a neighbour that absorbed it) and *addr its VA. Takes the
 * bst lock (recursively). */
int _mm_aspace_map(rt_aspace_t aspace, rt_varea_t *pvarea, void **addr, rt_size_t length,
                   rt_size_t attr, mm_flag_t flags, rt_mem_obj_t mem_obj, rt_size_t offset);
/* Copy one page between `buffer` and whatever frame page_va maps to, through
 * the frame's kernel linear address: RT_EOK, -RT_ENOENT (no PTE) or
 * -RT_ENOSYS (not RAM: mmsim has no device memory behind PAs). */
rt_err_t rt_aspace_page_get_phy(rt_aspace_t aspace, void *page_va, void *buffer);
rt_err_t rt_aspace_page_put_phy(rt_aspace_t aspace, void *page_va, void *buffer);

/* ---- anonymous memory and copy-on-write (lib/mm/anon.c) ------------------ */

/* Copy-on-write of the page at msg->fault_vaddr of ex_varea (a private
 * mapping of a foreign object): the page is copied through ex_varea's
 * page_read (not when dont_copy) into a fresh frame, which is mapped
 * user-writable in a varea of the aspace's own anonymous object that replaces
 * that one page of ex_varea (shrink, split or removal). `pa` (the page's PA
 * or ARCH_MAP_FAILED) is informative only: the table is read again.
 * MM_FAULT_FIXABLE_TRUE on success; otherwise MM_FAULT_FIXABLE_FALSE with
 * nothing changed (mmsim reserves the frame, the object, the varea and the
 * table pages first: P8). Caller holds the lock. */
int rt_varea_fix_private_locked(rt_varea_t ex_varea, void *pa, struct rt_aspace_fault_msg *msg,
                                rt_bool_t dont_copy);
/* Drop one reference on an anonymous object: RT_EOK, or -RT_EINVAL for NULL.
 * The last reference frees it; for fork's read-only object, falling back to
 * its base deletes the old aspace and its page table. */
rt_err_t rt_aspace_anon_ref_dec(rt_mem_obj_t aobj);

/* mmsim: the reference count and the owning (backup) aspace of an anonymous
 * object, for tests and checkers; 0 / NULL for NULL. */
long mmsim_anon_reference(rt_mem_obj_t aobj);
rt_aspace_t mmsim_anon_backup(rt_mem_obj_t aobj);
/* mmsim: the base below which fork's read-only object dies (0: not read-only). */
long mmsim_anon_readonly(rt_mem_obj_t aobj);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_MM_PRIVATE_H */
