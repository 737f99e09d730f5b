/*
 * mmsim/pgtable.h — the aarch64 page-table layer beyond RT-Thread's API:
 * error-returning unmap, advance reservation of table pages, table checks and
 * dumps, translation over simulated RAM, and the TLB-maintenance hooks the
 * simulated CPU installs.
 */
#ifndef MMSIM_PGTABLE_H
#define MMSIM_PGTABLE_H

#include <stdio.h>
#include <mm_aspace.h>
#include <mmsim/vmsa.h>

#ifdef __cplusplus
extern "C" {
#endif

/* rt_hw_mmu_unmap that reports: RT_EOK, -RT_EINVAL (bad arguments, nothing
 * changed) or -RT_ENOMEM (a block split could not get a table page; nothing
 * changed). */
int mmsim_mmu_unmap(struct rt_aspace *aspace, void *v_addr, size_t size);

/* Table pages taken in advance, so that a later map of the same range cannot
 * fail. Zero-initialise before use; release what was not consumed. */
struct mmsim_mmu_reserve
{
    void *pool;      /* singly linked through each page's first word */
    size_t npages;
};

/* Reserve the table pages rt_hw_mmu_map(aspace, v_addr, p_addr, size, ..)
 * would allocate now. RT_EOK, -RT_ENOMEM (nothing reserved) or -RT_EINVAL. */
int mmsim_mmu_reserve(struct rt_aspace *aspace, void *v_addr, void *p_addr, size_t size,
                      struct mmsim_mmu_reserve *r);
/* rt_hw_mmu_map drawing table pages from `r` first. */
void *mmsim_mmu_map_reserved(struct rt_aspace *aspace, void *v_addr, void *p_addr, size_t size,
                             size_t attr, struct mmsim_mmu_reserve *r);
/* Free the reserved pages that were not used. */
void mmsim_mmu_reserve_release(struct mmsim_mmu_reserve *r);

/* Table pages unmapping the 4 KiB page at v_addr would free right now (0..3;
 * 3 when v_addr is not a 4 KiB leaf): what a caller that replaces the page
 * must reserve so the map that follows the unmap cannot fail. The answer
 * holds while the caller keeps others from changing the tables. */
size_t mmsim_mmu_unmap_frees(struct rt_aspace *aspace, void *v_addr);

struct mmsim_mmu_info
{
    size_t table_pages;  /* including the root */
    size_t pages;        /* 4 KiB leaves */
    size_t blocks;       /* 2 MiB and 1 GiB leaves */
    uint64_t mapped_bytes;
};

/* Check one aspace's tables: every table page is an allocated frame whose
 * reference count equals the leaves below it (RT-Thread's rule; the root
 * keeps its own 1), no table is empty, no descriptor is of an invalid kind.
 * Returns the number of problems, described on `report` (may be NULL); fills
 * `info` (may be NULL). */
int mmsim_mmu_check(struct rt_aspace *aspace, FILE *report, struct mmsim_mmu_info *info);

/* Print the table tree: each table page and every valid entry, decoded. */
void mmsim_mmu_dump(struct rt_aspace *aspace, FILE *out);

/* Descriptor memory backed by the simulated RAM (reads of non-RAM fail). */
const struct mmsim_vmsa_mem *mmsim_mmu_ram_mem(void);
/* The registers RT-Thread's aarch64 port programs for `aspace`: 4 KiB/48-bit
 * TCR for both halves, its MAIR, SCTLR with M set; the root in TTBR1 for
 * rt_kernel_space and TTBR0 (with the aspace's ASID) otherwise. */
void mmsim_mmu_regs(struct rt_aspace *aspace, struct mmsim_vmsa_regs *out);
/* Walk `va` in `aspace` as the hardware would (see mmsim_vmsa_translate). */
bool mmsim_mmu_translate(struct rt_aspace *aspace, uint64_t va, const struct mmsim_vmsa_access *acc,
                         struct mmsim_vmsa_result *res);

/* How leaves are written from now on, machine-wide (the simulated CPU's
 * hardware options): `af_clear` makes them with AF=0, so the first access
 * takes an access-flag fault (software-managed access flag, an mmsim policy:
 * RT-Thread always sets AF); `dbm` makes writable leaves writable-clean
 * (DBM=1, AP[2]=1) for hardware dirty-state management. Both off at boot. */
void mmsim_mmu_leaf_policy_set(bool af_clear, bool dbm);
/* Set AF in the leaf mapping v_addr (the software access-flag fix; no TLB
 * maintenance needed: an AF=0 entry is never cached). RT_EOK or -RT_ENOENT. */
int mmsim_mmu_set_access_flag(struct rt_aspace *aspace, void *v_addr);

/* Table pages made and freed since the process started, roots included. */
struct mmsim_mmu_counters
{
    uint64_t tables_installed;
    uint64_t tables_freed;
};
void mmsim_mmu_counters_get(struct mmsim_mmu_counters *out);

/* TLB maintenance hooks (installed by the simulated CPU). Any may be NULL. */
struct mmsim_tlb_ops
{
    void (*invalidate_all)(void *ctx);
    void (*invalidate_all_local)(void *ctx);
    void (*invalidate_aspace)(void *ctx, struct rt_aspace *aspace);
    void (*invalidate_page)(void *ctx, struct rt_aspace *aspace, void *va);
    void (*invalidate_range)(void *ctx, struct rt_aspace *aspace, void *va, size_t size, size_t stride);
    void (*aspace_switch)(void *ctx, struct rt_aspace *aspace);
};
/* Install `ops` (copied; NULL removes). */
void mmsim_tlb_ops_set(const struct mmsim_tlb_ops *ops, void *ctx);

struct mmsim_tlb_counters
{
    uint64_t all, all_local, aspace, page, range, switches;
};
void mmsim_tlb_counters_get(struct mmsim_tlb_counters *out);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_PGTABLE_H */
