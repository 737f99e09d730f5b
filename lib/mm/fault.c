/*
 * The page-fault entry point the exception path calls (RT-Thread's
 * mm_fault.c after PR #9047): refine an MMU fault the architecture could not
 * classify, then fetch the page, copy it on write, or refuse.
 *
 * Permission faults on a present page (READ/EXECUTE RWX_PERM, and WRITE on a
 * mapping that is not private) are reported fixed only when the page table
 * now grants the access — another thread mapped the page between the fault
 * and this call (#9854) — and unfixable otherwise, so a real permission error
 * never becomes an endless retry (§0.1 item 10).
 */
#include "mm/mm.h"

#define DBG_TAG "mm.fault"
#include <rtdbg.h>

/* The user permission an access needs, or 0 for an unknown op. */
static rt_size_t needed_perm(enum rt_mm_fault_op op)
{
    switch (op) {
    case MM_FAULT_OP_READ:
        return RT_HW_MMU_PROT_USER | RT_HW_MMU_PROT_READ;
    case MM_FAULT_OP_WRITE:
        return RT_HW_MMU_PROT_USER | RT_HW_MMU_PROT_WRITE;
    case MM_FAULT_OP_EXECUTE:
        return RT_HW_MMU_PROT_USER | RT_HW_MMU_PROT_EXECUTE;
    }
    return 0;
}

/* RT-Thread's _determine_precise_fault_type: only a GENERIC_MMU fault is
 * refined, and only when the varea grants the access; otherwise it stays
 * GENERIC_MMU, which no handler below fixes. */
static void refine_type(rt_varea_t varea, struct rt_aspace_fault_msg *msg, void *pa)
{
    rt_size_t perm = needed_perm(msg->fault_op);
    if (msg->fault_type != MM_FAULT_TYPE_GENERIC_MMU || !perm || !rt_hw_mmu_attr_test_perm(varea->attr, perm))
        return;
    msg->fault_type = pa == ARCH_MAP_FAILED ? MM_FAULT_TYPE_PAGE_FAULT : MM_FAULT_TYPE_RWX_PERM;
}

#define TCR_HA (1ull << 39)
#define TCR_HD (1ull << 40)

/* Whether a user access of kind `op` at va now walks without a fault the
 * page table decides. The walk assumes hardware access-flag and dirty
 * management: an AF=0 leaf (software-managed access flag) or a
 * writable-clean DBM leaf grants the access as far as mm is concerned — the
 * flag is the CPU's business, not a reason to refuse a racing fault. */
static int granted_now(rt_aspace_t aspace, void *va, enum rt_mm_fault_op op)
{
    /* an access, not an AT probe (AT never treats DBM as writable), through
     * memory that takes no hardware update */
    struct mmsim_vmsa_access acc = { .el = 0, .at = false };
    acc.op = op == MM_FAULT_OP_WRITE ? MMSIM_OP_WRITE : op == MM_FAULT_OP_EXECUTE ? MMSIM_OP_EXEC : MMSIM_OP_READ;
    struct mmsim_vmsa_mem mem = *mmsim_mmu_ram_mem();
    mem.write64 = NULL;
    struct mmsim_vmsa_regs regs;
    struct mmsim_vmsa_ctx ctx;
    mmsim_mmu_regs(aspace, &regs);
    regs.tcr |= TCR_HA | TCR_HD;
    mmsim_vmsa_ctx_init(&ctx, &regs);
    struct mmsim_vmsa_result res;
    rt_spin_lock(&aspace->pgtbl_lock);
    bool ok = mmsim_vmsa_translate(&ctx, (uint64_t)(uintptr_t)va, &acc, &mem, &res) &&
              res.fault == MMSIM_FAULT_NONE;
    rt_spin_unlock(&aspace->pgtbl_lock);
    return ok ? MM_FAULT_FIXABLE_TRUE : MM_FAULT_FIXABLE_FALSE;
}

/* Ask the object for the page and map its answer. Frames it answers with
 * that cannot be mapped go back (RT-Thread leaks them). */
