/* Private interface between the files of lib/mm. */
#ifndef MMSIM_LIB_MM_H
#define MMSIM_LIB_MM_H

#include <mm_private.h>
#include <tlb.h>
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

/* Populate the pages of [start, start + size) (inside varea) that have no
 * PTE through on_page_fault, as RT-Thread's _do_prefetch, but never replacing
 * a page already mapped (P2). RT_EOK or -RT_ENOMEM; on failure the frame of
 * the failed response is released and pages mapped before stay mapped. */
int mm_prefetch_locked(rt_aspace_t aspace, rt_varea_t varea, void *start, rt_size_t size);

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

#endif
