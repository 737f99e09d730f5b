/*
 * ioremap.h — RT-Thread's kernel mappings of physical ranges
 * (components/mm/ioremap.h). Each call maps the pages covering
 * [paddr, paddr + size) at a free VA of the ioremap window in rt_kernel_space
 * and returns that VA plus paddr's in-page offset, or NULL.
 *
 * The window is qemu-virt64-aarch64's (Smart): 256 MiB at 0xfffffffff0000000,
 * fixed when the program starts (docs/mm.md).
 */
#ifndef MMSIM_IOREMAP_H
#define MMSIM_IOREMAP_H

#include "rtthread.h"

#ifdef __cplusplus
extern "C" {
#endif

extern void *rt_ioremap_start;
extern size_t rt_ioremap_size;

/* Device memory (MMU_MAP_K_DEVICE). */
void *rt_ioremap(void *paddr, size_t size);
/* Same as rt_ioremap. */
void *rt_ioremap_nocache(void *paddr, size_t size);
/* Normal write-back memory (MMU_MAP_K_RWCB). */
void *rt_ioremap_cached(void *paddr, size_t size);
/* Normal non-cacheable memory (MMU_MAP_K_RW). */
void *rt_ioremap_wt(void *paddr, size_t size);
/* Remove the mapping containing vaddr (rt_aspace_unmap of rt_kernel_space). */
void rt_iounmap(volatile void *vaddr);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_IOREMAP_H */
