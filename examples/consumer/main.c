/* Map a frame with RT-Thread's API and translate it back: what a consumer of
 * the installed library writes. */
#include <stdio.h>
#include <mm_aspace.h>
#include <mm_page.h>
#include <mmsim/machine.h>

int main(void)
{
    if (mmsim_machine_boot_default() != 0)
        return 1;
    void *frame = rt_pages_alloc(0);
    void *pa = rt_kmem_v2p(frame);
    void *va = (void *)(KERNEL_VADDR_START + 0x100000);
    rt_hw_mmu_map(&rt_kernel_space, va, pa, ARCH_PAGE_SIZE, MMU_MAP_K_RWCB);
    int ok = rt_hw_mmu_v2p(&rt_kernel_space, va) == pa;
    rt_hw_mmu_unmap(&rt_kernel_space, va, ARCH_PAGE_SIZE);
    rt_pages_free(frame, 0);
    struct mmsim_leak_report rep;
    int leaked = mmsim_machine_shutdown(&rep);
    printf("translation %s, %s\n", ok ? "ok" : "WRONG", leaked ? "leaks" : "no leaks");
    return ok && !leaked ? 0 : 1;
}
