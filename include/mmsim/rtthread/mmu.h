/*
 * mmu.h — RT-Thread's aarch64 MMU layer (libcpu/aarch64/common/include/mmu.h):
 * 4 KiB granule, 48-bit VA, four levels, tables in simulated RAM.
 */
#ifndef MMSIM_MMU_H
#define MMSIM_MMU_H

#include "rtthread.h"
#include "rtconfig.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rt_aspace;

#ifndef MMSIM_RT_MMU_CNTL_DEFINED
#define MMSIM_RT_MMU_CNTL_DEFINED
enum rt_mmu_cntl
{
    MMU_CNTL_NONCACHE,
    MMU_CNTL_CACHE,
    MMU_CNTL_READONLY,
    MMU_CNTL_READWRITE,
    MMU_CNTL_OFFLOAD,
    MMU_CNTL_INSTALL,
    MMU_CNTL_DUMMY_END,
};
#endif

#define ARCH_PAGE_SHIFT 12
#define ARCH_PAGE_SIZE (1ul << ARCH_PAGE_SHIFT)
#define ARCH_PAGE_MASK (ARCH_PAGE_SIZE - 1)
#define ARCH_SECTION_SHIFT 21
#define ARCH_SECTION_SIZE (1ul << ARCH_SECTION_SHIFT)
#define ARCH_SECTION_MASK (ARCH_SECTION_SIZE - 1)
#define ARCH_PAGE_TBL_SHIFT 12
#define ARCH_VADDR_WIDTH 48
#define ARCH_ADDRESS_WIDTH_BITS 64
#define ARCH_MAP_FAILED ((void *)0x1ffffffffffff)

#define MMU_AF_SHIFT 10
#define MMU_SHARED_SHIFT 8
#define MMU_AP_SHIFT 6
#define MMU_MA_SHIFT 2
#define MMU_AP_MASK (0x3ul << MMU_AP_SHIFT)
#define MMU_AP_KAUN 0ul /* kernel RW, user none */
#define MMU_AP_KAUA 1ul /* kernel RW, user RW */
#define MMU_AP_KRUN 2ul /* kernel RO, user none */
#define MMU_AP_KRUR 3ul /* kernel RO, user RO */
#define MMU_ATTR_AF (1ul << MMU_AF_SHIFT)
#define MMU_ATTR_DBM (1ul << 51)
#define MMU_ATTR_PXN (1ul << 53)
#define MMU_ATTR_UXN (1ul << 54)

#define NORMAL_MEM 0
#define NORMAL_NOCACHE_MEM 1
#define DEVICE_MEM 2

/* Fully parenthesised (RT-Thread's leaves the nG term outside; see
 * docs/divergences.md), so it composes safely in expressions. */
#define MMU_MAP_CUSTOM(ap, mtype, nglobal)                                        \
    ((0x1ul << MMU_AF_SHIFT) | (0x2ul << MMU_SHARED_SHIFT) |                     \
     ((unsigned long)(ap) << MMU_AP_SHIFT) | ((unsigned long)(mtype) << MMU_MA_SHIFT) | \
     ((unsigned long)(nglobal) << 11))

#define MMU_MAP_K_ROCB MMU_MAP_CUSTOM(MMU_AP_KRUN, NORMAL_MEM, 0)      /* 0x680 */
#define MMU_MAP_K_RO MMU_MAP_CUSTOM(MMU_AP_KRUN, NORMAL_NOCACHE_MEM, 0) /* 0x684 */
#define MMU_MAP_K_RWCB MMU_MAP_CUSTOM(MMU_AP_KAUN, NORMAL_MEM, 0)      /* 0x600 */
#define MMU_MAP_K_RW MMU_MAP_CUSTOM(MMU_AP_KAUN, NORMAL_NOCACHE_MEM, 0) /* 0x604 */
#define MMU_MAP_K_DEVICE MMU_MAP_CUSTOM(MMU_AP_KAUN, DEVICE_MEM, 0)    /* 0x608 */
#define MMU_MAP_U_ROCB MMU_MAP_CUSTOM(MMU_AP_KRUR, NORMAL_MEM, 1)      /* 0xEC0 */
#define MMU_MAP_U_RO MMU_MAP_CUSTOM(MMU_AP_KRUR, NORMAL_NOCACHE_MEM, 1) /* 0xEC4 */
#define MMU_MAP_U_RWCB MMU_MAP_CUSTOM(MMU_AP_KAUA, NORMAL_MEM, 1)      /* 0xE40 */
#define MMU_MAP_U_RW MMU_MAP_CUSTOM(MMU_AP_KAUA, NORMAL_NOCACHE_MEM, 1) /* 0xE44 */
#define MMU_MAP_U_DEVICE MMU_MAP_CUSTOM(MMU_AP_KAUA, DEVICE_MEM, 1)    /* 0xE48 */
#define MMU_MAP_TRACE(attr) ((attr) & ~(MMU_ATTR_AF | MMU_ATTR_DBM))

