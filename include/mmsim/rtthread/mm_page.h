/*
 * mm_page.h — RT-Thread's page allocator API (buddy allocator over the
 * simulated RAM). Addresses passed in and out are kernel linear addresses:
 * host pointers to the frame's backing, so they can be dereferenced;
 * PA = address + PV_OFFSET (see rt_kmem_pvoff in mm_aspace.h).
 */
#ifndef MMSIM_MM_PAGE_H
#define MMSIM_MM_PAGE_H

#include "rtthread.h"
#include "rtconfig.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Allocate from the high (PA >= 4 GiB) lists first, falling back to low;
 * without it only the low lists are used. */
#define PAGE_ANY_AVAILABLE 0x1ul

/* One record per physical frame, indexed by physical frame number. */
struct rt_page
{
    struct rt_page *next;   /* buddy free-list links */
    struct rt_page *pre;
    rt_uint32_t size_bits;  /* order while free; ARCH_ADDRESS_WIDTH_BITS (64) once allocated */
    rt_uint32_t ref_cnt;    /* references to the group, kept in the group's head */
    rt_uint32_t mmsim_state;   /* mmsim bookkeeping (free/quarantine/poison flags) */
    rt_uint32_t mmsim_free_seq; /* which free released the frame last (UAF reports) */
};
typedef struct rt_page *rt_page_t;

typedef struct tag_region
{
    rt_size_t start;
    rt_size_t end;
    const char *name;
} rt_region_t;

extern const rt_size_t rt_mpr_size;
extern void *rt_mpr_start;

/* 2^size_bits contiguous frames from the low lists; head ref_cnt = 1. Contents
 * are not zeroed. NULL when out of memory (RT-Thread asserts; see
 * docs/divergences.md) or when a failure is injected. */
void *rt_pages_alloc(rt_uint32_t size_bits);
/* As rt_pages_alloc, honouring PAGE_ANY_AVAILABLE in `flags`. */
void *rt_pages_alloc_ext(rt_uint32_t size_bits, size_t flags);
/* Drop one reference of the record at `addr` (not re-masked to the group
 * head); returns 1 when it reached zero and the block went back, else 0.
 * Freeing a free or foreign frame raises RT_ASSERT and returns 0. */
int rt_pages_free(void *addr, rt_uint32_t size_bits);
/* Add a reference to the group head of the 2^size_bits group containing addr. */
void rt_page_ref_inc(void *addr, rt_uint32_t size_bits);
/* Reference count of the group head of the 2^size_bits group containing addr. */
int rt_page_ref_get(void *addr, rt_uint32_t size_bits);
/* Bytes -> order: ceil(log2(size)) - 12, at least 0. */
rt_size_t rt_page_bits(rt_size_t size);
/* Installed and currently free frames, overall / above 4 GiB PA. */
void rt_page_get_info(rt_size_t *total_nr, rt_size_t *free_nr);
void rt_page_high_get_info(rt_size_t *total_nr, rt_size_t *free_nr);
/* Record <-> kernel linear address; NULL for addresses outside installed RAM. */
void *rt_page_page2addr(struct rt_page *p);
struct rt_page *rt_page_addr2page(void *addr);
/* Whether physical address `page_pa` lies in installed RAM. */
rt_bool_t rt_page_is_member(rt_base_t page_pa);
/* Hot-add RAM given as kernel linear addresses [start, end): it must lie in
 * the machine's RAM but outside what is installed. RT_EOK or -RT_EINVAL. */
int rt_page_install(rt_region_t region);
/* Print the free lists through rt_kprintf. */
void rt_page_list(void);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_MM_PAGE_H */
