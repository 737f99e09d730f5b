/* Private interface between the files of lib/mm. */
#ifndef MMSIM_LIB_MM_H
#define MMSIM_LIB_MM_H

#include <mm_private.h>
#include <tlb.h>
#include <mmsim/pgtable.h>
#include "base/base.h"

#define MM_ALIGNED(x) (!((uintptr_t)(x) & ARCH_PAGE_MASK))

/* RT-Thread's _not_in_range: with MMF_MAP_FIXED or a non-NULL start, true
 * when [start, start + length) is not inside [limit_start, +limit_size)
 * (start 0 always is: "0" means no address); otherwise only when length
 * exceeds limit_size. */
bool mm_not_in_range(mm_flag_t flags, void *start, rt_size_t length, void *limit_start,
                     rt_size_t limit_size);

/* The attribute PTEs of `varea` get (RT-Thread's _get_effect_attr): a
 * private mapping of a foreign object is user read-only until COW. */
rt_size_t mm_effect_attr(rt_varea_t varea);

/* A zeroed varea from the heap, or NULL. */
rt_varea_t mm_varea_alloc(void);
/* Give varea the range [new_start, +new_size) after its object agreed:
 * the offset follows the start, and the tree is re-keyed if it moved. */
void mm_varea_move(rt_varea_t varea, void *new_start, rt_size_t new_size);

/* Populate the pages of [start, start + size) (inside varea) that have no
 * PTE through on_page_fault, as RT-Thread's _do_prefetch, but never replacing
 * a page already mapped (P2). RT_EOK or -RT_ENOMEM; on failure the frame of
 * the failed response is released and pages mapped before stay mapped. */
int mm_prefetch_locked(rt_aspace_t aspace, rt_varea_t varea, void *start, rt_size_t size);

/* Give back the frames of an OK fault response nobody mapped (the reference
 * they came with was meant for the PTEs, P5; RT-Thread leaks them). */
void mm_release_response(const struct rt_mm_fault_res *res);
/* Whether an OK response has a usable size (non-zero, whole pages). */
bool mm_response_size_ok(const struct rt_mm_fault_res *res);

/* unmap_range in three steps, so that it is all-or-nothing: plan (find the
 * affected vareas and check each can be cut: -RT_EPERM), reserve (the varea a
 * split needs: -RT_ENOMEM), commit (callbacks in order head, tail or split,
 * then whole removals). */
struct mm_unmap_plan
{
    void *start;
    rt_size_t size;
    rt_varea_t head;   /* starts below start, ends inside: keeps its head */
    rt_varea_t tail;   /* starts inside, ends above: keeps its tail */
    rt_varea_t split;  /* covers the whole range with room on both sides */
    rt_varea_t subset; /* reserved for split: the part above the range */
};
int mm_unmap_plan(rt_aspace_t aspace, void *start, rt_size_t size, struct mm_unmap_plan *plan);
int mm_unmap_reserve(struct mm_unmap_plan *plan);
void mm_unmap_cancel(struct mm_unmap_plan *plan);
/* Only a mem_obj callback refusing (its own error code, passed back) makes
 * this fail; if the head was already cut when the tail refuses, the head
 * stays cut (the one case that is not all-or-nothing: docs/mm.md). */
int mm_unmap_commit(rt_aspace_t aspace, struct mm_unmap_plan *plan);
/* All three steps. */
int mm_unmap_range_locked(rt_aspace_t aspace, void *start, rt_size_t size);

/* Copy up to `max` of the aspaces initialised and not yet detached (every
 * one but rt_kernel_space) into out; returns how many there are. */
size_t mm_registry_snapshot(rt_aspace_t *out, size_t max);

/* Uninstall varea and free it unless it is static. */
void mm_remove_varea_locked(rt_varea_t varea);

/* The most table pages a map of [va, +size) at pa could need in an empty part
 * of the tables (one per level-0/1/2 slot the range touches). */
size_t mm_tables_upper_bound(uintptr_t va, uintptr_t pa, rt_size_t size);
/* Fill `r` up to npages table pages: RT_EOK, or -RT_ENOMEM with `r` released. */
int mm_reserve_table_pages(struct mmsim_mmu_reserve *r, size_t npages);

/* The anonymous object behind `aobj` (an aspace's private_object). */
struct rt_private_ctx;
struct rt_private_ctx *mm_anon_ctx(rt_mem_obj_t aobj);
/* The aspace's own anonymous object, created and bound on first use; NULL
 * when the heap is exhausted. *created tells whether this call made it. */
rt_mem_obj_t mm_anon_get(rt_aspace_t aspace, bool *created);
/* Whether aobj is an anonymous object (made by mm_anon_get). */
bool mm_is_anon(rt_mem_obj_t aobj);
/* Undo mm_anon_get's creation (nothing references the object yet). */
void mm_anon_unbind(rt_aspace_t aspace);
/* Fork's last step on the old aspace: remove every varea that is not its own
 * anonymous memory, then make the object a read-only page store that lives
 * while references beyond `base_reference` remain; deleted at once (with its
 * page table) if none does. */
void mm_anon_convert_readonly(rt_aspace_t old, long base_reference);

#endif
