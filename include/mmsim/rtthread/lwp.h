/*
 * lwp.h — the part of RT-Thread Smart's lwp (light-weight process) layer that
 * mm's users and tests need (lib/lwp; see docs/lwp.md): a process with a user
 * address space, anonymous mmap over the shared zero page, private user
 * mappings, and copying to and from user memory.
 *
 * Errors: lwp_user_space_init returns RT-Thread codes (-RT_ENOMEM);
 * lwp_mmap2/lwp_munmap return negated POSIX errno values, as system calls do.
 */
#ifndef MMSIM_LWP_H
#define MMSIM_LWP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* off_t */
#include "rtthread.h"
#include "mm_aspace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- aarch64 user layout (RT-Thread Smart's lwp_arch.h) ------------------ */

#define USER_VADDR_START 0x00200000UL
#define USER_VADDR_TOP 0x0001000000000000UL
#define USER_LOAD_VADDR USER_VADDR_START
#define LDSO_LOAD_VADDR 0x60000000UL
#define USER_STACK_VSTART 0x0000ffff70000000UL
#define USER_STACK_VEND (USER_STACK_VSTART + 0x10000000UL) /* 256 MiB of stack */
#define USER_HEAP_VADDR 0x0000ffff40000000UL
#define USER_HEAP_VEND USER_STACK_VSTART
#define USER_ARG_VADDR USER_STACK_VEND

/* ---- POSIX mmap values as Linux has them (unless <sys/mman.h> came first) - */

#ifndef PROT_NONE
#define PROT_NONE 0x0
#define PROT_READ 0x1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#endif
#ifndef MAP_SHARED
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_ANON MAP_ANONYMOUS
#define MAP_FAILED ((void *)-1)
#endif

/* lwp_map_user_varea_ext's flags (RT-Thread's lwp_user_mm.h values):
 * NOCACHE maps MMU_MAP_U_RW instead of U_RWCB; MAP_FIXED places the mapping
 * exactly at map_va; PREFETCH is passed on (and dropped by
 * rt_aspace_map_private). */
#define LWP_MAP_FLAG_NONE 0x0000
#define LWP_MAP_FLAG_NOCACHE 0x0001
#define LWP_MAP_FLAG_MAP_FIXED 0x00010000ul
#define LWP_MAP_FLAG_PREFETCH 0x00020000ul

/* lwp_create's flags (mmsim has no pids yet; accepted and ignored). */
#define LWP_CREATE_FLAG_NONE 0x0

/* The subset of RT-Thread's struct rt_lwp mm needs. */
struct rt_lwp
{
    rt_aspace_t aspace;       /* the user space, or NULL before lwp_user_space_init */
    volatile rt_atomic_t ref; /* lwp_create's reference; the last lwp_ref_dec frees */
};

/* A process with one reference and no address space; NULL without heap. */
struct rt_lwp *lwp_create(rt_base_t flags);
/* The process of the calling simulated thread (rt_thread_self()->lwp), or
 * NULL for a kernel thread. */
struct rt_lwp *lwp_self(void);
/* Make `thread`'s process's user space current on this CPU (rt_kernel_space
 * for a kernel thread), as RT-Thread does when it schedules the thread. */
void lwp_aspace_switch(struct rt_thread *thread);

/* Take a reference; returns the count before. */
rt_atomic_t lwp_ref_inc(struct rt_lwp *lwp);
/* Drop a reference; returns the count before. Dropping the last deletes the
 * user aspace (every varea, then its page table) and frees the lwp. */
rt_atomic_t lwp_ref_dec(struct rt_lwp *lwp);

/* Give lwp a fresh user aspace [USER_VADDR_START, USER_VADDR_TOP) with its own
 * root table and, unless is_fork, the stack [USER_STACK_VSTART,
 * USER_STACK_VEND) mapped lazily over the zero page (MMF_MAP_PRIVATE,
 * MMU_MAP_U_RWCB). RT_EOK or -RT_ENOMEM; on failure lwp->aspace stays NULL
 * and nothing is left allocated (RT-Thread keeps a half-built aspace: D44). */
int lwp_user_space_init(struct rt_lwp *lwp, rt_bool_t is_fork);

