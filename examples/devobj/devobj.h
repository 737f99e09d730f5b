/*
 * devobj — a user-written rt_mem_obj: a small "file" whose pages live in
 * frames the object owns (a page cache filled at creation). Mapping it shares
 * those frames; each PTE holds one reference of its own (RT-Thread's rule,
 * docs/mm.md "Page ownership"), so a frame's count is 1 (the object) plus the
 * PTEs mapping it.
 *
 * Shared mappings (no MMF_MAP_PRIVATE) write through to the file's frames;
 * private ones are mapped user read-only by the core and copied on write into
 * the aspace's anonymous object through page_read, leaving the file as it was.
 */
#ifndef DEVOBJ_H
#define DEVOBJ_H

#include <mm_aspace.h>
#include <mmsim/mm_check.h>

struct devobj
{
    struct rt_mem_obj obj; /* first: the core passes &obj around */
    rt_size_t npages;
    void **pages;          /* kernel linear addresses of the file's frames */
    long vareas;           /* vareas mapping it now (opened or split off, not closed) */
    long faults, shrinks, splits, closes;
};

/* A file of `npages` pages, page i filled with the byte 'A' + i % 26.
 * NULL if out of memory, or (after RT_ASSERT) for npages == 0. */
struct devobj *devobj_create(rt_size_t npages);
/* Free the file; no varea may map it any more (RT_ASSERT, then nothing happens). */
void devobj_destroy(struct devobj *dev);
/* The references the file itself holds, one per page, for the invariant
 * checker (mmsim_test_owners); `out` has room for npages entries. */
void devobj_owner_refs(const struct devobj *dev, struct mmsim_mm_owner_ref *out);

#endif
