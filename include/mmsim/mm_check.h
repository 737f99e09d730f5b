/*
 * mmsim/mm_check.h — the machine-wide invariant checker of the mm layer
 * (RT-Thread's page-ownership model, P5), in the spirit of Linux's check_mm.
 */
#ifndef MMSIM_MM_CHECK_H
#define MMSIM_MM_CHECK_H

#include <stdio.h>
#include <stdbool.h>
#include <mm_aspace.h>
#include <mmsim/machine.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A reference on a frame that no PTE holds but its owner documents: the
 * allocation of a frame mapped physically, a shared zero page, a buffer. */
struct mmsim_mm_owner_ref
{
    void *frame; /* kernel linear address */
    long refs;
};

struct mmsim_mm_info
{
    size_t aspaces;       /* checked, the read-only stores reached included */
    size_t table_pages;   /* of those aspaces, roots included */
    size_t leaves;        /* 4 KiB frames mapped, counted once per mapping */
    size_t data_frames;   /* distinct RAM frames mapped, zero pages excluded */
    size_t zero_frames;   /* distinct registered zero pages mapped */
    size_t zero_leaves;   /* mappings of those (also counted in leaves) */
    size_t objects;       /* anonymous objects reached */
};

/* Tell every later check that `frame` carries `refs` references its owner
 * keeps beyond the PTEs (refs 0 forgets it); a layer calls this for frames it
 * holds for its whole life, such as lwp's shared zero page (`zero_page`: then
 * counted apart from data frames, and never allowed to be writable).
 * RT_EOK, or -RT_ENOMEM when 16 frames are already registered. Registrations
 * end with the machine. */
int mmsim_mm_owner_register(void *frame, long refs, bool zero_page);

/* Check `n` aspaces (every live one that maps RAM, except rt_kernel_space)
 * and the read-only stores their vareas reach:
 * - each one's tables (mmsim_mmu_check) and varea tree (ordered, disjoint,
 *   inside the aspace, naming it);
 * - every leaf lies inside a varea, and every leaf into RAM points at an
 *   allocated frame;
 * - each frame mapped under an object varea has a reference count equal to
 *   those mappings plus its `owners` references (one reference per PTE, P5);
 *   frames only mapped physically just have to be allocated;
 * - no frame mapped under an anonymous varea is user-writable anywhere while
 *   another mapping of it exists (copy-on-write is never bypassed);
 * - each anonymous object's count equals its owner's reference (while the
 *   owner names it) plus the vareas holding it, and a read-only store lives
 *   only while its count is above its base.
 * - a registered zero page is never writable (or dirty-writable) anywhere;
 * `owners` and the registered frames both count as owner references.
 * Returns the number of problems, each described on `report` (may be NULL);
 * fills `info` (may be NULL). Takes each aspace's lock in turn. */
int mmsim_mm_check(rt_aspace_t const *aspaces, size_t n, const struct mmsim_mm_owner_ref *owners,
                   size_t nowners, FILE *report, struct mmsim_mm_info *info);

/* mmsim_mm_check over every aspace initialised and not yet detached
 * (rt_kernel_space excepted: the early linear map has no vareas). Callers
 * must not detach aspaces meanwhile; an aspace a failed test never detached
 * stays recorded. */
int mmsim_mm_check_machine(const struct mmsim_mm_owner_ref *owners, size_t nowners, FILE *report,
                           struct mmsim_mm_info *info);

/* Linux's check_mm at the end of a machine's life: no aspace but
 * rt_kernel_space is live, no varea is left in rt_kernel_space, no frame is
 * registered with mmsim_mm_owner_register, and the page allocator and the heap
 * hold exactly what they held right after boot. Returns the number of
 * problems, each described on `report` (may be NULL); `leaks` (may be NULL)
 * gets the allocator/heap difference. Changes nothing; 0 with no machine. */
int mmsim_mm_check_boot_counts(FILE *report, struct mmsim_leak_report *leaks);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_MM_CHECK_H */
