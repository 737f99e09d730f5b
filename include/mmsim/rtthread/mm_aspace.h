/*
 * mm_aspace.h — RT-Thread's address space: struct rt_aspace, rt_kernel_space
 * and the kernel linear-address helpers (machine layer), and the varea /
 * mem_obj API (mm layer, lib/mm; see docs/mm.md).
 *
 * Two kinds of address: a kernel linear address of a RAM frame is a host
 * pointer to its backing (dereferenceable; PA = address + PV_OFFSET); a
 * simulated virtual address (user spaces, rt_kernel_space from
 * KERNEL_VADDR_START) exists only in page tables and is reached by a walk.
 */
#ifndef MMSIM_MM_ASPACE_H
#define MMSIM_MM_ASPACE_H

#include "rtthread.h"
#include "rtconfig.h"
#include "mmu.h"
#include "mm_flag.h"
#include "mm_fault.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MM_PAGE_SHIFT 12
#define MM_PA_TO_OFF(pa) ((uintptr_t)(pa) >> MM_PAGE_SHIFT)
#define PV_OFFSET (rt_kmem_pvoff())

typedef struct rt_spinlock mm_spinlock_t;
#define MM_PGTBL_LOCK_INIT(aspace) (rt_spin_lock_init(&((aspace)->pgtbl_lock)))
#define MM_PGTBL_LOCK(aspace) (rt_spin_lock(&((aspace)->pgtbl_lock)))
#define MM_PGTBL_UNLOCK(aspace) (rt_spin_unlock(&((aspace)->pgtbl_lock)))

struct rt_mem_obj;

/* The ordered varea set: a balanced tree keyed by varea start. */
struct util_avl_struct
{
    struct util_avl_struct *avl_left;
    struct util_avl_struct *avl_right;
    struct util_avl_struct *parent;
    long height;
};

struct _aspace_node
{
    struct util_avl_struct node;
};

struct _aspace_tree
{
    struct util_avl_struct *root;
};

typedef struct rt_aspace
{
    void *start;                /* VA window [start, start + size) */
    rt_size_t size;
    void *page_table;           /* root table, kernel linear address */
    mm_spinlock_t pgtbl_lock;   /* held around every page-table edit */
    struct _aspace_tree tree;
    struct rt_mutex bst_lock;
    struct rt_mem_obj *private_object;
    rt_uint64_t asid;
} *rt_aspace_t;

/* A virtual area: [start, start + size) of one aspace backed by mem_obj
 * pages from `offset` (mem_obj NULL: physical frames from PA offset << 12). */
typedef struct rt_varea
{
    void *start;
    rt_size_t size;
    rt_size_t offset;
    rt_size_t attr;           /* MMU_MAP_* as requested; PTEs may use a reduced one */
    rt_size_t flag;           /* mm_flag_t */
    struct rt_aspace *aspace;
    struct rt_mem_obj *mem_obj;
    struct _aspace_node node;
    void *data;               /* the mem_obj's own */
} *rt_varea_t;

/* Where to place a mapping; map_size is const, so build it with a designated
 * initializer. */
typedef struct rt_mm_va_hint
{
    void *limit_start;
    rt_size_t limit_range_size;
    void *prefer;
    const rt_size_t map_size;
    mm_flag_t flags;
} *rt_mm_va_hint_t;

/* A memory object: the callbacks the core calls, with the bst lock of the
 * owning aspace held (see docs/mm.md for when and what each must do). */
typedef struct rt_mem_obj
{
    void (*hint_free)(rt_mm_va_hint_t hint);
    void (*on_page_fault)(struct rt_varea *varea, struct rt_aspace_fault_msg *msg);
    void (*on_varea_open)(struct rt_varea *varea);
    /* If present it must unmap the varea's PTEs; if absent the core does. */
    void (*on_varea_close)(struct rt_varea *varea);
    rt_err_t (*on_varea_shrink)(struct rt_varea *varea, void *new_vaddr, rt_size_t size);
    rt_err_t (*on_varea_expand)(struct rt_varea *varea, void *new_vaddr, rt_size_t size);
    rt_err_t (*on_varea_split)(struct rt_varea *existed, void *unmap_start, rt_size_t unmap_len,
                               struct rt_varea *subset);
    rt_err_t (*on_varea_merge)(struct rt_varea *merge_to, struct rt_varea *merge_from);
    void (*page_read)(struct rt_varea *varea, struct rt_aspace_io_msg *msg);
    void (*page_write)(struct rt_varea *varea, struct rt_aspace_io_msg *msg);
    const char *(*get_name)(rt_varea_t varea);
    void *(*on_varea_mremap)(struct rt_varea *varea, rt_size_t new_size, int flags, void *new_address);
} *rt_mem_obj_t;

