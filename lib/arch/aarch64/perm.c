/* rt_hw_mmu_attr_{add,rm,test}_perm for every mix of READ/WRITE/EXECUTE with
 * and without USER, mapped onto AArch64's AP[2:1], UXN and PXN (docs/mmu.md).
 * AArch64 cannot express every combination: EL1 can always read a valid
 * page, and AP[2] removes writes at both ELs. */
#include <mmu.h>
#include "base/base.h"

#define AP_RO (2ul << MMU_AP_SHIFT)   /* AP[2]: read-only at every EL */
#define AP_EL0 (1ul << MMU_AP_SHIFT)  /* AP[1]: EL0 has access */
#define PROT_RWX (RT_HW_MMU_PROT_READ | RT_HW_MMU_PROT_WRITE | RT_HW_MMU_PROT_EXECUTE)
#define PROT_KNOWN (PROT_RWX | RT_HW_MMU_PROT_USER | RT_HW_MMU_PROT_KERNEL)

static bool prot_ok(rt_base_t prot)
{
    return (prot & PROT_RWX) && !(prot & ~(rt_base_t)PROT_KNOWN);
}

size_t rt_hw_mmu_attr_add_perm(size_t attr, rt_base_t prot)
{
    MMSIM_PRECOND(prot_ok(prot), attr, "prot must combine READ/WRITE/EXECUTE with optional USER/KERNEL");
    bool user = prot & RT_HW_MMU_PROT_USER;
    if (prot & RT_HW_MMU_PROT_WRITE) {
        attr &= ~AP_RO;
        if (user)
            attr |= AP_EL0;
    } else if (user && (prot & RT_HW_MMU_PROT_READ) && !(attr & AP_EL0)) {
        /* EL0 read alone cannot coexist with EL1 write (AP=01 would let EL0
         * write): grant read-only at both ELs rather than over-grant. */
        attr |= AP_EL0 | AP_RO;
    }
    if (prot & RT_HW_MMU_PROT_EXECUTE)
        attr &= ~(user ? MMU_ATTR_UXN : MMU_ATTR_PXN);
    return attr;
}

size_t rt_hw_mmu_attr_rm_perm(size_t attr, rt_base_t prot)
{
    MMSIM_PRECOND(prot_ok(prot), attr, "prot must combine READ/WRITE/EXECUTE with optional USER/KERNEL");
    bool user = prot & RT_HW_MMU_PROT_USER;
    MMSIM_PRECOND(user || !(prot & RT_HW_MMU_PROT_READ), attr,
                  "AArch64 cannot remove EL1 read permission from a valid mapping");
    /* Removing user write only matters where EL0 has access (RT-Thread's
     * rule: KAUA becomes KRUR, kernel-only pages are left alone). */
    if ((prot & RT_HW_MMU_PROT_WRITE) && (!user || (attr & AP_EL0)))
        attr |= AP_RO;
    if (user && (prot & RT_HW_MMU_PROT_READ))
        attr &= ~AP_EL0;
    if (prot & RT_HW_MMU_PROT_EXECUTE)
        attr |= user ? MMU_ATTR_UXN : MMU_ATTR_PXN;
    return attr;
}

rt_bool_t rt_hw_mmu_attr_test_perm(size_t attr, rt_base_t prot)
{
    MMSIM_PRECOND(prot_ok(prot), RT_FALSE, "prot must combine READ/WRITE/EXECUTE with optional USER/KERNEL");
    bool user = prot & RT_HW_MMU_PROT_USER;
    bool el0 = attr & AP_EL0;
    bool ro = attr & AP_RO;
    if ((prot & RT_HW_MMU_PROT_READ) && user && !el0)
        return RT_FALSE;
    if ((prot & RT_HW_MMU_PROT_WRITE) && (ro || (user && !el0)))
        return RT_FALSE;
    if (prot & RT_HW_MMU_PROT_EXECUTE) {
        if (user && (attr & MMU_ATTR_UXN))
            return RT_FALSE;
        /* the architecture never lets EL1 execute what EL0 can write */
        if (!user && ((attr & MMU_ATTR_PXN) || (el0 && !ro)))
            return RT_FALSE;
    }
    return RT_TRUE;
}