#define MMU_TYPE_MASK 3ul
#define MMU_TYPE_USED 1ul
#define MMU_TYPE_BLOCK 1ul
#define MMU_TYPE_TABLE 3ul
#define MMU_TYPE_PAGE 3ul
#define MMU_ADDRESS_MASK 0x0000fffffffff000ul
#define MMU_ATTRIB_MASK 0xfff0000000000ffcul

#define MMU_ASID_SHIFT 48
#define MMU_SUPPORTED_ASID_BITS 8

#define MMU_MAP_ERROR_VANOTALIGN -1
#define MMU_MAP_ERROR_PANOTALIGN -2
#define MMU_MAP_ERROR_NOPAGE -3
#define MMU_MAP_ERROR_CONFLICT -4

#define RT_HW_MMU_PROT_READ 1
#define RT_HW_MMU_PROT_WRITE 2
#define RT_HW_MMU_PROT_EXECUTE 4
#define RT_HW_MMU_PROT_KERNEL 8
#define RT_HW_MMU_PROT_USER 16
#define RT_HW_MMU_PROT_CACHE 32

/* Map [v_addr, v_addr+size) to p_addr with `attr` (MMU_MAP_*): 2 MiB blocks
 * when VA, PA and size are all 2 MiB aligned, else 4 KiB pages. Returns v_addr,
 * or NULL with nothing changed when a table page cannot be allocated. Unaligned
 * arguments, a non-canonical range or mapping over a block raise RT_ASSERT. */
void *rt_hw_mmu_map(struct rt_aspace *aspace, void *v_addr, void *p_addr, size_t size, size_t attr);
/* Remove every leaf in the range (unmapped pages are skipped, partly covered
 * blocks are split); frees table pages that become empty. No TLB maintenance.
 * If a split cannot get a table page nothing changes and an error is logged;
 * mmsim_mmu_unmap returns that error. */
void rt_hw_mmu_unmap(struct rt_aspace *aspace, void *v_addr, size_t size);
/* PA (with the offset) that vaddr maps to, or ARCH_MAP_FAILED. Kernel linear
 * addresses in rt_kernel_space translate by PV_OFFSET; read-only mappings are
 * reported too (unlike RT-Thread's kernel write probe). */
void *rt_hw_mmu_v2p(struct rt_aspace *aspace, void *vaddr);
/* A zeroed root table (kernel linear address), or NULL. */
void *rt_hw_mmu_pgtbl_create(void);
/* Free the root table page only, as RT-Thread does. */
void rt_hw_mmu_pgtbl_delete(void *pgtbl);
/* Root table of the aspace last switched to on this host thread, or NULL. */
void *rt_hw_mmu_tbl_get(void);
/* Make `aspace` current on the calling CPU (reported to the TLB hooks). */
void rt_hw_aspace_switch(struct rt_aspace *aspace);
/* CACHE/NONCACHE swap normal memory between write-back and non-cacheable;
 * READONLY/READWRITE set/clear AP[2]. All-or-nothing over the range's leaves:
 * -RT_ENOSYS for other commands or memory types, -RT_EINVAL for a range that
 * cuts a block or is unaligned. */
int rt_hw_mmu_control(struct rt_aspace *aspace, void *vaddr, size_t size, enum rt_mmu_cntl cmd);

/* Permission helpers for any non-empty mix of READ, WRITE and EXECUTE, with
 * USER (EL0) or without (EL1). See docs/mmu.md for the exact bit effects;
 * other prot bits raise RT_ASSERT and leave attr unchanged. */
size_t rt_hw_mmu_attr_add_perm(size_t attr, rt_base_t prot);
size_t rt_hw_mmu_attr_rm_perm(size_t attr, rt_base_t prot);
rt_bool_t rt_hw_mmu_attr_test_perm(size_t attr, rt_base_t prot);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_MMU_H */