/* mmap of anonymous memory (fd -1): a mapping of the zero object at object
 * page addr >> 12, always MMF_MAP_PRIVATE (plus MMF_MAP_FIXED for MAP_FIXED,
 * MMF_MAP_SHARED for MAP_SHARED), MMU_MAP_U_RWCB whatever prot says (no
 * mprotect, as RT-Thread without IMPL_MPROTECT); length rounded up to pages.
 * Reads see the shared zero page; the first write copies it (COW). Returns
 * the VA, or a negated errno cast to a pointer: -ENOMEM below 1 MiB of free
 * pages, without memory or without room, -EINVAL (length 0, addr unaligned:
 * D46, a fixed range outside the user space), -EBADF for any fd but -1 (no
 * files in mmsim). */
void *lwp_mmap2(struct rt_lwp *lwp, void *addr, size_t length, int prot, int flags, int fd,
                off_t pgoffset);
/* munmap: rt_aspace_unmap_range, errors as negated errno (0 on success). */
int lwp_munmap(struct rt_lwp *lwp, void *addr, size_t length);

/* A private anonymous mapping (rt_aspace_map_private), MMU_MAP_U_RWCB, of
 * the pages covering [map_va, map_va + map_size) (map_va is rounded down,
 * the end up); map_va is a preference (NULL: anywhere). Returns the varea now
 * holding the mapping (a neighbour may have absorbed it), or NULL for size 0
 * or a map error. */
rt_varea_t lwp_map_user_varea(struct rt_lwp *lwp, void *map_va, size_t map_size);
/* The same with LWP_MAP_FLAG_* flags. */
rt_varea_t lwp_map_user_varea_ext(struct rt_lwp *lwp, void *map_va, size_t map_size, size_t flags);

/* Map the frames covering [map_pa, map_pa + map_size) into the user space
 * (rt_aspace_map_phy; MMU_MAP_U_RWCB if cached, else MMU_MAP_U_RW), at map_va
 * exactly (MAP_FIXED) or anywhere for NULL. Returns the VA of map_pa (same
 * in-page offset), or NULL: size 0, map_va and map_pa at different in-page
 * offsets, an unaligned map_va, or a map error. The frames stay the caller's. */
void *lwp_map_user_phy(struct rt_lwp *lwp, void *map_va, void *map_pa, size_t map_size,
                       rt_bool_t cached);
/* lwp_unmap_user. */
int lwp_unmap_user_phy(struct rt_lwp *lwp, void *va);
/* Remove the whole varea containing va (rt_aspace_unmap): RT_EOK, -RT_EINVAL,
 * -RT_ENOENT. */
int lwp_unmap_user(struct rt_lwp *lwp, void *va);
/* Fork src_lwp's user space into dest_lwp's (made with is_fork):
 * rt_aspace_fork, so src_lwp->aspace becomes a fresh aspace and the old one
 * mm's page store. RT_EOK, or rt_aspace_fork's error with nothing changed.
 * (RT-Thread then switches the current thread's table; mmsim has no CPU yet.) */
int lwp_fork_aspace(struct rt_lwp *dest_lwp, struct rt_lwp *src_lwp);

/* Copy size bytes from user src to kernel dst / kernel src to user dst, page
 * by page through rt_aspace_page_get/put (a partial page goes through a
 * temporary page). Returns the bytes copied, stopping at the first page that
 * cannot be read or written (or when no temporary page can be had). */
size_t lwp_data_get(struct rt_lwp *lwp, void *dst, void *src, size_t size);
size_t lwp_data_put(struct rt_lwp *lwp, void *dst, void *src, size_t size);
/* Set size bytes of user memory at dst to byte, page by page through a
 * temporary page and rt_aspace_page_get/put; the bytes set, stopping as
 * lwp_data_put does. */
size_t lwp_data_set(struct rt_lwp *lwp, void *dst, int byte, size_t size);

/* Whether every page of [addr, addr+size) is mapped or lies in a varea (it
 * would fault in), below USER_VADDR_TOP. RT_FALSE for size 0 or a NULL addr. */
int lwp_user_accessible_ext(struct rt_lwp *lwp, void *addr, size_t size);
/* The PA that vaddr translates to in lwp's aspace, or ARCH_MAP_FAILED. */
void *lwp_v2p(struct rt_lwp *lwp, void *vaddr);

/* RT-Thread's `_null_object` (a name C reserves, hence mmsim's): every page
 * faults in as the shared zero page, read-only because its vareas are
 * private; page_read zero-fills, page_write refuses. */
extern struct rt_mem_obj mmsim_lwp_null_object;
/* The shared zero page (kernel address) while one exists, else NULL. The lwp
 * layer holds one reference on it besides one per PTE (registered with
 * mmsim_mm_owner_register as a zero page, so checks count it apart), and
 * frees it as soon as no PTE maps it any more. */
void *mmsim_lwp_zero_page(void);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_LWP_H */