extern struct rt_mem_obj rt_mm_dummy_mapper;

/* Kernel space: [KERNEL_VADDR_START, 2^64), set up when the machine boots. */
extern struct rt_aspace rt_kernel_space;

/* PV_OFFSET: PA = kernel linear address + offset. Fixed by the machine. */
rt_ubase_t rt_kmem_pvoff(void); /* RT-Thread declares a const return; -Wextra rejects it */
/* Accepts only the machine's own offset (the host mapping fixes it). */
void rt_kmem_pvoff_set(rt_ubase_t pvoff);
/* PA of a kernel address (linear or mapped in rt_kernel_space) or ARCH_MAP_FAILED. */
void *rt_kmem_v2p(void *vaddr);
/* Kernel linear address of a RAM PA, or NULL (not RAM, or ARCH_MAP_FAILED). */
void *rt_kmem_p2v(void *paddr);

/* ---- address spaces (mm layer) ---------------------------------------- */

/* A new aspace over [start, start+length) with root table `pgtbl`; NULL on
 * allocation failure or a NULL pgtbl (heap unchanged then). */
rt_aspace_t rt_aspace_create(void *start, rt_size_t length, void *pgtbl);
/* RT_EOK, or -RT_EINVAL for a NULL pgtbl. Pair with rt_aspace_detach. */
rt_err_t rt_aspace_init(rt_aspace_t aspace, void *start, rt_size_t length, void *pgtbl);
/* Remove every varea and drop the private object's reference; keeps the page table. */
void rt_aspace_detach(rt_aspace_t aspace);
/* Detach and free an aspace from rt_aspace_create; keeps the page table. */
void rt_aspace_delete(rt_aspace_t aspace);

/* Map `length` bytes of mem_obj from page `offset` at *addr (NULL: anywhere);
 * *addr receives the VA, or NULL on failure. RT_EOK, -RT_EINVAL, -RT_ENOSYS,
 * -RT_ENOSPC, -RT_ENOMEM, or the MAP_FIXED implicit unmap's error. */
int rt_aspace_map(rt_aspace_t aspace, void **addr, rt_size_t length, rt_size_t attr,
                  mm_flag_t flags, rt_mem_obj_t mem_obj, rt_size_t offset);
/* rt_aspace_map with caller-provided varea storage (MMF_STATIC_ALLOC). */
int rt_aspace_map_static(rt_aspace_t aspace, rt_varea_t varea, void **addr, rt_size_t length,
                         rt_size_t attr, mm_flag_t flags, rt_mem_obj_t mem_obj, rt_size_t offset);
/* Map physical frames from page number pa_off at a VA chosen from `hint`. */
int rt_aspace_map_phy(rt_aspace_t aspace, rt_mm_va_hint_t hint, rt_size_t attr, rt_size_t pa_off,
                      void **ret_va);
int rt_aspace_map_phy_static(rt_aspace_t aspace, rt_varea_t varea, rt_mm_va_hint_t hint,
                             rt_size_t attr, rt_size_t pa_off, void **ret_va);
/* Map anonymous memory backed by the aspace's own private object (created on
 * first use): MMF_MAP_PRIVATE added, MMF_PREFETCH dropped, pages fault in
 * lazily and are not zeroed (P6). -RT_EINVAL for MMF_STATIC_ALLOC or a NULL
 * aspace/addr, -RT_ENOMEM without heap for the object, else rt_aspace_map's
 * result. A failed call leaves no new object behind. */
int rt_aspace_map_private(rt_aspace_t aspace, void **addr, rt_size_t length, rt_size_t attr,
                          mm_flag_t flags);
