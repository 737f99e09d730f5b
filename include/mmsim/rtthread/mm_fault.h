/*
 * mm_fault.h — RT-Thread's page-fault messages and the fault entry point the
 * exception path calls (newest form, after PR #9047).
 */
#ifndef MMSIM_MM_FAULT_H
#define MMSIM_MM_FAULT_H

#include "rtthread.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rt_aspace;

#define MM_FAULT_STATUS_OK 0             /* handler returned a frame in response.vaddr; core maps it */
#define MM_FAULT_STATUS_OK_MAPPED 1      /* handler mapped it itself */
#define MM_FAULT_STATUS_UNRECOVERABLE 4

#define MM_FAULT_FIXABLE_FALSE 0
#define MM_FAULT_FIXABLE_TRUE 1

enum rt_mm_fault_op
{
    MM_FAULT_OP_READ = 1,
    MM_FAULT_OP_WRITE,
    MM_FAULT_OP_EXECUTE,
};

enum rt_mm_fault_type
{
    MM_FAULT_TYPE_RWX_PERM,      /* present page lacking the permission */
    MM_FAULT_TYPE_NO_PRIVILEGES, /* user touching kernel memory */
    MM_FAULT_TYPE_PAGE_FAULT,    /* nothing mapped */
    MM_FAULT_TYPE_BUS_ERROR,
    MM_FAULT_TYPE_GENERIC_MMU,   /* the arch could not tell; the core refines it */
    MM_FAULT_TYPE_GENERIC,
    __PRIVATE_PAGE_INSERT,
};

enum rt_mm_hint_prefetch
{
    MM_FAULT_HINT_PREFETCH_NONE,
    MM_FAULT_HINT_PREFETCH_READY,
};

struct rt_mm_fault_res
{
    void *vaddr;   /* kernel linear address of the frame(s) */
    rt_size_t size;
    int status;
    enum rt_mm_hint_prefetch hint;
};

struct rt_aspace_fault_msg
{
    enum rt_mm_fault_op fault_op;
    enum rt_mm_fault_type fault_type;
    rt_size_t off;       /* page index in the varea's object */
    void *fault_vaddr;
    struct rt_mm_fault_res response;
};

struct rt_aspace_io_msg
{
    rt_size_t off;
    void *fault_vaddr;   /* address in the target aspace */
    void *buffer_vaddr;  /* kernel buffer */
    struct rt_mm_fault_res response;
};

rt_inline void rt_mm_fault_res_init(struct rt_mm_fault_res *res)
{
    res->vaddr = RT_NULL;
    res->size = 0;
    res->hint = MM_FAULT_HINT_PREFETCH_NONE;
    res->status = MM_FAULT_STATUS_UNRECOVERABLE;
}

rt_inline void rt_mm_io_msg_init(struct rt_aspace_io_msg *io, rt_size_t off, void *fault_vaddr,
                                 void *buffer_vaddr)
{
    io->off = off;
    io->fault_vaddr = fault_vaddr;
    io->buffer_vaddr = buffer_vaddr;
    rt_mm_fault_res_init(&io->response);
}

/* Try to resolve a fault in `aspace` (fault_vaddr is rounded down to its
 * page; a GENERIC_MMU type is refined against the varea): MM_FAULT_FIXABLE_TRUE
 * when the access can be retried, else MM_FAULT_FIXABLE_FALSE. A permission
 * fault on a present page is fixed only if the page table now grants the
 * access; a write to a private mapping is copied on write. */
int rt_aspace_fault_try_fix(struct rt_aspace *aspace, struct rt_aspace_fault_msg *msg);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_MM_FAULT_H */
