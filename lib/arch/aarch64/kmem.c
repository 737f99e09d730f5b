/* Kernel space, the kernel linear map (host pointers into simulated RAM) and
 * the bridge from RT-Thread's aspaces to the pure VMSA walk. */
#include <mm_aspace.h>
#include <mmsim/pgtable.h>
#include "phys/phys.h"

struct rt_aspace rt_kernel_space;

rt_ubase_t rt_kmem_pvoff(void)
{
    return mmsim_phys_pvoff();
}

void rt_kmem_pvoff_set(rt_ubase_t pvoff)
{
    MMSIM_PRECOND_VOID(pvoff == mmsim_phys_pvoff(),
                       "rt_kmem_pvoff_set: PV_OFFSET is fixed by the machine's host mapping");
}

void *rt_kmem_v2p(void *vaddr)
{
    return rt_hw_mmu_v2p(&rt_kernel_space, vaddr);
}

void *rt_kmem_p2v(void *paddr)
{
    if (paddr == ARCH_MAP_FAILED)
        return RT_NULL;
    return mmsim_phys_pa2host((uint64_t)(uintptr_t)paddr);
}

/* Descriptor reads are the walk's hot path: bounds-check against the RAM
 * window directly instead of going through the out-of-line conversions. */
static uint64_t *ram_word(uint64_t pa)
{
    uint64_t off = pa - g_phys.base_pa;
    if (!g_phys.ram || off >= g_phys.size || (pa & 7))
        return NULL;
    return (uint64_t *)(g_phys.ram + off);
}

static bool ram_read64(void *ctx, uint64_t pa, uint64_t *val)
{
    (void)ctx;
    const uint64_t *p = ram_word(pa);
    if (!p)
        return false;
    *val = __atomic_load_n(p, __ATOMIC_RELAXED);
    return true;
}

static bool ram_write64(void *ctx, uint64_t pa, uint64_t val)
{
    (void)ctx;
    uint64_t *p = ram_word(pa);
    if (!p)
        return false;
    __atomic_store_n(p, val, __ATOMIC_RELAXED);
    return true;
}

static const struct mmsim_vmsa_mem g_ram_mem = { ram_read64, ram_write64, NULL };

const struct mmsim_vmsa_mem *mmsim_mmu_ram_mem(void)
{
    return &g_ram_mem;
}

#define SCTLR_EL1_RES1 0x30d00800ULL
#define SCTLR_EL1_M 0x1ULL

void mmsim_mmu_regs(struct rt_aspace *aspace, struct mmsim_vmsa_regs *out)
{
    struct mmsim_vmsa_regime lo, hi;
    mmsim_vmsa_regime_rt(&lo, false);
    mmsim_vmsa_regime_rt(&hi, true);
    /* Kernel space has no lower half: disable TTBR0 walks rather than let a
     * user VA walk from PA 0. */
    lo.epd = aspace == &rt_kernel_space;
    memset(out, 0, sizeof *out);
    out->tcr = mmsim_vmsa_tcr_build(&lo, &hi, 48);
    out->mair = MMSIM_VMSA_MAIR_RT;
    out->sctlr = SCTLR_EL1_RES1 | SCTLR_EL1_M;
    out->parange_bits = 48;
    uint64_t kroot = rt_kernel_space.page_table ? mmsim_phys_host2pa(rt_kernel_space.page_table) : 0;
    out->ttbr1 = kroot;
    if (aspace && aspace != &rt_kernel_space && aspace->page_table)
        out->ttbr0 = mmsim_phys_host2pa(aspace->page_table) | ((aspace->asid & 0xffff) << MMU_ASID_SHIFT);
}

bool mmsim_mmu_translate(struct rt_aspace *aspace, uint64_t va, const struct mmsim_vmsa_access *acc,
                         struct mmsim_vmsa_result *res)
{
    struct mmsim_vmsa_regs regs;
    struct mmsim_vmsa_ctx ctx;
    mmsim_mmu_regs(aspace, &regs);
    mmsim_vmsa_ctx_init(&ctx, &regs);
    return mmsim_vmsa_translate(&ctx, va, acc, &g_ram_mem, res);
}