/* Remove the whole varea containing addr: RT_EOK, -RT_EINVAL, -RT_ENOENT. */
int rt_aspace_unmap(rt_aspace_t aspace, void *addr);
/* munmap-like: remove [addr, addr+length) from every varea it touches
 * (remove, shrink or split). All-or-nothing in mmsim. */
int rt_aspace_unmap_range(rt_aspace_t aspace, void *addr, size_t length);
void *rt_aspace_mremap_range(rt_aspace_t aspace, void *old_address, size_t old_size,
                             size_t new_size, int flags, void *new_address);
int rt_aspace_control(rt_aspace_t aspace, void *addr, enum rt_mmu_cntl cmd);
int rt_aspace_load_page(rt_aspace_t aspace, void *addr, rt_size_t npage);
int rt_aspace_offload_page(rt_aspace_t aspace, void *addr, rt_size_t npage);
rt_err_t rt_aspace_page_put(rt_aspace_t aspace, void *page_va, void *buffer);
rt_err_t rt_aspace_page_get(rt_aspace_t aspace, void *page_va, void *buffer);
/* Visit vareas in ascending order; fn's result is ignored; returns 0. */
int rt_aspace_traversal(rt_aspace_t aspace, int (*fn)(rt_varea_t varea, void *arg), void *arg);
void rt_aspace_print_all(rt_aspace_t aspace);
rt_base_t rt_aspace_count_vsz(rt_aspace_t aspace);
/* The varea containing vaddr, or NULL. */
rt_varea_t rt_aspace_query(rt_aspace_t aspace, void *vaddr);
/* Re-create every varea of src (lock held by the caller) in dst (expected
 * empty) at the same VA, referring to the same objects, no pages populated;
 * compatible neighbours coalesce. RT_EOK, or the first map error with what was
 * added to dst removed again (RT-Thread ignores errors: P4). */
rt_err_t rt_aspace_duplicate_locked(rt_aspace_t src, rt_aspace_t dst);
/* Fork *psrc (from rt_aspace_create) into *pdst (an empty aspace): both get
 * the layout, anonymous pages are shared copy-on-write, *psrc is replaced by
 * a fresh aspace, and the old one with its page table now belongs to mm as
 * the read-only page store, freed (rt_aspace_delete, rt_hw_mmu_pgtbl_delete)
 * by the last reference to it — at once if nothing refers to it. RT_EOK,
 * -RT_ENOMEM, or a map error; on failure nothing changed. */
rt_err_t rt_aspace_fork(rt_aspace_t *psrc, rt_aspace_t *pdst);
/* Debug aid: every varea of src has one at the same start in dst with equal
 * page contents (read with rt_aspace_page_get). RT_EOK, -RT_ENOENT (no such
 * varea), -RT_ENOMEM, or -RT_ERROR after RT_ASSERT on a differing page. */
rt_err_t rt_aspace_compare(rt_aspace_t src, rt_aspace_t dst);

/* Map the frame at kernel linear address `page` at vaddr (no reference taken). */
int rt_varea_map_page(rt_varea_t varea, void *vaddr, void *page);
int rt_varea_unmap_page(rt_varea_t varea, void *vaddr);
int rt_varea_map_range(rt_varea_t varea, void *vaddr, void *paddr, rt_size_t length);
int rt_varea_unmap_range(rt_varea_t varea, void *vaddr, rt_size_t length);
/* One reference on the frame per mapping of it (rt_page_ref_inc). */
void rt_varea_pgmgr_insert(rt_varea_t varea, void *page_addr);

/* A heap copy of `source` (free with rt_free), or NULL. */
rt_inline rt_mem_obj_t rt_mem_obj_create(rt_mem_obj_t source)
{
    rt_mem_obj_t target = (rt_mem_obj_t)rt_malloc(sizeof(*target));
    if (target)
        rt_memcpy(target, source, sizeof(*target));
    return target;
}

/* Map [pa, pa+length) at kernel VA `va` (MAP_FIXED). */
int rt_kmem_map_phy(void *va, void *pa, rt_size_t length, rt_size_t attr);
void rt_kmem_list(void);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_MM_ASPACE_H */
