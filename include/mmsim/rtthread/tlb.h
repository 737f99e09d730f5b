/*
 * tlb.h — RT-Thread's aarch64 TLB maintenance. Each call is broadcast to
 * every simulated CPU through the hooks in mmsim/pgtable.h (inner-shareable
 * TLBI semantics); with no hooks installed they only count.
 */
#ifndef MMSIM_TLB_H
#define MMSIM_TLB_H

#include "rtthread.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rt_aspace;

void rt_hw_tlb_invalidate_all(void);
void rt_hw_tlb_invalidate_all_local(void);
void rt_hw_tlb_invalidate_aspace(struct rt_aspace *aspace);
void rt_hw_tlb_invalidate_page(struct rt_aspace *aspace, void *start);
void rt_hw_tlb_invalidate_range(struct rt_aspace *aspace, void *start, size_t size, size_t stride);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_TLB_H */
