/*
 * Kernel-space mappings: rt_kmem_map_phy (a MAP_FIXED physical map) and the
 * ioremap family, which place physical ranges in the ioremap window of
 * rt_kernel_space.
 *
 * The window is qemu-virt64-aarch64's under RT-Thread Smart
 * (rt_hw_mmu_map_init(&rt_kernel_space, 0xfffffffff0000000, 0x10000000, ...)):
 * the top 256 MiB of the kernel half. The machine layer cannot see these
 * variables, so they start with the window instead of being set at boot.
 */
#include <ioremap.h>
#include "mm/mm.h"

#define DBG_TAG "mm.kmem"
#include <rtdbg.h>

#define IOREMAP_WINDOW_START 0xfffffffff0000000ul
#define IOREMAP_WINDOW_SIZE 0x10000000ul

void *rt_ioremap_start = (void *)IOREMAP_WINDOW_START;
size_t rt_ioremap_size = IOREMAP_WINDOW_SIZE;

static rt_ubase_t page_offset_of(const void *addr) { return (rt_ubase_t)addr & ARCH_PAGE_MASK; }

int rt_kmem_map_phy(void *va, void *pa, rt_size_t length, rt_size_t attr)
{
    rt_ubase_t lo_off = page_offset_of(pa);
    if (!va || lo_off != page_offset_of(va))
        return -RT_EINVAL;
    /* RT-Thread hands the unaligned va to map_phy, which refuses it; mmsim
     * maps the pages covering [va, va + length). */
    struct rt_mm_va_hint hint = {
        .flags = MMF_MAP_FIXED,
        .limit_start = rt_kernel_space.start,
        .limit_range_size = rt_kernel_space.size,
        .prefer = (char *)va - lo_off,
        .map_size = RT_ALIGN(length + lo_off, ARCH_PAGE_SIZE),
    };
    int rc = rt_aspace_map_phy(&rt_kernel_space, &hint, attr, MM_PA_TO_OFF(pa), RT_NULL);
    if (rc != RT_EOK)
        LOG_W("%s: map %p at %p (0x%zx bytes) failed: %d", __func__, pa, va, (size_t)length, rc);
    return rc;
}

void rt_kmem_list(void)
{
    rt_aspace_print_all(&rt_kernel_space);
}

static void *ioremap_attr(void *paddr, size_t size, rt_size_t attr)
{
    rt_ubase_t lo_off = page_offset_of(paddr);
    struct rt_mm_va_hint hint = {
        .prefer = RT_NULL,
        .map_size = RT_ALIGN(size + lo_off, ARCH_PAGE_SIZE),
        .flags = 0,
        .limit_start = rt_ioremap_start,
        .limit_range_size = rt_ioremap_size,
    };
    void *va = RT_NULL;
    int rc = rt_aspace_map_phy(&rt_kernel_space, &hint, attr, MM_PA_TO_OFF(paddr), &va);
    if (rc != RT_EOK) {
        LOG_W("ioremap of %p (0x%zx bytes) failed: %d", paddr, size, rc);
        return RT_NULL;
    }
    return (char *)va + lo_off;
}

void *rt_ioremap(void *paddr, size_t size) { return ioremap_attr(paddr, size, MMU_MAP_K_DEVICE); }
void *rt_ioremap_nocache(void *paddr, size_t size) { return ioremap_attr(paddr, size, MMU_MAP_K_DEVICE); }
void *rt_ioremap_cached(void *paddr, size_t size) { return ioremap_attr(paddr, size, MMU_MAP_K_RWCB); }
void *rt_ioremap_wt(void *paddr, size_t size) { return ioremap_attr(paddr, size, MMU_MAP_K_RW); }

void rt_iounmap(volatile void *vaddr)
{
    rt_aspace_unmap(&rt_kernel_space, (void *)(uintptr_t)vaddr);
}