static int fetch_page(rt_varea_t varea, struct rt_aspace_fault_msg *msg)
{
    if (!varea->mem_obj || !varea->mem_obj->on_page_fault)
        return MM_FAULT_FIXABLE_FALSE;
    varea->mem_obj->on_page_fault(varea, msg);
    if (!mm_response_size_ok(&msg->response)) {
        LOG_W("%s: handler answered 0x%zx bytes", __func__, (size_t)msg->response.size);
        return MM_FAULT_FIXABLE_FALSE;
    }
    if (rt_varea_map_with_msg(varea, msg) == RT_EOK)
        return MM_FAULT_FIXABLE_TRUE;
    if (msg->response.status == MM_FAULT_STATUS_OK)
        mm_release_response(&msg->response);
    return MM_FAULT_FIXABLE_FALSE;
}

static int fix_read_or_exec(rt_varea_t varea, struct rt_aspace_fault_msg *msg)
{
    if (msg->fault_type == MM_FAULT_TYPE_PAGE_FAULT)
        return fetch_page(varea, msg);
    if (msg->fault_type == MM_FAULT_TYPE_RWX_PERM)
        return granted_now(varea->aspace, msg->fault_vaddr, msg->fault_op);
    return MM_FAULT_FIXABLE_FALSE;
}

static int fix_write(rt_varea_t varea, struct rt_aspace_fault_msg *msg, void *pa)
{
    enum rt_mm_fault_type type = msg->fault_type;
    if (rt_varea_is_private_locked(varea)) {
        if (VAREA_IS_WRITABLE(varea) && (type == MM_FAULT_TYPE_RWX_PERM || type == MM_FAULT_TYPE_PAGE_FAULT))
            return rt_varea_fix_private_locked(varea, pa, msg, RT_FALSE);
        LOG_I("%s: no write permission at %p", __func__, msg->fault_vaddr);
        return MM_FAULT_FIXABLE_FALSE;
    }
    if (type == MM_FAULT_TYPE_PAGE_FAULT)
        return fetch_page(varea, msg);
    /* a copy made by another thread first shows up here as a permission fault */
    if (type == MM_FAULT_TYPE_RWX_PERM)
        return granted_now(varea->aspace, msg->fault_vaddr, msg->fault_op);
    return MM_FAULT_FIXABLE_FALSE;
}

static int fix_locked(rt_aspace_t aspace, struct rt_aspace_fault_msg *msg)
{
    rt_varea_t varea = _aspace_bst_search(aspace, msg->fault_vaddr);
    if (!varea) {
        LOG_D("%s: no varea at %p", __func__, msg->fault_vaddr);
        return MM_FAULT_FIXABLE_FALSE;
    }
    void *pa = rt_hw_mmu_v2p(aspace, msg->fault_vaddr);
    refine_type(varea, msg, pa);
    if (pa != ARCH_MAP_FAILED && msg->fault_type == MM_FAULT_TYPE_PAGE_FAULT)
        return MM_FAULT_FIXABLE_TRUE; /* someone mapped it meanwhile */
    msg->off = VAREA_VA_TO_OFFSET(varea, msg->fault_vaddr);
    switch (msg->fault_op) {
    case MM_FAULT_OP_READ:
    case MM_FAULT_OP_EXECUTE:
        return fix_read_or_exec(varea, msg);
    case MM_FAULT_OP_WRITE:
        return fix_write(varea, msg, pa);
    }
    return MM_FAULT_FIXABLE_FALSE;
}

int rt_aspace_fault_try_fix(struct rt_aspace *aspace, struct rt_aspace_fault_msg *msg)
{
    MMSIM_PRECOND(msg != RT_NULL, MM_FAULT_FIXABLE_FALSE, "rt_aspace_fault_try_fix: msg must not be NULL");
    msg->fault_vaddr = (void *)RT_ALIGN_DOWN((uintptr_t)msg->fault_vaddr, ARCH_PAGE_SIZE);
    rt_mm_fault_res_init(&msg->response);
    if (!aspace)
        return MM_FAULT_FIXABLE_FALSE;
    RD_LOCK(aspace);
    int rc = fix_locked(aspace, msg);
    RD_UNLOCK(aspace);
    return rc;
}
